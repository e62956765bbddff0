"""Publication deadlines of enforcement decisions (事后公开时限) — DISC-3, PLAT-6.

Decisions are published within 20 working days of the decision (作出之日起20个工作日内);
permits (行政许可) and penalties (行政处罚) within 7 working days, unless a law or administrative
regulation says otherwise (法律、行政法规另有规定的除外 → ``override_days``). The numbers are
configuration: ``config/periods.yaml`` keys ``disclosure.penalty`` / ``disclosure.permit`` /
``disclosure.other`` (read via :mod:`services.common.periods`).
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Mapping

from services.common.periods import Period, load_periods
from services.common.workdays import Deadline, WorkingDayCalendar

from .model import ActionType, parse_action_type

YELLOW_WARNING_WORKING_DAYS = 2

_PERIOD_NAMES = {ActionType.PENALTY: "disclosure.penalty", ActionType.PERMIT: "disclosure.permit"}
DEFAULT_PERIOD_DAYS = {"disclosure.penalty": 7, "disclosure.permit": 7, "disclosure.other": 20}


def period_name(action_type: ActionType | str) -> str:
    """The configuration name of the publication period of ``action_type``."""
    return _PERIOD_NAMES.get(parse_action_type(action_type), "disclosure.other")


def publication_days(
    action_type: ActionType | str,
    override_days: int | None = None,
    periods: Mapping[str, Period | int] | None = None,
) -> int:
    """Working days allowed for publication (公开时限) of a decision of ``action_type``."""
    if override_days is not None:
        if int(override_days) < 0:
            raise ValueError("override_days must be >= 0")
        return int(override_days)
    name = period_name(action_type)
    if periods is None:
        periods = load_periods()
    spec = periods.get(name, DEFAULT_PERIOD_DAYS[name])
    if isinstance(spec, Period):
        if spec.unit != "working_days":
            raise ValueError(f"period {name} must be counted in working_days, not {spec.unit}")
        return spec.value
    return int(spec)


def publication_deadline(
    action_type: ActionType | str,
    decided_on: dt.date,
    calendar: WorkingDayCalendar,
    override_days: int | None = None,
    periods: Mapping[str, Period | int] | None = None,
) -> Deadline:
    """The last day to publish a decision (公开截止日) — DISC-3.

    The decision day itself is not counted. ``Deadline.provisional`` is True when a counted day
    lies in a year whose holiday schedule is not loaded (PLAT-6).
    """
    return calendar.add_working_days(decided_on, publication_days(action_type, override_days, periods))


def needs_recompute(deadline: Deadline, calendar: WorkingDayCalendar) -> bool:
    """True when ``deadline`` was computed under another calendar version (PLAT-6)."""
    return deadline.calendar_version != calendar.version


class PublicationStatus(str, enum.Enum):
    """Publication timeliness: 待公开 / 按时公开 / 逾期公开 / 已逾期未公开."""

    DUE = "due"
    PUBLISHED_ON_TIME = "published_on_time"
    PUBLISHED_LATE = "published_late"
    OVERDUE = "overdue"

    @property
    def label_zh(self) -> str:
        return {
            PublicationStatus.DUE: "待公开",
            PublicationStatus.PUBLISHED_ON_TIME: "按时公开",
            PublicationStatus.PUBLISHED_LATE: "逾期公开",
            PublicationStatus.OVERDUE: "已逾期未公开",
        }[self]


class WarningLevel(str, enum.Enum):
    """Warning light (预警): none, yellow (≤ 2 working days left), red (overdue)."""

    NONE = "none"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class PublicationTiming:
    status: PublicationStatus
    warning: WarningLevel
    due: dt.date
    provisional: bool
    working_days_left: int | None  # while due: working days after today up to and including due
    working_days_late: int | None  # when late/overdue: working days after due
    message_zh: str


def publication_status(
    deadline: Deadline,
    today: dt.date,
    calendar: WorkingDayCalendar,
    published_on: dt.date | None = None,
    yellow_days: int = YELLOW_WARNING_WORKING_DAYS,
) -> PublicationTiming:
    """Status of a publication against its deadline, as of ``today`` — DISC-3.

    Unpublished with ``working_days_left <= yellow_days`` → yellow warning; past due → red.
    """
    due = deadline.due
    note = "（截止日期依据的节假日安排尚未发布，为暂定）" if deadline.provisional else ""
    if published_on is not None:
        if published_on <= due:
            return PublicationTiming(PublicationStatus.PUBLISHED_ON_TIME, WarningLevel.NONE, due,
                                     deadline.provisional, None, None,
                                     f"已于{published_on.isoformat()}按时公开（截止{due.isoformat()}）")
        late = calendar.working_days_between(due, published_on)
        return PublicationTiming(PublicationStatus.PUBLISHED_LATE, WarningLevel.NONE, due, deadline.provisional,
                                 None, late,
                                 f"已于{published_on.isoformat()}公开，超过截止日期{due.isoformat()}"
                                 f"{late}个工作日")
    if today > due:
        late = calendar.working_days_between(due, today)
        return PublicationTiming(PublicationStatus.OVERDUE, WarningLevel.RED, due, deadline.provisional, None, late,
                                 f"已超过公开截止日期{due.isoformat()}，逾期{late}个工作日仍未公开{note}")
    left = calendar.working_days_between(today, due)
    warning = WarningLevel.YELLOW if left <= yellow_days else WarningLevel.NONE
    text = f"应于{due.isoformat()}前公开，剩余{left}个工作日{note}"
    if left == 0:
        text = f"今日（{due.isoformat()}）为公开截止日{note}"
    return PublicationTiming(PublicationStatus.DUE, warning, due, deadline.provisional, left, None, text)
