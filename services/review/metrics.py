"""Prometheus metrics of the review service (zhifa_review_…), served on the service's metrics port.

Counters move when the effect is committed; gauges are refreshed by the service's leased timer
(``ReviewService.refresh``) and, for staffing, whenever a registry event changes a body's count.
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge

CLASSIFIED = Counter("zhifa_review_classified_total", "Proposed decisions classified (REV-1), by major or not",
                     ["region", "body", "major"])
TASKS_OPENED = Counter("zhifa_review_task_versions_opened_total", "Versions submitted to legal review (REV-4)",
                       ["region", "body"])
CONCLUDED = Counter("zhifa_review_concluded_total", "Review conclusions: approved or returned (REV-4)",
                    ["region", "body", "outcome"])
BYPASSED = Counter("zhifa_review_bypassed_total", "Major decisions made without an approved review (REV-2)",
                   ["region", "body", "violation"])
OVERDUE_ALERTS = Counter("zhifa_review_overdue_alerts_total", "Review task versions found past their due day",
                         ["region", "body"])
TASKS_OPEN = Gauge("zhifa_review_tasks_open", "Review tasks awaiting a reviewer, approver or coordinator",
                   ["region", "body"])
TASKS_OVERDUE = Gauge("zhifa_review_tasks_overdue", "Pending review tasks past their due day", ["region", "body"])
STAFFING_RATIO = Gauge("zhifa_review_staffing_ratio", "Legal reviewers / enforcement officers of a body (REV-7)",
                       ["body"])
STAFFING_SHORTFALL = Gauge("zhifa_review_staffing_shortfall", "Legal reviewers missing to reach the ratio (REV-7)",
                           ["body"])
CONFIG_RELOADS = Counter("zhifa_review_config_reloads_total", "Configuration files (re)loaded or found invalid",
                         ["file", "outcome"])
