"""Chinese number, money, date, time and size formats (issue 19; DISC-9, CMP-1…4): services/common/formats.py,
the one module every page uses through its Jinja filters."""
import datetime as dt
from decimal import Decimal

from services.common import formats as F


def test_issue19_money_with_separators_and_wan_in_summaries():
    assert F.money("500000.00") == "500,000.00 元"
    assert F.money(Decimal("1234567")) == "1,234,567.00 元"
    assert F.money(0) == "0.00 元" and F.money("12.345") == "12.35 元"
    assert F.money(None) == "—" and F.money("") == "—" and F.money("n/a") == "n/a"
    assert F.money_wan("1234567.00") == "123.46 万元"
    assert F.money_wan(500000) == "50.00 万元"
    assert F.money_wan("9999.99") == "9,999.99 元"        # below 1 万: yuan
    assert F.money_wan("123456789012") == "12,345,678.90 万元"


def test_issue19_dates_in_chinese_and_times_in_beijing():
    assert F.date_zh("2026-12-02") == "2026年12月2日"
    assert F.date_zh(dt.date(2026, 1, 9)) == "2026年1月9日"
    # a timestamp's day is its day in Beijing: 2026-12-01 17:00 UTC is 12月2日 01:00 北京时间
    assert F.date_zh("2026-12-01T17:00:00+00:00") == "2026年12月2日"
    assert F.beijing("2026-12-01T17:00:00") == "2026-12-02 01:00"          # naive: stored as UTC
    assert F.beijing("2026-12-01T17:00:00Z", seconds=True) == "2026-12-02 01:00:00"
    assert F.beijing("2026-12-02T09:30:00+08:00") == "2026-12-02 09:30"
    assert F.beijing(1_796_140_800_000) == "2026-12-02 00:00"               # epoch milliseconds (tree heads)
    assert F.datetime_zh("2026-12-02T06:05:00+00:00") == "2026年12月2日 14:05（北京时间）"
    assert F.datetime_zh("2026-12-02") == "2026年12月2日"
    assert F.date_zh(None) == "—" and F.beijing("garbage") == "garbage"


def test_issue19_sizes_without_mib():
    assert F.size_zh(1 << 20) == "1 兆字节"
    assert F.size_zh(10 * (1 << 20)) == "10 兆字节"
    assert F.size_zh(1536 * 1024) == "1.5 兆字节"
    assert F.size_zh(2048) == "2 千字节" and F.size_zh(300) == "300 字节"
    assert all("MiB" not in F.size_zh(n) for n in (1, 1 << 10, 1 << 20, 1 << 30, 5 << 30))
    assert F.count(1234567) == "1,234,567"


def test_issue19_filters_installed_on_the_pages():
    from services.gateway import pages

    template = pages._env.from_string("{{ a|money }}|{{ a|money_wan }}|{{ d|date_zh }}|{{ t|beijing }}|{{ s|size_zh }}")
    assert template.render(a="1234567", d="2026-12-02", t="2026-12-02T00:00:00Z", s=1 << 20) == \
        "1,234,567.00 元|123.46 万元|2026年12月2日|2026-12-02 08:00|1 兆字节"


def test_issue19_records_page_renders_signing_times_in_beijing_time():
    """The records page showed tree-head times in UTC (converted in the browser); now 北京时间 from the server."""
    from services.gateway import pages

    html = pages.render("records/verify.html", log_id="log", algorithm="Ed25519", public_key="k", tree_size=12345,
                        unsigned=None, self_check={"ok": True, "checked_at": "2026-12-01T17:00:00+00:00",
                                                   "summary": "一致"},
                        tree_heads=[{"tree_size": 12345, "timestamp": 1_796_140_800_000, "root_hash": "ab"}]
                        ).get_data(as_text=True)
    assert "签名时间（北京时间）" in html and "2026-12-02 00:00:00" in html
    assert "2026年12月2日 01:00:00（北京时间）" in html and "UTC" not in html
    assert "共 12,345 条记录" in html


def test_issue19_attachment_size_message_without_mib():
    """CMP-1, issue 19: an attachment over the limit says 兆字节, not MiB."""
    from services.common import attachments

    rules = attachments.intake_rules()
    errors = attachments.check_attachment("大图.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * rules.max_bytes,
                                          rules)
    assert errors and all("MiB" not in e for e in errors) and any("兆字节" in e for e in errors)


def test_issue19_keywords_split_on_chinese_punctuation():
    """DISC-9, issue 19: the search box's keywords — spaces and ，、； separate them."""
    assert F.keywords("食品，罚款") == ["食品", "罚款"] and F.keywords("食品、罚款；过期") == ["食品", "罚款", "过期"]
    assert F.keywords("  食品  罚款 ") == ["食品", "罚款"] and F.keywords("") == [] and F.keywords(None) == []
    assert F.keywords("a b c d e f g") == ["a", "b", "c", "d", "e"]
    assert F.without_masked("电话139****5678，身份证3204**********1234，罚款5000元").split() == \
        ["电话", "，身份证", "，罚款5000元"]


def test_issue19_highlight_escapes_and_skips_masked_fragments():
    """DISC-9, issue 19: keywords marked in the result list, the text escaped, never inside 139****5678."""
    from services.gateway.pages import highlight

    marked = str(highlight("销售过期<食品>，罚款5000元；电话139****5678，139号", ["食品", "罚款", "139"]))
    assert marked == ("销售过期&lt;<mark>食品</mark>&gt;，<mark>罚款</mark>5000元；电话139****5678，"
                      "<mark>139</mark>号")
    assert str(highlight("<script>x</script>", ["<script>"])) == "<mark>&lt;script&gt;</mark>x&lt;/script&gt;"
    assert str(highlight("ABC食品", ["abc"])) == "<mark>ABC</mark>食品" and str(highlight(None, ["x"])) == ""


def test_issue19_page_numbers():
    from services.gateway.routes.disclosure import page_numbers

    assert page_numbers(1, 1) == [1] and page_numbers(1, 3) == [1, 2, 3]
    assert page_numbers(10, 50) == [1, None, 8, 9, 10, 11, 12, None, 50]
    assert page_numbers(50, 50) == [1, None, 48, 49, 50]


def test_issue19_eval7_satisfaction_rating_has_no_default():
    """EVAL-7, issue 19: the rating was pre-selected at 5; now 请选择 until the person chooses."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from services.gateway import edge, pages

    edge.csrf_begin(Request(EnvironBuilder(path="/complaints/status").get_environ()))
    html = pages.render("complaints/status.html", number="320412-2026-000001", code="ABCDEFGH", errors={},
                        result={"register_number": "320412-2026-000001", "can_rate": True, "progress": [],
                                "status_label": "已办结"}).get_data(as_text=True)
    select = html[html.index('<select id="rating"'):html.index("</select>", html.index('<select id="rating"'))]
    assert '<option value="" selected>请选择</option>' in select and select.count("selected") == 1
