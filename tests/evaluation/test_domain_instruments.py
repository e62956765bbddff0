"""EVAL-2 (issue 18): the pure rules of the evaluation instruments — answer codes (typed as printed or not,
hashed, never stored in clear), survey and card requests, ratings of every question 1–5 and their mean,
unannounced-visit reports; and the facts they make are scored by the configured indicators."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.evaluation.configuration import load_all
from services.evaluation.domain import instruments as rules
from services.evaluation.domain.facts import FACT_KINDS

TODAY = dt.date(2026, 12, 3)


def test_eval2_codes_normalised_and_hashed():
    assert rules.normalise_code(" k4w72-et385 ") == "K4W72ET385" == rules.normalise_code("K4W72 ET385")
    assert rules.code_hash("k4w72-et385") == rules.code_hash("K4W72ET385") != rules.code_hash("K4W72ET386")
    assert rules.looks_like_code("K4W72-ET385") and not rules.looks_like_code("K4W72-ET38O")   # O is not used
    assert rules.format_code("K4W72ET385") == "K4W72-ET385"


def test_eval2_survey_and_card_requests():
    card = rules.survey_spec({"kind": "card", "body_id": "B", "closes_on": TODAY, "case_id": "C-1"}, TODAY)
    assert (card.codes, card.case_id, len(card.questions)) == (1, "C-1", 3)      # one code by default
    with pytest.raises(rules.InstrumentError) as refused:
        rules.survey_spec({"kind": "survey", "body_id": "", "closes_on": TODAY - dt.timedelta(days=1),
                           "case_id": "C-1", "questions": [{"code": "Bad", "text": ""}]}, TODAY)
    assert set(refused.value.fields) == {"body_id", "closes_on", "case_id", "questions", "codes"}
    assert rules.open_on(TODAY, TODAY, TODAY + dt.timedelta(days=1)) == "该调查已截止"
    assert rules.open_on(TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=2), TODAY) == "该调查自2026年12月4日起接受评价"


def test_eval2_every_question_rated_1_to_5_and_the_mean():
    questions = list(rules.DEFAULT_QUESTIONS)
    ratings = rules.ratings_of(questions, {"q_attitude": "5", "q_procedure": 4, "result": "4"})
    assert ratings == {"attitude": 5, "procedure": 4, "result": 4} and rules.average(ratings) == Decimal("4.33")
    with pytest.raises(rules.InstrumentError) as refused:
        rules.ratings_of(questions, {"q_attitude": "6", "q_procedure": "x"})
    assert set(refused.value.fields) == {"q_attitude", "q_procedure", "q_result"}


def test_eval2_visit_reports():
    visit = rules.visit_spec({"body_id": "B", "visited_on": TODAY, "place": "窗口", "findings": "未亮证",
                              "problems": ["未亮证", " "], "score": "75.5"}, TODAY)
    assert visit.problems == ("未亮证",) and visit.score == Decimal("75.5")
    with pytest.raises(rules.InstrumentError) as refused:
        rules.visit_spec({"body_id": "B", "visited_on": TODAY + dt.timedelta(days=1), "place": "", "findings": "",
                          "score": "NaN"}, TODAY)
    assert set(refused.value.fields) == {"visited_on", "place", "findings", "score"}


def test_eval2_the_shipped_indicators_score_the_instruments_facts():
    """config/evaluation/indicators.yaml: survey and card answers count in SATISFACTION, unannounced visits in
    SPECIAL_CHECK, in every body set (an indicator set that drops them would stop scoring them)."""
    assert {"survey_rating", "unannounced_visit_score"} <= set(FACT_KINDS)
    config = load_all().indicators
    for tier in ("province", "city", "county", "township"):
        indicators = {i.code: i for i in config.select("body", tier, 2026).indicators}
        assert "survey_rating" in indicators["SATISFACTION"].facts
        assert "unannounced_visit_score" in indicators["SPECIAL_CHECK"].facts
