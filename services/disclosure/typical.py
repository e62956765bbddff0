"""典型案例通报 on the portal (CMP-7): the approved typical case (``evaluation.typical_case_approved``) is
published with its title and warning text redacted by the disclosure rules (DISC-4, ``redact_text`` —
names, ID numbers, phones, addresses masked); if personal data is still found after redaction it is
withheld, never published (fail closed). Public reads: the list (newest first), one case, and the feed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.identifiers import region_prefix
from services.disclosure import register
from services.disclosure.domain.redaction import PersonalDataLeak, assert_no_personal_data, redact_text
from services.disclosure.models import TypicalCasePublication

SOURCE_ZH = {"complaint": "投诉举报查处", "accountability": "责任追究"}


def publish(session: Session, event, now: dt.datetime) -> TypicalCasePublication:
    p = event.payload
    row = session.get(TypicalCasePublication, p["typical_case_id"])
    if row is not None:              # one publication per typical case (a later copy changes nothing)
        return row
    title, title_items = redact_text(p["title"])
    text, text_items = redact_text(p["warning_text"])
    counts: dict[str, int] = {}
    for item in (*title_items, *text_items):
        counts[item.kind.value] = counts.get(item.kind.value, 0) + item.count
    status, reason = "published", None
    try:
        assert_no_personal_data({"title": title, "warning_text": text})
    except PersonalDataLeak as exc:
        status, reason = "withheld", f"脱敏后仍含个人信息，暂不公开：{exc}"
    row = TypicalCasePublication(
        typical_case_id=p["typical_case_id"], region_code=event.region_code, body_id=event.body_id,
        body_name=event.body_id, source_kind=p["source_kind"], title=title, warning_text=text,
        status=status, redactions=counts, withheld_reason=reason, approved_on=p["approved_on"], published_at=now,
        event_id=event.event_id)
    session.add(row)
    return row


def public_view(session: Session, row: TypicalCasePublication) -> dict:
    """The body's name is read when shown (the registry may arrive after the case: same page either way)."""
    return {"typical_case_id": row.typical_case_id, "region_code": row.region_code, "body_id": row.body_id,
            "body_name": register.body_name(session, row.body_id) or row.body_id, "source_kind": row.source_kind, "source_zh": SOURCE_ZH[row.source_kind],
            "title": row.title, "warning_text": row.warning_text, "approved_on": row.approved_on.isoformat(),
            "published_at": row.published_at.isoformat(), "url": f"/disclosure/typical-cases/{row.typical_case_id}"}


def published(session: Session, region_code: str | None = None, limit: int = 50) -> list[dict]:
    query = select(TypicalCasePublication).where(TypicalCasePublication.status == "published")
    if region_code:
        query = query.where(TypicalCasePublication.region_code.startswith(region_prefix(region_code)))
    rows = session.scalars(query.order_by(TypicalCasePublication.published_at.desc()).limit(limit)).all()
    return [public_view(session, r) for r in rows]


def one(session: Session, typical_case_id: str) -> dict | None:
    row = session.get(TypicalCasePublication, typical_case_id)
    return public_view(session, row) if row is not None and row.status == "published" else None
