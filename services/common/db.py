"""Database plumbing shared by every service: engine from a URL, the idempotency table, the
transactional outbox, and the nameko dependency that ties a handler's effect to both.

- ``processed_events``: the ids of events a handler has applied, written in the SAME transaction
  as the effect, so a redelivered event (at-least-once delivery) has its effect once.
- ``outbox``: events a service emits, written in the same transaction as the state change and
  relayed to RabbitMQ with publisher confirms afterwards (services/common/outbox.py), so a process
  killed between commit and publish loses nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from contextlib import contextmanager
from typing import NamedTuple

from nameko.extensions import DependencyProvider
from sqlalchemy import (DateTime, Integer, String, Text, any_, cast, create_engine, event, func, or_, select, text,
                        update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.common import ownership, settings
from services.common.events import ConflictingDuplicate, Event, make_envelope

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class PlumbingBase(DeclarativeBase):
    """Tables every service database has (idempotency and outbox)."""


class ProcessedEvent(PlumbingBase):
    """An event a handler (``consumer`` = service.method) has applied."""

    __tablename__ = "processed_events"
    consumer: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # SHA-256 of the canonical envelope (events.event_digest): a redelivery has the same, a conflicting
    # duplicate (same id, other content) another. NULL for rows written before it was kept: unknown,
    # so such an id arriving again is taken as a plain duplicate.
    digest: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OutboxMessage(PlumbingBase):
    """An event waiting to be (or already) relayed to ``<source>.events``."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(64))
    envelope: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|published (unrouted: rows of earlier versions, issue 20)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class JobLease(PlumbingBase):
    """Who runs a periodic job now: timers fire in every replica, one holder per lease runs the job."""

    __tablename__ = "job_leases"
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class AlreadyProcessed(Exception):
    """The event's effect was committed before: acknowledge it and do nothing (idempotency)."""


def make_engine(url: str, pool_size: int = 12) -> Engine:
    if url.startswith("sqlite"):
        # SQLite is blocking under eventlet: one connection per process, so green threads queue on the
        # pool (cooperatively) instead of spinning in SQLite's busy handler (NAMEKO-NOTES, drivers).
        busy = settings.get("ZHIFA_SQLITE_BUSY_TIMEOUT")
        engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=60,
                               connect_args={"timeout": busy, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    # pool ≥ the service's max_workers (NAMEKO-NOTES); pre-ping drops a pooled connection to a lost
    # primary before a worker uses it (issue 20)
    return create_engine(url, pool_size=pool_size, max_overflow=4, pool_pre_ping=True,
                         connect_args=pg_connect_defaults(url))


# libpq parameters that bound how long a lost or unreachable PostgreSQL host can hold a service
# (issue 20, PLAT-1): a host that accepts TCP but never answers (a frozen or partitioned primary) is
# given up after connect_timeout and the next host of a multi-host URL is tried — without it a
# connection attempt waits forever; keepalives and tcp_user_timeout end an established connection
# whose peer vanished (a node lost without a TCP reset: kube-proxy to a dead pod) in ~1 min instead
# of the kernel's ~15 min, so the failure is retried as transient against the new primary.
# A parameter in the URL's query wins (…&connect_timeout=20).
PG_CONNECT_DEFAULTS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                       "keepalives_count": 3, "tcp_user_timeout": 60000}


def pg_connect_defaults(url: str) -> dict:
    from sqlalchemy.engine import make_url

    given = make_url(url).query
    return {key: value for key, value in PG_CONNECT_DEFAULTS.items() if key not in given}


def emit(session: Session, event_type: str, payload: dict, *, region_code: str, body_id: str,
         case_id: str | None = None, caused_by: Event | None = None) -> str:
    """Queue an event in the outbox, inside the caller's transaction. Returns its event id."""
    source = session.info["service"]
    envelope = make_envelope(event_type, payload, source_system=f"zhifa.{source}", region_code=region_code,
                             body_id=body_id, case_id=case_id,
                             correlation_id=(caused_by.correlation_id or caused_by.event_id) if caused_by else None)
    session.add(OutboxMessage(event_id=envelope["event_id"], source=source, event_type=event_type,
                              envelope=json.dumps(envelope, ensure_ascii=False)))
    session.info["emitted"] = True
    return envelope["event_id"]


def dialect_insert(session_or_bind, model):
    """``INSERT`` of the database's own dialect (PostgreSQL or SQLite), which has
    ``on_conflict_do_nothing`` / ``on_conflict_do_update`` (issue 20, PLAT-1)."""
    bind = session_or_bind.get_bind() if isinstance(session_or_bind, Session) else session_or_bind
    return (pg_insert if bind.dialect.name == "postgresql" else sqlite_insert)(model)


def lock_key(session: Session, namespace: str, key: str) -> None:
    """Serialise the transactions that decide by reading what another of them may be writing, per key
    (issue 20, PLAT-1): on PostgreSQL a transaction-scoped advisory lock on a 64-bit hash of
    ``namespace:key`` (released at commit or rollback), so the second reads what the first committed. On
    SQLite the database's single writer already serialises: the later writer fails with SQLITE_BUSY, a
    transient error, and its retry reads the committed row."""
    lock_keys(session, exclusive=[(namespace, key)])


def lock_keys(session: Session, exclusive=(), shared=()) -> None:
    """``lock_key`` for many ``(namespace, key)`` pairs in one statement, taken in the order of their
    hashes whatever their mode (two transactions locking overlapping sets never wait for each other in a
    cycle): ``exclusive`` ones as ``lock_key``; ``shared`` ones held by many transactions together, while an
    exclusive holder waits for all of them (issue 17: readers and writers of review's pre-check data). A key
    in both is taken exclusively."""
    if session.get_bind().dialect.name != "postgresql":
        return
    modes: dict[int, bool] = {}
    for pairs, is_exclusive in ((shared, False), (exclusive, True)):
        for ns, key in pairs:
            digest = hashlib.blake2b(f"{ns}:{key}".encode(), digest_size=8).digest()
            h = int.from_bytes(digest, "big", signed=True)
            modes[h] = modes.get(h, False) or is_exclusive
    if not modes:
        return
    keys = sorted(modes)
    # the fence (OFFSET 0) keeps the rows in order when the functions run: one lock after the other
    session.execute(text(
        "SELECT CASE WHEN x THEN pg_advisory_xact_lock(k) ELSE pg_advisory_xact_lock_shared(k) END "
        "FROM (SELECT k, x FROM unnest(CAST(:keys AS bigint[]), CAST(:modes AS boolean[])) WITH ORDINALITY "
        "AS t(k, x, n) ORDER BY n OFFSET 0) AS ordered"), {"keys": keys, "modes": [modes[k] for k in keys]})


def get_or_create(session: Session, model, key: dict, defaults: dict | None = None, *, lock: bool = True):
    """The row of ``model`` whose primary key is ``key``, inserted with ``defaults`` when there is none —
    race-free (issue 20, PLAT-1): ``INSERT … ON CONFLICT DO NOTHING`` and then the row read afresh (and,
    with ``lock``, ``FOR UPDATE`` on PostgreSQL). Two transactions creating the same row — two
    registrations of one body handled at once, a redelivery after an outage's backlog — wait for each
    other on the row instead of both finding nothing, both inserting, and one failing on the primary key
    (an IntegrityError that retried until the event was dead-lettered). The caller then sets the row's
    fields as for a row it found."""
    session.execute(dialect_insert(session, model).values(**key, **(defaults or {})).on_conflict_do_nothing())
    identity = tuple(key[c.key] for c in model.__mapper__.primary_key)
    return session.get(model, identity[0] if len(identity) == 1 else identity,
                       with_for_update=lock or None, populate_existing=True)


def one_of(session: Session, column, values):
    """``column IN values`` for a batch's keys. On PostgreSQL it is ``column = ANY(array)``: one
    statement text whatever the number of keys, so it is prepared once and planned for the index —
    an IN list is a different statement for every length, and a plan cached while the table was
    small scans it sequentially as it grows (claims, case records and party links each cost the
    records service 6–10% that way)."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(cast(values, ARRAY(column.type)))
    return column.in_(values)


class Claim(NamedTuple):
    """What ``claim_unprocessed`` found: ``fresh`` (consumer, event) pairs to apply, in order; the ids
    of ``duplicates`` (applied before with the same content, or unknown content, or repeated within
    the batch); and ``conflicts``: (consumer, event_id, digest) -> reason for copies whose content
    differs from what was applied under their id — dead-lettered, never applied nor acked."""

    fresh: list
    duplicates: set
    conflicts: dict


_CLAIM_PG = text(
    # arrays, not a VALUES list: the statement text is the same for every batch size (prepared once).
    # The rows the INSERT returns are the new ones; for the others, the digest stored before (the
    # final SELECT reads the snapshot the statement started with, so it sees the rows committed
    # before — not the ones this INSERT writes), so a conflicting duplicate costs no extra round trip.
    "WITH x AS MATERIALIZED (SELECT * FROM unnest(CAST(:c AS text[]), CAST(:e AS text[]), CAST(:t AS text[]), "
    "CAST(:d AS text[])) AS x(c, e, t, d)), "
    "ins AS (INSERT INTO processed_events (consumer, event_id, event_type, digest, processed_at) "
    "SELECT c, e, t, d, :at FROM x ON CONFLICT DO NOTHING RETURNING consumer, event_id) "
    "SELECT consumer, event_id, true, NULL FROM ins "
    "UNION ALL "
    "SELECT p.consumer, p.event_id, false, p.digest FROM x JOIN processed_events p "
    "ON p.consumer = x.c AND p.event_id = x.e "
    "WHERE NOT EXISTS (SELECT 1 FROM ins WHERE ins.consumer = x.c AND ins.event_id = x.e)")


def _digest(item) -> str | None:
    return getattr(item, "digest", None)


def conflict_reason(event_id: str, stored: str | None, received: str | None) -> str | None:
    """The dead-letter reason when an id applied before with digest ``stored`` arrives with digest
    ``received`` — or None: same content, or either unknown (rows from before digests were kept)."""
    if stored is None or received is None or stored == received:
        return None
    return ConflictingDuplicate(event_id, stored, received).reason


def claim_unprocessed(session: Session, events, consumers, now: dt.datetime | None = None) -> Claim:
    """Write the processed-event rows (id and content digest) of a batch and return what to apply:
    its (consumer, event) pairs not applied before, in order; the ids of the others (applied before,
    or repeated within the batch); and the copies that conflict with what was applied under their
    id (same id, other content). ``consumers``: the handler name of every event, or one name for all.

    ONE statement does it: an ``INSERT … ON CONFLICT DO NOTHING RETURNING`` whose returned rows are
    the new ones, and, in the same statement, the stored digests of the ids that were not new (on
    SQLite a second query, only when a batch has duplicates). Why not SELECT, then INSERT: the
    conflict check goes through the primary key by construction — a SELECT with two IN lists got a
    sequential-scan plan on the fast-growing table (50–200 ms a batch at 20,000 rows, and more as it
    grows); it is one round trip instead of two; and a replica applying the same redelivered event
    concurrently waits for the other's commit and then sees a duplicate, instead of failing its batch
    on the primary key.
    """
    names = [consumers] * len(events) if isinstance(consumers, str) else list(consumers)
    moment = now or utcnow()
    rows, keys = [], {}
    for name, item in zip(names, events):
        if (name, item.event_id) not in keys:
            keys[(name, item.event_id)] = _digest(item)
            rows.append((name, item.event_id, item.event_type, _digest(item)))
    if not rows:
        return Claim([], set(), {})
    rows.sort(key=lambda r: r[:2])   # one key order for every batch: replicas claiming overlapping batches cannot deadlock
    stored: dict = {}                # (consumer, event_id) -> digest applied before (None: unknown)
    if session.bind.dialect.name == "postgresql":
        new = set()
        for consumer, event_id, inserted, digest in session.execute(_CLAIM_PG, {
                "c": [r[0] for r in rows], "e": [r[1] for r in rows], "t": [r[2] for r in rows],
                "d": [r[3] for r in rows], "at": moment}).all():
            if inserted:
                new.add((consumer, event_id))
            else:
                stored[(consumer, event_id)] = digest
    else:
        new = set()
        for start in range(0, len(rows), 1000):     # 5 parameters a row; SQLite allows 32,766 a statement
            new.update(session.execute(sqlite_insert(ProcessedEvent).values(
                [{"consumer": c, "event_id": e, "event_type": t, "digest": d, "processed_at": moment}
                 for c, e, t, d in rows[start:start + 1000]])
                .on_conflict_do_nothing().returning(ProcessedEvent.consumer, ProcessedEvent.event_id)).all())
    missing = [key for key in keys if key not in new and key not in stored]
    if missing:
        # SQLite; or on PostgreSQL a row another replica committed while this INSERT waited for it
        # (after the statement's snapshot): read their digests now
        wanted = set(missing)
        for consumer, event_id, digest in session.execute(
                select(ProcessedEvent.consumer, ProcessedEvent.event_id, ProcessedEvent.digest)
                .where(one_of(session, ProcessedEvent.event_id, {e for _, e in missing}))).all():
            if (consumer, event_id) in wanted:
                stored[(consumer, event_id)] = digest
    fresh, duplicates, conflicts = [], set(), {}
    for name, item in zip(names, events):
        key = (name, item.event_id)
        if key in new:
            new.discard(key)
            fresh.append((name, item))
            continue
        # applied before (stored), or a second copy in this batch (compared with the first copy)
        reason = conflict_reason(item.event_id, stored[key] if key in stored else keys[key], _digest(item))
        if reason:
            conflicts[(name, item.event_id, _digest(item))] = reason
        else:
            duplicates.add(item.event_id)
    return Claim(fresh, duplicates, conflicts)


class DatabaseAccess:
    """What a worker sees as ``self.db``: sessions, and the idempotent effect of an event."""

    def __init__(self, provider: "Database", consumer: str):
        self._provider = provider
        self.engine = provider.engine
        self.service = provider.service_name
        self.consumer = consumer
        self._batch_session: Session | None = None

    @contextmanager
    def session(self):
        """A transaction: committed on success, rolled back on error. Inside ``batch`` it is the
        batch's transaction (one connection: SQLite has one per process)."""
        if self._batch_session is not None:
            yield self._batch_session
            return
        with Session(self.engine, expire_on_commit=False, info={"service": self.service}) as session:
            with session.begin():
                yield session
        if session.info.get("emitted"):
            self._provider.outbox_nudge.set()

    @staticmethod
    def once_before_commit(session: Session, key: str, fn, *items) -> None:
        """Collect ``items`` under ``key`` and call ``fn(collected)`` ONCE before the transaction
        commits — once per batch inside ``batch``, once per event otherwise. Work that depends on
        the set of things an event touched (e.g. re-running pre-checks of the cases it concerns)
        is then done once for the whole batch instead of once per event."""
        hooks = session.info.setdefault("zhifa_before_commit", {})
        if key not in hooks:
            hooks[key] = (fn, set())
        hooks[key][1].update(items)

    @staticmethod
    def _run_before_commit(session: Session) -> None:
        hooks = session.info.pop("zhifa_before_commit", None)
        while hooks:
            for fn, collected in hooks.values():
                fn(collected)
            hooks = session.info.pop("zhifa_before_commit", None)   # hooks may add hooks

    @contextmanager
    def batch(self, events):
        """ONE transaction applying a batch of events (``services.common.batching``): yields a
        ``BatchContext`` whose ``fresh`` pairs (consumer, event) were not applied before; their
        processed-event rows are written in this transaction, the others are reported as duplicates.
        While it is open, ``effect_of`` and ``session`` use this transaction, so a handler written
        for one event applies unchanged inside a batch."""
        from services.common.batching import BatchContext

        consumers = getattr(events, "consumers", None) or self.consumer
        with self.session() as session:
            context = BatchContext(session)
            if self._provider.case_ownership:
                # SEC-2: events for a case their body does not own are not applied (nor marked
                # processed: applied once a transfer makes their body the owner), they wait
                names = [consumers] * len(events) if isinstance(consumers, str) else list(consumers)
                screened = ownership.screen(session, events)
                context.result.waiting = screened.waiting
                if screened.waiting:
                    kept = [(n, e) for n, e in zip(names, events) if e.event_id not in screened.waiting]
                    events, consumers = [e for _, e in kept], [n for n, _ in kept]
            context.fresh, context.result.duplicates, context.result.conflicts = claim_unprocessed(
                session, events, consumers)
            context.result.applied = {(name, event.event_id) for name, event in context.fresh}
            self._batch_session = session
            try:
                yield context
                self._run_before_commit(session)
            finally:
                self._batch_session = None

    @contextmanager
    def effect_of(self, event: Event):
        """The transaction applying ``event``; raises AlreadyProcessed if it was applied before.

        The processed-event row commits with the effect or not at all. Inside ``batch`` the row is
        already written and the batch's transaction is the effect's.
        """
        if self._batch_session is not None:
            yield self._batch_session
            return
        try:
            with self.session() as session:
                if self._provider.case_ownership and ownership.is_screened(event):
                    waiting = ownership.screen(session, [event]).waiting
                    if waiting:
                        raise ownership.AwaitingOwner(waiting[event.event_id])
                seen = session.get(ProcessedEvent, (self.consumer, event.event_id))
                if seen is not None:
                    self._already_processed(event, seen.digest)
                session.add(ProcessedEvent(consumer=self.consumer, event_id=event.event_id,
                                           event_type=event.event_type, digest=_digest(event)))
                yield session
                self._run_before_commit(session)
        except IntegrityError as exc:
            # a concurrent delivery of the same event committed first
            with Session(self.engine) as session:
                seen = session.get(ProcessedEvent, (self.consumer, event.event_id))
            if seen is not None:
                self._already_processed(event, seen.digest, cause=exc)
            raise

    @staticmethod
    def _already_processed(event: Event, stored: str | None, cause=None):
        """Raise ConflictingDuplicate when ``event``'s content differs from what was applied under
        its id, else AlreadyProcessed (a redelivery: acknowledged without effect)."""
        received = _digest(event)
        if conflict_reason(event.event_id, stored, received):
            raise ConflictingDuplicate(event.event_id, stored, received) from cause
        raise AlreadyProcessed(event.event_id) from cause

    def acquire_lease(self, name: str, ttl_seconds: float) -> bool:
        """True if this process holds (or just took) the lease ``name`` for ``ttl_seconds``.

        Periodic jobs call this first so that, with several replicas, one runs and the others skip
        (timers fire in every replica — NAMEKO-NOTES). Works the same on SQLite and PostgreSQL.
        """
        return take_lease(self.engine, name, ttl_seconds)


def take_lease(engine: Engine, name: str, ttl_seconds: float) -> bool:
    """``DatabaseAccess.acquire_lease`` on an engine (jobs outside a worker: housekeeping)."""
    now = utcnow()
    until = now + dt.timedelta(seconds=ttl_seconds)
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with Session(engine) as session, session.begin():
        session.execute(insert(JobLease).values(name=name, holder=PROCESS_ID, expires_at=now - dt.timedelta(
            seconds=1)).on_conflict_do_nothing())
        taken = session.execute(update(JobLease).where(
            JobLease.name == name, or_(JobLease.holder == PROCESS_ID, JobLease.expires_at < now))
            .values(holder=PROCESS_ID, expires_at=until))
        return taken.rowcount == 1


class Database(DependencyProvider):
    """The service's own database (SQLAlchemy 2), plus its outbox relay.

    Engine in ``setup``, a session per use, dispose in ``stop`` (replaces nameko-sqlalchemy, whose
    pytest plugin breaks on SQLAlchemy 2).
    """

    def __init__(self, relay_outbox: bool = True, case_ownership: bool = False):
        """``case_ownership``: the service accepts departmental case events and keeps the
        ``case_transfers`` table; its handlers apply only events of a case's owner (SEC-2)."""
        self.relay_outbox = relay_outbox
        self.case_ownership = case_ownership
        self.engine: Engine | None = None
        self.outbox_nudge = threading.Event()
        self.relay = None
        self.housekeeping = None

    @property
    def service_name(self) -> str:
        return self.container.service_name

    def setup(self):
        url = settings.database_url(self.service_name)
        max_workers = int(settings.setting("max_workers", 10) or 10)
        self.engine = make_engine(url, pool_size=max_workers + 2)
        from services.common.housekeeping import Housekeeping, check_retention

        check_retention()       # issue 20: a retention shorter than a redelivery would apply events twice
        self.housekeeping = Housekeeping(self.engine, self.service_name)
        if self.relay_outbox:
            from services.common.outbox import OutboxRelay

            self.relay = OutboxRelay(self.engine, settings.amqp_uri(), self.service_name, self.outbox_nudge)

    def start(self):
        if self.relay:
            self.container.spawn_managed_thread(self.relay.run, identifier=f"{self.service_name}.outbox_relay")
        self.container.spawn_managed_thread(self.housekeeping.run, identifier=f"{self.service_name}.housekeeping")

    def stop(self):
        if self.housekeeping:
            self.housekeeping.stop()
        if self.relay:
            self.relay.stop()
        self.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return DatabaseAccess(self, f"{self.service_name}.{worker_ctx.entrypoint.method_name}")
