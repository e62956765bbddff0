"""Evaluation routes (评议考核、责任追究, EVAL-1 … EVAL-9, COORD-4).

JSON API for supervisors (Bearer token), and the supervisors' dashboard pages in Chinese.

How the pages authenticate: a supervisor signs in through the province's identity platform
(OpenID Connect, ``/auth/login``; services/gateway/oidc.py) and the gateway keeps a server-side
session behind an HttpOnly cookie; sign-out is the form on the dashboard (``POST /auth/logout``).
A token in the URL is refused (SEC-1, services/gateway/http.py). A Bearer header (service accounts)
works as well.
"""
from __future__ import annotations

import math
from urllib.parse import urlencode

from markupsafe import Markup, escape
from marshmallow import Schema, fields, validate
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.common.catalogue.fields import ACTION_TYPE_NAMES_ZH
from services.common.events import jsonable
from services.common.rpc import call
from services.gateway import pages
from services.gateway.exports import csv_text
from services.gateway.edge import request_ip
from services.gateway.http import HttpError, endpoint, in_scope, read_json
from services.gateway.routes.signin import sign_in_url
from services.gateway.shared import RateLimited
from services.gateway.schemas import (
    AccountabilityActionRequest,
    AccountabilityOpenRequest,
    ConsequenceResolveRequest,
    EvaluationFinaliseRequest,
    EvaluationRecomputeRequest,
    EvaluationScoreEntryRequest,
    EvaluationSurveyRequest,
    EvaluationVisitRequest,
    SupervisionActionRequest,
    SupervisionIssueRequest,
)

SUPERVISORS = ("supervisor", "admin")
GRADE_COLOURS = {"优秀": "#2e7d32", "合格": "#1565c0", "不合格": "#c62828", "数据不足": "#9e9e9e"}
PAGE_SIZE = 20


class TypicalCaseSelectRequest(Schema):
    """典型案例 (CMP-7): the source (an upheld complaint's number or a decided accountability case) and the text."""

    source_kind = fields.String(required=True, validate=validate.OneOf(("complaint", "accountability")))
    source_ref = fields.String(required=True, validate=validate.Length(min=1, max=96))
    title = fields.String(required=True, validate=validate.Length(min=4, max=100))
    warning_text = fields.String(required=True, validate=validate.Length(min=20, max=5000))


class TypicalCaseActionRequest(Schema):
    action = fields.String(required=True, validate=validate.OneOf(("edit", "submit", "review")))
    approve = fields.Boolean(load_default=False)
    note = fields.String(load_default=None, validate=validate.Length(max=1000))
    title = fields.String(load_default=None, validate=validate.Length(min=4, max=100))
    warning_text = fields.String(load_default=None, validate=validate.Length(min=20, max=5000))


def _answer(result):
    """An RPC answer, or the refusal it carries as an HTTP error."""
    if isinstance(result, dict) and result.get("error"):
        raise HttpError(result.get("status", 409), result["error"], result.get("message", ""))
    return result


def _fields_answer(result):
    """An RPC answer, or its refusal with the Chinese message of each field (422)."""
    if isinstance(result, dict) and result.get("error"):
        raise HttpError(result.get("status", 409), result["error"], result.get("message", ""), result.get("fields"))
    return result


def _year(request):
    year = request.args.get("year", type=int)
    if year is not None and not 2000 <= year <= 2100:
        raise HttpError(422, "invalid", "请求内容有误", {"year": ["年度应在2000至2100之间"]})
    return year


def _region(request, identity):
    region = request.args.get("region_code") or identity.region_code
    in_scope(identity, region)
    return region


class EvaluationRoutes:
    # -- indicators, scores, evidence (EVAL-2, EVAL-3) --------------------------------------------
    @endpoint("GET", "/api/v1/evaluation/summary", roles=SUPERVISORS, tags=("evaluation",),
              summary="Indicator counts by body in the caller's scope (EVAL-2)")
    def evaluation_summary(self, request, identity):
        region = request.args.get("region_code") or identity.region_code
        in_scope(identity, region)
        return _answer(call(self.evaluation, "summary", identity.scope.as_dict(), region,
                            request.args.get("year", type=int)))

    @endpoint("GET", "/api/v1/evaluation/scores", roles=SUPERVISORS, tags=("evaluation",),
              summary="Scores and grades of the bodies (or officers: subject=officer) of a region, "
                      "year to date or final (EVAL-2, EVAL-3, EVAL-4)")
    def evaluation_scores(self, request, identity):
        subject = request.args.get("subject", "body")
        if subject not in ("body", "officer"):
            raise HttpError(422, "invalid", "请求内容有误", {"subject": ["应为 body 或 officer"]})
        return _answer(call(self.evaluation, "scores", identity.scope.as_dict(), _region(request, identity),
                            _year(request), subject, request.args.get("as_of"), timeout=60))

    @endpoint("GET", "/api/v1/evaluation/scores/<subject_kind>/<subject_id>", roles=SUPERVISORS,
              tags=("evaluation",), summary="One body's or officer's indicators, grade, vetoes, caps and evaluators")
    def evaluation_score_detail(self, request, identity, subject_kind, subject_id):
        return _answer(call(self.evaluation, "score_detail", identity.scope.as_dict(), subject_kind, subject_id,
                            _year(request), request.args.get("as_of"), timeout=30))

    @endpoint("GET", "/api/v1/evaluation/scores/<subject_kind>/<subject_id>/indicators/<code>/evidence",
              roles=SUPERVISORS, tags=("evaluation",),
              summary="Traceability: the facts behind an indicator's score, with event ids, types and dates")
    def evaluation_evidence(self, request, identity, subject_kind, subject_id, code):
        return _answer(call(self.evaluation, "evidence", identity.scope.as_dict(), subject_kind, subject_id,
                            _year(request), code, request.args.get("as_of"), timeout=30))

    @endpoint("POST", "/api/v1/evaluation/scores/entries", roles=SUPERVISORS, tags=("evaluation",),
              body=EvaluationScoreEntryRequest, success=201,
              summary="Enter a special-check / case-file-review (body) or special-test (officer) score")
    def evaluation_score_entry(self, request, identity):
        data = read_json(request, EvaluationScoreEntryRequest)
        if data["kind"] == "special_test_score" and not data.get("officer_id"):
            raise HttpError(422, "invalid", "请求内容有误", {"officer_id": ["专门考核须注明执法人员"]})
        if data["kind"] != "special_test_score" and not data.get("body_id"):
            raise HttpError(422, "invalid", "请求内容有误", {"body_id": ["须注明执法主体"]})
        return _answer(call(self.evaluation, "record_score", identity.scope.as_dict(), identity.subject, jsonable(data)))

    # -- evaluation instruments (EVAL-2, issue 18) ------------------------------------------------
    @endpoint("POST", "/api/v1/evaluation/surveys", roles=SUPERVISORS, tags=("evaluation",),
              body=EvaluationSurveyRequest, success=201,
              summary="Create a survey (问卷调查) or evaluation card (评议卡) about a body in scope; answers its one-time "
                      "answer codes once (only their hashes are kept), to hand out for the public page /evaluation/survey")
    def evaluation_survey_create(self, request, identity):
        data = read_json(request, EvaluationSurveyRequest)
        data = {k: v for k, v in jsonable(data).items() if v is not None}
        return _fields_answer(call(self.evaluation, "create_survey", identity.scope.as_dict(), identity.subject, data))

    @endpoint("GET", "/api/v1/evaluation/surveys", roles=SUPERVISORS, tags=("evaluation",),
              summary="Surveys and evaluation cards in scope with their answer counts and mean rating (?body_id=)")
    def evaluation_surveys(self, request, identity):
        return {"surveys": _answer(call(self.evaluation, "list_surveys", identity.scope.as_dict(),
                                        request.args.get("body_id")))}

    @endpoint("POST", "/api/v1/evaluation/visits", roles=SUPERVISORS, tags=("evaluation",),
              body=EvaluationVisitRequest, success=201,
              summary="Report an unannounced visit (暗访) to a body in scope: findings, problems, score 0–100 (EVAL-2)")
    def evaluation_visit_report(self, request, identity):
        data = jsonable(read_json(request, EvaluationVisitRequest))
        return _fields_answer(call(self.evaluation, "report_visit", identity.scope.as_dict(), identity.subject, data))

    @endpoint("GET", "/api/v1/evaluation/visits", roles=SUPERVISORS, tags=("evaluation",),
              summary="Unannounced-visit reports in scope (?body_id=)")
    def evaluation_visits(self, request, identity):
        return {"visits": _answer(call(self.evaluation, "list_visits", identity.scope.as_dict(),
                                       request.args.get("body_id")))}

    @endpoint("GET", "/evaluation/survey", tags=("public",),
              summary="Public survey page: enter the answer code of a survey or evaluation card (EVAL-2)")
    def survey_page(self, request, identity):
        return pages.render("evaluation/survey.html", step="code", code="", errors={})

    @endpoint("POST", "/evaluation/survey", tags=("public",),
              summary="Public survey page: a code opens its questions (form: code); with the ratings (form: action="
                      "answer, q_<question>=1…5, comment) the answer is recorded, once per code (EVAL-2, rate limited)")
    def survey_submit(self, request, identity):
        form = {k: v.strip() for k, v in request.form.items()}
        code = form.get("code", "")
        if not code:
            return pages.render("evaluation/survey.html", step="code", code="", errors={"code": ["请填写答卷码"]})
        try:
            self.shared.hit("survey_answer", request_ip(request))
        except RateLimited as exc:
            response = pages.render("evaluation/survey.html", step="code", code="", errors={},
                                    rate_limited=exc.message, status=429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if form.get("action") == "answer":
            result = call(self.evaluation, "answer_survey", code, form, form.get("comment"))
            if not (isinstance(result, dict) and result.get("error")):
                return redirect("/evaluation/survey/thanks", code=303)
            if result["error"] != "invalid":
                return pages.render("evaluation/survey.html", step="code", code="",
                                    errors={"code": [result["message"]]}, status=result.get("status", 409))
            errors, chosen = result.get("fields") or {}, form
        else:
            errors, chosen = {}, {}
        survey = call(self.evaluation, "open_survey", code)
        if isinstance(survey, dict) and survey.get("error"):
            return pages.render("evaluation/survey.html", step="code", code="", errors={"code": [survey["message"]]},
                                status=survey.get("status", 404))
        return pages.render("evaluation/survey.html", step="questions", code=code, survey=survey, errors=errors,
                            chosen=chosen, status=422 if errors else 200)

    @endpoint("GET", "/evaluation/survey/thanks", tags=("public",), summary="Public survey page: answer recorded")
    def survey_thanks(self, request, identity):
        return pages.render("evaluation/survey.html", step="done", code="", errors={})

    # -- grades, finalising, consequences (EVAL-1, EVAL-4) ----------------------------------------
    @endpoint("GET", "/api/v1/evaluation/grades", roles=SUPERVISORS, tags=("evaluation",),
              summary="Persisted grades of a year: stage=final (default) or ytd (latest year-to-date)")
    def evaluation_grades(self, request, identity):
        stage = request.args.get("stage", "final")
        if stage not in ("final", "ytd"):
            raise HttpError(422, "invalid", "请求内容有误", {"stage": ["应为 final 或 ytd"]})
        return _answer(call(self.evaluation, "grades", identity.scope.as_dict(), _region(request, identity),
                            _year(request), stage))

    @endpoint("GET", "/api/v1/evaluation/received-grades", roles=SUPERVISORS, tags=("evaluation",),
              summary="Final grades the cities finalised, received over the upward link, per city (?region_code=, "
                      "?year=) (EVAL-4, PLAT-1)")
    def evaluation_received_grades(self, request, identity):
        return _answer(call(self.evaluation, "received_grades", identity.scope.as_dict(), _region(request, identity),
                            _year(request)))

    @endpoint("POST", "/api/v1/evaluation/years/<int:year>/finalise", roles=SUPERVISORS, tags=("evaluation",),
              body=EvaluationFinaliseRequest,
              summary="Finalise a year: final grades of the bodies the caller evaluates and their officers, "
                      "with consequences (EVAL-1, EVAL-4)")
    def evaluation_finalise(self, request, identity, year):
        data = read_json(request, EvaluationFinaliseRequest, optional=True)
        region = data.get("region_code") or identity.region_code
        in_scope(identity, region)
        return _answer(call(self.evaluation, "finalise_year", identity.scope.as_dict(), year, identity.subject, region,
                            timeout=120))

    @endpoint("POST", "/api/v1/evaluation/recompute", roles=("admin", "supervisor"), tags=("evaluation",),
              body=EvaluationRecomputeRequest,
              summary="Run the year-to-date job now (grades, detection rules, overdue items, metrics)")
    def evaluation_recompute(self, request, identity):
        read_json(request, EvaluationRecomputeRequest, optional=True)   # no "as_of": the day is the suite's clock
        if identity.role != "admin" and not identity.scope.all_bodies:
            raise HttpError(403, "out_of_scope", "重新计算须具有本行政区划全部执法主体的访问范围")
        region = None if identity.role == "admin" else identity.region_code
        return call(self.evaluation, "recompute", region, timeout=120)

    @endpoint("GET", "/api/v1/evaluation/consequences", roles=SUPERVISORS, tags=("evaluation",),
              summary="Consequences of grades (caps, measures, removal proposals, rectification orders)")
    def evaluation_consequences(self, request, identity):
        return _answer(call(self.evaluation, "list_consequences", identity.scope.as_dict(), _year(request),
                            request.args.get("status")))

    @endpoint("POST", "/api/v1/evaluation/consequences/<int:consequence_id>/resolve", roles=SUPERVISORS,
              tags=("evaluation",), body=ConsequenceResolveRequest,
              summary="Record how a measure or removal proposal was carried out")
    def evaluation_resolve_consequence(self, request, identity, consequence_id):
        data = read_json(request, ConsequenceResolveRequest)
        return _answer(call(self.evaluation, "resolve_consequence", identity.scope.as_dict(), consequence_id,
                            identity.subject, data["resolution"]))

    # -- accountability (EVAL-6) ------------------------------------------------------------------
    @endpoint("GET", "/api/v1/evaluation/cases", roles=SUPERVISORS + ("legal_reviewer",), tags=("evaluation",),
              summary="Accountability cases in the caller's scope (status=open|closed, body_id)")
    def accountability_cases(self, request, identity):
        return _answer(call(self.evaluation, "list_cases", identity.scope.as_dict(), request.args.get("status"),
                            request.args.get("body_id")))

    @endpoint("POST", "/api/v1/evaluation/cases", roles=SUPERVISORS, tags=("evaluation",),
              body=AccountabilityOpenRequest, success=201, summary="Open an accountability clue by hand (EVAL-6)")
    def accountability_open(self, request, identity):
        data = read_json(request, AccountabilityOpenRequest)
        return _answer(call(self.evaluation, "open_case", identity.scope.as_dict(), identity.subject, data))

    @endpoint("GET", "/api/v1/evaluation/cases/<case_id>", roles=SUPERVISORS + ("legal_reviewer",),
              tags=("evaluation",), summary="One accountability case: links, statements, decision, history")
    def accountability_case(self, request, identity, case_id):
        return _answer(call(self.evaluation, "get_case", identity.scope.as_dict(), case_id))

    @endpoint("POST", "/api/v1/evaluation/cases/<case_id>/actions", roles=SUPERVISORS + ("legal_reviewer",),
              tags=("evaluation",), body=AccountabilityActionRequest,
              summary="Drive an accountability case: accept, links, statement, proposal, reviews, exemption, "
                      "decision, close (EVAL-6)")
    def accountability_action(self, request, identity, case_id):
        data = read_json(request, AccountabilityActionRequest)
        if data["action"] == "legal_review" and identity.role not in ("legal_reviewer", "admin", "supervisor"):
            raise HttpError(403, "forbidden", "法制审核须由法制审核人员办理")
        if identity.role == "legal_reviewer" and data["action"] != "legal_review":
            raise HttpError(403, "forbidden", "法制审核人员只能办理法制审核环节")
        return _answer(call(self.evaluation, "case_action", identity.scope.as_dict(), case_id, identity.subject,
                            data["action"], data))

    # -- supervision (COORD-4) --------------------------------------------------------------------
    @endpoint("GET", "/api/v1/evaluation/supervision", roles=SUPERVISORS + ("department", "officer"),
              tags=("evaluation",), summary="Supervision items issued in or to the caller's scope (overdue=1)")
    def supervision_items(self, request, identity):
        overdue = request.args.get("overdue") in ("1", "true")
        return _answer(call(self.evaluation, "list_items", identity.scope.as_dict(), request.args.get("status"), overdue))

    @endpoint("GET", "/api/v1/evaluation/directives", roles=SUPERVISORS + ("department", "officer"),
              tags=("evaluation",), summary="Supervision items issued by the tier above, received over the link (COORD-4)")
    def received_directives(self, request, identity):
        return {"directives": _answer(call(self.evaluation, "received_directives", identity.scope.as_dict()))}

    @endpoint("POST", "/api/v1/evaluation/supervision", roles=SUPERVISORS, tags=("evaluation",),
              body=SupervisionIssueRequest, success=201,
              summary="Issue a supervision suggestion / special investigation / rectification to a body below (COORD-4)")
    def supervision_issue(self, request, identity):
        data = read_json(request, SupervisionIssueRequest)
        return _answer(call(self.evaluation, "issue_item", identity.scope.as_dict(), identity.subject, data))

    @endpoint("POST", "/api/v1/evaluation/supervision/<item_id>/actions",
              roles=SUPERVISORS + ("department", "officer"), tags=("evaluation",), body=SupervisionActionRequest,
              summary="Respond (the body), accept or reject (the issuer) a supervision item")
    def supervision_action(self, request, identity, item_id):
        data = read_json(request, SupervisionActionRequest)
        who = {"region_code": identity.region_code, "role": identity.role, "subject": identity.subject,
               "scope": identity.scope.as_dict()}
        return _answer(call(self.evaluation, "item_action", who, item_id, data["action"], data))

    # -- pages (Simplified Chinese) ---------------------------------------------------------------
    @endpoint("GET", "/evaluation/login", tags=("evaluation",),
              summary="Old sign-in address of the dashboard: sends to the staff sign-in (/auth/login)")
    def evaluation_login_page(self, request, identity):
        return redirect(sign_in_url(_safe_next(request.args.get("next"))), code=303)

    @endpoint("GET", "/evaluation/dashboard", roles=SUPERVISORS, tags=("evaluation",),
              summary="Supervisors' dashboard (Chinese): region and subordinate regions, indicators with trends, "
                      "rankings, open violations, overdue items — sign in at /evaluation/login")
    def evaluation_dashboard(self, request, identity):
        staff, region, response = self._page_scope(request, identity)
        if response is not None:
            return response
        data = call(self.evaluation, "dashboard", staff.scope.as_dict(), region, _year(request), timeout=60)
        if isinstance(data, dict) and data.get("error") == "future_year":   # issue 16: nothing to show
            return pages.render("evaluation/message.html", status=422, title="暂无数据", message=data["message"])
        data = _answer(data)
        try:
            page = max(1, int(request.args.get("page") or 1))
        except ValueError:
            page = 1
        cases, ranking = data["open_cases"]["latest"], data["ranking"]
        start = (page - 1) * PAGE_SIZE
        weak = self._weak_links(staff, region, data["year"])
        return pages.render("evaluation/dashboard.html", d=data, staff=staff, charts=_charts(data), page=page,
                            weak=weak, action_zh=ACTION_TYPE_NAMES_ZH,
                            cases_page=cases[start:start + PAGE_SIZE], cases_pages=-(-len(cases) // PAGE_SIZE),
                            ranking_page=ranking[start:start + PAGE_SIZE], ranking_offset=start,
                            ranking_pages=-(-len(ranking) // PAGE_SIZE),
                            query=lambda **kw: urlencode({"region_code": region, "year": data["year"], **kw}))

    def _weak_links(self, staff, region, year):
        """REC-7: the case-file review's weak links of the region and year, from records (None when records
        does not answer: the dashboard says so instead of failing)."""
        try:
            result = call(self.records, "case_file_review", "weak_links", staff.scope.as_dict(), staff.subject,
                          {"year": year, "region_code": region}, timeout=5)
        except Exception:  # noqa: BLE001 - records away or slow: the rest of the dashboard still shows
            return None
        return None if not isinstance(result, dict) or result.get("error") else result

    @endpoint("GET", "/evaluation/cases/<case_id>", roles=SUPERVISORS, tags=("evaluation",),
              summary="One accountability clue or case (Chinese page): source, enforcement case, officers, history")
    def evaluation_case_page(self, request, identity, case_id):
        case = call(self.evaluation, "get_case", identity.scope.as_dict(), case_id)
        if isinstance(case, dict) and case.get("error"):
            return pages.render("evaluation/message.html", status=case.get("status", 404), title="无法查看",
                                message=case.get("message", ""))
        return pages.render("evaluation/case.html", c=case)

    @endpoint("GET", "/evaluation/annual-report", roles=SUPERVISORS, tags=("evaluation",),
              summary="Annual report section on enforcement (法治政府建设年度报告), printable page")
    def evaluation_report_page(self, request, identity):
        staff, region, response = self._page_scope(request, identity)
        if response is not None:
            return response
        data = _answer(call(self.evaluation, "annual_report", staff.scope.as_dict(), region, _year(request), timeout=60))
        sections: dict = {}
        for row in data["rows"]:
            sections.setdefault(row["section"], []).append(row)
        return pages.render("evaluation/report.html", d=data, sections=sections,
                            csv_query=urlencode({"region_code": region, "year": data["year"]}))

    @endpoint("GET", "/evaluation/annual-report.csv", roles=SUPERVISORS, tags=("evaluation",),
              summary="Annual report section on enforcement as CSV (UTF-8 with BOM; cookie or Bearer token)")
    def evaluation_report_csv(self, request, identity):
        staff = identity
        region = request.args.get("region_code") or staff.region_code
        if not staff.covers(region):
            raise HttpError(403, "out_of_scope", f"无权访问行政区划 {region} 的数据")
        data = _answer(call(self.evaluation, "annual_report", staff.scope.as_dict(), region, _year(request), timeout=60))
        rows = [["部分", "项目", "数值", "单位"]]
        rows += [[row["section"], row["item"], row["value"], row["unit"]] for row in data["rows"]]
        rows += [[], ["行政区划", data["region_code"], "年度", data["year"]],
                 ["生成日期", data["generated_on"], "考核结果", "最终" if data["stage"] == "final" else "年度累计"]]
        name = f"annual-report-{data['region_code']}-{data['year']}.csv"
        return Response(csv_text(rows), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def _page_scope(self, request, identity):
        """(staff, the region asked for — default the staff's own, None) or (…, a Chinese 403 page
        when the region is outside the staff's scope). Signing in and the role are the route's
        (roles=SUPERVISORS: a visitor is sent to sign in, another role gets a 403 page)."""
        region = request.args.get("region_code") or identity.region_code
        if not identity.covers(region):
            return identity, region, pages.render("evaluation/message.html", status=403, title="无权访问",
                                                  message=f"您的管辖范围不包括行政区划 {region}。")
        return identity, region, None

    # -- typical cases (典型案例通报, CMP-7) ------------------------------------------------------------------
    @endpoint("GET", "/api/v1/evaluation/typical-cases", roles=SUPERVISORS, tags=("evaluation",),
              query={"status": {"type": "string", "enum": ["draft", "submitted", "returned", "approved"]}},
              summary="Typical cases being prepared or approved, in the caller's region (CMP-7)")
    def typical_cases(self, request, identity):
        return _answer(call(self.evaluation, "typical_case", identity.scope.as_dict(), identity.subject, "list",
                            {"status": request.args.get("status")}))

    @endpoint("POST", "/api/v1/evaluation/typical-cases", roles=SUPERVISORS, tags=("evaluation",),
              body=TypicalCaseSelectRequest, success=201,
              summary="Select a concluded upheld complaint or a decided accountability case as a typical case (CMP-7)")
    def typical_case_select(self, request, identity):
        data = read_json(request, TypicalCaseSelectRequest)
        return _answer(call(self.evaluation, "typical_case", identity.scope.as_dict(), identity.subject, "select",
                            data))

    @endpoint("POST", "/api/v1/evaluation/typical-cases/<typical_case_id>/actions", roles=SUPERVISORS,
              tags=("evaluation",), body=TypicalCaseActionRequest,
              summary="Edit, submit, or review (a second supervisor: approve or return) a typical case (CMP-7)")
    def typical_case_action(self, request, identity, typical_case_id):
        data = read_json(request, TypicalCaseActionRequest)
        return _answer(call(self.evaluation, "typical_case", identity.scope.as_dict(), identity.subject,
                            data.pop("action"), {**data, "typical_case_id": typical_case_id}))


def _safe_next(target: str | None) -> str:
    """Only a local evaluation page (no open redirect)."""
    if target and target.startswith("/evaluation/") and not target.startswith("//"):
        return target
    return "/evaluation/dashboard"


# --- inline SVG charts (server-side; no external assets) ------------------------------------------


def _num(value) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def line_chart(labels: list[str], values: list, title: str, width=640, height=220) -> Markup:
    """A 0–100 line chart with the points labelled."""
    left, right, top, bottom = 36, 12, 24, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    x = lambda i: left + (plot_w * (i + 0.5) / n)  # noqa: E731
    y = lambda v: top + plot_h * (1 - max(0.0, min(100.0, v)) / 100)  # noqa: E731
    parts = [f'<svg class="chart line" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for tick in (0, 60, 90, 100):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="{"#c62828" if tick == 60 else "#2e7d32" if tick == 90 else "#ddd"}" '
                     f'stroke-dasharray="{"4 3" if tick in (60, 90) else ""}"/>'
                     f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" font-size="11" text-anchor="end" fill="#666">{tick}</text>')
    points = [(x(i), y(v), v) for i, v in enumerate(_num(v) for v in values) if v is not None]
    if len(points) > 1:
        parts.append('<polyline fill="none" stroke="#b71c1c" stroke-width="2" points="'
                     + " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points) + '"/>')
    for px, py, v in points:
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="#b71c1c"/>'
                     f'<text x="{px:.1f}" y="{py - 6:.1f}" font-size="10" text-anchor="middle">{v:.1f}</text>')
    for i, label in enumerate(labels):
        parts.append(f'<text x="{x(i):.1f}" y="{height - 8}" font-size="10" text-anchor="middle" fill="#444">'
                     f'{escape(label)}</text>')
    if not points:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888">暂无数据</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(values: list, width=120, height=28) -> Markup:
    vals = [(_num(v)) for v in values]
    pts = [(i, v) for i, v in enumerate(vals) if v is not None]
    parts = [f'<svg class="chart spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="月度趋势">']
    if pts:
        n = max(len(vals) - 1, 1)
        coords = [(2 + (width - 4) * i / n, 2 + (height - 4) * (1 - v / 100)) for i, v in pts]
        if len(coords) > 1:
            parts.append('<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="'
                         + " ".join(f"{a:.1f},{b:.1f}" for a, b in coords) + '"/>')
        a, b = coords[-1]
        parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2" fill="#1565c0"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(rows: list[dict], title: str, width=640) -> Markup:
    """Horizontal bars of totals (0–100), coloured by grade."""
    bar_h, gap, left, right = 18, 6, 170, 48
    height = max(1, len(rows)) * (bar_h + gap) + 12
    plot_w = width - left - right
    parts = [f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, row in enumerate(rows):
        total = _num(row.get("total")) or 0.0
        yy = 6 + i * (bar_h + gap)
        name = str(row.get("name") or row.get("subject_id"))
        label = name if len(name) <= 12 else name[:11] + "…"
        colour = GRADE_COLOURS.get(row.get("grade"), "#777")
        parts.append(f'<text x="{left - 6}" y="{yy + 13}" font-size="12" text-anchor="end">{i + 1}. {escape(label)}</text>'
                     f'<rect x="{left}" y="{yy}" width="{plot_w * max(0.0, min(total, 100.0)) / 100:.1f}" '
                     f'height="{bar_h}" fill="{colour}"><title>{escape(name)}：{total:.2f}（{escape(row.get("grade", ""))}）'
                     f'</title></rect><text x="{left + plot_w * max(0.0, min(total, 100.0)) / 100 + 4:.1f}" y="{yy + 13}" '
                     f'font-size="11">{total:.2f}</text>')
    if not rows:
        parts.append(f'<text x="{width / 2}" y="20" text-anchor="middle" fill="#888">暂无数据</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def grade_donut(counts: dict, title: str, size=150) -> Markup:
    total = sum(counts.values())
    r, cx, cy, stroke = 50, size / 2, size / 2, 22
    circumference = 2 * math.pi * r
    parts = [f'<svg class="chart donut" viewBox="0 0 {size} {size}" width="{size}" height="{size}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
             f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="#eee" stroke-width="{stroke}"/>']
    offset = 0.0
    for grade in ("优秀", "合格", "不合格", "数据不足"):
        n = counts.get(grade, 0)
        if not total or not n:
            continue
        length = circumference * n / total
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="none" stroke="{GRADE_COLOURS[grade]}" '
                     f'stroke-width="{stroke}" stroke-dasharray="{length:.2f} {circumference - length:.2f}" '
                     f'stroke-dashoffset="{-offset:.2f}" transform="rotate(-90 {cx} {cy})">'
                     f'<title>{grade}：{n}</title></circle>')
        offset += length
    parts.append(f'<text x="{cx}" y="{cy + 5}" text-anchor="middle" font-size="16">{total}</text></svg>')
    return Markup("".join(parts))


def _charts(data: dict) -> dict:
    months = [f"{int(day[5:7])}月" for day in data["trend"]["as_of"]]
    history = data.get("history") or []
    return {
        "trend": line_chart(months, data["trend"]["total"], "执法主体平均得分月度趋势"),
        "ranking": bar_chart([r for r in data["ranking"] if r.get("grade") != "数据不足"], "执法主体考核得分排名"),
        "body_grades": grade_donut(data["grade_counts"]["body"], "执法主体考核等次分布"),
        "officer_grades": grade_donut(data["grade_counts"]["officer"], "执法人员考核等次分布"),
        "history": line_chart([f"{h['year']}" for h in history], [h["avg_total"] for h in history],
                              "历年执法主体平均得分") if history else None,
        "sparks": {row["code"]: sparkline(row["trend"]) for row in data["indicators"]},
    }
