"""review tables (REV-1…REV-7): classifications, review tasks (one per case, all versions), violations,
and review's own copy of the registry it pre-checks against (bodies, officers, certificates, powers),
the case actions and the record gaps it hears about.

A review task is persisted faithfully as the JSON ``document`` of the domain ``ReviewTask`` (versions with
their proposal snapshot, pre-checks, findings, opinion, sign-off, coordination; the history) plus
indexed columns for queries (state, current version, assigned reviewer, due day …) kept in step with it.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.fieldcrypt import EncryptedColumn, EncryptedJSON
from services.common.ownership import OwnershipBase
from services.common.running_deadlines import DeadlineHistoryBase

# case_transfers (SEC-2): who owns a transferred case, shared model of services/common/ownership.py
EXTRA_METADATA = (OwnershipBase.metadata, DeadlineHistoryBase.metadata)  # PLAT-6: deadline history (issue 16)


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
    # the proposal as received: its parties (names, ID numbers) SM4-GCM-encrypted at rest (issue 22)
    proposal: Mapped[dict] = mapped_column(EncryptedJSON("review", "classification_proposal"), default=dict)
    classified_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # rule id, Chinese description and what matched, for every fired rule (REV-1)
    fired: Mapped[list] = mapped_column(JSON, default=list)
    sign_off_required: Mapped[bool] = mapped_column(Boolean, default=False)
    catalogue_digest: Mapped[str | None] = mapped_column(String(32), nullable=True)
    layers: Mapped[list] = mapped_column(JSON, default=list)
    # "proposal" (decision.proposed) or "decision" (classified from decision.made: nothing was proposed)
    source: Mapped[str] = mapped_column(String(16), default="proposal")
    # REV-2, issue 14: the classification is monotone in what arrived, whatever the order — major when
    # the proposal is major OR the decision made is (e.g. a bigger fine than proposed), or, with no
    # proposal of this version, when another proposed version of the case is major
    # each part as {"major", "fired", "sign_off_required", "layers", "catalogue_digest"}; None: not received
    by_proposal: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    by_decision: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class ReviewTask(Base):
    """法制审核任务: the review file of one case — every submitted version and the full history."""

    __tablename__ = "review_tasks"
    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    field: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(24), index=True)       # domain TaskState
    pending: Mapped[bool] = mapped_column(Boolean, index=True)      # a reviewer / approver / coordinator must act
    version: Mapped[int] = mapped_column(Integer)                   # current (latest) version
    submitted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assigned_reviewer_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    reviewer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approver_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    due_on: Mapped[dt.date] = mapped_column(Date, index=True)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue_version: Mapped[int | None] = mapped_column(Integer, nullable=True)  # last version alerted overdue
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # the domain task (codec.task_to_json); its proposals name the parties: encrypted at rest (issue 22)
    document: Mapped[dict] = mapped_column(EncryptedJSON("review", "task_document"))
    assignments: Mapped[dict] = mapped_column(JSON, default=dict)   # version → {reviewer_id, pooled, reason}
    # REV-2: the highest version of the case decided (decision.made); versions up to it are closed for
    # review — nobody reviews a decision already made (its bypass is a violation)
    decided_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the current proposal's officers as listed in ``officer_links`` (JSON of the sorted ids); NULL: not
    # listed yet (a task written before migration 0008) — such a task concerns every officer until saved
    indexed_officers: Mapped[str | None] = mapped_column(Text, nullable=True)
    officer_links: Mapped[list["TaskOfficer"]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (UniqueConstraint("case_id", name="uq_review_tasks_case"),
                      Index("ix_review_tasks_pending_due", "pending", "due_on"))


class TaskOfficer(Base):
    """An officer named by a review task's current proposal (承办执法人员), so that an officer's registration
    or certificate change re-runs the pre-checks of exactly the tasks naming them (issue 17: scanning and
    locking every pending task instead waited behind every batch holding a task)."""

    __tablename__ = "review_task_officers"
    task_id: Mapped[str] = mapped_column(String(64), ForeignKey("review_tasks.task_id"), primary_key=True)
    officer_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Violation(Base):
    """A violation found by review, for evaluation and the supervisors' view: 应审未审 / 审核未通过 (REV-2),
    法制审核人员不足 (REV-7)."""

    __tablename__ = "violations"
    violation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # not_reviewed | not_approved | staffing_short
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    description: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    detected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the event emitted for it

    # REV-2: a case version is flagged once per kind, whatever the order or number of deliveries
    __table_args__ = (UniqueConstraint("case_id", "version", "kind", name="uq_violations_case_version_kind"),)


class DecidedVersion(Base):
    """A decision made (decision.made) of a case version, as review heard of it: which versions are
    decided, so that a proposal arriving after its decision reconciles instead of opening a task (REV-2)."""

    __tablename__ = "decided_versions"
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9))
    body_id: Mapped[str] = mapped_column(String(64))
    decision_event_id: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict] = mapped_column(EncryptedJSON("review", "decided_payload"))  # parties: encrypted (issue 22)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# --- review's own copy of the registry (PLAT-2, PLAT-3, PLAT-4) ------------------------------------

class RegistryBody(Base):
    """执法主体 as registered by the departments (body.registered)."""

    __tablename__ = "registry_bodies"
    body_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    field: Mapped[str | None] = mapped_column(String(64), nullable=True)
    superior_body_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RegistryOfficer(Base):
    """执法人员 / 法制审核人员 (officer.registered); ``region_code`` is the registering body's region."""

    __tablename__ = "registry_officers"
    officer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    is_officer: Mapped[bool] = mapped_column(Boolean, default=True)
    is_reviewer: Mapped[bool] = mapped_column(Boolean, default=False)
    field: Mapped[str | None] = mapped_column(String(64), nullable=True)
    certificate_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CertificateChange(Base):
    """执法证件 status history (certificate.status_changed), kept whole: status at any instant (PLAT-3)."""

    __tablename__ = "registry_certificates"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    certificate_no: Mapped[str] = mapped_column(String(64), index=True)
    officer_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class PowerItem(Base):
    """权责清单 entry (power.published): one version of (body, matter)."""

    __tablename__ = "registry_powers"
    body_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    legal_basis: Mapped[str] = mapped_column(Text)
    published_on: Mapped[dt.date] = mapped_column(Date)


class CaseAction(Base):
    """An enforcement action of a case with the officers who acted (evidence.recorded)."""

    __tablename__ = "case_actions"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    acted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    officer_ids: Mapped[list] = mapped_column(JSON, default=list)


class RecordGaps(Base):
    """The records service's latest completeness finding for a case (record.gaps_found)."""

    __tablename__ = "record_gaps"
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    open_gap_codes: Mapped[list] = mapped_column(JSON, default=list)
    gaps: Mapped[list] = mapped_column(JSON, default=list)
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BodyStaffing(Base):
    """法制审核人员配备 of a body as last checked (REV-7)."""

    __tablename__ = "body_staffing"
    body_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    officers: Mapped[int] = mapped_column(Integer)
    reviewers: Mapped[int] = mapped_column(Integer)
    required: Mapped[int] = mapped_column(Integer)
    shortfall: Mapped[int] = mapped_column(Integer)
    ratio: Mapped[str | None] = mapped_column(String(16), nullable=True)
    compliant: Mapped[bool] = mapped_column(Boolean)
    short_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    violation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # open staffing violation
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))




class ReviewTaskV1(Base):
    """Archive of the slice's one-row-per-version review tasks (migration 0001), renamed by 0002 and kept
    read-only so that who reviewed and approved them stays on record (REV-6). Not written any more."""

    __tablename__ = "review_tasks_0001"
    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(9))
    body_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    reviewer_id: Mapped[str | None] = mapped_column(String(64))
    approver_id: Mapped[str | None] = mapped_column(String(64))
    opinion: Mapped[str | None] = mapped_column(String(16))
    problems: Mapped[list] = mapped_column(JSON)
    checks: Mapped[list] = mapped_column(JSON)
    due_on: Mapped[dt.date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("case_id", "version", name="uq_review_task_version"),)


#: the encrypted columns, for the background re-encrypt and ``zhifa keys status`` (issue 22)
ENCRYPTED_COLUMNS = [
    EncryptedColumn(Classification.proposal, Classification.case_id),
    EncryptedColumn(ReviewTask.document, ReviewTask.task_id),
    EncryptedColumn(DecidedVersion.payload, DecidedVersion.case_id),
]
