"""The event catalogue: envelope and payload contracts (PLAT-7 统一数据标准).

Every event — whether a departmental system publishes it or a zhifa service emits it — is one JSON
object, the *envelope*, whose ``payload`` is validated by the schema registered for its
``event_type``. marshmallow schemas here are the single source of truth; the JSON Schema and
AsyncAPI documents under ``docs/contracts/`` are generated from them (``zhifa contracts``).

Departmental systems publish to the topic exchange ``departments.events`` with the event type
as routing key (see docs/INTEGRATION.md); zhifa services publish to ``<service>.events``.
"""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.identifiers import is_region_code, validate_resident_id, validate_uscc

SCHEMA_MAJOR = 1
DEPARTMENTS = "departments"  # the pseudo-service name departmental systems publish as

ACTION_TYPES = (
    "penalty",        # 行政处罚
    "permit",         # 行政许可
    "coercive",       # 行政强制
    "inspection",     # 行政检查
    "levy",           # 行政征收
    "requisition",    # 行政征用
    "benefit",        # 行政给付
    "confirmation",   # 行政确认
    "adjudication",   # 行政裁决
    "compensation",   # 行政补偿
    "reward",         # 行政奖励
)  # PLAT-5
ACTION_TYPE_NAMES_ZH = {
    "penalty": "行政处罚", "permit": "行政许可", "coercive": "行政强制", "inspection": "行政检查",
    "levy": "行政征收", "requisition": "行政征用", "benefit": "行政给付", "confirmation": "行政确认",
    "adjudication": "行政裁决", "compensation": "行政补偿", "reward": "行政奖励",
}
STAGES = ("initiation", "investigation", "decision", "service_execution", "archiving")  # REC-1
RECORD_KINDS = ("text", "audio_visual", "electronic")  # REC-2, REC-3
CERTIFICATE_STATUSES = ("valid", "suspended", "withdrawn", "cancelled")  # PLAT-3


class InvalidEvent(Exception):
    """A permanent problem with an event: it goes to the dead-letter queue with this reason."""

    def __init__(self, reason: str, errors: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or {}


# --- field helpers ----------------------------------------------------------------------------

def _region_validator(value):
    if not is_region_code(value):
        raise ValidationError("不是有效的行政区划代码（GB/T 2260，6位或9位数字）")


def Ident(**kw):
    """An identifier chosen by the departmental system (case id, body id, …)."""
    return fields.String(validate=validate.Length(min=1, max=64), **kw)


Sm3Hex = lambda **kw: fields.String(  # noqa: E731 - a content hash: 64 lowercase hex characters
    validate=validate.Regexp(r"^[0-9a-f]{64}$", error="应为64位小写十六进制SM3摘要"), **kw)
Money = lambda **kw: fields.Decimal(places=2, as_string=True, validate=validate.Range(min=0), **kw)  # noqa: E731
Action = lambda **kw: fields.String(validate=validate.OneOf(ACTION_TYPES), **kw)  # noqa: E731


class StrictSchema(Schema):
    class Meta:
        ordered = True


# --- shared value objects ---------------------------------------------------------------------

class PartySchema(StrictSchema):
    """当事人: a natural person, a legal person or another organisation (PLAT-8 identifiers)."""

    party_id = Ident(load_default=None)
    party_kind = fields.String(required=True, validate=validate.OneOf(("natural", "legal", "other")))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    id_type = fields.String(load_default="other", validate=validate.OneOf(("resident_id", "uscc", "other")))
    id_number = fields.String(load_default=None, validate=validate.Length(max=64))
    phone = fields.String(load_default=None, validate=validate.Length(max=32))
    address = fields.String(load_default=None, validate=validate.Length(max=300))
    is_private_enterprise = fields.Boolean(load_default=False)

    @validates_schema
    def _check_identifier(self, data, **_):
        number, kind = data.get("id_number"), data.get("id_type")
        if not number:
            return
        error = {"resident_id": validate_resident_id, "uscc": validate_uscc}.get(kind, lambda _: None)(number)
        if error:
            raise ValidationError(error, field_name="id_number")


class FlagsSchema(StrictSchema):
    major_public_interest = fields.Boolean(load_default=False)   # 涉及重大公共利益
    social_risk = fields.Boolean(load_default=False)             # 可能造成重大社会影响或引发社会风险
    complex_legal_relations = fields.Boolean(load_default=False)  # 案件情况疑难复杂、涉及多个法律关系
    law_requires_review = fields.Boolean(load_default=False)     # 法律法规规定应当进行法制审核


# --- registry (PLAT-2, PLAT-3, PLAT-4) --------------------------------------------------------

class BodyRegistered(StrictSchema):
    """执法主体登记: an enforcement body, or an update of one."""

    body_id = Ident(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(("department", "authorised_org", "entrusted_org")))
    region_code = fields.String(required=True, validate=_region_validator)
    management = fields.String(load_default="local", validate=validate.OneOf(("local", "vertical", "dual")))
    field = fields.String(load_default=None)
    superior_body_id = Ident(load_default=None)
    entrusting_body_id = Ident(load_default=None)
    entrustment_basis = fields.String(load_default=None)

    @validates_schema
    def _entrusted_needs_basis(self, data, **_):
        if data["kind"] == "entrusted_org" and not (data.get("entrusting_body_id") and data.get("entrustment_basis")):
            raise ValidationError("受委托组织须注明委托机关和委托依据", field_name="entrustment_basis")


class OfficerRegistered(StrictSchema):
    """执法人员登记 (also legal reviewers, 003 §六(二十三))."""

    officer_id = Ident(required=True)
    name = fields.String(required=True)
    body_id = Ident(required=True)
    roles = fields.List(fields.String(validate=validate.OneOf(("officer", "legal_reviewer"))),
                        load_default=lambda: ["officer"], validate=validate.Length(min=1))
    certificate_no = fields.String(load_default=None)
    field = fields.String(load_default=None)


class CertificateStatusChanged(StrictSchema):
    """执法证件状态: valid, suspended 暂扣, withdrawn 收回, cancelled 注销 (PLAT-3)."""

    certificate_no = fields.String(required=True)
    officer_id = Ident(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CERTIFICATE_STATUSES))
    effective_from = fields.AwareDateTime(required=True)
    valid_until = fields.Date(load_default=None)
    reason = fields.String(load_default=None)


class PowerPublished(StrictSchema):
    """权责清单 / 行政执法事项目录 entry (PLAT-4)."""

    matter_code = fields.String(required=True)
    name = fields.String(required=True)
    action_type = Action(required=True)
    legal_basis = fields.String(required=True)
    body_id = Ident(required=True)
    level = fields.String(load_default=None, validate=validate.OneOf(("province", "city", "county", "township")))
    version = fields.Integer(load_default=1, validate=validate.Range(min=1))
    basis_changed_on = fields.Date(load_default=None)
    published_on = fields.Date(required=True)


# --- case life cycle (REC-1) ------------------------------------------------------------------

class CaseOpened(StrictSchema):
    """立案 / 启动: an enforcement action starts."""

    action_type = Action(required=True)
    matter_code = fields.String(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    parties = fields.List(fields.Nested(PartySchema), required=True, validate=validate.Length(min=1))
    officer_ids = fields.List(Ident(), required=True, validate=validate.Length(min=1))
    opened_at = fields.AwareDateTime(required=True)
    place = fields.String(load_default=None)


class EvidenceRecorded(StrictSchema):
    """A record of the case file: text document, audio-visual record or electronic data (REC-2/3)."""

    record_id = Ident(required=True)
    stage = fields.String(required=True, validate=validate.OneOf(STAGES))
    record_kind = fields.String(required=True, validate=validate.OneOf(RECORD_KINDS))
    document_type = fields.String(load_default=None)
    title = fields.String(required=True)
    content_hash = Sm3Hex(required=True)
    content_length = fields.Integer(load_default=None, validate=validate.Range(min=0))
    officer_ids = fields.List(Ident(), load_default=list)
    recorded_at = fields.AwareDateTime(required=True)
    place = fields.String(load_default=None)
    device = fields.String(load_default=None)
    started_at = fields.AwareDateTime(load_default=None)
    ended_at = fields.AwareDateTime(load_default=None)
    party_ids = fields.List(Ident(), load_default=list)

    @validates_schema
    def _av_needs_span(self, data, **_):
        if data["record_kind"] == "audio_visual":
            if not (data.get("started_at") and data.get("ended_at")):
                raise ValidationError("音像记录须有开始和结束时间", field_name="ended_at")
            if data["ended_at"] < data["started_at"]:
                raise ValidationError("结束时间早于开始时间", field_name="ended_at")


class HearingHeld(StrictSchema):
    """听证 held."""

    hearing_id = Ident(required=True)
    held_at = fields.AwareDateTime(required=True)
    officer_ids = fields.List(Ident(), load_default=list)
    record_hash = Sm3Hex(load_default=None)


class DecisionProposed(StrictSchema):
    """拟作出的决定, submitted before the decision (input to legal review, REV-1)."""

    version = fields.Integer(required=True, validate=validate.Range(min=1))
    action_type = Action(required=True)
    matter_code = fields.String(required=True)
    field = fields.String(load_default=None)
    parties = fields.List(fields.Nested(PartySchema), required=True, validate=validate.Length(min=1))
    fine_amount = Money(load_default=None)
    confiscation_amount = Money(load_default=None)
    measures = fields.List(fields.String(), load_default=list)
    hearing_requested = fields.Boolean(load_default=False)
    hearing_held = fields.Boolean(load_default=False)
    flags = fields.Nested(FlagsSchema, load_default=dict)
    officer_ids = fields.List(Ident(), required=True, validate=validate.Length(min=1))
    summary = fields.String(required=True)
    proposed_at = fields.AwareDateTime(required=True)
    submitted_by = Ident(load_default=None)


class DecisionMade(StrictSchema):
    """执法决定作出 (DISC-3 starts the publication clock)."""

    version = fields.Integer(required=True, validate=validate.Range(min=1))
    decision_no = fields.String(required=True)
    action_type = Action(required=True)
    matter_code = fields.String(required=True)
    category = fields.String(required=True)
    parties = fields.List(fields.Nested(PartySchema), required=True, validate=validate.Length(min=1))
    facts = fields.String(required=True)
    legal_basis = fields.String(required=True)
    conclusion = fields.String(required=True)
    fine_amount = Money(load_default=None)
    decided_at = fields.AwareDateTime(required=True)
    secrecy = fields.String(load_default="none", validate=validate.OneOf(
        ("none", "state_secret", "commercial_secret", "personal_privacy")))
    publication_period_override = fields.Integer(load_default=None, validate=validate.Range(min=0, max=365))
    officer_ids = fields.List(Ident(), load_default=list)
    approved_by = Ident(load_default=None)


class DecisionServed(StrictSchema):
    """送达."""

    served_at = fields.AwareDateTime(required=True)
    method = fields.String(required=True, validate=validate.OneOf(
        ("direct", "mail", "electronic", "lien", "public_notice", "entrusted")))
    document_hash = Sm3Hex(load_default=None)


class DecisionExecuted(StrictSchema):
    """执行."""

    executed_at = fields.AwareDateTime(required=True)
    manner = fields.String(required=True)
    document_hash = Sm3Hex(load_default=None)


class CaseArchived(StrictSchema):
    """归档: the case file is sealed (REC-5)."""

    archived_at = fields.AwareDateTime(required=True)
    archive_no = fields.String(required=True)


class DecisionRevoked(StrictSchema):
    """A decision revoked 撤销, confirmed illegal 确认违法 or ordered re-made 责令重作 (DISC-6, EVAL-7)."""

    reason = fields.String(required=True, validate=validate.OneOf(("revoked", "confirmed_illegal", "remade")))
    by = fields.String(required=True, validate=validate.OneOf(("body", "reconsideration", "litigation", "supervision")))
    decided_at = fields.AwareDateTime(required=True)
    note = fields.String(load_default=None)


# --- complaints (CMP) -------------------------------------------------------------------------

class ComplainantSchema(StrictSchema):
    name = fields.String(load_default=None, validate=validate.Length(max=100))
    phone = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9+\-]{5,20}$", error="电话号码格式不正确"))
    id_number = fields.String(load_default=None)
    address = fields.String(load_default=None, validate=validate.Length(max=300))

    @validates_schema
    def _check_id(self, data, **_):
        if data.get("id_number"):
            error = validate_resident_id(data["id_number"])
            if error:
                raise ValidationError(error, field_name="id_number")


class ComplaintSubjectSchema(StrictSchema):
    body_id = Ident(required=True)
    officer_ids = fields.List(Ident(), load_default=list)


class ComplaintSubmitted(StrictSchema):
    """投诉举报 received by a channel outside the portal (12345 hotline, letters, visits)."""

    channel = fields.String(required=True, validate=validate.OneOf(
        ("portal", "hotline_12345", "letter", "email", "visit")))
    external_ref = fields.String(load_default=None)
    complainant = fields.Nested(ComplainantSchema, required=True)
    subject = fields.Nested(ComplaintSubjectSchema, required=True)
    request = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    facts = fields.String(required=True, validate=validate.Length(min=2, max=10000))
    received_at = fields.AwareDateTime(required=True)
    against_private_enterprise = fields.Boolean(load_default=False)


# --- service-emitted events -------------------------------------------------------------------

class RecordAppended(StrictSchema):
    """records: an entry was appended to the tamper-evident log (REC-4)."""

    sequence = fields.Integer(required=True)
    entry_kind = fields.String(required=True)
    leaf_hash = Sm3Hex(required=True)
    tree_size = fields.Integer(required=True)


class ReviewClassified(StrictSchema):
    """review: a proposed decision classified as major or not, with the rules that fired (REV-1)."""

    version = fields.Integer(required=True)
    major = fields.Boolean(required=True)
    fired_rules = fields.List(fields.String(), required=True)


class ReviewTaskOpened(StrictSchema):
    task_id = Ident(required=True)
    version = fields.Integer(required=True)
    reviewer_id = Ident(load_default=None)
    due_on = fields.Date(required=True)
    due_provisional = fields.Boolean(required=True)


class ReviewConcluded(StrictSchema):
    """review.approved / review.returned (REV-4, REV-6)."""

    task_id = Ident(required=True)
    version = fields.Integer(required=True)
    reviewer_id = Ident(required=True)
    approver_id = Ident(load_default=None)
    opinion = fields.String(required=True)
    problems = fields.List(fields.String(), load_default=list)


class ReviewBypassed(StrictSchema):
    """review: 应审未审 / 审核未通过 — a major decision made without an approved review (REV-2)."""

    version = fields.Integer(required=True)
    violation = fields.String(required=True, validate=validate.OneOf(("not_reviewed", "not_approved")))
    description = fields.String(required=True)


class DisclosurePublished(StrictSchema):
    """disclosure: a decision published (DISC-3)."""

    publication_id = Ident(required=True)
    decision_no = fields.String(required=True)
    action_type = Action(required=True)
    due_on = fields.Date(required=True)
    due_provisional = fields.Boolean(required=True)
    published_on = fields.Date(required=True)
    on_time = fields.Boolean(required=True)
    redactions = fields.Dict(keys=fields.String(), values=fields.Integer(), load_default=dict)


class ComplaintRegistered(StrictSchema):
    """complaints: registered with a number (CMP-2). Carries NO complainant identity (CMP confidentiality)."""

    number = fields.String(required=True)
    channel = fields.String(required=True)
    subject_body_id = Ident(required=True)
    acknowledge_due = fields.Date(required=True)
    due_provisional = fields.Boolean(required=True)
    against_private_enterprise = fields.Boolean(load_default=False)


@dataclass(frozen=True)
class EventType:
    name: str
    schema: type[Schema]
    emitter: str            # "departments" or a zhifa service name
    summary: str            # English, with the Chinese term
    needs_case: bool = False
    version: str = "1.0"


CATALOGUE: dict[str, EventType] = {e.name: e for e in [
    EventType("body.registered", BodyRegistered, DEPARTMENTS, "Enforcement body registered or updated (执法主体)"),
    EventType("officer.registered", OfficerRegistered, DEPARTMENTS, "Officer or legal reviewer registered (执法人员)"),
    EventType("certificate.status_changed", CertificateStatusChanged, DEPARTMENTS, "Certificate valid/suspended/withdrawn/cancelled (执法证件)"),
    EventType("power.published", PowerPublished, DEPARTMENTS, "Powers list / matter catalogue entry (权责清单)"),
    EventType("case.opened", CaseOpened, DEPARTMENTS, "Enforcement action started (立案/启动)", True),
    EventType("evidence.recorded", EvidenceRecorded, DEPARTMENTS, "Text, audio-visual or electronic record added (调查取证)", True),
    EventType("hearing.held", HearingHeld, DEPARTMENTS, "Hearing held (听证)", True),
    EventType("decision.proposed", DecisionProposed, DEPARTMENTS, "Decision proposed, before review (拟作出决定)", True),
    EventType("decision.made", DecisionMade, DEPARTMENTS, "Decision made (作出决定)", True),
    EventType("decision.served", DecisionServed, DEPARTMENTS, "Decision served (送达)", True),
    EventType("decision.executed", DecisionExecuted, DEPARTMENTS, "Decision executed (执行)", True),
    EventType("case.archived", CaseArchived, DEPARTMENTS, "Case archived and sealed (归档)", True),
    EventType("decision.revoked", DecisionRevoked, DEPARTMENTS, "Decision revoked / confirmed illegal / re-made (撤销/确认违法/重作)", True),
    EventType("complaint.submitted", ComplaintSubmitted, DEPARTMENTS, "Complaint received by a channel system, e.g. 12345 (投诉举报)"),
    EventType("record.appended", RecordAppended, "records", "Entry appended to the tamper-evident log (全过程记录)"),
    EventType("review.classified", ReviewClassified, "review", "Proposed decision classified major or not (重大执法决定认定)", True),
    EventType("review.task_opened", ReviewTaskOpened, "review", "Legal review task opened (法制审核任务)", True),
    EventType("review.approved", ReviewConcluded, "review", "Legal review passed (审核通过)", True),
    EventType("review.returned", ReviewConcluded, "review", "Legal review found problems (审核退回)", True),
    EventType("review.bypassed", ReviewBypassed, "review", "Major decision made without approved review (应审未审)", True),
    EventType("disclosure.published", DisclosurePublished, "disclosure", "Decision published (事后公开)", True),
    EventType("complaint.registered", ComplaintRegistered, "complaints", "Complaint registered with a number (编号登记)"),
]}


class EnvelopeSchema(StrictSchema):
    """The envelope every event travels in (PLAT-7)."""

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.OneOf(list(CATALOGUE)))
    schema_version = fields.String(required=True, validate=validate.Regexp(r"^\d+\.\d+$"))
    occurred_at = fields.AwareDateTime(required=True)
    source_system = fields.String(required=True, validate=validate.Length(min=1, max=64))
    region_code = fields.String(required=True, validate=_region_validator)
    body_id = Ident(required=True)
    case_id = Ident(load_default=None)
    correlation_id = fields.String(load_default=None)
    payload = fields.Dict(required=True)

    @validates_schema
    def _version_and_case(self, data, **_):
        major = int(data["schema_version"].split(".")[0])
        if major != SCHEMA_MAJOR:
            raise ValidationError(f"不支持的数据标准版本 {data['schema_version']}（支持 {SCHEMA_MAJOR}.x）",
                                  field_name="schema_version")
        if CATALOGUE[data["event_type"]].needs_case and not data.get("case_id"):
            raise ValidationError("该事件须有案件编号 case_id", field_name="case_id")


@dataclass(frozen=True)
class Event:
    """A validated event: envelope fields plus the loaded payload."""

    event_id: str
    event_type: str
    schema_version: str
    occurred_at: dt.datetime
    source_system: str
    region_code: str
    body_id: str
    case_id: str | None
    payload: dict
    correlation_id: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)


def parse_event(raw: Any, expected_type: str | None = None) -> Event:
    """Validate an envelope and its payload; raise InvalidEvent with field errors."""
    if not isinstance(raw, dict):
        raise InvalidEvent("event body is not a JSON object", {"_schema": ["应为JSON对象"]})
    errors: dict = {}
    try:
        env = EnvelopeSchema().load(raw)
    except ValidationError as exc:
        errors, env = dict(exc.messages), None
    event_type = raw.get("event_type")
    if expected_type and event_type != expected_type:
        errors.setdefault("event_type", []).append(f"应为 {expected_type}（与路由键一致）")
    payload = None
    if event_type in CATALOGUE:  # report payload errors together with envelope errors
        try:
            payload = CATALOGUE[event_type].schema().load(raw.get("payload") or {})
        except ValidationError as exc:
            errors["payload"] = exc.messages
    if errors:
        raise InvalidEvent(f"invalid {event_type or 'event'}", errors)
    return Event(
        event_id=str(env["event_id"]), event_type=env["event_type"], schema_version=env["schema_version"],
        occurred_at=env["occurred_at"], source_system=env["source_system"], region_code=env["region_code"],
        body_id=env["body_id"], case_id=env.get("case_id"), payload=payload,
        correlation_id=env.get("correlation_id"), raw=raw,
    )


def jsonable(value):
    """Dates, datetimes, decimals and UUIDs as the strings the JSON contract carries."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return value


def make_envelope(event_type: str, payload: dict, *, source_system: str, region_code: str, body_id: str,
                  case_id: str | None = None, occurred_at: dt.datetime | None = None,
                  event_id: str | None = None, correlation_id: str | None = None) -> dict:
    """Build a JSON-ready envelope; the payload is dumped through its schema (validating it)."""
    spec = CATALOGUE[event_type]
    payload = jsonable(payload)
    errors = spec.schema().validate(payload)
    if errors:
        raise InvalidEvent(f"invalid payload for {event_type}", {"payload": errors})
    envelope = {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": spec.version,
        "occurred_at": (occurred_at or dt.datetime.now(dt.timezone.utc)).isoformat(),
        "source_system": source_system,
        "region_code": region_code,
        "body_id": body_id,
        "case_id": case_id,
        "correlation_id": correlation_id,
        "payload": spec.schema().dump(spec.schema().load(payload)),
    }
    return envelope
