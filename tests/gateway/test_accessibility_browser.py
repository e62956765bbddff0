"""WCAG 2.1 AA on every public page, checked by axe-core in headless Chromium at desktop width and on a 390 px
phone (issue 19; DISC-9, CMP-1…CMP-4): no serious or critical violation (contrast ≥ 4.5:1, labelled controls,
names of links and buttons, ARIA, landmarks); and what axe does not judge on its own: exactly one h1, a skip
link to the main content as the first focusable element, ``aria-current="page"`` on the navigation entry of the
page, and tap targets of at least 44 × 44 px in the navigation on the phone.

Pages: the portal (home and a search), a decision, a body, the certificate check (and an unknown certificate and
body), open data, typical cases, the complaint form, its receipt (filed in this browser), the complaint status with
a concluded complaint, the records verification page, the survey, the supervisors' dashboard (signed in) and the
error pages (404, bad parameter, a receipt no longer shown).
One suite per module; axe-core is vendored (tests/gateway/vendor, checked by its SHA-256)."""
from __future__ import annotations

import datetime as dt
import hashlib
import pathlib

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.disclosure import events as dev
from tests.disclosure.test_service_publication import wait_published
from tests.fixtures import browser_errors, browser_sign_in, wait_for
from tests.integration import events as ev

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
CHINA = dt.timezone(dt.timedelta(hours=8))
AXE = pathlib.Path(__file__).parent / "vendor" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"   # axe-core 4.14.1
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BODY_ID, BODY_NAME = "320412-SCJG", "常州市武进区市场监督管理局"
DECISION_NO = "武市监罚〔2026〕901号"


@pytest.fixture(scope="module")
def axe_source() -> str:
    data = AXE.read_bytes()
    assert hashlib.sha256(data).hexdigest() == AXE_SHA256, "tests/gateway/vendor/axe.min.js is not axe-core 4.14.1"
    return data.decode("utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from nameko import config

    from tests.fixtures import free_port, module_space, oidc_provider, running_suite

    limits = {"ZHIFA_RATE_LIMITS": {"complaint_submit": "1000/minute", "complaint_query": "1000/minute",
                                    "complaint_code": "1000/minute"}}
    with module_space(tmp_path_factory, "a11y") as (amqp_uri, databases, tmp):
        port = free_port()
        with oidc_provider(tmp, port) as provider, config.patch({**provider.zhifa_settings(), **limits}, clear=False), \
                running_suite(amqp_uri, databases, tmp, http_port=port) as s:
            s.provider = provider
            s.publish(dev.body_registered())
            s.publish(dev.decision("A11Y-1", parties=[ev.natural_party("张三丰")], decision_no=DECISION_NO,
                                   facts="当事人张三丰销售过期食品。", fine="500000.00",
                                   decided_at=dt.datetime(2026, 3, 2, 10, tzinfo=CHINA), conclusion="罚款人民币50万元"))
            s.decision_url = wait_published(s, DECISION_NO)["url"]
            wait_for(lambda: BODY_NAME in s.get("/complaints").text, message="body directory")
            s.complaint = _concluded_complaint(s)
            s.post("/api/v1/admin/records/tree-heads", token=s.token("admin", "320000"))
            yield s


def _concluded_complaint(s) -> dict:
    """A complaint filed on the portal and taken through the real handlers to 已办结 (CMP-2…CMP-4)."""
    from tests.complaints.helpers import portal_form

    receipt = s.post("/api/v1/public/complaints", portal_form()).json()
    handler = s.token("complaint_handler", "320400", sub="handler-a11y")
    number = receipt["number"]
    for path, body in (("accept", {"note": "受理"}), ("progress", {"text": "已调取执法记录，正在核查"}),
                       ("conclude", {"result": "经核查，投诉属实，已责令改正", "upheld": True})):
        r = s.post(f"/api/v1/complaints/{number}/{path}", body, handler)
        assert r.ok, r.text
    return {"number": number, "code": receipt["query_code"]}


def _audit(browser, axe_source: str) -> list[str]:
    """axe-core's serious and critical violations of the page shown, one line each."""
    if not browser.execute_script("return !!window.axe"):
        browser.execute_script(axe_source)
    result = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' '))}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));", AXE_TAGS)
    return [f"{v['impact']} {v['id']}: {v['help']} — {'; '.join(v['nodes'][:4])}"
            for v in result if v["impact"] in ("serious", "critical")]


def _structure(browser, phone: bool) -> list[str]:
    """What axe does not check by itself: one h1, the skip link first, aria-current, 44 px targets on a phone."""
    problems = []
    h1 = browser.find_elements(By.TAG_NAME, "h1")
    if len(h1) != 1:
        problems.append(f"{len(h1)} h1 elements: {[h.text for h in h1]}")
    first = browser.execute_script(
        "const f = document.querySelector('a[href], button, input, select, textarea, [tabindex]');"
        "return f ? [f.getAttribute('href'), f.className] : null;")
    if not first or first[0] != "#main" or "skip-link" not in (first[1] or ""):
        problems.append(f"the first focusable element is not the skip link: {first}")
    if not browser.find_elements(By.CSS_SELECTOR, "main#main"):
        problems.append("no <main id=main> for the skip link")
    if phone:
        small = browser.execute_script(
            "return Array.from(document.querySelectorAll('header nav a, header a, .skip-link:focus'))"
            ".filter(a => a.offsetParent !== null).map(a => [a.textContent.trim(), a.getBoundingClientRect()])"
            ".filter(([t, r]) => r.width < 44 || r.height < 44).map(([t, r]) => t + ' ' + Math.round(r.width) + '×'"
            " + Math.round(r.height));")
        if small:
            problems.append(f"navigation targets under 44 px: {small}")
    return problems


def _current(browser) -> list[str]:
    return [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "header nav a[aria-current=page]")]


def _file_on_the_form(browser, site):
    browser.get(site.base_url + f"/complaints?body_id={BODY_ID}")
    assert Select(browser.find_element(By.ID, "body_id")).first_selected_option.text == BODY_NAME
    browser.find_element(By.ID, "request").send_keys("请求依法查处")
    browser.find_element(By.ID, "facts").send_keys("2026年11月2日执法人员检查门店时未出示执法证件，当场罚款且未出具决定书。")
    browser.find_element(By.ID, "phone").send_keys("13812345678")
    browser.find_element(By.ID, "submit").click()
    wait_for(lambda: browser.find_elements(By.ID, "number"), message="receipt page")


def _query_status(browser, site):
    browser.get(site.base_url + "/complaints/status")
    browser.find_element(By.ID, "number").send_keys(site.complaint["number"])
    browser.find_element(By.ID, "code").send_keys(site.complaint["code"])
    browser.find_element(By.ID, "query").click()
    wait_for(lambda: browser.find_elements(By.ID, "status-label"), message="status")


# (name, how to get there, the navigation entry marked aria-current or None)
PAGES = [
    ("home", lambda b, s: b.get(s.base_url + "/"), "/"),
    ("search", lambda b, s: b.get(s.base_url + "/?q=食品，罚款"), "/"),
    ("decision", lambda b, s: b.get(s.base_url + s.decision_url), "/"),
    ("body", lambda b, s: b.get(s.base_url + f"/disclosure/bodies/{BODY_ID}"), "/"),
    ("certificate check", lambda b, s: b.get(s.base_url + "/disclosure/verify"), "/disclosure/verify"),
    ("certificate not found", lambda b, s: b.get(s.base_url + "/disclosure/verify/ZF-0000-NONE"), "/disclosure/verify"),
    ("body not found", lambda b, s: b.get(s.base_url + "/disclosure/bodies/320412-NONE"), "/"),
    ("open data", lambda b, s: b.get(s.base_url + "/disclosure/open-data"), None),
    ("typical cases", lambda b, s: b.get(s.base_url + "/disclosure/typical-cases"), "/disclosure/typical-cases"),
    ("complaint form", lambda b, s: b.get(s.base_url + "/complaints"), "/complaints"),
    ("complaint receipt", _file_on_the_form, "/complaints"),
    ("complaint status", _query_status, "/complaints/status"),
    ("receipt gone", lambda b, s: b.get(s.base_url + "/complaints/receipt/no-such-receipt-token"), "/complaints"),
    ("records", lambda b, s: b.get(s.base_url + "/records/verify"), "/records/verify"),
    ("survey", lambda b, s: b.get(s.base_url + "/evaluation/survey"), None),
    ("not found", lambda b, s: b.get(s.base_url + "/no-such-page"), None),
    ("bad parameter", lambda b, s: b.get(s.base_url + "/?page=abc"), "/"),
    ("dashboard", lambda b, s: browser_sign_in(b, s, "/evaluation/dashboard"), "/evaluation/dashboard"),
]


NOT_FOUND = ("not found", "bad parameter", "certificate not found", "body not found", "receipt gone")


@pytest.mark.parametrize("size", list(SIZES))
def test_issue19_every_public_page_passes_axe_wcag21aa_with_one_h1_a_skip_link_and_aria_current(
        site, browser, axe_source, size):
    """Issue 19 (WCAG 2.1 AA): zero serious/critical axe-core violations on every public page, at desktop width
    and on a 390 px phone; one h1; the skip link first; aria-current on the page's navigation entry."""
    browser.set_window_size(*SIZES[size])
    browser.set_script_timeout(60)
    found = {}
    for name, go, current in PAGES:
        go(browser, site)
        problems = _audit(browser, axe_source) + _structure(browser, size == "phone")
        marked = _current(browser)
        expected = [site.base_url + current] if current else []
        if marked != expected:
            problems.append(f"aria-current on {marked}, expected {expected}")
        problems += [f"console: {e}" for e in browser_errors(browser)
                     if not (name in NOT_FOUND and "the server responded with a status of 4" in e)]
        if problems:
            found[name] = problems
    assert found == {}, "\n".join(f"{page}: {p}" for page, ps in found.items() for p in ps)
