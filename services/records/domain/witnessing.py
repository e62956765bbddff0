"""Witnessing a lower tier's log (见证, REC-4 across tiers, PLAT-1 — issue 23).

A province keeps the signed tree heads of each city's log. A city's history may only grow: every
head must be an append-only extension of the newest head the province witnessed. Each head the city
signs carries a consistency proof (RFC 9162 §2.1.4) from the city's previous signed head, so the
witness can check, head by head, that the chain it accepted is never broken:

- the first head of a log (or the first after an operator resolved a fork) is the anchor;
- a head whose proof starts at the newest witnessed head (the tip) and verifies becomes the tip;
- a head whose proof starts at an OLDER witnessed head continues the log from a point the witness
  has already seen extended otherwise: the history after that point was replaced — a rollback to a
  backup, or a rewrite — and the log is **forked**; so is a head whose proof fails, one whose size
  was witnessed with another root, and one whose proof starts from a root that contradicts a
  witnessed head of that size;
- a head whose predecessor the witness has not seen yet (arrival order is not guaranteed) waits as
  **pending** and is judged again when its predecessor is accepted; a head the witness already
  accepted (a redelivery with another event id) is a duplicate; an older head that a witnessed head
  extends (a late arrival) is accepted as history without moving the tip.

Signing-key hand-over (密钥交接): a city rotates its key by signing, with the OLD key, a statement
naming the new key and the tree size from which it signs; the witness pins the new key only when the
statement verifies with the key it pins (``handover_bytes``).

Pure: no I/O, no clock.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .merkle import verify_consistency

ACCEPT, DUPLICATE, HISTORY, PENDING, FORK = "accept", "duplicate", "history", "pending", "fork"
HANDOVER_DOMAIN = b"zhifa.records.key-handover.v1\x00"


@dataclass(frozen=True)
class Head:
    """A head as the witness sees it: size, root and the (size, root) its proof starts from."""

    tree_size: int
    root_hash: str                       # hex
    from_size: int | None = None
    from_root: str | None = None
    proof: tuple[str, ...] = ()
    timestamp: int = 0                   # ms, as signed


@dataclass(frozen=True)
class Verdict:
    kind: str                            # accept | duplicate | history | pending | fork
    reason: str | None = None            # Chinese, for forks and pending heads


def judge(head: Head, tip: Head | None, accepted: list[Head]) -> Verdict:
    """The verdict on ``head`` given the witnessed tip and every accepted head of the log."""
    if tip is None:
        return Verdict(ACCEPT, None)
    by_size = {h.tree_size: h.root_hash for h in accepted}
    if head.tree_size in by_size:
        if by_size[head.tree_size] == head.root_hash:
            return Verdict(DUPLICATE)
        return Verdict(FORK, f"树大小 {head.tree_size} 已见证的根哈希不同：历史记录被改写")
    if any(h.from_size == head.tree_size and h.from_root == head.root_hash for h in accepted):
        return Verdict(HISTORY)          # a late arrival: a witnessed head extends it
    if head.from_size is None:
        if head.tree_size < tip.tree_size and head.timestamp > tip.timestamp:
            return Verdict(FORK, f"较早已见证 {tip.tree_size} 条，其后签名的树头仅 {head.tree_size} 条且无一致性证明："
                                 "记录被删除或回滚")
        return Verdict(PENDING, "树头未附一致性证明，尚不能确认其在已见证的链上")
    known_root = by_size.get(head.from_size)
    if known_root is not None and known_root != head.from_root:
        return Verdict(FORK, f"新树头所延续的日志在 {head.from_size} 条处的根哈希与已见证的不同：历史记录被改写")
    if head.from_size == tip.tree_size and head.from_root == tip.root_hash:
        ok = verify_consistency(head.from_size, head.tree_size, bytes.fromhex(head.from_root),
                                bytes.fromhex(head.root_hash), [bytes.fromhex(p) for p in head.proof])
        if ok:
            return Verdict(ACCEPT)
        return Verdict(FORK, f"自已见证的 {tip.tree_size} 条树头至新树头（{head.tree_size} 条）的一致性证明不成立："
                             "日志不是仅追加的")
    if known_root is not None:           # an older witnessed head, not the tip
        return Verdict(FORK, f"新树头（{head.tree_size} 条）延续的是已见证的 {head.from_size} 条树头，而非最新见证的 "
                             f"{tip.tree_size} 条树头：其后的历史被替换（从备份回滚或改写）")
    return Verdict(PENDING, f"等待其前一个树头（{head.from_size} 条）到达")


def handover_bytes(log_id: str, algorithm: str, new_public_key: bytes, from_tree_size: int, timestamp: int) -> bytes:
    """What the old key signs to hand a log over to a new key (fixed layout, big-endian)."""
    lid, alg = log_id.encode("utf-8"), algorithm.encode("utf-8")
    return (HANDOVER_DOMAIN + struct.pack(">H", len(lid)) + lid + struct.pack(">H", len(alg)) + alg
            + struct.pack(">H", len(new_public_key)) + bytes(new_public_key)
            + struct.pack(">QQ", from_tree_size, timestamp))
