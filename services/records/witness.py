"""Witnessing lower tiers' logs (见证, REC-4 across tiers, PLAT-1 — issue 23).

At a province: every city's signed tree heads arrive over the upward link (the entrypoint already
checked that a head of ``records.<city>`` came through that city's link). A head is taken only with
a valid signature by the log's **pinned key** — configured in ``ZHIFA_RECORDS_WITNESS_KEYS``
(``{log_id: hex}``, or ``log_id=hex,…``; no trust on first use: a log without a pinned key is
refused) and moved only by a hand-over the pinned key signed (``record.key_rotated``). Then the
chain rules of ``domain.witnessing`` decide: accepted (the new tip; sent down to the city as
``record.head_witnessed``), pending, or a **fork** — the fork alarm: the head is kept as evidence,
``record.fork_detected`` goes down to the city, the gauge ``zhifa_records_witness_forked`` (alert
ZhifaRecordsWitnessFork) is 1, and every further head of the log is refused until an operator
resolves it (``resolve_fork``: the next head becomes the new anchor).

At a city: ``record.head_witnessed`` / ``record.fork_detected`` from the province are kept in
``province_witness``; the ledger's self-check treats the witnessed head like a signed head of its own
(``Ledger.witness_finding``).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import settings
from services.common.db import emit, get_or_create, utcnow
from services.common.events import Event, InvalidEvent
from services.common.identifiers import city_of
from services.records import metrics as rec_metrics
from services.records.domain import witnessing as w
from services.records.domain.treehead import SignedTreeHead, algorithm_of_key, verifier_for, verify_tree_head
from services.records.models import ProvinceWitness, WitnessedHead, WitnessLog

WITNESS_BODY = "zhifa-records-witness"


def configured_keys() -> dict[str, str]:
    """``ZHIFA_RECORDS_WITNESS_KEYS``: the public key pinned for each witnessed log."""
    raw = settings.get("ZHIFA_RECORDS_WITNESS_KEYS")
    keys = {str(k).strip(): str(v).strip().lower() for k, v in raw.items() if v}
    bad = [k for k, v in keys.items() if len(v) not in (64, 130) or any(c not in "0123456789abcdef" for c in v)]
    if bad:
        raise ValueError(f"ZHIFA_RECORDS_WITNESS_KEYS: the key of {', '.join(bad)} is not 64 hex digits (Ed25519) "
                         "or 130 (SM2)")
    return keys


def pinned_key(state: WitnessLog | None, log_id: str) -> str | None:
    """The key heads of ``log_id`` must be signed with: the last handed-over one, else the configured."""
    if state is not None and state.public_key:
        return state.public_key
    return configured_keys().get(log_id)


def accepted_keys(state: WitnessLog | None, log_id: str) -> list[str]:
    """The pinned key, and the key it replaced until the first head signed with the new one is
    witnessed (the old key keeps signing between the hand-over and the new key's deployment)."""
    keys = [k for k in [pinned_key(state, log_id)] if k]
    history = (state.key_history or []) if state is not None else []
    if history and not history[-1].get("retired"):
        keys.append(history[-1]["public_key"])
    return keys


def _state(session: Session, log_id: str, city: str) -> WitnessLog:
    # locked: one judge per log at a time across replicas — the first head of a log too (issue 20: two
    # heads judged at once both found no row and one failed on the primary key)
    return get_or_create(session, WitnessLog, {"log_id": log_id},
                         {"city_code": city, "status": "ok", "key_history": [], "resolutions": []})


def _head(row: WitnessedHead) -> w.Head:
    return w.Head(row.tree_size, row.root_hash, row.from_size, row.from_root, tuple(row.proof or ()),
                  int(row.timestamp))


def _accepted(session: Session, log_id: str) -> list[WitnessedHead]:
    return list(session.scalars(select(WitnessedHead).where(WitnessedHead.log_id == log_id,
                                                            WitnessedHead.status == "accepted")))


def witness(session: Session, event: Event) -> WitnessedHead:
    """Judge one ``record.tree_head_signed`` of a city's log (at a province)."""
    p = event.payload
    log_id = p["log_id"]
    city = city_of(event.region_code)
    state = _state(session, log_id, city)
    state.last_received_at = utcnow()
    consistency = p.get("consistency") or {}
    row = WitnessedHead(event_id=event.event_id, log_id=log_id, region_code=event.region_code,
                        tree_size=p["tree_size"], root_hash=p["root_hash"], timestamp=p["timestamp"],
                        signature=p["signature"], public_key=p["public_key"], key_id=p["key_id"],
                        conflict=None, received_at=utcnow(), status="pending",
                        from_size=consistency.get("from_size"), from_root=consistency.get("from_root"),
                        proof=list(consistency.get("proof") or []) if consistency else None)
    keys = accepted_keys(state, log_id)
    if not keys:
        raise InvalidEvent(f"tree head of {log_id}: no public key pinned for this log "
                           "(ZHIFA_RECORDS_WITNESS_KEYS, docs/RUNBOOK.md#records-witness-keys)")
    sth = SignedTreeHead.from_json(p)
    if not any(verify_tree_head(sth, key) for key in keys):
        if p["public_key"] in keys:
            raise InvalidEvent(f"tree head of {log_id} at size {p['tree_size']}: bad signature")
        # another key: a rotation whose hand-over has not arrived yet, or a forgery — never accepted
        # unless a hand-over signed with the pinned key names this key (then judged again)
        row.reason = "签名密钥不是为该日志固定的密钥：等待经原密钥签署的密钥交接（record.key_rotated）"
        session.add(row)
        _publish_gauges(state, session)
        return row
    session.add(row)
    if state.status == "forked":
        row.status, row.reason = "refused", f"该日志已分叉告警（{state.fork_reason}），待运维处置后才接受新的树头"
        _publish_gauges(state, session)
        return row
    _judge(session, state, row)
    _settle_pending(session, state)
    _publish_gauges(state, session)
    return row


def _judge(session: Session, state: WitnessLog, row: WitnessedHead) -> None:
    tip = session.get(WitnessedHead, state.tip_id) if state.tip_id else None
    accepted = _accepted(session, state.log_id)
    verdict = w.judge(_head(row), _head(tip) if tip is not None else None, [_head(a) for a in accepted])
    if verdict.kind in (w.ACCEPT, w.DUPLICATE, w.HISTORY):
        row.status, row.reason = "accepted", None
        if verdict.kind == w.ACCEPT:
            session.flush()
            state.tip_id = row.id
            history = state.key_history or []
            if history and not history[-1].get("retired") and row.public_key == state.public_key:
                state.key_history = [*history[:-1], {**history[-1], "retired": True}]   # the new key took over
            announce(session, state, row)
    elif verdict.kind == w.PENDING:
        row.status, row.reason = "pending", verdict.reason
    else:
        session.flush()
        row.status, row.reason, row.conflict = "forked", verdict.reason, verdict.reason
        state.status, state.forked_at, state.fork_reason, state.fork_head_id = "forked", utcnow(), verdict.reason, row.id
        rec_metrics.WITNESS_CONFLICTS.labels(row.region_code).inc()
        emit(session, "record.fork_detected", {
            "log_id": state.log_id, "reason": verdict.reason,
            "witnessed_size": tip.tree_size if tip is not None else None,
            "witnessed_root": tip.root_hash if tip is not None else None,
            "head_size": row.tree_size, "head_root": row.root_hash},
            region_code=state.city_code, body_id=WITNESS_BODY)


def _settle_pending(session: Session, state: WitnessLog) -> None:
    """Judge the pending heads of the log again while any of them gets accepted (a predecessor came)."""
    changed = True
    while changed and state.status == "ok":
        changed = False
        pending = session.scalars(select(WitnessedHead).where(
            WitnessedHead.log_id == state.log_id, WitnessedHead.status == "pending")
            .order_by(WitnessedHead.tree_size)).all()
        keys = accepted_keys(state, state.log_id)
        for row in pending:
            if row.public_key not in keys:
                continue
            _judge(session, state, row)
            if row.status != "pending":
                changed = True
                break


def announce(session: Session, state: WitnessLog, row: WitnessedHead | None, in_reply_to: str | None = None,
             status: str | None = None, note: str | None = None) -> None:
    """``record.head_witnessed`` down to the city of the log."""
    payload = {"log_id": state.log_id, "in_reply_to": in_reply_to, "note": note,
               "status": status or ("forked" if state.status == "forked" else "witnessed" if row is not None
                                    else "none")}
    if row is not None:
        payload.update(tree_size=row.tree_size, root_hash=row.root_hash, timestamp=row.timestamp,
                       signature=row.signature, public_key=row.public_key,
                       algorithm=_algorithm(row.public_key))
    emit(session, "record.head_witnessed", payload, region_code=state.city_code, body_id=WITNESS_BODY)


def answer_request(session: Session, event: Event) -> None:
    """A city asks for the newest head of its log the province witnessed (at its start)."""
    log_id = event.payload["log_id"]
    state = _state(session, log_id, city_of(event.region_code))
    tip = session.get(WitnessedHead, state.tip_id) if state.tip_id else None
    announce(session, state, tip, in_reply_to=event.event_id,
             note=state.fork_reason if state.status == "forked" else None)


def hand_over(session: Session, event: Event) -> None:
    """``record.key_rotated``: pin the new key if the pinned key signed the hand-over."""
    p = event.payload
    state = _state(session, p["log_id"], city_of(event.region_code))
    key = pinned_key(state, p["log_id"])
    if key is None or key != p["old_public_key"]:
        raise InvalidEvent(f"key hand-over of {p['log_id']}: the old key is not the one pinned for the log")
    statement = w.handover_bytes(p["log_id"], p["algorithm"], bytes.fromhex(p["new_public_key"]),
                                 p["from_tree_size"], p["timestamp"])
    verifier = verifier_for(key)          # the pinned key's algorithm: Ed25519 or SM2 (issue 22)
    if p["algorithm"] != verifier.algorithm or not verifier.verify(statement, bytes.fromhex(p["signature"])):
        raise InvalidEvent(f"key hand-over of {p['log_id']}: not signed by the pinned key")
    if state.public_key == p["new_public_key"]:
        return                                                      # the same hand-over again
    state.key_history = [*(state.key_history or []), {"public_key": key, "from_tree_size": p["from_tree_size"],
                                                       "handed_over_at": utcnow().isoformat(),
                                                       "event_id": event.event_id, "retired": False}]
    state.public_key = p["new_public_key"]
    # heads signed with the new key that arrived before the hand-over are judged now
    waiting = session.scalars(select(WitnessedHead).where(
        WitnessedHead.log_id == state.log_id, WitnessedHead.status == "pending",
        WitnessedHead.public_key == p["new_public_key"]).order_by(WitnessedHead.tree_size)).all()
    for row in waiting:
        if state.status == "ok" and verify_tree_head(SignedTreeHead.from_json(_head_json(row)), p["new_public_key"]):
            _judge(session, state, row)
    _settle_pending(session, state)
    _publish_gauges(state, session)


def _head_json(row: WitnessedHead) -> dict:
    return {"tree_size": row.tree_size, "root_hash": row.root_hash, "timestamp": row.timestamp,
            "log_id": row.log_id, "algorithm": _algorithm(row.public_key), "signature": row.signature,
            "public_key": row.public_key}


def _algorithm(public_key_hex: str) -> str:
    """A witnessed head's algorithm follows from its key: 32 bytes Ed25519, 65 bytes SM2 (issue 22)."""
    return algorithm_of_key(bytes.fromhex(public_key_hex))


def resolve_fork(session: Session, log_id: str, operator: str, note: str) -> dict | None:
    """An operator resolved a fork (after the restore procedure, docs/RUNBOOK.md): the alarm is
    cleared, the forked history stays as evidence, the next head of the log is the new anchor; the
    city is told (``record.head_witnessed`` status reset)."""
    state = session.get(WitnessLog, log_id)
    if state is None:
        return None
    resolution = {"kind": "fork" if state.status == "forked" else "restore", "resolved_by": operator,
                  "resolved_at": utcnow().isoformat(), "note": note, "fork_reason": state.fork_reason,
                  "fork_head_id": state.fork_head_id, "tip_id": state.tip_id}
    state.resolutions = [*(state.resolutions or []), resolution]
    state.status, state.fork_reason, state.fork_head_id, state.forked_at = "ok", None, None, None
    state.tip_id = None
    announce(session, state, None, status="reset", note=note)
    _publish_gauges(state, session)
    return resolution


def _publish_gauges(state: WitnessLog, session: Session) -> None:
    """The witness gauges of one log (also refreshed from the database by the leased timer)."""
    labels = (state.log_id, state.city_code)
    rec_metrics.WITNESS_FORKED.labels(*labels).set(1 if state.status == "forked" else 0)
    pending = session.scalars(select(WitnessedHead.timestamp).where(
        WitnessedHead.log_id == state.log_id, WitnessedHead.status == "pending")).all()
    rec_metrics.WITNESS_PENDING.labels(*labels).set(len(pending))
    tip = session.get(WitnessedHead, state.tip_id) if state.tip_id else None
    if tip is not None:
        rec_metrics.WITNESS_NEWEST.labels(*labels).set(tip.timestamp / 1000)
    newest = max(pending, default=None)
    lag = 0.0 if newest is None or tip is None else max(0.0, (newest - tip.timestamp) / 1000)
    rec_metrics.WITNESS_LAG.labels(*labels).set(lag)


def refresh_gauges(session: Session) -> None:
    for state in session.scalars(select(WitnessLog)):
        _publish_gauges(state, session)


def view(row: WitnessedHead) -> dict:
    return {"log_id": row.log_id, "region_code": row.region_code, "tree_size": row.tree_size,
            "root_hash": row.root_hash, "timestamp": row.timestamp, "key_id": row.key_id,
            "signature": row.signature, "public_key": row.public_key, "conflict": row.conflict,
            "status": row.status, "reason": row.reason, "from_size": row.from_size,
            "received_at": row.received_at.isoformat() if row.received_at else None}


def log_view(state: WitnessLog, tip: WitnessedHead | None) -> dict:
    return {"log_id": state.log_id, "city_code": state.city_code, "status": state.status,
            "fork_reason": state.fork_reason, "forked_at": state.forked_at.isoformat() if state.forked_at else None,
            "tip": view(tip) if tip is not None else None, "pinned_key": pinned_key(state, state.log_id),
            "key_history": state.key_history or [], "resolutions": state.resolutions or [],
            "last_received_at": state.last_received_at.isoformat() if state.last_received_at else None}


# -- at a city: what the province witnessed of this suite's log ---------------------------------------

def keep_province_view(session: Session, event: Event) -> ProvinceWitness:
    """``record.head_witnessed`` / ``record.fork_detected`` from the province (at a city). The newest
    witnessed head only moves forward; a reset clears it; a fork alarm stays until a reset."""
    p = event.payload
    # race-free (issue 20): two answers of the province handled at once take turns on the row instead of
    # both inserting it (an IntegrityError on province_witness_pkey)
    row = get_or_create(session, ProvinceWitness, {"log_id": p["log_id"]}, {
        "status": "none", "answered_requests": [], "event_id": event.event_id, "received_at": utcnow()})
    row.received_at = utcnow()
    if event.event_type == "record.fork_detected":
        row.status, row.fork_reason, row.event_id = "forked", p["reason"], event.event_id
        return row
    if p.get("in_reply_to"):
        row.answered_requests = [*(row.answered_requests or [])[-20:], p["in_reply_to"]]
    status = p["status"]
    if status == "reset":
        row.status, row.fork_reason, row.event_id = "reset", None, event.event_id
        row.tree_size = row.root_hash = row.timestamp = row.signature = row.public_key = row.algorithm = None
    elif status == "forked":
        row.status, row.fork_reason = "forked", p.get("note") or row.fork_reason
    elif status == "witnessed" and (row.tree_size is None or p["tree_size"] >= row.tree_size
                                    or row.status in ("none", "reset")):
        if row.status != "forked":
            row.status = "witnessed"
        row.tree_size, row.root_hash, row.timestamp = p["tree_size"], p["root_hash"], p["timestamp"]
        row.signature, row.public_key, row.algorithm = p["signature"], p["public_key"], p.get("algorithm") or "ed25519"
        row.event_id = event.event_id
    return row


def province_view(row: ProvinceWitness | None) -> dict | None:
    if row is None:
        return None
    return {"log_id": row.log_id, "status": row.status, "tree_size": row.tree_size, "root_hash": row.root_hash,
            "timestamp": row.timestamp, "fork_reason": row.fork_reason,
            "received_at": row.received_at.isoformat() if row.received_at else None}


