"""gateway: the one HTTP edge (departmental systems, staff, the public).

Every endpoint is declared with ``endpoint(...)``: its roles (or public), and an entry in the route
table the OpenAPI document is generated from. Handlers check role and region scope, then call the
owning service by RPC (an answer is needed now) or publish the event (departmental intake).
"""
from __future__ import annotations

import json
import logging

from marshmallow import ValidationError
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.exceptions import RemoteError
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.common import metrics, settings
from services.common.auth import AuthError, Forbidden, api_keys_cached, authenticate, require
from services.common.bus import events_exchange
from services.common.events import DEPARTMENTS, InvalidEvent, parse_event
from services.common.metrics import Metrics
from services.common.rpc import RpcTimeout, ServiceRpc, call
from services.gateway import openapi, pages
from services.gateway.schemas import PublicComplaintRequest, ReviewOpinionRequest, Route

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20  # 1 MiB: nameko's web server has no limit of its own
ROUTES: list[Route] = []
STAFF_READ = ("officer", "legal_reviewer", "supervisor", "admin")


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


def json_response(status: int, body) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    mimetype="application/json")


def error_response(status: int, code: str, message: str, fields: dict | None = None) -> Response:
    body = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    return json_response(status, body)


def read_json(request, schema=None):
    if request.content_length and request.content_length > MAX_BODY:
        raise HttpError(413, "too_large", "请求体超过1 MiB")
    try:
        data = json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise HttpError(400, "bad_json", f"请求体不是有效的JSON: {exc}") from None
    if schema is None:
        return data
    if not isinstance(data, dict):
        raise HttpError(400, "bad_json", "请求体应为JSON对象")
    try:
        return schema().load(data)
    except ValidationError as exc:
        raise HttpError(422, "invalid", "请求内容有误", exc.messages) from None


def endpoint(method, path, *, roles=(), summary="", body=None, success=200, tags=()):
    """Declare an HTTP endpoint: public when ``roles`` is empty, else restricted to those roles."""
    ROUTES.append(Route(method, path, tuple(roles), summary, body, success, tuple(tags)))

    def decorate(fn):
        def handler(self, request, **kwargs):
            route = f"{method} {path}"
            try:
                identity = authenticate(request.headers, self.api_keys)
                if roles:
                    require(identity, *roles)
                response = fn(self, request, identity, **kwargs)
                if not isinstance(response, Response):
                    response = json_response(success, response)
            except HttpError as exc:
                response = error_response(exc.status, exc.code, exc.message, exc.fields)
            except AuthError as exc:
                response = error_response(401, "unauthenticated", str(exc))
            except Forbidden as exc:
                response = error_response(403, "forbidden", str(exc))
            except RpcTimeout as exc:
                response = error_response(504, "timeout", str(exc))
            except RemoteError as exc:
                log.error("%s: remote error %s", route, exc)
                response = error_response(502, "upstream_error", f"{exc.exc_type}: {exc.value}")
            except Exception:  # never a bare traceback to the client
                log.exception("%s failed", route)
                response = error_response(500, "internal", "服务器内部错误")
            metrics.HTTP_REQUESTS.labels(route, str(response.status_code)).inc()
            return response

        handler.__name__ = fn.__name__
        handler.__doc__ = fn.__doc__
        return http(method, path)(handler)

    return decorate


def in_scope(identity, region_code: str) -> None:
    if not identity.covers(region_code):
        raise HttpError(403, "out_of_scope", f"无权访问行政区划 {region_code} 的数据")


class GatewayService:
    name = "gateway"
    metrics = Metrics()
    records = ServiceRpc("records")
    review = ServiceRpc("review")
    disclosure = ServiceRpc("disclosure")
    complaints = ServiceRpc("complaints")
    evaluation = ServiceRpc("evaluation")

    @property
    def api_keys(self):
        return api_keys_cached()

    # -- operations ------------------------------------------------------------------------------
    @endpoint("GET", "/healthz", summary="Liveness (public)")
    def healthz(self, request, identity):
        return {"status": "ok"}

    @endpoint("GET", "/api/v1/openapi.json", summary="This API's OpenAPI document (public)")
    def openapi_document(self, request, identity):
        return openapi.document(ROUTES)

    # -- departmental intake (PLAT-7) ----------------------------------------------------------
    @endpoint("POST", "/api/v1/events", roles=("department",), success=202, tags=("departments",),
              summary="Publish one departmental event (envelope + payload); 202 with its id, 4xx with field errors")
    def publish_event(self, request, identity):
        raw = read_json(request)
        try:
            event = parse_event(raw)
        except InvalidEvent as exc:
            raise HttpError(422, "invalid_event", exc.reason, exc.errors) from None
        if event.source_system != identity.subject:
            raise HttpError(403, "wrong_source", f"source_system 应为 {identity.subject}")
        if identity.body_ids and event.body_id not in identity.body_ids:
            raise HttpError(403, "wrong_body", f"该密钥无权代表执法主体 {event.body_id} 报送")
        in_scope(identity, event.region_code)
        publisher = Publisher(settings.amqp_uri(), use_confirms=True, mandatory=True,
                              declare=[events_exchange(DEPARTMENTS)])
        try:
            publisher.publish(json.dumps(raw, ensure_ascii=False), exchange=events_exchange(DEPARTMENTS),
                              routing_key=event.event_type, serializer=None, content_type="application/json",
                              content_encoding="utf-8", message_id=event.event_id)
        except UndeliverableMessage:
            raise HttpError(503, "not_routed", "消息总线尚未初始化（zhifa bus-init）") from None
        return {"event_id": event.event_id, "status": "accepted"}

    # -- records (REC) --------------------------------------------------------------------------
    @endpoint("GET", "/api/v1/cases/<case_id>/timeline", roles=STAFF_READ, tags=("records",),
              summary="A case's full-process record timeline (REC-1, REC-5)")
    def case_timeline(self, request, identity, case_id):
        timeline = call(self.records, "case_timeline", case_id, identity.region_code)
        if timeline is None:
            raise HttpError(404, "not_found", f"案件 {case_id} 不存在或不在您的管辖范围内")
        return timeline

    # -- review (REV) ---------------------------------------------------------------------------
    @endpoint("GET", "/api/v1/review/tasks", roles=("legal_reviewer", "supervisor", "admin"), tags=("review",),
              summary="Legal review tasks in the caller's scope (REV-2)")
    def review_tasks(self, request, identity):
        return {"tasks": call(self.review, "list_tasks", identity.region_code, request.args.get("status"))}

    @endpoint("POST", "/api/v1/review/tasks/<task_id>/opinion", roles=("legal_reviewer",), tags=("review",),
              body=ReviewOpinionRequest, summary="Record the written review opinion (REV-4, REV-6)")
    def review_opinion(self, request, identity, task_id):
        data = read_json(request, ReviewOpinionRequest)
        if data["opinion"] == "problems" and not data["problems"]:
            raise HttpError(422, "invalid", "请求内容有误", {"problems": ["审核未通过须列明存在的问题"]})
        result = call(self.review, "submit_opinion", task_id, identity.subject, identity.region_code,
                      data["opinion"], data["problems"], data.get("approver_id"))
        if result.get("error"):
            raise HttpError(result.get("status", 409), result["error"], result["message"])
        return result

    @endpoint("GET", "/api/v1/review/gate", roles=("department", "officer", "supervisor"), tags=("review",),
              summary="May this decision be made? (REV-2 pre-decision check)")
    def review_gate(self, request, identity):
        case_id, version = request.args.get("case_id"), request.args.get("version", type=int)
        if not case_id or not version:
            raise HttpError(422, "invalid", "请求内容有误", {"case_id": ["必填"], "version": ["必填，整数"]})
        answer = call(self.review, "may_decide", case_id, version, identity.region_code)
        if answer is None:
            raise HttpError(404, "not_found", f"案件 {case_id} 不存在或不在您的管辖范围内")
        return answer

    # -- disclosure (DISC) ------------------------------------------------------------------------
    @endpoint("GET", "/api/v1/public/decisions", tags=("public",),
              summary="Search published decisions (DISC-9, public)")
    def public_decisions(self, request, identity):
        args = request.args
        return call(self.disclosure, "search", args.get("q"), args.get("region_code"), args.get("body_id"),
                    args.get("action_type"), args.get("page", 1, type=int))

    @endpoint("GET", "/api/v1/public/decisions/<publication_id>", tags=("public",),
              summary="One published decision with its history (DISC-5, DISC-6, public)")
    def public_decision(self, request, identity, publication_id):
        found = call(self.disclosure, "get_publication", publication_id)
        if found is None:
            raise HttpError(404, "not_found", "未找到该公示信息")
        return found

    @endpoint("GET", "/api/v1/disclosure/due", roles=("supervisor", "admin", "officer"), tags=("disclosure",),
              summary="Publications due / overdue in the caller's scope (DISC-3)")
    def disclosure_due(self, request, identity):
        return {"publications": call(self.disclosure, "list_pending", identity.region_code)}

    # -- complaints (CMP) ----------------------------------------------------------------------
    @endpoint("POST", "/api/v1/public/complaints", tags=("public",), body=PublicComplaintRequest, success=201,
              summary="File a complaint on the portal (CMP-1, CMP-2, public)")
    def public_complaint(self, request, identity):
        data = read_json(request, PublicComplaintRequest)
        result = call(self.complaints, "submit_portal_complaint", data)
        if result.get("errors"):
            raise HttpError(422, "invalid", "请求内容有误", result["errors"])
        return result

    @endpoint("GET", "/api/v1/public/complaints/<number>", tags=("public",),
              summary="Complaint status by number and query code, no login (CMP-4, public)")
    def public_complaint_status(self, request, identity, number):
        status = call(self.complaints, "public_status", number, request.args.get("code", ""))
        if status is None:
            raise HttpError(404, "not_found", "编号或查询码不正确")
        return status

    @endpoint("GET", "/api/v1/complaints", roles=("complaint_handler", "supervisor", "admin"), tags=("complaints",),
              summary="The complaint register in the caller's scope (CMP-2)")
    def complaint_register(self, request, identity):
        return {"complaints": call(self.complaints, "list_register", identity.region_code)}

    # -- evaluation (EVAL) ---------------------------------------------------------------------
    @endpoint("GET", "/api/v1/evaluation/summary", roles=("supervisor", "admin"), tags=("evaluation",),
              summary="Indicator counts by body in the caller's scope (EVAL-2)")
    def evaluation_summary(self, request, identity):
        region = request.args.get("region_code") or identity.region_code
        in_scope(identity, region)
        return call(self.evaluation, "summary", region, request.args.get("year", type=int))

    # -- pages (Simplified Chinese) --------------------------------------------------------------
    @endpoint("GET", "/", summary="Portal home page (public)", tags=("public",))
    def home(self, request, identity):
        return pages.render("home.html", routes=[r for r in ROUTES if not r.roles])
