"""What the disclosure service's entrypoints read from its own database beyond the publication life
cycle (``lifecycle.py``), the before-information register (``register.py``), annual reports
(``reports.py``), draws (``inspections.py``) and the portal's search (``portal.py``, ``search.py``):
queries only — the decisions are the use cases' (``usecases/``) and the domain's."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.scope import Scope
from services.disclosure.models import (AnnualReportRecord, BasisChange, InspectionDraw, MonthlyInspectionSummary,
                                        Publication)


def publication(session: Session, publication_id: str | None) -> Publication | None:
    return session.get(Publication, publication_id) if publication_id else None


def any_publication_of_body(session: Session, body_id: str, statuses=None) -> Publication | None:
    """One decision of the body (``statuses``: only in those), to name a body not (yet) registered."""
    query = select(Publication).where(Publication.body_id == body_id)
    if statuses is not None:
        query = query.where(Publication.status.in_(statuses))
    return session.scalars(query.limit(1)).first()


def published_of_matter(session: Session, matter_code: str, statuses, limit: int = 1000) -> list[Publication]:
    """The newest ``limit`` public decisions of an enforcement matter (REV-8 similar decisions, issue 18)."""
    return list(session.scalars(select(Publication).where(Publication.matter_code == matter_code,
                                                          Publication.status.in_(statuses))
                                .order_by(Publication.decided_on.desc(), Publication.publication_id).limit(limit)))


def count_publications_of_body(session: Session, body_id: str, statuses) -> int:
    return session.scalar(select(func.count()).select_from(Publication).where(
        Publication.body_id == body_id, Publication.status.in_(statuses)))


def unpublished_or_late(session: Session, scope: Scope) -> list[Publication]:
    """Unpublished decisions and late publications in the scope's SQL filter, by due day (DISC-3)."""
    return session.scalars(scope.where(select(Publication).where(
        (Publication.status == "pending") | (Publication.published_on > Publication.due_on)),
        Publication.region_code, Publication.body_id).order_by(Publication.due_on)).all()


def annual_reports_of_body(session: Session, body_id: str) -> list[AnnualReportRecord]:
    return session.scalars(select(AnnualReportRecord).where(AnnualReportRecord.body_id == body_id)
                           .order_by(AnnualReportRecord.year.desc())).all()


def annual_report(session: Session, body_id: str, year: int) -> AnnualReportRecord | None:
    return session.scalars(select(AnnualReportRecord).where(AnnualReportRecord.body_id == body_id,
                                                            AnnualReportRecord.year == year)).first()


def draw(session: Session, draw_id: str) -> InspectionDraw | None:
    return session.get(InspectionDraw, draw_id)


def recent_draws_of_body(session: Session, body_id: str, limit: int = 50) -> list[InspectionDraw]:
    return session.scalars(select(InspectionDraw).where(InspectionDraw.body_id == body_id)
                           .order_by(InspectionDraw.announced_at.desc()).limit(limit)).all()


def inspection_months_of_body(session: Session, body_id: str, limit: int = 24) -> list[MonthlyInspectionSummary]:
    return session.scalars(select(MonthlyInspectionSummary).where(
        MonthlyInspectionSummary.body_id == body_id).order_by(
        MonthlyInspectionSummary.year.desc(), MonthlyInspectionSummary.month.desc()).limit(limit)).all()


def inspection_month(session: Session, body_id: str, year: int, month: int) -> MonthlyInspectionSummary | None:
    return session.scalars(select(MonthlyInspectionSummary).where(
        MonthlyInspectionSummary.body_id == body_id, MonthlyInspectionSummary.year == year,
        MonthlyInspectionSummary.month == month)).first()


def add_basis_change(session: Session, *, law_name: str, changed_on: dt.date, region_code: str, note,
                     recorded_at: dt.datetime, recorded_by: str) -> BasisChange:
    row = BasisChange(law_name=law_name, changed_on=changed_on, region_code=region_code, note=note,
                      recorded_at=recorded_at, recorded_by=recorded_by)
    session.add(row)
    session.flush()
    return row
