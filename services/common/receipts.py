"""Signed receipts 签名回执 (issue 22; GB/T 39786: signatures for the integrity and non-repudiation of what
the suite hands out).

A receipt is a JSON object the suite gives to a person (a complaint's registration receipt 投诉举报回执, the
answer to a status query 查询回执). ``sign`` adds::

    "signature": {"algorithm": "sm2" | "ed25519", "public_key": hex, "key_id": hex(SM3(public_key)),
                  "value": hex}

over ``RECEIPT_DOMAIN || canonical JSON of the receipt without "signature"`` (sorted keys, no whitespace,
UTF-8 — the canonical form of the records log). SM2 (GB/T 32918.2 with SM3, user id
``1234567812345678`` of GB/T 35276, DER signature, 65-byte public key 04‖x‖y) through OpenSSL 3
(services/common/sm2.py), or Ed25519; the algorithm is recorded in the receipt, so receipts signed before
a switch stay verifiable. ``tools/audit_verify.py receipt.json --public-key …`` verifies one with the
standard library only (SM2) — the same check as ``verify`` here.

Keys (``SETTINGS``; complaints: ``ZHIFA_COMPLAINTS_RECEIPT_SIGNING_KEY``, PEM text or a PEM file: PKCS#8 SM2
or Ed25519) of the configured algorithm (``ZHIFA_COMPLAINTS_RECEIPT_SIGNATURE_ALGORITHM``); unset, a key file per algorithm under
``ZHIFA_VAR_DIR/<service>/`` generated on first use (embedded set-up). A key whose algorithm is not the
configured one is refused (fail closed) rather than signing with something else.
"""
from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.common import settings, sm2
from services.common.keyfiles import ensure_private_key

__all__ = ["RECEIPT_DOMAIN", "ALGORITHMS", "signing_bytes", "sign", "verify", "public_key", "ReceiptKeyError"]

RECEIPT_DOMAIN = b"zhifa.receipt.v1\x00"
ALGORITHMS = ("sm2", "ed25519")


class ReceiptKeyError(ValueError):
    """The configured receipt key is missing, unreadable or not of the configured algorithm."""


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def signing_bytes(receipt: dict) -> bytes:
    return RECEIPT_DOMAIN + canonical({k: v for k, v in receipt.items() if k != "signature"})


#: per service handing out signed receipts: (algorithm setting, key setting)
SETTINGS = {"complaints": ("ZHIFA_COMPLAINTS_RECEIPT_SIGNATURE_ALGORITHM", "ZHIFA_COMPLAINTS_RECEIPT_SIGNING_KEY")}


def algorithm(service: str) -> str:
    return str(settings.get(SETTINGS[service][0])).lower()


def key_material(service: str, algo: str) -> bytes:
    configured = settings.get(SETTINGS[service][1])
    if configured:
        text = str(configured).strip()
        if "-----BEGIN" in text:
            return text.encode("ascii")
        path = Path(text)
        if not path.exists():
            raise ReceiptKeyError(f"{SETTINGS[service][1]} is neither PEM text nor an existing file")
        return path.read_bytes()
    return ensure_private_key(Path(settings.get("ZHIFA_VAR_DIR")) / service / f"receipt-signing-key.{algo}.pem", algo)


class _Signer:
    def __init__(self, pem: bytes, algo: str):
        self.algorithm = algo
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):         # cryptography cannot load SM2 keys
            key = None
        if algo == "ed25519":
            if not isinstance(key, Ed25519PrivateKey):
                raise ReceiptKeyError("the receipt signing key is not an Ed25519 key (algorithm ed25519)")
            self._key = key
            self.public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        else:
            if isinstance(key, Ed25519PrivateKey):
                raise ReceiptKeyError("the receipt signing key is an Ed25519 key, the algorithm is sm2")
            impl = sm2.openssl()
            if impl is None:
                raise ReceiptKeyError("SM2 receipts need OpenSSL 3 (libcrypto with SM2)")
            try:
                self._key = impl.load_private(pem)
            except Exception as exc:  # noqa: BLE001 - any load failure: not an SM2 key
                raise ReceiptKeyError(f"the receipt signing key is not an SM2 key ({exc})") from None
            self._impl = impl
            self.public = impl.public_bytes(self._key)

    def sign(self, data: bytes) -> bytes:
        if self.algorithm == "ed25519":
            return self._key.sign(data)
        return self._impl.sign(self._key, data)


@lru_cache(maxsize=8)
def _signer(pem: bytes, algo: str) -> _Signer:
    return _Signer(pem, algo)


def signer(service: str) -> _Signer:
    algo = algorithm(service)
    return _signer(key_material(service, algo), algo)


def public_key(service: str) -> dict:
    """The key receipts are signed with now (to publish for verification)."""
    s = signer(service)
    return {"algorithm": s.algorithm, "public_key": s.public.hex(), "key_id": sm2.sm3(s.public).hex()}


def sign(service: str, receipt_type: str, body: dict, now: dt.datetime | None = None) -> dict:
    """``body`` with ``receipt_type``, ``issued_at`` (UTC, seconds) and the ``signature``."""
    s = signer(service)
    issued = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    receipt = {**body, "receipt_type": receipt_type, "issued_at": issued.isoformat(timespec="seconds")}
    receipt["signature"] = {"algorithm": s.algorithm, "public_key": s.public.hex(),
                            "key_id": sm2.sm3(s.public).hex(), "value": s.sign(signing_bytes(receipt)).hex()}
    return receipt


def verify(receipt: dict, trusted: list[bytes] | None = None) -> bool:
    """The signature verifies for the key in the receipt (and that key is one of ``trusted`` when given)."""
    sig = receipt.get("signature")
    if not isinstance(sig, dict):
        return False
    try:
        pub, value = bytes.fromhex(sig["public_key"]), bytes.fromhex(sig["value"])
    except (KeyError, TypeError, ValueError):
        return False
    if trusted is not None and pub not in trusted:
        return False
    data = signing_bytes(receipt)
    if sig.get("algorithm") == "sm2":
        return sm2.is_sm2_public_key(pub) and sm2.verify(pub, data, value)
    if sig.get("algorithm") == "ed25519":
        try:
            Ed25519PublicKey.from_public_bytes(pub).verify(value, data)
        except (InvalidSignature, ValueError):
            return False
        return True
    return False
