"""Issue 16: evaluation's configuration files are read by production code — a value changed away from the
shipped one changes what the service does. Each test copies ``config/evaluation``, changes one value, points
the service at the copy the way production finds its files (``services/evaluation/configuration.CONFIG_DIR``,
read once into the running copies of ``engine.py``) and goes through evaluation's REAL handlers, RPCs and
periodic job (``tests/handlers.py``, a migrated SQLite database, ``ZHIFA_CLOCK``). Each is parametrised with
the shipped value too, so it cannot pass by the changed value equalling a default."""
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
from services.evaluation import configuration, engine as running
from services.evaluation.models import CaseRow
from services.evaluation.service import EvaluationService
from tests.config_support import spoil
from tests.evaluation import year as Y
from tests.handlers import Deliverer

CONFIG = settings.ROOT / "config"
SUPERVISOR = {"region_code": "320412", "bodies": "*"}
CACHES = (running.indicator_config, running.evaluator_rules, running.supervision_rules, running.detection_rules)


@pytest.fixture
def evaluation(tmp_path, monkeypatch):
    copy = tmp_path / "evaluation"
    shutil.copytree(CONFIG / "evaluation", copy)
    monkeypatch.setattr(configuration, "CONFIG_DIR", copy)
    monkeypatch.setattr(configuration, "INDICATORS_FILE", copy / "indicators.yaml")
    for cache in CACHES:
        cache.cache_clear()
    url = f"sqlite:///{tmp_path / 'evaluation.db'}"
    upgrade("evaluation", url)
    db_engine = make_engine(url)
    deliverer = Deliverer(EvaluationService, db_engine)

    def call(method, *args, clock):
        monkeypatch.setenv("ZHIFA_CLOCK", clock)
        worker = worker_factory(EvaluationService, db=DatabaseAccess(deliverer.provider, f"evaluation.{method}"))
        return getattr(worker, method)(*args)

    def change(name, keys, value):
        spoil(copy / name, keys, value)
        for cache in CACHES:
            cache.cache_clear()

    deliverer.call, deliverer.change = call, change
    assert deliverer.deliver(Y.body_registered(Y.A, Y.at(2025, 1, 2))).outcome == "applied"
    yield deliverer
    monkeypatch.undo()
    for cache in CACHES:
        cache.cache_clear()
    db_engine.dispose()


@pytest.mark.parametrize("days", [15, 5])
def test_issue16_supervision_yaml_sets_a_supervision_items_period(evaluation, days):
    """supervision.yaml ``working_days.suggestion`` (COORD-4, EVAL-9): an item issued is due that many working
    days later (15 shipped)."""
    evaluation.change("supervision.yaml", ("working_days", "suggestion"), days)
    item = evaluation.call("issue_item", SUPERVISOR, "gov-320412",
                           {"kind": "suggestion", "target_body_id": Y.A["body_id"], "subject": "案卷评查问题整改"},
                           clock="2026-11-02T10:00:00+08:00")
    assert item["deadline"]["working_days"] == days, item


@pytest.mark.parametrize("threshold, clues", [(50000, 1), (60000, 0)])
def test_issue16_rules_yaml_decides_which_fines_are_just_below_the_review_threshold(evaluation, threshold, clues):
    """rules.yaml FINE_JUST_BELOW_REVIEW_THRESHOLD ``thresholds.default`` (EVAL-9): two fines of 49,000 yuan are
    within 5% below the shipped 50,000 (a clue); not below 60,000 by less than 5% (no clue)."""
    evaluation.change("rules.yaml", ("rules", 1, "thresholds", "default"), threshold)
    for n in (1, 2):
        decided = Y.at(2026, 10, n + 5)
        assert evaluation.deliver(Y.decision(Y.A, f"{Y.A['body_id']}-2026-R{n}", decided, ["a1"], f"NO-R{n}",
                                             fine="49000.00")).outcome == "applied"
    result = evaluation.call("recompute", clock="2026-11-02T10:00:00+08:00")
    with Session(evaluation.provider.engine) as session:
        opened = [c for c in session.scalars(select(CaseRow).where(CaseRow.case_id.in_(result["clue_cases"])))
                  if "FINE_JUST_BELOW_REVIEW_THRESHOLD" in (c.origin_key or "") + c.data]
    assert len(opened) == clues, result["clue_cases"]


@pytest.mark.parametrize("superior, government", [(50, 50), (80, 20)])
def test_issue16_evaluators_yaml_weighs_a_dual_managed_bodys_two_scores(evaluation, superior, government):
    """evaluators.yaml ``dual.weights`` (EVAL-1): a 双重管理 body's total is the superior department's and the
    government's totals combined with the file's weights (50/50 shipped)."""
    evaluation.change("evaluators.yaml", ("dual", "weights"), {"superior_department": superior,
                                                               "government": government})
    dual = {"body_id": "320412-SWJ", "region_code": "320412", "name": "常州市武进区税务局", "system": "wj-swj"}
    start = Y.at(2025, 1, 2)
    reg = Y.body_registered(dual, start)
    reg["payload"].update({"management": "dual", "superior_body_id": "320400-SWJ"})
    assert evaluation.deliver(reg).outcome == "applied"
    assert evaluation.deliver(Y.officer_registered(dual, "s1", "王执法", start)).outcome == "applied"
    for n in range(6):
        case_id, when = f"{dual['body_id']}-D-{n}", Y.at(2026, 3, 2 + n)
        for env in (Y.decision(dual, case_id, when, ["s1"], f"NO-D{n}"), Y.published(dual, case_id, when)):
            assert evaluation.deliver(env).outcome == "applied"
    for evaluator, score in (("superior_department", 60), ("government", 100)):
        answer = evaluation.call("record_score", SUPERVISOR, "sup-1", {
            "kind": "case_file_review_score", "body_id": dual["body_id"], "score": score, "evaluator": evaluator,
            "recorded_on": "2026-03-10"}, clock="2026-03-20T10:00:00+08:00")
        assert answer.get("evaluator"), answer
    detail = evaluation.call("score_detail", SUPERVISOR, "body", dual["body_id"], 2026,
                             clock="2026-03-20T10:00:00+08:00")
    parts = {e["kind"]: float(e["total"]) for e in detail["evaluators"]}
    assert parts["superior_department"] < parts["government"]
    assert float(detail["total"]) == pytest.approx(
        (superior * parts["superior_department"] + government * parts["government"]) / 100, abs=0.01)


@pytest.mark.parametrize("min_evidence, graded", [(10, True), (1000, False)])
def test_issue16_indicators_yaml_sets_the_evidence_a_grade_needs(evaluation, min_evidence, graded):
    """indicators.yaml ``grading.body.min_evidence`` (EVAL-2, issue 16 "no grade without evidence"): a body with
    a dozen decisions, each published, is graded at the shipped 10 events, 数据不足 when 1000 are asked for."""
    evaluation.change("indicators.yaml", ("grading", "body", "min_evidence"), min_evidence)
    assert evaluation.deliver(Y.officer_registered(Y.A, "a1", "张执法", Y.at(2025, 1, 2))).outcome == "applied"
    for n in range(12):
        case_id, when = f"{Y.A['body_id']}-G-{n}", Y.at(2026, 3, 2 + n)
        for env in (Y.decision(Y.A, case_id, when, ["a1"], f"NO-G{n}"), Y.published(Y.A, case_id, when)):
            assert evaluation.deliver(env).outcome == "applied"
    evaluation.call("recompute", clock="2026-04-20T10:00:00+08:00")
    detail = evaluation.call("score_detail", SUPERVISOR, "body", Y.A["body_id"], 2026,
                             clock="2026-04-20T10:00:00+08:00")
    assert (detail.get("grade") not in (None, "", "数据不足", "insufficient_data")) is graded, detail
