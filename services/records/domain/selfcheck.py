"""Self-check of the records log against its signed tree heads 签名前自检 — REC-4 (issue 14).

Before the records service signs a tree head (and whenever it rebuilds its tree from the database,
e.g. at start) it asks: *is the tree I am about to sign consistent with every head I signed
before?* An insider with write access to the database can change an entry and recompute its
stored leaf hash; the rebuilt tree then silently differs from the one the earlier heads commit to,
and signing a new head over it would launder the rewrite. Only the signed heads remember the old
log, so they are the reference:

* a head of size ``s`` is consistent with the tree iff ``tree.root(s) == head.root_hash`` — with
  the whole tree at hand this is the same question a consistency proof from ``s`` to the tree's
  size answers (RFC 9162 §2.1.4), without building the proof;
* a head that covers more entries than the tree has means entries were deleted (or a backup older
  than the head was restored);
* a head is only evidence if it is signed by a trusted key; a head row whose signature does not
  verify was written or altered by someone without the key — itself a finding.

``check_head`` answers the question for one head ("is this tree consistent with head H?"); it is
what the federation uses for the province's witnessed heads of this log too. ``self_check`` runs it
over all stored heads and names the inconsistent range: every entry before the largest head that
still matches is vouched for; the change lies between that head and the first head that no longer
matches.

Cost: ``root(s)`` is O(log s) from the tree's stored levels; signatures (Ed25519, ~0.1 ms each) are
checked for the newest head, for every head that does not match, and for all heads when asked —
a matching older head with an altered signature would say nothing the newest head does not.

Pure: no I/O, no clock (the caller loads heads and keys and records the result).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Sequence

from .merkle import HeldLeaves, MerkleLog
from .treehead import SignedTreeHead, TreeHeadVerifier

__all__ = ["InconsistencyKind", "Inconsistency", "SelfCheckResult", "check_head", "self_check", "compare_leaves",
           "compare_held"]


class InconsistencyKind(str, Enum):
    ROOT_MISMATCH = "root_mismatch"        # 根哈希不符: entries below the head's size were rewritten
    HEAD_BEYOND_LOG = "head_beyond_log"    # 条目缺失: the head covers entries the log no longer has
    BAD_SIGNATURE = "bad_signature"        # 树头签名无效: a head row not signed by a trusted key
    HEADS_WITHDRAWN = "heads_withdrawn"    # 树头被删除: a head seen before is no longer stored
    LEAVES_CHANGED = "leaves_changed"      # 叶哈希被改写: stored leaf hashes differ from the ones this
    #                                        process appended or loaded (caught before any head covers them)
    ENTRIES_MISSING = "entries_missing"    # 条目被删除: the log is shorter than this process knew it
    WITNESS_FORKED = "witness_forked"      # 省级见证分叉告警: the province found this log's heads forked
    #                                        (a head that does not extend the one it witnessed, issue 23)

    @property
    def label(self) -> str:
        return {"root_mismatch": "根哈希不符", "head_beyond_log": "条目缺失",
                "bad_signature": "树头签名无效", "heads_withdrawn": "签名树头被删除",
                "leaves_changed": "叶哈希被改写", "entries_missing": "条目被删除",
                "witness_forked": "省级见证分叉告警"}[self.value]


@dataclass(frozen=True)
class Inconsistency:
    """One finding: the head concerned and the range of sequence numbers 序号 it puts in doubt
    (``first_sequence`` … ``last_sequence``, inclusive)."""

    kind: InconsistencyKind
    tree_size: int
    first_sequence: int
    last_sequence: int

    def describe(self) -> str:
        """English, for logs and the retry reason of refused events."""
        k, s, a, b = self.kind, self.tree_size, self.first_sequence, self.last_sequence
        if k is InconsistencyKind.ROOT_MISMATCH:
            return (f"the log differs from the signed tree head of size {s}: an entry with sequence in "
                    f"{a}..{b} was rewritten (stored leaf hashes do not give the signed root)")
        if k is InconsistencyKind.HEAD_BEYOND_LOG:
            return f"the signed tree head of size {s} covers entries {a}..{b}, which the log no longer has"
        if k is InconsistencyKind.BAD_SIGNATURE:
            return (f"the stored tree head of size {s} is not signed by a trusted key (forged or altered "
                    f"head row); it would vouch for entries {a}..{b}")
        if k is InconsistencyKind.LEAVES_CHANGED:
            return (f"the stored leaf hashes of entries {a}..{b} differ from the ones this process appended "
                    f"or loaded (log of {s} entries rewritten in the database)")
        if k is InconsistencyKind.ENTRIES_MISSING:
            return f"entries {a}..{b} this process knew are no longer in the log (deleted)"
        if k is InconsistencyKind.WITNESS_FORKED:
            return (f"the province witnessing this log raised a fork alarm: a signed head does not extend the "
                    f"head of size {s} it witnessed (entries {a}..{b} in doubt) — resolved only by its operators")
        return (f"a signed tree head of size {s} was seen before but is no longer stored: heads were deleted; "
                f"entries {a}..{b} are no longer vouched for")

    def describe_zh(self) -> str:
        """Chinese, for the verification page and error messages."""
        k, s, a, b = self.kind, self.tree_size, self.first_sequence, self.last_sequence
        if k is InconsistencyKind.ROOT_MISMATCH:
            return f"日志与条目数为 {s} 的签名树头不一致：序号 {a} 至 {b} 之间有条目被改写"
        if k is InconsistencyKind.HEAD_BEYOND_LOG:
            return f"条目数为 {s} 的签名树头覆盖的序号 {a} 至 {b} 的条目已不在日志中"
        if k is InconsistencyKind.BAD_SIGNATURE:
            return f"存储的条目数为 {s} 的签名树头签名无效（树头被伪造或改动），涉及序号 {a} 至 {b}"
        if k is InconsistencyKind.LEAVES_CHANGED:
            return f"数据库中序号 {a} 至 {b} 的叶哈希与本服务此前追加或读取的不同：条目被改写"
        if k is InconsistencyKind.ENTRIES_MISSING:
            return f"序号 {a} 至 {b} 的条目已从日志中删除"
        if k is InconsistencyKind.WITNESS_FORKED:
            return f"省级见证发现本日志分叉（签名树头未延续其见证的 {s} 条树头），序号 {a} 至 {b} 存疑，须省级运维处置"
        return f"曾经存在的条目数为 {s} 的签名树头已被删除，序号 {a} 至 {b} 失去签名承诺"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "label": self.kind.label, "tree_size": self.tree_size,
                "first_sequence": self.first_sequence, "last_sequence": self.last_sequence,
                "detail": self.describe_zh()}


@dataclass(frozen=True)
class SelfCheckResult:
    """Outcome of ``self_check``. ``consistent_through``: the size of the largest head that matches
    the tree (entries ``0 … consistent_through-1`` are vouched for by a signed head)."""

    tree_size: int
    heads_checked: int
    newest_head_size: int | None
    consistent_through: int
    problems: tuple[Inconsistency, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Inconsistency | None:
        """The problem with the earliest range (where an operator starts looking)."""
        return min(self.problems, key=lambda p: (p.first_sequence, p.last_sequence)) if self.problems else None

    @property
    def range(self) -> tuple[int, int] | None:
        """The range of sequence numbers of the earliest problem (inclusive)."""
        first = self.first
        return None if first is None else (first.first_sequence, first.last_sequence)

    @property
    def unsigned(self) -> int:
        """Entries after the newest head (not yet covered by a signature)."""
        return max(0, self.tree_size - (self.newest_head_size or 0))

    def describe(self) -> str:
        if self.ok:
            return (f"self-check passed: tree of {self.tree_size} entries consistent with {self.heads_checked} "
                    f"signed tree heads (newest covers {self.newest_head_size or 0})")
        return "self-check FAILED: " + "; ".join(p.describe() for p in self.problems)

    def summary_zh(self) -> str:
        if self.ok:
            return (f"自检通过：日志 {self.tree_size} 条，与 {self.heads_checked} 个签名树头一致"
                    + (f"；序号 {self.newest_head_size or 0} 起 {self.unsigned} 条未被签名树头覆盖"
                       if self.unsigned else ""))
        return "自检未通过，已停止签名和追加：" + "；".join(p.describe_zh() for p in self.problems)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "tree_size": self.tree_size, "heads_checked": self.heads_checked,
                "newest_head_size": self.newest_head_size, "consistent_through": self.consistent_through,
                "range": list(self.range) if self.range else None, "summary": self.summary_zh(),
                "problems": [p.to_json() for p in self.problems]}


def _trusted(head: SignedTreeHead, verifiers: Sequence[TreeHeadVerifier]) -> bool:
    """Signed by one of the trusted keys (the current one and the keys it replaced)."""
    data = None
    for v in verifiers:
        if v.algorithm == head.algorithm and v.public_key_bytes() == head.public_key:
            data = data or head.head.signing_bytes()
            if v.verify(data, head.signature):
                return True
    return False


def check_head(tree: MerkleLog, head: SignedTreeHead, *, verifiers: Sequence[TreeHeadVerifier] | None = None,
               consistent_through: int = 0) -> Inconsistency | None:
    """Is ``tree`` consistent with the signed ``head``? ``None`` when it is, else the finding.

    ``verifiers``: the trusted keys; when given, the head's signature is checked first (an
    untrusted head is a finding of its own). ``consistent_through``: the size of a smaller head
    already known to match (narrows the range reported; 0 when unknown)."""
    size = head.tree_size
    start = min(consistent_through, size)
    if verifiers is not None and not _trusted(head, verifiers):
        return Inconsistency(InconsistencyKind.BAD_SIGNATURE, size, start, max(start, size - 1))
    if size > tree.size:
        return Inconsistency(InconsistencyKind.HEAD_BEYOND_LOG, size, tree.size, size - 1)
    if tree.root(size) != head.root_hash:
        return Inconsistency(InconsistencyKind.ROOT_MISMATCH, size, start, size - 1)
    return None


def compare_leaves(known: MerkleLog, known_size: int, tree: MerkleLog) -> Inconsistency | None:
    """Does ``tree`` (rebuilt from the stored leaf hashes) start with the first ``known_size`` leaves of
    ``known`` (a tree this process built and appended to while those entries were committed)? Catches
    a rewrite of entries no signed head covers yet, as long as the process that saw them runs."""
    n = min(known_size, known.size)
    if tree.size < n:
        return Inconsistency(InconsistencyKind.ENTRIES_MISSING, tree.size, tree.size, n - 1)
    a, b = known.leaf_hashes()[:n * 32], tree.leaf_hashes()[:n * 32]
    if a == b:
        return None
    diff = [i for i in range(n) if a[i * 32:(i + 1) * 32] != b[i * 32:(i + 1) * 32]]
    return Inconsistency(InconsistencyKind.LEAVES_CHANGED, tree.size, diff[0], diff[-1])


def compare_held(held: HeldLeaves, tree) -> Inconsistency | None:
    """Does ``tree`` (from the stored leaf hashes) hold what this process held of the log — its first
    ``held.size`` leaves with the root the process computed, and the leaf hashes of its tail (the
    entries since the newest signed head it knew)? Catches a rewrite of entries no signed head covers
    yet, as long as the process that saw them runs; a rewritten tail entry is named exactly, one
    before the tail only by the range (issue 20: the process keeps its tail, not every leaf)."""
    n = held.size
    if tree.size < n:
        return Inconsistency(InconsistencyKind.ENTRIES_MISSING, tree.size, tree.size, n - 1)
    lo, hi = held.tail_start, held.tail_start + len(held.tail) // 32
    if hi > lo:
        stored = tree.leaf_range(lo, hi)
        if stored != held.tail:
            diff = [lo + i for i in range(hi - lo) if stored[i * 32:(i + 1) * 32] != held.tail[i * 32:(i + 1) * 32]]
            return Inconsistency(InconsistencyKind.LEAVES_CHANGED, tree.size, diff[0], diff[-1])
    if n and tree.root(n) != held.root:
        return Inconsistency(InconsistencyKind.LEAVES_CHANGED, tree.size, 0, max(0, lo - 1) if lo else n - 1)
    return None


def self_check(tree: MerkleLog, heads: Iterable[SignedTreeHead], *, verifiers: Sequence[TreeHeadVerifier],
               verify_all_signatures: bool = False, seen_head_size: int = 0,
               extra: Iterable[Inconsistency] = ()) -> SelfCheckResult:
    """Check ``tree`` against every head in ``heads`` (any order).

    Roots are compared for every head; signatures are checked for the newest head, for every head
    that does not match (so a forged head row is told apart from a rewritten log) and, with
    ``verify_all_signatures``, for all. ``seen_head_size``: the largest head size the caller saw
    stored before (0: none) — a newest stored head smaller than that means heads were deleted.
    ``extra``: findings of the caller's own (``compare_leaves``; ``None`` items are skipped).
    """
    ordered = sorted(heads, key=lambda h: h.tree_size)
    problems: list[Inconsistency] = [p for p in extra if p is not None]
    good = 0
    newest = ordered[-1] if ordered else None
    for head in ordered:
        must_verify = verify_all_signatures or head is newest
        finding = check_head(tree, head, verifiers=verifiers if must_verify else None, consistent_through=good)
        if finding is not None and not must_verify and not _trusted(head, verifiers):
            finding = Inconsistency(InconsistencyKind.BAD_SIGNATURE, head.tree_size, finding.first_sequence,
                                    finding.last_sequence)
        if finding is None:
            good = head.tree_size
        else:
            problems.append(finding)
    newest_size = newest.tree_size if newest is not None else None
    if seen_head_size and (newest_size or 0) < seen_head_size:
        lost_from = newest_size or 0
        problems.append(Inconsistency(InconsistencyKind.HEADS_WITHDRAWN, seen_head_size, lost_from,
                                      seen_head_size - 1))
    return SelfCheckResult(tree_size=tree.size, heads_checked=len(ordered), newest_head_size=newest_size,
                           consistent_through=good, problems=tuple(problems))
