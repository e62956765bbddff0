"""Before-information, credential checks, annual reports, random-inspection draws and the portal in a real
browser (DISC-1, DISC-2, DISC-7, DISC-8, DISC-9, PLAT-4)."""
import datetime as dt
from decimal import Decimal

import pytest
from nameko import config
from nameko.standalone.rpc import ClusterRpcClient

from services.disclosure import service as disclosure_service
from services.disclosure.domain.random_inspection import DrawInputs, draw
from tests.disclosure import events as dev
from tests.disclosure.test_service_publication import outbox, wait_published
from tests.fixtures import browser_errors, wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration
D = dt.date
SCREENSHOTS = __import__("pathlib").Path(__import__("tempfile").gettempdir())
BODY_ID = "320412-SCJG"


def body_json(suite, **params):
    response = suite.get(f"/api/v1/public/bodies/{BODY_ID}", params=params)
    return response.json() if response.ok else None


def test_disc1_disc2_before_information_versions_stale_powers_and_certificates(suite):
    """Bodies and officers from departmental events with history; a power whose legal basis changed more than
    a month ago is flagged (PLAT-4); staff publish service guides in versions; certificates verify (DISC-2)."""
    suite.publish(dev.body_registered(name="武进区市场监督管理局", when=dev.at(D(2026, 1, 5))))
    suite.publish(dev.body_registered(name="常州市武进区市场监督管理局", when=dev.at(D(2026, 6, 1))))
    suite.publish(dev.officer_registered("o-1", "陈建国", "32041200123", when=dev.at(D(2026, 1, 6))))
    suite.publish(dev.officer_registered("o-2", "李明", "32041200456", when=dev.at(D(2026, 1, 6))))
    suite.publish(dev.power_published("SC-0101", "对销售不符合食品安全标准食品的处罚",
                                      "《中华人民共和国食品安全法》第一百二十四条", D(2026, 1, 10)))
    suite.publish(dev.power_published("SC-0201", "对价格违法行为的处罚", "《中华人民共和国价格法》第四十条",
                                      D(2026, 1, 10)))
    info = wait_for(lambda: (lambda b: b and len(b["officer"]) == 2 and len(b["power"]) == 2 and
                             b["body"]["version"] == 2 and b)(body_json(suite)), message="register")
    assert info["body"]["name"] == "常州市武进区市场监督管理局" and len(info["body"]["history"]) == 2
    assert body_json(suite, as_of="2026-03-01")["body"]["name"] == "武进区市场监督管理局"  # historical version
    assert {o["name"] for o in info["officer"]} == {"陈建国", "李明"}
    assert set(info["officer"][0]) >= {"name", "certificate_no", "body_name", "enforcement_field"}
    assert not any(p["stale"] for p in info["power"])

    # PLAT-4: the food-safety law changed on 2026-02-15; SC-0101 was never republished → flagged
    supervisor = suite.token("supervisor", "320400")
    change = suite.post("/api/v1/disclosure/basis-changes", {"law_name": "《中华人民共和国食品安全法》",
                                                             "changed_on": "2026-02-15", "region_code": "320000"},
                        suite.token("supervisor", "320000"))
    assert change.status_code == 201, change.text
    assert suite.post("/api/v1/disclosure/basis-changes", {"law_name": "x法", "changed_on": "2026-02-15",
                                                           "region_code": "320000"}, supervisor).status_code == 403
    stale = suite.get("/api/v1/disclosure/stale-powers", supervisor).json()["stale_powers"]
    assert [s["matter_code"] for s in stale] == ["SC-0101"]
    assert stale[0]["update_due"] == "2026-03-15" and "已逾期" in stale[0]["message"]
    powers = {p["matter_code"]: p for p in body_json(suite)["power"]}
    assert powers["SC-0101"]["stale"] and not powers["SC-0201"]["stale"]
    page = suite.get(f"/disclosure/bodies/{BODY_ID}").text
    assert "依据已变化，逾期未更新" in page and "陈建国" in page and "32041200123" in page
    # republished after the change → no longer flagged
    suite.publish(dev.power_published("SC-0101", "对销售不符合食品安全标准食品的处罚",
                                      "《中华人民共和国食品安全法》（2026年修正）第一百二十四条", D(2026, 3, 1), version=2))
    wait_for(lambda: not suite.get("/api/v1/disclosure/stale-powers", supervisor).json()["stale_powers"],
             message="republished power")

    # service guides through the staff API, in versions
    officer = suite.token("officer", "320412", bodies=["320412-SCJG"])
    guide = {"matter_name": "食品经营许可", "accepting_body": "武进区政务服务中心", "approving_body": "常州市武进区市场监督管理局",
             "conditions": "有与经营食品相适应的场所", "time_limit": "10个工作日"}
    url = f"/api/v1/disclosure/bodies/{BODY_ID}/items/service_guide/SP-01"
    first = _put(suite, url, {"content": guide, "effective_on": "2026-02-01", "reason": "首次公布"}, officer)
    assert first.status_code == 200, first.text
    second = _put(suite, url, {"content": {**guide, "time_limit": "5个工作日"}, "effective_on": "2026-08-01",
                               "reason": "承诺时限压缩"}, officer)
    assert second.json()["version"] == 2
    assert _put(suite, url, {"content": {"matter_name": "x"}, "reason": "缺字段"}, officer).status_code == 422
    assert _put(suite, url, {"content": guide, "reason": "越权"}, suite.token("officer", "320105", bodies=["320105-YJ"])).status_code == 403
    guides = body_json(suite)["service_guide"]
    assert guides[0]["time_limit"] == "5个工作日" and [v["reason"] for v in guides[0]["history"]] == ["首次公布", "承诺时限压缩"]
    assert body_json(suite, as_of="2026-03-01")["service_guide"][0]["time_limit"] == "10个工作日"

    # DISC-2: certificate verification by number and QR
    yesterday = dt.datetime.now(dev.CHINA) - dt.timedelta(days=1)
    suite.publish(dev.certificate_changed("32041200456", "suspended", yesterday, officer_id="o-2", reason="违规"))
    valid = suite.get("/api/v1/public/certificates/32041200123").json()
    assert (valid["found"], valid["valid"], valid["status"], valid["holder_name"]) == (True, True, "有效", "陈建国")
    assert valid["body_name"] == "常州市武进区市场监督管理局" and valid["since"] == "2026-01-06"
    assert valid["verification_url"].endswith("/disclosure/verify/32041200123")
    suspended = wait_for(lambda: (lambda c: c["status"] == "暂扣" and c)(
        suite.get("/api/v1/public/certificates/32041200456").json()), message="suspension")
    assert suspended["valid"] is False and suspended["since"] == yesterday.date().isoformat()
    assert suite.get("/api/v1/public/certificates/NOPE-1").json()["status"] == "未查询到该证件"
    qr = suite.get("/api/v1/public/certificates/32041200123/qr.png")
    assert qr.headers["Content-Type"] == "image/png" and qr.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert suite.get("/api/v1/public/certificates/NOPE-1/qr.png").status_code == 404
    page = suite.get("/disclosure/verify/32041200456").text
    assert "暂扣" in page and "李明" in page and "当前不得从事行政执法活动" in page


def _put(suite, path, body, token):
    import requests

    return requests.put(suite.base_url + path, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=15)


def test_disc7_annual_report_totals_equal_the_events_sent(suite):
    """A body's 2025 report built from exactly the decisions sent; published; sent as an event."""
    suite.publish(dev.body_registered())
    sent = [  # (case, action, conclusion, fine, secrecy)
        ("AR-1", "penalty", "罚款人民币5000元", "5000.00", "none"),
        ("AR-2", "penalty", "罚款人民币20000元并没收违法所得", "20000.00", "none"),
        ("AR-3", "penalty", "罚款人民币0.50元", "0.50", "none"),
        ("AR-4", "permit", "准予许可", None, "none"),
        ("AR-5", "permit", "不予许可", None, "none"),
        ("AR-6", "inspection", "责令限期改正", None, "none"),
        ("AR-7", "coercive", "查封场所", None, "state_secret"),
        ("AR-8", "penalty", "罚款人民币1000元", "1000.00", "none"),
    ]
    for i, (case, action, conclusion, fine, secrecy) in enumerate(sent):
        suite.publish(dev.decision(case, parties=[ev.legal_party()], facts="经查属实。", action=action,
                                   conclusion=conclusion, fine=fine, secrecy=secrecy,
                                   decided_at=dev.at(D(2025, 3 + i, 10)), decision_no=f"武市监〔2025〕{i + 1}号"))
    suite.publish(dev.decision("AR-X", parties=[ev.legal_party()], facts="x", decided_at=dev.at(D(2026, 2, 2)),
                               decision_no="武市监〔2026〕1号"))  # another year: not counted
    wait_published(suite, "武市监〔2025〕8号")
    wait_published(suite, "武市监〔2026〕1号")
    suite.publish(dev.revoked("AR-8", reason="confirmed_illegal", by="litigation"))
    wait_for(lambda: suite.get("/api/v1/public/decisions", params={"q": "武市监〔2025〕8号"}).json()["results"] == [],
             message="take-down")

    officer = suite.token("officer", "320412", sub="officer-9", bodies=["320412-SCJG"])
    made = suite.post("/api/v1/disclosure/annual-reports", {"body_id": BODY_ID, "year": 2025}, officer)
    assert made.status_code == 201, made.text
    totals = made.json()["totals"]
    assert totals["total"] == len(sent)
    assert totals["by_action_type"]["penalty"] == 4 and totals["by_action_type"]["permit"] == 2
    assert totals["by_action_type"]["inspection"] == 1 and totals["by_action_type"]["coercive"] == 1
    assert sum(totals["by_action_type"].values()) == len(sent)
    assert totals["fines_count"] == 4
    assert Decimal(totals["fines_total"]) == sum(Decimal(f) for *_x, f, _s in sent if f)
    assert (totals["permits_granted"], totals["permits_refused"]) == (1, 1)
    assert totals["withheld"] == 1 and totals["takedowns"]["confirmed_illegal"] == 1
    assert totals["published_late"] == len(sent) - 1  # all 2025 deadlines passed before publication
    events = [e for e in outbox(suite, "disclosure.annual_report_published") if e["payload"]["year"] == 2025]
    assert len(events) == 1 and events[0]["payload"]["totals"] == totals
    assert events[0]["payload"]["superior_body_id"] == "320400-SCJG"
    assert events[0]["payload"]["government_region_code"] == "320412"
    page = suite.get(f"/disclosure/annual/{BODY_ID}/2025").text
    assert "2025年度行政执法数据统计年报" in page and "共作出行政执法决定8件" in page
    assert suite.post("/api/v1/disclosure/annual-reports", {"body_id": BODY_ID, "year": 2025},
                      suite.token("officer", "320105", bodies=["320105-YJ"])).status_code == 403
    # the January job: every registered body without a report on last year gets one, once
    suite.publish(dev.body_registered(body=dev.OTHER_BODY, name="南京市秦淮区应急管理局", superior="320100-YJ"))
    wait_for(lambda: suite.get("/api/v1/public/bodies/320105-YJ").ok, message="second body")
    with ClusterRpcClient() as rpc:   # the day is the suite's clock (ZHIFA_CLOCK), never an argument (SEC-2)
        for day, made in (("2026-12-20", []),                      # not January
                          ("2027-01-10", ["320105-YJ", BODY_ID]),
                          ("2027-01-11", [])):
            with config.patch({"ZHIFA_CLOCK": f"{day}T10:00:00+08:00"}, clear=False):
                assert rpc.disclosure.run_annual_reports() == made
    zero = suite.get("/api/v1/public/annual-reports/320105-YJ/2026").json()
    assert zero["totals"]["total"] == 0 and zero["body_name"] == "南京市秦淮区应急管理局"


def test_disc8_draw_announced_performed_verified_and_results_published(suite, monkeypatch):
    suite.publish(dev.body_registered())
    wait_for(lambda: suite.get(f"/api/v1/public/bodies/{BODY_ID}").ok, message="body")
    officer = suite.token("officer", "320412", bodies=["320412-SCJG"])
    today = dt.datetime.now(dev.CHINA).date()
    targets = [{"target_id": ev.uscc(f"91320412MA1X2Y{n:02d}B"), "name": f"常州某某{n}号商店", "kind": "legal"}
               for n in range(10)]
    targets.append({"target_id": "GT-0001", "name": "王小二", "kind": "natural"})  # an individual business
    body = {"draw_id": "WJ-2026-07", "body_id": BODY_ID, "matter": "食品经营者监督检查",
            "targets": targets, "inspectors": ["32041200123", "32041200456", "32041200789"], "target_count": 4,
            "recusals": [{"inspector_id": "32041200123", "target_id": "GT-0001"}],
            "public_value_source": "次日中国福利彩票双色球开奖号码", "public_value_on": (today + dt.timedelta(days=1)).isoformat()}
    bad = suite.post("/api/v1/disclosure/draws", {**body, "draw_id": "WJ-ID",
                                                  "targets": [*targets, {"target_id": ev.resident_id(), "name": "x"}]},
                     officer)
    assert bad.status_code == 422 and "居民身份证" in bad.json()["message"]
    announced = suite.post("/api/v1/disclosure/draws", body, officer)
    assert announced.status_code == 201, announced.text
    digest = announced.json()["inputs_digest"]
    too_early = suite.post("/api/v1/disclosure/draws/WJ-2026-07/perform", {"public_value": "01 02 03"}, officer)
    assert too_early.status_code == 409 and "尚未公布" in too_early.json()["message"]

    monkeypatch.setattr(disclosure_service, "today_cn", lambda: today + dt.timedelta(days=1))
    drawn = suite.post("/api/v1/disclosure/draws/WJ-2026-07/perform", {"public_value": "03 08 15 21 27 30 + 12"}, officer)
    assert drawn.status_code == 200, drawn.text
    result = drawn.json()["result"]
    # anyone can recompute it with the published inputs and the public value
    inputs = DrawInputs("WJ-2026-07", "食品经营者监督检查", tuple(t["target_id"] for t in targets),
                        ("32041200123", "32041200456", "32041200789"), 4, 2, (("32041200123", "GT-0001"),))
    again = draw(inputs, "03 08 15 21 27 30 + 12")
    assert inputs.digest() == digest
    assert [[a.target_id, list(a.inspector_ids)] for a in again.assignments] == \
        [[a["target_id"], a["inspector_ids"]] for a in result["assignments"]]
    public = suite.get("/api/v1/public/draws/WJ-2026-07").json()
    assert public["verified"] is True and public["digest_matches"] is True
    assert public["target_names"]["GT-0001"] == "王某"
    assert suite.get("/api/v1/public/draws/WJ-2026-07", params={"public_value": "03 08 15"}).json()["verified"] is False
    page = suite.get("/disclosure/draws/WJ-2026-07").text
    assert "验证通过" in page and "王小二" not in page

    first = result["assignments"][0]["target_id"]
    month_start = today.replace(day=1) - dt.timedelta(days=1)  # a day in last month
    recorded = suite.post("/api/v1/disclosure/draws/WJ-2026-07/results",
                          {"results": [{"target_id": first, "inspected_on": month_start.isoformat(),
                                        "outcome": "problem_rectified"}]}, officer)
    assert recorded.status_code == 200, recorded.text
    month = suite.post("/api/v1/disclosure/inspection-months",
                       {"body_id": BODY_ID, "year": month_start.year, "month": month_start.month}, officer)
    assert month.status_code == 201, month.text
    assert month.json()["total"] == 1 and month.json()["rows"][0]["outcome_zh"] == "发现问题，已责令整改"
    assert "发现问题，已责令整改" in suite.get(
        f"/disclosure/inspections/{BODY_ID}/{month_start.year}/{month_start.month}").text


@pytest.mark.browser
def test_disc9_portal_in_a_browser_search_decision_and_officer_verification(suite, browser):
    """Headless Chromium: search in Chinese, open a decision, verify an officer — no console errors."""
    suite.publish(dev.body_registered())
    suite.publish(dev.officer_registered("o-1", "陈建国", "32041200123"))
    suite.publish(dev.decision("BR-1", parties=[ev.natural_party("张三丰")], facts="当事人张三丰销售过期食品。",
                               decision_no="武市监罚〔2026〕991号"))
    suite.publish(dev.decision("BR-2", parties=[ev.legal_party()], facts="未按规定标示价格。",
                               category="不明码标价", decision_no="武市监罚〔2026〕992号"))
    wait_published(suite, "武市监罚〔2026〕991号")
    wait_published(suite, "武市监罚〔2026〕992号")

    browser.get(suite.base_url + "/")
    assert "行政执法监督平台" in browser.title and "行政执法决定公示查询" in browser.page_source
    assert browser.execute_script("return document.documentElement.lang") == "zh-CN"
    box = browser.find_element("name", "q")
    box.send_keys("过期食品")
    box.submit()
    wait_for(lambda: "q=" in browser.current_url, message="search submitted")
    results = browser.find_elements("css selector", ".result h3 a")
    assert [r.text for r in results] == ["销售不符合食品安全标准的食品"]
    assert "张三丰" not in browser.page_source and "张某" in browser.page_source
    assert browser_errors(browser) == []
    # the page fits a phone-sized window: no horizontal scrolling
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    browser.save_screenshot(str(SCREENSHOTS / "portal-search.png"))

    results[0].click()
    wait_for(lambda: "/disclosure/decisions/" in browser.current_url, message="decision page")
    text = browser.find_element("tag name", "main").text
    assert "武市监罚〔2026〕991号" in text and "公示记录" in text and "公开" in text
    browser.save_screenshot(str(SCREENSHOTS / "portal-decision.png"))
    assert browser.find_element("css selector", "a[href^='/complaints']")
    assert browser_errors(browser) == []

    browser.get(suite.base_url + "/disclosure/verify")
    field = browser.find_element("name", "certificate_no")
    field.send_keys("32041200123")
    field.submit()
    wait_for(lambda: browser.find_elements("id", "verify-result"), message="verification")
    result = browser.find_element("id", "verify-result").text
    assert "证件有效" in result and "陈建国" in result and "常州市武进区市场监督管理局" in result
    assert browser.execute_script("return document.querySelector('img').naturalWidth") > 0  # the QR image loaded
    assert browser_errors(browser) == []

    browser.get(suite.base_url + "/disclosure/bodies/" + BODY_ID)
    assert "执法人员" in browser.page_source and "救济渠道" in browser.page_source
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    assert browser_errors(browser) == []
