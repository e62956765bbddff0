"""Issue 21, PLAT-6: the suite-wide configuration files (config/periods.yaml, config/federation.yaml, a
calendar override config/calendar/<year>.yaml, the departmental systems' api_keys.yaml) are read by one
loader: a broken copy (unknown key, wrong type) is refused with ``file: key.path: message``."""
import shutil

import pytest

from services.common import auth, federation, periods, settings, workdays
from services.common.configfile import ConfigFileError, load_config_file
from tests.config_support import UNKNOWN, assert_refused, spoil

CONFIG = settings.ROOT / "config"
YEAR = "year: 2027\nsource: 国办发明电〔2026〕1号\nholidays: [2027-01-01]\nadjusted_workdays: [2027-02-07]\n"
SYSTEM = [{"system": "wj-scjg", "region_code": "320412", "body_ids": ["320412-SCJG"], "key_sha256": "0" * 64}]


def _periods(path):
    return periods.load_periods.__wrapped__(str(path))


def _override(path):
    return workdays.load_override_file(path)


@pytest.mark.parametrize("name, load, keys, value, key_path, message", [
    ("periods.yaml", _periods, ("review.task", "value"), "five", "review.task.value", "Not a valid integer."),
    ("periods.yaml", _periods, ("review.task", "unit"), "weeks", "review.task.unit", "Must be one of"),
    ("periods.yaml", _periods, ("review.task", "extra"), 1, "review.task.extra", UNKNOWN),
    ("federation.yaml", federation.load_links, ("upward", "records"), "record.gaps_found", "upward.records",
     "Not a valid list."),
    ("federation.yaml", federation.load_links, ("sideways",), {}, "sideways", UNKNOWN),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_broken_suite_file_is_refused_with_file_and_key_path(tmp_path, name, load, keys, value, key_path,
                                                               message):
    path = shutil.copy(CONFIG / name, tmp_path / name)
    load(path)   # the shipped file loads
    spoil(tmp_path / name, keys, value)
    assert_refused(lambda: load(tmp_path / name), tmp_path / name, key_path, message)


@pytest.mark.parametrize("keys, value, key_path, message", [
    (("year",), "2027年", "year", "Not a valid integer."),
    (("holidays", 0), "2026-01-01", "holidays", "dates outside 2027: 2026-01-01"),
    (("adjusted_workdays", 0), "七日", "adjusted_workdays.0", "Not a valid date."),
    (("note",), "x", "note", UNKNOWN),
])
def test_plat6_a_broken_calendar_override_is_refused(tmp_path, keys, value, key_path, message):
    path = tmp_path / "2027.yaml"
    path.write_text(YEAR, encoding="utf-8")
    assert _override(path).source == "国办发明电〔2026〕1号"
    spoil(path, keys, value)
    assert_refused(lambda: _override(path), path, key_path, message)
    with pytest.raises(ConfigFileError):   # the calendar directory loads every override at start-up
        workdays.WorkingDayCalendar.load(tmp_path)


@pytest.mark.parametrize("keys, value, key_path, message", [
    ((0, "region_code"), 320412, "0.region_code", "Not a valid string."),
    ((0, "region_code"), "3204", "0.region_code", "Not an administrative division code"),
    ((0, "key_sha256"), "secret", "0.key_sha256", "String does not match expected pattern."),
    ((0, "role"), "admin", "0.role", UNKNOWN),
])
def test_sec1_a_broken_api_keys_file_is_refused(tmp_path, keys, value, key_path, message):
    import yaml

    path = tmp_path / "api_keys.yaml"
    path.write_text(yaml.safe_dump(SYSTEM), encoding="utf-8")
    assert auth.load_department_systems(path).by_key["0" * 64].region_code == "320412"
    spoil(path, keys, value)
    assert_refused(lambda: auth.load_department_systems(path), path, key_path, message)


def test_a_list_where_a_mapping_belongs_and_a_mapping_where_a_list_belongs(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"\(top level\): must be a list, not dict"):
        auth.load_department_systems(path)
    path.write_text("- 1\n", encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"\(top level\): must be a mapping, not list"):
        load_config_file(path, periods.PERIODS_FILE)


@pytest.mark.parametrize("module", ["services.gateway.configuration", "services.records.config",
                                    "services.review.configuration", "services.disclosure.configuration",
                                    "services.complaints.configuration", "services.evaluation.configuration"])
def test_sec1_a_broken_api_keys_file_stops_every_service_that_takes_departmental_events(tmp_path, module):
    """api_keys.yaml (ZHIFA_API_KEYS_FILE) says which broker user speaks for which system: every service
    reads it at start-up, so a broken one stops the service rather than the first department event."""
    import importlib

    import yaml
    from nameko import config

    path = tmp_path / "api_keys.yaml"
    path.write_text(yaml.safe_dump([dict(SYSTEM[0], body_ids="320412-SCJG")]), encoding="utf-8")
    load_all = importlib.import_module(module).load_all
    with config.patch({"ZHIFA_API_KEYS_FILE": str(path)}, clear=False):
        assert_refused(lambda: load_all(CONFIG), path, "0.body_ids", "Not a valid list.")
