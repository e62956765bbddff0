"""Scores and grades (评分、等次, EVAL-1…EVAL-4, EVAL-9): the year-to-date recomputation with the
detection rules and overdue supervision items (the periodic job), the totals, scores, evidence and
grades of a region or subject, scores entered by supervisors, the year's finalisation, the dashboard
and the annual report. Every answer stays inside the caller's scope (SEC-2, PLAT-1)."""
from __future__ import annotations

import json
import logging

from services.common import clock, tiers
from services.common.db import emit
from services.common.scope import Scope
from services.evaluation import domain as d
from services.evaluation import engine, metrics, reports, store, workflow
from services.evaluation.domain.accountability import FACT_KIND_TO_SOURCE
from services.evaluation.domain.evidence import evidence_facts
from services.evaluation.workflow import WorkflowError

from .deadlines import follow_calendar
from .shared import day, scoped, today_in_china

log = logging.getLogger(__name__)
PERIODIC_LEASE = "evaluation.periodic"


def run_periodic(db, interval: float) -> None:
    """The leased periodic job: one replica recomputes; a failure is logged and the next run tries again."""
    if not db.acquire_lease(PERIODIC_LEASE, interval * 0.9):
        return
    try:
        recompute(db)
    except Exception:  # keep the timer alive; the next run tries again
        log.exception("evaluation periodic job failed")


def recompute(db, region_code=None) -> dict:
    """Recompute year-to-date grades (persisted per day), open clue cases from the detection rules
    (EVAL-9), flag overdue supervision items and refresh the metrics — as of today by the suite's
    clock: a caller cannot choose the day (a future one marked items overdue for good, SEC-2). First, when
    the working-day calendar changed, the open items' deadlines are counted again (PLAT-6, issue 16)."""
    moved = follow_calendar(db, clock.now())
    today = today_in_china()
    year = today.year
    with db.session() as session:
        gaps = workflow.settle_record_gaps(session, today)   # EVAL-6: gaps final by the suite's clock
        results = engine.evaluate(session, region_code, year, today)
        counts = workflow.record_ytd(session, results, today, year)
        # at a province, the detection rules run over what it judges itself (issue 23)
        facts = [f for f in store.domain_facts(session, region_code, year) if tiers.judged_here(f.region_code)]
        clues = [c for c in d.detect(facts, engine.detection_rules(), today)
                 if not (c.rule_code == "OVERDUE_STEP" and opened_from_fact(facts, c))]
        opened = workflow.open_cases_from_clues(session, clues)
        overdue = workflow.flag_overdue_items(session, today, region_code)
    refresh_metrics(db, today)
    return {"as_of": today.isoformat(), "grades": counts, "clue_cases": opened, "overdue_items": overdue,
            "record_gaps": gaps, "item_deadlines_moved": moved}


def opened_from_fact(facts, clue) -> bool:
    """An OVERDUE_STEP clue on a fact kind that already opens a case by itself (no duplicate case)."""
    kinds = {f.kind for f in facts if f.event_id in clue.evidence}
    return bool(kinds & set(FACT_KIND_TO_SOURCE))


def refresh_metrics(db, today) -> None:
    """Grades (final where finalised, else the latest year-to-date), open cases and items, by city."""
    with db.session() as session:
        city = lambda code: code[:4] + "00" if len(code) >= 6 else code  # noqa: E731
        grades = []
        latest: dict = {}
        for r in store.grades_of_year(session, today.year):
            key = (r.subject_kind, r.subject_id)
            rank = (r.stage == "final", r.as_of)
            if key not in latest or rank > latest[key][0]:
                latest[key] = (rank, r)
        for _, r in latest.values():
            grades.append((city(r.region_code), r.subject_kind, r.grade, r.stage))
        cases = [(city(c.region_code), c.stage) for c in store.open_cases(session)]
        items = []
        for r in store.open_items(session):
            row = workflow.item_json(r, today)
            items.append((city(r.target_region), r.kind, row["flag"], row["overdue"]))
    metrics.refresh(grades, cases, items)


def summary(db, scope, region_code=None, year=None) -> dict:
    """Fact counts per body and kind for a region and everything under it (EVAL-2)."""
    region_code = scoped(scope, region_code)
    year = d.check_year(year or today_in_china().year, today_in_china())
    with db.session() as session:
        bodies = store.summary_counts(session, region_code, year)
    return {"region_code": region_code, "year": year, "bodies": bodies}


def city_judged(row) -> dict:
    """A subject a city judges, as the province shows it: the city's own final figures."""
    return {"subject_kind": row.subject_kind, "subject_id": row.subject_id, "body_id": row.body_id,
            "region_code": row.region_code, "year": row.year, "final": True, "stage": "final",
            "total": row.total, "by_total": row.by_total, "grade": row.grade,
            "reasons": json.loads(row.reasons or "[]"), "judged_by": row.city_code, "source": "city",
            "decided_by": row.decided_by, "event_id": row.event_id}


def scores(db, scope, region_code=None, year=None, subject_kind="body", as_of=None) -> dict:
    """Scores and grades of every body (or officer) of a region: year to date or final (EVAL-2…4)."""
    region = scoped(scope, region_code)
    today = today_in_china()
    year = int(year or today.year)
    as_of = day(as_of) or engine.as_of_for(year, today)
    with db.session() as session:
        results = engine.evaluate(session, region, year, as_of, with_officers=subject_kind == "officer")
        # at a province: the subjects its cities judge, with the cities' own final grades (issue 23)
        received = store.received_grades_in(session, region, year, subject_kind) if tiers.is_province() else []
    return {"region_code": region, "year": year, "as_of": as_of.isoformat() if as_of else None,
            "subjects": [r.as_json() for r in results if r.subject.kind == subject_kind]
            + [city_judged(row) for row in sorted(received, key=lambda r: r.subject_id)
               if not tiers.judged_here(row.region_code)]}


def subject_of(session, scope, subject_kind, subject_id, year):
    """The body or officer asked about, if in the caller's scope and judged by this suite."""
    if subject_kind not in ("body", "officer"):
        raise WorkflowError(422, "invalid", "subject_kind 应为 body 或 officer")
    info = engine.subject_info(session, subject_kind, subject_id, year)
    if info is None or not Scope.of(scope).covers(info.region_code, info.body_id):
        raise WorkflowError(404, "not_found", f"{subject_id} 不存在或不在您的管辖范围内")
    city = tiers.city_judging(info.region_code)
    if city is not None:
        raise WorkflowError(409, "judged_by_city", f"{subject_id} 由 {city} 市级系统评议考核，省级不重复评分；"
                                                   "其最终等次见 received-grades")
    return info


def score_detail(db, scope, subject_kind, subject_id, year=None, as_of=None) -> dict:
    """One subject's indicators (value, score, weight, evidence count), grade, vetoes, caps, evaluators."""
    today = today_in_china()
    year = int(year or today.year)
    as_of = day(as_of) or engine.as_of_for(year, today)
    with db.session() as session:
        info = subject_of(session, scope, subject_kind, subject_id, year)
        result, _ = engine.evaluate_subject(session, info, year, as_of)
        final = engine.final_grade(session, subject_kind, subject_id, year)
        history = store.final_grade_history(session, subject_kind, subject_id)
    out = result.as_json(evidence=True)
    out["final_grade"] = engine.grade_json(final) if final else None
    out["history"] = [{"year": y, "total": t, "grade": g} for y, t, g in history]
    return out


def evidence(db, scope, subject_kind, subject_id, year, code, as_of=None) -> dict:
    """Traceability: an indicator's score → the facts behind it with their event ids, types and dates."""
    today = today_in_china()
    year = int(year or today.year)
    as_of = day(as_of) or engine.as_of_for(year, today)
    with db.session() as session:
        info = subject_of(session, scope, subject_kind, subject_id, year)
        result, facts = engine.evaluate_subject(session, info, year, as_of)
    try:
        indicator = result.score.indicator(code)
    except KeyError:
        raise WorkflowError(404, "not_found", f"考核指标 {code} 不适用于 {subject_id}") from None
    definition = engine.indicator_config().set_named(result.score.set_name).indicator(code)
    return {"subject_kind": subject_kind, "subject_id": subject_id, "year": year,
            "as_of": as_of.isoformat() if as_of else None, "set_name": result.score.set_name,
            "indicator": engine.indicator_json(indicator, evidence=True), "formula": definition.formula(),
            "facts": evidence_facts(facts, indicator.evidence, definition.fact_kinds)}


def grades(db, scope, region_code=None, year=None, stage="final") -> dict:
    """Persisted grades of a year (final, or the latest year-to-date ones)."""
    region = scoped(scope, region_code)
    year = d.check_year(year or today_in_china().year, today_in_china())
    with db.session() as session:
        latest = {}
        for r in store.grades_in(session, region, year, stage):
            latest[(r.subject_kind, r.subject_id)] = r
        return {"region_code": region, "year": year, "stage": stage,
                "grades": [engine.grade_json(r) for r in latest.values()]}


def finalise_year(db, scope, year, actor, region_code=None) -> dict:
    """Final grades of a year for the bodies the caller evaluates, and their consequences (EVAL-1, EVAL-4).
    "Today" (whether the year has ended) is the suite's clock's, never a caller's."""
    region = scoped(scope, region_code)
    city = tiers.city_judging(region)
    if city is not None:      # a province never finalises a linked city's year (issue 23, EVAL-1, PLAT-1)
        raise WorkflowError(409, "judged_by_city", f"{region} 的年度考核由 {city} 市级系统确定最终等次，"
                                                   "省级不代为确定；其最终等次见 received-grades")
    d.check_year(year, today_in_china())
    with db.session() as session:
        workflow.settle_record_gaps(session, today_in_china())   # EVAL-6: gaps final by now count
        return workflow.finalise_year(session, region, int(year), actor, today_in_china())


def record_score(db, scope, actor, data) -> dict:
    """A special-check / case-file-review score of a body, or a special-test score of an officer,
    entered by a supervisor: emitted as ``evaluation.score_recorded`` — its event id is the evidence."""
    kind = data["kind"]
    on = day(data.get("recorded_on")) or today_in_china()
    if on > today_in_china():   # the day a score was given, never a future one (SEC-2: no chosen "today")
        raise WorkflowError(422, "invalid", "评分日期不能晚于今天")
    with db.session() as session:
        if kind == "special_test_score":
            if not data.get("officer_id"):
                raise WorkflowError(422, "invalid", "专门考核须注明执法人员 officer_id")
            info = subject_of(session, scope, "officer", data["officer_id"], on.year)
        else:
            info = subject_of(session, scope, "body", data["body_id"], on.year)
        body_id = info.body_id
        evaluator = workflow.entered_by(info, data.get("evaluator"), kind)   # EVAL-1: whose score
        payload = {"kind": kind, "officer_id": data.get("officer_id") if kind == "special_test_score" else None,
                   "score": data["score"], "recorded_on": on, "recorded_by": actor, "note": data.get("note")}
        event_id = emit(session, "evaluation.score_recorded", payload, region_code=info.region_code,
                        body_id=body_id)
        store.add_score_fact(session, event_id, kind, info.region_code, body_id, payload["officer_id"], on,
                             data["score"], data["note"] if data.get("note") else None, evaluator)
    return {"event_id": event_id, "kind": kind, "subject_id": info.subject_id, "score": str(data["score"]),
            "recorded_on": on.isoformat(), "evaluator": evaluator}


def dashboard(db, scope, region_code=None, year=None) -> dict:
    region = scoped(scope, region_code)
    today = today_in_china()
    with db.session() as session:
        return reports.dashboard(session, region, int(year or today.year), today)


def annual_report(db, scope, region_code=None, year=None) -> dict:
    region = scoped(scope, region_code)
    today = today_in_china()
    with db.session() as session:
        return reports.annual_report(session, region, int(year or today.year), today)
