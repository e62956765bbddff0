"""Whole-log verification 全量核验 — REC-4 (防删改, 数据链条完整), REC-5 (可回溯), REC-6.

``verify_log`` re-derives everything from the entries themselves:

1. the leaf hash of every entry, SM3(0x00 || canonical bytes);
2. the sequence numbers — they must run 0, 1, 2, … without gap, duplicate or reordering;
3. the signature of every signed tree head, with the trusted public key;
4. the Merkle root at every signed tree size, from the recomputed leaf hashes.

It compares (1) with the leaf hashes the service stored, and locates the FIRST entry that was
altered (篡改), deleted (删除), inserted (插入) or reordered (顺序变动). The stored leaf hashes
are the reference for locating a change when they agree with the signed tree heads; when an
attacker rewrote the entries *and* the stored hashes, the signed heads still catch it and the
report names the range between the last head that verifies and the first that does not.

Linear time: one SM3 per entry, one per interior node, O(log n) per tree head.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping, Sequence

from .entries import _SEQ_RE, entry_bytes, entry_sequence
from .merkle import _LEAF_BASE, HASH_SIZE, MerkleLog
from .treehead import SignedTreeHead, TreeHeadVerifier, Ed25519Verifier

__all__ = ["ProblemKind", "Problem", "VerificationReport", "verify_log"]


class ProblemKind(str, Enum):
    ALTERED = "altered"                    # 条目被篡改
    DELETED = "deleted"                    # 条目被删除
    INSERTED = "inserted"                  # 条目被插入
    REORDERED = "reordered"                # 条目顺序被调换
    MALFORMED = "malformed"                # 条目无法解析出序号
    STORED_HASH_ALTERED = "stored_hash_altered"  # 存储的叶哈希被改动，条目本身与签名树头一致
    ROOT_MISMATCH = "root_mismatch"        # 根哈希与签名树头不符
    HEAD_BEYOND_LOG = "head_beyond_log"    # 签名树头覆盖的条目数多于现存条目（尾部被删除）
    BAD_SIGNATURE = "bad_signature"        # 树头签名无效（伪造的树头）
    WRONG_LOG = "wrong_log"                # 树头属于其他日志

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ProblemKind.ALTERED: "篡改", ProblemKind.DELETED: "删除", ProblemKind.INSERTED: "插入",
    ProblemKind.REORDERED: "顺序调换", ProblemKind.MALFORMED: "格式错误",
    ProblemKind.STORED_HASH_ALTERED: "叶哈希被改动",
    ProblemKind.ROOT_MISMATCH: "根哈希不符", ProblemKind.HEAD_BEYOND_LOG: "尾部条目缺失",
    ProblemKind.BAD_SIGNATURE: "树头签名无效", ProblemKind.WRONG_LOG: "树头不属于本日志",
}

# Order for ties at the same sequence number: the most specific explanation first.
_PRIORITY = {k: i for i, k in enumerate([
    ProblemKind.REORDERED, ProblemKind.DELETED, ProblemKind.INSERTED, ProblemKind.ALTERED,
    ProblemKind.MALFORMED, ProblemKind.STORED_HASH_ALTERED,
    ProblemKind.HEAD_BEYOND_LOG, ProblemKind.ROOT_MISMATCH, ProblemKind.WRONG_LOG,
    ProblemKind.BAD_SIGNATURE])}


_RANGED = frozenset({ProblemKind.ROOT_MISMATCH, ProblemKind.HEAD_BEYOND_LOG})


@dataclass(frozen=True)
class Problem:
    """One finding. ``sequence`` is the first sequence number 序号 implicated (for a head
    problem: the first entry the head could not vouch for); ``last_sequence`` closes a range."""

    kind: ProblemKind
    sequence: int | None
    detail: str
    position: int | None = None        # index in the entries as supplied
    last_sequence: int | None = None
    tree_size: int | None = None       # the tree head concerned, if any

    def sort_key(self) -> tuple:
        """A located entry problem ranks before a head problem whose range contains it; a
        head range that ends before the located entry ranks first (the change is earlier)."""
        seq = self.last_sequence if self.kind in _RANGED else self.sequence
        seq = seq if seq is not None else 2**64
        return (seq, _PRIORITY[self.kind], self.tree_size or 0)


@dataclass
class VerificationReport:
    """Result of ``verify_log``; ``first`` is the earliest problem by sequence number."""

    entry_count: int
    heads_checked: int
    heads_verified: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return min(self.problems, key=Problem.sort_key) if self.problems else None

    def summary(self) -> str:
        if self.ok:
            return f"核验通过：{self.entry_count} 条记录，{self.heads_verified} 个签名树头"
        p = self.first
        return f"核验未通过：{p.kind.label}，{p.detail}"


def _normalise_entries(entries: Iterable[bytes | str | Mapping[str, Any]]) -> list[bytes]:
    if type(entries) is list and all(type(e) is bytes for e in entries):
        return entries  # already canonical bytes: no copy
    out = []
    for e in entries:
        if isinstance(e, bytes):
            out.append(e)
        elif isinstance(e, (bytearray, memoryview)):
            out.append(bytes(e))
        elif isinstance(e, str):
            out.append(e.encode("utf-8"))
        else:
            out.append(entry_bytes(e))
    return out


def _hash_and_number(entries: list[bytes]) -> tuple[bytes, list[int | None]]:
    """One pass: leaf hashes (concatenated) and top-level sequence numbers of all entries.
    Inlines ``leaf_hash`` and the fast path of ``entry_sequence`` (this loop runs 10^6 times)."""
    copy = _LEAF_BASE.copy
    findall = _SEQ_RE.findall
    hashes: list[bytes] = []
    seqs: list[int | None] = []
    add_hash = hashes.append
    add_seq = seqs.append
    for e in entries:
        h = copy()
        h.update(e)
        add_hash(h.digest())
        found = findall(e)
        if len(found) == 1 and (b',"seq":' in e or b'{"seq":' in e):
            add_seq(int(found[0]))
        else:
            add_seq(entry_sequence(e))
    return b"".join(hashes), seqs


def _contiguous(stored: Iterable[bytes] | bytes | bytearray | memoryview) -> bytes:
    if isinstance(stored, (bytes, bytearray, memoryview)):
        buf = bytes(stored)
    else:
        buf = b"".join(bytes(h) for h in stored)
    if len(buf) % HASH_SIZE:
        raise ValueError("stored leaf hashes must be 32 bytes each")
    return buf


def _first_diff(a: bytes, b: bytes) -> int:
    """Index of the first differing 32-byte block (a != b), by bisection on slices (C speed)."""
    n = min(len(a), len(b)) // HASH_SIZE
    if a[:n * HASH_SIZE] == b[:n * HASH_SIZE]:
        return n
    lo, hi = 0, n  # first differing block lies in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[lo * HASH_SIZE:mid * HASH_SIZE] == b[lo * HASH_SIZE:mid * HASH_SIZE]:
            lo = mid
        else:
            hi = mid
    return lo


def _first_bad_seq(seqs: list[int | None]) -> int:
    """Index of the first position whose sequence number is not the position itself."""
    n = len(seqs)
    # Fast path: one comparison of the whole list against range(n) in C.
    if seqs == list(range(n)):
        return n
    for i, s in enumerate(seqs):
        if s != i:
            return i
    return n  # pragma: no cover


def verify_log(
    entries_in_order: Iterable[bytes | str | Mapping[str, Any]],
    stored_leaf_hashes: Iterable[bytes] | bytes,
    signed_heads: Sequence[SignedTreeHead | Mapping[str, Any]],
    public_key: TreeHeadVerifier | Any,
    *,
    log_id: str | None = None,
) -> VerificationReport:
    """Verify a whole log and locate the first altered / deleted / inserted / reordered entry.

    ``entries_in_order``: canonical entry bytes (or str, or entry dicts) in log order;
    ``stored_leaf_hashes``: the leaf hashes the service stored (list of 32-byte values or their
    concatenation); ``signed_heads``: every signed tree head issued (objects or their
    ``to_json()`` dicts); ``public_key``: the trusted
    verifier or Ed25519 public key (raw, hex, PEM, key object); ``log_id``: if given, heads of
    another log are rejected.
    """
    verifier = public_key if isinstance(public_key, TreeHeadVerifier) else Ed25519Verifier(public_key)
    entries = _normalise_entries(entries_in_order)
    n = len(entries)
    computed, seqs = _hash_and_number(entries)
    stored = _contiguous(stored_leaf_hashes)
    n_stored = len(stored) // HASH_SIZE
    problems: list[Problem] = []

    # -- tree heads: signatures ---------------------------------------------------------
    heads = [SignedTreeHead.from_json(h) if isinstance(h, Mapping) else h for h in signed_heads]
    trusted: list[SignedTreeHead] = []
    for sth in sorted(heads, key=lambda s: s.tree_size):
        if log_id is not None and sth.head.log_id != log_id:
            problems.append(Problem(ProblemKind.WRONG_LOG, None, f"树头（条目数 {sth.tree_size}）属于日志 "
                                    f"{sth.head.log_id}，不属于 {log_id}", tree_size=sth.tree_size))
            continue
        if not (sth.algorithm == verifier.algorithm and verifier.verify(sth.head.signing_bytes(), sth.signature)):
            problems.append(Problem(ProblemKind.BAD_SIGNATURE, None,
                                    f"条目数为 {sth.tree_size} 的签名树头签名无效，可能系伪造",
                                    tree_size=sth.tree_size))
            continue
        trusted.append(sth)

    # -- roots of the recomputed tree against every trusted head ------------------------
    computed_tree = MerkleLog.from_leaf_hashes(computed)
    stored_tree: MerkleLog | None = computed_tree if stored == computed else None

    def stored_root(size: int) -> bytes | None:
        nonlocal stored_tree
        if size > n_stored:
            return None
        if stored_tree is None:
            stored_tree = MerkleLog.from_leaf_hashes(stored)
        return stored_tree.root(size)

    head_ok: dict[int, bool] = {}
    last_good = 0
    for sth in trusted:
        size = sth.tree_size
        if size > n:
            head_ok[size] = False
            problems.append(Problem(ProblemKind.HEAD_BEYOND_LOG, n,
                                    f"签名树头覆盖 {size} 条，现存仅 {n} 条：序号 {n} 至 {size - 1} 缺失",
                                    last_sequence=size - 1, tree_size=size))
            continue
        good = computed_tree.root(size) == sth.root_hash
        head_ok[size] = good
        if good:
            last_good = max(last_good, size)
        else:
            problems.append(Problem(ProblemKind.ROOT_MISMATCH, last_good,
                                    f"条目数为 {size} 的签名树头根哈希与重算结果不符：序号 {last_good} 至 "
                                    f"{size - 1} 之间的条目被改动",
                                    last_sequence=size - 1, tree_size=size))

    # -- locate the first entry-level discrepancy ---------------------------------------
    i_hash = _first_diff(computed, stored) if computed != stored else max(n, n_stored)
    i_seq = _first_bad_seq(seqs)
    i = min(i_hash, i_seq)
    if i < max(n, n_stored):
        problem = _classify(i, entries, seqs, computed, stored, n, n_stored, trusted,
                            computed_tree, stored_root)
        if problem is not None:
            problems.append(problem)

    problems.sort(key=Problem.sort_key)
    return VerificationReport(entry_count=n, heads_checked=len(signed_heads),
                              heads_verified=sum(1 for v in head_ok.values() if v), problems=problems)


def _classify(i, entries, seqs, computed, stored, n, n_stored, trusted, computed_tree, stored_root) -> Problem | None:
    H = HASH_SIZE

    def c(k: int) -> bytes:
        return computed[k * H:(k + 1) * H]

    def s(k: int) -> bytes:
        return stored[k * H:(k + 1) * H]

    if i >= n:  # entries end early, the stored hashes go on
        return Problem(ProblemKind.DELETED, i, f"序号 {i} 至 {n_stored - 1} 的条目缺失（叶哈希仍在）",
                       position=i, last_sequence=n_stored - 1)
    seq_i = seqs[i]
    if i >= n_stored:  # entries beyond the stored hashes
        if seq_i is None:
            return Problem(ProblemKind.MALFORMED, i, f"位置 {i} 的条目无法解析出序号", position=i)
        if seq_i != i:
            return _classify_by_seq(i, seqs)
        return Problem(ProblemKind.INSERTED, i, f"序号 {i} 的条目没有对应的已存叶哈希（未入链）", position=i)

    # Is the stored hash at i the trustworthy one? Look at the smallest trusted head covering i.
    covering = next((h for h in trusted if h.tree_size > i), None)
    if covering is not None and covering.tree_size <= n and c(i) != s(i):
        computed_good = computed_tree.root(covering.tree_size) == covering.root_hash
        stored_good = stored_root(covering.tree_size) == covering.root_hash
        if computed_good and not stored_good and seq_i == i:
            return Problem(ProblemKind.STORED_HASH_ALTERED, i,
                           f"序号 {i} 的已存叶哈希被改动（条目本身与签名树头一致）", position=i)

    if c(i) == s(i):
        # Same leaf as recorded but the sequence number does not match the position.
        # The stored hashes follow the entries here (rewritten together, or the log was
        # written with a broken numbering): fall back to the sequence numbers.
        return _classify_by_seq(i, seqs)

    stored_index = {s(k): k for k in range(i, n_stored)}
    j = stored_index.get(c(i))
    if j is None:
        # Not a recorded entry at all: an insertion if the real entry i follows it, else altered.
        if i + 1 < n and c(i + 1) == s(i):
            return Problem(ProblemKind.INSERTED, i,
                           f"位置 {i} 插入了未入链的条目（自称序号 {seq_i}），原序号 {i} 的条目后移",
                           position=i)
        return Problem(ProblemKind.ALTERED, i, f"序号 {i} 的条目内容被改动，叶哈希与记录不符", position=i)
    if j < i:  # cannot happen with stored_index built from i onwards; kept for clarity
        return Problem(ProblemKind.INSERTED, i, f"位置 {i} 重复插入了序号 {j} 的条目", position=i)
    # j > i: a genuine later entry sits at position i.
    computed_later = {c(k): k for k in range(i + 1, n)}
    p = computed_later.get(s(i))
    if p is not None:
        return Problem(ProblemKind.REORDERED, i,
                       f"序号 {i} 的条目被移至位置 {p}，位置 {i} 上是序号 {j} 的条目", position=i)
    missing = [k for k in range(i, j) if s(k) not in computed_later]
    last = missing[-1] if missing and missing == list(range(i, i + len(missing))) else None
    if last is not None and last > i:
        text = f"序号 {i} 至 {last} 的条目被删除"
    else:
        text = f"序号 {i} 的条目被删除"
    return Problem(ProblemKind.DELETED, i, text, position=i, last_sequence=last)


def _classify_by_seq(i: int, seqs: list[int | None]) -> Problem:
    """Classification from sequence numbers only (no stored hash to compare with)."""
    s = seqs[i]
    if s is None:
        return Problem(ProblemKind.MALFORMED, i, f"位置 {i} 的条目无法解析出序号", position=i)
    if s < i:
        return Problem(ProblemKind.INSERTED, i, f"位置 {i} 出现重复序号 {s}", position=i)
    later = {v: k for k, v in enumerate(seqs[i + 1:], start=i + 1) if v is not None}
    if i in later:
        return Problem(ProblemKind.REORDERED, i, f"序号 {i} 的条目被移至位置 {later[i]}", position=i)
    text = f"序号 {i} 的条目被删除" if s - 1 == i else f"序号 {i} 至 {s - 1} 的条目被删除"
    return Problem(ProblemKind.DELETED, i, text, position=i, last_sequence=s - 1)
