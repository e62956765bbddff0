"""Issue 22: the complainant's identity and contact data (and their own words) are SM4-GCM-encrypted at
rest — a dump of the complaints database (the SQLite file's bytes; pg_dump of the PostgreSQL database)
holds none of the test complainant's name, phone, ID number or address in clear; lookups by ID number go
through the blind index; legacy plaintext rows are encrypted by the background re-encrypt; a data key
rotated mid-stream leaves every field readable."""
from __future__ import annotations

import contextlib
import shutil
import subprocess

import pytest
from nameko import config as nameko_config
from sqlalchemy import Text, select, type_coerce, update
from sqlalchemy.orm import Session

from services.common import fieldcrypt
from services.complaints import store
from services.complaints.models import ENCRYPTED_COLUMNS, Complaint
from services.complaints.usecases import registration
from tests.complaints.helpers import ADDRESS, ID_NUMBER, NAME, PHONE, portal_form

SECRETS = [NAME, PHONE, ID_NUMBER, ADDRESS]


class _Db:
    def __init__(self, engine):
        self.engine = engine

    @contextlib.contextmanager
    def session(self):
        with Session(self.engine, expire_on_commit=False, info={"service": "complaints"}) as session:
            with session.begin():
                yield session


@pytest.fixture
def db(service_engine, tmp_path):
    with nameko_config.patch({"ZHIFA_KEYS_DIR": str(tmp_path / "keys"), "ZHIFA_FIELD_ENCRYPTION": True,
                              "ZHIFA_COMPLAINTS_ATTACHMENTS_DIR": str(tmp_path / "att")}, clear=False):
        fieldcrypt._cache.clear()
        yield _Db(service_engine("complaints"))
        fieldcrypt._cache.clear()


def dump(engine) -> bytes:
    """The bytes a backup holds: the SQLite file, or pg_dump of the PostgreSQL database."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        engine.dispose()
        data = b""
        for suffix in ("", "-wal", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                data += open(url.database + suffix, "rb").read()
        return data
    exe = shutil.which("pg_dump") or "/usr/bin/pg_dump"
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run([exe, "--no-owner", plain], check=True, capture_output=True, timeout=120).stdout


def in_clear(data: bytes, secrets) -> list[str]:
    return [s for s in secrets if s.encode("utf-8") in data]


def register(db, **over):
    return registration.register_from_portal(db, portal_form(**over))


def test_issue22_complaints_dump_holds_no_personal_data_in_clear(db):
    receipt = register(db)
    second = register(db, name="赵六", phone="13800001111", id_number=None, address="常州市天宁区")
    with db.session() as session:
        row = session.get(Complaint, receipt["number"])
        # read back through the model: the handler sees the data
        assert (row.complainant_name, row.complainant_phone, row.complainant_id_number, row.complainant_address) \
            == (NAME, PHONE, ID_NUMBER, ADDRESS)
        assert NAME in row.facts
        raw = session.execute(select(type_coerce(Complaint.complainant_name, Text))
                              .where(Complaint.number == receipt["number"])).scalar_one()
        assert raw.startswith("gm1:dk-")
        # exact lookup by ID number through the blind index
        assert store.numbers_by_id_number(session, ID_NUMBER) == [receipt["number"]]
        assert store.numbers_by_id_number(session, ID_NUMBER.lower() + " ") == [receipt["number"]]
        assert store.numbers_by_id_number(session, "320412199001019999") == []
        assert session.get(Complaint, second["number"]).complainant_id_index is None
    data = dump(db.engine)
    assert receipt["number"].encode() in data                  # the dump is real: the register number is there
    assert in_clear(data, SECRETS + ["赵六", "13800001111"]) == []


def test_issue22_without_encryption_the_same_dump_shows_the_data(db):
    """The check can fail: with ZHIFA_FIELD_ENCRYPTION off the dump holds the complainant in clear."""
    with nameko_config.patch({"ZHIFA_FIELD_ENCRYPTION": False}, clear=False):
        register(db)
    assert set(in_clear(dump(db.engine), SECRETS)) == set(SECRETS)


def test_issue22_legacy_rows_and_rotation_mid_stream_every_field_readable(db):
    """Rows written in clear (before the migration, or with encryption off) and rows under an old data key
    are moved to the active key by the background re-encrypt in batches while new complaints keep arriving
    (a rotation in the middle); nothing is lost, every field stays readable, the dump is clean at the end."""
    with nameko_config.patch({"ZHIFA_FIELD_ENCRYPTION": False}, clear=False):
        legacy = [register(db, phone=f"1391000{i:04d}", id_number=None)["number"] for i in range(3)]
    first = [register(db, phone=f"1392000{i:04d}")["number"] for i in range(3)]
    with db.session() as session:
        assert session.get(Complaint, legacy[0]).complainant_id_index is None
    old_key = fieldcrypt.keyring("complaints").active
    fieldcrypt.rotate("complaints")
    fieldcrypt._cache.clear()
    assert fieldcrypt.remaining(db.engine, "complaints", ENCRYPTED_COLUMNS) == 6 * len(ENCRYPTED_COLUMNS) - 3
    moved = fieldcrypt.reencrypt_step(db.engine, "complaints", ENCRYPTED_COLUMNS, batch=2)   # part of the way
    assert moved > 0
    during = [register(db, phone=f"1393000{i:04d}")["number"] for i in range(2)]             # arrivals meanwhile
    with db.session() as session:     # a handler edits a row the re-encrypt has not reached: not overwritten
        session.execute(update(Complaint).where(Complaint.number == legacy[2]).values(complainant_name="钱七"))
    fieldcrypt.rotate("complaints")                                                          # and again
    fieldcrypt._cache.clear()
    while fieldcrypt.reencrypt_step(db.engine, "complaints", ENCRYPTED_COLUMNS, batch=3):
        pass
    assert fieldcrypt.remaining(db.engine, "complaints", ENCRYPTED_COLUMNS) == 0
    state = fieldcrypt.status("complaints", db.engine, ENCRYPTED_COLUMNS)
    assert set(state["fields_by_key"]) == {state["active"]} and state["remaining"] == 0
    with db.session() as session:
        rows = {n: session.get(Complaint, n) for n in legacy + first + during}
        assert all(r.complainant_name in (NAME, "钱七") and r.complainant_address == ADDRESS for r in rows.values())
        assert rows[legacy[2]].complainant_name == "钱七"
        assert [rows[n].complainant_phone for n in first] == [f"1392000{i:04d}" for i in range(3)]
        assert store.numbers_by_id_number(session, ID_NUMBER) == sorted(first + during)
    assert fieldcrypt.drop_retired("complaints", db.engine, ENCRYPTED_COLUMNS)          # old keys unused now
    fieldcrypt._cache.clear()
    assert old_key not in fieldcrypt.keyring("complaints").data_keys
    with db.session() as session:
        assert session.get(Complaint, legacy[0]).complainant_name == NAME
    assert in_clear(dump(db.engine), SECRETS) == []


def test_issue22_zhifa_keys_cli_create_rotate_status_reencrypt(tmp_path):
    """The operator's commands on a suite whose register was written in clear (before the migration):
    ``zhifa keys status`` shows the plaintext fields, ``reencrypt`` encrypts them, ``rotate`` makes a new
    active key (old values readable), ``rotate --kek`` re-wraps, ``status --json`` ends at 0 remaining."""
    import json
    import os
    import sys

    from services.common.db import make_engine
    from services.common.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'complaints.db'}"
    upgrade("complaints", url)
    engine = make_engine(url)
    env = {**os.environ, "ZHIFA_COMPLAINTS_DB": url, "ZHIFA_KEYS_DIR": str(tmp_path / "keys"),
           "ZHIFA_VAR_DIR": str(tmp_path)}

    def zhifa(*args):
        proc = subprocess.run([sys.executable, "-m", "services.common.cli", "keys", *args], env=env, text=True,
                              capture_output=True, timeout=120)
        return proc.returncode, proc.stdout + proc.stderr

    with nameko_config.patch({"ZHIFA_FIELD_ENCRYPTION": False, "ZHIFA_KEYS_DIR": str(tmp_path / "keys"),
                              "ZHIFA_COMPLAINTS_ATTACHMENTS_DIR": str(tmp_path / "att")}, clear=False):
        number = register(_Db(engine))["number"]
    engine.dispose()
    code, out = zhifa("create", "--service", "complaints")
    assert code == 0 and "complaints: keyring" in out, out
    code, out = zhifa("status", "--service", "complaints", "--json")
    state = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert state["fields_by_key"] == {"plaintext": len(ENCRYPTED_COLUMNS)} and state["remaining"] == 6
    assert set(in_clear(open(tmp_path / "complaints.db", "rb").read(), SECRETS)) == set(SECRETS)
    code, out = zhifa("reencrypt", "--service", "complaints")
    assert code == 0 and "re-encrypt done (6 moved, 0 remaining)" in out, out
    code, out = zhifa("rotate", "--service", "complaints")
    assert code == 0 and "new active data key" in out
    code, out = zhifa("rotate", "--kek")
    assert code == 0 and "re-wrapped the keyrings of complaints" in out, out
    code, out = zhifa("status", "--service", "complaints", "--json")
    state = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert state["remaining"] == 6 and len(state["data_keys"]) == 2 and len(state["keks"]) == 1
    assert zhifa("reencrypt", "--service", "complaints")[0] == 0
    code, out = zhifa("status", "--service", "complaints")
    assert code == 0 and "0 not under the active key" in out, out
    with nameko_config.patch({"ZHIFA_KEYS_DIR": str(tmp_path / "keys")}, clear=False):
        fieldcrypt._cache.clear()
        engine = make_engine(url)
        with _Db(engine).session() as session:
            row = session.get(Complaint, number)
            assert (row.complainant_name, row.complainant_id_number) == (NAME, ID_NUMBER)
            assert store.numbers_by_id_number(session, ID_NUMBER) == [number]   # the index was filled too
        engine.dispose()
        fieldcrypt._cache.clear()
    assert in_clear(dump(make_engine(url)), SECRETS) == []
