"""complaints tables: the numbered register (投诉举报登记簿), its gap-free counters (CMP-2), the
attachments (content-addressed files, SM3), the directory of enforcement bodies (for routing) and,
at a province suite, the supervision register of complaints its cities escalated (省级督办台账, COORD-4).

The complainant's identity stays in ``complaints`` and is read only by handler views; no event and no
body view carries it (CMP confidentiality). At rest it is encrypted field by field with SM4-GCM under the
service's data key (issue 22, services/common/fieldcrypt.py); ``complainant_id_index`` is the keyed
SM3-HMAC blind index of the ID number for exact lookups.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.fieldcrypt import EncryptedColumn, EncryptedText
from services.common.running_deadlines import DeadlineHistoryBase

# PLAT-6: calendar_stamps and deadline_changes of services/common/running_deadlines.py (issue 16)
EXTRA_METADATA = (DeadlineHistoryBase.metadata,)


class Base(DeclarativeBase):
    pass


class RegisterCounter(Base):
    """The last number issued per region (6-digit code) and year; incremented in the registering
    transaction, so a rolled-back registration gives its number back (gap-free)."""

    __tablename__ = "register_counters"
    region_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Complaint(Base):
    """One registered complaint (登记簿记录) with its life cycle (see services/complaints/store.py)."""

    __tablename__ = "complaints"
    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)       # filing region (受理地)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32))
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    external_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # complainant (投诉举报人) — handlers only
    # the complainant's identity and contact data: SM4-GCM at rest (issue 22)
    complainant_name: Mapped[str | None] = mapped_column(EncryptedText("complaints", "complainant_name"))
    complainant_phone: Mapped[str | None] = mapped_column(EncryptedText("complaints", "complainant_phone"))
    complainant_id_number: Mapped[str | None] = mapped_column(EncryptedText("complaints", "complainant_id_number"))
    complainant_address: Mapped[str | None] = mapped_column(EncryptedText("complaints", "complainant_address"),
                                                            nullable=True)
    complainant_id_index: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # subject (被投诉对象)
    subject_body_id: Mapped[str] = mapped_column(String(64), index=True)
    subject_officer_ids: Mapped[list] = mapped_column(JSON, default=list)
    subject: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    complained_bodies: Mapped[str | None] = mapped_column(Text, nullable=True)  # "|a|b|" for body views
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # the complainant's own words often name them, their phone and address: encrypted as well (issue 22)
    request: Mapped[str] = mapped_column(EncryptedText("complaints", "request"))
    facts: Mapped[str] = mapped_column(EncryptedText("complaints", "facts"))
    categories: Mapped[list | None] = mapped_column(JSON, nullable=True)
    under_reconsideration_or_litigation: Mapped[bool] = mapped_column(Boolean, default=False)
    against_private_enterprise: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # acknowledgement (CMP-3)
    acknowledge_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    acknowledge_unit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    acknowledge_due: Mapped[dt.date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # state
    status: Mapped[str] = mapped_column(String(24), default="registered", index=True)
    query_code_hash: Mapped[str] = mapped_column(String(200))
    handler_unit_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    handler_region_code: Mapped[str | None] = mapped_column(String(9), nullable=True, index=True)
    handler_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    route: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    assessment: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    not_accepted_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    found_in_scope: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    handling: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    handling_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    upheld: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    concluded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    linked_to: Mapped[str | None] = mapped_column(String(32), nullable=True)
    supervising_region: Mapped[str | None] = mapped_column(String(9), nullable=True)
    open_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)  # deadline running now
    clues_sent: Mapped[list | None] = mapped_column(JSON, nullable=True)  # clue keys already emitted
    history: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Attachment(Base):
    """An attachment of a complaint: the file lives content-addressed under var/ (name = SM3 hex)."""

    __tablename__ = "complaint_attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), ForeignKey("complaints.number"), index=True)
    sm3: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)


class KnownBody(Base):
    """An enforcement body as departmental systems registered it (body.registered), for routing."""

    __tablename__ = "known_bodies"
    body_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    superior_body_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entrusting_body_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SupervisedComplaint(Base):
    """A line of the province's supervision register (省级督办台账): a city complaint escalated over
    the upward link (COORD-4). Only what the events carry — never the complainant nor the text."""

    __tablename__ = "supervision_register"
    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)      # the body complained about
    subject_body_id: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    to_region_code: Mapped[str] = mapped_column(String(9))
    tier: Mapped[str] = mapped_column(String(16))
    due: Mapped[dt.date] = mapped_column(Date)
    escalated_on: Mapped[dt.date] = mapped_column(Date, index=True)
    handler_unit_id: Mapped[str] = mapped_column(String(64))
    handler_region_code: Mapped[str] = mapped_column(String(9), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    steps: Mapped[list] = mapped_column(JSON, default=list)
    transfer_order: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    concluded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    upheld: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CityConclusion(Base):
    """A city complaint concluded (``complaint.concluded`` upward) before any escalation of it reached
    the province's register: kept so that an escalation delivered late (both events buffered while a
    link was down) still finds the complaint concluded. Number, day and outcome only."""

    __tablename__ = "supervision_conclusions"
    number: Mapped[str] = mapped_column(String(32), primary_key=True)
    concluded_on: Mapped[dt.date] = mapped_column(Date)
    upheld: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


ID_NUMBER_INDEX = "complainant_id_number"

#: the encrypted columns, for the background re-encrypt and ``zhifa keys status`` (issue 22)
ENCRYPTED_COLUMNS = [
    EncryptedColumn(Complaint.complainant_name, Complaint.number),
    EncryptedColumn(Complaint.complainant_phone, Complaint.number),
    EncryptedColumn(Complaint.complainant_id_number, Complaint.number, Complaint.complainant_id_index, ID_NUMBER_INDEX),
    EncryptedColumn(Complaint.complainant_address, Complaint.number),
    EncryptedColumn(Complaint.request, Complaint.number),
    EncryptedColumn(Complaint.facts, Complaint.number),
]


# --- coordination across bodies, regions and tiers (COORD-1, COORD-2, COORD-3) ----------------------
# Each row keeps its domain object (services/complaints/domain/coordination.py) as JSON in ``state``;
# the columns beside it are what the scope filters and the sweep select on.


class ClueRow(Base):
    """违法线索 sent from one body to another (COORD-1). ``origin`` local: sent from this suite (its
    deadlines are swept here); remote: received over a tier link from the suite that sent it."""

    __tablename__ = "coordination_clues"
    clue_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    origin: Mapped[str] = mapped_column(String(8))
    from_body_id: Mapped[str] = mapped_column(String(64), index=True)
    from_region_code: Mapped[str] = mapped_column(String(9), index=True)
    to_body_id: Mapped[str] = mapped_column(String(64), index=True)
    to_region_code: Mapped[str] = mapped_column(String(9), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class InspectionResultRow(Base):
    """An inspection or test result (检查、检验检测结果) recorded by a body, readable by every body
    inspecting the same party (结果互认, COORD-1), with its repeat flags (多头检查、重复检查)."""

    __tablename__ = "coordination_inspections"
    result_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    party_id: Mapped[str] = mapped_column(String(64), index=True)
    matter: Mapped[str] = mapped_column(String(200))
    inspected_on: Mapped[dt.date] = mapped_column(Date, index=True)
    outcome: Mapped[str] = mapped_column(String(24))
    flags: Mapped[dict] = mapped_column(JSON)
    state: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class DisputeRow(Base):
    """管辖争议协调案件 at the common superior's legal office (COORD-2)."""

    __tablename__ = "coordination_disputes"
    dispute_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    coordinator_region: Mapped[str] = mapped_column(String(9), index=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TransferRow(Base):
    """移送涉嫌犯罪案件 / 移送纪检监察 (COORD-3), tracked to receipt and outcome. ``source_key`` makes an
    automatic transfer (from an accountability decision) unique per source."""

    __tablename__ = "coordination_transfers"
    transfer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    due: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    source_key: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)
    state: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
