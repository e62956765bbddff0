"""Content-addressed attachment store (附件存储): files are kept under the SM3 hash of their bytes —
for records the same hash the log commits to (REC-4), for complaints the hash kept in the register —
and checked again on every read.

``BlobStore`` is the interface; ``FilesystemBlobStore`` implements it (records: ``var/blobs``,
complaints: ``var/complaints/attachments``).
Another store (object storage, a records-management system) implements the same four methods.
"""
from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import Protocol, runtime_checkable

_HASH_RE = re.compile(r"[0-9a-f]{64}")


class BlobError(Exception):
    pass


class BlobNotFound(BlobError):
    pass


class BlobCorrupted(BlobError):
    """The stored bytes no longer hash to their name: tampered with or damaged storage."""


#: media types an attachment (附件) is served with as stored, each with its download extension; anything else
#: is served as application/octet-stream (the gateway's download route and its OpenAPI description)
ATTACHMENT_MEDIA_TYPES = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "audio/mpeg": ".mp3",
                          "audio/wav": ".wav", "video/mp4": ".mp4", "application/octet-stream": ".bin"}


def max_record_blob_bytes() -> int:
    """Largest attachment of an enforcement record (ZHIFA_RECORDS_MAX_BLOB_BYTES, default 8 MiB): the gateway
    refuses a bigger upload before reading it (413), records refuses it again when storing it."""
    from services.common import settings

    return settings.get("ZHIFA_RECORDS_MAX_BLOB_BYTES")


def sm3_hex(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


def check_hash(content_hash: str) -> str:
    if not isinstance(content_hash, str) or not _HASH_RE.fullmatch(content_hash):
        raise BlobError("content hash must be 64 lowercase hex digits (SM3)")
    return content_hash


@runtime_checkable
class BlobStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store ``data``; return its SM3 hex hash (idempotent: same bytes, same name)."""

    def get(self, content_hash: str) -> bytes:
        """The bytes, after checking they still hash to ``content_hash`` (BlobCorrupted if not)."""

    def exists(self, content_hash: str) -> bool: ...

    def size(self, content_hash: str) -> int: ...

    def check(self, content_hash: str, chunk_size: int = ...) -> int:
        """Read the stored bytes in chunks and check they hash to ``content_hash`` (BlobCorrupted if
        not, BlobNotFound); returns the size. Memory: one chunk (issue 20)."""

    def read_at(self, content_hash: str, offset: int, length: int) -> bytes:
        """Up to ``length`` stored bytes from ``offset`` (b"" at the end), unchecked — a reader checks
        the whole with ``check`` first and the hash of what it received at the end."""


class FilesystemBlobStore:
    """Files named by hash under ``root/ab/cd/<hash>``; written to a temporary file, fsynced and
    renamed into place, so a reader never sees a partial file and a crash leaves none."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, content_hash: str) -> Path:
        h = check_hash(content_hash)
        return self.root / h[:2] / h[2:4] / h

    def put(self, data: bytes) -> str:
        content_hash = sm3_hex(data)
        path = self.path(content_hash)
        if path.exists() and self._intact(path, content_hash):
            return content_hash
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{content_hash}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return content_hash

    @staticmethod
    def _intact(path: Path, content_hash: str) -> bool:
        return sm3_hex(path.read_bytes()) == content_hash

    def get(self, content_hash: str) -> bytes:
        path = self.path(content_hash)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(content_hash) from None
        if sm3_hex(data) != content_hash:
            raise BlobCorrupted(f"stored file {content_hash} no longer matches its SM3 hash")
        return data

    def check(self, content_hash: str, chunk_size: int = 1 << 20) -> int:
        digest = hashlib.new("sm3")
        size = 0
        try:
            with open(self.path(content_hash), "rb") as fh:
                while chunk := fh.read(chunk_size):
                    digest.update(chunk)
                    size += len(chunk)
        except FileNotFoundError:
            raise BlobNotFound(content_hash) from None
        if digest.hexdigest() != content_hash:
            raise BlobCorrupted(f"stored file {content_hash} no longer matches its SM3 hash")
        return size

    def read_at(self, content_hash: str, offset: int, length: int) -> bytes:
        try:
            with open(self.path(content_hash), "rb") as fh:
                fh.seek(offset)
                return fh.read(length)
        except FileNotFoundError:
            raise BlobNotFound(content_hash) from None

    def exists(self, content_hash: str) -> bool:
        return self.path(content_hash).exists()

    def size(self, content_hash: str) -> int:
        try:
            return self.path(content_hash).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(content_hash) from None
