#!/usr/bin/env python3
"""Independent auditor's check of a zhifa records proof bundle (执法全过程记录 — 第三方核验).

Standalone on purpose: Python standard library only (hashlib, json, argparse, struct) plus,
for an Ed25519 tree-head signature, the `cryptography` package if installed. SM2 heads (issue 22)
need nothing else: the verification equations of GB/T 32918.2 §7 are below in plain Python (~80
lines, no secret involved, so plain integer arithmetic is fine; about 12 ms a head). It imports
nothing from zhifa, so an auditor can read all of it and trust what it checks. To cross-check an SM2
head with OpenSSL 3 instead (no Python at all), see docs/records-verification.md ("SM2 heads"):

    openssl pkeyutl -verify -pubin -inkey sm2-pub.pem -rawin -digest sm3 \
        -pkeyopt distid:1234567812345678 -in head.bin -sigfile head.sig

    python tools/audit_verify.py bundle.json [--public-key HEX|PEM-FILE ...] [--log-id ID]
    python tools/audit_verify.py - < bundle.json
    python tools/audit_verify.py case-proofs.json      # {"bundles": [...]} or a JSON list: each is checked
    python tools/audit_verify.py heads.json [--known-heads kept.json]   # every head against the newest

Bundles (see docs/records-verification.md):
  inclusion   {"entry" | "leaf_hash", "index", "tree_size", "root_hash", "proof": [hex...],
               "tree_head": {...}, optional "personal": {"salt": hex, "data": {...}}}
  consistency {"type": "consistency", "old_size", "new_size", "old_root", "new_root",
               "proof": [hex...], "old_tree_head": {...}, "new_tree_head": {...}}
  tree heads  {"type": "tree_heads", "tree_heads": [{...}, ...],
               "consistency": [{"old_size", "new_size", "proof": [hex...]}, ...]}
              (GET /api/v1/public/records/tree-heads?consistency=1): every head is checked against the
              NEWEST one with a consistency proof, so a log rewritten after an earlier head and
              signed again is rejected — the newest head and every head after the rewrite (REC-4,
              issue 14). --known-heads adds heads the auditor kept from earlier downloads: each
              must still be in the document with the same root.
  receipt     {"receipt_type": "complaint_registration" | "complaint_status" | …, …, "issued_at",
               "signature": {"algorithm": "sm2" | "ed25519", "public_key", "key_id", "value"}}
              a signed receipt the suite handed out (issue 22): the signature covers
              "zhifa.receipt.v1\0" || the canonical JSON of the receipt without "signature"; pin the
              service's published receipt key with --public-key.
A tree head: {"tree_size", "root_hash", "timestamp", "log_id", "algorithm": "ed25519" | "sm2",
              "signature", "public_key", "key_id"} (hex strings). ed25519: 32-byte key, 64-byte
              signature. sm2: SM2 with SM3 and user id "1234567812345678" (GB/T 35276), key the
              65-byte point 04||x||y, signature DER SEQUENCE {r, s}. --public-key may be repeated
              (the keys of a log across a rotation or an algorithm switch).

Prints "OK: ..." and exits 0, or "FAILED: ..." lines and exits 1.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import struct
import sys

# --------------------------------------------------------------------------------- SM3
# GB/T 32905-2016. OpenSSL provides it as hashlib.new("sm3"); the pure-Python fallback
# below is used where OpenSSL was built without SM3.

_IV = (0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600, 0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E)
_M = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    n %= 32
    return ((x << n) | (x >> (32 - n))) & _M


def _p0(x: int) -> int:
    return x ^ _rotl(x, 9) ^ _rotl(x, 17)


def _p1(x: int) -> int:
    return x ^ _rotl(x, 15) ^ _rotl(x, 23)


def sm3_pure(data: bytes) -> bytes:
    """SM3 in pure Python (slow, but independent of OpenSSL)."""
    bit_len = len(data) * 8
    msg = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack(">Q", bit_len)
    v = list(_IV)
    for off in range(0, len(msg), 64):
        w = list(struct.unpack(">16I", msg[off:off + 64]))
        for j in range(16, 68):
            w.append(_p1(w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15)) ^ _rotl(w[j - 13], 7) ^ w[j - 6])
        w1 = [w[j] ^ w[j + 4] for j in range(64)]
        a, b, c, d, e, f, g, h = v
        for j in range(64):
            t = 0x79CC4519 if j < 16 else 0x7A879D8A
            ss1 = _rotl((_rotl(a, 12) + e + _rotl(t, j)) & _M, 7)
            ss2 = ss1 ^ _rotl(a, 12)
            if j < 16:
                ff, gg = a ^ b ^ c, e ^ f ^ g
            else:
                ff, gg = (a & b) | (a & c) | (b & c), (e & f) | (~e & g)
            tt1 = (ff + d + ss2 + w1[j]) & _M
            tt2 = (gg + h + ss1 + w[j]) & _M
            d, c, b, a = c, _rotl(b, 9), a, tt1
            h, g, f, e = g, _rotl(f, 19), e, _p0(tt2)
        v = [x ^ y for x, y in zip(v, (a, b, c, d, e, f, g, h))]
    return struct.pack(">8I", *v)


def _openssl_sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


try:
    _openssl_sm3(b"")
    sm3 = _openssl_sm3
except ValueError:  # OpenSSL without SM3
    sm3 = sm3_pure


# ----------------------------------------------------------------------------------- SM2
# GB/T 32918.2-2016 §7 (verification) on the curve of GB/T 32918.5-2017, user id per GB/T 35276-2017.

SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_G = (0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
         0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0)
SM2_USER_ID = b"1234567812345678"


def _jdouble(P):
    X, Y, Z = P
    if Y == 0 or Z == 0:
        return (1, 1, 0)
    p = SM2_P
    YY = Y * Y % p
    S, ZZ = 4 * X * YY % p, Z * Z % p
    M = (3 * X * X + SM2_A * ZZ * ZZ) % p
    X3 = (M * M - 2 * S) % p
    return X3, (M * (S - X3) - 8 * YY * YY) % p, 2 * Y * Z % p


def _jadd(P, Q):
    """Point addition in Jacobian coordinates (x = X/Z^2, y = Y/Z^3); Z = 0 is the point at infinity."""
    if P[2] == 0:
        return Q
    if Q[2] == 0:
        return P
    p = SM2_P
    Z1Z1, Z2Z2 = P[2] * P[2] % p, Q[2] * Q[2] % p
    U1, U2 = P[0] * Z2Z2 % p, Q[0] * Z1Z1 % p
    S1, S2 = P[1] * Q[2] * Z2Z2 % p, Q[1] * P[2] * Z1Z1 % p
    H, R = (U2 - U1) % p, (S2 - S1) % p
    if H == 0:
        return _jdouble(P) if R == 0 else (1, 1, 0)
    HH = H * H % p
    HHH, V = H * HH % p, U1 * HH % p
    X3 = (R * R - HHH - 2 * V) % p
    return X3, (R * (V - X3) - S1 * HHH) % p, H * P[2] * Q[2] % p


def _jmul(k: int, P):
    R, A = (1, 1, 0), (P[0], P[1], 1)
    while k:
        if k & 1:
            R = _jadd(R, A)
        A = _jdouble(A)
        k >>= 1
    return R


def _der_rs(sig: bytes) -> tuple[int, int]:
    """Strict DER SEQUENCE { INTEGER r, INTEGER s } (GB/T 35276 SM2Signature)."""
    def integer(at: int) -> tuple[int, int]:
        if at + 2 > len(sig) or sig[at] != 0x02 or not 1 <= sig[at + 1] <= 33:
            raise BundleError("SM2 signature is not DER")
        raw = sig[at + 2:at + 2 + sig[at + 1]]
        if len(raw) != sig[at + 1] or raw[0] & 0x80 or (len(raw) > 1 and raw[0] == 0 and not raw[1] & 0x80):
            raise BundleError("SM2 signature is not minimal DER")
        return int.from_bytes(raw, "big"), at + 2 + len(raw)
    if len(sig) < 8 or sig[0] != 0x30 or sig[1] != len(sig) - 2:
        raise BundleError("SM2 signature is not a DER SEQUENCE")
    r, at = integer(2)
    s, at = integer(at)
    if at != len(sig):
        raise BundleError("SM2 signature has trailing bytes")
    return r, s


def sm2_verify(public_key: bytes, message: bytes, signature: bytes, user_id: bytes = SM2_USER_ID) -> bool:
    """e = SM3(Z_A || M), Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA); t = r + s;
    (x1, y1) = [s]G + [t]P_A; valid iff (e + x1) mod n == r."""
    if len(public_key) != 65 or public_key[0] != 4:
        return False
    x, y = int.from_bytes(public_key[1:33], "big"), int.from_bytes(public_key[33:], "big")
    if not (x < SM2_P and y < SM2_P and (y * y - x ** 3 - SM2_A * x - SM2_B) % SM2_P == 0):
        return False                                     # not a point of the curve
    try:
        r, s = _der_rs(signature)
    except BundleError:
        return False
    if not (1 <= r < SM2_N and 1 <= s < SM2_N) or (r + s) % SM2_N == 0:
        return False
    z = sm3((len(user_id) * 8).to_bytes(2, "big") + user_id + b"".join(
        v.to_bytes(32, "big") for v in (SM2_A, SM2_B, SM2_G[0], SM2_G[1], x, y)))
    e = int.from_bytes(sm3(z + message), "big")
    X, _, Z = _jadd(_jmul(s, SM2_G), _jmul((r + s) % SM2_N, (x, y)))
    if Z == 0:
        return False
    x1 = X * pow(Z * Z, -1, SM2_P) % SM2_P
    return (e + x1) % SM2_N == r


def leaf_hash(entry: bytes) -> bytes:
    return sm3(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sm3(b"\x01" + left + right)


# ------------------------------------------------------------------------ RFC 9162 proofs

def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m: int, n: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2 (m == n: empty proof and equal roots; m == 0: empty proof)."""
    if not 0 <= m <= n:
        return False
    if m == n:
        return not proof and old_root == new_root
    if m == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:
        path = [old_root] + path
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


# ----------------------------------------------------------------------------- tree heads

STH_DOMAIN = b"zhifa.records.sth.v1\x00"


def sth_signing_bytes(head: dict) -> bytes:
    log_id = str(head["log_id"]).encode("utf-8")
    return (STH_DOMAIN + struct.pack(">QQ", int(head["tree_size"]), int(head["timestamp"]))
            + _hex(head["root_hash"], "tree_head.root_hash", 32) + struct.pack(">H", len(log_id)) + log_id)


def _hex(value, what: str, size: int | None = None) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except (TypeError, ValueError):
        raise BundleError(f"{what} is not hex") from None
    if size is not None and len(raw) != size:
        raise BundleError(f"{what} must be {size} bytes, got {len(raw)}")
    return raw


class BundleError(ValueError):
    pass


SM2_OID = bytes.fromhex("06082a811ccf5501822d")          # 1.2.156.10197.1.301 (the SM2 curve)


def _load_pinned_key(text: str | None) -> bytes | None:
    """64 hex digits (Ed25519), 130 hex digits 04… (SM2), or a PEM public key file of either."""
    if not text:
        return None
    t = text.strip()
    if len(t) in (64, 130) and all(c in "0123456789abcdefABCDEF" for c in t):
        return bytes.fromhex(t)
    with open(t, "rb") as fh:
        pem = fh.read()
    import base64
    der = base64.b64decode(b"".join(x for x in pem.strip().splitlines() if not x.startswith(b"-----")))
    if SM2_OID in der[:40]:
        return der[-65:]                                 # BIT STRING 04 || x || y at the end of the SPKI
    from cryptography.hazmat.primitives import serialization
    key = serialization.load_pem_public_key(pem)
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def check_tree_head(head: dict, label: str, pinned: bytes | None, log_id: str | None,
                    skip_signature: bool, errors: list[str], notes: list[str]) -> None:
    if not isinstance(head, dict):
        errors.append(f"{label}: missing")
        return
    algorithm = head.get("algorithm", "ed25519")
    if algorithm not in ("ed25519", "sm2"):
        errors.append(f"{label}: unsupported signature algorithm {algorithm!r}")
        return
    try:
        msg = sth_signing_bytes(head)
    except (BundleError, KeyError, TypeError, ValueError) as exc:
        errors.append(f"{label}: malformed ({exc})")
        return
    if log_id is not None and head.get("log_id") != log_id:
        errors.append(f"{label}: log_id {head.get('log_id')!r} is not the expected {log_id!r}")
    _check_signature(head, label, msg, pinned, skip_signature, errors, notes)


def _check_signature(head: dict, label: str, msg: bytes, pinned, skip_signature: bool, errors: list[str],
                     notes: list[str]) -> None:
    """``head``: algorithm, signature, public_key, optional key_id (hex) — of a tree head or a receipt."""
    algorithm = head.get("algorithm", "ed25519")
    try:
        sig = _hex(head.get("signature"), f"{label}.signature", 64 if algorithm == "ed25519" else None)
        pub = _hex(head.get("public_key"), f"{label}.public_key", 32 if algorithm == "ed25519" else 65)
    except (BundleError, KeyError, TypeError, ValueError) as exc:
        errors.append(f"{label}: malformed ({exc})")
        return
    if "key_id" in head and head["key_id"].lower() != sm3(pub).hex():
        errors.append(f"{label}: key_id is not SM3(public_key)")
    if isinstance(pinned, (bytes, bytearray)):
        pinned = [bytes(pinned)]
    if pinned and pub not in pinned:
        errors.append(f"{label}: signed with key {pub.hex()}, not the pinned public key")
        return
    if skip_signature:
        notes.append(f"{label}: signature NOT checked (--skip-signature)")
        return
    if algorithm == "sm2":
        if not sm2_verify(pub, msg, sig):
            errors.append(f"{label}: signature INVALID")
            return
        if not pinned:
            notes.append(f"{label}: SM2 signature valid for the key in the bundle ({pub.hex()}); "
                         "pin the log's published key with --public-key")
        return
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        errors.append(f"{label}: cannot check the Ed25519 signature: install `cryptography` "
                      "(or pass --skip-signature)")
        return
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
    except (InvalidSignature, ValueError):
        errors.append(f"{label}: signature INVALID")
        return
    if not pinned:
        notes.append(f"{label}: signature valid for the key in the bundle ({pub.hex()}); "
                     "pin the log's published key with --public-key")


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def check_inclusion(b: dict, pinned, log_id, skip_sig, errors, notes) -> str:
    index, size = int(b["index"]), int(b["tree_size"])
    root = _hex(b["root_hash"], "root_hash", 32)
    proof = [_hex(p, f"proof[{i}]", 32) for i, p in enumerate(b.get("proof", []))]
    leaf = None
    entry_obj = None
    if "entry" in b:
        entry = b["entry"]
        raw = entry.encode("utf-8") if isinstance(entry, str) else _canonical(entry)
        try:
            entry_obj = json.loads(raw)
        except ValueError:
            errors.append("entry is not JSON")
        else:
            if _canonical(entry_obj) != raw:
                errors.append("entry is not in canonical form (sorted keys, no whitespace, UTF-8)")
            elif isinstance(entry_obj, dict) and entry_obj.get("seq") != index:
                errors.append(f"entry seq {entry_obj.get('seq')!r} does not equal index {index}")
        leaf = leaf_hash(raw)
        if "leaf_hash" in b and _hex(b["leaf_hash"], "leaf_hash", 32) != leaf:
            errors.append("leaf_hash does not match SM3(0x00 || entry)")
    elif "leaf_hash" in b:
        leaf = _hex(b["leaf_hash"], "leaf_hash", 32)
    else:
        raise BundleError("bundle has neither entry nor leaf_hash")
    if not verify_inclusion(leaf, index, size, proof, root):
        errors.append(f"inclusion proof does NOT verify (index {index}, tree size {size})")
    head = b.get("tree_head")
    if head is None:
        errors.append("tree_head missing: the root is not signed")
    else:
        if int(head.get("tree_size", -1)) != size or str(head.get("root_hash", "")).lower() != root.hex():
            errors.append("tree_head does not match tree_size / root_hash of the proof")
        check_tree_head(head, "tree_head", pinned, log_id, skip_sig, errors, notes)
    personal = b.get("personal")
    if personal is not None:
        commitment = entry_obj.get("personal_commitment") if isinstance(entry_obj, dict) else None
        if commitment is None:
            errors.append("personal data given but the entry has no personal_commitment")
        else:
            salt = _hex(personal.get("salt"), "personal.salt", 16)
            if sm3(salt + _canonical(personal.get("data"))).hex() != str(commitment).lower():
                errors.append("personal data does not match the entry's salted commitment")
            else:
                notes.append("personal data matches the salted commitment")
    return f"entry #{index} is included in the log of {size} entries, root {root.hex()}"


def check_consistency(b: dict, pinned, log_id, skip_sig, errors, notes) -> str:
    m, n = int(b["old_size"]), int(b["new_size"])
    old_root = _hex(b["old_root"], "old_root", 32)
    new_root = _hex(b["new_root"], "new_root", 32)
    proof = [_hex(p, f"proof[{i}]", 32) for i, p in enumerate(b.get("proof", []))]
    if not verify_consistency(m, n, old_root, new_root, proof):
        errors.append(f"consistency proof does NOT verify ({m} -> {n})")
    for key, size, root in (("old_tree_head", m, old_root), ("new_tree_head", n, new_root)):
        head = b.get(key)
        if head is None:
            errors.append(f"{key} missing: the root is not signed")
            continue
        if int(head.get("tree_size", -1)) != size or str(head.get("root_hash", "")).lower() != root.hex():
            errors.append(f"{key} does not match the proof's size / root")
        check_tree_head(head, key, pinned, log_id, skip_sig, errors, notes)
    return f"the log of {n} entries extends the log of {m} entries without changing it"


def check_tree_heads(doc: dict, pinned, log_id, skip_sig, errors, notes, known: list | None = None) -> str:
    """Every head of the document against the newest: a consistency proof from each (REC-4).
    A head that is not consistent with an earlier signed head was signed over a rewritten log:
    the newest head is rejected, and so is every head at or after the first inconsistent one."""
    heads = doc.get("tree_heads")
    if not isinstance(heads, list) or not heads:
        raise BundleError("tree_heads missing or empty")
    by_size: dict[int, dict] = {}
    for i, head in enumerate(heads):
        size = int(head["tree_size"])
        if size in by_size and str(by_size[size]["root_hash"]).lower() != str(head["root_hash"]).lower():
            errors.append(f"two signed tree heads of size {size} with different roots: the log was rewritten")
        by_size[size] = head
        check_tree_head(head, f"tree_heads[{i}] (size {size})", pinned, log_id, skip_sig, errors, notes)
    newest = max(by_size)
    new_root = _hex(by_size[newest]["root_hash"], "newest root_hash", 32)
    proofs = {}
    for item in doc.get("consistency") or []:
        if int(item["new_size"]) == newest:
            proofs[int(item["old_size"])] = [_hex(p, "consistency proof", 32) for p in item.get("proof", [])]
    inconsistent = []
    for size in sorted(by_size):
        if size == newest:
            continue
        old_root = _hex(by_size[size]["root_hash"], f"root_hash of head {size}", 32)
        if size not in proofs:
            errors.append(f"no consistency proof from the head of size {size} to the newest head ({newest})")
            inconsistent.append(size)
        elif not verify_consistency(size, newest, old_root, new_root, proofs[size]):
            errors.append(f"the newest tree head (size {newest}) is NOT consistent with the earlier signed head "
                          f"of size {size}: the log was rewritten after that head — reject the newest head and "
                          f"every head after size {size}")
            inconsistent.append(size)
    for i, head in enumerate(known or []):
        size = int(head["tree_size"])
        if size > newest:
            errors.append(f"known head of size {size} is larger than the newest served head ({newest}): "
                          "entries or heads were removed")
        elif size not in by_size:
            errors.append(f"known head of size {size} is no longer served: heads were withdrawn "
                          "(ask for its consistency proof: /api/v1/public/records/consistency)")
        elif str(by_size[size]["root_hash"]).lower() != str(head["root_hash"]).lower():
            errors.append(f"known head of size {size} has another root than the served one: the log was rewritten")
    if inconsistent:
        return ""
    return f"all {len(by_size)} signed tree heads are consistent with the newest (size {newest})"


RECEIPT_DOMAIN = b"zhifa.receipt.v1\x00"


def check_receipt(r: dict, pinned, skip_sig, errors, notes) -> str:
    """A signed receipt (issue 22): the same key and signature checks as a tree head, over the receipt's
    canonical JSON without its signature."""
    sig = r.get("signature")
    if not isinstance(sig, dict):
        raise BundleError("receipt has no signature")
    algorithm = sig.get("algorithm")
    if algorithm not in ("ed25519", "sm2"):
        errors.append(f"receipt: unsupported signature algorithm {algorithm!r}")
        return ""
    msg = RECEIPT_DOMAIN + _canonical({k: v for k, v in r.items() if k != "signature"})
    head = {"algorithm": algorithm, "signature": sig.get("value"), "public_key": sig.get("public_key")}
    if "key_id" in sig:
        head["key_id"] = sig["key_id"]
    _check_signature(head, "receipt", msg, pinned, skip_sig, errors, notes)
    return f"{r['receipt_type']} receipt {r.get('number', '')} signed with {algorithm.upper()}".replace("  ", " ")


def check_bundle(bundle: dict, pinned: bytes | None = None, log_id: str | None = None,
                 skip_signature: bool = False, known_heads: list | None = None) -> tuple[bool, list[str]]:
    """Returns (ok, lines to print)."""
    errors: list[str] = []
    notes: list[str] = []
    try:
        if not isinstance(bundle, dict):
            raise BundleError("bundle must be a JSON object")
        kind = bundle.get("type") or ("receipt" if "receipt_type" in bundle else
                                      "consistency" if "old_size" in bundle else
                                      "tree_heads" if "tree_heads" in bundle else "inclusion")
        if kind == "inclusion":
            what = check_inclusion(bundle, pinned, log_id, skip_signature, errors, notes)
        elif kind == "consistency":
            what = check_consistency(bundle, pinned, log_id, skip_signature, errors, notes)
        elif kind == "receipt":
            what = check_receipt(bundle, pinned, skip_signature, errors, notes)
        elif kind == "tree_heads":
            what = check_tree_heads(bundle, pinned, log_id, skip_signature, errors, notes, known_heads)
        else:
            raise BundleError(f"unknown bundle type {kind!r}")
    except (BundleError, KeyError, TypeError, ValueError) as exc:
        return False, [f"FAILED: malformed bundle: {exc}"]
    if errors:
        return False, [f"FAILED: {e}" for e in errors] + [f"note: {x}" for x in notes]
    return True, [f"OK: {what}"] + [f"note: {x}" for x in notes]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Verify a zhifa records inclusion / consistency proof bundle or a tree-heads document.")
    ap.add_argument("bundle", help="bundle JSON file, or - for stdin")
    ap.add_argument("--public-key", action="append",
                    help="the log's published public key: Ed25519 (64 hex digits), SM2 (130 hex digits 04…) or a "
                         "PEM file; repeat it for the keys of earlier heads (rotation, algorithm switch)")
    ap.add_argument("--log-id", help="expected log id of the tree heads")
    ap.add_argument("--skip-signature", action="store_true", help="do not check signatures (not recommended)")
    ap.add_argument("--known-heads", help="JSON file of tree heads kept from earlier downloads (a list, or a "
                                          "document with tree_heads): each must still be served, same root")
    args = ap.parse_args(argv)
    try:
        text = sys.stdin.read() if args.bundle == "-" else open(args.bundle, encoding="utf-8").read()
        bundle = json.loads(text)
    except (OSError, ValueError) as exc:
        print(f"FAILED: cannot read bundle: {exc}")
        return 1
    try:
        pinned = [_load_pinned_key(k) for k in args.public_key or []] or None
    except Exception as exc:  # noqa: BLE001 - report any key-loading problem plainly
        print(f"FAILED: cannot load --public-key: {exc}")
        return 1
    known = None
    if args.known_heads:
        try:
            known = json.loads(open(args.known_heads, encoding="utf-8").read())
        except (OSError, ValueError) as exc:
            print(f"FAILED: cannot read --known-heads: {exc}")
            return 1
        known = known.get("tree_heads", []) if isinstance(known, dict) else known
    # A case's proofs come as {"bundles": [...], "tree_head": ...} (or a plain JSON list): check each.
    bundles = bundle.get("bundles") if isinstance(bundle, dict) and "bundles" in bundle else bundle
    if not isinstance(bundles, list):
        bundles = [bundles]
    if not bundles:
        print("FAILED: no bundle in the document")
        return 1
    all_ok = True
    for i, item in enumerate(bundles):
        ok, lines = check_bundle(item, pinned, args.log_id, args.skip_signature, known)
        all_ok = all_ok and ok
        prefix = f"[{i}] " if len(bundles) > 1 else ""
        for line in lines:
            print(prefix + line)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
