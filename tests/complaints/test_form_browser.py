"""The complaint form as people use it, in headless Chromium at desktop width and on a 390 px phone (issue 19;
CMP-1, CMP-4, EVAL-7): prefilled from a body's or decision's link (?body_id=, ?decision=); a failed submit shows
the error summary at the top, in the viewport, with the focus on it and links to the fields, fields marked
aria-invalid / aria-describedby; POST → 303 → receipt, and a refresh or a second POST of the same form (double
click) files once; the satisfaction rating has no default."""
from __future__ import annotations

import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.complaints.helpers import body_registered, complaints_suite, portal_form
from tests.fixtures import browser_errors, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
BODY = "320412-SCJG"


@pytest.fixture
def cs(amqp_uri, sqlite_databases, tmp_path):
    with complaints_suite(amqp_uri, {"complaints": sqlite_databases["complaints"]}, tmp_path) as suite:
        suite.publish(body_registered())
        suite.publish(body_registered("320400-STHJ", "常州市生态环境局", region="320400"))
        wait_for(lambda: "常州市生态环境局" in suite.get("/complaints").text, message="body directory")
        yield suite


def _filed(cs) -> int:
    with sqlite3.connect(cs.databases["complaints"][len("sqlite:///"):]) as conn:
        return conn.execute("SELECT count(*) FROM complaints").fetchone()[0]


@pytest.mark.parametrize("size", list(SIZES))
def test_issue19_cmp1_form_prefilled_errors_on_top_and_one_filing_per_form(cs, browser, size):
    browser.set_window_size(*SIZES[size])
    # from a decision page: the body and the decision are filled in; the region is the body's
    browser.get(cs.base_url + "/complaints?body_id=320400-STHJ&decision=常环罚〔2026〕7号")
    assert Select(browser.find_element(By.ID, "body_id")).first_selected_option.text == "常州市生态环境局"
    assert Select(browser.find_element(By.ID, "region_code")).first_selected_option.get_attribute("value") == "320400"
    assert browser.find_element(By.ID, "case_id").get_attribute("value") == "常环罚〔2026〕7号"

    # a failed submit: the summary at the top, in view, focused, with links to the fields
    browser.find_element(By.ID, "request").send_keys("请求撤销违法的罚款决定")
    browser.find_element(By.ID, "facts").send_keys("太短")
    browser.find_element(By.ID, "submit").click()
    summary = wait_for(lambda: browser.find_elements(By.ID, "form-error"), message="error summary")[0]
    assert browser.execute_script("return document.activeElement.id") == "form-error"
    top, bottom = browser.execute_script("var r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom];",
                                         summary)
    assert 0 <= top < browser.execute_script("return window.innerHeight"), (top, bottom)
    links = {a.get_attribute("hash"): a.text for a in summary.find_elements(By.TAG_NAME, "a")}
    assert links["#phone"].startswith("联系电话：") and links["#facts"].startswith("事实和理由：")
    facts = browser.find_element(By.ID, "facts")
    assert facts.get_attribute("aria-invalid") == "true" and facts.get_attribute("aria-describedby") == "err-facts"
    assert "事实和理由应为10至10000字" in browser.find_element(By.ID, "err-facts").text
    assert browser.find_element(By.ID, "request").get_attribute("aria-invalid") is None
    assert Select(browser.find_element(By.ID, "body_id")).first_selected_option.text == "常州市生态环境局"

    # the corrected form: 303 to the receipt; a refresh shows the same receipt and files nothing more
    facts.clear()
    facts.send_keys("2026年11月2日执法人员检查门店时未出示执法证件，当场罚款且未出具决定书。")
    browser.find_element(By.ID, "phone").send_keys("13812345678")
    browser.find_element(By.ID, "submit").click()
    number = wait_for(lambda: browser.find_elements(By.ID, "number"), message="receipt page")[0].text
    assert "/complaints/receipt/" in browser.current_url
    browser.refresh()
    assert wait_for(lambda: browser.find_elements(By.ID, "number"), message="receipt again")[0].text == number
    assert _filed(cs) == 1
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert browser_errors(browser) == []


def test_issue19_cmp1_a_double_post_of_one_form_files_once_and_the_receipt_stays_with_its_browser(cs):
    """Two POSTs of the same form at once (a double click) give one complaint and the same receipt; another
    browser cannot open that receipt (its query code)."""
    session = requests.Session()
    page = session.get(cs.base_url + "/complaints", timeout=10).text
    form = {**portal_form(), "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            "submission_token": re.search(r'name="submission_token" value="([^"]+)"', page).group(1)}

    def post(_):
        return session.post(cs.base_url + "/complaints", data=form, allow_redirects=False, timeout=60)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(post, range(2)))
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    assert _filed(cs) == 1
    receipt = session.get(cs.base_url + answers[0].headers["Location"], timeout=10)
    assert receipt.status_code == 200 and "投诉举报已登记" in receipt.text
    assert post(0).status_code == 303 and _filed(cs) == 1                 # sent again later: still one
    stranger = requests.get(cs.base_url + answers[0].headers["Location"], timeout=10)
    assert stranger.status_code == 404 and "回执已过期或无法显示" in stranger.text
