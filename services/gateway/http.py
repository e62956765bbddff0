"""HTTP plumbing of the gateway: JSON responses and errors, body limits, and ``endpoint`` — the
decorator that declares a route (roles or public), checks identity and role, and records the route
in the table the OpenAPI document is generated from.

Errors (SEC-5) are a JSON body ``{"error", "message" (Chinese), "correlation_id"}``; the text of an
exception — ours or a service's ``RemoteError`` — is logged with the correlation id, never returned.
A token in the URL (``?token=``, ``?access_token=``) is refused (SEC-1): URLs end up in logs,
histories and Referer headers."""
from __future__ import annotations

import json
import logging

from marshmallow import ValidationError
from nameko.exceptions import RemoteError
from werkzeug.wrappers import Response

from services.common import metrics
from services.common.auth import AuthError, Forbidden, authenticate, require
from services.common.rpc import RpcTimeout
from services.gateway import audit, edge
from services.gateway.shared import RateLimited, SharedStateUnavailable
from services.gateway.schemas import Route

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20  # 1 MiB: nameko's web server has no limit of its own
ROUTES: list[Route] = []
STAFF_READ = ("officer", "legal_reviewer", "supervisor", "admin")


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}


URL_TOKEN_PARAMS = ("token", "access_token", "id_token")


def json_response(status: int, body) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    mimetype="application/json")


def error_response(status: int, code: str, message: str, fields: dict | None = None, request=None) -> Response:
    environ = request.environ if request is not None else {}
    return json_response(status, edge.error_body(environ, status, code, message, fields))


def rate_limited_response(exc: RateLimited, request=None) -> Response:
    """429 in Chinese with Retry-After (SEC-5)."""
    metrics.RATE_LIMITED.labels(exc.name).inc()
    response = error_response(429, "rate_limited", exc.message, request=request)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


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


def endpoint(method, path, *, roles=(), summary="", body=None, success=200, tags=(), limit=None):
    """Declare an HTTP endpoint: public when ``roles`` is empty, else restricted to those roles.
    ``limit``: the name of an abuse limit (config/gateway/limits.yaml) counted per client address
    before the handler runs, shared by every gateway replica (SEC-5)."""
    ROUTES.append(Route(method, path, tuple(roles), summary, body, success, tuple(tags)))

    def decorate(fn):
        def handler(self, request, **kwargs):
            route = f"{method} {path}"
            cid = edge.correlation_id(request.environ)
            edge.csrf_begin(request)
            seen: dict = {}     # the identity once known, and whether the write's intent was recorded
            try:
                response = _respond(self, fn, request, kwargs, seen, roles=roles, limit=limit, success=success,
                                    action=route)
            except Exception as exc:   # noqa: BLE001 - every failure becomes a Chinese error with the id
                seen["audit_refused"] = isinstance(exc, audit.AuditUnavailable)   # nothing ran: no outcome
                response = _error_for(exc, route, cid, request)
            response = _audit_outcome(seen, request, response, route, kwargs, cid)
            edge.csrf_finish(request, response)
            metrics.HTTP_REQUESTS.labels(route, str(response.status_code)).inc()
            return response

        handler.__name__ = fn.__name__
        handler.__doc__ = fn.__doc__
        return edge.edge_http(method, path)(handler)

    return decorate


def _respond(self, fn, request, kwargs, seen, *, roles, limit, success, action):
    if any(name in request.args for name in URL_TOKEN_PARAMS):
        raise HttpError(400, "token_in_url", "令牌不得放在网址中：请登录后访问，接口调用请使用 Authorization 请求头")
    identity, by_cookie = resolve_identity(self, request)
    seen["identity"] = identity
    if edge.needs_csrf(request, cookie_authenticated=by_cookie) and not edge.csrf_valid(request):
        raise HttpError(403, "csrf", "页面已过期或请求来源无法确认，请刷新页面后重试")
    if roles:
        require(identity, *roles)
    if limit:
        self.shared.hit(limit, edge.request_ip(request))
    if audited(identity) and request.method in audit.WRITE_METHODS:
        # SEC-3: a write runs only once its intent record is confirmed (services/gateway/audit.py)
        audit.publish(audit.record(request, identity, action=action, phase="intent", status=None,
                                   path_values=kwargs, source_address=edge.request_ip(request),
                                   correlation_id=edge.correlation_id(request.environ)))
        seen["intent"] = True
    response = fn(self, request, identity, **kwargs)
    if not isinstance(response, Response):
        response = json_response(success, response)
    return response


def resolve_identity(self, request):
    """(identity, authenticated by the session cookie?) — API key, Bearer token, or the public."""
    return authenticate(request.headers, self.api_keys), False


def audited(identity) -> bool:
    return identity is not None and identity.kind == "staff"


def _audit_outcome(seen, request, response, route, kwargs, cid):
    """Record the outcome of a staff request; a read whose record is not confirmed is not released."""
    identity = seen.get("identity")
    if not audited(identity) or seen.get("audit_refused"):
        return response
    try:
        audit.publish(audit.record(request, identity, action=route, phase="outcome", status=response.status_code,
                                   path_values=kwargs, source_address=edge.request_ip(request), correlation_id=cid))
    except audit.AuditUnavailable as exc:
        log.error("%s [%s]: audit outcome record not confirmed: %s", route, cid, exc)
        if request.method not in audit.WRITE_METHODS and response.status_code < 400:
            return error_response(503, "audit_unavailable", "审计记录暂时无法写入，本次查询结果不予返回，请稍后再试",
                                  request=request)
    return response


def _error_for(exc, route, cid, request) -> Response:
    if isinstance(exc, HttpError):
        return error_response(exc.status, exc.code, exc.message, exc.fields, request)
    if isinstance(exc, RateLimited):
        return rate_limited_response(exc, request)
    if isinstance(exc, audit.AuditUnavailable):
        log.error("%s [%s]: audit intent record not confirmed, the write did not run: %s", route, cid, exc)
        return error_response(503, "audit_unavailable", "审计记录暂时无法写入，操作未执行，请稍后再试", request=request)
    if isinstance(exc, SharedStateUnavailable):
        log.error("%s [%s]: Redis unavailable: %s", route, cid, exc)
        return error_response(503, "unavailable", "服务暂时不可用，请稍后再试", request=request)
    if isinstance(exc, AuthError):
        log.info("%s [%s]: not authenticated: %s", route, cid, exc)
        return error_response(401, "unauthenticated", "未登录或登录凭证无效", request=request)
    if isinstance(exc, Forbidden):
        log.info("%s [%s]: forbidden: %s", route, cid, exc)
        return error_response(403, "forbidden", "无权执行此操作", request=request)
    if isinstance(exc, RpcTimeout):
        log.error("%s [%s]: timeout: %s", route, cid, exc)
        return error_response(504, "timeout", "处理超时，请稍后再试", request=request)
    if isinstance(exc, RemoteError):
        log.error("%s [%s]: remote error %s: %s", route, cid, exc.exc_type, exc.value)
        return error_response(502, "upstream_error", "后台服务处理出错，请稍后再试", request=request)
    log.error("%s [%s] failed", route, cid, exc_info=exc)   # never a bare traceback to the client
    return error_response(500, "internal", "服务器内部错误", request=request)


def in_scope(identity, region_code: str) -> None:
    if not identity.covers(region_code):
        raise HttpError(403, "out_of_scope", f"无权访问行政区划 {region_code} 的数据")


