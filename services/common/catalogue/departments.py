"""Events departmental systems publish to ``departments.events`` (registry, case life cycle, complaints)."""
from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from services.common.catalogue.fields import (CERTIFICATE_STATUSES, DEPARTMENTS, RECORD_KINDS, STAGES, Action,
                                              EventType, FlagsSchema, Ident, Money, PartySchema, Sm3Hex,
                                              StrictSchema, _region_validator)
from services.common.identifiers import validate_resident_id

# Free text has a documented maximum length (issue 14): what every consuming service stores and
# indexes (e.g. disclosure's search index copes with the longest decision these limits allow). A
# longer value is an invalid event — refused at intake — not a database error discovered later.
MAX_PARTIES = 100
MAX_OFFICERS = 50

# --- registry (PLAT-2, PLAT-3, PLAT-4) --------------------------------------------------------

class BodyRegistered(StrictSchema):
    """执法主体登记: an enforcement body, or an update of one."""

    body_id = Ident(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(("department", "authorised_org", "entrusted_org")))
    region_code = fields.String(required=True, validate=_region_validator)
    management = fields.String(load_default="local", validate=validate.OneOf(("local", "vertical", "dual")))
    field = fields.String(load_default=None, validate=validate.Length(max=64))
    superior_body_id = Ident(load_default=None)
    entrusting_body_id = Ident(load_default=None)
    entrustment_basis = fields.String(load_default=None, validate=validate.Length(max=2000))

    @validates_schema
    def _entrusted_needs_basis(self, data, **_):
        if data["kind"] == "entrusted_org" and not (data.get("entrusting_body_id") and data.get("entrustment_basis")):
            raise ValidationError("受委托组织须注明委托机关和委托依据", field_name="entrustment_basis")


class OfficerRegistered(StrictSchema):
    """执法人员登记 (also legal reviewers, 003 §六(二十三))."""

    officer_id = Ident(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    body_id = Ident(required=True)
    roles = fields.List(fields.String(validate=validate.OneOf(("officer", "legal_reviewer"))),
                        load_default=lambda: ["officer"], validate=validate.Length(min=1))
    certificate_no = fields.String(load_default=None, validate=validate.Length(max=64))
    field = fields.String(load_default=None, validate=validate.Length(max=64))


class CertificateStatusChanged(StrictSchema):
    """执法证件状态: valid, suspended 暂扣, withdrawn 收回, cancelled 注销 (PLAT-3)."""

    certificate_no = fields.String(required=True, validate=validate.Length(min=1, max=64))
    officer_id = Ident(required=True)
    status = fields.String(required=True, validate=validate.OneOf(CERTIFICATE_STATUSES))
    effective_from = fields.AwareDateTime(required=True)
    valid_until = fields.Date(load_default=None)
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))


class PowerPublished(StrictSchema):
    """权责清单 / 行政执法事项目录 entry (PLAT-4)."""

    matter_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    action_type = Action(required=True)
    legal_basis = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    body_id = Ident(required=True)
    level = fields.String(load_default=None, validate=validate.OneOf(("province", "city", "county", "township")))
    version = fields.Integer(load_default=1, validate=validate.Range(min=1))
    basis_changed_on = fields.Date(load_default=None)
    published_on = fields.Date(required=True)


# --- case life cycle (REC-1) ------------------------------------------------------------------

class CaseOpened(StrictSchema):
    """立案 / 启动: an enforcement action starts."""

    action_type = Action(required=True)
    matter_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    parties = fields.List(fields.Nested(PartySchema), required=True, validate=validate.Length(min=1, max=MAX_PARTIES))
    officer_ids = fields.List(Ident(), required=True, validate=validate.Length(min=1, max=MAX_OFFICERS))
    opened_at = fields.AwareDateTime(required=True)
    place = fields.String(load_default=None, validate=validate.Length(max=300))


class EvidenceRecorded(StrictSchema):
    """A record of the case file: text document, audio-visual record or electronic data (REC-2/3)."""

    record_id = Ident(required=True)
    stage = fields.String(required=True, validate=validate.OneOf(STAGES))
    record_kind = fields.String(required=True, validate=validate.OneOf(RECORD_KINDS))
    document_type = fields.String(load_default=None, validate=validate.Length(max=64))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    content_hash = Sm3Hex(required=True)
    content_length = fields.Integer(load_default=None, validate=validate.Range(min=0))
    officer_ids = fields.List(Ident(), load_default=list, validate=validate.Length(max=MAX_OFFICERS))
    recorded_at = fields.AwareDateTime(required=True)
    place = fields.String(load_default=None, validate=validate.Length(max=300))
    device = fields.String(load_default=None, validate=validate.Length(max=100))
    started_at = fields.AwareDateTime(load_default=None)
    ended_at = fields.AwareDateTime(load_default=None)
    party_ids = fields.List(Ident(), load_default=list, validate=validate.Length(max=MAX_PARTIES))
    # REC-3: form of an audio-visual record, and the measure it films (full-process AV rule)
    av_form = fields.String(load_default=None, validate=validate.OneOf(
        ("photo", "audio", "video", "body_worn_camera", "surveillance")))
    covers = fields.String(load_default=None, validate=validate.Length(max=64))

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
    officer_ids = fields.List(Ident(), load_default=list, validate=validate.Length(max=MAX_OFFICERS))
    record_hash = Sm3Hex(load_default=None)


class DecisionProposed(StrictSchema):
    """拟作出的决定, submitted before the decision (input to legal review, REV-1)."""

    version = fields.Integer(required=True, validate=validate.Range(min=1))
    action_type = Action(required=True)
    matter_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    field = fields.String(load_default=None, validate=validate.Length(max=64))
    parties = fields.List(fields.Nested(PartySchema), required=True, validate=validate.Length(min=1, max=MAX_PARTIES))
    fine_amount = Money(load_default=None)
    confiscation_amount = Money(load_default=None)
    measures = fields.List(fields.String(validate=validate.Length(max=500)), load_default=list,
                           validate=validate.Length(max=50))
    hearing_requested = fields.Boolean(load_default=False)
    hearing_held = fields.Boolean(load_default=False)
    flags = fields.Nested(FlagsSchema, load_default=dict)
    officer_ids = fields.List(Ident(), required=True, validate=validate.Length(min=1, max=MAX_OFFICERS))
    summary = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    proposed_at = fields.AwareDateTime(required=True)
    submitted_by = Ident(load_default=None)


class DecisionMade(StrictSchema):
    """执法决定作出 (DISC-3 starts the publication clock)."""

    version = fields.Integer(required=True, validate=validate.Range(min=1))
    decision_no = fields.String(required=True, validate=validate.Length(min=1, max=128))
    action_type = Action(required=True)
    matter_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    category = fields.String(required=True, validate=validate.Length(min=1, max=300))
    parties = fields.List(fields.Nested(PartySchema), required=True, validate=validate.Length(min=1, max=MAX_PARTIES))
    facts = fields.String(required=True, validate=validate.Length(max=20000))
    legal_basis = fields.String(required=True, validate=validate.Length(max=5000))
    conclusion = fields.String(required=True, validate=validate.Length(max=5000))
    fine_amount = Money(load_default=None)
    decided_at = fields.AwareDateTime(required=True)
    secrecy = fields.String(load_default="none", validate=validate.OneOf(
        ("none", "state_secret", "commercial_secret", "personal_privacy")))
    publication_period_override = fields.Integer(load_default=None, validate=validate.Range(min=0, max=365))
    officer_ids = fields.List(Ident(), load_default=list, validate=validate.Length(max=MAX_OFFICERS))
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
    manner = fields.String(required=True, validate=validate.Length(min=1, max=500))
    document_hash = Sm3Hex(load_default=None)


class CaseArchived(StrictSchema):
    """归档: the case file is sealed (REC-5)."""

    archived_at = fields.AwareDateTime(required=True)
    archive_no = fields.String(required=True, validate=validate.Length(min=1, max=128))


class CaseTransferred(StrictSchema):
    """移送 / 指定管辖 / 管辖变更: the case passes to another body (SEC-2). Sent by the body that owns
    the case at ``occurred_at`` (the envelope's ``body_id``), or by the gateway for a supervisor's
    designation; from ``occurred_at`` on, only ``to_body_id`` may send events for the case."""

    to_body_id = Ident(required=True)
    to_region_code = fields.String(required=True, validate=_region_validator)
    kind = fields.String(required=True, validate=validate.OneOf(("transfer", "designation", "jurisdiction_change")))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    basis = fields.String(load_default=None, validate=validate.Length(max=500))
    ordered_by = Ident(load_default=None)   # the supervisor who designated the new body (指定管辖)


class DecisionRevoked(StrictSchema):
    """A decision revoked 撤销, confirmed illegal 确认违法 or ordered re-made 责令重作 (DISC-6, EVAL-7)."""

    reason = fields.String(required=True, validate=validate.OneOf(("revoked", "confirmed_illegal", "remade")))
    by = fields.String(required=True, validate=validate.OneOf(("body", "reconsideration", "litigation", "supervision")))
    decided_at = fields.AwareDateTime(required=True)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


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


class ComplaintOtherBodySchema(StrictSchema):
    """Another body that took part in the act complained of (two or more bodies, CMP-8)."""

    body_id = Ident(required=True)
    region_code = fields.String(required=True, validate=_region_validator)
    kind = fields.String(load_default="department", validate=validate.OneOf(
        ("department", "county_government", "authorised_org", "entrusted_org")))


class ComplaintSubjectSchema(StrictSchema):
    """被投诉对象. Only ``body_id`` is required: the complaints service completes kind, region and
    competent department from the bodies registered with ``body.registered`` (else: a department of
    the envelope's region)."""

    body_id = Ident(required=True)
    officer_ids = fields.List(Ident(), load_default=list)
    body_kind = fields.String(load_default=None, validate=validate.OneOf(
        ("department", "county_government", "authorised_org", "entrusted_org")))
    body_region_code = fields.String(load_default=None, validate=_region_validator)
    competent_department_id = Ident(load_default=None)
    competent_department_region_code = fields.String(load_default=None, validate=_region_validator)
    about_officer_conduct = fields.Boolean(load_default=False)
    other_bodies = fields.List(fields.Nested(ComplaintOtherBodySchema), load_default=list)


class ComplaintSubmitted(StrictSchema):
    """投诉举报 received by a channel outside the portal (12345 hotline, letters, visits)."""

    channel = fields.String(required=True, validate=validate.OneOf(
        ("portal", "hotline_12345", "letter", "email", "visit")))
    external_ref = fields.String(load_default=None, validate=validate.Length(max=100))
    complainant = fields.Nested(ComplainantSchema, required=True)
    subject = fields.Nested(ComplaintSubjectSchema, required=True)
    request = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    facts = fields.String(required=True, validate=validate.Length(min=2, max=10000))
    received_at = fields.AwareDateTime(required=True)
    against_private_enterprise = fields.Boolean(load_default=False)
    case_id = Ident(load_default=None)
    under_reconsideration_or_litigation = fields.Boolean(load_default=False)
    categories = fields.List(fields.String(validate=validate.Length(min=1, max=32)), load_default=list)



EVENTS = [
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
    EventType("case.transferred", CaseTransferred, DEPARTMENTS, "Case transferred to another body (移送/指定管辖/管辖变更)", True),
    EventType("decision.revoked", DecisionRevoked, DEPARTMENTS, "Decision revoked / confirmed illegal / re-made (撤销/确认违法/重作)", True),
    EventType("complaint.submitted", ComplaintSubmitted, DEPARTMENTS, "Complaint received by a channel system, e.g. 12345 (投诉举报)"),
]
