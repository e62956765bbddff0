"""The supervisors' dashboard in headless Chromium (issue 16; EVAL-4, EVAL-6, COORD-4): the running year
is provisional with its headline figures and names, an empty past year and a future year show 暂无数据,
the supervision panel counts the open items (it read ``d.items`` — dict.items — and always said
"未办结 件"), an open clue links to its page."""
from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from tests.evaluation import year as Y
from tests.fixtures import browser_sign_in, running_suite, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]
CHINA = dt.timezone(dt.timedelta(hours=8))


def _processed(db_path: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("select count(*) from processed_events").fetchone()[0]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    from nameko import config

    from tests.fixtures import free_port, module_space, oidc_provider

    with module_space(tmp_path_factory, "dash") as (amqp_uri, databases, tmp):
        port = free_port()
        with oidc_provider(tmp, port) as provider, config.patch(provider.zhifa_settings(), clear=False), \
                running_suite(amqp_uri, databases, tmp, services=["evaluation", "gateway"], http_port=port) as s:
            s.provider = provider
            today = dt.datetime.now(CHINA).replace(microsecond=0)
            if today.timetuple().tm_yday <= 13:
                pytest.skip("the running year needs decisions whose publication fell due (9 days later) within it")
            now = today - dt.timedelta(days=12)       # decided 12 days ago, published the 3rd day, due the 9th
            events = [("departments", Y.body_registered(Y.A, now - dt.timedelta(days=400))),
                      ("departments", Y.officer_registered(Y.A, "a1", "张执法", now - dt.timedelta(days=400)))]
            for n in range(8):
                case_id = f"{Y.A['body_id']}-DASH-{n:02d}"
                events += [("departments", Y.decision(Y.A, case_id, now, ["a1"], f"武市监罚〔{now.year}〕{n}号")),
                           ("disclosure", Y.published(Y.A, case_id, now))]
            events.append(("review", Y.bypassed(Y.A, f"{Y.A['body_id']}-DASH-00", now)))
            Y.publish(amqp_uri, events)
            wait_for(lambda: _processed(str(tmp / "evaluation.db")) >= len(events), timeout=60, message="events")
            s.supervisor = s.token("supervisor", "320400", sub="sup-changzhou")
            r = s.post("/api/v1/evaluation/supervision", {"kind": "suggestion", "target_body_id": Y.A["body_id"],
                                                          "subject": "请规范行政处罚决定公示", "working_days": 1},
                       s.supervisor)
            assert r.status_code == 201, r.text
            s.item = r.json()
            yield s


def test_issue16_dashboard_current_year_empty_past_year_future_year_and_supervision_panel(suite, browser):
    from selenium.webdriver.common.by import By

    from tests.fixtures import browser_errors

    year = dt.datetime.now(CHINA).year
    browser_sign_in(browser, suite, f"/evaluation/dashboard?year={year}")
    main = browser.find_element(By.TAG_NAME, "main").text
    assert browser.find_element(By.ID, "year-status").text == "年度进行中（暂定）"
    assert browser.find_element(By.ID, "h-decisions").text == "8"
    assert browser.find_element(By.ID, "h-ontime").text.startswith("100.00%")
    assert browser.find_element(By.ID, "h-clues").text == "1"                  # the bypass, not yet accepted
    assert "常州市武进区市场监督管理局" in main and "张执法" in main
    assert Y.A["body_id"] not in browser.find_element(By.CSS_SELECTOR, "li.open-case").text
    # the supervision panel: one open item, named
    panel = browser.find_element(By.ID, "supervision-summary").text
    assert panel.startswith("未办结 1 件"), panel
    assert "常州市武进区市场监督管理局" in main and "暂无数据" not in browser.find_element(By.ID, "headline").text
    assert not browser.find_elements(By.ID, "no-data")
    assert browser_errors(browser) == []
    # every open clue links to its page
    browser.find_element(By.CSS_SELECTOR, "li.open-case a").click()
    wait_for(lambda: "/evaluation/cases/" in browser.current_url, message="case page")
    assert browser.find_element(By.ID, "case-stage").text == "线索"
    assert "重大执法决定应审未审" in browser.find_element(By.TAG_NAME, "main").text
    # an empty past year: 暂无数据, no grade
    browser.get(suite.base_url + f"/evaluation/dashboard?year={year - 2}")
    assert browser.find_element(By.ID, "no-data").text.startswith("暂无数据")
    assert browser.find_element(By.ID, "year-status").text == "年度已结束，待确定最终等次"
    assert browser.find_element(By.ID, "h-decisions").text == "0"
    assert "不适用" in browser.find_element(By.ID, "h-ontime").text
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "数据不足" in text and "优秀 1" not in text and "合格 1" not in text
    assert not browser.find_elements(By.CSS_SELECTOR, "svg.bars rect")            # no grade, no bar, no average
    assert "暂无数据" in browser.find_element(By.CSS_SELECTOR, "svg.bars").text
    assert "33.33" not in text
    # a future year: refused with 暂无数据 and the reason
    browser.get(suite.base_url + f"/evaluation/dashboard?year={year + 1}")
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "暂无数据" in text and f"{year + 1}年度尚未开始" in text
    r = suite.get("/api/v1/evaluation/scores", suite.supervisor, params={"year": year + 1})
    assert r.status_code == 422 and "尚未开始" in r.json()["message"]
