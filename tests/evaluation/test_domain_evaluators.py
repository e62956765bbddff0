"""Who evaluates whom — EVAL-1 (000 §六(一))."""
from __future__ import annotations

from decimal import Decimal

import pytest

from services.evaluation.domain.evaluators import (BodyInfo, Evaluator, EvaluatorKind, EvaluatorRules, Management,
                                                   Role, combine_scores, evaluators_for, evaluators_for_officer)

D = Decimal


def test_eval1_local_department_is_evaluated_by_its_government():
    body = BodyInfo("county-env", "220102")
    assert evaluators_for(body) == [Evaluator(EvaluatorKind.GOVERNMENT, "220102", D(100), Role.PRIMARY)]


def test_eval1_vertical_body_by_superior_with_local_opinion():
    body = BodyInfo("county-tax", "220102", Management.VERTICAL, superior_body_id="city-tax")
    evs = evaluators_for(body)
    assert evs == [Evaluator(EvaluatorKind.SUPERIOR_DEPARTMENT, "city-tax", D(100), Role.PRIMARY),
                   Evaluator(EvaluatorKind.GOVERNMENT, "220102", D(0), Role.OPINION)]
    # the government's opinion is recorded but does not move the score
    totals = {(EvaluatorKind.SUPERIOR_DEPARTMENT, "city-tax"): D("82.5"), (EvaluatorKind.GOVERNMENT, "220102"): D(40)}
    assert combine_scores(evs, totals) == D("82.50")


def test_eval1_dual_managed_by_both_50_50_or_primary_only():
    body = BodyInfo("county-market", "220102", "dual", superior_body_id="city-market")
    evs = evaluators_for(body)
    assert evs == [Evaluator(EvaluatorKind.SUPERIOR_DEPARTMENT, "city-market", D(50), Role.PRIMARY),
                   Evaluator(EvaluatorKind.GOVERNMENT, "220102", D(50), Role.PRIMARY)]
    totals = {(EvaluatorKind.SUPERIOR_DEPARTMENT, "city-market"): D(90), (EvaluatorKind.GOVERNMENT, "220102"): D(75)}
    assert combine_scores(evs, totals) == D("82.50")
    weighted = evaluators_for(body, EvaluatorRules(dual_superior_weight=D(70), dual_government_weight=D(30)))
    assert combine_scores(weighted, totals) == D("85.50")  # 0.7×90 + 0.3×75
    primary = evaluators_for(body, EvaluatorRules(dual_mode="primary", dual_primary=EvaluatorKind.GOVERNMENT))
    assert [(e.kind, e.role) for e in primary] == [(EvaluatorKind.SUPERIOR_DEPARTMENT, Role.OPINION),
                                                   (EvaluatorKind.GOVERNMENT, Role.PRIMARY)]
    assert combine_scores(primary, totals) == D("75.00")


def test_eval1_units_entrusted_orgs_and_officers_by_their_body():
    unit = BodyInfo("brigade-1", "220102", unit_of="county-market")
    assert evaluators_for(unit) == [Evaluator(EvaluatorKind.BODY, "county-market", D(100), Role.PRIMARY)]
    entrusted = BodyInfo("station", "220102001", kind="entrusted_org", entrusting_body_id="county-agri")
    assert evaluators_for(entrusted)[0].ref == "county-agri"
    assert evaluators_for_officer("county-market") == [Evaluator(EvaluatorKind.BODY, "county-market", D(100), Role.PRIMARY)]


def test_eval1_missing_superior_and_missing_scores_are_errors():
    with pytest.raises(ValueError, match="未登记上一级主管部门"):
        evaluators_for(BodyInfo("x", "220102", Management.VERTICAL))
    evs = evaluators_for(BodyInfo("y", "220102", Management.DUAL, superior_body_id="s"))
    with pytest.raises(KeyError, match="缺少考核机关"):
        combine_scores(evs, {(EvaluatorKind.SUPERIOR_DEPARTMENT, "s"): D(80)})
