"""Reviewer staffing: reviewers ≥ 5% of the body's officers (REV-7; 003 §四(十一))."""
from __future__ import annotations

from decimal import Decimal

import pytest

from services.review.domain import Staffing, reviewer_staffing


@pytest.mark.parametrize("officers,reviewers,expected", [
    (19, 0, Staffing(Decimal("0.0000"), 1, 1, False)),   # ceil(0.95) = 1
    (20, 1, Staffing(Decimal("0.0500"), 1, 0, True)),
    (21, 1, Staffing(Decimal("0.0476"), 2, 1, False)),   # ceil(1.05) = 2
    (1, 0, Staffing(Decimal("0.0000"), 1, 1, False)),    # officers but no reviewer → short
    (60, 3, Staffing(Decimal("0.0500"), 3, 0, True)),    # exact arithmetic: 60 × 5% = 3, not 4
    (100, 4, Staffing(Decimal("0.0400"), 5, 1, False)),
    (0, 0, Staffing(None, 0, 0, True)),
    (40, 5, Staffing(Decimal("0.1250"), 2, 0, True)),
])
def test_rev7_five_percent_rule(officers, reviewers, expected):
    assert reviewer_staffing(officers, reviewers) == expected


def test_rev7_ratio_is_configurable_and_inputs_validated():
    assert reviewer_staffing(30, 2, min_ratio="0.1") == Staffing(Decimal("0.0667"), 3, 1, False)
    with pytest.raises(ValueError):
        reviewer_staffing(-1, 0)
    with pytest.raises(ValueError):
        reviewer_staffing(10, 0, min_ratio=1.5)
