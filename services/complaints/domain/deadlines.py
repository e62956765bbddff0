"""Complaint deadlines, warnings and escalation — REQUIREMENTS CMP-3, CMP-9 (PLAT-6, EVAL-9).

- Acknowledgement (告知受理情况): within ``complaint.acknowledge`` (default 5) working days of
  receipt (自收到投诉举报之日起5个工作日内, 000 §五(三)). The day of receipt is not counted.
- Handling (办结): within ``complaint.handle`` (default 30) working days of acceptance.
- Extension (延长办理期限): ONCE, by at most ``complaint.extension`` (default 20) working days,
  approved by a responsible person (负责人批准) before the period runs out; counted from the
  original due date. A second extension, or a longer one, raises :class:`ExtensionError`.
- Warnings (预警): yellow when ≤ 1 working day is left (configurable), red when overdue.
- Escalation (逐级上报): a step still open past its deadline escalates to the next tier up
  (township → county → city → province) on the first overdue day, and again every
  ``escalation_step_working_days`` working days while still stuck, until the province.

Periods come from ``config/periods.yaml`` (:func:`services.common.periods.period`) and may be passed
in; warning/escalation parameters from ``config/complaints/deadlines.yaml``. The calendar is
passed in (default: the process calendar); no clock is read — ``today`` is an argument.
"""
from __future__ import annotations

import datetime as dt
import enum
import os
from dataclasses import dataclass, replace

from services.common.identifiers import Tier, parent_region, region_tier
from services.common.periods import Period, period
from services.common.workdays import Deadline, WorkingDayCalendar, default_calendar

from marshmallow import Schema, fields, post_load, validate

from services.common.configfile import load_config_file

from .config import config_path
from .model import local_date

ACKNOWLEDGE, HANDLE, EXTENSION = "complaint.acknowledge", "complaint.handle", "complaint.extension"


class ExtensionError(ValueError):
    """An extension that the rules forbid (second, too long, unapproved, too late)."""


@dataclass(frozen=True)
class DeadlineRules:
    """``config/complaints/deadlines.yaml``."""

    yellow_within_working_days: int = 1
    escalation_step_working_days: int = 5


class _DeadlinesFile(Schema):
    yellow_within_working_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    escalation_step_working_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))

    @post_load
    def build(self, data, **kwargs) -> DeadlineRules:
        return DeadlineRules(**data)


def load_deadline_rules(path: str | os.PathLike | None = None) -> DeadlineRules:
    """Read ``config/complaints/deadlines.yaml``; ConfigError ``file: key.path: message`` when bad."""
    return load_config_file(config_path("deadlines.yaml", path), _DeadlinesFile)


def resolve_period(name: str, value: int | Period | None) -> Period:
    """``value`` as a Period (an int means working days); None → ``config/periods.yaml``."""
    if value is None:
        return period(name)
    if isinstance(value, Period):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: period must be a non-negative integer")
    return Period(value, "working_days")


def count_period(start: dt.date, spec: Period, calendar: WorkingDayCalendar) -> Deadline:
    """``spec`` after ``start`` (start day not counted).

    Working days count on the calendar; calendar days end on the next working day when the last day
    is a rest day (期间届满的最后一日是法定节假日的，以节假日后的第一日为期间届满的日期).
    """
    if spec.unit == "working_days":
        return calendar.add_working_days(start, spec.value)
    if spec.unit == "days":
        due = start + dt.timedelta(days=spec.value)
        while not calendar.is_working_day(due):
            due += dt.timedelta(days=1)
        provisional = not (calendar.is_known(start) and calendar.is_known(due))
        return Deadline(start, spec.value, due, provisional, calendar.version)
    raise ValueError(f"unsupported period unit for complaints: {spec.unit!r}")


def acknowledgement_deadline(received_at: dt.datetime | dt.date, *, calendar: WorkingDayCalendar | None = None,
                             working_days: int | Period | None = None) -> Deadline:
    """Last day to tell the complainant whether the complaint is accepted (CMP-3)."""
    calendar = calendar or default_calendar()
    return count_period(local_date(received_at), resolve_period(ACKNOWLEDGE, working_days), calendar)


@dataclass(frozen=True)
class Extension:
    """延长办理期限: ``working_days`` approved by ``approved_by`` (负责人) on ``approved_on``."""

    working_days: int
    approved_by: str
    approved_on: dt.date
    reason: str


@dataclass(frozen=True)
class HandlingPeriod:
    """The handling period (办理期限) after acceptance, with at most one extension (CMP-9)."""

    accepted_on: dt.date
    base: Deadline
    extension: Extension | None = None
    extended: Deadline | None = None
    unit: str = "working_days"

    @property
    def due(self) -> dt.date:
        return (self.extended or self.base).due

    @property
    def deadline(self) -> Deadline:
        """The deadline in force (original or extended)."""
        return self.extended or self.base

    @property
    def provisional(self) -> bool:
        return self.base.provisional or bool(self.extended and self.extended.provisional)

    def extend(self, working_days: int, *, approved_by: str, approved_on: dt.date, reason: str,
               calendar: WorkingDayCalendar | None = None,
               max_working_days: int | Period | None = None) -> "HandlingPeriod":
        """Grant the one extension; raise :class:`ExtensionError` when the rules forbid it."""
        limit = resolve_period(EXTENSION, max_working_days)
        if self.extension is not None:
            raise ExtensionError("办理期限只能延长一次（CMP-9）")
        if isinstance(working_days, bool) or not isinstance(working_days, int) or working_days < 1:
            raise ExtensionError("延长的期限应为正整数个工作日")
        if working_days > limit.value:
            raise ExtensionError(f"延长期限最多{limit.value}个工作日，申请{working_days}个工作日超出上限（CMP-9）")
        if not (approved_by or "").strip():
            raise ExtensionError("延长办理期限须经负责人批准（CMP-9）")
        if not (reason or "").strip():
            raise ExtensionError("延长办理期限须说明理由")
        if approved_on > self.base.due:
            raise ExtensionError(f"办理期限已于{self.base.due.isoformat()}届满，不得再延长")
        calendar = calendar or default_calendar()
        extended = count_period(self.base.due, Period(working_days, self.unit), calendar)
        return replace(self, extension=Extension(working_days, approved_by.strip(), approved_on, reason.strip()),
                       extended=extended)

    @classmethod
    def counted(cls, accepted_on: dt.date, working_days: int, unit: str, extension: Extension | None,
                calendar: WorkingDayCalendar) -> "HandlingPeriod":
        """A stored period (acceptance day, length, any extension) with its deadlines counted on ``calendar``
        — the calendar in force when it is read, so running deadlines follow a newly loaded schedule (PLAT-6)."""
        base = count_period(accepted_on, Period(working_days, unit), calendar)
        extended = count_period(base.due, Period(extension.working_days, unit), calendar) if extension else None
        return cls(accepted_on, base, extension, extended, unit)


def handling_period(accepted_at: dt.datetime | dt.date, *, calendar: WorkingDayCalendar | None = None,
                    working_days: int | Period | None = None) -> HandlingPeriod:
    """Start the handling period on acceptance (CMP-9)."""
    calendar = calendar or default_calendar()
    day = local_date(accepted_at)
    spec = resolve_period(HANDLE, working_days)
    return HandlingPeriod(day, count_period(day, spec, calendar), unit=spec.unit)


class WarningLevel(str, enum.Enum):
    """预警等级."""

    NONE = "none"      # 正常
    YELLOW = "yellow"  # 黄色预警：即将到期
    RED = "red"        # 红色预警：已逾期

    @property
    def label(self) -> str:
        return {"none": "正常", "yellow": "黄色预警（即将到期）", "red": "红色预警（已逾期）"}[self.value]


def warning_level(due: dt.date | Deadline, today: dt.date, *, calendar: WorkingDayCalendar | None = None,
                  yellow_within: int | None = None, completed_on: dt.date | None = None) -> WarningLevel:
    """Yellow when ≤ ``yellow_within`` working days are left, red when overdue (EVAL-9).

    A completed step is red if it was completed late, otherwise none.
    """
    due_day = due.due if isinstance(due, Deadline) else due
    if completed_on is not None:
        return WarningLevel.RED if completed_on > due_day else WarningLevel.NONE
    if today > due_day:
        return WarningLevel.RED
    calendar = calendar or default_calendar()
    within = DeadlineRules().yellow_within_working_days if yellow_within is None else yellow_within
    if calendar.working_days_between(today, due_day) <= within:
        return WarningLevel.YELLOW
    return WarningLevel.NONE


@dataclass(frozen=True)
class EscalationStep:
    """逐级上报: the ``level``-th escalation, to ``region_code`` (``tier``), effective ``escalated_on``."""

    level: int
    region_code: str
    tier: Tier
    escalated_on: dt.date


def escalation_steps(handler_region: str, due: dt.date | Deadline, today: dt.date, *,
                     calendar: WorkingDayCalendar | None = None,
                     step_working_days: int | None = None) -> list[EscalationStep]:
    """The escalations that have fallen due by ``today`` for a step still open past ``due``.

    First escalation on the first day after ``due`` to the parent of ``handler_region``; each next one
    ``step_working_days`` working days after the previous, to the next parent, up to the province.
    """
    due_day = due.due if isinstance(due, Deadline) else due
    calendar = calendar or default_calendar()
    step = DeadlineRules().escalation_step_working_days if step_working_days is None else step_working_days
    if step < 1:
        raise ValueError("step_working_days must be >= 1")
    steps: list[EscalationStep] = []
    region = parent_region(handler_region)
    on = due_day + dt.timedelta(days=1)
    level = 1
    while region is not None and on <= today:
        steps.append(EscalationStep(level, region, region_tier(region), on))
        region = parent_region(region)
        on = calendar.add_working_days(on, step).due
        level += 1
    return steps
