"""Outbox and inbox hygiene (issue 20, PLAT-1): a periodic job of every service with a database.

Every event a service emits is an outbox row, and every event a handler applies is a
``processed_events`` row (its id, to recognise a redelivery). Without a purge both tables grow by the
suite's whole event rate (~64,000 events left 4,805 outbox rows in records alone). The job deletes:

- outbox rows published more than ``ZHIFA_OUTBOX_RETENTION_HOURS`` ago (pending rows never);
- ``processed_events`` rows older than ``ZHIFA_PROCESSED_EVENTS_RETENTION_HOURS``.

A processed-event row must outlive every copy of its event that can still arrive, or that copy would
take effect a second time. ``check_retention`` (run when the service starts) refuses a retention not
longer than the longest redelivery window: ``ZHIFA_REDELIVERY_WINDOW_HOURS`` (a departmental re-send,
a queue or link buffer held through an outage), the ownership wait (``ZHIFA_OWNERSHIP_WAIT_SECONDS``)
and the retry schedule of a failing handler (``ZHIFA_MAX_ATTEMPTS`` × the longest backoff).

Deletes go in chunks (short transactions; SQLite has one writer) through the primary key, so the job
is the same on SQLite and PostgreSQL. Timers fire in every replica (NAMEKO-NOTES): a job lease lets
one run it; the deletes are idempotent anyway. Counted in ``zhifa_housekeeping_purged_total``.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from services.common import metrics, settings
from services.common.db import ProcessedEvent, take_lease, utcnow
from services.common.outbox import purge_published

log = logging.getLogger(__name__)

LEASE = "zhifa.housekeeping"
FIRST_RUN_AFTER_SECONDS = 60        # not while the service is starting


def redelivery_window_seconds() -> float:
    """The longest time after its first delivery that a copy of an event may still arrive."""
    from services.common.entrypoints import MAX_BACKOFF_MS, RETRY_JITTER

    return max(settings.get("ZHIFA_REDELIVERY_WINDOW_HOURS") * 3600.0,
               settings.get("ZHIFA_OWNERSHIP_WAIT_SECONDS"),
               # each delay is jittered up to RETRY_JITTER[1] × the cap (entrypoints._retry)
               RETRY_JITTER[1] * settings.max_attempts() * MAX_BACKOFF_MS / 1000.0)


def check_retention() -> None:
    """Stop the start-up (``ZHIFA_…: message``) when a retention is not longer than the longest
    redelivery window: a copy arriving after its processed-event row was purged would apply twice."""
    window = redelivery_window_seconds()
    problems = []
    for name in ("ZHIFA_PROCESSED_EVENTS_RETENTION_HOURS", "ZHIFA_OUTBOX_RETENTION_HOURS"):
        hours = settings.get(name)
        if hours * 3600.0 <= window:
            problems.append(f"{name}: {hours:g} h is not longer than the longest redelivery window "
                            f"({window / 3600:g} h: ZHIFA_REDELIVERY_WINDOW_HOURS, ZHIFA_OWNERSHIP_WAIT_SECONDS, "
                            f"ZHIFA_MAX_ATTEMPTS retries)")
    if problems:
        raise settings.SettingError("; ".join(problems))


def purge_processed(engine, older_than: dt.datetime, chunk: int = 5000) -> int:
    """Delete ``processed_events`` rows written before ``older_than``, ``chunk`` rows a transaction,
    by primary key (a row-value ``IN``: SQLite ≥ 3.15 and PostgreSQL). Returns the rows deleted."""
    removed = 0
    key = tuple_(ProcessedEvent.consumer, ProcessedEvent.event_id)
    while True:
        with Session(engine) as session, session.begin():
            keys = session.execute(select(ProcessedEvent.consumer, ProcessedEvent.event_id)
                                   .where(ProcessedEvent.processed_at < older_than).limit(chunk)).all()
            if keys:
                session.execute(delete(ProcessedEvent).where(key.in_([tuple(k) for k in keys])))
        removed += len(keys)
        if len(keys) < chunk:
            return removed


def run_once(engine, service: str, now: dt.datetime | None = None) -> dict[str, int]:
    """One round of the job: rows deleted per table (also counted in the metric)."""
    now = now or utcnow()
    purged = {
        "outbox": purge_published(engine, now - dt.timedelta(hours=settings.get("ZHIFA_OUTBOX_RETENTION_HOURS"))),
        "processed_events": purge_processed(
            engine, now - dt.timedelta(hours=settings.get("ZHIFA_PROCESSED_EVENTS_RETENTION_HOURS"))),
    }
    for table, n in purged.items():
        metrics.PURGED_ROWS.labels(service, table).inc(n)
        if n:
            log.info("housekeeping %s: purged %s %s rows older than their retention", service, n, table)
    return purged


class Housekeeping:
    """The periodic job in a service process (a managed thread of ``db.Database``)."""

    def __init__(self, engine, service: str):
        self.engine = engine
        self.service = service
        self.interval = settings.get("ZHIFA_HOUSEKEEPING_INTERVAL_SECONDS")
        self.running = True

    def stop(self):
        self.running = False

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self.running and time.monotonic() < deadline:
            time.sleep(min(1.0, deadline - time.monotonic()))

    def run(self):
        self._sleep(min(FIRST_RUN_AFTER_SECONDS, self.interval))
        while self.running:
            try:
                if take_lease(self.engine, f"{LEASE}.{self.service}", self.interval * 0.9):
                    run_once(self.engine, self.service)
            except Exception:  # database down: try again next round
                log.exception("housekeeping of %s failed; trying again in %s s", self.service, self.interval)
            self._sleep(self.interval)
