"""PLAT-1, COORD-4 (issue 20): a city complaint's escalation and its conclusion handled at the same moment
at the province (two replicas, after a link outage) close the register line.

Each handler decides by reading whether the other has arrived: the escalation looks for a kept conclusion,
the conclusion for a register line. Both used to read before either committed — the escalation opened a
line, the conclusion was kept for a line that did not exist, and the line stayed open for ever. Now both
take a per-number lock first (``db.lock_key``). Staged on the real PostgreSQL with each handler in its own
process."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.common.migrations import upgrade
from services.complaints.models import SupervisedComplaint
from tests.fixtures import ROOT_DIR
from tests.integration.events import envelope

pytestmark = pytest.mark.integration

BODY = {"region_code": "320412", "body_id": "320412-SCJG", "system": "zhifa.complaints"}


def _events(number):
    escalated = envelope("complaint.escalated", {
        "number": number, "subject_body_id": "320412-SCJG", "stage": "acknowledge", "level": 2,
        "to_region_code": "320000", "tier": "province", "due": "2026-10-13", "escalated_on": "2026-10-21",
        "handler_unit_id": "320412-SFJ", "handler_region_code": "320412"}, body=BODY)
    concluded = envelope("complaint.concluded", {
        "number": number, "subject_body_id": "320412-SCJG", "officer_ids": [], "upheld": True, "on_time": False,
        "concluded_on": "2026-11-20", "handling_due": None, "against_private_enterprise": False}, body=BODY)
    return escalated, concluded


# One handler in its own process (the test process runs under eventlet, whose green threads would not
# block on a database lock independently): held at its first read of the register until the other process
# is there too, or 3 s — with the lock the second process waits in the database before it gets there.
CHILD = """
import json, sys, threading, time, types
from pathlib import Path
from sqlalchemy import event as sa_event
from services.common.db import DatabaseAccess, make_engine
from services.common.events import parse_event
from services.complaints.usecases import supervision

url, which, folder, envelope = sys.argv[1], sys.argv[2], Path(sys.argv[3]), json.loads(sys.argv[4])
other = {"escalation": "conclusion", "conclusion": "escalation"}[which]
engine = make_engine(url)
held = []

@sa_event.listens_for(engine, "before_cursor_execute")
def hold(conn, cursor, statement, parameters, context, executemany):
    if "FROM supervision_register" in statement and not held:
        held.append(1)
        (folder / which).touch()
        deadline = time.monotonic() + 3
        while not (folder / other).exists() and time.monotonic() < deadline:
            time.sleep(0.01)

provider = types.SimpleNamespace(engine=engine, service_name="complaints", case_ownership=False,
                                 outbox_nudge=threading.Event())
use_case = supervision.receive_escalation if which == "escalation" else supervision.receive_conclusion
entrypoint = "on_city_escalation" if which == "escalation" else "on_city_conclusion"
use_case(DatabaseAccess(provider, "complaints." + entrypoint), parse_event(envelope))
"""


def test_plat1_escalation_and_conclusion_at_once_close_the_register_line(pg_admin, tmp_path):
    """Fails on the code without the lock every time (the line stays 'open'): the file barrier makes both
    read before either commits."""
    url = pg_admin()
    upgrade("complaints", url)
    number = "320412-2026-000101"
    escalated, concluded = _events(number)
    env = {**os.environ, "PYTHONPATH": str(ROOT_DIR)}
    children = [subprocess.Popen([sys.executable, "-c", CHILD, url, which, str(tmp_path), json.dumps(envelope)],
                                 cwd=ROOT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for which, envelope in (("escalation", escalated), ("conclusion", concluded))]
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err[-2000:]
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            line = session.scalar(select(SupervisedComplaint).where(SupervisedComplaint.number == number))
        assert line is not None
        assert (line.status, str(line.concluded_on), line.upheld) == ("concluded", "2026-11-20", True)
    finally:
        engine.dispose()
