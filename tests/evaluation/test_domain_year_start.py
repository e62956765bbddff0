"""What stands when a year begins (issue 21: the rule left the store): a body's reviewer staffing
snapshot from an earlier year counts on 1 January until the year reports its own (REV-7, EVAL-2)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.evaluation.domain import Fact
from services.evaluation.domain.year_start import carried_staffing


def staffing(body, day, ratio, event):
    return Fact(kind="reviewer_staffing", body_id=body, region_code="320412", officer_id=None, year=day.year,
                occurred_on=day, value=Decimal(ratio), event_id=event, attrs={"_ref": body})


def test_rev7_the_latest_earlier_snapshot_is_carried_to_1_january_unless_the_year_has_one():
    earlier = [staffing("A", dt.date(2024, 3, 1), "0.1", "e1"), staffing("A", dt.date(2025, 6, 1), "0.2", "e2"),
               staffing("B", dt.date(2025, 2, 1), "0.3", "e3")]
    this_year = [staffing("B", dt.date(2026, 4, 1), "0.4", "e4")]
    carried = carried_staffing(this_year, earlier, 2026)
    assert len(carried) == 1
    (a,) = carried
    assert (a.body_id, a.year, a.occurred_on, a.value, a.event_id) == ("A", 2026, dt.date(2026, 1, 1),
                                                                       Decimal("0.2"), "e2")
    assert a.attrs["carried_from"] == "2025-06-01" and a.attrs["_ref"] == "A"
