"""Events the review service emits (法制审核, REV-*)."""
from __future__ import annotations

from marshmallow import fields, validate

from services.common.catalogue.fields import EventType, Ident, StrictSchema

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


EVENTS = [
    EventType("review.classified", ReviewClassified, "review", "Proposed decision classified major or not (重大执法决定认定)", True),
    EventType("review.task_opened", ReviewTaskOpened, "review", "Legal review task opened (法制审核任务)", True),
    EventType("review.approved", ReviewConcluded, "review", "Legal review passed (审核通过)", True),
    EventType("review.returned", ReviewConcluded, "review", "Legal review found problems (审核退回)", True),
    EventType("review.bypassed", ReviewBypassed, "review", "Major decision made without approved review (应审未审)", True),
]
