"""Issue 21 (REC-1, REC-2, REC-3, REC-7, REC-8): every configuration file of the records service is read at start-up
(services/records/config.py:load_all, the ConfigFiles dependency of RecordsService); a broken copy (unknown
key, wrong type, a reference to nothing) stops it with ``file: key.path: message``."""
import pytest

from services.common import settings
from services.records import config
from tests.config_support import UNKNOWN, assert_refused, broken_copy, cases

CONFIG = settings.ROOT / "config"

SPOILS = cases({
    "records/completeness.yaml": [
        (("version",), 2, "version", "unsupported version"),
        (("measures", "Seizure"), "查封", "measures.Seizure", "code must be snake_case"),
        (("action_types", "penalty", "items", 0, "severity"), "fatal", "action_types.penalty.items.0.severity",
         "Must be one of"),
        (("action_types", "penalty", "items", 0, "condition"), "when_measure:teleport",
         "action_types.penalty.items.0.condition", "condition 'when_measure:teleport' names unknown code"),
        (("audio_visual", "full_process", "kinds"), ["video", "hologram"], "audio_visual.full_process.kinds",
         "not record kinds"),
        (("audio_visual", "full_process", "measures", "seizure"), "investigation",
         "audio_visual.full_process.measures.seizure", "Not a valid list."),
        (("action_types", "permit", "items", 0, "deadline"), 5, "action_types.permit.items.0.deadline", UNKNOWN)],
    "records/retention.yaml": [
        (("personal_data", "default_years"), "thirty", "personal_data.default_years", "Not a valid number."),
        (("personal_data", "by_action_type", "penalty"), -1, "personal_data.by_action_type.penalty",
         "Must be greater than or equal to 0."),
        (("personal_data", "photos"), 3, "personal_data.photos", UNKNOWN)],
    # REC-7 (issue 18): the case-file review's sample size and score sheet
    "records/case_file_review.yaml": [
        (("sampling", "per_body"), 0, "sampling.per_body", "Must be greater than or equal to 1"),
        (("criteria", 0, "points"), "ten", "criteria.0.points", "Not a valid integer."),
        (("criteria", 4, "action_types"), ["fining"], "criteria.4.action_types.0", "Must be one of"),
        (("sampling", "rate"), 0.1, "sampling.rate", UNKNOWN)],
})


def test_the_shipped_files_load():
    loaded = config.load_all(CONFIG)
    assert "penalty" in loaded.completeness.action_types and loaded.retention["default_years"] > 0
    assert loaded.case_file_review.per_body >= 1 and loaded.case_file_review.sheet("penalty")


@pytest.mark.parametrize("name, keys, value, key_path, message", SPOILS)
def test_a_broken_file_stops_start_up_with_file_and_key_path(tmp_path, name, keys, value, key_path, message):
    root = broken_copy(CONFIG, tmp_path, name, keys, value)
    assert_refused(lambda: config.load_all(root), root / name, key_path, message)
