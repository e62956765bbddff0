"""Coordination routes (COORD-1, COORD-2, COORD-3): clues between bodies, shared inspection results,
jurisdiction disputes and transfers to judicial organs and discipline inspection — kept by the
complaints service (docs/coordination-rules.md), which checks body and region scope again (SEC-2).

Roles: the bodies' own systems (department keys) and staff of the bodies (officer, legal_reviewer,
responsible_person: body-bound; supervisor, complaint_handler, admin: region-wide) send clues, record
inspections, raise disputes and transfers; only the coordinator region's region-wide staff decide a
dispute (checked by the service). Fail closed: a principal without bodies sees and changes nothing.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.rpc import call
from services.gateway.http import HttpError, endpoint, read_json
from services.gateway.schemas import IDENT, REGION

ACTORS = ("department", "officer", "legal_reviewer", "responsible_person", "supervisor", "complaint_handler", "admin")
COORDINATORS = ("supervisor", "admin")


def _unwrap(result):
    if isinstance(result, dict) and isinstance(result.get("error"), dict):
        err = result["error"]
        raise HttpError(err["status"], err["code"], err["message"], err.get("fields"))
    return result


class PartyRef(Schema):
    body_id = fields.String(required=True, validate=IDENT)
    region_code = fields.String(required=True, validate=REGION)
    name = fields.String(load_default=None, validate=validate.Length(max=200))


class ClueRequest(Schema):
    """违法线索移送 (COORD-1)."""

    from_body_id = fields.String(required=True, validate=IDENT)
    from_region_code = fields.String(required=True, validate=REGION)
    from_name = fields.String(load_default=None, validate=validate.Length(max=200))
    to_body_id = fields.String(required=True, validate=IDENT)
    to_region_code = fields.String(required=True, validate=REGION)
    to_name = fields.String(load_default=None, validate=validate.Length(max=200))
    matter = fields.String(required=True, validate=validate.Length(min=1, max=200))
    facts = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    source_kind = fields.String(load_default="staff", validate=validate.OneOf(("staff", "complaint", "inspection",
                                                                               "service")))
    source_ref = fields.String(load_default=None, validate=validate.Length(max=64))
    party_id = fields.String(load_default=None, validate=validate.Length(max=64))


class ClueActionRequest(Schema):
    """签收 / 反馈 / 管辖异议 of a clue (COORD-1, COORD-2)."""

    action = fields.String(required=True, validate=validate.OneOf(("acknowledge", "feedback", "decline")))
    result = fields.String(load_default=None)
    feedback = fields.String(load_default=None, validate=validate.Length(max=2000))
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))
    proposed = fields.Nested(PartyRef, load_default=None)


class InspectionRequest(Schema):
    """检查、检验检测结果 for mutual recognition (COORD-1)."""

    body_id = fields.String(required=True, validate=IDENT)
    region_code = fields.String(required=True, validate=REGION)
    party_id = fields.String(required=True, validate=validate.Length(min=6, max=64))
    party_name = fields.String(load_default=None, validate=validate.Length(max=200))
    matter = fields.String(required=True, validate=validate.Length(min=1, max=200))
    inspected_on = fields.Date(load_default=None)
    outcome = fields.String(required=True)
    summary = fields.String(load_default="", validate=validate.Length(max=2000))
    documents = fields.List(fields.String(), load_default=list)


class DisputeRequest(Schema):
    """管辖争议提请协调 (COORD-2): from a complaint (``source_ref`` = its number) or by a body."""

    source_kind = fields.String(load_default="body", validate=validate.OneOf(("complaint", "body")))
    source_ref = fields.String(load_default=None, validate=validate.Length(max=64))
    matter = fields.String(required=True, validate=validate.Length(min=1, max=500))
    parties = fields.List(fields.Nested(PartyRef), load_default=list)


class StatementRequest(Schema):
    body_id = fields.String(required=True, validate=IDENT)
    statement = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DecisionRequest(Schema):
    """协调决定 (COORD-2): the competent body; for a complaint, optionally the unit that handles it."""

    competent = fields.Nested(PartyRef, required=True)
    handling_unit = fields.Nested(PartyRef, load_default=None)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DocumentRef(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    sm3 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="应为64位小写十六进制SM3摘要"))


class TransferRequest(Schema):
    """移送 (COORD-3): sent now with its documents, or ``pending`` (decided, to be sent)."""

    body_id = fields.String(required=True, validate=IDENT)
    region_code = fields.String(required=True, validate=REGION)
    recipient_kind = fields.String(required=True, validate=validate.OneOf(("public_security", "procuratorate",
                                                                          "discipline_inspection")))
    recipient_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    matter = fields.String(required=True, validate=validate.Length(min=1, max=500))
    case_id = fields.String(load_default=None, validate=IDENT)
    clue_id = fields.String(load_default=None, validate=IDENT)
    pending = fields.Boolean(load_default=False)
    documents = fields.List(fields.Nested(DocumentRef), load_default=list)


class TransferActionRequest(Schema):
    """send (a pending transfer) / receipt (受理回执) / outcome (COORD-3)."""

    action = fields.String(required=True, validate=validate.OneOf(("send", "receipt", "outcome")))
    documents = fields.List(fields.Nested(DocumentRef), load_default=list)
    received_on = fields.Date(load_default=None)
    receipt_no = fields.String(load_default=None, validate=validate.Length(max=100))
    outcome = fields.String(load_default=None)
    decided_on = fields.Date(load_default=None)
    text = fields.String(load_default=None, validate=validate.Length(max=2000))


def _dates(data: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}


class CoordinationRoutes:
    # -- COORD-1: clues ----------------------------------------------------------------------------------
    @endpoint("POST", "/api/v1/coordination/clues", roles=ACTORS, tags=("coordination",), body=ClueRequest,
              success=201, summary="Send a clue (违法线索) to another body, department, region or tier, with "
                                   "acknowledgement and feedback deadlines in working days (COORD-1)")
    def coordination_send_clue(self, request, identity):
        data = read_json(request, ClueRequest)
        return _unwrap(call(self.complaints, "send_clue", identity.scope.as_dict(), identity.subject, data))

    @endpoint("GET", "/api/v1/coordination/clues", roles=ACTORS, tags=("coordination",),
              summary="Clues sent or received by the caller's bodies, status and deadlines on both sides (COORD-1)")
    def coordination_clues(self, request, identity):
        return {"clues": call(self.complaints, "list_clues", identity.scope.as_dict(), {})}

    @endpoint("GET", "/api/v1/coordination/clues/<clue_id>", roles=ACTORS, tags=("coordination",),
              summary="One clue with its history, to the sender and the recipient (COORD-1)")
    def coordination_clue(self, request, identity, clue_id):
        return _unwrap(call(self.complaints, "get_clue", identity.scope.as_dict(), clue_id))

    @endpoint("POST", "/api/v1/coordination/clues/<clue_id>/actions", roles=ACTORS, tags=("coordination",),
              body=ClueActionRequest, summary="The recipient acknowledges (签收), answers (反馈) or declines "
                                              "jurisdiction (管辖异议 → a dispute) (COORD-1, COORD-2)")
    def coordination_clue_action(self, request, identity, clue_id):
        data = read_json(request, ClueActionRequest)
        return _unwrap(call(self.complaints, "answer_clue", identity.scope.as_dict(), clue_id, identity.subject,
                            data))

    # -- COORD-1: inspection results ---------------------------------------------------------------------
    @endpoint("POST", "/api/v1/coordination/inspections", roles=ACTORS, tags=("coordination",),
              body=InspectionRequest, success=201,
              summary="Record an inspection or test result, shared with every body inspecting the party; "
                      "flags 重复检查 / 多头检查 within the configured window (COORD-1)")
    def coordination_record_inspection(self, request, identity):
        data = _dates(read_json(request, InspectionRequest))
        return _unwrap(call(self.complaints, "record_inspection", identity.scope.as_dict(), identity.subject, data))

    @endpoint("GET", "/api/v1/coordination/parties/<party_id>/inspections", roles=ACTORS, tags=("coordination",),
              summary="Every body's inspection results for a party (处理结果互认, COORD-1)")
    def coordination_party_inspections(self, request, identity, party_id):
        return _unwrap(call(self.complaints, "party_inspections", identity.scope.as_dict(), party_id))

    # -- COORD-2: disputes -------------------------------------------------------------------------------
    @endpoint("POST", "/api/v1/coordination/disputes", roles=ACTORS, tags=("coordination",), body=DisputeRequest,
              success=201, summary="Bring a jurisdiction dispute (管辖争议) to the common superior's legal office, "
                                   "from a complaint or by a body (COORD-2)")
    def coordination_raise_dispute(self, request, identity):
        data = read_json(request, DisputeRequest)
        return _unwrap(call(self.complaints, "raise_dispute", identity.scope.as_dict(), identity.subject, data))

    @endpoint("GET", "/api/v1/coordination/disputes", roles=ACTORS, tags=("coordination",),
              summary="Disputes of the caller's bodies, or coordinated by the caller's region (COORD-2)")
    def coordination_disputes(self, request, identity):
        return {"disputes": call(self.complaints, "list_disputes", identity.scope.as_dict(), {})}

    @endpoint("GET", "/api/v1/coordination/disputes/<dispute_id>", roles=ACTORS, tags=("coordination",),
              summary="One jurisdiction dispute with statements, deadline and decision (COORD-2)")
    def coordination_dispute(self, request, identity, dispute_id):
        return _unwrap(call(self.complaints, "get_dispute", identity.scope.as_dict(), dispute_id))

    @endpoint("POST", "/api/v1/coordination/disputes/<dispute_id>/statements", roles=ACTORS,
              tags=("coordination",), body=StatementRequest, success=201,
              summary="A party's statement (争议方意见) (COORD-2)")
    def coordination_dispute_statement(self, request, identity, dispute_id):
        data = read_json(request, StatementRequest)
        return _unwrap(call(self.complaints, "add_dispute_statement", identity.scope.as_dict(), dispute_id,
                            identity.subject, data))

    @endpoint("POST", "/api/v1/coordination/disputes/<dispute_id>/decision", roles=COORDINATORS,
              tags=("coordination",), body=DecisionRequest,
              summary="协调决定 by the coordinator region's legal office; the complaint or clue is routed by it "
                      "(COORD-2)")
    def coordination_decide_dispute(self, request, identity, dispute_id):
        data = read_json(request, DecisionRequest)
        return _unwrap(call(self.complaints, "decide_dispute", identity.scope.as_dict(), dispute_id,
                            identity.subject, data))

    # -- COORD-3: transfers ------------------------------------------------------------------------------
    @endpoint("POST", "/api/v1/coordination/transfers", roles=ACTORS, tags=("coordination",), body=TransferRequest,
              success=201, summary="Transfer a suspected crime to public security / procuratorate or a clue to "
                                   "discipline inspection, documents by SM3 digest (移送, COORD-3)")
    def coordination_open_transfer(self, request, identity):
        data = read_json(request, TransferRequest)
        return _unwrap(call(self.complaints, "open_transfer", identity.scope.as_dict(), identity.subject, data))

    @endpoint("GET", "/api/v1/coordination/transfers", roles=ACTORS, tags=("coordination",),
              summary="Transfers of the caller's bodies with receipt, outcome and overdue steps (COORD-3)")
    def coordination_transfers(self, request, identity):
        return {"transfers": call(self.complaints, "list_transfers", identity.scope.as_dict(), {})}

    @endpoint("POST", "/api/v1/coordination/transfers/<transfer_id>/actions", roles=ACTORS, tags=("coordination",),
              body=TransferActionRequest,
              summary="Send a pending transfer, record the 受理回执 or the outcome (COORD-3)")
    def coordination_transfer_action(self, request, identity, transfer_id):
        data = _dates(read_json(request, TransferActionRequest))
        return _unwrap(call(self.complaints, "act_on_transfer", identity.scope.as_dict(), transfer_id,
                            identity.subject, data))
