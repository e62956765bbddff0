"""The outbox relay: publishes a service's pending outbox rows to ``<service>.events``.

Publisher confirms are on and ``mandatory`` is set, so a message is marked published only after the
broker has taken responsibility for it; one no queue is bound for is marked ``unrouted`` (kept,
counted, replayable) instead of vanishing (NAMEKO-NOTES, delivery). A crash after publish and
before the mark re-publishes on restart: consumers are idempotent by event id.
"""
from __future__ import annotations

import json
import logging
import time

from nameko.amqp.publish import Publisher, UndeliverableMessage
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import metrics
from services.common.bus import events_exchange
from services.common.db import OutboxMessage, utcnow
from services.common.federation import city_of

log = logging.getLogger(__name__)


def routing_headers(envelope_json: str) -> dict:
    """Headers tier links route on (services/common/federation.py): the event's region and its city."""
    region = json.loads(envelope_json).get("region_code") or ""
    return {"zhifa-region": region, "zhifa-city": city_of(region) if len(region) >= 6 else ""}


class OutboxRelay:
    def __init__(self, engine, amqp_uri: str, service: str, nudge, batch_size: int = 200, idle_wait: float = 0.5):
        self.engine = engine
        self.service = service
        self.nudge = nudge
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.exchange = events_exchange(service)
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True,
                                   declare=[self.exchange], serializer="json")
        self.running = True

    def stop(self):
        self.running = False
        self.nudge.set()

    def run(self):
        while self.running:
            try:
                relayed = self.relay_batch()
            except Exception:  # broker or database down: wait and try again, rows stay pending
                log.exception("outbox relay of %s failed; retrying", self.service)
                relayed = 0
                time.sleep(1.0)
            if relayed < self.batch_size:
                self.nudge.wait(self.idle_wait)
                self.nudge.clear()

    def relay_batch(self) -> int:
        with Session(self.engine) as session, session.begin():
            query = (select(OutboxMessage).where(OutboxMessage.status == "pending")
                     .order_by(OutboxMessage.id).limit(self.batch_size))
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)  # replicas share the work
            rows = session.scalars(query).all()
            for row in rows:
                try:
                    self.publisher.publish(row.envelope, exchange=self.exchange, routing_key=row.event_type,
                                           content_type="application/json", serializer=None,
                                           content_encoding="utf-8", message_id=row.event_id,
                                           headers=routing_headers(row.envelope))
                    row.status = "published"
                    metrics.OUTBOX_PUBLISHED.labels(self.service, row.event_type).inc()
                except UndeliverableMessage:
                    row.status = "unrouted"
                    metrics.OUTBOX_UNROUTED.labels(self.service, row.event_type).inc()
                    log.warning("outbox %s: no queue bound for %s", self.service, row.event_type)
                row.published_at = utcnow()
            pending = session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.status == "pending"))
        metrics.OUTBOX_PENDING.labels(self.service).set(max(0, (pending or 0) - len(rows)))
        return len(rows)
