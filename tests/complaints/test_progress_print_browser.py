"""The complainant's progress and receipts as people see them, in headless Chromium (issue 19; CMP-2, CMP-3, CMP-4):
a complaint filed on the form is taken through the real handlers (accept, progress, conclude over the staff API);
the status page shows 已登记 → 已受理 → 办理中 → 已办结 with the current step marked (aria-current="step") and,
once concluded, 已办结 in the progress list (it never showed it); the registration receipt and the status print
on one A4 page without the navigation (打印回执 button; print style sheet)."""
from __future__ import annotations

import base64
import re
import uuid

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions

from tests.complaints.helpers import body_registered, complaints_suite
from tests.fixtures import browser_errors, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]
BODY_ID, BODY_NAME = "320412-SCJG", "常州市武进区市场监督管理局"


@pytest.fixture(scope="module")
def cs(tmp_path_factory):
    from tests.fixtures import AMQP_HOST, _rabbitmqctl

    vhost = f"zhifa-test-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    tmp = tmp_path_factory.mktemp("progress")
    try:
        with complaints_suite(f"amqp://guest:guest@{AMQP_HOST}/{vhost}",
                              {"complaints": f"sqlite:///{tmp / 'complaints.db'}"}, tmp) as suite:
            suite.publish(body_registered())
            wait_for(lambda: BODY_NAME in suite.get("/complaints").text, message="body directory")
            yield suite
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _pdf_pages(browser) -> int:
    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7          # A4, in centimetres
    pdf = base64.b64decode(browser.print_page(options))
    assert pdf.startswith(b"%PDF")
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def _printed_without_navigation(browser) -> dict:
    """What the print style sheet shows: the navigation, forms and buttons are left out."""
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        return browser.execute_script(
            "const shown = s => Array.from(document.querySelectorAll(s)).some(e => getComputedStyle(e).display !== 'none'"
            " && e.getClientRects().length);"
            "return {nav: shown('header, nav, footer'), forms: shown('main form'), buttons: shown('button'),"
            " steps: shown('#progress-steps'), text: document.querySelector('main').innerText};")
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def _steps(browser) -> list[tuple[str, str, bool]]:
    return [(li.get_attribute("data-step"), li.get_attribute("class").split()[-1], li.get_attribute("aria-current") == "step")
            for li in browser.find_elements(By.CSS_SELECTOR, "#progress-steps li")]


def _query(browser, cs, number, code):
    browser.get(cs.base_url + f"/complaints/status?number={number}")
    browser.find_element(By.ID, "code").send_keys(code)
    browser.find_element(By.ID, "query").click()
    return wait_for(lambda: browser.find_elements(By.ID, "status-label"), message="status")[0].text


def test_issue19_cmp4_progress_steps_to_concluded_and_receipts_print_on_one_a4_page(cs, browser):
    browser.set_window_size(390, 844)
    # filed on the form, as a person does: the registration receipt with 打印回执
    browser.get(cs.base_url + f"/complaints?body_id={BODY_ID}")
    browser.find_element(By.ID, "request").send_keys("请求依法查处")
    browser.find_element(By.ID, "facts").send_keys("2026年11月2日执法人员检查门店时未出示执法证件，当场罚款且未出具决定书。")
    browser.find_element(By.ID, "phone").send_keys("13812345678")
    browser.find_element(By.ID, "submit").click()
    number = wait_for(lambda: browser.find_elements(By.ID, "number"), message="receipt page")[0].text
    code = browser.find_element(By.ID, "query-code").text
    button = browser.find_element(By.ID, "print")
    assert button.is_displayed() and button.text == "打印回执"
    browser.execute_script("window.__printed = 0; window.print = () => { window.__printed += 1; };")
    button.click()
    assert browser.execute_script("return window.__printed") == 1
    printed = _printed_without_navigation(browser)
    assert not printed["nav"] and not printed["buttons"], printed
    assert number in printed["text"] and code in printed["text"] and "查询码" in printed["text"]
    assert _pdf_pages(browser) == 1

    # 已登记: the first step is current, nothing done before it
    assert _query(browser, cs, number, code) == "已登记"
    assert _steps(browser) == [("registered", "current", True), ("accepted", "todo", False),
                               ("in_progress", "todo", False), ("concluded", "todo", False)]

    # the handlers take it through (the real staff API and complaints service)
    handler = cs.token("complaint_handler", "320400", sub="handler-progress")
    for path, body in (("accept", {"note": "受理"}), ("progress", {"text": "已调取执法记录仪视频，正在核查"})):
        r = cs.post(f"/api/v1/complaints/{number}/{path}", body, handler)
        assert r.ok, r.text
    assert _query(browser, cs, number, code) == "办理中"
    assert _steps(browser) == [("registered", "done", False), ("accepted", "done", False),
                               ("in_progress", "current", True), ("concluded", "todo", False)]
    r = cs.post(f"/api/v1/complaints/{number}/conclude", {"result": "经核查，投诉属实，已责令改正并退还罚款", "upheld": True},
                handler)
    assert r.ok, r.text

    # 已办结: every step done, the last one current; the progress list says 已办结 with the result
    assert _query(browser, cs, number, code) == "已办结"
    assert _steps(browser) == [("registered", "done", False), ("accepted", "done", False),
                               ("in_progress", "done", False), ("concluded", "done", True)]
    progress = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#progress li")]
    assert "已办结" in progress[-1] and "经核查，投诉属实，已责令改正并退还罚款" in progress[-1], progress
    assert "（当前环节）" not in browser.find_element(By.ID, "progress-steps").text   # visually hidden words
    result = browser.find_element(By.ID, "result").text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", result), result                  # 2026年12月2日, never ISO
    assert browser.find_element(By.ID, "progress-steps").get_attribute("textContent").count("（已完成）") == 4
    # the status prints on one A4 page: the result and the steps, no navigation, no query or rating form
    printed = _printed_without_navigation(browser)
    assert not printed["nav"] and not printed["forms"] and not printed["buttons"] and printed["steps"], printed
    assert number in printed["text"] and "已办结" in printed["text"]
    assert _pdf_pages(browser) == 1
    assert browser_errors(browser) == []
