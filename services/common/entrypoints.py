"""``event_handler``: nameko's event handler made safe for at-least-once delivery.

nameko's defaults lose data (NAMEKO-NOTES, delivery): a handler that raises is acked and its event
dropped, and undecodable bodies are logged and acked. This entrypoint instead:

- validates the envelope and payload against the catalogue before any worker runs; an invalid
  event (or an undecodable body) goes to ``zhifa.dead-letter.<service>`` with its reason in the
  ``x-zhifa-reason`` header and a metric, and the next event is processed;
- treats ``AlreadyProcessed`` (a redelivered event) as success;
- delays a transiently failing event (database or broker unreachable) through ``<queue>.retry``
  with capped exponential backoff for as long as the outage lasts — delayed, never lost;
- retries an event failing with an unexpected error a bounded number of times
  (ZHIFA_MAX_ATTEMPTS), then dead-letters it (a poison event must not loop hot). Only such errors
  count (``x-zhifa-errors``): the delays of an outage do not use up the budget (issue 20, PLAT-1 — a
  body.registered delayed 5 times by a PostgreSQL failover was dead-lettered at its first unique-key
  race). A unique-key violation is such an error, not transient: one that comes from a race costs an
  attempt and passes (the effects are written race-free, services.common.db.get_or_create), one that
  comes from the data fails every time and must end in the dead-letter queue, not loop forever;
- delays an event for a case its body does not own (``ownership.AwaitingOwner``: the transfer
  that would make it the owner may still be on its way) for ZHIFA_OWNERSHIP_WAIT_SECONDS, then
  dead-letters it as ``case_owned_by_other_body`` (SEC-2);
- acks the original only after the retry/dead-letter copy is confirmed by the broker; if that
  publish fails the original is requeued instead.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from functools import partial

from kombu.exceptions import OperationalError as KombuOperationalError
from nameko.amqp.consume import Consumer as ConsumerCore
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import decode_from_headers
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import OperationalError as SqlOperationalError
from sqlalchemy.exc import TimeoutError as SqlPoolTimeout

from services.common import metrics, ownership, settings
from services.common.auth import amqp_senders_cached, sender_refusal
from services.common.bus import (SENDER_HEADER, HandlerBinding, dead_letter_exchange, dead_letter_queue,
                                 quorum_enabled, retry_queue, retry_queue_name)
from services.common.deadletters import UNAUTHORISED_SENDER
from services.common.db import AlreadyProcessed
from services.common.events import DEPARTMENTS, ConflictingDuplicate, InvalidEvent, parse_event
from services.common import federation, tiers, wirejson

log = logging.getLogger(__name__)

wirejson.install()     # every delivery a service receives is decoded with orjson (issue 17)

ATTEMPTS_HEADER = "x-zhifa-attempts"          # deliveries delayed so far, for any reason
ERRORS_HEADER = "x-zhifa-errors"              # of them, failures with a non-transient error (the budget)
WAITING_HEADER = "x-zhifa-waiting-since"       # first refusal of an event awaiting its case's owner
REASON_HEADER = "x-zhifa-reason"
QUEUE_HEADER = "x-zhifa-queue"
MAX_BACKOFF_MS = 30_000
RETRY_JITTER = (0.5, 1.5)     # each retry delay × a factor in this range (see _retry)


#: nameko sources of the tier links (services/common/federation.py) → (direction, origin check)
LINK_CHECKS = {federation.UPWARD_EXCHANGE: ("upward", tiers.upward_refusal),
               federation.DOWNWARD_EXCHANGE: ("downward", tiers.downward_refusal)}


class TransientError(Exception):
    """Raise from a handler for a failure that will pass (the event is delayed, not dead-lettered)."""


# SQLSTATE classes of failures that pass by themselves (PostgreSQL appendix A): 08 connection exception,
# 40 transaction rollback (serialization failure, deadlock), 53 insufficient resources (disk full,
# out of memory, too many connections), 57 operator intervention (shutdown, query cancelled),
# 58 system error (I/O), and 55P03 lock not available. Everything else — 22 data exception (value too
# long), 23 integrity constraint violation, 54 program limit exceeded (a text too long for the search
# index), 42 syntax or access rule — fails again with the same event: poison, not an outage.
TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
TRANSIENT_SQLSTATES = ("55P03",)
# SQLite primary result codes of the same kind: BUSY, LOCKED, NOMEM, IOERR, FULL, CANTOPEN, PROTOCOL
TRANSIENT_SQLITE_CODES = (5, 6, 7, 10, 13, 14, 15)


def is_transient(exc: BaseException) -> bool:
    """True for a failure that will pass (database or broker unreachable, a lock or deadlock, a full
    disk): the event is delayed for as long as it lasts. False for one that will fail again with the
    same event (a data error, a constraint violation, a limit of the database): retried
    ZHIFA_MAX_ATTEMPTS times, then dead-lettered with its reason (issue 14: such an error used to be
    an OperationalError in SQLAlchemy's taxonomy and was retried forever)."""
    if isinstance(exc, (TransientError, DisconnectionError, SqlPoolTimeout, KombuOperationalError,
                        ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, SqlOperationalError):
        return _operational_error_passes(exc.orig)
    return False


def _operational_error_passes(orig) -> bool:
    sqlstate = getattr(orig, "sqlstate", None)                # psycopg 3
    if sqlstate:
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES
    code = getattr(orig, "sqlite_errorcode", None)            # sqlite3 (Python 3.11+)
    if code is not None:
        return code & 0xFF in TRANSIENT_SQLITE_CODES
    return True     # no code: a failure to connect or a lost connection


class _DeadLetteringConsumer(ConsumerCore):
    """kombu's default for an undecodable body is log-and-ack; dead-letter it instead."""

    decode_error_handler = None

    def on_decode_error(self, message, exc):
        if self.decode_error_handler is not None:
            self.decode_error_handler(message, exc)
        else:  # pragma: no cover - set in ReliableEventHandler.setup
            message.requeue()


class ReliableEventHandler(EventHandler):
    consumer_cls = _DeadLetteringConsumer

    def __init__(self, source_service, event_type, **kwargs):
        kwargs.setdefault("expected_exceptions", (AlreadyProcessed, InvalidEvent, ownership.AwaitingOwner))
        kwargs.setdefault("prefetch_count", 20)
        super().__init__(source_service, event_type, requeue_on_error=False, **kwargs)

    # -- set-up -------------------------------------------------------------------------------
    def setup(self):
        super().setup()
        self.consumer.decode_error_handler = self._on_decode_error
        service = self.container.service_name
        # the queue's arguments as bus-init declares them (quorum queue, delivery limit — issue 20), else 406;
        # the consumer holds this Queue object and binds it when it starts
        quorum = quorum_enabled(self.amqp_uri)
        self.queue.queue_arguments = HandlerBinding(service, self.method_name, self.source_service,
                                                    self.event_type).queue(quorum).queue_arguments
        self.internal_user = settings.amqp_user(self.amqp_uri)
        # read once, not per delivery (issue 17): a setting is read from config and the environment each time
        self.future_tolerance = settings.future_tolerance()
        self.publisher = Publisher(self.amqp_uri, use_confirms=True, mandatory=True, declare=[
            dead_letter_exchange(), dead_letter_queue(service, quorum), retry_queue(self.queue.name, quorum)])

    def sender(self, message):
        """The broker user who published ``message`` (``user_id``, verified by RabbitMQ) — or, for a
        message bus-init moved while migrating its queue (published by the suite's own user), the
        original sender it kept in ``x-zhifa-sender`` (only the suite's user can publish that)."""
        user = (message.properties or {}).get("user_id")
        moved = (message.headers or {}).get(SENDER_HEADER)
        return moved if moved and user == self.internal_user else user

    # -- receiving ----------------------------------------------------------------------------
    def accept(self, body, message):
        """The validated event of a delivery, or None when it was dead-lettered: invalid, or a
        departmental event its sender may not publish (``auth.sender_refusal``)."""
        try:
            event = parse_event(body, expected_type=self.event_type, tolerance=self.future_tolerance)
        except InvalidEvent as exc:
            self._dead_letter(message, body_repr=body,
                              reason=f"{exc.reason}: {json.dumps(exc.errors, ensure_ascii=False)}",
                              metric_reason="invalid")
            return None
        if self.source_service == DEPARTMENTS:
            refusal = sender_refusal(event, self.sender(message), amqp_senders_cached, self.internal_user)
            if refusal is not None:
                self._dead_letter(message, reason=f"{UNAUTHORISED_SENDER}: {refusal}", metric_reason="unauthorised")
                return None
        elif self.source_service in LINK_CHECKS:
            # between tiers: the link an event came through must be its city's (issue 23, PLAT-1)
            direction, check = LINK_CHECKS[self.source_service]
            city, refusal = check(event, self.sender(message), message.headers, self.internal_user)
            if refusal is not None:
                self._dead_letter(message, reason=f"{UNAUTHORISED_SENDER}: {refusal}", metric_reason="wrong_link")
                return None
            if message.headers is not None:
                message.headers[tiers.LINK_HEADER] = city     # our own retry copies keep the link
            metrics.LINK_LAST_RECEIVED.labels(direction, city).set(time.time())
        return event

    def handle_message(self, body, message):
        event = self.accept(body, message)
        if event is None:
            return
        context_data = decode_from_headers(message.headers)
        started = time.perf_counter()
        handle_result = partial(self._handle_result, message, event, started)

        def spawn_worker():
            try:
                self.container.spawn_worker(self, (event,), {}, context_data=context_data,
                                            handle_result=handle_result)
            except ContainerBeingKilled:
                self.consumer.requeue_message(message)

        self.container.spawn_managed_thread(
            spawn_worker, identifier=f"wait_for_worker_pool[{self.container.service_name}.{self.method_name}]")

    def _handle_result(self, message, event, started, worker_ctx, result=None, exc_info=None):
        service = self.container.service_name
        exc = exc_info[1] if exc_info else None
        if exc is None:
            metrics.EVENTS_CONSUMED.labels(service, event.event_type).inc()
            metrics.HANDLER_SECONDS.labels(service, event.event_type).observe(time.perf_counter() - started)
            self.consumer.ack_message(message)
        elif isinstance(exc, AlreadyProcessed):
            metrics.EVENTS_DUPLICATE.labels(service, event.event_type).inc()
            self.consumer.ack_message(message)
        elif isinstance(exc, InvalidEvent):
            self._dead_letter(message, reason=exc.reason, metric_reason=(
                ConflictingDuplicate.REASON if isinstance(exc, ConflictingDuplicate) else "rejected"))
        elif isinstance(exc, ownership.AwaitingOwner):
            self._await_owner(message, exc.reason)
        else:
            self.retry_or_dead_letter(message, exc)
        return result, exc_info

    def retry_or_dead_letter(self, message, exc: BaseException) -> None:
        """A failed event: delayed while the failure is transient (however long), retried after an error
        until ZHIFA_MAX_ATTEMPTS errors (transient delays do not count), then dead-lettered."""
        attempts = self._attempts(message) + 1
        if is_transient(exc):
            self._retry(message, attempts, f"transient: {exc!r}"[:500], "transient")
            return
        errors = self._errors(message) + 1
        if errors < settings.max_attempts():
            self._retry(message, attempts, f"error: {exc!r}"[:500], "error", errors=errors)
        else:
            self._dead_letter(message, reason=f"failed {errors} times; last error: {exc!r}"[:1000],
                              metric_reason="poison", errors=errors)

    def _on_decode_error(self, message, exc):
        self._dead_letter(message, reason=f"undecodable body ({message.content_type}): {exc!r}"[:1000],
                          metric_reason="undecodable")

    # -- leaving ------------------------------------------------------------------------------
    @staticmethod
    def _attempts(message, header: str = ATTEMPTS_HEADER) -> int:
        try:
            return int((message.headers or {}).get(header, 0))
        except (TypeError, ValueError):
            return 0

    @classmethod
    def _errors(cls, message) -> int:
        return cls._attempts(message, ERRORS_HEADER)

    def _republish(self, message, *, exchange, routing_key, headers, expiration=None):
        raw = message.body
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        self.publisher.publish(raw, exchange=exchange, routing_key=routing_key, serializer=None,
                               content_type=message.content_type or "application/octet-stream",
                               content_encoding=message.content_encoding or "binary",
                               headers={**(message.headers or {}), **headers}, expiration=expiration,
                               # the copy comes back from the suite itself (trusted: already checked)
                               user_id=self.internal_user)

    def _retry(self, message, attempts, reason, metric_reason, errors: int | None = None):
        # jittered (×0.5–1.5): two events that failed together (a race on one row, an outage's backlog) must
        # not come back together each time and fail in lockstep until ZHIFA_MAX_ATTEMPTS dead-letters them
        delay_ms = int(min(settings.retry_delay_ms() * 2 ** min(attempts - 1, 10), MAX_BACKOFF_MS)
                       * random.uniform(*RETRY_JITTER))
        try:
            self._republish(message, exchange="", routing_key=retry_queue_name(self.queue.name),
                            headers={ATTEMPTS_HEADER: attempts, REASON_HEADER: reason,
                                     **({ERRORS_HEADER: errors} if errors is not None else {})},
                            expiration=delay_ms / 1000.0)
        except Exception:
            log.exception("could not delay %s; requeueing", self.queue.name)
            self.consumer.requeue_message(message)
            return
        metrics.EVENTS_RETRIED.labels(self.container.service_name, self.event_type, metric_reason).inc()
        log.warning("%s: attempt %s failed (%s); retry in %s ms", self.queue.name, attempts, reason, delay_ms)
        self.consumer.ack_message(message)

    def _await_owner(self, message, reason):
        """An event for a case its body does not own (SEC-2): delayed through the retry queue while
        a transfer making its body the owner may still arrive, then dead-lettered with the reason."""
        headers = message.headers or {}
        now = time.time()
        try:
            since = float(headers.get(WAITING_HEADER))
        except (TypeError, ValueError):
            since = now
        if now - since >= ownership.wait_seconds():
            metrics.OWNERSHIP_REFUSED.labels(self.container.service_name, self.event_type).inc()
            self._dead_letter(message, reason=reason[:1000], metric_reason=ownership.OWNED_BY_OTHER)
            return
        # the wait doubles (as long as it has waited so far), capped, and ends at the deadline
        delay_ms = min(max(settings.retry_delay_ms(), int((now - since) * 1000)), MAX_BACKOFF_MS,
                       max(1, int((since + ownership.wait_seconds() - now) * 1000)))
        try:
            self._republish(message, exchange="", routing_key=retry_queue_name(self.queue.name),
                            headers={REASON_HEADER: reason[:500], WAITING_HEADER: since},
                            expiration=delay_ms / 1000.0)
        except Exception:
            log.exception("could not delay %s; requeueing", self.queue.name)
            self.consumer.requeue_message(message)
            return
        metrics.EVENTS_RETRIED.labels(self.container.service_name, self.event_type, "awaiting_owner").inc()
        self.consumer.ack_message(message)

    def _dead_letter(self, message, reason, metric_reason, body_repr=None, errors: int | None = None):
        service = self.container.service_name
        try:
            self._republish(message, exchange=dead_letter_exchange().name,
                            routing_key=f"{service}.{self.event_type}",
                            headers={REASON_HEADER: reason, QUEUE_HEADER: self.queue.name,
                                     ATTEMPTS_HEADER: self._attempts(message),
                                     ERRORS_HEADER: self._errors(message) if errors is None else errors,
                                     "x-zhifa-dead-lettered-at": dt.datetime.now(dt.timezone.utc).isoformat()})
        except Exception:
            log.exception("could not dead-letter a message from %s; requeueing", self.queue.name)
            self.consumer.requeue_message(message)
            return
        metrics.EVENTS_REJECTED.labels(service, self.event_type, metric_reason).inc()
        log.error("%s: dead-lettered (%s)", self.queue.name, reason)
        self.consumer.ack_message(message)


event_handler = ReliableEventHandler.decorator
