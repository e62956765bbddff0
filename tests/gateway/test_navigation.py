"""The navigation marks the page's entry with aria-current="page" (issue 19, WCAG 2.1 AA): which entry a page
path belongs to."""
import pytest

from services.gateway.pages import NAV, nav_section


@pytest.mark.parametrize("path, entry", [
    ("/", "/"), ("/disclosure/decisions/p-1", "/"), ("/disclosure/bodies/320412-SCJG", "/"),
    ("/disclosure/annual/320412-SCJG/2026", "/"), ("/disclosure/verify", "/disclosure/verify"),
    ("/disclosure/verify/ZF-1", "/disclosure/verify"), ("/complaints", "/complaints"),
    ("/complaints/receipt/abc", "/complaints"), ("/complaints/status", "/complaints/status"),
    ("/records/verify", "/records/verify"), ("/disclosure/typical-cases/tc-1", "/disclosure/typical-cases"),
    ("/evaluation/dashboard", "/evaluation/dashboard"), ("/evaluation/cases/c-1", "/evaluation/dashboard"),
    ("/disclosure/open-data", None), ("/evaluation/survey", None), ("/complaintsx", None), ("/no-such", None),
    (None, None),
])
def test_issue19_nav_entry_of_a_page(path, entry):
    assert nav_section(path) == entry
    assert entry is None or entry in {href for href, _ in NAV}
