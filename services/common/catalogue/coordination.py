"""Events of coordination across bodies, departments, regions and tiers (COORD-1, COORD-2, COORD-3),
emitted by the complaints service, which keeps the clues, inspection results, jurisdiction disputes and
transfers (docs/coordination-rules.md). None carries a complainant's identity; inspection events do not
name the party inspected.

Clue events cross tiers (config/federation.yaml): the envelope's ``region_code`` is the clue's side in
the city — at a city suite its own side, at a province suite the city's side — so the upward link's
origin check and the downward link's ``zhifa-city`` routing take it to the other suite.
"""
from __future__ import annotations

from marshmallow import fields, validate

from services.common.catalogue.fields import EventType, Ident, Sm3Hex, StrictSchema, _region_validator

Region = lambda **kw: fields.String(validate=_region_validator, **kw)  # noqa: E731
Text = lambda n, **kw: fields.String(validate=validate.Length(min=1, max=n), **kw)  # noqa: E731


class ClueSent(StrictSchema):
    """违法线索移送 (COORD-1): from a body to another body, department, region or tier, with the
    acknowledgement and feedback deadlines in working days."""

    clue_id = Ident(required=True)
    from_body_id = Ident(required=True)
    from_region_code = Region(required=True)
    from_name = fields.String(load_default=None, validate=validate.Length(max=200))
    to_body_id = Ident(required=True)
    to_region_code = Region(required=True)
    to_name = fields.String(load_default=None, validate=validate.Length(max=200))
    matter = Text(200, required=True)
    facts = Text(2000, required=True)
    source_kind = fields.String(required=True, validate=validate.OneOf(("staff", "complaint", "inspection", "service")))
    source_ref = fields.String(load_default=None, validate=validate.Length(max=64))
    party_id = fields.String(load_default=None, validate=validate.Length(max=64))
    sent_on = fields.Date(required=True)
    acknowledge_due = fields.Date(required=True)
    feedback_due = fields.Date(required=True)
    provisional = fields.Boolean(load_default=False)
    version = fields.Integer(required=True, validate=validate.Range(min=0))


class ClueAnswered(StrictSchema):
    """The recipient's answer to a clue — its whole state, versioned (签收, 反馈, 管辖异议): the sender's copy
    takes the highest version, whatever the arrival order (COORD-1)."""

    clue_id = Ident(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    status = fields.String(required=True, validate=validate.OneOf(("acknowledged", "answered", "declined")))
    acknowledged_on = fields.Date(load_default=None)
    feedback_on = fields.Date(load_default=None)
    result = fields.String(load_default=None, validate=validate.OneOf(
        ("case_opened", "no_violation", "transferred_on", "other")))
    feedback = fields.String(load_default=None, validate=validate.Length(max=2000))
    declined_reason = fields.String(load_default=None, validate=validate.Length(max=2000))


class ClueEscalated(StrictSchema):
    """逾期督办 (COORD-1): a clue not acknowledged or answered by its due day, escalated to a superior
    region of the recipient (the envelope's body is the recipient)."""

    clue_id = Ident(required=True)
    stage = fields.String(required=True, validate=validate.OneOf(("acknowledge", "feedback")))
    level = fields.Integer(required=True, validate=validate.Range(min=1))
    to_region_code = Region(required=True)
    tier = fields.String(required=True)
    due = fields.Date(required=True)
    escalated_on = fields.Date(required=True)


class InspectionRecorded(StrictSchema):
    """检查、检验检测结果 recorded by a body (结果互认, COORD-1), with its flags: 重复检查 (same body), 多头检查
    (another body) — same party and matter within the configured window. The party is not named."""

    result_id = Ident(required=True)
    matter = Text(200, required=True)
    inspected_on = fields.Date(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(
        ("no_problem", "problems_found", "test_passed", "test_failed")))
    repeat = fields.Boolean(required=True)
    multi_body = fields.Boolean(required=True)
    earlier_ids = fields.List(Ident(), load_default=list)


class DisputeParty(StrictSchema):
    body_id = Ident(required=True)
    region_code = Region(required=True)
    name = fields.String(load_default=None, validate=validate.Length(max=200))


class DisputeOpened(StrictSchema):
    """管辖争议 (COORD-2) brought to the common superior's legal office, with its decision deadline."""

    dispute_id = Ident(required=True)
    parties = fields.List(fields.Nested(DisputeParty), required=True, validate=validate.Length(min=2))
    coordinator_region = Region(required=True)
    source_kind = fields.String(required=True, validate=validate.OneOf(("complaint", "clue", "body")))
    source_ref = fields.String(load_default=None, validate=validate.Length(max=64))
    raised_on = fields.Date(required=True)
    decision_due = fields.Date(required=True)


class DisputeDecided(StrictSchema):
    """协调决定 (COORD-2): the competent body; the complaint or clue it came from is routed by it."""

    dispute_id = Ident(required=True)
    coordinator_region = Region(required=True)
    competent_body_id = Ident(required=True)
    competent_region_code = Region(required=True)
    source_kind = fields.String(required=True, validate=validate.OneOf(("complaint", "clue", "body")))
    source_ref = fields.String(load_default=None, validate=validate.Length(max=64))
    decided_on = fields.Date(required=True)
    late = fields.Boolean(required=True)


RECIPIENT_KINDS = ("public_security", "procuratorate", "discipline_inspection")


class TransferDocument(StrictSchema):
    name = Text(200, required=True)
    sm3 = Sm3Hex(required=True)


class TransferSent(StrictSchema):
    """移送 (COORD-3): a suspected crime to the public security organ or procuratorate, or a clue to
    discipline inspection, with its documents by SM3 digest; ``late`` when sent after ``transfer.send``."""

    transfer_id = Ident(required=True)
    recipient_kind = fields.String(required=True, validate=validate.OneOf(RECIPIENT_KINDS))
    recipient_name = Text(200, required=True)
    source_kind = fields.String(required=True, validate=validate.OneOf(("case", "clue", "accountability")))
    source_ref = fields.String(load_default=None, validate=validate.Length(max=64))
    documents = fields.List(fields.Nested(TransferDocument), required=True, validate=validate.Length(min=1))
    sent_on = fields.Date(required=True)
    late = fields.Boolean(required=True)
    receipt_due = fields.Date(required=True)


class TransferUpdated(StrictSchema):
    """受理回执 (received) or the outcome (concluded) of a transfer (COORD-3)."""

    transfer_id = Ident(required=True)
    recipient_kind = fields.String(required=True, validate=validate.OneOf(RECIPIENT_KINDS))
    status = fields.String(required=True, validate=validate.OneOf(("received", "concluded")))
    received_on = fields.Date(load_default=None)
    receipt_no = fields.String(load_default=None, validate=validate.Length(max=100))
    outcome = fields.String(load_default=None, validate=validate.OneOf(
        ("filed", "not_filed", "returned", "disciplined", "no_action")))
    decided_on = fields.Date(load_default=None)


class TransferOverdue(StrictSchema):
    """A transfer step past its day (COORD-3): ``send`` — decided but not sent (应移未移); ``receipt`` —
    no 受理回执; ``outcome`` — no decision of the recipient reported."""

    transfer_id = Ident(required=True)
    recipient_kind = fields.String(required=True, validate=validate.OneOf(RECIPIENT_KINDS))
    stage = fields.String(required=True, validate=validate.OneOf(("send", "receipt", "outcome")))
    due = fields.Date(required=True)
    source_kind = fields.String(required=True, validate=validate.OneOf(("case", "clue", "accountability")))


EVENTS = [
    EventType("clue.sent", ClueSent, "complaints", "Clue sent to another body, department, region or tier (违法线索移送)"),
    EventType("clue.answered", ClueAnswered, "complaints",
              "Recipient's answer to a clue: acknowledged, feedback, or jurisdiction declined (线索签收/反馈)"),
    EventType("clue.escalated", ClueEscalated, "complaints",
              "Clue not acknowledged or answered in time, escalated to a superior (线索逾期督办)"),
    EventType("inspection.recorded", InspectionRecorded, "complaints",
              "Inspection or test result shared with other bodies; repeat flags (检查结果互认、多头/重复检查)"),
    EventType("dispute.opened", DisputeOpened, "complaints",
              "Jurisdiction dispute brought to the common superior's legal office (管辖争议提请协调)"),
    EventType("dispute.decided", DisputeDecided, "complaints",
              "Jurisdiction dispute decided; the complaint or clue is routed by it (管辖争议协调决定)"),
    EventType("transfer.sent", TransferSent, "complaints",
              "Suspected crime or clue transferred to public security, procuratorate or discipline inspection (移送)"),
    EventType("transfer.updated", TransferUpdated, "complaints",
              "Receipt or outcome of a transfer recorded (受理回执/移送结果)"),
    EventType("transfer.overdue", TransferOverdue, "complaints",
              "Transfer step past its day: not sent (应移未移), no receipt, no outcome (移送超期)"),
]
