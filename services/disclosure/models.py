"""disclosure tables: publications of decisions with their history (DISC-3…DISC-6)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, DateTime, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Publication(Base):
    """事后公开: the public (redacted) entry of one decision, its deadline and its history."""

    __tablename__ = "publications"
    publication_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    decision_no: Mapped[str] = mapped_column(String(128))
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    action_type: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(300))
    decided_on: Mapped[dt.date] = mapped_column(Date, index=True)
    due_on: Mapped[dt.date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|published|withdrawn|withheld
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    parties_public: Mapped[str] = mapped_column(Text)     # redacted party names (DISC-4)
    facts_public: Mapped[str] = mapped_column(Text)
    conclusion_public: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    fine_amount: Mapped[str | None] = mapped_column(String(32))
    search_text: Mapped[str] = mapped_column(Text)        # what the portal's keyword search matches
    history: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_publications_status_decided", "status", "decided_on"),)
