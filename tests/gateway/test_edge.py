"""The web edge (SEC-5, SEC-1; issue 15): security headers on every response, CSRF on every
state-changing form, errors in Chinese with a correlation id and never exception text, blob
downloads as attachments with a safe media type, no token in a URL."""
import re

import pytest
from nameko.exceptions import RemoteError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway import edge
from services.gateway.http import ROUTES, endpoint

SECURITY = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


def assert_secure_headers(response):
    for name in SECURITY:
        assert name in response.headers, (name, response.request.url)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in \
        csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert re.match(r"^[A-Za-z0-9._-]{8,64}$", response.headers["X-Correlation-Id"])


def _form_token(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page_text).group(1)


@pytest.mark.integration
def test_sec5_headers_csrf_errors_and_downloads(suite):
    """SEC-5: headers on pages, JSON, static files and nameko's own 404/405; CSRF refused without
    the token and accepted with it; a token in the URL is refused (SEC-1); an uploaded HTML blob
    comes back as an octet-stream attachment."""
    import requests

    for path in ("/", "/complaints", "/api/v1/public/decisions", "/static/zhifa.css", "/no/such/page"):
        response = suite.get(path)
        assert_secure_headers(response)
    missing = suite.get("/api/v1/no/such")
    assert missing.status_code == 404 and missing.json()["message"] == "请求的地址不存在"
    assert missing.json()["correlation_id"] == missing.headers["X-Correlation-Id"]
    # issue 19: a page address answers a Chinese page carrying the same correlation id
    missing = suite.get("/no/such/page")
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")
    assert "请求的地址不存在" in missing.text and missing.headers["X-Correlation-Id"] in missing.text
    wrong_method = requests.delete(suite.base_url + "/healthz", timeout=10)
    assert wrong_method.status_code == 405
    assert_secure_headers(wrong_method)
    # a caller's correlation id is carried through
    assert suite.get("/healthz", headers={"X-Correlation-Id": "trace-12345678"}).headers["X-Correlation-Id"] \
        == "trace-12345678"
    # no HSTS over plain http; HSTS over TLS is tested in test_hsts_behind_a_trusted_tls_proxy
    assert "Strict-Transport-Security" not in suite.get("/").headers

    # CSRF: the status form without the token is refused; with the page's cookie and token it works
    session = requests.Session()
    page = session.get(suite.base_url + "/complaints/status", timeout=10)
    assert page.ok and edge.CSRF_COOKIE in session.cookies
    cookie_header = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie_header and "SameSite=Lax" in cookie_header
    form = {"number": "320412-2026-000001", "code": "ABCDEFGH"}
    refused = session.post(suite.base_url + "/complaints/status", data=form, timeout=10)
    assert refused.status_code == 403 and "刷新页面" in refused.text     # a Chinese page (issue 19)
    forged = session.post(suite.base_url + "/complaints/status", data={**form, "csrf_token": "0" * 64}, timeout=10)
    assert forged.status_code == 403
    other_browser = requests.post(suite.base_url + "/complaints/status",
                                  data={**form, "csrf_token": _form_token(page.text)}, timeout=10)
    assert other_browser.status_code == 403          # the token is bound to that browser's cookie
    accepted = session.post(suite.base_url + "/complaints/status",
                            data={**form, "csrf_token": _form_token(page.text)}, timeout=10)
    assert accepted.status_code == 200 and "编号或查询码不正确" in accepted.text

    # SEC-1: a token in the URL is refused, whether or not it is valid
    supervisor = suite.token("supervisor", "320400")
    for path in (f"/evaluation/dashboard?token={supervisor}", f"/api/v1/evaluation/summary?access_token={supervisor}"):
        refused = suite.get(path, allow_redirects=False)
        assert refused.status_code == 400 and "令牌不得放在网址中" in refused.text, path
        if path.startswith("/api/"):
            assert refused.json()["error"] == "token_in_url"
        else:                                               # a page: a Chinese error page (issue 19)
            assert refused.headers["Content-Type"].startswith("text/html")

    # a blob uploaded as HTML with a script is served as a download, never rendered
    officer = suite.token("officer", "320412", bodies=["320412-SCJG"])
    html = b"<html><script>alert(document.cookie)</script></html>"
    up = suite.post("/api/v1/records/blobs", None, token=officer, data=html, headers={"Content-Type": "text/html"})
    assert up.status_code == 201, up.text
    digest = up.json()["content_hash"]
    down = suite.get(f"/api/v1/records/blobs/{digest}", officer, params={"purpose": "核查上传材料"})
    assert down.status_code == 200 and down.content == html
    assert down.headers["Content-Type"] == "application/octet-stream"
    assert down.headers["Content-Disposition"].startswith("attachment;")
    assert down.headers["X-Content-Type-Options"] == "nosniff"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    up = suite.post("/api/v1/records/blobs", None, token=officer, data=png, headers={"Content-Type": "image/png"})
    down = suite.get(f"/api/v1/records/blobs/{up.json()['content_hash']}", officer, params={"purpose": "核查上传材料"})
    assert down.headers["Content-Type"] == "image/png" and down.headers["Content-Disposition"].startswith("attachment;")


@pytest.fixture
def failing_route():
    """A route whose owning service fails (RemoteError) or which breaks itself — not kept in the
    route table."""
    before = len(ROUTES)

    @endpoint("GET", "/api/v1/test/fails")
    def fails(self, request, identity):
        kind = request.args.get("kind")
        if kind == "remote":
            raise RemoteError("IntegrityError", "duplicate key value violates unique constraint \"cases_pkey\"")
        raise KeyError("internal_secret_field")

    del ROUTES[before:]

    class Gateway:
        api_keys: dict = {}

    return lambda query: fails(Gateway(), Request(EnvironBuilder(path="/api/v1/test/fails", query_string=query)
                                                  .get_environ()))


def test_sec5_upstream_and_internal_errors_are_chinese_with_a_correlation_id(failing_route, caplog):
    """SEC-5: a service's exception (RemoteError) was returned as ``exc_type: value`` with 502; now
    the client gets a Chinese message and the correlation id, and the text is logged with the id."""
    for query, status in (("kind=remote", 502), ("kind=local", 500)):
        response = failing_route(query)
        body = response.get_json()
        assert response.status_code == status
        assert "IntegrityError" not in response.get_data(as_text=True)
        assert "cases_pkey" not in response.get_data(as_text=True)
        assert "internal_secret_field" not in response.get_data(as_text=True)
        assert re.search(r"[\u4e00-\u9fff]", body["message"]) and re.match(r"^[0-9a-f]{32}$", body["correlation_id"])
        assert any(body["correlation_id"] in record.getMessage() for record in caplog.records)
    assert any("cases_pkey" in record.getMessage() for record in caplog.records)


def test_hsts_behind_a_trusted_tls_proxy():
    """HSTS only when the request came over TLS: directly, or through a trusted proxy's header."""
    from nameko import config

    seen = {}

    def start(status, headers, exc_info=None):
        seen.update(headers)

    app = edge.EdgeWsgiApp.__new__(edge.EdgeWsgiApp)
    from werkzeug.routing import Map
    app.url_map = Map()
    for https, hops, expect in ((False, 0, False), (True, 0, True), (False, 1, True)):
        seen.clear()
        environ = EnvironBuilder(path="/x", base_url="https://zhifa.example" if https else "http://zhifa.example",
                                 headers={} if https else {"X-Forwarded-Proto": "https"}).get_environ()
        with config.patch({"ZHIFA_TRUSTED_PROXY_HOPS": hops}):
            b"".join(app(environ, start))
        assert ("Strict-Transport-Security" in seen) is expect, (https, hops)
        assert seen["X-Content-Type-Options"] == "nosniff"
