"""Plausibility of departmental events over AMQP (issue 14): an event dated in the future is
dead-lettered with its reason, and the next event is processed."""
import datetime as dt
import json

import pytest

from tests.fixtures import dead_letters, wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration


def test_event_dated_beyond_the_future_tolerance_is_dead_lettered(suite):
    future = ev.case_opened("320412-SCJG-FUTURE-1", at=dt.datetime.now(ev.CHINA) + dt.timedelta(hours=1))
    suite.publish(future)
    suite.publish(ev.case_opened("320412-SCJG-PRESENT-1"))     # the barrier: published after, observed as processed
    supervisor = suite.token("supervisor", "320000")
    wait_for(lambda: suite.get("/api/v1/cases/320412-SCJG-PRESENT-1/timeline", supervisor).ok, message="next event processed")
    letters = wait_for(lambda: dead_letters(suite.amqp_uri, "records"), message="future event dead-lettered")
    assert [future["event_id"] in item["body"] for item in letters] == [True]
    assert "occurred_at" in letters[0]["reason"] and "晚于当前时间超过300秒" in letters[0]["reason"]
    assert suite.get("/api/v1/cases/320412-SCJG-FUTURE-1/timeline", supervisor).status_code == 404


def _rejected(service, event_type, reason):
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("zhifa_events_rejected_total",
                                     {"service": service, "event_type": event_type, "reason": reason}) or 0


def test_same_event_id_with_other_content_is_dead_lettered_as_conflicting_duplicate(suite):
    """Issue 14: a redelivery (same id, same content) is acked without effect; the same id with another
    content is dead-lettered by every consumer with `conflicting_duplicate` and counted — in batched
    handlers (decision.made: records, review, disclosure, evaluation) and per-event ones
    (body.registered) — and the first content stands."""
    from tests.disclosure import events as dev

    before = {s: _rejected(s, "decision.made", "conflicting_duplicate")
              for s in ("records", "review", "disclosure", "evaluation")}
    body = dev.body_registered()
    decision = dev.decision("320412-SCJG-DUP-1", parties=[ev.legal_party()], facts="经查属实。", decision_no="武市监罚〔2026〕991号",
                            conclusion="罚款人民币5000元")
    suite.publish(body)
    suite.publish(decision)
    supervisor = suite.token("supervisor", "320000")

    def published():
        found = suite.get("/api/v1/public/decisions", params={"q": "武市监罚〔2026〕991号"}).json()["results"]
        return found[0] if found else None

    wait_for(published, message="decision published")
    wait_for(lambda: suite.get("/api/v1/cases/320412-SCJG-DUP-1/timeline", supervisor).ok, message="decision recorded")
    suite.publish(decision)                                    # a redelivery: no effect, no dead letter
    suite.publish({**decision, "correlation_id": "trace-2"})   # tracing is not content
    altered = {**decision, "payload": {**decision["payload"], "conclusion": "罚款人民币50元"}}
    suite.publish(altered)
    suite.publish({**body, "payload": {**body["payload"], "name": "另一个名称"}})
    suite.publish(ev.case_opened("320412-SCJG-DUP-BARRIER"))              # published after: observed as processed
    wait_for(lambda: suite.get("/api/v1/cases/320412-SCJG-DUP-BARRIER/timeline", supervisor).ok, message="barrier")

    consumers = {"records": ["decision.made"], "review": ["decision.made", "body.registered"],
                 "disclosure": ["decision.made", "body.registered"], "evaluation": ["decision.made", "body.registered"],
                 "complaints": ["body.registered"]}
    for service, types in consumers.items():
        letters = wait_for(lambda: (lambda d: len(d) >= len(types) and d)(dead_letters(suite.amqp_uri, service)),
                           message=f"{service} dead letters")
        assert len(letters) == len(types), (service, letters)
        for item in letters:
            assert item["reason"].startswith("conflicting_duplicate: event "), (service, item["reason"])
            assert item["body"] in (json.dumps(altered, ensure_ascii=False),
                                    json.dumps({**body, "payload": {**body["payload"], "name": "另一个名称"}},
                                               ensure_ascii=False))
    for service, count in before.items():
        assert _rejected(service, "decision.made", "conflicting_duplicate") == count + 1, service
    assert published()["conclusion"] == "罚款人民币5000元"
