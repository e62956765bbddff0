"""Staff work in the caller's scope (DISC-1, DISC-3…DISC-7, PLAT-4): pending and late publications with
their warnings (黄灯/红灯), corrections (更正) and withdrawals (撤下) of publications, before-information
versions (事前公开), legal-basis changes (依据变化) and the annual report (统计年报) on demand. Every
request is checked against the caller's scope here, not only in the gateway (SEC-2, PLAT-1)."""
from __future__ import annotations

import datetime as dt

from services.common.db import utcnow
from services.common.scope import Scope
from services.common.workdays import default_calendar
from services.disclosure import jobs, lifecycle, portal, register, reports, store
from services.disclosure.domain.publication import WithdrawalReason

from .shared import Refused, day, may_act, refused


def list_pending(db, scope, today: dt.date) -> list[dict]:
    """Unpublished decisions (due / overdue with yellow/red warning) and late publications in scope."""
    calendar = default_calendar()
    scope = Scope.of(scope)
    with db.session() as session:
        out = []
        for p in store.unpublished_or_late(session, scope):
            if not may_act(scope, p.region_code, p.body_id):
                continue
            t = jobs.timing(p, today, calendar)
            view = portal.publication_view(p)
            view.update({"timeliness": t.status.value, "timeliness_zh": t.status.label_zh,
                         "warning": t.warning.value, "message": t.message_zh, "hold_reason": p.hold_reason,
                         "working_days_left": t.working_days_left, "working_days_late": t.working_days_late})
            out.append(view)
        return out


def publication_for_staff(session, publication_id, scope):
    row = store.publication(session, publication_id)
    if row is None or not may_act(scope, row.region_code, row.body_id):
        raise Refused(404, "not_found", "未找到该公示信息或不在您的管辖范围内")
    return row


def correct_publication(db, publication_id, changes, reason, actor, scope) -> dict:
    """DISC-5: the body corrects an entry (re-redacted; a held entry is published by its correction)."""
    try:
        with db.session() as session:
            row = publication_for_staff(session, publication_id, scope)
            lifecycle.correct(session, row, changes, reason, actor)
            return {"publication": portal.publication_view(row, with_history=True), "status": row.status}
    except Refused as exc:
        return exc.as_dict()


def withdraw_publication(db, publication_id, reason, detail, actor, scope) -> dict:
    """DISC-6 by staff (when no departmental event will come): take down / never publish."""
    try:
        withdrawal = WithdrawalReason(reason)
    except ValueError:
        return refused(422, "invalid", "请求内容有误", {"reason": ["应为 revoked、confirmed_illegal 或 remade"]})
    if not (detail or "").strip():
        return refused(422, "invalid", "请求内容有误", {"detail": ["必须说明撤销、确认违法或重作的文书"]})
    try:
        with db.session() as session:
            row = publication_for_staff(session, publication_id, scope)
            if not lifecycle.take_down(session, row, withdrawal, detail, actor):
                raise Refused(409, "invalid_state", "该公示信息已撤下或不再公开")
            return {"publication": portal.publication_view(row, with_history=True), "status": row.status}
    except Refused as exc:
        return exc.as_dict()


def put_before_item(db, kind, body_id, item_id, content, effective_on, reason, actor, scope, retire,
                    today: dt.date) -> dict:
    """DISC-1: service guides, remedy channels and random-inspection matters (versioned)."""
    if kind not in register.STAFF_KINDS:
        return refused(404, "not_found", "不支持的事前公开信息类别")
    with db.session() as session:
        body = register.current(session, "body", body_id, dt.date.max)
        if body is None:
            return refused(404, "not_found", f"执法主体 {body_id} 未登记")
        if not may_act(scope, body.region_code, body_id):
            return refused(403, "out_of_scope", "无权维护该执法主体的公开信息")
        if not (reason or "").strip():
            return refused(422, "invalid", "请求内容有误", {"reason": ["必须填写变更原因"]})
        if retire:
            if register.current(session, kind, f"{body_id}|{item_id}", dt.date.max) is None:
                return refused(404, "not_found", "该信息不存在或已停止公开")
            data = None
        else:
            try:
                data = register.validate_staff_content(kind, content or {})
            except ValueError as exc:
                return refused(422, "invalid", "请求内容有误", exc.args[0])
        history = register.versions(session, kind, f"{body_id}|{item_id}")
        valid_from = day(effective_on) or today
        if history and valid_from < history[-1].valid_from:
            return refused(409, "invalid", f"生效日期不得早于上一版本（{history[-1].valid_from.isoformat()}）")
        row = register.put_version(session, kind, f"{body_id}|{item_id}", body_id=body_id,
                                   region_code=body.region_code, content=data, valid_from=valid_from,
                                   reason=reason.strip(), recorded_by=actor)
        if row is None:
            return {"unchanged": True}
        return {"kind": kind, "item_id": item_id, "version": row.version, "valid_from": row.valid_from.isoformat()}


def record_basis_change(db, law_name, changed_on, region_code, note, actor, scope) -> dict:
    """PLAT-4: a legal basis changed; power-list entries citing it must be republished within a month.
    A region-level record: the caller's region covers it and the caller acts for some body (SEC-2)."""
    scope = Scope.of(scope)
    if scope.empty or not scope.covers_region(region_code):
        return refused(403, "out_of_scope", f"无权登记行政区划 {region_code} 的依据变化")
    with db.session() as session:
        row = store.add_basis_change(session, law_name=law_name.strip(), changed_on=day(changed_on),
                                     region_code=region_code, note=note, recorded_at=utcnow(), recorded_by=actor)
        return {"id": row.id, "law_name": row.law_name, "changed_on": row.changed_on.isoformat()}


def stale_powers(db, scope, as_of: dt.date) -> list[dict]:
    """Flagged power-list entries of the bodies in the caller's scope (read-only)."""
    with db.session() as session:
        return register.stale_power_list(session, Scope.of(scope), as_of)


def generate_annual_report(db, body_id, year, actor, scope, today: dt.date) -> dict:
    """DISC-7 on demand (e.g. after late corrections): build, publish, send."""
    with db.session() as session:
        body = register.current(session, "body", body_id, dt.date.max)
        any_row = store.any_publication_of_body(session, body_id)
        region = body.region_code if body else (any_row.region_code if any_row else None)
        if region is None:
            return refused(404, "not_found", f"执法主体 {body_id} 未登记，也没有执法决定")
        if not may_act(scope, region, body_id):
            return refused(403, "out_of_scope", "无权生成该执法主体的统计年报")
        try:
            row = reports.generate(session, body_id, int(year), today, actor, default_calendar())
        except (ValueError, LookupError) as exc:
            return refused(422, "invalid", str(exc))
        return reports.report_view(row, today)
