"""Prometheus metrics of the disclosure service (DISC-3, DISC-6, DISC-9), labelled by region and body.

Gauges (due, overdue, stale powers) are refreshed by the leased deadline job; counters are counted
where the event happens (in the replica that handled it).
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PUBLICATIONS_DUE = Gauge("zhifa_disclosure_publications_due",
                         "Decisions not yet published and not yet overdue (待公开); warning=yellow when ≤ 2 "
                         "working days are left", ["region", "body", "warning"])
PUBLICATIONS_OVERDUE = Gauge("zhifa_disclosure_publications_overdue",
                             "Decisions past their publication deadline and still unpublished (逾期未公开, red)",
                             ["region", "body"])
PUBLISHED = Counter("zhifa_disclosure_published_total", "Decisions published, on time or late",
                    ["region", "body", "timeliness"])
PUBLISHED_LATE = Counter("zhifa_disclosure_published_late_total", "Decisions published after their deadline (逾期公开)",
                         ["region", "body"])
TAKEDOWNS = Counter("zhifa_disclosure_takedowns_total", "Published decisions taken down (撤下) by reason",
                    ["region", "body", "reason"])
CORRECTIONS = Counter("zhifa_disclosure_corrections_total", "Corrections of published entries (更正)",
                      ["region", "body"])
HELD = Counter("zhifa_disclosure_redaction_held_total",
               "Decisions not published because the redacted entry still showed personal data (fail closed)",
               ["region", "body"])
WITHHELD = Counter("zhifa_disclosure_withheld_total", "Decisions not published by law (state secret, minors)",
                   ["region", "body"])
OVERDUE_NOTIFIED = Counter("zhifa_disclosure_overdue_notified_total", "disclosure.overdue events emitted",
                           ["region", "body"])
STALE_POWERS = Gauge("zhifa_disclosure_stale_powers",
                     "Power-list entries not updated within one month after their legal basis changed (PLAT-4)",
                     ["region", "body"])
ANNUAL_REPORTS = Counter("zhifa_disclosure_annual_reports_published_total", "Annual reports published (DISC-7)",
                         ["region", "body"])
SEARCH_SECONDS = Histogram("zhifa_disclosure_search_seconds", "Portal search latency in the service (DISC-9)",
                           buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1))
