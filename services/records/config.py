"""Configuration of the records service: signing key, log id, blob store, retention, batching.

Signing key (签名私钥) for tree heads, in this order:

1. ``ZHIFA_RECORDS_SIGNING_KEY``: a 64-hex-digit Ed25519 seed, PEM text, or the path of a PEM /
   hex file (production: mounted from the secret store; never in the repository);
2. otherwise the embedded default: ``var/records-signing-key.pem`` (``ZHIFA_VAR_DIR``), generated
   on first use with mode 0600. Good enough for a single-machine installation and tests; a
   deployment must configure (1) and publish the public key (docs/records-verification.md §5),
   because whoever holds the file can sign heads.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from marshmallow import Schema, fields, validate

from services.common import settings
from services.common.auth import DepartmentSystems, load_department_systems
from services.common.configfile import Keyed, load_config_file, under
from services.records.domain.completeness import CompletenessRules, default_rules, load_rules
from services.records.domain.treehead import (
    Ed25519Signer,
    Ed25519Verifier,
    generate_key,
    load_private_key,
)



def log_id() -> str:
    """Printable-ASCII id of this log, bound into every signed tree head."""
    return settings.get("ZHIFA_RECORDS_LOG_ID")


def log_region() -> str | None:
    """Region code of this suite's log (for the envelope of ``record.tree_head_signed``); default:
    the region of the newest entry."""
    return settings.get("ZHIFA_RECORDS_REGION")


def log_body() -> str:
    return settings.get("ZHIFA_RECORDS_BODY_ID")


def _default_key_path() -> Path:
    return settings.get("ZHIFA_RECORDS_SIGNING_KEY_FILE")


def _generate_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = generate_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)          # atomic: a concurrent starter that lost the race reads the winner's key
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def key_material() -> str:
    configured = settings.get("ZHIFA_RECORDS_SIGNING_KEY")
    if configured:
        text = str(configured).strip()
        if "-----BEGIN" in text or (len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)):
            return text
        path = Path(text)
        if not path.exists():
            raise ValueError("ZHIFA_RECORDS_SIGNING_KEY is neither a hex seed, PEM text nor an existing file")
        return path.read_text(encoding="ascii").strip()
    path = _default_key_path()
    if not path.exists():
        _generate_key_file(path)
    return path.read_text(encoding="ascii").strip()


@lru_cache(maxsize=4)
def _signer(material: str) -> Ed25519Signer:
    return Ed25519Signer(load_private_key(material))


def signer() -> Ed25519Signer:
    return _signer(key_material())


def previous_public_keys() -> list[str]:
    """Public keys that signed this log's earlier heads before a key rotation
    (``ZHIFA_RECORDS_PREVIOUS_PUBLIC_KEYS``: a list or comma-separated 64-hex-digit keys). The
    self-check trusts heads signed by them as well as by the current key (docs/RUNBOOK.md, rotate keys)."""
    return [k.lower() for k in settings.get("ZHIFA_RECORDS_PREVIOUS_PUBLIC_KEYS")]


@lru_cache(maxsize=4)
def _verifiers(current: bytes, previous: tuple[str, ...]) -> tuple[Ed25519Verifier, ...]:
    return (Ed25519Verifier(current),) + tuple(Ed25519Verifier(k) for k in previous)


def trusted_verifiers() -> tuple[Ed25519Verifier, ...]:
    """The keys whose signed tree heads the self-check accepts: the current signing key's public key
    and the previous ones."""
    return _verifiers(signer().public_key_bytes(), tuple(previous_public_keys()))


def self_check_interval() -> float:
    """Seconds between the periodic full self-checks (the leased timer rebuilds the tree from the
    stored leaf hashes and checks it against every signed head, REC-4)."""
    return settings.get("ZHIFA_RECORDS_SELF_CHECK_INTERVAL")


def witness_check_required() -> bool:
    """At a city suite (issue 23): its log must be consistent with the newest head the province
    witnessed, and nothing is signed before the province answered this process's witness request.
    ``ZHIFA_RECORDS_WITNESS_CHECK``: ``on`` / ``off``; by default on at a city whose region is
    configured (a linked city), off at a province and in an unconfigured embedded suite."""
    from services.common import tiers

    value = settings.get("ZHIFA_RECORDS_WITNESS_CHECK")
    if value is not None:
        return value
    return tiers.tier() == tiers.CITY and tiers.suite_region() is not None


def witness_request_retry() -> float:
    """Seconds after which an unanswered witness request is sent again."""
    return settings.get("ZHIFA_RECORDS_WITNESS_REQUEST_RETRY")


def self_check_retry() -> float:
    """Seconds between repeated full self-checks while the last one failed (appends wait meanwhile)."""
    return settings.get("ZHIFA_RECORDS_SELF_CHECK_RETRY")


def blob_dir() -> Path:
    return settings.get("ZHIFA_RECORDS_BLOB_DIR")


def seal_grace_seconds() -> float:
    """How long after sealing a record that happened BEFORE the archiving (occurred_at <= archived_at)
    is still accepted: events of one case travel on different queues, so ``decision.executed`` sent
    just before ``case.archived`` may arrive just after it. Later or post-dated records are refused."""
    return settings.get("ZHIFA_RECORDS_SEAL_GRACE_SECONDS")


def opening_tolerance_seconds() -> float:
    """How far before its case's opening (case.opened ``opened_at``) a record may be dated and still be
    accepted: the clocks of devices (body cameras) and of the case system differ a little. A record
    dated earlier is refused as ``recorded_before_case_opened`` (issue 14, REC-1)."""
    return settings.get("ZHIFA_RECORDS_OPENING_TOLERANCE_SECONDS")


def tree_head_interval() -> float:
    """Seconds between signed tree heads while entries arrive (the timer's period)."""
    return settings.get("ZHIFA_RECORDS_STH_INTERVAL")


def retention_file() -> Path:
    return settings.get("ZHIFA_RECORDS_RETENTION_FILE")


def retention_for(action_type: str | None) -> dt.timedelta:
    """How long personal data of a case is kept after archiving (REC-8), from config/records/retention.yaml."""
    raw = load_retention()
    years = raw["by_action_type"].get(action_type or "", raw["default_years"])
    days = raw["by_action_type_days"].get(action_type or "", None)
    return dt.timedelta(days=days if days is not None else round(float(years) * 365.25))


class _PersonalData(Schema):
    default_years = fields.Float(required=True, validate=validate.Range(min=0))
    by_action_type = Keyed(fields.Float(validate=validate.Range(min=0)), load_default=dict)
    by_action_type_days = Keyed(fields.Integer(strict=True, validate=validate.Range(min=0)), load_default=dict)


class _RetentionFile(Schema):
    version = fields.Integer(strict=True)
    personal_data = fields.Nested(_PersonalData, required=True)


@lru_cache(maxsize=4)
def _retention(path: str, mtime_ns: int) -> dict:
    """``config/records/retention.yaml`` (ConfigFileError ``file: key.path: message`` when bad)."""
    return load_config_file(path, _RetentionFile)["personal_data"]


def load_retention(path: str | os.PathLike | None = None) -> dict:
    where = Path(path or retention_file())
    return _retention(str(where), where.stat().st_mtime_ns if where.exists() else 0)


@dataclass(frozen=True)
class RecordsConfig:
    completeness: CompletenessRules
    retention: dict
    departments: DepartmentSystems


def load_all(root: str | os.PathLike | None = None) -> RecordsConfig:
    """Every file the records service reads (issue 21; ``ConfigFiles`` in service.py), from ``root`` (a copy
    of ``config/``) or the configured places: ``config/records/completeness.yaml`` (REC-1, REC-2, REC-3),
    ``config/records/retention.yaml`` (REC-8, ``ZHIFA_RECORDS_RETENTION_FILE``) and the departmental
    systems' ``api_keys.yaml``. A bad file stops the service with ``file: key.path: message``."""
    completeness = under(root, "records", "completeness.yaml")
    return RecordsConfig(load_rules(completeness) if completeness else default_rules(),
                         load_retention(under(root, "records", "retention.yaml")),
                         load_department_systems())
