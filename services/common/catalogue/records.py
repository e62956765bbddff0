"""Events the records service emits (全过程记录, REC-*)."""
from __future__ import annotations

from marshmallow import fields, validate

from services.common.catalogue.fields import STAGES, EventType, Sm3Hex, StrictSchema


class RecordBatchAppended(StrictSchema):
    """records: entries of one region and body were appended to the tamper-evident log in one
    transaction (REC-4); ``tree_size`` / ``root_hash`` are the log's state after the transaction.
    One event per batch (not per entry) keeps ingestion fast; each entry's leaf hash and proof are
    served by the records API."""

    first_sequence = fields.Integer(required=True, validate=validate.Range(min=0))
    last_sequence = fields.Integer(required=True, validate=validate.Range(min=0))
    entry_count = fields.Integer(required=True, validate=validate.Range(min=1))
    sequences = fields.List(fields.Integer(), required=True)
    tree_size = fields.Integer(required=True, validate=validate.Range(min=1))
    root_hash = Sm3Hex(required=True)
    kinds = fields.Dict(keys=fields.String(), values=fields.Integer(), load_default=dict)


class RecordTreeHeadSigned(StrictSchema):
    """records: a signed tree head (签名树头) of the log — sent upward so the next tier witnesses it:
    a later log that contradicts a witnessed head (other root at that size, or fewer entries) shows
    that history was rewritten or lost (docs/records-verification.md §5, RUNBOOK restore)."""

    tree_size = fields.Integer(required=True, validate=validate.Range(min=0))
    root_hash = Sm3Hex(required=True)
    timestamp = fields.Integer(required=True, validate=validate.Range(min=0))
    log_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    algorithm = fields.String(required=True)
    signature = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]+$"))
    public_key = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]+$"))
    key_id = Sm3Hex(required=True)
    reason = fields.String(load_default=None)


class RecordGap(StrictSchema):
    """One missing record of a case (e.g. the on-site audio-visual record of a decision stage)."""

    code = fields.String(required=True)
    description = fields.String(required=True)
    stage = fields.String(load_default=None)
    severity = fields.String(load_default=None, validate=validate.OneOf(("serious", "general", "advisory")))
    kind = fields.String(load_default=None, validate=validate.OneOf(("missing", "wrong_stage", "av_missing",
                                                                      "av_advisory")))


class RecordGapsFound(StrictSchema):
    """records: the case's record is incomplete; ``open_gap_codes`` are the gaps still open (REC-2, REV-3).

    Emitted by each evaluation that changed the set of open gaps (at decision.made for the stages up
    to the decision, at case.archived for the whole file, on demand, and when a later record closes
    a gap) — so an empty ``open_gap_codes`` says the earlier gaps were closed."""

    gaps = fields.List(fields.Nested(RecordGap), required=True)
    open_gap_codes = fields.List(fields.String(), required=True)
    closed_gap_codes = fields.List(fields.String(), load_default=list)
    evaluated_stage = fields.String(load_default=None, validate=validate.OneOf(STAGES))
    trigger = fields.String(load_default=None)
    action_type = fields.String(load_default=None)
    mandatory_av_missing = fields.Boolean(load_default=False)


EVENTS = [
    EventType("record.batch_appended", RecordBatchAppended, "records",
              "Entries appended to the tamper-evident log, one event per transaction (全过程记录)"),
    EventType("record.tree_head_signed", RecordTreeHeadSigned, "records",
              "Signed tree head of the records log, witnessed upward (签名树头)"),
    EventType("record.gaps_found", RecordGapsFound, "records", "Case record incomplete: gaps found (记录缺失)", True),
]
