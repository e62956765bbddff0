"""The life cycle of a registered complaint (投诉举报办理流程) — CMP-2, CMP-3, CMP-4, CMP-9, COORD-1, EVAL-7.

State table (``Status``)::

    registered  已登记   → accepted (route)            | not_accepted (reason required)
    accepted    已受理   → in_progress (progress note)
    in_progress 办理中   → in_progress (further notes)  | concluded (result, upheld)
    concluded   已办结   → rated (satisfaction 1–5, EVAL-7)
    not_accepted 不予受理, rated 已评价: final

Besides the state changes, open complaints (registered, accepted, in_progress) may be
- transferred (移送/转办) to another unit, region or tier — the register number stays the same, the
  handler changes, history grows; never to a body complained about;
- extended once (延长办理期限, CMP-9) while accepted or in progress;
- escalated (逐级上报) when a deadline has passed — appended to history, the handler is unchanged;
- ordered from the tier above (上级交办, :meth:`ComplaintRecord.apply_order`): the unit named takes
  over, the instruction and the issuing region go into the history, and the ordered deadline (working
  days from the order) becomes the deadline running; escalation starts afresh from it.

:class:`ComplaintRecord` is immutable: every transition returns a new record whose ``history`` is
the old one plus one :class:`HistoryEvent`. Invalid transitions raise :class:`TransitionError`
with a Chinese message. Times are timezone-aware datetimes passed in by the caller.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field, replace
from typing import Any

from services.common.identifiers import is_region_code
from services.common.periods import Period
from services.common.workdays import Deadline, WorkingDayCalendar

from .acceptance import decide_not_accepted
from .deadlines import (ACKNOWLEDGE, EscalationStep, ExtensionError, HandlingPeriod, acknowledgement_deadline,
                        escalation_steps, handling_period, resolve_period)
from .model import Complaint, local_date
from .register import parse_register_number
from .routing import Route, complained_bodies
from .supervision import SuperiorOrder, TransferOrder


class Status(str, enum.Enum):
    """办理状态."""

    REGISTERED = "registered"
    ACCEPTED = "accepted"
    NOT_ACCEPTED = "not_accepted"
    IN_PROGRESS = "in_progress"
    CONCLUDED = "concluded"
    RATED = "rated"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    Status.REGISTERED: "已登记", Status.ACCEPTED: "已受理", Status.NOT_ACCEPTED: "不予受理",
    Status.IN_PROGRESS: "办理中", Status.CONCLUDED: "已办结", Status.RATED: "已评价",
}

OPEN_STATUSES = frozenset({Status.REGISTERED, Status.ACCEPTED, Status.IN_PROGRESS})
FINAL_STATUSES = frozenset({Status.NOT_ACCEPTED, Status.RATED})

#: The allowed state changes (from → to); transfer/extension/escalation keep the state.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.REGISTERED: frozenset({Status.ACCEPTED, Status.NOT_ACCEPTED}),
    Status.ACCEPTED: frozenset({Status.IN_PROGRESS}),
    Status.IN_PROGRESS: frozenset({Status.IN_PROGRESS, Status.CONCLUDED}),
    Status.CONCLUDED: frozenset({Status.RATED}),
    Status.NOT_ACCEPTED: frozenset(),
    Status.RATED: frozenset(),
}


class EventKind(str, enum.Enum):
    """History entry kinds (办理记录)."""

    REGISTERED = "registered"            # 登记
    ACCEPTED = "accepted"                # 受理
    NOT_ACCEPTED = "not_accepted"        # 不予受理
    PROGRESS = "progress"                # 办理进展
    CONCLUDED = "concluded"              # 办结
    RATED = "rated"                      # 满意度评价
    TRANSFERRED = "transferred"          # 移送/转办
    EXTENDED = "extended"                # 延长办理期限
    ESCALATED = "escalated"              # 逐级上报
    DUPLICATE_LINKED = "duplicate_linked"  # 关联重复投诉
    ORDERED = "ordered"                  # 上级交办

    @property
    def label(self) -> str:
        return _EVENT_LABELS[self]


_EVENT_LABELS = {
    EventKind.REGISTERED: "登记", EventKind.ACCEPTED: "受理", EventKind.NOT_ACCEPTED: "不予受理",
    EventKind.PROGRESS: "办理进展", EventKind.CONCLUDED: "办结", EventKind.RATED: "满意度评价",
    EventKind.TRANSFERRED: "转办", EventKind.EXTENDED: "延长办理期限", EventKind.ESCALATED: "逐级上报",
    EventKind.DUPLICATE_LINKED: "关联重复投诉", EventKind.ORDERED: "上级交办",
}

#: history entries that may change the handling unit (their data carries ``to_unit_id``/``to_region_code``)
HANDLER_CHANGES = frozenset({EventKind.TRANSFERRED, EventKind.ORDERED})

STAGE_ACKNOWLEDGE, STAGE_HANDLE = "acknowledge", "handle"

DEFAULT_TRANSFER_NOTICE = "您的投诉举报已转交有权处理的单位办理，登记编号不变。"
ORDER_NOTICE = "您的投诉举报已由上级机关交办督促办理，登记编号不变。"


class TransitionError(ValueError):
    """An invalid transition; ``message`` is Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Handler:
    """The unit handling the complaint (承办单位): id, region, optional display name."""

    unit_id: str
    region_code: str
    name: str | None = None

    def __post_init__(self):
        if not self.unit_id:
            raise ValueError("handler unit_id is required")
        if not is_region_code(self.region_code):
            raise ValueError(f"handler region_code is not an administrative division code: {self.region_code!r}")


@dataclass(frozen=True)
class HistoryEvent:
    """One entry of the complaint's history.

    ``public_text`` is what the complainant is told (progress notes, result, reasons);
    ``internal_note`` is for handlers and supervisors only; ``data`` carries structured details.
    """

    seq: int
    kind: EventKind
    at: dt.datetime
    actor: str
    status: Status
    public_text: str | None = None
    internal_note: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _require_aware(at: dt.datetime) -> dt.datetime:
    if not isinstance(at, dt.datetime) or at.tzinfo is None:
        raise ValueError("event time must be a timezone-aware datetime")
    return at


def _text(value: str | None, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise TransitionError(message)
    return text


@dataclass(frozen=True)
class ComplaintRecord:
    """A registered complaint with its full history (登记簿记录)."""

    register_number: str
    complaint: Complaint
    query_code_hash: str
    handler: Handler
    status: Status
    acknowledge: Deadline
    history: tuple[HistoryEvent, ...]
    handling: HandlingPeriod | None = None
    route: Route | None = None
    decided_at: dt.datetime | None = None
    not_accepted_reason: str | None = None
    result: str | None = None
    upheld: bool | None = None
    concluded_at: dt.datetime | None = None
    satisfaction: int | None = None
    linked_to: str | None = None
    acknowledge_unit: str = "working_days"
    order: SuperiorOrder | None = None  # 上级交办 in force (rebuilt from the history by the store)

    # -- creation ------------------------------------------------------------------------------
    @classmethod
    def new(cls, complaint: Complaint, register_number: str, query_code_hash: str, handler: Handler, *,
            at: dt.datetime, actor: str, calendar: WorkingDayCalendar | None = None,
            acknowledge_working_days: int | Period | None = None) -> "ComplaintRecord":
        """Register a complaint (编号登记, CMP-2) and start the acknowledgement clock (CMP-3)."""
        _require_aware(at)
        parse_register_number(register_number)
        if not query_code_hash.startswith("scrypt$"):
            raise ValueError("query_code_hash must be the stored hash, never the code itself")
        spec = resolve_period(ACKNOWLEDGE, acknowledge_working_days)
        deadline = acknowledgement_deadline(complaint.received_at, calendar=calendar, working_days=spec)
        event = HistoryEvent(1, EventKind.REGISTERED, at, actor, Status.REGISTERED,
                             public_text="您的投诉举报已登记。",
                             data={"register_number": register_number, "channel": complaint.channel.value,
                                   "handler_unit_id": handler.unit_id, "handler_region_code": handler.region_code,
                                   "acknowledge_due": deadline.due.isoformat(),
                                   "acknowledge_provisional": deadline.provisional})
        return cls(register_number, complaint, query_code_hash, handler, Status.REGISTERED, deadline, (event,),
                   acknowledge_unit=spec.unit)

    # -- helpers -------------------------------------------------------------------------------
    def _append(self, kind: EventKind, at: dt.datetime, actor: str, status: Status, *,
                public_text: str | None = None, internal_note: str | None = None,
                data: dict[str, Any] | None = None, **changes) -> "ComplaintRecord":
        _require_aware(at)
        if not (actor or "").strip():
            raise TransitionError("必须记录操作人")
        if self.history and at < self.history[-1].at:
            raise TransitionError("事件时间早于上一条办理记录，办理记录只能顺序追加")
        event = HistoryEvent(len(self.history) + 1, kind, at, actor, status, public_text, internal_note,
                             dict(data or {}))
        return replace(self, status=status, history=self.history + (event,), **changes)

    def _move(self, target: Status, action: str) -> None:
        if target not in TRANSITIONS[self.status]:
            allowed = "、".join(s.label for s in TRANSITIONS[self.status]) or "无（已终结）"
            raise TransitionError(f"当前状态为“{self.status.label}”，不能{action}；可转入：{allowed}")

    def _require_open(self, action: str) -> None:
        if self.status not in OPEN_STATUSES:
            raise TransitionError(f"当前状态为“{self.status.label}”，不能{action}")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    # -- state changes -------------------------------------------------------------------------
    def accept(self, *, at: dt.datetime, actor: str, route: Route | None = None, note: str | None = None,
               calendar: WorkingDayCalendar | None = None,
               handle_working_days: int | Period | None = None) -> "ComplaintRecord":
        """受理 (CMP-3/4): start the handling period (CMP-9)."""
        self._move(Status.ACCEPTED, "受理")
        period = handling_period(at, calendar=calendar, working_days=handle_working_days)
        data = {"handling_due": period.due.isoformat(), "handling_provisional": period.provisional,
                "acknowledged_on_time": local_date(at) <= self.acknowledge.due}
        if route is not None:
            data.update(route_kind=route.target_kind.value, route_region_code=route.target_region_code,
                        route_body_id=route.target_body_id)
        return self._append(EventKind.ACCEPTED, at, actor, Status.ACCEPTED,
                            public_text="您的投诉举报已受理，正在依法办理。", internal_note=note, data=data,
                            handling=period, route=route, decided_at=at)

    def not_accept(self, reason: str, *, at: dt.datetime, actor: str, note: str | None = None) -> "ComplaintRecord":
        """不予受理 (CMP-4): the reason is mandatory, told to the complainant and kept in the register."""
        self._move(Status.NOT_ACCEPTED, "作出不予受理决定")
        decision = decide_not_accepted(reason)
        return self._append(EventKind.NOT_ACCEPTED, at, actor, Status.NOT_ACCEPTED,
                            public_text=f"您的投诉举报不予受理。理由：{decision.reason}", internal_note=note,
                            data={"acknowledged_on_time": local_date(at) <= self.acknowledge.due},
                            not_accepted_reason=decision.reason, decided_at=at)

    def add_progress(self, public_text: str, *, at: dt.datetime, actor: str,
                     internal_note: str | None = None) -> "ComplaintRecord":
        """办理进展 fed back to the complainant (CMP-4); the first one moves accepted → in_progress."""
        self._move(Status.IN_PROGRESS, "记录办理进展")
        text = _text(public_text, "办理进展内容不能为空")
        return self._append(EventKind.PROGRESS, at, actor, Status.IN_PROGRESS, public_text=text,
                            internal_note=internal_note)

    def record_scope_finding(self, in_scope: bool, *, at: dt.datetime, actor: str,
                             note: str | None = None) -> "ComplaintRecord":
        """监督认定 (CMP-5): a supervisor finds that a not-accepted complaint was (not) in scope; kept as an
        internal progress entry (the status stays 不予受理). In scope makes a not-accepted clue."""
        if self.status is not Status.NOT_ACCEPTED:
            raise TransitionError(f"当前状态为“{self.status.label}”，只能对不予受理的投诉举报作出认定")
        return self._append(EventKind.PROGRESS, at, actor, self.status,
                            internal_note=f"监督认定：{'属于' if in_scope else '不属于'}受理范围。{note or ''}".strip(),
                            data={"scope_finding": bool(in_scope)})

    def conclude(self, result: str, upheld: bool, *, at: dt.datetime, actor: str,
                 internal_note: str | None = None) -> "ComplaintRecord":
        """办结 with the result told to the complainant; ``upheld`` = 投诉属实 (CMP-4, CMP-5)."""
        if self.status is Status.ACCEPTED:
            raise TransitionError("当前状态为“已受理”，须先记录办理进展（办理中）后才能办结")
        self._move(Status.CONCLUDED, "办结")
        if not isinstance(upheld, bool):
            raise TransitionError("须明确投诉举报是否属实（upheld 为 True 或 False）")
        text = _text(result, "办理结果不能为空")
        on_time = self.handling is None or local_date(at) <= self.handling.due
        return self._append(EventKind.CONCLUDED, at, actor, Status.CONCLUDED, public_text=text,
                            internal_note=internal_note, data={"upheld": upheld, "on_time": on_time},
                            result=text, upheld=upheld, concluded_at=at)

    def rate(self, satisfaction: int, *, at: dt.datetime, actor: str = "complainant",
             comment: str | None = None) -> "ComplaintRecord":
        """满意度评价 1–5 at closure (EVAL-7)."""
        self._move(Status.RATED, "评价")
        if isinstance(satisfaction, bool) or not isinstance(satisfaction, int) or not 1 <= satisfaction <= 5:
            raise TransitionError("满意度评价应为1至5的整数")
        return self._append(EventKind.RATED, at, actor, Status.RATED, internal_note=comment,
                            data={"satisfaction": satisfaction}, satisfaction=satisfaction)

    # -- state-preserving events ---------------------------------------------------------------
    def transfer(self, to: Handler, reason: str, *, at: dt.datetime, actor: str,
                 public_text: str | None = DEFAULT_TRANSFER_NOTICE) -> "ComplaintRecord":
        """移送/转办 to another unit, region or tier (COORD-1); number and history are kept."""
        self._require_open("转办")
        why = _text(reason, "转办必须说明理由")
        if to.unit_id == self.handler.unit_id:
            raise TransitionError("转办的接收单位与当前承办单位相同")
        if self.complaint.subject is not None and to.unit_id in complained_bodies(self.complaint.subject):
            raise TransitionError("不得将投诉举报转交被投诉的执法主体办理")
        data = {"from_unit_id": self.handler.unit_id, "from_region_code": self.handler.region_code,
                "to_unit_id": to.unit_id, "to_region_code": to.region_code, "reason": why}
        return self._append(EventKind.TRANSFERRED, at, actor, self.status, public_text=public_text,
                            internal_note=why, data=data, handler=to)

    def extend(self, working_days: int, *, approved_by: str, reason: str, at: dt.datetime, actor: str,
               calendar: WorkingDayCalendar | None = None,
               max_working_days: int | Period | None = None) -> "ComplaintRecord":
        """延长办理期限 once, ≤ 20 working days, approved by a responsible person (CMP-9)."""
        if self.status not in (Status.ACCEPTED, Status.IN_PROGRESS) or self.handling is None:
            raise TransitionError(f"当前状态为“{self.status.label}”，不能延长办理期限")
        try:
            period = self.handling.extend(working_days, approved_by=approved_by, approved_on=local_date(at),
                                          reason=reason, calendar=calendar, max_working_days=max_working_days)
        except ExtensionError as exc:
            raise TransitionError(str(exc)) from exc
        return self._append(EventKind.EXTENDED, at, actor, self.status,
                            public_text=f"经批准，办理期限延长至{period.due.isoformat()}。", internal_note=reason,
                            data={"working_days": working_days, "approved_by": period.extension.approved_by,
                                  "new_due": period.due.isoformat(), "provisional": period.provisional},
                            handling=period)

    def apply_order(self, order: TransferOrder, *, at: dt.datetime, actor: str,
                    calendar: WorkingDayCalendar | None = None, event_id: str | None = None) -> "ComplaintRecord":
        """上级交办 (COORD-4, CMP-9): the unit named takes over (unless it already handles it), the
        instruction and the issuing region are recorded, and the ordered deadline — ``working_days``
        Chinese working days after the day of the order — becomes the deadline running.

        Refused (:class:`TransitionError`) for another complaint, a closed one, or a unit that is a
        body complained about.
        """
        if order.number != self.register_number:
            raise TransitionError(f"交办的登记编号{order.number}与本投诉举报（{self.register_number}）不符")
        subject = self.complaint.subject
        if subject is not None and order.subject_body_id and subject.body_id != order.subject_body_id:
            raise TransitionError(f"交办所称被投诉主体{order.subject_body_id}与本投诉举报的被投诉主体不符")
        self._require_open("执行上级交办")
        instruction = _text(order.instruction, "上级交办须附交办意见")
        if subject is not None and order.to_unit_id in complained_bodies(subject):
            raise TransitionError("不得将投诉举报交由被投诉的执法主体办理")
        to = Handler(order.to_unit_id, order.to_region_code,
                     order.to_name or (self.handler.name if order.to_unit_id == self.handler.unit_id else None))
        deadline = order.deadline(calendar)
        data = {"issuer_region": order.issuer_region, "ordered_by": order.ordered_by,
                "ordered_on": order.ordered_on.isoformat(), "instruction": instruction,
                "working_days": order.working_days, "due": deadline.due.isoformat(),
                "due_provisional": deadline.provisional,
                "from_unit_id": self.handler.unit_id, "from_region_code": self.handler.region_code,
                "to_unit_id": to.unit_id, "to_region_code": to.region_code, "to_name": to.name,
                "order_event_id": event_id}
        record = self._append(EventKind.ORDERED, at, actor, self.status, public_text=ORDER_NOTICE,
                              internal_note=f"上级交办（{order.issuer_region}）：{instruction}", data=data,
                              handler=to)
        return replace(record, order=SuperiorOrder(order.issuer_region, instruction, order.ordered_on,
                                                   order.working_days, deadline, record.history[-1].seq))

    @property
    def handler_changed(self) -> bool:
        """Whether the last history entry moved the complaint to another unit."""
        last = self.history[-1] if self.history else None
        return bool(last and last.kind in HANDLER_CHANGES and last.data.get("from_unit_id") != last.data.get(
            "to_unit_id"))

    def link_duplicate(self, earlier_number: str, similarity: float, *, at: dt.datetime,
                       actor: str) -> "ComplaintRecord":
        """关联重复投诉: link to an earlier complaint found by :func:`.register.find_duplicate`."""
        parse_register_number(earlier_number)
        if earlier_number == self.register_number:
            raise TransitionError("不能与自身关联")
        return self._append(EventKind.DUPLICATE_LINKED, at, actor, self.status,
                            data={"linked_to": earlier_number, "similarity": similarity}, linked_to=earlier_number)

    # -- deadlines and escalation ----------------------------------------------------------------
    def open_deadline(self) -> tuple[str, Deadline] | None:
        """The deadline now running: the one ordered by the tier above while open, else acknowledgement
        while registered, handling while accepted/in progress."""
        if self.order is not None and self.status in OPEN_STATUSES:
            return STAGE_HANDLE, self.order.deadline
        if self.status is Status.REGISTERED:
            return STAGE_ACKNOWLEDGE, self.acknowledge
        if self.status in (Status.ACCEPTED, Status.IN_PROGRESS) and self.handling is not None:
            return STAGE_HANDLE, self.handling.deadline
        return None

    def escalations(self) -> tuple[HistoryEvent, ...]:
        return tuple(e for e in self.history if e.kind is EventKind.ESCALATED)

    def pending_escalations(self, today: dt.date, *, calendar: WorkingDayCalendar | None = None,
                            step_working_days: int | None = None) -> list[tuple[str, EscalationStep]]:
        """Escalations fallen due by ``today`` and not yet recorded (CMP-3/CMP-9 overdue); after an order
        from the tier above, the escalations before it no longer count (a new deadline, a new chain)."""
        running = self.open_deadline()
        if running is None:
            return []
        stage, deadline = running
        since = self.order.seq if self.order is not None else 0
        done = {(e.data.get("stage"), e.data.get("region_code")) for e in self.escalations() if e.seq > since}
        steps = escalation_steps(self.handler.region_code, deadline, today, calendar=calendar,
                                 step_working_days=step_working_days)
        return [(stage, s) for s in steps if (stage, s.region_code) not in done]

    def escalate(self, stage: str, step: EscalationStep, *, at: dt.datetime,
                 actor: str = "system") -> "ComplaintRecord":
        """逐级上报: record one escalation (state and handler unchanged)."""
        self._require_open("逐级上报")
        if stage not in (STAGE_ACKNOWLEDGE, STAGE_HANDLE):
            raise ValueError(f"unknown escalation stage {stage!r}")
        label = "告知受理情况" if stage == STAGE_ACKNOWLEDGE else "办结"
        note = (f"逾期未{label}，第{step.level}次上报至上级（地区代码{step.region_code}）督办")
        return self._append(EventKind.ESCALATED, at, actor, self.status, internal_note=note,
                            data={"stage": stage, "level": step.level, "region_code": step.region_code,
                                  "tier": step.tier.value, "escalated_on": step.escalated_on.isoformat()})

    def apply_escalations(self, today: dt.date, *, at: dt.datetime, calendar: WorkingDayCalendar | None = None,
                          step_working_days: int | None = None) -> "ComplaintRecord":
        """Record every escalation that has fallen due by ``today``."""
        record = self
        for stage, step in self.pending_escalations(today, calendar=calendar, step_working_days=step_working_days):
            record = record.escalate(stage, step, at=at)
        return record

    @property
    def supervising_region(self) -> str | None:
        """The region a stuck complaint has last been escalated to (督办地区), if any."""
        escalations = self.escalations()
        return escalations[-1].data["region_code"] if escalations else None

