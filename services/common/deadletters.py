"""Reading and replaying dead-letter queues (operators; runbook "replay the dead-letter queue")."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from kombu import Connection, Producer

from services.common.bus import dead_letter_queue
from services.common.settings import amqp_user


UNAUTHORISED_SENDER = "unauthorised sender"  # reason prefix of events their sender may not publish
REPLAY_HEADER = "x-zhifa-replay"             # the replay run that sent a copy back to its queue


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
            items.append({"queue": headers.get("x-zhifa-queue") or _died(headers).get("queue"),
                          "reason": headers.get("x-zhifa-reason") or _broker_reason(headers),
                          "attempts": headers.get("x-zhifa-attempts"), "errors": headers.get("x-zhifa-errors"),
                          "dead_lettered_at": headers.get("x-zhifa-dead-lettered-at"),
                          "body": message.body.decode("utf-8", "replace") if isinstance(message.body, bytes)
                          else message.body})
        for message in messages:
            message.requeue()
        channel.close()
    return items


def _died(headers: dict) -> dict:
    """The newest ``x-death`` entry: a message the broker dead-lettered itself (a quorum handler queue's
    delivery limit, issue 20) has no zhifa headers, only this."""
    deaths = headers.get("x-death") or []
    return dict(deaths[0]) if deaths and isinstance(deaths[0], dict) else {}


def _broker_reason(headers: dict) -> str | None:
    died = _died(headers)
    if not died:
        return None
    reason = died.get("reason")
    if reason == "delivery_limit":
        return (f"delivery_limit: delivered {headers.get('x-delivery-count', 'too many')} times without being "
                f"acknowledged (its worker died each time) from {died.get('queue')}")
    return f"{reason}: dead-lettered by the broker from {died.get('queue')}"


@dataclass
class ReplayReport:
    """What ``replay`` did: ``replayed`` copies the broker confirmed and routed to their queue; ``kept``
    dead letters left because they must not be replayed (unauthorised sender, no queue named);
    ``unroutable`` ones left because their queue no longer exists."""

    replayed: int = 0
    kept: int = 0
    unroutable: int = 0

    def __str__(self) -> str:
        return f"replayed {self.replayed}, kept {self.kept}, unroutable {self.unroutable}"


def replay(amqp_uri: str, service: str, limit: int = 100) -> ReplayReport:
    """Move dead letters back to the queue they came from (after the cause is fixed).

    Counts what it actually replayed (issue 20: "replayed 30" was reported when 13 were replayable):
    a copy counts once the broker confirmed it AND routed it (published ``mandatory``; a copy whose
    queue is gone comes back as basic.return, and its dead letter stays). It never re-picks its own
    replays: it takes at most the messages waiting when it started (a replayed event failing again
    is dead-lettered behind them), and each copy carries the run's id (``x-zhifa-replay``) — meeting
    one ends the run.

    The copy is published by the suite's own broker user (``user_id``), which handlers trust; so
    events refused because their sender may not publish them ("unauthorised sender") are left in
    the dead-letter queue — the department must send them again under its own identity."""
    run = uuid.uuid4().hex
    report = ReplayReport()
    held = []              # requeued after the loop (else got again at once)
    returned: list = []
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        queue = dead_letter_queue(service)(channel)
        queue.declare()
        waiting = channel.queue_declare(queue.name, passive=True).message_count
        producer = Producer(channel, on_return=lambda exc, exchange, routing_key, message: returned.append(
            routing_key))
        for _ in range(min(limit, waiting)):
            message = queue.get(no_ack=False)
            if message is None:
                break
            headers = dict(message.headers or {})
            if headers.get(REPLAY_HEADER) == run:    # this run's own copy, dead-lettered again
                held.append(message)
                break
            target = headers.pop("x-zhifa-queue", None) or _died(headers).get("queue")
            if not target or str(headers.get("x-zhifa-reason", "")).startswith(UNAUTHORISED_SENDER):
                held.append(message)
                report.kept += 1
                continue
            for key in ("x-zhifa-reason", "x-zhifa-attempts", "x-zhifa-errors", "x-zhifa-dead-lettered-at"):
                headers.pop(key, None)
            headers[REPLAY_HEADER] = run
            returned.clear()
            producer.publish(message.body, exchange="", routing_key=target, headers=headers,
                             content_type=message.content_type, content_encoding=message.content_encoding,
                             delivery_mode=2, mandatory=True, user_id=amqp_user(amqp_uri))
            if returned:                             # confirmed, but no queue of that name
                held.append(message)
                report.unroutable += 1
                continue
            message.ack()
            report.replayed += 1
        for message in held:
            message.requeue()
        channel.close()
    return report
