"""Prometheus metrics shared by every service (one process per service in deployments).

Served by ``prometheus_client.start_http_server`` on the service's own port rather than by a
nameko worker, so a scrape never queues behind busy handlers (NAMEKO-NOTES, HTTP and metrics).
"""
from __future__ import annotations

import logging

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from services.common import gctuning, settings

log = logging.getLogger(__name__)

EVENTS_CONSUMED = Counter("zhifa_events_consumed_total", "Events whose effect was committed",
                          ["service", "event_type"])
EVENTS_DUPLICATE = Counter("zhifa_events_duplicate_total", "Redelivered events skipped (already processed)",
                           ["service", "event_type"])
EVENTS_REJECTED = Counter("zhifa_events_rejected_total", "Events sent to the dead-letter queue",
                          ["service", "event_type", "reason"])
OWNERSHIP_REFUSED = Counter("zhifa_case_ownership_refused_total",
                            "Case events refused because their body does not own the case (SEC-2), dead-lettered",
                            ["service", "event_type"])
EVENTS_RETRIED = Counter("zhifa_events_retried_total", "Events delayed for another attempt",
                         ["service", "event_type", "reason"])
HANDLER_SECONDS = Histogram("zhifa_handler_seconds", "Event handler latency", ["service", "event_type"],
                            buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
OUTBOX_PUBLISHED = Counter("zhifa_outbox_published_total", "Outbox events relayed to the bus",
                           ["service", "event_type"])
OUTBOX_UNSUBSCRIBED = Counter("zhifa_outbox_unsubscribed_total",
                              "Outbox events published while no queue was bound for their type (no subscriber: "
                              "normal publish/subscribe, not an error — issue 20)", ["service", "event_type"])
OUTBOX_RELAY_FAILURES = Counter("zhifa_outbox_relay_failures_total", "Outbox relay rounds that failed (broker "
                                "unreachable, refused or unconfirmed publishes, database errors); rows stay "
                                "pending and are tried again", ["service"])
PURGED_ROWS = Counter("zhifa_housekeeping_purged_total", "Rows deleted after their retention by the "
                      "housekeeping job (table: outbox, processed_events — issue 20)", ["service", "table"])
OUTBOX_PENDING = Gauge("zhifa_outbox_pending", "Outbox events not yet relayed", ["service"])
LINK_LAST_RECEIVED = Gauge("zhifa_link_last_received_timestamp_seconds",
                           "Unix time an event last arrived over a tier link, per direction and city "
                           "(set by every service consuming from the link; heartbeats keep an idle link moving)",
                           ["direction", "city"])
HTTP_REQUESTS = Counter("zhifa_http_requests_total", "Gateway requests", ["route", "status"])
RATE_LIMITED = Counter("zhifa_gateway_rate_limited_total", "Requests refused with 429 by an abuse limit "
                       "(config/gateway/limits.yaml)", ["limit"])
AUDIT_FAILURES = Counter("zhifa_gateway_audit_failures_total", "Audit records of staff requests the broker did not "
                         "confirm (intent: the write did not run; outcome: a read was withheld)", ["phase"])

_started_ports: set[int] = set()


def serve_metrics(port: int) -> None:
    if port and port not in _started_ports:
        start_http_server(port, addr=settings.get("ZHIFA_METRICS_ADDR"))
        _started_ports.add(port)
        log.info("metrics on http://127.0.0.1:%s/metrics", port)


class Metrics(DependencyProvider):
    """Starts the service's /metrics endpoint when the container starts — after reading every setting the
    service reads (settings.check: a bad value stops the start with ``ZHIFA_…: message``, issue 21)."""

    def setup(self):
        settings.check(self.container.service_name)
        port = settings.metrics_port(self.container.service_name)
        if settings.get("ZHIFA_METRICS_DISABLED"):
            return
        try:
            serve_metrics(port)
        except OSError as exc:  # a second replica on one host: keep running, say so
            log.warning("metrics port %s unavailable: %s", port, exc)

    def start(self):
        # the process is set up (every container's extensions too): what is loaded now lives as long as the
        # process — out of the garbage collector's scans (``gctuning``, issue 17)
        gctuning.tune()
