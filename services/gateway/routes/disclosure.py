"""Disclosure routes (行政执法公示, DISC): the public portal (pages, open data) and the staff API.

Public pages are server-rendered in Simplified Chinese (templates/disclosure/); open data is the
JSON API, a CSV export and an Atom feed of the same search. Staff routes pass the caller's subject
and scope (region and bodies, services/common/scope.py) to the disclosure service, which checks them
itself (SEC-2, PLAT-1).
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from marshmallow import Schema, ValidationError, fields, validate, validates
from werkzeug.wrappers import Response

from services.common.catalogue.fields import ACTION_TYPE_NAMES_ZH, PartySchema
from services.common.events import jsonable
from services.common.formats import keywords
from services.common.rpc import call
from services.common import regions, settings
from services.common.qr import qr_png
from services.gateway import pages
from services.gateway.exports import csv_text
from services.gateway.http import HttpError, endpoint, read_json

BODY_ROLES = ("officer", "admin", "department")
SUPERVISING = ("supervisor", "admin")
EXPORT_MAX = 10_000
FEED_SIZE = 50
ACTION_OPTIONS = list(ACTION_TYPE_NAMES_ZH.items())
WITHDRAWAL_ZH = {"revoked": "依法撤销", "confirmed_illegal": "被确认违法", "remade": "被要求重新作出"}
FILTER_KEYS = ("q", "body_id", "region_code", "action_type", "date_from", "date_to")
PORTAL_PAGE_SIZE = 20
PORTAL_MAX_RESULTS = 1000      # the search's MAX_RESULTS: pages past it are not reachable


#: who acknowledges an annual report: the government's supervising office, or the superior department (DISC-7)
RECEIVERS = ("supervisor", "admin", "officer", "department")


class ReceiptAcknowledgement(Schema):
    receipt_id = fields.String(required=True, validate=validate.Length(min=1, max=200))


# --- request contracts ----------------------------------------------------------------------------------
class CorrectionChanges(Schema):
    decision_no = fields.String(validate=validate.Length(min=1, max=128))
    category = fields.String(validate=validate.Length(min=1, max=300))
    facts = fields.String(validate=validate.Length(max=20000))
    legal_basis = fields.String(validate=validate.Length(max=5000))
    conclusion = fields.String(validate=validate.Length(max=5000))
    fine_amount = fields.Decimal(places=2, as_string=True, allow_none=True, validate=validate.Range(min=0))
    parties = fields.List(fields.Nested(PartySchema), validate=validate.Length(min=1))
    secrecy = fields.String(validate=validate.OneOf(("none", "state_secret", "commercial_secret", "personal_privacy")))


class CorrectionRequest(Schema):
    """更正 (DISC-5): the changed fields of the decision as the body holds it, and why."""

    reason = fields.String(required=True, validate=validate.Length(min=2, max=500),
                           error_messages={"required": "必须填写更正原因"})
    changes = fields.Nested(CorrectionChanges, required=True)

    @validates("changes")
    def _not_empty(self, value, **_):
        if not value:
            raise ValidationError("至少更正一个字段")


class WithdrawalRequest(Schema):
    """撤下 (DISC-6) when the decision was revoked, confirmed illegal or must be re-made."""

    reason = fields.String(required=True, validate=validate.OneOf(("revoked", "confirmed_illegal", "remade")))
    detail = fields.String(required=True, validate=validate.Length(min=2, max=500))


class BeforeItemRequest(Schema):
    """事前公开 item (DISC-1): a new version, or retire the item."""

    content = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    effective_on = fields.Date(load_default=None)
    reason = fields.String(required=True, validate=validate.Length(min=2, max=300))
    retire = fields.Boolean(load_default=False)


class BasisChangeRequest(Schema):
    """法律依据变化 (PLAT-4): entries citing the law must be republished within one month."""

    law_name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    changed_on = fields.Date(required=True)
    region_code = fields.String(required=True)
    note = fields.String(load_default=None, validate=validate.Length(max=1000))


class AnnualReportRequest(Schema):
    """统计年报 on demand (DISC-7)."""

    body_id = fields.String(required=True)
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))


class DrawTarget(Schema):
    target_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(load_default="legal", validate=validate.OneOf(("natural", "legal", "other")))


class Recusal(Schema):
    inspector_id = fields.String(required=True)
    target_id = fields.String(required=True)


class DrawAnnouncementRequest(Schema):
    """双随机抽查公告 (DISC-8): directories and counts are committed by their SM3 digest."""

    draw_id = fields.String(required=True, validate=[validate.Length(min=1, max=64),
                                                     validate.Regexp(r"^[^|]+$", error="抽查编号不得包含“|”")])
    body_id = fields.String(required=True)
    matter = fields.String(required=True, validate=validate.Length(min=2, max=300))
    targets = fields.List(fields.Nested(DrawTarget), required=True, validate=validate.Length(min=1, max=100000))
    inspectors = fields.List(fields.String(validate=validate.Length(min=1, max=64)), required=True,
                             validate=validate.Length(min=2))
    target_count = fields.Integer(required=True, validate=validate.Range(min=1))
    inspectors_per_target = fields.Integer(load_default=2, validate=validate.Range(min=2))
    recusals = fields.List(fields.Nested(Recusal), load_default=list)
    public_value_source = fields.String(required=True, validate=validate.Length(min=4, max=500))
    public_value_on = fields.Date(required=True)


class PerformDrawRequest(Schema):
    public_value = fields.String(required=True, validate=validate.Length(min=1, max=500))


class InspectionResultItem(Schema):
    target_id = fields.String(required=True)
    inspected_on = fields.Date(required=True)
    outcome = fields.String(required=True)


class InspectionResultsRequest(Schema):
    results = fields.List(fields.Nested(InspectionResultItem), required=True, validate=validate.Length(min=1))


class InspectionMonthRequest(Schema):
    body_id = fields.String(required=True)
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    month = fields.Integer(required=True, validate=validate.Range(min=1, max=12))


# --- helpers -----------------------------------------------------------------------------------------------
def _filters(request) -> dict:
    return {k: (request.args.get(k) or "").strip() for k in FILTER_KEYS}


def _search(gateway, filters: dict, page: int = 1, page_size: int | None = None, sort: str | None = None) -> dict:
    return call(gateway.disclosure, "search", filters.get("q") or None, filters.get("region_code") or None,
                filters.get("body_id") or None, filters.get("action_type") or None, page,
                filters.get("date_from") or None, filters.get("date_to") or None, page_size, sort or None)


def _sort(request) -> str:
    return "amount" if request.args.get("sort") == "amount" else "date"


def page_numbers(page: int, last: int, around: int = 2) -> list[int | None]:
    """The page links of a result list: first, last and ``around`` either side of the current page;
    ``None`` where pages are left out (…)."""
    shown = sorted({1, last, *range(max(1, page - around), min(last, page + around) + 1)})
    out: list[int | None] = []
    for number in shown:
        if out and number - out[-1] > 1:
            out.append(None)
        out.append(number)
    return out


def _region_options(bodies: list[dict], townships: dict[str, str]) -> list[str]:
    """The region box's suggestions (issue 19): the full names of the regions where registered bodies are,
    with their cities and counties — what a person would type, each resolving to one region."""
    codes: set[str] = set()
    for body in bodies or ():
        code = str(body.get("region_code") or "")
        if len(code) not in (6, 9):
            continue
        codes.update({code[:4] + "00", code[:6]})
        if len(code) == 9 and code in townships:
            codes.add(code)
    names = []
    for code in sorted(codes):
        label = regions.region_label(code, townships)
        if label != code and "（" not in label:
            names.append(label)
    return names


def _answer(result):
    """Turn a service refusal ({"error", "status", "message", "fields"}) into an HTTP error."""
    if isinstance(result, dict) and result.get("error") and "status" in result and isinstance(result["status"], int):
        raise HttpError(result["status"], result["error"], result["message"], result.get("fields"))
    return result


def _base_url(request) -> str:
    """DISC-2, DISC-9: the public address written into certificate QR codes (亮证扫码核验):
    ZHIFA_PUBLIC_BASE_URL when the portal sits behind a proxy, else the address the request came in on."""
    configured = settings.get("ZHIFA_PUBLIC_BASE_URL").rstrip("/")
    return configured or request.host_url.rstrip("/")


def verification_url(request, certificate_no: str) -> str:
    from urllib.parse import quote

    return f"{_base_url(request)}/disclosure/verify/{quote(certificate_no.strip().upper(), safe='')}"


def _not_found(message: str):
    return pages.render("disclosure/not_found.html", status=404, message=message)


def _page_int(request) -> int:
    try:
        return max(1, int(request.args.get("page") or 1))
    except ValueError:
        return 1


class DisclosureRoutes:
    # -- the portal's search page (the home page, see operations.home) -------------------------------------
    def render_portal_search(self, request):
        """DISC-9: the search page (full text in Chinese plus filters), server-rendered — in the style of
        信用中国's decision listings (issue 19): "共 N 条", numbered pages, compact rows with body, party
        (masked), 文书号, amount and date, keywords highlighted, sort by date or amount, a clear-filters link;
        a page past the results says how many pages there are."""
        filters = _filters(request)
        page = _page_int(request)
        sort = _sort(request)
        size = PORTAL_PAGE_SIZE
        reachable_pages = PORTAL_MAX_RESULTS // size
        # the region box takes a name ("武进区", "常州市武进区") or a code; the search and the downloads get the code
        bodies = call(self.disclosure, "bodies", None)
        townships = regions.township_names(bodies)
        region_code, region_error = None, None
        if filters["region_code"]:
            try:
                region_code = regions.resolve_region(filters["region_code"], townships)
            except regions.RegionNotFound as exc:
                region_error = exc.message
        searched_filters = {**filters, "region_code": region_code or ""}
        if region_error:
            result = {"results": [], "total": None, "has_more": False, "message": region_error}
        elif page <= reachable_pages:
            result = _search(self, searched_filters, page, size, sort)
        else:
            result = {"results": [], "total": None, "has_more": False}
        query = {k: v for k, v in filters.items() if v}
        plain = {k: v for k, v in searched_filters.items() if v}     # the downloads: codes, newest first
        if sort != "date":
            query["sort"] = sort
        total = result.get("total")
        last = max(1, min(reachable_pages, -(-(total or 0) // size))) if total is not None else None
        past_end = page > reachable_pages or (bool(total) and page > (last or 1)) or (total == 0 and page > 1)

        def url(**changes):
            values = {**query, **changes}
            if values.get("page") == 1:
                values.pop("page")
            return "/?" + urlencode(values) if values else "/"

        return pages.render("home.html", filters=filters, result=result, page=page, bodies=bodies,
                            actions=ACTION_OPTIONS, searched=bool({k: v for k, v in query.items() if k != "sort"}),
                            error=None if past_end else result.get("message"), sort=sort, total=total,
                            total_more=result.get("total_more"), last_page=last, past_end=past_end,
                            reachable_pages=reachable_pages, max_results=PORTAL_MAX_RESULTS,
                            keywords=keywords(filters["q"]), page_urls=[
                                (n, url(page=n) if n else None) for n in page_numbers(page, last or 1)],
                            sort_urls={"date": url(sort="date", page=1), "amount": url(sort="amount", page=1)},
                            last_url=url(page=last or 1), clear_url="/",
                            prev_url=url(page=page - 1) if 1 < page <= (last or 1) else None,
                            next_url=url(page=page + 1) if result.get("has_more") else None,
                            # a region the box could not resolve: no downloads (without it they would export every region)
                            downloads=not region_error,
                            csv_url="/api/v1/public/decisions.csv?" + urlencode(plain),
                            atom_url="/api/v1/public/decisions.atom?" + urlencode(plain),
                            json_url="/api/v1/public/decisions?" + urlencode(
                                {**plain, **({"sort": sort} if sort != "date" else {})}),
                            region_code=region_code, townships=townships,
                            region_options=_region_options(bodies, townships))

    @endpoint("GET", "/disclosure/decisions/<publication_id>", tags=("public",),
              summary="Decision page with its correction / take-down history (DISC-5, DISC-6, DISC-9, public)")
    def disclosure_decision_page(self, request, identity, publication_id):
        found = call(self.disclosure, "get_publication", publication_id)
        if found is None:
            return _not_found("未找到该公示信息，可能尚未公开或编号有误。")
        return pages.render("disclosure/decision.html", p=found)

    @endpoint("GET", "/disclosure/bodies/<body_id>", tags=("public",),
              summary="Body page: before-information, officers, powers list, annual reports (DISC-1, public)")
    def disclosure_body_page(self, request, identity, body_id):
        as_of = request.args.get("as_of") or None
        try:
            if as_of:
                dt.date.fromisoformat(as_of)
        except ValueError:
            as_of = None
        info = call(self.disclosure, "body_page", body_id, as_of)
        if info is None:
            return _not_found("未找到该执法主体。")
        recent = _search(self, {"body_id": body_id}, 1, 10)
        return pages.render("disclosure/body.html", info=info, recent=recent.get("results", []), as_of=as_of)

    @endpoint("GET", "/disclosure/verify", tags=("public",),
              summary="Officer credential verification page (DISC-2, public)")
    def disclosure_verify_page(self, request, identity):
        number = (request.args.get("certificate_no") or "").strip()
        result = call(self.disclosure, "verify_certificate", number) if number else None
        return pages.render("disclosure/verify.html", number=number, result=result,
                            qr_url=f"/api/v1/public/certificates/{number}/qr.png" if result and result["found"] else None)

    @endpoint("GET", "/disclosure/verify/<certificate_no>", tags=("public",),
              summary="Credential verification by QR code: the address the code encodes (DISC-2, public)")
    def disclosure_verify_by_code(self, request, identity, certificate_no):
        result = call(self.disclosure, "verify_certificate", certificate_no)
        return pages.render("disclosure/verify.html", number=certificate_no, result=result,
                            qr_url=f"/api/v1/public/certificates/{certificate_no}/qr.png" if result["found"] else None)

    @endpoint("GET", "/disclosure/annual/<body_id>/<int:year>", tags=("public",),
              summary="A body's annual statistics report (DISC-7, public)")
    def disclosure_annual_page(self, request, identity, body_id, year):
        report = call(self.disclosure, "annual_report", body_id, year)
        if report is None:
            return _not_found(f"该执法主体{year}年度统计年报尚未公开。")
        return pages.render("disclosure/annual.html", r=report)

    @endpoint("GET", "/disclosure/draws/<draw_id>", tags=("public",),
              summary="A random-inspection draw and its verification (DISC-8, public)")
    def disclosure_draw_page(self, request, identity, draw_id):
        value = request.args.get("public_value")
        draw = call(self.disclosure, "draw", draw_id, value if value else None)
        if draw is None:
            return _not_found("未找到该抽查。")
        return pages.render("disclosure/draw.html", d=draw, typed=value)

    @endpoint("GET", "/disclosure/inspections/<body_id>/<int:year>/<int:month>", tags=("public",),
              summary="A body's monthly random-inspection results (DISC-8, public)")
    def disclosure_inspection_month_page(self, request, identity, body_id, year, month):
        month_data = call(self.disclosure, "inspection_month", body_id, year, month)
        if month_data is None:
            return _not_found(f"{year}年{month}月抽查结果尚未公开。")
        return pages.render("disclosure/inspection_month.html", m=month_data)

    @endpoint("GET", "/disclosure/open-data", tags=("public",), summary="Open data: formats and addresses (DISC-9, public)")
    def disclosure_open_data_page(self, request, identity):
        return pages.render("disclosure/open_data.html", base=_base_url(request), actions=ACTION_OPTIONS)

    # -- open data (DISC-9) --------------------------------------------------------------------------------
    @endpoint("GET", "/api/v1/public/decisions", tags=("public",), limit="search",
              summary="Search published decisions: q, body_id, region_code, action_type, date_from, date_to, page (DISC-9, public)")
    def disclosure_public_decisions(self, request, identity):
        result = _search(self, _filters(request), _page_int(request), None, _sort(request))
        if result.get("error"):
            raise HttpError(422, "invalid", result["message"])
        return result

    @endpoint("GET", "/api/v1/public/decisions.csv", tags=("public",), limit="export",
              summary="CSV export of a search, newest first, at most 10,000 rows (DISC-9, public)")
    def disclosure_public_decisions_csv(self, request, identity):
        limit = min(max(request.args.get("limit", EXPORT_MAX, type=int) or EXPORT_MAX, 1), EXPORT_MAX)
        result = _search(self, _filters(request), 1, limit)
        if result.get("error"):
            raise HttpError(422, "invalid", result["message"])
        rows = [["公示编号", "文书号", "执法机关", "执法机关编码", "行政区划", "行为类别", "执法类别", "执法对象",
                 "处理结果类型", "执法结论", "执法依据", "罚款金额（元）", "决定日期", "公开日期", "公开期限",
                 "状态", "更正次数", "链接"]]
        base = _base_url(request)
        for r in result["results"]:
            rows.append([r["publication_id"], r["decision_no"], r["body_name"], r["body_id"], r["region_code"],
                         r["action_type_zh"], r["category"], r["parties"], r["conclusion_type"], r["conclusion"],
                         r["legal_basis"], r["fine_amount"] or "", r["decided_on"], r["published_on"] or "",
                         r["due_on"], r["status_zh"], r["corrections"], base + r["url"]])
        response = Response(csv_text(rows), mimetype="text/csv")
        response.headers["Content-Disposition"] = "attachment; filename=zhifa-decisions.csv"
        response.headers["X-Zhifa-Truncated"] = "1" if result.get("has_more") else "0"
        return response

    @endpoint("GET", "/api/v1/public/decisions.atom", tags=("public",), limit="export",
              summary="Atom feed of the newest published decisions of a search (DISC-9, public)")
    def disclosure_public_decisions_atom(self, request, identity):
        filters = _filters(request)
        result = _search(self, filters, 1, FEED_SIZE)
        if result.get("error"):
            raise HttpError(422, "invalid", result["message"])
        base = _base_url(request)
        query = urlencode({k: v for k, v in filters.items() if v})
        updated = max((r["updated_at"] or r["decided_on"] for r in result["results"]), default=None) \
            or dt.datetime.now(dt.timezone.utc).isoformat()
        entries = []
        for r in result["results"]:
            title = f"{r['body_name']} {r['decision_no']} {r['action_type_zh']}：{r['category']}"
            summary = f"执法对象：{r['parties']}；执法结论：{r['conclusion']}；决定日期：{r['decided_on']}"
            entries.append(
                "<entry>"
                f"<id>urn:zhifa:publication:{escape(r['publication_id'])}</id>"
                f"<title>{escape(title)}</title>"
                f"<updated>{escape(_rfc3339(r['updated_at'] or r['decided_on']))}</updated>"
                f"<published>{escape(_rfc3339(r['published_on'] or r['decided_on']))}</published>"
                f"<link rel=\"alternate\" type=\"text/html\" href=\"{escape(base + r['url'])}\"/>"
                f"<author><name>{escape(r['body_name'])}</name></author>"
                f"<category term=\"{escape(r['action_type'])}\" label=\"{escape(r['action_type_zh'])}\"/>"
                f"<summary type=\"text\">{escape(summary)}</summary>"
                "</entry>")
        feed = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">'
                f"<id>urn:zhifa:decisions:{escape(query or 'all')}</id><title>行政执法决定公示</title>"
                f"<updated>{escape(_rfc3339(updated))}</updated>"
                f"<link rel=\"self\" href=\"{escape(base + '/api/v1/public/decisions.atom' + ('?' + query if query else ''))}\"/>"
                f"<link rel=\"alternate\" type=\"text/html\" href=\"{escape(base + '/' + ('?' + query if query else ''))}\"/>"
                + "".join(entries) + "</feed>")
        return Response(feed, mimetype="application/atom+xml")

    @endpoint("GET", "/api/v1/public/decisions/<publication_id>", tags=("public",),
              summary="One published decision with its history (DISC-5, DISC-6, public)")
    def disclosure_public_decision(self, request, identity, publication_id):
        found = call(self.disclosure, "get_publication", publication_id)
        if found is None:
            raise HttpError(404, "not_found", "未找到该公示信息")
        return found

    @endpoint("GET", "/api/v1/public/bodies", tags=("public",), summary="Registered enforcement bodies (DISC-1, public)")
    def disclosure_public_bodies(self, request, identity):
        return {"bodies": call(self.disclosure, "bodies", request.args.get("region_code"))}

    @endpoint("GET", "/api/v1/public/bodies/<body_id>", tags=("public",),
              summary="A body's before-information, current or as of a day (?as_of=), with versions (DISC-1, PLAT-4, public)")
    def disclosure_public_body(self, request, identity, body_id):
        info = call(self.disclosure, "body_page", body_id, request.args.get("as_of") or None)
        if info is None:
            raise HttpError(404, "not_found", "未找到该执法主体")
        return info

    @endpoint("GET", "/api/v1/public/certificates/<certificate_no>", tags=("public",),
              summary="Verify an officer's certificate: holder, body, valid or not, since when (DISC-2, public)")
    def disclosure_public_certificate(self, request, identity, certificate_no):
        result = call(self.disclosure, "verify_certificate", certificate_no)
        result["verification_url"] = verification_url(request, certificate_no)
        return result

    @endpoint("GET", "/api/v1/public/certificates/<certificate_no>/qr.png", tags=("public",), limit="qr",
              summary="QR code (PNG) encoding the certificate's verification address (DISC-2, public)")
    def disclosure_public_certificate_qr(self, request, identity, certificate_no):
        result = call(self.disclosure, "verify_certificate", certificate_no)
        if not result["found"]:
            raise HttpError(404, "not_found", "未查询到该证件")
        response = Response(qr_png(verification_url(request, certificate_no)), mimetype="image/png")
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response

    @endpoint("GET", "/api/v1/public/annual-reports/<body_id>/<int:year>", tags=("public",),
              summary="A body's annual statistics report (DISC-7, public)")
    def disclosure_public_annual_report(self, request, identity, body_id, year):
        report = call(self.disclosure, "annual_report", body_id, year)
        if report is None:
            raise HttpError(404, "not_found", "该年度统计年报尚未公开")
        return report

    @endpoint("GET", "/api/v1/public/draws/<draw_id>", tags=("public",),
              summary="A random-inspection draw: committed inputs, seed, result, verification (DISC-8, public)")
    def disclosure_public_draw(self, request, identity, draw_id):
        draw = call(self.disclosure, "draw", draw_id, request.args.get("public_value") or None)
        if draw is None:
            raise HttpError(404, "not_found", "未找到该抽查")
        return draw

    @endpoint("GET", "/api/v1/public/inspection-results/<body_id>/<int:year>/<int:month>", tags=("public",),
              summary="A body's published monthly random-inspection results (DISC-8, public)")
    def disclosure_public_inspection_month(self, request, identity, body_id, year, month):
        found = call(self.disclosure, "inspection_month", body_id, year, month)
        if found is None:
            raise HttpError(404, "not_found", "该月抽查结果尚未公开")
        return found

    # -- staff ------------------------------------------------------------------------------------------------
    @endpoint("GET", "/api/v1/disclosure/due", roles=("supervisor", "admin", "officer", "department"),
              tags=("disclosure",),
              summary="Unpublished (due / overdue, yellow / red) and late publications in the caller's scope (DISC-3)")
    def disclosure_due(self, request, identity):
        return {"publications": call(self.disclosure, "list_pending", identity.scope.as_dict())}

    @endpoint("POST", "/api/v1/disclosure/publications/<publication_id>/corrections", roles=BODY_ROLES,
              tags=("disclosure",), body=CorrectionRequest,
              summary="Correct a published (or held) entry: re-redacted, history kept (DISC-5)")
    def disclosure_correct_publication(self, request, identity, publication_id):
        data = read_json(request, CorrectionRequest)
        return _answer(call(self.disclosure, "correct_publication", publication_id, jsonable(data["changes"]),
                            data["reason"], identity.subject, identity.scope.as_dict()))

    @endpoint("POST", "/api/v1/disclosure/publications/<publication_id>/withdrawal", roles=BODY_ROLES,
              tags=("disclosure",), body=WithdrawalRequest,
              summary="Take a published entry down (or never publish a pending one): revoked / illegal / re-made (DISC-6)")
    def disclosure_withdraw_publication(self, request, identity, publication_id):
        data = read_json(request, WithdrawalRequest)
        return _answer(call(self.disclosure, "withdraw_publication", publication_id, data["reason"], data["detail"],
                            identity.subject, identity.scope.as_dict()))

    @endpoint("PUT", "/api/v1/disclosure/bodies/<body_id>/items/<kind>/<item_id>", roles=BODY_ROLES,
              tags=("disclosure",), body=BeforeItemRequest,
              summary="Publish a new version of a service guide, remedy channel or inspection matter (DISC-1)")
    def disclosure_put_before_item(self, request, identity, body_id, kind, item_id):
        data = read_json(request, BeforeItemRequest)
        return _answer(call(self.disclosure, "put_before_item", kind, body_id, item_id, data["content"],
                            data["effective_on"].isoformat() if data["effective_on"] else None, data["reason"],
                            identity.subject, identity.scope.as_dict(), data["retire"]))

    @endpoint("POST", "/api/v1/disclosure/basis-changes", roles=("legal_reviewer", "supervisor", "admin"),
              tags=("disclosure",), body=BasisChangeRequest, success=201,
              summary="Record a change of a legal basis; powers citing it are flagged after one month (PLAT-4)")
    def disclosure_basis_change(self, request, identity):
        data = read_json(request, BasisChangeRequest)
        return _answer(call(self.disclosure, "record_basis_change", data["law_name"], data["changed_on"].isoformat(),
                            data["region_code"], data["note"], identity.subject, identity.scope.as_dict()))

    @endpoint("GET", "/api/v1/disclosure/stale-powers", roles=("legal_reviewer", "supervisor", "admin", "officer"),
              tags=("disclosure",), summary="Power-list entries not updated within a month of a basis change (PLAT-4)")
    def disclosure_stale_powers(self, request, identity):
        return {"stale_powers": call(self.disclosure, "stale_powers", identity.scope.as_dict())}

    @endpoint("POST", "/api/v1/disclosure/annual-reports", roles=BODY_ROLES + SUPERVISING[:1], tags=("disclosure",),
              body=AnnualReportRequest, success=201,
              summary="Generate, publish and send a body's annual report now (DISC-7)")
    def disclosure_generate_annual_report(self, request, identity):
        data = read_json(request, AnnualReportRequest)
        return _answer(call(self.disclosure, "generate_annual_report", data["body_id"], data["year"],
                            identity.subject, identity.scope.as_dict()))

    @endpoint("POST", "/api/v1/disclosure/draws", roles=BODY_ROLES, tags=("disclosure",),
              body=DrawAnnouncementRequest, success=201,
              summary="Announce a random-inspection draw: inputs digest and future seed source (DISC-8)")
    def disclosure_announce_draw(self, request, identity):
        data = jsonable(read_json(request, DrawAnnouncementRequest))
        return _answer(call(self.disclosure, "announce_draw", data.pop("body_id"), data, identity.subject,
                            identity.scope.as_dict()))

    @endpoint("POST", "/api/v1/disclosure/draws/<draw_id>/perform", roles=BODY_ROLES, tags=("disclosure",),
              body=PerformDrawRequest, summary="Perform an announced draw with the now-public value (DISC-8)")
    def disclosure_perform_draw(self, request, identity, draw_id):
        data = read_json(request, PerformDrawRequest)
        return _answer(call(self.disclosure, "perform_draw", draw_id, data["public_value"], identity.subject,
                            identity.scope.as_dict()))

    @endpoint("POST", "/api/v1/disclosure/draws/<draw_id>/results", roles=BODY_ROLES, tags=("disclosure",),
              body=InspectionResultsRequest, summary="Record inspection outcomes of drawn targets (DISC-8)")
    def disclosure_inspection_results(self, request, identity, draw_id):
        data = jsonable(read_json(request, InspectionResultsRequest))
        return _answer(call(self.disclosure, "record_inspection_results", draw_id, data["results"], identity.subject,
                            identity.scope.as_dict()))

    @endpoint("POST", "/api/v1/disclosure/inspection-months", roles=BODY_ROLES, tags=("disclosure",),
              body=InspectionMonthRequest, success=201, summary="Publish a month's inspection results (DISC-8)")
    def disclosure_publish_inspection_month(self, request, identity):
        data = read_json(request, InspectionMonthRequest)
        return _answer(call(self.disclosure, "publish_inspection_month", data["body_id"], data["year"], data["month"],
                            identity.subject, identity.scope.as_dict()))

    # -- annual report receipts (报送与签收, DISC-7) ------------------------------------------------------------
    @endpoint("GET", "/api/v1/disclosure/annual-report-receipts", roles=RECEIVERS, tags=("disclosure",),
              query={"year": {"type": "integer", "minimum": 2000, "maximum": 2100}},
              summary="Annual reports received by the government / superior department the caller acts for (DISC-7)")
    def disclosure_annual_report_receipts(self, request, identity):
        return {"receipts": _answer(call(self.disclosure, "annual_report_receipts", identity.scope.as_dict(),
                                         request.args.get("year", type=int)))}

    @endpoint("POST", "/api/v1/disclosure/annual-report-receipts/acknowledgements", roles=RECEIVERS,
              tags=("disclosure",), body=ReceiptAcknowledgement,
              summary="Acknowledge receipt (签收) of an annual report revision; sent back to the body's suite (DISC-7)")
    def disclosure_acknowledge_annual_report(self, request, identity):
        data = read_json(request, ReceiptAcknowledgement)
        return _answer(call(self.disclosure, "acknowledge_annual_report", data["receipt_id"], identity.subject,
                            identity.scope.as_dict()))

    # -- typical cases (典型案例通报, CMP-7) --------------------------------------------------------------------
    @endpoint("GET", "/disclosure/typical-cases", tags=("public",),
              summary="Typical cases of unlawful or improper enforcement reported as warnings (CMP-7, public)")
    def disclosure_typical_cases_page(self, request, identity):
        cases = call(self.disclosure, "typical_cases", None, FEED_SIZE)
        return pages.render("disclosure/typical_cases.html", cases=cases)

    @endpoint("GET", "/disclosure/typical-cases/<typical_case_id>", tags=("public",),
              summary="One typical case with its warning (CMP-7, public)")
    def disclosure_typical_case_page(self, request, identity, typical_case_id):
        found = call(self.disclosure, "typical_case", typical_case_id)
        if found is None:
            return _not_found("未找到该典型案例。")
        return pages.render("disclosure/typical_case.html", c=found)

    @endpoint("GET", "/api/v1/public/typical-cases.atom", tags=("public",), limit="export",
              media="application/atom+xml",
              summary="Atom feed of the typical cases reported as warnings (CMP-7, public)")
    def disclosure_typical_cases_atom(self, request, identity):
        cases = call(self.disclosure, "typical_cases", None, FEED_SIZE)
        base = _base_url(request)
        updated = max((c["published_at"] for c in cases), default=None) or dt.datetime.now(dt.timezone.utc).isoformat()
        entries = "".join(
            "<entry>"
            f"<id>urn:zhifa:typical-case:{escape(c['typical_case_id'])}</id>"
            f"<title>{escape(c['title'])}</title>"
            f"<updated>{escape(_rfc3339(c['published_at']))}</updated>"
            f"<published>{escape(_rfc3339(c['published_at']))}</published>"
            f"<link rel=\"alternate\" type=\"text/html\" href=\"{escape(base + c['url'])}\"/>"
            f"<author><name>{escape(c['body_name'])}</name></author>"
            f"<category term=\"{escape(c['source_kind'])}\" label=\"{escape(c['source_zh'])}\"/>"
            f"<summary type=\"text\">{escape(c['warning_text'])}</summary>"
            "</entry>" for c in cases)
        feed = ('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="zh-CN">'
                "<id>urn:zhifa:typical-cases</id><title>典型案例通报</title>"
                f"<updated>{escape(_rfc3339(updated))}</updated>"
                f"<link rel=\"self\" href=\"{escape(base + '/api/v1/public/typical-cases.atom')}\"/>"
                f"<link rel=\"alternate\" type=\"text/html\" href=\"{escape(base + '/disclosure/typical-cases')}\"/>"
                + entries + "</feed>")
        return Response(feed, mimetype="application/atom+xml")


def _rfc3339(value: str) -> str:
    """Atom wants RFC 3339 with a zone: dates are China dates, naive timestamps are UTC (stored so)."""
    if len(value) == 10:
        return value + "T00:00:00+08:00"
    if "+" not in value[10:] and not value.endswith("Z") and "-" not in value[19:]:
        return value + "+00:00"
    return value
