"""Issue 22 (GB/T 39786, REC-4): the receipts a complainant is handed — the registration receipt 投诉举报回执
and the status-query receipt 查询回执 — are signed, SM2 (GB/T 32918, SM3, user id of GB/T 35276) or Ed25519
by ZHIFA_COMPLAINTS_RECEIPT_SIGNATURE_ALGORITHM, the algorithm recorded in the receipt; the auditor script
tools/audit_verify.py verifies them with the published key and fails when one byte is altered."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from nameko import config as nameko_config

from services.common import receipts, sm2
from services.complaints.usecases import public
from tests.complaints.test_fields_encrypted import register
from tests.complaints.test_fields_encrypted import db as db  # noqa: F401 - the fixture

TOOL = Path(__file__).resolve().parents[2] / "tools" / "audit_verify.py"


def audit(receipt, *args, tmp_path):
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(TOOL), str(path), *args], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    return proc.returncode, proc.stdout


@pytest.fixture
def algorithm(request, tmp_path):
    with nameko_config.patch({"ZHIFA_COMPLAINTS_RECEIPT_SIGNATURE_ALGORITHM": request.param,
                              "ZHIFA_VAR_DIR": str(tmp_path / "var")}, clear=False):
        yield request.param


@pytest.mark.parametrize("algorithm", ["sm2", "ed25519"], indirect=True)
def test_issue22_rec4_complaint_receipts_signed_verified_by_the_auditor_and_fail_when_altered(db, algorithm,
                                                                                             tmp_path):
    receipt = register(db)
    sig = receipt["signature"]
    assert receipt["receipt_type"] == "complaint_registration" and sig["algorithm"] == algorithm
    assert len(bytes.fromhex(sig["public_key"])) == (65 if algorithm == "sm2" else 32)
    assert sig["key_id"] == sm2.sm3(bytes.fromhex(sig["public_key"])).hex()
    published = receipts.public_key("complaints")
    assert published["public_key"] == sig["public_key"] and published["algorithm"] == algorithm
    assert receipts.verify(receipt, [bytes.fromhex(published["public_key"])])
    code, out = audit(receipt, "--public-key", published["public_key"], tmp_path=tmp_path)
    assert code == 0 and out.startswith(f"OK: complaint_registration receipt {receipt['number']} signed with "
                                        f"{algorithm.upper()}"), out

    status = public.public_status(db, receipt["number"], receipt["query_code"])
    assert status["receipt_type"] == "complaint_status" and status["signature"]["algorithm"] == algorithm
    assert audit(status, "--public-key", published["public_key"], tmp_path=tmp_path)[0] == 0

    def altered(change):
        copy = json.loads(json.dumps(receipt))
        change(copy)
        return copy

    flip = lambda h, at: (lambda raw: (raw.__setitem__(at, raw[at] ^ 1), raw.hex())[1])(bytearray.fromhex(h))  # noqa: E731
    cases = {
        "number": altered(lambda r: r.update(number=r["number"][:-1] + ("1" if r["number"][-1] != "1" else "2"))),
        "due date": altered(lambda r: r.update(acknowledge_due="2099-01-01")),
        "algorithm": altered(lambda r: r.update(receipt_type="complaint_status")),
        "signature": altered(lambda r: r["signature"].update(value=flip(r["signature"]["value"], 12))),
        "added field": altered(lambda r: r.update(note="已受理")),
    }
    for what, bad in cases.items():
        assert not receipts.verify(bad), what
        code, out = audit(bad, "--public-key", published["public_key"], tmp_path=tmp_path)
        assert code == 1 and "FAILED: receipt: signature INVALID" in out, (what, out)
    # a receipt re-signed with another key: refused against the published key
    other = altered(lambda r: r["signature"].update(public_key=flip(r["signature"]["public_key"], 5)))
    code, out = audit(other, "--public-key", published["public_key"], tmp_path=tmp_path)
    assert code == 1 and "not the pinned public key" in out, out


def test_issue22_receipt_key_of_the_other_algorithm_is_refused(db, tmp_path):
    """Fail closed: an Ed25519 key configured while the algorithm is sm2 signs nothing."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()).decode("ascii")
    with nameko_config.patch({"ZHIFA_COMPLAINTS_RECEIPT_SIGNATURE_ALGORITHM": "sm2",
                              "ZHIFA_COMPLAINTS_RECEIPT_SIGNING_KEY": pem}, clear=False):
        with pytest.raises(receipts.ReceiptKeyError):
            receipts.sign("complaints", "complaint_registration", {"number": "x"})
    with nameko_config.patch({"ZHIFA_COMPLAINTS_RECEIPT_SIGNATURE_ALGORITHM": "ed25519",
                              "ZHIFA_COMPLAINTS_RECEIPT_SIGNING_KEY": pem}, clear=False):
        signed = receipts.sign("complaints", "complaint_registration", {"number": "x"})
        assert signed["signature"]["algorithm"] == "ed25519" and receipts.verify(signed)
    sm2_pem = sm2.generate_private_pem().decode("ascii")
    with nameko_config.patch({"ZHIFA_COMPLAINTS_RECEIPT_SIGNATURE_ALGORITHM": "ed25519",
                              "ZHIFA_COMPLAINTS_RECEIPT_SIGNING_KEY": sm2_pem}, clear=False):
        with pytest.raises(receipts.ReceiptKeyError):
            receipts.sign("complaints", "complaint_registration", {"number": "x"})
