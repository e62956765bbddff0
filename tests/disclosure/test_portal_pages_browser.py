"""The public portal as people read it, in headless Chromium at desktop width and on a 390 px phone
(issue 19; DISC-9): Chinese money and date formats on the decision page (500,000.00 元, 2026年3月2日),
北京时间 on the records page (it showed UTC)."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from selenium.webdriver.common.by import By

from tests.disclosure import events as dev
from tests.disclosure.test_service_publication import wait_published
from tests.fixtures import browser_errors
from tests.integration import events as ev

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
CHINA = dt.timezone(dt.timedelta(hours=8))
DECIDED = dt.datetime(2026, 3, 2, 10, tzinfo=CHINA)


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    from tests.fixtures import AMQP_HOST, _rabbitmqctl, running_suite

    vhost = f"zhifa-test-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    tmp = tmp_path_factory.mktemp("portal")
    databases = {s: f"sqlite:///{tmp / (s + '.db')}" for s in ("records", "review", "disclosure", "complaints",
                                                               "evaluation")}
    try:
        with running_suite(f"amqp://guest:guest@{AMQP_HOST}/{vhost}", databases, tmp) as s:
            s.publish(dev.body_registered())
            s.publish(dev.decision("FMT-1", parties=[ev.natural_party("张三丰")], facts="当事人销售过期食品。",
                                   decision_no="武市监罚〔2026〕501号", fine="500000.00", decided_at=DECIDED,
                                   conclusion="罚款人民币50万元"))
            wait_published(s, "武市监罚〔2026〕501号")
            yield s
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.mark.parametrize("size", list(SIZES))
def test_issue19_decision_page_money_and_dates_in_chinese(portal, browser, size):
    """DISC-9, issue 19: "500000.00元" and ISO dates before; now 500,000.00 元 and 2026年3月2日."""
    browser.set_window_size(*SIZES[size])
    found = wait_published(portal, "武市监罚〔2026〕501号")
    browser.get(portal.base_url + found["url"])
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "500,000.00 元" in text and "500000.00元" not in text
    assert "2026年3月2日" in text and "2026-03-02" not in text
    assert "时间（北京时间）" in text
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert browser_errors(browser) == []


@pytest.mark.parametrize("size", list(SIZES))
def test_issue19_records_page_in_beijing_time(portal, browser, size):
    """Issue 19 (REC-4 page): signing times are 北京时间, never UTC."""
    browser.set_window_size(*SIZES[size])
    browser.get(portal.base_url + "/records/verify")
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "UTC" not in text
    if "最新签名树头" in text and "尚未签发签名树头" not in text:
        assert "签名时间（北京时间）" in text
    assert browser_errors(browser) == []
