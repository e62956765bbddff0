"""Accountability cases (EVAL-6, COORD-3) and supervision items (COORD-4, EVAL-9)."""
from __future__ import annotations

import datetime as dt

import pytest

from services.common.workdays import WorkingDayCalendar, default_calendar
from services.evaluation.configuration import load_supervision_rules
from services.evaluation.domain.accountability import (AccountabilityError, ClueSource, ExemptionGround, Flag,
                                                       ItemStatus, OutOfScopeError, Outcome, Sanction, SanctionKind,
                                                       Stage, SupervisionKind, deadline_flag, issue_supervision_item,
                                                       open_case_from_fact)
from services.evaluation.domain.facts import make_fact
from services.evaluation.domain.grades import SubjectKind

CAL = default_calendar()
T0 = dt.datetime(2024, 5, 6, 9, 0)


def _at(days):
    return T0 + dt.timedelta(days=days)


def _case_from_bypass():
    fact = make_fact("review_bypassed", body_id="body-C", region_code="220103", occurred_on=dt.date(2024, 5, 2),
                     event_id="ev-bypass-1", officer_id="off-1")
    return open_case_from_fact(fact, "AC-2024-001", T0, opened_by="supervisor-1")


def _to_decision(case):
    case.accept("supervisor-1", _at(1))
    case.add_link(Stage.PROPOSAL, "off-1", "承办人", "未提交法制审核即提请作出决定", "investigator-1", _at(3))
    case.add_link(Stage.DECISION, "chief-1", "批准人", "未经法制审核签发处罚决定", "investigator-1", _at(3))
    case.propose("investigator-1", _at(5), "重大行政处罚决定未经法制审核即作出",
                 [Sanction(SubjectKind.OFFICER, "off-1", SanctionKind.CIRCULATED_CRITICISM),
                  Sanction(SubjectKind.OFFICER, "chief-1", SanctionKind.CRITICISM_EDUCATION)])
    case.submit_internal_review("investigator-1", _at(6))
    case.internal_review("deputy-1", _at(7), True, "同意处理建议")
    case.legal_review("legal-1", _at(8), True, "事实清楚，程序合法，建议适当")
    assert case.stage is Stage.DECISION


def test_eval6_case_opened_from_violation_keeps_source_event_and_officer():
    case = _case_from_bypass()
    assert case.stage is Stage.CLUE and case.source is ClueSource.REVIEW_BYPASSED
    assert case.source_event_ids == ["ev-bypass-1"] and case.officer_ids == ["off-1"]
    assert "重大执法决定应审未审" in case.description
    with pytest.raises(ValueError, match="不是责任追究线索来源"):
        open_case_from_fact(make_fact("satisfaction", body_id="b", region_code="220103", occurred_on=dt.date(2024, 1, 1),
                                      event_id="e", value=5), "AC-x", T0)


def test_eval6_full_chain_needs_statement_before_sanction_then_closes():
    """EVAL-6: clue → investigation → proposal → internal review → legal review → decision → closed;
    a decision against an officer needs their statement and defence (陈述申辩) first."""
    case = _case_from_bypass()
    _to_decision(case)
    sanctions = [Sanction(SubjectKind.OFFICER, "off-1", SanctionKind.CIRCULATED_CRITICISM),
                 Sanction(SubjectKind.OFFICER, "chief-1", SanctionKind.CRITICISM_EDUCATION)]
    with pytest.raises(AccountabilityError, match="须听取其陈述和申辩：chief-1、off-1"):
        case.decide("director-1", _at(10), sanctions)
    case.record_statement("off-1", "当时对重大执法决定目录理解有误", "investigator-1", _at(9))
    with pytest.raises(AccountabilityError, match="须听取其陈述和申辩：chief-1"):
        case.decide("director-1", _at(10), sanctions)
    case.record_statement("chief-1", "", "investigator-1", _at(9), waived=True)  # 放弃陈述申辩 is recorded
    case.decide("director-1", _at(10), sanctions)
    assert case.outcome is Outcome.SANCTIONED and case.stage is Stage.DECISION
    with pytest.raises(AccountabilityError, match="已作出决定"):
        case.record_statement("off-1", "补充", "x", _at(11))
    case.close("director-1", _at(12))
    assert case.stage is Stage.CLOSED
    assert [(t.action, t.actor_id) for t in case.history] == [
        ("立案调查", "supervisor-1"), ("提出处理建议", "investigator-1"), ("提交内部审查", "investigator-1"),
        ("内部审查通过", "deputy-1"), ("法制审核通过", "legal-1"), ("作出决定", "director-1"), ("结案", "director-1")]
    assert [(l.stage, l.person_id) for l in case.links] == [(Stage.PROPOSAL, "off-1"), (Stage.DECISION, "chief-1")]


def test_eval6_invalid_transitions_raise():
    case = _case_from_bypass()
    with pytest.raises(AccountabilityError, match="当前处于「线索」环节，不能提出处理建议"):
        case.propose("x", _at(1), "f", [])
    with pytest.raises(AccountabilityError, match="不能作出决定"):
        case.decide("x", _at(1), [])
    with pytest.raises(AccountabilityError, match="不能认定尽职免责"):
        case.exempt("x", _at(1), [ExemptionGround.DUTY_PERFORMED], "理由")
    case.accept("supervisor-1", _at(1))
    with pytest.raises(AccountabilityError, match="不能结案"):
        case.close("x", _at(2))
    # a sanction needs a responsible link naming the officer
    with pytest.raises(AccountabilityError, match="off-9未在责任环节中认定"):
        case.propose("investigator-1", _at(2), "事实", [Sanction(SubjectKind.OFFICER, "off-9", SanctionKind.CRITICISM_EDUCATION)])
    # officer-only sanctions cannot target the body
    with pytest.raises(AccountabilityError, match="只适用于执法人员"):
        case.propose("investigator-1", _at(2), "事实", [Sanction(SubjectKind.BODY, "body-C", SanctionKind.REMOVE_FROM_POST)])


def test_eval6_reviews_return_and_reviewer_separation():
    case = _case_from_bypass()
    case.accept("s", _at(1))
    case.add_link(Stage.INVESTIGATION, "off-1", "承办人", "调查取证不全", "investigator-1", _at(2))
    case.propose("investigator-1", _at(3), "事实", [Sanction(SubjectKind.OFFICER, "off-1", SanctionKind.ORDER_SELF_EXAMINATION)])
    case.submit_internal_review("investigator-1", _at(4))
    with pytest.raises(AccountabilityError, match="不能是处理建议的提出人"):
        case.internal_review("investigator-1", _at(5), True, "同意")
    case.internal_review("deputy-1", _at(5), False, "事实不清，补充调查")
    assert case.stage is Stage.INVESTIGATION
    case.propose("investigator-1", _at(6), "补充后的事实", [Sanction(SubjectKind.OFFICER, "off-1", SanctionKind.ORDER_SELF_EXAMINATION)])
    case.submit_internal_review("investigator-1", _at(7))
    case.internal_review("deputy-1", _at(8), True, "同意")
    case.legal_review("legal-1", _at(9), False, "处理建议依据不足")
    assert case.stage is Stage.PROPOSAL


def test_eval6_due_diligence_exemption_closes_without_sanction():
    """尽职免责: with grounds and explanation, closes the case without sanction — even after a proposal."""
    case = _case_from_bypass()
    _to_decision(case)
    with pytest.raises(AccountabilityError, match="须列明免责情形"):
        case.exempt("director-1", _at(9), [], "理由")
    with pytest.raises(AccountabilityError, match="须说明理由"):
        case.exempt("director-1", _at(9), [ExemptionGround.PARTY_DECEPTION], "")
    case.exempt("director-1", _at(9), [ExemptionGround.PARTY_DECEPTION], "当事人隐瞒涉案金额，致无法判断为重大执法决定")
    assert case.stage is Stage.CLOSED and case.outcome is Outcome.EXEMPTED and case.sanctions == []
    assert case.exemption.grounds == (ExemptionGround.PARTY_DECEPTION,)
    assert case.history[-1].action == "尽职免责"


def test_eval6_dismissal_no_violation_no_liability_and_discipline_transfer():
    c1 = _case_from_bypass()
    with pytest.raises(AccountabilityError, match="须说明理由"):
        c1.dismiss("s", _at(1), "")
    c1.dismiss("s", _at(1), "线索重复")
    assert c1.outcome is Outcome.DISMISSED and c1.stage is Stage.CLOSED
    c2 = _case_from_bypass()
    c2.accept("s", _at(1))
    c2.close_no_violation("investigator-1", _at(3), "经查该决定不属于重大执法决定")
    assert c2.outcome is Outcome.NO_VIOLATION
    c3 = _case_from_bypass()
    _to_decision(c3)
    with pytest.raises(AccountabilityError, match="不予追究须说明理由"):
        c3.decide("director-1", _at(10), [])
    c3.decide("director-1", _at(10), [], reason="情节轻微并已及时纠正")
    assert c3.outcome is Outcome.NO_LIABILITY  # no sanction → no statement needed
    c4 = _case_from_bypass()
    _to_decision(c4)
    c4.record_statement("off-1", "无异议", "investigator-1", _at(9))
    c4.decide("director-1", _at(10), [Sanction(SubjectKind.OFFICER, "off-1", SanctionKind.TRANSFER_DISCIPLINE),
                                      Sanction(SubjectKind.BODY, "body-C", SanctionKind.CIRCULATED_CRITICISM)])
    assert [s.target_id for s in c4.transfers_to_discipline] == ["off-1"]  # COORD-3


def test_coord4_supervision_scope_county_cannot_issue_to_its_city():
    with pytest.raises(OutOfScopeError, match="不包含被监督主体所在区域220100"):
        issue_supervision_item("S-1", SupervisionKind.SUGGESTION, issuer_region="220102", issuer_id="gov-220102",
                               target_body_id="city-market", target_region="220100", subject="建议规范检查频次",
                               issued_on=dt.date(2024, 9, 27), calendar=CAL)
    with pytest.raises(OutOfScopeError):  # nor to a sibling county
        issue_supervision_item("S-2", "rectification", issuer_region="220102", issuer_id="gov-220102",
                               target_body_id="x", target_region="220103", subject="整改", issued_on=dt.date(2024, 9, 27),
                               calendar=CAL)
    # the city covers its counties and their streets; a body at the same level is covered too
    for target in ("220102", "220102001", "220100"):
        issue_supervision_item("S-3", "special_investigation", issuer_region="220100", issuer_id="gov-220100",
                               target_body_id="b", target_region=target, subject="重大案件专项调查",
                               issued_on=dt.date(2024, 9, 27), calendar=CAL)


def test_coord4_eval9_overdue_flags_count_working_days_over_national_day():
    """Issued Fri 27 Sep 2024 with 5 working days: 29 Sep (adjusted Sunday) and 30 Sep count,
    1–7 Oct are holidays, then 8, 9, 10 Oct → due 10 Oct. Yellow within 2 working days."""
    item = issue_supervision_item("S-9", SupervisionKind.SUGGESTION, issuer_region="220100", issuer_id="gov-220100",
                                  target_body_id="county-env", target_region="220102", subject="规范现场检查音像记录",
                                  issued_on=dt.date(2024, 9, 27), calendar=CAL, working_days=5)
    assert item.due == dt.date(2024, 10, 10) and not item.deadline.provisional
    flags = {d: item.flag(dt.date(2024, 10, d), CAL, yellow_within=2) for d in (8, 10, 11)}
    assert item.flag(dt.date(2024, 9, 30), CAL, yellow_within=2) is Flag.GREEN   # 3 working days left
    assert item.flag(dt.date(2024, 10, 5), CAL, yellow_within=2) is Flag.GREEN   # holiday; 8, 9, 10 still ahead
    assert flags == {8: Flag.YELLOW, 10: Flag.YELLOW, 11: Flag.RED}
    assert item.is_overdue(dt.date(2024, 10, 11))
    item.respond("county-env", dt.date(2024, 10, 11), "已制定音像记录清单")
    assert not item.responses[0].on_time and item.flag(dt.date(2024, 10, 14), CAL) is Flag.NONE
    item.reject("gov-220100", dt.date(2024, 10, 14), "未落实到各执法队", calendar=CAL, extend_working_days=5)
    assert item.status is ItemStatus.OPEN and item.due == dt.date(2024, 10, 21)
    with pytest.raises(AccountabilityError, match="尚未回复"):
        item.accept("gov-220100", dt.date(2024, 10, 15))
    item.respond("county-env", dt.date(2024, 10, 18), "已落实")
    item.accept("gov-220100", dt.date(2024, 10, 21), "办结")
    assert item.status is ItemStatus.CLOSED and item.flag(dt.date(2024, 12, 1), CAL) is Flag.NONE


def test_plat6_deadline_in_unknown_year_is_provisional(tmp_path):
    """A supervision deadline reaching into 2027 (schedule not loaded) is flagged provisional."""
    cal = WorkingDayCalendar.load(tmp_path)
    item = issue_supervision_item("S-10", "rectification", issuer_region="220000", issuer_id="gov-220000",
                                  target_body_id="b", target_region="220102", subject="整改",
                                  issued_on=dt.date(2026, 12, 20), calendar=cal)
    assert item.deadline.provisional
    assert deadline_flag(item.due, dt.date(2026, 12, 21), cal) is Flag.GREEN


def test_coord4_supervision_periods_from_config():
    rules = load_supervision_rules()
    assert rules.working_days[SupervisionKind.SUGGESTION] == 15 and rules.yellow_within == 3
    item = issue_supervision_item("S-11", "suggestion", issuer_region="220100", issuer_id="g", target_body_id="b",
                                  target_region="220102", subject="监督建议", issued_on=dt.date(2024, 9, 27),
                                  calendar=CAL, rules=rules)
    assert item.deadline.working_days == 15
