"""DISC-7 (issue 18): the annual report is received by the body's government and superior department —
in the city suite's register, or at the province over the upward link when the superior is a provincial
department — each acknowledges it (签收), the acknowledgement comes back (over the downward link from the
province), and the public page says 已签收 only for a recipient that acknowledged. Through disclosure's
REAL handlers on two migrated SQLite databases (a city suite 320400 and its province 320000), events
carried between them as the federation links would; every arrival order ends in the same state."""
from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import DatabaseAccess, make_engine
from services.common.migrations import upgrade
from services.common.outbox import OutboxMessage
from services.common.scope import Scope
from services.disclosure.models import AnnualReportReceipt
from services.disclosure.service import DisclosureService
from services.gateway import pages
from tests.disclosure import events as dev
from tests.handlers import Deliverer

COUNTY_BODY = {"region_code": "320412", "body_id": "320412-SCJG", "system": "wj-scjg"}     # superior: city bureau
CITY_BODY = {"region_code": "320400", "body_id": "320400-SCJG", "system": "cz-scjg"}       # superior: province
CLOCK = "2026-01-12T10:00:00+08:00"
CITY = {"ZHIFA_TIER": "city", "ZHIFA_SUITE_REGION": "320400", "ZHIFA_CITIES": ""}
PROVINCE = {"ZHIFA_TIER": "province", "ZHIFA_SUITE_REGION": "320000", "ZHIFA_CITIES": "320400"}


class SuiteDb:
    def __init__(self, tmp_path, name, env, monkeypatch):
        self.env, self.monkeypatch = env, monkeypatch
        url = f"sqlite:///{tmp_path / f'{name}.db'}"
        upgrade("disclosure", url)
        self.engine = make_engine(url)
        self.deliverer = Deliverer(DisclosureService, self.engine)

    def _as(self):
        for k, v in {**self.env, "ZHIFA_CLOCK": CLOCK}.items():
            self.monkeypatch.setenv(k, v)

    def deliver(self, envelope):
        self._as()
        return self.deliverer.deliver(envelope).outcome

    def rpc(self, method, *args):
        self._as()
        worker = worker_factory(DisclosureService, db=DatabaseAccess(self.deliverer.provider, f"disclosure.{method}"))
        return getattr(worker, method)(*args)

    def outbox(self, event_type):
        with Session(self.engine) as s:
            return [json.loads(m.envelope) for m in s.scalars(select(OutboxMessage).where(
                OutboxMessage.event_type == event_type).order_by(OutboxMessage.id))]

    def receipts(self):
        with Session(self.engine) as s:
            return sorted((r.receipt_id, r.held_here, r.sent_on, r.acknowledged_on, r.acknowledged_by)
                          for r in s.scalars(select(AnnualReportReceipt)))


@pytest.fixture
def suites(tmp_path, monkeypatch):
    city = SuiteDb(tmp_path, "city", CITY, monkeypatch)
    province = SuiteDb(tmp_path, "province", PROVINCE, monkeypatch)
    for env in (dev.body_registered(COUNTY_BODY, superior="320400-SCJG"),
                dev.body_registered(CITY_BODY, name="常州市市场监督管理局", superior="320000-SCJG")):
        assert city.deliver(env) == "applied"
    yield city, province
    city.engine.dispose()
    province.engine.dispose()


def _public(suite, body):
    return {x["kind"]: x for x in suite.rpc("annual_report", body["body_id"], 2025)["receipts"]}


def _generate(city):
    for body in (COUNTY_BODY, CITY_BODY):
        report = city.rpc("generate_annual_report", body["body_id"], 2025, "sup-city", Scope("320400", None).as_dict())
        assert "error" not in report, report
    return {e["body_id"]: e for e in city.outbox("disclosure.annual_report_published")}


def test_disc7_reports_received_by_government_and_superior_across_tiers_and_acknowledged(suites):
    """DISC-7: the county bureau's report is in the city suite's register for the county government and
    the city bureau; the city bureau's report for the city government there and for the provincial
    department at the province (upward link). Nothing says 已签收 before an acknowledgement; each recipient
    acknowledges only its own receipt (fail closed), and the province's acknowledgement, carried down,
    makes the city's public page say 已签收 for the superior."""
    city, province = suites
    sent = _generate(city)
    for e in sent.values():
        assert city.deliver(e) == "applied"                 # the city's own register
    assert province.deliver(sent[CITY_BODY["body_id"]]) == "applied"     # over the upward link
    held = {r[0]: r[1] for r in city.receipts()}
    assert held == {"320412-SCJG:2025:r1:government": True, "320412-SCJG:2025:r1:superior": True,
                    "320400-SCJG:2025:r1:government": True}
    assert {r[0]: r[1] for r in province.receipts()} == {"320400-SCJG:2025:r1:superior": True}

    public = _public(city, CITY_BODY)
    assert public["government"]["sent_on"] == "2026-01-12" and public["government"]["acknowledged_on"] is None
    assert public["superior"]["recipient"] == "320000-SCJG" and public["superior"]["acknowledged_on"] is None
    html = pages.render("disclosure/annual.html", r=city.rpc("annual_report", CITY_BODY["body_id"], 2025)).get_data(
        as_text=True)
    assert "已签收" not in html and "本年报已报送" not in html and "尚未签收" in html and "2026年1月12日报送" in html

    # fail closed: a county supervisor cannot acknowledge for the city government, a body-bound token of
    # the county bureau cannot acknowledge for its own superior, an empty scope sees no register
    gov_city = "320400-SCJG:2025:r1:government"
    assert city.rpc("acknowledge_annual_report", gov_city, "x", Scope("320412", None).as_dict())["status"] == 404
    assert city.rpc("acknowledge_annual_report", "320412-SCJG:2025:r1:superior", "x",
                    Scope("320412", frozenset({"320412-SCJG"})).as_dict())["status"] == 404
    assert city.rpc("annual_report_receipts", {"region_code": "320400"}) == []
    assert [r["receipt_id"] for r in city.rpc("annual_report_receipts", Scope("320400", frozenset({"320400-SCJG"}))
                                                .as_dict())] == ["320412-SCJG:2025:r1:superior"]

    ack = city.rpc("acknowledge_annual_report", gov_city, "gov-320400", Scope("320400", None).as_dict())
    assert ack["acknowledged_on"] == "2026-01-12"
    ack = province.rpc("acknowledge_annual_report", "320400-SCJG:2025:r1:superior", "sj-scjg",
                       Scope("320000", frozenset({"320000-SCJG"})).as_dict())
    assert ack["acknowledged_by"] == "sj-scjg"
    [down] = province.outbox("disclosure.annual_report_acknowledged")
    assert down["region_code"] == "320400"                 # routed to the city of the report (zhifa-city)
    for e in city.outbox("disclosure.annual_report_acknowledged") + [down]:
        assert city.deliver(e) == "applied"
    public = _public(city, CITY_BODY)
    assert public["government"]["acknowledged_on"] == "2026-01-12"
    assert public["superior"]["acknowledged_on"] == "2026-01-12"
    assert _public(city, COUNTY_BODY)["superior"]["acknowledged_on"] is None
    html = pages.render("disclosure/annual.html", r=city.rpc("annual_report", CITY_BODY["body_id"], 2025)).get_data(
        as_text=True)
    assert html.count("已签收") == 2

    # a new revision is sent again and is not acknowledged until its recipients sign for it
    city.rpc("generate_annual_report", CITY_BODY["body_id"], 2025, "sup-city", Scope("320400", None).as_dict())
    [r2] = [e for e in city.outbox("disclosure.annual_report_published") if e["payload"]["revision"] == 2]
    assert city.deliver(r2) == "applied"
    assert all(x["acknowledged_on"] is None for x in _public(city, CITY_BODY).values())


def test_disc7_same_register_in_every_arrival_order(suites, tmp_path, monkeypatch):
    """DISC-7, SEC-6: at the city, the city bureau's report, the city government's acknowledgement and
    the province's acknowledgement (downward) — in all 6 orders, with a redelivered copy — end in the
    same receipts."""
    city, province = suites
    sent = _generate(city)
    report = sent[CITY_BODY["body_id"]]
    assert city.deliver(report) == "applied" and province.deliver(report) == "applied"
    city.rpc("acknowledge_annual_report", "320400-SCJG:2025:r1:government", "gov", Scope("320400", None).as_dict())
    province.rpc("acknowledge_annual_report", "320400-SCJG:2025:r1:superior", "sj",
                 Scope("320000", frozenset({"320000-SCJG"})).as_dict())
    events = [report, city.outbox("disclosure.annual_report_acknowledged")[0],
              province.outbox("disclosure.annual_report_acknowledged")[0]]
    states = set()
    for n, order in enumerate(itertools.permutations(range(3))):
        fresh = SuiteDb(tmp_path, f"order-{n}", CITY, monkeypatch)
        try:
            outcomes = [fresh.deliver(events[i]) for i in order] + [fresh.deliver(events[order[0]])]
            assert outcomes == ["applied"] * 3 + ["duplicate"], (order, outcomes)
            states.add(tuple(fresh.receipts()))
        finally:
            fresh.engine.dispose()
    assert len(states) == 1, states
    [state] = states
    assert [(r[0], r[1], r[3] is not None) for r in state] == [
        ("320400-SCJG:2025:r1:government", True, True), ("320400-SCJG:2025:r1:superior", False, True)]
