"""Supervision across tiers (省级督办 / 上级交办) — CMP-3, CMP-9, COORD-1, COORD-4, PLAT-1.

At a province suite the complaints service keeps a supervision register (省级督办台账) of the
complaints its cities escalated (``complaint.escalated`` over the upward link). It holds only what
the events carry — number, city, body complained about, stage, level, tier, due dates — never the
complainant nor the complaint's text, which stay in the city.

From the register a province supervisor orders a transfer (上级交办): the handling unit, an
instruction, a period in working days. The order travels down to the complaint's city
(``complaint.transfer_ordered``), where :meth:`ComplaintRecord.apply_order
<services.complaints.domain.lifecycle.ComplaintRecord.apply_order>` applies it.

Register status (:data:`REGISTER_STATUSES`)::

    open              督办中      — escalated, nothing ordered yet (or escalated again after an order)
    transferred_down  已交办下级  — a transfer was ordered; the city handles it
    concluded         已办结      — the city concluded the complaint (``complaint.concluded`` upward): final

Pure: no I/O, no clock; ``today`` and the calendar are passed in.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

from services.common.identifiers import Tier, city_of, is_region_code, region_covers, region_tier
from services.common.periods import Period
from services.common.workdays import Deadline, WorkingDayCalendar, default_calendar

from .deadlines import HANDLE, count_period, resolve_period
from .register import parse_register_number

TRANSFER_ORDER = "complaint.transfer_order"  # config/periods.yaml: default period of a transfer order

OPEN, TRANSFERRED_DOWN, CONCLUDED = "open", "transferred_down", "concluded"
REGISTER_STATUSES = (OPEN, TRANSFERRED_DOWN, CONCLUDED)
REGISTER_STATUS_LABELS = {OPEN: "督办中", TRANSFERRED_DOWN: "已交办下级", CONCLUDED: "已办结"}
STAGE_LABELS = {"acknowledge": "逾期未告知受理情况", "handle": "逾期未办结"}

_CJK = re.compile(r"[\u3400-\u9fff]")
INSTRUCTION_MIN, INSTRUCTION_MAX = 5, 2000


def filed_region(number: str) -> str:
    """The region a complaint was registered in — its number says so (``320412-2026-000123``): the
    complaint lives in that region's city suite, so an order about it goes there."""
    return parse_register_number(number).region_code


class OrderRefused(ValueError):
    """An order the rules refuse: ``status`` (403 / 409 / 422), Chinese ``message``, field errors."""

    def __init__(self, status: int, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.status, self.message, self.fields = status, message, dict(fields or {})


# --- the register ---------------------------------------------------------------------------------

IN_FORCE_FIELDS = ("stage", "level", "to_region_code", "tier", "due", "escalated_on", "handler_unit_id",
                   "handler_region_code")


@dataclass(frozen=True)
class EscalationNotice:
    """One ``complaint.escalated`` event as the province receives it (no identity in it)."""

    number: str
    region_code: str           # the envelope's region: the body complained about
    subject_body_id: str
    stage: str
    level: int
    to_region_code: str
    tier: str
    due: dt.date
    escalated_on: dt.date
    handler_unit_id: str
    handler_region_code: str

    @property
    def key(self) -> tuple[dt.date, int]:
        return (self.escalated_on, self.level)

    def in_force(self) -> dict[str, Any]:
        """The fields a register line takes from the step in force (same names on both)."""
        return {name: getattr(self, name) for name in IN_FORCE_FIELDS}

    def step(self) -> dict[str, Any]:
        return {"stage": self.stage, "level": self.level, "to_region_code": self.to_region_code,
                "tier": self.tier, "due": self.due.isoformat(), "escalated_on": self.escalated_on.isoformat()}


@dataclass(frozen=True)
class SupervisionEntry:
    """A line of the province's supervision register (督办台账): the latest escalation step in force,
    every step received, the transfer order if any, and the outcome. ``city_code`` is the city whose
    suite holds the complaint (from the number), ``region_code`` the region of the body complained about."""

    number: str
    city_code: str
    region_code: str
    subject_body_id: str
    stage: str
    level: int
    to_region_code: str
    tier: str
    due: dt.date
    escalated_on: dt.date
    handler_unit_id: str
    handler_region_code: str
    status: str = OPEN
    steps: tuple[dict, ...] = ()
    order: dict | None = None
    concluded_on: dt.date | None = None
    upheld: bool | None = None

    def visible_to(self, scope_region: str) -> bool:
        """Whether a user scoped to ``scope_region`` sees this line (PLAT-1): the complaint was registered
        in, is about a body of, or is handled in their region (store.register_scope_filter in SQL)."""
        return any(region_covers(scope_region, code) for code in
                   (filed_region(self.number), self.region_code, self.handler_region_code))

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "city_code": self.city_code, "filed_region_code": filed_region(self.number),
                "region_code": self.region_code,
                "subject_body_id": self.subject_body_id, "stage": self.stage,
                "stage_label": STAGE_LABELS.get(self.stage, self.stage), "level": self.level,
                "to_region_code": self.to_region_code, "tier": self.tier, "due": self.due.isoformat(),
                "escalated_on": self.escalated_on.isoformat(), "handler_unit_id": self.handler_unit_id,
                "handler_region_code": self.handler_region_code, "status": self.status,
                "status_label": REGISTER_STATUS_LABELS[self.status], "steps": [dict(s) for s in self.steps],
                "order": dict(self.order) if self.order else None,
                "concluded_on": self.concluded_on.isoformat() if self.concluded_on else None,
                "upheld": self.upheld}


def receive_escalation(entry: SupervisionEntry | None, notice: EscalationNotice) -> SupervisionEntry:
    """The register after ``notice``: a new line, or the line with the step added.

    The latest step (by escalation day, then level) is the one in force; an older one arriving late
    is only kept in ``steps``. A step escalated after a transfer order (the city missed the ordered
    deadline) reopens the line; a concluded line stays concluded. Receiving the same step twice
    changes nothing.
    """
    if not is_region_code(notice.region_code):
        raise ValueError(f"not an administrative division code: {notice.region_code!r}")
    if entry is None:
        return SupervisionEntry(notice.number, city_of(filed_region(notice.number)), notice.region_code,
                                notice.subject_body_id, **notice.in_force(), status=OPEN, steps=(notice.step(),))
    if entry.number != notice.number:
        raise ValueError("escalation of another complaint")
    step = notice.step()
    steps = entry.steps if step in entry.steps else entry.steps + (step,)
    if notice.key < (entry.escalated_on, entry.level) or step in entry.steps:
        return replace(entry, steps=steps)
    status = entry.status
    if status == TRANSFERRED_DOWN and entry.order and notice.escalated_on > dt.date.fromisoformat(
            entry.order["ordered_on"]):
        status = OPEN
    return replace(entry, **notice.in_force(), status=status, steps=steps)


def receive_conclusion(entry: SupervisionEntry, concluded_on: dt.date, upheld: bool) -> SupervisionEntry:
    """The city concluded the complaint (办结): the line is closed for good."""
    return replace(entry, status=CONCLUDED, concluded_on=concluded_on, upheld=bool(upheld))


# --- the transfer order (上级交办) ------------------------------------------------------------------

@dataclass(frozen=True)
class TransferOrder:
    """上级交办: the tier above (``issuer_region``) orders the complaint ``number`` to be handled by
    ``to_unit_id`` (region ``to_region_code``) following ``instruction``, concluded within
    ``working_days`` working days counted from ``ordered_on`` (that day not counted)."""

    number: str
    subject_body_id: str
    issuer_region: str
    ordered_by: str
    ordered_on: dt.date
    to_unit_id: str
    to_region_code: str
    instruction: str
    working_days: int
    to_name: str | None = None

    def deadline(self, calendar: WorkingDayCalendar | None = None) -> Deadline:
        """The new handling deadline on the Chinese working-day calendar (PLAT-6)."""
        return ordered_deadline(self.ordered_on, self.working_days, calendar)

    def to_json(self, calendar: WorkingDayCalendar | None = None) -> dict[str, Any]:
        due = self.deadline(calendar)
        return {"number": self.number, "issuer_region": self.issuer_region, "ordered_by": self.ordered_by,
                "ordered_on": self.ordered_on.isoformat(), "to_unit_id": self.to_unit_id,
                "to_region_code": self.to_region_code, "to_name": self.to_name, "instruction": self.instruction,
                "working_days": self.working_days, "due": due.due.isoformat(), "due_provisional": due.provisional}


def ordered_deadline(ordered_on: dt.date, working_days: int, calendar: WorkingDayCalendar | None = None) -> Deadline:
    """``working_days`` Chinese working days after ``ordered_on`` (the day of the order not counted)."""
    return count_period(ordered_on, Period(int(working_days), "working_days"), calendar or default_calendar())


def unit_region(unit_id: str) -> str | None:
    """The region a unit id names by convention (``320412-SFJ`` → ``320412``), else None."""
    head = (unit_id or "").split("-", 1)[0]
    return head if is_region_code(head) else None


def may_order(issuer_region: str, entry: SupervisionEntry) -> None:
    """Only the tier above the complaint's city — the province covering it — orders a transfer down."""
    if not is_region_code(issuer_region or "") or region_tier(issuer_region) is not Tier.PROVINCE \
            or not region_covers(issuer_region, entry.city_code):
        raise OrderRefused(403, "只有投诉所在设区市的上级（省级）监督人员可以交办")
    if entry.status == CONCLUDED:
        raise OrderRefused(409, "该投诉举报已办结，不能再交办")
    if entry.status == TRANSFERRED_DOWN:
        raise OrderRefused(409, "该投诉举报已交办下级，待其办理；再次逾期上报后方可重新交办")


def validate_order(entry: SupervisionEntry, form: dict, *, issuer_region: str, ordered_by: str, today: dt.date,
                   default_working_days: int | Period | None = None,
                   max_working_days: int | Period | None = None) -> TransferOrder:
    """The order from a supervisor's form, or :class:`OrderRefused` (422) with Chinese field errors.

    - ``to_unit_id`` required; never the body complained about;
    - ``to_region_code`` optional (default: the region the unit id starts with); must lie in the
      complaint's city, whose suite holds the complaint (the order is routed there only);
    - ``instruction`` required, in Chinese, 5 to 2000 characters;
    - ``due_working_days`` optional (default ``complaint.transfer_order`` in config/periods.yaml),
      a whole number from 1 to the handling period (``complaint.handle``, 30).
    """
    may_order(issuer_region, entry)
    errors: dict[str, list[str]] = {}
    unit = (form.get("to_unit_id") or "").strip()
    if not unit:
        errors["to_unit_id"] = ["请填写承办单位"]
    elif len(unit) > 64:
        errors["to_unit_id"] = ["承办单位编号过长"]
    elif unit == entry.subject_body_id:
        errors["to_unit_id"] = ["不得交由被投诉的执法主体办理"]
    region = (form.get("to_region_code") or "").strip() or unit_region(unit)
    if unit and not region:
        errors["to_region_code"] = ["请填写承办单位的行政区划代码"]
    elif region and not is_region_code(region):
        errors["to_region_code"] = ["承办单位的行政区划代码无效"]
    elif region and city_of(region) != entry.city_code:
        errors["to_region_code"] = [f"承办单位应为投诉所在设区市（{entry.city_code}）或其下辖地区的单位"]
    instruction = (form.get("instruction") or "").strip()
    if not instruction:
        errors["instruction"] = ["请填写交办意见"]
    elif not _CJK.search(instruction):
        errors["instruction"] = ["交办意见应使用中文填写"]
    elif not INSTRUCTION_MIN <= len(instruction) <= INSTRUCTION_MAX:
        errors["instruction"] = [f"交办意见应为{INSTRUCTION_MIN}至{INSTRUCTION_MAX}字"]
    default = resolve_period(TRANSFER_ORDER, default_working_days)
    limit = resolve_period(HANDLE, max_working_days)
    if default.unit != "working_days" or limit.unit != "working_days":
        raise ValueError("transfer orders count working days (config/periods.yaml)")
    raw = form.get("due_working_days")
    days = default.value
    if raw not in (None, ""):
        if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).strip().isdigit():
            errors["due_working_days"] = ["办理期限应为整数个工作日"]
        else:
            days = int(str(raw).strip())
    if "due_working_days" not in errors and not 1 <= days <= limit.value:
        errors["due_working_days"] = [f"办理期限应为1至{limit.value}个工作日"]
    to_name = (form.get("to_name") or "").strip() or None
    if to_name and len(to_name) > 200:
        errors["to_name"] = ["承办单位名称过长"]
    if errors:
        raise OrderRefused(422, "交办内容有误", errors)
    return TransferOrder(entry.number, entry.subject_body_id, issuer_region, ordered_by, today, unit, region,
                         instruction, days, to_name)


def order_transfer(entry: SupervisionEntry, order: TransferOrder,
                   calendar: WorkingDayCalendar | None = None) -> SupervisionEntry:
    """The register line once the order is issued: transferred down, the order kept."""
    if order.number != entry.number:
        raise ValueError("order for another complaint")
    may_order(order.issuer_region, entry)
    return replace(entry, status=TRANSFERRED_DOWN, order=order.to_json(calendar))


def order_from_json(data: dict, subject_body_id: str) -> TransferOrder:
    """A stored or received order (``complaint.transfer_ordered`` payload / history data)."""
    return TransferOrder(data["number"], subject_body_id, data["issuer_region"], data.get("ordered_by") or "",
                         _date(data["ordered_on"]), data["to_unit_id"], data["to_region_code"],
                         data["instruction"], int(data["working_days"]), data.get("to_name"))


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@dataclass(frozen=True)
class SuperiorOrder:
    """The order in force on a city complaint: who issued it, what it says, the new deadline."""

    issuer_region: str
    instruction: str
    ordered_on: dt.date
    working_days: int
    deadline: Deadline
    seq: int = 0                     # the history entry that recorded it

    @property
    def due(self) -> dt.date:
        return self.deadline.due
