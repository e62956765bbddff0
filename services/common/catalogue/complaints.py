"""Events the complaints service emits (投诉举报, CMP-*).

None carries complainant identity (no name, phone, ID number, address, nor the complainant's free
text): the body complained about may read any of them (CMP confidentiality). The envelope's
``body_id`` is the body complained about (for a clue against a handling unit: that unit) and its
``region_code`` that body's region, so evaluation attributes facts to the right body (EVAL-7).
"""
from __future__ import annotations

from marshmallow import fields, validate

from services.common.catalogue.fields import EventType, Ident, StrictSchema, _region_validator

CHANNELS = ("portal", "hotline_12345", "letter", "email", "visit")


class ComplaintRegistered(StrictSchema):
    """complaints: registered with a number (CMP-2). Carries NO complainant identity (CMP confidentiality)."""

    number = fields.String(required=True)
    channel = fields.String(required=True)
    subject_body_id = Ident(required=True)
    acknowledge_due = fields.Date(required=True)
    due_provisional = fields.Boolean(required=True)
    against_private_enterprise = fields.Boolean(load_default=False)
    filed_region_code = fields.String(load_default=None, validate=_region_validator)
    handler_unit_id = Ident(load_default=None)
    handler_region_code = fields.String(load_default=None, validate=_region_validator)
    duplicate_of = fields.String(load_default=None)


class ComplaintAcknowledged(StrictSchema):
    """告知受理情况 (CMP-3): accepted or not, and whether within the 5 working days (EVAL-7)."""

    number = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    subject_body_id = Ident(required=True)
    decision = fields.String(required=True, validate=validate.OneOf(("accepted", "not_accepted")))
    on_time = fields.Boolean(required=True)
    acknowledge_due = fields.Date(required=True)
    decided_on = fields.Date(required=True)
    handler_unit_id = Ident(required=True)
    handler_region_code = fields.String(required=True, validate=_region_validator)
    handling_due = fields.Date(load_default=None)


class ComplaintTransferred(StrictSchema):
    """移送/转办 to another unit, region or tier; the number stays (COORD-1)."""

    number = fields.String(required=True)
    subject_body_id = Ident(required=True)
    from_unit_id = Ident(required=True)
    from_region_code = fields.String(required=True, validate=_region_validator)
    to_unit_id = Ident(required=True)
    to_region_code = fields.String(required=True, validate=_region_validator)


class ComplaintConcluded(StrictSchema):
    """办结 (CMP-4); ``upheld`` = 投诉属实 (EVAL-7, CMP-5)."""

    number = fields.String(required=True)
    subject_body_id = Ident(required=True)
    officer_ids = fields.List(Ident(), load_default=list)
    upheld = fields.Boolean(required=True)
    on_time = fields.Boolean(required=True)
    concluded_on = fields.Date(required=True)
    handling_due = fields.Date(load_default=None)
    against_private_enterprise = fields.Boolean(load_default=False)


class ComplaintRated(StrictSchema):
    """满意度评价 at closure, 1–5 (EVAL-7)."""

    number = fields.String(required=True)
    subject_body_id = Ident(required=True)
    rating = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    against_private_enterprise = fields.Boolean(load_default=False)


class ComplaintEscalated(StrictSchema):
    """逐级上报: a step still open past its deadline, escalated to the next tier up (CMP-3, CMP-9)."""

    number = fields.String(required=True)
    subject_body_id = Ident(required=True)
    stage = fields.String(required=True, validate=validate.OneOf(("acknowledge", "handle")))
    level = fields.Integer(required=True, validate=validate.Range(min=1))
    to_region_code = fields.String(required=True, validate=_region_validator)
    tier = fields.String(required=True)
    due = fields.Date(required=True)
    escalated_on = fields.Date(required=True)
    handler_unit_id = Ident(required=True)
    handler_region_code = fields.String(required=True, validate=_region_validator)


class ComplaintTransferOrdered(StrictSchema):
    """上级交办 (COORD-4, CMP-9): the tier above orders a complaint it supervises (escalated to it) to be
    handled by ``to_unit_id`` following ``instruction``, concluded within ``working_days`` working days
    after ``ordered_on`` (``due`` as counted by the issuer). The envelope's ``region_code`` is the region
    the complaint was registered in (its number's region), so the downward link delivers it to that
    city only; the city applies it to the complaint with the same number."""

    number = fields.String(required=True)
    subject_body_id = Ident(required=True)
    issuer_region = fields.String(required=True, validate=_region_validator)
    ordered_by = fields.String(required=True, validate=validate.Length(min=1, max=100))
    ordered_on = fields.Date(required=True)
    to_unit_id = Ident(required=True)
    to_region_code = fields.String(required=True, validate=_region_validator)
    to_name = fields.String(load_default=None, validate=validate.Length(max=200))
    instruction = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    working_days = fields.Integer(required=True, validate=validate.Range(min=1, max=250))
    due = fields.Date(required=True)


class ComplaintAccountabilityClue(StrictSchema):
    """责任倒查线索 (CMP-5, COORD-1): upheld complaint, should-accept-not-accepted, overdue."""

    kind = fields.String(required=True, validate=validate.OneOf(
        ("upheld_complaint", "should_accept_not_accepted", "acknowledge_overdue", "handling_overdue")))
    label = fields.String(required=True)
    against_kind = fields.String(required=True, validate=validate.OneOf(("body", "officer", "handling_unit")))
    against_ids = fields.List(Ident(), required=True)
    region_code = fields.String(required=True, validate=_region_validator)
    number = fields.String(required=True)
    subject_body_id = Ident(required=True)
    description = fields.String(required=True)
    due = fields.Date(load_default=None)


EVENTS = [
    EventType("complaint.registered", ComplaintRegistered, "complaints", "Complaint registered with a number (编号登记)"),
    EventType("complaint.acknowledged", ComplaintAcknowledged, "complaints",
              "Complainant told accepted / not accepted, on time or late (告知受理情况)"),
    EventType("complaint.transferred", ComplaintTransferred, "complaints",
              "Complaint transferred to another unit, region or tier; same number (转办)"),
    EventType("complaint.concluded", ComplaintConcluded, "complaints", "Complaint concluded, upheld or not (办结)"),
    EventType("complaint.rated", ComplaintRated, "complaints", "Complainant's satisfaction rating 1–5 (满意度评价)"),
    EventType("complaint.escalated", ComplaintEscalated, "complaints",
              "Complaint overdue, escalated to the next tier up (逐级上报)"),
    EventType("complaint.transfer_ordered", ComplaintTransferOrdered, "complaints",
              "Transfer ordered by the tier above for an escalated complaint, sent down to its city (上级交办)"),
    EventType("complaint.accountability_clue", ComplaintAccountabilityClue, "complaints",
              "Accountability clue from a complaint (责任倒查线索)"),
]
