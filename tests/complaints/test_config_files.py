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


# --- CMP-9, issue 16: deadlines.yaml is the rule in force, not a copy of the defaults ---------------------

@pytest.fixture
def complaints_with(tmp_path, monkeypatch):
    """The complaints service's RPCs on a migrated SQLite database, started (``load_all``, as ConfigFiles
    does at start-up) on a copy of config/ with ``deadlines.yaml`` changed; the shipped rules are put back."""
    import threading
    from types import SimpleNamespace

    from nameko.testing.services import worker_factory

    from services.common.db import DatabaseAccess, make_engine
    from services.common.migrations import upgrade
    from services.complaints.service import ComplaintsService
    from tests.config_support import spoil

    url = f"sqlite:///{tmp_path / 'complaints.db'}"
    upgrade("complaints", url)
    engine = make_engine(url)
    provider = SimpleNamespace(engine=engine, service_name="complaints", case_ownership=False,
                               outbox_nudge=threading.Event())

    def start(**values):
        root = broken_copy(CONFIG, tmp_path, "complaints/deadlines.yaml", ("yellow_within_working_days",),
                           values.get("yellow_within_working_days", 1))
        for key, value in values.items():
            spoil(root / "complaints" / "deadlines.yaml", (key,), value)
        return configuration.load_all(root)

    def call(method, *args, clock):
        monkeypatch.setenv("ZHIFA_CLOCK", clock)
        worker = worker_factory(ComplaintsService, db=DatabaseAccess(provider, f"complaints.{method}"))
        return getattr(worker, method)(*args)

    yield SimpleNamespace(start=start, call=call)
    configuration.load_all(CONFIG)
    engine.dispose()


def _register(service, received: str) -> str:
    from tests.complaints.helpers import ADDRESS, ID_NUMBER, NAME, PHONE

    form = {"channel": "letter", "region_code": "320412", "body_id": "320412-SCJG", "name": NAME, "phone": PHONE,
            "id_number": ID_NUMBER, "address": ADDRESS, "request": "请求查处执法人员不出示证件的行为",
            "facts": "2026年执法人员检查我店时未出示执法证件。", "received_at": received}
    return service.call("register_by_staff", {"region_code": "320400", "bodies": "*"}, "handler-zhang", form,
                        clock=received)["number"]


@pytest.mark.parametrize("yellow_within, expected", [(1, "none"), (3, "yellow")])
def test_cmp9_issue16_yellow_warning_follows_deadlines_yaml(complaints_with, yellow_within, expected):
    """CMP-9, issue 16: ``yellow_within_working_days`` in deadlines.yaml decides the handler's warning. Received
    Mon 2026-11-02, told by Mon 11-09; on Thu 11-05 two working days are left — yellow only with 3 (the shipped
    value is 1, the domain's default too: with the file ignored, 3 would still give none)."""
    complaints_with.start(yellow_within_working_days=yellow_within)
    number = _register(complaints_with, "2026-11-02T10:00:00+08:00")
    view = complaints_with.call("get_complaint", {"region_code": "320400", "bodies": "*"}, number,
                                clock="2026-11-05T10:00:00+08:00")
    assert view["acknowledge"]["due"] == "2026-11-09"
    assert view["warning_level"] == expected


@pytest.mark.parametrize("step, levels", [(5, [1]), (1, [1, 2])])
def test_cmp9_issue16_escalation_step_follows_deadlines_yaml(complaints_with, step, levels):
    """CMP-9, issue 16: ``escalation_step_working_days`` in deadlines.yaml spaces the escalations of the sweep
    (逐级上报). Past its 11-09 deadline the complaint goes to the city on 11-10; to the province one step
    later — by Thu 11-12 only if the step is 1 working day (shipped and default: 5)."""
    complaints_with.start(escalation_step_working_days=step)
    number = _register(complaints_with, "2026-11-02T10:00:00+08:00")
    assert complaints_with.call("run_deadline_sweep", clock="2026-11-12T10:00:00+08:00")["ran"] is True
    view = complaints_with.call("get_complaint", {"region_code": "320400", "bodies": "*"}, number,
                                clock="2026-11-12T10:00:00+08:00")
    escalated = [e for e in view["history"] if e["kind"] == "escalated"]
    assert [e["data"]["level"] for e in escalated] == levels, escalated
