"""Periodic jobs of the disclosure service (each run under a lease, see service.py).

- :func:`check_deadlines` (DISC-3): recompute deadlines computed under an older calendar (PLAT-6),
  emit ``disclosure.overdue`` once per publication that passed its deadline unpublished, and
  refresh the due/overdue gauges (yellow ≤ 2 working days left, red overdue).
- :func:`refresh_stale_powers` (PLAT-4): the stale-power gauge.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter as Tally

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.common.db import emit, utcnow
from services.common.running_deadlines import keep_change
from services.common.workdays import Deadline, WorkingDayCalendar
from services.disclosure import metrics, register
from services.disclosure.domain.deadlines import needs_recompute, publication_deadline, publication_status
from services.disclosure.models import Publication

BATCH = 500


def deadline_of(p: Publication) -> Deadline:
    return Deadline(p.decided_on, 0, p.due_on, bool(p.due_provisional), p.calendar_version or "")


def timing(p: Publication, today: dt.date, calendar: WorkingDayCalendar):
    return publication_status(deadline_of(p), today, calendar, p.published_on)


def recompute(p: Publication, calendar: WorkingDayCalendar, session: Session | None = None) -> bool:
    """A deadline computed under another calendar version is recomputed (e.g. next year's schedule loaded);
    with ``session``, a moved day is kept, previous and new, in ``deadline_changes`` (PLAT-6, issue 16)."""
    if not needs_recompute(deadline_of(p), calendar):
        return False
    deadline = publication_deadline(p.action_type, p.decided_on, calendar, override_days=p.publication_period_override)
    changed = (deadline.due, deadline.provisional) != (p.due_on, bool(p.due_provisional))
    if changed and session is not None:
        keep_change(session, "publication", p.publication_id, p.due_on, deadline, utcnow(),
                    previous_provisional=bool(p.due_provisional), previous_calendar_version=p.calendar_version)
    p.due_on, p.due_provisional, p.calendar_version = deadline.due, deadline.provisional, deadline.calendar_version
    return changed


def check_deadlines(session: Session, today: dt.date, calendar: WorkingDayCalendar) -> dict:
    """One pass over unpublished decisions (and provisional deadlines). Returns counts."""
    rows = session.scalars(select(Publication).where(or_(
        Publication.status == "pending",
        (Publication.due_provisional.is_(True)) & (Publication.calendar_version != calendar.version)))).all()
    due, overdue = Tally(), Tally()
    recomputed = notified = 0
    for p in rows:
        if recompute(p, calendar, session):
            recomputed += 1
            p.updated_at = utcnow()
        if p.status != "pending":
            continue
        t = timing(p, today, calendar)
        if t.status.value == "overdue":
            overdue[(p.region_code, p.body_id)] += 1
            if p.overdue_notified_at is None:
                emit(session, "disclosure.overdue", {
                    "publication_id": p.publication_id, "due_on": p.due_on, "decision_no": p.decision_no,
                    "action_type": p.action_type, "due_provisional": bool(p.due_provisional),
                    "working_days_late": t.working_days_late or 0},
                    region_code=p.region_code, body_id=p.body_id, case_id=p.case_id)
                p.overdue_notified_at = utcnow()
                metrics.OVERDUE_NOTIFIED.labels(p.region_code, p.body_id).inc()
                notified += 1
        else:
            due[(p.region_code, p.body_id, t.warning.value)] += 1
    metrics.PUBLICATIONS_DUE.clear()
    metrics.PUBLICATIONS_OVERDUE.clear()
    for (region, body, warning), n in due.items():
        metrics.PUBLICATIONS_DUE.labels(region, body, warning).set(n)
    for (region, body), n in overdue.items():
        metrics.PUBLICATIONS_OVERDUE.labels(region, body).set(n)
    return {"due": sum(due.values()), "overdue": sum(overdue.values()), "notified": notified,
            "recomputed": recomputed}


def refresh_stale_powers(session: Session, today: dt.date) -> int:
    flagged = Tally((s["region_code"], s["body_id"]) for s in register.stale_power_list(session, None, today))
    metrics.STALE_POWERS.clear()
    for (region, body), n in flagged.items():
        metrics.STALE_POWERS.labels(region, body).set(n)
    return sum(flagged.values())
