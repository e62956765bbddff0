"""The web edge (SEC-5): what every HTTP response of the gateway carries and every browser form checks.

- **Security headers on every response** — also nameko's own 404/405 answers, because they are
  added by the WSGI application of the gateway's web server (``EdgeWebServer``), not per route:
  a Content-Security-Policy without inline script (``script-src 'self'``; scripts and the style
  sheet are files under ``/static/``; ``style-src-attr 'unsafe-inline'`` keeps the templates'
  ``style=""`` attributes, which cannot run code), ``frame-ancestors 'none'`` (and
  ``X-Frame-Options: DENY`` for old browsers), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``, and ``Strict-Transport-Security`` when the request came over
  TLS (directly, or ``X-Forwarded-Proto: https`` from a trusted proxy: ``ZHIFA_TRUSTED_PROXY_HOPS``).
- **Correlation id** per request (``X-Correlation-Id``: the caller's if it is a plain token, else a
  new one), in every error body and in the log lines of that request's failures — clients get a
  Chinese message and the id, never exception text.
- **CSRF** (signed double-submit cookie, OWASP): a page sets a random ``zhifa_csrf`` cookie
  (HttpOnly, SameSite=Lax) and renders ``csrf_token()`` — HMAC-SHA256 of it under the gateway's
  secret — into each state-changing form; a POST/PUT/DELETE to a page, or any state-changing
  request authenticated by the staff session cookie, must send that value back (form field
  ``csrf_token`` or header ``X-CSRF-Token``), else 403. A forged cross-site form has neither the
  cookie's value nor the secret.
- **Client address** for abuse limits and the audit trail (``client_ip``): ``X-Forwarded-For`` is
  read only as far as ``ZHIFA_TRUSTED_PROXY_HOPS`` proxies of our own.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import uuid
from pathlib import Path

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from services.common import settings

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
CORRELATION_HEADER = "X-Correlation-Id"
_CORRELATION_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CSRF_COOKIE = "zhifa_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CSRF_COOKIE_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")

STATIC_DIR = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

_local = threading.local()   # green-thread local under eventlet's monkey patching


# -- client address and transport -------------------------------------------------------------------
def client_ip(remote_addr: str | None, forwarded_for: str | None, trusted_hops: int) -> str:
    """The address a request came from. Behind ``trusted_hops`` proxies of our own (ingress, load
    balancer) every client would otherwise share the proxy's address; each proxy appends the
    address it received the request from to X-Forwarded-For, so the client is the
    ``trusted_hops``-th entry from the right. Entries further left are whatever the client claims
    and are ignored."""
    if trusted_hops > 0 and forwarded_for:
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        if len(hops) >= trusted_hops:
            return hops[-trusted_hops]
    return remote_addr or "unknown"


def trusted_hops() -> int:
    return settings.get("ZHIFA_TRUSTED_PROXY_HOPS")


def request_ip(request) -> str:
    return client_ip(request.remote_addr, request.headers.get("X-Forwarded-For"), trusted_hops())


def _environ_https(environ) -> bool:
    if environ.get("wsgi.url_scheme") == "https":
        return True
    proto = environ.get("HTTP_X_FORWARDED_PROTO", "")
    return trusted_hops() > 0 and proto.split(",")[-1].strip().lower() == "https"


def is_https(request) -> bool:
    return _environ_https(request.environ)


def cookie_secure(request) -> bool:
    """``Secure`` on cookies: ``ZHIFA_COOKIE_SECURE`` = ``always`` (production, behind TLS: the
    deployment configs set it), ``auto`` (default: when this request came over TLS — the local
    http demo on 127.0.0.1 keeps working), ``never`` is not offered."""
    return settings.get("ZHIFA_COOKIE_SECURE") == "always" or is_https(request)


# -- correlation ids ---------------------------------------------------------------------------------
def correlation_id(environ) -> str:
    cid = environ.get("zhifa.correlation_id")
    if cid is None:
        offered = environ.get("HTTP_X_CORRELATION_ID", "")
        cid = offered if _CORRELATION_RE.match(offered) else uuid.uuid4().hex
        environ["zhifa.correlation_id"] = cid
    return cid


def error_body(environ, status: int, code: str, message: str, fields: dict | None = None) -> dict:
    body = {"error": code, "message": message, "correlation_id": correlation_id(environ)}
    if fields:
        body["fields"] = fields
    return body


# -- CSRF -------------------------------------------------------------------------------------------
def _csrf_secret() -> bytes:
    from services.common.auth import token_secret

    return (settings.get("ZHIFA_CSRF_SECRET") or token_secret()).encode("utf-8")


def _csrf_sign(raw: str) -> str:
    return hmac.new(_csrf_secret(), b"csrf:" + raw.encode("ascii"), hashlib.sha256).hexdigest()


def csrf_begin(request) -> None:
    """Remember this request's CSRF cookie (or make one) for the pages it renders."""
    raw = request.cookies.get(CSRF_COOKIE, "")
    _local.csrf_new = not _CSRF_COOKIE_RE.match(raw)
    _local.csrf_raw = secrets.token_urlsafe(32) if _local.csrf_new else raw
    _local.page_path = request.path


def csrf_token() -> str:
    """The value a form of this request's page carries (templates: ``{{ csrf_token() }}``)."""
    raw = getattr(_local, "csrf_raw", None)
    if raw is None:
        raise RuntimeError("csrf_token() outside a request")
    _local.csrf_used = True
    return _csrf_sign(raw)


def csrf_valid(request) -> bool:
    raw = request.cookies.get(CSRF_COOKIE, "")
    if not _CSRF_COOKIE_RE.match(raw):
        return False
    sent = request.headers.get(CSRF_HEADER) or (
        request.form.get(CSRF_FIELD, "") if request.mimetype in ("application/x-www-form-urlencoded",
                                                                 "multipart/form-data") else "")
    return bool(sent) and hmac.compare_digest(sent, _csrf_sign(raw))


def csrf_finish(request, response) -> None:
    """Set the CSRF cookie when a page used a new one."""
    if getattr(_local, "csrf_new", False) and getattr(_local, "csrf_used", False):
        response.set_cookie(CSRF_COOKIE, _local.csrf_raw, path="/", httponly=True, samesite="Lax",
                            secure=cookie_secure(request))
    _local.csrf_raw = _local.csrf_new = _local.csrf_used = _local.page_path = None


def page_path() -> str | None:
    """The path of the page this request renders (the navigation marks its entry, issue 19), or None."""
    return getattr(_local, "page_path", None)


def needs_csrf(request, cookie_authenticated: bool) -> bool:
    """A state-changing request from a browser: a page form (anything outside /api/), or an API
    call that authenticates with the staff session cookie. API calls with an API key or a Bearer
    token carry no ambient credential a foreign site could borrow."""
    if request.method in SAFE_METHODS:
        return False
    return cookie_authenticated or not request.path.startswith("/api/")


# -- the web server: headers on every response, Chinese 404/405 ---------------------------------------
class EdgeWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        cid = correlation_id(environ)
        https = _environ_https(environ)

        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            extra = [h for h in SECURITY_HEADERS if h[0].lower() not in present]
            if https:
                extra.append(HSTS)
            if CORRELATION_HEADER.lower() not in present:
                extra.append((CORRELATION_HEADER, cid))
            return start_response(status, list(headers) + extra, exc_info)

        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            rv = provider.handle_request(request)
        except NotFound:
            rv = _error(environ, 404, "not_found", "请求的地址不存在")
        except MethodNotAllowed as exc:
            rv = _error(environ, 405, "method_not_allowed", "不支持该请求方法")
            rv.headers["Allow"] = ", ".join(exc.valid_methods or ())
        except HTTPException as exc:
            rv = _error(environ, exc.code or 400, "bad_request", "请求有误")
        return rv(environ, start)


def _error(environ, status: int, code: str, message: str) -> Response:
    """JSON for the API; a Chinese error page for any other address (issue 19: never werkzeug's English)."""
    from services.gateway import pages   # pages imports this module

    if pages.is_page_path(environ.get("PATH_INFO") or "/"):
        return pages.error_page(status, message, None, correlation_id(environ))
    return _json(environ, status, code, message)


def _json(environ, status: int, code: str, message: str) -> Response:
    return Response(json.dumps(error_body(environ, status, code, message), ensure_ascii=False), status=status,
                    mimetype="application/json")


class EdgeWebServer(WebServer):
    def get_wsgi_app(self):
        return EdgeWsgiApp(self)


class EdgeHttp(HttpRequestHandler):
    """nameko's http entrypoint on the edge web server (every gateway route uses it: one server)."""

    server = EdgeWebServer()

    def handle_request(self, request):
        response = super().handle_request(request)
        if response.status_code == 500 and response.mimetype == "application/json":
            from services.gateway import pages   # pages imports this module

            if pages.is_page_path(request.path):   # issue 19: a page's failure is a Chinese page too
                return pages.error_page(500, "服务器内部错误", None, correlation_id(request.environ))
        return response

    def response_from_exception(self, exc):   # the route wrapper catches everything; never exception text
        log.error("unhandled %s in an HTTP entrypoint", type(exc).__name__)
        return Response(json.dumps({"error": "internal", "message": "服务器内部错误"}, ensure_ascii=False),
                        status=500, mimetype="application/json")


edge_http = EdgeHttp.decorator


def static_file(name: str) -> Response | None:
    """A file under services/gateway/static/ (style sheet, scripts) — only those, by name."""
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR.resolve() or path.suffix not in STATIC_TYPES or not path.is_file():
        return None
    response = Response(path.read_bytes(), mimetype=STATIC_TYPES[path.suffix].split(";")[0])
    response.headers["Content-Type"] = STATIC_TYPES[path.suffix]
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
