"""Region names instead of codes, in headless Chromium at desktop width and on a 390 px phone (issue 19;
DISC-9, CMP-1): the portal's region box takes "武进区" (it answered "行政区划代码应为6位或9位数字") and filters to
that county, suggests the regions by name, says why an ambiguous name is not enough; the downloads keep codes;
the complaint form lists regions by name grouped under their city (it showed "地区320411（320411）"); a body
page shows its region's name."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By

from tests.disclosure import events as dev
from tests.disclosure.test_service_publication import wait_published
from tests.fixtures import browser_errors, wait_for
from tests.integration import events as ev

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
DECIDED = dt.datetime(2026, 4, 2, 10, tzinfo=dev.CHINA)
QINHUAI = {**dev.OTHER_BODY, "body_id": "320104-SCJG"}     # 南京市秦淮区


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    from tests.fixtures import module_space, running_suite

    qinhuai = {**QINHUAI, "region_code": "320104"}
    with module_space(tmp_path_factory, "regions") as (amqp_uri, databases, tmp):
        with running_suite(amqp_uri, databases, tmp) as s:
            s.publish(dev.body_registered())
            s.publish(dev.body_registered(qinhuai, name="南京市秦淮区市场监督管理局", superior="320100-SCJG"))
            for n in range(3):
                s.publish(dev.decision(f"WJ-{n}", parties=[ev.legal_party()], facts="销售过期食品。", category="销售过期食品",
                                       decision_no=f"武市监罚〔2026〕{700 + n}号", decided_at=DECIDED + dt.timedelta(days=n)))
            s.publish(dev.decision("QH-1", parties=[ev.legal_party()], facts="销售过期食品。", category="销售过期食品",
                                   decision_no="秦市监罚〔2026〕71号", decided_at=DECIDED, body=qinhuai))
            for number in ("武市监罚〔2026〕700号", "武市监罚〔2026〕702号", "秦市监罚〔2026〕71号"):
                wait_published(s, number)
            wait_for(lambda: "南京市秦淮区市场监督管理局" in s.get("/complaints").text, message="bodies known to complaints")
            yield s


def _decision_numbers(browser) -> list[str]:
    return re.findall(r"[武秦]市监罚〔2026〕\d+号", browser.find_element(By.ID, "results").text)


@pytest.mark.parametrize("size", list(SIZES))
def test_issue19_disc9_region_filter_by_name_filters_to_that_county(portal, browser, size):
    """The failing case of issue 19: region "武进区" answered "行政区划代码应为6位或9位数字"; now it filters to
    江苏省常州市武进区 (3 decisions, none of 秦淮区), the code still works, and the downloads carry the code."""
    browser.set_window_size(*SIZES[size])
    browser.get(portal.base_url + "/?q=食品")
    assert len(_decision_numbers(browser)) == 4
    summary = browser.find_element(By.CSS_SELECTOR, "details summary")
    if not browser.find_element(By.ID, "region").is_displayed():
        summary.click()
    options = [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "#region-options option")]
    assert "江苏省常州市武进区" in options and "江苏省南京市秦淮区" in options and "江苏省常州市" in options
    assert not any(re.fullmatch(r"\d+", o) for o in options)
    box = browser.find_element(By.ID, "region")
    box.send_keys("武进区")
    box.submit()
    wait_for(lambda: "region_code=" in browser.current_url, message="search submitted")
    assert browser.find_elements(By.ID, "search-error") == []
    assert sorted(_decision_numbers(browser)) == ["武市监罚〔2026〕700号", "武市监罚〔2026〕701号", "武市监罚〔2026〕702号"]
    head = browser.find_element(By.ID, "result-count").text
    assert head.startswith("共 3 条") and "地区：江苏省常州市武进区" in head
    assert browser.find_element(By.ID, "region").get_attribute("value") == "武进区"
    csv = browser.find_element(By.LINK_TEXT, "导出CSV").get_attribute("href")
    assert parse_qs(urlparse(csv).query)["region_code"] == ["320412"]
    assert portal.get(csv[len(portal.base_url):]).status_code == 200

    browser.get(portal.base_url + "/?q=食品&region_code=320104")
    assert _decision_numbers(browser) == ["秦市监罚〔2026〕71号"]
    assert "地区：江苏省南京市秦淮区" in browser.find_element(By.ID, "result-count").text
    browser.get(portal.base_url + "/?q=食品&region_code=常州市")            # a city covers its counties
    assert len(_decision_numbers(browser)) == 3

    browser.get(portal.base_url + "/?q=食品&region_code=朝阳区")
    error = browser.find_element(By.ID, "search-error").text
    assert "有多个地区名为“朝阳区”" in error and "北京市朝阳区" in error and "6位或9位" not in error
    assert browser.find_element(By.ID, "region").get_attribute("aria-invalid") == "true"
    # no downloads while the region is not understood: without it they would export every region's decisions
    assert browser.find_elements(By.LINK_TEXT, "导出CSV") == []
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert browser_errors(browser) == []


@pytest.mark.parametrize("size", list(SIZES))
def test_issue19_cmp1_complaint_form_and_body_page_show_region_names(portal, browser, size):
    """CMP-1, issue 19: the complaint form's regions read 武进区 under 江苏省常州市 (they read
    "地区320411（320411）"); coming from a body page the body's region is selected; the body page names its region."""
    browser.set_window_size(*SIZES[size])
    browser.get(portal.base_url + "/disclosure/bodies/320104-SCJG")
    assert "江苏省南京市秦淮区" in browser.find_element(By.TAG_NAME, "main").text
    browser.get(portal.base_url + "/complaints?body_id=320104-SCJG")
    select = browser.find_element(By.ID, "region_code")
    groups = {g.get_attribute("label"): [o.text for o in g.find_elements(By.TAG_NAME, "option")]
              for g in select.find_elements(By.TAG_NAME, "optgroup")}
    assert "武进区" in groups["江苏省常州市"] and "秦淮区" in groups["江苏省南京市"]
    chosen = select.find_element(By.CSS_SELECTOR, "option:checked")
    assert chosen.text == "秦淮区" and chosen.get_attribute("value") == "320104"
    text = select.text + " ".join(groups)
    assert not re.search(r"\d{6}", text) and "地区32" not in text
    assert browser_errors(browser) == []
