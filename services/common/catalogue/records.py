"""Events the records service emits (全过程记录, REC-*)."""
from __future__ import annotations

from marshmallow import fields, validate

from services.common.catalogue.fields import STAGES, EventType, Sm3Hex, StrictSchema


class ConsistencyFrom(StrictSchema):
    """A consistency proof (一致性证明, RFC 9162 §2.1.4) from the log's previous signed tree head to
    this one: the witness accepts a head only as an append-only extension of the newest head it
    witnessed (issue 23)."""

    from_size = fields.Integer(required=True, validate=validate.Range(min=0))
    from_root = Sm3Hex(required=True)
    proof = fields.List(Sm3Hex(), required=True, validate=validate.Length(max=128))


class RecordTreeHeadSigned(StrictSchema):
    """records: a signed tree head (签名树头) of the log — sent upward so the next tier witnesses it:
    a later log that contradicts a witnessed head (other root at that size, or fewer entries) shows
    that history was rewritten or lost (docs/records-verification.md §5, RUNBOOK restore).
    ``consistency`` (1.1): the proof from the log's previous signed head to this one; the province
    accepts a head only if it extends the newest witnessed head (else: fork alarm)."""

    tree_size = fields.Integer(required=True, validate=validate.Range(min=0))
    root_hash = Sm3Hex(required=True)
    timestamp = fields.Integer(required=True, validate=validate.Range(min=0))
    log_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    algorithm = fields.String(required=True)
    signature = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]+$"))
    public_key = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]+$"))
    key_id = Sm3Hex(required=True)
    reason = fields.String(load_default=None)
    consistency = fields.Nested(ConsistencyFrom, load_default=None, allow_none=True)


class RecordWitnessRequested(StrictSchema):
    """records (a city): at start, asks the province for the newest head of its log the province
    witnessed — the records service signs nothing until the answer came and its log is consistent
    with that head (issue 23, REC-4 across tiers)."""

    log_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    tree_size = fields.Integer(required=True, validate=validate.Range(min=0))   # the city's log now


class RecordHeadWitnessed(StrictSchema):
    """records (the province): the newest head of a city's log it witnessed (见证), sent down to that
    city after every accepted head and in reply to ``record.witness_requested``. ``status``:
    ``witnessed`` (this head), ``none`` (no head witnessed yet), ``reset`` (an operator resolved a
    fork: the next head is the new anchor), ``forked`` (the log is refused until resolved)."""

    log_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    status = fields.String(required=True, validate=validate.OneOf(("witnessed", "none", "reset", "forked")))
    tree_size = fields.Integer(load_default=None, validate=validate.Range(min=0))
    root_hash = Sm3Hex(load_default=None)
    timestamp = fields.Integer(load_default=None)
    signature = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]+$"))
    public_key = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]+$"))
    algorithm = fields.String(load_default=None)
    in_reply_to = fields.String(load_default=None)          # event id of the witness request answered
    note = fields.String(load_default=None)


class RecordForkDetected(StrictSchema):
    """records (the province): a head of a city's log does not extend the newest head the province
    witnessed — the log was rolled back or rewritten (分叉告警). The province refuses further heads of
    that log until an operator resolves it; the city's records service stops signing."""

    log_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    reason = fields.String(required=True)
    witnessed_size = fields.Integer(load_default=None)
    witnessed_root = Sm3Hex(load_default=None)
    head_size = fields.Integer(required=True)
    head_root = Sm3Hex(required=True)


class RecordKeyRotated(StrictSchema):
    """records (a city): hand-over of the log's signing key (密钥交接): the new public key and the
    tree size from which it signs, signed with the OLD key — the province's pinned key for the log
    moves to the new key only on a hand-over it can verify with the key it pins."""

    log_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    algorithm = fields.String(required=True)
    old_public_key = fields.String(required=True, validate=validate.Regexp(r"^([0-9a-f]{64}|04[0-9a-f]{128})$"))
    new_public_key = fields.String(required=True, validate=validate.Regexp(r"^([0-9a-f]{64}|04[0-9a-f]{128})$"))
    from_tree_size = fields.Integer(required=True, validate=validate.Range(min=0))
    timestamp = fields.Integer(required=True, validate=validate.Range(min=0))
    signature = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]+$"))


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


class ReviewedItem(StrictSchema):
    """One item of a case-file score sheet (评查项目) and what the reviewer gave it."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    points = fields.Integer(required=True, validate=validate.Range(min=0))
    max_points = fields.Integer(required=True, validate=validate.Range(min=1))
    reason = fields.String(load_default=None)


class RecordCaseFileReviewed(StrictSchema):
    """records: a drawn archived case file was reviewed (案卷评查, REC-7) — its score (0–100, share of the
    applicable points), the items with deductions and their reasons. Evaluation counts the score in the
    body's 案卷评查 indicator; the envelope's body and region are the case's."""

    review_id = fields.String(required=True, validate=validate.Length(min=1, max=160))
    draw_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    case_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    action_type = fields.String(load_default=None)
    score = fields.Decimal(required=True, as_string=True, places=2, validate=validate.Range(min=0, max=100))
    passed = fields.Boolean(required=True)
    items = fields.List(fields.Nested(ReviewedItem), required=True)
    failed_items = fields.List(fields.String(), required=True)
    reviewer = fields.String(required=True)
    reviewer_body_id = fields.String(required=True)
    reviewed_on = fields.Date(required=True)


EVENTS = [
    EventType("record.tree_head_signed", RecordTreeHeadSigned, "records",
              "Signed tree head of the records log, witnessed upward (签名树头)", version="1.1"),
    EventType("record.witness_requested", RecordWitnessRequested, "records",
              "A city asks the province for the newest witnessed head of its log (见证查询)"),
    EventType("record.head_witnessed", RecordHeadWitnessed, "records",
              "The newest head of a city's log the province witnessed, sent down to the city (见证回执)"),
    EventType("record.fork_detected", RecordForkDetected, "records",
              "A city's log does not extend its witnessed head: rolled back or rewritten (日志分叉告警)"),
    EventType("record.key_rotated", RecordKeyRotated, "records",
              "Hand-over of a log's signing key, signed with the old key (签名密钥交接)"),
    EventType("record.gaps_found", RecordGapsFound, "records", "Case record incomplete: gaps found (记录缺失)", True),
    EventType("record.case_file_reviewed", RecordCaseFileReviewed, "records",
              "A drawn archived case file reviewed and scored (案卷评查)"),
]
