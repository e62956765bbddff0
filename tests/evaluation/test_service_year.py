"""A generated year of events through the real broker → grades that match the hand-computed table,
the two-years-running rule, consequences, traceability from a score to its events, accountability
and supervision (EVAL-1 … EVAL-9, COORD-4). The table is in tests/evaluation/year.py."""
import sqlite3

import pytest

from tests.evaluation import year as Y
from tests.fixtures import running_suite, wait_for

pytestmark = pytest.mark.integration


def _processed(db_path: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("select count(*) from processed_events").fetchone()[0]


@pytest.fixture(scope="module")
def year_suite(tmp_path_factory):
    """One suite (evaluation + gateway on a fresh vhost) fed with the generated year, shared by the
    tests of this module (publishing and finalising once keeps the folder fast)."""
    from nameko import config

    from tests.fixtures import free_port, module_space, oidc_provider

    with module_space(tmp_path_factory, "year") as (amqp_uri, databases, tmp):
        db_file = str(tmp / "evaluation.db")

        port = free_port()
        with oidc_provider(tmp, port) as provider, config.patch(provider.zhifa_settings(), clear=False), \
                running_suite(amqp_uri, databases, tmp, services=["evaluation", "gateway"], http_port=port) as suite:
            suite.provider = provider
            phases = Y.generate()
            count = 0
            for phase in ("registry", "decisions", "rest"):
                Y.publish(amqp_uri, phases[phase])
                count += len(phases[phase])
                wait_for(lambda: _processed(db_file) >= count, timeout=60, message=f"{phase} events processed")
            suite.amqp = amqp_uri
            suite.db_file = db_file
            suite.phases = phases
            supervisor = suite.token("supervisor", "320400", sub="sup-changzhou")
            suite.supervisor = supervisor
            # scores entered by supervisors (EVAL-2, EVAL-3)
            for body in ({"kind": "case_file_review_score", "body_id": Y.A["body_id"], "score": 95,
                          "recorded_on": "2025-11-20"},
                         {"kind": "special_check_score", "body_id": Y.C["body_id"], "score": 80,
                          "recorded_on": "2025-10-15"},
                         {"kind": "special_test_score", "officer_id": "c1", "score": 70, "recorded_on": "2025-10-16"}):
                r = suite.post("/api/v1/evaluation/scores/entries", body, supervisor)
                assert r.status_code == 201, r.text
            yield suite


def _finalise(suite, year):
    r = suite.post(f"/api/v1/evaluation/years/{year}/finalise", {}, suite.supervisor)
    assert r.status_code == 200, r.text
    return r.json()


def _accept_clues(suite) -> list[str]:
    """EVAL-6 (issue 16): the periodic job judges the record gaps (past their grace period by now), then a
    supervisor accepts (立案) every clue — only accepted clues count against officers."""
    admin = suite.token("admin", "320000")
    assert suite.post("/api/v1/evaluation/recompute", {}, admin).status_code == 200
    accepted = []
    for case in suite.get("/api/v1/evaluation/cases", suite.supervisor, params={"status": "open"}).json()["cases"]:
        if case["stage"] == "clue":
            r = suite.post(f"/api/v1/evaluation/cases/{case['case_id']}/actions", {"action": "accept"}, suite.supervisor)
            assert r.status_code == 200, r.text
            accepted.append(case["case_id"])
    return accepted


@pytest.fixture(scope="module")
def finalised(year_suite):
    assert _accept_clues(year_suite)
    first = _finalise(year_suite, 2024)
    second = _finalise(year_suite, 2025)
    return {"2024": first, "2025": second}


def test_eval4_generated_year_matches_hand_computed_grades(year_suite, finalised):
    """EVAL-2, EVAL-3, EVAL-4, EVAL-5, EVAL-7, EVAL-8: final totals and grades = the hand-computed table."""
    done = {(f["subject_kind"], f["subject_id"]): f for f in finalised["2025"]["finalised"]}
    # issue 16: D and E did nothing all year (no enforcement, too little evidence): 数据不足, no final grade
    insufficient = {s["subject_id"] for s in finalised["2025"]["skipped"] if s["reason"] == "insufficient_data"}
    assert insufficient == set(Y.INSUFFICIENT_BODIES)
    got_bodies = {k[1]: (v["total"], v["by_total"], v["grade"]) for k, v in done.items() if k[0] == "body"}
    got_officers = {k[1]: (v["total"], v["by_total"], v["grade"]) for k, v in done.items() if k[0] == "officer"}
    assert got_bodies == Y.EXPECTED_BODIES
    assert got_officers == Y.EXPECTED_OFFICERS
    # persisted: the grades API returns the same
    grades = year_suite.get("/api/v1/evaluation/grades", year_suite.supervisor, params={"year": 2025}).json()
    assert {g["subject_id"]: g["grade"] for g in grades["grades"]} == {
        **{k: v[2] for k, v in Y.EXPECTED_BODIES.items()}, **{k: v[2] for k, v in Y.EXPECTED_OFFICERS.items()}}
    # the vetoes are named in the reasons
    assert any("无有效执法证件" in reason for reason in done[("officer", "b2")]["reasons"])
    assert any("应审未审" in reason for reason in done[("officer", "b1")]["reasons"])
    # EVAL-8: the body with powers, no enforcement and no explanation got the fact at year end
    assert finalised["2025"]["zero_enforcement_unexplained"] == [Y.D["body_id"]]
    # finalising again changes nothing
    again = _finalise(year_suite, 2025)
    assert again["finalised"] == [] and {s["reason"] for s in again["skipped"]} == {"already_final", "insufficient_data"}
    assert {s["subject_id"] for s in again["skipped"] if s["reason"] == "insufficient_data"} == set(Y.INSUFFICIENT_BODIES)


def test_eval4_two_years_running_proposes_removal(year_suite, finalised):
    """EVAL-4: 不合格 two years running → proposal to remove from post or cancel the qualification;
    the first 不合格 → criticism or training; an officer 不合格 may not be 优秀 that year (cap)."""
    b2_2024 = {f["subject_id"]: f for f in finalised["2024"]["finalised"]}["b2"]
    assert (b2_2024["total"], b2_2024["grade"]) == ("62.50", "不合格")
    issued = finalised["2025"]["consequences"]
    kinds = {(c["subject_id"], c["kind"]) for c in issued}
    assert ("b2", "removal_proposal") in kinds and ("b2", "criticism_or_training") not in kinds
    assert ("c1", "criticism_or_training") in kinds and ("c1", "removal_proposal") not in kinds
    assert {("b2", "grade_cap"), ("c1", "grade_cap")} <= kinds
    removal = next(c for c in issued if c["kind"] == "removal_proposal")
    assert removal["requires_decision"] and removal["options"] == ["调离执法岗位", "取消执法资格"]
    r = year_suite.post(f"/api/v1/evaluation/consequences/{removal['id']}/resolve", {"resolution": "批评教育"},
                        year_suite.supervisor)
    assert r.status_code == 422
    r = year_suite.post(f"/api/v1/evaluation/consequences/{removal['id']}/resolve", {"resolution": "调离执法岗位"},
                        year_suite.supervisor)
    assert r.status_code == 200 and r.json()["status"] == "done"
    # body 不合格 → rectification order tracked as a supervision item
    rect = next(c for c in issued if c["kind"] == "rectification_order")
    assert rect["subject_id"] == Y.B["body_id"] and rect["item_id"] and rect["due_on"]
    items = year_suite.get("/api/v1/evaluation/supervision", year_suite.supervisor).json()["items"]
    item = next(i for i in items if i["item_id"] == rect["item_id"])
    assert item["kind"] == "rectification" and item["status"] == "open"
    officer = year_suite.token("officer", "320411", sub="b-office", bodies=[Y.B["body_id"]])
    r = year_suite.post(f"/api/v1/evaluation/supervision/{item['item_id']}/actions",
                        {"action": "respond", "content": "已完成整改：建立公示台账，补办法制审核。"}, officer)
    assert r.status_code == 200 and r.json()["status"] == "responded", r.text
    r = year_suite.post(f"/api/v1/evaluation/supervision/{item['item_id']}/actions", {"action": "accept"}, officer)
    assert r.status_code == 403  # only the issuer closes it
    r = year_suite.post(f"/api/v1/evaluation/supervision/{item['item_id']}/actions", {"action": "accept", "note": "整改到位"},
                        year_suite.supervisor)
    assert r.status_code == 200 and r.json()["status"] == "closed"
    cons = year_suite.get("/api/v1/evaluation/consequences", year_suite.supervisor, params={"year": 2025}).json()
    assert next(c for c in cons["consequences"] if c["id"] == rect["id"])["status"] == "done"


def test_eval2_score_traces_to_its_events(year_suite, finalised):
    """EVAL-2: an indicator's score → its facts with event ids, event types and dates."""
    sup = year_suite.supervisor
    r = year_suite.get(f"/api/v1/evaluation/scores/body/{Y.B['body_id']}/indicators/DISC_ON_TIME/evidence", sup,
                       params={"year": 2025})
    assert r.status_code == 200, r.text
    ev = r.json()
    assert ev["indicator"]["value"] == "0.8750" and ev["indicator"]["score"] == "37.50"
    published = {e["event_id"]: e for src, e in year_suite.phases["rest"]
                 if e["event_type"] == "disclosure.published" and e["body_id"] == Y.B["body_id"]}
    assert {f["event_id"] for f in ev["facts"]} == set(published)
    assert {f["event_type"] for f in ev["facts"]} == {"disclosure.published"}
    assert sum(f["kind"] == "disclosure_due" for f in ev["facts"]) == 8
    assert sum(f["kind"] == "disclosure_on_time" for f in ev["facts"]) == 7
    late = next(e for e in published.values() if not e["payload"]["on_time"])
    due = next(f for f in ev["facts"] if f["event_id"] == late["event_id"] and f["kind"] == "disclosure_due")
    assert due["occurred_on"] == late["payload"]["due_on"] and due["ref"] == late["case_id"]
    # the uncertified decisions behind CERTIFICATES are the decision.made events of XBZR-07 and -08
    ev = year_suite.get(f"/api/v1/evaluation/scores/body/{Y.B['body_id']}/indicators/CERTIFICATES/evidence", sup,
                        params={"year": 2025}).json()
    flagged = {f["ref"] for f in ev["facts"] if f["kind"] == "certificate_invalid_action"}
    assert flagged == {"320411-ZRZY-XBZR-07", "320411-ZRZY-XBZR-08"}
    assert {f["event_type"] for f in ev["facts"]} == {"decision.made"}
    # a supervisor-entered score is an event too
    ev = year_suite.get("/api/v1/evaluation/scores/officer/c1/indicators/O_SPECIAL_TEST/evidence", sup,
                        params={"year": 2025}).json()
    assert [(f["event_type"], f["value"]) for f in ev["facts"]] == [("evaluation.score_recorded", "70.0")]
    # the detail lists every indicator with its evidence count and who evaluates the body (EVAL-1)
    detail = year_suite.get(f"/api/v1/evaluation/scores/body/{Y.C['body_id']}", sup, params={"year": 2025}).json()
    assert detail["total"] == "74.32" and detail["final_grade"]["grade"] == "合格"
    assert detail["evaluators"] == [{"kind": "government", "ref": "320400", "weight": "100", "role": "primary"}]
    assert next(i for i in detail["indicators"] if i["code"] == "CORRECTION_RATE")["value"] == "0.5000"
    # the grade cap issued with c1's 不合格 is in force for the rest of 2025 (EVAL-4)
    c1 = year_suite.get("/api/v1/evaluation/scores/officer/c1", sup, params={"year": 2025}).json()
    assert [cap["max_grade"] for cap in c1["caps"]] == ["合格"] and c1["history"] == [
        {"year": 2025, "total": "42.50", "grade": "不合格"}]
    # out of scope: a county supervisor of 320412 cannot see the city body
    county = year_suite.token("supervisor", "320412")
    r = year_suite.get(f"/api/v1/evaluation/scores/body/{Y.C['body_id']}", county, params={"year": 2025})
    assert r.status_code == 404


def test_eval6_accountability_case_from_violation_to_decision(year_suite, finalised):
    """EVAL-6: violations open clues; links, statement, proposal, reviews, decision; exemption."""
    sup = year_suite.supervisor
    cases = year_suite.get("/api/v1/evaluation/cases", sup, params={"status": "open"}).json()["cases"]
    assert {c["stage"] for c in cases} == {"investigation"}      # every clue accepted (立案) by the fixture
    sources = sorted(c["source"] for c in cases)
    assert sources == sorted(["review_bypassed", "certificate_violation", "certificate_violation",
                              "certificate_violation", "record_gap", "complaint_upheld"])
    bypass = next(c for c in cases if c["source"] == "review_bypassed")
    assert bypass["body_id"] == Y.B["body_id"] and set(bypass["officer_ids"]) == {"b1", "b2"}
    act = lambda body: year_suite.post(f"/api/v1/evaluation/cases/{bypass['case_id']}/actions", body, sup)  # noqa: E731
    assert act({"action": "accept"}).status_code == 409                  # accepted once
    r = act({"action": "decide", "sanctions": []})
    assert r.status_code == 409 and "调查" in r.json()["message"]
    assert act({"action": "add_link", "stage": "decision", "person_id": "b2", "role": "承办人",
                "act": "未提交法制审核即作出决定"}).status_code == 200
    assert act({"action": "propose", "findings": "XBZR-05 重大执法决定未经法制审核",
                "sanctions": [{"target_kind": "officer", "target_id": "b2", "kind": "CIRCULATED_CRITICISM"}]}
               ).status_code == 200
    assert act({"action": "submit_internal_review"}).status_code == 200
    r = act({"action": "internal_review", "approved": True, "opinion": "同意"})
    assert r.status_code == 409  # the proposer may not review their own proposal
    other = year_suite.token("supervisor", "320400", sub="sup-2")
    reviewer = year_suite.token("legal_reviewer", "320400", sub="fz-1", bodies=["*"])   # the city's legal office
    r = year_suite.post(f"/api/v1/evaluation/cases/{bypass['case_id']}/actions",
                        {"action": "internal_review", "approved": True, "opinion": "同意"}, other)
    assert r.status_code == 200, r.text
    r = year_suite.post(f"/api/v1/evaluation/cases/{bypass['case_id']}/actions",
                        {"action": "legal_review", "approved": True, "opinion": "事实清楚，依据充分"}, reviewer)
    assert r.status_code == 200, r.text
    r = act({"action": "decide", "sanctions": [{"target_kind": "officer", "target_id": "b2",
                                                "kind": "CIRCULATED_CRITICISM"}]})
    assert r.status_code == 409 and "陈述和申辩" in r.json()["message"]
    assert act({"action": "record_statement", "officer_id": "b2", "content": "当时不清楚该决定属于重大执法决定"}
               ).status_code == 200
    r = act({"action": "decide", "sanctions": [{"target_kind": "officer", "target_id": "b2",
                                                "kind": "CIRCULATED_CRITICISM"}], "reason": "情节较轻"})
    assert r.status_code == 200 and r.json()["outcome"] == "作出追责决定", r.text
    assert act({"action": "close"}).json()["stage"] == "closed"
    case = year_suite.get(f"/api/v1/evaluation/cases/{bypass['case_id']}", sup).json()
    assert [h["action"] for h in case["history"]] == ["立案调查", "提出处理建议", "提交内部审查", "内部审查通过",
                                                      "法制审核通过", "作出决定", "结案"]
    assert case["statements"][0]["officer_id"] == "b2" and case["links"][0]["person_id"] == "b2"
    # due-diligence exemption on the record-gap case
    gap = next(c for c in cases if c["source"] == "record_gap")
    url = f"/api/v1/evaluation/cases/{gap['case_id']}/actions"
    r = year_suite.post(url, {"action": "exempt", "grounds": ["PARTY_DECEPTION"],
                              "explanation": "当事人隐瞒送达地址，事先告知书无法送达"}, sup)
    assert r.status_code == 200 and r.json()["outcome"] == "尽职免责" and r.json()["stage"] == "closed"


def test_coord4_supervision_scope_and_overdue(year_suite, finalised):
    """COORD-4: a supervising body issues to bodies below it only; overdue items are flagged."""
    county = year_suite.token("supervisor", "320412", sub="wj-sup")
    r = year_suite.post("/api/v1/evaluation/supervision", {"kind": "suggestion", "target_body_id": Y.C["body_id"],
                                                            "subject": "请规范行政检查频次"}, county)
    assert r.status_code == 403  # a county cannot supervise the city's body
    r = year_suite.post("/api/v1/evaluation/supervision", {"kind": "special_investigation",
                                                            "target_body_id": Y.A["body_id"],
                                                            "subject": "对罚款贴近审核标准问题开展专项调查",
                                                            "working_days": 1}, year_suite.supervisor)
    assert r.status_code == 201, r.text
    item = r.json()
    assert item["kind_name"] == "专项调查" and item["status"] == "open" and item["flag"] == "yellow"
    # the periodic job run on a day after the due date flags it overdue (once); the day is the suite's
    # clock (configuration), a caller cannot choose it (SEC-2)
    import datetime as dt

    from nameko import config
    later = (dt.date.fromisoformat(item["due_on"]) + dt.timedelta(days=3)).isoformat()
    admin = year_suite.token("admin", "320000")
    assert year_suite.post("/api/v1/evaluation/recompute", {"as_of": later}, admin).status_code == 422
    with config.patch({"ZHIFA_CLOCK": f"{later}T09:00:00+08:00"}, clear=False):
        r = year_suite.post("/api/v1/evaluation/recompute", {}, admin)
        assert r.status_code == 200 and item["item_id"] in r.json()["overdue_items"], r.text
        again = year_suite.post("/api/v1/evaluation/recompute", None, admin).json()
        assert item["item_id"] not in again["overdue_items"]


def test_eval4_plat1_city_grades_received_over_the_upward_link_are_kept_once_per_city(year_suite):
    """EVAL-4, PLAT-1, COORD-4: evaluation.grade_finalised arriving on upward.events (as the shovel delivers
    a city's grades at the province) is stored once per subject and year — a redelivery and an older
    finalisation change nothing — and shown per city, in the caller's scope only."""
    import datetime as dt

    from nameko import config

    from tests.fixtures import LinkUsers, publish_on_link
    from tests.integration.events import envelope

    def finalised_grade(subject_id, region, grade, total, at, event_id=None, kind="body"):
        return envelope("evaluation.grade_finalised", {
            "subject_kind": kind, "subject_id": subject_id, "year": 2024, "total": total, "by_total": grade,
            "grade": grade, "reasons": [], "decided_by": f"sup-{region}"},
            body={"region_code": region, "body_id": subject_id if kind == "body" else "320412-SCJG",
                  "system": "zhifa.evaluation"}, event_id=event_id, at=at)

    t0 = dt.datetime(2025, 1, 10, 9, tzinfo=dt.timezone.utc)
    corrected = finalised_grade("320412-SCJG", "320412", "不合格", "58.00", t0 + dt.timedelta(days=5))
    events = [finalised_grade("320412-SCJG", "320412", "合格", "81.00", t0),
              corrected, corrected,                                        # redelivered
              finalised_grade("320412-SCJG", "320412", "优秀", "95.00", t0 + dt.timedelta(days=1)),  # older
              finalised_grade("o-77", "320412", "优秀", "92.00", t0, kind="officer"),
              finalised_grade("320502-SCJG", "320502", "合格", "80.00", t0)]
    before = _processed(year_suite.db_file)
    # the suite plays the province of 常州 and 苏州 for this test; each city's grades arrive over its link
    vhost = year_suite.amqp.rsplit("/", 1)[1]
    links = LinkUsers(["320400", "320500"], [vhost])
    province_phase = config.patch({"ZHIFA_TIER": "province", "ZHIFA_SUITE_REGION": "320000",
                                   "ZHIFA_CITIES": "320400,320500", "ZHIFA_LINK_USER_TEMPLATE": links.template},
                                  clear=False)
    province_phase.start()
    try:
        for e in events:
            city = e["region_code"][:4] + "00"
            publish_on_link(links.uri(city, vhost), "upward.events", e, links.user(city))
        province = year_suite.token("supervisor", "320000", sub="prov-sup")

        def received(token, **params):
            r = year_suite.get("/api/v1/evaluation/received-grades", token, params={"year": 2024, **params})
            assert r.ok, r.text
            return r.json()["cities"]

        # five distinct events applied (the redelivery is acknowledged as already processed)
        wait_for(lambda: _processed(year_suite.db_file) >= before + 5, timeout=30, message="received grades")
        cities = received(province)
        assert [c["city_code"] for c in cities] == ["320400", "320500"]
        changzhou = cities[0]
        assert changzhou["bodies"] == {"优秀": 0, "合格": 0, "不合格": 1}
        assert changzhou["officers"] == {"优秀": 1, "合格": 0, "不合格": 0}
        body = [g for g in changzhou["grades"] if g["subject_id"] == "320412-SCJG"][0]
        assert (body["grade"], body["total"], body["event_id"]) == ("不合格", "58.00", corrected["event_id"])
        # scope: a city supervisor sees its own city only; asking for another region is refused
        suzhou = year_suite.token("supervisor", "320500", sub="sz-sup")
        assert [c["city_code"] for c in received(suzhou)] == ["320500"]
        assert [c["city_code"] for c in received(year_suite.supervisor)] == ["320400"]
        assert year_suite.get("/api/v1/evaluation/received-grades", suzhou,
                              params={"region_code": "320400"}).status_code == 403
    finally:
        province_phase.stop()
        links.close()


def test_eval9_summary_route_still_counts_per_body(year_suite):
    """EVAL-2: the summary of counts keeps working (officer copies counted once)."""
    s = year_suite.get("/api/v1/evaluation/summary", year_suite.supervisor, params={"year": 2025}).json()["bodies"]
    assert s[Y.A["body_id"]]["enforcement_action"] == 10
    assert s[Y.C["body_id"]]["disclosure_on_time"] == 19 and s[Y.C["body_id"]]["review_required"] == 4
    assert s[Y.B["body_id"]]["review_bypassed"] == 1 and s[Y.B["body_id"]]["certificate_invalid_action"] == 2
    assert s[Y.A["body_id"]]["training_hours"] == 90


def test_eval_dashboard_in_browser_shows_charts(year_suite, finalised, browser):
    """The supervisors' dashboard (Chinese), after signing in through the identity platform (OpenID
    Connect), shows the region, subordinate regions, SVG charts, rankings, open violations — without
    console errors."""
    from selenium.webdriver.common.by import By

    from tests.fixtures import browser_errors

    base = year_suite.base_url
    from tests.fixtures import browser_sign_in

    # not signed in: the identity platform's sign-in page, then back on the dashboard
    browser_sign_in(browser, year_suite, "/evaluation/dashboard?year=2025")
    assert "评议考核监督看板" in browser.title
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "2025年度" in text and "最终考核结果" in text
    for region in ("新北区", "武进区", "常州市（本级）"):     # names, not codes (issue 19)
        assert region in text
    assert "常州市新北区自然资源局" in text and "不合格" in text
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) >= 4 + 14  # trend, ranking, two donuts + one sparkline per body indicator
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.bars rect")
    assert len(bars) == 3           # A, B, C; D and E have no grade (数据不足, issue 16), so no bar
    trend, history = browser.find_elements(By.CSS_SELECTOR, "svg.line")
    assert len(trend.find_elements(By.TAG_NAME, "circle")) == 12  # one point per month
    # final averages: 2025 only — in 2024 B had three decisions, too few for a body grade (数据不足, issue 16)
    assert len(history.find_elements(By.TAG_NAME, "circle")) == 1
    assert browser_errors(browser) == []
    # a subordinate region's dashboard
    browser.get(base + "/evaluation/dashboard?year=2025&region_code=320412")
    assert "江苏省常州市武进区" in browser.find_element(By.TAG_NAME, "main").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.bars rect")) == 1     # A (D, E: 数据不足)
    # the printable annual report
    browser.get(base + "/evaluation/annual-report?year=2025")
    report = browser.find_element(By.TAG_NAME, "main").text
    assert "2025年度法治政府建设年度报告（行政执法部分）" in report and "按时公示率" in report
    assert browser_errors(browser) == []
    # a token in a link is refused (SEC-1): no cookie is set from it, no data shown
    browser.delete_all_cookies()
    browser.get(base + f"/evaluation/dashboard?year=2025&token={year_suite.supervisor}")
    assert "令牌不得放在网址中" in browser.page_source and not browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    browser.get(base + "/evaluation/dashboard?year=2025")
    wait_for(lambda: browser.current_url.startswith(year_suite.provider.issuer), message="sign-in page again")


def test_eval_annual_report_csv(year_suite, finalised):
    """The annual report section on enforcement as CSV: numbers from the generated year."""
    import csv
    import io

    r = year_suite.get("/evaluation/annual-report.csv", year_suite.supervisor, params={"year": 2025})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = {(row[0], row[1]): row[2] for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) if len(row) >= 3}
    assert rows[("二、行政执法决定", "作出行政执法决定")] == "38"
    assert rows[("三、行政执法公示", "应公示的执法决定")] == "38"
    assert rows[("三、行政执法公示", "按时公示率")] == "94.74"   # 36 / 38
    assert rows[("四、重大执法决定法制审核", "应审未审")] == "1"
    assert rows[("七、行政复议和行政诉讼", "纠错率")] == "50.00"
    assert rows[("八、评议考核", "执法主体考核不合格")] == "1"
    assert rows[("八、评议考核", "执法主体考核数据不足")] == "2"        # D and E: no enforcement (issue 16)
    assert rows[("八、评议考核", "执法人员考核不合格")] == "2"
    assert rows[("八、评议考核", "建议调离执法岗位或取消执法资格")] == "1"
    # not signed in: sent to the sign-in page, no data
    r = year_suite.get("/evaluation/annual-report.csv", params={"year": 2025}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith("/auth/login?")
