"""The records log's self-check against its signed tree heads (REC-4, issue 14), as pure rules:
``check_head`` ("is this tree consistent with head H?") and ``self_check`` over every head, naming
the inconsistent range."""
from __future__ import annotations

import pytest

from services.records.domain.merkle import MerkleLog, leaf_hash
from services.records.domain.selfcheck import InconsistencyKind, check_head, compare_leaves, self_check
from services.records.domain.treehead import Ed25519Verifier, TreeHead, generate_key, sign_tree_head

KEY = generate_key()
OTHER = generate_key()
TRUSTED = (Ed25519Verifier(KEY),)


def leaves(n, changed=None):
    return [leaf_hash(b'{"seq":%d%s}' % (i, b',"x":1' if i == changed else b"")) for i in range(n)]


def head(tree, size, key=KEY, ts=1):
    return sign_tree_head(TreeHead(size, tree.root(size), ts, "records.test"), key)


def test_rec4_check_head_accepts_the_tree_it_was_signed_over_and_its_extensions():
    tree = MerkleLog.from_leaf_hashes(leaves(40))
    for size in (0, 1, 7, 16, 40):
        assert check_head(tree, head(tree, size), verifiers=TRUSTED) is None


def test_rec4_a_rewritten_and_rehashed_entry_is_inconsistent_with_every_head_covering_it():
    """Issue 14, defect 3: entry 12 rewritten and its stored leaf hash recomputed — the tree rebuilt
    from the stored hashes no longer has the signed root of any head covering entry 12; the range
    named is between the largest head still matching and the first that does not."""
    genuine = MerkleLog.from_leaf_hashes(leaves(40))
    heads = [head(genuine, s, ts=s) for s in (5, 10, 20, 30)]
    rewritten = MerkleLog.from_leaf_hashes(leaves(45, changed=12))
    result = self_check(rewritten, heads, verifiers=TRUSTED)
    assert not result.ok
    assert [p.kind for p in result.problems] == [InconsistencyKind.ROOT_MISMATCH] * 2
    assert result.range == (10, 19) and result.consistent_through == 10
    assert "10..19" in result.describe() and "序号 10 至 19" in result.summary_zh()
    first = check_head(rewritten, heads[-1], verifiers=TRUSTED)
    assert first.kind is InconsistencyKind.ROOT_MISMATCH and (first.first_sequence, first.last_sequence) == (0, 29)
    # the same tree with the entry restored passes
    assert self_check(MerkleLog.from_leaf_hashes(leaves(45)), heads, verifiers=TRUSTED).ok


def test_rec4_heads_of_an_earlier_rewrite_that_was_signed_over_are_still_found():
    """A log rewritten before the newest head was signed (what the service did before the fix):
    the newest head matches, an older one does not — the self-check fails and names the range."""
    genuine = MerkleLog.from_leaf_hashes(leaves(20))
    old = head(genuine, 10)
    rewritten = MerkleLog.from_leaf_hashes(leaves(30, changed=3))
    laundered = head(rewritten, 30)
    result = self_check(rewritten, [laundered, old], verifiers=TRUSTED)
    assert not result.ok and result.range == (0, 9)


def test_rec4_missing_entries_forged_heads_and_withdrawn_heads_fail():
    tree = MerkleLog.from_leaf_hashes(leaves(20))
    shorter = MerkleLog.from_leaf_hashes(leaves(15))
    result = self_check(shorter, [head(tree, 10), head(tree, 20)], verifiers=TRUSTED)
    assert [p.kind for p in result.problems] == [InconsistencyKind.HEAD_BEYOND_LOG]
    assert result.range == (15, 19)
    # a head signed by another key (a row written by someone without the signing key)
    forged = head(tree, 20, key=OTHER)
    assert check_head(tree, forged, verifiers=TRUSTED).kind is InconsistencyKind.BAD_SIGNATURE
    result = self_check(tree, [head(tree, 10), forged], verifiers=TRUSTED)
    assert [p.kind for p in result.problems] == [InconsistencyKind.BAD_SIGNATURE] and result.range == (10, 19)
    # an older head whose root was altered in the database: told apart from a rewritten log
    good = head(tree, 10)
    altered = sign_tree_head(TreeHead(10, b"\x01" * 32, 1, "records.test"), KEY)
    altered = type(altered)(TreeHead(10, b"\x02" * 32, 1, "records.test"), altered.signature, altered.public_key)
    result = self_check(tree, [altered, head(tree, 20)], verifiers=TRUSTED)
    assert [p.kind for p in result.problems] == [InconsistencyKind.BAD_SIGNATURE]
    assert self_check(tree, [good, head(tree, 20)], verifiers=TRUSTED).ok
    # heads deleted: the newest stored head is smaller than one seen before
    result = self_check(tree, [good], verifiers=TRUSTED, seen_head_size=20)
    assert [p.kind for p in result.problems] == [InconsistencyKind.HEADS_WITHDRAWN] and result.range == (10, 19)


def test_rec4_a_rotated_key_stays_trusted_when_listed():
    tree = MerkleLog.from_leaf_hashes(leaves(8))
    old = head(tree, 4, key=OTHER)
    new = head(tree, 8)
    assert not self_check(tree, [old, new], verifiers=TRUSTED, verify_all_signatures=True).ok
    assert self_check(tree, [old, new], verifiers=TRUSTED + (Ed25519Verifier(OTHER),),
                      verify_all_signatures=True).ok


def test_rec4_unsigned_tail_is_counted_not_failed():
    tree = MerkleLog.from_leaf_hashes(leaves(12))
    result = self_check(tree, [head(tree, 8)], verifiers=TRUSTED)
    assert result.ok and result.unsigned == 4 and "未被签名树头覆盖" in result.summary_zh()
    empty = self_check(tree, [], verifiers=TRUSTED)
    assert empty.ok and empty.unsigned == 12 and empty.newest_head_size is None


@pytest.mark.parametrize("changed", [0, 7, 11])
def test_rec4_leaves_this_process_held_are_compared_with_the_stored_ones(changed):
    """A rewrite of entries no head covers yet is caught while the process that appended them runs."""
    held = MerkleLog.from_leaf_hashes(leaves(12))
    stored = MerkleLog.from_leaf_hashes(leaves(14, changed=changed))
    finding = compare_leaves(held, 12, stored)
    assert finding.kind is InconsistencyKind.LEAVES_CHANGED
    assert (finding.first_sequence, finding.last_sequence) == (changed, changed)
    assert compare_leaves(held, 12, MerkleLog.from_leaf_hashes(leaves(14))) is None
    missing = compare_leaves(held, 12, MerkleLog.from_leaf_hashes(leaves(9)))
    assert missing.kind is InconsistencyKind.ENTRIES_MISSING and (missing.first_sequence, missing.last_sequence) == (9, 11)
    result = self_check(stored, [], verifiers=TRUSTED, extra=[finding])
    assert not result.ok and result.range == (changed, changed)
