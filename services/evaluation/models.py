"""evaluation tables: facts drawn from events, each traceable to its event (EVAL-2)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Fact(Base):
    """One countable fact (e.g. disclosure_on_time) about a body or officer, from one event."""

    __tablename__ = "facts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48))
    region_code: Mapped[str] = mapped_column(String(9))
    body_id: Mapped[str] = mapped_column(String(64))
    officer_id: Mapped[str | None] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float, default=1.0)

    __table_args__ = (UniqueConstraint("event_id", "kind", "officer_id", name="uq_fact_event_kind"),
                      Index("ix_facts_region_year", "region_code", "year"),
                      Index("ix_facts_body_year", "body_id", "year"))
