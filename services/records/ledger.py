"""The Merkle tree of the log as this process holds it, kept consistent with the database (REC-4).

The database is the truth: ``log_entries`` holds every canonical entry and its leaf hash, and
``merkle_nodes`` the hashes of the complete aligned subtrees at every 8th level. The process keeps a
bounded ``TiledLog`` (issue 20): the frontier (O(log n) subtree roots) to append and sign, the leaf
hashes since the newest signed head (the tail, capped) for the self-check, and an LRU of tiles of
stored hashes — roots and proofs of earlier sizes are computed from the stored hashes in the caller's
transaction (``proving``: without the append lock). Rules:

* every append happens inside ``Ledger.appending(session)``: one appender at a time in this
  process (a lock) and across replicas (a PostgreSQL advisory transaction lock); inside, the tree
  is first brought level with the database (``sync``: loads entries other replicas appended, or
  rebuilds from the stored leaf hashes if the tree is ahead of or inconsistent with the database);
* leaves are appended to the tree before the commit (the batch event carries the new root); if
  the transaction does not commit, the tree is dropped and rebuilt on next use — so the tree never
  holds a leaf the database does not;
* the sequence numbers in the database must run 0..n-1 without a hole; if not (rows deleted by
  hand), appending stops with a transient error (events wait in the queue, nothing is lost) and
  ``python -m services.records.verify`` names the damage;
* self-check (签名前自检, REC-4, issue 14): whenever the tree is (re)built from the stored leaf hashes
  (at start, after a failed transaction) it is checked against every stored signed tree head and
  against the leaves this process held before (``domain.selfcheck``); before every signature the
  tree is checked against the newest stored head; the leased timer repeats the full check
  periodically. On a mismatch nothing is signed or appended: ``SelfCheckFailed`` (transient — the
  events wait in the retry queues, nothing is lost) until a check passes again, the
  ``zhifa_records_self_check_failed`` gauge is 1 and the result, with the inconsistent range, is
  stored in ``self_checks`` (shown on /records/verify). Which heads count is ``heads_to_check``:
  the place where the federation adds the province's witnessed heads of this log
  (``domain.selfcheck.check_head`` answers "is this tree consistent with head H?").
* across tiers (issue 23): at a city, the newest head of this log the province witnessed (kept in
  ``province_witness``) is checked like a stored head (``witness_finding``, with ``check_head``) at
  every full check and before every signature — a log shorter than it, or with another root at its
  size, or a fork alarm from the province, fails the self-check; and until the province has answered
  this process's witness request (sent at start), nothing is signed (``WitnessUnconfirmed``). Every
  signed head carries the consistency proof from the previous signed head, for the witness.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import threading
import time

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from services.common.db import PROCESS_ID, emit, utcnow
from services.common.entrypoints import TransientError
from services.records import config
from services.records import metrics as rec_metrics
from services.records.domain.merkle import (EMPTY_ROOT, TILE_HEIGHT, HeldLeaves, TiledLog, TileCache, scan,
                                            verify_consistency)
from services.records.domain.selfcheck import (Inconsistency, InconsistencyKind, SelfCheckResult, check_head,
                                               compare_held, self_check)
from services.records.domain.treehead import SignedTreeHead, TreeHead, sign_tree_head
from services.records.models import LogEntry, MerkleNode, ProvinceWitness, SelfCheck, TreeHeadRow

log = logging.getLogger(__name__)


def settings_region() -> str | None:
    """The suite's own region (the envelope region of its log's events when ZHIFA_RECORDS_REGION is unset)."""
    from services.common import tiers

    return tiers.suite_region()


APPEND_LOCK_KEY = 0x7A68_6966  # pg advisory lock: one appender across replicas


TAIL_MAX = 1 << 16      # leaf hashes held since the newest signed head (2 MiB), for the self-check's precision
CACHE_TILES = 64        # tiles of stored hashes cached per process (each 2**8 hashes and the levels above: 16 KiB)
SCAN_CHUNK = 1 << 16    # leaf hashes read per query when the tree is rebuilt or checked from the database


class _NodeCheck:
    """While the tree is rebuilt from the leaf hashes: the stored subtree hashes (``merkle_nodes``)
    compared with the recomputed ones a chunk at a time; missing or altered rows are written again
    (derived data — an altered row would make proofs fail, it is never evidence)."""

    def __init__(self, ledger: "Ledger", session: Session) -> None:
        self.ledger, self.session = ledger, session
        self.pending: list[tuple[int, int, bytes]] = []
        self.repaired = 0

    def add(self, level: int, index: int, h: bytes) -> None:
        self.pending.append((level, index, h))
        if len(self.pending) >= 1024:
            self.finish()

    def finish(self) -> None:
        pending, self.pending = self.pending, []
        by_level: dict[int, list[tuple[int, bytes]]] = {}
        for level, index, h in pending:
            by_level.setdefault(level, []).append((index, h))
        wrong = []
        for level, items in by_level.items():
            lo, hi = items[0][0], items[-1][0]
            stored = dict(self.session.execute(select(MerkleNode.idx, MerkleNode.hash).where(
                MerkleNode.level == level, MerkleNode.idx >= lo, MerkleNode.idx <= hi)).all())
            for index, h in items:
                if stored.get(index) != h.hex():
                    wrong.append((level, index, h, index in stored))
        altered = [(level, index) for level, index, _, present in wrong if present]
        if altered:
            log.error("records: %d stored subtree hashes differ from the leaf hashes (first: level %d index %d); "
                      "written again", len(altered), *altered[0])
            for level, index in altered:
                self.session.execute(delete(MerkleNode).where(MerkleNode.level == level, MerkleNode.idx == index))
        self.ledger.store_nodes(self.session, [(level, index, h) for level, index, h, _ in wrong])
        self.repaired += len(wrong)


SELF_CHECK_HISTORY = dt.timedelta(days=7)   # rows of processes that stopped checking are dropped after this


class LogIntegrityError(TransientError):
    """The stored log has a hole or a duplicate: appending would extend a broken chain."""


class SelfCheckFailed(LogIntegrityError):
    """The log is not consistent with its signed tree heads (or with what this process appended):
    nothing is signed or appended until a self-check passes again (REC-4, issue 14). Transient on
    purpose: the events of a refused batch wait in the retry queues with this reason — an integrity
    failure is the operators' matter (alert ZhifaRecordsSelfCheckFailed), the events are not at fault."""

    def __init__(self, result: SelfCheckResult, trigger: str, fresh: bool = True):
        self.result, self.trigger, self.fresh = result, trigger, fresh
        super().__init__(f"records log self-check failed ({trigger}); signing and appending stopped (REC-4): "
                         f"{result.describe()}")


class WitnessUnconfirmed(LogIntegrityError):
    """At a city: the province has not yet answered this process's request for the newest witnessed
    head of the log — nothing is signed until it has, and the log was found consistent with it (a
    check that cannot run blocks; issue 23). Transient: signing resumes when the answer arrives."""


class Ledger:
    """This process's view of the log (REC-4). Bounded whatever the log's size (issue 20): the tree is
    a ``TiledLog`` — the frontier (O(log n) hashes), the leaf hashes since the newest signed head (the
    tail, at most ``tail_max``) and an LRU of tiles read from the stored hashes (``log_entries`` leaf
    hashes and ``merkle_nodes``); roots and proofs for earlier sizes are computed from the stored
    hashes of the caller's transaction."""

    def __init__(self, tile_height: int = TILE_HEIGHT, tail_max: int = TAIL_MAX, cache_tiles: int = CACHE_TILES) -> None:
        self.tree: TiledLog | None = None
        self.tile_height, self.tail_max = tile_height, tail_max
        self.cache = TileCache(cache_tiles)   # complete tiles of committed entries, shared with proof views
        self.lock = threading.Lock()          # green after eventlet.monkey_patch()
        self.last_head: SignedTreeHead | None = None
        self.last_head_at: float | None = None  # time.time() of the last signed head we know of
        # self-check state (REC-4)
        self.failure: SelfCheckResult | None = None
        self.failed_at = 0.0                  # time.monotonic() of the failed check
        self.seen_head_size = 0               # largest head size read from the database (committed)
        self._seen_pending = 0                # … read in the transaction in progress
        self.known: HeldLeaves | None = None  # what a dropped tree held of committed entries
        self.committed_size = 0               # leaves of ``tree`` known to be committed
        self.committed_root = EMPTY_ROOT      # … and their root
        self._trim_pending = 0                # a head signed in the transaction in progress covers this many
        self.last_full_check = float("-inf")  # time.monotonic() of the last check against every head
        # at a city: this process's witness request to the province (issue 23)
        self.witness_request: str | None = None
        self.witness_requested_at = float("-inf")

    @property
    def known_size(self) -> int:
        return self.known.size if self.known is not None else 0

    def node_count(self) -> int:
        """Hashes this process holds in memory for the log: the tree's frontier, tail and cached tiles,
        and the leaves a dropped tree held (issue 20: O(log n) + tail + cache, not O(n))."""
        held = len(self.known.tail) // 32 if self.known is not None else 0
        if self.tree is None:
            return held + self.cache.hashes()
        return held + self.tree.node_count()

    # -- stored hashes ----------------------------------------------------------------------------
    @staticmethod
    def _fetch(session: Session, level: int, start: int, count: int) -> list[bytes | None]:
        """Stored hashes ``start … start+count-1`` of ``level``: leaf hashes (0) or ``merkle_nodes``."""
        if level == 0:
            rows = session.execute(select(LogEntry.sequence, LogEntry.leaf_hash).where(
                LogEntry.sequence >= start, LogEntry.sequence < start + count)).all()
        else:
            rows = session.execute(select(MerkleNode.idx, MerkleNode.hash).where(
                MerkleNode.level == level, MerkleNode.idx >= start, MerkleNode.idx < start + count)).all()
        out: list[bytes | None] = [None] * count
        for index, value in rows:
            out[index - start] = bytes.fromhex(value)
        return out

    def _bind(self, tree: TiledLog, session: Session) -> TiledLog:
        tree.fetch = functools.partial(self._fetch, session)
        tree.cache_limit = self.committed_size
        return tree

    @staticmethod
    def store_nodes(session: Session, nodes) -> None:
        """Store completed or recomputed subtree hashes (``merkle_nodes``; present ones are kept)."""
        if not nodes:
            return
        rows = [{"level": level, "idx": index, "hash": h.hex()} for level, index, h in nodes]
        if session.bind.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        session.execute(dialect_insert(MerkleNode).on_conflict_do_nothing(index_elements=["level", "idx"]), rows)

    def flush_nodes(self, session: Session) -> None:
        """The stored-level nodes this transaction's appends completed (one per 2**tile_height leaves)."""
        if self.tree is not None:
            self.store_nodes(session, self.tree.take_new_nodes())
            self.store_nodes(session, self.tree.take_filled())

    def _leaves(self, session: Session, db_size: int):
        """The stored leaf hashes in sequence order, read in chunks (never all at once); a hole stops."""
        expected = 0
        while expected < db_size:
            rows = session.execute(select(LogEntry.sequence, LogEntry.leaf_hash).where(
                LogEntry.sequence >= expected, LogEntry.sequence < expected + SCAN_CHUNK)
                .order_by(LogEntry.sequence)).all()
            for seq, leaf in rows:
                if seq != expected:
                    raise LogIntegrityError(f"log sequence hole at {expected} (found {seq}): entries were "
                                            "deleted; appending stopped — run verify")
                yield bytes.fromhex(leaf)
                expected += 1
            if len(rows) < SCAN_CHUNK and expected < db_size:
                raise LogIntegrityError(f"log has {expected} contiguous entries but max sequence {db_size - 1}: "
                                        "entries were deleted; appending stopped — run verify")

    # -- consistency with the database ----------------------------------------------------------
    @staticmethod
    def _lock_db(session: Session) -> None:
        if session.bind.dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))

    def sync(self, session: Session) -> TiledLog:
        """Bring the tree level with the committed log (call with the lock held)."""
        last = session.scalar(select(func.max(LogEntry.sequence)))
        db_size = 0 if last is None else last + 1
        tree = self.tree
        if tree is not None and tree.size == db_size:
            return self._bind(tree, session)
        if tree is None or tree.size > db_size:
            if tree is not None:      # entries this process held are gone: the check compares
                self._drop()
            tree = self._rebuild(session, db_size)
            self.tree = tree
            self.committed_size, self.committed_root = tree.size, tree.root()
            return self._bind(tree, session)
        rows = session.execute(select(LogEntry.sequence, LogEntry.leaf_hash)
                               .where(LogEntry.sequence >= tree.size).order_by(LogEntry.sequence)).all()
        expected = tree.size
        for seq, leaf in rows:
            if seq != expected:
                self.tree = None
                raise LogIntegrityError(f"log sequence hole at {expected} (found {seq}); run verify")
            tree.append(bytes.fromhex(leaf))
            expected += 1
        tree.take_new_nodes()     # stored by the replica that appended these entries
        if tree.size != db_size:
            self.tree = None
            raise LogIntegrityError(f"log has {tree.size} contiguous entries, max sequence {db_size - 1}")
        self.committed_size, self.committed_root = tree.size, tree.root()
        return self._bind(tree, session)

    def _rebuild(self, session: Session, db_size: int) -> TiledLog:
        """The tree from the stored leaf hashes in one pass (O(log n) memory besides the tail), checked
        against every stored head (and the witnessed one, and what a dropped tree held) — the full
        self-check — and the stored subtree hashes checked and repaired on the way."""
        started = time.perf_counter()
        heads = self.heads_to_check(session)
        witnessed = self.witnessed_head(session)
        known = self.known
        newest = heads[-1].tree_size if heads else 0
        tail_from = max(min(newest, db_size), db_size - self.tail_max)
        capture_lo = min(tail_from, known.tail_start) if known is not None else tail_from
        sizes = {h.tree_size for h in heads if h.tree_size <= db_size}
        if witnessed is not None and witnessed[0].tree_size <= db_size:
            sizes.add(witnessed[0].tree_size)
        if known is not None and known.size <= db_size:
            sizes.add(known.size)
        nodes = _NodeCheck(self, session)
        scanned = scan(self._leaves(session, db_size), sizes, (capture_lo, db_size), every=self.tile_height,
                       on_node=nodes.add)
        nodes.finish()
        self.cache.clear()           # tiles read before may be of a log since rewritten: the database is the truth
        tree = TiledLog(db_size, frontier=scanned.frontier, cache=self.cache, tile_height=self.tile_height,
                        tail_start=tail_from, tail_max=self.tail_max)
        tree.tail = bytearray(scanned.leaf_range(tail_from, db_size))
        log.info("records: Merkle frontier rebuilt from %s stored leaf hashes in %.2f s (%s subtree hashes "
                 "repaired)", db_size, time.perf_counter() - started, nodes.repaired)
        self.full_check(session, scanned, "rebuild", heads=heads, witnessed=witnessed)
        return tree

    def _drop(self) -> None:
        """Forget the tree (it may hold leaves of a transaction that did not commit); remember what it
        held of committed entries so that the rebuilt tree is checked against them."""
        held = self._held()
        if held is not None and held.size and (self.known is None or held.size >= self.known.size):
            self.known = held
        self.tree = None

    def _held(self) -> HeldLeaves | None:
        """The committed part of the tree: size, root and the tail's leaves up to that size."""
        tree = self.tree
        if tree is None:
            return None
        size = self.committed_size
        start = min(tree.tail_start, size)
        return HeldLeaves(size, self.committed_root, start, bytes(tree.tail[:(size - start) * 32]))

    # -- self-check (REC-4, issue 14) ------------------------------------------------------------
    @staticmethod
    def stored_heads(session: Session) -> list[SignedTreeHead]:
        """Every stored signed tree head, smallest first (one query)."""
        rows = session.execute(select(TreeHeadRow.tree_size, TreeHeadRow.root_hash, TreeHeadRow.timestamp_ms,
                                      TreeHeadRow.log_id, TreeHeadRow.signature, TreeHeadRow.public_key,
                                      TreeHeadRow.algorithm).order_by(TreeHeadRow.tree_size)).all()
        return [SignedTreeHead(TreeHead(size, bytes.fromhex(root), int(ts), log_id), bytes.fromhex(sig),
                               bytes.fromhex(pub), alg) for size, root, ts, log_id, sig, pub, alg in rows]

    def heads_to_check(self, session: Session, newest_only: bool = False) -> list[SignedTreeHead]:
        """The signed heads this log must stay consistent with, smallest first: its stored heads (all
        of them, or only the newest before a signature). The place to add other evidence of this log's
        past — e.g. the heads of this log a province witnessed (federation): a suite must sign nothing
        inconsistent with them."""
        if not newest_only:
            return self.stored_heads(session)
        row = session.scalars(select(TreeHeadRow).order_by(TreeHeadRow.tree_size.desc()).limit(1)).first()
        return [] if row is None else [head_from_row(row)]

    @staticmethod
    def witnessed_head(session: Session) -> tuple[SignedTreeHead, str] | None:
        """At a city: the newest head of this log the province witnessed, and its status."""
        if not config.witness_check_required():
            return None
        row = session.get(ProvinceWitness, config.log_id())
        if row is None or row.status in ("none", "reset") or row.tree_size is None:
            return None
        head = SignedTreeHead(TreeHead(row.tree_size, bytes.fromhex(row.root_hash), int(row.timestamp), row.log_id),
                              bytes.fromhex(row.signature), bytes.fromhex(row.public_key), row.algorithm or "ed25519")
        return head, row.status

    @staticmethod
    def witness_check(tree, witnessed: tuple[SignedTreeHead, str] | None) -> Inconsistency | None:
        """Is ``tree`` consistent with what the province witnessed of this log? The witnessed head is a
        head this log signed, so it is checked exactly like a stored one (its signature by a trusted
        key, the root at its size); a fork alarm from the province fails too."""
        if witnessed is None:
            return None
        head, status = witnessed
        finding = check_head(tree, head, verifiers=config.trusted_verifiers())
        if finding is None and status == "forked":
            return Inconsistency(InconsistencyKind.WITNESS_FORKED, head.tree_size, head.tree_size,
                                 max(head.tree_size, tree.size - 1))
        return finding

    def witness_finding(self, session: Session, tree) -> Inconsistency | None:
        return self.witness_check(tree, self.witnessed_head(session))

    def check(self, tree, heads: list[SignedTreeHead], trigger: str,
              verify_all_signatures: bool = False, extra=()) -> SelfCheckResult:
        """The pure self-check with this process's knowledge (trusted keys, the largest head seen
        committed, the leaves it held before), then its outcome applied (call with the lock held)."""
        result = self.evaluate(tree, heads, verify_all_signatures, extra)
        self.apply(result, trigger, heads)
        return result

    def evaluate(self, tree, heads: list[SignedTreeHead], verify_all_signatures: bool = False,
                 extra=(), held: HeldLeaves | None = None) -> SelfCheckResult:
        extra = list(extra)
        known = held if held is not None else self.known
        if known is not None:
            extra.append(compare_held(known, tree))
        return self_check(tree, heads, verifiers=config.trusted_verifiers(), seen_head_size=self.seen_head_size,
                          verify_all_signatures=verify_all_signatures, extra=extra)

    def apply(self, result: SelfCheckResult, trigger: str, heads: list[SignedTreeHead]) -> None:
        if heads:   # promoted when the transaction that read it commits (it may be its own new head)
            self._seen_pending = max(self._seen_pending, heads[-1].tree_size)
        rec_metrics.SELF_CHECK_FAILED.set(0 if result.ok else 1)
        rec_metrics.SELF_CHECK_LAST_RUN.set(time.time())
        if result.ok:
            if self.known is not None and result.tree_size >= self.known.size:
                self.known = None   # the checked tree carries what it knew
            if self.failure is not None:
                log.warning("records: self-check passes again (%s): %s", trigger, result.describe())
            self.failure = None
        else:
            log.error("records: %s", result.describe())
            self.failure, self.failed_at = result, time.monotonic()

    def full_check(self, session: Session, tree, trigger: str, heads=None, witnessed=None) -> SelfCheckResult:
        """Check ``tree`` (a scan of the stored leaves) against every stored head, inside the caller's
        transaction; raises ``SelfCheckFailed`` — the transaction is rolled back and the result
        recorded apart."""
        heads = self.heads_to_check(session) if heads is None else heads
        witnessed = self.witnessed_head(session) if witnessed is None else witnessed
        result = self.check(tree, heads, trigger, extra=[self.witness_check(tree, witnessed)])
        self.last_full_check = time.monotonic()
        if not result.ok:
            self.tree = None
            raise SelfCheckFailed(result, trigger)
        record_self_check(session, result, trigger)
        return result

    def check_witness(self, db_access) -> None:
        """At a city, when the province's view of this log changed: under the append lock, the tree
        against the witnessed head and the newest stored head (the tree was checked against every
        stored head when it was built, and against the newest before every signature since); a
        failure stops signing and appending (``SelfCheckFailed``) until a check passes again (e.g.
        after a resolved fork)."""
        if not config.witness_check_required():
            return
        with self.appending(db_access) as session:
            result = self.check(self.tree, self.heads_to_check(session, newest_only=True), "witness",
                                extra=[self.witness_finding(session, self.tree)])
            if not result.ok:
                self.tree = None
                raise SelfCheckFailed(result, "witness")
            record_self_check(session, result, "witness")

    def periodic_check(self, db_access) -> SelfCheckResult:
        """The leased timer's full self-check, outside the append lock: one pass over a snapshot of the
        stored leaf hashes against every head and the leaves this process holds (its tail, its root).
        Heads are read first: every head read covers entries committed before it."""
        self.last_full_check = time.monotonic()
        with self.lock:
            held = self._held()
        with db_access.session() as session:
            heads = self.heads_to_check(session)
            witnessed = self.witnessed_head(session)
            last = session.scalar(select(func.max(LogEntry.sequence)))
            db_size = 0 if last is None else last + 1
            sizes = {h.tree_size for h in heads if h.tree_size <= db_size}
            if witnessed is not None and witnessed[0].tree_size <= db_size:
                sizes.add(witnessed[0].tree_size)
            capture = None
            if held is not None:
                if held.size <= db_size:
                    sizes.add(held.size)
                capture = (held.tail_start, max(held.tail_start, min(held.size, db_size)))
            stored = scan(self._leaves(session, db_size), sizes, capture)
            witness_problem = self.witness_check(stored, witnessed)
        # the leaves this process holds, as far as the snapshot goes (a later commit is not a deletion)
        result = self.evaluate(stored, heads, verify_all_signatures=True, extra=[witness_problem],
                               held=held if held is not None and held.size <= stored.size else None)
        with self.lock:     # applied between two appending transactions
            if result.ok and self.failure is not None:
                return result   # a failure found meanwhile by a rebuild stands until that check passes
            self.apply(result, "periodic", heads)
            self.seen_head_size, self._seen_pending = max(self.seen_head_size, self._seen_pending), 0
            if not result.ok:
                self._drop()
        record_self_check_apart(db_access, result, "periodic")
        return result

    @contextlib.contextmanager
    def appending(self, db_access, before_lock=None):
        """A write transaction in which the caller may append; the tree is level with the DB inside.
        ``before_lock(session)`` runs in the same transaction before the append lock is taken: work
        that needs no lock (claiming a batch's events) shortens the time replicas wait for it."""
        with self._level(db_access, lock_db=True, before_lock=before_lock) as session:
            yield session

    def _committed(self) -> None:
        """After a commit: what the tree holds is committed; a head signed in it covers its tail."""
        if self.tree is not None:
            self.committed_size, self.committed_root = self.tree.size, self.tree.root()
            if self._trim_pending:
                self.tree.trim_tail(self._trim_pending)
            self.tree.fetch = None
        self.seen_head_size = max(self.seen_head_size, self._seen_pending)

    @contextlib.contextmanager
    def try_appending(self, db_access):
        """An appending transaction only if the append lock is free right now (in this process and,
        on PostgreSQL, across replicas) and the tree is ready — yields None otherwise, never waits and
        never rebuilds: a read appending its own access entries on the way out (issue 20)."""
        if self.tree is None or self.failure is not None or not self.lock.acquire(blocking=False):
            yield None
            return
        ok = False
        try:
            with db_access.session() as session:
                if session.bind.dialect.name == "postgresql" and not session.scalar(
                        select(func.pg_try_advisory_xact_lock(APPEND_LOCK_KEY))):
                    yield None
                    ok = True
                    return
                self.sync(session)
                yield session
                self.flush_nodes(session)
            ok = True
            self._committed()
        finally:
            self._seen_pending, self._trim_pending = 0, 0
            if not ok:
                self._drop()
            self.lock.release()

    @contextlib.contextmanager
    def proving(self, session: Session):
        """A read-only view of the committed log in ``session`` to compute roots and proofs from (issue
        20): no append lock and no tree — tiles of stored hashes (cached in this process) are read in
        the caller's transaction. Refused while this process found the log inconsistent (REC-4)."""
        self.refuse_while_failed()
        last = session.scalar(select(func.max(LogEntry.sequence)))
        view = TiledLog(0 if last is None else last + 1, functools.partial(self._fetch, session), cache=self.cache,
                        tile_height=self.tile_height)
        try:
            yield view
        except LookupError as exc:
            raise LogIntegrityError(f"stored hashes missing: {exc}; run verify") from exc
        self.store_nodes(session, view.take_filled())

    def refuse_while_failed(self) -> None:
        """Reads of case records are logged: while this process found the log inconsistent with its
        signed heads they answer 503 like the appends (REC-4) — without taking the append lock."""
        failure = self.failure
        if failure is not None:
            raise SelfCheckFailed(failure, "refused", fresh=False)

    def keep_level(self, db_access) -> None:
        """Bring this process's tree level with the committed log without the append lock — a standby
        replica's timer (issue 17: the writer replica appends the case traffic): when it takes over, its
        first batch does not read every leaf appended meanwhile while holding the lock. Nothing to do
        before the tree was first built (the first append or read builds and checks it)."""
        if self.tree is None or self.failure is not None:
            return
        with self.reading(db_access):
            pass

    @contextlib.contextmanager
    def reading(self, db_access):
        """A read transaction with the tree level with the DB."""
        with self._level(db_access, lock_db=False) as session:
            yield session

    @contextlib.contextmanager
    def _level(self, db_access, lock_db: bool, before_lock=None):
        """A transaction with the in-memory tree level with the DB; if it fails, the tree is dropped
        (rebuilt from the DB next time) since it may hold leaves that were rolled back."""
        with self.lock:
            if self.failure is not None:
                if time.monotonic() - self.failed_at < config.self_check_retry():
                    raise SelfCheckFailed(self.failure, "refused", fresh=False)
                self._drop()   # rebuild and check again
            ok = False
            failed: SelfCheckFailed | None = None
            try:
                with db_access.session() as session:
                    if before_lock is not None:
                        before_lock(session)
                    if lock_db:
                        self._lock_db(session)
                    self.sync(session)
                    yield session
                    self.flush_nodes(session)
                ok = True
                self._committed()
            except SelfCheckFailed as exc:
                failed = exc
                raise
            except LookupError as exc:
                raise LogIntegrityError(f"stored hashes missing: {exc}; run verify") from exc
            finally:
                self._seen_pending, self._trim_pending = 0, 0
                if not ok:
                    self._drop()
                if failed is not None and failed.fresh:
                    record_self_check_apart(db_access, failed.result, failed.trigger)

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
        newest = session.scalars(select(TreeHeadRow).order_by(TreeHeadRow.tree_size.desc()).limit(1)).first()
        self.require_witness_answer(session)
        self.check_before_signing(session)
        if newest is not None and newest.tree_size == size:
            return head_from_row(newest)
        moment = now or dt.datetime.now(dt.UTC)
        head = TreeHead(size, self.tree.root(size), int(moment.timestamp() * 1000), config.log_id())
        sth = sign_tree_head(head, config.signer())
        session.add(TreeHeadRow(tree_size=size, root_hash=head.root_hash.hex(), timestamp_ms=head.timestamp,
                                log_id=head.log_id, algorithm=sth.algorithm, signature=sth.signature.hex(),
                                public_key=sth.public_key.hex(), reason=reason))
        self.last_head, self.last_head_at = sth, moment.timestamp()
        self._seen_pending = max(self._seen_pending, size)   # seen once this transaction commits
        consistency = None
        if newest is not None:     # the witness accepts a head only as an extension of the one before
            proof = self.tree.consistency_proof(newest.tree_size, size)
            # computed from stored hashes (issue 20): checked before it is sent, a wrong one would raise
            # the province's fork alarm
            if not verify_consistency(newest.tree_size, size, bytes.fromhex(newest.root_hash), head.root_hash, proof):
                raise LogIntegrityError(f"the stored hashes do not prove the head of size {size} extends the head "
                                        f"of size {newest.tree_size}; nothing signed — run verify")
            consistency = {"from_size": newest.tree_size, "from_root": newest.root_hash,
                           "proof": [p.hex() for p in proof]}
        self._trim_pending = size      # the tail below it is vouched for by this head once it commits
        self._announce(session, sth, reason, consistency)
        return sth

    def require_witness_answer(self, session: Session) -> None:
        """At a city: sign only once the province answered this process's witness request."""
        if not config.witness_check_required():
            return
        row = session.get(ProvinceWitness, config.log_id())
        if self.witness_request is None or row is None or self.witness_request not in (row.answered_requests or []):
            raise WitnessUnconfirmed("records: the province has not yet answered this process's request for the "
                                     "newest witnessed head of the log; nothing is signed until it has (issue 23)")

    def request_witness(self, session: Session, tree_size: int) -> str:
        """Ask the province for the newest witnessed head of this log (``record.witness_requested``)."""
        region = config.log_region() or settings_region()
        event_id = emit(session, "record.witness_requested", {"log_id": config.log_id(), "tree_size": tree_size},
                        region_code=region, body_id=config.log_body())
        self.witness_request, self.witness_requested_at = event_id, time.monotonic()
        return event_id

    def check_before_signing(self, session: Session) -> SelfCheckResult:
        """Before a signature: the tree must be consistent with the newest stored head (its root at
        that size, signed by a trusted key) and no head seen before may have vanished. Raises
        ``SelfCheckFailed`` (the caller's transaction, and everything it appended, is rolled back)."""
        result = self.check(self.tree, self.heads_to_check(session, newest_only=True), "before_signing",
                            extra=[self.witness_finding(session, self.tree)])
        if not result.ok:
            raise SelfCheckFailed(result, "before_signing")
        record_self_check(session, result, "before_signing")
        return result

    @staticmethod
    def _announce(session: Session, sth: SignedTreeHead, reason: str, consistency: dict | None = None) -> None:
        """``record.tree_head_signed`` in the outbox, same transaction: the province witnesses the
        city's heads (config/federation.yaml upward), each with the consistency proof from the
        previous signed head."""
        region = config.log_region() or settings_region()
        if region is None:
            region = session.scalar(select(LogEntry.region_code).where(LogEntry.sequence == sth.tree_size - 1))
        if not region:
            return
        emit(session, "record.tree_head_signed", {**sth.to_json(), "reason": reason, "consistency": consistency},
             region_code=region, body_id=config.log_body())


def _self_check_row(result: SelfCheckResult, trigger: str) -> dict:
    first = result.range
    return {"checker": PROCESS_ID[:128], "checked_at": utcnow(), "ok": result.ok, "trigger": trigger,
            "tree_size": result.tree_size, "heads_checked": result.heads_checked,
            "newest_head_size": result.newest_head_size, "consistent_through": result.consistent_through,
            "first_sequence": first[0] if first else None, "last_sequence": first[1] if first else None,
            "summary": result.summary_zh(), "problems": [p.to_json() for p in result.problems]}


def record_self_check(session: Session, result: SelfCheckResult, trigger: str) -> None:
    """Store the result as this process's latest self-check (one row per process; rows of processes
    silent for a week are dropped)."""
    row = _self_check_row(result, trigger)
    done = session.execute(update(SelfCheck).where(SelfCheck.checker == row["checker"]).values(**row)).rowcount
    if not done:
        session.execute(delete(SelfCheck).where(SelfCheck.checked_at < row["checked_at"] - SELF_CHECK_HISTORY))
        session.execute(insert(SelfCheck).values(**row))


def record_self_check_apart(db_access, result: SelfCheckResult, trigger: str) -> None:
    """A failed check, recorded in its own transaction (the one that ran it is rolled back)."""
    try:
        with db_access.session() as session:
            record_self_check(session, result, trigger)
    except Exception:  # noqa: BLE001 - the failure is logged and in the gauge; the database may be the problem
        log.exception("records: could not record the failed self-check")


def head_from_row(row: TreeHeadRow) -> SignedTreeHead:
    return SignedTreeHead(TreeHead(row.tree_size, bytes.fromhex(row.root_hash), int(row.timestamp_ms), row.log_id),
                          bytes.fromhex(row.signature), bytes.fromhex(row.public_key), row.algorithm)
