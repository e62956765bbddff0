"""The complaint portal in a real (headless, phone-sized) browser: file, get number + query code,
query the status; Chinese field errors; no console errors (CMP-1, CMP-2, CMP-4)."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.complaints.helpers import body_registered, complaints_suite
from tests.fixtures import browser_errors, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture
def cs(amqp_uri, sqlite_databases, tmp_path):
    with complaints_suite(amqp_uri, {"complaints": sqlite_databases["complaints"]}, tmp_path) as suite:
        yield suite


def test_cmp1_file_a_complaint_on_the_portal_page_and_query_it(cs, browser, tmp_path):
    cs.publish(body_registered())
    wait_for(lambda: "常州市武进区市场监督管理局" in cs.get("/complaints").text, message="body directory")
    browser.get(cs.base_url + "/complaints?region_code=320412")
    assert "投诉举报" in browser.title
    assert "12345" in browser.find_element(By.ID, "channels").text  # published channels on the form page
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")

    # first attempt: phone missing, facts too short → Chinese field errors, values kept
    Select(browser.find_element(By.ID, "body_id")).select_by_visible_text("常州市武进区市场监督管理局")
    browser.find_element(By.ID, "request").send_keys("请求撤销违法的罚款决定")
    browser.find_element(By.ID, "facts").send_keys("太短")
    browser.find_element(By.ID, "submit").click()
    errors = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".err"), message="field errors")
    texts = [e.text for e in errors]
    assert "请填写联系电话" in texts and "事实和理由应为10至10000字" in texts
    assert browser.find_element(By.ID, "request").get_attribute("value") == "请求撤销违法的罚款决定"

    # second attempt with an attachment
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 256)
    browser.find_element(By.ID, "facts").clear()
    browser.find_element(By.ID, "facts").send_keys("2026年11月2日执法人员检查门店时未出示执法证件，当场罚款且未出具决定书。")
    browser.find_element(By.ID, "phone").send_keys("13812345678")
    browser.find_element(By.ID, "name").send_keys("赵六")
    browser.find_element(By.ID, "attachments").send_keys(str(photo))
    browser.find_element(By.ID, "submit").click()
    number = wait_for(lambda: browser.find_elements(By.ID, "number"), message="receipt page")[0].text
    code = browser.find_element(By.ID, "query-code").text
    assert number.startswith("320412-") and len(code) == 8
    assert "投诉举报已登记" in browser.page_source and "赵六" not in browser.page_source
    assert browser_errors(browser) == []

    # query the status with the number and code (typed in lower case, as on a phone)
    browser.find_element(By.LINK_TEXT, "查询办理进度").click()
    assert browser.find_element(By.ID, "number").get_attribute("value") == number
    browser.find_element(By.ID, "code").send_keys(code.lower())
    browser.find_element(By.ID, "query").click()
    label = wait_for(lambda: browser.find_elements(By.ID, "status-label"), message="status")[0].text
    assert label == "已登记"
    assert "您的投诉举报已登记" in browser.find_element(By.ID, "progress").text
    assert "赵六" not in browser.page_source and "13812345678" not in browser.page_source

    # a wrong code says so in Chinese, without telling which part was wrong
    browser.find_element(By.ID, "code").send_keys("ZZZZZZZZ")
    browser.find_element(By.ID, "query").click()
    assert "编号或查询码不正确" in wait_for(lambda: browser.find_elements(By.ID, "form-error"),
                                            message="error")[0].text
    assert browser_errors(browser) == []
