"""Issue 22 (REC-4): SM2 signatures (GB/T 32918, user id of GB/T 35276) for signed tree heads beside Ed25519.

- known answers: the standard's worked examples (GB/T 32918.2 Annex A on its test curve, GB/T 32918.5
  Annex A.2 on the recommended curve with the default user id) through the suite's SM2 (OpenSSL and the
  Python equations) and through the auditor script's own copy;
- an SM2-signed head verifies with tools/audit_verify.py (a subprocess, as an auditor runs it) and fails
  when one byte of the head, of the signature or of the pinned key is altered;
- a log switched from Ed25519 to SM2 (ZHIFA_RECORDS_SIGNATURE_ALGORITHM): new heads carry ``sm2``, the
  Ed25519 heads signed before stay verifiable — by the self-check, ``verify_log`` and the auditor.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from nameko import config as nameko_config
from sqlalchemy import select

from services.common import sm2
from services.records.domain.bundles import inclusion_bundle
from services.records.domain.entries import entry_bytes, make_entry
from services.records.domain.merkle import MerkleLog, leaf_hash
from services.records.domain.treehead import (ALGORITHM_SM2, SM2Signer, SM2Verifier, SignedTreeHead, TreeHead,
                                              sign_tree_head, verifier_for, verify_tree_head)
from services.records.domain.verify import verify_log

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "audit_verify.py"


def _auditor():
    spec = importlib.util.spec_from_file_location("audit_verify_for_test", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# GB/T 32918.5-2017 Annex A.2: signature on the recommended curve, ID_A = "1234567812345678" (the default
# user id of GB/T 35276), M = "message digest"
REC_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
REC_PUB = bytes.fromhex("04" "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
                        "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
REC_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
REC_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
REC_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA

# GB/T 32918.2-2016 Annex A (A.1 test curve, A.2 example): ID_A = "ALICE123@YAHOO.COM"
TEST_CURVE = sm2.Curve(
    p=0x8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3,
    a=0x787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498,
    b=0x63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A,
    gx=0x421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D,
    gy=0x0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2,
    n=0x8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7)


def test_issue22_sm2_known_answer_gbt32918_2_annex_a():
    d = 0x128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263
    pub = sm2.public_key_of(d, TEST_CURVE)
    assert pub.hex().upper() == ("04" "0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A"
                                 "7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857")
    uid = b"ALICE123@YAHOO.COM"
    assert sm2.z_digest(pub, uid, TEST_CURVE).hex().upper() == \
        "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"
    r, s = sm2.sign_pure(d, b"message digest", 0x6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F,
                         uid, TEST_CURVE)
    assert (r, s) == (0x40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1,
                      0x6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7)
    assert sm2.verify_pure(pub, b"message digest", sm2.der_signature(r, s), uid, TEST_CURVE)
    assert not sm2.verify_pure(pub, b"message digesT", sm2.der_signature(r, s), uid, TEST_CURVE)


def test_issue22_sm2_known_answer_gbt32918_5_recommended_curve_default_user_id():
    """The published signature verifies in OpenSSL, in the Python equations and in the auditor script's
    copy — with the default user id and not with another; signing with the published k reproduces it."""
    assert sm2.DEFAULT_USER_ID == b"1234567812345678"
    assert sm2.public_key_of(REC_D) == REC_PUB
    assert sm2.sign_pure(REC_D, b"message digest", REC_K) == (REC_R, REC_S)
    der = sm2.der_signature(REC_R, REC_S)
    assert der.hex().upper().startswith("3046022100F5A03B06")
    assert sm2.openssl() is not None, "libcrypto 3 with SM2 is part of the platform (docs/ARCHITECTURE.md)"
    assert sm2.verify(REC_PUB, b"message digest", der)
    assert sm2.verify_pure(REC_PUB, b"message digest", der)
    assert _auditor().sm2_verify(REC_PUB, b"message digest", der)
    for verify in (sm2.verify, sm2.verify_pure, _auditor().sm2_verify):
        assert not verify(REC_PUB, b"message digest", der, b"ALICE123@YAHOO.COM")
        assert not verify(REC_PUB, b"message digest.", der)


def test_issue22_openssl_and_python_agree_both_ways():
    pem = sm2.generate_private_pem()
    signer = SM2Signer(pem)
    pub = signer.public_key_bytes()
    assert len(pub) == 65 and pub[0] == 4
    for i in range(5):
        message = bytes([i]) * (i * 7)
        sig = signer.sign(message)
        assert sm2.verify_pure(pub, message, sig) and sm2.verify(pub, message, sig)
        assert not sm2.verify(pub, message + b"x", sig)
    r, s = sm2.sign_pure(REC_D, b"zhifa", 12345678901234567890)
    assert sm2.verify(REC_PUB, b"zhifa", sm2.der_signature(r, s))   # OpenSSL accepts what the equations make


# ----------------------------------------------------------------------------- the auditor script

ENTRIES = [entry_bytes(make_entry(i, "record", case_id="C1", region_code="220102", body_id="B1",
                                  occurred_at="2025-03-01T09:00:00+08:00", stage="decision", record_kind="text",
                                  document_type="penalty_decision")) for i in range(9)]
LOG = MerkleLog.from_leaf_hashes([leaf_hash(e) for e in ENTRIES])
SM2_SIGNER = SM2Signer(sm2.generate_private_pem())
SM2_PUB = SM2_SIGNER.public_key_bytes().hex()


def _run(bundle, *args, tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(TOOL), str(path), *args], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    return proc.returncode, proc.stdout


def _flip(hex_text: str, at: int) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[at] ^= 0x01
    return raw.hex()


def test_issue22_rec4_sm2_head_verifies_with_the_auditor_script_and_fails_when_altered(tmp_path):
    head = sign_tree_head(TreeHead(9, LOG.root(9), 1_740_000_000_000, "records.220100"), SM2_SIGNER)
    assert head.algorithm == ALGORITHM_SM2 and head.to_json()["algorithm"] == "sm2"
    good = inclusion_bundle(LOG, 4, head, entry=ENTRIES[4])
    code, out = _run(good, "--public-key", SM2_PUB, "--log-id", "records.220100", tmp_path=tmp_path)
    assert code == 0, out
    assert out.startswith("OK: entry #4 is included in the log of 9 entries")

    def altered(change):
        bundle = json.loads(json.dumps(good))
        change(bundle["tree_head"])
        return bundle

    cases = {
        # one byte of the head: the time, the log id (the root and size are bound to the proof as well)
        "timestamp": altered(lambda h: h.update(timestamp=h["timestamp"] + 1)),
        "log_id": altered(lambda h: h.update(log_id="records.220101")),
        # one byte of the signature: in r, in s
        "signature r": altered(lambda h: h.update(signature=_flip(h["signature"], 10))),
        "signature s": altered(lambda h: h.update(signature=_flip(h["signature"], len(h["signature"]) // 2 - 3))),
    }
    for what, bundle in cases.items():
        code, out = _run(bundle, "--public-key", SM2_PUB, tmp_path=tmp_path)
        assert code == 1 and "FAILED: tree_head: signature INVALID" in out, (what, out)
    # one byte of the root: the proof no longer reaches the head, and the signature does not cover it
    bundle = altered(lambda h: h.update(root_hash=_flip(h["root_hash"], 0)))
    bundle["root_hash"] = bundle["tree_head"]["root_hash"]
    code, out = _run(bundle, "--public-key", SM2_PUB, tmp_path=tmp_path)
    assert code == 1 and "signature INVALID" in out and "inclusion proof does NOT verify" in out
    # one byte of the key: in the head (not the pinned key; unpinned: not a curve point or a wrong signature)
    bad_key = altered(lambda h: h.update(public_key=_flip(h["public_key"], 64)))
    code, out = _run(bad_key, "--public-key", SM2_PUB, tmp_path=tmp_path)
    assert code == 1 and "not the pinned public key" in out
    bad_key["tree_head"].pop("key_id")
    code, out = _run(bad_key, tmp_path=tmp_path)
    assert code == 1 and "signature INVALID" in out
    # … and the pinned key altered: the real head is refused
    code, out = _run(good, "--public-key", _flip(SM2_PUB, 40), tmp_path=tmp_path)
    assert code == 1 and "not the pinned public key" in out


def test_issue22_auditor_reads_an_sm2_pem_public_key(tmp_path):
    """The key an operator publishes may be the PEM ``openssl pkey -pubout`` writes."""
    pem_file = tmp_path / "sm2-private.pem"
    pem_file.write_bytes(sm2.generate_private_pem())
    pub_pem = subprocess.run(["openssl", "pkey", "-in", str(pem_file), "-pubout"], capture_output=True,
                             check=True).stdout
    (tmp_path / "pub.pem").write_bytes(pub_pem)
    signer = SM2Signer(pem_file.read_bytes())
    head = sign_tree_head(TreeHead(9, LOG.root(9), 1_740_000_000_000, "records.220100"), signer)
    code, out = _run(inclusion_bundle(LOG, 2, head), "--public-key", str(tmp_path / "pub.pem"), tmp_path=tmp_path)
    assert code == 0, out
    assert SM2Verifier(pub_pem.decode()).public_key_bytes() == signer.public_key_bytes()


def test_issue22_openssl_cli_verifies_a_head_as_documented(tmp_path):
    """docs/records-verification.md: an SM2 head can be checked with the OpenSSL 3 command line alone."""
    key = tmp_path / "k.pem"
    key.write_bytes(sm2.generate_private_pem())
    signer = SM2Signer(key.read_bytes())
    head = sign_tree_head(TreeHead(9, LOG.root(9), 1_740_000_000_000, "records.220100"), signer)
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(tmp_path / "pub.pem")], check=True)
    (tmp_path / "head.bin").write_bytes(head.head.signing_bytes())
    (tmp_path / "head.sig").write_bytes(head.signature)
    cmd = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-digest", "sm3",
           "-pkeyopt", "distid:1234567812345678", "-in", "head.bin", "-sigfile", "head.sig"]
    ok = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout, ok.stdout + ok.stderr
    (tmp_path / "head.bin").write_bytes(head.head.signing_bytes()[:-1] + b"1")
    assert subprocess.run(cmd, capture_output=True, cwd=tmp_path).returncode != 0


def test_issue22_rec4_ed25519_and_sm2_heads_of_one_log_verify_together(tmp_path):
    """After a switch the tree-heads document holds both kinds; every head verifies with its own key,
    the auditor accepts both pinned keys, and a head does not verify under the other algorithm's key."""
    from services.records.domain.treehead import load_private_key, public_key_bytes

    ed_key = load_private_key("07" * 32)
    ed_pub = public_key_bytes(ed_key).hex()
    old = sign_tree_head(TreeHead(4, LOG.root(4), 1_740_000_000_000, "records.220100"), ed_key)
    new = sign_tree_head(TreeHead(9, LOG.root(9), 1_740_000_060_000, "records.220100"), SM2_SIGNER)
    assert (old.algorithm, new.algorithm) == ("ed25519", "sm2")
    assert verify_tree_head(old, ed_pub) and verify_tree_head(new, SM2_PUB)
    assert not verify_tree_head(new, ed_pub) and not verify_tree_head(old, SM2_PUB)
    assert isinstance(verifier_for(SM2_PUB), SM2Verifier)
    report = verify_log(ENTRIES, [leaf_hash(e) for e in ENTRIES], [old, new], [ed_pub, SM2_PUB])
    assert report.ok and report.heads_verified == 2, report.summary()
    only_sm2 = verify_log(ENTRIES, [leaf_hash(e) for e in ENTRIES], [old, new], SM2_PUB)
    assert not only_sm2.ok and only_sm2.first.kind.value == "bad_signature"
    doc = {"type": "tree_heads", "tree_heads": [new.to_json(), old.to_json()],
           "consistency": [{"old_size": 4, "new_size": 9, "proof": [p.hex() for p in LOG.consistency_proof(4, 9)]}]}
    code, out = _run(doc, "--public-key", ed_pub, "--public-key", SM2_PUB, tmp_path=tmp_path)
    assert code == 0, out
    code, out = _run(doc, "--public-key", SM2_PUB, tmp_path=tmp_path)
    assert code == 1 and "not the pinned public key" in out
    assert SignedTreeHead.from_json(new.to_json()) == new


# ------------------------------------------------------------------------- the service, switched

class _Db:
    def __init__(self, engine):
        self.engine = engine

    def session(self):
        import contextlib

        from sqlalchemy.orm import Session

        @contextlib.contextmanager
        def scope():
            with Session(self.engine, expire_on_commit=False, info={"service": "records"}) as session:
                with session.begin():
                    yield session
        return scope()


def test_issue22_rec4_switching_a_log_to_sm2_keeps_its_ed25519_heads_verifiable(service_engine, tmp_path):
    """A log signed with Ed25519 is switched to SM2: the next heads are SM2 (recorded per head, the row's
    65-byte key fits — PostgreSQL too), the self-check of a restarted process accepts the old Ed25519
    heads (the Ed25519 key file still exists), and python -m services.records.verify reports OK."""
    from services.records import config, ingest
    from services.records import verify as records_verify
    from services.records.ledger import Ledger
    from services.records.models import TreeHeadRow
    from services.common.events import parse_event
    from tests.integration import events as ev

    db = _Db(service_engine("records"))
    settings = {"ZHIFA_RECORDS_SIGNING_KEY_FILE": str(tmp_path / "ed.pem"), "ZHIFA_RECORDS_SIGNING_KEY": "",
                "ZHIFA_RECORDS_SM2_SIGNING_KEY_FILE": str(tmp_path / "sm2.pem"), "ZHIFA_RECORDS_SELF_CHECK_RETRY": 0}

    def apply(ledger, envelopes):
        events = [parse_event(e) for e in envelopes]
        with ledger.appending(db) as session:
            ingest.apply_events(session, ledger, events, "records.test", prepared=ingest.prepare_events(events))

    def sign(ledger):
        with ledger.appending(db) as session:
            return ledger.sign_head(session, "test")

    with nameko_config.patch({**settings, "ZHIFA_RECORDS_SIGNATURE_ALGORITHM": "ed25519"}, clear=False):
        ledger = Ledger()
        apply(ledger, [ev.case_opened("G-1")] + [ev.evidence("G-1", n=i) for i in range(3)])
        assert sign(ledger).algorithm == "ed25519"
        ed_pub = config.signer().public_key_bytes().hex()
    assert not (tmp_path / "sm2.pem").exists()
    with nameko_config.patch({**settings, "ZHIFA_RECORDS_SIGNATURE_ALGORITHM": "sm2"}, clear=False):
        assert config.algorithm() == "sm2" and len(config.signer().public_key_bytes()) == 65
        assert ed_pub in config.trusted_public_keys()
        restarted = Ledger()                        # a new process rebuilds and checks every stored head
        apply(restarted, [ev.evidence("G-1", n=i) for i in range(3, 6)])
        head = sign(restarted)
        assert head.algorithm == "sm2" and head.tree_size == 7
        with db.session() as session:
            rows = session.scalars(select(TreeHeadRow).order_by(TreeHeadRow.tree_size)).all()
            assert [(r.tree_size, r.algorithm) for r in rows] == [(4, "ed25519"), (7, "sm2")]
            assert len(rows[1].public_key) == 130
        again = Ledger()
        apply(again, [ev.evidence("G-1", n=9)])      # the self-check at rebuild passes over both kinds
        assert again.failure is None
        url = db.engine.url.render_as_string(hide_password=False)
        result = records_verify.verify_database(url, config.trusted_public_keys())
        assert result["ok"] and result["heads_verified"] == 2, result
        pinned_sm2_only = records_verify.verify_database(url, config.signer().public_key_bytes().hex())
        assert not pinned_sm2_only["ok"]
