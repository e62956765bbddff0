"""REC-4: SM3 Merkle log per RFC 9162 §2.1 — known answers, inclusion and consistency proofs."""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from services.records.domain.merkle import (EMPTY_ROOT, MerkleLog, leaf_hash, mth, node_hash, sm3,
                                            verify_consistency, verify_inclusion)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import audit_verify  # noqa: E402  (independent pure-Python SM3 as a second oracle)


def _sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def _oracle_root(entries: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, hashing entries with hashlib directly."""
    n = len(entries)
    if n == 0:
        return _sm3(b"")
    if n == 1:
        return _sm3(b"\x00" + entries[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _sm3(b"\x01" + _oracle_root(entries[:k]) + _oracle_root(entries[k:]))


def test_rec4_sm3_known_answers():
    assert sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    # GB/T 32905 example 2: "abcd" x 16
    assert sm3(b"abcd" * 16).hex() == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    assert EMPTY_ROOT.hex() == "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
    assert audit_verify.sm3_pure(b"abc") == sm3(b"abc")


def test_rec4_leaf_and_node_prefixes():
    assert leaf_hash(b"x") == _sm3(b"\x00x")
    a, b = _sm3(b"a"), _sm3(b"b")
    assert node_hash(a, b) == _sm3(b"\x01" + a + b)
    assert node_hash(a, b) != node_hash(b, a)


def test_rec4_three_leaf_root_by_hand():
    entries = [b"\x00", b"\x01", b"\x02"]
    l0, l1, l2 = (audit_verify.sm3_pure(b"\x00" + e) for e in entries)
    by_hand = audit_verify.sm3_pure(b"\x01" + audit_verify.sm3_pure(b"\x01" + l0 + l1) + l2)
    log = MerkleLog.from_leaf_hashes([leaf_hash(e) for e in entries])
    assert log.root() == by_hand
    assert log.root().hex() == "8d9a0a05b4b675d107412b72426a3e29940c28e8d847718f0d42dbaf0feb7a1c"
    assert log.root(2) == node_hash(l0, l1)
    assert log.root(1) == l0
    assert log.root(0) == EMPTY_ROOT


ENTRIES = [("entry-%d" % i).encode() for i in range(70)]
LEAVES = [leaf_hash(e) for e in ENTRIES]


def test_rec4_roots_match_oracle_for_every_size_and_append_equals_bulk():
    appended = MerkleLog()
    for n in range(0, 71):
        bulk = MerkleLog.from_leaf_hashes(LEAVES[:n])
        assert bulk.root() == _oracle_root(ENTRIES[:n]) == mth(LEAVES[:n])
        assert appended.to_levels() == bulk.to_levels()
        assert appended.root() == bulk.root()
        if n < 70:
            assert appended.append(LEAVES[n]) == n
    full = MerkleLog.from_leaf_hashes(LEAVES)
    for n in range(71):
        assert full.root(n) == _oracle_root(ENTRIES[:n])


def test_rec4_levels_roundtrip_and_contiguous_input():
    log = MerkleLog.from_leaf_hashes(b"".join(LEAVES[:37]))
    restored = MerkleLog.from_levels(log.to_levels())
    assert restored.root() == log.root() and restored.size == 37 and restored.check_levels()
    levels = log.to_levels()
    assert [len(x) // 32 for x in levels] == [37, 18, 9, 4, 2, 1]
    with pytest.raises(ValueError):
        MerkleLog.from_levels(levels[:-1])
    bad = list(levels)
    bad[2] = b"\x00" * len(bad[2])
    assert not MerkleLog.from_levels(bad).check_levels()


@pytest.mark.parametrize("n", range(1, 71))
def test_rec4_inclusion_proofs_every_leaf(n):
    log = MerkleLog.from_leaf_hashes(LEAVES[:n])
    root = _oracle_root(ENTRIES[:n])
    for i in range(n):
        proof = log.inclusion_proof(i, n)
        assert verify_inclusion(LEAVES[i], i, n, proof, root)
        # wrong leaf, wrong index, wrong root, wrong size
        assert not verify_inclusion(LEAVES[(i + 1) % 70], i, n, proof, root)
        if n > 1:
            assert not verify_inclusion(LEAVES[i], (i + 1) % n, n, proof, root)
        assert not verify_inclusion(LEAVES[i], i, n, proof, sm3(b"other root"))
        assert not verify_inclusion(LEAVES[i], n, n, proof, root)
        # truncated / extended proofs
        if proof:
            assert not verify_inclusion(LEAVES[i], i, n, proof[:-1], root)
        assert not verify_inclusion(LEAVES[i], i, n, proof + [root], root)


def test_rec4_inclusion_proof_in_historical_tree():
    log = MerkleLog.from_leaf_hashes(LEAVES)
    proof = log.inclusion_proof(5, 13)
    assert verify_inclusion(LEAVES[5], 5, 13, proof, _oracle_root(ENTRIES[:13]))
    assert len(proof) == 4  # sizes 13 -> path length ceil(log2 13)
    with pytest.raises(ValueError):
        log.inclusion_proof(13, 13)


def test_rec4_consistency_proofs_all_pairs_to_40():
    log = MerkleLog.from_leaf_hashes(LEAVES[:40])
    for n in range(1, 41):
        new_root = _oracle_root(ENTRIES[:n])
        for m in range(1, n + 1):
            old_root = _oracle_root(ENTRIES[:m])
            proof = log.consistency_proof(m, n)
            assert verify_consistency(m, n, old_root, new_root, proof), (m, n)
            # An old tree in which one entry was rewritten is not a prefix of the new tree.
            for j in {0, m - 1, m // 2}:
                forged = list(ENTRIES[:m])
                forged[j] = forged[j] + b"!"
                assert not verify_consistency(m, n, _oracle_root(forged), new_root, proof), (m, n, j)
            if m < n:
                assert not verify_consistency(m, n, old_root, sm3(b"x"), proof)
                assert not verify_consistency(m, n, old_root, new_root, proof[:-1])
                assert not verify_consistency(m, n, old_root, new_root, proof + [new_root])


def test_rec4_consistency_edge_cases():
    log = MerkleLog.from_leaf_hashes(LEAVES[:8])
    assert log.consistency_proof(8, 8) == [] and log.consistency_proof(0, 8) == []
    assert verify_consistency(0, 8, EMPTY_ROOT, log.root(), [])
    assert not verify_consistency(3, 8, log.root(3), log.root(), [])
    # RFC 9162 §2.1.4.3 example shape: PROOF(3, D[7]) = [c, d, g, l] has 4 elements
    assert len(log.consistency_proof(3, 7)) == 4
    assert len(log.consistency_proof(4, 7)) == 1
    assert len(log.consistency_proof(6, 7)) == 3


def test_rec4_inclusion_proof_shape_matches_rfc_example():
    # RFC 9162 §2.1.3.3: tree of 7 leaves; path for d0 is [b, h, i], for d3 [c, g, l], for d6 [l? ...]
    log = MerkleLog.from_leaf_hashes(LEAVES[:7])
    l_ = LEAVES
    assert log.inclusion_proof(0, 7) == [l_[1], node_hash(l_[2], l_[3]),
                                         node_hash(node_hash(l_[4], l_[5]), l_[6])]
    assert log.inclusion_proof(3, 7) == [l_[2], node_hash(l_[0], l_[1]),
                                         node_hash(node_hash(l_[4], l_[5]), l_[6])]
    assert log.inclusion_proof(6, 7) == [node_hash(l_[4], l_[5]),
                                         node_hash(node_hash(l_[0], l_[1]), node_hash(l_[2], l_[3]))]
