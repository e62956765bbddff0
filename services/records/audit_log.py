"""The audit trail of staff actions (安全审计, SEC-3, issue 15): queries on ``audit_log``.

Kept apart from the records log's ingest path: its own handler and queue (``audit.recorded`` from
the gateway), its own table, no Merkle log. Append-only: rows are inserted by ``append`` and deleted
only by ``purge`` after the retention period (``ZHIFA_AUDIT_RETENTION_DAYS``, at least 183 days —
six months, 等保 2.0 三级 8.1.4.3 d); on PostgreSQL a trigger refuses anything else (migration 0006).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, text

from services.common import settings
from services.common.db import utcnow
from services.common.identifiers import is_region_code, region_prefix
from services.records.models import AuditEntry

PURGE_BATCH = 5000
MAX_PAGE = 500


def retention_days() -> int:
    """Days audit entries are kept: ZHIFA_AUDIT_RETENTION_DAYS, at least 183 — six months, the legal
    minimum (SEC-3; declared in services/records/__init__.py, the PostgreSQL trigger enforces it too)."""
    return settings.get("ZHIFA_AUDIT_RETENTION_DAYS")


def append(session, event) -> AuditEntry:
    p = event.payload
    row = AuditEntry(event_id=event.event_id, correlation_id=(event.correlation_id or "")[:64] or None,
                     occurred_at=event.occurred_at, received_at=utcnow(), phase=p["phase"], subject=p["subject"],
                     role=p["role"], region_code=p["scope"]["region_code"], body_ids=list(p["scope"]["body_ids"]),
                     action=p["action"], method=p["method"], path=p["path"], object=dict(p["object"]),
                     query=dict(p["query"]), status=p.get("status"), outcome=p["outcome"],
                     source_address=p["source_address"], user_agent=p.get("user_agent"))
    session.add(row)
    return row


def search(session, scope_region: str, filters: dict) -> list[AuditEntry]:
    """Entries of staff whose region the auditor's region covers, newest first; filters: subject,
    role, action (substring), outcome, phase, correlation_id, source_address, from/to (ISO times),
    before (an id, for paging), limit."""
    if not is_region_code(scope_region or ""):
        return []     # no scope, no entries (fail closed)
    query = select(AuditEntry).where(AuditEntry.region_code.startswith(region_prefix(scope_region)))
    for name in ("subject", "role", "outcome", "phase", "correlation_id", "source_address"):
        if filters.get(name):
            query = query.where(getattr(AuditEntry, name) == filters[name])
    if filters.get("action"):
        query = query.where(AuditEntry.action.contains(filters["action"]))
    if filters.get("from"):
        query = query.where(AuditEntry.occurred_at >= _aware(filters["from"]))
    if filters.get("to"):
        query = query.where(AuditEntry.occurred_at <= _aware(filters["to"]))
    if filters.get("before"):
        query = query.where(AuditEntry.id < int(filters["before"]))
    limit = max(1, min(int(filters.get("limit") or 100), MAX_PAGE))
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))


def purge(session, now: dt.datetime | None = None) -> int:
    """Delete entries older than the retention period (the leased job); returns how many."""
    cutoff = (now or utcnow()) - dt.timedelta(days=retention_days())
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL zhifa.audit_purge = 'on'"))   # the one deletion the trigger allows
    ids = list(session.scalars(select(AuditEntry.id).where(AuditEntry.occurred_at < cutoff)
                               .order_by(AuditEntry.id).limit(PURGE_BATCH)))
    if ids:
        session.execute(delete(AuditEntry).where(AuditEntry.id.in_(ids)))
    return len(ids)


def view(row: AuditEntry) -> dict:
    return {"id": row.id, "event_id": row.event_id, "correlation_id": row.correlation_id,
            "at": row.occurred_at.isoformat() if row.occurred_at else None, "phase": row.phase,
            "subject": row.subject, "role": row.role, "scope": {"region_code": row.region_code,
                                                                 "body_ids": row.body_ids},
            "action": row.action, "method": row.method, "path": row.path, "object": row.object, "query": row.query,
            "status": row.status, "outcome": row.outcome, "source_address": row.source_address,
            "user_agent": row.user_agent}


def _aware(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
