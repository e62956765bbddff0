"""Events the review service emits (法制审核, REV-*)."""
from __future__ import annotations

from marshmallow import fields, validate

from services.common.catalogue.fields import EventType, Ident, StrictSchema


class FiredRuleSchema(StrictSchema):
    """A catalogue rule that fired: id, Chinese description, what in the proposal matched."""

    rule_id = fields.String(required=True)
    description = fields.String(required=True)
    detail = fields.String(required=True)


class ReviewClassified(StrictSchema):
    """review: a proposed decision classified as major or not, with the rules that fired (REV-1)."""

    version = fields.Integer(required=True)
    major = fields.Boolean(required=True)
    fired_rules = fields.List(fields.String(), required=True)
    fired = fields.List(fields.Nested(FiredRuleSchema), load_default=list)
    sign_off_required = fields.Boolean(load_default=False)
    catalogue_digest = fields.String(load_default=None)
    # proposal: from decision.proposed; decision: from a decision.made nothing was proposed for
    source = fields.String(load_default="proposal", validate=validate.OneOf(("proposal", "decision")))


class ReviewTaskOpened(StrictSchema):
    """review: a version of a major decision submitted for review (送审), with its reviewer and due day."""

    task_id = Ident(required=True)
    version = fields.Integer(required=True)
    reviewer_id = Ident(load_default=None)
    due_on = fields.Date(required=True)
    due_provisional = fields.Boolean(required=True)
    resubmission = fields.Boolean(load_default=False)
    pooled = fields.Boolean(load_default=False)          # reviewer drawn from the system's pooled list (REV-7)
    assignment = fields.String(load_default=None)        # why this reviewer (Chinese)


class ReviewConcluded(StrictSchema):
    """review.approved / review.returned (REV-4, REV-5, REV-6)."""

    task_id = Ident(required=True)
    version = fields.Integer(required=True)
    reviewer_id = Ident(required=True)
    approver_id = Ident(load_default=None)
    opinion = fields.String(required=True)
    problems = fields.List(fields.String(), load_default=list)
    # opinion: the reviewer's opinion; sign_off: the responsible person signed / refused; coordination: outcome
    stage = fields.String(load_default="opinion", validate=validate.OneOf(("opinion", "sign_off", "coordination")))
    submitted_by = Ident(load_default=None)
    coordinator_id = Ident(load_default=None)


class ReviewBypassed(StrictSchema):
    """review: 应审未审 / 审核未通过 — a major decision made without an approved review (REV-2)."""

    version = fields.Integer(required=True)
    violation = fields.String(required=True, validate=validate.OneOf(("not_reviewed", "not_approved")))
    description = fields.String(required=True)
    violation_id = Ident(load_default=None)
    fired_rules = fields.List(fields.String(), load_default=list)


class ReviewTaskOverdue(StrictSchema):
    """review: a version's review is past its due day (working days, REV-5) and still awaits an act."""

    task_id = Ident(required=True)
    version = fields.Integer(required=True)
    due_on = fields.Date(required=True)
    state = fields.String(required=True)
    reviewer_id = Ident(load_default=None)
    working_days_overdue = fields.Integer(required=True)


class ReviewDisagreement(StrictSchema):
    """review: the handling unit disagrees with a returned opinion; coordination starts (REV-5)."""

    task_id = Ident(required=True)
    version = fields.Integer(required=True)
    raised_by = Ident(required=True)
    unit_position = fields.String(required=True)
    reviewer_id = Ident(load_default=None)


class ReviewCoordinated(StrictSchema):
    """review: the coordination outcome (协调结论, REV-5)."""

    task_id = Ident(required=True)
    version = fields.Integer(required=True)
    coordinator_id = Ident(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("uphold_reviewer", "accept_unit", "partial")))
    corrections_kept = fields.List(fields.String(), load_default=list)
    note = fields.String(load_default="")


class ReviewStaffing(StrictSchema):
    """review.staffing_short / review.staffing_restored: a body's legal reviewers vs. 5% of its officers (REV-7)."""

    officers = fields.Integer(required=True)
    reviewers = fields.Integer(required=True)
    required = fields.Integer(required=True)
    shortfall = fields.Integer(required=True)
    ratio = fields.Decimal(as_string=True, allow_none=True, load_default=None)
    min_ratio = fields.Decimal(as_string=True, required=True)
    violation_id = Ident(load_default=None)


EVENTS = [
    EventType("review.classified", ReviewClassified, "review", "Proposed decision classified major or not (重大执法决定认定)", True),
    EventType("review.task_opened", ReviewTaskOpened, "review", "Legal review task opened (法制审核任务)", True),
    EventType("review.approved", ReviewConcluded, "review", "Legal review passed (审核通过)", True),
    EventType("review.returned", ReviewConcluded, "review", "Legal review found problems (审核退回)", True),
    EventType("review.bypassed", ReviewBypassed, "review", "Major decision made without approved review (应审未审)", True),
    EventType("review.task_overdue", ReviewTaskOverdue, "review", "Legal review past its due day (审核超期)", True),
    EventType("review.disagreement_raised", ReviewDisagreement, "review", "Handling unit disagrees with the opinion (提出异议)", True),
    EventType("review.coordinated", ReviewCoordinated, "review", "Coordination outcome of a disagreement (协调结论)", True),
    EventType("review.staffing_short", ReviewStaffing, "review", "Body has too few legal reviewers (审核人员不足5%)"),
    EventType("review.staffing_restored", ReviewStaffing, "review", "Body's legal reviewers back at the ratio (审核人员配备达标)"),
]
