"""Prometheus metrics of the complaints service (issue 6 §8), by region and channel.

Counters are incremented after the transaction that made the change commits (a rolled-back
registration is not counted); with several replicas each counts its own work and Prometheus sums.
The overdue gauge is recomputed from the database by the leased deadline sweep, so one replica
publishes the current numbers (the others keep their last values: query with ``max``).
"""
from __future__ import annotations

from prometheus_client import Counter, Gauge

RECEIVED = Counter("zhifa_complaints_received_total", "Complaints registered (编号登记)", ["region", "channel"])
ACCEPTED = Counter("zhifa_complaints_accepted_total", "Complaints accepted (受理)", ["region", "channel"])
NOT_ACCEPTED = Counter("zhifa_complaints_not_accepted_total", "Complaints not accepted, with reason (不予受理)",
                       ["region", "channel"])
ACK_LATE = Counter("zhifa_complaints_acknowledged_late_total",
                   "Acceptance told after the 5-working-day deadline (逾期告知)", ["region", "channel"])
CONCLUDED = Counter("zhifa_complaints_concluded_total", "Complaints concluded (办结)", ["region", "channel", "upheld"])
ESCALATED = Counter("zhifa_complaints_escalated_total", "Escalations to the next tier up (逐级上报)",
                    ["region", "channel", "stage"])
DUPLICATES = Counter("zhifa_complaints_duplicates_total", "Complaints linked to an earlier one (重复投诉)",
                     ["region", "channel"])
OVERDUE = Gauge("zhifa_complaints_overdue", "Open complaints past their running deadline (逾期未办)",
                ["region", "channel", "stage"])
