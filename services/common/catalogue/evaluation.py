"""Events the evaluation service emits (评议考核、责任追究, EVAL-*, COORD-4)."""
from __future__ import annotations

from marshmallow import fields, validate

from services.common.catalogue.fields import EventType, Ident, StrictSchema

SUBJECT_KINDS = ("body", "officer")
GRADES = ("优秀", "合格", "不合格")


class ScoreRecorded(StrictSchema):
    """A supervisor entered a score: special check 专项检查, case-file review 案卷评查 (bodies) or a
    special test 专门考核 (officers) — EVAL-2, EVAL-3. The event id is the evidence of the score."""

    kind = fields.String(required=True, validate=validate.OneOf(
        ("special_check_score", "case_file_review_score", "special_test_score")))
    officer_id = Ident(load_default=None)
    score = fields.Decimal(required=True, as_string=True, places=2, validate=validate.Range(min=0, max=100))
    recorded_on = fields.Date(required=True)
    recorded_by = fields.String(required=True)
    note = fields.String(load_default=None)


class SurveyAnswered(StrictSchema):
    """A survey (问卷调查) or evaluation card (评议卡) about a body was answered with a one-time code (EVAL-2,
    issue 18): anonymous — no code, no comment; the event id is the evidence of the ``survey_rating`` fact."""

    survey_id = Ident(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("survey", "card")))
    ratings = fields.Dict(keys=fields.String(), values=fields.Integer(validate=validate.Range(min=1, max=5)),
                          required=True)
    average = fields.Decimal(required=True, as_string=True, places=2, validate=validate.Range(min=1, max=5))
    answered_on = fields.Date(required=True)
    officer_id = Ident(load_default=None)


class VisitReported(StrictSchema):
    """A supervisor's unannounced visit (暗访) to a body's enforcement or service site (EVAL-2, issue 18); the
    event id is the evidence of the ``unannounced_visit_score`` fact."""

    visited_on = fields.Date(required=True)
    place = fields.String(required=True, validate=validate.Length(min=1, max=300))
    score = fields.Decimal(required=True, as_string=True, places=2, validate=validate.Range(min=0, max=100))
    problems = fields.List(fields.String(), load_default=list)
    visited_by = fields.String(required=True)
    evaluator = fields.String(load_default=None)


class GradeFinalised(StrictSchema):
    """The final grade of a body or officer for a year (考核等次, EVAL-4)."""

    subject_kind = fields.String(required=True, validate=validate.OneOf(SUBJECT_KINDS))
    subject_id = Ident(required=True)
    year = fields.Integer(required=True)
    total = fields.Decimal(required=True, as_string=True, places=2)
    by_total = fields.String(required=True, validate=validate.OneOf(GRADES))
    grade = fields.String(required=True, validate=validate.OneOf(GRADES))
    reasons = fields.List(fields.String(), load_default=list)
    decided_by = fields.String(required=True)


class ConsequenceIssued(StrictSchema):
    """结果运用: grade cap, 批评教育/离岗培训, 调离执法岗位/取消执法资格 proposal, 责令限期整改, publication."""

    consequence_id = fields.Integer(required=True)
    subject_kind = fields.String(required=True, validate=validate.OneOf(SUBJECT_KINDS))
    subject_id = Ident(required=True)
    year = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        ("grade_cap", "criticism_or_training", "removal_proposal", "rectification_order", "publication")))
    title = fields.String(required=True)
    detail = fields.String(required=True)
    due_on = fields.Date(load_default=None)
    due_provisional = fields.Boolean(load_default=False)
    options = fields.List(fields.String(), load_default=list)
    requires_decision = fields.Boolean(load_default=False)
    item_id = fields.String(load_default=None)


class SanctionSchema(StrictSchema):
    target_kind = fields.String(required=True, validate=validate.OneOf(SUBJECT_KINDS))
    target_id = Ident(required=True)
    kind = fields.String(required=True)


class AccountabilityOpened(StrictSchema):
    """A clue of an accountability case (责任追究线索, EVAL-6) opened from a violation, a rule or by hand."""

    accountability_case_id = fields.String(required=True)
    source = fields.String(required=True)
    description = fields.String(required=True)
    officer_ids = fields.List(Ident(), load_default=list)
    source_event_ids = fields.List(fields.String(), load_default=list)


class AccountabilityDecided(StrictSchema):
    """The decision of an accountability case (or its exemption / closing without sanction), EVAL-6, COORD-3."""

    accountability_case_id = fields.String(required=True)
    outcome = fields.String(required=True)
    sanctions = fields.List(fields.Nested(SanctionSchema), load_default=list)
    transfer_to_discipline = fields.Boolean(required=True)


class SupervisionIssued(StrictSchema):
    """监督建议 / 专项调查 / 整改 issued to a body (COORD-4)."""

    item_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("suggestion", "special_investigation", "rectification")))
    issuer_region = fields.String(required=True)
    subject = fields.String(required=True)
    due_on = fields.Date(required=True)
    due_provisional = fields.Boolean(required=True)


class SupervisionChanged(StrictSchema):
    """A supervision item overdue (超期未办结) or closed (办结)."""

    item_id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("suggestion", "special_investigation", "rectification")))
    due_on = fields.Date(required=True)
    on = fields.Date(required=True)


class LinkHeartbeat(StrictSchema):
    """evaluation (every suite): a heartbeat over each tier link, every few seconds (心跳) — the other
    end's ``zhifa_link_last_received_timestamp_seconds`` moves even when nothing else crosses, so a
    cut link shows within seconds (issue 23). Sent with a short TTL; a late one only measures delay."""

    sent_at = fields.AwareDateTime(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(("upward", "downward")))
    sender_region = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6}$"))


class TypicalCaseApproved(StrictSchema):
    """典型案例通报 (CMP-7): a typical case of unlawful or improper enforcement, selected by a supervisor
    from a concluded upheld complaint or a decided accountability case, approved by a second supervisor.
    Disclosure publishes it on the portal, redacted by its rules (DISC-4). The envelope's body and region
    are those of the body the case is about."""

    typical_case_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    source_kind = fields.String(required=True, validate=validate.OneOf(("complaint", "accountability")))
    source_ref = fields.String(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    warning_text = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    approved_on = fields.Date(required=True)


EVENTS = [
    EventType("evaluation.score_recorded", ScoreRecorded, "evaluation", "Special check / case-file review / special test score entered (专项检查、案卷评查、专门考核)"),
    EventType("evaluation.survey_answered", SurveyAnswered, "evaluation", "Survey or evaluation card answered with a one-time code (问卷调查、评议卡)"),
    EventType("evaluation.visit_reported", VisitReported, "evaluation", "Unannounced visit reported by a supervisor (暗访)"),
    EventType("evaluation.grade_finalised", GradeFinalised, "evaluation", "Final annual grade of a body or officer (考核等次)"),
    EventType("evaluation.consequence_issued", ConsequenceIssued, "evaluation", "Consequence of a grade: cap, measure, removal proposal, rectification order (结果运用)"),
    EventType("evaluation.accountability_opened", AccountabilityOpened, "evaluation", "Accountability clue opened (责任追究线索)"),
    EventType("evaluation.accountability_decided", AccountabilityDecided, "evaluation", "Accountability case decided, exempted or closed (责任追究决定)"),
    EventType("evaluation.supervision_issued", SupervisionIssued, "evaluation", "Supervision suggestion / special investigation / rectification issued (监督事项)"),
    EventType("evaluation.supervision_overdue", SupervisionChanged, "evaluation", "Supervision item past its deadline (监督事项超期)"),
    EventType("evaluation.supervision_closed", SupervisionChanged, "evaluation", "Supervision item closed (监督事项办结)"),
    EventType("link.heartbeat", LinkHeartbeat, "evaluation", "Heartbeat over a tier link, every few seconds (级联心跳)"),
    EventType("evaluation.typical_case_approved", TypicalCaseApproved, "evaluation",
              "Typical case of unlawful enforcement approved for public warning (典型案例通报)"),
]
