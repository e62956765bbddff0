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

import yaml
from kombu import Connection, Exchange, Queue

from services.common.bus import events_exchange
from services.common.identifiers import city_of  # noqa: F401 - routing key of the downward link

CONFIG = Path(__file__).resolve().parents[2] / "config" / "federation.yaml"
UPWARD_QUEUE = "zhifa.upward"
UPWARD_EXCHANGE = "upward"       # nameko source name: exchange "upward.events"
DOWNWARD_EXCHANGE = "downward"   # nameko source name: exchange "downward.events"
DOWNWARD_HEADERS_EXCHANGE = "zhifa.downward"


def load_links(path: str | Path | None = None) -> dict:
    data = yaml.safe_load(Path(path or CONFIG).read_text(encoding="utf-8")) or {}
    for direction in ("upward", "downward"):
        for source, types in (data.get(direction) or {}).items():
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise ValueError(f"federation config: {direction}.{source} must be a list of event types")
    return data


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


def shovel(src_uri: str, src_queue: str, dest_uri: str, dest_exchange: str) -> dict:
    """A dynamic shovel definition (component "shovel") that acks only after the destination confirms."""
    return {"src-protocol": "amqp091", "src-uri": src_uri, "src-queue": src_queue,
            "dest-protocol": "amqp091", "dest-uri": dest_uri, "dest-exchange": dest_exchange,
            "ack-mode": "on-confirm", "reconnect-delay": 1, "src-delete-after": "never",
            "dest-add-forward-headers": False}


def link_definitions(province_uri: str, city_uri: str, city_code: str, *, city_uri_from_province: str | None = None,
                     province_uri_from_city: str | None = None) -> list[tuple[str, str, dict]]:
    """(vhost, shovel name, definition) for one city↔province link. The shovels run in the vhost of
    their source; the URIs are as seen from the broker (may differ from the caller's)."""
    return [
        (_vhost(city_uri), f"zhifa-upward-{city_code}",
         shovel(city_uri_from_province or city_uri, UPWARD_QUEUE, province_uri_from_city or province_uri,
                f"{UPWARD_EXCHANGE}.events")),
        (_vhost(province_uri), f"zhifa-downward-{city_code}",
         shovel(province_uri_from_city or province_uri, downward_queue(city_code), city_uri_from_province or city_uri,
                f"{DOWNWARD_EXCHANGE}.events")),
    ]


def apply_with_rabbitmqctl(definitions: list[tuple[str, str, dict]]) -> None:
    """Create or update the shovels on the local node (operators may load definitions files instead)."""
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    for vhost, name, definition in definitions:
        subprocess.run([exe, "set_parameter", "-p", vhost, "shovel", name, json.dumps(definition)], check=True,
                       capture_output=True, timeout=60)


def amqp_uri(host: str, vhost: str, user: str = "guest", password: str = "guest") -> str:
    return f"amqp://{user}:{password}@{host}/{quote(vhost, safe='')}"
