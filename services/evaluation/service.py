"""evaluation service (评议考核、责任追究): facts from every service's events, indicators, grades,
consequences, accountability cases and supervision items (EVAL-1 … EVAL-9, COORD-3, COORD-4).

This module holds the nameko entrypoints only; each delegates to a use case in ``usecases/``
(facts, grading, accountability, tiers), which calls the pure domain, ``engine`` / ``workflow`` /
``reports`` and the queries of ``store``. The fact handlers are generated from ``facts_map.RULES``
(one line per consumed event). Every RPC takes the caller's scope (region and bodies,
``services/common/scope.py``) and answers only inside it (SEC-2, PLAT-1): views over a whole region
(totals, rankings, grades, the dashboard) need every body of the region; a body's own things (its
scores, cases, supervision items) need that body. Jobs take their day from the suite's clock, never a
caller.
"""
from __future__ import annotations

import functools

from nameko.rpc import rpc
from nameko.timer import timer

from services.common import federation, links, settings
from services.common.batching import batched_event_handler
from services.common.configfile import ConfigFiles
from services.common.db import Database
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from services.common.links import HEARTBEAT
from services.common.metrics import Metrics
from services.evaluation import configuration
from services.evaluation import domain as d
from services.evaluation.facts_map import FactRule, active_rules
from services.evaluation.usecases import accountability, facts, grading, instruments, tiers, typical
from services.evaluation.workflow import WorkflowError

JOB_INTERVAL = settings.get("ZHIFA_EVALUATION_INTERVAL")


def answers(fn):
    """RPC methods return ``{"error", "status", "message"}`` for a refusal instead of raising."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except WorkflowError as exc:
            return exc.as_json()
        except d.FutureYearError as exc:   # issue 16: a year that has not begun has nothing to grade
            return {"error": "future_year", "status": 422, "message": str(exc)}
    return wrapper


# the facts of the evaluation: fewer, larger batches under load (issue 17); scores are read by the day
FACTS = {"group": "facts", "interval_ms": 200}


class EvaluationService:
    name = "evaluation"
    config_files = ConfigFiles(configuration.load_all)   # every config file, read at start-up (issue 21)
    db = Database(case_ownership=True)   # SEC-2: only a case's owner may act on it
    metrics = Metrics()

    # -- events → facts (the per-event handlers are generated below from facts_map.RULES) ---------
    def _apply(self, event, rule: FactRule):
        facts.apply_event(self.db, event, rule)

    @batched_event_handler(DEPARTMENTS, "case.transferred", **FACTS)
    def on_case_transferred(self, event):
        """SEC-2: from the transfer on, the case's decisions count for its new body."""
        facts.record_case_transfer(self.db, event)

    @event_handler(DEPARTMENTS, "body.registered")
    def on_body_registered(self, event):
        facts.register_body(self.db, event)

    @event_handler(DEPARTMENTS, "power.published")
    def on_power_published(self, event):
        facts.publish_power(self.db, event)

    # -- periodic job -----------------------------------------------------------------------------
    @timer(interval=JOB_INTERVAL)
    def periodic(self):
        """Year-to-date grades, detection rules, overdue supervision items, metrics (leased)."""
        grading.run_periodic(self.db, JOB_INTERVAL)

    @rpc
    def recompute(self, region_code=None):
        """Recompute year-to-date grades, clue cases (EVAL-9), overdue items and metrics as of today by
        the suite's clock (a caller cannot choose the day, SEC-2)."""
        return grading.recompute(self.db, region_code)

    # -- tier links: heartbeats and buffer depths (issue 23) --------------------------------------
    @timer(interval=links.interval() or 3600)
    def link_heartbeat(self):
        """Every few seconds, a heartbeat over each of this suite's tier links, and its buffers' depths."""
        tiers.send_heartbeats()

    @event_handler(federation.UPWARD_EXCHANGE, HEARTBEAT)
    @event_handler(federation.DOWNWARD_EXCHANGE, HEARTBEAT)
    def on_link_heartbeat(self, event):
        """A heartbeat over a link (its origin was checked by the entrypoint): its transit time."""
        links.received(event)

    # -- directives from the tier above (COORD-4, downward link) ----------------------------------
    @event_handler(federation.DOWNWARD_EXCHANGE, "evaluation.supervision_issued")
    def on_directive_received(self, event):
        """A supervision item the province issued to a body of this city arrives over the link."""
        tiers.receive_directive(self.db, event)

    @rpc
    @answers
    def received_directives(self, scope):
        """Directives from the tier above for the bodies in the caller's scope (region and bodies)."""
        return tiers.received_directives(self.db, scope)

    # -- final grades from the cities (EVAL-4, PLAT-1, upward link) ------------------------------
    @event_handler(federation.UPWARD_EXCHANGE, "evaluation.grade_finalised")
    def on_city_grade(self, event):
        """A city's final grade of a body or officer arrives at the province: kept once per subject and
        year (the latest finalisation wins), shown per city by ``received_grades``."""
        tiers.receive_city_grade(self.db, event)

    @rpc
    @answers
    def received_grades(self, scope, region_code=None, year=None):
        """The cities' final grades received over the upward link, per city, in the caller's scope."""
        return tiers.received_grades(self.db, scope, region_code, year)

    # -- RPC: facts, scores, evidence -------------------------------------------------------------
    @rpc
    @answers
    def summary(self, scope, region_code=None, year=None):
        """Fact counts per body and kind for a region and everything under it (EVAL-2)."""
        return grading.summary(self.db, scope, region_code, year)

    @rpc
    @answers
    def scores(self, scope, region_code=None, year=None, subject_kind="body", as_of=None):
        """Scores and grades of every body (or officer) of a region: year to date or final (EVAL-2…4)."""
        return grading.scores(self.db, scope, region_code, year, subject_kind, as_of)

    @rpc
    @answers
    def score_detail(self, scope, subject_kind, subject_id, year=None, as_of=None):
        """One subject's indicators (value, score, weight, evidence count), grade, vetoes, caps, evaluators."""
        return grading.score_detail(self.db, scope, subject_kind, subject_id, year, as_of)

    @rpc
    @answers
    def evidence(self, scope, subject_kind, subject_id, year, code, as_of=None):
        """Traceability: an indicator's score → the facts behind it with their event ids, types and dates."""
        return grading.evidence(self.db, scope, subject_kind, subject_id, year, code, as_of)

    @rpc
    @answers
    def grades(self, scope, region_code=None, year=None, stage="final"):
        """Persisted grades of a year (final, or the latest year-to-date ones)."""
        return grading.grades(self.db, scope, region_code, year, stage)

    # -- RPC: finalising, consequences, scores entered by supervisors -----------------------------
    @rpc
    @answers
    def finalise_year(self, scope, year, actor, region_code=None):
        """Final grades of a year for the bodies the caller evaluates, and their consequences (EVAL-1, EVAL-4)."""
        return grading.finalise_year(self.db, scope, year, actor, region_code)

    @rpc
    @answers
    def list_consequences(self, scope, year=None, status=None):
        return accountability.list_consequences(self.db, scope, year, status)

    @rpc
    @answers
    def resolve_consequence(self, scope, consequence_id, actor, resolution):
        return accountability.resolve_consequence(self.db, scope, consequence_id, actor, resolution)

    @rpc
    @answers
    def record_score(self, scope, actor, data):
        """A special-check / case-file-review / special-test score entered by a supervisor (an event)."""
        return grading.record_score(self.db, scope, actor, data)

    # -- RPC: evaluation instruments (EVAL-2, issue 18) ---------------------------------------------
    @rpc
    @answers
    def create_survey(self, scope, actor, data):
        """A survey or evaluation card about a body in scope, with its one-time answer codes (shown once)."""
        return instruments.create_survey(self.db, scope, actor, data)

    @rpc
    @answers
    def list_surveys(self, scope, body_id=None):
        return instruments.list_surveys(self.db, scope, body_id)

    @rpc
    @answers
    def open_survey(self, code):
        """Public: the questions an unused answer code opens."""
        return instruments.open_survey(self.db, code)

    @rpc
    @answers
    def answer_survey(self, code, answers, comment=None):
        """Public: one answer per code (a survey_rating fact of the body)."""
        return instruments.answer_survey(self.db, code, answers, comment)

    @rpc
    @answers
    def report_visit(self, scope, actor, data):
        """A supervisor's unannounced-visit (暗访) report (an unannounced_visit_score fact)."""
        return instruments.report_visit(self.db, scope, actor, data)

    @rpc
    @answers
    def list_visits(self, scope, body_id=None):
        return instruments.list_visits(self.db, scope, body_id)

    # -- RPC: accountability cases (EVAL-6) -------------------------------------------------------
    @rpc
    @answers
    def list_cases(self, scope, status=None, body_id=None):
        return accountability.list_cases(self.db, scope, status, body_id)

    @rpc
    @answers
    def get_case(self, scope, case_id):
        return accountability.get_case(self.db, scope, case_id)

    @rpc
    @answers
    def open_case(self, scope, actor, data):
        return accountability.open_case(self.db, scope, actor, data)

    @rpc
    @answers
    def case_action(self, scope, case_id, actor, action, data):
        return accountability.case_action(self.db, scope, case_id, actor, action, data)

    # -- RPC: typical cases (CMP-7) -------------------------------------------------------------
    @rpc
    @answers
    def typical_case(self, scope, actor, action, data=None):
        """典型案例: select / edit / submit / review (a second supervisor) / list (usecases/typical)."""
        return typical.run(self.db, action, scope, actor, data or {})

    # -- RPC: supervision items (COORD-4) ---------------------------------------------------------
    @rpc
    @answers
    def list_items(self, scope, status=None, overdue=False):
        return accountability.list_items(self.db, scope, status, overdue)

    @rpc
    @answers
    def issue_item(self, scope, actor, data):
        return accountability.issue_item(self.db, scope, actor, data)

    @rpc
    @answers
    def item_action(self, identity, item_id, action, data):
        return accountability.item_action(self.db, identity, item_id, action, data)

    # -- RPC: dashboard and annual report ---------------------------------------------------------
    @rpc
    @answers
    def dashboard(self, scope, region_code=None, year=None):
        return grading.dashboard(self.db, scope, region_code, year)

    @rpc
    @answers
    def annual_report(self, scope, region_code=None, year=None):
        return grading.annual_report(self.db, scope, region_code, year)


def _preload_facts(self, session, events):
    return facts.preload(session, events)


def _make_handler(rule: FactRule):
    def handler(self, event):
        self._apply(event, rule)

    handler.__name__ = rule.method
    handler.__qualname__ = f"EvaluationService.{rule.method}"
    handler.__doc__ = f"{rule.event_type} → {rule.summary}"
    handler = batched_event_handler(rule.source, rule.event_type, **FACTS, preload=_preload_facts)(handler)
    if rule.event_type in UPWARD_TYPES:
        # at a province suite, the same facts arrive from every city over the upward link (PLAT-1):
        # one method, so an event arriving both ways is still applied once (same consumer key)
        handler = batched_event_handler(federation.UPWARD_EXCHANGE, rule.event_type, **FACTS)(handler)
    return handler


UPWARD_TYPES = {t for types in (federation.load_links().get("upward") or {}).values() for t in types}


for _rule in active_rules():
    setattr(EvaluationService, _rule.method, _make_handler(_rule))
