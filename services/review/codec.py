"""The domain review task as JSON and back, losslessly (the ``review_tasks.document`` column).

Explicit rather than generic: every field of every domain value is named here, so a change of the
domain model that the codec does not know fails the round-trip test instead of silently dropping data.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from services.common.workdays import Deadline
from services.review.domain import (CheckFinding, CheckResult, Classification, Coordination, FiredRule, Flags,
                                    Opinion, Party, Proposal, ReviewTask, ReviewVersion, TaskState, Transition,
                                    VersionStatus)

FORMAT = 1


def _dt(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _pdt(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _money(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


# --- values -------------------------------------------------------------------------------------

def proposal_to_json(p: Proposal) -> dict:
    return {"case_id": p.case_id, "version": p.version, "body_id": p.body_id, "region_code": p.region_code,
            "action_type": p.action_type, "matter_code": p.matter_code, "field": p.field,
            "parties": [{"party_kind": x.party_kind.value, "name": x.name, "id_number": x.id_number,
                         "is_private_enterprise": x.is_private_enterprise} for x in p.parties],
            "officer_ids": list(p.officer_ids), "proposed_at": _dt(p.proposed_at),
            "fine_amount": _money(p.fine_amount), "confiscation_amount": _money(p.confiscation_amount),
            "measures": list(p.measures), "hearing_requested": p.hearing_requested, "hearing_held": p.hearing_held,
            "flags": {k: getattr(p.flags, k) for k in ("major_public_interest", "social_risk",
                                                       "complex_legal_relations", "law_requires_review")},
            "submitted_by": p.submitted_by, "summary": p.summary}


def proposal_from_json(d: dict) -> Proposal:
    return Proposal(case_id=d["case_id"], version=d["version"], body_id=d["body_id"], region_code=d["region_code"],
                    action_type=d["action_type"], matter_code=d["matter_code"], field=d.get("field"),
                    parties=tuple(Party(**x) for x in d["parties"]), officer_ids=tuple(d["officer_ids"]),
                    proposed_at=_pdt(d["proposed_at"]), fine_amount=d.get("fine_amount"),
                    confiscation_amount=d.get("confiscation_amount"), measures=tuple(d.get("measures") or ()),
                    hearing_requested=d["hearing_requested"], hearing_held=d["hearing_held"],
                    flags=Flags(**d["flags"]), submitted_by=d.get("submitted_by"),
                    summary=d.get("summary") or "")


def deadline_to_json(x: Deadline) -> dict:
    return {"start": x.start.isoformat(), "working_days": x.working_days, "due": x.due.isoformat(),
            "provisional": x.provisional, "calendar_version": x.calendar_version}


def deadline_from_json(d: dict) -> Deadline:
    return Deadline(dt.date.fromisoformat(d["start"]), d["working_days"], dt.date.fromisoformat(d["due"]),
                    d["provisional"], d["calendar_version"])


def check_to_json(r: CheckResult) -> dict:
    return {"code": r.code, "title": r.title, "outcome": r.outcome.value, "finding": r.finding,
            "automatic": r.automatic}


def check_from_json(d: dict) -> CheckResult:
    from services.review.domain import Outcome

    return CheckResult(d["code"], d["title"], Outcome(d["outcome"]), d["finding"], d["automatic"])


def finding_to_json(f: CheckFinding) -> dict:
    return {"code": f.code, "outcome": f.outcome.value, "finding": f.finding, "by": f.by, "at": _dt(f.at)}


def finding_from_json(d: dict) -> CheckFinding:
    return CheckFinding(d["code"], d["outcome"], d["finding"], d["by"], _pdt(d["at"]))


def fired_to_json(f: FiredRule) -> dict:
    return {"rule_id": f.rule_id, "description": f.description, "detail": f.detail}


def classification_to_json(c: Classification) -> dict:
    return {"case_id": c.case_id, "version": c.version, "major": c.major,
            "fired": [fired_to_json(f) for f in c.fired], "sign_off_required": c.sign_off_required,
            "layers": list(c.layers), "catalogue_digest": c.catalogue_digest}


def classification_from_json(d: dict) -> Classification:
    return Classification(d["case_id"], d["version"], d["major"],
                          tuple(FiredRule(f["rule_id"], f["description"], f["detail"]) for f in d["fired"]),
                          d["sign_off_required"], tuple(d["layers"]), d["catalogue_digest"])


def opinion_to_json(o: Opinion | None) -> dict | None:
    return None if o is None else {"kind": o.kind.value, "text": o.text, "corrections": list(o.corrections)}


def opinion_from_json(d: dict | None) -> Opinion | None:
    return None if d is None else Opinion(d["kind"], d["text"], tuple(d["corrections"]))


def coordination_to_json(c: Coordination | None) -> dict | None:
    if c is None:
        return None
    return {"raised_by": c.raised_by, "raised_at": _dt(c.raised_at), "unit_position": c.unit_position,
            "coordinator_id": c.coordinator_id, "outcome": c.outcome.value if c.outcome else None,
            "decided_at": _dt(c.decided_at), "note": c.note, "corrections_kept": list(c.corrections_kept)}


def coordination_from_json(d: dict | None) -> Coordination | None:
    from services.review.domain import CoordinationOutcome

    if d is None:
        return None
    return Coordination(d["raised_by"], _pdt(d["raised_at"]), d["unit_position"], d["coordinator_id"],
                        CoordinationOutcome(d["outcome"]) if d["outcome"] else None, _pdt(d["decided_at"]),
                        d["note"], tuple(d["corrections_kept"]))


def version_to_json(v: ReviewVersion) -> dict:
    return {"number": v.number, "proposal": proposal_to_json(v.proposal), "submitted_by": v.submitted_by,
            "submitted_at": _dt(v.submitted_at), "due": deadline_to_json(v.due),
            "prechecks": [check_to_json(r) for r in v.prechecks],
            "classification": classification_to_json(v.classification) if v.classification else None,
            "sign_off_required": v.sign_off_required, "status": v.status.value, "reviewer_id": v.reviewer_id,
            "review_started_at": _dt(v.review_started_at), "opinion": opinion_to_json(v.opinion),
            "reviewed_at": _dt(v.reviewed_at), "approver_id": v.approver_id, "signed_off_at": _dt(v.signed_off_at),
            "sign_off_note": v.sign_off_note, "coordination": coordination_to_json(v.coordination),
            "findings": [finding_to_json(f) for f in v.findings]}


def version_from_json(d: dict) -> ReviewVersion:
    return ReviewVersion(
        number=d["number"], proposal=proposal_from_json(d["proposal"]), submitted_by=d["submitted_by"],
        submitted_at=_pdt(d["submitted_at"]), due=deadline_from_json(d["due"]),
        prechecks=tuple(check_from_json(r) for r in d["prechecks"]),
        classification=classification_from_json(d["classification"]) if d["classification"] else None,
        sign_off_required=d["sign_off_required"], status=VersionStatus(d["status"]), reviewer_id=d["reviewer_id"],
        review_started_at=_pdt(d["review_started_at"]), opinion=opinion_from_json(d["opinion"]),
        reviewed_at=_pdt(d["reviewed_at"]), approver_id=d["approver_id"], signed_off_at=_pdt(d["signed_off_at"]),
        sign_off_note=d["sign_off_note"], coordination=coordination_from_json(d["coordination"]),
        findings=tuple(finding_from_json(f) for f in d.get("findings") or ()))


def transition_to_json(t: Transition) -> dict:
    return {"action": t.action, "from_state": t.from_state.value if t.from_state else None,
            "to_state": t.to_state.value, "version": t.version, "actor": t.actor, "at": _dt(t.at), "note": t.note}


def transition_from_json(d: dict) -> Transition:
    return Transition(d["action"], TaskState(d["from_state"]) if d["from_state"] else None, TaskState(d["to_state"]),
                      d["version"], d["actor"], _pdt(d["at"]), d["note"])


# --- the task ----------------------------------------------------------------------------------

def task_to_json(task: ReviewTask) -> dict[str, Any]:
    return {"format": FORMAT, "task_id": task.task_id, "case_id": task.case_id, "body_id": task.body_id,
            "state": task.state.value, "versions": [version_to_json(v) for v in task.versions],
            "history": [transition_to_json(t) for t in task.history]}


def task_from_json(d: dict[str, Any]) -> ReviewTask:
    if d.get("format") != FORMAT:
        raise ValueError(f"review task document format {d.get('format')!r} is not supported (expected {FORMAT})")
    return ReviewTask(d["task_id"], d["case_id"], d["body_id"], TaskState(d["state"]),
                      tuple(version_from_json(v) for v in d["versions"]),
                      tuple(transition_from_json(t) for t in d["history"]))
