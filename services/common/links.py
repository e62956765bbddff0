"""Watching the tier links (issue 23): heartbeats both ways and what waits in each link's buffer.

Operators must see a cut link without a broker plugin: every few seconds
(``ZHIFA_LINK_HEARTBEAT_SECONDS``, default 5; 0 turns it off) each suite's evaluation service

- publishes a ``link.heartbeat`` over its links — a city one upward, a province one per linked city
  downward (routed by the ``zhifa-city`` header) — with a short TTL, so a heartbeat that waited in a
  cut link's buffer expires instead of piling up; the receiving entrypoint's origin check sets
  ``zhifa_link_last_received_timestamp_seconds{direction, city}`` for every event that arrives over a
  link (services/common/entrypoints.py) and the handler records the heartbeat's transit time in
  ``zhifa_link_delay_seconds``;
- reads the depth of its side's link buffers (``zhifa.upward`` at a city, ``zhifa.downward.<city>`` at
  the province) into ``zhifa_link_buffered_messages{direction, city}`` — what a cut holds back.

The alert ZhifaTierLinkCut (deploy/prometheus/alerts.yml) fires when a link's last arrival is older
than 25 s, or its heartbeats take longer than that — a cut, or a link flapping too fast to deliver.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import uuid

from kombu import Connection, Producer
from prometheus_client import Gauge

from services.common import federation, settings, tiers
from services.common.bus import events_exchange
from services.common.identifiers import city_of

log = logging.getLogger(__name__)

HEARTBEAT = "link.heartbeat"
TTL_SECONDS = 60

LINK_DELAY = Gauge("zhifa_link_delay_seconds", "Transit time of the last heartbeat received over a tier link",
                   ["direction", "city"])
LINK_BUFFERED = Gauge("zhifa_link_buffered_messages",
                      "Messages waiting in this suite's buffer of a tier link (held back while the link is cut)",
                      ["direction", "city"])


def interval() -> float:
    return settings.get("ZHIFA_LINK_HEARTBEAT_SECONDS")


def sides() -> list[tuple[str, str, str]]:
    """(direction, city, buffer queue) of each link this suite sends into."""
    if tiers.is_province():
        return [("downward", city, federation.downward_queue(city)) for city in tiers.linked_cities()]
    own = tiers.suite_region()
    return [("upward", own, federation.UPWARD_QUEUE)] if own else []


def envelope(direction: str, city: str, sender: str) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    return {"event_id": str(uuid.uuid4()), "event_type": HEARTBEAT, "schema_version": "1.0",
            "occurred_at": now.isoformat(), "source_system": "zhifa.evaluation", "region_code": city,
            "body_id": "zhifa-link", "case_id": None, "correlation_id": None,
            "payload": {"sent_at": now.isoformat(), "direction": direction, "sender_region": sender}}


def beat(amqp_uri: str) -> None:
    """Send this suite's heartbeats and refresh its buffer gauges (one connection per beat)."""
    links = sides()
    if not links:
        return
    sender = tiers.suite_region() or "000000"
    with Connection(amqp_uri, connect_timeout=5) as conn:
        channel = conn.channel()
        producer = Producer(channel)
        for direction, city, queue in links:
            body = envelope(direction, city, sender)
            producer.publish(json.dumps(body), exchange=events_exchange("evaluation").name, routing_key=HEARTBEAT,
                             content_type="application/json", delivery_mode=1, expiration=TTL_SECONDS,
                             user_id=settings.amqp_user(amqp_uri),
                             headers={"zhifa-region": city, "zhifa-city": city})
            try:
                _, depth, _ = channel.queue_declare(queue, passive=True)
            except Exception:  # noqa: BLE001 - the buffer is not declared (yet): bus-init, definitions
                channel = conn.channel()
                producer = Producer(channel)
                continue
            LINK_BUFFERED.labels(direction, city).set(depth)
        channel.close()


def received(event) -> None:
    """A heartbeat arrived over a link: how long it took (the last-received time is set by the
    entrypoint for every event over a link)."""
    sent = event.payload["sent_at"]
    delay = (dt.datetime.now(dt.timezone.utc) - sent).total_seconds()
    LINK_DELAY.labels(event.payload["direction"], city_of(event.region_code)).set(max(0.0, delay))
