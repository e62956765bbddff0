"""Links between tier suites (PLAT-1, COORD-4): RabbitMQ's own shovel plugin, not a home-made relay.

Upward (city → province): a durable queue ``zhifa.upward`` in the city's vhost is bound to the city's
``<service>.events`` exchanges for the event types the province needs (config/federation.yaml); a
dynamic shovel moves it to the province's ``upward.events`` exchange with ``ack-mode: on-confirm``.
While the link is down the queue holds everything; after it heals the shovel resumes; anything sent
twice is deduplicated by the idempotent consumers (event id).

Downward (province → city): every zhifa event carries the headers ``zhifa-region`` and ``zhifa-city``
(set by the outbox relay). The province's ``<service>.events`` exchanges are bound (exchange-to-
exchange) to a headers exchange ``zhifa.downward`` for the downward event types; each city has a
queue ``zhifa.downward.<city>`` bound to it with ``zhifa-city = <city>``, shovelled to the city's
``downward.events``. A city never receives another city's directives.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from kombu import Connection, Exchange, Queue
from marshmallow import Schema, fields, validate

from services.common.bus import events_exchange
from services.common.configfile import Keyed, load_config_file
from services.common.identifiers import city_of  # noqa: F401 - routing key of the downward link

CONFIG = Path(__file__).resolve().parents[2] / "config" / "federation.yaml"
UPWARD_QUEUE = "zhifa.upward"
UPWARD_EXCHANGE = "upward"       # nameko source name: exchange "upward.events"
DOWNWARD_EXCHANGE = "downward"   # nameko source name: exchange "downward.events"
DOWNWARD_HEADERS_EXCHANGE = "zhifa.downward"


class _Links(Schema):
    upward = Keyed(fields.List(fields.String(validate=validate.Length(min=1))), load_default=dict)
    downward = Keyed(fields.List(fields.String(validate=validate.Length(min=1))), load_default=dict)


def load_links(path: str | Path | None = None) -> dict:
    """``config/federation.yaml``: {"upward": {source: [event type, …]}, "downward": {…}}."""
    return load_config_file(Path(path or CONFIG), _Links)


def downward_queue(city_code: str) -> str:
    return f"{DOWNWARD_HEADERS_EXCHANGE}.{city_code}"


def declare_city_side(city_uri: str, links: dict | None = None) -> None:
    """City vhost: the upward buffer queue with its bindings, and the downward landing exchange."""
    links = links or load_links()
    with Connection(city_uri) as conn:
        channel = conn.channel()
        events_exchange(DOWNWARD_EXCHANGE)(channel).declare()
        queue = Queue(UPWARD_QUEUE, durable=True)(channel)
        queue.declare()
        for source, types in (links.get("upward") or {}).items():
            exchange = events_exchange(source)(channel)
            exchange.declare()
            for event_type in types:
                queue.bind_to(exchange=exchange.name, routing_key=event_type)
        channel.close()


def declare_province_side(province_uri: str, city_codes: list[str], links: dict | None = None) -> None:
    """Province vhost: the upward landing exchange, the downward headers exchange and per-city queues."""
    links = links or load_links()
    with Connection(province_uri) as conn:
        channel = conn.channel()
        events_exchange(UPWARD_EXCHANGE)(channel).declare()
        headers = Exchange(DOWNWARD_HEADERS_EXCHANGE, type="headers", durable=True)(channel)
        headers.declare()
        for source, types in (links.get("downward") or {}).items():
            exchange = events_exchange(source)(channel)
            exchange.declare()
            for event_type in types:
                channel.exchange_bind(destination=headers.name, source=exchange.name, routing_key=event_type)
        for city in city_codes:
            queue = Queue(downward_queue(city), durable=True)(channel)
            queue.declare()
            queue.bind_to(exchange=headers.name, arguments={"x-match": "all", "zhifa-city": city})
        channel.close()


def _vhost(uri: str) -> str:
    path = urlparse(uri).path
    return unquote(path[1:]) if path and path != "/" else "/"


def shovel(src_uri: str, src_queue: str, dest_uri: str, dest_exchange: str, *, link_user: str) -> dict:
    """A dynamic shovel definition (component "shovel") that acks only after the destination confirms
    and publishes every message with ``user_id`` = the link's broker user (RabbitMQ checks it is the
    shovel's own login): the receiving suite knows which link an event came through (issue 23)."""
    return {"src-protocol": "amqp091", "src-uri": src_uri, "src-queue": src_queue,
            "dest-protocol": "amqp091", "dest-uri": dest_uri, "dest-exchange": dest_exchange,
            "ack-mode": "on-confirm", "reconnect-delay": 1, "src-delete-after": "never",
            "dest-add-forward-headers": False, "dest-publish-properties": {"user_id": link_user}}


def link_definitions(province_uri: str, city_uri: str, city_code: str, *, link_user: str,
                     city_uri_from_province: str | None = None,
                     province_uri_from_city: str | None = None) -> list[tuple[str, str, dict]]:
    """(vhost, shovel name, definition) for one city↔province link, both shovels logging in as the
    link's own broker user (the URIs carry its credentials). The shovels run in the vhost of their
    source; the URIs are as seen from the broker (may differ from the caller's)."""
    return [
        (_vhost(city_uri), f"zhifa-upward-{city_code}",
         shovel(city_uri_from_province or city_uri, UPWARD_QUEUE, province_uri_from_city or province_uri,
                f"{UPWARD_EXCHANGE}.events", link_user=link_user)),
        (_vhost(province_uri), f"zhifa-downward-{city_code}",
         shovel(province_uri_from_city or province_uri, downward_queue(city_code), city_uri_from_province or city_uri,
                f"{DOWNWARD_EXCHANGE}.events", link_user=link_user)),
    ]


def declare_link_side(amqp_uri: str) -> str | None:
    """bus-init: this suite's side of its tier links, by its tier (services/common/tiers.py) — a
    province's landing exchange, downward routing and one queue per linked city; a city's upward
    buffer and downward landing exchange. The broker definitions hold the same (imported before
    bus-init runs); declaring them again is a no-op."""
    from services.common import tiers

    if tiers.is_province():
        declare_province_side(amqp_uri, list(tiers.linked_cities()))
        return "province"
    if tiers.suite_region():
        declare_city_side(amqp_uri)
        return "city"
    return None


def apply_with_rabbitmqctl(definitions: list[tuple[str, str, dict]]) -> None:
    """Create or update the shovels on the local node (operators may load definitions files instead)."""
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    for vhost, name, definition in definitions:
        subprocess.run([exe, "set_parameter", "-p", vhost, "shovel", name, json.dumps(definition)], check=True,
                       capture_output=True, timeout=60)


def amqp_uri(host: str, vhost: str, user: str = "guest", password: str = "guest") -> str:
    return f"amqp://{user}:{password}@{host}/{quote(vhost, safe='')}"
