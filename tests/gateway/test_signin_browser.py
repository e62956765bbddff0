"""Staff sign-in through a real OpenID provider (SEC-1, issue 15): the npm ``oidc-provider`` on
127.0.0.1 (tools/oidc-provider), the gateway as its client (authorization code + PKCE), a real
headless Chromium through the whole flow."""
import pytest
import requests
from nameko import config

from tests.fixtures import OIDC_PASSWORD, browser_errors, browser_sign_in, free_port, oidc_provider, oidc_session, running_suite, wait_for

pytestmark = [pytest.mark.integration]


@pytest.fixture
def signin_suite(amqp_uri, sqlite_databases, tmp_path):
    port = free_port()
    with oidc_provider(tmp_path, port) as provider:
        with config.patch(provider.zhifa_settings(), clear=False):
            with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["evaluation", "records", "gateway"],
                               http_port=port) as suite:
                suite.provider = provider
                yield suite


@pytest.mark.browser
def test_sec1_supervisor_signs_in_through_the_provider_sees_the_dashboard_signs_out_and_the_old_cookie_is_dead(
        signin_suite, browser):
    from selenium.webdriver.common.by import By

    suite = signin_suite
    base = suite.base_url
    # not signed in: the gateway sends the browser to the identity platform's login page, and back
    browser_sign_in(browser, suite, "/evaluation/dashboard")
    assert "评议考核监督看板" in browser.title
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "supervisor" in main and "常州市" in main and "退出登录" in main
    assert browser_errors(browser) == []
    session = next(c for c in browser.get_cookies() if c["name"] == "zhifa_session")
    assert session["httpOnly"] is True and session["sameSite"] == "Lax"
    assert not session["secure"]        # plain http on 127.0.0.1 (ZHIFA_COOKIE_SECURE: auto; behind TLS: Secure)
    assert "token" not in browser.current_url and "code=" not in browser.current_url
    # the session cookie works for the API too (reads; writes would need the CSRF token)
    old = {"zhifa_session": session["value"]}
    assert requests.get(base + "/api/v1/me", cookies=old, timeout=10).json()["role"] == "supervisor"

    # sign out (the form on the dashboard, CSRF-protected), then the old cookie opens nothing
    browser.find_element(By.ID, "sign-out").click()
    wait_for(lambda: "/auth/signed-out" in browser.current_url, message="signed out")
    assert "您已退出登录" in browser.find_element(By.TAG_NAME, "main").text
    assert "zhifa_session" not in {c["name"] for c in browser.get_cookies()}
    # only the old cookie (the identity platform's own single-sign-on session is its business: see
    # the signed-out page's link to end it there)
    browser.delete_all_cookies()
    browser.add_cookie({"name": "zhifa_session", "value": session["value"], "path": "/"})
    browser.get(base + "/evaluation/dashboard")
    wait_for(lambda: browser.current_url.startswith(suite.provider.issuer), message="sent to sign in again")
    assert browser.find_elements(By.ID, "username") and "评议考核" not in browser.page_source
    assert requests.get(base + "/api/v1/me", cookies=old, timeout=10).status_code == 401
    assert requests.get(base + "/evaluation/dashboard", cookies=old, allow_redirects=False,
                        timeout=10).headers["Location"].startswith("/auth/login")

    # a token in a URL is refused, valid or not
    browser.get(base + "/evaluation/dashboard?token=" + suite.token("supervisor", "320400"))
    assert "令牌不得放在网址中" in browser.page_source


def test_sec1_refusals_and_audited_sign_in(signin_suite):
    """Wrong password: no session. An account without a zhifa role: refused by the gateway. A callback
    replayed or from another browser: refused. Sign-in and sign-out are in the audit trail."""
    suite = signin_suite
    wrong = oidc_session(suite, suite.provider, "supervisor", "not-the-password")
    assert "zhifa_session" not in wrong.cookies
    visitor = requests.Session()
    page = visitor.get(suite.base_url + "/auth/login", timeout=15)
    import re
    from html import unescape

    action = unescape(re.search(r'action="([^"]+)"', page.text).group(1))
    refused = visitor.post(suite.provider.issuer + action, data={"login": "visitor", "password": OIDC_PASSWORD},
                           timeout=15)
    assert refused.status_code == 401 and "未被授予本平台的角色" in refused.text
    assert "zhifa_session" not in visitor.cookies

    # a callback URL taken to another browser (no state cookie) is refused; replaying it is too
    starter = requests.Session()
    page = starter.get(suite.base_url + "/auth/login", timeout=15)
    action = unescape(re.search(r'action="([^"]+)"', page.text).group(1))
    to_callback = starter.post(suite.provider.issuer + action, data={"login": "officer", "password": OIDC_PASSWORD},
                               timeout=15, allow_redirects=False)
    while not to_callback.headers["Location"].startswith(suite.base_url + "/auth/callback"):
        to_callback = starter.get(requests.compat.urljoin(to_callback.url, to_callback.headers["Location"]),
                                  timeout=15, allow_redirects=False)
    callback = to_callback.headers["Location"]
    assert requests.get(callback, timeout=15, allow_redirects=False).status_code == 401     # other browser
    first = starter.get(callback, timeout=15, allow_redirects=False)
    assert first.status_code == 303 and "zhifa_session" in starter.cookies                 # the real one
    again = starter.get(callback, timeout=15, allow_redirects=False)
    assert again.status_code == 401                                                           # replayed
    # officer's session carries region and bodies from the claims
    me = starter.get(suite.base_url + "/api/v1/me", timeout=15).json()
    assert me == {"subject": "officer", "role": "officer", "region_code": "320412", "body_ids": ["320412-SCJG"]}
    # sign-out needs the CSRF token (a cross-site form cannot end or ride the session)
    assert starter.post(suite.base_url + "/auth/logout", timeout=15).status_code == 403
    dashboard = starter.get(suite.base_url + "/complaints/status", timeout=15)
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', dashboard.text).group(1)
    old_cookie = {"zhifa_session": starter.cookies["zhifa_session"]}
    assert starter.post(suite.base_url + "/auth/logout", data={"csrf_token": token}, timeout=15).ok
    assert starter.get(suite.base_url + "/api/v1/me", timeout=15).status_code == 401
    # the old cookie, sent again (a copy kept by an attacker or another tab), opens nothing: the
    # session is gone from the shared store, not only from this browser
    assert requests.get(suite.base_url + "/api/v1/me", cookies=old_cookie, timeout=15).status_code == 401

    auditor = oidc_session(suite, suite.provider, "auditor")
    trail = wait_for(lambda: [e for e in auditor.get(suite.base_url + "/api/v1/audit/entries",
                                                     params={"subject": "officer"}, timeout=15).json()["entries"]],
                     timeout=30, message="officer's audit entries")
    actions = [(e["action"], e["outcome"]) for e in wait_for(
        lambda: (lambda rows: rows if len(rows) >= 4 else None)(
            auditor.get(suite.base_url + "/api/v1/audit/entries", params={"subject": "officer"}, timeout=15)
            .json()["entries"]), timeout=30, message="sign-in, me, logout")]
    assert ("GET /auth/callback", "succeeded") in actions and ("POST /auth/logout", "succeeded") in actions
    assert trail
