"""Queries of the records service and the writing of log entries: the ``Appender`` gives prepared
entries their sequence numbers, hashes them into the Merkle tree and writes the rows in bulk (the entry
gets the next sequence number, its public part is hashed into the tree, the personal part goes beside
the log with its salt, REC-8); the read models (timeline, entries, parties, accesses, refusals, heads).

No pipeline and no domain decision here: the ingest pipeline (prepare → claim → append → gaps → emit) is
``services/records/ingest.py``, what an event files and when a record is refused is
``services/records/domain/filing.py``.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, delete, func, insert, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from services.common import fieldcrypt
from services.common.blobs import sm3_hex
from services.common.db import dialect_insert, one_of, utcnow
from services.common.events import jsonable
from services.common.identifiers import region_prefix
from services.common.scope import Scope
from services.records.domain.entries import (
    SEQ_KEY,
    EntryKind,
    RecordKind,
    SealedEntry,
    Stage,
    entry_bytes,
    make_entry,
    seal_personal,
    with_sequence,
)
from services.records.domain.filing import OPENING_CHECKED, RETRACTABLE
from services.records.domain.merkle import leaf_hash as merkle_leaf_hash
from services.records.ledger import Ledger
from services.records.models import (
    Blob,
    Case,
    LogEntry,
    PartyLink,
    PendingRead,
    PersonalData,
    RefusedEvent,
    SelfCheck,
    TreeHeadRow,
    WitnessedHead,
    WitnessLog,
)


TIMELINE_KINDS = ("record", "stage", "archive", "correction")


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes for timezone-aware columns: they were stored in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment


def to_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """Stored in UTC: SQLite keeps the wall-clock time and drops the offset of aware datetimes."""
    return aware(moment).astimezone(dt.UTC) if moment is not None else None


def iso(moment: dt.datetime | None) -> str | None:
    return aware(moment).isoformat() if moment is not None else None


_SCALARS = (str, int, bool, type(None))


def _plain(value):
    """JSON-compatible, float-free (entries refuse floats: their text differs between languages).
    Values from the wire are already JSON: only floats are rewritten (as their decimal text)."""
    t = type(value)
    if t in _SCALARS:
        return value
    if t is dict:
        return {str(k): (v if type(v) in _SCALARS else _plain(v)) for k, v in value.items()}
    if t is list or t is tuple:
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if t is float:
        return repr(value)
    return _plain(jsonable(value)) if not isinstance(value, (str, int)) else value


def bulk_insert(session: Session, model, rows: list[dict]) -> None:
    """INSERT many rows: PostgreSQL COPY (one stream instead of a round trip per row), else executemany."""
    if not rows:
        return
    if session.bind.dialect.name != "postgresql":
        session.execute(insert(model), rows)
        return
    table = model.__table__
    columns = list(rows[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    # COPY bypasses the column types: encrypted columns (issue 22) are encrypted here, as an INSERT would
    dialect = session.bind.dialect
    # per batch, not per value: an encrypted column's keyring (``batch_binder``), any other type's binder
    bind = {c.name: (c.type.batch_binder() if hasattr(c.type, "batch_binder")
                     else functools.partial(c.type.process_bind_param, dialect=dialect))
            for c in table.columns if isinstance(c.type, TypeDecorator)}
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([bind[c](row[c]) if c in bind
                                else json.dumps(row[c], ensure_ascii=False) if c in json_columns and row[c] is not None
                                else row[c] for c in columns])


PARTY_INDEX = "party_key"
KEYED = "k:"


def _party_basis(party: dict) -> str:
    return str(party.get("id_number") or f"{party.get('party_kind')}:{party.get('name')}")


def party_key(party: dict) -> str:
    """The party's key in ``party_links`` (issue 22): ``k:`` + HMAC-SM3 of its ID number (or kind:name) under
    the records index key — a keyed blind index, so the table cannot be matched against a list of ID
    numbers without the key."""
    return KEYED + fieldcrypt.blind_index("records", _party_basis(party), PARTY_INDEX)


def legacy_party_key(party: dict) -> str:
    """The unkeyed SM3 that links written before issue 22 carry, until ``rekey_party_links`` moved them."""
    return sm3_hex(_party_basis(party).strip().upper().encode("utf-8"))


def _parties_of(data: Any) -> list[dict]:
    """The parties in a personal-data value (the sealed fields: ``parties``, ``party``, under ``personal``)."""
    if not isinstance(data, dict):
        return []
    found = [p for p in (data.get("parties") or ()) if isinstance(p, dict)]
    if isinstance(data.get("party"), dict):
        found.append(data["party"])
    return found + _parties_of(data.get("personal"))


_rekeyed: set[str] = set()      # databases whose links are all keyed (seen by this process)


def rekey_party_links(session: Session, batch: int = 500) -> int | None:
    """Move links still under the unkeyed SM3 (written before issue 22) to the keyed index, mapping each
    through the parties in the case's (decrypted) personal data. Returns how many moved; None once none is
    left (new links are always keyed, so a process stops looking). A legacy link whose party is not in the
    personal data any more is deleted: it could only be found by the unkeyed hash."""
    where = str(session.get_bind().url)
    if where in _rekeyed:
        return None
    rows = session.execute(select(PartyLink.id, PartyLink.party_key, PartyLink.case_id)
                           .where(~PartyLink.party_key.like(f"{KEYED}%")).order_by(PartyLink.id).limit(batch)).all()
    if not rows:
        _rekeyed.add(where)
        return None
    cases = sorted({r.case_id for r in rows})
    mapping: dict[tuple[str, str], str] = {}
    for p in session.scalars(select(PersonalData).where(PersonalData.case_id.in_(cases),
                                                        PersonalData.data.is_not(None))):
        for party in _parties_of(p.data):
            mapping[(p.case_id, legacy_party_key(party))] = party_key(party)
    moved = 0
    for r in rows:
        new = mapping.get((r.case_id, r.party_key))
        exists = new is not None and session.scalar(select(func.count()).select_from(PartyLink).where(
            PartyLink.party_key == new, PartyLink.case_id == r.case_id))
        if new is None or exists:
            session.execute(delete(PartyLink).where(PartyLink.id == r.id))
        else:
            session.execute(update(PartyLink).where(PartyLink.id == r.id).values(party_key=new))
        moved += 1
    return moved


# --------------------------------------------------------------------------------------- appending
@dataclass
class Appended:
    sequence: int
    kind: str
    case_id: str | None
    region_code: str
    body_id: str
    leaf_hash: str


@dataclass
class PreparedEntry:
    """An entry built, sealed and serialised with sequence 0 before the append lock is taken, so
    that replicas hold the lock for less (issue 3, ingestion): under the lock the sequence is
    written into the bytes (``with_sequence``), hashed and appended."""

    kind: str
    case_id: str | None
    region_code: str
    body_id: str
    occurred_at: dt.datetime
    stage: str | None
    record_kind: str | None
    document_type: str | None
    hashes: list[str]
    index: dict
    event_id: str | None
    event_type: str | None
    sealed: SealedEntry            # its public part has seq 0: serialised again if the bytes need it
    zero_bytes: bytes


def prepare_entry(kind: EntryKind | str, *, case_id: str | None, region_code: str, body_id: str,
                  occurred_at: dt.datetime | str, stage: str | None = None, record_kind: str | None = None,
                  document_type: str | None = None, content_hashes: Iterable[str] = (),
                  officers: Iterable[str] = (), data: dict | None = None, personal: dict | None = None,
                  event_id: str | None = None, event_type: str | None = None,
                  index: dict | None = None) -> PreparedEntry:
    """Everything of an entry but its sequence: fields checked, personal data sealed, bytes made."""
    extra: dict[str, Any] = {}
    if event_id:
        extra["event_id"] = event_id
    if event_type:
        extra["event_type"] = event_type
    if data:
        extra["data"] = _plain(data)
    if personal:
        extra["personal"] = _plain(personal)
    hashes = sorted({h for h in content_hashes if h})
    entry = make_entry(0, kind, case_id=case_id or "", region_code=region_code, body_id=body_id,
                       occurred_at=occurred_at, stage=stage, record_kind=record_kind,
                       document_type=document_type, content_hashes=hashes, officers=officers, extra=extra)
    sealed = seal_personal(entry)
    occurred = to_utc(occurred_at if isinstance(occurred_at, dt.datetime)
                      else dt.datetime.fromisoformat(occurred_at))
    return PreparedEntry(EntryKind(kind).value, case_id, region_code, body_id, occurred, stage, record_kind,
                         document_type, hashes, index or {}, event_id, event_type, sealed,
                         entry_bytes(sealed.public))


class Appender:
    """Gives prepared entries consecutive sequence numbers, hashes them into the ledger's tree and
    writes rows in bulk (one INSERT per table per transaction)."""

    def __init__(self, session: Session, ledger: Ledger, now: dt.datetime | None = None):
        self.session, self.ledger = session, ledger
        self.now = now or utcnow()
        self.rows: list[dict] = []
        self.personal_rows: list[dict] = []
        self.appended: list[Appended] = []

    def append(self, kind: EntryKind | str, **fields) -> Appended:
        """Append an entry (the fields of ``prepare_entry``)."""
        return self.append_prepared(prepare_entry(kind, **fields))

    def append_prepared(self, p: PreparedEntry) -> Appended:
        """Append an entry prepared earlier: its sequence is the tree's next."""
        seq = self.ledger.size
        raw = with_sequence(p.zero_bytes, seq) or entry_bytes({**p.sealed.public, SEQ_KEY: seq})
        leaf = merkle_leaf_hash(raw)
        self.ledger.append_leaf(leaf)
        self.rows.append({
            "sequence": seq, "entry_kind": p.kind, "event_id": p.event_id, "event_type": p.event_type,
            "case_id": p.case_id, "region_code": p.region_code, "body_id": p.body_id, "stage": p.stage,
            "record_kind": p.record_kind, "document_type": p.document_type, "occurred_at": p.occurred_at,
            "canonical": raw.decode("utf-8"), "leaf_hash": leaf.hex(), "details": p.index,
            "content_hash": p.hashes[0] if p.hashes else None, "recorded_at": self.now})
        if p.sealed.commitment:
            self.personal_rows.append({"sequence": seq, "case_id": p.case_id, "salt": p.sealed.salt.hex(),
                                       "data": p.sealed.personal})
        done = Appended(seq, p.kind, p.case_id, p.region_code, p.body_id, leaf.hex())
        self.appended.append(done)
        return done

    def flush(self) -> None:
        if self.rows:
            bulk_insert(self.session, LogEntry, self.rows)
            self.rows = []
        if self.personal_rows:
            bulk_insert(self.session, PersonalData, self.personal_rows)
            self.personal_rows = []


# ------------------------------------------------------------------- reads waiting to be logged
def enqueue_read(session: Session, p: PreparedEntry) -> None:
    """A read's access entry into ``pending_reads`` (REC-6, issue 20), in the read's transaction."""
    session.add(PendingRead(case_id=p.case_id, region_code=p.region_code, body_id=p.body_id,
                            occurred_at=p.occurred_at, entry=p.zero_bytes.decode("utf-8"), details=p.index,
                            salt=p.sealed.salt.hex() if p.sealed.commitment else None,
                            personal=p.sealed.personal if p.sealed.commitment else None))


def has_pending_reads(session: Session) -> bool:
    return session.scalar(select(PendingRead.id).limit(1)) is not None


def append_pending_reads(session: Session, ledger: Ledger, limit: int, now: dt.datetime | None = None) -> list[Appended]:
    """Append up to ``limit`` waiting reads, oldest first, and delete them — inside an appending
    transaction (the append lock held: no other replica drains at the same time)."""
    rows = session.scalars(select(PendingRead).order_by(PendingRead.id).limit(limit)).all()
    if not rows:
        return []
    appender = Appender(session, ledger, now)
    for row in rows:
        public = json.loads(row.entry)
        sealed = SealedEntry(public=public, personal=row.personal or {},
                             salt=bytes.fromhex(row.salt) if row.salt else b"",
                             commitment=public.get("personal_commitment"))
        appender.append_prepared(PreparedEntry(
            EntryKind.ACCESS.value, row.case_id, row.region_code, row.body_id, aware(row.occurred_at), None, None,
            None, [], row.details or {}, None, None, sealed, row.entry.encode("utf-8")))
    appender.flush()
    session.execute(delete(PendingRead).where(PendingRead.id.in_([r.id for r in rows])))
    return appender.appended


def link_parties(session: Session, links: set[tuple[str, str]]) -> None:
    """Store each (party key, case) link once — REC-4 "same party stored together". One INSERT …
    ON CONFLICT DO NOTHING and no read first: a SELECT of the batch's links with an IN list got a
    sequential-scan plan as the table grew (6% of the records service's time in the e2e mix)."""
    if not links:
        return
    ordered = sorted(links)
    if session.bind.dialect.name == "postgresql":
        # arrays, not a VALUES list: one statement text for every batch size (prepared once)
        session.execute(text(
            "INSERT INTO party_links (party_key, case_id) SELECT k, c FROM unnest(CAST(:k AS text[]), "
            "CAST(:c AS text[])) AS x(k, c) ON CONFLICT (party_key, case_id) DO NOTHING"),
            {"k": [k for k, _ in ordered], "c": [c for _, c in ordered]})
    else:
        session.execute(sqlite_insert(PartyLink).on_conflict_do_nothing(index_elements=["party_key", "case_id"]),
                        [{"party_key": k, "case_id": c} for k, c in ordered])


def opening_checked_records(session: Session, case_id: str) -> list[LogEntry]:
    """The case's records (not corrections) of the event types checked against its opening (REC-1)."""
    return session.scalars(select(LogEntry).where(
        LogEntry.case_id == case_id, LogEntry.entry_kind.in_(RETRACTABLE),
        LogEntry.event_type.in_(OPENING_CHECKED)).order_by(LogEntry.sequence)).all()


def refused_event_ids(session: Session, case_ids) -> set[str]:
    return set(session.scalars(select(RefusedEvent.event_id).where(one_of(session, RefusedEvent.case_id,
                                                                          set(case_ids)))))


def load_cases(session: Session, case_ids) -> dict[str, Case]:
    """The stored cases among ``case_ids``, in one query."""
    return {c.case_id: c for c in session.scalars(select(Case).where(one_of(session, Case.case_id, set(case_ids))))}


def case_records_many(session: Session, case_ids: list[str]) -> dict[str, list[dict]]:
    """The filed items of each case (document type / record kind, stage, measure covered), for
    ``find_gaps`` — one query for all the cases of a batch."""
    rows = session.execute(select(LogEntry.case_id, LogEntry.document_type, LogEntry.record_kind, LogEntry.stage,
                                  LogEntry.details, LogEntry.event_id, LogEntry.entry_kind)
                           .where(one_of(session, LogEntry.case_id, case_ids),
                                  LogEntry.entry_kind.in_(TIMELINE_KINDS))).all()
    refused = refused_event_ids(session, case_ids)      # retracted records do not count (REC-1)
    out: dict[str, list[dict]] = {c: [] for c in case_ids}
    for case_id, document_type, record_kind, stage, details, event_id, kind in rows:
        if not stage or (event_id and event_id in refused and kind in RETRACTABLE):
            continue
        records = out[case_id]
        covers = (details or {}).get("covers")
        if document_type:
            records.append({"document_type": document_type, "stage": stage, "covers": covers})
        if record_kind and record_kind != "text":
            records.append({"record_kind": record_kind, "stage": stage, "covers": covers})
    return out


def case_records(session: Session, case_id: str) -> list[dict]:
    return case_records_many(session, [case_id])[case_id]


# ------------------------------------------------------------------------------------- read models
def entry_view(row: LogEntry, personal: PersonalData | None = None, stored_blobs: set | None = None) -> dict:
    """What staff see of one entry: its public fields, the sealed fields while not erased, the
    leaf hash to check it with."""
    entry = json.loads(row.canonical)
    details = dict(entry.get("data") or {})
    erased = False
    if personal is not None:
        if personal.data is not None:
            details.update(sealed_fields(personal))
        else:
            erased = True
    view = {
        "sequence": row.sequence, "entry_kind": row.entry_kind, "kind_label": EntryKind(row.entry_kind).label,
        "event_type": row.event_type, "event_id": row.event_id, "case_id": row.case_id,
        "region_code": row.region_code, "body_id": row.body_id, "stage": row.stage,
        "stage_label": Stage(row.stage).label if row.stage else None, "record_kind": row.record_kind,
        "record_kind_label": RecordKind(row.record_kind).label if row.record_kind else None,
        "document_type": row.document_type, "occurred_at": iso(row.occurred_at),
        "recorded_at": iso(row.recorded_at),
        "officers": entry.get("officers", []), "leaf_hash": row.leaf_hash, "details": details,
        "personal_erased": erased,
        "attachments": [{"content_hash": h, "stored": (h in stored_blobs) if stored_blobs is not None else None}
                        for h in entry.get("content_hashes", [])],
    }
    for key in ("corrects", "authorised_by"):
        if key in entry.get("data", {}):
            view[key] = entry["data"][key]
    return view


def sealed_fields(personal: PersonalData | None) -> dict:
    """The sealed fields of an entry (stored as the committed object ``{"personal": {...}}``)."""
    if personal is None or personal.data is None:
        return {}
    return dict(personal.data.get("personal") or {})


def personal_for(session: Session, sequences: list[int]) -> dict[int, PersonalData]:
    if not sequences:
        return {}
    return {p.sequence: p for p in session.scalars(select(PersonalData).where(PersonalData.sequence.in_(sequences)))}


def timeline(session: Session, case_id: str, kinds=TIMELINE_KINDS) -> list[LogEntry]:
    """A case's entries in the order things happened (REC-1): events of one case travel on separate
    queues, so the log (arrival) order may differ; each entry still shows its log sequence."""
    refused = refused_event_ids(session, [case_id])     # records retracted later (REC-1): with the refusals
    return [r for r in session.scalars(select(LogEntry).where(LogEntry.case_id == case_id,
                                                              LogEntry.entry_kind.in_(kinds))
                                       .order_by(LogEntry.occurred_at, LogEntry.sequence))
            if not (r.entry_kind in RETRACTABLE and r.event_id and r.event_id in refused)]


def region_filter(column, scope_region: str):
    return column.startswith(region_prefix(scope_region))


def search_entries(session: Session, scope: Scope, *, region_code=None, body_id=None, stage=None,
                   period_from=None, period_to=None, case_id=None, limit=100, after_sequence=None) -> list[LogEntry]:
    """Timeline entries in the caller's scope: its region AND its bodies (SEC-2, PLAT-1)."""
    q = scope.where(select(LogEntry).where(LogEntry.entry_kind.in_(TIMELINE_KINDS)), LogEntry.region_code,
                    LogEntry.body_id)
    if region_code:
        q = q.where(region_filter(LogEntry.region_code, region_code))
    if body_id:
        q = q.where(LogEntry.body_id == body_id)
    if stage:
        q = q.where(LogEntry.stage == stage)
    if period_from:
        q = q.where(LogEntry.occurred_at >= period_from)
    if period_to:
        q = q.where(LogEntry.occurred_at < period_to)
    if case_id:
        q = q.where(LogEntry.case_id == case_id)
    if after_sequence is not None:
        q = q.where(LogEntry.sequence > after_sequence)
    return list(session.scalars(q.order_by(LogEntry.sequence).limit(limit)))


def cases_of_party(session: Session, keys: list[str], scope: Scope) -> list[Case]:
    """Cases linked to any of ``keys`` (the keyed index, and the legacy hash until the re-key is done)."""
    ids = select(PartyLink.case_id).where(PartyLink.party_key.in_(keys))
    return list(session.scalars(scope.where(select(Case).where(Case.case_id.in_(ids)), Case.region_code, Case.body_id)
                                .order_by(Case.case_id)))


def access_entries(session: Session, scope: Scope, *, case_id=None, subject=None, limit=200,
                   before_sequence=None) -> list[LogEntry]:
    q = scope.where(select(LogEntry).where(LogEntry.entry_kind == "access"), LogEntry.region_code, LogEntry.body_id)
    if case_id:
        q = q.where(LogEntry.case_id == case_id)
    if subject:
        # canonical JSON has sorted keys and no whitespace: the accessor field is an exact substring
        q = q.where(LogEntry.canonical.contains(json.dumps({"accessor": subject}, ensure_ascii=False, separators=(",", ":"))[1:-1]))
    if before_sequence is not None:
        q = q.where(LogEntry.sequence < before_sequence)
    return list(session.scalars(q.order_by(LogEntry.sequence.desc()).limit(limit)))


# --- what the entrypoints' use cases read (usecases/): queries only ------------------------------

def cases_in(session: Session, case_ids) -> list[Case]:
    """The stored cases among ``case_ids`` (in the database's order)."""
    return list(session.scalars(select(Case).where(Case.case_id.in_(case_ids))))


def stored_blobs(session: Session, hashes) -> set[str]:
    """Which of the attachment hashes are stored in the attachment store."""
    return set(session.scalars(select(Blob.content_hash).where(Blob.content_hash.in_(hashes)))) if hashes else set()


def add_blob_if_new(session: Session, content_hash: str, **fields) -> bool:
    """Record an uploaded attachment once; True when it was stored before."""
    # INSERT … ON CONFLICT DO NOTHING: the same attachment uploaded twice at once is stored once, neither
    # upload failing on the primary key (issue 20)
    return session.scalar(dialect_insert(session, Blob).values(content_hash=content_hash, **fields)
                          .on_conflict_do_nothing().returning(Blob.content_hash)) is None


def refusals_of_case(session: Session, case_id: str) -> list[RefusedEvent]:
    return session.scalars(select(RefusedEvent).where(RefusedEvent.case_id == case_id)
                           .order_by(RefusedEvent.log_sequence)).all()


def refusals_in_scope(session: Session, scope: Scope, *, case_id=None, open_only=False, limit=100) -> list[RefusedEvent]:
    """Refused records in the caller's scope, newest first (REC-5)."""
    q = scope.where(select(RefusedEvent), RefusedEvent.region_code, RefusedEvent.body_id)
    if case_id:
        q = q.where(RefusedEvent.case_id == case_id)
    if open_only:
        q = q.where(RefusedEvent.corrected_by_sequence.is_(None))
    return session.scalars(q.order_by(RefusedEvent.log_sequence.desc()).limit(limit)).all()


def case_entries(session: Session, case_id: str) -> list[LogEntry]:
    """Every log entry of a case, in log order."""
    return list(session.scalars(select(LogEntry).where(LogEntry.case_id == case_id).order_by(LogEntry.sequence)))


def first_entry_with_leaf(session: Session, leaf_hash: str) -> LogEntry | None:
    return session.scalars(select(LogEntry).where(LogEntry.leaf_hash == leaf_hash)
                           .order_by(LogEntry.sequence).limit(1)).first()


def first_entry_referencing(session: Session, scope: Scope, content_hash: str) -> LogEntry | None:
    """The first entry in the caller's scope that references an attachment."""
    return session.scalars(scope.where(select(LogEntry).where(LogEntry.content_hash == content_hash),
                                       LogEntry.region_code, LogEntry.body_id)
                           .order_by(LogEntry.sequence).limit(1)).first()


def log_size(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(LogEntry)) or 0


def last_sequence(session: Session) -> int | None:
    return session.scalar(select(func.max(LogEntry.sequence)))


def head_row_of_size(session: Session, tree_size: int) -> TreeHeadRow | None:
    return session.scalars(select(TreeHeadRow).where(TreeHeadRow.tree_size == int(tree_size))).first()


def newest_head_rows(session: Session, count: int) -> list[TreeHeadRow]:
    return list(session.scalars(select(TreeHeadRow).order_by(TreeHeadRow.tree_size.desc()).limit(count)))


def recent_self_checks(session: Session, count: int = 50) -> list[SelfCheck]:
    return session.scalars(select(SelfCheck).order_by(SelfCheck.checked_at.desc()).limit(count)).all()


def open_gaps_by_case(session: Session) -> list[tuple]:
    """(region, body, open gaps) of every case with gaps evaluated (for the gauges)."""
    return session.execute(select(Case.region_code, Case.body_id, Case.open_gaps)
                           .where(Case.open_gaps.is_not(None))).all()


def unerased_personal_sequences(session: Session, case_id: str) -> list[int]:
    return list(session.scalars(select(PersonalData.sequence).where(
        PersonalData.case_id == case_id, PersonalData.erased_at.is_(None))))


def erase_personal_rows(session: Session, case_id: str, sequences: list[int], moment: dt.datetime,
                        erasure_sequence: int) -> int:
    """REC-8: salts and personal parts deleted, party links removed, refused envelopes emptied; the log
    keeps its commitments. Returns the number of party links removed."""
    session.execute(update(PersonalData).where(PersonalData.sequence.in_(sequences)).values(
        salt=None, data=None, erased_at=moment, erasure_sequence=erasure_sequence))
    links = session.execute(delete(PartyLink).where(PartyLink.case_id == case_id)).rowcount
    session.execute(update(RefusedEvent).where(RefusedEvent.case_id == case_id).values(envelope=None))
    return links


def witnessed_heads(session: Session, *, log_id=None, conflicts_only=False, limit=100, status=None) -> list[WitnessedHead]:
    query = select(WitnessedHead).order_by(WitnessedHead.id.desc()).limit(min(int(limit), 1000))
    if log_id:
        query = query.where(WitnessedHead.log_id == log_id)
    if conflicts_only:
        query = query.where(WitnessedHead.status == "forked")
    if status:
        query = query.where(WitnessedHead.status == status)
    return list(session.scalars(query))


def witness_logs(session: Session, log_id=None) -> list[WitnessLog]:
    query = select(WitnessLog).order_by(WitnessLog.log_id)
    if log_id:
        query = query.where(WitnessLog.log_id == log_id)
    return list(session.scalars(query))


def case(session: Session, case_id: str) -> Case | None:
    return session.get(Case, case_id)


def entry(session: Session, sequence: int) -> LogEntry | None:
    return session.get(LogEntry, int(sequence))


def refused_event(session: Session, event_id: str) -> RefusedEvent | None:
    return session.get(RefusedEvent, event_id)


def blob(session: Session, content_hash: str) -> Blob | None:
    return session.get(Blob, content_hash)
