"""Supervision across tiers: the province's register of escalated complaints (省级督办台账) and the
transfer orders it sends down (上级交办), applied by the city (CMP-3, CMP-9, COORD-1, COORD-4, PLAT-1)."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from services.common.workdays import default_calendar
from services.complaints import store
from services.complaints.domain import EventKind, Handler, Status, TransitionError, body_view, public_status
from services.complaints.domain.supervision import (CONCLUDED, OPEN, TRANSFERRED_DOWN, EscalationNotice, OrderRefused,
                                                    TransferOrder, filed_region, order_from_json, order_transfer,
                                                    receive_conclusion, receive_escalation, validate_order)
from services.complaints.domain.views import accountability_clues, handler_on, handler_view
from tests.complaints.test_domain_builders import at, record

CAL = default_calendar()
D = dt.date
NUMBER = "320412-2026-000123"
TOWN = Handler("unit-320412001-zf", "320412001", "湖塘镇综合执法办")
INSTRUCTION = "请武进区司法局于期限内核实执法人员未出示证件问题，依法办结并报告结果"


def notice(level=1, to="320400", tier="city", on=D(2026, 10, 14), stage="acknowledge", number=NUMBER,
           region="320412", handler=("unit-320412-sfj", "320412")) -> EscalationNotice:
    return EscalationNotice(number=number, region_code=region, subject_body_id="body-320412-scjg", stage=stage,
                            level=level, to_region_code=to, tier=tier, due=D(2026, 10, 13), escalated_on=on,
                            handler_unit_id=handler[0], handler_region_code=handler[1])


def entry(**over):
    e = receive_escalation(receive_escalation(None, notice()), notice(2, "320000", "province", D(2026, 10, 21)))
    return replace(e, **over) if over else e


def order(**form):
    base = {"to_unit_id": "320400-SFJ", "instruction": INSTRUCTION}
    base.update(form)
    return validate_order(entry(), base, issuer_region="320000", ordered_by="prov-sup", today=D(2026, 9, 29))


# --- the register -------------------------------------------------------------------------------

def test_coord4_escalations_build_one_register_line_per_complaint_latest_step_in_force():
    """CMP-3, COORD-4: the city comes from the number; level 2 (to the province) supersedes level 1."""
    first = receive_escalation(None, notice())
    assert (first.city_code, first.status, first.level, first.tier) == ("320400", OPEN, 1, "city")
    second = receive_escalation(first, notice(2, "320000", "province", D(2026, 10, 21)))
    assert (second.level, second.to_region_code, second.tier, second.escalated_on) == (2, "320000", "province",
                                                                                        D(2026, 10, 21))
    assert [s["level"] for s in second.steps] == [1, 2]
    # the same step delivered twice, or an older one arriving late, changes nothing in force
    assert receive_escalation(second, notice(2, "320000", "province", D(2026, 10, 21))) == second
    late = receive_escalation(receive_escalation(None, notice(2, "320000", "province", D(2026, 10, 21))), notice())
    assert (late.level, [s["level"] for s in late.steps]) == (2, [2, 1])
    # only what the event carries: no complainant, no complaint text
    assert set(second.to_json()) == {"number", "city_code", "filed_region_code", "region_code", "subject_body_id",
                                     "stage", "stage_label", "level", "to_region_code", "tier", "due",
                                     "escalated_on", "handler_unit_id", "handler_region_code", "status",
                                     "status_label", "steps", "order", "concluded_on", "upheld"}


def test_coord4_city_is_the_one_that_registered_the_complaint_not_the_body_region():
    """PLAT-1: a complaint registered in 常州 about a body of 苏州 lives in 常州's suite."""
    e = receive_escalation(None, notice(region="320502"))
    assert (e.city_code, e.region_code) == ("320400", "320502")
    assert filed_region("320412-2026-000123") == "320412"
    with pytest.raises(ValueError):
        receive_escalation(None, notice(number="not-a-number"))


def test_coord4_register_scope_a_city_sees_nothing_of_another_city():
    """PLAT-1: the province and the complaint's own city/county see the line; another city does not."""
    e = entry()
    assert e.visible_to("320000") and e.visible_to("320400") and e.visible_to("320412")
    assert not e.visible_to("320500") and not e.visible_to("320411") and not e.visible_to("330000")


def test_coord4_conclusion_closes_the_line_for_good():
    """CMP-4: complaint.concluded from the city closes the line; a later escalation does not reopen it."""
    done = receive_conclusion(entry(), D(2026, 11, 2), True)
    assert (done.status, done.concluded_on, done.upheld) == (CONCLUDED, D(2026, 11, 2), True)
    again = receive_escalation(done, notice(3, "320000", "province", D(2026, 11, 20), stage="handle"))
    assert again.status == CONCLUDED


# --- the order ---------------------------------------------------------------------------------

def test_cmp9_order_defaults_to_15_working_days_across_national_day():
    """CMP-9, PLAT-6, COORD-4: default period from config/periods.yaml (complaint.transfer_order = 15
    working days) on the Chinese calendar: ordered Tue 2026-09-29 → 9-30, 10-08, 10-09, Sat 10-10
    (worked), 10-12…16, 10-19…23, 10-26 = 15 → due 2026-10-26."""
    o = order()
    assert (o.working_days, o.to_region_code, o.issuer_region, o.ordered_by) == (15, "320400", "320000", "prov-sup")
    assert o.deadline(CAL).due == D(2026, 10, 26)
    assert order(due_working_days=5).deadline(CAL).due == D(2026, 10, 12)
    assert order(due_working_days="3", to_region_code="320412", to_unit_id="unit-wj-zf").to_region_code == "320412"


@pytest.mark.parametrize("form, field, message", [
    ({"to_unit_id": ""}, "to_unit_id", "请填写承办单位"),
    ({"to_unit_id": "body-320412-scjg", "to_region_code": "320412"}, "to_unit_id", "不得交由被投诉的执法主体办理"),
    ({"to_unit_id": "wj-sfj"}, "to_region_code", "请填写承办单位的行政区划代码"),
    ({"to_unit_id": "320500-SFJ"}, "to_region_code", "承办单位应为投诉所在设区市（320400）或其下辖地区的单位"),
    ({"instruction": ""}, "instruction", "请填写交办意见"),
    ({"instruction": "please handle it"}, "instruction", "交办意见应使用中文填写"),
    ({"instruction": "请办理"}, "instruction", "交办意见应为5至2000字"),
    ({"due_working_days": 0}, "due_working_days", "办理期限应为1至30个工作日"),
    ({"due_working_days": 31}, "due_working_days", "办理期限应为1至30个工作日"),
    ({"due_working_days": "十五"}, "due_working_days", "办理期限应为整数个工作日"),
    ({"due_working_days": 2.5}, "due_working_days", "办理期限应为整数个工作日"),
])
def test_coord4_order_validation_gives_chinese_field_errors(form, field, message):
    with pytest.raises(OrderRefused) as refused:
        order(**form)
    assert refused.value.status == 422 and refused.value.fields[field] == [message]


@pytest.mark.parametrize("issuer", ["320400", "320500", "330000", "320412", "bad"])
def test_coord4_only_the_province_above_the_city_orders(issuer):
    """COORD-4: the tier above the complaint's city — a city or another province may not order."""
    with pytest.raises(OrderRefused) as refused:
        validate_order(entry(), {"to_unit_id": "320400-SFJ", "instruction": INSTRUCTION}, issuer_region=issuer,
                       ordered_by="x", today=D(2026, 9, 29))
    assert refused.value.status == 403


def test_coord4_ordering_marks_the_line_transferred_down_once_reescalation_reopens_it():
    """COORD-4: one order per escalation; missing the ordered deadline escalates again and reopens the line."""
    o = order()
    moved = order_transfer(entry(), o, CAL)
    assert moved.status == TRANSFERRED_DOWN
    assert moved.order["due"] == "2026-10-26" and moved.order["instruction"] == INSTRUCTION
    for status in (TRANSFERRED_DOWN, CONCLUDED):
        with pytest.raises(OrderRefused) as refused:
            validate_order(replace(moved, status=status), {"to_unit_id": "320400-SFJ", "instruction": INSTRUCTION},
                           issuer_region="320000", ordered_by="x", today=D(2026, 9, 29))
        assert refused.value.status == 409
    reopened = receive_escalation(moved, notice(1, "320400", "city", D(2026, 10, 27), stage="handle",
                                                handler=("320400-SFJ", "320400")))
    assert reopened.status == OPEN and reopened.handler_unit_id == "320400-SFJ"


# --- applied by the city -----------------------------------------------------------------------

def _escalated():
    r = record(handler=TOWN)
    return r.apply_escalations(D(2026, 12, 1), at=at(2026, 12, 1), calendar=CAL, step_working_days=5)


def _order(**over) -> TransferOrder:
    base = dict(number=NUMBER, subject_body_id="body-320412-scjg", issuer_region="320000", ordered_by="prov-sup",
                ordered_on=D(2026, 12, 2), to_unit_id="unit-320412-sfj", to_region_code="320412",
                instruction=INSTRUCTION, working_days=10, to_name="武进区司法局")
    base.update(over)
    return TransferOrder(**base)


def test_coord4_city_applies_the_order_new_handler_instruction_issuer_and_deadline():
    """COORD-4, CMP-9: the unit named takes over; the history shows 上级交办 by 320000 with the instruction;
    the ordered deadline (10 working days after Wed 2026-12-02 → 2026-12-16) is the one running."""
    r = _escalated()
    assert r.open_deadline()[0] == "acknowledge" and r.pending_escalations(D(2026, 12, 2), calendar=CAL) == []
    new = r.apply_order(_order(), at=at(2026, 12, 3), actor="tier:320000:prov-sup", calendar=CAL, event_id="e-1")
    assert new.status is Status.REGISTERED and new.handler == Handler("unit-320412-sfj", "320412", "武进区司法局")
    assert new.handler_changed
    last = new.history[-1]
    assert last.kind is EventKind.ORDERED and last.kind.label == "上级交办"
    assert last.data["issuer_region"] == "320000" and last.data["instruction"] == INSTRUCTION
    assert last.data["from_unit_id"] == TOWN.unit_id and last.data["due"] == "2026-12-16"
    assert last.internal_note == f"上级交办（320000）：{INSTRUCTION}"
    assert new.open_deadline() == ("handle", new.order.deadline) and new.order.due == D(2026, 12, 16)
    view = handler_view(new)
    assert view["superior_order"]["instruction"] == INSTRUCTION and view["superior_order"]["issuer_region"] == "320000"
    assert view["history"][-1]["kind_label"] == "上级交办"
    # the complainant and the body see that it was ordered, not the internal instruction
    assert public_status(new)["progress"][-1]["text"].startswith("您的投诉举报已由上级机关交办")
    assert INSTRUCTION not in str(public_status(new)) and INSTRUCTION not in str(body_view(new))
    # the new unit answers for what follows (CMP-5)
    assert handler_on(new, D(2026, 12, 17)) == ("unit-320412-sfj", "320412")


def test_cmp3_escalation_starts_afresh_from_the_ordered_deadline():
    """CMP-3, CMP-9: nothing escalates before the ordered due day; after it, the chain starts again."""
    new = _escalated().apply_order(_order(), at=at(2026, 12, 3), actor="tier:320000:prov-sup", calendar=CAL)
    assert new.pending_escalations(D(2026, 12, 16), calendar=CAL) == []
    pending = new.pending_escalations(D(2026, 12, 17), calendar=CAL, step_working_days=5)
    assert [(stage, s.region_code, s.level) for stage, s in pending] == [("handle", "320400", 1)]


def test_coord4_order_for_the_same_unit_sets_the_deadline_without_a_transfer():
    r = _escalated()
    new = r.apply_order(_order(to_unit_id=TOWN.unit_id, to_region_code=TOWN.region_code, to_name=None),
                        at=at(2026, 12, 3), actor="x", calendar=CAL)
    assert not new.handler_changed and new.handler == TOWN and new.order.due == D(2026, 12, 16)


@pytest.mark.parametrize("over, message", [
    ({"number": "320412-2026-000999"}, "不符"),
    ({"subject_body_id": "other-body"}, "被投诉主体"),
    ({"to_unit_id": "body-320412-scjg"}, "被投诉的执法主体"),
    ({"instruction": "  "}, "交办意见"),
])
def test_coord4_city_refuses_orders_it_cannot_apply(over, message):
    with pytest.raises(TransitionError, match=message):
        _escalated().apply_order(_order(**over), at=at(2026, 12, 3), actor="x", calendar=CAL)


def test_coord4_city_refuses_an_order_for_a_closed_complaint():
    closed = record().not_accept("反映的事项属于民事纠纷", at=at(2026, 10, 8), actor="handler-li")
    with pytest.raises(TransitionError, match="不予受理"):
        closed.apply_order(_order(), at=at(2026, 12, 3), actor="x", calendar=CAL)


def test_coord4_order_survives_the_store_round_trip_and_the_event_payload():
    """The order is rebuilt from the history (deadline on the calendar in force, PLAT-6) and read back
    from a complaint.transfer_ordered payload."""
    new = _escalated().apply_order(_order(), at=at(2026, 12, 3), actor="x", calendar=CAL)
    row = store.new_row(new, seq=123, year=2026, source_event_id=None, external_ref=None, assessment={},
                        now=at(2026, 12, 3))
    again = store.record_of(row)
    assert again.order == new.order and again.handler == new.handler
    assert row.open_due == D(2026, 12, 16)
    payload = {**_order().to_json(CAL), "subject_body_id": "body-320412-scjg"}
    assert order_from_json(payload, "body-320412-scjg") == _order()
    assert accountability_clues(again, today=D(2026, 12, 3))[0].kind == "acknowledge_overdue"
