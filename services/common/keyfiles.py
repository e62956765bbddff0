"""Secret files written once and atomically (密钥文件): signing keys, KEKs, keyrings.

One helper for every service that creates a key on first start (records' tree-head keys, complaints'
receipt keys, the field-encryption KEKs and keyrings): the file appears whole or not at all (written to a
temporary file, fsynced, then linked or renamed into place, mode 0600), and when two starters race for
the same key file the loser uses the winner's key instead of overwriting it.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def write_atomic(path: Path, data: bytes, exclusive: bool = False, private_dir: bool = False) -> bool:
    """Write ``path`` through a temporary file (mode 0600). ``exclusive``: keep an existing file (a
    concurrent starter that lost the race uses the winner's) and answer whether this call created it.
    ``private_dir``: the folder holds only keys (the KEK folder) — made 0700 where allowed. Never for a
    shared folder: a key file written into a folder other users need (a data root other processes run
    in, e.g. PostgreSQL's clusters beside the keys in the chaos suite) must not lock them out."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if private_dir:
        try:
            os.chmod(path.parent, 0o700)
        except OSError:
            pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            return True
        os.replace(tmp, path)
        return True
    finally:
        if tmp.exists():
            tmp.unlink()


def new_private_key_pem(algorithm: str) -> bytes:
    """A fresh PKCS#8 PEM private key: ``sm2`` (GB/T 32918, through services.common.sm2) or ``ed25519``."""
    if algorithm == "sm2":
        from services.common import sm2

        return sm2.generate_private_pem()
    if algorithm == "ed25519":
        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    raise ValueError(f"unknown signature algorithm {algorithm!r}")


def ensure_private_key(path: Path, algorithm: str) -> bytes:
    """The private key PEM at ``path``, generated on first use (racing starters end up with one key)."""
    path = Path(path)
    if not path.exists():
        write_atomic(path, new_private_key_pem(algorithm), exclusive=True)
    return path.read_bytes()
