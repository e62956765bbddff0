"""Annual statistics reports (统计年报, DISC-7): built from the service's own publications with the
domain's ``build_annual_report``, published on the portal and sent to the body's government and
superior department as ``disclosure.annual_report_published``."""
from __future__ import annotations

import datetime as dt
import html
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import emit
from services.common.workdays import WorkingDayCalendar
from services.disclosure import metrics, register
from services.disclosure.domain.annual import (DecisionRecord, annual_report_timeliness, build_annual_report,
                                               render_annual_report)
from services.disclosure.domain.conclusions import classify_conclusion
from services.disclosure.domain.model import ACTION_TYPE_LABELS
from services.disclosure.models import AnnualReportRecord, DecisionSource, Publication


def _records(session: Session, body_id: str, year: int) -> list[DecisionRecord]:
    rows = session.scalars(select(Publication).where(
        Publication.body_id == body_id, Publication.decided_on >= dt.date(year, 1, 1),
        Publication.decided_on <= dt.date(year, 12, 31))).all()
    sources = {s.publication_id: s.payload for s in session.scalars(select(DecisionSource).where(
        DecisionSource.publication_id.in_([r.publication_id for r in rows])))} if rows else {}
    records = []
    for p in rows:
        source = sources.get(p.publication_id, {})
        fine = source.get("fine_amount", p.fine_amount)
        granted = classify_conclusion(p.action_type, source.get("conclusion") or "").permit_granted \
            if p.action_type == "permit" else None
        records.append(DecisionRecord(
            case_id=f"{p.case_id}/v{p.version}", body_id=p.body_id, action_type=p.action_type, decided_on=p.decided_on,
            fine_amount=fine, permit_granted=granted, published_on=p.published_on, publication_due=p.due_on,
            withheld=p.status == "withheld", corrections=p.corrections or 0,
            withdrawal_reason=p.withdrawal_reason if p.status == "withdrawn" else None,
            cancelled_before_publication=p.status == "cancelled"))
    return records


def totals_of(report) -> dict:
    return {
        "total": report.total,
        "by_action_type": {a.value: n for a, n in report.by_action_type.items()},
        "fines_count": report.fines_count, "fines_total": str(report.fines_total),
        "permits_granted": report.permits_granted, "permits_refused": report.permits_refused,
        "permits_unknown": report.permits_unknown, "published_on_time": report.published_on_time,
        "published_late": report.published_late, "unpublished_overdue": report.unpublished_overdue,
        "unpublished_not_yet_due": report.unpublished_not_yet_due, "withheld": report.withheld,
        "corrections": report.corrections, "takedowns": {r.value: n for r, n in report.takedowns.items()},
        "cancelled_before_publication": report.cancelled_before_publication,
        "provisional_deadlines": report.provisional_deadlines,
    }


def report_url(body_id: str, year: int) -> str:
    return f"/disclosure/annual/{body_id}/{year}"


def generate(session: Session, body_id: str, year: int, today: dt.date, actor: str,
             calendar: WorkingDayCalendar, region_code: str | None = None) -> AnnualReportRecord:
    """Build, publish and send the report of ``body_id`` on ``year`` (a new revision if one exists)."""
    if year >= today.year:
        raise ValueError(f"{year}年度尚未结束，不能生成该年度统计年报")
    records = _records(session, body_id, year)
    body = register.current(session, "body", body_id, dt.date.max)
    name = (body.content or {}).get("name") if body else None
    if name is None:
        any_row = session.scalars(select(Publication).where(Publication.body_id == body_id).limit(1)).first()
        if any_row is None:
            raise LookupError(f"执法主体 {body_id} 未登记，也没有执法决定")
        name, region = any_row.body_name or body_id, any_row.region_code
    else:
        region = body.region_code
    region = region_code or region
    report = build_annual_report(body_id, name, year, records, as_of=today, calendar=calendar)
    totals = totals_of(report)
    row = session.scalars(select(AnnualReportRecord).where(AnnualReportRecord.body_id == body_id,
                                                           AnnualReportRecord.year == year)).first()
    superior = (body.extra or {}).get("superior_body_id") if body else None
    recipients = {"government_region_code": region, "superior_body_id": superior}
    if row is None:
        row = AnnualReportRecord(body_id=body_id, region_code=region, year=year, body_name=name, totals=totals,
                                 markdown="", as_of=today, published_on=today, first_published_on=today, revision=1,
                                 previous=[], generated_by=actor, recipients=recipients)
        session.add(row)
    else:
        row.previous = [*row.previous, {"revision": row.revision, "as_of": row.as_of.isoformat(),
                                        "published_on": row.published_on.isoformat(), "totals": row.totals}]
        row.revision += 1
        row.totals, row.as_of, row.published_on, row.generated_by = totals, today, today, actor
        row.body_name, row.recipients = name, recipients
    row.markdown = render_annual_report(report, published_on=row.first_published_on)
    session.flush()
    emit(session, "disclosure.annual_report_published", {
        "body_id": body_id, "year": year, "totals": totals, "revision": row.revision, "published_on": today,
        "government_region_code": region, "superior_body_id": superior, "report_url": report_url(body_id, year)},
        region_code=region, body_id=body_id)
    metrics.ANNUAL_REPORTS.labels(region, body_id).inc()
    return row


def report_view(row: AnnualReportRecord, today: dt.date) -> dict:
    timeliness = annual_report_timeliness(row.year, today, row.first_published_on)
    return {"body_id": row.body_id, "body_name": row.body_name, "region_code": row.region_code, "year": row.year,
            "totals": row.totals, "revision": row.revision, "as_of": row.as_of.isoformat(),
            "published_on": row.published_on.isoformat(), "first_published_on": row.first_published_on.isoformat(),
            "late": timeliness.late, "timeliness": timeliness.message_zh, "markdown": row.markdown,
            "html": markdown_html(row.markdown), "url": report_url(row.body_id, row.year),
            "action_type_zh": {a.value: label for a, label in ACTION_TYPE_LABELS.items()},
            "previous": [{"revision": p["revision"], "published_on": p["published_on"]} for p in row.previous]}


def markdown_html(text: str) -> str:
    """The small Markdown subset ``render_annual_report`` writes (headings, tables, paragraphs) as HTML."""
    out, table = [], []

    def flush_table():
        if not table:
            return
        head, *body = [[html.escape(c.strip()) for c in r.strip().strip("|").split("|")] for r in table
                       if not re.match(r"^\|\s*-", r)]
        out.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in head) + "</tr></thead><tbody>" +
                   "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in body) + "</tbody></table>")
        table.clear()

    for line in text.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("## "):
            out.append(f"<h3>{html.escape(line[3:])}</h3>")
        elif line.startswith("# "):
            out.append(f"<h2>{html.escape(line[2:])}</h2>")
        elif line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    flush_table()
    return "\n".join(out)


def bodies_to_report(session: Session, year: int) -> list[str]:
    """Registered bodies plus bodies with decisions in ``year`` (each publishes a report, zeros included)."""
    ids = {b["body_id"] for b in register.bodies(session)}
    ids |= set(session.scalars(select(Publication.body_id).where(
        Publication.decided_on >= dt.date(year, 1, 1), Publication.decided_on <= dt.date(year, 12, 31)).distinct()))
    done = set(session.scalars(select(AnnualReportRecord.body_id).where(AnnualReportRecord.year == year)))
    return sorted(ids - done)


def generate_missing(session_factory, today: dt.date, calendar: WorkingDayCalendar, from_day: int = 1) -> list[str]:
    """The January job: every body without a report on last year gets one (one transaction per body)."""
    if today.month != 1 or today.day < from_day:
        return []
    year = today.year - 1
    with session_factory() as session:
        missing = bodies_to_report(session, year)
    done = []
    for body_id in missing:
        with session_factory() as session:
            generate(session, body_id, year, today, "system", calendar)
        done.append(body_id)
    return done


__all__ = ["generate", "generate_missing", "markdown_html", "report_view"]
