"""PLAT-6, DISC-3, issue 16: a publication deadline (公示期限) follows the working-day calendar in force. A
new schedule dropped into the calendar directory is picked up by disclosure's deadline job (no restart);
the pending publication's stored deadline moves and the previous and new day are kept in
``deadline_changes``. Through disclosure's REAL handler and deadline job (``tests/handlers.py``, a migrated
SQLite database, the suite's clock set by ``ZHIFA_CLOCK``)."""
from __future__ import annotations

import datetime as dt

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import DatabaseAccess, make_engine
from services.common.migrations import upgrade
from services.common.running_deadlines import changes_of
from services.disclosure.domain.deadlines import publication_deadline
from services.disclosure.models import Publication
from services.disclosure.service import DisclosureService
from tests.calendar_support import calendar_dir  # noqa: F401 - fixture
from tests.handlers import Deliverer
from tests.integration import events as ev

CHINA = dt.timezone(dt.timedelta(hours=8))
DECIDED = dt.datetime(2026, 12, 2, 10, 0, tzinfo=CHINA)    # Wednesday
EXTRA_HOLIDAY = dt.date(2026, 12, 7)                       # the Monday after: made a holiday
CASE = "320412-SCJG-2026-PLAT6D"


@pytest.fixture
def disclosure(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'disclosure.db'}"
    upgrade("disclosure", url)
    engine = make_engine(url)
    deliverer = Deliverer(DisclosureService, engine)

    def job(clock):
        monkeypatch.setenv("ZHIFA_CLOCK", clock)
        worker = worker_factory(DisclosureService, db=DatabaseAccess(deliverer.provider, "disclosure.deadline_job"))
        return worker.run_deadline_check()

    deliverer.job, deliverer.engine = job, engine
    yield deliverer
    engine.dispose()


def _publication(engine):
    with Session(engine) as session:
        row = session.scalars(select(Publication).where(Publication.case_id == CASE)).one()
        return row, changes_of(session, row.publication_id)


def test_plat6_a_new_schedule_moves_a_pending_publication_deadline_with_history(disclosure, calendar_dir):
    """PLAT-6, issue 16: the deadline counted before the schedule changed is counted again by the job."""
    # held for a person's name the redactor cannot place (DISC-4): pending, its deadline running
    made = ev.decision_made(CASE, fine="5000.00", party=ev.legal_party(), facts="负责人王建国带领员工拒绝检查。")
    made["payload"]["decided_at"] = DECIDED.isoformat()
    made["occurred_at"] = DECIDED.isoformat()
    assert disclosure.deliver(made).outcome == "applied"
    before, history = _publication(disclosure.engine)
    assert before.status == "pending" and history == []
    assert before.due_on == publication_deadline("penalty", DECIDED.date(), calendar_dir.calendar()).due

    calendar_dir.load_schedule(EXTRA_HOLIDAY)
    expected = publication_deadline("penalty", DECIDED.date(), calendar_dir.calendar())
    assert expected.due > before.due_on      # the schedule really moves this deadline
    counts = disclosure.job("2026-12-03T10:00:00+08:00")

    after, history = _publication(disclosure.engine)
    assert counts["recomputed"] == 1
    assert (after.due_on, after.calendar_version) == (expected.due, expected.calendar_version)
    assert [(h.subject, h.previous_due, h.new_due, h.previous_calendar_version, h.calendar_version)
            for h in history] == [("publication", before.due_on, expected.due, before.calendar_version,
                                   expected.calendar_version)]
    assert disclosure.job("2026-12-03T11:00:00+08:00")["recomputed"] == 0
    assert len(_publication(disclosure.engine)[1]) == 1
