"""DISC-7 报送与签收: the annual report arrives at the register of its government and superior department
(here, or at the province over the upward link), their staff acknowledge it, and the acknowledgement goes
back to the body's suite (``disclosure.annual_report_acknowledged``, over the downward link when needed)."""
from __future__ import annotations

import datetime as dt

from services.common.db import emit
from services.common.scope import Scope
from services.disclosure import receipts

from .shared import refused


def report_sent(db, event) -> None:
    with db.effect_of(event) as session:
        receipts.receive(session, event, dt.datetime.now(dt.timezone.utc))


def report_acknowledged(db, event) -> None:
    with db.effect_of(event) as session:
        receipts.acknowledged(session, event)


def register(db, scope, year=None) -> list[dict]:
    """The register of received annual reports the caller may acknowledge (SEC-2: empty scope, nothing)."""
    scope = Scope.of(scope)
    if scope.empty:
        return []
    with db.session() as session:
        return [receipts.receipt_view(r) for r in receipts.register_rows(session, scope, year)]


def acknowledge(db, receipt_id, actor, scope, today: dt.date) -> dict:
    scope = Scope.of(scope)
    with db.session() as session:
        row = session.get(receipts.AnnualReportReceipt, receipt_id, with_for_update=True)
        if row is None or not row.held_here or not receipts.may_acknowledge(scope, row):
            return refused(404, "not_found", f"报送记录 {receipt_id} 不存在或不在您的签收范围内")
        if row.acknowledged_on is not None:
            return receipts.receipt_view(row)          # acknowledged once; asking again changes nothing
        row.acknowledged_on, row.acknowledged_by = today, actor
        emit(session, "disclosure.annual_report_acknowledged", {
            "body_id": row.body_id, "year": row.year, "revision": row.revision,
            "recipient_kind": row.recipient_kind, "recipient": row.recipient,
            "recipient_region": row.recipient_region, "acknowledged_on": today, "acknowledged_by": actor},
            region_code=row.region_code, body_id=row.body_id)
        return receipts.receipt_view(row)
