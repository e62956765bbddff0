"""REC-4: the standalone auditor script (tools/audit_verify.py) and the benchmark script."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from services.records.domain.bundles import consistency_bundle, inclusion_bundle
from services.records.domain.entries import entry_bytes, make_entry, seal_personal
from services.records.domain.merkle import MerkleLog, leaf_hash
from services.records.domain.treehead import TreeHead, load_private_key, public_key_bytes, sign_tree_head

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "audit_verify.py"
KEY = load_private_key("07" * 32)
PUB_HEX = public_key_bytes(KEY).hex()

SEALED = seal_personal(make_entry(0, "record", case_id="C1", region_code="220102", body_id="B1",
                                  occurred_at="2025-03-01T09:00:00+08:00", extra={"party_name": "李四"}),
                       salt=b"\x01" * 16)
ENTRIES = [entry_bytes(SEALED.public)] + [
    entry_bytes(make_entry(i, "record", case_id="C1", region_code="220102", body_id="B1",
                           occurred_at="2025-03-01T09:00:00+08:00", stage="decision", record_kind="text",
                           document_type="penalty_decision")) for i in range(1, 23)]
LOG = MerkleLog.from_leaf_hashes([leaf_hash(e) for e in ENTRIES])
HEAD_13 = sign_tree_head(TreeHead(13, LOG.root(13), 1_740_000_000_000, "records.220100"), KEY)
HEAD_23 = sign_tree_head(TreeHead(23, LOG.root(23), 1_740_000_360_000, "records.220100"), KEY)


def _run(bundle, *args, tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(TOOL), str(path), *args], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    return proc.returncode, proc.stdout


def test_rec4_audit_tool_imports_nothing_from_zhifa():
    tree = ast.parse(TOOL.read_text(encoding="utf-8"))
    modules = {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    modules |= {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert modules <= {"__future__", "argparse", "base64", "hashlib", "json", "struct", "sys", "cryptography"}


@pytest.mark.parametrize("index", [0, 5, 12])
def test_rec4_inclusion_bundle_ok(index, tmp_path):
    bundle = inclusion_bundle(LOG, index, HEAD_13, entry=ENTRIES[index])
    code, out = _run(bundle, "--public-key", PUB_HEX, "--log-id", "records.220100", tmp_path=tmp_path)
    assert code == 0, out
    assert out.startswith(f"OK: entry #{index} is included in the log of 13 entries")


def test_rec4_inclusion_bundle_tampered_entry_fails(tmp_path):
    bundle = inclusion_bundle(LOG, 5, HEAD_13, entry=ENTRIES[5])
    bundle["entry"] = bundle["entry"].replace("penalty_decision", "permit_decision")
    code, out = _run(bundle, "--public-key", PUB_HEX, tmp_path=tmp_path)
    assert code == 1
    assert "FAILED: leaf_hash does not match SM3(0x00 || entry)" in out
    assert "FAILED: inclusion proof does NOT verify (index 5, tree size 13)" in out


def test_rec4_inclusion_bundle_tampered_proof_root_or_signature_fails(tmp_path):
    good = inclusion_bundle(LOG, 5, HEAD_13)
    bad_proof = json.loads(json.dumps(good))
    bad_proof["proof"][1] = "00" * 32
    assert _run(bad_proof, "--public-key", PUB_HEX, tmp_path=tmp_path)[0] == 1
    bad_sig = json.loads(json.dumps(good))
    bad_sig["tree_head"]["signature"] = ("ff" + bad_sig["tree_head"]["signature"][2:])
    code, out = _run(bad_sig, "--public-key", PUB_HEX, tmp_path=tmp_path)
    assert code == 1 and "FAILED: tree_head: signature INVALID" in out
    other_key = load_private_key("08" * 32)
    code, out = _run(good, "--public-key", public_key_bytes(other_key).hex(), tmp_path=tmp_path)
    assert code == 1 and "not the pinned public key" in out
    code, out = _run(good, tmp_path=tmp_path)  # unpinned: valid, with a note to pin the key
    assert code == 0 and "pin the log's published key" in out


def test_rec8_audit_tool_checks_personal_commitment(tmp_path):
    bundle = inclusion_bundle(LOG, 0, HEAD_23, entry=ENTRIES[0], personal=(SEALED.salt, SEALED.personal))
    code, out = _run(bundle, "--public-key", PUB_HEX, tmp_path=tmp_path)
    assert code == 0 and "personal data matches the salted commitment" in out
    bundle["personal"]["data"]["party_name"] = "王五"
    assert _run(bundle, "--public-key", PUB_HEX, tmp_path=tmp_path)[0] == 1
    # after erasure the bundle simply has no personal part and still verifies
    del bundle["personal"]
    assert _run(bundle, "--public-key", PUB_HEX, tmp_path=tmp_path)[0] == 0


def test_rec4_consistency_bundle_ok_and_tampered(tmp_path):
    bundle = consistency_bundle(LOG, HEAD_13, HEAD_23)
    code, out = _run(bundle, "--public-key", PUB_HEX, tmp_path=tmp_path)
    assert code == 0 and out.startswith("OK: the log of 23 entries extends the log of 13 entries")
    # a rewritten history: old root from a log whose entry 3 was changed, signed by the log key
    forged = list(ENTRIES[:13])
    forged[3] = forged[3].replace(b"penalty_decision", b"permit_decision")
    forged_log = MerkleLog.from_leaf_hashes([leaf_hash(e) for e in forged])
    forged_head = sign_tree_head(TreeHead(13, forged_log.root(), 1_740_000_000_000, "records.220100"), KEY)
    bad = dict(bundle, old_root=forged_head.root_hash.hex(), old_tree_head=forged_head.to_json())
    code, out = _run(bad, "--public-key", PUB_HEX, tmp_path=tmp_path)
    assert code == 1 and "FAILED: consistency proof does NOT verify (13 -> 23)" in out


def test_rec4_audit_tool_malformed_bundle(tmp_path):
    code, out = _run({"index": 1}, tmp_path=tmp_path)
    assert code == 1 and out.startswith("FAILED: malformed bundle")


def test_rec4_bench_script_runs_small(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "records_proofs.py"), "--n", "3000",
                           "--proofs", "50", "--merkle-n", "20000"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("BENCH")]
    assert [line.split()[1] for line in lines] == ["records_inclusion_proof_1m", "records_verify_1m",
                                                    "records_verify_bindings_1m", "records_self_check_1m_10k_heads",
                                                    "records_merkle_memory_per_million_entries"]   # issue 20
    assert lines[0].endswith(" ms") and all(line.endswith(" s") for line in lines[1:4])
    assert lines[4].endswith(" MiB") and float(lines[4].split()[2]) < 16    # bounded: not the ~64 MiB tree
    [float(line.split()[2]) for line in lines]


def test_rec4_audit_tool_pure_python_sm3_fallback_agrees():
    """Where OpenSSL lacks SM3 the tool falls back to its own SM3; the same bundles verify."""
    sys.path.insert(0, str(ROOT / "tools"))
    import audit_verify

    saved = audit_verify.sm3
    audit_verify.sm3 = audit_verify.sm3_pure
    try:
        for index in (0, 7, 22):
            ok, lines = audit_verify.check_bundle(inclusion_bundle(LOG, index, HEAD_23, entry=ENTRIES[index]),
                                                  pinned=bytes.fromhex(PUB_HEX))
            assert ok, lines
        ok, lines = audit_verify.check_bundle(consistency_bundle(LOG, HEAD_13, HEAD_23))
        assert ok, lines
        bad = inclusion_bundle(LOG, 7, HEAD_23)
        bad["index"] = 8
        assert not audit_verify.check_bundle(bad)[0]
    finally:
        audit_verify.sm3 = saved


def _heads_doc(log, heads):
    newest = max(h.tree_size for h in heads)
    return {"type": "tree_heads", "tree_heads": [h.to_json() for h in sorted(heads, key=lambda h: -h.tree_size)],
            "consistency": [{"old_size": h.tree_size, "new_size": newest,
                             "proof": [p.hex() for p in log.consistency_proof(h.tree_size, newest)]}
                            for h in heads if h.tree_size < newest]}


def test_rec4_issue14_tree_heads_document_every_head_against_the_newest(tmp_path):
    """Issue 14: the auditor checks every served head against the newest with consistency proofs; a
    head signed over a log rewritten after an earlier head is rejected (the proof cannot exist), and
    so is a served list that dropped or changed a head the auditor kept."""
    head_5 = sign_tree_head(TreeHead(5, LOG.root(5), 1_739_999_000_000, "records.220100"), KEY)
    doc = _heads_doc(LOG, [head_5, HEAD_13, HEAD_23])
    code, out = _run(doc, "--public-key", PUB_HEX, tmp_path=tmp_path)
    assert code == 0 and "all 3 signed tree heads are consistent with the newest (size 23)" in out, out
    # entry 7 rewritten and re-hashed, the log re-signed with the real key (what issue 14 found)
    forged = list(ENTRIES)
    forged[7] = forged[7].replace(b"penalty_decision", b"permit_decision")
    rewritten = MerkleLog.from_leaf_hashes([leaf_hash(e) for e in forged])
    laundered = sign_tree_head(TreeHead(23, rewritten.root(23), 1_740_000_900_000, "records.220100"), KEY)
    bad = _heads_doc(rewritten, [head_5, HEAD_13, laundered])
    code, out = _run(bad, "--public-key", PUB_HEX, tmp_path=tmp_path)
    assert code == 1
    assert "NOT consistent with the earlier signed head of size 13" in out, out
    assert "size 5" not in out.replace("size 5)", "")          # the head before the rewrite still fits
    # kept heads: a head withdrawn from the served list, or served with another root
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps([head_5.to_json(), HEAD_13.to_json()]), encoding="utf-8")
    code, out = _run(_heads_doc(LOG, [head_5, HEAD_23]), "--public-key", PUB_HEX, "--known-heads", str(kept),
                     tmp_path=tmp_path)
    assert code == 1 and "known head of size 13 is no longer served" in out, out
    # a missing proof is not accepted either
    no_proof = dict(doc, consistency=doc["consistency"][:1])
    code, out = _run(no_proof, "--public-key", PUB_HEX, tmp_path=tmp_path)
    assert code == 1 and "no consistency proof from the head of size" in out, out
