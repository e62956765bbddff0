"""典型案例通报 (CMP-7): select → write the warning → submit → a second supervisor approves (or returns)
→ ``evaluation.typical_case_approved`` (outbox, same transaction), which disclosure redacts and publishes.

Sources: a complaint concluded as upheld (the ``complaint_upheld`` fact of its number, from
``complaint.concluded``) or an accountability case decided to hold someone to account
(作出追责决定). Scope (SEC-2): only a supervisor with every body of the region the case belongs to selects,
edits, reviews and lists it; one source gives one typical case."""
from __future__ import annotations

import datetime as dt
import json
import uuid

from sqlalchemy import select

from services.common.db import emit
from services.common.scope import Scope
from services.evaluation.domain import typical as rules
from services.evaluation.domain.accountability import Outcome
from services.evaluation.models import CaseRow, Fact, TypicalCaseRow
from services.evaluation.workflow import WorkflowError

from .shared import today_in_china


def _supervisor(scope, region_code: str, body_id: str) -> None:
    if not (scope.all_bodies and scope.covers(region_code, body_id)):
        raise rules.TypicalCaseError(404, "not_found", "典型案例或其来源不存在，或不在您的监督范围内")


def _source(session, scope, kind: str, ref: str) -> tuple[str, str]:
    """(region, body) of an eligible source in the caller's scope, else refused (404 when the caller may
    not know it exists: outside the scope, or no upheld complaint of that number)."""
    if kind == "complaint":
        fact = session.scalars(select(Fact).where(Fact.kind == "complaint_upheld", Fact.ref == ref).limit(1)).first()
        if fact is None:
            raise rules.TypicalCaseError(404, "not_found", f"未找到已办结且经核查属实的投诉 {ref}")
        _supervisor(scope, fact.region_code, fact.body_id)
        return fact.region_code, fact.body_id
    if kind == "accountability":
        row = session.get(CaseRow, ref)
        if row is None:
            raise rules.TypicalCaseError(404, "not_found", f"未找到责任追究案件 {ref}")
        _supervisor(scope, row.region_code, row.body_id)
        if row.outcome != Outcome.SANCTIONED.value:
            raise rules.TypicalCaseError(422, "not_eligible", f"责任追究案件 {ref} 未作出追责决定，不能作为典型案例")
        return row.region_code, row.body_id
    raise rules.TypicalCaseError(422, "invalid", "来源应为 complaint 或 accountability")


def _log(row: TypicalCaseRow, actor: str, action: str, note: str | None = None) -> None:
    history = json.loads(row.history or "[]")
    history.append({"at": dt.datetime.now(dt.timezone.utc).isoformat(), "actor": actor, "action": action,
                    "note": note})
    row.history = json.dumps(history, ensure_ascii=False)


def view(row: TypicalCaseRow) -> dict:
    return {"typical_case_id": row.typical_case_id, "region_code": row.region_code, "body_id": row.body_id,
            "source_kind": row.source_kind, "source_ref": row.source_ref, "title": row.title,
            "warning_text": row.warning_text, "status": row.status, "status_zh": rules.STATUS_ZH[row.status],
            "author": row.author, "reviewer": row.reviewer, "review_note": row.review_note,
            "approved_on": row.approved_on.isoformat() if row.approved_on else None,
            "history": json.loads(row.history or "[]")}


def select_case(session, scope, actor, data) -> dict:
    kind, ref = data.get("source_kind"), str(data.get("source_ref") or "")
    region, body = _source(session, scope, kind, ref)
    rules.check_text(data.get("title"), data.get("warning_text"))
    if session.scalars(select(TypicalCaseRow).where(TypicalCaseRow.source_kind == kind,
                                                    TypicalCaseRow.source_ref == ref)).first():
        raise rules.TypicalCaseError(409, "already_selected", "该来源已被选为典型案例")
    row = TypicalCaseRow(typical_case_id=f"DXAL-{uuid.uuid4().hex[:12]}", region_code=region, body_id=body,
                         source_kind=kind, source_ref=ref, title=data["title"].strip(),
                         warning_text=data["warning_text"].strip(), status="draft", author=actor, history="[]")
    _log(row, actor, "select")
    session.add(row)
    return view(row)


def _row(session, scope, data) -> TypicalCaseRow:
    row = session.get(TypicalCaseRow, str(data.get("typical_case_id") or ""), with_for_update=True)
    if row is None:
        raise rules.TypicalCaseError(404, "not_found", "典型案例或其来源不存在，或不在您的监督范围内")
    _supervisor(scope, row.region_code, row.body_id)
    return row


def edit_case(session, scope, actor, data) -> dict:
    row = _row(session, scope, data)
    rules.edit(row.status)
    rules.check_text(data.get("title"), data.get("warning_text"))
    row.title, row.warning_text, row.author = data["title"].strip(), data["warning_text"].strip(), actor
    _log(row, actor, "edit")
    return view(row)


def submit_case(session, scope, actor, data) -> dict:
    row = _row(session, scope, data)
    row.status = rules.submit(row.status).status
    _log(row, actor, "submit")
    return view(row)


def review_case(session, scope, actor, data) -> dict:
    row = _row(session, scope, data)
    step = rules.review(row.status, actor, row.author, bool(data.get("approve")), data.get("note"))
    row.status, row.reviewer, row.review_note = step.status, actor, step.note
    _log(row, actor, "approve" if step.status == "approved" else "return", step.note)
    if step.status == "approved":
        row.approved_on = today_in_china()
        row.event_id = emit(session, "evaluation.typical_case_approved", {
            "typical_case_id": row.typical_case_id, "source_kind": row.source_kind, "source_ref": row.source_ref,
            "title": row.title, "warning_text": row.warning_text, "approved_on": row.approved_on},
            region_code=row.region_code, body_id=row.body_id)
    return view(row)


def list_cases(session, scope, actor, data) -> dict:
    query = scope.where(select(TypicalCaseRow), TypicalCaseRow.region_code, TypicalCaseRow.body_id)
    if data.get("status"):
        query = query.where(TypicalCaseRow.status == data["status"])
    rows = session.scalars(query.order_by(TypicalCaseRow.created_at.desc())).all()
    return {"typical_cases": [view(r) for r in rows if scope.all_bodies]}


ACTIONS = {"select": select_case, "edit": edit_case, "submit": submit_case, "review": review_case,
           "list": list_cases}


def run(db, action, scope, actor, data) -> dict:
    fn = ACTIONS.get(action)
    if fn is None:
        raise WorkflowError(422, "invalid", f"未知的操作 {action}")
    scope = Scope.of(scope)
    if scope.empty:
        raise WorkflowError(403, "forbidden", "无权办理典型案例")
    try:
        with db.session() as session:
            return fn(session, scope, actor, dict(data or {}))
    except rules.TypicalCaseError as exc:
        raise WorkflowError(exc.status, exc.code, exc.message) from None
