"""evaluation service (评议考核、责任追究): facts from every service's events, indicators, grades,
consequences, accountability cases and supervision items (EVAL-1 … EVAL-9, COORD-3, COORD-4).

Thin nameko entrypoints: the event handlers are generated from ``facts_map.RULES`` (one line per
consumed event), the rules are the pure domain, persistence is ``store`` / ``engine`` / ``workflow``.
Every RPC takes the caller's scope (region and bodies, ``services/common/scope.py``) and answers only
inside it (SEC-2, PLAT-1): views over a whole region (totals, rankings, grades, the dashboard) need
every body of the region; a body's own things (its scores, cases, supervision items) need that body.
Jobs take their day from the suite's clock, never a caller.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import logging

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select

from services.common import clock, federation, links, ownership, settings, tiers
from services.common.links import HEARTBEAT
from services.common.db import Database, emit
from services.common.batching import batched_event_handler
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS, InvalidEvent
from services.common.identifiers import is_region_code
from services.common.metrics import Metrics
from services.common.scope import Scope
from services.evaluation import domain as d
from services.evaluation import engine, metrics, reports, workflow
from services.evaluation.facts_map import FactRule, active_rules
from services.evaluation.models import (
    ReceivedDirective,
    ReceivedGradeRow,
    CaseRow,
    ConsequenceRow,
    Fact,
    GradeRow,
    SupervisionRow,
)
from services.evaluation.store import (
    Registry,
    backfill_case_officers,
    domain_facts,
    evidence_facts,
    in_region,
    insert_facts,
    preload_fact_keys,
    jdump,
    retro_certificate_violations,
    summary_counts,
)
from services.evaluation.workflow import WorkflowError

log = logging.getLogger(__name__)
CHINA = dt.timezone(dt.timedelta(hours=8))
JOB_INTERVAL = settings.get("ZHIFA_EVALUATION_INTERVAL")

#: registry updates applied before an event's facts are drawn
REGISTRY_UPDATES = {"officer.registered": Registry.officer_registered,
                    "certificate.status_changed": Registry.certificate_changed}


def today_in_china() -> dt.date:
    """Today in China from the suite's clock (services/common/clock.py)."""
    return clock.today()


def _day(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _err(status: int, code: str, message: str) -> dict:
    return {"error": code, "status": status, "message": message}


def _scoped(scope, region_code: str | None) -> str:
    """The region asked for (default: the caller's), if the caller may see ALL of it: a region-wide
    view needs every body of the region (SEC-2: a scope narrowed to bodies, or none, is refused)."""
    scope = Scope.of(scope)
    region = region_code or scope.region_code
    if not (region and is_region_code(region) and scope.covers_region(region)):
        raise WorkflowError(403, "out_of_scope", f"无权访问行政区划 {region} 的数据")
    if not scope.all_bodies:
        raise WorkflowError(403, "out_of_scope", "区域汇总须具有本行政区划全部执法主体的访问范围")
    return region


def answers(fn):
    """RPC methods return ``{"error", "status", "message"}`` for a refusal instead of raising."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except WorkflowError as exc:
            return exc.as_json()
    return wrapper


class EvaluationService:
    name = "evaluation"
    db = Database(case_ownership=True)   # SEC-2: only a case's owner may act on it
    metrics = Metrics()

    # -- events → facts ---------------------------------------------------------------------------
    def _apply(self, event, rule: FactRule):
        with self.db.effect_of(event) as session:
            registry = Registry(session)
            update = REGISTRY_UPDATES.get(event.event_type)
            if update:
                update(registry, event)
            try:
                rows = insert_facts(session, event, rule.facts(event, registry))
            except ValueError as exc:  # a fact the domain refuses (e.g. a value out of range)
                raise InvalidEvent(f"{event.event_type}: {exc}") from None
            if event.event_type == "decision.made":
                backfill_case_officers(session, event.case_id, list(event.payload.get("officer_ids") or []))
            if event.event_type == "certificate.status_changed" and event.payload["status"] != "valid":
                rows += retro_certificate_violations(session, event.payload["officer_id"])
            workflow.open_cases_from_facts(session, rows)

    @batched_event_handler(DEPARTMENTS, "case.transferred", group="facts")
    def on_case_transferred(self, event):
        """SEC-2: from the transfer on, the case's decisions count for its new body."""
        with self.db.effect_of(event) as session:
            ownership.record_transfer(session, event, dt.datetime.now(dt.timezone.utc))

    @event_handler(DEPARTMENTS, "body.registered")
    def on_body_registered(self, event):
        with self.db.effect_of(event) as session:
            Registry(session).body_registered(event)

    @event_handler(DEPARTMENTS, "power.published")
    def on_power_published(self, event):
        with self.db.effect_of(event) as session:
            Registry(session).power_published(event)

    # -- periodic job -----------------------------------------------------------------------------
    @timer(interval=JOB_INTERVAL)
    def periodic(self):
        """Year-to-date grades, detection rules, overdue supervision items, metrics (leased)."""
        if not self.db.acquire_lease("evaluation.periodic", JOB_INTERVAL * 0.9):
            return
        try:
            self.recompute()
        except Exception:  # keep the timer alive; the next run tries again
            log.exception("evaluation periodic job failed")

    @rpc
    def recompute(self, region_code=None):
        """Recompute year-to-date grades (persisted per day), open clue cases from the detection rules
        (EVAL-9), flag overdue supervision items and refresh the metrics — as of today by the suite's
        clock: a caller cannot choose the day (a future one marked items overdue for good, SEC-2)."""
        today = today_in_china()
        year = today.year
        with self.db.session() as session:
            results = engine.evaluate(session, region_code, year, today)
            counts = workflow.record_ytd(session, results, today, year)
            # at a province, the detection rules run over what it judges itself (issue 23)
            facts = [f for f in domain_facts(session, region_code, year) if tiers.judged_here(f.region_code)]
            clues = [c for c in d.detect(facts, engine.detection_rules(), today)
                     if not (c.rule_code == "OVERDUE_STEP" and _opened_from_fact(facts, c))]
            opened = workflow.open_cases_from_clues(session, clues)
            overdue = workflow.flag_overdue_items(session, today, region_code)
        self._refresh_metrics(today)
        return {"as_of": today.isoformat(), "grades": counts, "clue_cases": opened, "overdue_items": overdue}

    def _refresh_metrics(self, today: dt.date) -> None:
        with self.db.session() as session:
            city = lambda code: code[:4] + "00" if len(code) >= 6 else code  # noqa: E731
            grades = []
            rows = session.execute(select(GradeRow).where(GradeRow.year == today.year)).scalars().all()
            latest: dict = {}
            for r in rows:  # final where finalised, else the latest year-to-date grade
                key = (r.subject_kind, r.subject_id)
                rank = (r.stage == "final", r.as_of)
                if key not in latest or rank > latest[key][0]:
                    latest[key] = (rank, r)
            for _, r in latest.values():
                grades.append((city(r.region_code), r.subject_kind, r.grade, r.stage))
            cases = [(city(c.region_code), c.stage) for c in session.execute(
                select(CaseRow).where(CaseRow.stage != "closed")).scalars()]
            items = []
            for r in session.execute(select(SupervisionRow).where(SupervisionRow.status != "closed")).scalars():
                row = workflow.item_json(r, today)
                items.append((city(r.target_region), r.kind, row["flag"], row["overdue"]))
        metrics.refresh(grades, cases, items)

    # -- tier links: heartbeats and buffer depths (issue 23) --------------------------------------
    @timer(interval=links.interval() or 3600)
    def link_heartbeat(self):
        """Every few seconds, a heartbeat over each of this suite's tier links, and its buffers' depths."""
        if not links.interval():
            return
        try:
            links.beat(settings.amqp_uri())
        except Exception as exc:  # noqa: BLE001 - the broker is away: the other end's alert says so
            log.warning("link heartbeat not sent: %s", exc)

    @event_handler(federation.UPWARD_EXCHANGE, HEARTBEAT)
    @event_handler(federation.DOWNWARD_EXCHANGE, HEARTBEAT)
    def on_link_heartbeat(self, event):
        """A heartbeat over a link (its origin was checked by the entrypoint): its transit time."""
        links.received(event)

    # -- directives from the tier above (COORD-4, downward link) ----------------------------------
    @event_handler(federation.DOWNWARD_EXCHANGE, "evaluation.supervision_issued")
    def on_directive_received(self, event):
        """A supervision item the province issued to a body of this city arrives over the link."""
        p = event.payload
        with self.db.effect_of(event) as session:
            if session.get(ReceivedDirective, p["item_id"]) is None:
                session.add(ReceivedDirective(
                    item_id=p["item_id"], event_id=event.event_id, kind=p["kind"], issuer_region=p["issuer_region"],
                    target_body_id=event.body_id, target_region=event.region_code, subject=p["subject"],
                    due_on=p["due_on"], due_provisional=p["due_provisional"],
                    received_at=dt.datetime.now(dt.timezone.utc)))     # when it arrived, not when issued

    @rpc
    @answers
    def received_directives(self, scope):
        """Directives from the tier above for the bodies in the caller's scope (region and bodies)."""
        scope = Scope.of(scope)
        with self.db.session() as session:
            rows = session.execute(select(ReceivedDirective).order_by(ReceivedDirective.due_on)).scalars()
            return [{"item_id": r.item_id, "kind": r.kind, "issuer_region": r.issuer_region,
                     "target_body_id": r.target_body_id, "target_region": r.target_region, "subject": r.subject,
                     "due_on": r.due_on.isoformat(), "due_provisional": r.due_provisional,
                     "received_at": r.received_at.isoformat() if r.received_at else None}
                    for r in rows if scope.covers(r.target_region, r.target_body_id)]

    # -- final grades from the cities (EVAL-4, PLAT-1, upward link) ------------------------------
    @event_handler(federation.UPWARD_EXCHANGE, "evaluation.grade_finalised")
    def on_city_grade(self, event):
        """A city's final grade of a body or officer arrives at the province: kept once per subject and
        year (the latest finalisation wins), shown per city by ``received_grades``."""
        p = event.payload
        try:
            incoming = d.ReceivedGrade(
                subject_kind=p["subject_kind"], subject_id=p["subject_id"], year=p["year"],
                region_code=event.region_code, body_id=event.body_id, total=p["total"], by_total=p["by_total"],
                grade=p["grade"], finalised_at=event.occurred_at, decided_by=p["decided_by"],
                reasons=tuple(p.get("reasons") or ()), event_id=event.event_id)
        except ValueError as exc:
            raise InvalidEvent(f"evaluation.grade_finalised: {exc}") from None
        with self.db.effect_of(event) as session:
            row = session.get(ReceivedGradeRow, incoming.key, with_for_update=True)
            if row is not None and not d.supersedes(incoming, _received_grade(row)):
                return
            if row is None:
                row = ReceivedGradeRow(subject_kind=incoming.subject_kind, subject_id=incoming.subject_id,
                                       year=incoming.year)
                session.add(row)
            row.region_code, row.city_code, row.body_id = incoming.region_code, incoming.city_code, incoming.body_id
            row.total, row.by_total, row.grade = str(incoming.total), incoming.by_total, incoming.grade
            row.reasons, row.decided_by = jdump(list(incoming.reasons)), incoming.decided_by[:100]
            row.event_id, row.finalised_at = incoming.event_id, incoming.finalised_at
            row.received_at = dt.datetime.now(dt.timezone.utc)

    @rpc
    @answers
    def received_grades(self, scope, region_code=None, year=None):
        """The cities' final grades received over the upward link, per city, in the caller's scope."""
        region = _scoped(scope, region_code)
        year = int(year or today_in_china().year)
        with self.db.session() as session:
            rows = session.execute(select(ReceivedGradeRow).where(
                in_region(ReceivedGradeRow.region_code, region), ReceivedGradeRow.year == year)).scalars().all()
            grades = [_received_grade(r) for r in rows]
        return {"region_code": region, "year": year, "cities": d.by_city(grades)}

    # -- RPC: facts, scores, evidence -------------------------------------------------------------
    @rpc
    @answers
    def summary(self, scope, region_code=None, year=None):
        """Fact counts per body and kind for a region and everything under it (EVAL-2)."""
        region_code = _scoped(scope, region_code)
        year = year or today_in_china().year
        with self.db.session() as session:
            bodies = summary_counts(session, region_code, year)
        return {"region_code": region_code, "year": year, "bodies": bodies}

    @rpc
    @answers
    def scores(self, scope, region_code=None, year=None, subject_kind="body", as_of=None):
        """Scores and grades of every body (or officer) of a region: year to date or final (EVAL-2…4)."""
        region = _scoped(scope, region_code)
        today = today_in_china()
        year = int(year or today.year)
        as_of = _day(as_of) or engine.as_of_for(year, today)
        with self.db.session() as session:
            results = engine.evaluate(session, region, year, as_of, with_officers=subject_kind == "officer")
            # at a province: the subjects its cities judge, with the cities' own final grades (issue 23)
            received = session.execute(select(ReceivedGradeRow).where(
                in_region(ReceivedGradeRow.region_code, region), ReceivedGradeRow.year == year,
                ReceivedGradeRow.subject_kind == subject_kind)).scalars().all() if tiers.is_province() else []
        return {"region_code": region, "year": year, "as_of": as_of.isoformat() if as_of else None,
                "subjects": [r.as_json() for r in results if r.subject.kind == subject_kind]
                + [_city_judged(row) for row in sorted(received, key=lambda r: r.subject_id)
                   if not tiers.judged_here(row.region_code)]}

    def _subject(self, session, scope, subject_kind, subject_id, year):
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

    @rpc
    @answers
    def score_detail(self, scope, subject_kind, subject_id, year=None, as_of=None):
        """One subject's indicators (value, score, weight, evidence count), grade, vetoes, caps, evaluators."""
        today = today_in_china()
        year = int(year or today.year)
        as_of = _day(as_of) or engine.as_of_for(year, today)
        with self.db.session() as session:
            info = self._subject(session, scope, subject_kind, subject_id, year)
            result, _ = engine.evaluate_subject(session, info, year, as_of)
            final = engine.final_grade(session, subject_kind, subject_id, year)
            history = session.execute(select(GradeRow.year, GradeRow.total, GradeRow.grade).where(
                GradeRow.subject_kind == subject_kind, GradeRow.subject_id == subject_id,
                GradeRow.stage == "final").order_by(GradeRow.year)).all()
        out = result.as_json(evidence=True)
        out["final_grade"] = engine.grade_json(final) if final else None
        out["history"] = [{"year": y, "total": t, "grade": g} for y, t, g in history]
        return out

    @rpc
    @answers
    def evidence(self, scope, subject_kind, subject_id, year, code, as_of=None):
        """Traceability: an indicator's score → the facts behind it with their event ids, types and dates."""
        today = today_in_china()
        year = int(year or today.year)
        as_of = _day(as_of) or engine.as_of_for(year, today)
        with self.db.session() as session:
            info = self._subject(session, scope, subject_kind, subject_id, year)
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

    @rpc
    @answers
    def grades(self, scope, region_code=None, year=None, stage="final"):
        """Persisted grades of a year (final, or the latest year-to-date ones)."""
        region = _scoped(scope, region_code)
        year = int(year or today_in_china().year)
        with self.db.session() as session:
            rows = session.execute(select(GradeRow).where(
                in_region(GradeRow.region_code, region), GradeRow.year == year, GradeRow.stage == stage)
                .order_by(GradeRow.subject_kind, GradeRow.subject_id, GradeRow.as_of)).scalars().all()
            latest = {}
            for r in rows:
                latest[(r.subject_kind, r.subject_id)] = r
            return {"region_code": region, "year": year, "stage": stage,
                    "grades": [engine.grade_json(r) for r in latest.values()]}

    # -- RPC: finalising, consequences, scores entered by supervisors -----------------------------
    @rpc
    @answers
    def finalise_year(self, scope, year, actor, region_code=None):
        """Final grades of a year for the bodies the caller evaluates, and their consequences (EVAL-1, EVAL-4).
        "Today" (whether the year has ended) is the suite's clock's, never a caller's."""
        region = _scoped(scope, region_code)
        city = tiers.city_judging(region)
        if city is not None:      # a province never finalises a linked city's year (issue 23, EVAL-1, PLAT-1)
            raise WorkflowError(409, "judged_by_city", f"{region} 的年度考核由 {city} 市级系统确定最终等次，"
                                                       "省级不代为确定；其最终等次见 received-grades")
        with self.db.session() as session:
            return workflow.finalise_year(session, region, int(year), actor, today_in_china())

    @rpc
    @answers
    def list_consequences(self, scope, year=None, status=None):
        today = today_in_china()
        with self.db.session() as session:
            q = Scope.of(scope).where(select(ConsequenceRow), ConsequenceRow.region_code, ConsequenceRow.body_id)
            if year:
                q = q.where(ConsequenceRow.year == int(year))
            if status:
                q = q.where(ConsequenceRow.status == status)
            return {"consequences": [workflow.consequence_json(r, today) for r in
                                     session.execute(q.order_by(ConsequenceRow.id)).scalars()]}

    @rpc
    @answers
    def resolve_consequence(self, scope, consequence_id, actor, resolution):
        with self.db.session() as session:
            return workflow.resolve_consequence(session, Scope.of(scope), int(consequence_id), actor, resolution,
                                                today_in_china())

    @rpc
    @answers
    def record_score(self, scope, actor, data):
        """A special-check / case-file-review score of a body, or a special-test score of an officer,
        entered by a supervisor: emitted as ``evaluation.score_recorded`` — its event id is the evidence."""
        kind = data["kind"]
        on = _day(data.get("recorded_on")) or today_in_china()
        if on > today_in_china():   # the day a score was given, never a future one (SEC-2: no chosen "today")
            raise WorkflowError(422, "invalid", "评分日期不能晚于今天")
        with self.db.session() as session:
            if kind == "special_test_score":
                if not data.get("officer_id"):
                    raise WorkflowError(422, "invalid", "专门考核须注明执法人员 officer_id")
                info = self._subject(session, scope, "officer", data["officer_id"], on.year)
                body_id = info.body_id
            else:
                info = self._subject(session, scope, "body", data["body_id"], on.year)
                body_id = info.body_id
            payload = {"kind": kind, "officer_id": data.get("officer_id") if kind == "special_test_score" else None,
                       "score": data["score"], "recorded_on": on, "recorded_by": actor, "note": data.get("note")}
            event_id = emit(session, "evaluation.score_recorded", payload, region_code=info.region_code,
                            body_id=body_id)
            row = Fact(event_id=event_id, event_type="evaluation.score_recorded", kind=kind,
                       region_code=info.region_code, body_id=body_id, officer_id=payload["officer_id"], year=on.year,
                       occurred_on=on, value=float(data["score"]), seq=0, ref=None,
                       attrs=jdump({"note": data["note"]}) if data.get("note") else None)
            session.add(row)
        return {"event_id": event_id, "kind": kind, "subject_id": info.subject_id, "score": str(data["score"]),
                "recorded_on": on.isoformat()}

    # -- RPC: accountability cases (EVAL-6) -------------------------------------------------------
    @rpc
    @answers
    def list_cases(self, scope, status=None, body_id=None):
        with self.db.session() as session:
            q = Scope.of(scope).where(select(CaseRow), CaseRow.region_code, CaseRow.body_id)
            if status == "open":
                q = q.where(CaseRow.stage != "closed")
            elif status == "closed":
                q = q.where(CaseRow.stage == "closed")
            if body_id:
                q = q.where(CaseRow.body_id == body_id)
            return {"cases": [workflow.case_json(r, full=False)
                              for r in session.execute(q.order_by(CaseRow.opened_at.desc())).scalars()]}

    @rpc
    @answers
    def get_case(self, scope, case_id):
        with self.db.session() as session:
            return workflow.case_json(workflow.get_case(session, Scope.of(scope), case_id))

    @rpc
    @answers
    def open_case(self, scope, actor, data):
        with self.db.session() as session:
            return workflow.open_case_by_hand(session, Scope.of(scope), actor, data)

    @rpc
    @answers
    def case_action(self, scope, case_id, actor, action, data):
        with self.db.session() as session:
            return workflow.case_action(session, Scope.of(scope), case_id, actor, action, data or {})

    # -- RPC: supervision items (COORD-4) ---------------------------------------------------------
    @rpc
    @answers
    def list_items(self, scope, status=None, overdue=False):
        with self.db.session() as session:
            return {"items": workflow.list_items(session, Scope.of(scope), today_in_china(), status, bool(overdue))}

    @rpc
    @answers
    def issue_item(self, scope, actor, data):
        with self.db.session() as session:
            return workflow.issue_item(session, Scope.of(scope), actor, data, today_in_china())

    @rpc
    @answers
    def item_action(self, identity, item_id, action, data):
        with self.db.session() as session:
            return workflow.item_action(session, identity, item_id, action, data or {}, today_in_china())

    # -- RPC: dashboard and annual report ---------------------------------------------------------
    @rpc
    @answers
    def dashboard(self, scope, region_code=None, year=None):
        region = _scoped(scope, region_code)
        today = today_in_china()
        with self.db.session() as session:
            return reports.dashboard(session, region, int(year or today.year), today)

    @rpc
    @answers
    def annual_report(self, scope, region_code=None, year=None):
        region = _scoped(scope, region_code)
        today = today_in_china()
        with self.db.session() as session:
            return reports.annual_report(session, region, int(year or today.year), today)


def _city_judged(row: ReceivedGradeRow) -> dict:
    """A subject a city judges, as the province shows it: the city's own final figures."""
    return {"subject_kind": row.subject_kind, "subject_id": row.subject_id, "body_id": row.body_id,
            "region_code": row.region_code, "year": row.year, "final": True, "stage": "final",
            "total": row.total, "by_total": row.by_total, "grade": row.grade,
            "reasons": json.loads(row.reasons or "[]"), "judged_by": row.city_code, "source": "city",
            "decided_by": row.decided_by, "event_id": row.event_id}


def _received_grade(row: ReceivedGradeRow) -> d.ReceivedGrade:
    finalised = row.finalised_at if row.finalised_at.tzinfo else row.finalised_at.replace(tzinfo=dt.timezone.utc)
    return d.ReceivedGrade(row.subject_kind, row.subject_id, row.year, row.region_code, row.body_id, row.total,
                           row.by_total, row.grade, finalised, row.decided_by, tuple(json.loads(row.reasons or "[]")),
                           row.event_id)


def _opened_from_fact(facts, clue) -> bool:
    """An OVERDUE_STEP clue on a fact kind that already opens a case by itself (no duplicate case)."""
    from services.evaluation.domain.accountability import FACT_KIND_TO_SOURCE

    kinds = {f.kind for f in facts if f.event_id in clue.evidence}
    return bool(kinds & set(FACT_KIND_TO_SOURCE))


def _preload_facts(self, session, events):
    if any(e.event_type in REGISTRY_UPDATES for e in events):
        return []    # a certificate change also writes facts outside insert_facts (retroactive violations)
    return preload_fact_keys(session, events)


def _make_handler(rule: FactRule):
    def handler(self, event):
        self._apply(event, rule)

    handler.__name__ = rule.method
    handler.__qualname__ = f"EvaluationService.{rule.method}"
    handler.__doc__ = f"{rule.event_type} → {rule.summary}"
    handler = batched_event_handler(rule.source, rule.event_type, group="facts", preload=_preload_facts)(handler)
    if rule.event_type in UPWARD_TYPES:
        # at a province suite, the same facts arrive from every city over the upward link (PLAT-1):
        # one method, so an event arriving both ways is still applied once (same consumer key)
        handler = batched_event_handler(federation.UPWARD_EXCHANGE, rule.event_type, group="facts")(handler)
    return handler


UPWARD_TYPES = {t for types in (federation.load_links().get("upward") or {}).values() for t in types}


for _rule in active_rules():
    setattr(EvaluationService, _rule.method, _make_handler(_rule))
