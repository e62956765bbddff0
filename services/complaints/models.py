"""complaints tables: the numbered register (投诉举报登记簿) and its gap-free counters (CMP-2)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class RegisterCounter(Base):
    """The last number issued per region and year; incremented in the registering transaction."""

    __tablename__ = "register_counters"
    region_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Complaint(Base):
    """One registered complaint (ComplaintRegister row). Complainant identity stays in this table."""

    __tablename__ = "complaints"
    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32))
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    complainant_name: Mapped[str | None] = mapped_column(String(100))
    complainant_phone: Mapped[str | None] = mapped_column(String(32))
    complainant_id_number: Mapped[str | None] = mapped_column(String(32))
    subject_body_id: Mapped[str] = mapped_column(String(64), index=True)
    subject_officer_ids: Mapped[list] = mapped_column(JSON, default=list)
    request: Mapped[str] = mapped_column(Text)
    facts: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    acknowledge_due: Mapped[dt.date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(24), default="registered", index=True)
    query_code_hash: Mapped[str] = mapped_column(String(200))
    against_private_enterprise: Mapped[bool] = mapped_column(Boolean, default=False)
    history: Mapped[list] = mapped_column(JSON, default=list)
