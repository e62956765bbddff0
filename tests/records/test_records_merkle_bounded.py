"""Bounded Merkle state per replica (REC-4; issue 20 "records scale"): the frontier, the tail and an LRU of
tiles of stored hashes answer every root, inclusion and consistency proof exactly as the whole tree in
memory did, and the memory does not grow with the number of entries."""
from __future__ import annotations

import random
import tracemalloc

import pytest
from nameko import config as nameko_config
from sqlalchemy import delete, func, select, update

from services.records.domain.merkle import (CompactRange, MerkleLog, TiledLog, TileCache, leaf_hash, mth, scan,
                                            verify_consistency, verify_inclusion)
from services.records.ledger import Ledger
from services.records.models import LogEntry, MerkleNode
from services.records.usecases import proofs
from services.records.domain.bundles import inclusion_bundle
from tests.integration import events as ev
from tests.records.test_records_store import _Db, apply


def leaves(n, salt=b""):
    return [leaf_hash(b"entry %d" % i + salt) for i in range(n)]


class Stored:
    """What the database stores, as ``fetch`` sees it: the leaf hashes and the nodes at every
    ``height``-th level (each kept when the appending tree completes it)."""

    def __init__(self):
        self.leaves: list[bytes] = []
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    def fetch(self, level, start, count):
        self.reads += 1
        if level == 0:
            return [self.leaves[i] if i < len(self.leaves) else None for i in range(start, start + count)]
        return [self.nodes.get((level, i)) for i in range(start, start + count)]


def appended(n, height, tail_max=1 << 16, cache=None):
    stored = Stored()
    tree = TiledLog(0, stored.fetch, frontier=CompactRange(), tile_height=height, tail_max=tail_max,
                    cache=cache or TileCache(8))
    for leaf in leaves(n):
        tree.append(leaf)
        stored.leaves.append(leaf)
        for level, index, h in tree.take_new_nodes():
            stored.nodes[(level, index)] = h
    tree.cache_limit = n
    return tree, stored


@pytest.mark.parametrize("height", [1, 2, 3, 8])
def test_rec4_issue20_tiled_log_answers_every_root_and_proof_as_the_whole_tree(height):
    """Roots at every size, inclusion proofs and consistency proofs from a frontier plus tiles of stored
    hashes are byte for byte those of the whole tree in memory (MerkleLog), and verify (RFC 9162)."""
    n = 300
    tree, stored = appended(n, height)
    whole = MerkleLog.from_leaf_hashes(stored.leaves)
    view = TiledLog(n, stored.fetch, tile_height=height, cache=TileCache(4))     # no frontier: proofs of heads
    rng = random.Random(20)
    for size in range(0, n + 1):
        assert tree.root(size) == whole.root(size) == view.root(size)
    for _ in range(300):
        size = rng.randint(1, n)
        index = rng.randrange(size)
        proof = tree.inclusion_proof(index, size)
        assert proof == whole.inclusion_proof(index, size) == view.inclusion_proof(index, size)
        assert verify_inclusion(stored.leaves[index], index, size, proof, whole.root(size))
        old = rng.randint(0, size)
        proof = tree.consistency_proof(old, size)
        assert proof == whole.consistency_proof(old, size) == view.consistency_proof(old, size)
        assert verify_consistency(old, size, whole.root(old), whole.root(size), proof)
    assert tree.leaf_hash(77) == stored.leaves[77]



class CountingLeaves(Stored):
    def __init__(self):
        super().__init__()
        self.leaf_reads = 0

    def fetch(self, level, start, count):
        self.leaf_reads += level == 0
        return super().fetch(level, start, count)


def test_rec4_issue17_the_next_consistency_proof_after_a_signed_head_reads_no_leaf_from_the_database():
    """Issue 17: a head signed at size m trims the tail to the start of m's leaf tile, not to m — the next
    head's consistency proof from m needs that tile, which was read from the database at every signature
    (7.7 leaf reads per archive head at 200 events/s). The proofs are those of the whole tree."""
    stored = CountingLeaves()
    tree = TiledLog(0, stored.fetch, frontier=CompactRange(), tile_height=8, tail_max=1 << 16, cache=TileCache(8))
    heads = [0]
    for n in (300, 301, 517, 600, 1000, 1024, 1030, 1300):       # the sizes heads are signed at
        for leaf in leaves(n - tree.size, salt=b"%d" % n):
            tree.append(leaf)
            stored.leaves.append(leaf)
            for level, index, h in tree.take_new_nodes():
                stored.nodes[(level, index)] = h
        whole = MerkleLog.from_leaf_hashes(stored.leaves)
        reads = stored.leaf_reads
        proof = tree.consistency_proof(heads[-1], n)
        assert proof == whole.consistency_proof(heads[-1], n)
        assert verify_consistency(heads[-1], n, whole.root(heads[-1]), whole.root(n), proof)
        assert stored.leaf_reads == reads, (heads[-1], n)
        tree.trim_tail(n)                                        # the head of size n committed
        assert tree.tail_start == (n >> 8) << 8
        heads.append(n)

def test_rec4_issue20_a_missing_stored_node_is_computed_from_the_tile_below_and_reported():
    tree, stored = appended(64, 2)
    whole = MerkleLog.from_leaf_hashes(stored.leaves)
    del stored.nodes[(4, 1)], stored.nodes[(2, 9)]
    view = TiledLog(64, stored.fetch, tile_height=2)
    assert view.root(64) == whole.root(64) and view.inclusion_proof(20, 64) == whole.inclusion_proof(20, 64)
    assert {(level, index) for level, index, _ in view.take_filled()} >= {(4, 1)}


def test_rec4_issue20_memory_does_not_grow_with_entries():
    """The in-memory structure's node count stays O(log n) (+ the capped tail + the bounded cache) after
    appending many entries, and its allocated bytes do not grow between 20,000 and 200,000 entries."""
    cache = TileCache(4)
    stored = Stored()
    tree = TiledLog(0, stored.fetch, frontier=CompactRange(), tile_height=8, tail_max=256, cache=cache)
    sizes = {}
    tracemalloc.start()
    try:
        for i in range(200_000):
            tree.append(leaf_hash(b"%d" % i))
            tree.take_new_nodes()
            if i + 1 in (20_000, 200_000):
                assert len(tree.frontier.nodes) <= (i + 1).bit_length()
                assert tree.node_count() <= (i + 1).bit_length() + 256 + cache.max_tiles * 511
                sizes[i + 1] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(tree.frontier.nodes) == bin(200_000).count("1")
    assert sizes[200_000] - sizes[20_000] < 64 * 1024, sizes     # the whole tree would add ~11 MiB


def test_rec4_issue20_scan_gives_roots_at_every_size_asked_in_one_pass():
    hashes = leaves(1000)
    whole = MerkleLog.from_leaf_hashes(hashes)
    nodes = []
    scanned = scan(iter(hashes), {1, 7, 256, 999, 1000}, (990, 1000), every=8, on_node=lambda *n: nodes.append(n))
    assert scanned.size == 1000 and scanned.root() == whole.root()
    assert all(scanned.root(s) == whole.root(s) for s in (1, 7, 256, 999))
    assert scanned.leaf_range(995, 1000) == b"".join(hashes[995:1000])
    assert [(lvl, i) for lvl, i, _ in nodes] == [(8, 0), (8, 1), (8, 2)]


# --------------------------------------------------------------- the ledger on SQLite and PostgreSQL
@pytest.fixture
def db(service_engine):
    with nameko_config.patch({"ZHIFA_RECORDS_SIGNING_KEY": "8" * 64, "ZHIFA_RECORDS_SELF_CHECK_RETRY": 0},
                             clear=False):
        yield _Db(service_engine("records"))


def test_rec4_issue20_ledger_proves_every_entry_from_stored_tiles_holding_a_bounded_tree(db):
    """A replica's ledger (tiles of height 2 here, so the stored levels 2, 4, 6 are exercised with few
    entries) keeps the frontier, a tail and a bounded cache; every entry's inclusion proof and every
    head's consistency proof, computed from the stored hashes without the append lock, verify. Stored
    subtree rows that were deleted or altered are written again at the next rebuild."""
    ledger = Ledger(tile_height=2, tail_max=8, cache_tiles=4)
    case_id = "320412-SCJG-TILE-1"
    apply(db, ledger, [ev.case_opened(case_id)] + [ev.evidence(case_id, n=i) for i in range(40)])
    with ledger.appending(db) as session:
        first = ledger.sign_head(session, "test")
    apply(db, ledger, [ev.evidence(case_id, n=i) for i in range(40, 90)])
    with ledger.appending(db) as session:
        second = ledger.sign_head(session, "test")
    assert (first.tree_size, second.tree_size) == (41, 91)
    assert ledger.node_count() <= 91 .bit_length() + 8 + 4 * 7
    with db.session() as session:
        stored = session.scalar(select(func.count()).select_from(MerkleNode))
        rows = session.scalars(select(LogEntry).order_by(LogEntry.sequence)).all()
    assert stored == 91 // 4 + 91 // 16 + 91 // 64          # one row per complete subtree at levels 2, 4, 6
    whole = MerkleLog.from_leaf_hashes([bytes.fromhex(r.leaf_hash) for r in rows])
    assert whole.root(41) == first.root_hash and whole.root(91) == second.root_hash
    with db.session() as session, ledger.proving(session) as tree:
        for row in rows:
            bundle = inclusion_bundle(tree, row.sequence, second, row.canonical.encode())
            assert bundle["proof"] == [p.hex() for p in whole.inclusion_proof(row.sequence, 91)]
    answer = proofs.consistency_proof(db, ledger, 41, 91)
    assert answer["proof"] == [p.hex() for p in whole.consistency_proof(41, 91)]

    # derived rows deleted and altered: a rebuild (a new process) writes them again
    with db.session() as session:
        session.execute(delete(MerkleNode).where(MerkleNode.level == 4))
        session.execute(update(MerkleNode).where(MerkleNode.level == 2, MerkleNode.idx == 3).values(hash="00" * 32))
    restarted = Ledger(tile_height=2, tail_max=8, cache_tiles=4)
    apply(db, restarted, [ev.evidence(case_id, n=90)])
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(MerkleNode)) == 92 // 4 + 92 // 16 + 92 // 64
        assert session.get(MerkleNode, (2, 3)).hash == mth([bytes.fromhex(r.leaf_hash) for r in rows[12:16]]).hex()
    with restarted.reading(db):          # earlier sizes: from the stored tiles, in a transaction
        assert restarted.tree.root(91) == second.root_hash and restarted.tree.root(41) == first.root_hash


def test_rec4_issue17_a_standby_keeps_its_tree_level_with_the_writers_appends_without_the_lock(db):
    """Issue 17: records' case traffic goes to one replica at a time; the standby's timer levels its tree
    with what the writer appended (``Ledger.keep_level``, no append lock), so taking over does not start
    with reading every leaf appended meanwhile under the lock. A tree never built is left alone."""
    writer = Ledger(tile_height=2, tail_max=8, cache_tiles=4)
    standby = Ledger(tile_height=2, tail_max=8, cache_tiles=4)
    case_id = "320412-SCJG-STANDBY-1"
    standby.keep_level(db)
    assert standby.tree is None                      # not built by the timer
    apply(db, standby, [ev.case_opened(case_id)])
    apply(db, writer, [ev.evidence(case_id, n=i) for i in range(30)])
    assert standby.tree.size == 1
    standby.keep_level(db)
    assert standby.tree.size == writer.tree.size == 31
    assert standby.tree.root() == writer.tree.root()
    apply(db, standby, [ev.evidence(case_id, n=30)])  # the standby takes over where the writer stopped
    apply(db, writer, [ev.evidence(case_id, n=31)])
    assert writer.tree.size == standby.tree.size + 1 == 33
