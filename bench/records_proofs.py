"""Benchmark of the records Merkle log (REC-4): proofs and full verification at 1M entries.

    python bench/records_proofs.py [--n 1000000] [--proofs 1000] [--seed 7] [--merkle-n 1000000]

Prints exactly five BENCH lines on stdout:
    BENCH records_inclusion_proof_1m <ms> ms   p95 of random inclusion proofs generated AND verified
    BENCH records_verify_1m <s> s              full verify_log over all entries
    BENCH records_verify_bindings_1m <s> s     verify_bindings: every entry's index columns and its case (issue 14)
    BENCH records_self_check_1m_10k_heads <s> s  self_check of the tree against 10,000 signed heads, every
                                                 signature verified (the periodic check; at start and before
                                                 signing only the newest and mismatching heads' signatures)
    BENCH records_merkle_memory_per_million_entries <MiB> MiB  what a records replica holds in memory for the
                                                 Merkle tree (issue 20: frontier, tail, tile cache), measured with
                                                 tracemalloc after appending --merkle-n synthetic entries and
                                                 proving 200 of them (default 10^6 entries; below, the growth
                                                 from n/2 to n is extrapolated to 10^6 once the tail is full)
Other diagnostics go to stderr.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.records.domain.entries import entry_bytes  # noqa: E402
from services.records.domain.merkle import MerkleLog, leaf_hashes, verify_inclusion  # noqa: E402
from services.records.domain.treehead import TreeHead, load_private_key, sign_tree_head  # noqa: E402
from services.records.domain.selfcheck import self_check  # noqa: E402
from services.records.domain.treehead import Ed25519Verifier  # noqa: E402
from services.records.domain.verify import verify_bindings, verify_log  # noqa: E402

_STAGES = ("initiation", "investigation", "decision", "service_execution", "archiving")
_KINDS = ("text", "photo", "video", "body_worn_camera", "electronic_data")
_DOCS = ("filing_approval", "investigation_record", "prior_notice", "penalty_decision", "proof_of_service")


def synthetic_entries(n: int) -> list[bytes]:
    """n realistic canonical entries (~400 bytes each). Built via ``entry_bytes`` for a template
    and then by substitution, so that building 1M entries does not dominate the run."""
    base_hash = "0" * 64
    out = []
    templates: dict[tuple, bytes] = {}
    for i in range(n):
        key = (i % 5, (i // 7) % 5)
        tmpl = templates.get(key)
        if tmpl is None:
            sample = entry_bytes({
                "seq": 123456789, "kind": "record", "case_id": "CASE-987654321",
                "region_code": "220102", "body_id": "220102-SCJG-0001",
                "stage": _STAGES[key[0]], "record_kind": _KINDS[key[1]],
                "document_type": _DOCS[key[0]],
                "occurred_at": "2025-06-30T10:15:00+08:00",
                "content_hashes": [base_hash],
                "officers": ["22010219001", "22010219002"],
                "personal_commitment": "f" * 64,
                "note": "执法全过程记录",
            })
            tmpl = (sample.replace(b"%", b"%%").replace(b"123456789", b"%(seq)d")
                    .replace(b"987654321", b"%(case)09d").replace(base_hash.encode(), b"%(hash)064x"))
            templates[key] = tmpl
        out.append(tmpl % {b"seq": i, b"case": i // 20, b"hash": i * 2654435761 % (1 << 256)})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--proofs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--merkle-n", type=int, default=1_000_000, help="entries appended for the memory figure")
    args = ap.parse_args(argv)
    n = args.n
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    entries = synthetic_entries(n)
    t1 = time.perf_counter()
    stored = leaf_hashes(entries)
    log = MerkleLog.from_leaf_hashes(stored)
    t2 = time.perf_counter()
    print(f"built {n} entries in {t1 - t0:.2f}s, leaf hashes + tree in {t2 - t1:.2f}s", file=sys.stderr)

    key = load_private_key("5a" * 32)
    sizes = sorted({max(1, n * k // 10) for k in range(1, 11)} | {n})
    heads = [sign_tree_head(TreeHead(s, log.root(s), 1_750_000_000_000 + s, "records.bench"), key) for s in sizes]

    root = log.root(n)
    times = []
    for _ in range(args.proofs):
        idx = rng.randrange(n)
        start = time.perf_counter()
        proof = log.inclusion_proof(idx, n)
        ok = verify_inclusion(log.leaf_hash(idx), idx, n, proof, root)
        times.append(time.perf_counter() - start)
        if not ok:
            print(f"inclusion proof for {idx} failed", file=sys.stderr)
            return 1
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)] * 1000

    start = time.perf_counter()
    report = verify_log(entries, stored, heads, key.public_key(), log_id="records.bench")
    verify_s = time.perf_counter() - start
    if not report.ok:
        print(f"verify_log failed: {report.summary()}", file=sys.stderr)
        return 1

    # the columns as the service stores them (sequence, canonical text, index columns), one case per 20
    import datetime as dt
    import json as _json

    occurred = dt.datetime(2025, 6, 30, 2, 15, tzinfo=dt.timezone.utc)
    rows = []
    for i, e in enumerate(entries):
        obj = _json.loads(e)
        rows.append((i, e, {"entry_kind": obj["kind"], "case_id": obj["case_id"], "region_code": obj["region_code"],
                            "body_id": obj["body_id"], "stage": obj["stage"], "record_kind": obj["record_kind"],
                            "document_type": obj["document_type"], "event_id": None, "event_type": None,
                            "occurred_at": occurred, "content_hash": obj["content_hashes"][0], "covers": None}))
    cases = [{"case_id": f"CASE-{c:09d}", "region_code": "220102", "body_id": "220102-SCJG-0001", "sealed": False,
              "archived_at": None} for c in range((n + 19) // 20)]
    start = time.perf_counter()
    problems = verify_bindings(rows, cases)
    bindings_s = time.perf_counter() - start
    if problems:
        print(f"verify_bindings found {len(problems)} problems: {problems[0].detail}", file=sys.stderr)
        return 1

    step = max(1, n // 10_000)
    many = [sign_tree_head(TreeHead(s, log.root(s), 1_750_000_000_000 + s, "records.bench"), key)
            for s in range(step, n + 1, step)]
    start = time.perf_counter()
    result = self_check(log, many, verifiers=(Ed25519Verifier(key),), verify_all_signatures=True)
    self_check_s = time.perf_counter() - start
    if not result.ok:
        print(f"self_check failed: {result.describe()}", file=sys.stderr)
        return 1

    print(f"BENCH records_inclusion_proof_1m {p95:.3f} ms")
    print(f"BENCH records_verify_1m {verify_s:.2f} s")
    print(f"BENCH records_verify_bindings_1m {bindings_s:.2f} s")
    print(f"BENCH records_self_check_1m_10k_heads {self_check_s:.2f} s")
    whole_mib = sum(len(level) for level in log.to_levels()) / 2**20
    del log, entries, stored, rows, cases, many
    memory = merkle_memory_per_million(args.merkle_n, random.Random(args.seed))
    print(f"the whole tree in memory (MerkleLog levels) at {n} entries: {whole_mib:.1f} MiB", file=sys.stderr)
    print(f"BENCH records_merkle_memory_per_million_entries {memory:.2f} MiB")
    return 0


class _Stored:
    """The database's stored hashes for the memory benchmark (not the replica's memory): the leaf
    hashes in one bytearray and the subtree rows in a dict."""

    def __init__(self):
        self.leaves = bytearray()
        self.nodes: dict = {}

    def fetch(self, level, start, count):
        if level == 0:
            return [bytes(self.leaves[i * 32:(i + 1) * 32]) for i in range(start, start + count)]
        return [self.nodes.get((level, i)) for i in range(start, start + count)]


def merkle_memory_per_million(n: int, rng: random.Random) -> float:
    """MiB a replica's ledger holds for the Merkle tree (``TiledLog`` with the service's frontier, tail cap
    and tile cache) after ``n`` appends and 200 random proofs (the tile cache full) — tracemalloc, counting only what the module
    allocated (the emulated database is not the replica's memory)."""
    import tracemalloc

    from services.records.domain import merkle
    from services.records.domain.merkle import CompactRange, TiledLog, TileCache, leaf_hash
    from services.records.ledger import CACHE_TILES, TAIL_MAX

    stored = _Stored()
    held = {}
    tracemalloc.start()
    try:
        started = time.perf_counter()
        tree = TiledLog(0, stored.fetch, frontier=CompactRange(), cache=TileCache(CACHE_TILES), tail_max=TAIL_MAX)
        marks = {max(1, n // 2), n}
        for i in range(n):
            leaf = leaf_hash(b"entry %d" % i)
            tree.append(leaf)
            stored.leaves += leaf
            for level, index, h in tree.take_new_nodes():
                stored.nodes[(level, index)] = h
            if i + 1 in marks:
                tree.cache_limit = i + 1
                for _ in range(200):
                    size = i + 1
                    tree.inclusion_proof(rng.randrange(size), size)
                snapshot = tracemalloc.take_snapshot().filter_traces(
                    [tracemalloc.Filter(True, merkle.__file__)])
                held[i + 1] = sum(stat.size for stat in snapshot.statistics("filename"))
        elapsed = time.perf_counter() - started
    finally:
        tracemalloc.stop()
    half = max(1, n // 2)
    small, big = held[half], held[n]
    print(f"merkle memory: {small / 2**20:.2f} MiB at {half} entries, {big / 2**20:.2f} MiB at {n} "
          f"(frontier {len(tree.frontier.nodes)} hashes, tail {len(tree.tail) // 32}, cache {len(tree.cache)} tiles); "
          f"{n} appends + proofs under tracemalloc in {elapsed:.1f} s", file=sys.stderr)
    if n >= 1_000_000:
        return big / 2**20 * 1_000_000 / n if n > 1_000_000 else big / 2**20
    if half <= TAIL_MAX:      # the tail is not full at n/2: its growth would be extrapolated past its cap
        print(f"merkle memory: measured at {n} entries (< 10^6), not extrapolated", file=sys.stderr)
        return big / 2**20
    growth = (big - small) / max(1, n - half)          # beyond the tail's cap: what still grows with n
    return (big + max(0.0, growth) * (1_000_000 - n)) / 2**20


if __name__ == "__main__":
    sys.exit(main())
