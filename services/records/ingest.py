"""The records ingest pipeline (REC-1, REC-4, REC-5): a batch of life-cycle events becomes entries of
the tamper-evident log, in one direction — prepare → claim → append → gaps → count.

1. **prepare** (no lock): each event's canonical entry is built, sealed and serialised
   (``prepare_events``: the domain's ``make_entry`` + ``seal_personal``);
2. **claim** (before the append lock, same transaction): events for a case their body does not own wait
   (SEC-2, ``ownership.screen``); the others are claimed as processed (``claim_unprocessed``: a
   redelivery is recognised and skipped, a conflicting copy reported);
3. **append** (under the lock, ``Ledger.appending``): entries get their sequence numbers and are hashed
   into the Merkle tree; a record for a sealed case is refused (kept whole, logged, dead-lettered); a
   record dated before its case opened is refused by whichever arrives second (``apply_events``);
4. **gaps**: the cases touched are evaluated for completeness (REC-3) — ``record.gaps_found`` when the
   open gaps changed;
5. **count**: metrics after the commit. No per-batch event: ``record.batch_appended`` was published on
   every batch with nobody subscribed (issue 17 removed it); ``record.gaps_found`` (step 4) and
   ``record.tree_head_signed`` (a case archived) go to the outbox in the batch's transaction.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from services.common import ownership
from services.common.batching import BatchResult, EventBatch
from services.common.blobs import sm3_hex
from services.common.db import Claim, claim_unprocessed, emit, utcnow
from services.common.events import Event
from services.records import config, store
from services.records import metrics as rec_metrics
from services.records.domain import completeness as completeness_rules
from services.records.domain.entries import EntryKind, RecordKind, canonical_bytes
from services.records.domain.filing import (BEFORE_OPENING, EVENT_STAGE, FACTS_ONLY, OPENING_CHECKED, STAGE_ORDER, arrived_late,
                                            before_opening, before_opening_reason, fold_facts, implied_document,
                                            record_kind_of, sealed_refusal_reason)
from services.records.ledger import Ledger
from services.records.models import Case, LogEntry, RefusedEvent
from services.records.store import (Appended, Appender, PreparedEntry, _plain, case_records, case_records_many,
                                    link_parties, load_cases, party_key, prepare_entry, refused_event_ids, to_utc)


PENDING_READS_PER_BATCH = 500   # waiting access entries an ingest batch appends on its way (issue 20)


def of_cases(events):
    """The events of a batch that concern a case: a zhifa service's event may have none (a transfer of
    an accountability clue to discipline inspection, COORD-3) and has nothing to enter in a case's record
    (it is acknowledged without a trace here)."""
    if all(e.case_id for e in events):
        return events
    kept = [i for i, e in enumerate(events) if e.case_id]
    consumers = getattr(events, "consumers", None)
    if consumers is None:
        return [events[i] for i in kept]
    return EventBatch([events[i] for i in kept], [consumers[i] for i in kept])


def apply(db, ledger, events: list[Event]) -> BatchResult:
    """Apply a batch of life-cycle events (the batch handler's one transaction); the result names
    duplicates, refusals (dead-lettered after commit), conflicts and events waiting for their owner."""
    if not events:
        return BatchResult()
    # replicas take the append lock in turn: what needs no lock is done before it — entries are
    # built, sealed and serialised; the batch's events are claimed in the same transaction
    prepared = prepare_events(events)
    consumers = getattr(events, "consumers", None) or db.consumer
    claimed: list = []
    waiting: dict = {}

    def claim(session):
        # SEC-2: an event for a case its body does not own is neither applied nor marked processed
        screened = ownership.screen(session, events)
        waiting.update(screened.waiting)
        names = [consumers] * len(events) if isinstance(consumers, str) else list(consumers)
        kept = [(n, e) for n, e in zip(names, events) if e.event_id not in waiting]
        claimed.append(claim_unprocessed(session, [e for _, e in kept], [n for n, _ in kept]))

    with ledger.appending(db, before_lock=claim) as session:
        outcome = apply_events(session, ledger, events, consumers, prepared=prepared, claimed=claimed[0])
        # the writer appends the staff reads waiting in pending_reads (REC-6, issue 20) while it holds the lock
        reads = store.append_pending_reads(session, ledger, PENDING_READS_PER_BATCH)
    rec_metrics.BATCH_SIZE.observe(len(events))
    if reads:
        count_appended(reads)
    if outcome.appended:
        count_appended(outcome.appended)
        rec_metrics.TREE_SIZE.set(ledger.size)
    for event in events:
        if event.event_id in outcome.refused:
            rec_metrics.REFUSED.labels(event.region_code, event.body_id).inc()
    for region, body, _ in outcome.refused_later.values():   # retracted at case.opened (REC-1)
        rec_metrics.REFUSED.labels(region, body).inc()
    return BatchResult(duplicates=outcome.duplicates, refused=outcome.refused, conflicts=outcome.conflicts,
                       waiting=waiting, applied=outcome.applied)


def count_appended(appended) -> None:
    """Entries appended, by region, body and kind (after the commit)."""
    counts = Counter((a.region_code, a.body_id, a.kind) for a in appended)
    for (region, body, kind), n in counts.items():
        rec_metrics.ENTRIES.labels(region, body, kind).inc(n)


# --- prepare: a life-cycle event's entry, built before the append lock ----------------------------
def _empty(value) -> bool:
    return value is None or value == [] or value == {} or value == ""


def _dated_before_opening(case: Case, occurred_at: dt.datetime, tolerance: float) -> bool:
    """REC-1: dated before its case was opened (the rule: ``filing.before_opening``; ``tolerance``: the
    batch's ``config.opening_tolerance_seconds()``, read once per batch rather than per event)."""
    if case.opened_at is None:
        return False
    return before_opening(case.opened_at, occurred_at, tolerance)


def _arrived_late(case: Case, event: Event, now: dt.datetime) -> bool:
    """Happened before the archiving, delivered within the grace period (``filing.arrived_late``)."""
    if event.event_type == "case.archived" or case.archived_at is None or case.sealed_at is None:
        return False
    return arrived_late(event.event_type, event.occurred_at, case.archived_at, case.sealed_at, now,
                        config.seal_grace_seconds())


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
    "transfer.sent": ("transfer_id", "recipient_kind", "recipient_name", "source_kind", "documents", "sent_on", "late",
                      "receipt_due"),     # COORD-3: 移送, the documents by name and SM3 digest
    "review.approved": ("task_id", "version", "reviewer_id", "approver_id"),
    "review.returned": ("task_id", "version", "reviewer_id", "approver_id"),
}
HASH_FIELDS = ("content_hash", "record_hash", "document_hash")   # attachments, committed by hash
SKIP_FIELDS = set(HASH_FIELDS) | {"officer_ids", "stage", "document_type"}


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
        if event.event_type in FACTS_ONLY:
            continue
        try:
            prepared[event.event_id] = prepare_event(event, rules)
        except Exception:  # noqa: BLE001 - see the docstring
            continue
    return prepared


def append_event(appender: Appender, event: Event, rules, kind: EntryKind | None = None,
                 extra_data: dict | None = None, extra_personal: dict | None = None) -> Appended:
    return appender.append_prepared(prepare_event(event, rules, kind, extra_data, extra_personal))


# --- claim and append: the batch in the caller's (appending) transaction --------------------------
@dataclass
class BatchOutcome:
    duplicates: set = field(default_factory=set)
    refused: dict = field(default_factory=dict)          # event_id -> reason
    refused_later: dict = field(default_factory=dict)    # event_id -> (region, body, reason): retracted now
    conflicts: dict = field(default_factory=dict)        # db.Claim.conflicts: same id, other content
    appended: list = field(default_factory=list)        # Appended
    gaps_changed: list = field(default_factory=list)    # case ids
    applied: set = field(default_factory=set)           # (consumer, event_id) claimed: counted as consumed


def apply_events(session: Session, ledger: Ledger, events: list[Event], consumer,
                 rules=None, prepared: dict[str, PreparedEntry] | None = None,
                 claimed: Claim | None = None) -> BatchOutcome:
    """Apply a batch of life-cycle events in the caller's (appending) transaction (``consumer``: the
    handler name of every event, or one per event): skip the ones
    already processed, append the rest in order, refuse records of sealed cases (recorded, and
    kept whole), update cases, parties and facts, evaluate completeness where due, sign a tree
    head when a case was archived.
    ``prepared``: the events' entries built before the lock (``prepare_events``), by event id;
    ``claimed``: what ``claim_unprocessed`` returned when the caller claimed the batch in this
    transaction before taking the append lock."""
    rules = rules or completeness_rules.default_rules()
    outcome = BatchOutcome()
    now = utcnow()
    tolerance = config.opening_tolerance_seconds()
    pairs, outcome.duplicates, outcome.conflicts = claimed or claim_unprocessed(session, events, consumer, now)
    outcome.applied = {(name, event.event_id) for name, event in pairs}
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
        if event.event_type in FACTS_ONLY:
            # review.classified (REC-5): no entry, the case's facts; in the writer's batch, so the case row is
            # written by one transaction at a time (a transaction of its own waited on the batch's row locks)
            if _update_case(case, event, rules) and case.gaps_scope and case.case_id not in evaluate:
                evaluate[case.case_id] = (case.gaps_scope, event)   # evaluated before: the required items change
            continue
        extra = None
        if event.event_type in OPENING_CHECKED and _dated_before_opening(case, event.occurred_at, tolerance):
            # REC-1, issue 14: a record dated before its case opened (the opening known: checked here;
            # not yet known: checked when case.opened arrives, ``retract_before_opening``)
            _refuse(session, appender, case, event, now, outcome,
                    reason=before_opening_reason(case.case_id, event.event_type, event.occurred_at, case.opened_at))
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
        retracted = retract_before_opening(session, appender, case, now, outcome, rules, tolerance)
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
    # no per-batch event (issue 17): ``record.batch_appended`` had no subscriber — no service, no
    # federation link, no documented outside consumer; the log is read through the records API
    return outcome


def _refuse(session: Session, appender: Appender, case: Case, event: Event, now, outcome: BatchOutcome,
            reason: str | None = None):
    reason = reason or sealed_refusal_reason(case.case_id, case.archived_at)
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


def retract_before_opening(session: Session, appender: Appender, case: Case, now: dt.datetime,
                           outcome: BatchOutcome, rules, tolerance: float) -> int:
    """case.opened arrived after records of the case dated before its opening: refuse them now (see
    ``domain/filing.py``), then derive the case's facts and stage again from what still counts. Returns how many."""
    if case.opened_at is None:
        return 0
    refused = refused_event_ids(session, [case.case_id])
    rows = store.opening_checked_records(session, case.case_id)
    late = [r for r in rows if r.event_id and r.event_id not in refused
            and _dated_before_opening(case, r.occurred_at, tolerance)]
    for row in late:
        reason = before_opening_reason(case.case_id, row.event_type, row.occurred_at, case.opened_at)
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
        fold_facts(facts, row.event_type, data, rules)
        if row.stage in STAGE_ORDER and STAGE_ORDER.index(row.stage) > STAGE_ORDER.index(stage):
            stage = row.stage
    case.facts, case.stage = facts or None, stage      # None, as a case no fact was ever set for


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
    fold_facts(facts, t, p, rules)
    if t == "case.archived":
        case.sealed, case.archived_at, case.sealed_at = True, to_utc(p["archived_at"]), utcnow()
    if facts != (case.facts or {}):
        case.facts = facts
        return True
    return False


# --- gaps: completeness of the case file (REC-3) --------------------------------------------------
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

