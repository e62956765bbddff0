"""Case ownership on the real broker (SEC-2, PLAT-8, SEC-6; issue 14 "a case id is not tied to its
owner"): another city's department, authorised for its own body, tried what the issue reports —
appending records to another city's case, sealing it, opening an id the other city then used, and
publishing a forged decision for it. Each of its events ends in the dead-letter queue of EVERY
service consuming it with the reason ``case_owned_by_other_body``, is counted, and changes nothing
anywhere; the owner's case goes on. Over HTTP the same is refused with 403 at the edge. A
transfer (移送) sent by the owner hands the case over: from its time on, the new body acts on it
(even if its events arrive before the transfer), and the old one no longer does.
"""
import datetime as dt

import pytest
from nameko import config
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from services.common import metrics
from services.common.auth import hash_key
from services.common.ownership import OWNED_BY_OTHER
from services.disclosure.models import Publication
from services.evaluation.models import Fact
from services.records.models import Case, LogEntry
from services.review.models import Classification, ReviewTask, Violation
from tests.fixtures import dead_letters, running_suite, wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration

CHINA = dt.timezone(dt.timedelta(hours=8))
A = ev.BODY                                                                       # the owner (武进, 常州)
B = {"region_code": "320583", "body_id": "320583-SCJG", "system": "ks-scjg-system"}  # a body of another city (昆山, 苏州)
KEY_B = "key-of-the-other-department"
CONSUMERS = {"records": {"evidence.recorded", "case.archived", "decision.made", "case.opened"},
             "review": {"evidence.recorded", "decision.made"},
             "disclosure": {"decision.made"},
             "evaluation": {"decision.made"}}


@pytest.fixture
def suite(amqp_uri, sqlite_databases, tmp_path):
    keys = [{"system": B["system"], "region_code": B["region_code"], "body_ids": [B["body_id"]],
             "key_sha256": hash_key(KEY_B)}]
    with running_suite(amqp_uri, sqlite_databases, tmp_path, api_keys=keys,
                       services=["records", "review", "disclosure", "evaluation", "gateway"]) as running:
        yield running


def _db(suite, service):
    return create_engine(suite.databases[service])


def _count(suite, service, query) -> int:
    engine = _db(suite, service)
    try:
        with Session(engine) as session:
            return session.scalar(query)
    finally:
        engine.dispose()


def _refused_in(suite, service, event_id):
    found = [d for d in dead_letters(suite.amqp_uri, service) if event_id in (d["body"] or "")]
    return found and found[0]


def _entries(suite, case_id):
    engine = _db(suite, "records")
    try:
        with Session(engine) as session:
            return [(r.event_type, r.body_id) for r in session.scalars(
                select(LogEntry).where(LogEntry.case_id == case_id).order_by(LogEntry.sequence))]
    finally:
        engine.dispose()


def _case(suite, case_id):
    engine = _db(suite, "records")
    try:
        with Session(engine, expire_on_commit=False) as session:
            return session.get(Case, case_id)
    finally:
        engine.dispose()


def test_sec2_another_body_cannot_append_seal_squat_or_decide_on_a_case_and_nothing_changes(suite):
    """SEC-2 / PLAT-8: the four attacks of issue 14, each dead-lettered by every consuming service."""
    owned = ev.case_id("2026-00001")
    later = ev.case_id("2026-00002")          # the id the owner will use next
    officers = ("o-1", "o-2")
    suite.publish(ev.case_opened(owned))
    suite.publish(ev.evidence(owned, n=1))
    suite.publish(ev.decision_proposed(owned, fine="2000.00"))
    wait_for(lambda: len(_entries(suite, owned)) == 3, message="the owner's first records")

    refused_before = {s: sum(metrics.OWNERSHIP_REFUSED.labels(s, t)._value.get() for t in types)
                      for s, types in CONSUMERS.items()}
    forged = ev.decision_made(owned, party=ev.natural_party("伪造者"), body=B)
    attacks = [ev.evidence(owned, n=9, body=B),                   # append to another city's case
               ev.case_archived(owned, body=B),                   # seal it
               ev.case_opened(later, body=B),                     # squat the id the owner uses next
               forged]                                            # publish a forged decision
    for attack in attacks:
        suite.publish(attack)

    # every consuming service dead-letters each attack it consumes, with the reason (the barrier:
    # the refusal is final once it is in the dead-letter queue)
    for attack in attacks:
        for service, types in CONSUMERS.items():
            if attack["event_type"] not in types:
                continue
            letter = wait_for(lambda: _refused_in(suite, service, attack["event_id"]), timeout=30,
                              message=f"{attack['event_type']} of the other body in {service}'s dead letters")
            assert letter["reason"].startswith(OWNED_BY_OTHER), letter["reason"]
            assert letter["queue"].startswith(f"evt-departments-{attack['event_type']}--{service}.")
    for service, types in CONSUMERS.items():
        counted = sum(metrics.OWNERSHIP_REFUSED.labels(service, t)._value.get() for t in types)
        assert counted - refused_before[service] == sum(1 for a in attacks if a["event_type"] in types)

    # the owner goes on: its case is not sealed, its next record and its own id are accepted
    suite.publish(ev.case_opened(later))
    suite.publish(ev.evidence(owned, n=2))
    suite.publish(ev.decision_made(owned, party=ev.natural_party("王小明"), fine="2000.00"))
    wait_for(lambda: len(_entries(suite, owned)) == 5 and _entries(suite, later), message="the owner's next events")

    # nothing of the other body anywhere (after the barrier above: its events were refused)
    assert {body for _, body in _entries(suite, owned) + _entries(suite, later)} == {A["body_id"]}
    case, squatted = _case(suite, owned), _case(suite, later)
    assert case.sealed is False and case.archived_at is None and case.body_id == A["body_id"]
    assert (squatted.body_id, squatted.region_code) == (A["body_id"], A["region_code"])
    published = wait_for(lambda: _count(suite, "disclosure", select(func.count()).select_from(Publication)
                                        .where(Publication.case_id == owned)), message="the owner's publication")
    engine = _db(suite, "disclosure")
    with Session(engine) as session:
        rows = session.scalars(select(Publication).where(Publication.case_id == owned)).all()
        assert published == 1 and rows[0].body_id == A["body_id"] and "伪造者" not in (rows[0].parties_public or "")
    engine.dispose()
    assert _count(suite, "review", select(func.count()).select_from(Classification)
                  .where(Classification.body_id == B["body_id"])) == 0
    assert _count(suite, "review", select(func.count()).select_from(Violation)
                  .where(Violation.body_id == B["body_id"])) == 0
    wait_for(lambda: _count(suite, "evaluation", select(func.count()).select_from(Fact)
                            .where(Fact.ref == owned, Fact.kind == "enforcement_action")),
             message="the owner's decision counted")
    assert _count(suite, "evaluation", select(func.count()).select_from(Fact)
                  .where(Fact.body_id == B["body_id"])) == 0
    assert _count(suite, "evaluation", select(func.count()).select_from(Fact)
                  .where(Fact.ref == owned, Fact.kind == "enforcement_action")) == len(officers)

    # over HTTP the other body's key is refused at the edge (403), naming the reason
    response = suite.post("/api/v1/events", ev.evidence(owned, n=10, body=B), headers={"X-Api-Key": KEY_B})
    assert response.status_code == 403 and response.json()["error"] == OWNED_BY_OTHER, response.text
    own = suite.post("/api/v1/events", ev.evidence(ev.case_id("2026-00009", B), n=1, body=B),
                     headers={"X-Api-Key": KEY_B})
    assert own.status_code == 202, own.text                 # its own case: accepted


def test_sec2_a_transfer_hands_the_case_over_whatever_the_order_of_arrival(suite):
    """SEC-2, SEC-6: 移送 by the owner. The new body's record sent BEFORE the transfer arrives waits for
    it and is applied; from the transfer's time on the case is the new body's in records (scope) and
    review (task), the old body's later record is dead-lettered, its earlier one still accepted."""
    case_id = ev.case_id("2026-00031")
    now = dt.datetime.now(CHINA)
    moved = now + dt.timedelta(minutes=1)
    suite.publish(ev.case_opened(case_id))
    suite.publish(ev.decision_proposed(case_id, fine="200000.00"))
    wait_for(lambda: len(_entries(suite, case_id)) == 2, message="the case before the transfer")
    wait_for(lambda: _count(suite, "review", select(func.count()).select_from(ReviewTask)
                            .where(ReviewTask.case_id == case_id)), message="the review task")

    with config.patch({"ZHIFA_OWNERSHIP_WAIT_SECONDS": 60}, clear=False):
        early = ev.evidence(case_id, n=5, body=B, at=moved + dt.timedelta(minutes=1))
        suite.publish(early)                                  # the new owner's record, before the transfer
        suite.publish(ev.case_transferred(case_id, B, body=A, at=moved))
        late_own = ev.evidence(case_id, n=3, body=A, at=moved - dt.timedelta(seconds=30))   # before the transfer
        suite.publish(late_own)
        wait_for(lambda: len(_entries(suite, case_id)) == 5, timeout=40, message="transfer and both records")
    after = ev.evidence(case_id, n=4, body=A, at=moved + dt.timedelta(minutes=2))
    suite.publish(after)
    letter = wait_for(lambda: _refused_in(suite, "records", after["event_id"]), timeout=30,
                      message="the old owner's record after the transfer, dead-lettered")
    assert letter["reason"].startswith(OWNED_BY_OTHER)
    assert wait_for(lambda: _refused_in(suite, "review", after["event_id"]), timeout=30,
                    message="…in review too")
    bodies = [body for kind, body in _entries(suite, case_id)]
    assert bodies.count(B["body_id"]) == 1 and len(bodies) == 5
    case = _case(suite, case_id)
    assert (case.body_id, case.region_code) == (B["body_id"], B["region_code"])
    engine = _db(suite, "review")
    with Session(engine) as session:
        task = session.scalars(select(ReviewTask).where(ReviewTask.case_id == case_id)).one()
        assert (task.body_id, task.region_code) == (B["body_id"], B["region_code"])
    engine.dispose()
    # the new owner's supervisor reads the timeline; the old region's no longer does
    assert suite.get(f"/api/v1/cases/{case_id}/timeline", suite.token("supervisor", "320583")).status_code == 200
    assert suite.get(f"/api/v1/cases/{case_id}/timeline", suite.token("supervisor", "320412")).status_code == 404
    # and the gateway lets the new owner's key act on it at once
    response = suite.post("/api/v1/events", ev.evidence(case_id, n=6, body=B, at=moved + dt.timedelta(minutes=3)),
                          headers={"X-Api-Key": KEY_B})
    assert response.status_code == 202, response.text


def test_sec2_a_supervisor_designates_another_body_through_the_gateway(suite):
    """SEC-2 指定管辖: a supervisor over both bodies hands the case over (case.transferred on the owner's
    behalf, ``ordered_by`` the supervisor); one who does not cover both may not, nor may anyone name a
    body that does not own the case."""
    case_id = ev.case_id("2026-00041")
    suite.publish(ev.case_opened(case_id))
    wait_for(lambda: _entries(suite, case_id), message="the case")
    order = {"from_body_id": A["body_id"], "from_region_code": A["region_code"], "to_body_id": B["body_id"],
             "to_region_code": B["region_code"], "reason": "管辖权争议，由共同上级指定管辖"}
    county = suite.post(f"/api/v1/cases/{case_id}/transfer", order, suite.token("supervisor", "320400"))
    assert county.status_code == 403, county.text                   # Changzhou does not cover Kunshan
    province = suite.token("supervisor", "320000", sub="sup-js")
    wrong = suite.post(f"/api/v1/cases/{case_id}/transfer", {**order, "from_body_id": "320411-SCJG"}, province)
    assert wrong.status_code == 409 and wrong.json()["error"] == "not_owner", wrong.text
    done = suite.post(f"/api/v1/cases/{case_id}/transfer", order, province)
    assert done.status_code == 202, done.text
    wait_for(lambda: (_case(suite, case_id).body_id == B["body_id"]), message="the case moved to the new body")
    entry = [e for e in suite.get(f"/api/v1/cases/{case_id}/timeline", province).json()["entries"]
             if e["event_type"] == "case.transferred"][0]
    assert entry["details"]["ordered_by"] == "sup-js" and entry["details"]["kind"] == "designation"
    suite.publish(ev.evidence(case_id, n=1, body=B))
    wait_for(lambda: [b for _, b in _entries(suite, case_id)].count(B["body_id"]) == 1, timeout=40,
             message="the designated body's record")
