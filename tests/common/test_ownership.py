"""Case ownership (SEC-2, PLAT-8; issue 14): the namespace rule, transfers taking effect at their
time whatever the order they arrive in, and ``screen`` on a service database (SQLite and
PostgreSQL) — the one check records, review, disclosure and evaluation apply before any effect."""
import datetime as dt
import itertools

import pytest
from sqlalchemy.orm import Session

from services.common import ownership
from services.common.events import parse_event
from tests.integration import events as ev

CHINA = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 11, 23, 9, tzinfo=CHINA)
A = ev.BODY
B = {"region_code": "320481", "body_id": "320481-SCJG", "system": "ly-scjg-system"}
C = {"region_code": "320413", "body_id": "320413-SCJG", "system": "jt-scjg-system"}
CASE = "320412-SCJG-2026-00001"


def transfer(case_id, frm, to, at, event_id=None):
    return parse_event(ev.case_transferred(case_id, to, body=frm, at=at, event_id=event_id))


def evidence(case_id, body, at, n=1):
    return parse_event(ev.evidence(case_id, n=n, body=body, at=at))


def test_sec2_a_case_id_belongs_to_the_body_it_is_namespaced_by():
    assert ownership.in_namespace("320412-SCJG", "320412-SCJG-2026-00001")
    assert ownership.in_namespace("320412-SCJG", "320412-SCJG:2026-1")
    assert not ownership.in_namespace("320412-SCJG", "320412-SCJGX-1")     # another body's prefix
    assert not ownership.in_namespace("320412-SCJG", "320412-SCJG-")       # nothing after the separator
    assert not ownership.in_namespace("320481-SCJG", "320412-SCJG-2026-00001")
    assert not ownership.in_namespace("320412-SCJG", "C-2026-1")
    assert not ownership.in_namespace("", "-1") and not ownership.in_namespace("320412-SCJG", None)


def test_sec2_transfers_take_effect_at_their_time_in_a_chain_sent_by_each_owner_in_turn():
    first = ownership.transfer_of(transfer(CASE, A, B, T0 + dt.timedelta(hours=1)))
    second = ownership.transfer_of(transfer(CASE, B, C, T0 + dt.timedelta(hours=2)))
    forged = ownership.transfer_of(transfer(CASE, C, B, T0 + dt.timedelta(minutes=30)))  # C did not own it then
    for order in itertools.permutations([first, second, forged]):
        valid = ownership.chain(list(order))
        assert valid == [first, second]
        assert ownership.may_act(A["body_id"], CASE, T0, valid)
        assert not ownership.may_act(B["body_id"], CASE, T0, valid)
        assert ownership.may_act(B["body_id"], CASE, T0 + dt.timedelta(hours=1), valid)
        assert not ownership.may_act(A["body_id"], CASE, T0 + dt.timedelta(hours=1), valid)
        assert ownership.may_act(C["body_id"], CASE, T0 + dt.timedelta(hours=3), valid)
    # the second link alone (the first not yet received) does not count
    assert ownership.chain([second]) == []


@pytest.fixture
def engine(service_engine):
    return service_engine("records")


def test_sec2_screen_accepts_only_the_owner_at_each_event_time_in_every_arrival_order(engine):
    """SEC-2, SEC-6: the owner's record dated before its transfer is accepted whenever it arrives;
    the new body's record dated after the transfer is accepted once the transfer is known (in the
    same batch or stored before), and waits otherwise; a third body never."""
    moved = T0 + dt.timedelta(hours=1)
    handover = transfer(CASE, A, B, moved)
    a_before = evidence(CASE, A, T0 + dt.timedelta(minutes=10), n=1)
    b_after = evidence(CASE, B, moved + dt.timedelta(minutes=10), n=2)
    a_after = evidence(CASE, A, moved + dt.timedelta(minutes=20), n=3)
    third = evidence(CASE, C, moved + dt.timedelta(minutes=30), n=4)
    for batch in itertools.permutations([handover, a_before, b_after, third]):
        with Session(engine) as session:
            result = ownership.screen(session, list(batch))
        assert {e.event_id for e in result.accepted} == {handover.event_id, a_before.event_id, b_after.event_id}
        assert set(result.waiting) == {third.event_id}
        assert result.waiting[third.event_id].startswith(ownership.OWNED_BY_OTHER)
    # across batches: before the transfer is stored, the new owner's event waits; after, it is accepted
    with Session(engine) as session:
        assert set(ownership.screen(session, [b_after, a_before]).waiting) == {b_after.event_id}
    with Session(engine) as session, session.begin():
        ownership.record_transfer(session, handover, dt.datetime.now(dt.timezone.utc))
    with Session(engine) as session:
        result = ownership.screen(session, [b_after, a_before, a_after])
        assert set(result.waiting) == {a_after.event_id}        # the old owner, after it handed the case over
        assert ownership.current_owner(session, CASE).to_body == B["body_id"]


def test_sec2_events_zhifa_services_emit_and_case_less_events_are_not_screened(engine):
    from services.common.db import make_envelope

    internal = parse_event(make_envelope("review.classified", {
        "version": 1, "major": True, "fired_rules": [], "fired": [], "sign_off_required": False,
        "catalogue_digest": "x", "source": "proposal"}, source_system="zhifa.review", region_code="320481",
        body_id="320481-SCJG", case_id=CASE))
    registry = parse_event(ev.envelope("body.registered", {"body_id": B["body_id"], "name": "临溧市场监管局",
                                                           "kind": "department", "region_code": "320481"}, body=B))
    with Session(engine) as session:
        result = ownership.screen(session, [internal, registry])
    assert result.accepted == [internal, registry] and not result.waiting
