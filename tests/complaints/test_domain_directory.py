"""The body directory's rules (issue 21: they left the use cases): a body's competent department
(CMP-8) and the private-enterprise counts per body (CMP-6)."""
from __future__ import annotations

from services.complaints.domain import ComplaintFlags
from services.complaints.domain.directory import competent_department
from services.complaints.domain.views import private_enterprise_by_body
from tests.complaints.test_domain_builders import at, complaint, record


def test_cmp8_competent_department_of_entrusted_and_authorised_organisations():
    assert competent_department("entrusted_org", "dept-entrusting", "dept-superior") == "dept-entrusting"
    assert competent_department("authorised_org", "dept-entrusting", "dept-superior") == "dept-superior"
    assert competent_department("department", "dept-entrusting", "dept-superior") is None


def test_cmp6_private_enterprise_complaints_are_counted_per_body():
    private = complaint(flags=ComplaintFlags(False, True))
    upheld = record(private).accept(at=at(2026, 10, 9), actor="h").add_progress(
        "已调查", at=at(2026, 10, 10), actor="h").conclude("属实", True, at=at(2026, 10, 12), actor="h")
    refused = record(private, number="320412-2026-000124").not_accept("已提起行政诉讼", at=at(2026, 10, 9), actor="h")
    other = record(complaint(), number="320412-2026-000125")
    body = private.subject.body_id
    assert private_enterprise_by_body([upheld, refused, other]) == {
        body: {"total": 2, "upheld": 1, "not_accepted": 1}}
