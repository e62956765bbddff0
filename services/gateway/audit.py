"""The audit trail of staff actions at the edge (安全审计, 等保 2.0 三级; SEC-3, issue 15).

Every request by a staff identity — reads included, refusals included — is recorded as an
``audit.recorded`` event (services/common/catalogue/gateway.py) published to ``gateway.events``
with publisher confirms and ``mandatory``; the records service stores it in its append-only
``audit_log``. The gateway keeps nothing itself, so **the rule that makes it fail closed** is:

- a **write** (POST/PUT/PATCH/DELETE) runs only after its ``intent`` record is confirmed by the
  broker (routed to the audit queue); if it cannot be, the write does not run and the answer is 503.
  After the write, its ``outcome`` record (status, result) is published; if that one fails the
  write has happened — the answer is still returned, the failure is logged with the correlation id
  and counted (``zhifa_gateway_audit_failures_total{phase="outcome"}``), and the auditor sees an
  intent without an outcome (result unknown).
- a **read** (GET/HEAD) runs, then its ``outcome`` record must be confirmed **before the answer is
  released**; if it cannot be, the client gets 503 instead of the data.
- a **refusal** before the handler (wrong role, CSRF, limits) is recorded as ``denied``/``refused``;
  if that record fails, the refusal is answered anyway (nothing was released or changed).

Departmental systems (API keys) and the public are not staff and are not audited here (their
events have their own trail: the records log).
"""
from __future__ import annotations

import json
import logging

from kombu.exceptions import KombuError
from nameko.amqp.publish import Publisher, UndeliverableMessage

from services.common import metrics, settings
from services.common.bus import events_exchange
from services.common.events import make_envelope

log = logging.getLogger(__name__)
SOURCE = "gateway"
EVENT_TYPE = "audit.recorded"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_VALUE = 300


class AuditUnavailable(Exception):
    """The audit record was not confirmed by the broker: the action must not proceed / be released."""


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _outcome(status: int | None) -> str:
    if status is None:
        return "pending"
    if status < 400:
        return "succeeded"
    if status in (401, 403):
        return "denied"
    if status < 500:
        return "refused"
    return "failed"


def record(request, identity, *, action: str, phase: str, status: int | None, path_values: dict,
           source_address: str, correlation_id: str) -> dict:
    """The envelope of one audit record."""
    payload = {
        "phase": phase, "subject": _short(identity.subject), "role": identity.role,
        "scope": {"region_code": identity.region_code, "body_ids": [_short(b) for b in identity.body_ids]},
        "action": action, "method": request.method, "path": _short(request.path),
        "object": {k: _short(v) for k, v in path_values.items()},
        "query": {k: _short(v) for k, v in request.args.items()},
        "status": status, "outcome": _outcome(status), "source_address": _short(source_address)[:64],
        "user_agent": _short(request.headers.get("User-Agent", ""))[:300] or None,
    }
    return make_envelope(EVENT_TYPE, payload, source_system="zhifa.gateway", region_code=identity.region_code,
                         body_id=(identity.body_ids[0] if identity.body_ids else "-"),
                         correlation_id=correlation_id)


def publish(envelope: dict) -> None:
    """Publish one record and wait for the broker's confirm; AuditUnavailable when it does not come
    or no queue takes it (records' audit queue not declared: the trail would be lost)."""
    publisher = Publisher(settings.amqp_uri(), use_confirms=True, mandatory=True,
                          declare=[events_exchange(SOURCE)])
    try:
        publisher.publish(json.dumps(envelope, ensure_ascii=False), exchange=events_exchange(SOURCE),
                          routing_key=EVENT_TYPE, serializer=None, content_type="application/json",
                          content_encoding="utf-8", message_id=envelope["event_id"], delivery_mode=2,
                          user_id=settings.amqp_user(), retry=False)
    except (UndeliverableMessage, KombuError, OSError) as exc:
        metrics.AUDIT_FAILURES.labels(envelope["payload"]["phase"]).inc()
        raise AuditUnavailable(f"{type(exc).__name__}: {exc}") from None
