"""Complaint attachments kept by the complaints service (投诉举报附件, CMP-1; issue 6 §7).

- The limits and the check of a file (count, size, declared type and the file signature of the bytes) are
  shared with the gateway: services/common/attachments.py, ``config/attachments.yaml``.
- :func:`store_attachment` writes the bytes content-addressed under ``var/complaints/attachments``
  (services/common/blobs.py: named by SM3 = GB/T 32905, written atomically); writing the same
  content twice is a no-op. Files are written before the registering transaction commits: a failed
  commit may leave an unreferenced file, never a registered complaint without its file.
"""
from __future__ import annotations

from pathlib import Path

from services.common import settings
from services.common.attachments import check_attachments  # noqa: F401 - the authoritative check at registration
from services.common.blobs import FilesystemBlobStore, sm3_hex  # noqa: F401 - sm3_hex: the hash callers compare with


def attachments_dir() -> Path:
    return settings.get("ZHIFA_COMPLAINTS_ATTACHMENTS_DIR")


def store_attachment(data: bytes, directory: Path | None = None) -> str:
    """Write ``data`` content-addressed; return its SM3 hex. Idempotent and atomic."""
    return FilesystemBlobStore(directory or attachments_dir()).put(data)
