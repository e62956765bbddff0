"""Supervision items' deadlines follow the calendar in force (PLAT-6, EVAL-9, issue 16): when a new
working-day schedule is loaded, every open item's deadline (监督事项办理期限) is counted again from its start
on the new calendar; a moved day is written to the item (its JSON and the ``due_on`` column, and the
整改 consequence it tracks) and kept, previous and new, in ``deadline_changes``
(services/common/running_deadlines.py). An item whose day moved later is no longer noted overdue, so it is
flagged again if it passes the new day. Run by the leased periodic job (``grading.recompute``)."""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.orm import Session

from services.common.running_deadlines import keep_change, recount, recount_on_calendar_change
from services.common.workdays import WorkingDayCalendar
from services.evaluation import store, workflow

RECOUNT = "evaluation.supervision_items"
SUBJECT = "supervision_item"


def recount_item_deadlines(session: Session, calendar: WorkingDayCalendar, now: dt.datetime) -> int:
    """Count every open item's deadline again on ``calendar``; the number of items whose day moved."""
    moved = 0
    for row in store.running_item_rows(session):
        item = store.item_from_dict(json.loads(row.data))
        previous = item.deadline
        if previous.calendar_version == calendar.version:
            continue
        item.deadline = recount(previous, calendar)
        workflow.save_item(session, item)
        if not keep_change(session, SUBJECT, item.item_id, previous.due, item.deadline, now,
                           previous_provisional=previous.provisional,
                           previous_calendar_version=previous.calendar_version):
            continue
        moved += 1
        if item.deadline.due > previous.due:
            row.overdue_noted_on = None
        for consequence in store.consequences_of_item(session, item.item_id):
            consequence.due_on, consequence.due_provisional = item.deadline.due, item.deadline.provisional
    return moved


def follow_calendar(db, now: dt.datetime) -> int | None:
    """The recount, once per calendar version (None: the stamp is current)."""
    return recount_on_calendar_change(db, RECOUNT, recount_item_deadlines, now)


