"""Deliver events to a service's REAL event handlers on a real database, without a broker.

``Deliverer(ServiceClass, engine)`` builds a worker with ``nameko.testing.services.worker_factory``
whose ``db`` is the service's own ``DatabaseAccess`` on ``engine`` (and whose other dependencies are
given or mocked), validates each envelope as the entrypoint does (``parse_event``) and calls the
entrypoint method the service declared for the event's type: a batching method with a one-event
``EventBatch`` (ownership screen, processed-event claim, preload, the per-event method, one
transaction), a per-event method with the event. What the entrypoint would do with the outcome is
reported: applied, duplicate, or dead-lettered with its reason (refused, ``InvalidEvent``,
conflicting duplicate). For permutation tests of the services' rules (issue 14): fast enough for
hundreds of orders in seconds, and the same code paths as over AMQP after the message is parsed.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from types import SimpleNamespace

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.testing.services import worker_factory

from services.common.batching import BatchEventHandler, BatchResult, EventBatch
from services.common.db import AlreadyProcessed, DatabaseAccess, Database
from services.common.events import InvalidEvent, parse_event


@dataclass
class Delivery:
    outcome: str            # "applied" | "duplicate" | "dead_letter" | "waiting"
    reason: str | None = None


class Deliverer:
    def __init__(self, service_cls, engine, **dependencies):
        self.service_cls = service_cls
        provider = next(v for v in vars(service_cls).values() if isinstance(v, Database))
        self.provider = SimpleNamespace(engine=engine, service_name=service_cls.name,
                                        case_ownership=provider.case_ownership, outbox_nudge=threading.Event())
        self.dependencies = dependencies
        self.handlers: dict[str, tuple[str, bool]] = {}     # event type -> (method name, batching)
        for name, member in vars(service_cls).items():
            for entrypoint in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                event_type = getattr(entrypoint, "event_type", None)
                if event_type and event_type not in self.handlers:
                    self.handlers[event_type] = (name, isinstance(entrypoint, BatchEventHandler))

    def deliver(self, envelope: dict) -> Delivery:
        try:
            event = parse_event(envelope, expected_type=envelope.get("event_type"))
        except InvalidEvent as exc:
            return Delivery("dead_letter", exc.reason)
        method, batching = self.handlers[event.event_type]
        consumer = f"{self.service_cls.name}.{method}"
        db = DatabaseAccess(self.provider, consumer)
        worker = worker_factory(self.service_cls, db=db, **self.dependencies)
        try:
            if batching:
                result = getattr(worker, method)(EventBatch([event], [consumer]))
            else:
                result = getattr(worker, method)(event)
        except AlreadyProcessed:
            return Delivery("duplicate")
        except InvalidEvent as exc:              # conflicting duplicates too
            return Delivery("dead_letter", exc.reason)
        if isinstance(result, BatchResult):
            if event.event_id in result.refused:
                return Delivery("dead_letter", result.refused[event.event_id])
            if result.conflicts:
                return Delivery("dead_letter", next(iter(result.conflicts.values())))
            if event.event_id in result.waiting:
                return Delivery("waiting", result.waiting[event.event_id])
            if event.event_id in result.duplicates:
                return Delivery("duplicate")
        return Delivery("applied")
