"""Signed tree heads 签名树头 (STH) — REC-4 electronic authentication (电子认证、电子签章).

A tree head commits to the whole log up to ``tree_size``: ``root_hash`` is the SM3 Merkle root.
Signing bytes (fixed binary layout, big-endian, easy to rebuild in any language)::

    b"zhifa.records.sth.v1\\x00"          21 bytes: domain separation + version
    uint64  tree_size
    uint64  timestamp                      milliseconds since 1970-01-01T00:00:00Z
    32 B    root_hash                      SM3 Merkle tree hash
    uint16  len(log_id)                    length of the UTF-8 log id
    ..      log_id (UTF-8)

Signature over those bytes, the algorithm named in each head (``algorithm``), selected per log by
``ZHIFA_RECORDS_SIGNATURE_ALGORITHM`` (issue 22):

* ``ed25519`` — Ed25519 (RFC 8032); public key: 32 raw bytes; signature: 64 bytes;
* ``sm2`` — SM2 (GB/T 32918.2) with SM3 and the default user id ``1234567812345678`` (GB/T 35276);
  public key: the uncompressed point ``04 || x || y`` (65 bytes); signature: DER
  ``SEQUENCE { r, s }`` (70-72 bytes). Signed through OpenSSL 3 (services/common/sm2.py).

Key id = SM3(raw public key). A key's algorithm follows from its size (32 bytes: Ed25519, 65: SM2):
``verifier_for`` picks the verifier, so heads signed before a switch stay verifiable with their key.
Signers and verifiers are small protocols (``TreeHeadSigner`` / ``TreeHeadVerifier``; see
docs/records-verification.md). Pure module: the timestamp is passed in, never read.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.common import sm2 as _sm2

from .merkle import HASH_SIZE, sm3

__all__ = [
    "STH_DOMAIN",
    "ALGORITHM_ED25519",
    "ALGORITHM_SM2",
    "ALGORITHMS",
    "SM2Signer",
    "SM2Verifier",
    "verifier_for",
    "algorithm_of_key",
    "TreeHead",
    "SignedTreeHead",
    "TreeHeadSigner",
    "TreeHeadVerifier",
    "Ed25519Signer",
    "Ed25519Verifier",
    "generate_key",
    "load_private_key",
    "load_public_key",
    "public_key_bytes",
    "key_id",
    "sign_tree_head",
    "verify_tree_head",
]

STH_DOMAIN = b"zhifa.records.sth.v1\x00"
ALGORITHM_ED25519 = "ed25519"
ALGORITHM_SM2 = "sm2"
ALGORITHMS = (ALGORITHM_ED25519, ALGORITHM_SM2)
_LOG_ID_RE = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class TreeHead:
    """Tree head 树头: the log's state at ``tree_size`` entries."""

    tree_size: int
    root_hash: bytes
    timestamp: int  # ms since the Unix epoch (UTC)
    log_id: str     # printable ASCII, e.g. "records.220100" (region-qualified)

    def __post_init__(self) -> None:
        if isinstance(self.tree_size, bool) or not isinstance(self.tree_size, int) or not 0 <= self.tree_size < 2**64:
            raise ValueError(f"tree_size must be a 64-bit unsigned integer, got {self.tree_size!r}")
        if isinstance(self.timestamp, bool) or not isinstance(self.timestamp, int) or not 0 <= self.timestamp < 2**64:
            raise ValueError(f"timestamp must be milliseconds since the epoch, got {self.timestamp!r}")
        if not isinstance(self.root_hash, (bytes, bytearray)) or len(self.root_hash) != HASH_SIZE:
            raise ValueError("root_hash must be 32 bytes")
        if not isinstance(self.log_id, str) or not _LOG_ID_RE.fullmatch(self.log_id):
            raise ValueError("log_id must be 1-255 printable ASCII characters without spaces")

    def signing_bytes(self) -> bytes:
        lid = self.log_id.encode("utf-8")
        return (STH_DOMAIN + struct.pack(">QQ", self.tree_size, self.timestamp) + bytes(self.root_hash)
                + struct.pack(">H", len(lid)) + lid)


@dataclass(frozen=True)
class SignedTreeHead:
    """A tree head with its signature 签名树头."""

    head: TreeHead
    signature: bytes
    public_key: bytes      # raw public key (32 bytes for Ed25519, 65 for SM2)
    algorithm: str = ALGORITHM_ED25519

    @property
    def tree_size(self) -> int:
        return self.head.tree_size

    @property
    def root_hash(self) -> bytes:
        return self.head.root_hash

    @property
    def key_id(self) -> bytes:
        return sm3(self.public_key)

    def to_json(self) -> dict[str, Any]:
        """The ``tree_head`` object of a proof bundle (hex strings, see the docs)."""
        return {
            "tree_size": self.head.tree_size,
            "root_hash": self.head.root_hash.hex(),
            "timestamp": self.head.timestamp,
            "log_id": self.head.log_id,
            "algorithm": self.algorithm,
            "signature": self.signature.hex(),
            "public_key": self.public_key.hex(),
            "key_id": self.key_id.hex(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "SignedTreeHead":
        try:
            head = TreeHead(int(data["tree_size"]), bytes.fromhex(data["root_hash"]),
                            int(data["timestamp"]), str(data["log_id"]))
            return cls(head, bytes.fromhex(data["signature"]), bytes.fromhex(data["public_key"]),
                       str(data.get("algorithm", ALGORITHM_ED25519)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed tree head: {exc}") from None


@runtime_checkable
class TreeHeadSigner(Protocol):
    algorithm: str

    def public_key_bytes(self) -> bytes: ...

    def sign(self, data: bytes) -> bytes: ...


@runtime_checkable
class TreeHeadVerifier(Protocol):
    algorithm: str

    def public_key_bytes(self) -> bytes: ...

    def verify(self, data: bytes, signature: bytes) -> bool: ...


def generate_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 signing key (store its 32-byte seed / PEM in the secret store)."""
    return Ed25519PrivateKey.generate()


def load_private_key(material: str | bytes) -> Ed25519PrivateKey:
    """Load an Ed25519 private key from PKCS#8 PEM, a 64-char hex seed or 32 raw seed bytes."""
    if isinstance(material, str):
        text = material.strip()
        if re.fullmatch(r"[0-9a-fA-F]{64}", text):
            return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))
        material = text.encode("ascii")
    material = bytes(material)
    if len(material) == 32 and not material.startswith(b"-----"):
        return Ed25519PrivateKey.from_private_bytes(material)
    if material.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(material, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("PEM key is not an Ed25519 private key")
        return key
    raise ValueError("private key must be PEM, a 64-hex-digit seed or 32 raw bytes")


def load_public_key(material: str | bytes | Ed25519PublicKey | Ed25519PrivateKey) -> Ed25519PublicKey:
    """Public key from raw 32 bytes, 64 hex digits, SubjectPublicKeyInfo PEM, or a key object."""
    if isinstance(material, Ed25519PublicKey):
        return material
    if isinstance(material, Ed25519PrivateKey):
        return material.public_key()
    if isinstance(material, str):
        text = material.strip()
        if re.fullmatch(r"[0-9a-fA-F]{64}", text):
            return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
        material = text.encode("ascii")
    material = bytes(material)
    if len(material) == 32:
        return Ed25519PublicKey.from_public_bytes(material)
    if material.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(material)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("PEM key is not an Ed25519 public key")
        return key
    raise ValueError("public key must be PEM, 64 hex digits or 32 raw bytes")


def public_key_bytes(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey | bytes) -> bytes:
    """Key id 密钥标识 = SM3(raw public key)."""
    raw = bytes(key) if isinstance(key, (bytes, bytearray)) else public_key_bytes(key)
    return sm3(raw)


class Ed25519Signer:
    """``TreeHeadSigner`` backed by ``cryptography``'s Ed25519."""

    algorithm = ALGORITHM_ED25519

    def __init__(self, key: Ed25519PrivateKey | str | bytes):
        self._key = key if isinstance(key, Ed25519PrivateKey) else load_private_key(key)

    def public_key_bytes(self) -> bytes:
        return public_key_bytes(self._key)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


class Ed25519Verifier:
    """``TreeHeadVerifier`` for Ed25519."""

    algorithm = ALGORITHM_ED25519

    def __init__(self, key: Ed25519PublicKey | Ed25519PrivateKey | str | bytes):
        self._key = load_public_key(key)
        self._raw = public_key_bytes(self._key)

    def public_key_bytes(self) -> bytes:
        return self._raw

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(bytes(signature), data)
        except (InvalidSignature, ValueError):
            return False
        return True


class SM2Signer:
    """``TreeHeadSigner`` for SM2 (issue 22): PKCS#8 PEM private key, signed by OpenSSL 3 with SM3 and the
    default user id of GB/T 35276; the signature is DER."""

    algorithm = ALGORITHM_SM2

    def __init__(self, pem: str | bytes):
        self._pem = pem.encode("ascii") if isinstance(pem, str) else bytes(pem)
        self._impl = _sm2.openssl()
        if self._impl is None:
            raise ValueError("SM2 signing needs OpenSSL 3 (libcrypto with SM2)")
        self._key = self._impl.load_private(self._pem)
        self._public = self._impl.public_bytes(self._key)

    def __del__(self):
        key, self._key = getattr(self, "_key", None), None
        if key and getattr(self, "_impl", None) is not None:
            self._impl.free(key)

    def public_key_bytes(self) -> bytes:
        return self._public

    def sign(self, data: bytes) -> bytes:
        return self._impl.sign(self._key, bytes(data))


def _sm2_public(material: str | bytes) -> bytes:
    """An SM2 public key from 130 hex digits, the raw 65-byte point, or SubjectPublicKeyInfo PEM."""
    if isinstance(material, str):
        text = material.strip()
        if re.fullmatch(r"04[0-9a-fA-F]{128}", text):
            return bytes.fromhex(text)
        material = text.encode("ascii")
    material = bytes(material)
    if material.lstrip().startswith(b"-----BEGIN PUBLIC KEY"):
        import base64

        der = base64.b64decode(b"".join(line for line in material.strip().splitlines()
                                        if not line.startswith(b"-----")))
        if b"\x06\x08\x2a\x81\x1c\xcf\x55\x01\x82\x2d" not in der[:40]:     # OID 1.2.156.10197.1.301
            raise ValueError("PEM public key is not on the SM2 curve")
        material = der[-65:]
    if not _sm2.is_sm2_public_key(material):
        raise ValueError("not an SM2 public key (04 || x || y on the SM2 curve)")
    return material


class SM2Verifier:
    """``TreeHeadVerifier`` for SM2: OpenSSL when present, else the standard's equations in Python."""

    algorithm = ALGORITHM_SM2

    def __init__(self, key: str | bytes):
        self._raw = _sm2_public(key)

    def public_key_bytes(self) -> bytes:
        return self._raw

    def verify(self, data: bytes, signature: bytes) -> bool:
        return _sm2.verify(self._raw, bytes(data), bytes(signature))


def algorithm_of_key(material: Any) -> str:
    """``sm2`` for a 65-byte point (130 hex digits, SM2 PEM), ``ed25519`` otherwise."""
    if isinstance(material, str):
        text = material.strip()
        if re.fullmatch(r"04[0-9a-fA-F]{128}", text) or ("BEGIN PUBLIC KEY" in text and len(text) > 150):
            return ALGORITHM_SM2
    elif isinstance(material, (bytes, bytearray)):
        if len(material) == 65 or (material.lstrip().startswith(b"-----BEGIN PUBLIC KEY") and len(material) > 150):
            return ALGORITHM_SM2
    return ALGORITHM_ED25519


def verifier_for(key: Any) -> TreeHeadVerifier:
    """The verifier of a public key of either algorithm (a verifier passes through)."""
    if isinstance(key, TreeHeadVerifier):
        return key
    if not isinstance(key, (Ed25519PublicKey, Ed25519PrivateKey)) and algorithm_of_key(key) == ALGORITHM_SM2:
        return SM2Verifier(key)
    return Ed25519Verifier(key)


def _signer(key: Any) -> TreeHeadSigner:
    return key if isinstance(key, TreeHeadSigner) else Ed25519Signer(key)


def _verifier(key: Any) -> TreeHeadVerifier:
    return verifier_for(key)


def sign_tree_head(head: TreeHead, key: TreeHeadSigner | Ed25519PrivateKey | str | bytes) -> SignedTreeHead:
    """Sign a tree head (签名) with a signer or an Ed25519 private key (object, PEM, hex seed)."""
    signer = _signer(key)
    return SignedTreeHead(head, signer.sign(head.signing_bytes()), signer.public_key_bytes(), signer.algorithm)


def verify_tree_head(sth: SignedTreeHead, key: TreeHeadVerifier | Ed25519PublicKey | str | bytes) -> bool:
    """Check the signature against the *trusted* key (never the key embedded in the STH)."""
    verifier = _verifier(key)
    if sth.algorithm != verifier.algorithm:
        return False
    return verifier.verify(sth.head.signing_bytes(), sth.signature)
