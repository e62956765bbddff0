"""Across tiers (PLAT-1, COORD-4). At a province: the supervision register (省级督办台账) of the complaints
its cities escalated, closed by their conclusion, and the transfer orders (上级交办) it sends down. At
a city: applying an order received from the tier above to the complaint with that number."""
from __future__ import annotations

from services.common.db import emit
from services.common.events import InvalidEvent
from services.common.scope import Scope
from services.complaints import store
from services.complaints.domain import TransitionError, supervision

from .handling import emit_clues, emit_transferred
from .shared import Refused, now_utc, today_china


def receive_escalation(db, event) -> None:
    """省级督办台账: a city complaint escalated (逐级上报, CMP-3/CMP-9) enters or updates the register.
    Only what the event carries is kept — no complainant, no complaint text (they stay in the city)."""
    p = event.payload
    try:
        notice = supervision.EscalationNotice(
            number=p["number"], region_code=event.region_code, subject_body_id=p["subject_body_id"],
            stage=p["stage"], level=p["level"], to_region_code=p["to_region_code"], tier=p["tier"],
            due=p["due"], escalated_on=p["escalated_on"], handler_unit_id=p["handler_unit_id"],
            handler_region_code=p["handler_region_code"])
        supervision.filed_region(notice.number)
    except ValueError as exc:
        raise InvalidEvent(f"complaint.escalated cannot enter the supervision register: {exc}") from None
    now = now_utc()
    with db.effect_of(event) as session:
        store.lock_supervision_line(session, notice.number)     # PLAT-1: the conclusion may be arriving at once
        row = store.supervised_row(session, notice.number)
        entry = supervision.receive_escalation(store.entry_of(row) if row is not None else None, notice)
        if row is None:
            concluded = store.city_conclusion(session, notice.number)
            if concluded is not None:  # its conclusion came first (both buffered while the link was down)
                entry = supervision.receive_conclusion(entry, concluded.concluded_on, concluded.upheld)
            row = store.add_supervised(session, notice.number)
        store.write_entry(row, entry, now)


def receive_conclusion(db, event) -> None:
    """A city concluded a complaint (办结): its register line, if any, is closed. Touches nothing but
    the supervision register (the province's own complaints are not in it)."""
    p = event.payload
    now = now_utc()
    with db.effect_of(event) as session:
        store.lock_supervision_line(session, p["number"])       # PLAT-1: the escalation may be arriving at once
        row = store.supervised_row(session, p["number"])
        if row is None:
            if store.city_conclusion(session, p["number"]) is None:
                store.keep_city_conclusion(session, p["number"], p["concluded_on"], bool(p["upheld"]), now)
            return
        store.write_entry(row, supervision.receive_conclusion(store.entry_of(row), p["concluded_on"],
                                                               p["upheld"]), now)


def list_escalations(db, scope, filters=None) -> list[dict]:
    """The supervision register in the caller's scope (SEC-2, PLAT-1), most recently escalated first."""
    filters = filters or {}
    scope = Scope.of(scope)
    if scope.empty:
        return []
    with db.session() as session:
        return [store.entry_of(r).to_json() for r in store.register_lines(session, scope, filters)]


def order_transfer(db, scope, number, actor, form) -> dict:
    """上级交办 (COORD-4, CMP-9): a province supervisor orders an escalated complaint handled by a
    unit of its city, with an instruction and a period in working days; sent down to that city only."""
    now, today = now_utc(), today_china()
    scope = Scope.of(scope)
    scope_region = scope.region_code
    with db.session() as session:
        row = store.supervised_row(session, number)
        entry = store.entry_of(row) if row is not None else None
        if entry is None or scope.empty or not entry.visible_to(scope_region) or not (
                scope.all_bodies or scope.covers(entry.handler_region_code, entry.handler_unit_id)):
            raise Refused(404, "not_found", "督办台账中没有该投诉举报")
        try:
            order = supervision.validate_order(entry, form or {}, issuer_region=scope_region, ordered_by=actor,
                                               today=today)
            new = supervision.order_transfer(entry, order)
        except supervision.OrderRefused as exc:
            code = {403: "out_of_scope", 409: "invalid_transition"}.get(exc.status, "invalid")
            raise Refused(exc.status, code, exc.message, exc.fields) from None
        store.write_entry(row, new, now)
        emit(session, "complaint.transfer_ordered", {
            "number": order.number, "subject_body_id": order.subject_body_id,
            "issuer_region": order.issuer_region, "ordered_by": order.ordered_by, "ordered_on": order.ordered_on,
            "to_unit_id": order.to_unit_id, "to_region_code": order.to_region_code, "to_name": order.to_name,
            "instruction": order.instruction, "working_days": order.working_days,
            "due": order.deadline().due},
            region_code=supervision.filed_region(order.number), body_id=order.subject_body_id)
    return new.to_json()


def apply_transfer_order(db, event) -> None:
    """上级交办 received from the tier above: the complaint with that number gets the unit named, the
    instruction and the issuer in its history, and the ordered deadline (working days) as the one
    running; ``complaint.transferred`` when the unit changed. An order this suite cannot apply
    (unknown number, closed complaint, another body) is refused as invalid (dead-lettered with the reason)."""
    p = event.payload
    order = supervision.order_from_json(p, p["subject_body_id"])
    now = now_utc()
    with db.effect_of(event) as session:
        row = store.complaint_row(session, order.number, lock=True)
        if row is None:
            raise InvalidEvent(f"complaint.transfer_ordered from {order.issuer_region}: no complaint "
                               f"{order.number} is registered in this suite")
        record = store.record_of(row, store.attachment_count(session, row.number))
        try:
            new = record.apply_order(order, at=max(now, record.history[-1].at),
                                     actor=f"tier:{order.issuer_region}:{order.ordered_by}",
                                     event_id=event.event_id)
        except (TransitionError, ValueError) as exc:
            reason = exc.message if isinstance(exc, TransitionError) else str(exc)
            raise InvalidEvent(f"complaint.transfer_ordered from {order.issuer_region} for {order.number} "
                               f"refused: {reason}") from None
        store.write_record(row, new, now)
        if new.handler_changed:
            emit_transferred(session, record, new, caused_by=event)
        emit_clues(session, row, new, today_china(), caused_by=event)
