"""Issue 21 (REV-1, REV-5, REV-8, COORD-3): every configuration file of the review service is read at start-up
(services/review/configuration.py:load_all, the ConfigFiles dependency of ReviewService); a broken copy
(unknown key, wrong type) stops it with ``file: key.path: message``."""
import pytest

from services.common import settings
from services.review import configuration
from tests.config_support import UNKNOWN, assert_refused, broken_copy, cases

CONFIG = settings.ROOT / "config"

SPOILS = cases({
    "review/catalogue.yaml": [
        (("default", "rules", 0, "kind"), "size", "default.rules.0.kind", "Must be one of"),
        (("default", "rules", 0, "thresholds", "natural"), "一万", "default.rules.0.thresholds.natural",
         "threshold must be a positive number of yuan"),
        (("default", "rules", 0, "measures"), ["order_closure"], "default.rules.0.measures",
         "not a key of a rule of kind 'amount'"),
        (("default", "sign_off"), "yes", "default.sign_off", "expected true or false"),
        (("default", "owner"), "x", "default.owner", UNKNOWN)],
    "review/checklist.yaml": [
        (("min_certified_officers",), "two", "min_certified_officers", "Not a valid integer."),
        (("criminal_transfer", "fields", "transport", "basis"), "gross", "criminal_transfer.fields.transport.basis",
         "Must be one of"),
        (("criminal_transfer", "fields", "transport", "notes"), "x", "criminal_transfer.fields.transport.notes",
         UNKNOWN)],
    "review/review.yaml": [
        (("task", "warn_working_days"), "one", "task.warn_working_days", "Not a valid integer."),
        (("task", "period"), "review.forever", "task.period", "no statutory period 'review.forever'"),
        (("staffing", "ratio"), 0.05, "staffing.ratio", UNKNOWN)],
    "review/benchmarks.yaml": [
        (("matters", "SAMPLE-DQ-099-1", "statutory_range", "max"), "一百万",
         "matters.SAMPLE-DQ-099-1.statutory_range.max", "expected a non-negative number of yuan"),
        (("matters", "SAMPLE-DQ-099-1", "articles"), "第十九条", "matters.SAMPLE-DQ-099-1.articles",
         "Not a valid list."),
        (("matters", "SAMPLE-DQ-099-1", "penalty"), 1, "matters.SAMPLE-DQ-099-1.penalty", UNKNOWN)],
    "periods.yaml": [(("review.task", "value"), "五", "review.task.value", "Not a valid integer.")],
})


def test_the_shipped_files_load():
    loaded = configuration.load_all(CONFIG)
    assert loaded.catalogue.default.rules and loaded.benchmarks and loaded.settings.min_own_reviewers >= 1


@pytest.mark.parametrize("name, keys, value, key_path, message", SPOILS)
def test_a_broken_file_stops_start_up_with_file_and_key_path(tmp_path, name, keys, value, key_path, message):
    root = broken_copy(CONFIG, tmp_path, name, keys, value)
    assert_refused(lambda: configuration.load_all(root), root / name, key_path, message)
