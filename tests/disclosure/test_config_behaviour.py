"""Issue 16: disclosure's configuration files are read by production code — a value changed away from the
shipped one changes what the service does. Each test copies ``config/disclosure``, changes one value, points
the service at the copy the way production finds its files (the module paths ``DEFAULT_REDACTION_FILE``,
``DEFAULT_CONCLUSION_FILE``, ``SERVICE_FILE``, ``DEFAULT_INSPECTION_FILE``) and goes through disclosure's REAL
handler, RPCs and jobs (``tests/handlers.py``, a migrated SQLite database, ``ZHIFA_CLOCK``). Each is
parametrised with the shipped value too, so it cannot pass by the changed value equalling a default."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import settings
from services.common.db import DatabaseAccess, make_engine
from services.common.migrations import upgrade
from services.disclosure import settings as service_file
from services.disclosure.domain import conclusions, random_inspection, redaction
from services.disclosure.models import Publication
from services.disclosure.service import DisclosureService
from tests.config_support import spoil
from tests.handlers import Deliverer
from tests.integration import events as ev

CONFIG = settings.ROOT / "config"
CHINA = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def disclosure(tmp_path, monkeypatch):
    copy = tmp_path / "disclosure"
    shutil.copytree(CONFIG / "disclosure", copy)
    monkeypatch.setattr(redaction, "DEFAULT_REDACTION_FILE", copy / "redaction.yaml")
    monkeypatch.setattr(conclusions, "DEFAULT_CONCLUSION_FILE", copy / "conclusion_types.yaml")
    monkeypatch.setattr(service_file, "SERVICE_FILE", copy / "service.yaml")
    monkeypatch.setattr(random_inspection, "DEFAULT_INSPECTION_FILE", copy / "random_inspection.yaml")
    service_file.service_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'disclosure.db'}"
    upgrade("disclosure", url)
    engine = make_engine(url)
    deliverer = Deliverer(DisclosureService, engine)

    def call(method, *args, clock):
        monkeypatch.setenv("ZHIFA_CLOCK", clock)
        worker = worker_factory(DisclosureService, db=DatabaseAccess(deliverer.provider, f"disclosure.{method}"))
        return getattr(worker, method)(*args)

    def publication(case_id):
        with Session(engine) as session:
            return session.scalars(select(Publication).where(Publication.case_id == case_id)).one()

    deliverer.call, deliverer.publication = call, publication
    deliverer.change = lambda name, keys, value: spoil(copy / name, keys, value)
    yield deliverer
    monkeypatch.undo()
    service_file.service_settings.cache_clear()
    engine.dispose()


@pytest.mark.parametrize("keep_head, shown", [(3, "139****5678"), (0, "*******5678")])
def test_issue16_redaction_yaml_masks_the_published_phone_number(disclosure, keep_head, shown):
    """redaction.yaml ``masks.mobile.keep_head`` (DISC-4): the phone in the published facts keeps the file's
    number of leading digits (3 shipped)."""
    disclosure.change("redaction.yaml", ("masks", "mobile", "keep_head"), keep_head)
    case_id = f"320412-SCJG-2026-RD{keep_head}"
    assert disclosure.deliver(ev.decision_made(case_id)).outcome == "applied"
    row = disclosure.publication(case_id)
    assert row.status == "published" and shown in row.facts_public, row.facts_public
    assert "13912345678" not in row.facts_public


@pytest.mark.parametrize("label", ["罚款", "罚款（金钱罚）"])
def test_issue16_conclusion_types_yaml_names_the_published_conclusion_type(disclosure, label):
    """conclusion_types.yaml (DISC-3): a fine's published 处理结果类型 is the file's name for 罚款."""
    disclosure.change("conclusion_types.yaml", ("penalty", 2, "type"), label)
    case_id = "320412-SCJG-2026-CT" + str(len(label))
    assert disclosure.deliver(ev.decision_made(case_id, party=ev.legal_party())).outcome == "applied"
    assert label in disclosure.publication(case_id).conclusion_type.split("、")


@pytest.mark.parametrize("from_day, generated", [(5, False), (2, True)])
def test_issue16_service_yaml_sets_the_day_annual_reports_are_generated(disclosure, from_day, generated):
    """service.yaml ``annual_report_from_day`` (DISC-7): on 3 January the reports on last year are generated
    only if the file says from the 2nd (5th shipped)."""
    disclosure.change("service.yaml", ("annual_report_from_day",), from_day)
    service_file.service_settings.cache_clear()
    body = ev.envelope("body.registered", {"body_id": "320412-SCJG", "name": "常州市武进区市场监督管理局",
                                           "kind": "department", "region_code": "320412"}, None)
    assert disclosure.deliver(body).outcome == "applied"
    done = disclosure.call("run_annual_reports", clock="2027-01-03T10:00:00+08:00")
    assert ("320412-SCJG" in done) is generated, done


@pytest.mark.parametrize("minimum, announced", [(2, True), (3, False)])
def test_issue16_random_inspection_yaml_sets_the_inspectors_a_draw_needs(disclosure, minimum, announced):
    """random_inspection.yaml ``min_inspectors_per_target`` (DISC-8, 双随机): a draw sending two inspectors to
    each target is announced at the shipped 2, refused when the file asks for 3."""
    disclosure.change("random_inspection.yaml", ("min_inspectors_per_target",), minimum)
    body = ev.envelope("body.registered", {"body_id": "320412-SCJG", "name": "常州市武进区市场监督管理局",
                                           "kind": "department", "region_code": "320412"}, None)
    assert disclosure.deliver(body).outcome == "applied"
    targets = [{"target_id": f"91320412MA1X2Y3B{n}X", "name": f"常州市测试企业{n}有限公司"} for n in range(4)]
    data = {"draw_id": f"SJ-320412-2026-12-00{minimum}", "matter": "食品经营者监督检查", "targets": targets,
            "inspectors": ["ZF-001", "ZF-002", "ZF-003", "ZF-004"], "target_count": 2, "inspectors_per_target": 2,
            "public_value_source": "2026年12月20日中国福利彩票双色球开奖号码", "public_value_on": "2026-12-20"}
    answer = disclosure.call("announce_draw", "320412-SCJG", data, "staff-1", {"region_code": "320412", "bodies": "*"},
                             clock="2026-12-03T10:00:00+08:00")
    assert ("error" not in answer) is announced, answer
    if not announced:
        assert f"至少选派{minimum}名" in answer["message"], answer
