"""Log entries of the full-process record (执法全过程记录日志条目) — REC-1…REC-5, REC-8.

Canonical encoding 规范化编码
-----------------------------
An entry is a JSON object. Its canonical bytes are::

    json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
               allow_nan=False).encode("utf-8")

i.e. keys sorted by code point at every depth, no whitespace, non-ASCII characters written as
UTF-8 (not ``\\uXXXX``). Floats are refused (their text form differs between languages):
amounts are integers in fen (分) or decimal strings. Keys must be strings. Anyone can
re-derive the bytes from the entry and hence its leaf hash ``SM3(0x00 || bytes)``.

Every entry carries ``"seq"`` — its sequence number 序号, equal to its 0-based leaf index in
the Merkle log — so a gap, a duplicate or a swap is visible from the entries alone.

Personal data 个人信息 (REC-8)
-----------------------------
Personal data never enters the log in the clear. ``seal_personal`` moves the personal fields
out of the entry and puts ``"personal_commitment": hex(SM3(salt || canonical(personal)))`` in
their place, with a fresh random 16-byte salt. The service stores ``salt`` and the personal
object *beside* the log (erasable table). The leaf hash covers only the public part and the
commitment, so when the retention period ends the service deletes salt + personal data and
every leaf hash, root, inclusion and consistency proof stays valid. Until then anyone holding
salt + personal data can prove they are what was recorded (``verify_personal``). The salt
prevents confirming a guessed ID number against the commitment once the payload is erased.
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Iterable, Mapping

import orjson

from .merkle import leaf_hash, sm3

__all__ = [
    "EntryKind",
    "Stage",
    "RecordKind",
    "AUDIO_VISUAL_KINDS",
    "DEFAULT_PERSONAL_FIELDS",
    "EntryError",
    "canonical_bytes",
    "entry_bytes",
    "entry_leaf_hash",
    "entry_sequence",
    "make_entry",
    "SealedEntry",
    "personal_commitment",
    "seal_personal",
    "verify_personal",
    "SALT_SIZE",
]

SALT_SIZE = 16
SEQ_KEY = "seq"
COMMITMENT_KEY = "personal_commitment"


class EntryError(ValueError):
    """An entry cannot be canonicalised (bad type, missing field)."""


class EntryKind(str, Enum):
    """What an entry records (条目类型)."""

    RECORD = "record"          # 记录登记: a text / audio-visual / electronic record was filed
    STAGE = "stage"            # 环节变更: the case entered a REC-1 stage
    ACCESS = "access"          # 调阅: somebody read records (REC-6, every access is logged)
    ERASURE = "erasure"        # 个人信息删除: salted personal payload erased (REC-8)
    ARCHIVE = "archive"        # 归档: the case file was archived (REC-5)
    CORRECTION = "correction"  # 更正: supervisor-authorised addition to a sealed file (appended, never overwrites)
    REFUSAL = "refusal"        # 拒收: a record for a sealed case was refused (kept so supervisors see it)

    @property
    def label(self) -> str:
        return {"record": "记录登记", "stage": "环节变更", "access": "调阅",
                "erasure": "个人信息删除", "archive": "归档", "correction": "经授权更正",
                "refusal": "封存后拒收"}[self.value]


class Stage(str, Enum):
    """REC-1 stages of an enforcement action (执法环节)."""

    INITIATION = "initiation"                  # 启动
    INVESTIGATION = "investigation"            # 调查取证
    DECISION = "decision"                      # 审核决定
    SERVICE_EXECUTION = "service_execution"    # 送达执行
    ARCHIVING = "archiving"                    # 归档

    @property
    def label(self) -> str:
        return {"initiation": "启动", "investigation": "调查取证", "decision": "审核决定",
                "service_execution": "送达执行", "archiving": "归档"}[self.value]


class RecordKind(str, Enum):
    """REC-2 / REC-3 kinds of record (记录形式)."""

    TEXT = "text"                            # 文字记录 (文书)
    PHOTO = "photo"                          # 照相
    AUDIO = "audio"                          # 录音
    VIDEO = "video"                          # 录像
    BODY_WORN_CAMERA = "body_worn_camera"    # 执法记录仪
    SURVEILLANCE = "surveillance"            # 视频监控
    ELECTRONIC_DATA = "electronic_data"      # 电子数据

    @property
    def label(self) -> str:
        return {"text": "文字记录", "photo": "照相", "audio": "录音", "video": "录像",
                "body_worn_camera": "执法记录仪", "surveillance": "视频监控",
                "electronic_data": "电子数据"}[self.value]


AUDIO_VISUAL_KINDS = frozenset({RecordKind.PHOTO, RecordKind.AUDIO, RecordKind.VIDEO,
                                RecordKind.BODY_WORN_CAMERA, RecordKind.SURVEILLANCE})

# Fields moved out of an entry by ``seal_personal`` unless the caller names others.
DEFAULT_PERSONAL_FIELDS = ("party", "parties", "party_name", "party_id_number", "phone",
                           "address", "personal")


_PLAIN_TYPES = (str, int, bool, type(None))


def _plain_ok(value: Any) -> bool:
    """Fast path of ``_check``: exact built-in types only (no ABC checks, no path strings)."""
    t = type(value)
    if t in _PLAIN_TYPES:
        return True
    if t is dict:
        for k, v in value.items():
            if type(k) is not str or not (type(v) in _PLAIN_TYPES or _plain_ok(v)):
                return False
        return True
    if t is list or t is tuple:
        for v in value:
            if not (type(v) in _PLAIN_TYPES or _plain_ok(v)):
                return False
        return True
    return False


def _check(value: Any, path: str) -> None:
    if _plain_ok(value):
        return
    _check_slow(value, path)


def _check_slow(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        raise EntryError(f"{path}: floats are not allowed in entries (use integers or strings)")
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise EntryError(f"{path}: key {k!r} is not a string")
            _check_slow(v, f"{path}.{k}")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_slow(v, f"{path}[{i}]")
        return
    raise EntryError(f"{path}: {type(value).__name__} is not JSON-compatible")


def canonical_bytes(value: Mapping[str, Any]) -> bytes:
    """Canonical JSON bytes (sorted keys, no whitespace, UTF-8, no floats) of any object.

    orjson writes them (issue 17: a tenth of ``json.dumps``' time, which was the largest single cost of
    building an entry): its compact output with sorted keys is byte for byte the ``json.dumps`` form of the
    module docstring for every value ``_check`` lets through — keys sorted by code point, non-ASCII as
    UTF-8, the same escapes (tests/records/test_canonical_encoding.py compares the two). What orjson refuses
    (an integer beyond 64 bits, a lone surrogate, a mapping that is not a dict) goes through ``json``, which
    encodes it or raises as before."""
    _check(value, "$")
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")


def entry_bytes(entry: Mapping[str, Any]) -> bytes:
    """Canonical bytes of a log entry; the entry must carry an integer ``seq >= 0``."""
    seq = entry.get(SEQ_KEY)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise EntryError(f"entry needs an integer 'seq' >= 0, got {seq!r}")
    return canonical_bytes(entry)


_SEQ_ZERO = b'"seq":0'


def with_sequence(zero_bytes: bytes, seq: int) -> bytes | None:
    """The canonical bytes of an entry made with ``seq`` 0, with ``seq`` written in — or None when
    the bytes hold more than one ``"seq":`` key (a nested object has one), so the caller
    serialises the entry again. Why: an entry is built, sealed and serialised before the append
    lock is taken; only the sequence, known under the lock, is then written in. A ``"seq":`` in
    the bytes is always an object key (a quote inside a JSON string is escaped), so a single one is
    the top-level key, and its ``0`` is followed by ``,`` or ``}``."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise EntryError(f"seq must be an integer >= 0, got {seq!r}")
    if zero_bytes.count(b'"seq":') != 1 or zero_bytes.count(_SEQ_ZERO) != 1:
        return None
    return zero_bytes.replace(_SEQ_ZERO, b'"seq":%d' % seq, 1)


def entry_leaf_hash(entry: Mapping[str, Any] | bytes) -> bytes:
    """Leaf hash SM3(0x00 || canonical bytes) of an entry (dict or its canonical bytes)."""
    return leaf_hash(entry if isinstance(entry, (bytes, bytearray)) else entry_bytes(entry))


# Literal-prefixed pattern (the regex engine scans for the literal at C speed).
_SEQ_RE = re.compile(rb'"seq":(-?[0-9]+)[,}]')


def entry_sequence(data: bytes) -> int | None:
    """Top-level ``seq`` of canonical entry bytes, or ``None`` if absent / unparseable.

    Fast path (no JSON parse): the bytes contain exactly one ``"seq":`` and it is preceded by
    ``{`` or ``,`` — i.e. it is an object key (inside JSON strings ``"`` is always escaped).
    Entries made by ``entry_bytes`` always have the top-level key, so a single key *is* the
    top-level one; anything else falls back to ``json.loads``.
    """
    found = _SEQ_RE.findall(data)
    if len(found) == 1 and (b'{"seq":' in data or b',"seq":' in data):
        return int(found[0])
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    seq = obj.get(SEQ_KEY) if isinstance(obj, dict) else None
    if isinstance(seq, bool) or not isinstance(seq, int):
        return None
    return seq


def _iso(value: str | datetime, field: str) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise EntryError(f"{field} must carry a UTC offset")
        return value.isoformat()
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise EntryError(f"{field}: {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise EntryError(f"{field}: {value!r} must carry a UTC offset, e.g. +08:00")
    return value


def make_entry(
    seq: int,
    kind: EntryKind | str,
    *,
    case_id: str,
    region_code: str,
    body_id: str,
    occurred_at: str | datetime,
    stage: Stage | str | None = None,
    record_kind: RecordKind | str | None = None,
    document_type: str | None = None,
    content_hashes: Iterable[str] = (),
    officers: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a log entry dict with validated, normalised fields (enums → codes).

    ``content_hashes``: hex SM3 digests of the record files (文书、音像文件) — lower-cased and
    sorted; ``officers``: certificate numbers 执法证号 of the officers involved, sorted.
    ``extra`` adds further JSON-compatible fields (must not clash with the standard ones).
    """
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise EntryError(f"seq must be an integer >= 0, got {seq!r}")
    entry: dict[str, Any] = {
        "seq": seq,
        "kind": EntryKind(kind).value,
        "case_id": str(case_id),
        "region_code": str(region_code),
        "body_id": str(body_id),
        "occurred_at": _iso(occurred_at, "occurred_at"),
    }
    if stage is not None:
        entry["stage"] = Stage(stage).value
    if record_kind is not None:
        entry["record_kind"] = RecordKind(record_kind).value
    if document_type is not None:
        entry["document_type"] = str(document_type)
    hashes = []
    for h in content_hashes:
        h = str(h).lower()
        if not re.fullmatch(r"[0-9a-f]{64}", h):
            raise EntryError(f"content hash {h!r} is not a 64-digit hex SM3 digest")
        hashes.append(h)
    entry["content_hashes"] = sorted(hashes)
    entry["officers"] = sorted(str(o) for o in officers)
    if extra:
        clash = set(extra) & set(entry)
        if clash:
            raise EntryError(f"extra fields clash with standard fields: {sorted(clash)}")
        entry.update(extra)
    _check(entry, "$")
    return entry


@dataclass(frozen=True)
class SealedEntry:
    """Result of ``seal_personal``: ``public`` goes into the log; ``salt`` and ``personal``
    are stored beside it and may later be erased (REC-8)."""

    public: dict[str, Any]
    personal: dict[str, Any]
    salt: bytes
    commitment: str | None  # hex; None when the entry had no personal data


def personal_commitment(salt: bytes, personal: Mapping[str, Any]) -> str:
    """hex SM3(salt || canonical(personal)) — the salted commitment 加盐承诺值."""
    if len(salt) != SALT_SIZE:
        raise EntryError(f"salt must be {SALT_SIZE} bytes")
    return sm3(bytes(salt) + canonical_bytes(personal)).hex()


def seal_personal(entry: Mapping[str, Any], personal_fields: Iterable[str] = DEFAULT_PERSONAL_FIELDS,
                  salt: bytes | None = None) -> SealedEntry:
    """Split ``entry`` into (public part, personal part) and commit to the personal part.

    The public part gets ``personal_commitment``; pass ``salt`` only in tests (default: 16
    random bytes from ``secrets``).
    """
    if COMMITMENT_KEY in entry:
        raise EntryError("entry is already sealed (has personal_commitment)")
    fields = set(personal_fields)
    if SEQ_KEY in fields:
        raise EntryError("seq cannot be personal data")
    public = {k: v for k, v in entry.items() if k not in fields}
    personal = {k: v for k, v in entry.items() if k in fields}
    if not personal:
        return SealedEntry(public=dict(public), personal={}, salt=b"", commitment=None)
    salt = secrets.token_bytes(SALT_SIZE) if salt is None else bytes(salt)
    commitment = personal_commitment(salt, personal)
    public[COMMITMENT_KEY] = commitment
    return SealedEntry(public=public, personal=personal, salt=salt, commitment=commitment)


def verify_personal(public_entry: Mapping[str, Any], salt: bytes, personal: Mapping[str, Any]) -> bool:
    """True when ``salt`` + ``personal`` are exactly what the entry committed to."""
    expected = public_entry.get(COMMITMENT_KEY)
    if not isinstance(expected, str) or len(salt) != SALT_SIZE:
        return False
    try:
        return secrets.compare_digest(personal_commitment(salt, personal), expected)
    except EntryError:
        return False
