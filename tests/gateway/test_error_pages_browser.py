"""Chinese error pages (issue 19; DISC-9, SEC-5): a page address answers every error status with a Chinese
HTML page — an unknown URL (404; werkzeug's English "Not Found" before), a wrong method (405), bad query
parameters (422: the staff dashboard with ``?year=1999`` showed raw JSON), a wrong role (403), too many
requests (429, with Retry-After) and a failure (500, without the exception's text) — at desktop width and on
a 390 px phone; the JSON API keeps its JSON errors."""
from __future__ import annotations

import pytest
import requests
from selenium.webdriver.common.by import By

from tests.fixtures import browser_errors, running_suite

pytestmark = [pytest.mark.integration, pytest.mark.browser]
ENGLISH = ("Not Found", "Method Not Allowed", "Internal Server Error", "Too Many Requests", '"error"')
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def _looks_chinese(browser, status_title: str):
    assert browser.execute_script("return document.documentElement.lang") == "zh-CN"
    assert browser.find_element(By.TAG_NAME, "h1").text == status_title
    body = browser.find_element(By.TAG_NAME, "body").text
    assert not any(word in body for word in ENGLISH), body
    assert browser.find_element(By.ID, "error-home").get_attribute("href").endswith("/")
    # fits the window: no sideways scrolling on a phone
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    return body


@pytest.mark.parametrize("size", list(SIZES))
def test_issue19_unknown_urls_and_bad_parameters_get_chinese_pages(suite, browser, size):
    """DISC-9, issue 19: 404 / 405 / 422 pages in Chinese in the browser, desktop and 390 px."""
    browser.set_window_size(*SIZES[size])
    browser.get(suite.base_url + "/no/such/page")
    body = _looks_chinese(browser, "页面不存在")
    assert "错误编号" in body
    browser.get(suite.base_url + "/disclosure/annual/320412-SCJ/not-a-year")     # the int converter refuses: 404
    _looks_chinese(browser, "页面不存在")
    browser.get(suite.base_url + "/?date_from=yesterday")                          # a bad parameter: 422
    body = _looks_chinese(browser, "参数有误")
    assert "起始日期" in browser.find_element(By.ID, "error-fields").text
    assert browser.find_element(By.ID, "error-back").get_attribute("href") == suite.base_url + "/"
    # the console reports each page's own status; nothing else (scripts, style sheet) failed
    assert [e for e in browser_errors(browser) if "the server responded with a status of" not in e] == []


def test_issue19_statuses_by_http_page_html_api_json(suite, monkeypatch):
    """Issue 19: each status as a page (text/html, Chinese) and as the API (application/json, SEC-5)."""
    page = suite.get("/no/such/page")
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert "页面不存在" in page.text and "Not Found" not in page.text
    api = suite.get("/api/v1/no/such")
    assert api.status_code == 404 and api.json()["error"] == "not_found"
    wrong_method = requests.delete(suite.base_url + "/disclosure/verify", timeout=10)
    assert wrong_method.status_code == 405 and "不支持该请求方法" in wrong_method.text
    assert wrong_method.headers["Content-Type"].startswith("text/html")

    # the staff dashboard with a year out of range (it answered raw JSON)
    supervisor = suite.token("supervisor", "320400", sub="sup")
    dashboard = suite.get("/evaluation/dashboard?year=1999", supervisor)
    assert dashboard.status_code == 422 and dashboard.headers["Content-Type"].startswith("text/html")
    assert "参数有误" in dashboard.text and "年度" in dashboard.text and "2000" in dashboard.text
    assert '"error"' not in dashboard.text
    assert suite.get("/api/v1/evaluation/scores?year=1999", supervisor).json()["fields"]["year"]

    # a role without access: 403 page in Chinese
    officer = suite.token("officer", "320400", sub="off", bodies=("*",))
    refused = suite.get("/evaluation/dashboard", officer)
    assert refused.status_code == 403 and "无权访问" in refused.text
    assert refused.headers["Content-Type"].startswith("text/html")

    # a failure: 500 page without the exception's text; the API answers JSON
    from services.gateway.routes import disclosure

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(disclosure, "_search", broken)
    failed = suite.get("/")
    assert failed.status_code == 500 and failed.headers["Content-Type"].startswith("text/html")
    assert "服务器内部错误" in failed.text and "secret detail" not in failed.text
    assert "Internal Server Error" not in failed.text
    api_failed = suite.get("/api/v1/public/decisions")
    assert api_failed.status_code == 500 and api_failed.json()["error"] == "internal"


def test_issue19_too_many_requests_page(amqp_uri, sqlite_databases, tmp_path):
    """SEC-5, issue 19: over the search limit the portal answers a Chinese 429 page with Retry-After."""
    from nameko import config

    with config.patch({"ZHIFA_RATE_LIMITS": {"search": "2/minute"}}, clear=False), \
            running_suite(amqp_uri, sqlite_databases, tmp_path, services=["disclosure", "gateway"]) as suite:
        answers = [suite.get("/") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        limited = answers[-1]
        assert limited.headers["Content-Type"].startswith("text/html") and int(limited.headers["Retry-After"]) > 0
        assert "访问过于频繁" in limited.text and "秒后再试" in limited.text
        api = suite.get("/api/v1/public/decisions")
        assert api.status_code == 429 and api.json()["error"] == "rate_limited"
