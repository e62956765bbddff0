"""The deadline sweep (期限督办, CMP-3, CMP-5, CMP-9): every open complaint past its running deadline is
escalated to the next tier up (逐级上报, ``complaint.escalated``), its overdue clues are emitted once,
and the overdue gauges are recomputed. One replica at a time runs it (a job lease).

First, when the working-day calendar changed (PLAT-6, issue 16), the deadlines stored on each open complaint
(``acknowledge_due``, ``handling_due`` and the running ``open_due`` the sweep selects on) are counted again on
the calendar in force; a moved running deadline is kept, previous and new, in ``deadline_changes``
(services/common/running_deadlines.py)."""
from __future__ import annotations

import datetime as dt

from services.common.db import emit
from services.common.running_deadlines import keep_change, recount_on_calendar_change
from services.common.workdays import WorkingDayCalendar
from services.complaints import configuration, store
from services.complaints import metrics as m
from services.complaints.domain import Status
from services.complaints.domain.lifecycle import OPEN_STATUSES

from . import coordination
from .handling import emit_clues
from .shared import now_utc, today_china

SWEEP_LEASE = "complaints.deadline_sweep"
RECOUNT = "complaints.deadlines"
SUBJECT = "complaint"


def sweep_if_leased(db, lease_seconds: float) -> int | None:
    """Run the sweep for today if this replica holds the lease; None when another one does."""
    if not db.acquire_lease(SWEEP_LEASE, lease_seconds):
        return None
    follow_calendar(db, now_utc())
    escalated = sweep_deadlines(db, today_china())
    coordination.sweep(db, today_china())      # clues escalated, transfers overdue (COORD-1, COORD-3)
    return escalated


def recount_open_deadlines(session, calendar: WorkingDayCalendar, now: dt.datetime) -> int:
    """The stored deadlines of every open complaint counted again on ``calendar``; how many running ones moved."""
    moved = 0
    for row in store.open_complaint_rows(session):
        record = store.record_of(row, calendar=calendar)
        running = record.open_deadline()
        stored = (row.acknowledge_due, row.handling_due, row.open_due)
        if stored == (record.acknowledge.due, record.handling.due if record.handling else None,
                      running[1].due if running else None):
            continue
        if running is not None and row.open_due is not None and keep_change(
                session, SUBJECT, row.number, row.open_due, running[1], now):
            moved += 1
        store.write_record(row, record, now)
    return moved


def follow_calendar(db, now: dt.datetime) -> int | None:
    """The recount, once per calendar version (None: the stamp is current)."""
    return recount_on_calendar_change(db, RECOUNT, recount_open_deadlines, now)


def sweep_deadlines(db, today: dt.date, batch: int = 200) -> int:
    """Escalate every open complaint past its running deadline, emit overdue clues; refresh gauges."""
    escalated_total = 0
    last = ""
    while True:
        with db.session() as session:
            numbers = store.overdue_numbers(session, today, last, batch)
        if not numbers:
            break
        last = numbers[-1]
        for number in numbers:
            escalated_total += escalate_one(db, number, today)
    refresh_overdue_gauges(db, today)
    return escalated_total


def escalate_one(db, number: str, today: dt.date) -> int:
    """Escalate one complaint as far as its deadlines say; the number of stages escalated."""
    now = now_utc()
    counted = []
    with db.session() as session:
        row = store.complaint_row(session, number, lock=True)
        if row is None or Status(row.status) not in OPEN_STATUSES:
            return 0
        record = store.record_of(row)
        step = configuration.deadline_rules().escalation_step_working_days   # deadlines.yaml (CMP-9)
        pending = record.pending_escalations(today, step_working_days=step)
        new = record.apply_escalations(today, at=max(now, record.history[-1].at), step_working_days=step)
        c = new.complaint
        for stage, step in pending:
            running = record.open_deadline()
            emit(session, "complaint.escalated", {
                "number": new.register_number, "subject_body_id": c.subject.body_id, "stage": stage,
                "level": step.level, "to_region_code": step.region_code, "tier": step.tier.value,
                "due": running[1].due, "escalated_on": step.escalated_on,
                "handler_unit_id": new.handler.unit_id, "handler_region_code": new.handler.region_code},
                region_code=c.subject.body_region_code, body_id=c.subject.body_id, case_id=c.case_id)
            counted.append(stage)
        if pending:
            store.write_record(row, new, now)
        emit_clues(session, row, new, today)
    for stage in counted:
        m.ESCALATED.labels(c.region_code[:6], c.channel.value, stage).inc()
    return len(counted)


def refresh_overdue_gauges(db, today: dt.date) -> None:
    """逾期未办 by handler region, channel and stage (acknowledge while registered, else handle)."""
    with db.session() as session:
        rows = store.overdue_counts(session, today)
    m.OVERDUE.clear()
    for region, channel, status, count in rows:
        stage = "acknowledge" if status == Status.REGISTERED.value else "handle"
        m.OVERDUE.labels((region or "")[:6], channel, stage).inc(count)
