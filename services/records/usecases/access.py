"""调阅登记 (REC-6): every read of a case's records through the API becomes an ``access`` entry of the
log — who, in which role, which view, for which purpose (sealed beside the log), and the gateway
request's correlation id (its audit entries, SEC-3, name it too).

Issue 20: a read does not take the append lock. Its entries are built (sealed, serialised with
sequence 0) and written to ``pending_reads`` in the read's own short transaction, so a read that
answered is logged even if the process dies next; the writer — whoever holds the append lock: the
ingest batch, the 1 s timer, the read itself when the lock happens to be free — appends them in
batches, in the order they were enqueued, and deletes them in the same transaction."""
from __future__ import annotations

import contextlib
import datetime as dt
import logging

from services.common.db import utcnow
from services.records import metrics as rec_metrics
from services.records import ingest, store
from services.records.domain.entries import EntryKind
from services.records.models import Case

log = logging.getLogger(__name__)
MAX_PAGE = 200
READ_BATCH = 500      # access entries appended per transaction by the writer (issue 20)


def error(status: int, code: str, message: str) -> dict:
    """A refusal as the RPC answers it (the gateway turns it into the HTTP error)."""
    return {"error": {"status": status, "code": code, "message": message}}


def log_access(reads: "ReadLog", case: Case, accessor: dict | None, view: str, **data) -> None:
    """One read of a case's records, enqueued as its ``access`` entry in the read's transaction."""
    if not accessor:
        return
    reads.add(store.prepare_entry(
        EntryKind.ACCESS, case_id=case.case_id, region_code=case.region_code, body_id=case.body_id,
        occurred_at=reads.now,
        data={"accessor": accessor.get("subject"), "role": accessor.get("role"), "view": view,
              "accessor_region": accessor.get("region_code"),
              "purpose_stated": bool(accessor.get("purpose_stated", True)),
              # the gateway request's correlation id: its audit entries (SEC-3) name it too
              **({"request_id": accessor["request_id"]} if accessor.get("request_id") else {}),
              **data},
        personal={"purpose": accessor.get("purpose") or ""},
        index={"subject": accessor.get("subject"), "role": accessor.get("role"), "view": view}))
    rec_metrics.ACCESSES.labels(case.region_code, accessor.get("role") or "", view).inc()


class ReadLog:
    """The access entries of one read (REC-6, issue 20), written to ``pending_reads`` in the read's own
    transaction: a read never waits for the append lock, and once it answered its log entry is durable —
    appended by the next holder of the lock (``append_pending``)."""

    def __init__(self, session, now=None):
        self.session, self.now = session, now or utcnow()
        self.count = 0

    def add(self, prepared) -> None:
        store.enqueue_read(self.session, prepared)
        self.count += 1


@contextlib.contextmanager
def logged_read(db, ledger):
    """A read transaction whose access entries are enqueued (``ReadLog``); no append lock. Refused
    while this process found the log inconsistent with its signed heads (503, REC-4). After the commit
    the entries are appended at once if the append lock is free (never waiting for it)."""
    ledger.refuse_while_failed()
    with db.session() as session:
        reads = ReadLog(session)
        yield session, reads
    if not reads.count:
        return
    try:
        append_pending(db, ledger, wait=False)
    except Exception:  # noqa: BLE001 - the read is answered and its entry durable: the writer appends it
        log.exception("records: enqueued reads not appended on the way out; the writer will")


def append_pending(db, ledger, wait=True) -> int:
    """Append the enqueued reads (every replica's) in batches, under the append lock; ``wait=False``:
    only if the lock is free right now and this process's tree is ready (a read never waits, and
    never rebuilds the tree). Returns how many were appended."""
    total = 0
    while True:
        if wait:
            context = ledger.appending(db)
        else:
            context = ledger.try_appending(db)
        with context as session:
            if session is None:
                return total
            appended = store.append_pending_reads(session, ledger, READ_BATCH)
        if appended:
            ingest.count_appended(appended)
            rec_metrics.TREE_SIZE.set(ledger.size)
        total += len(appended)
        if len(appended) < READ_BATCH:
            return total


def append_pending_if_any(db, ledger) -> int:
    """The timer's pass: append waiting reads when there are any (one cheap query otherwise)."""
    with db.session() as session:
        if not store.has_pending_reads(session):
            return 0
    return append_pending(db, ledger)


def finish_appends(appender) -> None:
    """The entries an appending use case made written and counted (no per-batch event, issue 17)."""
    appender.flush()
    ingest.count_appended(appender.appended)


def refusal_view(r) -> dict:
    return {"event_id": r.event_id, "event_type": r.event_type, "case_id": r.case_id, "region_code": r.region_code,
            "body_id": r.body_id, "reason": r.reason, "refused_at": store.iso(r.refused_at),
            "log_sequence": r.log_sequence, "corrected_by_sequence": r.corrected_by_sequence,
            "content_kept": r.envelope is not None}


def parse_time(value):
    """A filter's time (ISO; China time when it names no zone) in UTC."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))   # checked by the gateway
    return store.to_utc(moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=8))))
