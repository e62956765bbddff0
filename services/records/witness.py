"""Witnessing other suites' signed tree heads (见证, REC-4 across tiers, PLAT-1).

A province keeps every city's signed tree heads as they arrive over the upward link. A head is
accepted only with a valid signature by the log's pinned key (configured in
``ZHIFA_RECORDS_WITNESS_KEYS`` as ``{log_id: hex}``, else the key of the first head seen — trust on
first use). A head that contradicts what was witnessed — another root at a size already witnessed,
fewer entries than an earlier head, or another key — is kept and flagged: that city's history was
rewritten or lost, or its key changed without the rotation procedure (docs/RUNBOOK.md).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import settings
from services.common.db import utcnow
from services.common.events import Event, InvalidEvent
from services.records.domain.treehead import SignedTreeHead, verify_tree_head
from services.records.models import WitnessedHead


def pinned_key(session: Session, log_id: str) -> str | None:
    configured = settings.setting("ZHIFA_RECORDS_WITNESS_KEYS") or {}
    if isinstance(configured, dict) and configured.get(log_id):
        return str(configured[log_id]).lower()
    first = session.scalars(select(WitnessedHead).where(WitnessedHead.log_id == log_id, WitnessedHead.conflict.is_(None))
                            .order_by(WitnessedHead.id).limit(1)).first()
    return first.public_key if first else None


def witness(session: Session, event: Event) -> WitnessedHead:
    p = event.payload
    sth = SignedTreeHead.from_json(p)
    pinned = pinned_key(session, p["log_id"])
    key = pinned or p["public_key"]
    if not verify_tree_head(sth, key):
        if pinned and pinned != p["public_key"] and verify_tree_head(sth, p["public_key"]):
            conflict = "签名密钥与见证的密钥不一致（未按规程轮换密钥）"
        else:
            raise InvalidEvent(f"tree head of {p['log_id']} at size {p['tree_size']}: bad signature")
    else:
        conflict = None
    earlier = session.scalars(select(WitnessedHead).where(WitnessedHead.log_id == p["log_id"])).all()
    for head in earlier:
        if head.tree_size == p["tree_size"] and head.root_hash != p["root_hash"]:
            conflict = conflict or f"树大小 {p['tree_size']} 已见证的根哈希不同：历史记录被改写"
        if head.tree_size > p["tree_size"] and head.timestamp < p["timestamp"]:
            conflict = conflict or f"较早已见证 {head.tree_size} 条，现仅 {p['tree_size']} 条：记录被删除或回滚"
    row = WitnessedHead(event_id=event.event_id, log_id=p["log_id"], region_code=event.region_code,
                        tree_size=p["tree_size"], root_hash=p["root_hash"], timestamp=p["timestamp"],
                        signature=p["signature"], public_key=p["public_key"], key_id=p["key_id"],
                        conflict=conflict, received_at=utcnow())
    session.add(row)
    return row


def view(row: WitnessedHead) -> dict:
    return {"log_id": row.log_id, "region_code": row.region_code, "tree_size": row.tree_size,
            "root_hash": row.root_hash, "timestamp": row.timestamp, "key_id": row.key_id,
            "signature": row.signature, "public_key": row.public_key, "conflict": row.conflict,
            "received_at": row.received_at.isoformat() if row.received_at else None}
