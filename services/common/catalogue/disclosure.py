"""Events the disclosure service emits (行政执法公示, DISC-*)."""
from __future__ import annotations

from marshmallow import fields

from services.common.catalogue.fields import Action, EventType, Ident, StrictSchema

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


EVENTS = [
    EventType("disclosure.published", DisclosurePublished, "disclosure", "Decision published (事后公开)", True),
]
