"""国密 costs (issue 22): SM4-GCM field encryption, SM2 signatures, and records ingest with field
encryption on against off in the same run (short: in-process ingest, no broker).

    python bench/gm_crypto.py [--fields 20000] [--events 1500]

Prints:
    BENCH sm4_field_encrypt_us <µs> us          one personal field (~40 bytes UTF-8) encrypted, SM4-GCM
    BENCH sm4_field_decrypt_us <µs> us
    BENCH sm2_sign_ms <ms> ms                   a tree head, OpenSSL 3 (services/common/sm2.py)
    BENCH sm2_verify_ms <ms> ms                 OpenSSL 3
    BENCH sm2_verify_pure_ms <ms> ms            the Python equations (the auditor script's method)
    BENCH records_ingest_plain_events_per_s <n> events/s     ZHIFA_FIELD_ENCRYPTION off
    BENCH records_ingest_encrypted_events_per_s <n> events/s ZHIFA_FIELD_ENCRYPTION on
    BENCH records_ingest_encryption_cost <ratio> x           plain / encrypted (1.0 = free)

Ingest: ``--events`` decision events (each with a natural party: name, ID number, phone, address — sealed
into ``personal_data``) applied in batches of 100 through the records ingest pipeline (prepare → append →
commit) on a fresh PostgreSQL database per mode (SQLite when ZHIFA_BENCH_PG does not answer); the
two modes alternate twice and the better run of each counts.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nameko import config as nameko_config  # noqa: E402


def field_costs(n: int) -> tuple[float, float]:
    from services.common import fieldcrypt

    ring = fieldcrypt.keyring("records")
    value = "王小明 13912345678 常州市武进区湖塘镇"          # ~40 bytes UTF-8
    t = time.perf_counter()
    stored = [ring.encrypt(value, "bench") for _ in range(n)]
    enc = (time.perf_counter() - t) / n * 1e6
    t = time.perf_counter()
    for s in stored:
        ring.decrypt(s, "bench")
    dec = (time.perf_counter() - t) / n * 1e6
    return enc, dec


def sm2_costs() -> tuple[float, float, float]:
    from services.common import sm2
    from services.records.domain.treehead import SM2Signer

    signer = SM2Signer(sm2.generate_private_pem())
    pub = signer.public_key_bytes()
    msg = b"zhifa.records.sth.v1\x00" + bytes(80)
    t = time.perf_counter()
    sigs = [signer.sign(msg) for _ in range(200)]
    sign = (time.perf_counter() - t) / 200 * 1e3
    t = time.perf_counter()
    for s in sigs:
        sm2.verify(pub, msg, s)
    verify = (time.perf_counter() - t) / 200 * 1e3
    t = time.perf_counter()
    for s in sigs[:20]:
        sm2.verify_pure(pub, msg, s)
    pure = (time.perf_counter() - t) / 20 * 1e3
    return sign, verify, pure


@contextlib.contextmanager
def database():
    try:
        from harness import pg_database

        with pg_database() as url:
            yield url
            return
    except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: SQLite
        print(f"bench: PostgreSQL unavailable ({exc}); SQLite", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/records.db"


def ingest_rate(events: int, encrypted: bool) -> float:
    from sqlalchemy.orm import Session

    from services.common.db import make_engine
    from services.common.events import parse_event
    from services.common.migrations import upgrade
    from services.records import ingest
    from services.records.ledger import Ledger
    from tests.integration import events as ev

    class Db:
        def __init__(self, engine):
            self.engine = engine

        @contextlib.contextmanager
        def session(self):
            with Session(self.engine, expire_on_commit=False, info={"service": "records"}) as session:
                with session.begin():
                    yield session

    with nameko_config.patch({"ZHIFA_FIELD_ENCRYPTION": encrypted}, clear=False), database() as url:
        upgrade("records", url)
        engine = make_engine(url)
        db, ledger = Db(engine), Ledger()
        cases = [ev.case_id(f"GM-{i}") for i in range(20)]
        opened = [parse_event(ev.case_opened(c)) for c in cases]
        with ledger.appending(db) as session:
            ingest.apply_events(session, ledger, opened, "bench", prepared=ingest.prepare_events(opened))
        batches = []
        for start in range(0, events, 100):
            batch = [parse_event(ev.decision_made(cases[i % 20], party=ev.natural_party(f"当事人{i}"), version=i + 1))
                     for i in range(start, min(events, start + 100))]
            batches.append(batch)
        t = time.perf_counter()
        for batch in batches:
            prepared = ingest.prepare_events(batch)
            with ledger.appending(db) as session:
                ingest.apply_events(session, ledger, batch, "bench", prepared=prepared)
        rate = events / (time.perf_counter() - t)
        engine.dispose()
        return rate


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fields", type=int, default=20000)
    ap.add_argument("--events", type=int, default=1500)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as keys, \
            nameko_config.patch({"ZHIFA_KEYS_DIR": os.path.join(keys, "keys"),
                                 "ZHIFA_RECORDS_SIGNING_KEY": "5" * 64}, clear=False):
        enc, dec = field_costs(args.fields)
        print(f"BENCH sm4_field_encrypt_us {enc:.1f} us", flush=True)
        print(f"BENCH sm4_field_decrypt_us {dec:.1f} us", flush=True)
        sign, verify, pure = sm2_costs()
        print(f"BENCH sm2_sign_ms {sign:.2f} ms", flush=True)
        print(f"BENCH sm2_verify_ms {verify:.2f} ms", flush=True)
        print(f"BENCH sm2_verify_pure_ms {pure:.1f} ms", flush=True)
        plain = ingest_rate(args.events, False)
        encrypted = ingest_rate(args.events, True)
        plain = max(plain, ingest_rate(args.events, False))
        encrypted = max(encrypted, ingest_rate(args.events, True))
        print(f"BENCH records_ingest_plain_events_per_s {plain:.0f} events/s", flush=True)
        print(f"BENCH records_ingest_encrypted_events_per_s {encrypted:.0f} events/s", flush=True)
        print(f"BENCH records_ingest_encryption_cost {plain / encrypted:.2f} x", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
