"""Reads of case records (REC-1, REC-3, REC-4…REC-7), each in the caller's scope — its region AND its
bodies (SEC-2, PLAT-1): a case's whole timeline (案件全过程), entries by region, body, stage and period,
all records of one party (同一当事人的记录集中存储), who read what (调阅记录), a case file's open gaps
(记录缺失) and the refused records of sealed cases (拒收). Reads of case records are logged (REC-6)."""
from __future__ import annotations

import datetime as dt
import json
import logging

from services.common import ownership
from services.common.db import utcnow
from services.common.scope import Scope
from services.records import ingest, store
from services.records.domain import completeness as completeness_rules
from services.records.domain.filing import STAGE_ORDER
from services.records.ledger import LogIntegrityError

log = logging.getLogger(__name__)

from .access import MAX_PAGE, append_pending, log_access, logged_read, parse_time, refusal_view


def case_timeline(db, ledger, case_id, scope, accessor=None) -> dict | None:
    """A case's whole timeline if the caller's scope covers the case; the read is logged."""
    scope = Scope.of(scope)
    with logged_read(db, ledger) as (session, reads):
        case = store.case(session, case_id)
        if case is None or not scope.covers(case.region_code, case.body_id):
            return None
        rows = store.timeline(session, case_id)
        personal = store.personal_for(session, [r.sequence for r in rows])
        hashes = {h for r in rows for h in json.loads(r.canonical).get("content_hashes", [])}
        stored = store.stored_blobs(session, hashes)
        refusals = store.refusals_of_case(session, case_id)
        log_access(reads, case, accessor, "timeline")
        return {
            "case_id": case.case_id, "region_code": case.region_code, "body_id": case.body_id,
            "action_type": case.action_type, "title": case.title if case.personal_erased_at is None else None,
            "stage": case.stage, "sealed": case.sealed,
            "archived_at": store.iso(case.archived_at),
            "entries": [store.entry_view(r, personal.get(r.sequence), stored) for r in rows],
            "open_gaps": case.open_gaps or [], "gaps_evaluated_at":
                store.iso(case.gaps_evaluated_at),
            "refusals": [refusal_view(r) for r in refusals],
            "personal_erased_at": store.iso(case.personal_erased_at),
        }


def search_entries(db, ledger, scope, filters, accessor) -> dict:
    """Timeline entries by region, body, stage and period, in the caller's scope; each case read is logged."""
    filters = filters or {}
    limit = max(1, min(int(filters.get("limit") or 100), MAX_PAGE))
    period_from = parse_time(filters.get("from"))
    period_to = parse_time(filters.get("to"))
    with logged_read(db, ledger) as (session, reads):
        rows = store.search_entries(session, Scope.of(scope), region_code=filters.get("region_code"),
                                    body_id=filters.get("body_id"), stage=filters.get("stage"),
                                    period_from=period_from, period_to=period_to,
                                    case_id=filters.get("case_id"), limit=limit,
                                    after_sequence=filters.get("after"))
        personal = store.personal_for(session, [r.sequence for r in rows])
        case_ids = sorted({r.case_id for r in rows if r.case_id})
        for case in store.cases_in(session, case_ids):
            log_access(reads, case, accessor, "search")
        return {"entries": [store.entry_view(r, personal.get(r.sequence)) for r in rows],
                "next_after": rows[-1].sequence if len(rows) == limit else None}


def party_records(db, ledger, scope, party, accessor) -> dict:
    """All records of one party: cases linked to the party by the hash of its identifier, with their
    timelines; each case read is logged."""
    keys = [store.party_key(party), store.legacy_party_key(party)]     # keyed index (issue 22); legacy links
    with logged_read(db, ledger) as (session, reads):
        cases = store.cases_of_party(session, keys, Scope.of(scope))
        out = []
        for case in cases:
            rows = store.timeline(session, case.case_id)
            personal = store.personal_for(session, [r.sequence for r in rows])
            out.append({"case_id": case.case_id, "region_code": case.region_code, "body_id": case.body_id,
                        "action_type": case.action_type, "stage": case.stage, "sealed": case.sealed,
                        "entries": [store.entry_view(r, personal.get(r.sequence)) for r in rows]})
            log_access(reads, case, accessor, "party")
        return {"cases": out}


def list_accesses(db, ledger, scope, case_id=None, subject=None, limit=100, before=None) -> dict:
    """Who read which case's records, when, in which role and why (supervisors). The reads still
    waiting in ``pending_reads`` are appended first (under the append lock), so the list is complete."""
    try:
        append_pending(db, ledger)
    except LogIntegrityError as exc:     # the log refuses appends: list what it holds (the rest waits)
        log.warning("records: waiting reads not appended before listing accesses: %s", exc)
    with db.session() as session:
        rows = store.access_entries(session, Scope.of(scope), case_id=case_id, subject=subject,
                                    limit=max(1, min(int(limit), MAX_PAGE)), before_sequence=before)
        personal = store.personal_for(session, [r.sequence for r in rows])
        out = []
        for r in rows:
            data = json.loads(r.canonical).get("data", {})
            p = personal.get(r.sequence)
            out.append({"sequence": r.sequence, "case_id": r.case_id, "region_code": r.region_code,
                        "body_id": r.body_id, "at": store.iso(r.occurred_at), "subject": data.get("accessor"),
                        "role": data.get("role"), "view": data.get("view"),
                        "purpose": store.sealed_fields(p).get("purpose"),
                        "purpose_stated": data.get("purpose_stated"), "request_id": data.get("request_id"),
                        "leaf_hash": r.leaf_hash})
        return {"accesses": out}


def case_gaps(db, case_id, scope, evaluate=False) -> dict | None:
    """The open gaps of a case file; ``evaluate`` re-evaluates up to the case's current stage now
    (on demand) and emits ``record.gaps_found`` if the open gaps changed."""
    scope = Scope.of(scope)
    with db.session() as session:
        case = store.case(session, case_id)
        if case is None or not scope.covers(case.region_code, case.body_id):
            return None
        if evaluate:
            up_to = "archiving" if case.sealed else max(
                case.stage or "initiation", case.gaps_scope or "initiation", key=STAGE_ORDER.index)
            ingest.evaluate_gaps(session, case, up_to, trigger="on_demand")
        rules = completeness_rules.default_rules()
        return {"case_id": case.case_id, "action_type": case.action_type,
                "action_type_known": case.action_type in rules.action_types,
                "stage": case.stage, "evaluated_stage": case.gaps_scope, "facts": case.facts or {},
                "open_gaps": case.open_gaps or [],
                "evaluated_at": store.iso(case.gaps_evaluated_at)}


def list_refusals(db, scope, case_id=None, open_only=False, limit=100) -> dict:
    with db.session() as session:
        rows = store.refusals_in_scope(session, Scope.of(scope), case_id=case_id, open_only=open_only,
                                       limit=max(1, min(int(limit), MAX_PAGE)))
        return {"refusals": [refusal_view(r) for r in rows]}


def case_owner(db, case_id, at=None) -> dict | None:
    """SEC-2: the body a transferred case belongs to at ``at`` (ISO time; default now), as records knows
    its transfers; None when no transfer is in force (the case belongs to the body of its id's namespace)."""
    moment = dt.datetime.fromisoformat(at) if at else utcnow()
    with db.session() as session:
        valid = ownership.chain(ownership.load_transfers(session, [case_id])[case_id])
        current = ownership.owner_at(valid, moment)
    return {"body_id": current.to_body, "region_code": current.to_region} if current else None
