"""The outbox relay: publishes a service's pending outbox rows to ``<service>.events``.

Publisher confirms are on and ``mandatory`` is set, so a message is marked published only after the
broker has taken responsibility for it (NAMEKO-NOTES, delivery). One no queue is bound for is normal
publish/subscribe — an event type nobody consumes (yet) — not a failure: the broker's return is
counted per type (``zhifa_outbox_unsubscribed_total``) and the row is marked published like the
others, so it is purged after the retention period (issue 20: such rows were kept as ``unrouted``
forever and kept an alert firing in normal operation). What is a failure — the broker refusing or not
confirming, or the relay unable to publish — is counted in ``zhifa_outbox_relay_failures_total``
(alert ZhifaOutboxRelayFailing) and the rows stay pending. A crash after publish and before the mark
re-publishes on restart: consumers are idempotent by event id.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import socket
import time
from collections import Counter

import amqp
from kombu import Connection
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from services.common import metrics
from services.common.bus import events_exchange
from services.common.db import OutboxMessage, one_of, utcnow
from services.common.identifiers import city_of

log = logging.getLogger(__name__)


def routing_headers(envelope_json: str) -> dict:
    """Headers tier links route on (services/common/federation.py): the event's region and its city."""
    region = json.loads(envelope_json).get("region_code") or ""
    return {"zhifa-region": region, "zhifa-city": city_of(region) if len(region) >= 6 else ""}


class ConfirmedBatchPublisher:
    """Publishes a batch of messages pipelined on one channel in confirm mode, then waits until the
    broker has confirmed every one. A per-message synchronous confirm (nameko's ``Publisher`` with
    ``use_confirms``) costs a broker round trip — an fsync-batch wait — per event; pipelining costs
    one per batch (NAMEKO-NOTES, throughput). ``mandatory`` is set: the broker returns a message no
    queue is bound for (basic.return, before its ack), and the caller counts it as unsubscribed."""

    def __init__(self, amqp_uri: str, exchange, confirm_timeout: float = 30.0):
        self.amqp_uri = amqp_uri
        self.exchange = exchange
        self.confirm_timeout = confirm_timeout
        self.connection = None
        self.channel = None

    def _open(self):
        if self.channel is not None:
            return self.channel
        connection = Connection(self.amqp_uri)
        connection.ensure_connection(max_retries=1)
        channel = connection.channel()
        self.exchange(channel).declare()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        channel.events["basic_return"].add(self._on_return)
        self.connection, self.channel = connection, channel
        self.next_tag, self.outstanding, self.nacked, self.returned = 1, set(), set(), set()
        return channel

    def close(self):
        connection, self.connection, self.channel = self.connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.release()

    def _settle(self, tag, multiple, into=None):
        tags = {t for t in self.outstanding if t <= tag} if multiple else {tag} & self.outstanding
        self.outstanding -= tags
        if into is not None:
            into |= tags

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple)

    def _on_nack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, self.nacked)

    def _on_return(self, exc, exchange, routing_key, message):
        self.returned.add(message.properties.get("message_id"))

    def publish_all(self, messages) -> set:
        """``messages``: (event_id, routing_key, body, headers). Returns the event ids the broker
        returned as unroutable; raises if any was refused or unconfirmed (nothing is marked then)."""
        try:
            channel = self._open()
            self.nacked.clear()
            self.returned.clear()
            for event_id, routing_key, body, headers in messages:
                channel.basic_publish(
                    amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                                 application_headers=headers, delivery_mode=2, message_id=event_id),
                    exchange=self.exchange.name, routing_key=routing_key, mandatory=True)
                self.outstanding.add(self.next_tag)
                self.next_tag += 1
            deadline = time.monotonic() + self.confirm_timeout
            while self.outstanding:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(self.outstanding)} messages not confirmed by the broker")
                with contextlib.suppress(socket.timeout):
                    self.connection.drain_events(timeout=min(remaining, 1.0))
            if self.nacked:
                raise ConnectionError(f"the broker refused {len(self.nacked)} messages (basic.nack)")
            return set(self.returned)
        except Exception:
            self.close()      # a fresh channel (and delivery tags) next time
            raise


def purge_published(engine, older_than: dt.datetime, chunk: int = 5000) -> int:
    """Delete outbox rows published before ``older_than``, in chunks (short transactions). Pending
    rows are kept (still to go out). Rows an earlier version marked ``unrouted`` (published, no
    subscriber) go too (issue 20). Idempotent, so replicas may run it at the same time."""
    removed = 0
    while True:
        with Session(engine) as session, session.begin():
            ids = session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.status.in_(("published", "unrouted")), OutboxMessage.published_at < older_than)
                .order_by(OutboxMessage.id).limit(chunk)).all()
            if ids:
                session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        removed += len(ids)
        if len(ids) < chunk:
            return removed


class OutboxRelay:
    """Relays pending rows. Published rows are purged after ``ZHIFA_OUTBOX_RETENTION_HOURS`` by the
    service's housekeeping job (services/common/housekeeping.py, issue 20)."""

    def __init__(self, engine, amqp_uri: str, service: str, nudge, batch_size: int = 500, idle_wait: float = 0.5):
        self.engine = engine
        self.service = service
        self.nudge = nudge
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.exchange = events_exchange(service)
        self.publisher = ConfirmedBatchPublisher(amqp_uri, self.exchange)
        self.running = True

    def stop(self):
        self.running = False
        self.nudge.set()
        self.publisher.close()

    def run(self):
        while self.running:
            try:
                relayed = self.relay_batch()
            except Exception:  # broker or database down: wait and try again, rows stay pending
                metrics.OUTBOX_RELAY_FAILURES.labels(self.service).inc()
                log.exception("outbox relay of %s failed; retrying", self.service)
                relayed = 0
                time.sleep(1.0)
            if relayed < self.batch_size:
                self.nudge.wait(self.idle_wait)
                self.nudge.clear()

    def relay_batch(self) -> int:
        """Publish up to ``batch_size`` pending rows (oldest first), all confirmed, then mark them
        published in the same transaction that locked them (one Core UPDATE: the relay runs after
        every committed batch, and ORM objects and an UPDATE per row were a tenth of the records
        service's time). Events the broker returned because no queue is bound for their type are
        counted per type (no subscriber: normal publish/subscribe, issue 20) and marked published too."""
        table = OutboxMessage.__table__
        postgres = self.engine.dialect.name == "postgresql"
        with Session(self.engine) as session, session.begin():
            query = (select(table.c.id, table.c.event_id, table.c.event_type, table.c.envelope)
                     .where(table.c.status == "pending").order_by(table.c.id).limit(self.batch_size))
            if postgres:
                query = query.with_for_update(skip_locked=True)  # replicas share the work
            rows = session.execute(query).all()
            if rows:
                returned = self.publisher.publish_all(
                    [(row.event_id, row.event_type, row.envelope, routing_headers(row.envelope)) for row in rows])
                session.execute(update(table).where(one_of(session, table.c.id, [row.id for row in rows]))
                                .values(status="published", published_at=utcnow()))
                published: Counter = Counter(row.event_type for row in rows)
                unsubscribed: Counter = Counter(row.event_type for row in rows if row.event_id in returned)
                for event_type, n in published.items():
                    metrics.OUTBOX_PUBLISHED.labels(self.service, event_type).inc(n)
                for event_type, n in unsubscribed.items():
                    metrics.OUTBOX_UNSUBSCRIBED.labels(self.service, event_type).inc(n)
                    log.debug("outbox %s: no queue bound for %s (%s events)", self.service, event_type, n)
            # a batch that was not full drained what this relay could see: no count query then
            pending = len(rows) if len(rows) < self.batch_size else session.scalar(
                select(func.count()).select_from(table).where(table.c.status == "pending"))
        metrics.OUTBOX_PENDING.labels(self.service).set(max(0, (pending or 0) - len(rows)))
        return len(rows)
