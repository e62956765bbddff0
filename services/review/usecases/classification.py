"""重大执法决定认定 and 送审 (REV-1, REV-2, REV-4, REV-5, REV-7): a proposed decision is classified with
the catalogue; a major one opens the case's review task (or adds a version to it) with its pre-checks, a
reviewer and a due day; a decision made without an approved review of its version is 应审未审.

Order is not guaranteed (issue 14): every version of a case is classified from what arrived — its
proposal, its decision, an earlier major version (``gate.combine``) — the same whatever the order; a
proposal arriving after its decision reconciles instead of opening a task."""
from __future__ import annotations

import datetime as dt
import uuid

from services.common import ownership
from services.common.db import emit, utcnow
from services.common.events import InvalidEvent
from services.common.workdays import default_calendar
from services.review import configuration, metrics, store
from services.review.domain import (InvalidTransition, Proposal, TaskState, classify, detect_bypass, gate,
                                    open_task, proposal_from_payload, resubmit, review_due)
from services.review.models import Classification, ReviewTask
from services.review.store import aware, china_day


def fired(classification) -> list[dict]:
    """The fired rules of a classification as events and views carry them (触发的认定规则)."""
    return [{"rule_id": f.rule_id, "description": f.description, "detail": f.detail} for f in classification.fired]


def decision_proposed(db, event) -> None:
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
    with db.effect_of(event) as session:
        row = _row(session, event, result.version)
        row.by_proposal, row.proposal = gate.part(result), event.raw.get("payload") or {}
        decided = store.decided_versions(session, event.case_id)
        combined = settle(session, event, catalogue, decided, proposed_version=result.version)
        if decided and result.version <= max(decided):
            # the decision of this version (or a later one) is made: nothing left to review
            kinds = check_decided(session, event, decided)
        elif combined[result.version].major:
            opened = submit(session, event, proposal, combined[result.version], settings)
    metrics.CLASSIFIED.labels(event.region_code, event.body_id, str(result.major).lower()).inc()
    if opened:
        metrics.TASKS_OPENED.labels(event.region_code, event.body_id).inc()
    for kind in kinds:
        metrics.BYPASSED.labels(event.region_code, event.body_id, kind).inc()


def decision_made(db, event) -> None:
    """REV-2: a major decision made without an approved review of that version is a violation (应审未审),
    recorded once per (case, version) whatever the order of arrival and the number of copies; the
    case's task is closed up to the decided version (nobody reviews a decision already made)."""
    version = int(event.payload["version"])
    with db.effect_of(event) as session:
        decided = store.decided_versions(session, event.case_id)
        if version not in decided:
            decided[version] = store.add_decided_version(session, event, version)
        settle(session, event, configuration.catalogue(), decided)
        kinds = check_decided(session, event, decided)
        row = store.task_row_for_case(session, event.case_id, lock=True)
        if row is not None and (row.decided_version or 0) < version:
            row.decided_version = version
            store.save(row, store.decode(row), row.updated_at)
    for kind in kinds:
        metrics.BYPASSED.labels(event.region_code, event.body_id, kind).inc()


def case_transferred(db, event) -> None:
    """SEC-2: from the transfer on, the case's proposals and decisions come from its new body, and
    its review task is in the new body's scope."""
    with db.effect_of(event) as session:
        ownership.record_transfer(session, event, utcnow())
        row = store.task_row_for_case(session, event.case_id, lock=True)
        if row is not None:
            store.follow_owner(session, row)


def _row(session, event, version: int) -> Classification:
    row = store.classification(session, event.case_id, version)
    if row is None:
        row = Classification(case_id=event.case_id, version=version, region_code=event.region_code,
                             body_id=event.body_id, major=False, fired_rules=[], fired=[], proposal={},
                             layers=[], source="decision", classified_at=utcnow())
        store.add_classification(session, row)
    return row


def settle(session, event, catalogue, decided: dict, proposed_version: int | None = None) -> dict:
    """Classify every version of the case from what arrived (its proposal, its decision, earlier
    major versions — ``gate.combine``, the same whatever the order); store the changes and emit
    ``review.classified`` for a version whose classification changed (and for a proposal, always).
    Returns version -> domain Classification."""
    rows = {r.version: r for r in store.case_classifications(session, event.case_id)}
    known = {v for v, r in rows.items() if r.by_proposal is not None or r.by_decision is not None}
    for version in decided:
        if version not in rows:
            rows[version] = _row(session, event, version)
    proposed = [r for _, r in sorted(rows.items()) if r.by_proposal is not None]
    field = (proposed[-1].proposal or {}).get("field") if proposed else None
    out, majors = {}, []
    for version, row in sorted(rows.items()):
        if version in decided:
            row.by_decision = gate.part(classify(proposal_from_decision(decided[version], field), catalogue))
        inherited = majors[-1] if majors and row.by_proposal is None else None
        result = gate.combine(event.case_id, version, row.by_proposal, row.by_decision, inherited)
        out[version] = result
        if row.by_proposal is not None and result.major:
            majors.append(result)
        before = (row.major, list(row.fired_rules or []), row.source)
        source = "proposal" if row.by_proposal is not None else "decision"
        row.region_code, row.body_id, row.major = row.region_code or event.region_code, \
            row.body_id or event.body_id, result.major
        row.fired_rules, row.fired, row.sign_off_required = result.fired_rule_ids, fired(result), \
            result.sign_off_required
        row.catalogue_digest, row.layers, row.source = result.catalogue_digest, list(result.layers), source
        if version == proposed_version or version not in known \
                or before != (row.major, list(row.fired_rules), row.source):
            row.classified_at = utcnow()
            emit(session, "review.classified", {
                "version": version, "major": result.major, "fired_rules": result.fired_rule_ids,
                "fired": fired(result), "sign_off_required": result.sign_off_required,
                "catalogue_digest": result.catalogue_digest, "source": source},
                region_code=event.region_code, body_id=event.body_id, case_id=event.case_id, caused_by=event)
    return out


def submit(session, event, proposal: Proposal, result, settings) -> bool:
    """送审: open the task or add the version to it (REV-4: history kept; approval never inherited)."""
    now = utcnow()
    # the pre-checks below read these: no change of them commits unseen (a batch holds them already, from
    # preload_batch, taken before its task rows)
    store.hold_checked_data(session, reads=store.proposal_reads(event))
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


def check_decided(session, event, decided: dict) -> list[str]:
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

def proposal_from_decision(made, field: str | None) -> Proposal:
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
