"""The complaint register (编号登记, CMP-2): register numbers, query codes, duplicate detection.

- Register number (登记编号) ``<region6>-<year>-<seq6>``, e.g. ``320412-2026-000123``: the
  6-digit division code of the registering region (a township files under its county's code), the
  year of registration and a 6-digit sequence. The sequence is allocated by the database; this
  module formats, parses and validates.
- Query code (查询码): 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), given
  to the complainant once. Only a salted scrypt hash is stored (``scrypt$…``); verification is
  constant-time (``hmac.compare_digest``).
- Duplicate detection (重复投诉): same complainant (phone or ID number), same body, request text
  similar by character-bigram Jaccard within N days → the earlier complaint to link to.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Protocol

from marshmallow import Schema, fields, post_load, validate

from services.common.configfile import load_config_file
from services.common.identifiers import is_region_code

from .config import config_path
from .model import Complaint, local_date

# --- register number -------------------------------------------------------------------------

MIN_YEAR, MAX_YEAR = 2000, 2999
MAX_SEQUENCE = 999_999
_NUMBER_RE = re.compile(r"^(\d{6})-(\d{4})-(\d{6})$")


class InvalidRegisterNumber(ValueError):
    """The text is not a well-formed register number; ``message`` is Chinese, shown to people."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, order=True)
class RegisterNumber:
    """登记编号: ``region_code`` (6 digits), ``year``, ``sequence`` (1…999999)."""

    region_code: str
    year: int
    sequence: int

    def __str__(self) -> str:
        return format_register_number(self.region_code, self.year, self.sequence)


def format_register_number(region_code: str, year: int, sequence: int) -> str:
    """``320412-2026-000123``. A 9-digit township code is registered under its county (first 6 digits)."""
    if not is_region_code(region_code):
        raise ValueError(f"not an administrative division code: {region_code!r}")
    region6 = region_code[:6]
    if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year out of range {MIN_YEAR}–{MAX_YEAR}: {year!r}")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence out of range 1–{MAX_SEQUENCE}: {sequence!r}")
    return f"{region6}-{year:04d}-{sequence:06d}"


def register_year(registered_at) -> int:
    """The year a complaint registered at ``registered_at`` is numbered in (登记年度): China's calendar year."""
    return local_date(registered_at).year


def normalise_register_number(text: str) -> str:
    """Tolerate what people type: full-width digits and dashes, spaces around — nothing else."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    return re.sub(r"[‐‑‒–—―−]", "-", text)


def parse_register_number(text: str) -> RegisterNumber:
    """Parse and validate a register number; raise :class:`InvalidRegisterNumber` otherwise."""
    match = _NUMBER_RE.match(normalise_register_number(text))
    if not match:
        raise InvalidRegisterNumber("登记编号格式应为“6位地区代码-4位年份-6位序号”，例如 320412-2026-000123")
    region, year, seq = match.group(1), int(match.group(2)), int(match.group(3))
    if not is_region_code(region):
        raise InvalidRegisterNumber("登记编号中的地区代码无效")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidRegisterNumber("登记编号中的年份无效")
    if seq == 0:
        raise InvalidRegisterNumber("登记编号中的序号无效")
    return RegisterNumber(region, year, seq)


# --- query code (查询码) ---------------------------------------------------------------------

QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0 O 1 I L
QUERY_CODE_LENGTH = 8
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LEN = 2 ** 14, 8, 1, 32
_SALT_BYTES = 16


def new_query_code() -> str:
    """A fresh random query code (``secrets``, ≈39.6 bits), e.g. ``K7QM4WZP``."""
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def normalise_query_code(code: str) -> str:
    """Upper-case, drop spaces and dashes, fold full-width characters (as typed on a phone)."""
    text = unicodedata.normalize("NFKC", code or "").upper()
    return re.sub(r"[\s\-‐‑–—]", "", text)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(code: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(code.encode("ascii"), salt=salt, n=n, r=r, p=p, maxmem=128 * r * n * p + 2 ** 20,
                          dklen=length)


def hash_query_code(code: str, *, salt: bytes | None = None) -> str:
    """The stored form ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (per-complaint random salt)."""
    normal = normalise_query_code(code)
    if len(normal) != QUERY_CODE_LENGTH or any(c not in QUERY_CODE_ALPHABET for c in normal):
        raise ValueError("not a query code")
    salt = salt if salt is not None else os.urandom(_SALT_BYTES)
    digest = _scrypt(normal, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _SCRYPT_LEN)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def issue_query_code() -> tuple[str, str]:
    """``(code to tell the complainant once, hash to store)``."""
    code = new_query_code()
    return code, hash_query_code(code)


def verify_query_code(code: str, stored: str) -> bool:
    """True when ``code`` matches the stored hash; constant-time comparison of the digests.

    A malformed *stored* value is a system fault and raises ``ValueError``; a malformed *input*
    simply does not verify.
    """
    try:
        scheme, n, r, p, salt_text, digest_text = stored.split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        n, r, p = int(n), int(r), int(p)
        salt, expected = _unb64(salt_text), _unb64(digest_text)
    except (ValueError, AttributeError) as exc:
        raise ValueError("stored query-code hash is malformed") from exc
    normal = normalise_query_code(code)
    # Hash whatever was given (even malformed input) so timing does not reveal the stored value.
    candidate = normal if normal.isascii() and normal else "-"
    actual = _scrypt(candidate, salt, n, r, p, len(expected))
    return hmac.compare_digest(actual, expected) and len(normal) == QUERY_CODE_LENGTH


# --- duplicate detection (重复投诉) ------------------------------------------------------------

@dataclass(frozen=True)
class DuplicateRules:
    """``window_days`` calendar days between receipts; ``threshold`` bigram Jaccard on the request."""

    window_days: int = 30
    threshold: float = 0.6


class _DuplicatesFile(Schema):
    window_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    threshold = fields.Float(required=True, validate=validate.Range(min=0, max=1, min_inclusive=False))

    @post_load
    def build(self, data, **kwargs) -> DuplicateRules:
        return DuplicateRules(data["window_days"], float(data["threshold"]))


def load_duplicate_rules(path: str | os.PathLike | None = None) -> DuplicateRules:
    """Read ``config/complaints/duplicates.yaml`` (keys ``window_days``, ``threshold``)."""
    return load_config_file(config_path("duplicates.yaml", path), _DuplicatesFile)


_IGNORED = re.compile(r"[\s\W_]+", re.UNICODE)


def bigrams(text: str) -> frozenset[str]:
    """Character bigrams of ``text`` after folding width/case and dropping spaces and punctuation."""
    normal = _IGNORED.sub("", unicodedata.normalize("NFKC", text or "").lower())
    if len(normal) < 2:
        return frozenset({normal}) if normal else frozenset()
    return frozenset(normal[i:i + 2] for i in range(len(normal) - 1))


def similarity(a: str, b: str) -> float:
    """Jaccard index of the character bigrams of ``a`` and ``b`` (0.0 … 1.0)."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def normalise_phone(phone: str | None) -> str:
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone or ""))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def same_complainant(a: Complaint, b: Complaint) -> bool:
    """Same phone (digits, +86 folded) or same resident ID number."""
    pa, pb = normalise_phone(a.complainant.phone), normalise_phone(b.complainant.phone)
    if pa and pa == pb:
        return True
    ia = (a.complainant.id_number or "").strip().upper()
    ib = (b.complainant.id_number or "").strip().upper()
    return bool(ia) and ia == ib


def same_body(a: Complaint, b: Complaint) -> bool:
    return bool(a.subject and b.subject and a.subject.body_id and a.subject.body_id == b.subject.body_id)


class RegisteredComplaint(Protocol):
    register_number: str
    complaint: Complaint


@dataclass(frozen=True)
class DuplicateCandidate:
    """An already registered complaint offered for comparison (e.g. loaded from the register)."""

    register_number: str
    complaint: Complaint


@dataclass(frozen=True)
class DuplicateMatch:
    """The earlier complaint to link the new one to (关联重复投诉)."""

    register_number: str
    similarity: float
    days_apart: int


def find_duplicate(new: Complaint, candidates: Iterable[RegisteredComplaint],
                   rules: DuplicateRules | None = None) -> DuplicateMatch | None:
    """The best earlier complaint that is "the same complaint", or None.

    Same complaint = same complainant (phone or ID) AND same body AND received within
    ``rules.window_days`` days AND request similarity ≥ ``rules.threshold``. The highest
    similarity wins; ties go to the most recent.
    """
    rules = rules or DuplicateRules()
    best: tuple[float, int, DuplicateMatch] | None = None
    for candidate in candidates:
        old = candidate.complaint
        if old is new:
            continue
        if not (same_complainant(new, old) and same_body(new, old)):
            continue
        days = abs((local_date(new.received_at) - local_date(old.received_at)).days)
        if days > rules.window_days:
            continue
        score = similarity(new.request, old.request)
        if score < rules.threshold:
            continue
        match = DuplicateMatch(candidate.register_number, round(score, 4), days)
        key = (score, -days)
        if best is None or key > best[:2]:
            best = (score, -days, match)
    return best[2] if best else None
