"""Metrics of the evaluation service (refreshed by its leased periodic job)."""
from __future__ import annotations

from prometheus_client import Gauge

GRADES = Gauge("zhifa_evaluation_grades", "Bodies / officers per current grade (final where finalised, else year to date)",
               ["region", "subject_kind", "grade", "stage"])
ACCOUNTABILITY_OPEN = Gauge("zhifa_evaluation_accountability_open", "Accountability cases not yet closed",
                            ["region", "stage"])
RECTIFICATIONS_OPEN = Gauge("zhifa_evaluation_rectifications_open", "Rectification orders not yet closed",
                            ["region", "overdue"])
SUPERVISION_OPEN = Gauge("zhifa_evaluation_supervision_open", "Open supervision items (suggestions, investigations, rectifications)",
                         ["region", "kind", "flag"])


def _reset(gauge: Gauge) -> None:
    gauge.clear()


def refresh(grades: list[tuple[str, str, str, str]], cases: list[tuple[str, str]],
            items: list[tuple[str, str, str, bool]]) -> None:
    """Set every gauge from rows: grades (region, subject_kind, grade, stage), cases (region, stage),
    items (region, kind, flag, overdue) — regions are the province-level code (bounded cardinality)."""
    from collections import Counter

    for gauge in (GRADES, ACCOUNTABILITY_OPEN, RECTIFICATIONS_OPEN, SUPERVISION_OPEN):
        _reset(gauge)
    for key, n in Counter(grades).items():
        GRADES.labels(*key).set(n)
    for key, n in Counter(cases).items():
        ACCOUNTABILITY_OPEN.labels(*key).set(n)
    for (region, kind, flag, overdue), n in Counter(items).items():
        SUPERVISION_OPEN.labels(region, kind, flag).inc(n)
        if kind == "rectification":
            RECTIFICATIONS_OPEN.labels(region, "true" if overdue else "false").inc(n)
