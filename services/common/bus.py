"""Message-bus topology: exchanges, handler queues, retry queues and dead-letter queues.

Why this exists (../shared/NAMEKO-NOTES.md): RabbitMQ confirms and then drops a message published
to an exchange with no bound queue, so every handler queue is declared durably by ``zhifa bus-init``
before any publisher runs. Queues are named exactly as nameko names event-handler queues
(``evt-<source>-<event_type>--<service>.<method>``), so nameko re-declaring them is a no-op.

- ``<source>.events`` — topic exchange per publisher (``departments`` for departmental systems).
- ``<queue>.retry`` — delay queue per handler queue; messages wait there (per-message TTL) and are
  dead-lettered back to ``<queue>`` through the default exchange. Its arguments never change, so
  re-declaring it can't fail with 406.
- ``zhifa.dead-letter`` — topic exchange; ``zhifa.dead-letter.<service>`` holds a service's dead
  letters (routing key ``<service>.<event_type>``) with the reason in the ``x-zhifa-reason`` header.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass

from kombu import Connection, Exchange, Queue

DEAD_LETTER_EXCHANGE = "zhifa.dead-letter"
ENTRYPOINTS_ATTR = "nameko_entrypoints"


def events_exchange(source: str) -> Exchange:
    # identical arguments to nameko.messaging.get_event_exchange, or RabbitMQ answers 406
    return Exchange(f"{source}.events", type="topic", durable=True, auto_delete=False)


def dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True)


def dead_letter_queue(service: str) -> Queue:
    return Queue(f"{DEAD_LETTER_EXCHANGE}.{service}", exchange=dead_letter_exchange(),
                 routing_key=f"{service}.#", durable=True)


def retry_queue_name(queue_name: str) -> str:
    return f"{queue_name}.retry"


def retry_queue(queue_name: str) -> Queue:
    return Queue(retry_queue_name(queue_name), durable=True, queue_arguments={
        "x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue_name})


@dataclass(frozen=True)
class HandlerBinding:
    service: str
    method: str
    source: str
    event_type: str

    @property
    def queue_name(self) -> str:
        return f"evt-{self.source}-{self.event_type}--{self.service}.{self.method}"

    def queue(self) -> Queue:
        return Queue(self.queue_name, exchange=events_exchange(self.source), routing_key=self.event_type,
                     durable=True, auto_delete=False, exclusive=False)


def handler_bindings(service_cls) -> list[HandlerBinding]:
    """The event-handler queues a nameko service class will consume from."""
    from nameko.events import EventHandler

    bindings = []
    for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, ENTRYPOINTS_ATTR, ()):
            if isinstance(entrypoint, EventHandler):
                bindings.append(HandlerBinding(service_cls.name, method_name,
                                               entrypoint.source_service, entrypoint.event_type))
    return bindings


def declare_topology(amqp_uri: str, service_classes, extra_sources=("departments",)) -> list[str]:
    """Declare exchanges, handler queues (+ retry queues) and dead-letter queues. Idempotent."""
    declared = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        dead_letter_exchange()(channel).declare()
        sources = set(extra_sources)
        for cls in service_classes:
            sources.add(cls.name)
            dlq = dead_letter_queue(cls.name)(channel)
            dlq.declare()
            declared.append(dlq.name)
            for binding in handler_bindings(cls):
                sources.add(binding.source)
                events_exchange(binding.source)(channel).declare()
                queue = binding.queue()(channel)
                queue.declare()
                retry_queue(binding.queue_name)(channel).declare()
                declared.append(binding.queue_name)
        for source in sources:
            events_exchange(source)(channel).declare()
        channel.close()
    return declared


def all_service_classes():
    """The nameko classes of every service in the registry (services/common/registry.py)."""
    from services.common.registry import service_classes

    return service_classes()
