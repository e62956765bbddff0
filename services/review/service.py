"""review service (重大执法决定法制审核): catalogue, review tasks, checklist, opinion, gate, staffing (REV-1…REV-7).

Entrypoints stay thin: rules are in ``domain/`` (pure), persistence and queries in ``store.py``,
configuration (reloaded when the files change) in ``configuration.py``.

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

import datetime as dt
import functools
import logging
import uuid

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import func, select

from services.common import clock, ownership, settings
from services.common.db import Database, emit, utcnow
from services.common.batching import batched_event_handler
from services.common.configfile import ConfigFiles
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS, InvalidEvent
from services.common.metrics import Metrics
from services.common.workdays import default_calendar
from services.review import configuration, metrics, store
from services.review.domain import gate
from services.review.domain import (CoordinationOutcome, InvalidTransition, Opinion, OpinionKind, Proposal,
                                    TaskState, VersionStatus, approval_blockers, classify, decide_coordination,
                                    detect_bypass, open_task, proposal_from_payload, raise_disagreement,
                                    record_finding, record_opinion, refuse_sign_off, resubmit, review_due, sign_off,
                                    start_review, update_prechecks)
from services.review.models import (BodyStaffing, CaseAction, CertificateChange, Classification, PowerItem,
                                    RecordGaps, RegistryBody, RegistryOfficer, ReviewTask, Violation)
from services.review.store import Actor, ReviewError, aware, china_day, to_utc

log = logging.getLogger(__name__)
RESPONSIBLE_PERSON = "responsible_person"   # 负责人 (REV-6), services/common/auth.STAFF_ROLES
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


def _fired(classification) -> list[dict]:
    return [{"rule_id": f.rule_id, "description": f.description, "detail": f.detail} for f in classification.fired]


class ReviewService:
    name = "review"
    config_files = ConfigFiles(configuration.load_all)   # every config file, read at start-up (issue 21)
    db = Database(case_ownership=True)   # SEC-2: only a case's owner may act on it
    metrics = Metrics()

    # === proposals: classification and tasks (REV-1, REV-3, REV-4, REV-5, REV-7) =================

    def _preload_cases(self, session, events):
        return store.preload_cases(session, events)

    @batched_event_handler(DEPARTMENTS, "decision.proposed", group="cases", preload=_preload_cases)
    def on_decision_proposed(self, event):
        """REV-1: classify with the fired rules; a major decision opens (or adds a version to) the case's task.

        REV-2, issue 14: a proposal arriving after the decision of its version (or of a later one) was
        made reconciles instead: its classification is stored (and can only add to the decision's), the
        decided version is checked again (``not_reviewed`` once, if major) — no task is opened."""
        try:
            proposal = proposal_from_payload(event.payload, case_id=event.case_id, body_id=event.body_id,
                                             region_code=event.region_code)
        except (ValueError, KeyError) as exc:
            raise InvalidEvent(f"decision.proposed cannot be read as a proposal: {exc}") from exc
        catalogue, settings = configuration.catalogue(), configuration.review_settings()
        result = classify(proposal, catalogue)
        opened, kinds = None, []
        with self.db.effect_of(event) as session:
            row = self._row(session, event, result.version)
            row.by_proposal, row.proposal = gate.part(result), event.raw.get("payload") or {}
            decided = store.decided_versions(session, event.case_id)
            combined = self._settle(session, event, catalogue, decided, proposed_version=result.version)
            if decided and result.version <= max(decided):
                # the decision of this version (or a later one) is made: nothing left to review
                kinds = self._check_decided(session, event, decided)
            elif combined[result.version].major:
                opened = self._submit(session, event, proposal, combined[result.version], settings)
        metrics.CLASSIFIED.labels(event.region_code, event.body_id, str(result.major).lower()).inc()
        if opened:
            metrics.TASKS_OPENED.labels(event.region_code, event.body_id).inc()
        for kind in kinds:
            metrics.BYPASSED.labels(event.region_code, event.body_id, kind).inc()

    @staticmethod
    def _row(session, event, version: int) -> Classification:
        row = store.classification(session, event.case_id, version)
        if row is None:
            row = Classification(case_id=event.case_id, version=version, region_code=event.region_code,
                                 body_id=event.body_id, major=False, fired_rules=[], fired=[], proposal={},
                                 layers=[], source="decision", classified_at=utcnow())
            store.add_classification(session, row)
        return row

    def _settle(self, session, event, catalogue, decided: dict, proposed_version: int | None = None) -> dict:
        """Classify every version of the case from what arrived (its proposal, its decision, earlier
        major versions — ``gate.combine``, the same whatever the order); store the changes and emit
        ``review.classified`` for a version whose classification changed (and for a proposal, always).
        Returns version -> domain Classification."""
        rows = {r.version: r for r in store.case_classifications(session, event.case_id)}
        known = {v for v, r in rows.items() if r.by_proposal is not None or r.by_decision is not None}
        for version in decided:
            if version not in rows:
                rows[version] = self._row(session, event, version)
        proposed = [r for _, r in sorted(rows.items()) if r.by_proposal is not None]
        field = (proposed[-1].proposal or {}).get("field") if proposed else None
        out, majors = {}, []
        for version, row in sorted(rows.items()):
            if version in decided:
                row.by_decision = gate.part(classify(self._proposal_from_decision(decided[version], field),
                                                     catalogue))
            inherited = majors[-1] if majors and row.by_proposal is None else None
            result = gate.combine(event.case_id, version, row.by_proposal, row.by_decision, inherited)
            out[version] = result
            if row.by_proposal is not None and result.major:
                majors.append(result)
            before = (row.major, list(row.fired_rules or []), row.source)
            source = "proposal" if row.by_proposal is not None else "decision"
            row.region_code, row.body_id, row.major = row.region_code or event.region_code, \
                row.body_id or event.body_id, result.major
            row.fired_rules, row.fired, row.sign_off_required = result.fired_rule_ids, _fired(result), \
                result.sign_off_required
            row.catalogue_digest, row.layers, row.source = result.catalogue_digest, list(result.layers), source
            if version == proposed_version or version not in known \
                    or before != (row.major, list(row.fired_rules), row.source):
                row.classified_at = utcnow()
                emit(session, "review.classified", {
                    "version": version, "major": result.major, "fired_rules": result.fired_rule_ids,
                    "fired": _fired(result), "sign_off_required": result.sign_off_required,
                    "catalogue_digest": result.catalogue_digest, "source": source},
                    region_code=event.region_code, body_id=event.body_id, case_id=event.case_id, caused_by=event)
        return out

    def _submit(self, session, event, proposal: Proposal, result, settings) -> bool:
        """送审: open the task or add the version to it (REV-4: history kept; approval never inherited)."""
        now = utcnow()
        row = store.task_row_for_case(session, event.case_id, lock=True)
        task = store.decode(row)
        last = task.history[-1].at if task is not None and task.history else None
        submitted_at = min(aware(proposal.proposed_at), now)
        if last is not None and submitted_at < last:
            submitted_at = last
        due = review_due(china_day(submitted_at), default_calendar(), settings.working_days)
        prechecks = store.compute_prechecks(session, proposal, configuration.checklist_config(),
                                            configuration.benchmarks())
        submitted_by = proposal.submitted_by or event.source_system
        try:
            if task is None:
                task = open_task(str(uuid.uuid4()), proposal, submitted_by=submitted_by, submitted_at=submitted_at,
                                 due=due, prechecks=prechecks, classification=result)
            else:
                if task.state is TaskState.COORDINATION:
                    raise InvalidTransition(f"case {event.case_id} v{task.current.number} is in coordination; "
                                            "resubmit after its outcome（协调结论作出前不得再次送审）")
                task = resubmit(task, proposal, submitted_by=submitted_by, submitted_at=submitted_at, due=due,
                                prechecks=prechecks, classification=result)
        except InvalidTransition as exc:
            raise InvalidEvent(f"decision.proposed refused by the review task: {exc}") from exc
        previous = task.versions[-2].reviewer_id if len(task.versions) > 1 else None
        assignment = store.assign(session, proposal, min_own=settings.min_own_reviewers,
                                  pooled=settings.pooled_reviewers, previous=previous)
        if row is None:
            row = ReviewTask(task_id=task.task_id, case_id=event.case_id, region_code=event.region_code,
                             body_id=event.body_id, opened_at=now, assignments={})
            store.add_task_row(session, row)
        row.assignments = {**(row.assignments or {}), str(proposal.version): assignment}
        store.save(row, task, now)
        if len(task.versions) == 1:
            store.follow_owner(session, row)
        emit(session, "review.task_opened", {
            "task_id": task.task_id, "version": proposal.version, "reviewer_id": assignment["reviewer_id"],
            "due_on": due.due, "due_provisional": due.provisional, "resubmission": len(task.versions) > 1,
            "pooled": assignment["pooled"], "assignment": assignment["reason"]},
            region_code=event.region_code, body_id=event.body_id, case_id=event.case_id, caused_by=event)
        return True

    # === decisions made: bypass detection (REV-2) =================================================

    @batched_event_handler(DEPARTMENTS, "decision.made", group="cases", preload=_preload_cases)
    def on_decision_made(self, event):
        """REV-2: a major decision made without an approved review of that version is a violation (应审未审),
        recorded once per (case, version) whatever the order of arrival and the number of copies; the
        case's task is closed up to the decided version (nobody reviews a decision already made)."""
        version = int(event.payload["version"])
        with self.db.effect_of(event) as session:
            decided = store.decided_versions(session, event.case_id)
            if version not in decided:
                decided[version] = store.add_decided_version(session, event, version)
            self._settle(session, event, configuration.catalogue(), decided)
            kinds = self._check_decided(session, event, decided)
            row = store.task_row_for_case(session, event.case_id, lock=True)
            if row is not None and (row.decided_version or 0) < version:
                row.decided_version = version
                store.save(row, store.decode(row), row.updated_at)
        for kind in kinds:
            metrics.BYPASSED.labels(event.region_code, event.body_id, kind).inc()

    def _check_decided(self, session, event, decided: dict) -> list[str]:
        """Every decided version of the case without an approved review of that version, if major, is
        flagged — once (a violation of that version recorded before stands)."""
        task = store.decode(store.task_row_for_case(session, event.case_id))
        kinds = []
        for version, made in sorted(decided.items()):
            row = store.classification(session, event.case_id, version)
            if row is None or not row.major or store.has_gate_violation(session, event.case_id, version):
                continue
            classification = store.domain_classification(row)
            violation = detect_bypass(classification, task, version)
            if violation is None:
                continue
            kind = violation.kind.value
            record = store.record_violation(
                session, kind=kind, region_code=made.region_code, body_id=made.body_id, case_id=event.case_id,
                version=version, description=violation.description,
                details={"decision_no": (made.payload or {}).get("decision_no"),
                         "decision_event_id": made.decision_event_id,
                         "fired_rules": classification.fired_rule_ids, "found_at": event.event_type})
            record.event_id = emit(session, "review.bypassed", {
                "version": version, "violation": kind, "description": violation.description,
                "violation_id": record.violation_id, "fired_rules": classification.fired_rule_ids},
                region_code=made.region_code, body_id=made.body_id, case_id=event.case_id, caused_by=event)
            kinds.append(kind)
        return kinds

    @staticmethod
    def _proposal_from_decision(made, field: str | None) -> Proposal:
        """A proposal as far as ``decision.made`` tells (no measures or flags), with the field of the
        case's latest proposal: to classify what was decided (REV-2). ``made``: a DecidedVersion row."""
        p = made.payload
        decided_at = p["decided_at"]
        if isinstance(decided_at, str):
            decided_at = dt.datetime.fromisoformat(decided_at)
        return Proposal(case_id=made.case_id, version=made.version, body_id=made.body_id,
                        region_code=made.region_code,
                        action_type=p["action_type"], matter_code=p["matter_code"], field=field,
                        parties=tuple({"party_kind": x["party_kind"], "name": x.get("name", "")}
                                      for x in p["parties"]),
                        officer_ids=tuple(p.get("officer_ids") or ()), proposed_at=decided_at,
                        fine_amount=p.get("fine_amount"))

    @batched_event_handler(DEPARTMENTS, "case.transferred", group="cases")
    def on_case_transferred(self, event):
        """SEC-2: from the transfer on, the case's proposals and decisions come from its new body, and
        its review task is in the new body's scope."""
        with self.db.effect_of(event) as session:
            ownership.record_transfer(session, event, utcnow())
            row = store.task_row_for_case(session, event.case_id, lock=True)
            if row is not None:
                store.follow_owner(session, row)

    # === registry, case actions, record gaps: data for the pre-checks (PLAT-2/3/4, REV-3) ==========

    @event_handler(DEPARTMENTS, "body.registered")
    def on_body_registered(self, event):
        p = event.payload
        with self.db.effect_of(event) as session:
            body = session.get(RegistryBody, p["body_id"]) or RegistryBody(body_id=p["body_id"])
            body.name, body.kind, body.region_code = p["name"], p["kind"], p["region_code"]
            body.field, body.superior_body_id, body.updated_at = p.get("field"), p.get("superior_body_id"), utcnow()
            session.add(body)
            session.flush()
            self._refresh_pending(session, body_ids={p["body_id"]})
            self._staffing(session, [p["body_id"]])

    @event_handler(DEPARTMENTS, "officer.registered")
    def on_officer_registered(self, event):
        p = event.payload
        with self.db.effect_of(event) as session:
            officer = session.get(RegistryOfficer, p["officer_id"])
            moved_from = officer.body_id if officer is not None and officer.body_id != p["body_id"] else None
            officer = officer or RegistryOfficer(officer_id=p["officer_id"])
            body = session.get(RegistryBody, p["body_id"])
            officer.name, officer.body_id = p["name"], p["body_id"]
            officer.region_code = body.region_code if body is not None else event.region_code
            roles = set(p.get("roles") or ["officer"])
            officer.is_officer, officer.is_reviewer = "officer" in roles, "legal_reviewer" in roles
            officer.field = p.get("field") or (body.field if body is not None else None)
            officer.certificate_no, officer.updated_at = p.get("certificate_no"), utcnow()
            session.add(officer)
            session.flush()
            self._refresh_pending(session, officer_ids={p["officer_id"]})
            self._staffing(session, [p["body_id"]] + ([moved_from] if moved_from else []))

    @event_handler(DEPARTMENTS, "certificate.status_changed")
    def on_certificate_changed(self, event):
        p = event.payload
        with self.db.effect_of(event) as session:
            session.add(CertificateChange(event_id=event.event_id, certificate_no=p["certificate_no"],
                                          officer_id=p["officer_id"], status=p["status"],
                                          effective_from=to_utc(p["effective_from"]), valid_until=p.get("valid_until"),
                                          reason=p.get("reason")))
            session.flush()
            self._refresh_pending(session, officer_ids={p["officer_id"]})

    @event_handler(DEPARTMENTS, "power.published")
    def on_power_published(self, event):
        p = event.payload
        with self.db.effect_of(event) as session:
            item = session.get(PowerItem, (p["body_id"], p["matter_code"], p["version"])) or PowerItem(
                body_id=p["body_id"], matter_code=p["matter_code"], version=p["version"])
            item.action_type, item.name, item.legal_basis = p["action_type"], p["name"], p["legal_basis"]
            item.published_on = p["published_on"]
            session.add(item)
            session.flush()
            self._refresh_pending(session, body_ids={p["body_id"]})

    @batched_event_handler(DEPARTMENTS, "evidence.recorded", group="cases")
    def on_evidence_recorded(self, event):
        """PLAT-3 at the time of action: who recorded evidence (调查取证) when, for the certificate pre-check."""
        p = event.payload
        self._case_action(event, "evidence.recorded", p.get("started_at") or p["recorded_at"], p.get("officer_ids"))

    def _case_action(self, event, kind, at, officer_ids):
        with self.db.effect_of(event) as session:
            session.add(CaseAction(event_id=event.event_id, case_id=event.case_id, kind=kind, acted_at=to_utc(at),
                                   officer_ids=list(officer_ids or [])))
            self._refresh_cases_before_commit(session, event.case_id)

    def _refresh_cases_before_commit(self, session, case_id: str) -> None:
        """Pre-checks of the cases a batch touched are re-run once, at its end (evidence is 60% of
        the departmental traffic: a query per event would dominate the service)."""
        self.db.once_before_commit(session, "review.refresh_cases",
                                   lambda case_ids: self._refresh_pending(session, case_ids=case_ids), case_id)

    @batched_event_handler("records", "record.gaps_found", group="cases")
    def on_record_gaps(self, event):
        """REV-3 文书完备: the records service's open gaps of a case (latest report wins)."""
        p = event.payload
        with self.db.effect_of(event) as session:
            row = session.get(RecordGaps, event.case_id)
            if row is not None and aware(row.reported_at) > event.occurred_at:
                return  # an older report arriving late
            row = row or RecordGaps(case_id=event.case_id)
            row.open_gap_codes = list(p["open_gap_codes"])
            row.gaps = [{"code": g["code"], "description": g["description"], "stage": g.get("stage")}
                        for g in p["gaps"]]
            row.reported_at = to_utc(event.occurred_at)
            session.add(row)
            self._refresh_cases_before_commit(session, event.case_id)

    def _refresh_pending(self, session, *, case_ids=(), body_ids=(), officer_ids=()) -> int:
        """Re-run the automatic pre-checks of pending tasks whose data changed (the history says so)."""
        case_ids, body_ids, officer_ids = set(case_ids), set(body_ids), set(officer_ids)
        query = select(ReviewTask).where(ReviewTask.pending.is_(True)).order_by(ReviewTask.task_id)
        if case_ids and not body_ids and not officer_ids:
            query = query.where(ReviewTask.case_id.in_(sorted(case_ids)))
        elif body_ids and not case_ids and not officer_ids:
            query = query.where(ReviewTask.body_id.in_(sorted(body_ids)))
        changed = 0
        config, benchmarks = configuration.checklist_config(), configuration.benchmarks()
        for row in session.scalars(store.locked(session, query)).all():
            task = store.decode(row)
            proposal = task.current.proposal
            if not (row.case_id in case_ids or row.body_id in body_ids or officer_ids & set(proposal.officer_ids)):
                continue
            results = store.compute_prechecks(session, proposal, config, benchmarks)
            now = store.step_time(task)
            updated = update_prechecks(task, results, now)
            if updated is not task:
                store.save(row, updated, now)
                changed += 1
        return changed

    # === staffing (REV-7) ==========================================================================

    def _staffing(self, session, body_ids, emit_events: bool = True) -> list[dict]:
        s = configuration.review_settings()
        return store.check_staffing(session, body_ids, min_ratio=s.min_ratio, grace_hours=s.grace_hours,
                                    now=utcnow(), emit_events=emit_events)

    # === periodic: overdue tasks, staffing, gauges =================================================

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
        calendar = default_calendar()
        today = clock.today()
        alerted = []
        with self.db.session() as session:
            rows = session.scalars(select(ReviewTask).where(
                ReviewTask.pending.is_(True), ReviewTask.due_on < today,
                ReviewTask.state.in_(store.PENDING_STATES))).all()
            for row in rows:
                if row.overdue_version == row.version:
                    continue
                row.overdue_version = row.version
                emit(session, "review.task_overdue", {
                    "task_id": row.task_id, "version": row.version, "due_on": row.due_on, "state": row.state,
                    "reviewer_id": row.reviewer_id or row.assigned_reviewer_id,
                    "working_days_overdue": calendar.working_days_between(row.due_on, today)},
                    region_code=row.region_code, body_id=row.body_id, case_id=row.case_id)
                alerted.append((row.region_code, row.body_id, row.task_id))
        for region, body, _ in alerted:
            metrics.OVERDUE_ALERTS.labels(region, body).inc()
        with self.db.session() as session:
            bodies = set(session.scalars(select(RegistryOfficer.body_id).distinct()))
            bodies |= set(session.scalars(select(BodyStaffing.body_id)))
            staffing = self._staffing(session, bodies)
        self._refresh_gauges(today)
        return {"overdue_alerted": [t for _, _, t in alerted], "staffing": staffing}

    def _refresh_gauges(self, today: dt.date) -> None:
        with self.db.session() as session:
            open_rows = session.execute(select(ReviewTask.region_code, ReviewTask.body_id, func.count())
                                        .where(ReviewTask.pending.is_(True))
                                        .group_by(ReviewTask.region_code, ReviewTask.body_id)).all()
            overdue_rows = session.execute(select(ReviewTask.region_code, ReviewTask.body_id, func.count())
                                           .where(ReviewTask.pending.is_(True), ReviewTask.due_on < today,
                                                  ReviewTask.state.in_(store.PENDING_STATES))
                                           .group_by(ReviewTask.region_code, ReviewTask.body_id)).all()
        metrics.TASKS_OPEN.clear()
        metrics.TASKS_OVERDUE.clear()
        for region, body, n in open_rows:
            metrics.TASKS_OPEN.labels(region, body).set(n)
        for region, body, n in overdue_rows:
            metrics.TASKS_OVERDUE.labels(region, body).set(n)

    # === RPC: tasks for reviewers, approvers, handling units, coordinators =========================

    def _today(self) -> dt.date:
        return china_day(utcnow())

    def _view(self, row, task, full=True) -> dict:
        s = configuration.review_settings()
        fn = store.task_view if full else store.task_summary
        return fn(row, task, default_calendar(), s.warn_working_days, self._today())

    @rpc
    @answers
    def list_tasks(self, actor, status=None, assigned=None, body_id=None, case_id=None):
        """Tasks in the caller's scope; ``status``: a state, ``pending`` or ``overdue``; ``assigned='me'``: my
        tasks (assigned to me, or not yet assigned to anyone)."""
        actor = Actor.of(actor)
        with self.db.session() as session:
            query = store.in_scope(select(ReviewTask), ReviewTask.region_code, ReviewTask.body_id, actor)
            today = self._today()
            if status == "pending":
                query = query.where(ReviewTask.pending.is_(True))
            elif status == "overdue":
                query = query.where(ReviewTask.pending.is_(True), ReviewTask.due_on < today,
                                    ReviewTask.state.in_(store.PENDING_STATES))
            elif status:
                query = query.where(ReviewTask.state == status)
            if assigned == "me":
                query = query.where((ReviewTask.assigned_reviewer_id == actor.subject)
                                    | (ReviewTask.assigned_reviewer_id.is_(None)))
            if body_id:
                query = query.where(ReviewTask.body_id == body_id)
            if case_id:
                query = query.where(ReviewTask.case_id == case_id)
            rows = session.scalars(query.order_by(ReviewTask.due_on, ReviewTask.case_id).limit(500)).all()
            return [self._view(r, store.decode(r), full=False) for r in rows if actor.covers(r.region_code, r.body_id)]

    @rpc
    @answers
    def get_task(self, task_id, actor):
        """One task with the proposal, fired rules, checklist (pre-checks and findings), versions and history."""
        actor = Actor.of(actor)
        with self.db.session() as session:
            row, task = store.load_for_actor(session, task_id, actor, lock=False)
            return self._view(row, task)

    def _begin(self, task, row, actor: Actor, at):
        """The acting reviewer starts the review of an open/resubmitted version (claims it if unassigned)."""
        if task.state not in (TaskState.OPEN, TaskState.RESUBMITTED):
            return task
        assigned = ((row.assignments or {}).get(str(task.current.number)) or {}).get("reviewer_id")
        if assigned and assigned != actor.subject:
            raise ReviewError(403, "not_assigned", f"该审核任务已分配给法制审核人员{assigned}，如需改派请联系法制审核机构负责人")
        return start_review(task, actor.subject, at)

    def _findings(self, task, actor: Actor, checks, at):
        for item in checks or []:
            task = record_finding(task, actor.subject, item["code"], item["outcome"], item.get("finding") or "", at)
        return task

    @rpc
    @answers
    def record_findings(self, task_id, actor, checks):
        """REV-3: the reviewer records findings on checklist items (starts the review if not started)."""
        actor = Actor.of(actor)
        if not checks:
            raise ReviewError(422, "invalid", "请至少填写一项审查意见")
        with self.db.session() as session:
            row, task = store.load_for_actor(session, task_id, actor)
            at = store.step_time(task)
            task = self._findings(self._begin(task, row, actor, at), actor, checks, at)
            store.save(row, task, at)
            return self._view(row, task)

    @rpc
    @answers
    def give_opinion(self, task_id, actor, opinion, corrections=(), text=None, checks=()):
        """REV-4 书面审核意见: approve (every check settled, none failing) or problems with the corrections."""
        actor = Actor.of(actor)
        with self.db.session() as session:
            row, task = store.load_for_actor(session, task_id, actor)
            at = store.step_time(task)
            task = self._findings(self._begin(task, row, actor, at), actor, checks, at)
            if opinion == OpinionKind.APPROVE.value:
                if task.state is TaskState.UNDER_REVIEW and task.current.reviewer_id == actor.subject:
                    blockers = approval_blockers(task.current)
                    if blockers:
                        raise ReviewError(409, "checklist_incomplete",
                                          "审查事项未全部通过或未记录审查意见，不能出具同意意见：" + "；".join(blockers))
                decided = Opinion.approve(text or "同意")
            else:
                decided = Opinion.problems(list(corrections or ()), text=text or "存在问题")
            task = record_opinion(task, actor.subject, decided, at)
            store.save(row, task, at)
            self._conclusion(session, row, task, stage="opinion")
            return self._view(row, task)

    @rpc
    @answers
    def sign(self, task_id, actor, approve, note="", reasons=()):
        """REV-6 负责人签署: the body's responsible person signs (approved) or refuses (returned, with reasons).

        The approver recorded is the authenticated caller, who must hold the responsible-person role
        (负责人) for the task's body — never a name the caller sends (a departmental system once recorded
        whatever ``approver_id`` it chose).
        """
        actor = Actor.of(actor)
        if actor.kind != "staff" or actor.role != RESPONSIBLE_PERSON:
            raise ReviewError(403, "forbidden", "审核签署须由本机关负责人本人办理")
        who = actor.subject
        with self.db.session() as session:
            row, task = store.load_for_actor(session, task_id, actor)
            at = store.step_time(task)
            if approve:
                task = sign_off(task, who, at, note or "")
            else:
                task = refuse_sign_off(task, who, at, list(reasons or ()))
            store.save(row, task, at)
            self._conclusion(session, row, task, stage="sign_off")
            return self._view(row, task)

    @rpc
    @answers
    def disagree(self, task_id, actor, position, raised_by=None):
        """REV-5: the handling unit disagrees with a returned opinion → coordination."""
        actor = Actor.of(actor)
        who = raised_by if actor.kind == "department" and raised_by else actor.subject
        with self.db.session() as session:
            row, task = store.load_for_actor(session, task_id, actor)
            handling = set(task.current.proposal.officer_ids) | {task.current.submitted_by}
            if actor.kind == "department" and raised_by and raised_by not in task.current.proposal.officer_ids:
                # SEC-2, issue 15: a department key names only one of the case's own handling officers, never
                # the reviewer or an outsider (who would then count as a party to the coordination)
                raise ReviewError(403, "not_handling_officer",
                                  f"{raised_by}不是本案承办人员，业务系统只能代本案承办人员提出异议")
            if actor.kind != "department" and who not in handling:
                raise ReviewError(403, "not_handling_unit", "只有本案承办人员（或承办机构业务系统）可以对审核意见提出异议")
            at = store.step_time(task)
            task = raise_disagreement(task, who, at, position)
            store.save(row, task, at)
            cur = task.current
            emit(session, "review.disagreement_raised", {
                "task_id": task.task_id, "version": cur.number, "raised_by": who,
                "unit_position": cur.coordination.unit_position, "reviewer_id": cur.reviewer_id},
                region_code=row.region_code, body_id=row.body_id, case_id=row.case_id)
            return self._view(row, task)

    @rpc
    @answers
    def coordinate(self, task_id, actor, outcome, note="", corrections_kept=()):
        """REV-5 协调结论 by the coordinator: uphold the reviewer, accept the unit, or partly."""
        actor = Actor.of(actor)
        with self.db.session() as session:
            row, task = store.load_for_actor(session, task_id, actor)
            at = store.step_time(task)
            task = decide_coordination(task, actor.subject, at, CoordinationOutcome(outcome), note or "",
                                       list(corrections_kept or ()))
            store.save(row, task, at)
            c = task.current.coordination
            emit(session, "review.coordinated", {
                "task_id": task.task_id, "version": task.current.number, "coordinator_id": actor.subject,
                "outcome": c.outcome.value, "corrections_kept": list(c.corrections_kept), "note": c.note},
                region_code=row.region_code, body_id=row.body_id, case_id=row.case_id)
            self._conclusion(session, row, task, stage="coordination")
            return self._view(row, task)

    @staticmethod
    def _conclusion(session, row, task, stage: str) -> None:
        """review.approved / review.returned when the current version got its conclusion (REV-4, REV-6)."""
        cur = task.current
        if cur.status not in (VersionStatus.APPROVED, VersionStatus.RETURNED):
            return
        if cur.status is VersionStatus.APPROVED:
            problems = []
        elif stage == "coordination":
            problems = list(cur.coordination.corrections_kept)
        else:
            problems = list(cur.opinion.corrections) if cur.opinion else []
        approved = cur.status is VersionStatus.APPROVED
        emit(session, "review.approved" if approved else "review.returned", {
            "task_id": task.task_id, "version": cur.number, "reviewer_id": cur.reviewer_id,
            "approver_id": cur.approver_id, "opinion": "approve" if approved else "problems", "problems": problems,
            "stage": stage, "submitted_by": cur.submitted_by,
            "coordinator_id": cur.coordination.coordinator_id if cur.coordination else None},
            region_code=row.region_code, body_id=row.body_id, case_id=row.case_id)
        metrics.CONCLUDED.labels(row.region_code, row.body_id, "approved" if approved else "returned").inc()

    # === RPC: the gate (REV-2), violations, staffing ==============================================

    @rpc
    def may_decide(self, case_id, version, actor):
        """REV-2 pre-decision check for departmental systems: yes, or no with reasons. None: unknown case."""
        try:
            actor = Actor.of(actor)
        except ReviewError:
            return None
        with self.db.session() as session:
            answer = store.gate_answer(session, case_id, int(version))
            if answer is None or not actor.covers(answer["region_code"], answer["body_id"]):
                return None
            return answer

    @rpc
    def list_violations(self, actor, kind=None, open_only=False, body_id=None):
        """Violations found by review in the caller's scope (应审未审, 审核未通过, 审核人员不足), newest first."""
        actor = Actor.of(actor)
        with self.db.session() as session:
            query = store.in_scope(select(Violation), Violation.region_code, Violation.body_id, actor)
            if kind:
                query = query.where(Violation.kind == kind)
            if open_only:
                query = query.where(Violation.resolved_at.is_(None))
            if body_id:
                query = query.where(Violation.body_id == body_id)
            rows = session.scalars(query.order_by(Violation.detected_at.desc()).limit(500)).all()
            return [store.violation_view(v) for v in rows if actor.covers(v.region_code, v.body_id)]

    @rpc
    def staffing(self, actor):
        """REV-7: each body's officers, reviewers, the required number and the shortfall, in scope."""
        actor = Actor.of(actor)
        with self.db.session() as session:
            rows = session.scalars(store.in_scope(select(BodyStaffing), BodyStaffing.region_code, BodyStaffing.body_id, actor)
                                   .order_by(BodyStaffing.body_id)).all()
            return [store.staffing_view(r) for r in rows if actor.covers(r.region_code, r.body_id)]
