"""No grade without evidence and due process before accountability — pure rules (issue 16;
EVAL-1, EVAL-2, EVAL-4, EVAL-6)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.common.workdays import default_calendar
from services.evaluation.domain.accountability import (AccountabilityError, Outcome, Stage, counts_against,
                                                       open_case_from_fact)
from services.evaluation.domain.due_process import GapReport, counts_against_officer, gap_status
from services.evaluation.domain.evaluators import (BodyInfo, EvaluatorKind, EvaluatorRules, Management,
                                                   combine_scores, evaluators_for)
from services.evaluation.domain.facts import make_fact
from services.evaluation.domain.grades import INSUFFICIENT, Grade, Subject, SubjectKind, assign_grade, consequences
from services.evaluation.configuration import load_indicator_config
from services.evaluation.domain.indicators import IndicatorConfigError, parse_indicator_config
from services.evaluation.domain.scoring import score_body, score_officer
from services.evaluation.domain.years import ENDED, FINAL, PROVISIONAL, FutureYearError, check_year, year_status

CAL = default_calendar()
CONFIG = load_indicator_config()
CHINA = dt.timezone(dt.timedelta(hours=8))
BODY = "320412-SCJG"


def _f(kind, day, n, officer=None, value=None):
    return make_fact(kind, body_id=BODY, region_code="320412", occurred_on=day, event_id=f"ev-{kind}-{n}",
                     officer_id=officer, value=value)


def _busy_body(year=2025, decisions=12):
    """12 decisions, every one published on time and recorded — but no major decision, no complaint,
    no challenge, no satisfaction rating: those indicators have nothing to measure."""
    facts = []
    for n in range(decisions):
        day = dt.date(year, 3, 1) + dt.timedelta(days=7 * n)
        facts += [_f("enforcement_action", day, n, officer="o-1"), _f("record_case", day, n),
                  _f("disclosure_due", day + dt.timedelta(days=7), n), _f("disclosure_on_time", day + dt.timedelta(days=7), n)]
    return facts


def test_issue16_eval2_indicator_with_0_of_0_is_not_applicable_and_its_weight_redistributed():
    """EVAL-2 (issue 16): REVIEW_MAJOR with no major decision (0/0) is 不适用 — not 100 — and the total
    is rescaled over the applicable weights."""
    score = score_body(_busy_body(), CONFIG, 2025, body_id=BODY, tier="county")
    review = score.indicator("REVIEW_MAJOR")
    assert (review.applicable, review.score, review.weighted) == (False, None, Decimal("0.00"))
    assert "不适用" in review.detail
    for code in ("CORRECTION_RATE", "COMPLAINT_ACK", "SATISFACTION", "REVIEWER_STAFFING"):
        assert not score.indicator(code).applicable, code
    disc = score.indicator("DISC_ON_TIME")
    assert (disc.applicable, disc.score) == (True, Decimal("100.00"))
    applicable = [i for i in score.indicators if i.applicable]
    assert score.applicable_weight == sum(i.weight for i in applicable)
    expected = (sum(i.weighted for i in applicable) * 100 / score.applicable_weight).quantize(Decimal("0.01"))
    assert score.total == expected


def test_issue16_eval2_a_bypass_alone_still_scores_review_major():
    """A penalty fact is evidence: a bypass with no classified major decision still costs its points."""
    facts = _busy_body() + [_f("review_bypassed", dt.date(2025, 5, 5), 1)]
    review = score_body(facts, CONFIG, 2025, body_id=BODY, tier="county").indicator("REVIEW_MAJOR")
    assert (review.applicable, review.score) == (True, Decimal("80.00"))


def test_issue16_eval4_a_year_with_no_facts_has_no_grade():
    """EVAL-4 (issue 16): no facts → 数据不足, not 合格 85.06; no consequence follows."""
    score = score_body([], CONFIG, 2025, body_id=BODY, tier="county")
    result = assign_grade(score, [])
    assert result.insufficient and result.label == INSUFFICIENT and result.evidence_count == 0
    assert consequences(Subject(SubjectKind.BODY, BODY), result, None, CAL, dt.date(2026, 1, 5)) == []


def test_issue16_eval4_less_evidence_than_the_minimum_is_insufficient_then_graded():
    few = _busy_body(decisions=2)       # 2 decisions: 4 events behind the score, minimum 10 (indicators.yaml)
    assert CONFIG.select("body", "county", 2025).grading.min_evidence == 10
    result = assign_grade(score_body(few, CONFIG, 2025, body_id=BODY, tier="county"), few)
    assert result.insufficient and result.evidence_count < 10
    enough = _busy_body(decisions=12)
    graded = assign_grade(score_body(enough, CONFIG, 2025, body_id=BODY, tier="county"), enough)
    assert not graded.insufficient and graded.label == Grade.EXCELLENT.value


def test_issue16_eval3_officer_with_no_acts_is_insufficient():
    facts = [_f("training_hours", dt.date(2025, 3, 1), 1, officer="o-9", value=20)]
    score = score_officer(facts, CONFIG, 2025, "o-9", tier="county")
    assert assign_grade(score, facts).label == INSUFFICIENT


def test_issue16_min_evidence_is_configurable_and_checked():
    raw = {"version": 1, "grading": {"body": {"min_evidence": 0}}, "indicator_sets": []}
    with pytest.raises(IndicatorConfigError, match="min_evidence"):
        parse_indicator_config(raw)
    raw["grading"]["body"]["min_evidence"] = 3
    cfg = parse_indicator_config({**raw, "indicator_sets": [{
        "name": "b", "subject": "body", "tiers": ["county"], "years": {"from": 2020}, "indicators": [{
            "code": "X", "name": "按时公示", "method": "ratio", "numerator": ["disclosure_on_time"],
            "denominator": ["disclosure_due"], "better": "higher", "target": 1,
            "curve": {"kind": "linear", "full_at": 1, "zero_at": 0.8}, "weight": 100}]}]})
    assert cfg.select("body", "county", 2025).grading.min_evidence == 3


@pytest.mark.parametrize("when_empty", ["full", "zero"])
def test_issue16_when_empty_full_or_zero_is_refused(when_empty):
    """A 0/0 may not be configured to score 100 or 0."""
    raw = {"version": 1, "indicator_sets": [{
        "name": "b", "subject": "body", "tiers": ["county"], "years": {"from": 2020}, "indicators": [{
            "code": "X", "name": "按时公示", "method": "ratio", "numerator": ["disclosure_on_time"],
            "denominator": ["disclosure_due"], "better": "higher", "target": 1, "when_empty": when_empty,
            "curve": {"kind": "linear", "full_at": 1, "zero_at": 0.8}, "weight": 100}]}]}
    with pytest.raises(IndicatorConfigError, match="when_empty"):
        parse_indicator_config(raw)


def test_issue16_future_year_refused_and_running_year_provisional():
    today = dt.date(2026, 12, 3)
    with pytest.raises(FutureYearError, match="2027年度尚未开始"):
        check_year(2027, today)
    assert year_status(2026, today) == PROVISIONAL
    assert year_status(2025, today) == ENDED
    assert year_status(2025, today, finalised=True) == FINAL


# --- EVAL-6: due process ------------------------------------------------------------------------

def _report(n, at, *kinds):
    return GapReport(f"r{n}", "CASE-1", at, frozenset(kinds))


DECIDED = dt.datetime(2026, 3, 2, 10, 0, tzinfo=CHINA)       # a Monday


def test_eval6_gap_closed_within_grace_is_never_final_in_any_order():
    reports = [_report(1, DECIDED, "record_gap"), _report(2, DECIDED + dt.timedelta(days=2))]
    for order in (reports, reports[::-1]):
        for today in (dt.date(2026, 3, 3), dt.date(2026, 3, 20), dt.date(2026, 6, 1)):
            status = gap_status(order, "record_gap", CAL, 5, today)
            assert not status.open and not status.final


def test_eval6_gap_open_past_grace_is_final_only_after_the_last_grace_day():
    reports = [_report(1, DECIDED, "record_gap"), _report(2, DECIDED + dt.timedelta(days=1), "record_gap", "av_missing")]
    status = gap_status(reports[::-1], "record_gap", CAL, 5, dt.date(2026, 3, 9))
    assert status.open and status.since.event_id == "r1" and status.final_after == dt.date(2026, 3, 9)
    assert not status.final                                   # the last grace day itself
    assert gap_status(reports, "record_gap", CAL, 5, dt.date(2026, 3, 10)).final
    av = gap_status(reports, "av_missing", CAL, 5, dt.date(2026, 3, 10))
    assert av.open and av.since.event_id == "r2" and not av.final   # its own spell began a day later


def test_eval6_reopened_gap_counts_from_its_new_spell():
    reports = [_report(1, DECIDED, "record_gap"), _report(2, DECIDED + dt.timedelta(days=1)),
               _report(3, DECIDED + dt.timedelta(days=20), "record_gap")]
    status = gap_status(reports, "record_gap", CAL, 5, dt.date(2026, 3, 25))
    assert status.since.event_id == "r3" and not status.final


def test_eval6_clue_withdrawn_with_history_only_before_acceptance():
    fact = _f("record_gap", dt.date(2026, 3, 2), 1, officer="o-1")
    case = open_case_from_fact(fact, "ZR-1", DECIDED)
    case.withdraw("system", DECIDED, "记录已补齐")
    assert (case.stage, case.outcome) == (Stage.CLOSED, Outcome.WITHDRAWN)
    assert case.history[-1].action == "撤回线索" and case.history[-1].note == "记录已补齐"
    accepted = open_case_from_fact(fact, "ZR-2", DECIDED)
    accepted.accept("sup-1", DECIDED)
    with pytest.raises(AccountabilityError, match="撤回线索"):
        accepted.withdraw("system", DECIDED, "记录已补齐")


def test_eval6_nothing_counts_against_an_officer_until_the_clue_is_accepted():
    fact = _f("record_gap", dt.date(2026, 3, 2), 1, officer="o-1")
    assert not counts_against("clue", None)
    assert counts_against("investigation", None)
    for outcome in (Outcome.DISMISSED, Outcome.NO_VIOLATION, Outcome.EXEMPTED, Outcome.WITHDRAWN):
        assert not counts_against("closed", outcome.value)
    assert counts_against("closed", Outcome.SANCTIONED.value)
    assert not counts_against_officer(fact, set())
    assert counts_against_officer(fact, {("record_gap", fact.event_id)})
    assert counts_against_officer(_f("enforcement_action", dt.date(2026, 3, 2), 1, officer="o-1"), set())


# --- EVAL-1: dual evaluators ------------------------------------------------------------------

def test_eval1_dual_managed_body_two_scores_combined_as_configured():
    body = BodyInfo("320412-SW", "320412", Management.DUAL, superior_body_id="320400-SW")
    evs = evaluators_for(body, EvaluatorRules())
    totals = {(EvaluatorKind.SUPERIOR_DEPARTMENT, "320400-SW"): Decimal("80.00"),
              (EvaluatorKind.GOVERNMENT, "320412"): Decimal("91.00")}
    assert combine_scores(evs, totals) == Decimal("85.50")
    weighted = evaluators_for(body, EvaluatorRules(dual_superior_weight=Decimal(70), dual_government_weight=Decimal(30)))
    assert combine_scores(weighted, totals) == Decimal("83.30")
    primary = evaluators_for(body, EvaluatorRules(dual_mode="primary"))
    assert combine_scores(primary, totals) == Decimal("80.00")
