"""``batch_event_handler``: the reliable event handler, applying events in batches.

A per-event transaction costs a commit (an fsync) per event; that, not the broker, caps a service
at a few hundred events per second (NAMEKO-NOTES, throughput). This entrypoint keeps every
guarantee of ``services.common.entrypoints.event_handler`` and hands the service method a *list*
of events:

- each message is validated as it arrives (envelope + payload against the catalogue); an invalid
  or undecodable one goes to the dead-letter queue with its reason at once, exactly like
  ``event_handler``, and never enters a batch;
- valid events are buffered; a batch is cut when ``max_batch`` events are waiting, or when the
  buffer was empty and ``linger_ms`` have passed since the first one arrived (so a lone event
  waits a few milliseconds, a backlog none); handlers declared with the same ``group`` share the
  buffer, so one transaction applies events of several types in their arrival order (the method
  receives an ``EventBatch`` whose ``consumers`` name the handler of each event);
- ONE worker applies the batch — the method must do it in ONE transaction that also records the
  processed event ids (redeliveries are then recognised and skipped) — and returns a
  ``BatchResult`` naming duplicates and events it refused (dead-lettered with their reason);
- only after the method returned (its transaction committed) are the messages acknowledged, with
  one ``basic.ack(multiple=True)`` per queue; at most one batch per group is in flight, so every
  lower delivery tag on each channel is already settled;
- a transient failure (database or broker unreachable) delays every message of the batch through
  the retry queue; any other failure splits the batch: its events are applied one at a time, so a
  poison event is retried and dead-lettered alone and the others go through.

Topology: the class is a nameko ``EventHandler``, so ``zhifa bus-init`` declares its queue
(``evt-<source>-<type>--<service>.<method>``) like any other handler's.
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from amqp.exceptions import ConnectionError as AmqpConnectionError
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import decode_from_headers

from services.common import metrics, settings
from services.common.db import AlreadyProcessed
from services.common.entrypoints import ReliableEventHandler, is_transient
from services.common.events import ConflictingDuplicate, InvalidEvent
from services.common.ownership import AwaitingOwner

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 200     # ZHIFA_BATCH_SIZE unset and the handler names no size of its own


@dataclass
class BatchResult:
    """What a batch method reports: ids it skipped as already processed, ids it refused
    (event_id -> reason; dead-lettered after the commit), copies that conflict with what was
    applied under their id (``db.Claim.conflicts``: (consumer, event_id, digest) -> reason;
    dead-lettered as ``conflicting_duplicate`` after the commit), and ids of events for a case their
    body does not own (event_id -> reason; delayed, then dead-lettered — SEC-2, ``ownership``)."""

    duplicates: set = field(default_factory=set)
    refused: dict = field(default_factory=dict)
    conflicts: dict = field(default_factory=dict)
    waiting: dict = field(default_factory=dict)
    # (consumer, event_id) pairs this batch applied (``db.Claim.fresh``): the first copy of each is
    # counted as consumed, every other copy as a duplicate — an original and its redelivery in ONE
    # batch share an id in ``duplicates`` (issue 20: both were counted as duplicates, 465 for 300).
    # None (a method that does not say): an id in ``duplicates`` counts as a duplicate.
    applied: set | None = None


@dataclass
class BatchContext:
    """What ``DatabaseAccess.batch`` yields: the batch's session, the (consumer, event) pairs not
    applied before, and the result to return to the entrypoint."""

    session: object
    fresh: list = field(default_factory=list)
    result: BatchResult = field(default_factory=BatchResult)


class EventBatch(list):
    """The list of events a batch method receives; ``consumers[i]`` is the handler name
    (``<service>.<method>``) event i arrived for — the key of its processed-event row."""

    def __init__(self, events, consumers):
        super().__init__(events)
        self.consumers = list(consumers)


class _Group:
    """Handlers of one service that share a buffer and a flusher: a batch mixes their events in
    arrival order and is applied in ONE transaction (fewer, larger transactions; the order
    case.opened → evidence.recorded is kept across queues)."""

    def __init__(self, name: str, max_batch: int, linger: float, interval: float = 0.0):
        self.name, self.max_batch, self.linger, self.interval = name, max_batch, linger, interval
        self.items: deque = deque()       # (handler, event, message)
        self.singles: deque = deque()
        self.arrived = threading.Event()
        self.stopping = False
        self.started = False
        self.last_cut = 0.0                # when the last batch was cut (time.monotonic)
        self.wake_at = max_batch           # waiting events at which an arrival wakes the flusher (1 when idle)

    def arrive(self, item) -> None:
        """An event joins the buffer. The flusher is woken only when it waits for this: the first event after
        a quiet spell, or a full batch while events gather (issue 17: a wake-up per event cost the records
        service a green-thread switch and a new timer per event, in a burst of thousands a second)."""
        self.items.append(item)
        if len(self.items) >= self.wake_at:
            self.arrived.set()

    def run(self):
        while not self.stopping:
            if self.singles:
                self._run([self.singles.popleft()], single=True)
                continue
            if not self.items:
                self.wake_at = 1                # quiet: the next arrival wakes the flusher (set before the check)
                self.arrived.clear()
                if not self.items:
                    self.arrived.wait(1.0)
                self.wake_at = self.max_batch
                if not self.items:
                    continue
                backlog = False    # the first event after a quiet spell: linger for companions
            else:
                backlog = True     # arrived while the previous batch was applied: cut it now
            if not backlog and self.linger > 0:
                self._gather_until(time.monotonic() + self.linger)
            if self.interval > 0:
                # under load, batches start at most every ``interval`` (after a quiet spell the last one started
                # long ago: no wait); what arrives meanwhile joins the next one — fewer, larger transactions,
                # each with its fixed cost of claims, screens, commit and acks (issue 17: at 200 events/s the
                # suite spent 9.7 ms of CPU an event in batches of ~6)
                self._gather_until(self.last_cut + self.interval)
            n = min(len(self.items), self.max_batch)
            if n:
                self.last_cut = time.monotonic()
                self._run([self.items.popleft() for _ in range(n)], single=False)

    def _gather_until(self, deadline: float) -> None:
        """Let events gather until ``deadline`` (time.monotonic) or a full batch — woken by the arrival that
        fills it (``arrive``), not by polling: a 1 ms poll cost a hub wake-up per millisecond of every
        linger (issue 17)."""
        while not self.stopping:
            self.arrived.clear()        # before the check: an arrival after it sets it again
            remaining = deadline - time.monotonic()
            if len(self.items) >= self.max_batch or remaining <= 0:
                return
            self.arrived.wait(remaining)

    def _run(self, batch, single: bool):
        handler = batch[0][0]
        done = threading.Event()
        started = time.perf_counter()

        def handle_result(worker_ctx, result=None, exc_info=None):
            try:
                self._settle(batch, single, started, result, exc_info)
            except Exception:  # pragma: no cover - settling must never kill the flusher
                log.exception("batch group %s: settling a batch failed", self.name)
            finally:
                done.set()
            return result, exc_info

        events = EventBatch([e for _, e, _ in batch],
                            [h.consumer_name for h, _, _ in batch])
        try:
            handler.container.spawn_worker(handler, (events,), {},
                                           context_data=decode_from_headers(batch[0][2].headers),
                                           handle_result=handle_result)
        except ContainerBeingKilled:
            for h, _, message in batch:
                h.consumer.requeue_message(message)
            return
        done.wait()

    def _settle(self, batch, single, started, result, exc_info):
        exc = exc_info[1] if exc_info else None
        if exc is None or isinstance(exc, AlreadyProcessed):
            result = result if isinstance(result, BatchResult) else BatchResult(
                duplicates={e.event_id for _, e, _ in batch} if exc is not None else set())
            to_ack: dict = {}
            consumed: dict = {}
            duplicates: dict = {}
            counted: set = set()        # (consumer, event_id) already counted as consumed
            for handler, event, message in batch:
                reason = result.refused.get(event.event_id)
                if reason is not None:
                    handler._dead_letter(message, reason=reason, metric_reason="refused")
                    continue
                if result.conflicts:
                    reason = result.conflicts.get((handler.consumer_name,
                                                   event.event_id, event.digest))
                    if reason is not None:
                        handler._dead_letter(message, reason=reason, metric_reason=ConflictingDuplicate.REASON)
                        continue
                reason = result.waiting.get(event.event_id)
                if reason is not None:
                    handler._await_owner(message, reason)
                    continue
                to_ack.setdefault(handler, []).append(message)
                key = (handler.consumer_name, event.event_id)
                if result.applied is not None:
                    fresh = key in result.applied and key not in counted
                else:
                    fresh = event.event_id not in result.duplicates
                if fresh:
                    counted.add(key)
                counter = consumed if fresh else duplicates
                counter[handler] = counter.get(handler, 0) + 1
            elapsed = time.perf_counter() - started
            for handler, messages in to_ack.items():
                service = handler.container.service_name
                if duplicates.get(handler):
                    metrics.EVENTS_DUPLICATE.labels(service, handler.event_type).inc(duplicates[handler])
                if consumed.get(handler):
                    metrics.EVENTS_CONSUMED.labels(service, handler.event_type).inc(consumed[handler])
                metrics.HANDLER_SECONDS.labels(service, handler.event_type).observe(elapsed)
                handler._ack(messages, multiple=not single)
        elif isinstance(exc, InvalidEvent) and single:
            handler, _, message = batch[0]
            handler._dead_letter(message, reason=exc.reason, metric_reason=(
                ConflictingDuplicate.REASON if isinstance(exc, ConflictingDuplicate) else "rejected"))
        elif isinstance(exc, AwaitingOwner) and single:
            handler, _, message = batch[0]
            handler._await_owner(message, exc.reason)
        elif is_transient(exc):
            for handler, _, message in batch:
                handler.retry_or_dead_letter(message, exc)
        elif not single and len(batch) > 1:
            log.warning("batch group %s: batch of %s failed (%r); applying its events one by one", self.name,
                        len(batch), exc)
            self.singles.extend(batch)
        else:
            handler, _, message = batch[0]
            handler.retry_or_dead_letter(message, exc)      # errors counted apart from transient delays


class BatchEventHandler(ReliableEventHandler):
    """``group``: handlers of a service with the same group share one buffer and flusher (one
    transaction for events of several types); default: the handler alone. ``consumer_priority``
    (a callable giving an int): this process's consumer priority on the handler's queue — replicas of
    different priority are one active consumer and hot standbys rather than competing consumers."""

    def __init__(self, source_service, event_type, group: str | None = None, max_batch: int | None = None,
                 linger_ms: float | None = None, consumer_priority=None, interval_ms: float | None = None, **kwargs):
        self._group_arg = group
        self._interval_arg = interval_ms           # the service's own ZHIFA_BATCH_INTERVAL_MS (when unset)
        self._priority_arg = consumer_priority     # () -> int: RabbitMQ's x-priority of this consumer
        self._max_batch_arg = max_batch
        self._linger_arg = linger_ms
        self._prefetch_arg = kwargs.get("prefetch_count")     # else set in setup, from the batch size
        super().__init__(source_service, event_type, **kwargs)

    # -- life cycle -----------------------------------------------------------------------------
    def setup(self):
        # the key of this handler's processed-event rows (``<service>.<method>``), named once, not per event
        self.consumer_name = f"{self.container.service_name}.{self.method_name}"
        max_batch = settings.get("ZHIFA_BATCH_SIZE")
        if max_batch is None:               # unset: the service's own (records 500, issue 17), else the default
            max_batch = self._max_batch_arg or DEFAULT_BATCH_SIZE
        max_batch = int(max_batch)
        # room for the batch being applied and the next one, so receiving never waits on the apply
        self.consumer_options["prefetch_count"] = self._prefetch_arg or 2 * max_batch + 50
        super().setup()
        if self._priority_arg is not None:
            # the broker delivers to the replica of highest priority while its prefetch window has room,
            # to the others when it is full or the replica is gone (RabbitMQ consumer priorities)
            self.queue.consumer_arguments = {"x-priority": int(self._priority_arg())}
        groups = self.container.__dict__.setdefault("_zhifa_batch_groups", {})
        name = self._group_arg or self.method_name
        group = groups.get(name)
        if group is None:
            linger = self._linger_arg if self._linger_arg is not None else settings.get("ZHIFA_BATCH_LINGER_MS")
            interval = settings.get("ZHIFA_BATCH_INTERVAL_MS")
            if interval is None:
                interval = self._interval_arg if self._interval_arg is not None else 0.0
            group = groups[name] = _Group(f"{self.container.service_name}.{name}", max_batch, float(linger) / 1000,
                                          float(interval) / 1000)
        self.group = group

    def start(self):
        super().start()
        if not self.group.started:
            self.group.started = True
            self.container.spawn_managed_thread(self.group.run, identifier=f"batch_flusher[{self.group.name}]")

    def stop(self):
        group = self.group
        group.stopping = True
        group.arrived.set()
        super().stop()
        mine = [item for item in group.items if item[0] is self]
        for item in mine:                        # not applied: back to the queue now
            group.items.remove(item)
            self.consumer.requeue_message(item[2])

    # -- receiving ------------------------------------------------------------------------------
    def handle_message(self, body, message):
        event = self.accept(body, message)
        if event is None:
            return
        if self.group.stopping:
            self.consumer.requeue_message(message)
            return
        self.group.arrive((self, event, message))

    # -- acknowledging --------------------------------------------------------------------------
    def _ack(self, messages, multiple: bool):
        """Ack this handler's messages of a settled batch: one ``basic.ack(multiple=True)`` at the
        highest tag (one batch in flight per group, so every lower tag on this channel is settled)."""
        if not messages:
            return
        if not multiple or len(messages) == 1:
            for message in messages:
                self.consumer.ack_message(message)
            return
        last = max(messages, key=lambda m: m.delivery_tag)
        if len({id(m.channel) for m in messages}) != 1:  # a reconnect in between: one by one
            for message in messages:
                self.consumer.ack_message(message)
            return
        if last.channel.connection:
            try:
                last.ack(multiple=True)
            except (AmqpConnectionError, ConnectionError):  # pragma: no cover - the broker reclaims them
                pass


batch_event_handler = BatchEventHandler.decorator


def batched_event_handler(source_service, event_type, group: str | None = None, preload=None, **kwargs):
    """``event_handler`` for a method written for ONE event, applied in batches.

    The method keeps its shape (``def on_x(self, event)`` using ``self.db.effect_of(event)``); the
    entrypoint buffers events like ``batch_event_handler`` and one worker applies the whole batch in
    ONE transaction (``self.db.batch``): each event goes to the method it arrived for, in arrival
    order, and ``effect_of`` joins the batch's transaction. Redeliveries are skipped as duplicates.
    An event the method refuses (``InvalidEvent``) or any error rolls the batch back; the entrypoint
    then applies its events one at a time, so only the bad one is dead-lettered or retried. Why:
    a commit (fsync) and an ack per event cap a service at a few hundred events/s, and the
    departmental case traffic reaches every service (NAMEKO-NOTES, throughput).

    Handlers of the same ``group`` share one buffer and one transaction; they must all be declared
    with this decorator (the group's batch is applied by whichever method comes first).

    ``preload(service, session, events)``, if given, runs once per batch before the method's events
    are applied: it reads in one query the rows the method would fetch one event at a time and
    returns them, and they are kept until the batch is applied (the session's identity map, which
    then answers ``session.get`` without a round trip, holds rows weakly). What else it learnt —
    e.g. which rows do not exist — it may leave in ``session.info`` for the method.
    """
    def decorator(fn):
        if getattr(fn, "_zhifa_per_event", None) is None:
            per_event = fn

            @functools.wraps(per_event)
            def apply_batch(self, events):
                cls = type(self)
                with self.db.batch(events) as batch:
                    methods = [getattr(cls, consumer.rsplit(".", 1)[1]) for consumer, _ in batch.fresh]
                    preloads: dict = {}
                    for method, (_, event) in zip(methods, batch.fresh):
                        if getattr(method, "_zhifa_preload", None) is not None:
                            preloads.setdefault(method._zhifa_preload, []).append(event)
                    loaded = [load(self, batch.session, loaded_events) for load, loaded_events in preloads.items()]
                    for method, (_, event) in zip(methods, batch.fresh):
                        getattr(method, "_zhifa_per_event", method)(self, event)
                    del loaded      # referenced until here, so the identity map keeps the rows
                return batch.result

            apply_batch._zhifa_per_event = per_event
            apply_batch._zhifa_preload = preload
            fn = apply_batch
        elif preload is not None:
            fn._zhifa_preload = preload
        return BatchEventHandler.decorator(source_service, event_type, group=group, **kwargs)(fn)

    return decorator
