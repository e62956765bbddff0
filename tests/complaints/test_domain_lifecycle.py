"""The complaint life cycle: states, history, transfer, extension, escalation (CMP-4, CMP-9, COORD-1, EVAL-7)."""
from __future__ import annotations

import datetime as dt

import pytest

from services.common.periods import Period
from services.common.workdays import WorkingDayCalendar, default_calendar
from services.complaints import store
from services.complaints.domain.deadlines import count_period
from services.complaints.domain import (ComplaintRecord, EventKind, Handler, ReasonRequired, Status,
                                        TransitionError, route)
from tests.complaints.test_domain_builders import QUERY_CODE, at, complaint, record

CAL = default_calendar()
D = dt.date
CITY = Handler("unit-320400-sfj", "320400", "常州市司法局行政执法监督处")
TOWN = Handler("unit-320412001-zf", "320412001", "湖塘镇综合执法办")


def _handled() -> ComplaintRecord:
    r = record()
    r = r.accept(at=at(2026, 10, 9), actor="handler-li", route=route(r.complaint.subject), calendar=CAL)
    r = r.add_progress("已调取执法记录仪视频并约谈执法人员。", at=at(2026, 10, 20), actor="handler-li",
                       internal_note="执法人员承认未出示证件")
    r = r.conclude("经查，执法人员未告知陈述申辩权利，已责令撤销罚款决定并退还罚款。", True,
                   at=at(2026, 11, 2), actor="handler-li")
    return r


def test_cmp4_full_life_cycle_with_history():
    r = _handled().rate(4, at=at(2026, 11, 5), comment="处理及时")
    assert r.status is Status.RATED
    assert r.satisfaction == 4
    assert [e.kind for e in r.history] == [EventKind.REGISTERED, EventKind.ACCEPTED, EventKind.PROGRESS,
                                           EventKind.CONCLUDED, EventKind.RATED]
    assert [e.seq for e in r.history] == [1, 2, 3, 4, 5]
    assert [e.status for e in r.history] == [Status.REGISTERED, Status.ACCEPTED, Status.IN_PROGRESS,
                                             Status.CONCLUDED, Status.RATED]
    assert r.acknowledge.due == D(2026, 10, 13)
    # 30 working days from Fri 2026-10-09: 10-10(Sat, worked)=1, 10-12…16=6, 10-19…23=11, 10-26…30=16,
    # 11-02…06=21, 11-09…13=26, 11-16…19=30
    assert r.handling.due == D(2026, 11, 19)
    assert r.history[1].data["acknowledged_on_time"] is True
    assert r.history[3].data == {"upheld": True, "on_time": True}
    assert r.upheld is True and r.register_number == "320412-2026-000123"


def test_cmp4_not_accepted_records_reason_and_is_final():
    r = record().not_accept("反映的事项属于民事纠纷", at=at(2026, 10, 8), actor="handler-li")
    assert r.status is Status.NOT_ACCEPTED
    assert r.not_accepted_reason == "反映的事项属于民事纠纷"
    assert r.history[-1].public_text == "您的投诉举报不予受理。理由：反映的事项属于民事纠纷"
    with pytest.raises(TransitionError, match="不予受理"):
        r.rate(5, at=at(2026, 10, 9))
    with pytest.raises(TransitionError):
        r.transfer(CITY, "转办", at=at(2026, 10, 9), actor="x")


@pytest.mark.parametrize("reason", ["", "  "])
def test_cmp4_not_accepted_without_reason_refused_in_lifecycle(reason):
    with pytest.raises(ReasonRequired):
        record().not_accept(reason, at=at(2026, 10, 8), actor="handler-li")


def test_cmp4_invalid_transitions_raise_clear_errors():
    r = record()
    with pytest.raises(TransitionError, match="当前状态为“已登记”，不能办结"):
        r.conclude("结果", True, at=at(2026, 10, 9), actor="x")
    with pytest.raises(TransitionError, match="不能评价"):
        r.rate(5, at=at(2026, 10, 9))
    with pytest.raises(TransitionError, match="不能记录办理进展"):
        r.add_progress("进展", at=at(2026, 10, 9), actor="x")
    accepted = r.accept(at=at(2026, 10, 9), actor="x", calendar=CAL)
    with pytest.raises(TransitionError, match="不能受理"):
        accepted.accept(at=at(2026, 10, 10), actor="x", calendar=CAL)
    with pytest.raises(TransitionError, match="须先记录办理进展"):
        accepted.conclude("结果", True, at=at(2026, 10, 10), actor="x")
    with pytest.raises(TransitionError, match="不能延长"):
        r.extend(10, approved_by="局长", reason="复杂", at=at(2026, 10, 9), actor="x")
    concluded = _handled()
    for bad in (0, 6, True, "5"):
        with pytest.raises(TransitionError, match="1至5"):
            concluded.rate(bad, at=at(2026, 11, 5))
    with pytest.raises(TransitionError, match="是否属实"):
        accepted.add_progress("p", at=at(2026, 10, 10), actor="x").conclude("r", None, at=at(2026, 10, 11), actor="x")


def test_cmp4_history_is_append_only_in_time_and_needs_actor():
    r = record()
    with pytest.raises(TransitionError, match="早于上一条"):
        r.accept(at=at(2026, 9, 29), actor="x", calendar=CAL)
    with pytest.raises(TransitionError, match="操作人"):
        r.accept(at=at(2026, 10, 9), actor=" ", calendar=CAL)
    with pytest.raises(ValueError, match="timezone-aware"):
        r.accept(at=dt.datetime(2026, 10, 9), actor="x", calendar=CAL)


def test_cmp2_record_never_stores_the_query_code_itself():
    with pytest.raises(ValueError, match="never the code"):
        ComplaintRecord.new(complaint(), "320412-2026-000123", QUERY_CODE, CITY, at=at(2026, 9, 30), actor="x")
    with pytest.raises(ValueError):
        record(number="320412-2026-0123")


def test_coord1_transfer_keeps_number_and_history():
    r = record(handler=TOWN)
    r2 = r.transfer(CITY, "涉及区政府行为，按管辖转市司法局办理", at=at(2026, 10, 8), actor="handler-wang")
    r3 = r2.accept(at=at(2026, 10, 9), actor="handler-zhao", calendar=CAL)
    r4 = r3.transfer(Handler("unit-320000-sft", "320000"), "涉及多个设区市，转省司法厅", at=at(2026, 10, 12),
                     actor="handler-zhao")
    assert r4.register_number == r.register_number == "320412-2026-000123"
    assert r4.history[:len(r3.history)] == r3.history           # history only grows
    assert [e.kind for e in r4.history] == [EventKind.REGISTERED, EventKind.TRANSFERRED, EventKind.ACCEPTED,
                                            EventKind.TRANSFERRED]
    assert r4.status is Status.ACCEPTED                            # transfer keeps the state
    assert r4.handler.unit_id == "unit-320000-sft"
    assert r2.history[1].data == {"from_unit_id": "unit-320412001-zf", "from_region_code": "320412001",
                                  "to_unit_id": "unit-320400-sfj", "to_region_code": "320400",
                                  "reason": "涉及区政府行为，按管辖转市司法局办理"}


def test_coord1_transfer_never_to_complained_body_or_same_unit():
    r = record()
    with pytest.raises(TransitionError, match="不得将投诉举报转交被投诉的执法主体"):
        r.transfer(Handler("body-320412-scjg", "320412"), "转办", at=at(2026, 10, 8), actor="x")
    with pytest.raises(TransitionError, match="相同"):
        r.transfer(Handler("unit-320412-sfj", "320412"), "转办", at=at(2026, 10, 8), actor="x")
    with pytest.raises(TransitionError, match="说明理由"):
        r.transfer(CITY, " ", at=at(2026, 10, 8), actor="x")


def test_cmp9_record_extension_once_only():
    c = complaint(received_at=at(2026, 9, 18))
    r = record(c, when=at(2026, 9, 18, 15)).accept(at=at(2026, 9, 21), actor="x", calendar=CAL)
    assert r.handling.due == D(2026, 11, 9)
    r = r.extend(20, approved_by="局长 张某", reason="需委托鉴定", at=at(2026, 11, 2), actor="x", calendar=CAL)
    assert r.handling.due == D(2026, 12, 7)
    assert r.history[-1].kind is EventKind.EXTENDED
    assert r.history[-1].public_text == "经批准，办理期限延长至2026-12-07。"
    with pytest.raises(TransitionError, match="只能延长一次"):
        r.extend(5, approved_by="局长 张某", reason="再延", at=at(2026, 11, 3), actor="x", calendar=CAL)


def test_cmp3_escalation_appends_to_history_township_to_province():
    r = record(handler=TOWN)
    assert r.open_deadline()[1].due == D(2026, 10, 13)
    r2 = r.apply_escalations(D(2026, 12, 1), at=at(2026, 12, 1), calendar=CAL, step_working_days=5)
    esc = r2.escalations()
    assert [(e.data["region_code"], e.data["escalated_on"]) for e in esc] == [
        ("320412", "2026-10-14"), ("320400", "2026-10-21"), ("320000", "2026-10-28")]
    assert esc[0].internal_note == "逾期未告知受理情况，第1次上报至上级（地区代码320412）督办"
    assert r2.status is Status.REGISTERED and r2.handler == TOWN
    assert r2.supervising_region == "320000"
    # idempotent: nothing new when applied again
    assert r2.apply_escalations(D(2026, 12, 2), at=at(2026, 12, 2), calendar=CAL, step_working_days=5) == r2


def test_cmp9_handling_stage_escalates_separately():
    r = record(handler=TOWN).apply_escalations(D(2026, 10, 14), at=at(2026, 10, 14), calendar=CAL,
                                                step_working_days=5)
    r = r.accept(at=at(2026, 10, 15), actor="x", calendar=CAL)
    assert r.open_deadline() == ("handle", r.handling.deadline)
    due = r.handling.due
    later = due + dt.timedelta(days=1)
    r = r.apply_escalations(later, at=dt.datetime.combine(later, dt.time(9), at(2026, 1, 1).tzinfo), calendar=CAL)
    assert [(e.data["stage"], e.data["region_code"]) for e in r.escalations()] == [
        ("acknowledge", "320412"), ("handle", "320412")]


def test_plat6_recompute_deadlines_on_new_calendar(tmp_path):
    """The store counts a complaint's running deadlines on the calendar in force each time it reads the
    complaint (store.record_of): a schedule loaded later moves them, the periods stay."""
    r = record(complaint(received_at=at(2026, 12, 28)), when=at(2026, 12, 28, 11))
    assert (r.acknowledge.due, r.acknowledge.provisional) == (D(2027, 1, 4), True)
    accepted = r.accept(at=at(2026, 12, 29, 10), actor="handler-li", calendar=CAL)
    extended = accepted.extend(10, approved_by="局长 张某", reason="需现场核查", at=at(2027, 1, 5, 9),
                               actor="handler-li", calendar=CAL)
    row = store.new_row(extended, seq=1, year=2026, source_event_id=None, external_ref=None, assessment={},
                        now=at(2026, 12, 29, 10))
    (tmp_path / "2027.yaml").write_text("year: 2027\nholidays: [2027-01-01, 2027-01-04]\nadjusted_workdays: []\n",
                                        encoding="utf-8")
    new_calendar = WorkingDayCalendar.load(tmp_path)
    again = store.record_of(row, calendar=new_calendar)
    assert (again.acknowledge.due, again.acknowledge.provisional) == (D(2027, 1, 6), False)
    assert again.handling.base == count_period(D(2026, 12, 29), Period(30, "working_days"), new_calendar)
    assert again.handling.extended == count_period(again.handling.base.due, Period(10, "working_days"), new_calendar)
    assert again.handling.base.due != extended.handling.base.due                     # 2027-01-04 is off now
