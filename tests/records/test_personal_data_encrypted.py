"""Issue 22, REC-8, REC-4: the records' erasable personal data is SM4-GCM-encrypted at rest. A dump of the
records database (SQLite file bytes; pg_dump on PostgreSQL) holds no party name, ID number, phone or
address in clear; the commitments in the log still verify against the decrypted data; after a data-key
rotation and the background re-encrypt every field is readable; erasure (REC-8) still deletes the data and
every signed head and proof stays valid (the records verifier reports OK)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from nameko import config as nameko_config
from sqlalchemy import Text, select, type_coerce

from services.common import fieldcrypt
from services.records import verify as records_verify
from services.records.domain.entries import verify_personal
from services.records.ledger import Ledger
from services.records.models import ENCRYPTED_COLUMNS, LogEntry, PersonalData
from services.records.usecases import retention
from tests.complaints.test_fields_encrypted import dump, in_clear
from tests.integration import events as ev
from tests.records.test_records_selfcheck import sign
from tests.records.test_records_store import _Db, apply

PARTY = {**ev.natural_party("孙八"), "phone": "13955556666", "address": "常州市钟楼区西林街道7号"}
SECRETS = ["孙八", PARTY["id_number"], "13955556666", "常州市钟楼区西林街道7号"]


@pytest.fixture
def db(service_engine, tmp_path):
    (tmp_path / "retention.yaml").write_text("version: 1\npersonal_data:\n  default_years: 0\n", encoding="utf-8")
    with nameko_config.patch({"ZHIFA_KEYS_DIR": str(tmp_path / "keys"), "ZHIFA_FIELD_ENCRYPTION": True,
                              "ZHIFA_RECORDS_SIGNING_KEY": "7" * 64,
                              "ZHIFA_RECORDS_RETENTION_FILE": str(tmp_path / "retention.yaml")}, clear=False):
        fieldcrypt._cache.clear()
        yield _Db(service_engine("records"))
        fieldcrypt._cache.clear()


def personal(db):
    with db.session() as session:
        entries = {r.sequence: json.loads(r.canonical) for r in session.scalars(select(LogEntry))}
        return entries, {p.sequence: p for p in session.scalars(select(PersonalData))}


def test_issue22_rec8_records_dump_clean_rotation_readable_erasure_keeps_proofs(db):
    ledger = Ledger()
    archived = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    apply(db, ledger, [ev.case_opened("P-1", party=PARTY), ev.decision_made("P-1", party=PARTY)])
    assert sign(db, ledger).tree_size == 2
    entries, rows = personal(db)
    assert rows and all(verify_personal(entries[s], bytes.fromhex(p.salt), p.data) for s, p in rows.items())
    assert any("孙八" in json.dumps(p.data, ensure_ascii=False) for p in rows.values())
    with db.session() as session:
        raw = session.execute(select(type_coerce(PersonalData.data, Text))).scalars().all()
        assert raw and all(v.startswith("gm1:dk-") for v in raw)
    assert in_clear(dump(db.engine), SECRETS) == []

    # a rotation mid-stream: more records under the new key, the old ones moved in the background
    fieldcrypt.rotate("records")
    fieldcrypt._cache.clear()
    apply(db, ledger, [ev.evidence("P-1", n=1), ev.decision_made("P-1", party=PARTY, version=2)])
    assert fieldcrypt.remaining(db.engine, "records", ENCRYPTED_COLUMNS) == len(rows)
    while fieldcrypt.reencrypt_step(db.engine, "records", ENCRYPTED_COLUMNS, batch=1):
        pass
    entries, rows = personal(db)
    assert all(verify_personal(entries[s], bytes.fromhex(p.salt), p.data) for s, p in rows.items())
    apply(db, ledger, [ev.case_archived("P-1", at=archived)])
    head = sign(db, ledger)
    url = db.engine.url.render_as_string(hide_password=False)
    from services.records import config

    public = config.signer().public_key_bytes().hex()
    before = records_verify.verify_database(url, public)
    assert before["ok"] and not before["personal_data_mismatch"], (before["first_problem"], before["personal_data_mismatch"], before["problems"])
    assert in_clear(dump(db.engine), SECRETS) == []

    # REC-8: erasure after the retention period (0 days here) deletes the data; every proof stays valid
    answer = retention.erase_personal(db, ledger, "P-1", {"region_code": "320412", "bodies": "*"}, "admin-1",
                                      "保存期限届满")
    assert answer and answer["erased_entries"] == len(rows), answer
    entries, rows = personal(db)
    assert all(p.data is None and p.salt is None for p in rows.values())
    after_head = sign(db, ledger)
    assert after_head.tree_size == head.tree_size + 1
    after = records_verify.verify_database(url, public)
    assert after["ok"] and after["heads_verified"] == 3, after
    assert in_clear(dump(db.engine), SECRETS) == []
