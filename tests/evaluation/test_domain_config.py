"""Validation of the evaluation configuration files — EVAL-2 (indicators), EVAL-1, EVAL-9."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from services.common.identifiers import Tier
from services.evaluation.configuration import INDICATORS_FILE, load_evaluator_rules, load_indicator_config, load_rules
from services.evaluation.domain.evaluators import EvaluatorConfigError
from services.evaluation.domain.indicators import IndicatorConfigError, parse_indicator_config
from services.evaluation.domain.rules import RuleConfigError, parse_rules

ROOT = Path(__file__).resolve().parents[2]
RAW = yaml.safe_load(INDICATORS_FILE.read_text(encoding="utf-8"))


def _raw():
    return copy.deepcopy(RAW)


def _errors(data) -> list[str]:
    """The one message's ``key.path: message`` parts (issue 21: one loader, every problem in one message)."""
    with pytest.raises(IndicatorConfigError) as info:
        parse_indicator_config(data, "test.yaml")
    text = str(info.value)
    assert text.startswith("test.yaml: ")
    return text[len("test.yaml: "):].split("; ")


def test_eval2_shipped_config_loads_and_selects_by_tier_and_year():
    config = load_indicator_config()
    assert config.select("body", Tier.CITY, 2024).name == "body-standard"
    assert config.select("body", "township", 2025).name == "body-township"
    assert config.select("officer", Tier.TOWNSHIP, 2024).name == "officer-standard"
    township = config.set_named("body-township")
    assert "REVIEWER_STAFFING" not in [i.code for i in township.indicators]
    assert township.indicator("RECORD_COMPLETE").weight == 15
    with pytest.raises(LookupError, match="没有适用于"):
        config.select("body", Tier.CITY, 2020)


def test_eval2_weights_must_sum_to_100():
    data = _raw()
    data["indicator_sets"][0]["indicators"][0]["weight"] = 13
    errors = _errors(data)
    assert any(e.startswith("indicator_sets.0: weights of body-standard sum to 101, not 100") for e in errors)
    # the township set inherits the change, so it is reported too
    assert any(e.startswith("indicator_sets.1: weights of body-township sum to 101") for e in errors)


def test_eval2_unknown_fact_kind_is_named_with_its_place():
    data = _raw()
    data["indicator_sets"][0]["indicators"][0]["numerator"] = ["disclosure_in_time"]
    errors = _errors(data)
    assert "indicator_sets.0.indicators.0.numerator: unknown fact kind 'disclosure_in_time'" in errors


def test_eval2_curve_direction_method_and_key_errors():
    data = _raw()
    inds = data["indicator_sets"][0]["indicators"]
    inds[1]["curve"] = {"kind": "linear", "full_at": 0.9, "zero_at": 1}      # contradicts better: higher
    inds[2]["method"] = "median"
    inds[3]["wieght"] = 8                                                    # typo
    inds[7].pop("threshold")                                                 # per_officer_threshold needs it
    errors = "\n".join(_errors(data))
    assert "indicators.1.curve: direction contradicts better: higher (full_at=0.9, zero_at=1)" in errors
    assert "indicators.2.method: Must be one of: ratio, rate_per_100" in errors
    assert "indicators.3.wieght: Unknown field." in errors
    assert "indicators.7.threshold: per_officer_threshold needs a threshold" in errors


def test_eval2_vetoes_cutoffs_sets_and_extends_are_checked():
    data = _raw()
    data["grading"]["body"]["vetoes"][0]["fact_kind"] = "bypass"
    assert _errors(data) == ["grading.body.vetoes.0.fact_kind: unknown fact kind 'bypass'"]
    # the sets are resolved (extends, drop, weights, overlaps) once every field is valid
    data = _raw()
    data["grading"]["officer"]["pass_at"] = 95
    data["indicator_sets"][1]["drop"] = ["NO_SUCH"]
    data["indicator_sets"].append(dict(copy.deepcopy(data["indicator_sets"][2]), name="officer-copy"))
    data["indicator_sets"].append({"name": "x", "subject": "body", "tiers": ["county"], "years": {"from": 2030},
                                   "extends": "missing"})
    errors = "\n".join(_errors(data))
    assert "grading.officer: cut-offs must satisfy 0 <= pass_at < excellent_at <= 100" in errors
    assert "indicator_sets.1.drop: no indicator NO_SUCH to drop" in errors
    assert "indicator_sets: officer-standard and officer-copy both apply at city, county, province, township" in errors
    assert "indicator_sets.4.extends: no indicator set 'missing' defined before this one" in errors


def test_eval2_yaml_syntax_error_is_reported_with_the_file(tmp_path):
    bad = tmp_path / "indicators.yaml"
    bad.write_text("indicator_sets: [\n", encoding="utf-8")
    with pytest.raises(IndicatorConfigError, match=f"^{bad}: not valid YAML"):
        load_indicator_config(bad)


def test_eval1_evaluator_config_validation(tmp_path):
    assert load_evaluator_rules().dual_mode == "weighted"
    bad = tmp_path / "evaluators.yaml"
    bad.write_text("dual: {mode: both, weights: {superior_department: 60, government: 50}}\n", encoding="utf-8")
    with pytest.raises(EvaluatorConfigError) as info:
        load_evaluator_rules(bad)
    assert "dual.mode: Must be one of: weighted, primary." in str(info.value)
    assert "dual.weights: must sum to 100" in str(info.value)


def test_eval9_rules_config_validation():
    assert [r.code for r in load_rules()] == ["REPEATED_INSPECTION", "FINE_JUST_BELOW_REVIEW_THRESHOLD", "OVERDUE_STEP"]
    with pytest.raises(RuleConfigError) as info:
        parse_rules({"rules": [
            {"code": "R1", "name": "x", "kind": "repeated_inspection", "window_days": 0, "max_count": 2},
            {"code": "R2", "name": "y", "kind": "overdue_step", "fact_kinds": ["late_thing"]},
            {"code": "R3", "name": "z", "kind": "magic"},
        ]})
    text = str(info.value)
    assert "rules.0.window_days: Must be greater than or equal to 1." in text
    assert "rules.1.fact_kinds: unknown fact kind 'late_thing'" in text
    assert "rules.2.kind: Must be one of: repeated_inspection, just_below_threshold, overdue_step." in text


def test_eval2_docs_list_every_indicator_with_its_weight():
    """docs/evaluation-rules.md carries the indicator table; keep it in step with the YAML."""
    docs = (ROOT / "docs" / "evaluation-rules.md").read_text(encoding="utf-8")
    config = load_indicator_config()
    for s in config.sets:
        for ind in s.indicators:
            if s.name == "body-township":
                continue
            row = next((line for line in docs.splitlines() if line.startswith(f"| {ind.code} |")), None)
            assert row is not None, ind.code
            assert f"| {ind.name} |" in row and row.rstrip().endswith(f"| {ind.weight} |"), row
