"""The event catalogue: envelope and payload contracts (PLAT-7 统一数据标准).

Every event — whether a departmental system publishes it or a zhifa service emits it — is one JSON
object, the *envelope*, whose ``payload`` is validated by the schema registered for its
``event_type``. marshmallow schemas here are the single source of truth; the JSON Schema and
AsyncAPI documents under ``docs/contracts/`` are generated from them (``zhifa contracts``).

Departmental systems publish to the topic exchange ``departments.events`` with the event type
as routing key (see docs/INTEGRATION.md); zhifa services publish to ``<service>.events``.
"""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from services.common import fastload, settings
from services.common.catalogue import CATALOGUE
from services.common.catalogue.fields import (ACTION_TYPE_NAMES_ZH, ACTION_TYPES, CERTIFICATE_STATUSES,  # noqa: F401
                                              DEPARTMENTS, RECORD_KINDS, SCHEMA_MAJOR, STAGES, EventType, Ident,
                                              StrictSchema, _region_validator)


class InvalidEvent(Exception):
    """A permanent problem with an event: it goes to the dead-letter queue with this reason."""

    def __init__(self, reason: str, errors: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.errors = errors or {}


class ConflictingDuplicate(InvalidEvent):
    """An ``event_id`` applied before arrived again with different content: not a redelivery but a
    conflict (a sender reusing ids, or an altered copy). Dead-lettered with this reason and counted,
    never acknowledged as a duplicate (issue 14)."""

    REASON = "conflicting_duplicate"

    def __init__(self, event_id: str, stored: str, received: str):
        super().__init__(f"{self.REASON}: event {event_id} was applied before with different content "
                         f"(digest {stored[:16]}…, this copy {received[:16]}…); send new facts with a new event_id")
        self.event_id = event_id


def event_digest(raw: dict) -> str:
    """SHA-256 of an envelope's canonical JSON — keys sorted, no whitespace, ASCII escapes —
    without ``correlation_id`` (tracing, not content). Two copies of one event digest the same
    whatever their key order or spacing; a changed value, payload field or date does not."""
    content = {key: value for key, value in raw.items() if key != "correlation_id"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
                          .encode("ascii")).hexdigest()


class EnvelopeSchema(StrictSchema):
    """The envelope every event travels in (PLAT-7)."""

    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.OneOf(list(CATALOGUE)))
    schema_version = fields.String(required=True, validate=validate.Regexp(r"^\d+\.\d+$"))
    occurred_at = fields.AwareDateTime(required=True)
    source_system = fields.String(required=True, validate=validate.Length(min=1, max=64))
    region_code = fields.String(required=True, validate=_region_validator)
    body_id = Ident(required=True)
    case_id = Ident(load_default=None)
    correlation_id = fields.String(load_default=None)
    payload = fields.Dict(required=True)

    @validates_schema
    def _version_and_case(self, data, **_):
        major = int(data["schema_version"].split(".")[0])
        if major != SCHEMA_MAJOR:
            raise ValidationError(f"不支持的数据标准版本 {data['schema_version']}（支持 {SCHEMA_MAJOR}.x）",
                                  field_name="schema_version")
        if CATALOGUE[data["event_type"]].needs_case and not data.get("case_id"):
            raise ValidationError("该事件须有案件编号 case_id", field_name="case_id")


@dataclass(frozen=True)
class Event:
    """A validated event: envelope fields plus the loaded payload."""

    event_id: str
    event_type: str
    schema_version: str
    occurred_at: dt.datetime
    source_system: str
    region_code: str
    body_id: str
    case_id: str | None
    payload: dict
    correlation_id: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def digest(self) -> str:
        """``event_digest`` of the envelope as received (of its fields for an event built in code);
        kept beside the processed event id to tell a redelivery from a conflicting duplicate. Computed
        once and kept in the instance — not by ``functools.cached_property``, which on Python 3.11 takes
        one lock for every instance of the class (a green lock per event under eventlet, issue 17); two
        threads asking at once compute the same value twice."""
        cached = self.__dict__.get("_digest")
        if cached is None:
            cached = self.__dict__["_digest"] = self._compute_digest()
        return cached

    def _compute_digest(self) -> str:
        if self.raw:
            return event_digest(self.raw)
        return event_digest(jsonable({"event_id": self.event_id, "event_type": self.event_type,
                                      "schema_version": self.schema_version, "occurred_at": self.occurred_at,
                                      "source_system": self.source_system, "region_code": self.region_code,
                                      "body_id": self.body_id, "case_id": self.case_id, "payload": self.payload}))


_SCHEMAS: dict = {}


def _schema(cls):
    """One instance per schema class: a marshmallow schema keeps no state between loads, and
    building one costs more than loading an event (measured in the records ingestion bench)."""
    instance = _SCHEMAS.get(cls)
    if instance is None:
        instance = _SCHEMAS[cls] = cls()
    return instance


def parse_event(raw: Any, expected_type: str | None = None, now: dt.datetime | None = None,
                tolerance: float | None = None) -> Event:
    """Validate an envelope and its payload; raise InvalidEvent with field errors.

    Plausibility: an ``occurred_at`` more than ``ZHIFA_FUTURE_TOLERANCE_SECONDS`` (``tolerance``: the
    setting as the caller read it, else read now) after ``now`` (this process's clock) is an error of the
    field — nothing has happened in the future, and a date far ahead would move deadlines and statistics
    (issue 14)."""
    if not isinstance(raw, dict):
        raise InvalidEvent("event body is not a JSON object", {"_schema": ["应为JSON对象"]})
    errors: dict = {}
    try:
        env = fastload.load(_schema(EnvelopeSchema), raw)
    except ValidationError as exc:
        errors, env = dict(exc.messages), None
    if env is not None:
        if tolerance is None:
            tolerance = settings.future_tolerance()
        latest = (now or dt.datetime.now(dt.timezone.utc)) + dt.timedelta(seconds=tolerance)
        if env["occurred_at"] > latest:
            errors["occurred_at"] = [f"发生时间 {env['occurred_at'].isoformat()} 晚于当前时间超过{tolerance:g}秒，"
                                     f"请检查发送系统的时钟"]
    event_type = raw.get("event_type")
    if not isinstance(event_type, str):     # e.g. {"event_type": {}}: an error of the field, not a TypeError
        event_type = None
    if expected_type and event_type != expected_type:
        errors.setdefault("event_type", []).append(f"应为 {expected_type}（与路由键一致）")
    payload = None
    if event_type in CATALOGUE:  # report payload errors together with envelope errors
        try:
            payload = fastload.load(_schema(CATALOGUE[event_type].schema), raw.get("payload") or {})
        except ValidationError as exc:
            errors["payload"] = exc.messages
    if errors:
        raise InvalidEvent(f"invalid {event_type or 'event'}", errors)
    return Event(
        event_id=str(env["event_id"]), event_type=env["event_type"], schema_version=env["schema_version"],
        occurred_at=env["occurred_at"], source_system=env["source_system"], region_code=env["region_code"],
        body_id=env["body_id"], case_id=env.get("case_id"), payload=payload,
        correlation_id=env.get("correlation_id"), raw=raw,
    )


def jsonable(value):
    """Dates, datetimes, decimals and UUIDs as the strings the JSON contract carries."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return value


def make_envelope(event_type: str, payload: dict, *, source_system: str, region_code: str, body_id: str,
                  case_id: str | None = None, occurred_at: dt.datetime | None = None,
                  event_id: str | None = None, correlation_id: str | None = None) -> dict:
    """Build a JSON-ready envelope; the payload is dumped through its schema (validating it)."""
    spec = CATALOGUE[event_type]
    payload = jsonable(payload)
    schema = _schema(spec.schema)
    try:
        loaded = fastload.load(schema, payload)
    except ValidationError as exc:
        raise InvalidEvent(f"invalid payload for {event_type}", {"payload": exc.messages}) from None
    envelope = {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": spec.version,
        "occurred_at": (occurred_at or dt.datetime.now(dt.timezone.utc)).isoformat(),
        "source_system": source_system,
        "region_code": region_code,
        "body_id": body_id,
        "case_id": case_id,
        "correlation_id": correlation_id,
        "payload": fastload.dump(schema, loaded),
    }
    return envelope
