"""review tables: classifications of proposed decisions and legal-review tasks (REV-1…REV-6)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Classification(Base):
    """重大执法决定认定: a proposed decision version, major or not, and the rules that fired."""

    __tablename__ = "classifications"
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    major: Mapped[bool] = mapped_column(Boolean)
    fired_rules: Mapped[list] = mapped_column(JSON, default=list)
    proposal: Mapped[dict] = mapped_column(JSON, default=dict)
    classified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ReviewTask(Base):
    """法制审核任务: one version of a major decision under review."""

    __tablename__ = "review_tasks"
    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open|approved|returned
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    reviewer_id: Mapped[str | None] = mapped_column(String(64))
    approver_id: Mapped[str | None] = mapped_column(String(64))
    opinion: Mapped[str | None] = mapped_column(String(16))
    problems: Mapped[list] = mapped_column(JSON, default=list)
    checks: Mapped[list] = mapped_column(JSON, default=list)
    due_on: Mapped[dt.date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("case_id", "version", name="uq_review_task_version"),)
