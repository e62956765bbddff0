"""Message-bus topology: exchanges, handler queues, retry queues and dead-letter queues.

Why this exists (../shared/NAMEKO-NOTES.md): RabbitMQ confirms and then drops a message published
to an exchange with no bound queue, so every handler queue is declared durably by ``zhifa bus-init``
before any publisher runs. Queues are named exactly as nameko names event-handler queues
(``evt-<source>-<event_type>--<service>.<method>``), and the handlers declare them with the same
arguments (entrypoints.ReliableEventHandler), so re-declaring them is a no-op.

- ``<source>.events`` — topic exchange per publisher (``departments`` for departmental systems).
- ``<queue>.retry`` — delay queue per handler queue; messages wait there (per-message TTL) and are
  dead-lettered back to ``<queue>`` through the default exchange. Its arguments never change, so
  re-declaring it can't fail with 406.
- ``zhifa.dead-letter`` — topic exchange; ``zhifa.dead-letter.<service>`` holds a service's dead
  letters (routing key ``<service>.<event_type>``) with the reason in the ``x-zhifa-reason`` header.

Quorum queues (issue 20, PLAT-1): with ``ZHIFA_QUORUM_QUEUES`` on (``auto``, the default: when the
broker is RabbitMQ ≥ 3.10) every handler, retry and dead-letter queue is a quorum queue — replicated
on a cluster, so one node's loss neither stops a service nor loses its messages. A handler queue has
a delivery limit (``ZHIFA_DELIVERY_LIMIT``): a message returned that many times (a worker killed by it
again and again) is dead-lettered by the broker to the service's dead-letter queue — reason
``delivery_limit`` in its ``x-death`` header — instead of looping forever. Dead-lettering is
at-least-once (a retry queue's expired message waits until its handler queue takes it). RPC reply
queues are nameko's and stay as they are. A queue's type cannot change in place: ``migrate_queue``
moves an existing queue's messages through a temporary queue (docs/RUNBOOK.md#quorum-queues).
"""
from __future__ import annotations

import contextlib
import inspect
import logging
from dataclasses import dataclass
from functools import lru_cache

import amqp
from kombu import Connection, Exchange, Queue

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "zhifa.dead-letter"
ENTRYPOINTS_ATTR = "nameko_entrypoints"
QUORUM_MIN_VERSION = (3, 10)      # per-message TTL (retry queues) and at-least-once dead-lettering
SENDER_HEADER = "x-zhifa-sender"  # a moved message's original user_id (see migrate_queue)


def events_exchange(source: str) -> Exchange:
    # identical arguments to nameko.messaging.get_event_exchange, or RabbitMQ answers 406
    return Exchange(f"{source}.events", type="topic", durable=True, auto_delete=False)


def dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True)


# -- queue types ---------------------------------------------------------------------------------------
def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in str(text).split(".")[:2]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


# Every quorum-queue replica reserves about 3 of the broker's file handles (measured on RabbitMQ 3.10: 326
# quorum queues on one node used 984), and a broker whose budget is used up stops answering new AMQP
# connections. A broker started with the default `ulimit -n 1024` has a budget of 927: not even one suite's
# ~330 queues fit. So ``auto`` also asks a broker on this machine for its budget and stays classic below this.
QUORUM_MIN_FILE_HANDLES = 4096
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def local_broker_file_handle_limit() -> int | None:
    """The file-handle budget of the RabbitMQ node on this machine (``rabbitmqctl status``), or None when
    there is no rabbitmqctl here or it cannot answer."""
    import json
    import os
    import shutil
    import subprocess

    exe = shutil.which("rabbitmqctl") or ("/usr/sbin/rabbitmqctl" if os.path.exists("/usr/sbin/rabbitmqctl") else None)
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "-q", "status", "--formatter", "json"], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        return int(json.loads(out)["file_descriptors"]["total_limit"])
    except Exception:   # noqa: BLE001 - not our broker, or not answering: decided by the AMQP answer alone
        return None


def _is_local(uri: str) -> bool:
    from urllib.parse import urlparse

    return all((urlparse(part.strip()).hostname or "") in LOCAL_HOSTS for part in uri.split(";") if part.strip())


#: bus-init's choice of queue type, kept in the broker (per vhost) as an empty queue of that type, so every
#: process of the suite follows it: each process deciding for itself ("auto") disagreed under load — a
#: rabbitmqctl that timed out in one service made it declare quorum queues over bus-init's classic ones,
#: and its consumers failed with 406 PRECONDITION_FAILED, silently consuming nothing (issue 20)
QUEUE_TYPE_MARKER = "zhifa.queue-type"


def _marker(quorum: bool) -> Queue:
    return Queue(QUEUE_TYPE_MARKER, durable=True, auto_delete=False,
                 queue_arguments={"x-queue-type": "quorum" if quorum else "classic"})


def recorded_queue_type(conn) -> bool | None:
    """The queue type bus-init recorded in this vhost: True (quorum), False (classic), None (not recorded)."""
    probe = conn.channel()
    try:
        probe.queue_declare(QUEUE_TYPE_MARKER, passive=True)
    except amqp.exceptions.NotFound:
        return None
    finally:
        with contextlib.suppress(Exception):
            probe.close()
    channel = conn.channel()
    try:       # declaring it as a quorum queue succeeds only if it is one
        channel.queue_declare(QUEUE_TYPE_MARKER, durable=True, auto_delete=False,
                              arguments={"x-queue-type": "quorum"})
        return True
    except amqp.exceptions.PreconditionFailed:
        return False
    finally:
        with contextlib.suppress(Exception):
            channel.close()


def record_queue_type(conn, quorum: bool) -> None:
    """bus-init: record ``quorum`` as this vhost's queue type (re-created if it was the other type; it is empty)."""
    if recorded_queue_type(conn) not in (None, quorum):
        channel = conn.channel()
        try:
            channel.queue_delete(QUEUE_TYPE_MARKER)
        finally:
            with contextlib.suppress(Exception):
                channel.close()
    channel = conn.channel()
    try:
        _marker(quorum)(channel).declare()
    finally:
        with contextlib.suppress(Exception):
            channel.close()


def _broker_decides_quorum(uri: str) -> bool:
    """What ``auto`` chooses for a broker with no recorded choice: RabbitMQ ≥ 3.10 and, on this machine, a
    file-handle budget that holds a suite's quorum queues."""
    with Connection(uri) as conn:
        conn.connect()
        properties = conn.connection.server_properties or {}
    product, version = properties.get("product", ""), properties.get("version", "0")
    if not ("RabbitMQ" in str(product) and _version(version) >= QUORUM_MIN_VERSION):
        return False
    if _is_local(uri):
        limit = local_broker_file_handle_limit()
        if limit is not None and limit < QUORUM_MIN_FILE_HANDLES:
            log.warning("classic queues: the local broker's file-handle budget is %s (< %s) — start RabbitMQ with "
                        "ulimit -n 65536 for quorum queues (docs/RUNBOOK.md#quorum-queues)", limit,
                        QUORUM_MIN_FILE_HANDLES)
            return False
    return True


@lru_cache(maxsize=8)
def _broker_supports_quorum(host: str) -> bool:
    from services.common import settings

    uri = settings.amqp_uri() if host == "" else host
    with Connection(uri) as conn:
        conn.connect()
        recorded = recorded_queue_type(conn)
    if recorded is not None:
        return recorded
    return _broker_decides_quorum(uri)


def quorum_enabled(amqp_uri: str | None = None) -> bool:
    """``ZHIFA_QUORUM_QUEUES``: on, off, or auto — the type bus-init recorded in the vhost
    (``QUEUE_TYPE_MARKER``) when there is one, else on when the broker supports it (RabbitMQ ≥ 3.10 and, for
    a broker on this machine, a file-handle budget that holds a suite's quorum queues); asked once a process."""
    from services.common import settings

    choice = settings.get("ZHIFA_QUORUM_QUEUES")
    if choice != "auto":
        return choice == "on"
    return _broker_supports_quorum(amqp_uri or "")


def _quorum(quorum: bool | None) -> bool:
    return quorum_enabled() if quorum is None else quorum


def handler_queue_arguments(service: str, event_type: str, quorum: bool | None = None) -> dict:
    if not _quorum(quorum):
        return {}
    from services.common import settings

    return {"x-queue-type": "quorum", "x-delivery-limit": settings.get("ZHIFA_DELIVERY_LIMIT"),
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": f"{service}.{event_type}",
            "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"}


def retry_queue_arguments(queue_name: str, quorum: bool | None = None) -> dict:
    arguments = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue_name}
    if _quorum(quorum):
        arguments.update({"x-queue-type": "quorum", "x-dead-letter-strategy": "at-least-once",
                          "x-overflow": "reject-publish"})
    return arguments


def dead_letter_queue(service: str, quorum: bool | None = None) -> Queue:
    return Queue(f"{DEAD_LETTER_EXCHANGE}.{service}", exchange=dead_letter_exchange(),
                 routing_key=f"{service}.#", durable=True,
                 queue_arguments={"x-queue-type": "quorum"} if _quorum(quorum) else None)


def retry_queue_name(queue_name: str) -> str:
    return f"{queue_name}.retry"


def retry_queue(queue_name: str, quorum: bool | None = None) -> Queue:
    return Queue(retry_queue_name(queue_name), durable=True,
                 queue_arguments=retry_queue_arguments(queue_name, quorum))


@dataclass(frozen=True)
class HandlerBinding:
    service: str
    method: str
    source: str
    event_type: str

    @property
    def queue_name(self) -> str:
        return f"evt-{self.source}-{self.event_type}--{self.service}.{self.method}"

    def queue(self, quorum: bool | None = None) -> Queue:
        return Queue(self.queue_name, exchange=events_exchange(self.source), routing_key=self.event_type,
                     durable=True, auto_delete=False, exclusive=False,
                     queue_arguments=handler_queue_arguments(self.service, self.event_type, quorum) or None)


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


# -- declaring, and migrating a queue whose type or arguments changed ------------------------------------------
class MigrationRefused(RuntimeError):
    """A queue that must be migrated still has consumers: stop the services first."""


def _declare_or_migrate(conn, queue: Queue) -> bool:
    """Declare ``queue``; if it exists with other arguments (406: a classic queue to become a quorum
    queue, or the reverse), migrate it. True when it was migrated."""
    channel = conn.channel()
    try:
        queue(channel).declare()
        _finish_migration(conn, queue)      # a migration that stopped half-way: resume it
        return False
    except amqp.exceptions.PreconditionFailed as exc:
        log.warning("%s exists with other arguments (%s): migrating it", queue.name, exc)
    finally:
        with contextlib.suppress(Exception):
            channel.close()
    migrate_queue(conn, queue)
    return True


def _finish_migration(conn, queue: Queue) -> None:
    """Empty a leftover ``<queue>.migrating`` (a migration stopped after the queue was re-created) into
    the queue, then delete it."""
    from services.common.settings import amqp_user

    temporary = f"{queue.name}.migrating"
    probe = conn.channel()
    try:
        probe.queue_declare(temporary, passive=True)
    except amqp.exceptions.NotFound:
        return
    finally:
        with contextlib.suppress(Exception):
            probe.close()
    with _confirming(conn) as confirming:
        channel = confirming.channel()
        for exchange, key in _bindings_of(queue):
            channel.queue_unbind(temporary, exchange, key)
        back = _move(channel, temporary, queue.name, amqp_user(conn.as_uri(include_password=True)))
        _delete_empty(channel, temporary)
        log.warning("finished migrating %s (%s messages carried over)", queue.name, back)


def _confirming(conn) -> Connection:
    """A second connection to the same broker whose publishes wait for the broker's confirm."""
    return Connection(conn.as_uri(include_password=True), transport_options={"confirm_publish": True})


def _bindings_of(queue: Queue) -> list[tuple[str, str]]:
    return [(queue.exchange.name, queue.routing_key)] if queue.exchange and queue.exchange.name else []


def _move(channel, source: str, destination: str, suite_user: str) -> int:
    """Move every message of ``source`` to ``destination``: get, publish (confirmed, mandatory), ack —
    a failure leaves the got message unacked, so it returns to ``source`` (a copy may then exist twice:
    consumers are idempotent). Properties and headers are kept; a message another user published keeps
    its ``user_id`` in the ``x-zhifa-sender`` header (the broker lets a connection publish its own user
    only), which the handlers read instead of ``user_id`` when it comes from the suite's user."""
    moved = 0
    returned: list = []
    handler = lambda exc, exchange, routing_key, message: returned.append(routing_key)   # noqa: E731
    channel.events["basic_return"].add(handler)
    try:
        while True:
            message = channel.basic_get(source, no_ack=False)
            if message is None:
                return moved
            properties = dict(message.properties)
            headers = dict(properties.get("application_headers") or {})
            sender = properties.get("user_id")
            if sender and sender != suite_user:
                headers.setdefault(SENDER_HEADER, sender)
                properties["user_id"] = suite_user
            properties["application_headers"] = headers
            returned.clear()
            channel.basic_publish(amqp.Message(message.body, **properties), exchange="", routing_key=destination,
                                  mandatory=True)
            if returned:
                raise RuntimeError(f"moving {source} to {destination}: {destination} does not exist")
            channel.basic_ack(message.delivery_tag)
            moved += 1
    finally:
        channel.events["basic_return"].discard(handler)


def _delete_empty(channel, name: str) -> None:
    """Delete a queue known to be empty (moved out, unbound, no consumers) — checked first, as quorum
    queues do not support ``if-empty``; a queue not empty stops the migration (run bus-init again)."""
    left = channel.queue_declare(name, passive=True).message_count
    if left:
        raise RuntimeError(f"{name} still holds {left} messages: run bus-init again to finish the migration")
    channel.queue_delete(name)


def migrate_queue(conn, queue: Queue) -> int:
    """Re-create ``queue`` with its new arguments, keeping its messages (a queue's type cannot be changed
    in place). Its consumers must be stopped. Resumable: run it again after a failure.

    1. declare ``<name>.migrating`` with the new arguments and bind it like the queue (new messages go
       to both for an instant: a copy may arrive twice, never none), then unbind the old queue;
    2. move every message of the old queue to it; delete the old queue (only if empty);
    3. declare the queue with its new arguments, bind it, unbind the temporary queue;
    4. move the messages back; delete the temporary queue (only if empty).
    Returns the messages carried over."""
    from services.common.settings import amqp_user

    name, temporary = queue.name, f"{queue.name}.migrating"
    bindings = _bindings_of(queue)
    suite_user = amqp_user(conn.as_uri(include_password=True))
    with _confirming(conn) as confirming:
        channel = confirming.channel()
        try:
            existing = channel.queue_declare(name, passive=True)
        except amqp.exceptions.NotFound:
            channel = confirming.channel()
            existing = None
        if existing is not None and existing.consumer_count:
            raise MigrationRefused(f"{name} has {existing.consumer_count} consumers: stop the services, then run "
                                   "bus-init again (docs/RUNBOOK.md#quorum-queues)")
        channel.queue_declare(temporary, durable=True, auto_delete=False,
                              arguments=dict(queue.queue_arguments or {}))
        for exchange, key in bindings:
            channel.queue_bind(temporary, exchange, key)
        carried = 0
        if existing is not None:
            for exchange, key in bindings:
                channel.queue_unbind(name, exchange, key)
            carried = _move(channel, name, temporary, suite_user)
            _delete_empty(channel, name)
            # a fresh channel: RabbitMQ 3.10 keeps a channel's state of the queue it published to and
            # fails (541 INTERNAL_ERROR) publishing to a queue of that name but another type
            with contextlib.suppress(Exception):
                channel.close()
            channel = confirming.channel()
        queue(channel).declare()
        for exchange, key in bindings:
            channel.queue_unbind(temporary, exchange, key)
        back = _move(channel, temporary, name, suite_user)
        _delete_empty(channel, temporary)
        log.warning("migrated %s to its new arguments (%s messages carried over)", name, back)
        return max(carried, back)


def declare_topology(amqp_uri: str, service_classes, extra_sources=("departments",)) -> list[str]:
    """Declare exchanges, handler queues (+ retry queues) and dead-letter queues. Idempotent. A queue
    that exists with other arguments (a classic queue, quorum queues now on) is migrated, messages kept."""
    declared = []
    quorum = quorum_enabled(amqp_uri)      # auto: a choice recorded earlier stands (queues stay as they are)
    with Connection(amqp_uri) as conn:
        record_queue_type(conn, quorum)     # before the queues: a service starting now follows this choice
        channel = conn.channel()
        dead_letter_exchange()(channel).declare()
        sources = set(extra_sources)
        for cls in service_classes:
            sources.add(cls.name)
            dlq = dead_letter_queue(cls.name, quorum)
            _declare_or_migrate(conn, dlq)
            declared.append(dlq.name)
            for binding in handler_bindings(cls):
                sources.add(binding.source)
                events_exchange(binding.source)(channel).declare()
                # the retry queue first: while the handler queue is re-created, a message expiring in
                # a (new, quorum) retry queue waits for it instead of being dropped
                _declare_or_migrate(conn, retry_queue(binding.queue_name, quorum))
                _declare_or_migrate(conn, binding.queue(quorum))
                declared.append(binding.queue_name)
        for source in sources:
            events_exchange(source)(channel).declare()
        channel.close()
    return declared


def all_service_classes():
    """The nameko classes of every service in the registry (services/common/registry.py)."""
    from services.common.registry import service_classes

    return service_classes()
