"""Issue 21 (DISC-3, DISC-4, DISC-5, DISC-7): every configuration file of the disclosure service is read at
start-up (services/disclosure/configuration.py:load_all, the ConfigFiles dependency of DisclosureService);
a broken copy (unknown key, wrong type) stops it with ``file: key.path: message``."""
import pytest

from services.common import settings
from services.disclosure import configuration
from tests.config_support import UNKNOWN, assert_refused, broken_copy, cases

CONFIG = settings.ROOT / "config"

SPOILS = cases({
    "disclosure/service.yaml": [
        (("annual_report_from_day",), "五", "annual_report_from_day", "Not a valid integer."),
        (("public_base_url",), "https://x.example", "public_base_url", UNKNOWN)],
    "disclosure/redaction.yaml": [
        (("masks", "mobile", "keep_head"), "3", "masks.mobile.keep_head", "Not a valid integer."),
        (("masks", "resident_id", "keep_tail"), 6, "masks.resident_id", "keeps too much"),
        (("role_labels",), "当事人", "role_labels", "Not a valid list."),
        (("notices", "minor"), "x", "notices.minor", UNKNOWN)],
    "disclosure/conclusion_types.yaml": [
        (("penalty", 2, "keywords"), "罚款", "penalty.2.keywords", "Not a valid list."),
        (("permit", "maybe"), ["可能"], "permit.maybe", UNKNOWN)],
    "disclosure/random_inspection.yaml": [
        (("min_inspectors_per_target",), 1, "min_inspectors_per_target", "Must be greater than or equal to 2."),
        (("outcomes", "refused"), ["不配合"], "outcomes.refused", "Not a valid string."),
        (("seed",), 1, "seed", UNKNOWN)],
    "periods.yaml": [(("disclosure.penalty", "value"), "七", "disclosure.penalty.value", "Not a valid integer.")],
})


def test_the_shipped_files_load():
    loaded = configuration.load_all(CONFIG)
    assert loaded.inspections.min_inspectors_per_target >= 2 and loaded.settings["annual_report_from_day"]


@pytest.mark.parametrize("name, keys, value, key_path, message", SPOILS)
def test_a_broken_file_stops_start_up_with_file_and_key_path(tmp_path, name, keys, value, key_path, message):
    root = broken_copy(CONFIG, tmp_path, name, keys, value)
    assert_refused(lambda: configuration.load_all(root), root / name, key_path, message)
