"""The public portal as people read it, in headless Chromium at desktop width and on a 390 px phone
(issue 19; DISC-9): Chinese money and date formats on the decision page (500,000.00 元, 2026年3月2日),
北京时间 on the records page (it showed UTC); the search: "食品，罚款" finds the decisions with both words and
says "共 N 条", keywords highlighted (escaped), sort by date or amount, the fine in the list, numbered pages,
a page past the end says so, "139" / "3204" never match through masked phone and ID fragments."""
from __future__ import annotations

import datetime as dt

import pytest
from selenium.webdriver.common.by import By

from tests.disclosure import events as dev
from tests.disclosure.test_service_publication import wait_published
from tests.fixtures import browser_errors, wait_for
from tests.integration import events as ev

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
CHINA = dt.timezone(dt.timedelta(hours=8))
DECIDED = dt.datetime(2026, 3, 2, 10, tzinfo=CHINA)


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    from tests.fixtures import module_space, running_suite

    with module_space(tmp_path_factory, "portal") as (amqp_uri, databases, tmp):
        with running_suite(amqp_uri, databases, tmp) as s:
            s.publish(dev.body_registered())
            price_law = "《中华人民共和国价格法》第四十二条"
            s.publish(dev.decision("FMT-1", parties=[ev.natural_party("张三丰")], decision_no="武市监罚〔2026〕501号",
                                   facts="当事人张三丰（身份证号320412198503141234，联系电话13912345678）销售过期食品。",
                                   fine="500000.00", decided_at=DECIDED, conclusion="罚款人民币50万元"))
            s.publish(dev.decision("S-2", parties=[ev.legal_party()], facts="未按规定标示价格。", category="不明码标价",
                                   decision_no="武市监罚〔2026〕502号", fine="5000.00", legal_basis=price_law,
                                   decided_at=DECIDED + dt.timedelta(days=1)))
            s.publish(dev.decision("S-3", parties=[ev.legal_party("常州市好食品有限公司")], action="inspection",
                                   facts="食品经营场所检查，发现台账不全。", category="食品经营许可检查", fine=None,
                                   conclusion="责令改正", legal_basis=price_law, decision_no="武市监检〔2026〕503号",
                                   decided_at=DECIDED + dt.timedelta(days=2)))
            s.publish(dev.decision("S-4", parties=[ev.legal_party()], facts="销售过期食品。", category="销售过期食品",
                                   decision_no="武市监罚〔2026〕504号", fine="80000.00", conclusion="罚款人民币8万元",
                                   decided_at=DECIDED + dt.timedelta(days=3)))
            for n in range(22):
                s.publish(dev.decision(f"PG-{n}", parties=[ev.legal_party()], facts="超标排放大气污染物。",
                                       category="超标排放", decision_no=f"武环罚〔2026〕{600 + n}号", fine=f"{1000 + n}.00",
                                       legal_basis="《中华人民共和国大气污染防治法》第九十九条",
                                       decided_at=DECIDED - dt.timedelta(days=30 - n)))
            for number in ("501", "502", "503", "504"):
                wait_published(s, f"武市{'监检' if number == '503' else '监罚'}〔2026〕{number}号")
            wait_for(lambda: len(s.get("/api/v1/public/decisions", params={"q": "超标排放"}).json()["results"]) == 20
                     and s.get("/api/v1/public/decisions", params={"q": "超标排放", "page": 2}).json()["total"] == 22,
                     message="22 decisions published")
            yield s


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
    if browser.find_elements(By.ID, "tree-heads"):
        assert "签名时间（北京时间）" in text
    assert browser_errors(browser) == []


def _rows(browser):
    return [li.find_element(By.CSS_SELECTOR, "h3 a").text for li in browser.find_elements(By.CSS_SELECTOR, "li.result")
            if li.find_elements(By.CSS_SELECTOR, "h3 a")]


@pytest.mark.parametrize("size", list(SIZES))
def test_issue19_search_punctuation_count_highlight_sort_and_amounts(portal, browser, size):
    """DISC-9, issue 19: "食品，罚款" found nothing before (one phrase); now both decisions with both words,
    "共 2 条", marks on the keywords, the fine in each row, newest first or largest fine first."""
    browser.set_window_size(*SIZES[size])
    browser.get(portal.base_url + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys("食品，罚款")
    box.submit()
    wait_for(lambda: "q=" in browser.current_url, message="search submitted")
    assert browser.find_element(By.ID, "result-count").text.startswith("共 2 条")
    assert _rows(browser) == ["销售过期食品", "销售不符合食品安全标准的食品"]          # newest first
    marks = {m.text for m in browser.find_elements(By.CSS_SELECTOR, "li.result mark")}
    assert marks == {"食品", "罚款"} or marks == {"食品"}
    rows = browser.find_element(By.ID, "results").text
    assert "80,000.00 元" in rows and "500,000.00 元" in rows and "2026年3月2日" in rows
    assert "张某" in rows and "张三丰" not in rows
    browser.find_element(By.ID, "sort-amount").click()
    wait_for(lambda: "sort=amount" in browser.current_url, message="sorted by amount")
    assert _rows(browser) == ["销售不符合食品安全标准的食品", "销售过期食品"]          # 500,000 before 80,000
    assert browser.find_element(By.ID, "result-count").text.startswith("共 2 条")
    browser.find_element(By.ID, "clear-filters").click()
    wait_for(lambda: "q=" not in browser.current_url, message="filters cleared")
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert browser_errors(browser) == []


@pytest.mark.parametrize("size", list(SIZES))
def test_issue19_search_pages_masked_fragments_and_past_the_end(portal, browser, size):
    """DISC-9, issue 19: numbered pages (22 results: pages 1 and 2); a page past the end says how many there
    are (it said 暂无公开的执法决定); "139" / "3204" match nothing through 139****5678 / 3204**********1234;
    a keyword with markup is shown as text."""
    browser.set_window_size(*SIZES[size])
    browser.get(portal.base_url + "/?q=超标排放")
    assert browser.find_element(By.ID, "result-count").text.startswith("共 22 条")
    assert len(_rows(browser)) == 20
    pager = browser.find_element(By.ID, "pager")
    assert pager.find_element(By.CSS_SELECTOR, "[aria-current=page]").text == "1"
    pager.find_element(By.LINK_TEXT, "2").click()
    wait_for(lambda: "page=2" in browser.current_url, message="page 2")
    assert len(_rows(browser)) == 2
    assert browser.find_element(By.CSS_SELECTOR, "#pager [aria-current=page]").text == "2"

    browser.get(portal.base_url + "/?q=超标排放&page=7")
    past = browser.find_element(By.ID, "past-end").text
    assert "第7页已超出检索结果" in past and "共 22 条" in past and "暂无公开的执法决定" not in past
    browser.find_element(By.ID, "last-page").click()
    wait_for(lambda: "page=2" in browser.current_url, message="last page")
    assert len(_rows(browser)) == 2
    browser.get(portal.base_url + "/?page=60")
    assert "最多可翻阅前1,000条结果" in browser.find_element(By.ID, "past-end").text

    for fragment in ("139", "3204", "5678", "1234"):
        browser.get(portal.base_url + "/?q=" + fragment)
        assert browser.find_element(By.ID, "result-count").text.startswith("共 0 条"), fragment
        assert "没有找到符合条件的公示信息" in browser.find_element(By.ID, "results").text
    browser.get(portal.base_url + "/?q=%3Cb%3E食品")
    assert browser.find_elements(By.CSS_SELECTOR, "li.result b") == []
    assert browser.find_element(By.ID, "q").get_attribute("value") == "<b>食品"
    assert browser_errors(browser) == []
