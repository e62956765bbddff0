"""审核 (REV-3…REV-6): the reviewer records findings and gives the written opinion (书面审核意见), the
body's responsible person signs (负责人签署), the handling unit may disagree and a coordinator decides
(协调). Each act loads the task locked in the caller's scope, lets the domain's life cycle decide,
writes the task back with the events of its conclusion, and answers the task view."""
from __future__ import annotations

import datetime as dt

from services.common.db import emit, utcnow
from services.common.workdays import default_calendar
from services.review import configuration, metrics, store
from services.review.domain import (CoordinationOutcome, Opinion, OpinionKind, TaskState, VersionStatus,
                                    approval_blockers, decide_coordination, raise_disagreement, record_finding,
                                    record_opinion, refuse_sign_off, sign_off, start_review)
from services.review.store import Actor, ReviewError, china_day

RESPONSIBLE_PERSON = "responsible_person"   # 负责人 (REV-6), services/common/auth.STAFF_ROLES


def today() -> dt.date:
    return china_day(utcnow())


def view(row, task, full=True) -> dict:
    """The task as the gateway shows it (full, or the summary of a list), with its due-day warning."""
    s = configuration.review_settings()
    fn = store.task_view if full else store.task_summary
    return fn(row, task, default_calendar(), s.warn_working_days, today())


def list_tasks(db, actor, status=None, assigned=None, body_id=None, case_id=None) -> list[dict]:
    actor = Actor.of(actor)
    with db.session() as session:
        rows = store.tasks_in_scope(session, actor, today(), status=status, assigned=assigned, body_id=body_id,
                                    case_id=case_id)
        return [view(r, store.decode(r), full=False) for r in rows]


def get_task(db, task_id, actor) -> dict:
    actor = Actor.of(actor)
    with db.session() as session:
        row, task = store.load_for_actor(session, task_id, actor, lock=False)
        return view(row, task)


def _begin(task, row, actor: Actor, at):
    """The acting reviewer starts the review of an open/resubmitted version (claims it if unassigned)."""
    if task.state not in (TaskState.OPEN, TaskState.RESUBMITTED):
        return task
    assigned = ((row.assignments or {}).get(str(task.current.number)) or {}).get("reviewer_id")
    if assigned and assigned != actor.subject:
        raise ReviewError(403, "not_assigned", f"该审核任务已分配给法制审核人员{assigned}，如需改派请联系法制审核机构负责人")
    return start_review(task, actor.subject, at)


def _findings(task, actor: Actor, checks, at):
    for item in checks or []:
        task = record_finding(task, actor.subject, item["code"], item["outcome"], item.get("finding") or "", at)
    return task


def record_findings(db, task_id, actor, checks) -> dict:
    """REV-3: the reviewer records findings on checklist items (starts the review if not started)."""
    actor = Actor.of(actor)
    if not checks:
        raise ReviewError(422, "invalid", "请至少填写一项审查意见")
    with db.session() as session:
        row, task = store.load_for_actor(session, task_id, actor)
        at = store.step_time(task)
        task = _findings(_begin(task, row, actor, at), actor, checks, at)
        store.save(row, task, at)
        return view(row, task)


def give_opinion(db, task_id, actor, opinion, corrections=(), text=None, checks=()) -> dict:
    """REV-4 书面审核意见: approve (every check settled, none failing) or problems with the corrections."""
    actor = Actor.of(actor)
    with db.session() as session:
        row, task = store.load_for_actor(session, task_id, actor)
        at = store.step_time(task)
        task = _findings(_begin(task, row, actor, at), actor, checks, at)
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
        conclusion(session, row, task, stage="opinion")
        return view(row, task)


def sign(db, task_id, actor, approve, note="", reasons=()) -> dict:
    """REV-6 负责人签署: the body's responsible person signs (approved) or refuses (returned, with reasons).

    The approver recorded is the authenticated caller, who must hold the responsible-person role
    (负责人) for the task's body — never a name the caller sends (a departmental system once recorded
    whatever ``approver_id`` it chose).
    """
    actor = Actor.of(actor)
    if actor.kind != "staff" or actor.role != RESPONSIBLE_PERSON:
        raise ReviewError(403, "forbidden", "审核签署须由本机关负责人本人办理")
    who = actor.subject
    with db.session() as session:
        row, task = store.load_for_actor(session, task_id, actor)
        at = store.step_time(task)
        if approve:
            task = sign_off(task, who, at, note or "")
        else:
            task = refuse_sign_off(task, who, at, list(reasons or ()))
        store.save(row, task, at)
        conclusion(session, row, task, stage="sign_off")
        return view(row, task)


def disagree(db, task_id, actor, position, raised_by=None) -> dict:
    """REV-5: the handling unit disagrees with a returned opinion → coordination."""
    actor = Actor.of(actor)
    who = raised_by if actor.kind == "department" and raised_by else actor.subject
    with db.session() as session:
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
        return view(row, task)


def coordinate(db, task_id, actor, outcome, note="", corrections_kept=()) -> dict:
    """REV-5 协调结论 by the coordinator: uphold the reviewer, accept the unit, or partly."""
    actor = Actor.of(actor)
    with db.session() as session:
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
        conclusion(session, row, task, stage="coordination")
        return view(row, task)


def conclusion(session, row, task, stage: str) -> None:
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
