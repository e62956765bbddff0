"""Oversight (REV-2, REV-5, REV-7): the gate departmental systems ask before deciding (可否作出决定),
the violations review found (应审未审, 审核未通过, 审核人员不足), each body's staffing, and the periodic
job — due days recounted on a new calendar (PLAT-6), overdue tasks (超期, ``review.task_overdue`` once per
version), staffing recounted, gauges."""
from __future__ import annotations

import datetime as dt

from services.common import clock
from services.common.db import emit
from services.common.workdays import default_calendar
from services.review import metrics, store
from services.review.store import Actor, ReviewError

from .deadlines import follow_calendar
from .registry import recount_staffing


def may_decide(db, case_id, version, actor) -> dict | None:
    """REV-2 pre-decision check: yes, or no with reasons. None: unknown case (or not in the caller's scope)."""
    try:
        actor = Actor.of(actor)
    except ReviewError:
        return None
    with db.session() as session:
        answer = store.gate_answer(session, case_id, int(version))
        if answer is None or not actor.covers(answer["region_code"], answer["body_id"]):
            return None
        return answer


def list_violations(db, actor, kind=None, open_only=False, body_id=None) -> list[dict]:
    actor = Actor.of(actor)
    with db.session() as session:
        return [store.violation_view(v) for v in
                store.violations_in_scope(session, actor, kind=kind, open_only=open_only, body_id=body_id)]


def staffing(db, actor) -> list[dict]:
    actor = Actor.of(actor)
    with db.session() as session:
        return [store.staffing_view(r) for r in store.staffing_in_scope(session, actor)]


def run_periodic(db) -> dict:
    """Due days recounted when the calendar changed (PLAT-6), overdue alerts, staffing checks, gauges. The
    day is the service's clock's, never a caller's (SEC-2: a chosen future day would mark tasks overdue)."""
    recounted = follow_calendar(db, clock.now())   # reloads the calendar if its directory changed
    calendar = default_calendar()
    today = clock.today()
    alerted = []
    with db.session() as session:
        for row in store.overdue_tasks(session, today):
            if row.overdue_version == row.version:
                continue
            row.overdue_version = row.version
            emit(session, "review.task_overdue", {
                "task_id": row.task_id, "version": row.version, "due_on": row.due_on, "state": row.state,
                "reviewer_id": row.reviewer_id or row.assigned_reviewer_id,
                "working_days_overdue": calendar.working_days_between(row.due_on, today)},
                region_code=row.region_code, body_id=row.body_id, case_id=row.case_id)
            alerted.append((row.region_code, row.body_id, row.task_id))
    for region, body, _ in alerted:
        metrics.OVERDUE_ALERTS.labels(region, body).inc()
    with db.session() as session:
        staffing_states = recount_staffing(session, store.staffed_body_ids(session))
    refresh_gauges(db, today)
    return {"overdue_alerted": [t for _, _, t in alerted], "staffing": staffing_states,
            "due_days_moved": recounted}


def refresh_gauges(db, today: dt.date) -> None:
    with db.session() as session:
        open_rows, overdue_rows = store.task_counts(session, today)
    metrics.TASKS_OPEN.clear()
    metrics.TASKS_OVERDUE.clear()
    for region, body, n in open_rows:
        metrics.TASKS_OPEN.labels(region, body).set(n)
    for region, body, n in overdue_rows:
        metrics.TASKS_OVERDUE.labels(region, body).set(n)
