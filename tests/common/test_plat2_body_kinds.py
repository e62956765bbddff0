"""PLAT-2 (issue 18): the kinds of enforcement body (执法主体) and what each means across the suite —
a government department (行政机关); an organisation authorised by law (法律法规授权组织), acting in its own name;
an entrusted organisation (受委托组织), registered only with its entrusting body and basis, acting in the
entrusting body's name (its decisions are published under that name, complaints about it go to that body, that
body evaluates it); vertical (垂直管理) and dual-managed (双重管理) bodies, evaluated as EVAL-1 says (the superior
department, with the local government's opinion; both, weighted by config/evaluation/evaluators.yaml).
Through the real handlers (tests/handlers.py) on migrated databases."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.common.migrations import upgrade
from services.complaints.domain.directory import competent_department
from services.disclosure.models import Publication
from services.disclosure.service import DisclosureService
from services.evaluation.domain import evaluators as ev_rules
from services.evaluation.service import EvaluationService
from tests.handlers import Deliverer
from tests.integration import events as ev

REGION = "320412"
DEPT = {"region_code": REGION, "body_id": "320412-SCJG", "system": "wj-scjg-system"}
AUTHORISED = {"region_code": REGION, "body_id": "320412-JYS", "system": "wj-scjg-system"}
ENTRUSTED = {"region_code": REGION, "body_id": "320412-HTZ", "system": "wj-scjg-system"}


def registered(body, name, kind, **extra):
    return ev.envelope("body.registered", {"body_id": body["body_id"], "name": name, "kind": kind,
                                           "region_code": REGION, **extra}, body=body)


BODIES = [
    registered(DEPT, "常州市武进区市场监督管理局", "department"),
    registered(AUTHORISED, "常州市武进区食品药品检验所", "authorised_org", superior_body_id=DEPT["body_id"]),
    registered(ENTRUSTED, "武进区湖塘镇综合执法大队", "entrusted_org", entrusting_body_id=DEPT["body_id"],
               entrustment_basis="《中华人民共和国行政处罚法》第二十条；武市监〔2026〕3号委托书"),
]


@pytest.fixture
def engine(tmp_path):
    def make(service):
        url = f"sqlite:///{tmp_path / (service + '.db')}"
        upgrade(service, url)
        return make_engine(url)
    return make


def test_plat2_entrusted_org_is_registered_only_with_its_entrusting_body_and_basis(engine):
    deliverer = Deliverer(DisclosureService, engine("disclosure"))
    without = registered(ENTRUSTED, "某执法大队", "entrusted_org", entrusting_body_id=DEPT["body_id"])
    outcome = deliverer.deliver(without)
    assert (outcome.outcome, outcome.reason) == ("dead_letter", "invalid body.registered")
    from services.common.events import InvalidEvent, parse_event

    with pytest.raises(InvalidEvent) as refused:
        parse_event(without, expected_type="body.registered")
    assert "受委托组织须注明委托机关和委托依据" in str(refused.value.errors)


def test_plat2_entrusted_org_acts_in_the_entrusting_bodys_name_authorised_org_in_its_own(engine):
    """Decisions of each kind of body as disclosure publishes them (DISC-3): the department and the authorised
    organisation under their own names; the entrusted organisation under the entrusting body's name, with the
    organisation that carried it out named beside it."""
    db = engine("disclosure")
    deliverer = Deliverer(DisclosureService, db)
    for envelope in BODIES:
        assert deliverer.deliver(envelope).outcome == "applied"
    for body in (DEPT, AUTHORISED, ENTRUSTED):
        case = ev.case_id("P2-1", body)
        made = ev.decision_made(case, party=ev.legal_party(), fine="5000.00", facts="当事人销售过期食品。")
        made.update(region_code=body["region_code"], body_id=body["body_id"], source_system=body["system"])
        assert deliverer.deliver(made).outcome == "applied", body
    with Session(db) as session:
        names = dict(session.execute(select(Publication.body_id, Publication.body_name)).all())
    assert names == {"320412-SCJG": "常州市武进区市场监督管理局",
                     "320412-JYS": "常州市武进区食品药品检验所",
                     "320412-HTZ": "常州市武进区市场监督管理局（受委托组织：武进区湖塘镇综合执法大队）"}


def test_plat2_complaints_about_authorised_and_entrusted_orgs_go_to_their_competent_department():
    """CMP-8: an authorised organisation's competent department is its superior; an entrusted organisation's is
    the body that entrusted it (it acts in that body's name); a department has none."""
    assert competent_department("authorised_org", None, "320412-SCJG") == "320412-SCJG"
    assert competent_department("entrusted_org", "320412-SCJG", "320412-OTHER") == "320412-SCJG"
    assert competent_department("department", None, "320400-SCJG") is None


@pytest.mark.parametrize("kind, management, extra, expected", [
    ("department", "local", {}, [("government", REGION, "100", "primary")]),
    ("authorised_org", "local", {"superior_body_id": "320412-SCJG"}, [("government", REGION, "100", "primary")]),
    ("entrusted_org", "local", {"entrusting_body_id": "320412-SCJG", "entrustment_basis": "委托书"},
     [("body", "320412-SCJG", "100", "primary")]),
    ("department", "vertical", {"superior_body_id": "320400-SW"},
     [("superior_department", "320400-SW", "100", "primary"), ("government", REGION, "0", "opinion")]),
    ("department", "dual", {"superior_body_id": "320400-GA"},
     [("superior_department", "320400-GA", "50", "primary"), ("government", REGION, "50", "primary")]),
])
def test_plat2_eval1_each_kind_of_body_is_evaluated_by_whom_eval1_says(engine, kind, management, extra, expected):
    """Registered through evaluation's handler and read back from its score detail (the evaluators the grade is
    computed with): local bodies by the government; an entrusted organisation by its entrusting body; a
    vertical body by its superior department with the government's opinion (weight 0); a dual-managed body by
    both, weighted 50/50 as config/evaluation/evaluators.yaml ships."""
    from nameko.testing.services import worker_factory

    from services.common.db import DatabaseAccess
    from services.common.scope import ALL_BODIES

    db = engine("evaluation")
    deliverer = Deliverer(EvaluationService, db)
    body = {"region_code": REGION, "body_id": f"320412-P2-{kind[:4].upper()}-{management[:3].upper()}",
            "system": "wj-system"}
    envelope = ev.envelope("body.registered", {"body_id": body["body_id"], "name": "某执法主体", "kind": kind,
                                               "region_code": REGION, "management": management, **extra}, body=body)
    assert deliverer.deliver(envelope).outcome == "applied"
    worker = worker_factory(EvaluationService, db=DatabaseAccess(deliverer.provider, "evaluation.score_detail"))
    detail = worker.score_detail({"region_code": REGION, "bodies": ALL_BODIES}, "body", body["body_id"])
    assert [(e["kind"], e["ref"], e["weight"], e["role"]) for e in detail["evaluators"]] == expected
    # the pure rule agrees, and a vertical or dual-managed body without its superior is refused
    if management != "local":
        info = ev_rules.BodyInfo(body["body_id"], REGION, ev_rules.Management(management), kind, None)
        with pytest.raises(ValueError, match="未登记上一级主管部门"):
            ev_rules.evaluators_for(info)
    assert sum(Decimal(e["weight"]) for e in detail["evaluators"] if e["role"] == "primary") == 100
