"""records tables: cases, the case timeline (全过程记录) and the append-only log entries."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Case(Base):
    """执法案件: one enforcement action, from initiation to archiving (REC-1)."""

    __tablename__ = "cases"
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    action_type: Mapped[str | None] = mapped_column(String(32))
    matter_code: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(300))
    stage: Mapped[str] = mapped_column(String(32), default="initiation")
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LogEntry(Base):
    """One entry of the tamper-evident log (REC-4): every timeline record, access and correction.

    ``sequence`` is the leaf index in the Merkle tree; ``canonical`` the exact bytes hashed.
    """

    __tablename__ = "log_entries"
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry_kind: Mapped[str] = mapped_column(String(32))       # timeline | access | correction
    event_id: Mapped[str | None] = mapped_column(String(64))
    event_type: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    stage: Mapped[str | None] = mapped_column(String(32), index=True)
    record_kind: Mapped[str | None] = mapped_column(String(32))
    document_type: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    canonical: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_log_entries_case_seq", "case_id", "sequence"),)


class PartyLink(Base):
    """Which parties a case concerns, so all records of one party can be found together (REC-4)."""

    __tablename__ = "party_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    party_key: Mapped[str] = mapped_column(String(64), index=True)  # SM3 of id number (or name) — no raw PII
    case_id: Mapped[str] = mapped_column(String(64), index=True)
