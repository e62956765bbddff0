"""What stands when a year begins (年初状态, EVAL-2): a body's legal-reviewer staffing snapshot
(``reviewer_staffing``, REV-7) reported in an earlier year is still in force on 1 January until the
year brings a new one."""
from __future__ import annotations

import datetime as dt
from typing import Iterable

from .facts import Fact


def carried_staffing(facts_of_year: Iterable[Fact], earlier: Iterable[Fact], year: int) -> list[Fact]:
    """For each body without a staffing fact in ``year``, its latest earlier snapshot (``earlier`` in
    date order), dated 1 January of ``year`` and traced to the event that reported it (``carried_from``)."""
    staffed = {f.body_id for f in facts_of_year if f.kind == "reviewer_staffing"}
    latest: dict[str, Fact] = {}
    for f in earlier:
        if f.kind == "reviewer_staffing" and f.body_id not in staffed:
            latest[f.body_id] = f  # the snapshot in force when the year began
    return [Fact(kind=f.kind, body_id=f.body_id, region_code=f.region_code, officer_id=None, year=year,
                 occurred_on=dt.date(year, 1, 1), value=f.value, event_id=f.event_id,
                 attrs={**f.attrs, "carried_from": f.occurred_on.isoformat()})
            for f in latest.values()]
