"""Departmental registry events, proposals and decisions for the review integration tests, and a tap on
the review service's outgoing events (``review.events``)."""
from __future__ import annotations

import datetime as dt
import json
import time
import uuid

from kombu import Connection, Queue

from services.common.bus import events_exchange
from services.common.settings import amqp_user
from tests.integration import events as ev

CHINA = ev.CHINA
BODY = ev.BODY  # 320412-SCJG, 武进区市场监督管理局


def body(body_id=BODY["body_id"], region=BODY["region_code"], name="常州市武进区市场监督管理局",
         field="market_regulation", system=BODY["system"]):
    src = {"region_code": region, "body_id": body_id, "system": system}
    return ev.envelope("body.registered", {"body_id": body_id, "name": name, "kind": "department",
                                           "region_code": region, "field": field}, body=src)


def officer(officer_id, body_id=BODY["body_id"], region=BODY["region_code"], roles=("officer",),
            field="market_regulation", cert=None):
    src = {"region_code": region, "body_id": body_id, "system": BODY["system"]}
    return ev.envelope("officer.registered", {"officer_id": officer_id, "name": f"执法人员{officer_id}",
                                              "body_id": body_id, "roles": list(roles), "field": field,
                                              "certificate_no": cert}, body=src)


def certificate(officer_id, cert, status="valid", effective_from="2025-01-01T00:00:00+08:00",
                valid_until="2029-12-31", reason=None):
    return ev.envelope("certificate.status_changed", {
        "certificate_no": cert, "officer_id": officer_id, "status": status, "effective_from": effective_from,
        "valid_until": valid_until, "reason": reason})


def power(matter_code="SC-0101", action_type="penalty", body_id=BODY["body_id"], published_on="2025-06-01"):
    return ev.envelope("power.published", {
        "matter_code": matter_code, "name": "销售不符合食品安全标准的食品", "action_type": action_type,
        "legal_basis": "《中华人民共和国食品安全法》第一百二十四条", "body_id": body_id, "published_on": published_on})


def proposal(case_id, version=1, fine="200000.00", party=None, officers=("o-1", "o-2"), proposed_at=None,
             submitted_by="o-1", body_src=None, **extra):
    payload = {"version": version, "action_type": "penalty", "matter_code": "SC-0101", "field": "market_regulation",
               "parties": [party or ev.legal_party()], "fine_amount": fine, "officer_ids": list(officers),
               "summary": f"拟处罚款（第{version}版）",
               "proposed_at": (proposed_at or dt.datetime.now(CHINA)).isoformat(), "submitted_by": submitted_by}
    payload.update(extra)
    return ev.envelope("decision.proposed", payload, case_id, **({"body": body_src} if body_src else {}))


def decision_made(case_id, version=1, fine="200000.00"):
    return ev.decision_made(case_id, version=version, fine=fine, party=ev.natural_party())


def gaps_found(case_id, codes=("on_site_av",)):
    env = ev.envelope("record.gaps_found", {
        "gaps": [{"code": c, "description": "现场执法音像记录", "stage": "investigation"} for c in codes],
        "open_gap_codes": list(codes)}, case_id)
    env["source_system"] = "zhifa.records"
    return env


class Tap:
    """Collects the events a zhifa service publishes (an exclusive queue bound to ``<source>.events``)."""

    def __init__(self, amqp_uri: str, source: str = "review"):
        self.conn = Connection(amqp_uri)
        self.channel = self.conn.channel()
        self.queue = Queue(f"test-tap-{source}-{uuid.uuid4().hex[:8]}", exchange=events_exchange(source),
                           routing_key="#", exclusive=True, auto_delete=True)
        self.queue = self.queue(self.channel)
        self.queue.declare()
        self.seen: list[dict] = []

    def drain(self) -> list[dict]:
        while True:
            message = self.queue.get(no_ack=True)
            if message is None:
                return self.seen
            body = message.body
            self.seen.append(json.loads(body if isinstance(body, str) else body.decode("utf-8")))

    def wait(self, event_type: str, timeout: float = 20.0, count: int = 1, **match) -> list[dict]:
        deadline = time.time() + timeout
        while True:
            found = [e for e in self.drain() if e["event_type"] == event_type
                     and all(e.get(k) == v or e["payload"].get(k) == v for k, v in match.items())]
            if len(found) >= count:
                return found
            if time.time() > deadline:
                raise AssertionError(f"no {count}× {event_type} {match} within {timeout}s; seen: "
                                     f"{[e['event_type'] for e in self.seen]}")
            time.sleep(0.1)

    def close(self):
        self.conn.release()


def publish_as(amqp_uri: str, source: str, envelope: dict) -> None:
    """Publish ``envelope`` as zhifa service ``source`` would (to ``<source>.events``), confirmed."""
    from kombu import Producer

    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(json.dumps(envelope, ensure_ascii=False).encode(),
                                         exchange=events_exchange(source), routing_key=envelope["event_type"],
                                         content_type="application/json", content_encoding="utf-8",
                                         delivery_mode=2, mandatory=True, user_id=amqp_user(amqp_uri))
