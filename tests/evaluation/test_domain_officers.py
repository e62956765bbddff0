"""What the registry copies tell about officers (issue 21: rules moved out of the store): certificate
validity on a day (PLAT-3), the legal-reviewer staffing ratio (REV-7), and when an action becomes a
``certificate_invalid_action`` fact."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.evaluation.domain.officers import acted_without_certificate, certificate_valid_on, reviewer_ratio

D = dt.date


def test_plat3_certificate_valid_on_a_day():
    assert certificate_valid_on(D(2026, 5, 1), None, None, "JS-001") is True        # registered with a number
    assert certificate_valid_on(D(2026, 5, 1), None, None, None) is False
    assert certificate_valid_on(D(2026, 5, 1), "valid", D(2026, 5, 1), None) is True
    assert certificate_valid_on(D(2026, 5, 2), "valid", D(2026, 5, 1), "JS-001") is False   # expired
    assert certificate_valid_on(D(2026, 5, 1), "suspended", None, "JS-001") is False


def test_rev7_reviewer_ratio_of_a_body():
    assert reviewer_ratio([]) is None
    assert reviewer_ratio(["legal_reviewer"]) is None                     # no enforcing officer
    assert reviewer_ratio(["officer", "officer", "officer", "legal_reviewer"]) == Decimal("0.3333")
    assert reviewer_ratio(["officer,legal_reviewer", "legal_reviewer"]) == Decimal(1)   # capped at 1


def test_plat3_an_action_is_flagged_once_and_only_when_known_invalid():
    assert acted_without_certificate(False, already_flagged=False) is True
    assert acted_without_certificate(False, already_flagged=True) is False
    assert acted_without_certificate(None, already_flagged=False) is False   # officer never registered
    assert acted_without_certificate(True, already_flagged=False) is False
