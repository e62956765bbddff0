"""Reading and replaying dead-letter queues (operators; runbook "replay the dead-letter queue")."""
from __future__ import annotations

from kombu import Connection, Producer

from services.common.bus import dead_letter_queue
from services.common.settings import amqp_user


UNAUTHORISED_SENDER = "unauthorised sender"  # reason prefix of events their sender may not publish


def peek(amqp_uri: str, service: str, limit: int = 100) -> list[dict]:
    """Dead letters of a service, without removing them (fetched, then requeued)."""
    items = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        queue = dead_letter_queue(service)(channel)
        queue.declare()
        messages = []
        for _ in range(limit):
            message = queue.get(no_ack=False, accept=["json", "application/octet-stream", "text/plain"])
            if message is None:
                break
            messages.append(message)
            headers = message.headers or {}
            items.append({"queue": headers.get("x-zhifa-queue"), "reason": headers.get("x-zhifa-reason"),
                          "attempts": headers.get("x-zhifa-attempts"),
                          "dead_lettered_at": headers.get("x-zhifa-dead-lettered-at"),
                          "body": message.body.decode("utf-8", "replace") if isinstance(message.body, bytes)
                          else message.body})
        for message in messages:
            message.requeue()
        channel.close()
    return items


def replay(amqp_uri: str, service: str, limit: int = 100) -> int:
    """Move dead letters back to the queue they came from (after the cause is fixed).

    The copy is published by the suite's own broker user (``user_id``), which handlers trust; so
    events refused because their sender may not publish them ("unauthorised sender") are left in
    the dead-letter queue — the department must send them again under its own identity."""
    moved = 0
    kept = []
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        queue = dead_letter_queue(service)(channel)
        queue.declare()
        producer = Producer(channel)
        for _ in range(limit):
            message = queue.get(no_ack=False)
            if message is None:
                break
            headers = dict(message.headers or {})
            target = headers.pop("x-zhifa-queue", None)
            if not target or str(headers.get("x-zhifa-reason", "")).startswith(UNAUTHORISED_SENDER):
                kept.append(message)          # requeued below, after the loop (else got again at once)
                continue
            for key in ("x-zhifa-reason", "x-zhifa-attempts", "x-zhifa-dead-lettered-at"):
                headers.pop(key, None)
            producer.publish(message.body, exchange="", routing_key=target, headers=headers,
                             content_type=message.content_type, content_encoding=message.content_encoding,
                             delivery_mode=2, mandatory=True, user_id=amqp_user(amqp_uri))
            message.ack()
            moved += 1
        for message in kept:
            message.requeue()
        channel.close()
    return moved
