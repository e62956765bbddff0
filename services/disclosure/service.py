"""disclosure service (行政执法公示): publish decisions on time, redacted, with history (DISC-1…DISC-9).

Thin nameko entrypoints; the rules are in domain/, the database side in lifecycle.py (publications),
register.py (before-information, certificates), reports.py (annual statistics), inspections.py
(random-inspection draws), portal.py + search.py (the public portal's reads) and jobs.py (timers).

Every staff RPC takes the caller's scope (region and bodies, ``services/common/scope.py``: no body
list → no body) and checks it HERE, not only in the gateway (SEC-2, PLAT-1), for reads and writes.
Public RPCs return public data only. Jobs take their day from the suite's clock, never a caller.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import func, select

from services.common import ownership, settings
from services.common.db import Database, utcnow
from services.common.batching import batched_event_handler
from services.common.configfile import ConfigFiles
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS, InvalidEvent
from services.common.identifiers import is_region_code
from services.common.metrics import Metrics
from services.common.scope import Scope
from services.common.workdays import default_calendar
from services.disclosure import configuration, inspections, jobs, lifecycle, metrics, portal, register, reports, search
from services.disclosure.domain.publication import WithdrawalReason
from services.disclosure.domain.random_inspection import DrawError
from services.disclosure.lifecycle import Refused, china_now
from services.disclosure.models import (AnnualReportRecord, BasisChange, InspectionDraw, MonthlyInspectionSummary,
                                        Publication)
from services.disclosure.settings import service_settings

log = logging.getLogger(__name__)
DEADLINE_JOB_SECONDS = settings.get("ZHIFA_DISCLOSURE_DEADLINE_INTERVAL")
ANNUAL_JOB_SECONDS = settings.get("ZHIFA_DISCLOSURE_ANNUAL_INTERVAL")


def today_cn() -> dt.date:
    return china_now().date()


def _day(value) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def may_act(scope, region_code: str, body_id: str) -> bool:
    """SEC-2, PLAT-1: the caller's region covers the entry AND the caller acts for its body (a caller
    without a body list acts for none; every body of the region is an explicit grant)."""
    return Scope.of(scope).covers(region_code, body_id)


def refused(status, code, message, fields=None) -> dict:
    return Refused(status, code, message, fields).as_dict()


class DisclosureService:
    name = "disclosure"
    config_files = ConfigFiles(configuration.load_all)   # every config file, read at start-up (issue 21)
    db = Database(case_ownership=True)   # SEC-2: only a case's owner may act on it
    metrics = Metrics()

    # -- after: decisions (DISC-3 … DISC-6) -------------------------------------------------------------
    def _preload_decisions(self, session, events):
        lifecycle.preload_decisions(session, events)
        # the batch's index rows go in together, before its commit
        self.db.once_before_commit(session, "disclosure.finish_decisions", lambda _: lifecycle.finish_decisions(session))
        return []

    @batched_event_handler(DEPARTMENTS, "decision.made", group="decisions", preload=_preload_decisions)
    def on_decision_made(self, event):
        """DISC-3: deadline in working days; DISC-4: publish only the redacted entry (fail closed)."""
        try:
            with self.db.effect_of(event) as session:
                if lifecycle.create_from_decision(session, event, default_calendar()) is not None:
                    # DISC-6: a revocation that arrived first (issue 14: order is not guaranteed)
                    lifecycle.apply_revocations(session, event.case_id)
        except ValueError as exc:  # the payload cannot be read as a decision
            raise InvalidEvent(f"decision.made cannot be published: {exc}") from None

    @batched_event_handler(DEPARTMENTS, "decision.revoked", group="decisions")
    def on_decision_revoked(self, event):
        """DISC-6: revoked / confirmed illegal / re-made → taken down (published) or never published (pending).
        The decision in force when the revocation was decided is the one taken down; a revocation that
        arrives before its decision is kept and applied when the decision arrives (issue 14)."""
        with self.db.effect_of(event) as session:
            revocation = lifecycle.record_revocation(session, event)
            lifecycle.apply_revocations(session, event.case_id)
            if revocation.applied_to is None:
                log.warning("decision.revoked %s: no decision of case %s decided by %s yet; kept until it arrives",
                            event.event_id, event.case_id, event.payload["decided_at"].isoformat())

    @batched_event_handler(DEPARTMENTS, "case.transferred", group="decisions")
    def on_case_transferred(self, event):
        """SEC-2: from the transfer on, the case's decisions and revocations come from its new body."""
        with self.db.effect_of(event) as session:
            ownership.record_transfer(session, event, utcnow())

    # -- before: departmental registry (DISC-1, DISC-2, PLAT-4) ----------------------------------------------
    @event_handler(DEPARTMENTS, "body.registered")
    def on_body_registered(self, event):
        with self.db.effect_of(event) as session:
            register.on_body_registered(session, event)

    @event_handler(DEPARTMENTS, "officer.registered")
    def on_officer_registered(self, event):
        with self.db.effect_of(event) as session:
            register.on_officer_registered(session, event)

    @event_handler(DEPARTMENTS, "certificate.status_changed")
    def on_certificate_status_changed(self, event):
        with self.db.effect_of(event) as session:
            register.on_certificate_status_changed(session, event)

    @event_handler(DEPARTMENTS, "power.published")
    def on_power_published(self, event):
        with self.db.effect_of(event) as session:
            register.on_power_published(session, event)

    # -- periodic jobs (leased: one replica runs each) ------------------------------------------------------
    @timer(interval=DEADLINE_JOB_SECONDS)
    def deadline_job(self):
        """DISC-3 due/overdue tracking and PLAT-4 stale powers."""
        if not self.db.acquire_lease("disclosure.deadlines", DEADLINE_JOB_SECONDS * 2):
            return
        self.run_deadline_check()

    @timer(interval=ANNUAL_JOB_SECONDS)
    def annual_report_job(self):
        """DISC-7: in January each body's report on the previous year is generated, published and sent."""
        if not self.db.acquire_lease("disclosure.annual_reports", ANNUAL_JOB_SECONDS * 2):
            return
        self.run_annual_reports()

    @rpc
    def run_deadline_check(self):
        """One pass of the deadline job (also for operators); the day is the suite's clock's."""
        day = today_cn()
        with self.db.session() as session:
            counts = jobs.check_deadlines(session, day, default_calendar())
        with self.db.session() as session:
            counts["stale_powers"] = jobs.refresh_stale_powers(session, day)
        return counts

    @rpc
    def run_annual_reports(self):
        """One pass of the annual-report job (also for operators); the day is the suite's clock's."""
        day = today_cn()
        return reports.generate_missing(self.db.session, day, default_calendar(),
                                        service_settings()["annual_report_from_day"])

    # -- public portal (DISC-9) ------------------------------------------------------------------------------
    @rpc
    def search(self, q=None, region_code=None, body_id=None, action_type=None, page=1, date_from=None, date_to=None,
               page_size=None):
        """Online query of published decisions (public): Chinese full text plus filters, newest first."""
        started = time.perf_counter()
        try:
            req = portal.request_from({"q": q, "region_code": region_code, "body_id": body_id,
                                       "action_type": action_type, "page": page, "date_from": date_from,
                                       "date_to": date_to, "page_size": page_size})
            with self.db.session() as session:
                return portal.search_publications(session, req)
        except search.SearchError as exc:
            return {"error": "invalid", "message": str(exc), "results": [], "page": page, "has_more": False}
        finally:
            metrics.SEARCH_SECONDS.observe(time.perf_counter() - started)

    @rpc
    def get_publication(self, publication_id):
        """One publication with its public history (published, corrected or withdrawn)."""
        with self.db.session() as session:
            p = session.get(Publication, publication_id)
            if p is None or p.status not in portal.VISIBLE:
                return None
            view = portal.publication_view(p, with_history=True)
            for key in ("replaces", "replaced_by"):
                other = session.get(Publication, view[key]) if view[key] else None
                view[key + "_decision_no"] = other.decision_no if other is not None else None
            return view

    @rpc
    def bodies(self, region_code=None):
        with self.db.session() as session:
            return register.bodies(session, region_code if region_code and is_region_code(region_code) else None)

    @rpc
    def body_page(self, body_id, as_of=None):
        """DISC-1: a body's before-information (as of a day), its annual reports, draws and results."""
        day = _day(as_of) or today_cn()
        with self.db.session() as session:
            info = register.body_items(session, body_id, day)
            if info is None:  # not (yet) registered, but it has published decisions: a minimal page
                any_row = session.scalars(select(Publication).where(
                    Publication.body_id == body_id, Publication.status.in_(portal.PUBLIC)).limit(1)).first()
                if any_row is None:
                    return None
                info = {"body": {"body_id": body_id, "name": any_row.body_name or body_id, "body_kind_zh": "未登记",
                                 "region_code": any_row.region_code, "item_id": body_id, "history": []},
                        **{k: [] for k in register.KIND_ZH if k != "body"}, "as_of": day.isoformat()}
            info["annual_reports"] = [
                {"year": r.year, "published_on": r.published_on.isoformat(), "url": reports.report_url(body_id, r.year)}
                for r in session.scalars(select(AnnualReportRecord).where(AnnualReportRecord.body_id == body_id)
                                         .order_by(AnnualReportRecord.year.desc()))]
            info["draws"] = [{"draw_id": d.draw_id, "matter": d.matter, "status": d.status,
                              "announced_at": d.announced_at.isoformat()}
                             for d in session.scalars(select(InspectionDraw).where(InspectionDraw.body_id == body_id)
                                                      .order_by(InspectionDraw.announced_at.desc()).limit(50))]
            info["inspection_months"] = [
                {"year": m.year, "month": m.month, "total": m.summary.get("total"), "published_on": m.published_on.isoformat()}
                for m in session.scalars(select(MonthlyInspectionSummary).where(
                    MonthlyInspectionSummary.body_id == body_id).order_by(
                    MonthlyInspectionSummary.year.desc(), MonthlyInspectionSummary.month.desc()).limit(24))]
            info["publications_count"] = session.scalar(select(func.count()).select_from(Publication).where(
                Publication.body_id == body_id, Publication.status.in_(portal.PUBLIC)))
            return info

    @rpc
    def verify_certificate(self, certificate_no, today=None):
        """DISC-2: certificate number → holder, body, valid or not, since when (public)."""
        with self.db.session() as session:
            return register.verify(session, certificate_no, _day(today) or today_cn())

    @rpc
    def annual_report(self, body_id, year):
        with self.db.session() as session:
            row = session.scalars(select(AnnualReportRecord).where(AnnualReportRecord.body_id == body_id,
                                                                   AnnualReportRecord.year == int(year))).first()
            return reports.report_view(row, today_cn()) if row else None

    @rpc
    def draw(self, draw_id, public_value=None):
        """DISC-8: a draw with everything needed to verify it; ``public_value`` checks a value someone typed."""
        with self.db.session() as session:
            row = session.get(InspectionDraw, draw_id)
            return inspections.draw_view(row, public_value) if row else None

    @rpc
    def inspection_month(self, body_id, year, month):
        with self.db.session() as session:
            row = session.scalars(select(MonthlyInspectionSummary).where(
                MonthlyInspectionSummary.body_id == body_id, MonthlyInspectionSummary.year == int(year),
                MonthlyInspectionSummary.month == int(month))).first()
            return inspections.month_view(row) if row else None

    # -- staff (DISC-3 … DISC-8) -----------------------------------------------------------------------------
    @rpc
    def list_pending(self, scope):
        """Unpublished decisions (due / overdue with yellow/red warning) and late publications in scope."""
        today, calendar = today_cn(), default_calendar()
        scope = Scope.of(scope)
        with self.db.session() as session:
            rows = session.scalars(scope.where(select(Publication).where(
                (Publication.status == "pending") | (Publication.published_on > Publication.due_on)),
                Publication.region_code, Publication.body_id).order_by(Publication.due_on)).all()
            out = []
            for p in rows:
                if not may_act(scope, p.region_code, p.body_id):
                    continue
                t = jobs.timing(p, today, calendar)
                view = portal.publication_view(p)
                view.update({"timeliness": t.status.value, "timeliness_zh": t.status.label_zh,
                             "warning": t.warning.value, "message": t.message_zh, "hold_reason": p.hold_reason,
                             "working_days_left": t.working_days_left, "working_days_late": t.working_days_late})
                out.append(view)
            return out

    def _publication_for_staff(self, session, publication_id, scope):
        row = session.get(Publication, publication_id)
        if row is None or not may_act(scope, row.region_code, row.body_id):
            raise Refused(404, "not_found", "未找到该公示信息或不在您的管辖范围内")
        return row

    @rpc
    def correct_publication(self, publication_id, changes, reason, actor, scope):
        """DISC-5: the body corrects an entry (re-redacted; a held entry is published by its correction)."""
        try:
            with self.db.session() as session:
                row = self._publication_for_staff(session, publication_id, scope)
                lifecycle.correct(session, row, changes, reason, actor)
                return {"publication": portal.publication_view(row, with_history=True), "status": row.status}
        except Refused as exc:
            return exc.as_dict()

    @rpc
    def withdraw_publication(self, publication_id, reason, detail, actor, scope):
        """DISC-6 by staff (when no departmental event will come): take down / never publish."""
        try:
            withdrawal = WithdrawalReason(reason)
        except ValueError:
            return refused(422, "invalid", "请求内容有误", {"reason": ["应为 revoked、confirmed_illegal 或 remade"]})
        if not (detail or "").strip():
            return refused(422, "invalid", "请求内容有误", {"detail": ["必须说明撤销、确认违法或重作的文书"]})
        try:
            with self.db.session() as session:
                row = self._publication_for_staff(session, publication_id, scope)
                if not lifecycle.take_down(session, row, withdrawal, detail, actor):
                    raise Refused(409, "invalid_state", "该公示信息已撤下或不再公开")
                return {"publication": portal.publication_view(row, with_history=True), "status": row.status}
        except Refused as exc:
            return exc.as_dict()

    @rpc
    def put_before_item(self, kind, body_id, item_id, content, effective_on, reason, actor, scope, retire=False):
        """DISC-1: service guides, remedy channels and random-inspection matters (versioned)."""
        if kind not in register.STAFF_KINDS:
            return refused(404, "not_found", "不支持的事前公开信息类别")
        with self.db.session() as session:
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
            day = _day(effective_on) or today_cn()
            if history and day < history[-1].valid_from:
                return refused(409, "invalid", f"生效日期不得早于上一版本（{history[-1].valid_from.isoformat()}）")
            row = register.put_version(session, kind, f"{body_id}|{item_id}", body_id=body_id,
                                       region_code=body.region_code, content=data, valid_from=day,
                                       reason=reason.strip(), recorded_by=actor)
            if row is None:
                return {"unchanged": True}
            return {"kind": kind, "item_id": item_id, "version": row.version, "valid_from": row.valid_from.isoformat()}

    @rpc
    def record_basis_change(self, law_name, changed_on, region_code, note, actor, scope):
        """PLAT-4: a legal basis changed; power-list entries citing it must be republished within a month.
        A region-level record: the caller's region covers it and the caller acts for some body (SEC-2)."""
        scope = Scope.of(scope)
        if scope.empty or not scope.covers_region(region_code):
            return refused(403, "out_of_scope", f"无权登记行政区划 {region_code} 的依据变化")
        with self.db.session() as session:
            row = BasisChange(law_name=law_name.strip(), changed_on=_day(changed_on), region_code=region_code,
                              note=note, recorded_at=utcnow(), recorded_by=actor)
            session.add(row)
            session.flush()
            return {"id": row.id, "law_name": row.law_name, "changed_on": row.changed_on.isoformat()}

    @rpc
    def stale_powers(self, scope, today=None):
        """Flagged power-list entries of the bodies in the caller's scope (read-only; ``today``: as of)."""
        with self.db.session() as session:
            return register.stale_power_list(session, Scope.of(scope), _day(today) or today_cn())

    @rpc
    def generate_annual_report(self, body_id, year, actor, scope):
        """DISC-7 on demand (e.g. after late corrections): build, publish, send."""
        with self.db.session() as session:
            body = register.current(session, "body", body_id, dt.date.max)
            any_row = session.scalars(select(Publication).where(Publication.body_id == body_id).limit(1)).first()
            region = body.region_code if body else (any_row.region_code if any_row else None)
            if region is None:
                return refused(404, "not_found", f"执法主体 {body_id} 未登记，也没有执法决定")
            if not may_act(scope, region, body_id):
                return refused(403, "out_of_scope", "无权生成该执法主体的统计年报")
            try:
                row = reports.generate(session, body_id, int(year), today_cn(), actor, default_calendar())
            except (ValueError, LookupError) as exc:
                return refused(422, "invalid", str(exc))
            return reports.report_view(row, today_cn())

    def _body_for_staff(self, session, body_id, scope):
        body = register.current(session, "body", body_id, dt.date.max)
        if body is None:
            raise Refused(404, "not_found", f"执法主体 {body_id} 未登记")
        if not may_act(scope, body.region_code, body_id):
            raise Refused(403, "out_of_scope", "无权代表该执法主体")
        return body

    @rpc
    def announce_draw(self, body_id, data, actor, scope):
        """DISC-8: publish the draw's committed inputs and the future public value that will seed it."""
        try:
            with self.db.session() as session:
                body = self._body_for_staff(session, body_id, scope)
                data = {**data, "public_value_on": _day(data["public_value_on"])}
                row = inspections.announce(session, data, body_id, body.region_code, actor, china_now())
                session.flush()
                return inspections.draw_view(row)
        except Refused as exc:
            return exc.as_dict()
        except (DrawError, ValueError) as exc:
            return refused(422, "invalid", str(exc))

    def _draw_for_staff(self, session, draw_id, scope):
        row = session.get(InspectionDraw, draw_id)
        if row is None or not may_act(scope, row.region_code, row.body_id):
            raise Refused(404, "not_found", "未找到该抽查或不在您的管辖范围内")
        return row

    @rpc
    def perform_draw(self, draw_id, public_value, actor, scope):
        try:
            with self.db.session() as session:
                row = self._draw_for_staff(session, draw_id, scope)
                inspections.perform(session, row, public_value, today_cn(), china_now())
                return inspections.draw_view(row)
        except Refused as exc:
            return exc.as_dict()
        except DrawError as exc:
            return refused(409, "draw_refused", str(exc))

    @rpc
    def record_inspection_results(self, draw_id, results, actor, scope):
        try:
            with self.db.session() as session:
                row = self._draw_for_staff(session, draw_id, scope)
                results = [{**r, "inspected_on": _day(r["inspected_on"])} for r in results]
                n = inspections.record_outcomes(session, row, results, utcnow())
                return {"draw_id": draw_id, "recorded": n}
        except Refused as exc:
            return exc.as_dict()
        except DrawError as exc:
            return refused(422, "invalid", str(exc))

    @rpc
    def publish_inspection_month(self, body_id, year, month, actor, scope):
        try:
            with self.db.session() as session:
                body = self._body_for_staff(session, body_id, scope)
                row = inspections.publish_month(session, body_id, body.content["name"], body.region_code, int(year),
                                                int(month), today_cn(), default_calendar())
                session.flush()
                return inspections.month_view(row)
        except Refused as exc:
            return exc.as_dict()
        except ValueError as exc:
            return refused(422, "invalid", str(exc))


__all__ = ["DisclosureService"]
