"""REC-7 案卷评查 (issue 18): the yearly sample of archived case files per body is seeded and reproducible
like the 双随机 draw, reviewers never review their own body, the score sheet comes from
config/records/case_file_review.yaml, the result feeds evaluation's 案卷评查 indicator through the real
handlers of both services, and the weak links (which items fail most, by body and action type) are
counted. Events go through records' and evaluation's REAL handlers on migrated SQLite databases."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import shutil

import pytest
import yaml
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import settings
from services.common.db import DatabaseAccess, make_engine
from services.common.migrations import upgrade
from services.common.outbox import OutboxMessage
from services.common.scope import Scope
from services.common.seeded_draw import derive_seed, partial_shuffle
from services.evaluation.models import Fact
from services.evaluation.service import EvaluationService
from services.records.domain import casefile_review as rules
from services.records.ledger import Ledger
from services.records.service import RecordsService
from tests.evaluation import year as Y
from tests.handlers import Deliverer
from tests.integration import events as ev

CHINA = dt.timezone(dt.timedelta(hours=8))
A = {"region_code": "320412", "body_id": "320412-SCJG", "system": "wj-scjg"}
B = {"region_code": "320411", "body_id": "320411-ZRZY", "system": "xb-zrzy"}
SUPERVISOR = Scope("320400", None).as_dict()
REVIEWER_B = Scope("320411", frozenset({"320411-ZRZY"})).as_dict()     # a reviewer working for body B
ARCHIVED = dt.datetime(2026, 5, 11, 10, 0, tzinfo=CHINA)
CLOCK = "2026-11-20T10:00:00+08:00"


def full_marks(action_type="penalty", **deductions):
    out = {c.code: {"points": c.points} for c in rules.load_review_rules().sheet(action_type)}
    for code, (points, reason) in deductions.items():
        out[code] = {"points": points, "reason": reason}
    return out


@pytest.fixture
def records(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIFA_CLOCK", CLOCK)
    url = f"sqlite:///{tmp_path / 'records.db'}"
    upgrade("records", url)
    engine = make_engine(url)
    deliverer = Deliverer(RecordsService, engine, ledger=Ledger())

    def rpc(action, scope, actor, data):
        worker = worker_factory(RecordsService, db=DatabaseAccess(deliverer.provider, "records.case_file_review"),
                                ledger=Ledger())
        return worker.case_file_review(action, scope, actor, data)

    deliverer.rpc, deliverer.engine = rpc, engine
    for body, n in ((A, 5), (B, 2)):
        for i in range(n):
            case_id = f"{body['body_id']}-2026-{i:03d}"
            for env in (ev.case_opened(case_id, body=body, at=ARCHIVED - dt.timedelta(days=30)),
                        ev.case_archived(case_id, at=ARCHIVED + dt.timedelta(days=i), body=body)):
                assert deliverer.deliver(env).outcome == "applied", env["event_type"]
    # a file archived in another year is not in the 2026 population
    old = f"{A['body_id']}-2025-999"
    for env in (ev.case_opened(old, body=A, at=dt.datetime(2025, 3, 1, tzinfo=CHINA)),
                ev.case_archived(old, at=dt.datetime(2025, 6, 1, tzinfo=CHINA), body=A)):
        assert deliverer.deliver(env).outcome == "applied"
    yield deliverer
    engine.dispose()


def outbox(engine, event_type):
    with Session(engine) as s:
        return [json.loads(m.envelope) for m in s.scalars(select(OutboxMessage).where(
            OutboxMessage.event_type == event_type).order_by(OutboxMessage.id))]


def test_rec7_sample_is_seeded_reproducible_and_per_body(records):
    """REC-7: 3 files of body A (of 5) and both of body B (fewer than 3) are drawn; the selection is the
    shared 双随机 algorithm over the published population (anyone recomputes it), a second draw of the
    year is refused, and a file archived in 2025 is not in the 2026 population."""
    drawn = records.rpc("draw", SUPERVISOR, "sup-1", {"year": 2026, "public_value": "2026-11-20 体彩 07 12 25"})
    assert "error" not in drawn, drawn
    assert drawn["verified"] is True
    assert {b: len(c) for b, c in drawn["selected"].items()} == {A["body_id"]: 3, B["body_id"]: 2}
    assert f"{A['body_id']}-2025-999" not in drawn["population"][A["body_id"]]
    seed = derive_seed(drawn["draw_id"], "2026-11-20 体彩 07 12 25")
    assert drawn["selected"][A["body_id"]] == partial_shuffle(
        seed, sorted(drawn["population"][A["body_id"]]), 3, f"casefile|{A['body_id']}")
    again = rules.draw_sample(drawn["draw_id"], "2026-11-20 体彩 07 12 25", drawn["population"], 3)
    assert again.selected == drawn["selected"] and again.population_digest == drawn["population_digest"]
    other = rules.draw_sample(drawn["draw_id"], "another value", drawn["population"], 3)
    assert other.seed_hex != drawn["seed_hex"]
    assert records.rpc("draw", SUPERVISOR, "sup-1", {"year": 2026, "public_value": "x"})["error"]["code"] \
        == "already_drawn"
    # fail closed: a body-bound principal cannot draw, a region outside the scope is refused
    assert records.rpc("draw", REVIEWER_B, "r", {"year": 2026, "public_value": "x"})["error"]["status"] == 403
    assert records.rpc("draw", Scope("320500", None).as_dict(), "s", {"year": 2026, "region_code": "320400",
                                                                     "public_value": "x"})["error"]["status"] == 403


def test_rec7_reviewer_never_reviews_own_body_and_sheet_needs_reasons(records):
    """REC-7: assigning a file of body B to a reviewer of body B is refused (回避); the assigned reviewer of
    body B scores a file of body A; a deduction without a reason and a missing item are refused; only the
    assigned reviewer may score; a scored file is final."""
    drawn = records.rpc("draw", SUPERVISOR, "sup-1", {"year": 2026, "public_value": "42"})
    review_a = next(r for r in drawn["reviews"] if r["body_id"] == A["body_id"])
    review_b = next(r for r in drawn["reviews"] if r["body_id"] == B["body_id"])
    own = records.rpc("assign", SUPERVISOR, "sup-1", {"review_id": review_b["review_id"], "reviewer": "rev-b",
                                                      "reviewer_body_id": B["body_id"]})
    assert own["error"]["code"] == "own_body"
    assigned = records.rpc("assign", SUPERVISOR, "sup-1", {"review_id": review_a["review_id"], "reviewer": "rev-b",
                                                           "reviewer_body_id": B["body_id"]})
    assert assigned["status"] == "assigned"
    assert records.rpc("assign", REVIEWER_B, "rev-b", {"review_id": review_a["review_id"], "reviewer": "rev-b",
                                                       "reviewer_body_id": B["body_id"]})["error"]["status"] == 404
    mine = records.rpc("assigned_to_me", REVIEWER_B, "rev-b", {})["reviews"]
    assert [r["review_id"] for r in mine] == [review_a["review_id"]]
    assert any(i["code"] == "hearing_notice" for i in mine[0]["sheet"])        # penalty sheet
    bad = full_marks(facts_evidence=(20, ""))
    assert "扣分须说明理由" in records.rpc("score", REVIEWER_B, "rev-b", {"review_id": review_a["review_id"],
                                                                        "items": bad})["error"]["message"]
    partial = full_marks()
    partial.pop("documents")
    assert records.rpc("score", REVIEWER_B, "rev-b", {"review_id": review_a["review_id"],
                                                      "items": partial})["error"]["status"] == 422
    assert records.rpc("score", SUPERVISOR, "sup-1", {"review_id": review_a["review_id"],
                                                      "items": full_marks()})["error"]["status"] == 404
    done = records.rpc("score", REVIEWER_B, "rev-b", {"review_id": review_a["review_id"],
                                                      "items": full_marks(facts_evidence=(15, "询问笔录未经当事人签字"))})
    assert done["score"] == "90.00" and done["passed"] is True and done["failed_items"] == ["facts_evidence"]
    assert records.rpc("score", REVIEWER_B, "rev-b", {"review_id": review_a["review_id"],
                                                      "items": full_marks()})["error"]["code"] == "already_scored"
    [event] = outbox(records.engine, "record.case_file_reviewed")
    assert event["body_id"] == A["body_id"] and event["payload"]["items"][1]["reason"] == "询问笔录未经当事人签字"


def test_rec7_config_file_criteria_change_the_score_sheet(records, tmp_path, monkeypatch):
    """REC-7: the score sheet is config/records/case_file_review.yaml — a criterion added there is on the
    sheet and must be scored; without it the same marks score 100."""
    path = shutil.copy(settings.ROOT / "config" / "records" / "case_file_review.yaml", tmp_path / "cfr.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["criteria"].append({"code": "legal_review", "name": "重大执法决定经法制审核", "points": 10})
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    marks = full_marks()
    assert rules.score_sheet(rules.load_review_rules(), "penalty", marks).score == 100
    monkeypatch.setattr(rules, "DEFAULT_REVIEW_FILE", path)
    assert "legal_review" in {c.code for c in rules.load_review_rules().sheet("penalty")}
    with pytest.raises(rules.ReviewError, match="legal_review"):
        rules.score_sheet(rules.load_review_rules(), "penalty", marks)


def _score_all(records, drawn, deductions):
    """Assign every file to a reviewer of the other body and score it with ``deductions(review)``."""
    events = []
    for r in drawn["reviews"]:
        other = B if r["body_id"] == A["body_id"] else A
        reviewer = f"rev-{other['body_id']}"
        assert records.rpc("assign", SUPERVISOR, "sup-1", {"review_id": r["review_id"], "reviewer": reviewer,
                                                           "reviewer_body_id": other["body_id"]})["status"] == "assigned"
        scope = Scope(other["region_code"], frozenset({other["body_id"]})).as_dict()
        result = records.rpc("score", scope, reviewer, {"review_id": r["review_id"],
                                                        "items": full_marks(**deductions(r))})
        assert "error" not in result, result
    events = outbox(records.engine, "record.case_file_reviewed")
    assert len(events) == len(drawn["reviews"])
    return events


def test_rec7_results_feed_the_evaluation_indicator_in_any_arrival_order_and_weak_links(records, tmp_path,
                                                                                      monkeypatch):
    """REC-7 → EVAL-2: each scored file is one 案卷评查 fact of its body in evaluation (through evaluation's
    real handler), the same facts in every arrival order with a redelivered copy; the CASE_FILE_REVIEW
    indicator of body A is the average of its files' scores (it was typed in by hand before); the weak
    links rank 'procedure' (failed in every file) first, per body and per action type."""
    drawn = records.rpc("draw", SUPERVISOR, "sup-1", {"year": 2026, "public_value": "7"})

    def deductions(r):
        d = {"procedure": (10, "未告知陈述申辩权利")}
        if r["body_id"] == A["body_id"] and r["position"] == 0:
            d["documents"] = (4, "文书缺少文号")
        return d

    events = _score_all(records, drawn, deductions)
    links = records.rpc("weak_links", SUPERVISOR, "sup-1", {"year": 2026})
    assert links["files"] == 5
    assert links["items"][0] == {"code": "procedure", "name": rules.load_review_rules().name_of("procedure"),
                                 "failed": 5, "reviewed": 5, "rate": "100.0"}
    assert links["items"][1]["code"] == "documents" and links["items"][1]["failed"] == 1
    assert links["by_body"][A["body_id"]][0] == {"code": "procedure", "name": links["items"][0]["name"], "failed": 3}
    assert links["by_action_type"]["penalty"][0]["failed"] == 5
    assert records.rpc("weak_links", REVIEWER_B, "r", {"year": 2026})["files"] == 2    # its own body only

    a_events = [e for e in events if e["body_id"] == A["body_id"]]
    scores = sorted(float(e["payload"]["score"]) for e in a_events)
    assert scores == [84.0, 90.0, 90.0]
    states = set()
    for n, order in enumerate(itertools.permutations(range(3))):
        url = f"sqlite:///{tmp_path / f'evaluation-{n}.db'}"
        upgrade("evaluation", url)
        engine = make_engine(url)
        try:
            evaluation = Deliverer(EvaluationService, engine)
            assert evaluation.deliver(Y.body_registered(Y.A, dt.datetime(2024, 1, 2, tzinfo=CHINA))).outcome == "applied"
            arrivals = [a_events[i] for i in order] + [a_events[order[0]]]
            outcomes = [evaluation.deliver(e).outcome for e in arrivals]
            assert outcomes == ["applied"] * 3 + ["duplicate"], outcomes
            with Session(engine) as s:
                facts = tuple(sorted((f.kind, f.body_id, f.year, f.value) for f in s.scalars(select(Fact).where(
                    Fact.kind == "case_file_review_score"))))
            states.add(facts)
            worker = worker_factory(EvaluationService, db=DatabaseAccess(evaluation.provider, "evaluation.score_detail"))
            detail = worker.score_detail(SUPERVISOR, "body", A["body_id"], 2026)
            indicator = next(i for i in detail["indicators"] if i["code"] == "CASE_FILE_REVIEW")
            assert float(indicator["value"]) == pytest.approx(88.0), indicator
        finally:
            engine.dispose()
    assert states == {tuple(sorted(("case_file_review_score", A["body_id"], 2026, s) for s in scores))}
