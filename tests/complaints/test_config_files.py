"""Issue 21 (CMP-1, CMP-2, CMP-3, CMP-8, CMP-9): every configuration file of the complaints service is read
at start-up (services/complaints/configuration.py:load_all, the ConfigFiles dependency of ComplaintsService);
a broken copy (unknown key, wrong type) stops it with ``file: key.path: message``."""
import pytest

from services.common import settings
from services.complaints import configuration
from tests.config_support import UNKNOWN, assert_refused, broken_copy, cases

CONFIG = settings.ROOT / "config"

SPOILS = cases({
    "complaints/acceptance.yaml": [
        (("min_facts_chars",), "十", "min_facts_chars", "Not a valid integer."),
        (("out_of_scope", 1, "keywords"), "欠款", "out_of_scope.1.keywords", "Not a valid list."),
        (("out_of_scope", 1, "code"), "criminal", "out_of_scope", "duplicate codes"),
        (("messages", "no_phone"), "x", "messages.no_phone", UNKNOWN)],
    "complaints/routing.yaml": [
        (("rules", "department", "levels_up"), 4, "rules.department.levels_up", "Must be greater than or equal"),
        (("rules", "department", "description"), "{city}", "rules.department.description", "may use only"),
        (("legal_office_tiers",), ["city"], "legal_office_tiers", "must include province"),
        (("rules", "department", "via"), "x", "rules.department.via", UNKNOWN)],
    "complaints/channels.yaml": [
        (("regions", "320400", "email"), "zfjd", "regions.320400.email", "Not a valid email address."),
        (("regions", "320400", "hotlines"), "12345", "regions.320400.hotlines", "Not a valid list."),
        (("regions", "3204"), {"scope": "x"}, "regions.3204", "not an administrative division code"),
        (("regions", "320412", "wechat"), "x", "regions.320412.wechat", UNKNOWN)],
    "complaints/deadlines.yaml": [
        (("escalation_step_working_days",), "5天", "escalation_step_working_days", "Not a valid integer."),
        (("red_within_working_days",), 0, "red_within_working_days", UNKNOWN)],
    "complaints/duplicates.yaml": [
        (("threshold",), 1.5, "threshold", "Must be greater than 0 and less than or equal to 1."),
        (("window_days",), "30d", "window_days", "Not a valid integer."),
        (("same_phone",), True, "same_phone", UNKNOWN)],
    "attachments.yaml": [(("attachments", "max_files"), "五", "attachments.max_files", "Not a valid integer.")],
    "periods.yaml": [(("complaint.handle", "unit"), "weeks", "complaint.handle.unit", "Must be one of")],
})


def test_the_shipped_files_load():
    loaded = configuration.load_all(CONFIG)
    assert loaded.channels.regions and loaded.routing.rules["department"].target == "government_legal_office"


@pytest.mark.parametrize("name, keys, value, key_path, message", SPOILS)
def test_a_broken_file_stops_start_up_with_file_and_key_path(tmp_path, name, keys, value, key_path, message):
    root = broken_copy(CONFIG, tmp_path, name, keys, value)
    assert_refused(lambda: configuration.load_all(root), root / name, key_path, message)
