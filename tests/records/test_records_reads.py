"""Staff reads are logged without the append lock (REC-6, REC-4; issue 20 "records scale"): a read writes
its access entry to ``pending_reads`` in its own short transaction and answers; the writer appends the
waiting reads in batches. A read completes while another writer holds the append lock, and every read
ends up in the verified log — also when the process dies between the read and the append, or in the
middle of the append. Runs on SQLite and PostgreSQL (``service_engine``)."""
from __future__ import annotations

import json
import threading

import pytest
from nameko import config as nameko_config
from sqlalchemy import func, select

from services.common.events import parse_event
from services.common.scope import Scope
from services.records import config, ingest, store
from services.records.ledger import Ledger
from services.records.models import LogEntry, PendingRead
from services.records.usecases import access, reading
from services.records.verify import verify_database
from tests.integration import events as ev
from tests.records.test_records_store import _Db, apply

REGION = "320412"


@pytest.fixture
def db(service_engine):
    with nameko_config.patch({"ZHIFA_RECORDS_SIGNING_KEY": "6" * 64, "ZHIFA_RECORDS_SELF_CHECK_RETRY": 0},
                             clear=False):
        yield _Db(service_engine("records"))


def accessor(n: int) -> dict:
    return {"subject": f"officer-{n}", "role": "supervisor", "region_code": REGION, "purpose": f"案卷评查 {n}",
            "request_id": f"req-{n:04d}"}


def scope():
    return Scope.granted("supervisor", REGION).as_dict()


def logged_requests(db) -> list[str]:
    with db.session() as session:
        rows = session.scalars(select(LogEntry.canonical).where(LogEntry.entry_kind == "access")
                               .order_by(LogEntry.sequence)).all()
    return [json.loads(c)["data"]["request_id"] for c in rows]


def pending(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(PendingRead))


def verified(db, ledger) -> dict:
    """Every entry under a signed head, recomputed from the database (``verify``, pinned key)."""
    with ledger.appending(db) as session:
        ledger.sign_head(session, "test")
    report = verify_database(db.engine.url.render_as_string(hide_password=False),
                             config.signer().public_key_bytes().hex())
    assert report["ok"] and report["status"] == "verified", report
    return report


def test_rec6_issue20_a_read_completes_while_another_writer_holds_the_append_lock(db):
    """The timeline is read and answered while another writer holds the append lock (this process's
    lock, and on PostgreSQL the advisory lock a second replica holds): the read does not wait for it.
    Its access entry waits in pending_reads and is appended by the writer afterwards."""
    ledger = Ledger()
    apply(db, ledger, [ev.case_opened("320412-SCJG-READ-1"), ev.evidence("320412-SCJG-READ-1", n=1)])
    holding, release = threading.Event(), threading.Event()
    other = Ledger()          # a second replica

    def writer():
        with ledger.lock:     # this process's append lock
            if db.engine.dialect.name == "postgresql":
                with other.appending(db):      # the append lock across replicas (advisory lock)
                    holding.set()
                    release.wait(20)
            else:                              # SQLite: one process, the in-process lock is the append lock
                holding.set()
                release.wait(20)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(20)
        answer = reading.case_timeline(db, ledger, "320412-SCJG-READ-1", scope(), accessor(1))
        # answered while the writer still holds the lock (had the read waited, the writer would have
        # given up after 20 s and left: the thread would be gone)
        assert thread.is_alive() and not release.is_set()
        assert [e["event_type"] for e in answer["entries"]] == ["case.opened", "evidence.recorded"]
        assert pending(db) == 1 and logged_requests(db) == []
    finally:
        release.set()
        thread.join(30)
    assert access.append_pending(db, ledger) == 1
    assert pending(db) == 0 and logged_requests(db) == ["req-0001"]
    verified(db, ledger)


def test_rec6_issue20_reads_are_appended_in_batches_in_the_order_they_were_made(db):
    """The writer (an ingest batch here) appends every waiting read, in the order of the reads, once."""
    ledger = Ledger()
    case_id = "320412-SCJG-READ-2"
    apply(db, ledger, [ev.case_opened(case_id)])
    with ledger.lock:         # held: the reads cannot append on their way out
        for n in range(7):
            reading.case_timeline(db, ledger, case_id, scope(), accessor(n))
    assert pending(db) == 7 and logged_requests(db) == []
    with ledger.lock:
        reading.search_entries(db, ledger, scope(), {"case_id": case_id}, accessor(7))
    assert pending(db) == 8
    before = ledger.size
    db.consumer = "records.test"
    ingest.apply(db, ledger, [parse_event(ev.evidence(case_id, n=2))])   # the writer drains on its way
    assert ledger.size == before + 1 + 8
    assert logged_requests(db) == [f"req-{n:04d}" for n in range(8)] and pending(db) == 0
    verified(db, ledger)


class Crash(BaseException):
    """The process dies (not an error any handler catches)."""


def test_rec6_issue20_no_read_goes_unlogged_when_the_process_dies_between_the_read_and_the_append(db, monkeypatch):
    """A read answered, then its process died before the append (and another died in the middle of
    appending, before the commit): a fresh process appends each waiting read exactly once, and the
    whole log verifies against a signed head with every read in it."""
    ledger = Ledger()
    case_id = "320412-SCJG-READ-3"
    apply(db, ledger, [ev.case_opened(case_id), ev.evidence(case_id, n=1)])

    # 1. the read's transaction committed, the process dies on its way to append
    real = store.append_pending_reads

    def dies(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(store, "append_pending_reads", dies)
    with pytest.raises(Crash):
        reading.case_timeline(db, ledger, case_id, scope(), accessor(1))
    monkeypatch.setattr(store, "append_pending_reads", real)
    assert pending(db) == 1 and logged_requests(db) == []

    # 2. a second read; the writer dies after hashing the entries, before its transaction commits
    with ledger.lock:
        reading.case_timeline(db, ledger, case_id, scope(), accessor(2))
    flush = store.Appender.flush

    def dies_in_flush(self):
        flush(self)
        raise Crash()

    monkeypatch.setattr(store.Appender, "flush", dies_in_flush)
    with pytest.raises(Crash):
        access.append_pending(db, ledger)
    monkeypatch.setattr(store.Appender, "flush", flush)
    assert pending(db) == 2 and logged_requests(db) == []     # rolled back: nothing appended, nothing lost

    # 3. another process (a fresh ledger, rebuilt from the database) appends them
    restarted = Ledger()
    assert access.append_pending(db, restarted) == 2
    assert logged_requests(db) == ["req-0001", "req-0002"] and pending(db) == 0
    verified(db, restarted)
    with db.session() as session:           # the purpose was sealed beside the log and verifies (REC-8)
        rows = session.scalars(select(LogEntry).where(LogEntry.entry_kind == "access")).all()
        personal = store.personal_for(session, [r.sequence for r in rows])
        assert [store.sealed_fields(personal[r.sequence])["purpose"] for r in rows] == ["案卷评查 1", "案卷评查 2"]
