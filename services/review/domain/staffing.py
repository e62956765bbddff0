"""Reviewer staffing (法制审核人员配备) — REQUIREMENTS REV-7.

In principle a body's legal reviewers number at least 5% of its enforcement officers
(原则上不少于本单位执法人员总数的5%, 003 §四(十一); 002 §三(三)1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

__all__ = ["Staffing", "reviewer_staffing"]


@dataclass(frozen=True)
class Staffing:
    ratio: Decimal | None    # reviewers / officers, 4 decimals; None when the body has no officers
    required: int           # ceil(min_ratio × officers)
    shortfall: int          # max(0, required − reviewers)
    compliant: bool


def reviewer_staffing(officer_count: int, reviewer_count: int, min_ratio: Decimal | float | str = Decimal("0.05")) -> Staffing:
    """Required reviewers = ceil(5% of officers), computed exactly (no float rounding: 60 officers → 3)."""
    for name, n in (("officer_count", officer_count), ("reviewer_count", reviewer_count)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    ratio_req = Fraction(Decimal(str(min_ratio)))
    if not 0 <= ratio_req <= 1:
        raise ValueError(f"min_ratio must be between 0 and 1, got {min_ratio!r}")
    required = math.ceil(ratio_req * officer_count)
    shortfall = max(0, required - reviewer_count)
    ratio = None if officer_count == 0 else (Decimal(reviewer_count) / Decimal(officer_count)).quantize(Decimal("0.0001"))
    return Staffing(ratio, required, shortfall, shortfall == 0)
