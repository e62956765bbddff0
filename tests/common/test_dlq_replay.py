"""``zhifa dlq replay`` on the real broker (issue 20, PLAT-1): it counts what it actually replayed —
not the dead letters it must keep (unauthorised sender, no queue) nor those whose queue is gone (they
stay; before, the broker's return crashed the run) — and never re-picks its own replays, even when the
handler dead-letters every replayed event again at once ("replayed 30" was reported when 13 were
replayable)."""
import json
import socket
import threading
import uuid

import pytest
from kombu import Connection, Consumer, Producer, Queue

from services.common import deadletters
from services.common.bus import dead_letter_exchange, dead_letter_queue

pytestmark = pytest.mark.integration

SERVICE = "replayed"


def _dead_letter(producer, queue: str | None, reason: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        ids.append(str(uuid.uuid4()))
        headers = {"x-zhifa-reason": reason, "x-zhifa-attempts": 5}
        if queue:
            headers["x-zhifa-queue"] = queue
        producer.publish({"event_id": ids[-1]}, exchange=dead_letter_exchange(), routing_key=f"{SERVICE}.case.opened",
                         headers=headers, delivery_mode=2, serializer="json")
    return ids


def _still_failing_handler(amqp_uri: str, queue: str, stop: threading.Event, ready: threading.Event):
    """The handler of ``queue`` still fails: it dead-letters every event at once, as the entrypoint does."""
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        producer = Producer(channel)

        def fail(body, message):
            producer.publish(message.body, exchange=dead_letter_exchange(), routing_key=f"{SERVICE}.case.opened",
                             headers={**(message.headers or {}), "x-zhifa-reason": "failed again",
                                      "x-zhifa-queue": queue}, content_type=message.content_type,
                             content_encoding=message.content_encoding, delivery_mode=2)
            message.ack()

        with Consumer(channel, [Queue(queue, durable=True)], callbacks=[fail]):
            ready.set()
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=0.2)
                except socket.timeout:
                    pass


def test_replay_counts_what_it_replayed_and_never_repicks_its_own(amqp_uri):
    failing = f"evt-departments-case.opened--{SERVICE}.on_opened"
    stop, ready = threading.Event(), threading.Event()
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        dead_letter_queue(SERVICE)(channel).declare()
        Queue(failing, durable=True)(channel).declare()
        producer = Producer(channel)
        replayable = _dead_letter(producer, failing, "failed 5 times; last error: KeyError", 13)
        kept = _dead_letter(producer, failing, f"{deadletters.UNAUTHORISED_SENDER}: dept-x may not send 320500", 4)
        kept += _dead_letter(producer, None, "no queue header", 1)
        kept += _dead_letter(producer, "evt-departments-case.opened--gone.on_opened", "failed 5 times", 3)
        handler = threading.Thread(target=_still_failing_handler, args=(amqp_uri, failing, stop, ready), daemon=True)
        handler.start()
        assert ready.wait(10)
        try:
            report = deadletters.replay(amqp_uri, SERVICE, limit=1000)
            assert (report.replayed, report.kept, report.unroutable) == (13, 5, 3), report
            # nothing lost: the 13 came back (failing again), the 8 left stayed
            items = []
            for _ in range(100):
                items = deadletters.peek(amqp_uri, SERVICE, limit=100)
                if len(items) >= 21:
                    break
            assert sorted(json.loads(i["body"])["event_id"] for i in items) == sorted(replayable + kept)
            assert sum(i["reason"] == "failed again" for i in items) == 13
        finally:
            stop.set()
            handler.join(5)
            channel.queue_delete(dead_letter_queue(SERVICE).name)
            channel.queue_delete(failing)
