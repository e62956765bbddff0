"""The portal home page renders in Chinese in a real (headless) browser without console errors."""
import pytest

from tests.fixtures import browser_errors

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_home_page_renders_in_chinese(suite, browser):
    browser.get(suite.base_url + "/")
    assert "行政执法监督平台" in browser.title
    assert "谁执法谁公示" in browser.find_element("tag name", "footer").text
    assert browser.execute_script("return document.documentElement.lang") == "zh-CN"
    assert browser_errors(browser) == []
