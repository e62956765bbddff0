"""PLAT-6, CMP-3, issue 16: a complaint's stored deadlines follow the working-day calendar in force. The
record is rebuilt on the calendar in force when read, but the columns the deadline sweep selects on
(``acknowledge_due``, ``open_due``) were written once; a new schedule dropped into the calendar directory is
picked up by the leased sweep (no restart), the stored days move and the previous and new running day are
kept in ``deadline_changes``. Through the complaints service's REAL RPCs (``run_deadline_sweep``,
``register_by_staff``, ``get_complaint``) on a migrated SQLite database, the suite's clock set by ``ZHIFA_CLOCK``."""
from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy.orm import Session

from services.common.db import DatabaseAccess, make_engine
from services.common.migrations import upgrade
from services.common.running_deadlines import changes_of
from services.complaints.models import Complaint
from services.complaints.service import ComplaintsService
from tests.calendar_support import calendar_dir  # noqa: F401 - fixture
from tests.complaints.helpers import ADDRESS, ID_NUMBER, NAME, PHONE

CHINA = dt.timezone(dt.timedelta(hours=8))
RECEIVED = dt.datetime(2026, 12, 2, 10, 0, tzinfo=CHINA)   # Wednesday
EXTRA_HOLIDAY = dt.date(2026, 12, 7)                       # the Monday after: made a holiday
HANDLER = {"region_code": "320400", "bodies": "*"}


@pytest.fixture
def complaints(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'complaints.db'}"
    upgrade("complaints", url)
    engine = make_engine(url)
    provider = SimpleNamespace(engine=engine, service_name="complaints", case_ownership=False,
                               outbox_nudge=threading.Event())

    def call(method, *args, clock):
        monkeypatch.setenv("ZHIFA_CLOCK", clock)
        worker = worker_factory(ComplaintsService, db=DatabaseAccess(provider, f"complaints.{method}"))
        return getattr(worker, method)(*args)

    yield SimpleNamespace(call=call, engine=engine)
    engine.dispose()


def test_plat6_a_new_schedule_moves_an_open_complaints_stored_deadline_with_history(complaints, calendar_dir):
    """PLAT-6, issue 16: the acknowledgement deadline stored before the schedule changed moves at the sweep."""
    form = {"channel": "letter", "region_code": "320412", "body_id": "320412-SCJG", "name": NAME, "phone": PHONE,
            "id_number": ID_NUMBER, "address": ADDRESS, "request": "请求查处执法人员不出示证件的行为",
            "facts": "2026年执法人员检查我店时未出示执法证件。", "received_at": RECEIVED.isoformat()}
    receipt = complaints.call("register_by_staff", HANDLER, "handler-zhang", form, clock="2026-12-02T11:00:00+08:00")
    number = receipt["number"]
    with Session(complaints.engine) as session:
        before = session.get(Complaint, number)
        assert before.open_due == before.acknowledge_due and changes_of(session, number) == []
    old_calendar = calendar_dir.calendar()

    calendar_dir.load_schedule(EXTRA_HOLIDAY)
    new_calendar = calendar_dir.calendar()
    working_days = old_calendar.working_days_between(RECEIVED.date(), before.acknowledge_due)
    expected = new_calendar.add_working_days(RECEIVED.date(), working_days)
    assert expected.due > before.acknowledge_due       # the schedule really moves this deadline
    assert complaints.call("run_deadline_sweep", clock="2026-12-03T10:00:00+08:00")["ran"] is True

    with Session(complaints.engine) as session:
        after = session.get(Complaint, number)
        history = changes_of(session, number)
    assert (after.acknowledge_due, after.open_due) == (expected.due, expected.due)
    assert [(h.subject, h.previous_due, h.new_due, h.calendar_version) for h in history] == [
        ("complaint", before.open_due, expected.due, new_calendar.version)]
    view = complaints.call("get_complaint", HANDLER, number, clock="2026-12-03T10:00:00+08:00")
    assert view["acknowledge"]["due"] == expected.due.isoformat()
    # once per calendar version
    complaints.call("run_deadline_sweep", clock="2026-12-03T11:00:00+08:00")
    with Session(complaints.engine) as session:
        assert len(changes_of(session, number)) == 1
