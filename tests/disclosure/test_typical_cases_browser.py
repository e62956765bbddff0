"""典型案例通报 on the portal (issue 18; CMP-7, DISC-4) as people read it, in headless Chromium at desktop
width and on a 390 px phone, through the running suite (evaluation, disclosure, gateway on the real
broker): an upheld complaint concluded by the complaints service (its event), selected by one supervisor
over the staff API, approved by a second one, appears on /disclosure/typical-cases with the complainant's
name, ID number and phone masked, opens to its detail page, and is in the Atom feed."""
from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from kombu import Connection, Producer
from selenium.webdriver.common.by import By

from services.common.bus import events_exchange
from services.common.settings import amqp_user
from tests.disclosure import events as dev
from tests.evaluation import year as Y
from tests.fixtures import browser_errors, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
CHINA = dt.timezone(dt.timedelta(hours=8))
NUMBER = "320412-2026-000777"
ID_NUMBER = "320412198503141234"
TITLE = "武进区某执法人员未亮证扣押财物案"
WARNING = (f"当事人张三丰（身份证号{ID_NUMBER}，联系电话13912345678）投诉称，执法人员在检查中未出示执法证件即扣押其电动车，"
           "经查投诉属实。\n该局执法人员未依法亮证执法、未制作现场笔录，违反了《中华人民共和国行政强制法》第十八条，各执法单位要引以为戒。")
ATOM = "{http://www.w3.org/2005/Atom}"


def publish_as(amqp_uri, service, envelope):
    """As the complaints service's outbox relay would: to <service>.events, confirmed."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(json.dumps(envelope, ensure_ascii=False).encode(),
                                         exchange=events_exchange(service), routing_key=envelope["event_type"],
                                         content_type="application/json", content_encoding="utf-8",
                                         delivery_mode=2, mandatory=True, user_id=amqp_user(amqp_uri))


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    from tests.fixtures import module_space, running_suite

    with module_space(tmp_path_factory, "typical") as (uri, databases, tmp):
        with running_suite(uri, databases, tmp, services=["evaluation", "disclosure", "gateway"]) as s:
            s.publish(dev.body_registered(name="常州市武进区市场监督管理局"))
            publish_as(uri, "complaints", Y.complaint("complaint.concluded", Y.A, NUMBER,
                                                      dt.datetime.now(CHINA), upheld=True))
            first = s.token("supervisor", "320400", sub="sup-1")
            second = s.token("supervisor", "320400", sub="sup-2")
            selected = wait_for(lambda: (lambda r: (r.status_code == 201 and r.json()))(s.post(
                "/api/v1/evaluation/typical-cases", {"source_kind": "complaint", "source_ref": NUMBER,
                                                     "title": TITLE, "warning_text": WARNING}, first)),
                timeout=30, message="the upheld complaint reached evaluation")
            action = f"/api/v1/evaluation/typical-cases/{selected['typical_case_id']}/actions"
            # SEC-2: a supervisor of another county does not act on the city's selection (fail closed)
            assert s.post(action, {"action": "submit"}, s.token("supervisor", "320411", sub="sup-x")).status_code \
                in (403, 404)
            assert s.post(action, {"action": "submit"}, first).status_code == 200
            assert s.post(action, {"action": "review", "approve": True}, first).status_code == 409   # the author
            assert s.post(action, {"action": "review", "approve": True}, second).json()["status"] == "approved"
            assert s.post("/api/v1/evaluation/typical-cases", {"source_kind": "complaint", "source_ref": NUMBER,
                                                               "title": TITLE, "warning_text": WARNING},
                          s.token("supervisor", "320411", sub="sup-x")).status_code == 404   # fail closed
            wait_for(lambda: TITLE in s.get("/disclosure/typical-cases").text, timeout=30, message="published")
            s.typical_case_id = selected["typical_case_id"]
            yield s


@pytest.mark.parametrize("size", list(SIZES))
def test_cmp7_typical_case_page_redacted_and_linked(portal, browser, size):
    """CMP-7: the list shows the approved case with its body and date in Chinese; its page shows the
    warning with the complainant's name, ID number and phone masked (DISC-4); no horizontal scroll on a
    phone; the page names the Atom feed; no console errors."""
    browser.set_window_size(*SIZES[size])
    browser.get(portal.base_url + "/disclosure/typical-cases")
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "典型案例通报" in main and "常州市武进区市场监督管理局" in main and "投诉举报查处" in main
    assert "年" in main and "月" in main
    feeds = browser.find_elements(By.CSS_SELECTOR, 'link[rel="alternate"][type="application/atom+xml"]')
    assert [f.get_attribute("href").endswith("/api/v1/public/typical-cases.atom") for f in feeds] == [True]
    browser.find_element(By.LINK_TEXT, TITLE).click()
    wait_for(lambda: "案例剖析与警示" in browser.find_element(By.TAG_NAME, "main").text, message="detail page")
    text = browser.find_element(By.TAG_NAME, "main").text
    assert "行政强制法" in text and "各执法单位要引以为戒" in text
    assert ID_NUMBER not in text and "13912345678" not in text and "张三丰" not in text
    assert browser.current_url.endswith(f"/disclosure/typical-cases/{portal.typical_case_id}")
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert browser_errors(browser) == []


def test_cmp7_typical_cases_atom_feed(portal):
    """CMP-7: the Atom feed lists the case (title, link to its page, redacted summary); an unknown case is a
    Chinese 404 page."""
    r = portal.get("/api/v1/public/typical-cases.atom")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(r.content)
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == TITLE
    assert entry.find(f"{ATOM}link").get("href").endswith(f"/disclosure/typical-cases/{portal.typical_case_id}")
    summary = entry.find(f"{ATOM}summary").text
    assert ID_NUMBER not in summary and "张三丰" not in summary and "行政强制法" in summary
    missing = portal.get("/disclosure/typical-cases/DXAL-nothing")
    assert missing.status_code == 404 and "未找到该典型案例" in missing.text
