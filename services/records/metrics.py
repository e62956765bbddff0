"""Prometheus metrics of the records service (REC-4, REC-6, REC-7), by region and body.

Counters are incremented after the transaction that made the change commits. The gauges (tree
size, age of the last signed tree head, open gaps) are recomputed from the database by the leased
tree-head timer, so one replica publishes the current numbers (query them with ``max``).
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ENTRIES = Counter("zhifa_records_entries_appended_total", "Entries appended to the tamper-evident log",
                  ["region", "body", "kind"])
REFUSED = Counter("zhifa_records_refused_total", "Records refused: the case is sealed (封存后拒收), or the record is dated before the case "
                  "was opened (recorded_before_case_opened, at arrival or when case.opened arrives later)",
                  ["region", "body"])
ACCESSES = Counter("zhifa_records_accesses_total", "Reads of case records through the API (调阅, REC-6)",
                   ["region", "role", "view"])
BATCH_SIZE = Histogram("zhifa_records_batch_events", "Events applied per ingestion transaction",
                       buckets=(1, 2, 5, 10, 20, 50, 100, 150, 200, 400))
TREE_SIZE = Gauge("zhifa_records_tree_size", "Entries in the Merkle log")
HEAD_AGE = Gauge("zhifa_records_signed_head_age_seconds", "Age of the latest signed tree head")
HEAD_SIZE = Gauge("zhifa_records_signed_head_tree_size", "Tree size covered by the latest signed tree head")
GAPS_OPEN = Gauge("zhifa_records_gaps_open", "Open gaps of case files (案卷缺项)", ["region", "body", "severity"])
CASES_WITH_GAPS = Gauge("zhifa_records_cases_with_gaps", "Cases whose file has open gaps", ["region", "body"])
WITNESS_CONFLICTS = Counter("zhifa_records_witness_conflicts_total",
                            "Witnessed tree heads of another suite that contradict earlier ones (见证冲突)", ["region"])
SELF_CHECK_FAILED = Gauge("zhifa_records_self_check_failed",
                          "1 while this process's last self-check of the log against its signed tree heads failed "
                          "(签名前自检未通过): nothing is signed or appended")
SELF_CHECK_LAST_RUN = Gauge("zhifa_records_self_check_last_run_timestamp_seconds",
                            "Unix time of this process's last self-check of the log against its signed tree heads")
WITNESS_FORKED = Gauge("zhifa_records_witness_forked",
                       "1 while a witnessed lower-tier log is in fork alarm (日志分叉告警): a head did not extend the "
                       "newest witnessed head; further heads are refused until an operator resolves it",
                       ["log_id", "city"])
WITNESS_PENDING = Gauge("zhifa_records_witness_pending_heads",
                        "Heads of a witnessed log waiting for their predecessor (or for a key hand-over)",
                        ["log_id", "city"])
WITNESS_NEWEST = Gauge("zhifa_records_witness_newest_head_timestamp_seconds",
                       "Signing time of the newest witnessed head of a lower-tier log", ["log_id", "city"])
WITNESS_LAG = Gauge("zhifa_records_witness_lag_seconds",
                    "How far the newest received head of a witnessed log is ahead of the newest accepted one "
                    "(0 when every received head is witnessed)", ["log_id", "city"])
PROVINCE_FORK = Gauge("zhifa_records_province_fork_alarm",
                      "At a city: 1 while the province witnessing this suite's log reports it forked "
                      "(nothing is signed or appended until the province's operators resolve it)")
