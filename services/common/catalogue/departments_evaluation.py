"""Departmental inputs of the evaluation (评议考核): training hours, zero-enforcement explanations,
reconsideration / litigation filed against a decision. Published to ``departments.events`` like
every departmental event (EVAL-5, EVAL-7, EVAL-8)."""
from __future__ import annotations

from marshmallow import fields, validate

from services.common.catalogue.fields import DEPARTMENTS, EventType, Ident, StrictSchema


class TrainingRecorded(StrictSchema):
    """培训学时: hours of legal / professional training an officer completed (EVAL-5: ≥ 60 a year)."""

    record_id = Ident(required=True)
    officer_id = Ident(required=True)
    course = fields.String(required=True, validate=validate.Length(min=1, max=200))
    hours = fields.Decimal(required=True, as_string=True, places=1, validate=validate.Range(min=0, max=200, min_inclusive=False))
    completed_on = fields.Date(required=True)
    provider = fields.String(load_default=None, validate=validate.Length(max=200))


class ZeroEnforcementExplained(StrictSchema):
    """零执法说明: a body with powers explains why it made no enforcement decision in a year (EVAL-8)."""

    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    explanation = fields.String(required=True, validate=validate.Length(min=5, max=5000))
    matter_codes = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list,
                               validate=validate.Length(max=1000))
    explained_on = fields.Date(required=True)


class DecisionChallenged(StrictSchema):
    """A decision challenged by administrative reconsideration 行政复议 or litigation 行政诉讼 (EVAL-7, 纠错率)."""

    by = fields.String(required=True, validate=validate.OneOf(("reconsideration", "litigation")))
    filed_at = fields.AwareDateTime(required=True)
    organ = fields.String(load_default=None, validate=validate.Length(max=200))


EVENTS = [
    EventType("training.recorded", TrainingRecorded, DEPARTMENTS, "Officer training hours recorded (培训学时)"),
    EventType("zero_enforcement.explained", ZeroEnforcementExplained, DEPARTMENTS, "A body explains a year without enforcement (零执法说明)"),
    EventType("decision.challenged", DecisionChallenged, DEPARTMENTS, "Decision challenged by reconsideration or litigation (复议/诉讼)", True),
]
