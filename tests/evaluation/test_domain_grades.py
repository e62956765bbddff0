"""Officer evaluation, grades, vetoes, caps and consequences — EVAL-3, EVAL-4, EVAL-5."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.common.workdays import default_calendar
from services.evaluation.domain.accountability import ItemStatus, SupervisionKind, rectification_from_consequence
from services.evaluation.domain.facts import make_fact
from services.evaluation.domain.grades import (ConsequenceKind, Grade, Subject, SubjectKind, assign_grade,
                                               caps_in_force, consequences)
from services.evaluation.configuration import load_indicator_config
from services.evaluation.domain.scoring import score_officer

CAL = default_calendar()
CONFIG = load_indicator_config()


def _f(kind, day, n, officer="officer-X", value=None, year=None):
    return make_fact(kind, body_id="body-A", region_code="220100", occurred_on=day, event_id=f"{officer}-{kind}-{n}",
                     officer_id=officer, value=value, year=year)


def _officer_x_year(year=2024):
    """Officer X: 10 actions by June with one record gap and one upheld complaint, 12 h training;
    90 more actions in the second half, 52 h more training, special test 95."""
    facts = [_f("enforcement_action", dt.date(year, 1 + n % 6, 3 + n), n) for n in range(10)]
    facts += [_f("record_gap", dt.date(year, 3, 5), 1), _f("complaint_upheld", dt.date(year, 4, 20), 1),
              _f("training_hours", dt.date(year, 5, 10), 1, value=12)]
    facts += [_f("enforcement_action", dt.date(year, 7 + n % 6, 1 + n % 28), 100 + n) for n in range(90)]
    facts += [_f("training_hours", dt.date(year, 10, 15), 2, value=52), _f("special_test_score", dt.date(year, 11, 20), 1, value=95)]
    return facts


def test_eval3_officer_year_to_date_hand_computed_fail():
    """June 30: corrected 0/10 → 20.00; gaps 10 per 100 → 0; upheld 10 per 100 → 0; training 12/60 → 20% →
    4.00; no uncertified act → 10.00; no special test yet → excluded. 34.00 × 100 / 80 = 42.50 → 不合格."""
    facts = _officer_x_year()
    score = score_officer(facts, CONFIG, 2024, "officer-X", as_of=dt.date(2024, 6, 30))
    got = {i.code: (i.value, i.score, i.weighted) for i in score.indicators}
    assert got == {
        "O_CORRECTED": (Decimal("0.0000"), Decimal("100.00"), Decimal("20.00")),
        "O_RECORD_GAPS": (Decimal("10.0000"), Decimal("0.00"), Decimal("0.00")),
        "O_COMPLAINTS_UPHELD": (Decimal("10.0000"), Decimal("0.00"), Decimal("0.00")),
        "O_TRAINING": (Decimal("12.0000"), Decimal("20.00"), Decimal("4.00")),
        "O_CERTIFICATE": (Decimal("0.0000"), Decimal("100.00"), Decimal("10.00")),
        "O_SPECIAL_TEST": (None, None, Decimal("0.00")),
    }
    assert score.total == Decimal("42.50") and score.set_name == "officer-standard"
    assert assign_grade(score, facts).grade is Grade.FAIL


def test_eval4_officer_fail_mid_year_caps_later_excellent_in_same_year_only():
    """EVAL-4: an officer rated 不合格 may not be rated 优秀 that year — the cap persists when the
    score is recomputed at year end (93.00 → still 合格), and does not carry into the next year."""
    facts = _officer_x_year()
    officer = Subject(SubjectKind.OFFICER, "officer-X", "220100", "张三")
    midyear = assign_grade(score_officer(facts, CONFIG, 2024, "officer-X", as_of=dt.date(2024, 6, 30)), facts)
    history = consequences(officer, midyear, Grade.PASS, CAL, dt.date(2024, 7, 5), rules=CONFIG.consequences)
    assert [c.kind for c in history] == [ConsequenceKind.GRADE_CAP, ConsequenceKind.CRITICISM_OR_TRAINING]
    task = history[1]
    assert task.options == ("批评教育", "离岗培训")
    assert task.due.due == dt.date(2024, 8, 2)  # 20 working days from Fri 5 July 2024

    final_score = score_officer(facts, CONFIG, 2024, "officer-X")
    # 100 actions: corrected 0 → 20.00; 1 gap → 1/100 → 90 → 13.50; 1 upheld → 80 → 12.00;
    # 64 h → 20.00; certificate 10.00; special test 95 → 87.50 → 17.50. Total 93.00.
    assert [i.weighted for i in final_score.indicators] == [Decimal(x) for x in
                                                           ("20.00", "13.50", "12.00", "20.00", "10.00", "17.50")]
    assert final_score.total == Decimal("93.00")
    final = assign_grade(final_score, facts, caps=caps_in_force(history, SubjectKind.OFFICER, "officer-X", 2024))
    assert final.by_total is Grade.EXCELLENT and final.grade is Grade.PASS
    assert final.reasons == ("2024年度评议考核不合格，当年不得评定为优秀，等次调整为合格",)

    next_year = _officer_x_year(2025)
    score_2025 = score_officer(next_year, CONFIG, 2025, "officer-X")
    caps_2025 = caps_in_force(history, SubjectKind.OFFICER, "officer-X", 2025)
    assert caps_2025 == []
    assert assign_grade(score_2025, next_year, caps=caps_2025).grade is Grade.EXCELLENT


def test_eval4_officer_veto_uncertified_act_is_fail():
    """一票否决: an act without a valid certificate makes the officer 不合格 whatever the total."""
    facts = [_f("enforcement_action", dt.date(2024, 3, 1 + n), n, officer="officer-Y") for n in range(10)]
    facts += [_f("training_hours", dt.date(2024, 5, 1), 1, officer="officer-Y", value=60),
              _f("special_test_score", dt.date(2024, 6, 1), 1, officer="officer-Y", value=100),
              _f("certificate_invalid_action", dt.date(2024, 3, 4), 3, officer="officer-Y")]
    score = score_officer(facts, CONFIG, 2024, "officer-Y")
    assert score.indicator("O_CERTIFICATE").score == Decimal("0.00")
    assert score.total == Decimal("90.00")
    result = assign_grade(score, facts)
    assert result.by_total is Grade.EXCELLENT and result.grade is Grade.FAIL
    assert result.vetoes[0].code == "VETO_UNCERTIFIED"
    assert result.vetoes[0].evidence == ("officer-Y-certificate_invalid_action-3",)


def test_eval4_officer_two_years_running_fail_proposes_removal():
    officer = Subject(SubjectKind.OFFICER, "officer-Z")
    out = consequences(officer, Grade.FAIL, Grade.FAIL, CAL, dt.date(2025, 1, 15), year=2024)
    assert [c.kind for c in out] == [ConsequenceKind.GRADE_CAP, ConsequenceKind.REMOVAL_PROPOSAL]
    removal = out[1]
    assert removal.options == ("调离执法岗位", "取消执法资格") and removal.requires_decision
    assert "连续两年" in removal.detail
    # previous year 合格 → criticism / off-post training, no removal
    once = consequences(officer, "不合格", "合格", CAL, dt.date(2025, 1, 15), year=2024)
    assert [c.kind for c in once] == [ConsequenceKind.GRADE_CAP, ConsequenceKind.CRITICISM_OR_TRAINING]
    # 合格 / 优秀 officers: no consequence (officer results are not published by default)
    assert consequences(officer, Grade.PASS, Grade.FAIL, CAL, dt.date(2025, 1, 15), year=2024) == []


def test_eval4_body_fail_rectification_in_30_working_days_tracked_to_closure():
    """Body 不合格 → results published within a scope + 责令限期整改 within 30 working days
    (15 Jan 2025 + 30 working days over the Spring Festival = 4 Mar 2025), tracked as a rectification item."""
    body = Subject(SubjectKind.BODY, "body-D", "220102001", "某街道办事处")
    out = consequences(body, Grade.FAIL, None, CAL, dt.date(2025, 1, 15), year=2024, rules=CONFIG.consequences)
    assert [c.kind for c in out] == [ConsequenceKind.PUBLICATION, ConsequenceKind.RECTIFICATION_ORDER]
    assert out[0].scope == "在本级人民政府门户网站和考核机关内公开"
    order = out[1]
    assert order.due.due == dt.date(2025, 3, 4) and not order.due.provisional
    item = rectification_from_consequence(order, "sup-1", issuer_region="220102", issuer_id="gov-220102",
                                          target_region="220102001", calendar=CAL)
    assert item.kind is SupervisionKind.RECTIFICATION and item.due == dt.date(2025, 3, 4)
    item.respond("body-D", dt.date(2025, 2, 20), "已完成整改：补录音像记录，组织全员培训")
    item.accept("gov-220102", dt.date(2025, 2, 25))
    assert item.status is ItemStatus.CLOSED and item.responses[0].on_time
    # a 合格 body: only the publication
    assert [c.kind for c in consequences(body, Grade.PASS, Grade.FAIL, CAL, dt.date(2025, 1, 15), year=2024)] == \
        [ConsequenceKind.PUBLICATION]


def test_eval4_consequences_need_a_year_for_a_bare_grade():
    with pytest.raises(ValueError, match="year is required"):
        consequences(Subject(SubjectKind.BODY, "b"), Grade.FAIL, None, CAL, dt.date(2025, 1, 15))
