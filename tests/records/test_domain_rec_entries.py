"""REC-4 canonical entries and REC-8 salted personal data; signed tree heads (REC-4 电子认证)."""
from __future__ import annotations

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import serialization

from services.records.domain.entries import (EntryError, canonical_bytes, entry_bytes, entry_leaf_hash,
                                             entry_sequence, make_entry, seal_personal, verify_personal,
                                             with_sequence)
from services.records.domain.merkle import MerkleLog, leaf_hash, verify_consistency, verify_inclusion
from services.records.domain.treehead import (SignedTreeHead, TreeHead, generate_key, key_id,
                                              load_private_key, load_public_key, public_key_bytes,
                                              sign_tree_head, verify_tree_head)


def _entry(seq: int, **extra):
    return make_entry(seq, "record", case_id="2025-长-001", region_code="220102", body_id="220102-SCJG",
                      occurred_at="2025-03-03T09:30:00+08:00", stage="investigation", record_kind="video",
                      document_type="onsite_inspection_record",
                      content_hashes=["AB" * 32], officers=["22010219002", "22010219001"], extra=extra or None)


def test_rec4_canonical_bytes_exact():
    e = _entry(7, note="现场检查")
    assert entry_bytes(e) == (
        '{"body_id":"220102-SCJG","case_id":"2025-长-001","content_hashes":["' + "ab" * 32 + '"],'
        '"document_type":"onsite_inspection_record","kind":"record","note":"现场检查",'
        '"occurred_at":"2025-03-03T09:30:00+08:00","officers":["22010219001","22010219002"],'
        '"record_kind":"video","region_code":"220102","seq":7,"stage":"investigation"}').encode("utf-8")
    assert entry_leaf_hash(e) == hashlib.new("sm3", b"\x00" + entry_bytes(e)).digest()
    # key order of the input does not matter
    assert canonical_bytes({"b": 1, "a": [True, None]}) == b'{"a":[true,null],"b":1}'


def test_rec4_canonical_refuses_floats_and_bad_fields():
    with pytest.raises(EntryError):
        canonical_bytes({"amount": 1.5})
    with pytest.raises(EntryError):
        canonical_bytes({1: "x"})
    with pytest.raises(EntryError):
        entry_bytes({"kind": "record"})
    with pytest.raises(EntryError):
        _entry(1, case_id="clash")
    with pytest.raises(EntryError):
        make_entry(0, "record", case_id="c", region_code="1", body_id="b", occurred_at="2025-03-03T09:30:00")
    with pytest.raises(ValueError):
        make_entry(0, "bogus", case_id="c", region_code="1", body_id="b", occurred_at="2025-03-03T09:30:00Z")


def test_rec4_entry_sequence_fast_and_fallback_paths():
    assert entry_sequence(entry_bytes(_entry(12345))) == 12345
    assert entry_sequence(b'{"a":{"seq":3},"seq":4}') == 4       # nested key -> JSON fallback
    assert entry_sequence(b'{"note":"\\"seq\\":9","seq":2}') == 2  # text inside a string ignored
    assert entry_sequence(b'{"a":1}') is None
    assert entry_sequence(b'not json') is None


def test_rec4_sequence_written_into_an_entry_serialised_with_seq_0():
    """Issue 3: an entry is built and sealed before the append lock and gets its sequence under it.
    The bytes must equal those of the entry made with that sequence — or the caller is told to
    serialise again (a nested "seq" key)."""
    cases = [{}, {"data": {"note": '"seq":0,'}}, {"data": {"title": "seq 0", "n": 0}},
             {"data": {"nested": {"seq": 0}}}, {"data": {"seq": 7}}, {"data": {"list": [{"seq": 0}]}}]
    for extra in cases:
        zero = entry_bytes(_entry(0, **extra))
        for seq in (0, 1, 9, 10, 123456789):
            written = with_sequence(zero, seq)
            if written is None:
                assert zero.count(b'"seq":') > 1, extra    # only a nested key makes it give up
            else:
                assert written == entry_bytes(_entry(seq, **extra)), (extra, seq)
                assert entry_sequence(written) == seq
    assert with_sequence(entry_bytes(_entry(0)), 5) is not None
    with pytest.raises(EntryError):
        with_sequence(entry_bytes(_entry(0)), -1)


def test_rec8_erasing_personal_data_keeps_every_proof_valid():
    salt = bytes(range(16))
    raw = _entry(0, party={"name": "张三", "id_number": "11010519491231002X"}, phone="13800000000")
    sealed = seal_personal(raw, salt=salt)
    assert "party" not in sealed.public and "phone" not in sealed.public
    expected = hashlib.new("sm3", salt + canonical_bytes(
        {"party": {"id_number": "11010519491231002X", "name": "张三"}, "phone": "13800000000"})).hexdigest()
    assert sealed.public["personal_commitment"] == sealed.commitment == expected
    assert "张三".encode() not in entry_bytes(sealed.public)

    entries = [entry_bytes(sealed.public)] + [entry_bytes(_entry(i)) for i in range(1, 9)]
    log = MerkleLog.from_leaf_hashes([leaf_hash(e) for e in entries])
    root_before, proof = log.root(), log.inclusion_proof(0)
    assert verify_personal(sealed.public, sealed.salt, sealed.personal)
    assert not verify_personal(sealed.public, sealed.salt, {**sealed.personal, "phone": "13900000000"})
    assert not verify_personal(sealed.public, bytes(16), sealed.personal)

    # Retention ends: the service deletes salt + personal data; the log is untouched.
    del sealed
    rebuilt = MerkleLog.from_leaf_hashes([leaf_hash(e) for e in entries])
    assert rebuilt.root() == root_before
    assert verify_inclusion(leaf_hash(entries[0]), 0, 9, proof, root_before)
    assert verify_consistency(1, 9, rebuilt.root(1), rebuilt.root(), rebuilt.consistency_proof(1, 9))


def test_rec8_random_salt_and_no_personal_data():
    a = seal_personal(_entry(1, phone="1"))
    b = seal_personal(_entry(1, phone="1"))
    assert len(a.salt) == 16 and a.salt != b.salt and a.commitment != b.commitment
    plain = seal_personal(_entry(1))
    assert plain.commitment is None and "personal_commitment" not in plain.public


SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # RFC 8032 test 1


def test_rec4_tree_head_signing_bytes_and_rfc8032_key():
    key = load_private_key(SEED_HEX)
    assert public_key_bytes(key).hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert key_id(key) == hashlib.new("sm3", public_key_bytes(key)).digest()
    head = TreeHead(5, bytes(range(32)), 1_700_000_000_123, "records.220100")
    assert head.signing_bytes() == (b"zhifa.records.sth.v1\x00" + (5).to_bytes(8, "big")
                                    + (1_700_000_000_123).to_bytes(8, "big") + bytes(range(32))
                                    + (14).to_bytes(2, "big") + b"records.220100")
    sth = sign_tree_head(head, key)
    assert len(sth.signature) == 64
    assert sth.signature == sign_tree_head(head, key).signature  # Ed25519 is deterministic
    assert verify_tree_head(sth, public_key_bytes(key))
    assert verify_tree_head(SignedTreeHead.from_json(json.loads(json.dumps(sth.to_json()))), key.public_key())


def test_rec4_forged_tree_head_is_rejected():
    key = load_private_key(SEED_HEX)
    head = TreeHead(5, bytes(32), 1, "records.220100")
    sth = sign_tree_head(head, key)
    moved = SignedTreeHead(TreeHead(6, bytes(32), 1, "records.220100"), sth.signature, sth.public_key)
    assert not verify_tree_head(moved, key.public_key())
    other = sign_tree_head(head, generate_key())
    assert not verify_tree_head(other, key.public_key())  # embedded key is never trusted


def test_rec4_key_loading_formats():
    key = generate_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    for material in (pem, pem.decode(), raw, raw.hex()):
        assert public_key_bytes(load_private_key(material)) == public_key_bytes(key)
    for material in (pub_pem, pub_pem.decode(), public_key_bytes(key), public_key_bytes(key).hex()):
        assert public_key_bytes(load_public_key(material)) == public_key_bytes(key)
    with pytest.raises(ValueError):
        load_private_key("not a key")
    with pytest.raises(ValueError):
        TreeHead(1, b"short", 1, "x")
    with pytest.raises(ValueError):
        TreeHead(1, bytes(32), 1, "has space")
