"""The in-memory Merkle tree of the log, kept consistent with the database (REC-4).

The database is the truth: ``log_entries`` holds every canonical entry and its leaf hash. The
process keeps a ``MerkleLog`` of the leaf hashes for roots and proofs. Rules:

* every append happens inside ``Ledger.appending(session)``: one appender at a time in this
  process (a lock) and across replicas (a PostgreSQL advisory transaction lock); inside, the tree
  is first brought level with the database (``sync``: loads entries other replicas appended, or
  rebuilds from the stored leaf hashes if the tree is ahead of or inconsistent with the database);
* leaves are appended to the tree before the commit (the batch event carries the new root); if
  the transaction does not commit, the tree is dropped and rebuilt on next use — so the tree never
  holds a leaf the database does not;
* the sequence numbers in the database must run 0..n-1 without a hole; if not (rows deleted by
  hand), appending stops with a transient error (events wait in the queue, nothing is lost) and
  ``python -m services.records.verify`` names the damage.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.db import emit
from services.common.entrypoints import TransientError
from services.records import config
from services.records.domain.merkle import MerkleLog
from services.records.domain.treehead import SignedTreeHead, TreeHead, sign_tree_head
from services.records.models import LogEntry, TreeHeadRow

log = logging.getLogger(__name__)
APPEND_LOCK_KEY = 0x7A68_6966  # pg advisory lock: one appender across replicas


class LogIntegrityError(TransientError):
    """The stored log has a hole or a duplicate: appending would extend a broken chain."""


class Ledger:
    def __init__(self) -> None:
        self.tree: MerkleLog | None = None
        self.lock = threading.Lock()          # green after eventlet.monkey_patch()
        self.last_head: SignedTreeHead | None = None
        self.last_head_at: float | None = None  # time.time() of the last signed head we know of

    # -- consistency with the database ----------------------------------------------------------
    @staticmethod
    def _lock_db(session: Session) -> None:
        if session.bind.dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))

    def sync(self, session: Session) -> MerkleLog:
        """Bring the tree level with the committed log (call with the lock held)."""
        last = session.scalar(select(func.max(LogEntry.sequence)))
        db_size = 0 if last is None else last + 1
        tree = self.tree
        if tree is not None and tree.size == db_size:
            return tree
        if tree is None or tree.size > db_size:
            tree = self._rebuild(session, db_size)
        else:
            rows = session.execute(select(LogEntry.sequence, LogEntry.leaf_hash)
                                   .where(LogEntry.sequence >= tree.size).order_by(LogEntry.sequence)).all()
            expected = tree.size
            for seq, leaf in rows:
                if seq != expected:
                    self.tree = None
                    raise LogIntegrityError(f"log sequence hole at {expected} (found {seq}); run verify")
                tree.append(bytes.fromhex(leaf))
                expected += 1
            if tree.size != db_size:
                self.tree = None
                raise LogIntegrityError(f"log has {tree.size} contiguous entries, max sequence {db_size - 1}")
        self.tree = tree
        return tree

    def _rebuild(self, session: Session, db_size: int) -> MerkleLog:
        started = time.perf_counter()
        rows = session.execute(select(LogEntry.sequence, LogEntry.leaf_hash).order_by(LogEntry.sequence)).all()
        if len(rows) != db_size or (rows and rows[-1][0] != db_size - 1):
            self.tree = None
            raise LogIntegrityError(f"log has {len(rows)} entries but max sequence {db_size - 1}: "
                                    "entries were deleted; appending stopped — run verify")
        tree = MerkleLog.from_leaf_hashes(b"".join(bytes.fromhex(leaf) for _, leaf in rows))
        log.info("records: Merkle tree rebuilt from %s stored leaf hashes in %.2f s", tree.size,
                 time.perf_counter() - started)
        return tree

    def invalidate(self) -> None:
        self.tree = None

    @contextlib.contextmanager
    def appending(self, db_access, before_lock=None):
        """A write transaction in which the caller may append; the tree is level with the DB inside.
        ``before_lock(session)`` runs in the same transaction before the append lock is taken: work
        that needs no lock (claiming a batch's events) shortens the time replicas wait for it."""
        with self._level(db_access, lock_db=True, before_lock=before_lock) as session:
            yield session

    @contextlib.contextmanager
    def reading(self, db_access):
        """A read transaction with the tree level with the DB (for proofs)."""
        with self._level(db_access, lock_db=False) as session:
            yield session

    @contextlib.contextmanager
    def _level(self, db_access, lock_db: bool, before_lock=None):
        """A transaction with the in-memory tree level with the DB; if it fails, the tree is dropped
        (rebuilt from the DB next time) since it may hold leaves that were rolled back."""
        with self.lock:
            ok = False
            try:
                with db_access.session() as session:
                    if before_lock is not None:
                        before_lock(session)
                    if lock_db:
                        self._lock_db(session)
                    self.sync(session)
                    yield session
                ok = True
            finally:
                if not ok:
                    self.tree = None

    # -- appending -------------------------------------------------------------------------------
    def append_leaf(self, leaf: bytes) -> int:
        return self.tree.append(leaf)

    @property
    def size(self) -> int:
        return self.tree.size if self.tree is not None else 0

    # -- signed tree heads -----------------------------------------------------------------------
    def latest_head(self, session: Session) -> SignedTreeHead | None:
        row = session.scalars(select(TreeHeadRow).order_by(TreeHeadRow.tree_size.desc()).limit(1)).first()
        if row is None:
            return None
        head = head_from_row(row)
        self.last_head = head
        self.last_head_at = row.timestamp_ms / 1000.0
        return head

    def sign_head(self, session: Session, reason: str, now: dt.datetime | None = None) -> SignedTreeHead:
        """Sign the tree at its current size (inside an appending/reading transaction), unless a
        head of that size exists. The returned head matches ``self.tree``."""
        size = self.tree.size
        existing = session.scalars(select(TreeHeadRow).where(TreeHeadRow.tree_size == size)).first()
        if existing is not None:
            return head_from_row(existing)
        moment = now or dt.datetime.now(dt.UTC)
        head = TreeHead(size, self.tree.root(size), int(moment.timestamp() * 1000), config.log_id())
        sth = sign_tree_head(head, config.signer())
        session.add(TreeHeadRow(tree_size=size, root_hash=head.root_hash.hex(), timestamp_ms=head.timestamp,
                                log_id=head.log_id, algorithm=sth.algorithm, signature=sth.signature.hex(),
                                public_key=sth.public_key.hex(), reason=reason))
        self.last_head, self.last_head_at = sth, moment.timestamp()
        self._announce(session, sth, reason)
        return sth

    @staticmethod
    def _announce(session: Session, sth: SignedTreeHead, reason: str) -> None:
        """``record.tree_head_signed`` in the outbox, same transaction: the province witnesses the
        city's heads (config/federation.yaml upward)."""
        region = config.log_region()
        if region is None:
            region = session.scalar(select(LogEntry.region_code).where(LogEntry.sequence == sth.tree_size - 1))
        if not region:
            return
        emit(session, "record.tree_head_signed", {**sth.to_json(), "reason": reason},
             region_code=region, body_id=config.log_body())


def head_from_row(row: TreeHeadRow) -> SignedTreeHead:
    return SignedTreeHead(TreeHead(row.tree_size, bytes.fromhex(row.root_hash), int(row.timestamp_ms), row.log_id),
                          bytes.fromhex(row.signature), bytes.fromhex(row.public_key), row.algorithm)
