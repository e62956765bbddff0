"""操作审计 (SEC-3): the gateway's ``audit.recorded`` events kept in the append-only ``audit_log``
(services/records/audit_log.py), searched by auditors within their region, purged after the retention
period. Not part of the Merkle log or its ingest path."""
from __future__ import annotations

import logging

from services.records import audit_log

log = logging.getLogger(__name__)


def record(db, event) -> None:
    """One staff action recorded by the gateway; idempotent (the processed event id)."""
    with db.effect_of(event) as session:
        audit_log.append(session, event)


def search(db, scope_region, filters=None) -> dict:
    with db.session() as session:
        rows = audit_log.search(session, scope_region, dict(filters or {}))
        return {"entries": [audit_log.view(r) for r in rows], "retention_days": audit_log.retention_days()}


def purge(db) -> None:
    """Delete audit entries past the retention period, a batch at a time."""
    while True:
        with db.session() as session:
            purged = audit_log.purge(session)
        if purged:
            log.info("audit trail: %d entries past %d days purged", purged, audit_log.retention_days())
        if purged < audit_log.PURGE_BATCH:
            break
