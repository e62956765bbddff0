"""Server-rendered pages (Simplified Chinese) with Jinja2; autoescaped. No inline script or
<style> (CSP, edge.py): scripts and style sheets are files under services/gateway/static/.

Error pages (issue 19): a page route (anything outside ``/api/`` and ``/healthz``) answers every
error status — 400, 403, 404, 405, 413, 422 (bad parameters), 429, 500, 502, 503, 504 — with a
Chinese HTML page (``error_page``); the JSON API keeps its JSON errors (SEC-5)."""
from __future__ import annotations

from pathlib import Path

import unicodedata

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from services.common import formats, regions
from services.common.catalogue.fields import enforcement_field_zh
from services.common.formats import MASK_CHARS
from services.gateway.edge import csrf_token, page_path

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]))
_env.globals["csrf_token"] = csrf_token   # every state-changing form carries it (SEC-5, edge.py)
formats.install(_env)   # money, dates, 北京时间, sizes: one module for every page (issue 19)


def highlight(value, words) -> Markup:
    """The text, escaped, with each keyword wrapped in <mark> (issue 19, DISC-9): case-insensitive, never
    inside a masked fragment (139****5678: searching "139" does not match it, so it is not marked either)."""
    text = "" if value is None else str(value)
    folded = text.lower()
    if len(folded) != len(text):        # a character whose lower case is longer: no marks rather than wrong ones
        folded = text
    spans = []
    for word in words or ():
        word = unicodedata.normalize("NFKC", str(word)).lower()
        start = 0
        while word and (found := folded.find(word, start)) >= 0:
            end = found + len(word)
            start = end
            if word.isascii() and word.isalnum() and _touches_mask(text, found, end):
                continue
            spans.append((found, end))
    if not spans:
        return escape(text)
    spans.sort()
    merged = [list(spans[0])]
    for begin, end in spans[1:]:
        if begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    out, at = [], 0
    for begin, end in merged:
        out.append(escape(text[at:begin]))
        out.append(Markup("<mark>") + escape(text[begin:end]) + Markup("</mark>"))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)


def _touches_mask(text: str, begin: int, end: int) -> bool:
    """The alphanumeric run around text[begin:end] touches a mask character."""
    while begin > 0 and text[begin - 1].isascii() and text[begin - 1].isalnum():
        begin -= 1
    while end < len(text) and text[end].isascii() and text[end].isalnum():
        end += 1
    return (begin > 0 and text[begin - 1] in MASK_CHARS) or (end < len(text) and text[end] in MASK_CHARS)


_env.filters["highlight"] = highlight
_env.filters["field_zh"] = enforcement_field_zh   # 执法领域 codes → names (issue 19)

# -- navigation (issue 19, WCAG 2.1 AA): the entry of the page shown carries aria-current="page" ------------
NAV = (("/", "公示查询"), ("/disclosure/verify", "证件核验"), ("/complaints", "投诉举报"),
       ("/complaints/status", "投诉查询"), ("/records/verify", "记录核验"), ("/disclosure/typical-cases", "典型案例"),
       ("/evaluation/dashboard", "监督考评"))
# the pages under an entry (longest prefix first); anything else marks no entry
_SECTIONS = (("/complaints/status", "/complaints/status"), ("/complaints/receipt/", "/complaints"),
             ("/complaints", "/complaints"), ("/disclosure/verify", "/disclosure/verify"),
             ("/disclosure/typical-cases", "/disclosure/typical-cases"), ("/disclosure/decisions/", "/"),
             ("/disclosure/bodies/", "/"), ("/disclosure/annual/", "/"), ("/disclosure/draws/", "/"),
             ("/disclosure/inspections/", "/"), ("/records/verify", "/records/verify"),
             ("/evaluation/dashboard", "/evaluation/dashboard"), ("/evaluation/cases/", "/evaluation/dashboard"),
             ("/evaluation/annual-report", "/evaluation/dashboard"))


def nav_section(path: str | None) -> str | None:
    """The navigation entry (its href) a page path belongs to, or None."""
    if path is None:
        return None
    if path == "/":
        return "/"
    for prefix, entry in _SECTIONS:
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)) or path.startswith(prefix + "/"):
            return entry
    return None


_env.globals["nav"] = NAV
_env.globals["nav_current"] = lambda: nav_section(page_path())


def region(code, townships=None, full=True) -> str:
    """A region code as people read it (issue 19): 320412 → 江苏省常州市武进区 (GB/T 2260 names,
    services/common/regions.py); ``full=False``: 武进区; townships by the names their bodies registered."""
    return regions.region_label(str(code or ""), townships, full=full)


_env.filters["region"] = region


def render(template: str, status: int = 200, **context) -> Response:
    return Response(_env.get_template(template).render(**context), status=status, mimetype="text/html")


# -- error pages (issue 19) -------------------------------------------------------------------------------
ERROR_TITLES = {400: "请求有误", 401: "请先登录", 403: "无权访问", 404: "页面不存在", 405: "不支持该请求方法",
                409: "操作与当前状态冲突", 413: "提交的内容过大", 415: "提交的内容格式不正确", 422: "参数有误",
                429: "访问过于频繁", 500: "服务器内部错误", 502: "后台服务暂时出错", 503: "服务暂时不可用",
                504: "处理超时"}
ERROR_HINTS = {404: "您访问的页面不存在或已被移除，请检查网址是否正确。",
               422: "请检查网址中的查询条件后重试。",
               429: "为保障平台正常运行，同一地址的访问次数有限制，请稍后再试。",
               403: "如需访问，请联系管理员。"}
PARAMETER_NAMES = {"year": "年度", "page": "页码", "page_size": "每页条数", "region_code": "行政区划", "body_id": "执法主体",
                   "q": "关键词", "date_from": "起始日期", "date_to": "截止日期", "action_type": "执法行为类别",
                   "as_of": "日期", "subject": "考评对象", "stage": "阶段", "status": "状态", "sort": "排序方式",
                   "public_value": "公开随机数", "certificate_no": "证件编号", "month": "月份", "limit": "条数",
                   "overdue": "是否逾期", "from": "起始时间", "to": "截止时间", "purpose": "调阅事由",
                   "decision_id": "执法决定", "publication_id": "公示信息", "number": "投诉编号", "code": "查询码",
                   "_body": "提交的内容", "_schema": "提交的内容"}


def is_page_path(path: str) -> bool:
    """A path people open in a browser (HTML errors), not the JSON API or the health check."""
    return not (path.startswith("/api/") or path == "/healthz")


def error_page(status: int, message: str, fields: dict | None = None, correlation_id: str | None = None,
               retry_after: int | None = None, path: str | None = None) -> Response:
    """A Chinese error page for a status, its message and the parameters that were wrong (field → messages)."""
    problems = []
    for name, texts in (fields or {}).items():
        label = PARAMETER_NAMES.get(str(name).split(".")[0], "请求参数")
        for text in texts if isinstance(texts, (list, tuple)) else [texts]:
            problems.append((label, text if isinstance(text, str) else "取值无效"))
    title = ERROR_TITLES.get(status, "请求有误" if status < 500 else "服务暂时不可用")
    hint = ERROR_HINTS.get(status, "请稍后再试；如问题持续，请联系平台运维人员。" if status >= 500 else "请返回上一页后重试。")
    back_url = path if status in (400, 422) and path and path.startswith("/") else None
    return render("error.html", status=status, title=title, message=message if message != title else "",
                  problems=problems, hint=hint, correlation_id=correlation_id, retry_after=retry_after,
                  back_url=back_url)
