"""Reading the register (登记簿查询) in the caller's scope (SEC-2, PLAT-1): the handlers' register, the
view of a body complained about (no complainant identity), and the private-enterprise report (CMP-6)."""
from __future__ import annotations

from services.common.scope import Scope
from services.complaints import store
from services.complaints.domain import Status, body_view, enterprise_report
from services.complaints.domain.views import private_enterprise_by_body

from .shared import today_china


def list_register(db, scope, filters=None) -> list[dict]:
    """The register in the caller's scope (filed or handled in their region), in register order."""
    filters = filters or {}
    today = today_china()
    with db.session() as session:
        rows = store.register_rows(session, Scope.of(scope), filters, today)
        return [{"number": c.number, "channel": c.channel, "region_code": c.region_code,
                 "subject_body_id": c.subject_body_id, "status": c.status,
                 "status_label": Status(c.status).label, "received_at": store.aware(c.received_at).isoformat(),
                 "acknowledge_due": c.acknowledge_due.isoformat(),
                 "handling_due": c.handling_due.isoformat() if c.handling_due else None,
                 "overdue": bool(c.open_due and c.open_due < today),
                 "handler_unit_id": c.handler_unit_id, "handler_region_code": c.handler_region_code,
                 "supervising_region": c.supervising_region, "linked_to": c.linked_to,
                 "against_private_enterprise": c.against_private_enterprise, "request": c.request,
                 "complainant_name": c.complainant_name, "complainant_phone": c.complainant_phone}
                for c in rows]


def body_complaints(db, scope) -> list[dict]:
    """What a body complained about may read (body_view): no complainant identity anywhere. The
    complaints about the bodies in the caller's scope (SEC-2: no body list → none; every body of the
    region when granted)."""
    scope = Scope.of(scope)
    if scope.empty:
        return []
    out = []
    with db.session() as session:
        for row in store.complaints_about_bodies(session, scope):
            subject_region = (row.subject or {}).get("body_region_code") or row.region_code
            mine = [b for b in (row.complained_bodies or "").strip("|").split("|") if b and
                    (scope.all_bodies or b in scope.bodies)]
            if not mine or not (scope.covers_region(subject_region) or scope.covers_region(row.region_code)):
                continue
            out.append(body_view(store.record_of(row, store.attachment_count(session, row.number))))
    return out


def private_enterprise_report(db, scope, year=None) -> dict:
    """CMP-6: complaints about enforcement against private enterprises (涉企投诉), reported separately."""
    year = int(year or today_china().year)
    scope = Scope.of(scope)
    with db.session() as session:
        records = [store.record_of(r) for r in store.complaints_of_year(session, scope, year)]
    report = enterprise_report(records).to_dict()
    return {"region_code": scope.region_code, "year": year, **report,
            "private_enterprise_by_body": private_enterprise_by_body(records),
            "private_enterprise_complaints": [
                {"number": r.register_number, "status": r.status.value, "status_label": r.status.label,
                 "subject_body_id": r.complaint.subject.body_id, "received_on": r.complaint.received_on.isoformat(),
                 "upheld": r.upheld, "satisfaction": r.satisfaction}
                for r in records if r.complaint.flags.against_private_enterprise]}
