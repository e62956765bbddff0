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
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from services.common import metrics
from services.common.auth import AuthError, Forbidden, authenticate, require
from services.common.rpc import RpcTimeout
from services.gateway import audit, edge, oidc, pages
from services.gateway.shared import RateLimited, SharedStateUnavailable
from services.gateway.schemas import Route

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20  # 1 MiB (1 兆字节): nameko's web server has no limit of its own
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


def error_response(status: int, code: str, message: str, fields: dict | None = None, request=None,
                   retry_after: int | None = None) -> Response:
    """The error answer: JSON for the API (SEC-5), a Chinese error page for a page route (issue 19)."""
    environ = request.environ if request is not None else {}
    if request is not None and pages.is_page_path(request.path):
        return pages.error_page(status, message, fields, edge.correlation_id(environ), retry_after,
                                path=request.path)
    return json_response(status, edge.error_body(environ, status, code, message, fields))


def rate_limited_response(exc: RateLimited, request=None) -> Response:
    """429 in Chinese with Retry-After (SEC-5)."""
    metrics.RATE_LIMITED.labels(exc.name).inc()
    response = error_response(429, "rate_limited", exc.message, request=request, retry_after=exc.retry_after)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


JSON_DEPTH = 32     # objects and arrays nested deeper are refused (400): no contract needs more
JSON_MEDIA_TYPES = ("application/json",)
FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def read_body(request, limit: int = MAX_BODY) -> bytes:
    """The request body, at most ``limit`` bytes (413 beyond).

    With a Content-Length, a body over the limit is refused before a byte is read. Without one
    (``Transfer-Encoding: chunked``), the stream is read in pieces and refused as soon as it passes
    the limit: never more than ``limit`` + 64 KiB in memory. (werkzeug reads an unterminated stream
    as empty unless the server says it terminates it, which eventlet's does not: a chunked JSON body
    used to arrive as no body at all.) The bytes are kept on the request for a second call."""
    cached = request.environ.get("zhifa.body")
    if cached is not None:
        return cached
    length = request.content_length
    if length is not None:
        if length > limit:
            raise HttpError(413, "too_large", f"请求体超过{_size(limit)}")
        data = request.get_data(cache=True)
    elif "chunked" in (request.headers.get("Transfer-Encoding") or "").lower():
        stream, chunks, size = request.environ["wsgi.input"], [], 0
        while True:
            chunk = stream.read(min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise HttpError(413, "too_large", f"请求体超过{_size(limit)}")
            chunks.append(chunk)
        data = b"".join(chunks)
    else:
        data = b""
    request.environ["zhifa.body"] = data
    return data


def _size(limit: int) -> str:
    from services.common.formats import size_zh   # issue 19: 兆字节, never "MiB"

    return size_zh(limit)


def _depth_exceeds(value, limit: int) -> bool:
    """True if objects/arrays nest deeper than ``limit`` (iterative: no recursion on hostile input)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def read_json(request, schema=None, *, optional: bool = False):
    """The JSON body of a request, loaded by ``schema`` (a marshmallow class) when given.

    Strict intake (SEC-5, issue 14): ``Content-Type: application/json`` (415 otherwise); at most
    ``MAX_BODY`` bytes, with a Content-Length or chunked (413); UTF-8 (400 with the byte offset of the
    first invalid byte); valid JSON (400); nested at most ``JSON_DEPTH`` deep (400); with a schema, a
    JSON object (400) whose fields pass it (422 with field errors). ``optional``: an empty body is
    ``{}`` (loaded by the schema), for actions whose every field has a default."""
    data = read_body(request)
    if not data:
        if optional:
            return schema().load({}) if schema is not None else {}
    if request.mimetype not in JSON_MEDIA_TYPES:
        raise HttpError(415, "unsupported_media_type", "请求体须为JSON，请设置 Content-Type: application/json")
    charset = (request.mimetype_params.get("charset") or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise HttpError(415, "unsupported_media_type", f"请求体须为UTF-8编码的JSON（收到 charset={charset}）")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HttpError(400, "bad_encoding", f"请求体不是有效的UTF-8：第 {exc.start} 字节（从0计）无法解码",
                        {"_body": [f"byte offset {exc.start}"]}) from None
    try:
        value = json.loads(text) if text else None
    except RecursionError:
        raise HttpError(400, "too_deep", f"JSON嵌套超过{JSON_DEPTH}层") from None
    except ValueError as exc:
        raise HttpError(400, "bad_json", f"请求体不是有效的JSON: {exc}") from None
    if value is None and not text:
        raise HttpError(400, "bad_json", "请求体为空，应为JSON")
    if _depth_exceeds(value, JSON_DEPTH):
        raise HttpError(400, "too_deep", f"JSON嵌套超过{JSON_DEPTH}层")
    if schema is None:
        return value
    if not isinstance(value, dict):
        raise HttpError(400, "bad_json", "请求体应为JSON对象")
    try:
        return schema().load(value)
    except ValidationError as exc:
        raise HttpError(422, "invalid", "请求内容有误", exc.messages) from None


def endpoint(method, path, *, roles=(), summary="", body=None, success=200, tags=(), limit=None, query=None,
             response=None, media=None, body_optional=False, form=None, files=False, raw_body=False,
             redirects=False):
    """Declare an HTTP endpoint: public when ``roles`` is empty, else restricted to those roles.
    ``limit``: the name of an abuse limit (config/gateway/limits.yaml) counted per client address
    before the handler runs, shared by every gateway replica (SEC-5). The rest describes the
    operation for the OpenAPI document (``schemas.Route``), against which every request is
    validated before the handler runs (path and query parameters, JSON body: 422 with field errors)."""
    from services.gateway.parameters import operation

    described = operation(method, path)
    query = query if query is not None else described.get("query")
    response = response if response is not None else described.get("response")
    media = media or described.get("media") or (
        "application/json" if path.startswith("/api/") or path == "/healthz" else "text/html")
    body_optional = body_optional or described.get("body_optional", False)
    form = form if form is not None else described.get("form")
    files = files or described.get("files", False)
    raw_body = raw_body or described.get("raw_body", False)
    # a page may send a person to sign in (303), whatever else it does
    redirects = redirects or described.get("redirects", False) or (method == "GET" and media == "text/html")

    def decorate(fn):
        this = Route(method, path, tuple(roles), summary, body, success, tuple(tags), query=query, response=response,
                     media=media, body_optional=body_optional, form=form, files=files, raw_body=raw_body,
                     redirects=redirects, handler=fn.__name__)
        ROUTES.append(this)

        def handler(self, request, **kwargs):
            route = f"{method} {path}"
            cid = edge.correlation_id(request.environ)
            edge.csrf_begin(request)
            seen: dict = {}     # the identity once known, and whether its audit record was refused
            try:
                response = _respond(self, fn, request, kwargs, seen, roles=roles, limit=limit, success=success,
                                    action=route, contract=this)
            except Exception as exc:   # noqa: BLE001 - every failure becomes a Chinese error with the id
                seen["audit_refused"] = isinstance(exc, audit.AuditUnavailable)   # nothing ran: no outcome
                response = _error_for(exc, route, cid, request)
            response = _audit_outcome(seen, request, response, route, kwargs, cid)
            edge.csrf_finish(request, response)
            metrics.HTTP_REQUESTS.labels(route, str(response.status_code)).inc()
            return response

        handler.__name__ = fn.__name__
        handler.__doc__ = fn.__doc__
        handler.__wrapped__ = fn
        return edge.edge_http(method, path)(handler)

    return decorate


def _respond(self, fn, request, kwargs, seen, *, roles, limit, success, action, contract=None):
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
    if contract is not None:    # after the intent record: an authorised write refused here is audited as before
        validate_request(contract, request, kwargs)
    response = fn(self, request, identity, **kwargs)
    if not isinstance(response, Response):
        response = json_response(success, response)
    return response


def resolve_identity(self, request):
    """(identity, authenticated by the session cookie?): an API key or a service account's Bearer
    token (machine clients), else a staff session opened by OpenID Connect sign-in (services/gateway/
    oidc.py; its cookie is a random id, the session is in the shared store — ended by sign-out on
    every replica), else the public. A session that is unknown, ended or expired is the public."""
    identity = authenticate(request.headers, self.api_keys)
    if identity.kind != "public":
        return identity, False
    session_id = request.cookies.get(oidc.SESSION_COOKIE)
    if session_id:
        staff = oidc.identity_from_session(self.shared.session_get(oidc.session_key(session_id)))
        if staff is not None:
            return staff, True
    return identity, False


def is_page(request) -> bool:
    """A page for people (HTML), not the JSON API."""
    return not request.path.startswith("/api/")


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
        if is_page(request) and request.method == "GET":     # a person at a staff page: sign in first
            from urllib.parse import urlencode

            return redirect("/auth/login?" + urlencode({"next": request.full_path.rstrip("?")}), code=303)
        return error_response(401, "unauthenticated", "未登录或登录凭证无效", request=request)
    if isinstance(exc, Forbidden):
        log.info("%s [%s]: forbidden: %s", route, cid, exc)
        if is_page(request):
            return pages.render("auth/message.html", status=403, title="无权访问",
                                message="您的角色无权访问此页面。如需访问，请联系管理员。")
        return error_response(403, "forbidden", "无权执行此操作", request=request)
    if isinstance(exc, RpcTimeout):
        log.error("%s [%s]: timeout: %s", route, cid, exc)
        return error_response(504, "timeout", "处理超时，请稍后再试", request=request)
    if isinstance(exc, RemoteError):
        log.error("%s [%s]: remote error %s: %s", route, cid, exc.exc_type, exc.value)
        return error_response(502, "upstream_error", "后台服务处理出错，请稍后再试", request=request)
    log.error("%s [%s] failed", route, cid, exc_info=exc)   # never a bare traceback to the client
    return error_response(500, "internal", "服务器内部错误", request=request)


def validate_request(route, request, path_values: dict) -> None:
    """The request against the OpenAPI document (issue 14): path and query parameters, and the JSON
    body when the operation takes one (read strictly: ``read_json``). 422 with field errors."""
    from services.gateway import openapi

    body, has_body = None, False
    form_sent = route.form is not None and request.mimetype in FORM_MEDIA_TYPES
    if (route.body is not None or route.path == "/api/v1/events") and not form_sent:
        if read_body(request) or not route.body_optional:
            body, has_body = read_json(request), True
    try:
        openapi.validate(ROUTES, route, path_values, request.args.to_dict(flat=True), body, has_body)
    except openapi.Invalid as exc:
        missing = [name for name, messages in exc.fields.items() if name in request_parameters(route)
                   and messages == [openapi.MISSING]]
        if missing and len(missing) == len(exc.fields):    # a required query parameter left out: 400
            if missing == ["purpose"]:
                raise HttpError(400, "purpose_required",
                                "调阅记录须说明事由：请在查询参数 purpose 中填写调阅目的（REC-6）") from None
            raise HttpError(400, "missing_parameter", f"缺少查询参数：{'、'.join(missing)}", exc.fields) from None
        code = "invalid_event" if route.path == "/api/v1/events" else "invalid"
        fields = _people_facing(route, body, exc.fields) if has_body else exc.fields
        raise HttpError(422, code, "请求内容有误" if code == "invalid" else "事件不符合数据标准", fields) from None


def _people_facing(route, body, fields: dict) -> dict:
    """The body's field errors in the words of its marshmallow schema (Chinese messages written for the
    people who fill the forms) where it has some; the document's errors for the fields it does not
    mention (the document may be stricter: types, lengths)."""
    from services.common.events import InvalidEvent, parse_event

    own: dict = {}
    try:
        if route.path == "/api/v1/events" and isinstance(body, dict):
            parse_event(body)
        elif route.body is not None and isinstance(body, dict):
            route.body().load(body)
    except InvalidEvent as exc:
        own = dict(exc.errors)
    except ValidationError as exc:
        own = dict(exc.messages) if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    except Exception:  # noqa: BLE001 - a body the document refused may trip a schema: keep the document's errors
        own = {}
    merged = dict(own)
    for key, messages in fields.items():
        if key.split(".")[0] not in own:
            merged[key] = messages
    return merged


def request_parameters(route) -> set:
    return set(route.query or {})


def in_scope(identity, region_code: str) -> None:
    if not identity.covers(region_code):
        raise HttpError(403, "out_of_scope", f"无权访问行政区划 {region_code} 的数据")


