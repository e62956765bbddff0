"""HTTP plumbing of the gateway: JSON responses and errors, body limits, and ``endpoint`` — the
decorator that declares a route (roles or public), checks identity and role, and records the route
in the table the OpenAPI document is generated from."""
from __future__ import annotations

import json
import logging

from marshmallow import ValidationError
from nameko.exceptions import RemoteError
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from services.common import metrics
from services.common.auth import AuthError, Forbidden, authenticate, require
from services.common.rpc import RpcTimeout
from services.gateway.schemas import Route

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


