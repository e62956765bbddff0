"""Persistence of the records service: turning events into canonical log entries (domain
``make_entry`` + ``seal_personal``), appending them to the Merkle log in batches, completeness, and
the read models (timeline, entries, parties, accesses).

Every write goes through ``Appender`` inside ``Ledger.appending`` (one appender at a time): the
entry gets the next sequence number, its public part is hashed into the tree, the personal part
goes beside the log with its salt (REC-8).
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, delete, func, insert, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.common import ownership
from services.common.blobs import sm3_hex
from services.common.db import Claim, claim_unprocessed, emit, one_of, utcnow
from services.common.events import Event, jsonable
from services.common.identifiers import region_prefix
from services.common.scope import Scope
from services.records.domain import completeness as completeness_rules
from services.records.domain.entries import (
    SEQ_KEY,
    EntryKind,
    RecordKind,
    SealedEntry,
    Stage,
    canonical_bytes,
    entry_bytes,
    make_entry,
    seal_personal,
    with_sequence,
)
from services.records.domain.merkle import leaf_hash as merkle_leaf_hash
from services.records.ledger import Ledger
from services.records.models import (
    Blob,
    Case,
    LogEntry,
    PartyLink,
    PersonalData,
    RefusedEvent,
    SelfCheck,
    TreeHeadRow,
    WitnessedHead,
    WitnessLog,
)

STAGE_ORDER = [s.value for s in Stage]

EVENT_STAGE = {  # REC-1 stage of each life-cycle event (evidence.recorded carries its own)
    "case.opened": "initiation",
    "hearing.held": "decision",
    "decision.proposed": "decision",
    "review.approved": "decision",
    "review.returned": "decision",
    "decision.made": "decision",
    "decision.served": "service_execution",
    "decision.executed": "service_execution",
    "decision.revoked": "decision",
    "case.archived": "archiving",
}

EVENT_KIND = {
    "evidence.recorded": EntryKind.RECORD, "hearing.held": EntryKind.RECORD, "case.archived": EntryKind.ARCHIVE,
}

# Payload fields that go into the log in the clear: codes, times, numbers. Everything else of a
# payload (names, parties, free text that may mention people) is sealed — salted commitment in the
# log, data beside it, erasable (REC-8). Unknown fields are sealed by default.
PUBLIC_FIELDS = {
    "case.opened": ("action_type", "matter_code", "opened_at"),
    "evidence.recorded": ("record_id", "recorded_at", "device", "started_at", "ended_at", "content_length",
                          "av_form", "covers", "record_kind"),
    "hearing.held": ("hearing_id", "held_at"),
    "decision.proposed": ("version", "action_type", "matter_code", "field", "fine_amount", "confiscation_amount",
                          "measures", "hearing_requested", "hearing_held", "flags", "proposed_at", "submitted_by"),
    "decision.made": ("version", "decision_no", "action_type", "matter_code", "category", "legal_basis",
                      "fine_amount", "decided_at", "secrecy", "publication_period_override", "approved_by"),
    "decision.served": ("served_at", "method"),
    "decision.executed": ("executed_at",),
    "decision.revoked": ("reason", "by", "decided_at"),
    "case.archived": ("archived_at", "archive_no"),
    "case.transferred": ("to_body_id", "to_region_code", "kind", "basis", "ordered_by"),
    "review.approved": ("task_id", "version", "reviewer_id", "approver_id"),
    "review.returned": ("task_id", "version", "reviewer_id", "approver_id"),
}
HASH_FIELDS = ("content_hash", "record_hash", "document_hash")   # attachments, committed by hash
SKIP_FIELDS = set(HASH_FIELDS) | {"officer_ids", "stage", "document_type"}

AV_FORMS = {"photo", "audio", "video", "body_worn_camera", "surveillance"}
ONSITE_DOCUMENTS = {"onsite_record", "onsite_inspection_record", "onsite_verification_record"}
SERVICE_METHOD = {"direct": "direct", "mail": "mail", "electronic": "electronic", "lien": "lodging",
                  "public_notice": "public_notice", "entrusted": "direct"}
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
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[c], ensure_ascii=False) if c in json_columns and row[c] is not None
                                else row[c] for c in columns])


def _empty(value) -> bool:
    return value is None or value == [] or value == {} or value == ""


def record_kind_of(payload: dict) -> str | None:
    """The domain record kind (REC-2/REC-3) of an ``evidence.recorded`` payload.

    ``audio_visual`` records name their form in ``av_form``; without it, a record with a time span
    (started_at < ended_at) counts as a video recording and one without as a photo."""
    kind = payload.get("record_kind")
    if kind == "text":
        return RecordKind.TEXT.value
    if kind == "electronic":
        return RecordKind.ELECTRONIC_DATA.value
    if kind == "audio_visual":
        form = payload.get("av_form")
        if form in AV_FORMS:
            return form
        start, end = payload.get("started_at"), payload.get("ended_at")
        return RecordKind.VIDEO.value if start and end and end > start else RecordKind.PHOTO.value
    return None


def implied_document(event: Event, rules) -> str | None:
    """The case-file document a life-cycle event evidences (REC-2), for completeness."""
    p, t = event.payload, event.event_type
    if t == "evidence.recorded":
        return p.get("document_type")
    if t == "decision.made":
        code = f"{p.get('action_type')}_decision"
        return code if code in rules.document_types else None
    if t == "review.approved":
        return "legal_review_opinion"
    if t == "hearing.held" and p.get("record_hash"):
        return "hearing_record"
    if t == "decision.served" and p.get("document_hash"):
        return "proof_of_service"
    if t == "decision.executed" and p.get("document_hash"):
        return "execution_record"
    return None


def party_key(party: dict) -> str:
    basis = party.get("id_number") or f"{party.get('party_kind')}:{party.get('name')}"
    return sm3_hex(str(basis).strip().upper().encode("utf-8"))


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


def _event_parts(event: Event, rules) -> dict:
    """Entry fields of a life-cycle event: public data, sealed personal data, record kind, hashes."""
    payload = _plain(event.raw.get("payload") or {})     # as sent (validated): no re-serialisation
    public_names = PUBLIC_FIELDS.get(event.event_type, ())
    data, personal = {}, {}
    for key, value in payload.items():
        if key in SKIP_FIELDS or _empty(value):
            continue
        (data if key in public_names else personal)[key] = value
    if event.event_type == "evidence.recorded":
        start, end = event.payload.get("started_at"), event.payload.get("ended_at")
        if start and end:
            data["duration_seconds"] = int((end - start).total_seconds())
    stage = payload.get("stage") if event.event_type == "evidence.recorded" else EVENT_STAGE.get(event.event_type)
    document = implied_document(event, rules)
    if event.event_type == "evidence.recorded":
        record_kind = record_kind_of(event.payload)
    else:
        record_kind = RecordKind.TEXT.value if document else None
    index = {}
    if event.payload.get("covers"):
        index["covers"] = event.payload["covers"]
    return {"stage": stage, "record_kind": record_kind, "document_type": document, "data": data,
            "personal": personal, "content_hashes": [payload.get(h) for h in HASH_FIELDS if payload.get(h)],
            "officers": payload.get("officer_ids") or [], "index": index}


def prepare_event(event: Event, rules, kind: EntryKind | None = None, extra_data: dict | None = None,
                  extra_personal: dict | None = None) -> PreparedEntry:
    parts = _event_parts(event, rules)
    data = {**parts["data"], **(extra_data or {})}
    personal = {**parts["personal"], **(extra_personal or {})}
    return prepare_entry(kind or EVENT_KIND.get(event.event_type, EntryKind.STAGE), case_id=event.case_id,
                         region_code=event.region_code, body_id=event.body_id, occurred_at=event.occurred_at,
                         stage=parts["stage"], record_kind=parts["record_kind"],
                         document_type=parts["document_type"], content_hashes=parts["content_hashes"],
                         officers=parts["officers"], data=data, personal=personal, event_id=event.event_id,
                         event_type=event.event_type, index=parts["index"])


def prepare_events(events: list[Event], rules=None) -> dict[str, PreparedEntry]:
    """Each event's entry, built before the append lock (``apply_events(prepared=…)``). An event
    whose entry cannot be built is left to ``apply_events``, which fails under the lock as before
    (or skips it when it was applied before)."""
    rules = rules or completeness_rules.default_rules()
    prepared = {}
    for event in events:
        try:
            prepared[event.event_id] = prepare_event(event, rules)
        except Exception:  # noqa: BLE001 - see the docstring
            continue
    return prepared


def append_event(appender: Appender, event: Event, rules, kind: EntryKind | None = None,
                 extra_data: dict | None = None, extra_personal: dict | None = None) -> Appended:
    return appender.append_prepared(prepare_event(event, rules, kind, extra_data, extra_personal))


# ----------------------------------------------------------------------------------- batch of events
def refusal_reason(case: Case) -> str:
    when = iso(case.archived_at) or "此前"
    return (f"case {case.case_id} is archived and sealed; records are refused (REC-5) — "
            f"案件 {case.case_id} 已于 {when} 归档封存，不再接受新的记录；如需补正，须经监督人员授权更正")


@dataclass
class BatchOutcome:
    duplicates: set = field(default_factory=set)
    refused: dict = field(default_factory=dict)          # event_id -> reason
    refused_later: dict = field(default_factory=dict)    # event_id -> (region, body, reason): retracted now
    conflicts: dict = field(default_factory=dict)        # db.Claim.conflicts: same id, other content
    appended: list = field(default_factory=list)        # Appended
    gaps_changed: list = field(default_factory=list)    # case ids


def apply_events(session: Session, ledger: Ledger, events: list[Event], consumer,
                 rules=None, prepared: dict[str, PreparedEntry] | None = None,
                 claimed: Claim | None = None) -> BatchOutcome:
    """Apply a batch of life-cycle events in the caller's (appending) transaction (``consumer``: the
    handler name of every event, or one per event): skip the ones
    already processed, append the rest in order, refuse records of sealed cases (recorded, and
    kept whole), update cases, parties and facts, evaluate completeness where due, sign a tree
    head when a case was archived, and queue one ``record.batch_appended`` per region and body.
    ``prepared``: the events' entries built before the lock (``prepare_events``), by event id;
    ``claimed``: what ``claim_unprocessed`` returned when the caller claimed the batch in this
    transaction before taking the append lock."""
    rules = rules or completeness_rules.default_rules()
    outcome = BatchOutcome()
    now = utcnow()
    pairs, outcome.duplicates, outcome.conflicts = claimed or claim_unprocessed(session, events, consumer, now)
    fresh: list[Event] = [event for _, event in pairs]
    if not fresh:
        return outcome
    cases = load_cases(session, {e.case_id for e in fresh if e.case_id})
    appender = Appender(session, ledger, now)
    evaluate: dict[str, tuple[str, Event]] = {}
    archived = False
    links: set[tuple[str, str]] = set()
    created: set[str] = set()
    transferred: set[str] = set()
    opened: set[str] = set()
    preexisting, touched = set(cases), set()     # cases that may hold records from before their opening
    for event in fresh:
        case = cases.get(event.case_id)
        if case is None:  # records arriving before case.opened (out-of-order delivery) still count
            case = Case(case_id=event.case_id, region_code=event.region_code, body_id=event.body_id,
                        stage="initiation", sealed=False)
            session.add(case)
            cases[case.case_id] = case
            created.add(case.case_id)
        if event.event_type == ownership.TRANSFER_EVENT:
            ownership.record_transfer(session, event, now)
            transferred.add(case.case_id)
        extra = None
        if event.event_type in OPENING_CHECKED and _before_opening(case, event.occurred_at):
            # REC-1, issue 14: a record dated before its case opened (the opening known: checked here;
            # not yet known: checked when case.opened arrives, ``retract_before_opening``)
            _refuse(session, appender, case, event, now, outcome,
                    reason=before_opening_reason(case, event.event_type, event.occurred_at))
            continue
        if case.sealed:
            if not _arrived_late(case, event, now):
                _refuse(session, appender, case, event, now, outcome)
                continue
            # happened before the archiving, delivered just after it (another queue): part of the file
            extra = {"delivered_after_seal": True}
        ready = prepared.get(event.event_id) if prepared and extra is None else None
        entry = appender.append_prepared(ready) if ready else append_event(appender, event, rules, extra_data=extra)
        outcome.appended.append(entry)
        facts_changed = _update_case(case, event, rules)
        row = appender.rows[-1]
        files_item = bool(row["document_type"]) or row["record_kind"] not in (None, "text")
        for party in (event.raw.get("payload") or {}).get("parties") or ():
            links.add((party_key(party), case.case_id))
        if event.event_type == "case.opened" and (case.case_id in preexisting or case.case_id in touched):
            opened.add(case.case_id)        # records may have come first: checked after the batch's appends
        touched.add(case.case_id)
        if event.event_type == "decision.made":
            evaluate[case.case_id] = ("decision", event)
        elif event.event_type == "case.archived":
            evaluate[case.case_id] = ("archiving", event)
            archived = True
        elif case.gaps_scope and case.case_id not in evaluate and (files_item or facts_changed):
            # a case evaluated before (decided or archived): a filed item or changed facts can close or
            # open a gap — whether gaps are open or not, so the outcome does not depend on the order in
            # which the case's events arrive (issue 14, REC-3)
            evaluate[case.case_id] = (case.gaps_scope, event)
    link_parties(session, links)
    if created or transferred:
        # SEC-2: a transferred case is the new owner's (its scope), whichever of its events came first
        for case_id, current in ownership.current_owners(session, created | transferred).items():
            cases[case_id].body_id, cases[case_id].region_code = current.to_body, current.to_region
    appender.flush()
    for case_id in sorted(opened):
        case = cases[case_id]
        retracted = retract_before_opening(session, appender, case, now, outcome, rules)
        if retracted and case.gaps_scope and case_id not in evaluate:
            evaluate[case_id] = (case.gaps_scope, fresh[0])
    appender.flush()
    if evaluate:
        records = case_records_many(session, list(evaluate))
        for case_id, (scope, event) in evaluate.items():
            if evaluate_gaps(session, cases[case_id], scope, trigger=event.event_type, caused_by=event, rules=rules,
                             records=records.get(case_id, [])):
                outcome.gaps_changed.append(case_id)
    if archived:
        ledger.sign_head(session, "archive", now)
    emit_batch_events(session, ledger, appender.appended, caused_by=fresh[0])
    return outcome


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


def emit_batch_events(session: Session, ledger: Ledger, appended: list[Appended], caused_by: Event | None = None):
    """One ``record.batch_appended`` per (region, body) of the transaction's entries."""
    if not appended:
        return
    groups: dict[tuple[str, str], list[Appended]] = defaultdict(list)
    for a in appended:
        groups[(a.region_code, a.body_id)].append(a)
    size = ledger.size
    root = ledger.tree.root(size).hex()
    for (region, body), items in groups.items():
        emit(session, "record.batch_appended", {
            "first_sequence": items[0].sequence, "last_sequence": items[-1].sequence, "entry_count": len(items),
            "sequences": [a.sequence for a in items], "tree_size": size, "root_hash": root,
            "kinds": dict(Counter(a.kind for a in items))},
            region_code=region, body_id=body, caused_by=caused_by)


def _arrived_late(case: Case, event: Event, now: dt.datetime) -> bool:
    """A record that occurred before the archiving and arrived within the grace period after
    sealing (events of one case travel on separate queues) — not a change to a sealed file."""
    from services.records import config

    if event.event_type == "case.archived" or case.archived_at is None or case.sealed_at is None:
        return False
    return (event.occurred_at <= aware(case.archived_at)
            and (now - aware(case.sealed_at)).total_seconds() <= config.seal_grace_seconds())


def _refuse(session: Session, appender: Appender, case: Case, event: Event, now, outcome: BatchOutcome,
            reason: str | None = None):
    reason = reason or refusal_reason(case)
    digest = sm3_hex(canonical_bytes(_plain(event.raw.get("payload") or {})))
    entry = appender.append(EntryKind.REFUSAL, case_id=case.case_id, region_code=event.region_code,
                            body_id=event.body_id, occurred_at=now, stage=None,
                            data={"refused_event_id": event.event_id, "refused_event_type": event.event_type,
                                  "refused_payload_sm3": digest, "sealed_at": case.archived_at},
                            event_id=event.event_id, event_type=event.event_type)
    session.add(RefusedEvent(event_id=event.event_id, event_type=event.event_type, case_id=case.case_id,
                             region_code=event.region_code, body_id=event.body_id, reason=reason,
                             envelope=json.dumps(event.raw, ensure_ascii=False), refused_at=now,
                             log_sequence=entry.sequence))
    outcome.refused[event.event_id] = reason
    outcome.appended.append(entry)


# ------------------------------------------------------------------- records dated before the opening
# REC-1, issue 14: a record of a case dated before the case was opened is implausible and refused. The
# opening may arrive before or after the record (queues give no order across event types), so the
# check runs at whichever of the two arrives second: a record arriving after case.opened is refused
# at once (refusal entry, kept, dead-lettered); a record that arrived first is retracted when
# case.opened arrives (a refusal entry naming the record's sequence, the same reason, listed with the
# case's refusals; the record no longer counts for the timeline, the facts or completeness). Either
# way the case ends in the same state.
OPENING_CHECKED = ("evidence.recorded", "hearing.held", "decision.proposed", "decision.made", "decision.served",
                   "decision.executed", "decision.revoked")
BEFORE_OPENING = "recorded_before_case_opened"
RETRACTABLE = ("record", "stage")     # the entry kinds of a record that can be retracted (not corrections)
CHINA = dt.timezone(dt.timedelta(hours=8))


def _before_opening(case: Case, occurred_at: dt.datetime) -> bool:
    from services.records import config

    if case.opened_at is None:
        return False
    return aware(occurred_at) < aware(case.opened_at) - dt.timedelta(seconds=config.opening_tolerance_seconds())


def before_opening_reason(case: Case, event_type: str, occurred_at: dt.datetime) -> str:
    when = aware(occurred_at).astimezone(CHINA).isoformat()
    opened = aware(case.opened_at).astimezone(CHINA).isoformat()
    return (f"{BEFORE_OPENING}: {event_type} of case {case.case_id} occurred at {when}, before the case was "
            f"opened at {opened} (REC-1) — 该记录的发生时间（{when}）早于案件 {case.case_id} 的立案时间（{opened}），"
            f"不予接收；请核对记录的发生时间或立案时间后重新报送")


def refused_event_ids(session: Session, case_ids) -> set[str]:
    return set(session.scalars(select(RefusedEvent.event_id).where(one_of(session, RefusedEvent.case_id,
                                                                          set(case_ids)))))


def retract_before_opening(session: Session, appender: Appender, case: Case, now: dt.datetime,
                           outcome: BatchOutcome, rules) -> int:
    """case.opened arrived after records of the case dated before its opening: refuse them now (see
    above), then derive the case's facts and stage again from what still counts. Returns how many."""
    if case.opened_at is None:
        return 0
    refused = refused_event_ids(session, [case.case_id])
    rows = session.scalars(select(LogEntry).where(
        LogEntry.case_id == case.case_id, LogEntry.entry_kind.in_(RETRACTABLE),
        LogEntry.event_type.in_(OPENING_CHECKED)).order_by(LogEntry.sequence)).all()
    late = [r for r in rows if r.event_id and r.event_id not in refused and _before_opening(case, r.occurred_at)]
    for row in late:
        reason = before_opening_reason(case, row.event_type, row.occurred_at)
        entry = appender.append(EntryKind.REFUSAL, case_id=case.case_id, region_code=row.region_code,
                                body_id=row.body_id, occurred_at=now, stage=None,
                                data={"refused_event_id": row.event_id, "refused_event_type": row.event_type,
                                      "retracted_sequence": row.sequence, "reason": BEFORE_OPENING},
                                event_id=row.event_id, event_type=row.event_type)
        # the record itself stays in the log (sequence ``retracted_sequence``, its personal part beside it)
        session.add(RefusedEvent(event_id=row.event_id, event_type=row.event_type, case_id=case.case_id,
                                 region_code=row.region_code, body_id=row.body_id, reason=reason, envelope=None,
                                 refused_at=now, log_sequence=entry.sequence))
        outcome.refused_later[row.event_id] = (row.region_code, row.body_id, reason)
        outcome.appended.append(entry)
    if late:
        session.flush()
        refuse = refused | {r.event_id for r in late}
        derive_facts(case, [r for r in rows if r.event_id not in refuse], rules)
    return len(late)


def derive_facts(case: Case, rows: list[LogEntry], rules) -> None:
    """The case's completeness facts and stage from its entries that count (sequence order): the same
    fold as ``_update_case``; what review told (``is_major``) is kept."""
    facts = {k: v for k, v in (case.facts or {}).items()
             if k not in ("measures", "hearing_requested", "service_methods", "onsite")}
    stage = "initiation"
    for row in rows:
        data = dict(json.loads(row.canonical).get("data") or {})
        data["document_type"] = row.document_type
        _fold_facts(facts, row.event_type, data, rules)
        if row.stage in STAGE_ORDER and STAGE_ORDER.index(row.stage) > STAGE_ORDER.index(stage):
            stage = row.stage
    case.facts, case.stage = facts or None, stage      # None, as a case no fact was ever set for


def _fold_facts(facts: dict, t: str, p: dict, rules) -> None:
    if t == "decision.proposed":
        measures = set(facts.get("measures") or ()) | {m for m in p.get("measures") or () if m in rules.measures}
        facts["measures"] = sorted(measures)
        if p.get("hearing_requested"):
            facts["hearing_requested"] = True
    elif t == "hearing.held":
        facts["hearing_requested"] = True
    elif t == "decision.served":
        method = SERVICE_METHOD.get(p.get("method"))
        if method:
            facts["service_methods"] = sorted(set(facts.get("service_methods") or ()) | {method})
    elif t == "evidence.recorded":
        if p.get("document_type") in ONSITE_DOCUMENTS:
            facts["onsite"] = True
        if p.get("covers") in rules.measures:
            facts["measures"] = sorted(set(facts.get("measures") or ()) | {p["covers"]})


def _update_case(case: Case, event: Event, rules) -> bool:
    """Apply the event to the case row; True when the completeness facts changed."""
    p = event.payload
    t = event.event_type
    facts = dict(case.facts or {})
    if t == "case.opened":
        case.action_type, case.matter_code = p["action_type"], p["matter_code"]
        case.title, case.opened_at = p["title"], to_utc(p["opened_at"])
    stage = p.get("stage") if t == "evidence.recorded" else EVENT_STAGE.get(t)
    if stage and STAGE_ORDER.index(stage) >= STAGE_ORDER.index(case.stage or "initiation"):
        case.stage = stage
    if t in ("decision.proposed", "decision.made") and not case.action_type:
        case.action_type = p["action_type"]
    _fold_facts(facts, t, p, rules)
    if t == "case.archived":
        case.sealed, case.archived_at, case.sealed_at = True, to_utc(p["archived_at"]), utcnow()
    if facts != (case.facts or {}):
        case.facts = facts
        return True
    return False


def load_cases(session: Session, case_ids) -> dict[str, Case]:
    """The stored cases among ``case_ids``, in one query."""
    return {c.case_id: c for c in session.scalars(select(Case).where(one_of(session, Case.case_id, set(case_ids))))}


def set_major(session: Session, event: Event) -> None:
    """review.classified: whether a version is major decides the legal-review items (REC-5, REV-1).

    Monotone (issue 14): the case is major when any of its versions was classified major — review's
    classification only ever adds, and classifications of several versions may arrive in any order. A
    case already evaluated (decided or archived) is evaluated again, since the required items change."""
    case = session.get(Case, event.case_id)
    if case is None:
        case = Case(case_id=event.case_id, region_code=event.region_code, body_id=event.body_id,
                    stage="initiation", sealed=False)
        session.add(case)
    facts = dict(case.facts or {})
    majors = set(facts.get("major_versions") or ())
    if event.payload["major"]:
        majors.add(int(event.payload["version"]))
    facts["major_versions"] = sorted(majors)
    facts["is_major"] = bool(majors)
    if facts == (case.facts or {}):
        return
    case.facts = facts
    if case.gaps_scope:
        session.flush()
        evaluate_gaps(session, case, case.gaps_scope, trigger=event.event_type, caused_by=event)


# ------------------------------------------------------------------------------------ completeness
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


def current_gaps(session: Session, case: Case, scope: str, rules=None, records=None) -> list[dict] | None:
    """Gaps of the case file for stages up to ``scope`` (None when the action type is unknown)."""
    rules = rules or completeness_rules.default_rules()
    if case.action_type not in rules.action_types:
        return None
    facts = {k: v for k, v in (case.facts or {}).items() if k in completeness_rules.CaseFacts.__dataclass_fields__}
    limit = STAGE_ORDER.index(scope) if scope in STAGE_ORDER else len(STAGE_ORDER) - 1
    if records is None:
        records = case_records(session, case.case_id)
    gaps = completeness_rules.find_gaps(case.action_type, facts, records, rules)
    return [{"code": g.code, "description": g.description, "stage": g.stage.value, "severity": g.severity.value,
             "kind": g.kind.value} for g in gaps if STAGE_ORDER.index(g.stage.value) <= limit]


def evaluate_gaps(session: Session, case: Case, scope: str, *, trigger: str, caused_by: Event | None = None,
                  rules=None, records=None) -> bool:
    """Evaluate the case file up to ``scope``; store the open gaps; emit ``record.gaps_found`` when
    the set of open gap codes changed. Returns True when it changed."""
    gaps = current_gaps(session, case, scope, rules, records)
    if gaps is None:
        return False
    before = sorted(g["code"] for g in case.open_gaps or ())
    after = sorted(g["code"] for g in gaps)
    case.open_gaps = gaps
    case.gaps_evaluated_at = utcnow()
    if not case.gaps_scope or STAGE_ORDER.index(scope) >= STAGE_ORDER.index(case.gaps_scope):
        case.gaps_scope = scope
    if before == after:
        return False
    emit(session, "record.gaps_found", {
        "gaps": gaps, "open_gap_codes": after, "closed_gap_codes": sorted(set(before) - set(after)),
        "evaluated_stage": scope, "trigger": trigger, "action_type": case.action_type,
        "mandatory_av_missing": any(g["kind"] == "av_missing" for g in gaps)},
        region_code=case.region_code, body_id=case.body_id, case_id=case.case_id, caused_by=caused_by)
    return True


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


def cases_of_party(session: Session, key: str, scope: Scope) -> list[Case]:
    ids = select(PartyLink.case_id).where(PartyLink.party_key == key)
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
    if session.get(Blob, content_hash) is not None:
        return True
    session.add(Blob(content_hash=content_hash, **fields))
    return False


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
