"""Append-only Merkle log (防删改的数据链条) — REC-4, REC-5, REC-8.

Certificate-Transparency style Merkle tree (RFC 6962 §2.1 / RFC 9162 §2.1) with SM3
(国密杂凑算法, GB/T 32905) as the hash function:

* leaf hash ``SM3(0x00 || entry_bytes)``          (RFC 9162 §2.1.1, leaf prefix)
* node hash ``SM3(0x01 || left || right)``         (interior prefix)
* ``MTH({}) = SM3("")`` for the empty tree
* ``MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))`` where ``k`` is the largest power of two
  strictly smaller than ``n``.

Storage layout (``MerkleLog``): level ``0`` holds the leaf hashes, level ``k`` holds the hash
of every *complete, aligned* subtree of ``2**k`` leaves (the parent of an aligned pair of level
``k-1`` entries). Each level is one contiguous ``bytearray`` of 32-byte hashes, so the hash of
any aligned perfect subtree is an O(1) slice and only the O(log n) non-perfect subtrees on the
right edge of a tree of size ``n`` are hashed on demand. Appending is amortised O(1).

The module is pure: no I/O, no clock. ``hashlib.new("sm3")`` is provided by OpenSSL.
"""
from __future__ import annotations

import hashlib
from typing import Iterable, Sequence

__all__ = [
    "HASH_SIZE",
    "EMPTY_ROOT",
    "sm3",
    "leaf_hash",
    "node_hash",
    "leaf_hashes",
    "largest_power_of_two_below",
    "MerkleLog",
    "mth",
    "verify_inclusion",
    "verify_consistency",
    "root_from_inclusion_proof",
]

HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

# Pre-seeded hash objects: ``copy()`` of a seeded object is ~2x faster than
# ``hashlib.new("sm3", prefix + data)`` (no name lookup, no concatenation).
_SM3_EMPTY = hashlib.new("sm3")
_LEAF_BASE = hashlib.new("sm3", _LEAF_PREFIX)
_NODE_BASE = hashlib.new("sm3", _NODE_PREFIX)


def sm3(data: bytes) -> bytes:
    """SM3 digest (国密 SM3, 32 bytes) of ``data``."""
    h = _SM3_EMPTY.copy()
    h.update(data)
    return h.digest()


EMPTY_ROOT = sm3(b"")  # MTH of the empty tree (RFC 9162 §2.1.1)


def leaf_hash(entry_bytes: bytes) -> bytes:
    """Leaf hash 叶子哈希 = SM3(0x00 || entry_bytes)."""
    h = _LEAF_BASE.copy()
    h.update(entry_bytes)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node hash 节点哈希 = SM3(0x01 || left || right)."""
    h = _NODE_BASE.copy()
    h.update(left)
    h.update(right)
    return h.digest()


def leaf_hashes(entries: Iterable[bytes]) -> bytes:
    """Leaf hashes of many entries, concatenated (32 bytes each) — the fast bulk form."""
    copy = _LEAF_BASE.copy
    out = []
    append = out.append
    for e in entries:
        h = copy()
        h.update(e)
        append(h.digest())
    return b"".join(out)


def largest_power_of_two_below(n: int) -> int:
    """Split point ``k``: the largest power of two strictly smaller than ``n`` (n >= 2)."""
    if n < 2:
        raise ValueError("split point needs n >= 2")
    return 1 << ((n - 1).bit_length() - 1)


def _parents(level: bytes | bytearray) -> bytes:
    """Hashes of all aligned pairs of a contiguous level (odd trailing hash ignored)."""
    mv = memoryview(level)
    copy = _NODE_BASE.copy
    out = []
    append = out.append
    end = (len(level) // (2 * HASH_SIZE)) * 2 * HASH_SIZE
    for j in range(0, end, 2 * HASH_SIZE):
        h = copy()
        h.update(mv[j:j + 2 * HASH_SIZE])
        append(h.digest())
    mv.release()
    return b"".join(out)


def _as_contiguous(hashes: Iterable[bytes] | bytes | bytearray | memoryview) -> bytearray:
    if isinstance(hashes, (bytes, bytearray, memoryview)):
        buf = bytearray(hashes)
    else:
        parts = list(hashes)
        for i, h in enumerate(parts):
            if len(h) != HASH_SIZE:
                raise ValueError(f"leaf hash #{i} is {len(h)} bytes, expected {HASH_SIZE}")
        buf = bytearray(b"".join(parts))
    if len(buf) % HASH_SIZE:
        raise ValueError(f"concatenated leaf hashes must be a multiple of {HASH_SIZE} bytes")
    return buf


class MerkleLog:
    """Append-only Merkle log over SM3 leaf hashes (审计日志 / 数据链条), REC-4.

    Build with ``MerkleLog.from_leaf_hashes(hashes)`` (list of 32-byte hashes or their
    concatenation), ``MerkleLog.from_levels(levels)`` (restore from ``to_levels()``), or
    ``MerkleLog()`` followed by ``append``.  Answers ``root(n)``, ``inclusion_proof(i, n)`` and
    ``consistency_proof(m, n)`` for every historical tree size ``n <= size``.
    """

    __slots__ = ("_levels", "_size")

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes] | bytes | bytearray | memoryview) -> "MerkleLog":
        """Rebuild every level from the leaf hashes (the service stores leaf hashes in its DB)."""
        log = cls()
        level = _as_contiguous(hashes)
        log._size = len(level) // HASH_SIZE
        levels = [level]
        while len(level) >= 2 * HASH_SIZE:
            level = bytearray(_parents(level))
            levels.append(level)
        log._levels = levels
        return log

    @classmethod
    def from_levels(cls, levels: Sequence[bytes]) -> "MerkleLog":
        """Restore from ``to_levels()`` output; checks the level sizes (not the hashes — use
        ``check_levels()`` or ``from_leaf_hashes`` when the stored levels are untrusted)."""
        if not levels:
            return cls()
        log = cls()
        lv = [bytearray(x) for x in levels]
        size = len(lv[0]) // HASH_SIZE
        if len(lv[0]) % HASH_SIZE:
            raise ValueError("level 0 length is not a multiple of 32")
        for k, level in enumerate(lv):
            if len(level) != (size >> k) * HASH_SIZE:
                raise ValueError(f"level {k} holds {len(level) // HASH_SIZE} hashes, expected {size >> k}")
        expected = max(1, size.bit_length())
        if len(lv) != expected:
            raise ValueError(f"{len(lv)} levels given for {size} leaves, expected {expected}")
        log._levels = lv
        log._size = size
        return log

    def to_levels(self) -> list[bytes]:
        """Serialise: one ``bytes`` per level (level 0 = leaf hashes), 32 bytes per hash."""
        return [bytes(level) for level in self._levels]

    def check_levels(self) -> bool:
        """Recompute every interior level from the leaves and compare (for restored levels)."""
        return MerkleLog.from_leaf_hashes(self._levels[0])._levels == self._levels

    # -- mutation -----------------------------------------------------------------------
    def append(self, leaf: bytes) -> int:
        """Append one leaf hash; returns its index (= sequence number 序号)."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
        index = self._size
        levels = self._levels
        levels[0] += leaf
        self._size = index + 1
        k = 0
        i = index
        while i & 1:  # this node completed an aligned pair at level k
            level = levels[k]
            h = _NODE_BASE.copy()
            h.update(level[(i - 1) * HASH_SIZE:(i + 1) * HASH_SIZE])
            k += 1
            if len(levels) == k:
                levels.append(bytearray())
            levels[k] += h.digest()
            i >>= 1
        return index

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    # -- queries ------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return self._size

    def leaf_hash(self, index: int) -> bytes:
        if not 0 <= index < self._size:
            raise IndexError(f"leaf index {index} outside 0..{self._size - 1}")
        return bytes(self._levels[0][index * HASH_SIZE:(index + 1) * HASH_SIZE])

    def leaf_hashes(self) -> bytes:
        """All leaf hashes, concatenated."""
        return bytes(self._levels[0])

    def _check_size(self, tree_size: int | None) -> int:
        if tree_size is None:
            return self._size
        if not 0 <= tree_size <= self._size:
            raise ValueError(f"tree size {tree_size} outside 0..{self._size}")
        return tree_size

    def _mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for 0 <= lo < hi <= size."""
        n = hi - lo
        if n & (n - 1) == 0 and lo & (n - 1) == 0:
            k = n.bit_length() - 1
            off = (lo >> k) * HASH_SIZE
            return bytes(self._levels[k][off:off + HASH_SIZE])
        split = 1 << ((n - 1).bit_length() - 1)
        return node_hash(self._mth(lo, lo + split), self._mth(lo + split, hi))

    def root(self, tree_size: int | None = None) -> bytes:
        """Merkle tree hash 根哈希 of the first ``tree_size`` leaves (default: all)."""
        n = self._check_size(tree_size)
        if n == 0:
            return EMPTY_ROOT
        return self._mth(0, n)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        """Audit path 包含性证明 PATH(index, D[tree_size]) — RFC 9162 §2.1.3.1.

        Ordered from the leaf's sibling up to the root's child, exactly as the RFC.
        """
        n = self._check_size(tree_size)
        if not 0 <= index < n:
            raise ValueError(f"leaf index {index} outside tree of size {n}")
        path: list[bytes] = []
        lo, hi, m = 0, n, index
        # Walk from the root down, collecting siblings; reverse at the end (RFC order is
        # deepest first because PATH appends after recursing).
        while hi - lo > 1:
            k = 1 << ((hi - lo - 1).bit_length() - 1)
            if m < k:
                path.append(self._mth(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._mth(lo, lo + k))
                lo, m = lo + k, m - k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """Consistency proof 一致性证明 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) — RFC 9162 §2.1.4.1.

        ``old_size == new_size`` and ``old_size == 0`` give the empty proof (RFC: only
        0 < m < n has a non-trivial proof).
        """
        n = self._check_size(new_size)
        m = old_size
        if not 0 <= m <= n:
            raise ValueError(f"old size {m} outside 0..{n}")
        if m == 0 or m == n:
            return []
        proof: list[bytes] = []
        lo, hi, b = 0, n, True
        while True:
            size = hi - lo
            if m == size:
                if not b:
                    proof.append(self._mth(lo, hi))
                break
            k = 1 << ((size - 1).bit_length() - 1)
            if m <= k:
                proof.append(self._mth(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._mth(lo, lo + k))
                lo, m, b = lo + k, m - k, False
        proof.reverse()
        return proof


def mth(leaves: Sequence[bytes]) -> bytes:
    """Naive recursive MTH over leaf *hashes* straight from the RFC definition (test oracle)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = largest_power_of_two_below(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def _as_bytes(x: bytes | str) -> bytes:
    return bytes.fromhex(x) if isinstance(x, str) else bytes(x)


def root_from_inclusion_proof(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes]) -> bytes | None:
    """Steps 1–4 of RFC 9162 §2.1.3.2; returns the computed root or ``None`` when the path
    does not fit the tree size."""
    if not 0 <= index < tree_size:
        return None
    fn, sn = index, tree_size - 1
    r = bytes(leaf)
    for p in proof:
        p = _as_bytes(p)
        if len(p) != HASH_SIZE:
            return None
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return r


def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """Verify an inclusion proof — RFC 9162 §2.1.3.2, step for step."""
    if len(leaf) != HASH_SIZE or len(root) != HASH_SIZE:
        return False
    r = root_from_inclusion_proof(leaf, index, tree_size, proof)
    return r is not None and r == bytes(root)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Verify a consistency proof — RFC 9162 §2.1.4.2, step for step.

    Edge cases outside the RFC's 0 < first < second (same as transparency-dev/merkle):
    ``old_size == new_size`` requires an empty proof and equal roots; ``old_size == 0``
    requires an empty proof (the empty tree is a prefix of every tree).
    """
    if not 0 <= old_size <= new_size:
        return False
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        return False
    path = [_as_bytes(p) for p in proof]
    if any(len(p) != HASH_SIZE for p in path):
        return False
    if old_size == new_size:
        return not path and bytes(old_root) == bytes(new_root)
    if old_size == 0:
        return not path
    # 1. empty path fails
    if not path:
        return False
    # 2. first is an exact power of two -> prepend first_hash
    if old_size & (old_size - 1) == 0:
        path = [bytes(old_root)] + path
    # 3.
    fn, sn = old_size - 1, new_size - 1
    # 4.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    return fr == bytes(old_root) and sr == bytes(new_root) and sn == 0
