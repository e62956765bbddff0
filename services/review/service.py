"""review service (重大执法决定法制审核): catalogue, review tasks, checklist, opinion, gate, staffing (REV-1…REV-7).

This module holds the nameko entrypoints only: each translates its call and delegates to a use case
in ``usecases/`` (validate → decide with the pure rules of ``domain/`` → persist with the queries of
``store.py`` → emit). Configuration (reloaded when the files change) is in ``configuration.py``.

- ``decision.proposed`` → classify with the catalogue (REV-1, ``review.classified`` with the fired rules); a
  major decision opens the case's task or adds a version to it (REV-4), with automatic pre-checks (REV-3),
  a reviewer of the body or from the system's pooled list (REV-7) and a due day in working days (REV-5).
- registry events (body, officer, certificate, power), case actions and ``record.gaps_found`` feed the
  pre-checks, which are re-run for pending tasks when their data changes; officer events recheck staffing.
- RPC for the gateway: tasks in scope, one task, findings, opinion, sign-off, disagreement, coordination,
  the gate (REV-2), violations, staffing.
- ``decision.made`` of a major decision without an approved review of that version → ``review.bypassed``.
- a leased timer: overdue tasks (``review.task_overdue``), staffing (``review.staffing_short``), gauges.
"""
from __future__ import annotations

import functools
import logging

from nameko.rpc import rpc
from nameko.timer import timer

from services.common import fieldcrypt, settings
from services.common.batching import batched_event_handler
from services.common.configfile import ConfigFiles
from services.common.db import Database
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from services.common.metrics import Metrics
from services.review import configuration, store
from services.review.domain import InvalidTransition
from services.review.store import ReviewError
from services.review.usecases import assistance as assisting
from services.review.usecases import classification, oversight, registry, reviewing
from services.review.models import ENCRYPTED_COLUMNS

log = logging.getLogger(__name__)
PERIODIC_SECONDS = settings.get("ZHIFA_REVIEW_PERIODIC_SECONDS")


def answers(fn):
    """RPC helper: domain refusals and ReviewErrors become ``{"error", "status", "message"}`` answers."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ReviewError as exc:
            return exc.as_dict()
        except InvalidTransition as exc:
            return ReviewError(409, "conflict", str(exc)).as_dict()
        except ValueError as exc:
            return ReviewError(422, "invalid", str(exc)).as_dict()

    return wrapper


# case traffic: fewer, larger batches under load (issue 17); a review task is worked in hours
CASES = {"group": "cases", "interval_ms": 200}


class ReviewService:
    name = "review"
    config_files = ConfigFiles(configuration.load_all)   # every config file, read at start-up (issue 21)
    db = Database(case_ownership=True)   # SEC-2: only a case's owner may act on it
    metrics = Metrics()

    # === proposals and decisions: classification, tasks, the gate (REV-1, REV-2, REV-4, REV-5, REV-7) ===

    def _preload_batch(self, session, events):
        return store.preload_batch(session, events)

    @batched_event_handler(DEPARTMENTS, "decision.proposed", **CASES, preload=_preload_batch)
    def on_decision_proposed(self, event):
        """REV-1: classify with the fired rules; a major decision opens (or adds a version to) the case's
        task; a proposal arriving after its version's decision reconciles instead (REV-2, issue 14)."""
        classification.decision_proposed(self.db, event)

    @batched_event_handler(DEPARTMENTS, "decision.made", **CASES, preload=_preload_batch)
    def on_decision_made(self, event):
        """REV-2: a major decision made without an approved review of that version is a violation (应审未审),
        once per (case, version) whatever the order; the case's task is closed up to the decided version."""
        classification.decision_made(self.db, event)

    @batched_event_handler(DEPARTMENTS, "case.transferred", **CASES)
    def on_case_transferred(self, event):
        """SEC-2: from the transfer on, the case's proposals and decisions come from its new body, and
        its review task is in the new body's scope."""
        classification.case_transferred(self.db, event)

    # === registry, case actions, record gaps: data for the pre-checks (PLAT-2/3/4, REV-3) ==========

    @event_handler(DEPARTMENTS, "body.registered")
    def on_body_registered(self, event):
        registry.body_registered(self.db, event)

    @event_handler(DEPARTMENTS, "officer.registered")
    def on_officer_registered(self, event):
        registry.officer_registered(self.db, event)

    @event_handler(DEPARTMENTS, "certificate.status_changed")
    def on_certificate_changed(self, event):
        registry.certificate_changed(self.db, event)

    @event_handler(DEPARTMENTS, "power.published")
    def on_power_published(self, event):
        registry.power_published(self.db, event)

    @batched_event_handler(DEPARTMENTS, "evidence.recorded", **CASES, preload=_preload_batch)
    def on_evidence_recorded(self, event):
        """PLAT-3 at the time of action: who recorded evidence (调查取证) when, for the certificate pre-check."""
        p = event.payload
        registry.case_action(self.db, event, "evidence.recorded", p.get("started_at") or p["recorded_at"],
                             p.get("officer_ids"))

    @batched_event_handler("records", "record.gaps_found", **CASES, preload=_preload_batch)
    def on_record_gaps(self, event):
        """REV-3 文书完备: the records service's open gaps of a case (latest report wins)."""
        registry.record_gaps(self.db, event)

    # === periodic: overdue tasks, staffing, gauges =================================================

    @timer(interval=5)
    def reencrypt_fields(self):
        """The parties in proposals and decisions at rest (issue 22): moved to the active data key (leased)."""
        fieldcrypt.background_pass(self.db, "review", ENCRYPTED_COLUMNS)

    @timer(interval=PERIODIC_SECONDS)
    def periodic(self):
        """Leased: one replica marks overdue tasks, rechecks staffing and refreshes the gauges."""
        if not self.db.acquire_lease("review.periodic", max(PERIODIC_SECONDS - 5, 5)):
            return
        try:
            self.run_periodic()
        except Exception:  # a timer must not die; the next tick tries again
            log.exception("review periodic job failed")

    @rpc
    def run_periodic(self):
        """The periodic job (also callable by operators): overdue alerts, staffing checks, gauges. The day
        is the service's clock's, never a caller's (SEC-2: a chosen future day would mark tasks overdue)."""
        return oversight.run_periodic(self.db)

    # === RPC: tasks for reviewers, approvers, handling units, coordinators =========================

    @rpc
    @answers
    def list_tasks(self, actor, status=None, assigned=None, body_id=None, case_id=None):
        """Tasks in the caller's scope; ``status``: a state, ``pending`` or ``overdue``; ``assigned='me'``: my
        tasks (assigned to me, or not yet assigned to anyone)."""
        return reviewing.list_tasks(self.db, actor, status, assigned, body_id, case_id)

    @rpc
    @answers
    def get_task(self, task_id, actor):
        """One task with the proposal, fired rules, checklist (pre-checks and findings), versions and history."""
        return reviewing.get_task(self.db, task_id, actor)

    @rpc
    @answers
    def assistance(self, task_id, actor):
        """REV-8: the matter's articles and discretion benchmark, a draft decision document, and the query for
        similar published decisions (asked of disclosure by the gateway)."""
        return assisting.assistance(self.db, task_id, actor)

    @rpc
    @answers
    def record_findings(self, task_id, actor, checks):
        """REV-3: the reviewer records findings on checklist items (starts the review if not started)."""
        return reviewing.record_findings(self.db, task_id, actor, checks)

    @rpc
    @answers
    def give_opinion(self, task_id, actor, opinion, corrections=(), text=None, checks=()):
        """REV-4 书面审核意见: approve (every check settled, none failing) or problems with the corrections."""
        return reviewing.give_opinion(self.db, task_id, actor, opinion, corrections, text, checks)

    @rpc
    @answers
    def sign(self, task_id, actor, approve, note="", reasons=()):
        """REV-6 负责人签署: the body's responsible person (the authenticated caller, never a name the caller
        sends) signs (approved) or refuses (returned, with reasons)."""
        return reviewing.sign(self.db, task_id, actor, approve, note, reasons)

    @rpc
    @answers
    def disagree(self, task_id, actor, position, raised_by=None):
        """REV-5: the handling unit disagrees with a returned opinion → coordination."""
        return reviewing.disagree(self.db, task_id, actor, position, raised_by)

    @rpc
    @answers
    def coordinate(self, task_id, actor, outcome, note="", corrections_kept=()):
        """REV-5 协调结论 by the coordinator: uphold the reviewer, accept the unit, or partly."""
        return reviewing.coordinate(self.db, task_id, actor, outcome, note, corrections_kept)

    # === RPC: the gate (REV-2), violations, staffing ==============================================

    @rpc
    def may_decide(self, case_id, version, actor):
        """REV-2 pre-decision check for departmental systems: yes, or no with reasons. None: unknown case."""
        return oversight.may_decide(self.db, case_id, version, actor)

    @rpc
    def list_violations(self, actor, kind=None, open_only=False, body_id=None):
        """Violations found by review in the caller's scope (应审未审, 审核未通过, 审核人员不足), newest first."""
        return oversight.list_violations(self.db, actor, kind, open_only, body_id)

    @rpc
    def staffing(self, actor):
        """REV-7: each body's officers, reviewers, the required number and the shortfall, in scope."""
        return oversight.staffing(self.db, actor)
