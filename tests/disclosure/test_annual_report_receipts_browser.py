"""DISC-7 over the running suite and in headless Chromium (issue 18): a body's annual report is generated
over the staff API, arrives in the city suite's register of its government and superior department (the
disclosure service's own event over the broker), the public page says 尚未签收 for both; the city
government's supervisor acknowledges over the API (a county officer of another body cannot), and the page
then says 已签收 for the government only — at desktop width and on a 390 px phone."""
from __future__ import annotations

import datetime as dt

import pytest
from selenium.webdriver.common.by import By

from tests.disclosure import events as dev
from tests.fixtures import browser_errors, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
BODY = dev.BODY          # 320412-SCJG, superior 320400-SCJG


@pytest.fixture
def suite(amqp_uri, sqlite_databases, tmp_path):
    from tests.fixtures import running_suite

    with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["disclosure", "gateway"]) as running:
        yield running


@pytest.mark.parametrize("size", list(SIZES))
def test_disc7_annual_page_says_acknowledged_only_when_the_recipient_signed(suite, browser, size):
    year = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year - 1
    suite.publish(dev.body_registered())
    supervisor = suite.token("supervisor", "320412", sub="gov-320412")
    report = wait_for(lambda: (lambda r: r.status_code == 201 and r.json())(suite.post(
        "/api/v1/disclosure/annual-reports", {"body_id": BODY["body_id"], "year": year}, supervisor)),
        timeout=30, message="the body registered")
    register = wait_for(lambda: suite.get("/api/v1/disclosure/annual-report-receipts", supervisor).json()["receipts"],
                        timeout=30, message="the report received in the register")
    [receipt] = register            # the county government's receipt (the superior's is the city bureau's)
    assert receipt["recipient_kind"] == "government" and receipt["revision"] == report["revision"]
    browser.set_window_size(*SIZES[size])
    url = f"{suite.base_url}/disclosure/annual/{BODY['body_id']}/{year}"
    browser.get(url)
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "本年报已报送" not in text and "已签收" not in text
    assert text.count("尚未签收") == 2 and "报送情况" in text

    stranger = suite.token("officer", "320412", sub="o-x", bodies=["320412-GAJ"])
    refused = suite.post("/api/v1/disclosure/annual-report-receipts/acknowledgements",
                         {"receipt_id": receipt["receipt_id"]}, stranger)
    assert refused.status_code == 404
    signed = suite.post("/api/v1/disclosure/annual-report-receipts/acknowledgements",
                        {"receipt_id": receipt["receipt_id"]}, supervisor)
    assert signed.status_code == 200 and signed.json()["acknowledged_by"] == "gov-320412"

    def page_text():
        browser.get(url)
        return browser.find_element(By.TAG_NAME, "main").text

    text = wait_for(lambda: (lambda t: "已签收" in t and t)(page_text()), timeout=30, message="已签收 shown")
    government = browser.find_element(By.CSS_SELECTOR, 'li[data-recipient="government"]').text
    superior = browser.find_element(By.CSS_SELECTOR, 'li[data-recipient="superior"]').text
    assert "已签收" in government and "年" in government
    assert "尚未签收" in superior and "已签收" not in superior.replace("尚未签收", "")
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert browser_errors(browser) == []
