"""Issue 22 (GB/T 39786 level 3; REC-4, REC-8): a dump of EVERY service's database holds no personal field
in clear. The services' real handlers (tests/handlers.Deliverer: the same code paths as over AMQP after
parsing) receive a case's flow — body and officer registered, case opened, decision proposed, decision
made, served, archived — whose party has a distinctive name, ID number, phone and address (in the
parties and in the decision's facts text), and a complaint is filed through the portal use case with a
distinctive complainant; then each service's database is dumped — ``pg_dump`` on PostgreSQL, the file's
bytes on SQLite — and scanned for every one of them. The same flow with ZHIFA_FIELD_ENCRYPTION off
shows them (the scan can fail). What is public by law is not personal here: officers' names and
certificate numbers (事前公开, DISC-1/DISC-2) and the masked party (孙**, 3204**********1234) published by
disclosure."""
from __future__ import annotations

import datetime as dt

import pytest
from nameko import config as nameko_config

from services.common import fieldcrypt
from tests.complaints.test_fields_encrypted import dump, in_clear
from tests.handlers import Deliverer
from tests.integration import events as ev

CHINA = dt.timezone(dt.timedelta(hours=8))
NAME, ID_NUMBER, PHONE, ADDRESS = "欧阳翠花", ev.resident_id("32041219770405661"), "13766668888", "常州市新北区龙虎塘街道玉兰路99号"
PARTY = {"party_kind": "natural", "name": NAME, "id_type": "resident_id", "id_number": ID_NUMBER, "phone": PHONE,
         "address": ADDRESS}
FACTS = f"当事人{NAME}，身份证号{ID_NUMBER}，联系电话{PHONE}，住{ADDRESS}，销售过期食品。"
COMPLAINANT = {"name": "司马小雪", "phone": "13655554444", "id_number": ev.resident_id("32040219920808123"),
               "address": "常州市天宁区红梅街道青山路8号"}
SECRETS = [NAME, ID_NUMBER, PHONE, ADDRESS]
COMPLAINANT_SECRETS = list(COMPLAINANT.values())
BODY = {"body_id": ev.BODY["body_id"], "name": "常州市武进区市场监督管理局", "kind": "department",
        "field": "market_regulation"}


def flow(case_local: str) -> list[dict]:
    case = ev.case_id(case_local)
    now = dt.datetime.now(CHINA)
    return [
        ev.envelope("body.registered", {**BODY, "region_code": ev.BODY["region_code"]}),
        ev.envelope("officer.registered", {"officer_id": "o-1", "name": "王执法", "body_id": BODY["body_id"],
                                           "certificate_no": "32041200001", "roles": ["officer"]}),
        ev.envelope("officer.registered", {"officer_id": "o-2", "name": "李执法", "body_id": BODY["body_id"],
                                           "certificate_no": "32041200002", "roles": ["officer"]}),
        ev.case_opened(case, party=PARTY, at=now - dt.timedelta(hours=3)),
        ev.decision_proposed(case, party=PARTY, fine="300000.00"),
        ev.decision_made(case, party=PARTY, facts=FACTS, fine="300000.00"),
        ev.decision_served(case),
        ev.case_archived(case, at=now),
    ]


def run_flow(service: str, engine, case_local: str) -> list:
    from services.disclosure.service import DisclosureService
    from services.evaluation.service import EvaluationService
    from services.records.ledger import Ledger
    from services.records.service import RecordsService
    from services.review.service import ReviewService

    cls, deps = {"records": (RecordsService, {"ledger": Ledger()}), "review": (ReviewService, {}),
                 "disclosure": (DisclosureService, {}), "evaluation": (EvaluationService, {})}[service]
    deliverer = Deliverer(cls, engine, **deps)
    outcomes = []
    for envelope in flow(case_local):
        if envelope["event_type"] in deliverer.handlers:
            outcomes.append((envelope["event_type"], deliverer.deliver(envelope)))
    return outcomes


@pytest.fixture
def keys(tmp_path):
    with nameko_config.patch({"ZHIFA_KEYS_DIR": str(tmp_path / "keys"), "ZHIFA_FIELD_ENCRYPTION": True,
                              "ZHIFA_RECORDS_SIGNING_KEY": "7" * 64,
                              "ZHIFA_COMPLAINTS_ATTACHMENTS_DIR": str(tmp_path / "att")}, clear=False):
        fieldcrypt._cache.clear()
        yield
        fieldcrypt._cache.clear()


SERVICES = ["records", "review", "disclosure", "evaluation"]


def metric(name: str, service: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, {"service": service}) or 0.0


@pytest.mark.parametrize("service", SERVICES)
def test_issue22_gbt39786_dump_of_every_service_holds_no_party_in_clear(service, service_engine, keys):
    engine = service_engine(service)
    outcomes = run_flow(service, engine, "GM-1")
    # the flow really went in (a handler refusing everything would leave a clean dump too)
    applied = [t for t, d in outcomes if d.outcome == "applied"]
    assert "decision.made" in applied, outcomes
    data = dump(engine)
    assert b"GM-1" in data                        # the dump is real: the case is in it
    assert in_clear(data, SECRETS) == [], service
    with nameko_config.patch({"ZHIFA_FIELD_ENCRYPTION": False}, clear=False):
        fieldcrypt._cache.clear()
        engine2 = service_engine(service)
        run_flow(service, engine2, "GM-2")
    leaked = in_clear(dump(engine2), SECRETS)
    if service != "evaluation":       # evaluation keeps only a keyed index of the party, encryption or not
        assert leaked, f"{service}: without encryption the flow stores no personal data — the check proves nothing"
    else:
        assert leaked == []


def test_issue22_gbt39786_dump_of_complaints_holds_no_complainant_in_clear(service_engine, keys):
    from tests.complaints.test_fields_encrypted import _Db, register

    engine = service_engine("complaints")
    db = _Db(engine)
    receipt = register(db, **COMPLAINANT, facts=f"本人{COMPLAINANT['name']}，电话{COMPLAINANT['phone']}，"
                                                f"住{COMPLAINANT['address']}，反映执法人员未出示证件。")
    data = dump(engine)
    assert receipt["number"].encode() in data
    assert in_clear(data, COMPLAINANT_SECRETS) == []


@pytest.mark.parametrize("service", ["review", "disclosure", "records"])
def test_issue22_rotation_mid_stream_loses_nothing_every_field_readable(service, service_engine, keys):
    """A data key rotated between two flows, the background re-encrypt moving values in small steps while
    the second flow arrives (and rotated again): every stored value decrypts, under the active key at the
    end, each flow's party is there, the dump stays clean."""
    from importlib import import_module

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    columns = import_module(f"services.{service}.models").ENCRYPTED_COLUMNS

    def read_all() -> dict:
        with Session(engine) as session:
            return {(str(col.column), pk): value for col in columns
                    for pk, value in session.execute(select(col.pk, col.column))}

    engine = service_engine(service)
    with nameko_config.patch({"ZHIFA_FIELD_ENCRYPTION": False}, clear=False):
        run_flow(service, engine, "GM-0")                 # legacy rows, written in clear
    run_flow(service, engine, "GM-1")
    first = read_all()
    fieldcrypt.rotate(service)
    fieldcrypt._cache.clear()
    assert fieldcrypt.remaining(engine, service, columns) == len(first)
    # the metrics operators watch: rotation progress, fields encrypted
    assert metric("zhifa_fieldcrypt_reencrypt_remaining", service) == len(first)
    encrypted_before = metric("zhifa_fieldcrypt_fields_encrypted_total", service)
    assert fieldcrypt.reencrypt_step(engine, service, columns, batch=1) > 0       # part of the way
    assert metric("zhifa_fieldcrypt_reencrypt_remaining", service) < len(first)
    assert metric("zhifa_fieldcrypt_fields_encrypted_total", service) > encrypted_before
    run_flow(service, engine, "GM-2")                                            # arrivals meanwhile
    fieldcrypt.rotate(service)
    fieldcrypt._cache.clear()
    while fieldcrypt.reencrypt_step(engine, service, columns, batch=2):
        pass
    assert fieldcrypt.remaining(engine, service, columns) == 0
    assert metric("zhifa_fieldcrypt_reencrypt_remaining", service) == 0
    state = fieldcrypt.status(service, engine, columns)
    assert set(state["fields_by_key"]) == {state["active"]}
    after = read_all()
    assert {k: after.get(k) for k in first} == first          # nothing lost, every earlier value unchanged
    assert len(after) > len(first)                            # and the second flow's values are there
    import json

    assert NAME in json.dumps(list(after.values()), ensure_ascii=False)
    assert in_clear(dump(engine), SECRETS) == []


def test_issue22_rec4_party_links_keyed_and_legacy_links_rekeyed(service_engine, keys):
    """REC-4 "all records of one party" through the keyed index: links carry k:HMAC-SM3, not the unkeyed
    SM3 of the ID number; a link written before (unkeyed) is still found, then re-keyed from the case's
    personal data by the background pass, after which the unkeyed hash is gone from the dump."""
    from sqlalchemy import insert, select, update

    from services.common.scope import Scope
    from services.records import store
    from services.records.models import PartyLink
    from tests.records.test_records_store import _Db

    engine = service_engine("records")
    run_flow("records", engine, "GM-1")
    run_flow("records", engine, "GM-3")
    db = _Db(engine)
    keyed, legacy = store.party_key(PARTY), store.legacy_party_key(PARTY)
    assert keyed.startswith("k:") and keyed[2:] != legacy
    with db.session() as session:
        assert set(session.scalars(select(PartyLink.party_key))) == {keyed}
        # a suite upgraded from before issue 22: one case's link still under the unkeyed hash
        session.execute(update(PartyLink).where(PartyLink.case_id == ev.case_id("GM-3")).values(party_key=legacy))
        session.execute(insert(PartyLink).values(party_key=store.legacy_party_key(ev.natural_party("无此人")),
                                                 case_id=ev.case_id("GM-1")))
    assert legacy.encode() in dump(engine)
    everyone = Scope.granted("supervisor", ev.BODY["region_code"])
    with db.session() as session:
        found = store.cases_of_party(session, [keyed, legacy], everyone)
        assert [c.case_id for c in found] == [ev.case_id("GM-1"), ev.case_id("GM-3")]
        assert store.rekey_party_links(session) == 2          # one re-keyed, one without personal data dropped
        assert store.rekey_party_links(session) is None
        assert set(session.scalars(select(PartyLink.party_key))) == {keyed}
        assert [c.case_id for c in store.cases_of_party(session, [keyed], everyone)] == [ev.case_id("GM-1"),
                                                                                          ev.case_id("GM-3")]
    assert legacy.encode() not in dump(engine)
