"""Every public page speaks Chinese and names things (issue 19 "no English and no raw code appears on any
public page"; DISC-9, CMP-1): a crawler starts at the portal's front page, follows every same-site link a
citizen can follow without signing in (pages, not downloads or APIs), and reads what a person reads on each
page — the text, and the title / placeholder / aria-label / alt / button values — looking for English words,
body ids (320412-SCJG), region codes shown as codes, code-set values (ecology_environment), UUIDs and
Python/werkzeug error text. A handful of terms are allowed because Chinese pages use them as they are
(API, CSV, SM2, …: ALLOWED)."""
from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from tests.disclosure import events as dev
from tests.disclosure.test_service_publication import wait_published
from tests.fixtures import wait_for
from tests.integration import events as ev

pytestmark = [pytest.mark.integration]
CHINA = dt.timezone(dt.timedelta(hours=8))
DECIDED = dt.datetime(2026, 3, 2, 10, tzinfo=CHINA)

#: Latin terms Chinese public pages use as they are (standards, formats, protocols, the product's name)
ALLOWED = {"JPG", "PNG", "UTF-8", "YYYY-MM-DD", "API", "JSON", "CSV", "PDF", "XML", "Atom", "RSS", "URL", "HTTP", "HTTPS", "SM2", "SM3", "SM4", "ID",
           "Ed25519", "ED25519", "Crypto", "SHA", "RFC", "GB", "GB/T", "OpenAPI", "AsyncAPI", "zhifa", "Python", "QR", "APP", "App",
           "OpenID", "Connect", "Merkle", "IP", "PEM", "hex", "JavaScript", "WCAG", "AA", "Apache", "Web"}
#: what a raw code looks like on a page a person reads
RAW = {
    "body id": re.compile(r"\b\d{6}(?:\d{3})?-[A-Z][A-Z0-9]+\b"),
    "code-set value": re.compile(r"\b[a-z]+(?:_[a-z]+)+\b"),
    "UUID": re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),
    "region code": re.compile(r"(?<![\d*])\d{6}(?:\d{3})?(?![\d*,.])"),
    "error text": re.compile(r"Traceback|Not Found|Internal Server Error|Bad Request|Method Not Allowed"),
}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9/+-]*[A-Za-z0-9]|[A-Za-z]")
READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
#: links that are not pages (downloads, feeds, machine interfaces) or that leave the public side
NOT_PAGES = re.compile(r"^/(api/|metrics|healthz|static/|auth/|signin|signout|audit|admin)|\.(csv|json|xml|atom|py|"
                       r"pem|pdf|zip)$|/feed|/export|/download|/open-data/.+")
MAX_PAGES = 120


SKIPPED = ("script", "style", "code", "pre", "template", "kbd", "samp")


class PageText(HTMLParser):
    """What a person reads: text outside script/style, the read attributes, button and submit values."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._skip_tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # code, and words marked as English for screen readers (lang="en", WCAG 3.1.2): shown on purpose
        if tag in SKIPPED or str(attrs.get("lang", "")).startswith("en"):
            self._skip_tags.append(tag)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in READ_ATTRIBUTES:
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self._skip_tags and self._skip_tags[-1] == tag:
            self._skip_tags.pop()

    def handle_data(self, data):
        if not self._skip_tags and data.strip():
            self.parts.append(data.strip())


#: values a page shows as they are: addresses, links and file paths, hashes and keys (hex), unified social
#: credit codes of legal persons (public, GB 32100), complaint numbers, postal codes after 邮编
VALUES = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"                     # e-mail
                    r"|(?:https?://|/)[\w./?=&%#:-]+|\b[\w-]+(?:/[\w.-]+)+|\b[\w-]+\.(?:py|md|json|csv|pem)\b"
                    r"|\b[0-9a-f]{16,}\b"                                  # hashes, key ids
                    r"|\b[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}\b"   # USCC
                    r"|\b\d{6}-\d{4}-\d{6}\b"                               # complaint number
                    r"|(?<=邮编)[：: ]*\d{6}|(?<=邮政编码)[：: ]*\d{6}")


def problems_in(text: str, context: bool = False) -> list[str]:
    found = []
    text = VALUES.sub(" ", text)
    for kind, pattern in RAW.items():          # codes first, then what is left is read for English words
        found += [f"{kind} {m.group()!r}" + (f" in …{text[max(0, m.start() - 20):m.end() + 20]}…" if context else "")
                  for m in pattern.finditer(text)]
        text = pattern.sub(" ", text)
    return found + [f"English {m.group()!r}" + (f" in …{text[max(0, m.start() - 20):m.end() + 20]}…" if context else "")
                    for m in WORD.finditer(text) if m.group() not in ALLOWED and not re.fullmatch(r"[A-Za-z]", m.group())]


def test_problems_in_reads_like_a_person():
    """The checker itself: it catches each kind, and lets a document number, a masked ID, a formatted
    amount, a date and an allowed term pass."""
    assert problems_in("执法领域：ecology_environment") == ["code-set value 'ecology_environment'"]
    assert problems_in("执法机关 320404-ZHZF")[0].startswith("body id")
    assert problems_in("地区320411") == ["region code '320411'"]
    assert problems_in("Not Found")[-1].startswith("error text")
    assert problems_in("Search results") == ["English 'Search'", "English 'results'"]
    assert problems_in("武市监罚〔2026〕501号 当事人 3204**********1234 罚款 500,000.00 元 2026年3月2日 "
                       "下载 CSV 或 JSON，SM2 签名") == []
    assert problems_in("统一社会信用代码 91320412MA1X2Y3B46，邮编 213100，投诉编号 320412-2026-000123，"
                       "信箱 zfjd@sfj.changzhou.gov.cn，根哈希 daab02e3b804aa6e1ebcc596b754ccb3，"
                       "脚本 tools/audit_verify.py，由数字0—9和字母a—f组成") == []
    page = PageText()
    page.feed('<p>叶哈希（<span lang="en">leaf hash</span>）：<code>SM3(0x00 ‖ 记录)</code> page</p>')
    assert problems_in(" ".join(page.parts)) == ["English 'page'"]


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    from tests.fixtures import module_space, running_suite

    with module_space(tmp_path_factory, "language") as (amqp_uri, databases, tmp):
        with running_suite(amqp_uri, databases, tmp) as s:
            # what departments send, with code-set values where their systems send codes
            s.publish(dev.body_registered(field="market_regulation"))
            s.publish(dev.officer_registered())
            s.publish(dev.decision("LANG-1", parties=[ev.natural_party("张三丰")], decision_no="武市监罚〔2026〕701号",
                                   facts="当事人销售过期食品。", fine="500000.00", decided_at=DECIDED))
            s.publish(dev.decision("LANG-2", parties=[ev.legal_party()], facts="未按规定标示价格。",
                                   decision_no="武市监罚〔2026〕702号", fine="5000.00",
                                   decided_at=DECIDED + dt.timedelta(days=1)))
            for number in ("701", "702"):
                wait_published(s, f"武市监罚〔2026〕{number}号")
            wait_for(lambda: s.get("/api/v1/public/decisions", params={"q": "过期"}).json()["total"] >= 1,
                     message="searchable")
            yield s


def crawl(suite, starts: list[str]) -> dict[str, list[str]]:
    site = urlsplit(suite.base_url)
    seen, queue, report = set(), list(starts), {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        answer = suite.get(path)
        if "text/html" not in answer.headers.get("content-type", ""):
            continue
        page = PageText()
        page.feed(answer.text)
        found = problems_in(" ¶ ".join(page.parts), context=True)
        if found:
            report[path] = sorted(set(found))
        for href in page.links:
            url = urlsplit(urljoin(suite.base_url + path, href))
            if url.netloc != site.netloc or NOT_PAGES.search(url.path):
                continue
            target = url.path + (f"?{url.query}" if url.query else "")
            if target not in seen and not re.search(r"[?&]page=([3-9]|\d\d)", target):   # one page of paging
                queue.append(target)
    assert len(seen) >= 8, f"the crawler reached only {sorted(seen)}"
    return report


def test_issue19_no_english_and_no_raw_code_on_any_public_page(portal):
    """DISC-9 / CMP-1: every page a citizen reaches from the front page (and the pages people are sent to by
    links elsewhere: the complaint form for a body, the verification pages, an unknown URL) reads in Chinese
    and names bodies, fields and regions."""
    starts = ["/", "/complaints", f"/complaints?body_id={ev.BODY['body_id']}", "/records/verify",
              "/disclosure/verify", "/disclosure/typical-cases", "/no-such-page", "/?region_code=1999"]
    report = crawl(portal, starts)
    assert report == {}, "\n".join(f"{path}: {', '.join(found)}" for path, found in sorted(report.items()))
