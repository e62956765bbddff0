"""Order-independent rules (issue 14; REV-2, REC-1, REC-3, DISC-6, PLAT-8): one case's events applied in
hundreds of seeded random orders THROUGH THE REAL HANDLERS (``tests/handlers.py``: the services'
nameko entrypoint methods, their ``DatabaseAccess``, migrated SQLite databases) end in the same state
as the same events applied in order — review's gate (violations, classifications, open tasks, the
``review.bypassed`` events), records' completeness (open gaps, refusals, case facts) and disclosure's
publications (status, take-down reason, links).

Queues give no order across event types; a sender's retry may deliver an event twice, with its id or
with a new one; a ``decision.proposed`` may never come. Each scenario lists a case's events; every
permutation applies them to a fresh case id (the case ids of one run share the databases), and the
state of that case is compared with the in-order reference — which is itself asserted, so the test
cannot pass on a state that is wrong in every order.
"""
from __future__ import annotations

import copy
import datetime as dt
import random
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import OutboxMessage, make_engine
from services.common.migrations import upgrade
from tests.handlers import Deliverer
from tests.integration import events as ev

CHINA = dt.timezone(dt.timedelta(hours=8))
BASE = dt.datetime.now(CHINA).replace(microsecond=0) - dt.timedelta(days=3)
RNG_SEED = 14
ORDERS_PER_SCENARIO = 60


def at(hours: float) -> str:
    return (BASE + dt.timedelta(hours=hours)).isoformat()


@pytest.fixture
def engines(tmp_path):
    made = {}

    def engine(service):
        if service not in made:
            url = f"sqlite:///{tmp_path / (service + '.db')}"
            upgrade(service, url)
            made[service] = make_engine(url)
        return made[service]

    yield engine
    for e in made.values():
        e.dispose()


# --- a case's events ------------------------------------------------------------------------------------

def _env(event_type, payload, hours):
    return ev.envelope(event_type, payload, "CASE", at=BASE + dt.timedelta(hours=hours))


def opened(hours=0):
    e = ev.case_opened("CASE")
    e["payload"]["opened_at"] = at(hours)
    e["occurred_at"] = at(hours)
    return e


def evidence(n, hours, **extra):
    e = ev.evidence("CASE", n)
    e["payload"].update({"recorded_at": at(hours), "started_at": at(hours), "ended_at": at(hours + 0.2), **extra})
    e["occurred_at"] = at(hours)
    return e


def proposed(version, fine, party, hours, **extra):
    e = ev.decision_proposed("CASE", fine=fine, party=party, version=version)
    e["payload"].update({"proposed_at": at(hours), **extra})
    e["occurred_at"] = at(hours)
    return e


def made(version, fine, party, hours, decision_no="武市监罚〔2026〕188号"):
    e = ev.decision_made("CASE", party=party, version=version, fine=fine,
                         facts="经查，当事人销售过期食品，事实清楚。")
    e["payload"].update({"decided_at": at(hours), "decision_no": decision_no})
    e["occurred_at"] = at(hours)
    return e


def revoked(hours, reason="revoked"):
    return _env("decision.revoked", {"reason": reason, "by": "reconsideration", "decided_at": at(hours),
                                     "note": "行政复议决定撤销"}, hours)


def copy_of(envelope, new_id: bool):
    """A second delivery: the same envelope (a redelivery), or the same content under a new event id
    (a sender's retry that chose a new id)."""
    again = copy.deepcopy(envelope)
    if new_id:
        again["event_id"] = str(uuid.uuid4())
    return again


LEGAL, NATURAL = ev.legal_party(), ev.natural_party()


def for_case(events, case_id):
    """The scenario's events for one case id, with fresh event ids (copies keep their pairing)."""
    ids: dict[str, str] = {}
    out = []
    for e in events:
        e = copy.deepcopy(e)
        e["case_id"] = case_id
        e["event_id"] = ids.setdefault(e["event_id"], str(uuid.uuid4()))
        if e["event_type"] == "decision.made":
            e["payload"]["decision_no"] = f"{e['payload']['decision_no']}-{case_id[-8:]}"
        out.append(e)
    return out


def orders(events, n, rng):
    """The in-order list first, then ``n`` seeded random permutations (index lists)."""
    yield list(range(len(events)))
    for _ in range(n):
        order = list(range(len(events)))
        rng.shuffle(order)
        yield order


def run(deliverer, scenario, prefix, state_of, rng, n=ORDERS_PER_SCENARIO):
    """Apply the scenario in order and in ``n`` random orders; return the reference state and assert
    every order ends in it."""
    reference = None
    for i, order in enumerate(orders(scenario, n, rng)):
        case_id = f"{ev.BODY['body_id']}-{prefix}-{i:03d}"
        events = for_case(scenario, case_id)
        for k in order:
            deliverer.deliver(events[k])
        state = state_of(case_id)
        if reference is None:
            reference = state
        else:
            assert state == reference, (f"{prefix}: order {[scenario[k]['event_type'] for k in order]} "
                                        f"ended in {state}, in order: {reference}")
    return reference


def emitted(engine, case_id, event_type):
    import json

    with Session(engine) as session:
        return [json.loads(m.envelope)["payload"] for m in session.scalars(
            select(OutboxMessage).where(OutboxMessage.event_type == event_type))
            if json.loads(m.envelope).get("case_id") == case_id]


# --- review: the gate (REV-2) -------------------------------------------------------------------------

def review_state(engine):
    from services.review.models import Classification, ReviewTask, Violation

    def state(case_id):
        with Session(engine) as session:
            violations = sorted((v.version, v.kind) for v in session.scalars(
                select(Violation).where(Violation.case_id == case_id)))
            classes = {c.version: (c.major, tuple(c.fired_rules or ()), c.source) for c in session.scalars(
                select(Classification).where(Classification.case_id == case_id))}
            pending = sorted(t.version for t in session.scalars(
                select(ReviewTask).where(ReviewTask.case_id == case_id, ReviewTask.pending.is_(True))))
        bypassed = sorted((p["version"], p["violation"]) for p in emitted(engine, case_id, "review.bypassed"))
        return {"violations": violations, "bypassed_events": bypassed, "classifications": classes,
                "pending_tasks": pending}

    return state


REVIEW_SCENARIOS = {
    # a major proposal decided without review; the decision delivered twice more (same id, new id)
    "RV-MAJOR": ([proposed(1, "200000.00", LEGAL, 30), evidence(1, 2),
                  made(1, "200000.00", NATURAL, 40)], {2: [False, True]}),
    # v1 major, v2 proposed below the threshold, v2 decided with a bigger fine than proposed
    "RV-V2": ([proposed(1, "200000.00", LEGAL, 30), proposed(2, "50000.00", LEGAL, 35),
               made(2, "150000.00", LEGAL, 40)], {2: [True]}),
    # decision.proposed never comes
    "RV-NOPROP": ([evidence(1, 2), made(1, "200000.00", NATURAL, 40)], {1: [False, True]}),
    # a minor case: no violation, no task, whatever the order
    "RV-MINOR": ([proposed(1, "5000.00", LEGAL, 30), made(1, "5000.00", LEGAL, 40)], {1: [True]}),
}

REVIEW_EXPECTED = {
    "RV-MAJOR": {"violations": [(1, "not_reviewed")], "bypassed_events": [(1, "not_reviewed")],
                 "classifications": {1: (True, ("amount.fine",), "proposal")}, "pending_tasks": []},
    "RV-V2": {"violations": [(2, "not_reviewed")], "bypassed_events": [(2, "not_reviewed")],
              "classifications": {1: (True, ("amount.fine",), "proposal"), 2: (True, ("amount.fine",), "proposal")},
              "pending_tasks": []},
    "RV-NOPROP": {"violations": [(1, "not_reviewed")], "bypassed_events": [(1, "not_reviewed")],
                  "classifications": {1: (True, ("amount.fine",), "decision")}, "pending_tasks": []},
    "RV-MINOR": {"violations": [], "bypassed_events": [], "classifications": {1: (False, (), "proposal")},
                 "pending_tasks": []},
}


def with_copies(events, copies):
    """The scenario's events plus the extra deliveries: ``{index: [new_id, …]}``."""
    out = list(events)
    for index, kinds in copies.items():
        out += [copy_of(events[index], new_id) for new_id in kinds]
    return out


def test_rev2_gate_is_the_same_for_every_arrival_order_through_the_review_handlers(engines):
    """REV-2, issue 14: a major decision with no approved review is flagged exactly once (one violation,
    one ``review.bypassed``) whichever of decision.proposed / decision.made comes first, with duplicate
    deliveries under the same or a new event id, and with decision.proposed missing; a proposal arriving
    after its decision opens no task; a decision beyond what was proposed (a bigger fine) is major.
    240 seeded random orders, each compared with the in-order outcome."""
    from services.review.service import ReviewService

    engine = engines("review")
    deliverer = Deliverer(ReviewService, engine)
    rng = random.Random(RNG_SEED)
    for name, (events, copies) in REVIEW_SCENARIOS.items():
        reference = run(deliverer, with_copies(events, copies), name, review_state(engine), rng)
        assert reference == REVIEW_EXPECTED[name], name


# --- records: completeness and plausibility (REC-1, REC-3) ------------------------------------------

def classified(version, major, hours):
    e = ev.envelope("review.classified", {"version": version, "major": major,
                                          "fired_rules": ["amount.fine"] if major else [], "source": "proposal"},
                    "CASE", body={**ev.BODY, "system": "zhifa.review"}, at=BASE + dt.timedelta(hours=hours))
    return e


def records_state(engine):
    from services.records import store
    from services.records.models import Case, RefusedEvent

    def state(case_id):
        with Session(engine) as session:
            case = session.get(Case, case_id)
            refusals = sorted((r.event_type, r.reason.split(":")[0]) for r in session.scalars(
                select(RefusedEvent).where(RefusedEvent.case_id == case_id)))
            counted = sorted(sorted((k, str(v)) for k, v in r.items()) for r in store.case_records(session, case_id))
            timeline = sorted((r.event_type, r.occurred_at.isoformat()) for r in store.timeline(session, case_id))
            return {"stage": case.stage, "action_type": case.action_type, "facts": case.facts,
                    "open_gaps": sorted(g["code"] for g in case.open_gaps or ()), "refusals": refusals,
                    "counted": counted, "timeline": timeline}

    return state


RECORDS_SCENARIOS = {
    # a major case: evidence, one record dated before the opening, a proposal asking for a hearing,
    # review's classification, the decision (twice), its service
    "RC-MAJOR": ([opened(0), evidence(1, 2), evidence(2, -3),
                  proposed(1, "200000.00", LEGAL, 30, hearing_requested=True),
                  classified(1, True, 31), made(1, "200000.00", NATURAL, 40),
                  _env("decision.served", {"served_at": at(45), "method": "direct"}, 45)], {5: [True]}),
    # the proposal never comes; a record dated before the opening
    "RC-NOPROP": ([opened(0), evidence(1, 2), evidence(2, -2), made(1, "5000.00", LEGAL, 40)], {}),
}


def test_rec1_rec3_records_completeness_and_refusals_are_the_same_for_every_arrival_order(engines):
    """REC-1, REC-3, issue 14: through the records handlers, in 200 seeded random orders, a case ends
    with the same open gaps, facts, stage, timeline and counted records as in order: review's
    classification arriving after the decision still asks for the legal-review opinion; a proposal
    asking for a hearing after the file was found complete reopens it; a record dated before the case
    opened is refused (``recorded_before_case_opened``) when it arrives after case.opened and
    retracted when case.opened arrives after it — in both, it does not count."""
    from services.records.ledger import Ledger
    from services.records.service import RecordsService

    engine = engines("records")
    deliverer = Deliverer(RecordsService, engine, ledger=Ledger())
    rng = random.Random(RNG_SEED)
    references = {name: run(deliverer, with_copies(events, copies), name, records_state(engine), rng, n=100)
                  for name, (events, copies) in RECORDS_SCENARIOS.items()}
    major, noprop = references["RC-MAJOR"], references["RC-NOPROP"]
    assert major["refusals"] == [("evidence.recorded", "recorded_before_case_opened")]
    assert noprop["refusals"] == [("evidence.recorded", "recorded_before_case_opened")]
    assert major["facts"]["is_major"] is True and major["facts"]["hearing_requested"] is True
    assert {"legal_review_opinion", "hearing_record"} <= set(major["open_gaps"]), major["open_gaps"]
    assert (noprop["facts"] or {}).get("is_major") is None and "legal_review_opinion" not in noprop["open_gaps"]
    assert len([t for t in major["timeline"] if t[0] == "evidence.recorded"]) == 1


# --- disclosure: publication, take-downs, links (DISC-3, DISC-6) -----------------------------------------

def disclosure_state(engine):
    from services.disclosure.models import Publication

    def state(case_id):
        with Session(engine) as session:
            rows = session.scalars(select(Publication).where(Publication.case_id == case_id)).all()
            version = {r.publication_id: r.version for r in rows}
            return sorted((r.version, r.status, r.withdrawal_reason, version.get(r.replaces),
                           version.get(r.replaced_by), bool(r.hold_reason)) for r in rows)

    return state


DISCLOSURE_SCENARIOS = {
    # a decision revoked on reconsideration; the decision delivered again under a new id, the
    # revocation redelivered
    "DS-REVOKED": ([made(1, "5000.00", LEGAL, 40), revoked(41)], {0: [True], 1: [False]}),
    # ordered re-made: the original withdrawn as remade, the new decision linked to it
    "DS-REMADE": ([made(1, "5000.00", LEGAL, 40), revoked(41, reason="remade"),
                   made(2, "4000.00", LEGAL, 42, decision_no="武市监罚〔2026〕199号")], {}),
    # a decision withheld by law (state secret: never published) and revoked: cancelled, not withdrawn
    "DS-WITHHELD": ([made(1, "5000.00", LEGAL, 40), revoked(41)], {}),
}
DISCLOSURE_SCENARIOS["DS-WITHHELD"][0][0]["payload"]["secrecy"] = "state_secret"

DISCLOSURE_EXPECTED = {
    "DS-REVOKED": [(1, "withdrawn", "revoked", None, None, False)],
    "DS-REMADE": [(1, "withdrawn", "remade", None, 2, False), (2, "published", None, 1, None, False)],
    "DS-WITHHELD": [(1, "cancelled", "revoked", None, None, False)],
}


def test_disc6_publication_and_take_downs_are_the_same_for_every_arrival_order(engines):
    """DISC-3, DISC-6, issue 14: through the disclosure handlers, in 180 seeded random orders: a
    revocation arriving before its decision still takes it down (the decision is never left
    published); the revocation applies to the decision in force when it was decided, not to the latest
    one that happened to arrive; a re-made decision is linked to the withdrawn original whichever
    arrived first; a withheld decision revoked is cancelled, never published; duplicates change nothing."""
    from services.disclosure.service import DisclosureService

    engine = engines("disclosure")
    deliverer = Deliverer(DisclosureService, engine)
    rng = random.Random(RNG_SEED)
    for name, (events, copies) in DISCLOSURE_SCENARIOS.items():
        reference = run(deliverer, with_copies(events, copies), name, disclosure_state(engine), rng)
        assert reference == DISCLOSURE_EXPECTED[name], name
