"""Events the gateway publishes: the audit trail of staff actions (安全审计, SEC-3, issue 15).

The gateway owns no database, so it publishes these directly — with publisher confirms and
``mandatory`` — instead of through an outbox: a staff request goes ahead only once its record is
confirmed by the broker (services/gateway/audit.py says the exact rule). The records service keeps
them in its append-only ``audit_log`` table."""
from __future__ import annotations

from marshmallow import fields, validate

from services.common.catalogue.fields import EventType, StrictSchema, _region_validator


class AuditScope(StrictSchema):
    region_code = fields.String(required=True, validate=_region_validator)
    body_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list)


class AuditRecorded(StrictSchema):
    """gateway: one staff action — who (subject, role, scope), what (action = the route, object =
    its path parameters, the path and query), the result (HTTP status and outcome), from where (the
    client address) and when (the envelope's ``occurred_at``). A write has two records: ``intent``,
    confirmed before the write runs, and ``outcome`` after it; a read has its ``outcome`` only,
    confirmed before the answer is released. ``correlation_id`` (envelope) ties them together and
    to the records service's REC-6 access entries of the same request (their ``request_id``)."""

    phase = fields.String(required=True, validate=validate.OneOf(("intent", "outcome")))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=255))
    role = fields.String(required=True, validate=validate.Length(min=1, max=64))
    scope = fields.Nested(AuditScope, required=True)
    action = fields.String(required=True, validate=validate.Length(min=1, max=300))
    method = fields.String(required=True, validate=validate.OneOf(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")))
    path = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    object = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    query = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    status = fields.Integer(load_default=None, validate=validate.Range(min=100, max=599))
    outcome = fields.String(required=True, validate=validate.OneOf(
        ("pending", "succeeded", "refused", "denied", "failed")))
    source_address = fields.String(required=True, validate=validate.Length(min=1, max=64))
    user_agent = fields.String(load_default=None, validate=validate.Length(max=300))


EVENTS = [
    EventType("audit.recorded", AuditRecorded, "gateway",
              "A staff action at the HTTP edge, reads included: who, role, scope, action, object, result, "
              "source address, time (安全审计)"),
]
