"""Events the records service emits (全过程记录, REC-*)."""
from __future__ import annotations

from marshmallow import fields

from services.common.catalogue.fields import EventType, Sm3Hex, StrictSchema

class RecordAppended(StrictSchema):
    """records: an entry was appended to the tamper-evident log (REC-4)."""

    sequence = fields.Integer(required=True)
    entry_kind = fields.String(required=True)
    leaf_hash = Sm3Hex(required=True)
    tree_size = fields.Integer(required=True)


EVENTS = [
    EventType("record.appended", RecordAppended, "records", "Entry appended to the tamper-evident log (全过程记录)"),
]
