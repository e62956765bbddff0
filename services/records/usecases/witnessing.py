"""上级见证 across tiers (REC-4, PLAT-1, issue 23): at the province, a city's signed heads are witnessed
as append-only extensions (else the fork alarm), its key hand-overs checked against the pinned key, its
requests for the newest witnessed head answered, forks resolved by an operator; at a city, the
province's view of this suite's log is kept, checked against the log, and asked for at start."""
from __future__ import annotations

import logging
import time

from services.common.db import emit
from services.common.events import InvalidEvent
from services.common.identifiers import is_region_code, region_covers
from services.records import config, store, witness
from services.records import metrics as rec_metrics
from services.records.ledger import LogIntegrityError
from services.records.models import ProvinceWitness, WitnessedHead, WitnessLog

from .access import error

log = logging.getLogger(__name__)


def witness_head(db, event) -> None:
    with db.effect_of(event) as session:
        witness.witness(session, event)


def answer_request(db, event) -> None:
    with db.effect_of(event) as session:
        witness.answer_request(session, event)


def hand_over(db, event) -> None:
    with db.effect_of(event) as session:
        witness.hand_over(session, event)


def keep_province_view(db, ledger, event) -> None:
    """At a city: the province's newest witnessed head of this log, or its fork alarm; the log is then
    checked against it (SelfCheckFailed stops appends)."""
    if event.payload["log_id"] != config.log_id():
        raise InvalidEvent(f"{event.event_type} for log {event.payload['log_id']}, not this suite's "
                           f"log {config.log_id()}")
    with db.effect_of(event) as session:
        row = witness.keep_province_view(session, event)
        rec_metrics.PROVINCE_FORK.set(1 if row.status == "forked" else 0)
    try:     # the log against what the province says it witnessed, now (SelfCheckFailed stops appends)
        ledger.check_witness(db)
    except LogIntegrityError as exc:
        log.error("records: %s", exc)


def witnessed_heads(db, log_id=None, conflicts_only=False, limit=100, status=None) -> list[dict]:
    with db.session() as session:
        return [witness.view(r) for r in store.witnessed_heads(session, log_id=log_id, conflicts_only=conflicts_only,
                                                               limit=limit, status=status)]


def witness_logs(db, log_id=None) -> list[dict]:
    with db.session() as session:
        return [witness.log_view(state, session.get(WitnessedHead, state.tip_id) if state.tip_id else None)
                for state in store.witness_logs(session, log_id)]


def resolve_fork(db, log_id, operator, note, scope_region=None) -> dict:
    """An operator resolves a witnessed log after the restore procedure (docs/RUNBOOK.md), recorded with
    who, when and the note; only for a log in the operator's region."""
    if len((note or "").strip()) < 4:
        return error(422, "note_required", "须说明处置情况（如：已按恢复规程核对，缺失记录已由部门重报）")
    with db.session() as session:
        state = session.get(WitnessLog, log_id)
        if state is None or not (scope_region and is_region_code(scope_region)
                                 and region_covers(scope_region, state.city_code)):
            return error(404, "not_found", f"未见证过日志 {log_id}，或其不在您的管辖范围内")
        return {"resolution": witness.resolve_fork(session, log_id, operator, note.strip())}


def province_witness(db) -> dict | None:
    with db.session() as session:
        return witness.province_view(session.get(ProvinceWitness, config.log_id()))


def announce_key_rotation(db, ledger, new_public_key) -> dict:
    """A statement naming the new public key and the tree size from which it signs, signed with the
    CURRENT key, sent to the province (``record.key_rotated``) — before the new key is deployed."""
    from services.records.domain.treehead import verifier_for
    from services.records.domain.witnessing import handover_bytes
    from services.records.ledger import settings_region

    new = verifier_for(str(new_public_key).strip()).public_key_bytes().hex()   # Ed25519 or SM2 (issue 22)
    signer = config.signer()
    with ledger.appending(db) as session:
        size = ledger.size
        stamp = int(time.time() * 1000)
        statement = handover_bytes(config.log_id(), signer.algorithm, bytes.fromhex(new), size, stamp)
        payload = {"log_id": config.log_id(), "algorithm": signer.algorithm,
                   "old_public_key": signer.public_key_bytes().hex(), "new_public_key": new,
                   "from_tree_size": size, "timestamp": stamp, "signature": signer.sign(statement).hex()}
        emit(session, "record.key_rotated", payload, region_code=config.log_region() or settings_region()
             or "000000", body_id=config.log_body())
    return payload


def ask_the_province(db, ledger) -> None:
    """At a city, every process asks once at start (and again while unanswered) for the newest head
    of its log the province witnessed; it signs nothing before the answer (issue 23)."""
    if not config.witness_check_required():
        return
    with db.session() as session:
        row = session.get(ProvinceWitness, config.log_id())
        answered = ledger.witness_request is not None and row is not None and \
            ledger.witness_request in (row.answered_requests or [])
        rec_metrics.PROVINCE_FORK.set(1 if row is not None and row.status == "forked" else 0)
        if answered or time.monotonic() - ledger.witness_requested_at < config.witness_request_retry():
            return
        ledger.request_witness(session, store.log_size(session))
