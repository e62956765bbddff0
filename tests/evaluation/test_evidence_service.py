"""No grade without evidence, due process before accountability and dual evaluators, through the
evaluation service's REAL handlers and its periodic job (issue 16; EVAL-1, EVAL-2, EVAL-4, EVAL-6).

Events go through the service's nameko entrypoint methods (``tests/handlers.py``) on a migrated
SQLite database; the periodic job (``recompute``) runs with the suite's clock set by ``ZHIFA_CLOCK``.
Record gaps: every arrival order of a case's facts, with the job running between arrivals while the
grace period runs and once after it, ends in the same accountability state.
"""
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
from services.evaluation.models import CaseRow, Fact
from services.evaluation.service import EvaluationService
from tests.evaluation import year as Y
from tests.handlers import Deliverer

CHINA = dt.timezone(dt.timedelta(hours=8))
DECIDED = dt.datetime(2026, 3, 2, 10, 0, tzinfo=CHINA)    # Monday; grace 5 working days → final after 9 March
WITHIN_GRACE = "2026-03-04T12:00:00+08:00"
PAST_GRACE = "2026-03-11T12:00:00+08:00"
BODY = Y.A


@pytest.fixture
def service(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'evaluation.db'}"
    upgrade("evaluation", url)
    engine = make_engine(url)
    deliverer = Deliverer(EvaluationService, engine)
    monkeypatch.setenv("ZHIFA_EVALUATION_GAP_GRACE_WORKING_DAYS", "5")

    def job(clock: str) -> dict:
        monkeypatch.setenv("ZHIFA_CLOCK", clock)
        worker = worker_factory(EvaluationService, db=DatabaseAccess(deliverer.provider, "evaluation.recompute"))
        return worker.recompute()

    def rpc(method: str, *args, clock: str = PAST_GRACE):
        monkeypatch.setenv("ZHIFA_CLOCK", clock)
        worker = worker_factory(EvaluationService, db=DatabaseAccess(deliverer.provider, f"evaluation.{method}"))
        return getattr(worker, method)(*args)

    deliverer.job, deliverer.rpc, deliverer.engine = job, rpc, engine
    for env in (Y.body_registered(BODY, DECIDED - dt.timedelta(days=400)),
                Y.officer_registered(BODY, "a1", "张执法", DECIDED - dt.timedelta(days=400)),
                Y.officer_registered(BODY, "a2", "李执法", DECIDED - dt.timedelta(days=400))):
        assert deliverer.deliver(env).outcome == "applied"
    yield deliverer
    engine.dispose()


from services.common.scope import Scope  # noqa: E402

SCOPE = Scope("320400", None).as_dict()       # a supervisor of 常州 with every body


def _gaps(case_id, when, open_=True):
    env = Y.gaps_found(BODY, case_id, when)
    if not open_:
        env["payload"] = {"gaps": [], "open_gap_codes": [], "closed_gap_codes": ["prior_notice"]}
    return env


def _state(engine, case_id):
    """The accountability state of one case: its clues (kind, stage, outcome, officers) and its gap facts."""
    with Session(engine) as s:
        clues = sorted((r.origin_key.split(":")[1], r.stage, r.outcome,
                        tuple(sorted(json.loads(r.data)["officer_ids"])))
                       for r in s.execute(select(CaseRow).where(CaseRow.origin_key.like(f"fact:%:{case_id}"))).scalars())
        facts = sorted((f.kind, f.officer_id) for f in s.execute(select(Fact).where(
            Fact.ref == case_id, Fact.kind.in_(("record_gap", "av_missing")))).scalars())
    return clues, facts


def _run(service, events, case_id):
    for env in events:
        assert service.deliver(env).outcome == "applied", env["event_type"]
        service.job(WITHIN_GRACE)          # the periodic job runs while the grace period runs
    service.job(PAST_GRACE)
    return _state(service.engine, case_id)


def test_eval6_gap_closed_within_grace_never_becomes_a_clue_in_any_arrival_order(service):
    """EVAL-6 (issue 16): decision, gap found, gap closed two days later — in all 6 arrival orders, with
    the job between arrivals: no clue, no record_gap fact, ever."""
    for n, order in enumerate(itertools.permutations(range(3))):
        case_id = f"{BODY['body_id']}-CLOSED-{n}"
        events = [Y.decision(BODY, case_id, DECIDED, ["a1", "a2"], f"NO-{n}"),
                  _gaps(case_id, DECIDED + dt.timedelta(minutes=5)),
                  _gaps(case_id, DECIDED + dt.timedelta(days=2), open_=False)]
        assert _run(service, [events[i] for i in order], case_id) == ([], []), order


def test_eval6_gap_open_past_grace_becomes_exactly_one_clue_in_any_arrival_order(service):
    """EVAL-6 (issue 16): decision and two reports of the same open gap (at the decision, again at
    archiving) — in all 6 orders: exactly one clue for the case and kind, naming both officers, and the
    gap counted for the body; nothing against the officers until the clue is accepted."""
    for n, order in enumerate(itertools.permutations(range(3))):
        case_id = f"{BODY['body_id']}-OPEN-{n}"
        events = [Y.decision(BODY, case_id, DECIDED, ["a1", "a2"], f"NO-{n}"),
                  _gaps(case_id, DECIDED + dt.timedelta(minutes=5)),
                  _gaps(case_id, DECIDED + dt.timedelta(days=1))]
        clues, facts = _run(service, [events[i] for i in order], case_id)
        assert clues == [("record_gap", "clue", None, ("a1", "a2"))], order
        assert facts == [("record_gap", "a1"), ("record_gap", "a2")], order


def _officer_indicator(service, officer_id, code="O_RECORD_GAPS"):
    detail = service.rpc("score_detail", SCOPE, "officer", officer_id, 2026)
    assert "indicators" in detail, detail
    return next(i for i in detail["indicators"] if i["code"] == code)


def test_eval6_nothing_counts_against_an_officer_until_the_clue_is_accepted(service):
    case_id = f"{BODY['body_id']}-ACCEPT-1"
    _run(service, [Y.decision(BODY, case_id, DECIDED, ["a1"], "NO-A"), _gaps(case_id, DECIDED)], case_id)
    assert _officer_indicator(service, "a1")["value"] == "0.0000"           # a clue only: not held against a1
    body = service.rpc("score_detail", SCOPE, "body", BODY["body_id"], 2026)
    assert next(i for i in body["indicators"] if i["code"] == "RECORD_COMPLETE")["value"] == "0.0000"
    with Session(service.engine) as s:
        clue_id = s.execute(select(CaseRow.case_id).where(CaseRow.origin_key == f"fact:record_gap:{case_id}")).scalar()
    answer = service.rpc("case_action", SCOPE, clue_id, "sup-1", "accept", {})
    assert answer.get("stage") == "investigation", answer
    assert _officer_indicator(service, "a1")["value"] == "100.0000"         # 立案: now it counts (1 per 1 act)


def test_eval6_clue_withdrawn_with_history_when_the_gap_closes_before_acceptance(service):
    case_id = f"{BODY['body_id']}-WITHDRAW-1"
    _run(service, [Y.decision(BODY, case_id, DECIDED, ["a1"], "NO-W"), _gaps(case_id, DECIDED)], case_id)
    assert service.deliver(_gaps(case_id, DECIDED + dt.timedelta(days=12), open_=False)).outcome == "applied"
    service.job("2026-03-16T12:00:00+08:00")
    clues, facts = _state(service.engine, case_id)
    assert clues == [("record_gap", "closed", "撤回线索", ("a1",))] and facts == []
    with Session(service.engine) as s:
        row = s.execute(select(CaseRow).where(CaseRow.origin_key == f"fact:record_gap:{case_id}")).scalar()
        assert json.loads(row.data)["history"][-1]["action"] == "撤回线索"


def test_issue16_future_year_refused_and_year_without_facts_has_no_grade(service):
    """EVAL-4 (issue 16): 2027 is refused (422, Chinese message); 2025 — no facts — has no grade."""
    for method, args in (("scores", (SCOPE, "320400", 2027)), ("dashboard", (SCOPE, "320400", 2027)),
                         ("grades", (SCOPE, "320400", 2027)), ("summary", (SCOPE, "320400", 2027))):
        answer = service.rpc(method, *args)
        assert answer["status"] == 422 and answer["error"] == "future_year", method
        assert "2027年度尚未开始" in answer["message"]
    scores = service.rpc("scores", SCOPE, "320400", 2025)
    body = next(s for s in scores["subjects"] if s["subject_id"] == BODY["body_id"])
    assert body["grade"] == "数据不足" and body["insufficient"]
    assert all(not i["applicable"] for i in body["indicators"] if i["code"] in ("DISC_ON_TIME", "REVIEW_MAJOR"))
    dash = service.rpc("dashboard", SCOPE, "320400", 2025)
    assert dash["grade_counts"]["body"]["数据不足"] == 1 and dash["empty"]


def test_issue16_indicator_with_0_of_0_is_excluded_at_service_level(service):
    """EVAL-2 (issue 16): published on time, no major decision → REVIEW_MAJOR 不适用, not 100."""
    for n in range(6):
        case_id = f"{BODY['body_id']}-PUB-{n}"
        when = DECIDED + dt.timedelta(days=n)
        for env in (Y.decision(BODY, case_id, when, ["a1"], f"NO-P{n}"), Y.published(BODY, case_id, when)):
            assert service.deliver(env).outcome == "applied"
    detail = service.rpc("score_detail", SCOPE, "body", BODY["body_id"], 2026)
    codes = {i["code"]: i for i in detail["indicators"]}
    assert codes["REVIEW_MAJOR"]["applicable"] is False and codes["REVIEW_MAJOR"]["score"] is None
    assert codes["DISC_ON_TIME"]["score"] == "100.00"
    assert detail["applicable_weight"] != "100"


def test_eval1_dual_managed_body_scored_by_each_evaluator_and_combined(service):
    """EVAL-1 (issue 16): a 双重管理 body gets the superior department's and the government's scores
    (each with its own case-file review) combined 50/50 as evaluators.yaml says."""
    dual = {"body_id": "320412-SWJ", "region_code": "320412", "name": "常州市武进区税务局", "system": "wj-swj"}
    reg = Y.body_registered(dual, DECIDED - dt.timedelta(days=400))
    reg["payload"].update({"management": "dual", "superior_body_id": "320400-SWJ"})
    assert service.deliver(reg).outcome == "applied"
    assert service.deliver(Y.officer_registered(dual, "s1", "王执法", DECIDED - dt.timedelta(days=400))).outcome == "applied"
    for n in range(6):
        case_id = f"{dual['body_id']}-D-{n}"
        when = DECIDED + dt.timedelta(days=n)
        for env in (Y.decision(dual, case_id, when, ["s1"], f"NO-D{n}"), Y.published(dual, case_id, when)):
            assert service.deliver(env).outcome == "applied"
    for evaluator, score in (("superior_department", 60), ("government", 100)):
        answer = service.rpc("record_score", SCOPE, "sup-1", {"kind": "case_file_review_score", "body_id": dual["body_id"],
                                                              "score": score, "evaluator": evaluator,
                                                              "recorded_on": "2026-03-10"})
        assert answer.get("evaluator"), answer
    detail = service.rpc("score_detail", SCOPE, "body", dual["body_id"], 2026)
    parts = {e["kind"]: e for e in detail["evaluators"]}
    assert set(parts) == {"superior_department", "government"}
    sup, gov = float(parts["superior_department"]["total"]), float(parts["government"]["total"])
    assert sup < gov                                            # each scored with its own review
    assert float(detail["total"]) == pytest.approx((sup + gov) / 2, abs=0.01)
    refused = service.rpc("record_score", SCOPE, "sup-1", {"kind": "case_file_review_score", "body_id": BODY["body_id"],
                                                           "score": 90, "evaluator": "superior_department"})
    assert refused["status"] == 422


def test_issue17_eval6_a_gap_report_stored_before_is_kept_once_when_it_comes_again(service):
    """Issue 17 (EVAL-6): the batch reads which of its reports are stored in one query instead of one per
    report; a report whose processed-event row was pruned (housekeeping) and that comes again is
    applied without a second row, and a new report of the same case is kept."""
    from services.common.db import ProcessedEvent
    from services.evaluation.models import GapReportRow

    case_id = f"{BODY['body_id']}-AGAIN-1"
    first = _gaps(case_id, DECIDED + dt.timedelta(minutes=5))
    assert service.deliver(first).outcome == "applied"
    with Session(service.engine) as s, s.begin():
        s.query(ProcessedEvent).filter(ProcessedEvent.event_id == first["event_id"]).delete()
    assert service.deliver(first).outcome == "applied"            # not a duplicate any more: kept once
    assert service.deliver(_gaps(case_id, DECIDED + dt.timedelta(days=1))).outcome == "applied"
    with Session(service.engine) as s:
        ids = s.scalars(select(GapReportRow.event_id).where(GapReportRow.case_id == case_id)).all()
    assert len(ids) == 2 and first["event_id"] in ids
