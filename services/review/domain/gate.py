"""The review gate (应审未审、审核未通过不得作出决定) and bypass detection — REQUIREMENTS REV-2.

A major decision (重大执法决定) may be made only when *the version being decided* has an approved
review. Approval is never inherited by a later version: if the handling unit changed the proposal
after approval (v2), v2 must be reviewed again.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from .catalogue import Classification, FiredRule
from .tasks import STATE_NAMES_ZH, ReviewTask, TaskState, VersionStatus

__all__ = ["GateAnswer", "ViolationKind", "Violation", "may_decide", "detect_bypass", "part", "combine"]


@dataclass(frozen=True)
class GateAnswer:
    allowed: bool
    reasons: tuple[str, ...]  # Chinese


class ViolationKind(str, enum.Enum):
    """Matches the ``review.bypassed`` event's ``violation`` field."""

    NOT_REVIEWED = "not_reviewed"  # 应审未审
    NOT_APPROVED = "not_approved"  # 审核未通过仍作出决定


@dataclass(frozen=True)
class Violation:
    case_id: str
    version: int
    kind: ViolationKind
    description: str  # Chinese


def _review_status(task: ReviewTask | None, case_id: str, version: int) -> tuple[str, str]:
    """(status, Chinese reason) of ``version``: approved | not_submitted | pending | returned | superseded."""
    if task is None:
        return "not_submitted", f"案件{case_id}属于重大执法决定，未送法制审核（应审未审），不得作出决定"
    if task.case_id != case_id:
        raise ValueError(f"review task {task.task_id} is for case {task.case_id}, not {case_id}")
    v = task.version(version)
    if v is None:
        latest = task.current.number
        extra = f"（已送审的最新版本为第{latest}版，审核结论不适用于其他版本）"
        return "not_submitted", f"案件{case_id}第{version}版拟作出的决定未送法制审核（应审未审）{extra}，不得作出决定"
    if v.status is VersionStatus.APPROVED:
        who = f"审核人员{v.reviewer_id}" + (f"，负责人{v.approver_id}签署" if v.approver_id else "")
        return "approved", f"案件{case_id}第{version}版已通过法制审核（{who}）"
    if v.status is VersionStatus.RETURNED:
        if task.state is TaskState.COORDINATION and v is task.current:
            return "returned", f"案件{case_id}第{version}版审核意见为存在问题，正在协调，协调结论作出前不得作出决定"
        return "returned", f"案件{case_id}第{version}版法制审核未通过（存在问题），应修改后再次送审，不得作出决定"
    if v.status is VersionStatus.SUPERSEDED:
        return "superseded", (f"案件{case_id}第{version}版在审核结束前已被第{task.current.number}版替代，"
                              f"未经审核，不得作出决定")
    state = STATE_NAMES_ZH[task.state] if v is task.current else "审核中"
    return "pending", f"案件{case_id}第{version}版法制审核尚未完成（{state}），不得作出决定"


def may_decide(task: ReviewTask | None, case_id: str, version: int, classification: Classification) -> GateAnswer:
    """May the body make the decision of ``case_id`` version ``version`` now? (REV-2)

    ``task`` is the case's review task (None if none was opened). Non-major decisions are always allowed.
    """
    if (classification.case_id, classification.version) != (case_id, version):
        raise ValueError(f"classification is for {classification.case_id} v{classification.version}, "
                         f"not {case_id} v{version}")
    if not classification.major:
        return GateAnswer(True, ("非重大执法决定，无需法制审核",))
    status, reason = _review_status(task, case_id, version)
    rules = "、".join(f.description for f in classification.fired)
    basis = f"认定为重大执法决定的依据：{rules}"
    return GateAnswer(status == "approved", (reason, basis))


def detect_bypass(classification: Classification, review_state: ReviewTask | None,
                  decision_made_version: int) -> Violation | None:
    """A ``decision.made`` for a major decision without an approved review of that version (REV-2).

    ``not_reviewed`` (应审未审): never submitted, superseded, or review not concluded;
    ``not_approved`` (审核未通过仍作出决定): the review found problems (incl. during coordination).
    """
    if not classification.major:
        return None
    case_id = classification.case_id
    status, reason = _review_status(review_state, case_id, decision_made_version)
    if status == "approved":
        return None
    if status == "returned":
        return Violation(case_id, decision_made_version, ViolationKind.NOT_APPROVED,
                         f"审核未通过仍作出决定：案件{case_id}第{decision_made_version}版法制审核意见为存在问题，"
                         f"承办机构未修改并经审核通过即作出执法决定")
    what = {"not_submitted": "未送法制审核", "superseded": "被替代的版本未经审核",
            "pending": "法制审核尚未完成"}[status]
    return Violation(case_id, decision_made_version, ViolationKind.NOT_REVIEWED,
                     f"应审未审：案件{case_id}第{decision_made_version}版属于重大执法决定，{what}即作出执法决定")


# --- one classification whatever the order of arrival (REV-2, issue 14) --------------------------------

def part(classification: Classification) -> dict:
    """What one source (the proposal, or the decision made) says of a version, as stored JSON."""
    return {"major": classification.major,
            "fired": [{"rule_id": f.rule_id, "description": f.description, "detail": f.detail}
                      for f in classification.fired],
            "sign_off_required": classification.sign_off_required, "layers": list(classification.layers),
            "catalogue_digest": classification.catalogue_digest}


def combine(case_id: str, version: int, by_proposal: dict | None, by_decision: dict | None,
            inherited: Classification | None = None) -> Classification:
    """The classification of ``case_id`` version ``version`` from everything that arrived about it —
    monotone, so the same whichever arrives first and whichever arrives second can only add:

    major = major by its proposal OR major by its decision (a decision beyond what was proposed, e.g. a
    bigger fine, is a major decision too) OR — for a version nobody proposed — an earlier proposed
    version of the case was major (``inherited``: the case stays major). Fired rules: the proposal's,
    then the inherited ones, then the decision's, each rule once.
    """
    sources = [p for p in (by_proposal,) if p]
    if by_proposal is None and inherited is not None and inherited.major:
        sources.append(part(inherited))
    if by_decision:
        sources.append(by_decision)
    fired, seen, layers = [], set(), []
    for source in sources:
        if not source.get("major"):
            continue
        for f in source.get("fired") or []:
            if f["rule_id"] not in seen:
                seen.add(f["rule_id"])
                fired.append(FiredRule(f["rule_id"], f["description"], f["detail"]))
        for layer in source.get("layers") or []:
            if layer not in layers:
                layers.append(layer)
    major = any(bool(source.get("major")) for source in sources)
    if not major:
        layers = list((sources[0].get("layers") or []) if sources else [])
    digest = next((source.get("catalogue_digest") or "" for source in sources), "")
    return Classification(case_id, version, major, tuple(fired),
                          major and any(bool(s.get("sign_off_required")) for s in sources if s.get("major")),
                          tuple(layers), digest)
