"""Events the complaints service emits (投诉举报, CMP-*). None carries complainant identity."""
from __future__ import annotations

from marshmallow import fields

from services.common.catalogue.fields import EventType, Ident, StrictSchema

class ComplaintRegistered(StrictSchema):
    """complaints: registered with a number (CMP-2). Carries NO complainant identity (CMP confidentiality)."""

    number = fields.String(required=True)
    channel = fields.String(required=True)
    subject_body_id = Ident(required=True)
    acknowledge_due = fields.Date(required=True)
    due_provisional = fields.Boolean(required=True)
    against_private_enterprise = fields.Boolean(load_default=False)


EVENTS = [
    EventType("complaint.registered", ComplaintRegistered, "complaints", "Complaint registered with a number (编号登记)"),
]
