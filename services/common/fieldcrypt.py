"""Field encryption at rest 敏感字段加密存储 with SM4-GCM and envelope keys (issue 22; GB/T 39786 level 3).

Personal fields (a complainant's name, phone, ID number, address; the records' erasable personal data) are
stored encrypted in each service's database, so a dump or a backup of the database holds no personal data
in clear.

Keys (envelope encryption 数字信封):

* a **data key** (DEK, SM4 128-bit) per service encrypts the fields; a service has one *active* data key and
  keeps the older ones for reading until the background re-encrypt moved every field to the active one;
* an **index key** per service keys the blind indexes (``blind_index``: HMAC-SM3 of a normalised value, for
  exact lookups such as an ID number — equal values give equal indexes, nothing else is learnt);
* both are stored only **wrapped** (SM4-GCM) by a **key-encryption key** (KEK) of a ``KeyProvider``: the
  embedded default is ``FileKeyProvider`` (KEK files under ``ZHIFA_KEYS_DIR/kek/`` or ``ZHIFA_KEK_DIR``,
  mode 0600); an HSM or
  KMS implements the same four methods (``ZHIFA_KEY_PROVIDER=package.module:Class``) and never hands the
  KEK out;
* the wrapped keys of a service are its **keyring** file ``ZHIFA_KEYS_DIR/<service>.keyring.json``
  (re-read when it changes, so ``zhifa keys rotate`` reaches running processes without a restart).

Stored value: ``gm1:<data key id>:<base64url(nonce 12 B ‖ ciphertext ‖ tag 16 B)>`` — the key id beside the
ciphertext; the associated data binds it to its service and field (``<service>/<field>``), so a value
copied into another column or service does not decrypt. A value without the prefix is legacy plaintext
(rows written before the migration): it is read as it is and encrypted by the background re-encrypt.

Rotation without downtime (``zhifa keys rotate``): a new data key becomes active at once (new writes use
it, old values stay readable); ``reencrypt_step`` (a timer in each service, and ``zhifa keys reencrypt``)
moves values to the active key in batches with a compare-and-set UPDATE, so a concurrent write is never
overwritten; ``zhifa_fieldcrypt_reencrypt_remaining`` shows the progress. ``zhifa keys rotate --kek``
re-wraps every keyring with a new KEK: no field is touched.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from prometheus_client import Counter, Gauge
from sqlalchemy import Text, and_, func, select, type_coerce, update
from sqlalchemy.types import TypeDecorator

from services.common import settings
from services.common.keyfiles import write_atomic

__all__ = ["PREFIX", "KeyProvider", "FileKeyProvider", "Keyring", "keyring", "provider", "enabled",
           "sm4_gcm_encrypt", "sm4_gcm_decrypt", "EncryptedText", "EncryptedJSON", "blind_index",
           "EncryptedColumn", "reencrypt_step", "status", "create", "rotate", "rotate_kek", "FieldDecryptError"]

PREFIX = "gm1:"
NONCE, TAG = 12, 16

FIELDS_ENCRYPTED = Counter("zhifa_fieldcrypt_fields_encrypted_total",
                           "Personal fields encrypted with SM4-GCM on write (issue 22)", ["service"])
REENCRYPT_REMAINING = Gauge("zhifa_fieldcrypt_reencrypt_remaining",
                            "Fields not yet under the service's active data key (plaintext or an older key); "
                            "0 when a rotation's background re-encrypt is done", ["service"])
REENCRYPTED = Counter("zhifa_fieldcrypt_reencrypted_total", "Fields moved to the active data key", ["service"])


class FieldDecryptError(ValueError):
    """A stored value does not decrypt (unknown key id, altered ciphertext, wrong field)."""


# ------------------------------------------------------------------------------------ SM4-GCM, SM3-HMAC

def sm4_gcm_encrypt(key: bytes, plaintext: bytes, aad: bytes, nonce: bytes | None = None) -> bytes:
    """nonce ‖ ciphertext ‖ tag (SM4-GCM, GB/T 32907 block cipher in GCM mode, 96-bit random nonce)."""
    nonce = nonce or os.urandom(NONCE)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    body = enc.update(plaintext) + enc.finalize()
    return nonce + body + enc.tag


def sm4_gcm_decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < NONCE + TAG:
        raise FieldDecryptError("ciphertext too short")
    nonce, body, tag = blob[:NONCE], blob[NONCE:-TAG], blob[-TAG:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    try:
        return dec.update(body) + dec.finalize()
    except InvalidTag:
        raise FieldDecryptError("SM4-GCM tag does not verify (altered value, wrong key or wrong field)") from None


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


# ---------------------------------------------------------------------------------------- key providers

@runtime_checkable
class KeyProvider(Protocol):
    """Holds key-encryption keys; wraps and unwraps data keys. An HSM / KMS implementation keeps the KEK
    inside the device: ``wrap``/``unwrap`` are its calls (e.g. SDF ``SDF_Encrypt``/``SDF_Decrypt`` with an
    internal SM4 key, GM/T 0018)."""

    def current_kek_id(self) -> str: ...

    def create_kek(self) -> str: ...

    def wrap(self, kek_id: str, key: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes: ...


def _write_atomic(path: Path, data: bytes, exclusive: bool = False) -> bool:
    """Key material of field encryption lives in folders of its own: they are made 0700."""
    return write_atomic(path, data, exclusive=exclusive, private_dir=True)


class FileKeyProvider:
    """The embedded default: KEKs are 128-bit SM4 keys in ``<dir>/kek/<id>.key`` (hex, 0600); ``current``
    names the one new wraps use. Back the directory up separately from the databases (docs/RUNBOOK.md)."""

    def __init__(self, directory: Path, kek_dir: Path | None = None):
        # ZHIFA_KEK_DIR: the KEKs apart from the keyrings (e.g. a Kubernetes Secret of their own)
        self.dir = Path(kek_dir) if kek_dir else Path(directory) / "kek"

    def current_kek_id(self) -> str:
        pointer = self.dir / "current"
        if not pointer.exists():
            kek = self._new()
            _write_atomic(pointer, kek.encode("ascii"), exclusive=True)
        return pointer.read_text(encoding="ascii").strip()

    def _new(self) -> str:
        kek_id = "kek-" + secrets.token_hex(4)
        _write_atomic(self.dir / f"{kek_id}.key", secrets.token_bytes(16).hex().encode("ascii"), exclusive=True)
        return kek_id

    def create_kek(self) -> str:
        kek_id = self._new()
        _write_atomic(self.dir / "current", kek_id.encode("ascii"))
        return kek_id

    def _kek(self, kek_id: str) -> bytes:
        if not kek_id.replace("-", "").isalnum():
            raise FieldDecryptError(f"bad key-encryption key id {kek_id!r}")
        path = self.dir / f"{kek_id}.key"
        if not path.exists():
            raise FieldDecryptError(f"key-encryption key {kek_id} is missing from {self.dir} (restore the key "
                                    "backup, docs/RUNBOOK.md#field-encryption-keys)")
        return bytes.fromhex(path.read_text(encoding="ascii").strip())

    def wrap(self, kek_id: str, key: bytes, aad: bytes) -> bytes:
        return sm4_gcm_encrypt(self._kek(kek_id), key, b"zhifa.kek-wrap.v1\x00" + aad)

    def unwrap(self, kek_id: str, wrapped: bytes, aad: bytes) -> bytes:
        return sm4_gcm_decrypt(self._kek(kek_id), wrapped, b"zhifa.kek-wrap.v1\x00" + aad)

    def kek_ids(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("kek-*.key"))


def keys_dir() -> Path:
    return settings.get("ZHIFA_KEYS_DIR")


_providers: dict[tuple, KeyProvider] = {}


def provider() -> KeyProvider:
    """``ZHIFA_KEY_PROVIDER``: ``file`` (default) or ``package.module:Class`` (constructed with the keys
    directory)."""
    name = str(settings.get("ZHIFA_KEY_PROVIDER") or "file")
    directory = keys_dir()
    kek_dir = settings.get("ZHIFA_KEK_DIR")
    key = (name, str(directory), str(kek_dir))
    if key not in _providers:
        if name == "file":
            _providers[key] = FileKeyProvider(directory, kek_dir)
        else:
            module, _, cls = name.partition(":")
            _providers[key] = getattr(importlib.import_module(module), cls)(directory)
    return _providers[key]


def enabled() -> bool:
    """``ZHIFA_FIELD_ENCRYPTION`` (on by default): off writes new values in clear (reading still decrypts)."""
    return bool(settings.get("ZHIFA_FIELD_ENCRYPTION"))


# ---------------------------------------------------------------------------------------------- keyring

def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Keyring:
    """A service's unwrapped keys (in memory only)."""

    service: str
    active: str
    data_keys: dict[str, bytes]
    index_key: bytes
    document: dict = field(default_factory=dict)

    def __post_init__(self):
        # the service's counter, looked up once (``labels`` takes the metric's lock: per value, it cost as much
        # as counting — issue 17)
        self._encrypted = FIELDS_ENCRYPTED.labels(self.service)

    def encrypt(self, plaintext: str, purpose: str) -> str:
        key_id = self.active
        blob = sm4_gcm_encrypt(self.data_keys[key_id], plaintext.encode("utf-8"),
                               f"{self.service}/{purpose}/{key_id}".encode("utf-8"))
        self._encrypted.inc()
        return f"{PREFIX}{key_id}:{_b64(blob)}"

    def decrypt(self, stored: str, purpose: str) -> str:
        try:
            _, key_id, body = stored.split(":", 2)
        except ValueError:
            raise FieldDecryptError("malformed encrypted value") from None
        key = self.data_keys.get(key_id)
        if key is None:
            raise FieldDecryptError(f"data key {key_id} of {self.service} is not in its keyring")
        return sm4_gcm_decrypt(key, _unb64(body), f"{self.service}/{purpose}/{key_id}".encode("utf-8")).decode("utf-8")

    def blind_index(self, value: str, purpose: str) -> str:
        return hmac_sm3(self.index_key, f"{purpose}\x00{value}".encode("utf-8")).hex()


def keyring_path(service: str) -> Path:
    return keys_dir() / f"{service}.keyring.json"


def _aad(service: str, key_id: str) -> bytes:
    return f"{service}/{key_id}".encode("utf-8")


def _new_document(service: str, prov: KeyProvider) -> dict:
    kek = prov.current_kek_id()
    dek_id = "dk-" + secrets.token_hex(4)
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    return {"version": 1, "service": service, "active": dek_id,
            "data_keys": {dek_id: {"kek": kek, "wrapped": _b64(prov.wrap(kek, secrets.token_bytes(16),
                                                                           _aad(service, dek_id))),
                                   "created": now}},
            "index_key": {"kek": kek, "wrapped": _b64(prov.wrap(kek, secrets.token_bytes(32),
                                                                _aad(service, "index")))}}


def _open(service: str, document: dict, prov: KeyProvider) -> Keyring:
    keys = {kid: prov.unwrap(k["kek"], _unb64(k["wrapped"]), _aad(service, kid))
            for kid, k in document["data_keys"].items()}
    index = prov.unwrap(document["index_key"]["kek"], _unb64(document["index_key"]["wrapped"]),
                        _aad(service, "index"))
    return Keyring(service, document["active"], keys, index, document)


_cache: dict[tuple, tuple[float, int, Keyring]] = {}
_lock = threading.Lock()
RECHECK_SECONDS = 1.0


def keyring(service: str, create: bool = True) -> Keyring:
    """The service's keyring, created on first use (embedded set-up); re-read when the file changed."""
    path = keyring_path(service)
    cache_key = (service, str(path))
    now = time.monotonic()
    cached = _cache.get(cache_key)
    if cached is not None and now - cached[0] < RECHECK_SECONDS:
        return cached[2]
    with _lock:
        if not path.exists():
            if not create:
                raise FieldDecryptError(f"no keyring for {service} at {path}")
            _write_atomic(path, json.dumps(_new_document(service, provider()), indent=2).encode("utf-8"),
                          exclusive=True)
        mtime = path.stat().st_mtime_ns
        if cached is not None and cached[1] == mtime:
            _cache[cache_key] = (now, mtime, cached[2])
            return cached[2]
        ring = _open(service, json.loads(path.read_text(encoding="utf-8")), provider())
        _cache[cache_key] = (now, mtime, ring)
        return ring


def _save(service: str, document: dict) -> None:
    _write_atomic(keyring_path(service), json.dumps(document, indent=2).encode("utf-8"))
    _cache.pop((service, str(keyring_path(service))), None)


def create(service: str) -> dict:
    """``zhifa keys create``: the service's keyring (kept if it exists)."""
    keyring(service)
    return json.loads(keyring_path(service).read_text(encoding="utf-8"))


def rotate(service: str) -> str:
    """A new active data key (wrapped with the current KEK); the old ones stay for reading. Returns its id."""
    prov = provider()
    document = create(service)
    kek = prov.current_kek_id()
    dek_id = "dk-" + secrets.token_hex(4)
    document["data_keys"][dek_id] = {"kek": kek, "wrapped": _b64(prov.wrap(kek, secrets.token_bytes(16),
                                                                           _aad(service, dek_id))),
                                     "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    document["active"] = dek_id
    _save(service, document)
    return dek_id


def rotate_kek(services: Iterable[str]) -> str:
    """A new KEK; every keyring's keys re-wrapped with it (no field is touched)."""
    prov = provider()
    new = prov.create_kek()
    for service in services:
        path = keyring_path(service)
        if not path.exists():
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        for kid, k in list(document["data_keys"].items()) + [("index", document["index_key"])]:
            raw = prov.unwrap(k["kek"], _unb64(k["wrapped"]), _aad(service, kid))
            k["kek"], k["wrapped"] = new, _b64(prov.wrap(new, raw, _aad(service, kid)))
        _save(service, document)
    return new


def drop_retired(service: str, engine, columns: list["EncryptedColumn"]) -> list[str]:
    """Remove data keys no stored value uses any more (after the re-encrypt finished)."""
    document = create(service)
    used = set()
    with engine.connect() as conn:
        for col in columns:
            raw = type_coerce(col.column, Text)
            for value in conn.execute(select(raw).where(raw.like(f"{PREFIX}%")).distinct()).scalars():
                used.add(value.split(":", 2)[1])
    dropped = [k for k in document["data_keys"] if k != document["active"] and k not in used]
    for k in dropped:
        del document["data_keys"][k]
    if dropped:
        _save(service, document)
    return dropped


# --------------------------------------------------------------------------------------- column types

class EncryptedText(TypeDecorator):
    """A text column stored as ``gm1:<key id>:<SM4-GCM>`` (legacy plaintext is read as it is)."""

    impl = Text
    cache_ok = True

    def __init__(self, service: str, purpose: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.service, self.purpose = service, purpose

    def encode(self, value: Any) -> str:
        return str(value)

    def decode(self, text: str) -> Any:
        return text

    def process_bind_param(self, value, dialect):
        return self.batch_binder()(value)

    def batch_binder(self) -> Callable[[Any], str | None]:
        """What ``process_bind_param`` does to a value, for many values: whether encryption is on and the
        service's keyring are looked up once (a bulk write, ``COPY``, binds a batch with one — issue 17)."""
        if not enabled():
            return lambda value: None if value is None else self.encode(value)
        ring, purpose = keyring(self.service), self.purpose
        return lambda value: None if value is None else ring.encrypt(self.encode(value), purpose)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.startswith(PREFIX):
            return self.decode(keyring(self.service).decrypt(value, self.purpose))
        return self.decode(value)


class EncryptedJSON(EncryptedText):
    """A JSON value, serialised then encrypted (legacy rows: the JSON text in clear)."""

    cache_ok = True

    def encode(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def decode(self, text: str) -> Any:
        return json.loads(text)


def blind_index(service: str, value: str | None, purpose: str) -> str | None:
    """HMAC-SM3 of a normalised value under the service's index key, for exact lookups (None stays None)."""
    if value is None or not str(value).strip():
        return None
    return keyring(service).blind_index(str(value).strip().upper(), purpose)


# ------------------------------------------------------------------------------------ background re-encrypt

@dataclass(frozen=True)
class EncryptedColumn:
    """An encrypted column, its primary key and (optionally) the blind index column kept beside it."""

    column: Any                     # the ORM attribute, e.g. Complaint.complainant_name
    pk: Any
    index_column: Any = None
    index_purpose: str | None = None


def _pending(column, active: str):
    raw = type_coerce(column, Text)
    return and_(raw.is_not(None), ~raw.like(f"{PREFIX}{active}:%"))


def remaining(engine, service: str, columns: list[EncryptedColumn]) -> int:
    ring = keyring(service)
    total = 0
    with engine.connect() as conn:
        for col in columns:
            total += conn.execute(select(func.count()).select_from(col.column.class_)
                                  .where(_pending(col.column, ring.active))).scalar_one()
    REENCRYPT_REMAINING.labels(service).set(total)
    return total


def reencrypt_step(engine, service: str, columns: list[EncryptedColumn], batch: int = 200) -> int:
    """Move up to ``batch`` values per column to the active key (plaintext included); compare-and-set, so
    a value written meanwhile is left alone (and is already under the active key). Returns how many moved;
    sets the progress gauge."""
    if not enabled():
        return 0
    ring = keyring(service)
    moved = 0
    with engine.begin() as conn:
        for col in columns:
            raw = type_coerce(col.column, Text)
            rows = conn.execute(select(col.pk, raw).where(_pending(col.column, ring.active)).limit(batch)).all()
            for pk, stored in rows:
                typ: EncryptedText = col.column.type
                if stored.startswith(PREFIX):
                    plain = ring.decrypt(stored, typ.purpose)
                else:
                    plain = typ.encode(json.loads(stored)) if isinstance(typ, EncryptedJSON) else stored
                values = {col.column.key: type_coerce(ring.encrypt(plain, typ.purpose), Text)}
                if col.index_column is not None:
                    values[col.index_column.key] = ring.blind_index(plain.strip().upper(), col.index_purpose)
                done = conn.execute(update(col.column.class_).where(col.pk == pk, raw == stored)
                                    .values(**values)).rowcount
                moved += done
    if moved:
        REENCRYPTED.labels(service).inc(moved)
    remaining(engine, service, columns)
    return moved


def status(service: str, engine=None, columns: list[EncryptedColumn] | None = None) -> dict:
    document = json.loads(keyring_path(service).read_text(encoding="utf-8")) if keyring_path(service).exists() \
        else None
    out = {"service": service, "keyring": str(keyring_path(service)), "exists": document is not None}
    if document is None:
        return out
    out.update(active=document["active"], data_keys=sorted(document["data_keys"]),
               keks=sorted({k["kek"] for k in document["data_keys"].values()} | {document["index_key"]["kek"]}),
               current_kek=provider().current_kek_id())
    if engine is not None and columns is not None:
        counts: dict[str, int] = {}
        with engine.connect() as conn:
            for col in columns:
                raw = type_coerce(col.column, Text)
                for value in conn.execute(select(raw).where(raw.is_not(None))).scalars():
                    kid = value.split(":", 2)[1] if value.startswith(PREFIX) else "plaintext"
                    counts[kid] = counts.get(kid, 0) + 1
        out["fields_by_key"] = counts
        out["remaining"] = sum(n for k, n in counts.items() if k != document["active"])
        REENCRYPT_REMAINING.labels(service).set(out["remaining"])
    return out


_last_pass: dict[str, float] = {}


def background_pass(db, service: str, columns: list[EncryptedColumn], batches: int = 20,
                    paced: bool = True) -> int | None:
    """The services' timer (issue 22): every ZHIFA_FIELDCRYPT_REENCRYPT_INTERVAL seconds (``paced``: this
    call checks the interval itself, for a timer that ticks more often), one replica (a lease) moves up to
    ``batches`` batches of fields to the active data key. None when it did not run."""
    interval = settings.get("ZHIFA_FIELDCRYPT_REENCRYPT_INTERVAL")
    now = time.monotonic()
    if paced and now - _last_pass.get(service, float("-inf")) < interval:
        return None
    _last_pass[service] = now
    if not enabled() or not db.acquire_lease(f"{service}.fieldcrypt_reencrypt", max(3 * interval, 30.0)):
        return None
    moved = 0
    for _ in range(batches):
        step = reencrypt_step(db.engine, service, columns)
        moved += step
        if not step:
            break
    return moved
