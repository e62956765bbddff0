"""The review gate over the real broker when decision.made overtakes decision.proposed (issue 14 (2),
REV-2): exactly one ``not_reviewed`` violation and one ``review.bypassed``, no review task, however
often the decision is delivered; the late proposal is classified but reconciles."""
import copy
import uuid

import pytest

from tests.fixtures import dead_letters, running_suite, wait_for
from tests.review import review_events as rv

pytestmark = pytest.mark.integration
OWN = ["320412-SCJG"]


@pytest.fixture
def gate_suite(amqp_uri, sqlite_databases, tmp_path):
    with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["review", "gateway"]) as suite:
        suite.tap = rv.Tap(amqp_uri, "review")
        try:
            yield suite
        finally:
            suite.tap.close()


def test_rev2_decision_made_before_decision_proposed_is_flagged_once_and_opens_no_task(gate_suite):
    """REV-2: decision.made (a major fine) published before its decision.proposed, then delivered again
    with its id and under a new id: one not_reviewed violation, one review.bypassed, no review task in
    any state; the proposal's classification is stored. Barriers: a later proposal and a later decision
    of other cases on the same queues, observed as applied, before absence is asserted."""
    suite = gate_suite
    case, other = "320412-SCJG-GATE-ORDER-1", "320412-SCJG-GATE-ORDER-2"
    decision = rv.decision_made(case)                       # 200 000 yuan for a natural person: major
    proposal = rv.proposal(case)
    suite.publish(decision)
    first = suite.tap.wait("review.bypassed", case_id=case)[0]["payload"]
    assert (first["version"], first["violation"]) == (1, "not_reviewed")
    suite.publish(proposal)
    suite.publish(decision)                                 # a redelivery
    suite.publish({**copy.deepcopy(decision), "event_id": str(uuid.uuid4())})   # a retry under a new id
    # barriers: published after, on the same queues, observed as applied
    suite.publish(rv.proposal(other))
    suite.tap.wait("review.task_opened", case_id=other)
    suite.publish(rv.decision_made(other))
    suite.tap.wait("review.bypassed", case_id=other)
    classified = suite.tap.wait("review.classified", case_id=case, source="proposal")[0]["payload"]
    assert classified["major"] is True and classified["fired_rules"] == ["amount.fine"]

    supervisor = suite.token("supervisor", "320400")
    listed = [v for v in suite.get("/api/v1/review/violations", supervisor).json()["violations"]
              if v["case_id"] == case]
    assert [(v["version"], v["kind"]) for v in listed] == [(1, "not_reviewed")]
    assert len([e for e in suite.tap.drain() if e["event_type"] == "review.bypassed" and e["case_id"] == case]) == 1
    assert not [e for e in suite.tap.seen if e["event_type"] == "review.task_opened" and e["case_id"] == case]
    reviewer = suite.token("legal_reviewer", "320412", sub="r-1", bodies=OWN)
    listed_tasks = suite.get("/api/v1/review/tasks", reviewer, params={"case_id": case})
    assert listed_tasks.status_code == 200 and listed_tasks.json()["tasks"] == []
    gate = suite.get("/api/v1/review/gate", suite.token("officer", "320412", bodies=OWN),
                     params={"case_id": case, "version": 1}).json()
    assert gate["allowed"] is False and gate["major"] is True
    # the other case, proposed first, had its task; its decision closed it (nothing left to review)
    other_tasks = wait_for(lambda: (lambda ts: ts and ts)(
        suite.get("/api/v1/review/tasks", reviewer, params={"case_id": other}).json()["tasks"]),
        message="the other case's task")
    assert [(t["version"], t["pending"]) for t in other_tasks] == [(1, False)]
    assert dead_letters(suite.amqp_uri, "review") == []
