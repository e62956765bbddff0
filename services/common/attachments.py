"""Complaint attachment limits and checks (投诉举报附件, CMP-1; issue 6 §7), shared by the gateway (early
field errors, before a byte is forwarded) and the complaints service (the authoritative check when it
registers) — in common because both apply the same rules (issue 21: the gateway knows no service's modules).

- :func:`load_intake_rules` reads ``config/attachments.yaml`` (count, size, accepted types).
- :func:`check_attachment` validates one file (size, declared type, and the file signature of the bytes —
  a renamed .exe is not a PDF) and returns Chinese field errors.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from marshmallow import Schema, fields, validate

from services.common import settings
from services.common.configfile import load_config_file
from services.common.formats import size_zh

RULES_FILE = settings.ROOT / "config" / "attachments.yaml"


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


class _Attachments(Schema):
    max_files = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    max_bytes = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    types = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.OneOf(sorted(SIGNATURES))),
                        required=True)


class _AttachmentsFile(Schema):
    attachments = fields.Nested(_Attachments, required=True)


def load_intake_rules(path: str | os.PathLike | None = None) -> IntakeRules:
    """Read ``config/attachments.yaml``; a bad file raises ConfigFileError ``file: key.path: message``."""
    att = load_config_file(Path(path) if path is not None else RULES_FILE, _AttachmentsFile)["attachments"]
    return IntakeRules(att["max_files"], att["max_bytes"], dict(att["types"]))


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
        errors.append(f"{name}：文件超过{size_zh(rules.max_bytes)}")
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
