"""Issue 16: every complaints configuration file is read by production code — a value changed away from the
shipped one changes what the service does. Each test copies ``config/complaints`` (and ``periods.yaml``),
changes one value, points the service at the copy the way production finds its files (the rules directory
``services/complaints/domain/config.CONFIG_DIR``; ``ZHIFA_PERIODS_FILE``) and goes through the complaints
service's REAL RPCs on a migrated SQLite database. Each is parametrised with the shipped value too, so it
cannot pass by the changed value equalling a default. (deadlines.yaml: tests/complaints/test_config_files.py.)"""
from __future__ import annotations

import shutil
import threading
from types import SimpleNamespace

import pytest
from nameko.testing.services import worker_factory

from services.common import periods, settings
from services.common.db import DatabaseAccess, make_engine
from services.common.migrations import upgrade
from services.complaints.domain import config as rules_dir
from services.complaints.service import ComplaintsService
from tests.complaints.helpers import ADDRESS, ID_NUMBER, NAME, PHONE
from tests.config_support import spoil

CONFIG = settings.ROOT / "config"
HANDLER = {"region_code": "320400", "bodies": "*"}
RECEIVED = "2026-11-02T10:00:00+08:00"      # a Monday


@pytest.fixture
def service(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'complaints.db'}"
    upgrade("complaints", url)
    engine = make_engine(url)
    provider = SimpleNamespace(engine=engine, service_name="complaints", case_ownership=False,
                               outbox_nudge=threading.Event())
    copy = tmp_path / "complaints"
    shutil.copytree(CONFIG / "complaints", copy)
    monkeypatch.setattr(rules_dir, "CONFIG_DIR", copy)

    def change(name, keys, value):
        if name == "periods.yaml":
            path = shutil.copy(CONFIG / "periods.yaml", tmp_path / "periods.yaml")
            monkeypatch.setenv("ZHIFA_PERIODS_FILE", str(path))
            periods.load_periods.cache_clear()
        else:
            path = copy / name
        spoil(path, keys, value)

    def call(method, *args, clock=RECEIVED):
        monkeypatch.setenv("ZHIFA_CLOCK", clock)
        worker = worker_factory(ComplaintsService, db=DatabaseAccess(provider, f"complaints.{method}"))
        return getattr(worker, method)(*args)

    def register(request="请求查处执法人员不出示证件的行为", facts="2026年执法人员检查我店时未出示执法证件。", **over):
        form = {"channel": "letter", "region_code": "320412", "body_id": "320412-SCJG", "name": NAME,
                "phone": PHONE, "id_number": ID_NUMBER, "address": ADDRESS, "request": request, "facts": facts,
                "received_at": RECEIVED, **over}
        number = call("register_by_staff", HANDLER, "handler-zhang", form)["number"]
        return call("get_complaint", HANDLER, number)

    yield SimpleNamespace(change=change, call=call, register=register)
    monkeypatch.undo()
    periods.load_periods.cache_clear()
    engine.dispose()


@pytest.mark.parametrize("days, due", [(5, "2026-11-09"), (3, "2026-11-05")])
def test_issue16_periods_yaml_sets_the_acknowledgement_deadline(service, days, due):
    """periods.yaml ``complaint.acknowledge`` (CMP-3, PLAT-6): 5 working days shipped; 3 after an edit."""
    service.change("periods.yaml", ("complaint.acknowledge", "value"), days)
    assert service.register()["acknowledge"]["due"] == due


@pytest.mark.parametrize("threshold, linked", [(0.6, True), (0.95, False)])
def test_issue16_duplicates_yaml_decides_which_complaint_is_a_duplicate(service, threshold, linked):
    """duplicates.yaml ``threshold`` (CMP-2): a second complaint with a reworded request is linked to the first
    at the shipped 0.6, not when the similarity asked for is 0.95."""
    service.change("duplicates.yaml", ("threshold",), threshold)
    first = service.register(request="请求查处执法人员检查时不出示执法证件的行为")
    second = service.register(request="请求查处执法人员检查时不出示执法证件的违法行为")
    assert (second["linked_to"] == first["register_number"]) is linked, second["linked_to"]


@pytest.mark.parametrize("min_chars, concrete", [(10, True), (60, False)])
def test_issue16_acceptance_yaml_decides_whether_the_facts_are_concrete(service, min_chars, concrete):
    """acceptance.yaml ``min_facts_chars`` (CMP-3, CMP-4): the same facts are concrete at the shipped 10
    characters, not when 60 are asked for (the assessment tells the handler why)."""
    service.change("acceptance.yaml", ("min_facts_chars",), min_chars)
    assessment = service.register()["assessment"]
    reasons = " ".join(str(r) for r in assessment.get("reasons") or ())
    assert ("事实和理由" not in reasons) is concrete, assessment


@pytest.mark.parametrize("email", ["zfjd@sft.jiangsu.example", "jiandu@sft.jiangsu.example"])
def test_issue16_channels_yaml_is_what_the_portal_publishes(service, email):
    """channels.yaml (CMP-1): the published e-mail of the province is the file's."""
    service.change("channels.yaml", ("regions", "320000", "email"), email)
    assert service.call("channels", "320000")["email"] == email


@pytest.mark.parametrize("description", ["投诉涉及行政执法部门的执法行为，由同级人民政府司法行政部门（地区代码{region}）办理",
                                         "由{region}司法局执法监督科办理"])
def test_issue16_routing_yaml_is_the_route_a_handler_is_shown(service, description):
    """routing.yaml (CMP-8): the route recorded at acceptance is described by the file's text."""
    service.change("routing.yaml", ("rules", "department", "description"), description)
    number = service.register()["register_number"]
    accepted = service.call("accept", HANDLER, number, "handler-zhang", clock="2026-11-03T10:00:00+08:00")
    assert accepted["route"]["description"] == description.format(region="320412", body="320412-SCJG"), accepted
