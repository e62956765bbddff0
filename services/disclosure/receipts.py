"""报送与签收 of annual reports (DISC-7): the register of reports received by a body's government
(本级人民政府) and superior department (上级主管部门), their acknowledgement, and what the public page may
say about it.

Where a recipient's register is: the suite whose region holds the recipient — a city suite holds its
own government and every body of its counties; a province suite holds what is not in a linked city
(``tiers.judged_here``). The government of a report is its region, always in the report's own suite.
A superior department registered in this suite's before-information register is here; a superior of a
city department at the province is registered there when the report arrives over the upward link.
Each suite also keeps the acknowledgements of its own reports that come back (locally, or over the
downward link), so the public page states 已签收 only when a recipient acknowledged.

Same outcome for every arrival order: a receipt row is created by whichever of the report and the
acknowledgement arrives first; neither overwrites what the other wrote."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import tiers
from services.common.identifiers import is_region_code, region_covers
from services.disclosure import register
from services.disclosure.models import AnnualReportRecord, AnnualReportReceipt

LABELS = {"government": "本级人民政府", "superior": "上级主管部门"}


def receipt_id(body_id: str, year: int, revision: int, kind: str) -> str:
    return f"{body_id}:{year}:r{revision}:{kind}"


def superior_region(session: Session, superior_body_id: str) -> str | None:
    """The region of a superior department: as registered here, else the region code its id starts with."""
    row = register.current(session, "body", superior_body_id, dt.date.max)
    if row is not None:
        return row.region_code
    head = superior_body_id.split("-", 1)[0]
    return head if is_region_code(head) else None


def held_here(region_code: str | None) -> bool:
    """Whether this suite is the register of a recipient of ``region_code``."""
    if region_code is None:
        return False
    if tiers.is_province():
        return tiers.judged_here(region_code)
    suite = tiers.suite_region()
    return suite is None or region_covers(suite, region_code)


def _row(session: Session, rid: str, **keys) -> AnnualReportReceipt:
    row = session.get(AnnualReportReceipt, rid)
    if row is None:
        row = AnnualReportReceipt(receipt_id=rid, held_here=False, **keys)
        session.add(row)
    return row


def receive(session: Session, event, now: dt.datetime) -> list[AnnualReportReceipt]:
    """A report revision was sent (``disclosure.annual_report_published``, local or over the upward link):
    the receipts of the recipients whose register is this suite."""
    p = event.payload
    recipients = [("government", p["government_region_code"], p["government_region_code"])]
    if p.get("superior_body_id"):
        recipients.append(("superior", p["superior_body_id"], superior_region(session, p["superior_body_id"])))
    rows = []
    for kind, recipient, region in recipients:
        if not held_here(region):
            continue
        row = _row(session, receipt_id(p["body_id"], p["year"], p["revision"], kind), body_id=p["body_id"],
                   region_code=event.region_code, year=p["year"], revision=p["revision"], recipient_kind=kind,
                   recipient=recipient, recipient_region=region)
        row.held_here = True
        row.sent_on = row.sent_on or p["published_on"]
        row.received_at = row.received_at or now
        row.report_event_id = row.report_event_id or event.event_id
        row.totals, row.report_url = p["totals"], p["report_url"]
        rows.append(row)
    return rows


def acknowledged(session: Session, event) -> AnnualReportReceipt:
    """An acknowledgement (here or from the tier above): kept on the receipt, the first one wins."""
    p = event.payload
    row = _row(session, receipt_id(p["body_id"], p["year"], p["revision"], p["recipient_kind"]),
               body_id=p["body_id"], region_code=event.region_code, year=p["year"], revision=p["revision"],
               recipient_kind=p["recipient_kind"], recipient=p["recipient"], recipient_region=p["recipient_region"])
    if row.acknowledged_on is None:
        row.acknowledged_on, row.acknowledged_by = p["acknowledged_on"], p["acknowledged_by"]
    return row


def may_acknowledge(scope, row: AnnualReportReceipt) -> bool:
    """The government's receipt: its supervising office (every body of the region); the superior's: the
    superior department itself (or every body of its region)."""
    if row.recipient_kind == "government":
        return scope.all_bodies and scope.covers_region(row.recipient_region)
    return scope.covers(row.recipient_region, row.recipient)


def receipt_view(row: AnnualReportReceipt) -> dict:
    return {"receipt_id": row.receipt_id, "body_id": row.body_id, "region_code": row.region_code,
            "year": row.year, "revision": row.revision, "recipient_kind": row.recipient_kind,
            "recipient_label": LABELS[row.recipient_kind], "recipient": row.recipient,
            "recipient_region": row.recipient_region, "sent_on": row.sent_on.isoformat() if row.sent_on else None,
            "received_at": row.received_at.isoformat() if row.received_at else None,
            "acknowledged_on": row.acknowledged_on.isoformat() if row.acknowledged_on else None,
            "acknowledged_by": row.acknowledged_by, "report_url": row.report_url, "totals": row.totals}


def public_status(session: Session, report: AnnualReportRecord) -> list[dict]:
    """What the public page may say about the current revision: sent on the day it was published to each
    recipient on record, 已签收 (with the day) only when that recipient acknowledged this revision."""
    rows = {r.recipient_kind: r for r in session.scalars(select(AnnualReportReceipt).where(
        AnnualReportReceipt.body_id == report.body_id, AnnualReportReceipt.year == report.year,
        AnnualReportReceipt.revision == report.revision))}
    out = []
    for kind in ("government", "superior"):
        recipient = (report.recipients or {}).get(
            "government_region_code" if kind == "government" else "superior_body_id")
        row = rows.get(kind)
        out.append({"kind": kind, "label": LABELS[kind], "recipient": recipient,
                    "sent_on": report.published_on.isoformat() if recipient else None,
                    "acknowledged_on": row.acknowledged_on.isoformat() if row and row.acknowledged_on else None})
    return out


def register_rows(session: Session, scope, year: int | None) -> list[AnnualReportReceipt]:
    query = select(AnnualReportReceipt).where(AnnualReportReceipt.held_here.is_(True))
    if year is not None:
        query = query.where(AnnualReportReceipt.year == int(year))
    rows = session.scalars(query.order_by(AnnualReportReceipt.year.desc(), AnnualReportReceipt.receipt_id)).all()
    return [r for r in rows if may_acknowledge(scope, r)]
