"""EVAL-2 (issue 18): evaluation instruments through the gateway on the real broker — a supervisor creates a
survey (问卷调查) and an evaluation card (评议卡) about a body and gets their one-time answer codes; a citizen answers
on the public page /evaluation/survey in headless Chromium (desktop and a 390 px phone): the code opens the
questions, a missing rating is shown at the top and at the question, the answer is recorded once and the same
code is refused afterwards; two simultaneous answers with one code record one. A supervisor reports an
unannounced visit (暗访). The answers and the visit are facts of the body scored by the configured indicators:
SATISFACTION (survey_rating) and SPECIAL_CHECK (unannounced_visit_score), each with its event as evidence.
Another region's supervisor cannot create a survey of the body (404, fail closed)."""
from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from selenium.webdriver.common.by import By

from tests.evaluation import year as Y
from tests.fixtures import browser_errors, running_suite, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
BODY = Y.A["body_id"]


@pytest.fixture
def es(amqp_uri, sqlite_databases, tmp_path):
    databases = {k: sqlite_databases[k] for k in ("evaluation",)}
    with running_suite(amqp_uri, databases, tmp_path, services=["evaluation", "gateway"]) as suite:
        suite.publish(Y.body_registered(Y.A, dt.datetime.now(Y.CHINA) - dt.timedelta(days=30)))
        suite.supervisor = suite.token("supervisor", "320412")
        wait_for(lambda: suite.get(f"/api/v1/evaluation/scores/body/{BODY}", suite.supervisor).status_code == 200,
                 message="body registered in evaluation")
        yield suite


def _create(suite, **body) -> dict:
    closes = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    response = requests.post(suite.base_url + "/api/v1/evaluation/surveys", timeout=30,
                             headers={"Authorization": f"Bearer {suite.supervisor}"},
                             json={"body_id": BODY, "closes_on": closes, **body})
    assert response.status_code == 201, response.text
    return response.json()


def _indicator(suite, code) -> dict:
    detail = suite.get(f"/api/v1/evaluation/scores/body/{BODY}", suite.supervisor).json()
    return next(i for i in detail["indicators"] if i["code"] == code)


@pytest.mark.parametrize("size", list(SIZES))
def test_eval2_survey_page_one_answer_per_code_feeds_satisfaction(es, browser, size):
    survey = _create(es, kind="survey", codes=3, title="2026年度行政执法满意度调查")
    assert survey["kind"] == "survey" and len(survey["codes"]) == 3
    assert all(re.fullmatch(r"[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}", c) for c in survey["codes"])
    code = survey["codes"][0]
    browser.set_window_size(*SIZES[size])

    # the code opens the questions (typed in lower case with spaces: still the code)
    browser.get(es.base_url + "/evaluation/survey")
    browser.find_element(By.ID, "code").send_keys(code.lower().replace("-", " "))
    browser.find_element(By.ID, "open-survey").click()
    title = wait_for(lambda: browser.find_elements(By.ID, "survey-title"), message="questions")[0]
    assert title.text == "2026年度行政执法满意度调查"
    assert browser.find_element(By.ID, "survey-body").text == "常州市武进区市场监督管理局"

    # one question left unanswered: said at the top and at the question, the chosen ratings kept
    browser.find_element(By.CSS_SELECTOR, "input[name=q_attitude][value='5']").click()
    browser.find_element(By.CSS_SELECTOR, "input[name=q_procedure][value='4']").click()
    browser.find_element(By.ID, "submit-answer").click()
    summary = wait_for(lambda: browser.find_elements(By.ID, "form-error"), message="error summary")[0]
    assert "您对执法结果是否满意？" in summary.text
    assert browser.find_element(By.ID, "q_result").get_attribute("aria-invalid") == "true"
    assert "请选择评价（1–5）" in browser.find_element(By.ID, "err-q_result").text
    assert browser.find_element(By.CSS_SELECTOR, "input[name=q_attitude][value='5']").is_selected()

    browser.find_element(By.CSS_SELECTOR, "input[name=q_result][value='3']").click()
    browser.find_element(By.ID, "comment").send_keys("执法人员态度较好")
    browser.find_element(By.ID, "submit-answer").click()
    wait_for(lambda: browser.find_elements(By.ID, "survey-done"), message="answer recorded")
    assert browser.current_url.endswith("/evaluation/survey/thanks")
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")

    # the same code again: refused, nothing more recorded
    browser.get(es.base_url + "/evaluation/survey")
    browser.find_element(By.ID, "code").send_keys(code)
    browser.find_element(By.ID, "open-survey").click()
    assert wait_for(lambda: browser.find_elements(By.ID, "err-code"), message="refusal")[0].text == "答卷码无效或已使用"
    # the only console messages: the refused steps' statuses (422 missing rating, 404 used code)
    assert [re.sub(r".*status of (\d+).*", r"\1", e) for e in browser_errors(browser)] == ["422", "404"]

    listed = es.get("/api/v1/evaluation/surveys", es.supervisor).json()["surveys"]
    assert [(s["survey_id"], s["answers"], s["average"]) for s in listed] == [(survey["survey_id"], 1, "4.00")]
    satisfaction = wait_for(lambda: (lambda i: i["evidence_count"] == 1 and i)(_indicator(es, "SATISFACTION")),
                            message="survey answer scored")
    assert satisfaction["value"] == "4.0000" and satisfaction["applicable"] is True


def _form_post(session: requests.Session, base_url: str, data: dict) -> requests.Response:
    page = session.get(base_url + "/evaluation/survey", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return session.post(base_url + "/evaluation/survey", data={"csrf_token": token, **data}, timeout=30,
                        allow_redirects=False)


def test_eval2_two_simultaneous_answers_with_one_card_code_record_one_and_visits_feed_special_check(es):
    card = _create(es, kind="card", case_id="320412-SCJG-2026-0042", officer_id="o-1")
    assert len(card["codes"]) == 1 and card["kind"] == "card"
    answer = {"code": card["codes"][0], "action": "answer", "q_attitude": "2", "q_procedure": "2", "q_result": "2"}
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: _form_post(requests.Session(), es.base_url, answer), range(2)))
    assert sorted(r.status_code for r in results) == [303, 404], [r.text[:200] for r in results]
    assert es.get("/api/v1/evaluation/surveys", es.supervisor).json()["surveys"][0]["answers"] == 1

    visit = requests.post(es.base_url + "/api/v1/evaluation/visits", timeout=30,
                          headers={"Authorization": f"Bearer {es.supervisor}"},
                          json={"body_id": BODY, "visited_on": dt.date.today().isoformat(), "place": "政务服务大厅执法窗口",
                                "findings": "窗口人员未佩戴执法证件，告知事项不全", "problems": ["未亮证", "告知不全"],
                                "score": 70})
    assert visit.status_code == 201, visit.text
    special = wait_for(lambda: (lambda i: i["evidence_count"] == 1 and i)(_indicator(es, "SPECIAL_CHECK")),
                       message="visit scored")
    assert special["value"] == "70.0000" and visit.json()["event_id"] in special["evidence"]
    assert _indicator(es, "SATISFACTION")["value"] == "2.0000"
    visits = es.get("/api/v1/evaluation/visits", es.supervisor).json()["visits"]
    assert visits[0]["problems"] == ["未亮证", "告知不全"]

    # fail closed: another region's supervisor neither creates a survey of the body nor sees its visits
    other = es.token("supervisor", "320411")
    refused = requests.post(es.base_url + "/api/v1/evaluation/surveys", timeout=30,
                            headers={"Authorization": f"Bearer {other}"},
                            json={"body_id": BODY, "codes": 5,
                                  "closes_on": (dt.date.today() + dt.timedelta(days=3)).isoformat()})
    assert refused.status_code == 404, refused.text
    assert es.get("/api/v1/evaluation/visits", other).json()["visits"] == []
    # a rating outside 1–5 and a visit score over 100 are refused with the field named
    bad = requests.post(es.base_url + "/api/v1/evaluation/visits", timeout=30,
                        headers={"Authorization": f"Bearer {es.supervisor}"},
                        json={"body_id": BODY, "visited_on": dt.date.today().isoformat(), "place": "窗口",
                              "findings": "情况", "score": 120})
    assert bad.status_code == 422 and "score" in bad.json()["fields"], bad.text
