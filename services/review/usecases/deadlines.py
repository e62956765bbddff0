"""Due days follow the calendar in force (PLAT-6, REV-5, issue 16): when a new working-day schedule is
loaded, every pending task's due day is counted again from its submission on the new calendar; a moved
day is written to the task (its current version's ``due`` and the ``due_on`` column) and kept, previous
and new, in ``deadline_changes`` (services/common/running_deadlines.py). Run by the leased periodic job."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session

from services.common.running_deadlines import keep_change, recount, recount_on_calendar_change
from services.common.workdays import WorkingDayCalendar
from services.review import store

RECOUNT = "review.tasks"
SUBJECT = "review_task"


def recount_due_days(session: Session, calendar: WorkingDayCalendar, now: dt.datetime) -> int:
    """Count every pending task's due day again on ``calendar``; the number of tasks whose day moved."""
    moved = 0
    for row in store.running_task_rows(session):
        task = store.decode(row)
        current = task.current
        if current.due.calendar_version == calendar.version:
            continue
        due = recount(current.due, calendar)
        versions = (*task.versions[:-1], dataclasses.replace(current, due=due))
        store.save(row, dataclasses.replace(task, versions=versions), now)
        if keep_change(session, SUBJECT, row.task_id, current.due.due, due, now,
                       previous_provisional=current.due.provisional,
                       previous_calendar_version=current.due.calendar_version):
            moved += 1
    return moved


def follow_calendar(db, now: dt.datetime) -> int | None:
    """The recount, once per calendar version (None: the stamp is current)."""
    return recount_on_calendar_change(db, RECOUNT, recount_due_days, now)
