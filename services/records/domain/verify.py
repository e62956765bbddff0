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
report names the range between the last head that verifies and the first that does not. Every head
is also checked against the newest: a later head that fits the recomputed log while an earlier one
does not was signed over a rewritten log (issue 14) and is reported as such — it and every head
after the rewrite are not to be trusted.

Entries after the newest signed head are not an error, but nothing but the service's own stored
hashes vouches for them yet: the report counts them as not covered (未被签名树头覆盖) and never
calls them verified.

``verify_bindings`` checks what the leaf commits to against the columns the service *acts on*
(issue 14 defect 4): the index columns of every entry (case, region, body, kind, … — a moved entry
changes what a timeline shows and who may read it) and each case's row — sealed exactly when the
log has its archive entry, and owned by the body and region its entries say.

Linear time: one SM3 per entry, one per interior node, O(log n) per tree head.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
import datetime as dt
import json
from typing import Any, Iterable, Mapping, Sequence

from .entries import _SEQ_RE, entry_bytes, entry_sequence
from .merkle import _LEAF_BASE, HASH_SIZE, MerkleLog
from .treehead import SignedTreeHead, TreeHeadVerifier, verifier_for

__all__ = ["ProblemKind", "Problem", "VerificationReport", "verify_log", "verify_bindings", "INDEX_FIELDS",
           "TRANSFER_EVENT"]


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
    HEADS_INCONSISTENT = "heads_inconsistent"  # 较新的树头与较早的树头不一致（在改写后的日志上签名）
    INDEX_MISMATCH = "index_mismatch"      # 条目的索引列（案件、地区、机关、类型……）与条目内容不符
    CASE_SEAL_MISMATCH = "case_seal_mismatch"      # 案件封存状态与日志中的归档条目不符（解除封存等）
    CASE_OWNER_MISMATCH = "case_owner_mismatch"    # 案件所属地区或机关与日志不符
    CASE_ROW_MISSING = "case_row_missing"          # 日志中有条目的案件不存在于案件表

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    ProblemKind.ALTERED: "篡改", ProblemKind.DELETED: "删除", ProblemKind.INSERTED: "插入",
    ProblemKind.REORDERED: "顺序调换", ProblemKind.MALFORMED: "格式错误",
    ProblemKind.STORED_HASH_ALTERED: "叶哈希被改动",
    ProblemKind.ROOT_MISMATCH: "根哈希不符", ProblemKind.HEAD_BEYOND_LOG: "尾部条目缺失",
    ProblemKind.BAD_SIGNATURE: "树头签名无效", ProblemKind.WRONG_LOG: "树头不属于本日志",
    ProblemKind.HEADS_INCONSISTENT: "签名树头之间不一致", ProblemKind.INDEX_MISMATCH: "索引列被改动",
    ProblemKind.CASE_SEAL_MISMATCH: "封存状态被改动", ProblemKind.CASE_OWNER_MISMATCH: "案件归属被改动",
    ProblemKind.CASE_ROW_MISSING: "案件记录缺失",
}

# Order for ties at the same sequence number: the most specific explanation first.
_PRIORITY = {k: i for i, k in enumerate([
    ProblemKind.REORDERED, ProblemKind.DELETED, ProblemKind.INSERTED, ProblemKind.ALTERED,
    ProblemKind.MALFORMED, ProblemKind.STORED_HASH_ALTERED,
    ProblemKind.HEAD_BEYOND_LOG, ProblemKind.ROOT_MISMATCH, ProblemKind.HEADS_INCONSISTENT,
    ProblemKind.INDEX_MISMATCH, ProblemKind.CASE_SEAL_MISMATCH, ProblemKind.CASE_OWNER_MISMATCH,
    ProblemKind.CASE_ROW_MISSING, ProblemKind.WRONG_LOG, ProblemKind.BAD_SIGNATURE])}


_RANGED = frozenset({ProblemKind.ROOT_MISMATCH, ProblemKind.HEAD_BEYOND_LOG, ProblemKind.HEADS_INCONSISTENT})


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


UNSIGNED_LABEL = "未被签名树头覆盖"


@dataclass
class VerificationReport:
    """Result of ``verify_log``; ``first`` is the earliest problem by sequence number.
    ``signed_size``: the size of the newest trusted head (entries ``0 … signed_size-1`` are covered by a
    signature); entries from there on are the unsigned tail — not a problem, not verified either."""

    entry_count: int
    heads_checked: int
    heads_verified: int
    problems: list[Problem] = field(default_factory=list)
    signed_size: int = 0

    @property
    def ok(self) -> bool:
        """No problem found (an unsigned tail is not a problem: see ``status``)."""
        return not self.problems

    @property
    def unsigned_count(self) -> int:
        return max(0, self.entry_count - self.signed_size)

    @property
    def status(self) -> str:
        """``verified`` (every entry under a verified signed head), ``unsigned_tail`` (no problem, but
        the last ``unsigned_count`` entries are not yet covered by a signed head) or ``failed``."""
        if self.problems:
            return "failed"
        return "unsigned_tail" if self.unsigned_count else "verified"

    @property
    def first(self) -> Problem | None:
        return min(self.problems, key=Problem.sort_key) if self.problems else None

    def add(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)
        self.problems.sort(key=Problem.sort_key)

    def unsigned_text(self) -> str:
        n, s = self.entry_count, self.signed_size
        return f"序号 {s} 至 {n - 1} 共 {n - s} 条{UNSIGNED_LABEL}（仅与存储的叶哈希核对，尚无签名承诺）"

    def summary(self) -> str:
        if self.problems:
            p = self.first
            return f"核验未通过：{p.kind.label}，{p.detail}"
        if self.unsigned_count:
            covered = (f"序号 0 至 {self.signed_size - 1} 共 {self.signed_size} 条经 {self.heads_verified} 个"
                       f"签名树头核验无误；" if self.signed_size else "尚无签名树头；")
            return f"未发现问题：{covered}{self.unsigned_text()}"
        return f"核验通过：{self.entry_count} 条记录，{self.heads_verified} 个签名树头"


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
    verifier or public key (Ed25519 or SM2: raw, hex, PEM, key object), or a list of them — the log's
    keys across rotations and an algorithm switch (issue 22): a head verifies with a key of its own
    algorithm; ``log_id``: if given, heads of another log are rejected.
    """
    keys = list(public_key) if isinstance(public_key, (list, tuple)) else [public_key]
    verifiers = [verifier_for(k) for k in keys]

    def signed_by_trusted(sth: SignedTreeHead) -> bool:
        data = sth.head.signing_bytes()
        return any(v.algorithm == sth.algorithm and v.verify(data, sth.signature) for v in verifiers)

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
        if not signed_by_trusted(sth):
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

    # -- every head against the newest: a later head that fits the log while an earlier one does not
    #    was signed over a rewritten log (issue 14) -------------------------------------------------
    checked = [h for h in trusted if h.tree_size <= n]
    first_bad = next((h for h in checked if not head_ok.get(h.tree_size)), None)
    if first_bad is not None:
        later = [h for h in checked if h.tree_size > first_bad.tree_size and head_ok.get(h.tree_size)]
        if later:
            start = max([h.tree_size for h in checked if h.tree_size < first_bad.tree_size and head_ok.get(h.tree_size)]
                        or [0])
            problems.append(Problem(ProblemKind.HEADS_INCONSISTENT, start,
                                    f"条目数为 {later[0].tree_size} 的签名树头与更早的条目数为 {first_bad.tree_size} 的签名"
                                    f"树头不一致：序号 {start} 至 {first_bad.tree_size - 1} 之间的条目在后者签发后被改写并"
                                    f"重新签名，条目数 {later[0].tree_size} 及其后签发的签名树头均不可信",
                                    last_sequence=first_bad.tree_size - 1, tree_size=later[0].tree_size))

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
                              heads_verified=sum(1 for v in head_ok.values() if v), problems=problems,
                              signed_size=max([h.tree_size for h in trusted] or [0]))


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


# ------------------------------------------------------------------------------ bindings (issue 14)
# The columns of ``log_entries`` the service queries and acts on, each a copy of a field of the
# canonical entry the leaf hash commits to.
INDEX_FIELDS = ("entry_kind", "case_id", "region_code", "body_id", "stage", "record_kind", "document_type",
                "event_id", "event_type", "occurred_at", "content_hash", "covers")
# A change of owner (移送/管辖变更) is itself an entry: its public data names the new body and region.
TRANSFER_EVENT = "case.transferred"
_DECODER = json.JSONDecoder()


def _instant(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is None:        # SQLite returns the stored UTC time without its offset
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _expected_index(entry: Mapping[str, Any]) -> dict[str, Any]:
    hashes = entry.get("content_hashes") or []
    data = entry.get("data") if isinstance(entry.get("data"), Mapping) else {}
    return {"entry_kind": entry.get("kind"), "case_id": entry.get("case_id") or None,
            "region_code": entry.get("region_code"), "body_id": entry.get("body_id"), "stage": entry.get("stage"),
            "record_kind": entry.get("record_kind"), "document_type": entry.get("document_type"),
            "event_id": entry.get("event_id"), "event_type": entry.get("event_type"),
            "occurred_at": _instant(entry.get("occurred_at")), "content_hash": hashes[0] if hashes else None,
            "covers": data.get("covers")}


def index_mismatches(entry: Mapping[str, Any], columns: Mapping[str, Any]) -> list[str]:
    """The index columns (``INDEX_FIELDS`` present in ``columns``) that differ from the entry."""
    expected = _expected_index(entry)
    bad = []
    for name in INDEX_FIELDS:
        if name not in columns:
            continue
        have = columns[name]
        if name == "occurred_at":
            have = _instant(have)
        elif name == "content_hash" and have:
            have = str(have).lower()
        elif have == "":
            have = None
        want = expected[name]
        if name == "covers" and want is None and have is not None and entry.get("kind") == "correction":
            continue    # corrections made before covers entered their public data (issue 14)
        if have != want:
            bad.append(name)
    return bad


def verify_bindings(rows: Iterable[tuple[int, bytes | str, Mapping[str, Any]]],
                    cases: Iterable[Mapping[str, Any]], personal: Iterable[tuple[int, str | None]] = ()
                    ) -> list[Problem]:
    """What the leaves commit to against the columns the service acts on (issue 14, defect 4).

    ``rows``: ``(sequence, canonical entry, index columns)`` of every entry (columns named as in
    ``INDEX_FIELDS``); ``cases``: the case rows (``case_id``, ``region_code``, ``body_id``, ``sealed``,
    ``archived_at``); ``personal``: ``(sequence, case_id)`` of the personal data kept beside the log
    (erasure finds it by case). Finds entries moved to another case, region or body or given another
    kind in the index, cases un-sealed or sealed without an archive entry, cases whose region or body
    is not the one their entries establish (the first record of the case, then each logged transfer),
    and cases with entries but no row (their timeline would be unreadable).
    """
    problems: list[Problem] = []
    entry_case: dict[int, str | None] = {}
    owners: dict[str, tuple[int, str, str]] = {}            # case -> (sequence, region, body) establishing it
    transfers: dict[str, list[tuple[dt.datetime, int, str, str]]] = {}
    archives: dict[str, tuple[int, dt.datetime | None]] = {}
    unknown_owner: set[str] = set()
    decode = _DECODER.decode
    utc = dt.timezone.utc
    for seq, canonical, columns in rows:
        try:
            entry = decode(canonical if type(canonical) is str else bytes(canonical).decode("utf-8"))
        except (TypeError, ValueError):
            continue                                          # verify_log reports unreadable entries
        if type(entry) is not dict:
            continue
        # fast path (10^6 entries): the columns as the service writes them; any difference is looked at
        # field by field (``index_mismatches`` normalises, e.g. "" and None, upper-case hashes)
        get, col = entry.get, columns.get
        hashes, data = get("content_hashes"), get("data")
        when = col("occurred_at")
        if type(when) is dt.datetime and when.tzinfo is None:
            when = when.replace(tzinfo=utc)
        try:
            same_time = when == dt.datetime.fromisoformat(get("occurred_at"))
        except (TypeError, ValueError):
            same_time = False
        bad = None
        if not (same_time and (col("entry_kind"), col("case_id"), col("region_code"), col("body_id"), col("stage"),
                               col("record_kind"), col("document_type"), col("event_id"), col("event_type"),
                               col("content_hash"), col("covers")) ==
                (get("kind"), get("case_id") or None, get("region_code"), get("body_id"), get("stage"),
                 get("record_kind"), get("document_type"), get("event_id"), get("event_type"),
                 hashes[0] if hashes else None, data.get("covers") if type(data) is dict else None)):
            bad = index_mismatches(entry, columns)
        if bad:
            shown = ", ".join(f"{name}: 列为 {columns.get(name)!s}，条目为 {_expected_index(entry)[name]!s}"
                              for name in bad)
            problems.append(Problem(ProblemKind.INDEX_MISMATCH, seq,
                                    f"序号 {seq} 的条目索引列与条目内容不符（{shown}）：条目被移至其他案件、地区或机关，"
                                    f"或类型被改动", position=seq))
        case_id = entry.get("case_id") or None
        entry_case[seq] = case_id
        if not case_id:
            continue
        kind = entry.get("kind")
        if kind in ("record", "stage", "archive") and case_id not in owners:
            owners[case_id] = (seq, str(entry.get("region_code")), str(entry.get("body_id")))
        data = entry.get("data") if isinstance(entry.get("data"), Mapping) else {}
        if entry.get("event_type") == TRANSFER_EVENT:
            if data.get("to_body_id") and data.get("to_region_code"):
                transfers.setdefault(case_id, []).append((_instant(entry.get("occurred_at")) or dt.datetime.min.replace(
                    tzinfo=dt.timezone.utc), seq, str(data["to_region_code"]), str(data["to_body_id"])))
            else:
                unknown_owner.add(case_id)      # the new owner is not in the public data: cannot be checked
        if kind == "archive" and case_id not in archives:
            archives[case_id] = (seq, _instant(data.get("archived_at")))

    seen_cases = set()
    for case in cases:
        case_id = case["case_id"]
        seen_cases.add(case_id)
        archive = archives.get(case_id)
        sealed = bool(case.get("sealed"))
        if archive is not None and not sealed:
            problems.append(Problem(ProblemKind.CASE_SEAL_MISMATCH, archive[0],
                                    f"案件 {case_id} 已于序号 {archive[0]} 归档封存，案件表中却未封存（被解除封存）",
                                    position=archive[0]))
        elif archive is None and sealed:
            first = owners.get(case_id, (None,))[0]
            problems.append(Problem(ProblemKind.CASE_SEAL_MISMATCH, first,
                                    f"案件 {case_id} 在案件表中为已封存，日志中却没有其归档条目（被擅自封存）"))
        elif archive is not None and archive[1] is not None and _instant(case.get("archived_at")) != archive[1]:
            problems.append(Problem(ProblemKind.CASE_SEAL_MISMATCH, archive[0],
                                    f"案件 {case_id} 的归档时间与序号 {archive[0]} 的归档条目不符", position=archive[0]))
        owner = owners.get(case_id)
        if owner is not None and case_id not in unknown_owner:
            seq, region, body = owner
            moves = sorted(transfers.get(case_id, ()))
            if moves:
                _, seq, region, body = moves[-1]
            if (case.get("region_code"), case.get("body_id")) != (region, body):
                problems.append(Problem(ProblemKind.CASE_OWNER_MISMATCH, seq,
                                        f"案件 {case_id} 在案件表中属于 {case.get('region_code')} / {case.get('body_id')}，"
                                        f"日志（序号 {seq}）确定的归属为 {region} / {body}", position=seq))
    for case_id, (seq, _, _) in owners.items():
        if case_id not in seen_cases:
            problems.append(Problem(ProblemKind.CASE_ROW_MISSING, seq,
                                    f"案件 {case_id} 在日志中有记录（首条序号 {seq}），案件表中却没有该案件", position=seq))
    for seq, case_id in personal:
        if seq in entry_case and (case_id or None) != entry_case[seq]:
            problems.append(Problem(ProblemKind.INDEX_MISMATCH, seq,
                                    f"序号 {seq} 的个人信息记录所属案件（{case_id}）与条目（{entry_case[seq]}）不符",
                                    position=seq))
    problems.sort(key=Problem.sort_key)
    return problems
