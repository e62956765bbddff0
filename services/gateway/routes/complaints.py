"""Complaint routes (投诉举报, CMP-1…CMP-9, COORD-1, EVAL-7).

Public: the portal form page and its JSON API (multipart with attachments or JSON), status by number
+ query code (page and API), satisfaction rating, published channels. Public intake is rate limited
per client address, and query-code checks also per complaint number (the gateway's abuse limits,
shared by every replica through Redis: services/gateway/shared.py; 429 in Chinese). Staff (complaint_handler, supervisor, admin): the
register, one complaint, registering letters/e-mails/visits, accept / not accept / progress /
conclude / transfer / extend, the CMP-6 report. Supervisors: at a province, the supervision register
of complaints the cities escalated and the transfer orders sent down from it (上级交办, COORD-4).
Bodies (department API key or officer token with body ids): the redacted body view. The complaints
service checks the region scope again (PLAT-1).
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time

from marshmallow import ValidationError

from services.common.rpc import call
from services.common import attachments as intake
from services.common import regions
from services.common.formats import size_zh
from services.gateway import pages
from services.gateway.edge import CSRF_COOKIE, CSRF_FIELD, client_ip, request_ip  # noqa: F401 - client_ip re-exported
from werkzeug.utils import redirect

from services.gateway.http import HttpError, endpoint, rate_limited_response, read_json
from services.gateway.shared import RateLimited
from services.gateway.schemas import (ComplaintNoteRequest, ComplaintRatingRequest, ConcludeRequest, ExtendRequest,
                                      NotAcceptRequest, ProgressRequest, PublicComplaintRequest,
                                      ScopeFindingRequest, StaffComplaintRequest, TransferOrderRequest,
                                      TransferRequest)

HANDLERS = ("complaint_handler", "admin")
SUPERVISORS = ("supervisor", "admin")
READERS = ("complaint_handler", "supervisor", "admin")
MAX_FORM_BODY = 64 * 1024  # the text fields of a complaint; attachments come on top


def _unwrap(result):
    """A service refusal ``{"error": {...}}`` → HttpError; otherwise the result."""
    if isinstance(result, dict) and isinstance(result.get("error"), dict):
        err = result["error"]
        raise HttpError(err["status"], err["code"], err["message"], err.get("fields"))
    return result


SUBMISSION_FIELD = "submission_token"
SUBMISSION_SECONDS = 30 * 60      # a receipt can be shown again (refresh) for half an hour, to its browser only
SUBMISSION_WAIT_SECONDS = 60      # a second click waits this long for the first one's receipt
_TOKEN_OK = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
FORM_FIELDS = ("region_code", "body_id", "officer_ids", "case_id", "request", "facts", "against_private_enterprise",
               "about_officer_conduct", "under_reconsideration_or_litigation", "name", "phone", "id_number",
               "address", "attachments")


def _form_dict(form) -> dict:
    """An HTML form as a dict: blank fields dropped (so required/optional behave), lists split."""
    data = {}
    for key in form.keys():
        if key in (CSRF_FIELD, SUBMISSION_FIELD):   # checked at the edge (SEC-5) / here: not part of the complaint
            continue
        value = form.get(key, "").strip()
        if value:
            data[key] = value
    for key in ("officer_ids", "other_bodies"):
        if key in data:
            data[key] = [v for v in data[key].replace("，", ",").replace(" ", ",").split(",") if v]
    return data


def _read_files(request) -> list[tuple[str, str, bytes]]:
    rules = intake.intake_rules()
    files = [f for f in request.files.getlist("attachments") if f and f.filename]
    if len(files) > rules.max_files:
        raise HttpError(422, "invalid", "请求内容有误", {"attachments": [f"附件最多{rules.max_files}个"]})
    out = []
    for f in files:
        data = f.read(rules.max_bytes + 1)
        out.append((f.filename, f.mimetype or "", data))
    errors = intake.check_attachments(out, rules)
    if errors:
        raise HttpError(422, "invalid", "请求内容有误", {"attachments": errors})
    return out


def _encode_files(files) -> list[dict]:
    return [{"filename": name, "content_type": ctype, "content_base64": base64.b64encode(data).decode("ascii")}
            for name, ctype, data in files]


def _client_ip(request) -> str:
    return request_ip(request)


def _submission_key(token: str) -> str:
    return "complaint-submission:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def _browser(request) -> str:
    """Which browser filed (its CSRF cookie, hashed): the receipt and its query code are shown to it only."""
    return hashlib.sha256(("receipt:" + request.cookies.get(CSRF_COOKIE, "")).encode("utf-8")).hexdigest()


def _region_of(regions: list[dict], code: str) -> str | None:
    """The form's region for a body's region code: the same code, else the nearest one above it."""
    codes = {r["region_code"] for r in regions}
    for candidate in (code, code[:6], code[:4] + "00", code[:2] + "0000"):
        if candidate in codes:
            return candidate
    return None


def region_groups(options_regions: list[dict]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The form's regions grouped by the region above (issue 19, CMP-1): [(江苏省常州市, [(320412, 武进区), …])];
    a region reads as its short GB/T 2260 name under its parent's full name (names, never codes)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for r in sorted(options_regions, key=lambda r: r["region_code"]):
        code = r["region_code"]
        found = regions.region(code[:6])
        parent = regions.region(found.parent) if found and found.parent else None
        group = parent.full_name if parent else (found.full_name if found else "其他地区")
        name = found.name if found and len(code) == 6 else (r.get("name") or regions.region_label(code))
        groups.setdefault(group, []).append((code, name))
    return list(groups.items())


class ComplaintsRoutes:
    # -- helpers ---------------------------------------------------------------------------------
    def _limit(self, request, kind: str, number: str | None = None) -> None:
        """``submit`` or ``query`` per client address; a query also per complaint number, whoever
        asks (the query code is checked with scrypt: guessing it must stay slow from many addresses)."""
        self.shared.hit(f"complaint_{kind}", _client_ip(request))
        if number is not None:
            self.shared.hit("complaint_code", number)

    def _too_many(self, exc: RateLimited, page: str | None = None, **ctx):
        if page:
            response = pages.render(page, status=429, rate_limited=exc.message, **ctx)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        return rate_limited_response(exc)

    def _check_size(self, request) -> None:
        rules = intake.intake_rules()
        limit = MAX_FORM_BODY + rules.max_files * (rules.max_bytes + 4096)
        if request.content_length and request.content_length > limit:
            raise HttpError(413, "too_large", f"提交内容过大：附件最多{rules.max_files}个，每个不超过"
                                              f"{size_zh(rules.max_bytes)}")

    def _file_portal(self, request) -> dict:
        """Validate and file one portal complaint (JSON or multipart); the answer comes after commit."""
        self._check_size(request)
        files = []
        if request.mimetype == "multipart/form-data" or request.mimetype == "application/x-www-form-urlencoded":
            raw = _form_dict(request.form)
            try:
                data = PublicComplaintRequest().load(raw)
            except ValidationError as exc:
                errors = dict(exc.messages)
                try:
                    _read_files(request)
                except HttpError as file_error:
                    errors.update(file_error.fields)
                raise HttpError(422, "invalid", "请求内容有误", errors) from None
            files = _read_files(request)
        else:
            data = read_json(request, PublicComplaintRequest)
        data["attachments"] = _encode_files(files)
        return _unwrap(call(self.complaints, "submit_portal_complaint", data, timeout=60))

    def _options(self):
        return call(self.complaints, "intake_options")

    def _form_page(self, request, status=200, **ctx):
        """The form: on a first visit prefilled from ``?body_id=`` (the body page's and decision page's link)
        and ``?decision=`` (the decision's 文书号), the region being the body's (issue 19, CMP-1); after a
        failed submit the values sent, the errors listed at the top with links to their fields."""
        options = self._options()
        values = ctx.pop("values", None)
        if values is None:
            values = {}
            wanted = (request.args.get("body_id") or "").strip()
            body = next((b for b in options.get("bodies") or [] if b["body_id"] == wanted), None)
            if body is not None:
                values["body_id"] = body["body_id"]
                values["region_code"] = _region_of(options.get("regions") or [], body.get("region_code") or "")
            decision = (request.args.get("decision") or "").strip()
            if decision:
                values["case_id"] = decision[:64]
        region = values.get("region_code") or request.args.get("region_code") \
            or (options["regions"][-1]["region_code"] if options["regions"] else None)
        channels = call(self.complaints, "channels", region) if region else None
        errors = ctx.pop("errors", {})
        return pages.render("complaints/form.html", status=status, options=options, region=region,
                            region_groups=region_groups(options.get("regions") or []),
                            channels=channels, values=values, errors=errors,
                            error_list=[(name, message) for name in (*FORM_FIELDS, "_") if name in errors
                                        for message in errors[name]] +
                                       [(name, message) for name, messages in errors.items()
                                        if name not in FORM_FIELDS and name != "_" for message in messages],
                            submission_token=ctx.pop("submission_token", None) or secrets.token_urlsafe(24), **ctx)

    # -- public API (CMP-1, CMP-4, EVAL-7) ------------------------------------------------------
    @endpoint("POST", "/api/v1/public/complaints", tags=("public",), body=PublicComplaintRequest, success=201,
              summary="File a complaint on the portal: JSON, or multipart/form-data with up to 5 attachments "
                      "(jpg/png/pdf, 5 MB each) in field 'attachments' (CMP-1, CMP-2, public, rate limited)")
    def public_complaint(self, request, identity):
        try:
            self._limit(request, "submit")
        except RateLimited as exc:
            return self._too_many(exc)
        return self._file_portal(request)

    @endpoint("GET", "/api/v1/public/complaints/<number>", tags=("public",),
              summary="Complaint status by number and query code (?code=), no login; status only (CMP-4, public)")
    def public_complaint_status(self, request, identity, number):
        try:
            self._limit(request, "query", number)
        except RateLimited as exc:
            return self._too_many(exc)
        status = call(self.complaints, "public_status", number, request.args.get("code", ""))
        if status is None:
            raise HttpError(404, "not_found", "编号或查询码不正确")
        return status

    @endpoint("POST", "/api/v1/public/complaints/<number>/rating", tags=("public",), body=ComplaintRatingRequest,
              summary="Satisfaction rating 1–5 of a concluded complaint, with the query code (EVAL-7, public)")
    def public_complaint_rating(self, request, identity, number):
        try:
            self._limit(request, "query", number)
        except RateLimited as exc:
            return self._too_many(exc)
        data = read_json(request, ComplaintRatingRequest)
        return _unwrap(call(self.complaints, "rate", number, data["code"], data["rating"], data["comment"]))

    @endpoint("GET", "/api/v1/public/complaint-channels/<region_code>", tags=("public",),
              summary="Published complaint channels of a region: scope, mailbox, e-mail, hotlines, address (CMP-1)")
    def public_complaint_channels(self, request, identity, region_code):
        found = call(self.complaints, "channels", region_code)
        if found is None:
            raise HttpError(404, "not_found", "该地区尚未公布投诉举报渠道")
        return found

    # -- public pages ------------------------------------------------------------------------------
    @endpoint("GET", "/complaints", tags=("public",), summary="Complaint form page with the published channels (CMP-1)")
    def complaint_form_page(self, request, identity):
        return self._form_page(request)

    @endpoint("POST", "/complaints", tags=("public",),
              summary="Complaint form submission (multipart): 303 to the receipt page; the form's submission "
                      "token files it once, whatever the refreshes and double clicks (CMP-1, issue 19)")
    def complaint_form_submit(self, request, identity):
        values = _form_dict(request.form)
        token = (request.form.get(SUBMISSION_FIELD) or "").strip()
        if not _TOKEN_OK.match(token):
            token = secrets.token_urlsafe(24)   # an old page without a token: filed once, this time
        key = _submission_key(token)
        owner = _browser(request)
        if not self.shared.session_claim(key, {"state": "filing", "browser": owner}, SUBMISSION_SECONDS):
            return self._already_submitted(request, token, key, owner, values)
        try:
            self._limit(request, "submit")
        except RateLimited as exc:
            self.shared.session_delete(key)
            options = self._options()
            return self._too_many(exc, "complaints/form.html", options=options, values=values, errors={},
                                  error_list=[], region=values.get("region_code"), channels=None,
                                  submission_token=token)
        try:
            receipt = self._file_portal(request)
        except HttpError as exc:
            self.shared.session_delete(key)     # not filed: the corrected form may be sent with the same token
            # the page answers 200 with the errors at the top and next to the fields (the JSON API answers 4xx)
            return self._form_page(request, values=values, errors=exc.fields or {"_": [exc.message]},
                                   message=exc.message, submission_token=token)
        except Exception:
            self.shared.session_delete(key)
            raise
        self.shared.session_put(key, {"state": "filed", "browser": owner, "receipt": receipt}, SUBMISSION_SECONDS)
        return redirect(f"/complaints/receipt/{token}", code=303)

    def _already_submitted(self, request, token, key, owner, values):
        """A second POST of the same form (refresh, double click, back and send again): wait for the first
        one's receipt and show it; nothing is filed twice."""
        deadline = time.monotonic() + SUBMISSION_WAIT_SECONDS
        while True:
            found = self.shared.session_get(key)
            if found is None:       # the first attempt failed meanwhile: show the form again
                return self._form_page(request, values=values, errors={"_": ["上次提交未成功，请重新提交。"]},
                                       submission_token=token)
            if found.get("state") == "filed" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        return redirect(f"/complaints/receipt/{token}", code=303)

    @endpoint("GET", "/complaints/receipt/<token>", tags=("public",),
              summary="The receipt of a filed complaint: number and query code, to the browser that filed it, for "
                      "30 minutes (CMP-1, issue 19)")
    def complaint_receipt_page(self, request, identity, token):
        found = self.shared.session_get(_submission_key(token)) if _TOKEN_OK.match(token) else None
        if found is None or found.get("state") != "filed" or found.get("browser") != _browser(request):
            return pages.render("complaints/receipt_gone.html", status=404)
        return pages.render("complaints/submitted.html", receipt=found["receipt"])

    @endpoint("GET", "/complaints/status", tags=("public",), summary="Complaint status query page (CMP-4)")
    def complaint_status_page(self, request, identity):
        return pages.render("complaints/status.html", number=request.args.get("number", ""), errors={})

    @endpoint("POST", "/complaints/status", tags=("public",),
              summary="Complaint status query (form: number, code) or rating (form: rating) page (CMP-4, EVAL-7)")
    def complaint_status_query(self, request, identity):
        form = _form_dict(request.form)
        number, code = form.get("number", ""), form.get("code", "")
        errors = {}
        if not number:
            errors["number"] = ["请填写登记编号"]
        if not code:
            errors["code"] = ["请填写查询码"]
        if errors:
            return pages.render("complaints/status.html", number=number, errors=errors, code="")
        try:
            self._limit(request, "query", number)
        except RateLimited as exc:
            return self._too_many(exc, "complaints/status.html", number=number, errors={}, code="")
        notice = None
        if form.get("action") == "rate" and not form.get("rating"):
            errors["rating"] = ["请选择满意程度"]      # no default: a rating is what the person chose (issue 19)
        elif form.get("rating"):
            result = call(self.complaints, "rate", number, code, form.get("rating"), form.get("comment"))
            if isinstance(result, dict) and result.get("error"):
                errors["rating"] = list((result["error"].get("fields") or {}).get("rating") or [])  \
                    or [result["error"]["message"]]
            else:
                notice = "感谢您的评价。"
        status = call(self.complaints, "public_status", number, code)
        if status is None:
            return pages.render("complaints/status.html", number=number, code="",
                                errors={"_": ["编号或查询码不正确"]})
        return pages.render("complaints/status.html", result=status, number=number, code=code,
                            errors=errors, notice=notice)

    # -- staff (CMP-1…CMP-9, COORD-1) ------------------------------------------------------------
    @endpoint("GET", "/api/v1/complaints", roles=READERS, tags=("complaints",),
              summary="The complaint register in the caller's scope; filters status, channel, overdue, escalated, "
                      "private_enterprise (CMP-2)")
    def complaint_register(self, request, identity):
        filters = {k: request.args.get(k) for k in ("status", "channel", "overdue", "escalated",
                                                     "private_enterprise", "limit") if request.args.get(k)}
        return {"complaints": call(self.complaints, "list_register", identity.scope.as_dict(), filters)}

    @endpoint("POST", "/api/v1/complaints", roles=HANDLERS, tags=("complaints",), body=StaffComplaintRequest,
              success=201, summary="Register a letter, e-mail, visit or call (CMP-1, CMP-2)")
    def complaint_register_by_staff(self, request, identity):
        data = read_json(request, StaffComplaintRequest)
        if data.get("received_at"):
            data["received_at"] = data["received_at"].isoformat()
        data["attachments"] = []
        return _unwrap(call(self.complaints, "register_by_staff", identity.scope.as_dict(), identity.subject, data,
                            timeout=60))

    @endpoint("GET", "/api/v1/complaints/reports/private-enterprise", roles=("supervisor", "admin"),
              tags=("complaints",), summary="Complaints about enforcement against private enterprises, reported "
                                            "separately (?year=) (CMP-6)")
    def complaint_enterprise_report(self, request, identity):
        return call(self.complaints, "private_enterprise_report", identity.scope.as_dict(), request.args.get("year"))

    @endpoint("GET", "/api/v1/complaints/escalations", roles=SUPERVISORS, tags=("complaints",),
              summary="Supervision register (省级督办台账) of complaints the cities escalated, in the caller's scope; "
                      "filters status (open, transferred_down, concluded), city_code (CMP-3, CMP-9, COORD-4)")
    def complaint_escalations(self, request, identity):
        filters = {k: request.args.get(k) for k in ("status", "city_code", "limit") if request.args.get(k)}
        return {"escalations": call(self.complaints, "list_escalations", identity.scope.as_dict(), filters)}

    @endpoint("POST", "/api/v1/complaints/escalations/<number>/transfer", roles=SUPERVISORS, tags=("complaints",),
              body=TransferOrderRequest, success=201,
              summary="Order an escalated complaint handled by a unit of its city, with an instruction and a period "
                      "in working days (上级交办); sent down to that city only (COORD-4, CMP-9)")
    def complaint_transfer_order(self, request, identity, number):
        data = read_json(request, TransferOrderRequest)
        return _unwrap(call(self.complaints, "order_transfer", identity.scope.as_dict(), number, identity.subject, data))

    @endpoint("GET", "/api/v1/complaints/<number>", roles=READERS, tags=("complaints",),
              summary="One complaint with history, assessment, route, clues (handler view, identity included)")
    def complaint_detail(self, request, identity, number):
        return _unwrap(call(self.complaints, "get_complaint", identity.scope.as_dict(), number))

    @endpoint("POST", "/api/v1/complaints/<number>/accept", roles=HANDLERS, tags=("complaints",),
              body=ComplaintNoteRequest, summary="Accept (受理): route recorded, handling period starts (CMP-3, CMP-8)")
    def complaint_accept(self, request, identity, number):
        data = read_json(request, ComplaintNoteRequest, optional=True)
        return _unwrap(call(self.complaints, "accept", identity.scope.as_dict(), number, identity.subject, data["note"]))

    @endpoint("POST", "/api/v1/complaints/<number>/not-accept", roles=HANDLERS, tags=("complaints",),
              body=NotAcceptRequest, summary="Not accept (不予受理); the reason is required, else 422 (CMP-4)")
    def complaint_not_accept(self, request, identity, number):
        data = read_json(request, NotAcceptRequest)
        return _unwrap(call(self.complaints, "not_accept", identity.scope.as_dict(), number, identity.subject,
                            data["reason"], data["note"]))

    @endpoint("POST", "/api/v1/complaints/<number>/progress", roles=HANDLERS, tags=("complaints",),
              body=ProgressRequest, summary="Progress told to the complainant (办理进展, CMP-4)")
    def complaint_progress(self, request, identity, number):
        data = read_json(request, ProgressRequest)
        return _unwrap(call(self.complaints, "add_progress", identity.scope.as_dict(), number, identity.subject,
                            data["text"], data["note"]))

    @endpoint("POST", "/api/v1/complaints/<number>/conclude", roles=HANDLERS, tags=("complaints",),
              body=ConcludeRequest, summary="Conclude with result and upheld or not (办结, CMP-4, CMP-5)")
    def complaint_conclude(self, request, identity, number):
        data = read_json(request, ConcludeRequest)
        return _unwrap(call(self.complaints, "conclude", identity.scope.as_dict(), number, identity.subject,
                            data["result"], data["upheld"], data["note"]))

    @endpoint("POST", "/api/v1/complaints/<number>/transfer", roles=HANDLERS + ("supervisor",), tags=("complaints",),
              body=TransferRequest, summary="Transfer to another unit, region or tier; number and history kept (COORD-1)")
    def complaint_transfer(self, request, identity, number):
        data = read_json(request, TransferRequest)
        return _unwrap(call(self.complaints, "transfer", identity.scope.as_dict(), number, identity.subject,
                            data["to_unit_id"], data["to_region_code"], data["reason"], data["to_name"]))

    @endpoint("POST", "/api/v1/complaints/<number>/extend", roles=HANDLERS, tags=("complaints",), body=ExtendRequest,
              summary="Extend the handling period once, ≤ 20 working days, approved (CMP-9)")
    def complaint_extend(self, request, identity, number):
        data = read_json(request, ExtendRequest)
        return _unwrap(call(self.complaints, "extend", identity.scope.as_dict(), number, identity.subject,
                            data["working_days"], data["approved_by"], data["reason"]))

    @endpoint("POST", "/api/v1/complaints/<number>/scope-finding", roles=("supervisor", "admin"),
              tags=("complaints",), body=ScopeFindingRequest,
              summary="Supervisor's finding that a not-accepted complaint was in scope → accountability clue (CMP-5)")
    def complaint_scope_finding(self, request, identity, number):
        data = read_json(request, ScopeFindingRequest)
        return _unwrap(call(self.complaints, "record_scope_finding", identity.scope.as_dict(), number, identity.subject,
                            data["in_scope"], data["note"]))

    # -- the body complained about (confidentiality) ----------------------------------------------
    @endpoint("GET", "/api/v1/body-complaints", roles=("department", "officer"), tags=("complaints",),
              summary="Complaints about the caller's own bodies, complainant identity removed (body view)")
    def body_complaints(self, request, identity):
        return {"complaints": call(self.complaints, "body_complaints", identity.scope.as_dict())}
