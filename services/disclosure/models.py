"""disclosure tables (行政执法公示): publications with deadlines and history (DISC-3…DISC-6), the search
index (DISC-9, see search.py), before-information and certificates (DISC-1, DISC-2, PLAT-4), annual
reports (DISC-7) and random-inspection draws and results (DISC-8).

The search index itself (an FTS5 table on SQLite, a tsvector table with a GIN index on PostgreSQL)
is created by migration 0002 outside the ORM: see services/disclosure/search.py.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.fieldcrypt import EncryptedColumn, EncryptedJSON
from services.common.ownership import OwnershipBase
from services.common.running_deadlines import DeadlineHistoryBase

# case_transfers (SEC-2): who owns a transferred case, shared model of services/common/ownership.py
EXTRA_METADATA = (OwnershipBase.metadata, DeadlineHistoryBase.metadata)  # PLAT-6: deadline history (issue 16)


class Base(DeclarativeBase):
    pass


class Publication(Base):
    """事后公开: the public (redacted) entry of one decision, its deadline and its history.

    status: pending (待公开, e.g. held because redaction refused it) | published | corrected |
    withdrawn (撤下) | withheld (依法不予公开) | cancelled (公开前被撤销/确认违法/责令重作, never published).
    """

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
    status: Mapped[str] = mapped_column(String(16), index=True)
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    parties_public: Mapped[str] = mapped_column(Text)     # redacted party names (DISC-4)
    facts_public: Mapped[str] = mapped_column(Text)
    conclusion_public: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)        # the PUBLIC (masked) legal basis
    fine_amount: Mapped[str | None] = mapped_column(String(32))
    search_text: Mapped[str] = mapped_column(Text)        # the public text the portal's keyword search matches
    history: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # -- 0002 --------------------------------------------------------------------------------
    search_key: Mapped[int | None] = mapped_column(BigInteger)  # decided_on ordinal << 32 | sequence (unique)
    search_terms: Mapped[str | None] = mapped_column(Text)  # index terms as indexed (needed to un-index on SQLite)
    version: Mapped[int] = mapped_column(Integer, default=1)  # the decision's version (re-made decisions: 2, 3 …)
    body_name: Mapped[str | None] = mapped_column(String(200))
    conclusion_type: Mapped[str | None] = mapped_column(String(200))
    summary_only: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_zh: Mapped[str | None] = mapped_column(Text)
    parties_json: Mapped[list | None] = mapped_column(JSON)  # public parties (masked name, masked id)
    revisions: Mapped[list | None] = mapped_column(JSON)     # internal: every revision of the public entry
    revision: Mapped[int] = mapped_column(Integer, default=0)
    corrections: Mapped[int] = mapped_column(Integer, default=0)
    withdrawal_reason: Mapped[str | None] = mapped_column(String(32))
    withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    replaces: Mapped[str | None] = mapped_column(String(64))
    replaced_by: Mapped[str | None] = mapped_column(String(64))
    hold_reason: Mapped[str | None] = mapped_column(Text)  # why a pending entry is not published (internal)
    overdue_notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    calendar_version: Mapped[str | None] = mapped_column(String(32))
    publication_period_override: Mapped[int | None] = mapped_column(Integer)
    # -- 0008 (issue 18, REV-8): the matter, for similar published decisions ----------------------------
    matter_code: Mapped[str | None] = mapped_column(String(64), index=True)

    __table_args__ = (Index("ix_publications_status_decided", "status", "decided_on"),
                      Index("ix_publications_body_decided", "body_id", "decided_on"),
                      Index("uq_publications_search_key", "search_key", unique=True))


class DecisionSource(Base):
    """The decision as the body sent it (internal, never served): needed to re-redact a correction
    (DISC-5), to mask staff-typed reasons with the party list, and for the annual totals (DISC-7).
    ``payload`` holds the parties before redaction (names, ID numbers, phones, addresses): SM4-GCM-encrypted
    at rest under the disclosure data key (issue 22)."""

    __tablename__ = "decision_sources"
    publication_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[dict] = mapped_column(EncryptedJSON("disclosure", "decision_source"))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Revocation(Base):
    """A decision.revoked (撤销 / 确认违法 / 责令重作) as received (DISC-6). It applies to the case's
    decision in force when it was decided — the highest version decided at or before ``decided_at`` —
    whether it arrives before or after that decision (issue 14); ``applied_to``: the publication."""

    __tablename__ = "revocations"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9))
    body_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    applied_to: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Counter(Base):
    """Named sequences (e.g. the search key's sequence part)."""

    __tablename__ = "disclosure_counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class BeforeItem(Base):
    """One version of a before-information item (事前公开, DISC-1, PLAT-4): bodies, officers' public
    fields, power-list entries, service guides, remedy channels, random-inspection matters.

    A version is in force from ``valid_from`` until the next version's ``valid_from``; retired items
    have ``content`` None. ``content`` holds PUBLIC fields only.
    """

    __tablename__ = "before_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    content: Mapped[dict | None] = mapped_column(JSON)
    extra: Mapped[dict | None] = mapped_column(JSON)  # internal links (officer_id, superior body …), not public
    valid_from: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (UniqueConstraint("kind", "item_id", "version", name="uq_before_items_version"),
                      Index("ix_before_items_kind_item", "kind", "item_id"))


class BasisChange(Base):
    """A change of a legal basis (法律依据变化): power-list entries citing ``law_name`` must be
    updated and republished within one month (PLAT-4)."""

    __tablename__ = "basis_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    law_name: Mapped[str] = mapped_column(String(200))
    changed_on: Mapped[dt.date] = mapped_column(Date)
    region_code: Mapped[str] = mapped_column(String(9))  # where the change applies (a national law: province codes of the scope)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str | None] = mapped_column(String(128))


ISSUANCE_REASON = "随执法人员登记"   # the issuance (发证) a certificate number's first registration records
# the unique index's predicate, also the ON CONFLICT target's: written out, never a bind parameter — once
# psycopg prepares the INSERT (its 6th run on a connection) PostgreSQL cannot match ``reason = $1`` to the
# partial index and refuses the statement (the bench's officer registrations went through the retry queue)
ISSUANCE_PREDICATE = text(f"reason = '{ISSUANCE_REASON}'")


class CertificateRecord(Base):
    """One state of an enforcement certificate (执法证件) from ``since`` (DISC-2, PLAT-3). A number has one
    issuance (``reason`` = ISSUANCE_REASON, unique: two registrations naming it at once insert one)."""

    __tablename__ = "certificate_records"
    __table_args__ = (Index("uq_certificate_issuance", "certificate_no", unique=True,
                            sqlite_where=ISSUANCE_PREDICATE, postgresql_where=ISSUANCE_PREDICATE),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    certificate_no: Mapped[str] = mapped_column(String(64), index=True)  # upper-case
    officer_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AnnualReportRecord(Base):
    """统计年报 of one body and year (DISC-7); regenerating keeps the earlier totals in ``previous``."""

    __tablename__ = "annual_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    body_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    year: Mapped[int] = mapped_column(Integer)
    body_name: Mapped[str] = mapped_column(String(200))
    totals: Mapped[dict] = mapped_column(JSON)
    markdown: Mapped[str] = mapped_column(Text)
    as_of: Mapped[dt.date] = mapped_column(Date)
    published_on: Mapped[dt.date] = mapped_column(Date)
    first_published_on: Mapped[dt.date] = mapped_column(Date)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    previous: Mapped[list] = mapped_column(JSON, default=list)
    generated_by: Mapped[str] = mapped_column(String(128))
    recipients: Mapped[dict] = mapped_column(JSON, default=dict)  # government region, superior body

    __table_args__ = (UniqueConstraint("body_id", "year", name="uq_annual_reports_body_year"),)


class AnnualReportReceipt(Base):
    """报送与签收 of an annual report (DISC-7): one row per report revision and recipient (本级人民政府 /
    上级主管部门). ``held_here``: this suite is the recipient's register (it received the report and its
    staff acknowledge it); otherwise the row is the sender's copy of the acknowledgement that came back
    (over the downward link when the superior is at the province)."""

    __tablename__ = "annual_report_receipts"
    receipt_id: Mapped[str] = mapped_column(String(200), primary_key=True)  # body:year:r<revision>:<kind>
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)           # the report's
    year: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    recipient_kind: Mapped[str] = mapped_column(String(16))                  # government | superior
    recipient: Mapped[str] = mapped_column(String(64))                       # region code | body id
    recipient_region: Mapped[str] = mapped_column(String(9), index=True)
    held_here: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    report_event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totals: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    report_url: Mapped[str | None] = mapped_column(String(300), nullable=True)
    acknowledged_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255), nullable=True)


class TypicalCasePublication(Base):
    """典型案例通报 (CMP-7) as published on the portal: title and warning text redacted by the disclosure
    rules (DISC-4); ``status`` published, or withheld when personal data survived the redaction (fail closed)."""

    __tablename__ = "typical_case_publications"
    typical_case_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64))
    body_name: Mapped[str] = mapped_column(String(200))
    source_kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    warning_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    redactions: Mapped[dict] = mapped_column(JSON, default=dict)
    withheld_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    approved_on: Mapped[dt.date] = mapped_column(Date)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    event_id: Mapped[str] = mapped_column(String(64))


class InspectionDraw(Base):
    """A "双随机、一公开" draw (DISC-8): announced (inputs committed), then drawn, then results recorded."""

    __tablename__ = "inspection_draws"
    draw_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    matter: Mapped[str] = mapped_column(String(300))
    inputs: Mapped[dict] = mapped_column(JSON)          # targets, inspectors, counts, recusals (public)
    target_names: Mapped[dict] = mapped_column(JSON)    # target id -> {name, kind}
    inputs_digest: Mapped[str] = mapped_column(String(64))
    public_value_source: Mapped[str] = mapped_column(Text)
    public_value_on: Mapped[dt.date] = mapped_column(Date)
    announced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))     # announced | drawn
    public_value: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict | None] = mapped_column(JSON)
    drawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str | None] = mapped_column(String(128))


class InspectionOutcome(Base):
    """The outcome of inspecting one drawn target (抽查结果)."""

    __tablename__ = "inspection_outcomes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    draw_id: Mapped[str] = mapped_column(String(64), index=True)
    body_id: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(64))
    inspected_on: Mapped[dt.date] = mapped_column(Date, index=True)
    outcome: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("draw_id", "target_id", name="uq_inspection_outcomes_target"),)


class MonthlyInspectionSummary(Base):
    """A published month of inspection results (抽查结果月度公示)."""

    __tablename__ = "inspection_months"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    body_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    summary: Mapped[dict] = mapped_column(JSON)
    published_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("body_id", "year", "month", name="uq_inspection_months"),)


#: the encrypted columns, for the background re-encrypt and ``zhifa keys status`` (issue 22)
ENCRYPTED_COLUMNS = [EncryptedColumn(DecisionSource.payload, DecisionSource.publication_id)]
