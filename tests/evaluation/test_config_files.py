"""Issue 21 (EVAL-1, EVAL-2, EVAL-9, COORD-4): every configuration file of the evaluation service is read at
start-up (services/evaluation/configuration.py:load_all, the ConfigFiles dependency of EvaluationService);
a broken copy (unknown key, wrong type, a reference to nothing) stops it with ``file: key.path: message``."""
import pytest

from services.common import settings
from services.evaluation import configuration
from tests.config_support import UNKNOWN, assert_refused, broken_copy, cases

CONFIG = settings.ROOT / "config"

SPOILS = cases({
    "evaluation/indicators.yaml": [
        (("indicator_sets", 0, "indicators", 0, "weight"), "twelve", "indicator_sets.0.indicators.0.weight",
         "Not a valid number"),
        (("indicator_sets", 0, "indicators", 0, "numerator"), ["disclosure_in_time"],
         "indicator_sets.0.indicators.0.numerator", "unknown fact kind 'disclosure_in_time'"),
        (("indicator_sets", 0, "indicators", 0, "weight"), 13, "indicator_sets.0",
         "weights of body-standard sum to 101, not 100"),
        (("grading", "body", "vetoes", 0, "effect"), "ban", "grading.body.vetoes.0.effect", "Must be one of"),
        (("consequences", "publish_days"), 5, "consequences.publish_days", UNKNOWN)],
    "evaluation/evaluators.yaml": [
        (("dual", "weights", "government"), "half", "dual.weights.government", "Not a valid number"),
        (("dual", "weights", "government"), 60, "dual.weights", "must sum to 100"),
        (("vertical", "veto"), True, "vertical.veto", UNKNOWN)],
    "evaluation/supervision.yaml": [
        (("working_days", "suggestion"), "15天", "working_days.suggestion", "Not a valid integer."),
        (("working_days", "inquiry"), 10, "working_days.inquiry", UNKNOWN)],
    "evaluation/rules.yaml": [
        (("rules", 0, "window_days"), "30d", "rules.0.window_days", "Not a valid integer."),
        (("rules", 2, "fact_kinds"), ["late_thing"], "rules.2.fact_kinds", "unknown fact kind 'late_thing'"),
        (("rules", 1, "window_days"), 30, "rules.1.window_days", "not a parameter of a just_below_threshold rule"),
        (("rules", 0, "severity"), "high", "rules.0.severity", UNKNOWN)],
    "federation.yaml": [(("upward", "evaluation"), "evaluation.grade_finalised", "upward.evaluation",
                         "Not a valid list.")],
    "periods.yaml": [(("complaint.handle", "value"), "三十", "complaint.handle.value", "Not a valid integer.")],
})


def test_the_shipped_files_load():
    loaded = configuration.load_all(CONFIG)
    assert loaded.indicators.sets and loaded.rules and loaded.links["upward"]


@pytest.mark.parametrize("name, keys, value, key_path, message", SPOILS)
def test_a_broken_file_stops_start_up_with_file_and_key_path(tmp_path, name, keys, value, key_path, message):
    root = broken_copy(CONFIG, tmp_path, name, keys, value)
    assert_refused(lambda: configuration.load_all(root), root / name, key_path, message)
