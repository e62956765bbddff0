"""CMP-7 典型案例通报 (issue 18): a supervisor selects a concluded, upheld complaint (or a decided
accountability case) as a typical case, writes the warning, submits it; a SECOND supervisor approves it
(the author cannot); ``evaluation.typical_case_approved`` reaches disclosure, which publishes it redacted
by the disclosure rules (DISC-4) — through the REAL handlers of evaluation and disclosure on migrated
SQLite databases, in every arrival order of disclosure's events."""
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
from services.disclosure.service import DisclosureService
from services.evaluation.service import EvaluationService
from tests.disclosure import events as dev
from tests.evaluation import year as Y
from tests.handlers import Deliverer

CHINA = dt.timezone(dt.timedelta(hours=8))
WHEN = dt.datetime(2026, 6, 1, 10, tzinfo=CHINA)
UPHELD, NOT_UPHELD = "320412-2026-000123", "320412-2026-000124"
SUP = Scope("320400", None).as_dict()
ID_NUMBER = "320412198503141234"
WARNING = (f"当事人张三丰（身份证号{ID_NUMBER}，联系电话13912345678）投诉称，执法人员在检查中未出示执法证件即扣押其电动车，"
           "经查投诉属实。该局执法人员未依法亮证执法、未制作现场笔录，违反了《中华人民共和国行政强制法》第十八条。各执法单位要引以为戒。")


def _db(tmp_path, service, name):
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    upgrade(service, url)
    return make_engine(url)


@pytest.fixture
def evaluation(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIFA_CLOCK", "2026-06-10T10:00:00+08:00")
    engine = _db(tmp_path, "evaluation", "evaluation")
    deliverer = Deliverer(EvaluationService, engine)
    for env in (Y.complaint("complaint.concluded", Y.A, UPHELD, WHEN, upheld=True),
                Y.complaint("complaint.concluded", Y.A, NOT_UPHELD, WHEN, upheld=False)):
        assert deliverer.deliver(env).outcome == "applied"

    def rpc(scope, actor, action, data=None):
        worker = worker_factory(EvaluationService, db=DatabaseAccess(deliverer.provider, "evaluation.typical_case"))
        return worker.typical_case(scope, actor, action, data or {})

    deliverer.rpc, deliverer.engine = rpc, engine
    yield deliverer
    engine.dispose()


def _approved_event(evaluation):
    case = evaluation.rpc(SUP, "sup-1", "select", {"source_kind": "complaint", "source_ref": UPHELD,
                                                   "title": "武进区某执法人员未亮证扣押财物案", "warning_text": WARNING})
    assert case["status"] == "draft", case
    evaluation.rpc(SUP, "sup-1", "submit", {"typical_case_id": case["typical_case_id"]})
    approved = evaluation.rpc(SUP, "sup-2", "review", {"typical_case_id": case["typical_case_id"], "approve": True})
    assert approved["status"] == "approved", approved
    with Session(evaluation.engine) as s:
        [row] = s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "evaluation.typical_case_approved"))
        return json.loads(row.envelope)


def test_cmp7_only_upheld_concluded_sources_in_scope_and_a_second_supervisor_approves(evaluation):
    """CMP-7: a complaint not upheld is not a typical case; a supervisor of another region or one narrowed to
    a body cannot select it; the author cannot approve their own case; a return needs a reason and sends it
    back to draft; one source gives one typical case; the approval is one event."""
    text = {"title": "武进区某执法人员未亮证扣押财物案", "warning_text": WARNING}
    assert evaluation.rpc(SUP, "sup-1", "select", {"source_kind": "complaint", "source_ref": NOT_UPHELD,
                                                   **text})["status"] == 404
    for outsider in (Scope("320411", None).as_dict(), Scope("320400", frozenset({"320412-SCJG"})).as_dict(), {}):
        answer = evaluation.rpc(outsider, "x", "select", {"source_kind": "complaint", "source_ref": UPHELD, **text})
        assert answer["status"] in (403, 404), answer
    case = evaluation.rpc(SUP, "sup-1", "select", {"source_kind": "complaint", "source_ref": UPHELD, **text})
    assert evaluation.rpc(SUP, "sup-3", "select", {"source_kind": "complaint", "source_ref": UPHELD,
                                                   **text})["error"] == "already_selected"
    cid = {"typical_case_id": case["typical_case_id"]}
    assert evaluation.rpc(SUP, "sup-2", "review", {**cid, "approve": True})["error"] == "wrong_status"
    evaluation.rpc(SUP, "sup-1", "submit", cid)
    assert evaluation.rpc(SUP, "sup-1", "review", {**cid, "approve": True})["error"] == "same_person"
    assert evaluation.rpc(SUP, "sup-2", "review", {**cid, "approve": False})["status"] == 422
    returned = evaluation.rpc(SUP, "sup-2", "review", {**cid, "approve": False, "note": "剖析不够具体"})
    assert returned["status"] == "returned" and returned["review_note"] == "剖析不够具体"
    evaluation.rpc(SUP, "sup-2", "edit", {**cid, "title": text["title"], "warning_text": WARNING + "（补充剖析）"})
    evaluation.rpc(SUP, "sup-2", "submit", cid)
    assert evaluation.rpc(SUP, "sup-2", "review", {**cid, "approve": True})["error"] == "same_person"  # last editor
    approved = evaluation.rpc(SUP, "sup-1", "review", {**cid, "approve": True})
    assert approved["status"] == "approved" and approved["approved_on"] == "2026-06-10"
    with Session(evaluation.engine) as s:
        events = s.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "evaluation.typical_case_approved")).all()
    assert len(events) == 1
    assert [c["typical_case_id"] for c in evaluation.rpc(SUP, "sup-1", "list")["typical_cases"]] == [cid["typical_case_id"]]
    assert evaluation.rpc(Scope("320411", None).as_dict(), "x", "list")["typical_cases"] == []


def test_cmp7_published_redacted_by_disclosure_in_every_arrival_order(evaluation, tmp_path):
    """CMP-7, DISC-4: disclosure publishes the approved case with the complainant's name, ID number and phone
    masked; the body's registration and the case arrive in any order, with a redelivered copy — the same
    public page every time."""
    approved = _approved_event(evaluation)
    registered = dev.body_registered(name="常州市武进区市场监督管理局")
    events = [approved, registered]
    pages = set()
    for n, order in enumerate(itertools.permutations(range(2))):
        engine = _db(tmp_path, "disclosure", f"disclosure-{n}")
        try:
            disclosure = Deliverer(DisclosureService, engine)
            outcomes = [disclosure.deliver(events[i]).outcome for i in order] + [disclosure.deliver(approved).outcome]
            assert outcomes == ["applied", "applied", "duplicate"], outcomes
            worker = worker_factory(DisclosureService, db=DatabaseAccess(disclosure.provider, "disclosure.rpc"))
            [listed] = worker.typical_cases()
            page = worker.typical_case(listed["typical_case_id"])
            pages.add(json.dumps({k: v for k, v in page.items() if k != "published_at"}, ensure_ascii=False,
                                 sort_keys=True))
        finally:
            engine.dispose()
    assert len(pages) == 1
    page = json.loads(pages.pop())
    assert page["body_name"] == "常州市武进区市场监督管理局" and page["source_zh"] == "投诉举报查处"
    assert ID_NUMBER not in page["warning_text"] and "13912345678" not in page["warning_text"]
    assert "张三丰" not in page["warning_text"] and "行政强制法" in page["warning_text"]


def test_cmp7_decided_accountability_case_is_a_source_only_once_decided(evaluation):
    """CMP-7: an accountability case is a typical case only once decided to hold someone to account (作出追责
    决定, through the real accountability workflow): before that 422, after the decision it is selected."""
    rpc = lambda method, scope, *args: getattr(worker_factory(  # noqa: E731
        EvaluationService, db=DatabaseAccess(evaluation.provider, f"evaluation.{method}")), method)(scope, *args)
    opened = rpc("open_case", SUP, "sup-1", {"body_id": Y.A["body_id"], "region_code": Y.A["region_code"],
                                           "description": "执法人员未亮证扣押财物"})
    case_id = opened["case_id"]
    text = {"source_kind": "accountability", "source_ref": case_id, "title": "未亮证扣押财物责任追究案",
            "warning_text": "执法人员未出示执法证件即扣押当事人财物，经调查属实并依法追责，各单位引以为戒。"}
    assert evaluation.rpc(SUP, "sup-1", "select", text)["error"] == "not_eligible"
    act = lambda who, scope, body: rpc("case_action", scope, case_id, who, body.pop("action"), body)  # noqa: E731
    legal = Scope("320400", None).as_dict()
    for who, scope, body in (
            ("sup-1", SUP, {"action": "accept"}),
            ("sup-1", SUP, {"action": "add_link", "stage": "decision", "person_id": "a1", "role": "承办人",
                            "act": "未亮证执法"}),
            ("sup-1", SUP, {"action": "propose", "findings": "未亮证执法",
                            "sanctions": [{"target_kind": "officer", "target_id": "a1",
                                           "kind": "CIRCULATED_CRITICISM"}]}),
            ("sup-1", SUP, {"action": "submit_internal_review"}),
            ("sup-2", SUP, {"action": "internal_review", "approved": True, "opinion": "同意"}),
            ("fz-1", legal, {"action": "legal_review", "approved": True, "opinion": "事实清楚，依据充分"}),
            ("sup-1", SUP, {"action": "record_statement", "officer_id": "a1", "content": "当时情况紧急"}),
            ("sup-1", SUP, {"action": "decide", "sanctions": [{"target_kind": "officer", "target_id": "a1",
                                                               "kind": "CIRCULATED_CRITICISM"}],
                            "reason": "情节较轻"})):
        answer = act(who, scope, body)
        assert "error" not in answer, (body, answer)
    assert answer["outcome"] == "作出追责决定"
    selected = evaluation.rpc(SUP, "sup-1", "select", text)
    assert selected["status"] == "draft" and selected["body_id"] == Y.A["body_id"]
