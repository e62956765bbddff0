"""Public intake limits and attachment handling (投诉举报附件, CMP-1; issue 6 §7).

- :func:`load_intake_rules` reads ``config/complaints/intake.yaml`` (attachment count/size/types).
  The portal's rate limits are the gateway's abuse limits (config/gateway/limits.yaml, shared by
  every gateway replica through Redis: services/gateway/shared.py).
- :func:`check_attachment` validates one file (size, declared type, and the file signature of the
  bytes — a renamed .exe is not a PDF) and returns Chinese field errors.
- :func:`store_attachment` writes the bytes content-addressed under ``var/complaints/attachments``
  (services/common/blobs.py: named by SM3 = GB/T 32905, written atomically); writing the same
  content twice is a no-op. Files are written before the registering transaction commits: a failed
  commit may leave an unreferenced file, never a registered complaint without its file.

Used by the gateway (early field errors) and the complaints service (authoritative checks).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from services.common import settings
from services.common.blobs import FilesystemBlobStore, sm3_hex  # noqa: F401 - sm3_hex: the hash callers compare with

from .domain.config import ConfigError, config_path, load_mapping, require

SIGNATURES = {"jpg": (b"\xff\xd8\xff",), "png": (b"\x89PNG\r\n\x1a\n",), "pdf": (b"%PDF-",)}
TYPE_NAMES = {"jpg": "JPG", "png": "PNG", "pdf": "PDF"}


@dataclass(frozen=True)
class IntakeRules:
    max_files: int
    max_bytes: int
    types: dict[str, str]            # content type → kind (jpg/png/pdf)

    @property
    def types_label(self) -> str:
        return "、".join(dict.fromkeys(TYPE_NAMES[k] for k in self.types.values()))


def load_intake_rules(path: str | os.PathLike | None = None) -> IntakeRules:
    where = config_path("intake.yaml", path)
    data = load_mapping(where)
    att = require(data, "attachments", dict, str(where))
    max_files = require(att, "max_files", int, f"{where}: attachments")
    max_bytes = require(att, "max_bytes", int, f"{where}: attachments")
    types = require(att, "types", dict, f"{where}: attachments")
    if max_files < 0 or max_bytes < 1:
        raise ConfigError(f"{where}: attachments.max_files must be >= 0 and max_bytes >= 1")
    for content_type, kind in types.items():
        if kind not in SIGNATURES:
            raise ConfigError(f"{where}: attachment type {content_type}: kind {kind!r} not one of {sorted(SIGNATURES)}")
    return IntakeRules(max_files, max_bytes, dict(types))


@lru_cache(maxsize=1)
def intake_rules() -> IntakeRules:
    return load_intake_rules()


def _kind_of(data: bytes) -> str | None:
    for kind, signatures in SIGNATURES.items():
        if any(data.startswith(s) for s in signatures):
            return kind
    return None


def check_attachment(filename: str, content_type: str, data: bytes, rules: IntakeRules | None = None) -> list[str]:
    """Chinese errors for one attachment (empty list when it is acceptable)."""
    rules = rules or intake_rules()
    name = filename or "附件"
    errors = []
    if not data:
        errors.append(f"{name}：文件为空")
    elif len(data) > rules.max_bytes:
        errors.append(f"{name}：文件超过{rules.max_bytes // (1024 * 1024)} MiB")
    kind = _kind_of(data)
    declared = rules.types.get((content_type or "").split(";")[0].strip().lower())
    if data and (kind is None or kind not in rules.types.values() or (declared is not None and declared != kind)):
        errors.append(f"{name}：只接受{rules.types_label}格式的文件")
    return errors


def check_attachments(files: list[tuple[str, str, bytes]], rules: IntakeRules | None = None) -> list[str]:
    rules = rules or intake_rules()
    errors = []
    if len(files) > rules.max_files:
        errors.append(f"附件最多{rules.max_files}个")
    for filename, content_type, data in files:
        errors += check_attachment(filename, content_type, data, rules)
    return errors


def attachments_dir() -> Path:
    return Path(settings.setting("ZHIFA_COMPLAINTS_ATTACHMENTS_DIR") or settings.VAR / "complaints" / "attachments")


def store_attachment(data: bytes, directory: Path | None = None) -> str:
    """Write ``data`` content-addressed; return its SM3 hex. Idempotent and atomic."""
    return FilesystemBlobStore(directory or attachments_dir()).put(data)


def attachment_path(digest: str, directory: Path | None = None) -> Path:
    return FilesystemBlobStore(directory or attachments_dir()).path(digest)
