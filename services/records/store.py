"""Persistence for the records service: appending to the log and reading timelines."""
from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.events import Event
from services.records.models import Case, LogEntry, PartyLink

EVENT_STAGE = {  # REC-1 stage of each life-cycle event
    "case.opened": "initiation",
    "hearing.held": "investigation",
    "decision.proposed": "decision",
    "review.approved": "decision",
    "review.returned": "decision",
    "decision.made": "decision",
    "decision.served": "service_execution",
    "decision.executed": "service_execution",
    "decision.revoked": "decision",
    "case.archived": "archiving",
}


def canonical_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def sm3_hex(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


def leaf_hash(canonical: str) -> str:
    """RFC 6962 leaf hash with SM3: SM3(0x00 || entry bytes)."""
    return sm3_hex(b"\x00" + canonical.encode("utf-8"))


def next_sequence(session: Session) -> int:
    if session.bind.dialect.name == "postgresql":
        # one appender at a time: the log is a single sequence
        session.execute(select(func.pg_advisory_xact_lock(0x7A68_6966)))
    last = session.scalar(select(func.max(LogEntry.sequence)))
    return 0 if last is None else last + 1


def append_event(session: Session, event: Event) -> LogEntry:
    """Append a case life-cycle event to the timeline and the tamper-evident log."""
    payload = event.raw.get("payload", {})
    stage = payload.get("stage") or EVENT_STAGE.get(event.event_type)
    sequence = next_sequence(session)
    entry = {
        "sequence": sequence,
        "entry_kind": "timeline",
        "event_id": event.event_id,
        "event_type": event.event_type,
        "case_id": event.case_id,
        "region_code": event.region_code,
        "body_id": event.body_id,
        "stage": stage,
        "occurred_at": event.occurred_at.isoformat(),
        "payload_digest": sm3_hex(canonical_json(payload).encode("utf-8")),
        "content_hash": payload.get("content_hash"),
    }
    canonical = canonical_json(entry)
    row = LogEntry(sequence=sequence, entry_kind="timeline", event_id=event.event_id, event_type=event.event_type,
                   case_id=event.case_id, region_code=event.region_code, body_id=event.body_id, stage=stage,
                   record_kind=payload.get("record_kind"), document_type=payload.get("document_type"),
                   occurred_at=event.occurred_at, canonical=canonical, leaf_hash=leaf_hash(canonical),
                   details=_public_details(event))
    session.add(row)
    return row


def _public_details(event: Event) -> dict:
    """What the timeline shows of an event (title, document type, times); parties stay out (REC-8)."""
    payload = event.raw.get("payload", {})
    keep = ("title", "document_type", "record_kind", "device", "started_at", "ended_at", "decision_no", "version",
            "method", "served_at", "executed_at", "archive_no", "reason", "summary", "place", "officer_ids",
            "content_hash", "matter_code", "action_type", "opinion", "problems")
    return {k: payload[k] for k in keep if payload.get(k) not in (None, [], "")}


def party_key(party: dict) -> str:
    basis = party.get("id_number") or f"{party.get('party_kind')}:{party.get('name')}"
    return sm3_hex(basis.strip().upper().encode("utf-8"))


def open_case(session: Session, event: Event) -> Case:
    case = session.get(Case, event.case_id)
    p = event.payload
    if case is None:
        case = Case(case_id=event.case_id, region_code=event.region_code, body_id=event.body_id)
        session.add(case)
    case.action_type, case.matter_code, case.title = p["action_type"], p["matter_code"], p["title"]
    case.opened_at = p["opened_at"]
    for party in event.raw["payload"]["parties"]:
        session.add(PartyLink(party_key=party_key(party), case_id=event.case_id))
    return case


def ensure_case(session: Session, event: Event) -> Case:
    case = session.get(Case, event.case_id)
    if case is None:  # records arriving before case.opened (out-of-order delivery) still count
        case = Case(case_id=event.case_id, region_code=event.region_code, body_id=event.body_id)
        session.add(case)
    return case


def timeline(session: Session, case_id: str) -> list[LogEntry]:
    return list(session.scalars(select(LogEntry).where(LogEntry.case_id == case_id).order_by(LogEntry.sequence)))
