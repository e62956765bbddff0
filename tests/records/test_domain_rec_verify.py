"""REC-4/REC-5: verify_log detects and locates the first altered, deleted, inserted or reordered entry."""
from __future__ import annotations

import pytest

from services.records.domain.entries import entry_bytes, make_entry
from services.records.domain.merkle import MerkleLog, leaf_hash
from services.records.domain.treehead import SignedTreeHead, TreeHead, generate_key, load_private_key, sign_tree_head
from services.records.domain.verify import ProblemKind, verify_log

KEY = load_private_key("42" * 32)
PUB = KEY.public_key()
LOG_ID = "records.220100"


def _entries(n=40):
    return [entry_bytes(make_entry(i, "record", case_id=f"C{i // 5}", region_code="220102", body_id="B1",
                                   occurred_at="2025-03-01T09:00:00+08:00", stage="investigation",
                                   record_kind="text", document_type="investigation_record",
                                   officers=["22010219001"], extra={"note": f"第{i}条"}))
            for i in range(n)]


ENTRIES = _entries()
LEAVES = [leaf_hash(e) for e in ENTRIES]
TREE = MerkleLog.from_leaf_hashes(LEAVES)
HEADS = [sign_tree_head(TreeHead(s, TREE.root(s), 1_740_000_000_000 + s, LOG_ID), KEY) for s in (8, 16, 33, 40)]


def _flip(entry: bytes, at: int) -> bytes:
    b = bytearray(entry)
    b[at] ^= 0x01
    return bytes(b)


def test_rec4_intact_log_verifies():
    report = verify_log(ENTRIES, LEAVES, HEADS, PUB, log_id=LOG_ID)
    assert report.ok and report.first is None
    assert report.heads_verified == 4 and report.entry_count == 40
    assert verify_log(ENTRIES, b"".join(LEAVES), HEADS, PUB.public_bytes_raw()).ok
    assert verify_log([e.decode() for e in ENTRIES], LEAVES, HEADS, PUB).ok


@pytest.mark.parametrize("seq", [0, 12, 39])
def test_rec4_flipped_byte_is_altered_at_its_sequence(seq):
    entries = list(ENTRIES)
    entries[seq] = _flip(entries[seq], len(entries[seq]) - 5)
    report = verify_log(entries, LEAVES, HEADS, PUB)
    assert not report.ok
    assert (report.first.kind, report.first.sequence) == (ProblemKind.ALTERED, seq)
    # the signed head covering it fails too
    assert any(p.kind is ProblemKind.ROOT_MISMATCH for p in report.problems)


def test_rec4_flipped_byte_in_the_sequence_number_itself():
    entries = list(ENTRIES)
    at = entries[20].index(b'"seq":20') + 7
    entries[20] = _flip(entries[20], at)  # "seq":20 -> "seq":21
    report = verify_log(entries, LEAVES, HEADS, PUB)
    assert (report.first.kind, report.first.sequence) == (ProblemKind.ALTERED, 20)


def test_rec4_deleted_entry_is_located():
    entries = list(ENTRIES)
    del entries[7]
    report = verify_log(entries, LEAVES, HEADS, PUB)
    assert (report.first.kind, report.first.sequence) == (ProblemKind.DELETED, 7)


def test_rec4_deleted_tail_is_located():
    report = verify_log(ENTRIES[:35], LEAVES, HEADS, PUB)
    assert (report.first.kind, report.first.sequence, report.first.last_sequence) == (ProblemKind.DELETED, 35, 39)
    assert any(p.kind is ProblemKind.HEAD_BEYOND_LOG and p.tree_size == 40 for p in report.problems)


def test_rec4_swapped_entries_are_reordered():
    entries = list(ENTRIES)
    entries[5], entries[9] = entries[9], entries[5]
    report = verify_log(entries, LEAVES, HEADS, PUB)
    assert (report.first.kind, report.first.sequence) == (ProblemKind.REORDERED, 5)
    assert "位置 9" in report.first.detail


def test_rec4_inserted_entry_is_located():
    entries = list(ENTRIES)
    entries.insert(10, entry_bytes(make_entry(10, "record", case_id="X", region_code="220102", body_id="B1",
                                              occurred_at="2025-03-01T09:00:00+08:00")))
    report = verify_log(entries, LEAVES, HEADS, PUB)
    assert (report.first.kind, report.first.sequence) == (ProblemKind.INSERTED, 10)


def test_rec4_rewritten_entries_and_stored_hashes_caught_by_signed_heads():
    # The attacker rewrites entry 10 and recomputes the stored leaf hashes: only the signed
    # tree heads can tell, and they narrow it to the range between two heads.
    entries = list(ENTRIES)
    entries[10] = entries[10].replace("第10条".encode(), "第十条".encode())
    report = verify_log(entries, [leaf_hash(e) for e in entries], HEADS, PUB)
    first = report.first
    assert (first.kind, first.sequence, first.last_sequence, first.tree_size) == (
        ProblemKind.ROOT_MISMATCH, 8, 15, 16)


def test_rec4_renumbered_deletion_with_rewritten_hashes_located_by_sequence():
    entries = list(ENTRIES)
    del entries[7]
    report = verify_log(entries, [leaf_hash(e) for e in entries], HEADS, PUB)
    assert (report.first.kind, report.first.sequence) == (ProblemKind.DELETED, 7)


def test_rec4_altered_stored_leaf_hash_is_distinguished_from_altered_entry():
    leaves = list(LEAVES)
    leaves[3] = bytes(32)
    report = verify_log(ENTRIES, leaves, HEADS, PUB)
    assert (report.first.kind, report.first.sequence) == (ProblemKind.STORED_HASH_ALTERED, 3)


def test_rec4_forged_tree_head_is_detected():
    # A head for size 20 claiming the root of 19 entries, with a signature copied from another head.
    forged = SignedTreeHead(TreeHead(20, TREE.root(19), 1_740_000_000_020, LOG_ID), HEADS[0].signature,
                            HEADS[0].public_key)
    report = verify_log(ENTRIES, LEAVES, HEADS + [forged], PUB)
    assert [(p.kind, p.tree_size) for p in report.problems] == [(ProblemKind.BAD_SIGNATURE, 20)]
    # A head properly signed, but by somebody else's key, over a rewritten log.
    entries = list(ENTRIES)
    entries[18] = entries[18].replace("第18条".encode(), "第八条".encode())
    leaves = [leaf_hash(e) for e in entries]
    rogue = sign_tree_head(TreeHead(40, MerkleLog.from_leaf_hashes(leaves).root(), 1, LOG_ID), generate_key())
    report = verify_log(entries, leaves, HEADS[:2] + [rogue], PUB)
    kinds = {(p.kind, p.tree_size) for p in report.problems}
    assert (ProblemKind.BAD_SIGNATURE, 40) in kinds
    # head 16 still verifies; nothing after it is vouched for by a valid head, so no root mismatch
    assert report.heads_verified == 2
    # with the genuine head of 33 the rewrite of entry 18 is located to the range 16..32
    report = verify_log(entries, leaves, HEADS[:3] + [rogue], PUB)
    assert (report.first.kind, report.first.sequence, report.first.last_sequence) == (ProblemKind.ROOT_MISMATCH, 16, 32)


def test_rec4_head_of_another_log_is_rejected():
    other = sign_tree_head(TreeHead(8, TREE.root(8), 1, "records.310000"), KEY)
    report = verify_log(ENTRIES, LEAVES, HEADS + [other], PUB, log_id=LOG_ID)
    assert [(p.kind, p.tree_size) for p in report.problems] == [(ProblemKind.WRONG_LOG, 8)]


def test_rec4_heads_as_json_dicts_are_accepted():
    report = verify_log(ENTRIES, LEAVES, [h.to_json() for h in HEADS], PUB)
    assert report.ok and report.heads_verified == 4


# ------------------------------------------------------------------------------------------- issue 14
def test_rec4_issue14_unsigned_tail_is_reported_as_not_covered_never_as_verified():
    """Issue 14 defect 5: entries after the newest head were reported "核验通过"."""
    report = verify_log(ENTRIES, LEAVES, HEADS[:2], PUB)            # heads of 8 and 16 entries; 40 in the log
    assert report.ok and report.status == "unsigned_tail"
    assert (report.signed_size, report.unsigned_count) == (16, 24)
    assert "核验通过" not in report.summary()
    assert "序号 16 至 39 共 24 条未被签名树头覆盖" in report.summary()
    assert verify_log(ENTRIES, LEAVES, HEADS, PUB).status == "verified"
    none = verify_log(ENTRIES, LEAVES, [], PUB)
    assert none.status == "unsigned_tail" and "尚无签名树头" in none.summary()


def test_rec4_issue14_a_head_signed_over_a_rewritten_log_is_inconsistent_with_the_earlier_heads():
    """A rewritten-and-rehashed entry (3) re-signed at 40 with the real key: the newest head fits the
    rewritten log, the earlier ones do not — reported as heads that contradict each other."""
    entries = list(ENTRIES)
    entries[3] = entries[3].replace("第3条".encode(), "第3条（改）".encode())
    leaves = [leaf_hash(e) for e in entries]
    rewritten = MerkleLog.from_leaf_hashes(leaves)
    laundered = sign_tree_head(TreeHead(40, rewritten.root(40), 1_740_000_100_000, LOG_ID), KEY)
    report = verify_log(entries, leaves, HEADS[:3] + [laundered], PUB)
    kinds = {p.kind for p in report.problems}
    assert ProblemKind.HEADS_INCONSISTENT in kinds and ProblemKind.ROOT_MISMATCH in kinds
    [p] = [p for p in report.problems if p.kind is ProblemKind.HEADS_INCONSISTENT]
    assert (p.tree_size, p.sequence, p.last_sequence) == (40, 0, 7)
    assert "条目数 40 及其后签发的签名树头均不可信" in p.detail


def _bound(n=6):
    """A case opened, recorded and archived, as the service writes it: entries and their index columns."""
    import datetime as dt
    import json

    made = []
    for i in range(n):
        kind = "archive" if i == n - 1 else ("stage" if i == 0 else "record")
        data = {"archived_at": "2025-03-05T10:00:00+08:00"} if kind == "archive" else {"covers": "seizure"} if i == 2 else {}
        entry = make_entry(i, kind, case_id="320412-SCJG-1", region_code="320412", body_id="320412-SCJG",
                           occurred_at=f"2025-03-0{i + 1}T09:00:00+08:00", stage="investigation",
                           content_hashes=["ab" * 32] if i == 1 else (), extra={"data": data, "event_id": f"e{i}",
                                                                               "event_type": "evidence.recorded"})
        columns = {"entry_kind": kind, "case_id": "320412-SCJG-1", "region_code": "320412", "body_id": "320412-SCJG",
                   "stage": "investigation", "record_kind": None, "document_type": None, "event_id": f"e{i}",
                   "event_type": "evidence.recorded",
                   "occurred_at": dt.datetime(2025, 3, i + 1, 1, 0),           # SQLite: UTC without offset
                   "content_hash": "ab" * 32 if i == 1 else None, "covers": "seizure" if i == 2 else None}
        made.append((i, json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False), columns))
    case = {"case_id": "320412-SCJG-1", "region_code": "320412", "body_id": "320412-SCJG", "sealed": True,
            "archived_at": dt.datetime(2025, 3, 5, 2, 0, tzinfo=dt.timezone.utc)}
    return made, case


@pytest.mark.parametrize("column,value", [("case_id", "320412-SCJG-9"), ("region_code", "320411"),
                                          ("body_id", "320411-GAJ"), ("entry_kind", "access"),
                                          ("occurred_at", "2025-03-09T09:00:00+08:00"), ("covers", None),
                                          ("content_hash", "cd" * 32)])
def test_rec4_issue14_an_entry_moved_in_the_index_columns_is_named(column, value):
    """Issue 14 defect 4: the index columns decide what a timeline shows and who may read it."""
    from services.records.domain.verify import verify_bindings

    rows, case = _bound()
    assert verify_bindings(rows, [case]) == []
    seq = 2 if column == "covers" else 1
    moved = [(s, c, dict(cols, **{column: value}) if s == seq else cols) for s, c, cols in rows]
    [p] = verify_bindings(moved, [case])
    assert (p.kind, p.sequence) == (ProblemKind.INDEX_MISMATCH, seq) and column in p.detail


def test_rec4_issue14_case_unsealed_sealed_moved_or_missing_is_named():
    from services.records.domain.verify import verify_bindings

    rows, case = _bound()
    [p] = verify_bindings(rows, [dict(case, sealed=False)])
    assert (p.kind, p.sequence) == (ProblemKind.CASE_SEAL_MISMATCH, 5) and "解除封存" in p.detail
    [p] = verify_bindings(rows, [dict(case, archived_at=None)])
    assert p.kind is ProblemKind.CASE_SEAL_MISMATCH
    [p] = verify_bindings(rows[:-1], [case])                     # sealed without an archive entry
    assert p.kind is ProblemKind.CASE_SEAL_MISMATCH and "擅自封存" in p.detail
    [p] = verify_bindings(rows, [dict(case, region_code="320411")])
    assert (p.kind, p.sequence) == (ProblemKind.CASE_OWNER_MISMATCH, 0)
    [p] = verify_bindings(rows, [])
    assert p.kind is ProblemKind.CASE_ROW_MISSING
    [p] = verify_bindings(rows, [case], personal=[(3, "320412-SCJG-9")])
    assert (p.kind, p.sequence) == (ProblemKind.INDEX_MISMATCH, 3)


def test_rec4_issue14_a_logged_transfer_moves_the_owner():
    import json

    from services.records.domain.verify import TRANSFER_EVENT, verify_bindings

    rows, case = _bound()
    transfer = make_entry(6, "stage", case_id="320412-SCJG-1", region_code="320412", body_id="320412-SCJG",
                          occurred_at="2025-03-04T09:00:00+08:00",
                          extra={"event_type": TRANSFER_EVENT, "data": {"to_body_id": "320411-SCJG",
                                                                        "to_region_code": "320411"}})
    columns = {"entry_kind": "stage", "case_id": "320412-SCJG-1", "region_code": "320412", "body_id": "320412-SCJG"}
    rows = rows + [(6, json.dumps(transfer), columns)]
    moved = dict(case, region_code="320411", body_id="320411-SCJG")
    assert verify_bindings(rows, [moved]) == []
    assert verify_bindings(rows, [case])[0].kind is ProblemKind.CASE_OWNER_MISMATCH


def test_rec4_issue14_a_transfer_whose_target_is_sealed_leaves_the_owner_unchecked():
    import json

    from services.records.domain.verify import TRANSFER_EVENT, verify_bindings

    rows, case = _bound()
    transfer = make_entry(6, "stage", case_id="320412-SCJG-1", region_code="320412", body_id="320412-SCJG",
                          occurred_at="2025-03-04T09:00:00+08:00", extra={"event_type": TRANSFER_EVENT})
    rows = rows + [(6, json.dumps(transfer), {"case_id": "320412-SCJG-1"})]
    assert verify_bindings(rows, [dict(case, region_code="320411", body_id="320411-SCJG")]) == []
