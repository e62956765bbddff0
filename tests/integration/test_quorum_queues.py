"""Quorum queues (issue 20, PLAT-1) on the real broker: bus-init migrates a suite's existing classic
handler, retry and dead-letter queues to quorum queues — a queue's type cannot be changed in place — and
every message survives, in order, with its properties and headers (a department's message keeps its
sender for the handler's check); a poison message whose worker dies again and again ends in the
dead-letter queue with its reason after ZHIFA_DELIVERY_LIMIT deliveries."""
import json
import shutil
import subprocess
import uuid
from urllib.parse import unquote, urlparse

import pytest
from kombu import Connection, Exchange, Producer

from services.common import deadletters
from services.common.bus import (SENDER_HEADER, dead_letter_exchange, dead_letter_queue, declare_topology,
                                 handler_bindings, retry_queue_name)
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from tests.fixtures import _rabbitmqctl, wait_for

pytestmark = pytest.mark.integration


class MigratedService:
    name = "migrated"

    @event_handler(DEPARTMENTS, "case.opened")
    def on_opened(self, event):   # pragma: no cover - never run: the test reads its queues
        pass


def _vhost(amqp_uri: str) -> str:
    return unquote(urlparse(amqp_uri).path.lstrip("/"))


def _queues(amqp_uri: str) -> dict:
    """name -> (type, messages): the type from rabbitmqctl, the count from the queue itself (rabbitmqctl's
    count of a quorum queue lags by seconds)."""
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    out = subprocess.run([exe, "-q", "list_queues", "-p", _vhost(amqp_uri), "name", "type",
                          "--formatter", "json"], check=True, capture_output=True, text=True, timeout=60).stdout
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        return {q["name"]: (q["type"], channel.queue_declare(q["name"], passive=True).message_count)
                for q in json.loads(out or "[]")}


def _drain(channel, queue: str) -> list:
    got = []
    while (message := channel.basic_get(queue, no_ack=True)) is not None:
        got.append(message)
    return got


def test_bus_init_migrates_classic_queues_to_quorum_keeping_every_message(amqp_uri, monkeypatch):
    (binding,) = handler_bindings(MigratedService)
    handler, retry, dlq = binding.queue_name, retry_queue_name(binding.queue_name), dead_letter_queue("migrated").name
    monkeypatch.setenv("ZHIFA_QUORUM_QUEUES", "off")
    declare_topology(amqp_uri, [MigratedService])             # what an earlier version declared
    assert {_queues(amqp_uri)[q][0] for q in (handler, retry, dlq)} == {"classic"}
    user, password = f"dept-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    _rabbitmqctl("add_user", user, password)
    try:
        _rabbitmqctl("set_permissions", "-p", _vhost(amqp_uri), user, "^$", "^departments\\.events$", "^$")
        events = Exchange("departments.events", "topic", durable=True)
        sent = []
        with Connection(amqp_uri) as conn:
            producer = Producer(conn.channel())
            for i in range(4):
                sent.append(str(uuid.uuid4()))
                producer.publish({"n": i}, exchange=events, routing_key="case.opened", delivery_mode=2,
                                 message_id=sent[-1], headers={"x-zhifa-attempts": i}, user_id="guest")
            for i in range(2):   # waiting ten minutes in the retry queue
                producer.publish({"retry": i}, exchange="", routing_key=retry, delivery_mode=2, expiration=600,
                                 headers={"x-zhifa-attempts": 3})
                producer.publish({"dead": i}, exchange=dead_letter_exchange(), routing_key="migrated.case.opened",
                                 delivery_mode=2, headers={"x-zhifa-reason": f"reason {i}", "x-zhifa-queue": handler})
        department_uri = amqp_uri.replace("guest:guest@", f"{user}:{password}@")
        with Connection(department_uri) as conn:
            sent.append(str(uuid.uuid4()))
            Producer(conn.channel()).publish({"n": 4}, exchange=events, routing_key="case.opened", delivery_mode=2,
                                             message_id=sent[-1], user_id=user)
        wait_for(lambda: _queues(amqp_uri)[handler][1] == 5, message="five events queued")

        monkeypatch.setenv("ZHIFA_QUORUM_QUEUES", "on")
        declare_topology(amqp_uri, [MigratedService])         # bus-init of the new version: migrates
        queues = _queues(amqp_uri)
        assert (queues[handler], queues[retry], queues[dlq]) == (("quorum", 5), ("quorum", 2), ("quorum", 2))
        assert not [name for name in queues if name.endswith(".migrating")]
        declare_topology(amqp_uri, [MigratedService])         # again: nothing to migrate, no 406
        with Connection(amqp_uri) as conn:                    # still routed from the exchange
            Producer(conn.channel()).publish({"n": 5}, exchange=events, routing_key="case.opened", delivery_mode=2,
                                             user_id="guest")
        wait_for(lambda: _queues(amqp_uri)[handler][1] == 6, message="an event routed to the new queue")

        with Connection(amqp_uri) as conn:
            channel = conn.default_channel
            moved = _drain(channel, handler)
            waiting = _drain(channel, retry)
            dead = _drain(channel, dlq)
    finally:
        _rabbitmqctl("delete_user", user)
    assert [json.loads(m.body)["n"] for m in moved] == [0, 1, 2, 3, 4, 5]            # in order, none lost
    assert [m.properties.get("message_id") for m in moved[:5]] == sent
    assert [m.headers.get("x-zhifa-attempts") for m in moved[:4]] == [0, 1, 2, 3]
    assert all(m.properties.get("delivery_mode") == 2 for m in moved)
    # the department's event: republished by the suite's user, its sender kept for the handler's check
    assert (moved[4].properties.get("user_id"), moved[4].headers.get(SENDER_HEADER)) == ("guest", user)
    assert [json.loads(m.body) for m in waiting] == [{"retry": 0}, {"retry": 1}]
    assert all(m.properties.get("expiration") == "600000" for m in waiting)
    assert [m.headers["x-zhifa-reason"] for m in dead] == ["reason 0", "reason 1"]


def test_a_message_whose_worker_dies_each_time_is_dead_lettered_with_its_reason(amqp_uri, monkeypatch):
    """The delivery limit: a message returned unacknowledged (its worker killed) ZHIFA_DELIVERY_LIMIT
    times goes to the service's dead-letter queue, where `zhifa dlq list` shows why."""
    monkeypatch.setenv("ZHIFA_QUORUM_QUEUES", "on")
    monkeypatch.setenv("ZHIFA_DELIVERY_LIMIT", "3")
    declare_topology(amqp_uri, [MigratedService])
    (binding,) = handler_bindings(MigratedService)
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        Producer(channel).publish({"poison": True}, exchange=Exchange("departments.events", "topic", durable=True),
                                  routing_key="case.opened", delivery_mode=2, user_id="guest")
        deliveries = 0
        for _ in range(50):
            message = channel.basic_get(binding.queue_name, no_ack=False)
            if message is None:
                if deadletters.peek(amqp_uri, "migrated"):
                    break
                continue
            deliveries += 1
            channel.basic_reject(message.delivery_tag, requeue=True)     # the worker died: returned
    letters = wait_for(lambda: deadletters.peek(amqp_uri, "migrated"), message="the poison message dead-lettered")
    assert deliveries == 4                                  # the first delivery and three redeliveries
    (letter,) = letters
    assert json.loads(letter["body"]) == {"poison": True}
    assert letter["queue"] == binding.queue_name
    assert letter["reason"].startswith("delivery_limit:"), letter


def test_auto_stays_classic_on_a_local_broker_whose_file_handles_cannot_hold_quorum_queues(amqp_uri, monkeypatch):
    """Issue 20, PLAT-1: ``auto`` asks the broker on this machine for its file-handle budget — a broker started
    with the default ulimit (927 handles) stops accepting connections once ~300 quorum queues are declared,
    which one suite exceeds (make run and make chaos timed out connecting). Below QUORUM_MIN_FILE_HANDLES:
    classic; at or above it, or for a broker elsewhere (no budget known): quorum."""
    from services.common import bus

    monkeypatch.setenv("ZHIFA_QUORUM_QUEUES", "auto")
    limit = bus.local_broker_file_handle_limit()
    assert limit is not None and limit > 0            # the real rabbitmqctl answered
    bus._broker_supports_quorum.cache_clear()
    try:
        assert bus.quorum_enabled(amqp_uri) is (limit >= bus.QUORUM_MIN_FILE_HANDLES)
        bus._broker_supports_quorum.cache_clear()
        monkeypatch.setattr(bus, "local_broker_file_handle_limit", lambda: 927)
        assert bus.quorum_enabled(amqp_uri) is False
        bus._broker_supports_quorum.cache_clear()
        monkeypatch.setattr(bus, "local_broker_file_handle_limit", lambda: 65536)
        assert bus.quorum_enabled(amqp_uri) is True
        assert bus._is_local("amqp://a:b@127.0.0.1:5672/x;amqp://a:b@localhost:5673/x")
        assert not bus._is_local("amqp://a:b@rabbitmq:5672/x")
    finally:
        bus._broker_supports_quorum.cache_clear()


def test_every_process_follows_the_queue_type_bus_init_recorded(amqp_uri, monkeypatch):
    """Issue 20, PLAT-1 (fail closed): with ``auto`` each process used to decide the queue type itself; under
    load one service's rabbitmqctl timed out, it chose quorum over bus-init's classic queues and its
    consumers failed with 406 — consuming nothing. bus-init now records its choice in the vhost
    (``zhifa.queue-type``) and every process follows it whatever its own check says; an explicit on/off run
    of bus-init changes the record."""
    from services.common import bus

    monkeypatch.setenv("ZHIFA_QUORUM_QUEUES", "auto")
    bus._broker_supports_quorum.cache_clear()
    try:
        with Connection(amqp_uri) as conn:
            assert bus.recorded_queue_type(conn) is None
        monkeypatch.setattr(bus, "local_broker_file_handle_limit", lambda: 927)        # bus-init: classic
        declare_topology(amqp_uri, [MigratedService])
        with Connection(amqp_uri) as conn:
            assert bus.recorded_queue_type(conn) is False
        bus._broker_supports_quorum.cache_clear()
        monkeypatch.setattr(bus, "local_broker_file_handle_limit", lambda: None)       # a service: no answer
        assert bus.quorum_enabled(amqp_uri) is False                                   # follows the record
        assert bus._broker_decides_quorum(amqp_uri) is True                            # what it alone would do
        queues = _queues(amqp_uri)
        assert {kind for name, (kind, _) in queues.items() if name.startswith("evt-")} == {"classic"}
        # an explicit choice is recorded by bus-init (the migration procedure), and followed from then on
        monkeypatch.setenv("ZHIFA_QUORUM_QUEUES", "on")
        declare_topology(amqp_uri, [MigratedService])
        monkeypatch.setenv("ZHIFA_QUORUM_QUEUES", "auto")
        bus._broker_supports_quorum.cache_clear()
        monkeypatch.setattr(bus, "local_broker_file_handle_limit", lambda: 927)
        assert bus.quorum_enabled(amqp_uri) is True
        assert {kind for name, (kind, _) in _queues(amqp_uri).items() if name.startswith("evt-")} == {"quorum"}
    finally:
        bus._broker_supports_quorum.cache_clear()
