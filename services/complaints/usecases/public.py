"""What the complainant and the portal see without logging in (CMP-1, CMP-4, EVAL-7): the status by
number + query code (查询), the satisfaction rating (满意度评价), the published channels and the
portal form's options."""
from __future__ import annotations

from services.common import receipts
from services.common.attachments import intake_rules
from services.common.db import emit
from services.common.identifiers import is_region_code
from services.complaints import store
from services.complaints.domain import Status, load_channels, query_status
from services.complaints.domain.directory import region_name
from services.complaints.domain.register import InvalidRegisterNumber, parse_register_number

from .shared import Refused, invalid, now_utc


def public_status(db, number, code):
    """CMP-4: status by number + query code, no login; nothing but the status (domain public_status)."""
    try:
        wanted = str(parse_register_number(number or ""))
    except InvalidRegisterNumber:
        wanted = None
    with db.session() as session:
        row = store.complaint_row(session, wanted)
        record = store.record_of(row) if row is not None else None
    status = query_status(record, number or "", code or "") if record is not None else None
    if status is None:
        return None
    # the query receipt 查询回执 is signed (issue 22): SM2 or Ed25519, the algorithm recorded in it
    return receipts.sign("complaints", "complaint_status", {
        **status, "number": status["register_number"], "status_text": status["status_label"],
        "can_rate": status["status"] == Status.CONCLUDED.value})


def rate(db, number, code, rating, comment=None) -> dict:
    """满意度评价 by the complainant at closure (EVAL-7); needs number + query code."""
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        raise invalid({"rating": ["请选择1至5分的满意度"]}) from None
    with db.session() as session:
        row = store.complaint_row(session, number, lock=True)
        record = store.record_of(row) if row is not None else None
        if record is None or query_status(record, number, code or "") is None:
            raise Refused(404, "not_found", "编号或查询码不正确")
        new = record.rate(rating, at=now_utc(), comment=(comment or None))
        store.write_record(row, new, now_utc())
        subject = record.complaint.subject
        emit(session, "complaint.rated", {
            "number": number, "subject_body_id": subject.body_id, "rating": rating,
            "against_private_enterprise": record.complaint.flags.against_private_enterprise},
            region_code=subject.body_region_code, body_id=subject.body_id, case_id=record.complaint.case_id)
    return {"number": number, "status": new.status.value, "status_label": new.status.label,
            "message": "感谢您的评价。"}


def channels(region_code):
    """CMP-1: the published channels for a region (fields missing there come from parent regions)."""
    directory = load_channels()
    info = directory.channels_for(region_code) if is_region_code(region_code or "") else None
    if info is None:
        return None
    return {"region_code": info.region_code, "name": info.name, "scope": info.scope, "mailbox": info.mailbox,
            "email": info.email, "hotlines": [{"number": h.number, "name": h.name} for h in info.hotlines],
            "postal_address": ({"address": info.postal_address.address, "postcode": info.postal_address.postcode,
                                "recipient": info.postal_address.recipient} if info.postal_address else None),
            "web_form": info.web_form, "sources": info.sources, "has_12345": info.has_12345}


def intake_options(db) -> dict:
    """What the portal form offers: regions that publish channels, and the registered bodies."""
    directory = load_channels()
    regions = [{"region_code": code, "name": entry.get("name") or region_name(code)}
               for code, entry in sorted(directory.regions.items())]
    with db.session() as session:
        known = [{"body_id": b.body_id, "name": b.name, "kind": b.kind, "region_code": b.region_code}
                 for b in store.known_bodies(session)]
    codes = {r["region_code"] for r in regions}
    for b in known:
        if b["region_code"][:6] not in codes:
            codes.add(b["region_code"][:6])
            regions.append({"region_code": b["region_code"][:6], "name": region_name(b["region_code"])})
    limits = intake_rules()
    return {"regions": regions, "bodies": known,
            "attachments": {"max_files": limits.max_files, "max_bytes": limits.max_bytes,
                            "types": sorted(limits.types)}}
