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
    "TILE_HEIGHT",
    "CompactRange",
    "TileCache",
    "TiledLog",
    "HeldLeaves",
    "ScannedLog",
    "scan",
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


class _TreeQueries:
    """Root, inclusion and consistency proofs (RFC 9162 §2.1) for any log that answers ``subtree(level,
    index)`` for complete subtrees and keeps its size in ``_size`` — shared by the in-memory ``MerkleLog``
    and the bounded ``TiledLog`` so both answer the same proofs by the same code."""

    __slots__ = ()

    def _check_size(self, tree_size: int | None) -> int:
        if tree_size is None:
            return self._size
        if not 0 <= tree_size <= self._size:
            raise ValueError(f"tree size {tree_size} outside 0..{self._size}")
        return tree_size

    def _mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for 0 <= lo < hi <= size, from the complete subtrees it splits into."""
        n = hi - lo
        if n & (n - 1) == 0 and lo & (n - 1) == 0:
            k = n.bit_length() - 1
            return self.subtree(k, lo >> k)
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


class MerkleLog(_TreeQueries):
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

    def subtree(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree ``index`` at ``level`` (0: leaf hashes)."""
        off = index * HASH_SIZE
        return bytes(self._levels[level][off:off + HASH_SIZE])


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


# --------------------------------------------------------------------------------------------------
# Bounded state for a long-lived process (issue 20, "records scale"): a replica does not keep every
# node of the tree. It keeps
#
# * a ``CompactRange`` (the frontier): the roots of the O(log n) perfect subtrees that make up
#   [0, size) — enough to append and to compute the current root;
# * a few *tiles* in an LRU ``TileCache``: a tile of height ``h`` at base level ``b`` holds ``2**h``
#   consecutive hashes of level ``b`` and everything above them up to level ``b + h`` (RFC 9162
#   §2.1 subtrees; the layout of Go's transparency logs). Tiles come from stored hashes: level 0 is
#   the leaf hashes, the levels ``h, 2h, …`` are hashes the service stores (one per ``2**h``
#   entries). An aligned perfect subtree at any level is then one tile read (cached), so a root at
#   any size, an inclusion proof and a consistency proof cost O(log n / h) reads of ``2**h`` hashes;
# * the leaf hashes since the newest signed head it knows (the *tail*, capped), so the self-check can
#   name a rewritten entry no head covers yet (``HeldLeaves``).
# --------------------------------------------------------------------------------------------------
TILE_HEIGHT = 8


class CompactRange:
    """The frontier of a log of ``size`` leaves: the hashes of the perfect subtrees of its RFC 9162
    decomposition, largest (leftmost) first — one per set bit of ``size``, so at most
    ``size.bit_length()`` hashes whatever the size."""

    __slots__ = ("size", "nodes")

    def __init__(self, size: int = 0, nodes: Sequence[bytes] = ()) -> None:
        if len(nodes) != bin(size).count("1"):
            raise ValueError(f"a frontier of {size} leaves has {bin(size).count('1')} nodes, got {len(nodes)}")
        self.size, self.nodes = size, [bytes(n) for n in nodes]

    def copy(self) -> "CompactRange":
        return CompactRange(self.size, self.nodes)

    def append(self, leaf: bytes, every: int = 0) -> list[tuple[int, int, bytes]]:
        """Append a leaf hash. Returns the aligned subtrees it completed whose level is a positive
        multiple of ``every`` as ``(level, index, hash)`` (nothing when ``every`` is 0)."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
        done = []
        h, level, size = bytes(leaf), 0, self.size
        nodes = self.nodes
        while (size >> level) & 1:
            h = node_hash(nodes.pop(), h)
            level += 1
            if every and level % every == 0:
                done.append((level, size >> level, h))
        nodes.append(h)
        self.size = size + 1
        return done

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        r = self.nodes[-1]
        for n in reversed(self.nodes[:-1]):
            r = node_hash(n, r)
        return r

    def subtree(self, level: int, index: int) -> bytes | None:
        """The hash of the aligned subtree (level, index) if it is one of the frontier's nodes."""
        lo = index << level
        start = 0
        for k in range(self.size.bit_length() - 1, -1, -1):
            if (self.size >> k) & 1:
                if k == level and start == lo:
                    return self.nodes[bin(self.size >> (k + 1)).count("1")]
                start += 1 << k
        return None


class TileCache:
    """LRU of complete tiles, shared by the views of one process; bounded by ``max_tiles``."""

    def __init__(self, max_tiles: int = 64) -> None:
        from collections import OrderedDict

        self.max_tiles = max_tiles
        self._tiles: "OrderedDict[tuple[int, int, int], list[bytes]]" = OrderedDict()

    def get(self, key):
        levels = self._tiles.get(key)
        if levels is not None:
            self._tiles.move_to_end(key)
        return levels

    def put(self, key, levels: list[bytes]) -> None:
        self._tiles[key] = levels
        self._tiles.move_to_end(key)
        while len(self._tiles) > self.max_tiles:
            self._tiles.popitem(last=False)

    def clear(self) -> None:
        self._tiles.clear()

    def __len__(self) -> int:
        return len(self._tiles)

    def hashes(self) -> int:
        """How many hashes the cache holds (for the memory bound)."""
        return sum(len(level) // HASH_SIZE for levels in self._tiles.values() for level in levels)


def _tile_levels(base: bytes) -> list[bytes]:
    """A tile's levels from its base hashes: level 0 = ``base``, each next level the parents."""
    levels = [bytes(base)]
    while len(levels[-1]) >= 2 * HASH_SIZE:
        levels.append(_parents(levels[-1]))
    return levels


class TiledLog(_TreeQueries):
    """A Merkle log of ``size`` leaves answering ``root(n)``, ``inclusion_proof`` and
    ``consistency_proof`` for every ``n <= size`` (like ``MerkleLog``) while holding only its
    frontier, its tail and a bounded tile cache. ``fetch(level, start, count)`` returns the stored
    hashes ``start … start+count-1`` of ``level`` (0: leaf hashes; else a multiple of
    ``tile_height``) as a list with ``None`` for a hash not stored; a missing node is computed from
    the tile below it and listed in ``filled`` for the caller to store. ``fetch`` may be replaced
    (``bind``) — e.g. by one reading in the caller's current transaction.

    ``frontier=None``: a read-only view of the first ``size`` stored leaves (proofs of committed
    heads; ``append`` is refused)."""

    def __init__(self, size: int, fetch=None, *, frontier: CompactRange | None = None, cache: TileCache | None = None,
                 tile_height: int = TILE_HEIGHT, tail_start: int | None = None, tail_max: int = 1 << 16) -> None:
        if frontier is not None and frontier.size != size:
            raise ValueError("frontier size differs from the log size")
        self._size = size
        self.fetch = fetch
        self.frontier = frontier
        self.cache = cache if cache is not None else TileCache()
        self.tile_height = tile_height
        self.cache_limit = size          # tiles wholly below this many leaves may be cached
        self.new_nodes: list[tuple[int, int, bytes]] = []    # stored-level nodes completed by append
        self.filled: list[tuple[int, int, bytes]] = []       # stored-level nodes computed for want of a row
        self.tail_start = size if tail_start is None else tail_start
        self.tail = bytearray()
        self.tail_max = tail_max

    # -- appending ------------------------------------------------------------------------------
    @property
    def size(self) -> int:
        return self._size

    def __len__(self) -> int:
        return self._size

    def append(self, leaf: bytes) -> int:
        if self.frontier is None:
            raise ValueError("a read-only view cannot be appended to")
        index = self._size
        self.new_nodes.extend(self.frontier.append(leaf, self.tile_height))
        self._size = index + 1
        self.tail += leaf
        if len(self.tail) > self.tail_max * HASH_SIZE:      # the oldest leaves of the tail are dropped
            drop = len(self.tail) // HASH_SIZE - self.tail_max
            del self.tail[:drop * HASH_SIZE]
            self.tail_start += drop
        return index

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def trim_tail(self, upto: int) -> None:
        """Forget the tail's leaves below ``upto`` (a signed head covers them now) — but those of the leaf tile
        ``upto`` falls in, which the next consistency proof from that head needs."""
        upto = (upto >> self.tile_height) << self.tile_height
        drop = min(max(0, upto - self.tail_start), len(self.tail) // HASH_SIZE)
        if drop:
            del self.tail[:drop * HASH_SIZE]
            self.tail_start += drop

    def take_new_nodes(self) -> list[tuple[int, int, bytes]]:
        nodes, self.new_nodes = self.new_nodes, []
        return nodes

    def take_filled(self) -> list[tuple[int, int, bytes]]:
        nodes, self.filled = self.filled, []
        return nodes

    def node_count(self) -> int:
        """Hashes held in memory: frontier, tail and cached tiles (the bound of issue 20)."""
        return ((len(self.frontier.nodes) if self.frontier is not None else 0) + len(self.tail) // HASH_SIZE
                + self.cache.hashes())

    def held(self) -> "HeldLeaves":
        return HeldLeaves(self._size, self.root(), self.tail_start, bytes(self.tail))

    # -- stored hashes ----------------------------------------------------------------------------
    def _stored(self, level: int, start: int, count: int) -> list[bytes]:
        if level == 0 and count:
            # leaves this process holds (its tail) are not read again: a consistency proof from the newest
            # head needs the leaf tile just below it, read from the database on every signature before
            t0, t1 = self.tail_start, self.tail_start + len(self.tail) // HASH_SIZE
            lo = max(start, t0)
            if lo < start + count <= t1:
                held = [bytes(self.tail[(i - t0) * HASH_SIZE:(i - t0 + 1) * HASH_SIZE]) for i in range(lo, start + count)]
                return (self._fetched(0, start, lo - start) if lo > start else []) + held
        return self._fetched(level, start, count)

    def _fetched(self, level: int, start: int, count: int) -> list[bytes]:
        got = list(self.fetch(level, start, count))
        if len(got) != count:
            raise LookupError(f"{count} hashes of level {level} from {start} asked, {len(got)} returned")
        for i, h in enumerate(got):
            if h is None:
                if level == 0:
                    raise LookupError(f"leaf hash {start + i} is not stored")
                h = self._tile(level - self.tile_height, start + i)[-1]
                got[i] = h
                self.filled.append((level, start + i, h))
            elif len(h) != HASH_SIZE:
                raise LookupError(f"stored hash ({level}, {start + i}) is {len(h)} bytes")
        return got

    def _tile(self, base: int, number: int, need: int | None = None) -> list[bytes]:
        """The levels of tile ``number`` at ``base`` (complete, or its first ``need`` base hashes)."""
        width = 1 << self.tile_height
        key = (self.tile_height, base, number)
        levels = self.cache.get(key)
        if levels is not None:
            return levels
        available = (self._size >> base) - number * width
        count = width if need is None else min(width, max(need, available))
        if available < count:
            raise ValueError(f"tile {number} at level {base} is not complete in a log of {self._size}")
        levels = _tile_levels(b"".join(self._stored(base, number * width, count)))
        if count == width and ((number + 1) * width) << base <= self.cache_limit:
            self.cache.put(key, levels)
        return levels

    def subtree(self, level: int, index: int) -> bytes:
        """MTH of the aligned perfect subtree of ``2**level`` leaves numbered ``index``."""
        if ((index + 1) << level) > self._size:
            raise ValueError(f"subtree ({level}, {index}) beyond a log of {self._size}")
        if self.frontier is not None:
            h = self.frontier.subtree(level, index)
            if h is not None:
                return h
        if level % self.tile_height == 0 and level:
            return self._stored(level, index, 1)[0]
        base = level - level % self.tile_height
        depth = level - base
        first = index << depth                       # its first hash at the base level
        number = first >> self.tile_height
        levels = self._tile(base, number, need=((index + 1) << depth) - number * (1 << self.tile_height))
        local = index - (number << (self.tile_height - depth))
        return bytes(levels[depth][local * HASH_SIZE:(local + 1) * HASH_SIZE])

    # -- queries (the MerkleLog interface) --------------------------------------------------------
    def leaf_hash(self, index: int) -> bytes:
        if not 0 <= index < self._size:
            raise IndexError(f"leaf index {index} outside 0..{self._size - 1}")
        return self.subtree(0, index)

    def leaf_range(self, lo: int, hi: int) -> bytes:
        """Leaf hashes lo … hi-1, concatenated (the tail from memory, the rest stored)."""
        if not 0 <= lo <= hi <= self._size:
            raise ValueError(f"leaf range {lo}..{hi} outside 0..{self._size}")
        t0, t1 = self.tail_start, self.tail_start + len(self.tail) // HASH_SIZE
        if t0 <= lo and hi <= t1:
            return bytes(self.tail[(lo - t0) * HASH_SIZE:(hi - t0) * HASH_SIZE])
        return b"".join(self._stored(0, lo, hi - lo)) if hi > lo else b""

    def root(self, tree_size: int | None = None) -> bytes:
        n = self._check_size(tree_size)
        if n == 0:
            return EMPTY_ROOT
        if n == self._size and self.frontier is not None:
            return self.frontier.root()
        return self._mth(0, n)



class HeldLeaves:
    """What a process holds of the log it appended or loaded (the self-check's memory, REC-4): the
    size and root at its last commit and the leaf hashes of its tail (``tail_start`` … ``size-1``)."""

    __slots__ = ("size", "root", "tail_start", "tail")

    def __init__(self, size: int, root: bytes, tail_start: int, tail: bytes) -> None:
        self.size, self.root, self.tail_start, self.tail = size, root, tail_start, tail


class ScannedLog:
    """A log scanned leaf by leaf from the stored hashes (``scan``): its size, its frontier, its
    root at each size asked for, and the leaf hashes of one range — what the self-check compares,
    computed in one pass with O(log n) memory besides them."""

    def __init__(self, frontier: CompactRange, roots: dict[int, bytes], captured_start: int, captured: bytes):
        self.frontier, self._roots = frontier, roots
        self.captured_start, self.captured = captured_start, captured

    @property
    def size(self) -> int:
        return self.frontier.size

    def root(self, tree_size: int | None = None) -> bytes:
        n = self.size if tree_size is None else tree_size
        if n == self.size:
            return self.frontier.root()
        if n == 0:
            return EMPTY_ROOT
        try:
            return self._roots[n]
        except KeyError:
            raise ValueError(f"the root at size {n} was not recorded by the scan") from None

    def leaf_range(self, lo: int, hi: int) -> bytes:
        a = self.captured_start
        b = a + len(self.captured) // HASH_SIZE
        if not (a <= lo <= hi <= b):
            raise ValueError(f"leaves {lo}..{hi} were not captured by the scan ({a}..{b})")
        return self.captured[(lo - a) * HASH_SIZE:(hi - a) * HASH_SIZE]


def scan(leaves: Iterable[bytes], sizes: Iterable[int] = (), capture: tuple[int, int] | None = None,
         every: int = 0, on_node=None) -> ScannedLog:
    """One pass over the leaf hashes in order: the frontier, the roots at ``sizes``, the leaves of
    ``capture`` = (lo, hi); ``on_node(level, index, hash)`` for each completed aligned subtree whose
    level is a positive multiple of ``every`` (to check or store the stored nodes)."""
    wanted = set(sizes)
    frontier = CompactRange()
    roots: dict[int, bytes] = {}
    lo, hi = capture or (0, 0)
    captured = bytearray()
    for leaf in leaves:
        size = frontier.size
        if size in wanted and size:
            roots[size] = frontier.root()
        if lo <= size < hi:
            captured += leaf
        for node in frontier.append(leaf, every):
            if on_node is not None:
                on_node(*node)
    if frontier.size in wanted and frontier.size:
        roots[frontier.size] = frontier.root()
    return ScannedLog(frontier, roots, lo if capture else 0, bytes(captured))
