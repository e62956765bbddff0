"""PLAT-6, EVAL-9, issue 16: a supervision item's deadline (监督事项办理期限) follows the working-day calendar
in force. A new schedule dropped into the calendar directory is picked up by evaluation's periodic job
(``recompute``, no restart); the open item's stored deadline (``due_on`` and the item's JSON) moves and the
previous and new day are kept in ``deadline_changes``. Through evaluation's REAL RPC and periodic job
(``tests/handlers.py``, a migrated SQLite database, the suite's clock set by ``ZHIFA_CLOCK``)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy.orm import Session

from services.common.db import DatabaseAccess, make_engine
from services.common.migrations import upgrade
from services.common.running_deadlines import changes_of
from services.evaluation.models import SupervisionRow
from services.evaluation.service import EvaluationService
from tests.calendar_support import calendar_dir  # noqa: F401 - fixture
from tests.evaluation import year as Y
from tests.handlers import Deliverer

ISSUED = dt.date(2026, 12, 2)                              # Wednesday
EXTRA_HOLIDAY = dt.date(2026, 12, 7)                       # the Monday after: made a holiday
SUPERVISOR = {"region_code": "320412", "bodies": "*"}


@pytest.fixture
def evaluation(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'evaluation.db'}"
    upgrade("evaluation", url)
    engine = make_engine(url)
    deliverer = Deliverer(EvaluationService, engine)

    def call(method, *args, clock):
        monkeypatch.setenv("ZHIFA_CLOCK", clock)
        worker = worker_factory(EvaluationService, db=DatabaseAccess(deliverer.provider, f"evaluation.{method}"))
        return getattr(worker, method)(*args)

    deliverer.call, deliverer.engine = call, engine
    assert deliverer.deliver(Y.body_registered(Y.A, dt.datetime(2025, 1, 2, tzinfo=dt.timezone.utc))
                             ).outcome == "applied"
    yield deliverer
    engine.dispose()


def _item(engine, item_id):
    with Session(engine) as session:
        row = session.get(SupervisionRow, item_id)
        return row.due_on, json.loads(row.data)["deadline"], changes_of(session, item_id)


def test_plat6_a_new_schedule_moves_an_open_supervision_items_deadline_with_history(evaluation, calendar_dir):
    """PLAT-6, issue 16: the item issued before the schedule changed is counted again by the periodic job."""
    issued = evaluation.call("issue_item", SUPERVISOR, "gov-320412",
                             {"kind": "suggestion", "target_body_id": Y.A["body_id"], "subject": "行政处罚案卷评查问题整改"},
                             clock="2026-12-02T10:00:00+08:00")
    assert "error" not in issued, issued
    before_due, before, history = _item(evaluation.engine, issued["item_id"])
    assert history == [] and before_due.isoformat() == before["due"]
    assert before_due == calendar_dir.calendar().add_working_days(ISSUED, before["working_days"]).due

    calendar_dir.load_schedule(EXTRA_HOLIDAY)
    expected = calendar_dir.calendar().add_working_days(ISSUED, before["working_days"])
    assert expected.due > before_due        # the schedule really moves this deadline
    result = evaluation.call("recompute", clock="2026-12-03T10:00:00+08:00")

    after_due, after, history = _item(evaluation.engine, issued["item_id"])
    assert result["item_deadlines_moved"] == 1
    assert after_due == expected.due and after["due"] == expected.due.isoformat()
    assert after["calendar_version"] == expected.calendar_version
    assert [(h.subject, h.previous_due, h.new_due, h.previous_calendar_version, h.calendar_version)
            for h in history] == [("supervision_item", before_due, expected.due, before["calendar_version"],
                                   expected.calendar_version)]
    listed = evaluation.call("list_items", SUPERVISOR, clock="2026-12-03T10:00:00+08:00")
    assert [i["due_on"] for i in listed["items"] if i["item_id"] == issued["item_id"]] == [expected.due.isoformat()]
    # once per calendar version: the next run finds nothing to recount
    assert evaluation.call("recompute", clock="2026-12-03T11:00:00+08:00")["item_deadlines_moved"] is None
    assert len(_item(evaluation.engine, issued["item_id"])[2]) == 1
