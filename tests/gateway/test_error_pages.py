"""The error page renderer (issue 19; SEC-5): titles per status, Chinese parameter names, escaping."""
from services.gateway import pages


def test_issue19_error_page_titles_labels_and_escaping():
    page = pages.error_page(422, "请求内容有误", {"year": ["不能小于2000"], "zzz": ["<script>"]}, "cid-12345678",
                            path="/evaluation/dashboard")
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and page.mimetype == "text/html"
    assert "参数有误" in text and "年度：不能小于2000" in text and "请求参数：&lt;script&gt;" in text
    assert 'href="/evaluation/dashboard"' in text and "cid-12345678" in text
    for status, title in ((404, "页面不存在"), (403, "无权访问"), (429, "访问过于频繁"), (500, "服务器内部错误"),
                          (503, "服务暂时不可用")):
        assert f"<h1 id=\"error-title\">{title}</h1>" in pages.error_page(status, "x").get_data(as_text=True)
    assert "秒后再试" in pages.error_page(429, "访问过于频繁", retry_after=30).get_data(as_text=True)


def test_issue19_page_paths():
    assert pages.is_page_path("/") and pages.is_page_path("/evaluation/dashboard")
    assert not pages.is_page_path("/api/v1/public/decisions") and not pages.is_page_path("/healthz")
