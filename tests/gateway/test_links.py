"""Every link on the public pages leads somewhere (no dead links in the portal's navigation)."""
import re
from urllib.parse import urljoin, urlparse

import pytest

pytestmark = pytest.mark.integration


def test_public_pages_have_no_dead_links(suite):
    seen, queue, dead = set(), ["/"], []
    while queue and len(seen) < 40:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = suite.get(path)
        if response.status_code >= 400:
            dead.append((path, response.status_code))
            continue
        if "text/html" not in response.headers.get("Content-Type", ""):
            continue
        for href in re.findall(r'href="([^"#]+)', response.text):
            url = urlparse(urljoin(suite.base_url + path, href))
            if url.netloc == urlparse(suite.base_url).netloc and url.path not in seen and not href.startswith("data:"):
                queue.append(url.path + (f"?{url.query}" if url.query else ""))
    assert dead == []
    assert {"/complaints", "/complaints/status", "/disclosure/verify", "/records/verify"} <= seen
