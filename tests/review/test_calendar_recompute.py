"""PLAT-6, REV-5, issue 16: a review task's due day follows the working-day calendar in force. A new
schedule dropped into the calendar directory is picked up by review's periodic job (no restart); the
pending task's stored due day (the ``due_on`` column and the task document) moves, and the previous and
new day are kept in ``deadline_changes``. Through review's REAL handlers and its periodic job
(``tests/handlers.py``, a migrated SQLite database)."""
from __future__ import annotations

import datetime as dt

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy.orm import Session

from services.common.db import DatabaseAccess, make_engine
from services.common.migrations import upgrade
from services.common.running_deadlines import changes_of
from services.review import codec
from services.review.models import ReviewTask
from services.review.service import ReviewService
from tests.calendar_support import calendar_dir  # noqa: F401 - fixture
from tests.handlers import Deliverer
from tests.integration import events as ev

CHINA = dt.timezone(dt.timedelta(hours=8))
PROPOSED = dt.datetime(2026, 12, 2, 10, 0, tzinfo=CHINA)   # Wednesday
EXTRA_HOLIDAY = dt.date(2026, 12, 7)                       # the Monday after: made a holiday


@pytest.fixture
def review(tmp_path):
    url = f"sqlite:///{tmp_path / 'review.db'}"
    upgrade("review", url)
    engine = make_engine(url)
    deliverer = Deliverer(ReviewService, engine)
    deliverer.engine = engine
    yield deliverer
    engine.dispose()


def _task(engine, case_id):
    with Session(engine) as session:
        row = session.query(ReviewTask).filter_by(case_id=case_id).one()
        return row.due_on, codec.task_from_json(row.document).current.due, changes_of(session, row.task_id)


def test_plat6_a_new_schedule_moves_a_pending_review_tasks_due_day_with_history(review, calendar_dir):
    """PLAT-6, issue 16: the task opened before the schedule changed is counted again by the periodic job."""
    proposed = ev.decision_proposed("320412-SCJG-2026-PLAT6")
    proposed["payload"]["proposed_at"] = PROPOSED.isoformat()
    assert review.deliver(proposed).outcome == "applied"
    before_due, before, history = _task(review.engine, "320412-SCJG-2026-PLAT6")
    assert before_due == before.due and history == []
    assert before_due == calendar_dir.calendar().add_working_days(PROPOSED.date(), before.working_days).due

    calendar_dir.load_schedule(EXTRA_HOLIDAY)
    expected = calendar_dir.calendar().add_working_days(PROPOSED.date(), before.working_days)
    assert expected.due > before_due        # the schedule really moves this deadline
    worker = worker_factory(ReviewService, db=DatabaseAccess(review.provider, "review.run_periodic"))
    result = worker.run_periodic()

    after_due, after, history = _task(review.engine, "320412-SCJG-2026-PLAT6")
    assert result["due_days_moved"] == 1
    assert after_due == after.due == expected.due and after.calendar_version == expected.calendar_version
    assert [(h.subject, h.previous_due, h.new_due, h.previous_calendar_version, h.calendar_version)
            for h in history] == [("review_task", before_due, expected.due, before.calendar_version,
                                   expected.calendar_version)]
    # once per calendar version: the next run finds nothing to recount
    assert worker.run_periodic()["due_days_moved"] is None
    assert len(_task(review.engine, "320412-SCJG-2026-PLAT6")[2]) == 1
