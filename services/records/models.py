"""records tables: cases, the tamper-evident log (全过程记录), signed tree heads, the erasable personal
data beside the log, attachments, refused records.

Only ``log_entries.canonical`` (with its ``sequence``) is covered by the Merkle tree; every other
column of ``log_entries`` is an index copy of fields of the canonical entry, for queries.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.fieldcrypt import EncryptedColumn, EncryptedJSON
from services.common.ownership import OwnershipBase

# case_transfers (SEC-2): who owns a transferred case, shared model of services/common/ownership.py
EXTRA_METADATA = (OwnershipBase.metadata,)


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
    sealed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # server time
    # completeness (REC-3, REC-5, REC-7): the facts deciding what the file needs, and its open gaps
    facts: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    open_gaps: Mapped[list | None] = mapped_column(JSON, nullable=True)
    gaps_evaluated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    gaps_scope: Mapped[str | None] = mapped_column(String(32), nullable=True)   # last stage evaluated
    personal_erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class LogEntry(Base):
    """One entry of the tamper-evident log (REC-4): every timeline record, access, correction,
    refusal and erasure.

    ``sequence`` is the leaf index in the Merkle tree; ``canonical`` the exact bytes hashed
    (the public part of the entry, personal data replaced by a salted commitment).
    """

    __tablename__ = "log_entries"
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry_kind: Mapped[str] = mapped_column(String(32))       # record|stage|archive|access|correction|refusal|erasure
    event_id: Mapped[str | None] = mapped_column(String(64))
    event_type: Mapped[str | None] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(9))
    body_id: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str | None] = mapped_column(String(32))
    record_kind: Mapped[str | None] = mapped_column(String(32))
    document_type: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    canonical: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    # Few, composite indexes: every index costs on each of the millions of appends. Queries: a case's
    # entries (case_id), a region's / a body's entries in a period (region prefix or body, time),
    # accesses (kind), a leaf hash (public proofs), an attachment's referencing entry (content hash).
    __table_args__ = (Index("ix_log_entries_case_seq", "case_id", "sequence"),
                      Index("ix_log_entries_region_time", "region_code", "occurred_at"),
                      Index("ix_log_entries_body_time", "body_id", "occurred_at"),
                      Index("ix_log_entries_leaf_hash", "leaf_hash"),
                      Index("ix_log_entries_content_hash", "content_hash"),
                      Index("ix_log_entries_kind_seq", "entry_kind", "sequence"))


class PersonalData(Base):
    """Personal data of an entry and its salt, beside the log (REC-8): erasable without touching
    the log, whose entry only holds ``personal_commitment = SM3(salt || canonical(data))``. ``data`` is
    SM4-GCM-encrypted at rest under the records data key (issue 22); erasure deletes it."""

    __tablename__ = "personal_data"
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    salt: Mapped[str | None] = mapped_column(String(32), nullable=True)
    data: Mapped[dict | None] = mapped_column(EncryptedJSON("records", "personal_data"), nullable=True)
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    erasure_sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)


class PendingRead(Base):
    """A staff read of case records waiting to become its ``access`` entry (REC-6, issue 20): written in
    the read's own short transaction — the read never takes the append lock, and a read whose process
    dies before the append is still logged — then appended in batches by whoever holds the append lock
    (the ingest batch, the 1 s timer, or the read itself when the lock is free) and deleted in that
    transaction. ``entry`` is the entry's canonical public part built with sequence 0 (no personal
    data: a salted commitment); the sealed purpose and its salt wait beside it, encrypted at rest."""

    __tablename__ = "pending_reads"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    case_id: Mapped[str | None] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(9))
    body_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    entry: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    salt: Mapped[str | None] = mapped_column(String(32), nullable=True)
    personal: Mapped[dict | None] = mapped_column(EncryptedJSON("records", "pending_reads"), nullable=True)


class MerkleNode(Base):
    """Stored hashes of the Merkle tree above the leaves (REC-4, issue 20): the hash of every complete,
    aligned subtree of ``2**level`` leaves for ``level`` a multiple of ``domain.merkle.TILE_HEIGHT`` (8)
    — one row per 256 entries. With the leaf hashes of ``log_entries`` they are the tiles from which a
    replica computes roots and proofs for any size while holding only a frontier in memory. Derived
    data: recomputed from the leaf hashes at every rebuild, which repairs missing or altered rows."""

    __tablename__ = "merkle_nodes"
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class TreeHeadRow(Base):
    """A signed tree head 签名树头 (Ed25519 or SM2, see ``algorithm``; over the tree size, time, SM3 root, log id)."""

    __tablename__ = "tree_heads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(Integer, unique=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    log_id: Mapped[str] = mapped_column(String(255))
    algorithm: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(256))
    public_key: Mapped[str] = mapped_column(String(160))
    reason: Mapped[str] = mapped_column(String(32))            # timer | archive | proof | start


class PartyLink(Base):
    """Which parties a case concerns, so all records of one party can be found together (REC-4)."""

    __tablename__ = "party_links"
    # one row per (party, case): a batch links with INSERT … ON CONFLICT DO NOTHING, no read first;
    # the unique index also serves "all cases of a party" (party_key leads)
    __table_args__ = (UniqueConstraint("party_key", "case_id", name="uq_party_links_party_case"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # "k:" + HMAC-SM3 of the ID number (or kind:name) under the records index key (issue 22): a keyed blind
    # index, no raw PII and no unkeyed hash (links written before: the unkeyed SM3 until re-keyed)
    party_key: Mapped[str] = mapped_column(String(80))
    case_id: Mapped[str] = mapped_column(String(64), index=True)


class Blob(Base):
    """An attachment in the content-addressed store (SM3 of the bytes), who uploaded it and for which region."""

    __tablename__ = "blobs"
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(128))
    uploaded_by: Mapped[str] = mapped_column(String(128))
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class RefusedEvent(Base):
    """A record refused because its case is archived and sealed (REC-5): kept whole so nothing is
    lost, shown to supervisors, and the basis of an authorised correction."""

    __tablename__ = "refused_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    envelope: Mapped[str | None] = mapped_column(Text, nullable=True)   # erased with the case's personal data
    refused_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    log_sequence: Mapped[int] = mapped_column(Integer)
    corrected_by_sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)


class WitnessedHead(Base):
    """A signed tree head of another suite's log, kept as its witness (见证): a province keeps every
    city's heads, so a city cannot rewrite its record history unseen (REC-4, PLAT-1)."""

    __tablename__ = "witnessed_heads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    log_id: Mapped[str] = mapped_column(String(255), index=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    tree_size: Mapped[int] = mapped_column(Integer)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[str] = mapped_column(String(256))
    public_key: Mapped[str] = mapped_column(String(160))
    key_id: Mapped[str] = mapped_column(String(64))
    conflict: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # issue 23: accepted (on the witnessed chain) | pending (its predecessor not seen yet, or its key not
    # yet handed over) | forked (broke the chain: the fork alarm) | refused (arrived while the log was
    # forked); the consistency proof it came with, from the log's previous signed head
    status: Mapped[str] = mapped_column(String(16), default="accepted", index=True)
    from_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    from_root: Mapped[str | None] = mapped_column(String(64), nullable=True)
    proof: Mapped[list | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class WitnessLog(Base):
    """The witness's state of one lower-tier log (issue 23): the newest witnessed head (tip), the
    pinned signing key (from ``ZHIFA_RECORDS_WITNESS_KEYS``, moved only by a verified hand-over), and
    the fork alarm — raised when a head breaks the chain, cleared only by an operator's resolution."""

    __tablename__ = "witness_logs"
    log_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    tip_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    public_key: Mapped[str | None] = mapped_column(String(160), nullable=True)   # a handed-over key
    key_history: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="ok")                # ok | forked
    forked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    fork_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    fork_head_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolutions: Mapped[list] = mapped_column(JSON, default=list)                # who, when, why
    last_received_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ProvinceWitness(Base):
    """At a city: what the province says it witnessed of this suite's log (issue 23) — its newest
    witnessed head, a fork alarm, or a reset after an operator resolved one. The self-check treats the
    witnessed head like a stored signed head: the log must be consistent with it, or nothing is
    signed or appended. ``confirmed_request``: the witness request of this start that was answered."""

    __tablename__ = "province_witness"
    log_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))          # witnessed | none | reset | forked
    tree_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    root_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    timestamp: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    signature: Mapped[str | None] = mapped_column(String(256), nullable=True)
    public_key: Mapped[str | None] = mapped_column(String(160), nullable=True)
    algorithm: Mapped[str | None] = mapped_column(String(32), nullable=True)
    fork_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    event_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    answered_requests: Mapped[list] = mapped_column(JSON, default=list)        # request event ids answered


class SelfCheck(Base):
    """The latest self-check of the log against its signed tree heads (签名前自检, REC-4), one row per
    checking process: run at (re)build of the in-memory tree, before every signature and
    periodically. A failed check stops signing and appending until a check passes again."""

    __tablename__ = "self_checks"
    checker: Mapped[str] = mapped_column(String(128), primary_key=True)   # host:pid of the process
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    trigger: Mapped[str] = mapped_column(String(32))       # rebuild | before_signing | periodic | retry
    tree_size: Mapped[int] = mapped_column(Integer)
    heads_checked: Mapped[int] = mapped_column(Integer)
    newest_head_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    consistent_through: Mapped[int] = mapped_column(Integer)
    first_sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)   # inconsistent range
    last_sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    summary: Mapped[str] = mapped_column(Text)             # Chinese, shown on /records/verify
    problems: Mapped[list] = mapped_column(JSON, default=list)


class AuditEntry(Base):
    """安全审计 (SEC-3, 等保 2.0 三级): one staff action at the HTTP edge, reads included — who (subject,
    role, scope), what (action, object, path, query), the result, from where and when. Written from
    the gateway's ``audit.recorded`` events; append-only: on PostgreSQL a trigger refuses UPDATE,
    DELETE and TRUNCATE except the leased retention purge (migration 0006). The REC-6 access entries
    of the same request carry its ``correlation_id`` as ``request_id``."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_region_time", "region_code", "occurred_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    correlation_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    phase: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255), index=True)
    role: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(9))
    body_ids: Mapped[list] = mapped_column(JSON)
    action: Mapped[str] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    object: Mapped[dict] = mapped_column(JSON)
    query: Mapped[dict] = mapped_column(JSON)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    source_address: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300), nullable=True)


class CaseFileDraw(Base):
    """案卷评查抽样 (REC-7): one yearly draw of archived case files per region — reproducible from the
    public value and the population (body → archived case ids of the year, its SM3 digest kept)."""

    __tablename__ = "case_file_draws"
    draw_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    year: Mapped[int] = mapped_column(Integer)
    public_value: Mapped[str] = mapped_column(String(200))
    seed_hex: Mapped[str] = mapped_column(String(64))
    per_body: Mapped[int] = mapped_column(Integer)
    population: Mapped[dict] = mapped_column(JSON)
    population_digest: Mapped[str] = mapped_column(String(64))
    drawn_by: Mapped[str] = mapped_column(String(255))
    drawn_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class CaseFileReview(Base):
    """One drawn case file: its reviewer (never of the case's own body), the score sheet and result (REC-7)."""

    __tablename__ = "case_file_reviews"
    review_id: Mapped[str] = mapped_column(String(160), primary_key=True)   # <draw_id>:<case_id>
    draw_id: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(9), index=True)
    body_id: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[str] = mapped_column(String(64))
    action_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    position: Mapped[int] = mapped_column(Integer)                           # order in the body's draw
    status: Mapped[str] = mapped_column(String(16), default="drawn")         # drawn | assigned | scored
    reviewer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    reviewer_body_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    assigned_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    score: Mapped[str | None] = mapped_column(String(8), nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    items: Mapped[list | None] = mapped_column(JSON, nullable=True)
    failed_items: Mapped[list | None] = mapped_column(JSON, nullable=True)
    scored_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


#: the encrypted columns, for the background re-encrypt and ``zhifa keys status`` (issue 22)
ENCRYPTED_COLUMNS = [EncryptedColumn(PersonalData.data, PersonalData.sequence),
                     EncryptedColumn(PendingRead.personal, PendingRead.id)]
