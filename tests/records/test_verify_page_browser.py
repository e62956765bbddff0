"""The records page a citizen can use (issue 19; REC-4, DISC-9), in headless Chromium on a 390 px phone: plain words
(防篡改校验码, 汇总校验值) with the technical terms (默克尔树, 叶哈希) only in the glossary; the auditor's script and the
algorithm are links that answer; a record looked up by its 防篡改校验码 is checked in the browser (校验通过); a
genuine proof bundle pasted into the page passes (SM3 and the RFC 9162 path recomputed in the browser, the Ed25519
tree-head signature checked with Web Crypto against the published key) and an altered one fails (校验失败)."""
from __future__ import annotations

import copy
import json

import pytest
from selenium.webdriver.common.by import By

from tests.fixtures import browser_errors, wait_for
from tests.integration import events as ev
from tests.records.test_records_service import PURPOSE, public_key, records_suite, supervisor, wait_entries

pytestmark = [pytest.mark.integration, pytest.mark.browser]
CASE = "320412-SCJG-PAGE-19"


@pytest.fixture(scope="module")
def rs(tmp_path_factory):
    from tests.fixtures import module_space

    with module_space(tmp_path_factory, "records-page") as (amqp_uri, databases, tmp):
        with records_suite(amqp_uri, databases, tmp) as suite:
            suite.publish(ev.case_opened(CASE))
            for n in range(4):
                suite.publish(ev.evidence(CASE, n=n))
            wait_entries(suite, CASE, 5)
            assert suite.post("/api/v1/admin/records/tree-heads", token=suite.token("admin", "320000")).ok
            r = suite.get(f"/api/v1/cases/{CASE}/proofs", supervisor(suite), params=PURPOSE)
            assert r.ok, r.text
            suite.bundles = r.json()["bundles"]
            yield suite


def _check_pasted(browser, bundle) -> tuple[str, list[str]]:
    text = bundle if isinstance(bundle, str) else json.dumps(bundle, ensure_ascii=False, indent=1)
    browser.execute_script("document.getElementById('bundle').value = arguments[0];"
                           "document.getElementById('check-result').textContent = '';", text)
    browser.find_element(By.ID, "check").click()
    verdict = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#check-result [data-verdict]"),
                       message="in-browser check")[0]
    return verdict.text, [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#check-result ul.checks li")]


def test_issue19_rec4_records_page_in_plain_words_with_links_and_an_in_browser_proof_check(rs, browser):
    browser.set_window_size(390, 844)
    browser.get(rs.base_url + "/records/verify")
    assert browser.find_element(By.ID, "public-key").text == public_key(rs)
    # plain words; the technical terms only in the glossary
    plain = browser.execute_script("const m = document.querySelector('main').cloneNode(true);"
                                   "m.querySelector('#terms').remove(); return m.textContent;")
    assert "防篡改校验码" in plain and "汇总校验值" in plain
    for jargon in ("默克尔树", "叶哈希", "Merkle", "tools/audit_verify.py", "docs/records-verification.md"):
        assert jargon not in plain, jargon
    terms = browser.find_element(By.ID, "terms").get_attribute("textContent")
    assert "默克尔树" in terms and "叶哈希" in terms
    # the auditor's script and the algorithm are links that answer
    script = rs.get(browser.find_element(By.ID, "auditor-script").get_attribute("href").replace(rs.base_url, ""))
    assert script.status_code == 200 and "def verify_inclusion" in script.text
    assert script.headers["Content-Type"].startswith("text/x-python")
    algorithm = rs.get(browser.find_element(By.ID, "algorithm").get_attribute("href").replace(rs.base_url, ""))
    assert algorithm.status_code == 200 and "SM3" in algorithm.text and "charset=utf-8" in algorithm.headers["Content-Type"]

    # a record looked up by its 防篡改校验码: the proof fetched and checked here
    browser.find_element(By.ID, "leaf").send_keys(rs.bundles[0]["leaf_hash"])
    browser.find_element(By.CSS_SELECTOR, "#inclusion-form button").click()
    verdict = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#result [data-verdict]"), message="lookup")[0]
    assert verdict.text.startswith("校验通过"), browser.find_element(By.ID, "result").text
    assert f"该记录是日志的第 {rs.bundles[0]['index']} 条" in browser.find_element(By.ID, "result").text

    # a genuine bundle with the record's content, pasted: every check passes, the signature in the browser
    genuine = rs.bundles[-1]
    assert genuine["tree_head"]["algorithm"] == "ed25519" and genuine["proof"]
    verdict, lines = _check_pasted(browser, genuine)
    assert verdict.startswith("校验通过"), (verdict, lines)
    assert all(line.startswith("✓") for line in lines), lines
    assert any("电子签名有效" in line for line in lines) and any("本页公布的公钥" in line for line in lines)

    # altered: one hash of the path, the record's content, the signed time, the signature — each fails
    def altered(change):
        bundle = copy.deepcopy(genuine)
        change(bundle)
        return bundle

    flip = {"0": "1", "1": "0"}

    def flip_first(text: str) -> str:
        return flip.get(text[0], "0") + text[1:]

    cases = {
        "proof": lambda b: b["proof"].__setitem__(0, flip_first(b["proof"][0])),
        "entry": lambda b: b.__setitem__("entry", b["entry"].replace(CASE, CASE + "X")),
        "timestamp": lambda b: b["tree_head"].__setitem__("timestamp", b["tree_head"]["timestamp"] + 1),
        "signature": lambda b: b["tree_head"].__setitem__("signature", flip_first(b["tree_head"]["signature"])),
        "index": lambda b: b.__setitem__("index", b["index"] - 1),
    }
    for name, change in cases.items():
        verdict, lines = _check_pasted(browser, altered(change))
        assert verdict.startswith("校验失败"), (name, verdict, lines)
        assert any(line.startswith("✗") for line in lines), (name, lines)
    verdict, _ = _check_pasted(browser, "{不是证明包")
    assert verdict.startswith("校验失败")
    assert browser_errors(browser) == []
