"""Running deadlines follow the calendar in force (PLAT-6, issue 16).

A deadline that is stored (a review task's due day, a supervision item's, a complaint's running
deadline, a publication deadline) was counted on the calendar in force when it was set. When a new
schedule is loaded (``config/calendar/<year>.yaml``, picked up by
:func:`services.common.workdays.refresh_default_calendar` at the next periodic run, no restart),
every deadline still running is counted again from its start and the stored day moves; the previous
and the new day are kept in ``deadline_changes`` (one row per move, never updated).

The one mechanism, shared by review, evaluation, complaints and disclosure:

- each service's leased periodic job calls :func:`recount_on_calendar_change` with its own recount
  (a use case that walks its running deadlines and calls :func:`keep_change` for each that moved);
- the job runs the recount only when the calendar's ``version`` differs from the version stamped in
  the service's database (``calendar_stamps``) — once per schedule change, not on every tick — and
  stamps the new version in the same transaction;
- disclosure also keeps each publication's ``calendar_version`` and recounts those computed under
  another version in its deadline job (it records its moves here too).

Tables (``DeadlineHistoryBase``): each service that opts in lists ``DeadlineHistoryBase.metadata`` in
its ``EXTRA_METADATA`` and creates them in a migration
(``services.common.migrations.create_deadline_history_tables``).
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Callable

from sqlalchemy import Boolean, Date, DateTime, Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.common.workdays import Deadline, WorkingDayCalendar, refresh_default_calendar

log = logging.getLogger(__name__)


class DeadlineHistoryBase(DeclarativeBase):
    pass


class CalendarStamp(DeadlineHistoryBase):
    """The calendar version a service's running deadlines were last recounted on (one row per recount)."""

    __tablename__ = "calendar_stamps"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(32))
    applied_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DeadlineChange(DeadlineHistoryBase):
    """A stored deadline moved by a new calendar: the previous and the new due day (PLAT-6 history)."""

    __tablename__ = "deadline_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(32))             # review_task, supervision_item, complaint …
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    previous_due: Mapped[dt.date] = mapped_column(Date)
    new_due: Mapped[dt.date] = mapped_column(Date)
    previous_provisional: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    new_provisional: Mapped[bool] = mapped_column(Boolean)
    previous_calendar_version: Mapped[str | None] = mapped_column(String(32), nullable=True)
    calendar_version: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def recount(deadline: Deadline, calendar: WorkingDayCalendar) -> Deadline:
    """The same period (``working_days`` after ``start``) counted again on ``calendar``."""
    return calendar.add_working_days(deadline.start, deadline.working_days)


def keep_change(session: Session, subject: str, subject_id: str, previous_due: dt.date, new: Deadline, at: dt.datetime,
                *, previous_provisional: bool | None = None,
                previous_calendar_version: str | None = None) -> DeadlineChange | None:
    """Record that ``subject_id``'s due day moved from ``previous_due`` to ``new.due`` (or that it stopped or
    started being provisional). Nothing when neither changed; the row otherwise."""
    if previous_due == new.due and (previous_provisional is None or bool(previous_provisional) == new.provisional):
        return None
    row = DeadlineChange(subject=subject, subject_id=subject_id, previous_due=previous_due, new_due=new.due,
                         previous_provisional=previous_provisional, new_provisional=new.provisional,
                         previous_calendar_version=previous_calendar_version or None,
                         calendar_version=new.calendar_version, changed_at=at)
    session.add(row)
    return row


def changes_of(session: Session, subject_id: str) -> list[DeadlineChange]:
    """The moves of one subject's deadline, oldest first."""
    return list(session.scalars(select(DeadlineChange).where(DeadlineChange.subject_id == subject_id)
                                .order_by(DeadlineChange.id)))


def recount_on_calendar_change(db, name: str, recount_all: Callable[[Session, WorkingDayCalendar, dt.datetime], int],
                               now: dt.datetime, calendar: WorkingDayCalendar | None = None) -> int | None:
    """Run ``recount_all(session, calendar, now)`` — the service's walk over its running deadlines, returning how
    many moved — when the calendar in force (reloaded if its directory changed) is not the version stamped
    under ``name``; stamp it in the same transaction. None when the stamp is current (nothing to do).
    Called from a leased periodic job, so one replica recounts."""
    calendar = calendar or refresh_default_calendar()
    with db.session() as session:
        stamp = session.get(CalendarStamp, name)
        if stamp is not None and stamp.version == calendar.version:
            return None
        previous = stamp.version if stamp is not None else None
        moved = recount_all(session, calendar, now)
        if stamp is None:
            session.add(CalendarStamp(name=name, version=calendar.version, applied_at=now))
        else:
            stamp.version, stamp.applied_at = calendar.version, now
    log.info("%s: running deadlines recounted on calendar %s (was %s): %d moved", name, calendar.version,
             previous or "none", moved)
    return moved
