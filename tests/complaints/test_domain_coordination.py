"""Coordination rules (domain, pure): clues with working-day deadlines and escalation, answers applied in
any order (COORD-1), repeat-inspection flags (COORD-1), the common superior of a jurisdiction dispute and its
decision (COORD-2), transfers to judicial organs with receipt, outcome and 应移未移 (COORD-3)."""
from __future__ import annotations

import datetime as dt
import itertools

import pytest

from services.common.periods import load_periods
from services.common.scope import Scope
from services.common.workdays import default_calendar
from services.complaints.domain import coordination as co

CAL = default_calendar()
D = dt.date
WJ_SCJG = co.Party("320412-SCJG", "320412", "常州市武进区市场监督管理局")
WJ_HB = co.Party("320412-HBJ", "320412", "常州市生态环境局武进分局")
XB_JT = co.Party("320411-JTYS", "320411", "常州市新北区交通运输局")
SZ_SCJG = co.Party("320500-SCJG", "320500", "苏州市市场监督管理局")
ZJ = co.Party("330100-SCJG", "330100", "杭州市市场监督管理局")
SM3 = "a" * 64


def periods():
    return load_periods()


def clue(today=D(2026, 9, 28)):
    return co.Clue.new("XS-1", WJ_SCJG, WJ_HB, {"matter": "企业夜间偷排废水", "facts": "检查中发现该企业排污口有新鲜排放痕迹，疑似夜间偷排。"},
                       today=today, actor="officer-1", periods=periods(), calendar=CAL)


def test_coord1_clue_deadlines_count_working_days_across_national_day():
    """COORD-1, PLAT-6: sent Mon 09-28 → acknowledge by 10-08 (3 working days: 09-29, 09-30, Thu 10-08);
    feedback by 15 working days on the 2026 calendar (10-01…07 off, Sat 10-10 worked)."""
    c = clue()
    assert c.acknowledge_due == D(2026, 10, 8)
    assert c.feedback_due == CAL.add_working_days(D(2026, 9, 28), 15).due == D(2026, 10, 23)
    assert c.status == "sent" and c.running() == ("acknowledge", D(2026, 10, 8))


def test_coord1_clue_refuses_english_text_and_sending_to_itself():
    with pytest.raises(co.CoordinationError) as exc:
        co.Clue.new("XS-2", WJ_SCJG, WJ_SCJG, {"matter": "dumping", "facts": ""}, today=D(2026, 9, 28),
                    actor="a", periods=periods(), calendar=CAL)
    assert exc.value.fields == {"matter": ["线索事项应使用中文填写"], "facts": ["请填写线索内容"],
                                "to_body_id": ["不能向本机关移送线索"]}


def test_coord1_overdue_clue_escalates_to_the_recipients_superiors_once_per_level():
    """COORD-1: not acknowledged by 10-08 → 10-09 to the city (320400), 5 working days later the province."""
    c = clue()
    same, none = c.apply_escalations(D(2026, 10, 8), CAL, 5)
    assert none == [] and same is c
    c1, steps = c.apply_escalations(D(2026, 10, 9), CAL, 5)
    assert [(s["stage"], s["level"], s["to_region_code"]) for s in steps] == [("acknowledge", 1, "320400")]
    c2, again = c1.apply_escalations(D(2026, 10, 10), CAL, 5)
    assert again == [] and c2 is c1
    _, later = c1.apply_escalations(D(2026, 10, 30), CAL, 5)
    assert [(s["level"], s["to_region_code"]) for s in later] == [(2, "320000")]
    # acknowledged: the feedback clock runs, nothing more for the acknowledgement
    ack = c.acknowledge(on=D(2026, 10, 9), actor="r")
    assert ack.running() == ("feedback", D(2026, 10, 23)) and ack.apply_escalations(D(2026, 10, 12), CAL, 5)[1] == []


def test_coord1_answers_applied_in_any_order_end_the_same():
    """COORD-1: the sender's copy takes the recipient's newest answer, whatever order the link delivers them."""
    recipient = clue()
    a1 = recipient.acknowledge(on=D(2026, 9, 29), actor="r")
    a2 = a1.answer("case_opened", "已立案调查，案号武环罚〔2026〕12号", on=D(2026, 10, 12), actor="r")
    snaps = [a1.answer_snapshot(), a2.answer_snapshot()]
    finals = set()
    for order in itertools.permutations(snaps + [a1.answer_snapshot()]):
        sender = clue()
        for snap in order:
            sender = sender.apply_answer(snap)
        finals.add((sender.status, sender.version, sender.acknowledged_on, sender.feedback_on, sender.result))
    assert finals == {("answered", 2, D(2026, 9, 29), D(2026, 10, 12), "case_opened")}


def test_coord1_clue_visible_to_both_sides_and_their_superiors_only():
    c = clue()
    assert c.visible_to(Scope("320412", frozenset({"320412-SCJG"})))
    assert c.visible_to(Scope("320412", frozenset({"320412-HBJ"})))
    assert c.visible_to(Scope("320400", None))
    assert not c.visible_to(Scope("320412", frozenset({"320412-GAJ"})))
    assert not c.visible_to(Scope("320411", None))


def test_coord1_repeat_and_multi_body_inspections_within_the_window():
    """COORD-1 多头检查、重复检查: same party and matter within the window; by the same body or another."""
    earlier = [co.PriorInspection("JC-1", "320412-SCJG", "食品经营 监督检查", D(2026, 9, 1)),
               co.PriorInspection("JC-2", "320412-HBJ", "食品经营监督检查", D(2026, 6, 1)),
               co.PriorInspection("JC-3", "320412-WJW", "公共场所卫生", D(2026, 9, 20))]
    flags = co.repeat_flags("320412-SCJG", "食品经营监督检查", D(2026, 10, 15), earlier, 90)
    assert flags["repeat"] and not flags["multi_body"] and flags["earlier_ids"] == ["JC-1"]
    assert flags["labels"] == ["重复检查"]
    wider = co.repeat_flags("320412-SCJG", "食品经营监督检查", D(2026, 10, 15), earlier, 180)
    assert wider["multi_body"] and wider["earlier_ids"] == ["JC-1", "JC-2"]
    other = co.repeat_flags("320412-GAJ", "食品经营监督检查", D(2026, 10, 15), earlier, 90)
    assert other == {**other, "repeat": False, "multi_body": True, "labels": ["多头检查"]}
    assert co.repeat_flags("320412-SCJG", "食品经营监督检查", D(2027, 1, 15), earlier, 90)["earlier_ids"] == []


@pytest.mark.parametrize("parties, region, note", [
    ((WJ_SCJG, WJ_HB), "320412", False),           # one county: its government's legal office
    ((WJ_SCJG, XB_JT), "320400", False),           # two counties of a city: the city
    ((WJ_SCJG, SZ_SCJG), "320000", False),         # two cities: the province
    ((co.Party("320412001-ZHZF", "320412001"), WJ_HB), "320412", False),   # a township's county
    ((WJ_SCJG, ZJ), "320000", True),               # two provinces: registered at home, reported up
])
def test_coord2_common_superior_coordinates(parties, region, note):
    """COORD-2: a dispute goes to the legal office of the lowest region covering every party."""
    got, why = co.common_superior(list(parties), "320412")
    assert got == region and (why is not None) == note


def test_coord2_dispute_statements_decision_deadline_and_late_decision():
    d = co.Dispute.open("ZY-1", [WJ_SCJG, XB_JT], "无证经营餐饮的查处管辖", source_kind="body", source_ref=None,
                        raised_by="officer", today=D(2026, 9, 28), periods=periods(), calendar=CAL,
                        home_region="320412")
    assert d.coordinator_region == "320400" and d.decision_due == CAL.add_working_days(D(2026, 9, 28), 20).due
    assert d.may_decide(Scope("320400", None)) and not d.may_decide(Scope("320412", None))
    assert not d.may_decide(Scope("320400", frozenset({"320400-SFJ"})))
    with pytest.raises(co.CoordinationError) as exc:
        d.add_statement("320500-SCJG", "我局无管辖权", on=D(2026, 9, 29), actor="x")
    assert exc.value.fields == {"body_id": ["只有争议方可以陈述意见"]}
    d = d.add_statement("320412-SCJG", "经营场所位于新北区，应由新北区管辖", on=D(2026, 9, 29), actor="x")
    with pytest.raises(co.CoordinationError) as exc:
        d.decide(SZ_SCJG, "由苏州管辖", on=D(2026, 10, 9), actor="sup")
    assert "competent.region_code" in exc.value.fields
    decided = d.decide(XB_JT, "违法行为发生地在新北区", on=D(2026, 11, 20), actor="sup")
    assert decided.status == "decided" and decided.decision["late"] is True
    with pytest.raises(co.CoordinationError) as exc:
        decided.decide(WJ_SCJG, "改变决定", on=D(2026, 11, 21), actor="sup")
    assert exc.value.status == 409


def test_coord3_transfer_documents_receipt_outcome_and_overdue_stages():
    """COORD-3: documents by SM3; receipt within 1 working day; outcome within 3 days of receipt; each
    overdue stage once; a pending transfer not sent within 1 working day is 应移未移."""
    form = {"recipient_kind": "public_security", "recipient_name": "常州市公安局武进分局", "matter": "涉嫌生产销售伪劣产品",
            "case_id": "320412-SCJG-2026-00077", "documents": [{"name": "涉嫌犯罪案件移送书", "sm3": SM3}]}
    t = co.Transfer.open("YS-1", WJ_SCJG, form, today=D(2026, 9, 30), actor="o", periods=periods(), calendar=CAL)
    assert t.status == "sent" and t.due == D(2026, 10, 8)           # 10-01…07 off, Thu 10-08 is the 1st day
    assert t.overdue_now(D(2026, 10, 8)) == (t, None)
    late, stage = t.overdue_now(D(2026, 10, 9))
    assert stage == "receipt" and late.overdue_now(D(2026, 10, 12))[1] is None
    got = late.record_receipt({"received_on": "2026-10-12", "receipt_no": "武公受〔2026〕88号"}, today=D(2026, 10, 12),
                              actor="o", periods=periods(), calendar=CAL)
    assert got.status == "received" and got.due == D(2026, 10, 15)
    done = got.record_outcome({"outcome": "filed", "decided_on": "2026-10-14", "text": "已立案侦查"}, today=D(2026, 10, 14),
                              actor="o")
    assert done.status == "concluded" and done.running_stage() is None and done.overdue_now(D(2027, 1, 1))[1] is None
    with pytest.raises(co.CoordinationError) as exc:
        co.Transfer.open("YS-2", WJ_SCJG, {**form, "case_id": None, "documents": [{"name": "移送书", "sm3": "xyz"}]},
                         today=D(2026, 9, 30), actor="o", periods=periods(), calendar=CAL)
    assert set(exc.value.fields) == {"case_id", "documents.0.sm3"}
    pending = co.Transfer.open("YS-3", WJ_SCJG, {"recipient_kind": "discipline_inspection", "recipient_name": "武进区纪委监委",
                                                 "matter": "责任追究决定移送纪检监察"}, today=D(2026, 9, 28), actor="s",
                               periods=periods(), calendar=CAL, pending=True, source_kind="accountability")
    assert pending.status == "pending" and pending.due == D(2026, 9, 29)
    assert pending.overdue_now(D(2026, 9, 30))[1] == "send"       # 应移未移
    sent = pending.send({"documents": [{"name": "移送函", "sm3": SM3}]}, today=D(2026, 9, 30), actor="s",
                        periods=periods(), calendar=CAL)
    assert sent.status == "sent" and sent.history[-1]["late"] is True
