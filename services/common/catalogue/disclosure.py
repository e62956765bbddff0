"""Events the disclosure service emits (行政执法公示, DISC-*)."""
from __future__ import annotations

from marshmallow import fields, validate

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


class DisclosureOverdue(StrictSchema):
    """disclosure: a decision passed its publication deadline unpublished (DISC-3); emitted once."""

    publication_id = Ident(required=True)
    due_on = fields.Date(required=True)
    decision_no = fields.String(load_default=None)
    action_type = Action(load_default=None)
    due_provisional = fields.Boolean(load_default=False)
    working_days_late = fields.Integer(load_default=0)


class AnnualTotals(StrictSchema):
    """The totals of a body's annual statistics report (DISC-7)."""

    total = fields.Integer(required=True)
    by_action_type = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    fines_count = fields.Integer(required=True)
    fines_total = fields.String(required=True)
    permits_granted = fields.Integer(required=True)
    permits_refused = fields.Integer(required=True)
    permits_unknown = fields.Integer(required=True)
    published_on_time = fields.Integer(required=True)
    published_late = fields.Integer(required=True)
    unpublished_overdue = fields.Integer(required=True)
    unpublished_not_yet_due = fields.Integer(required=True)
    withheld = fields.Integer(required=True)
    corrections = fields.Integer(required=True)
    takedowns = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    cancelled_before_publication = fields.Integer(load_default=0)
    provisional_deadlines = fields.Integer(load_default=0)


class AnnualReportPublished(StrictSchema):
    """disclosure: a body's annual statistics report published and sent to its government and superior (DISC-7)."""

    body_id = Ident(required=True)
    year = fields.Integer(required=True)
    totals = fields.Nested(AnnualTotals, required=True)
    revision = fields.Integer(load_default=1)
    published_on = fields.Date(required=True)
    government_region_code = fields.String(required=True)
    superior_body_id = Ident(load_default=None)
    report_url = fields.String(required=True)


class AnnualReportAcknowledged(StrictSchema):
    """disclosure (the recipient's suite): the government (本级人民政府) or the superior department (上级主管部门)
    acknowledged receipt (签收) of a revision of a body's annual report (DISC-7). The envelope's region and
    body are the report's, so the acknowledgement travels down to the body's city over the link."""

    body_id = Ident(required=True)
    year = fields.Integer(required=True)
    revision = fields.Integer(required=True)
    recipient_kind = fields.String(required=True, validate=validate.OneOf(("government", "superior")))
    recipient = fields.String(required=True)
    recipient_region = fields.String(required=True)
    acknowledged_on = fields.Date(required=True)
    acknowledged_by = fields.String(required=True)


EVENTS = [
    EventType("disclosure.published", DisclosurePublished, "disclosure", "Decision published (事后公开)", True),
    EventType("disclosure.overdue", DisclosureOverdue, "disclosure", "Decision past its publication deadline, unpublished (逾期未公开)", True),
    EventType("disclosure.annual_report_published", AnnualReportPublished, "disclosure",
              "Annual enforcement statistics published and reported (统计年报)"),
    EventType("disclosure.annual_report_acknowledged", AnnualReportAcknowledged, "disclosure",
              "Annual report receipt acknowledged by the government or the superior department (年报签收)"),
]
