"""A department publishing over AMQP may publish only its own events (issue 8, PLAT-7): the
``user_id`` RabbitMQ verified names the sender; its entry in api_keys.yaml says which system,
bodies and region it speaks for — the same rules as an API key at POST /api/v1/events."""
import json
import subprocess
import uuid

import pytest
import yaml
from kombu import Connection, Exchange, Producer

from services.common.auth import amqp_senders_cached, hash_key, sender_refusal
from services.common.events import parse_event
from tests.fixtures import _rabbitmqctl, dead_letters, running_suite, wait_for
from tests.integration import events as ev

ENTRY = {"system": "wj-scjg-system", "region_code": "320412", "body_ids": ["320412-SCJG"], "key_sha256": "0" * 64,
         "amqp_user": "dept-320412-scjg"}


def _event(**body):
    return parse_event(ev.case_opened("320412-SCJG-C-1", body=body) if body else ev.case_opened("320412-SCJG-C-1"))


def senders(tmp_path, *entries):
    path = tmp_path / "api_keys.yaml"
    path.write_text(yaml.safe_dump(list(entries)))
    return amqp_senders_cached(path)


def test_only_entries_with_an_amqp_user_are_senders(tmp_path):
    found = senders(tmp_path, ENTRY, {**ENTRY, "system": "http-only", "amqp_user": None})
    assert list(found) == ["dept-320412-scjg"]
    assert found["dept-320412-scjg"].subject == "wj-scjg-system" and found["dept-320412-scjg"].body_ids == ("320412-SCJG",)


def test_own_events_pass_and_others_are_refused(tmp_path):
    known = senders(tmp_path, ENTRY)
    own = _event()
    assert own.source_system == "wj-scjg-system" and own.body_id == "320412-SCJG"
    assert sender_refusal(own, "dept-320412-scjg", known, "zhifa-320400") is None
    assert sender_refusal(own, "zhifa-320400", known, "zhifa-320400") is None          # the suite itself
    assert "未声明 user_id" in sender_refusal(own, None, known, "zhifa-320400")
    assert "未登记" in sender_refusal(own, "dept-other", known, "zhifa-320400")
    other_body = _event(region_code="320412", body_id="320412-GAJ", system="wj-scjg-system")
    assert "无权代表执法主体 320412-GAJ" in sender_refusal(other_body, "dept-320412-scjg", known, "zhifa-320400")
    other_system = _event(region_code="320412", body_id="320412-SCJG", system="other")
    assert "source_system 应为 wj-scjg-system" in sender_refusal(other_system, "dept-320412-scjg", known, "zhifa-320400")
    other_region = _event(region_code="320411", body_id="320412-SCJG", system="wj-scjg-system")
    assert "无权报送区划 320411" in sender_refusal(other_region, "dept-320412-scjg", known, "zhifa-320400")


def test_the_check_is_on_without_amqp_senders(tmp_path):
    """SEC-2, issue 15: no configured sender means refused — the check never switches itself off.
    Only the suite's own broker user (gateway after its API-key check, retries, replays) passes."""
    none = senders(tmp_path)
    assert none == {}
    assert "未声明 user_id" in sender_refusal(_event(), None, none, "guest")
    assert "未配置部门登记表" in sender_refusal(_event(), "dept-320412-scjg", none, "guest")
    assert sender_refusal(_event(), "guest", none, "guest") is None
    missing = amqp_senders_cached(tmp_path / "no-such-file.yaml")
    assert "未配置部门登记表" in sender_refusal(_event(), "dept-320412-scjg", missing, "guest")


@pytest.mark.integration
def test_department_user_publishes_own_events_only(amqp_uri, sqlite_databases, tmp_path):
    """Over the real broker: RabbitMQ rejects a forged user_id; the handler dead-letters an event
    for another body and one without user_id, and applies the department's own."""
    vhost = amqp_uri.rsplit("/", 1)[1]
    user, password = f"dept-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    _rabbitmqctl("add_user", user, password)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, user, "^$", "^departments\\.events$", "^$")
        entry = {**ENTRY, "amqp_user": user, "key_sha256": hash_key("k-wj-test")}
        with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["records", "gateway"],
                           api_keys=[entry]) as suite:
            dept_uri = amqp_uri.replace("guest:guest", f"{user}:{password}")
            own, foreign, anonymous = (ev.case_opened("320412-SCJG-C-OWN-1"),
                                       ev.case_opened("320412-GAJ-C-FOREIGN-1", body={"region_code": "320412",
                                                                           "body_id": "320412-GAJ",
                                                                           "system": "wj-scjg-system"}),
                                       ev.case_opened("320412-SCJG-C-ANON-1"))
            with Connection(dept_uri) as conn:
                producer = Producer(conn.channel(), exchange=Exchange("departments.events", "topic", durable=True),
                                    auto_declare=False)
                for envelope, user_id in ((foreign, user), (anonymous, None), (own, user)):
                    properties = {"user_id": user_id} if user_id else {}
                    producer.publish(envelope, routing_key="case.opened", delivery_mode=2, **properties)
            timeline = lambda case: suite.get(f"/api/v1/cases/{case}/timeline",  # noqa: E731
                                              suite.token("supervisor", "320000"))
            wait_for(lambda: timeline("320412-SCJG-C-OWN-1").ok and timeline("320412-SCJG-C-OWN-1").json()["entries"],
                     message="the department's own event applied")
            letters = wait_for(lambda: (lambda d: len(d) >= 2 and d)(dead_letters(amqp_uri, "records")),
                               message="the two others dead-lettered")
            reasons = sorted(item["reason"] for item in letters)
            assert all(r.startswith("unauthorised sender") for r in reasons), reasons
            assert any("320412-GAJ" in r for r in reasons) and any("user_id" in r for r in reasons)
            assert not timeline("320412-GAJ-C-FOREIGN-1").ok or not timeline("320412-GAJ-C-FOREIGN-1").json()["entries"]
            # the same system over HTTP: the gateway checked the API key and publishes as the suite
            response = suite.post("/api/v1/events", ev.case_opened("320412-SCJG-C-HTTP-1"), headers={"X-Api-Key": "k-wj-test"})
            assert response.status_code == 202, response.text
            wait_for(lambda: timeline("320412-SCJG-C-HTTP-1").ok and timeline("320412-SCJG-C-HTTP-1").json()["entries"],
                     message="the event sent over HTTP applied")
            # a forged user_id is refused by the broker itself (it closes the channel)
            with Connection(dept_uri) as conn:
                channel = conn.channel()
                Producer(channel, exchange=Exchange("departments.events", "topic", durable=True),
                         auto_declare=False).publish(ev.case_opened("320412-SCJG-C-FORGED-1"), routing_key="case.opened",
                                                     delivery_mode=2, user_id="someone-else")
                with pytest.raises(Exception, match="PRECONDITION_FAILED"):
                    channel.basic_qos(0, 1, False)
    finally:
        subprocess.run(["rabbitmqctl", "delete_user", user], capture_output=True, timeout=60)


@pytest.mark.integration
def test_every_service_dead_letters_an_event_for_a_body_its_sender_may_not_speak_for(amqp_uri, sqlite_databases,
                                                                                     tmp_path):
    """SEC-2, issue 23 (4) and issue 15: every service that accepts departmental events has the
    department registry and refuses a sender outside its entry — a ``decision.made`` and a
    ``body.registered`` for 320412-GAJ sent by the broker user registered for 320412-SCJG land in the
    dead-letter queue of records, review, disclosure, complaints and evaluation alike, while the
    same user's event for its own body is applied."""
    from services.common.bus import all_service_classes, handler_bindings
    from services.common.events import DEPARTMENTS

    foreign_body = {"region_code": "320412", "body_id": "320412-GAJ", "system": "wj-scjg-system"}
    foreign = [ev.decision_made("320412-GAJ-C-FOREIGN-9", body=foreign_body),
               ev.envelope("body.registered", {"body_id": "320412-GAJ", "name": "常州市武进区公安分局",
                                               "kind": "department", "region_code": "320412"}, body=foreign_body)]
    consumers = {cls.name: {b.event_type for b in handler_bindings(cls) if b.source == DEPARTMENTS}
                 for cls in all_service_classes()}
    takers = {name for name, types in consumers.items() if types}
    assert takers == {"records", "review", "disclosure", "complaints", "evaluation"}
    sent_types = {e["event_type"] for e in foreign}
    for name in takers:                       # every consumer of departmental events gets one of them
        assert consumers[name] & sent_types, f"{name} consumes none of {sent_types}: extend the test"
    vhost = amqp_uri.rsplit("/", 1)[1]
    user, password = f"dept-{uuid.uuid4().hex[:6]}", uuid.uuid4().hex
    _rabbitmqctl("add_user", user, password)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, user, "^$", "^departments\\.events$", "^$")
        entry = {**ENTRY, "amqp_user": user}
        with running_suite(amqp_uri, sqlite_databases, tmp_path, api_keys=[entry]) as suite:
            with Connection(amqp_uri.replace("guest:guest", f"{user}:{password}")) as conn:
                producer = Producer(conn.channel(), exchange=Exchange("departments.events", "topic", durable=True),
                                    auto_declare=False)
                for envelope in foreign + [ev.case_opened("320412-SCJG-C-OWN-9")]:
                    producer.publish(envelope, routing_key=envelope["event_type"], delivery_mode=2, user_id=user)
            timeline = lambda: suite.get("/api/v1/cases/320412-SCJG-C-OWN-9/timeline",  # noqa: E731
                                         suite.token("supervisor", "320000"))
            wait_for(lambda: timeline().ok and timeline().json()["entries"], message="the own event applied")
            foreign_ids = {e["event_id"] for e in foreign}
            for service in sorted(takers):
                expected = {e["event_id"] for e in foreign if e["event_type"] in consumers[service]}

                def refused(service=service):
                    letters = [d for d in dead_letters(amqp_uri, service)
                               if json.loads(d["body"])["event_id"] in foreign_ids]
                    return {json.loads(d["body"])["event_id"] for d in letters} >= expected and letters

                letters = wait_for(refused, timeout=30, message=f"{service} dead-letters the foreign events")
                assert all(d["reason"].startswith("unauthorised sender") and "320412-GAJ" in d["reason"]
                           for d in letters), letters
            published = suite.get("/api/v1/public/decisions", params={"body_id": "320412-GAJ"}).json()["results"]
            assert published == []
    finally:
        subprocess.run(["rabbitmqctl", "delete_user", user], capture_output=True, timeout=60)
