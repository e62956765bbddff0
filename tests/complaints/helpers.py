"""Shared pieces of the complaints integration tests: a suite of complaints + gateway with short
timers, a capture of every event the complaints service emits, and departmental event builders."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from contextlib import contextmanager

from kombu import Connection, Consumer, Queue

from services.common.bus import events_exchange
from tests.fixtures import running_suite, wait_for
from tests.integration.events import envelope, resident_id

CHINA = dt.timezone(dt.timedelta(hours=8))
NAME, PHONE, ADDRESS = "王小明", "13912345678", "常州市武进区湖塘镇人民路88号5幢302室"
ID_NUMBER = resident_id("32041219900101123")
HOTLINE = {"region_code": "320412", "body_id": "320400-12345", "system": "changzhou-12345"}
DEPT = {"region_code": "320412", "body_id": "320412-SCJG", "system": "wj-scjg-system"}


def hotline_complaint(*, received_at: dt.datetime | None = None, body_id="320412-SCJG", request=None, facts=None,
                      name=NAME, phone=PHONE, id_number=ID_NUMBER, address=ADDRESS, channel="hotline_12345",
                      **payload):
    subject = payload.pop("subject", {"body_id": body_id})
    body = {"channel": channel, "external_ref": f"12345-{uuid.uuid4().hex[:8]}",
            "complainant": {"name": name, "phone": phone, "id_number": id_number, "address": address},
            "subject": subject, "request": request or "请求查处执法人员不出示证件的行为",
            "facts": facts or f"2026年执法人员检查我店时未出示执法证件，我是{name}，电话{phone}，住{address}。",
            "received_at": (received_at or dt.datetime.now(CHINA)).isoformat(), **payload}
    return envelope("complaint.submitted", body, body=HOTLINE)


def body_registered(body_id="320412-SCJG", name="常州市武进区市场监督管理局", kind="department", region="320412",
                    **extra):
    return envelope("body.registered", {"body_id": body_id, "name": name, "kind": kind, "region_code": region,
                                        **extra}, body={**DEPT, "body_id": body_id, "region_code": region})


def portal_form(**over):
    form = {"phone": PHONE, "name": NAME, "id_number": ID_NUMBER, "address": ADDRESS, "region_code": "320412",
            "body_id": "320412-SCJG", "request": "请求依法查处违法执法行为",
            "facts": f"执法人员在检查过程中未出示执法证件并强行扣押物品，联系人{NAME}，电话{PHONE}。"}
    form.update(over)
    return form


class EventCapture:
    """Every event the complaints service emits (bound to complaints.events with '#')."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self.queue_name = f"test-capture-{uuid.uuid4().hex[:8]}"
        self.queue = Queue(self.queue_name, exchange=events_exchange("complaints"), routing_key="#",
                           durable=False, auto_delete=False)
        with Connection(amqp_uri) as conn:
            self.queue(conn.channel()).declare()
        self.bodies: list[str] = []

    def drain(self) -> list[dict]:
        with Connection(self.amqp_uri) as conn:
            queue = self.queue(conn.channel())
            got = []

            def on_message(body, message):
                got.append(message.body.decode() if isinstance(message.body, bytes) else str(message.body))
                message.ack()

            with Consumer(conn, [queue], callbacks=[on_message], accept=["json"]):
                try:
                    while True:
                        conn.drain_events(timeout=0.3)
                except TimeoutError:
                    pass
                except Exception:  # socket.timeout on some kombu versions
                    pass
        self.bodies += got
        return [json.loads(b) for b in self.bodies]

    def of_type(self, event_type: str) -> list[dict]:
        return [e for e in self.drain() if e.get("event_type") == event_type]

    def wait_for(self, event_type: str, count: int = 1, timeout: float = 20.0) -> list[dict]:
        return wait_for(lambda: (lambda found: found if len(found) >= count else None)(self.of_type(event_type)),
                        timeout=timeout, message=f"{count} × {event_type}")


@contextmanager
def complaints_suite(amqp_uri, databases, tmp_path, **settings):
    """complaints + gateway, sweeping deadlines every 0.3 s, attachments under tmp, generous rate limits."""
    from nameko import config

    patch = {"ZHIFA_COMPLAINTS_SWEEP_SECONDS": 0.3,
             "ZHIFA_COMPLAINTS_ATTACHMENTS_DIR": str(tmp_path / "attachments"),
             "ZHIFA_RATE_LIMITS": {"complaint_submit": "1000/minute", "complaint_query": "1000/minute",
                                   "complaint_code": "1000/minute"}}
    patch.update(settings)
    with config.patch(patch, clear=False):
        capture = None
        with running_suite(amqp_uri, databases, tmp_path, services=["complaints", "gateway"]) as suite:
            capture = EventCapture(amqp_uri)
            suite.capture = capture
            yield suite


def register_via_hotline(suite, **kw) -> dict:
    """Publish a hotline complaint and return its register row (handler view) once registered."""
    event = hotline_complaint(**kw)
    ref = event["payload"]["external_ref"]
    suite.publish(event)
    handler = suite.token("complaint_handler", "320400", sub="handler-zhang")
    row = wait_for(lambda: next((c for c in suite.get("/api/v1/complaints", handler).json()["complaints"]
                                 if c["number"] and _ref(suite, handler, c["number"]) == ref), None),
                   message="hotline complaint registered")
    return suite.get(f"/api/v1/complaints/{row['number']}", handler).json()


def _ref(suite, token, number):
    return suite.get(f"/api/v1/complaints/{number}", token).json().get("external_ref")
