"""evaluation tables (EVAL-1 … EVAL-9, COORD-4).

- ``facts``: facts drawn from events, each traceable to its event (id and type) — EVAL-2;
- registry copies the evaluation needs (``bodies``, ``officers``, ``certificate_statuses``, ``powers``),
  kept from the departmental registry events (PLAT-2, PLAT-3, PLAT-4);
- ``grades``: year-to-date and final grades per body/officer and year (EVAL-4; "two years running");
- ``consequences``: what follows from a grade (grade caps, measures, removal proposals, rectification orders);
- ``accountability_cases`` (EVAL-6) and ``supervision_items`` (COORD-4), the domain objects persisted
  as JSON with their searchable columns beside them;
- across tiers: ``received_directives`` (a city's copy of what the province issued) and
  ``received_grades`` (a province's copy of the cities' final grades).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.ownership import OwnershipBase
from services.common.running_deadlines import DeadlineHistoryBase

# case_transfers (SEC-2): who owns a transferred case, shared model of services/common/ownership.py
EXTRA_METADATA = (OwnershipBase.metadata, DeadlineHistoryBase.metadata)  # PLAT-6: deadline history (issue 16)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    pass


class Fact(Base):
    """One countable fact (e.g. disclosure_on_time) about a body or officer, from one event."""

    __tablename__ = "facts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(48))
    region_code: Mapped[str] = mapped_column(String(9))
    body_id: Mapped[str] = mapped_column(String(64))
    officer_id: Mapped[str | None] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float, default=1.0)
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ref: Mapped[str | None] = mapped_column(String(96), nullable=True)   # natural key: case id, complaint number
    attrs: Mapped[str | None] = mapped_column(Text, nullable=True)        # JSON

    __table_args__ = (UniqueConstraint("event_id", "kind", "officer_id", "seq", name="uq_fact_event_kind_seq"),
                      Index("ix_facts_region_year", "region_code", "year"),
                      Index("ix_facts_body_year", "body_id", "year"),
                      Index("ix_facts_ref", "ref", "kind"))


class BodyEntry(Base):
    """执法主体 as registered (body.registered), for tiers, names and who evaluates whom (EVAL-1)."""

    __tablename__ = "bodies"
    body_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    management: Mapped[str] = mapped_column(String(16), default="local")
    field: Mapped[str | None] = mapped_column(String(64), nullable=True)
    superior_body_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entrusting_body_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event_id: Mapped[str] = mapped_column(String(64))
    registered_on: Mapped[dt.date] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class OfficerEntry(Base):
    """执法人员 as registered (officer.registered)."""

    __tablename__ = "officers"
    officer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    roles: Mapped[str] = mapped_column(String(64))  # comma-separated: officer, legal_reviewer
    certificate_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event_id: Mapped[str] = mapped_column(String(64))
    registered_on: Mapped[dt.date] = mapped_column(Date)


class CertificateStatus(Base):
    """执法证件状态变更 history (PLAT-3): the status in force at a day is the latest one before it."""

    __tablename__ = "certificate_statuses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    officer_id: Mapped[str] = mapped_column(String(64), index=True)
    certificate_no: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    event_id: Mapped[str] = mapped_column(String(64))


class PowerEntry(Base):
    """A matter of a body's powers list (权责清单, power.published) — bodies with powers must explain
    a year without enforcement (零执法说明, EVAL-8)."""

    __tablename__ = "powers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    matter_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    published_on: Mapped[dt.date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("body_id", "matter_code", name="uq_power_body_matter"),)


class GradeRow(Base):
    """A grade of a body or officer for a year: ``ytd`` (year to date, as of a day) or ``final`` (EVAL-4)."""

    __tablename__ = "grades"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_kind: Mapped[str] = mapped_column(String(8))       # body | officer
    subject_id: Mapped[str] = mapped_column(String(64))
    body_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(9))
    year: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(8))              # ytd | final
    as_of: Mapped[dt.date] = mapped_column(Date)
    total: Mapped[str] = mapped_column(String(16))             # exact decimal as text
    by_total: Mapped[str] = mapped_column(String(8))
    grade: Mapped[str] = mapped_column(String(8))
    set_name: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)                  # JSON: indicators, vetoes, caps, reasons, evaluators
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)

    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", "year", "stage", "as_of", name="uq_grade"),
                      Index("ix_grades_region_year", "region_code", "year"))


class ConsequenceRow(Base):
    """结果运用: a grade cap, a measure (批评教育/离岗培训), a removal proposal, a rectification order or a
    publication, with its deadline and resolution."""

    __tablename__ = "consequences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_kind: Mapped[str] = mapped_column(String(8))
    subject_id: Mapped[str] = mapped_column(String(64))
    body_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    max_grade: Mapped[str | None] = mapped_column(String(8), nullable=True)
    due_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[str | None] = mapped_column(Text, nullable=True)    # JSON list
    scope: Mapped[str | None] = mapped_column(String(200), nullable=True)
    requires_decision: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="open")     # open | done | in_force
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    item_id: Mapped[str | None] = mapped_column(String(40), nullable=True)  # rectification supervision item
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", "year", "kind", name="uq_consequence"),)


class CaseRow(Base):
    """责任追究案件 (EVAL-6): the domain AccountabilityCase as JSON plus searchable columns."""

    __tablename__ = "accountability_cases"
    case_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    source: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(24))
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    origin_key: Mapped[str | None] = mapped_column(String(160), nullable=True, unique=True)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    data: Mapped[str] = mapped_column(Text)


class SupervisionRow(Base):
    """监督事项 (COORD-4): the domain SupervisionItem as JSON plus searchable columns."""

    __tablename__ = "supervision_items"
    item_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    issuer_region: Mapped[str] = mapped_column(String(9), index=True)
    target_body_id: Mapped[str] = mapped_column(String(64))
    target_region: Mapped[str] = mapped_column(String(9), index=True)
    status: Mapped[str] = mapped_column(String(16))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    overdue_noted_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    data: Mapped[str] = mapped_column(Text)


class ReceivedDirective(Base):
    """A supervision item issued by the tier above and received over the downward link (COORD-4).

    The issuing suite keeps the item itself; the receiving city keeps this copy so its bodies and
    supervisors see what they were told to do."""

    __tablename__ = "received_directives"
    item_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    issuer_region: Mapped[str] = mapped_column(String(9))
    target_body_id: Mapped[str] = mapped_column(String(64))
    target_region: Mapped[str] = mapped_column(String(9), index=True)
    subject: Mapped[str] = mapped_column(Text)
    due_on: Mapped[dt.date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ReceivedGradeRow(Base):
    """A final grade a city finalised and sent over the upward link (EVAL-4, PLAT-1): one per subject
    and year, the latest finalisation kept (domain.received.supersedes)."""

    __tablename__ = "received_grades"
    subject_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    body_id: Mapped[str] = mapped_column(String(64))
    total: Mapped[str] = mapped_column(String(16))             # exact decimal as text
    by_total: Mapped[str] = mapped_column(String(8))
    grade: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[str] = mapped_column(Text, default="[]")   # JSON list
    decided_by: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[str] = mapped_column(String(64))
    finalised_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class GapReportRow(Base):
    """One ``record.gaps_found`` report of a case: the kinds of gap open when records made it
    (EVAL-6, issue 16). The periodic job decides from the set of reports whether a gap is final
    (still open past the grace period) — never at arrival, so the order of arrival does not matter."""

    __tablename__ = "record_gap_reports"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(96), index=True)
    body_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(9))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    open_kinds: Mapped[str] = mapped_column(Text)                 # JSON list of fact kinds
    gaps: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: codes and descriptions per kind


class TypicalCaseRow(Base):
    """典型案例 (CMP-7): a concluded, upheld complaint or a decided accountability case selected for public
    warning; published (by disclosure, redacted) once a second supervisor approved it."""

    __tablename__ = "typical_cases"
    typical_case_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str] = mapped_column(String(96))
    title: Mapped[str] = mapped_column(String(200))
    warning_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(255))          # who selected or last edited it
    reviewer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    review_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    history: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of {at, actor, action, note}
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    approved_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)

    __table_args__ = (UniqueConstraint("source_kind", "source_ref", name="uq_typical_case_source"),)


#: no encrypted column (issue 22): evaluation keeps the party of an enforcement action only as a keyed
#: blind index (facts_map._party_key), so it needs its keyring — ``zhifa keys create`` makes it
ENCRYPTED_COLUMNS: list = []

# --- evaluation instruments (EVAL-2, issue 18): surveys and evaluation cards, unannounced visits ---------------

class SurveyRow(Base):
    """A public-opinion instrument about one body (EVAL-2): a survey (问卷调查, many codes) or an evaluation card
    (评议卡, handed to a party after an enforcement act: usually one code, may name the case and the officer).
    Each answer is a ``survey_rating`` fact of the body (the SATISFACTION indicator of config/evaluation)."""

    __tablename__ = "surveys"
    survey_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))                 # survey | card
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[str] = mapped_column(Text)                  # JSON [{code, text}]
    case_id: Mapped[str | None] = mapped_column(String(96), nullable=True)
    officer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    codes_issued: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class SurveyCode(Base):
    """One answer code of a survey (答卷码): only its SHA-256 is kept; used once. Which answer used it is not
    kept (the answers stay anonymous)."""

    __tablename__ = "survey_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(64), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SurveyAnswer(Base):
    """One answer (anonymous): the ratings 1–5 per question, the comment, the event that made it a fact."""

    __tablename__ = "survey_answers"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    survey_id: Mapped[str] = mapped_column(String(64), index=True)
    ratings: Mapped[str] = mapped_column(Text)                    # JSON {question code: 1..5}
    average: Mapped[float] = mapped_column(Float)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class VisitReport(Base):
    """An unannounced visit (暗访) by a supervisor to a body's enforcement or service site (EVAL-2): what was
    seen, the problems, the score 0–100 (an ``unannounced_visit_score`` fact)."""

    __tablename__ = "visit_reports"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    visited_on: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(300))
    findings: Mapped[str] = mapped_column(Text)
    problems: Mapped[str] = mapped_column(Text)                   # JSON list of strings
    score: Mapped[float] = mapped_column(Float)
    visited_by: Mapped[str] = mapped_column(String(128))
    evaluator: Mapped[str | None] = mapped_column(String(96), nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
