"""``claim_unprocessed``: a batch's idempotency in one statement (delivery is at-least-once; issue 3
"batching, done safely"), on SQLite and on the real PostgreSQL — new events are claimed in order,
redelivered and repeated ones are duplicates, and on PostgreSQL a second replica claiming the same
event while the first has not committed waits for it, then sees a duplicate (no primary-key failure)."""
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from services.common.db import ProcessedEvent, claim_unprocessed


def _event(event_id, event_type="evidence.recorded"):
    return SimpleNamespace(event_id=event_id, event_type=event_type)


@pytest.fixture
def engine(service_engine):
    return service_engine("records")


def test_new_events_are_claimed_in_order_and_redeliveries_are_duplicates(engine):
    first = [_event("a"), _event("b"), _event("a"), _event("c", "case.opened")]
    with Session(engine) as session, session.begin():
        fresh, duplicates = claim_unprocessed(session, first, "records.on_x")
    assert [(name, e.event_id) for name, e in fresh] == [("records.on_x", "a"), ("records.on_x", "b"),
                                                         ("records.on_x", "c")]
    assert duplicates == {"a"}          # repeated within the batch: applied once
    again = [_event("b"), _event("d"), _event("c", "case.opened")]
    with Session(engine) as session, session.begin():
        fresh, duplicates = claim_unprocessed(session, again, ["records.on_x", "records.on_x", "records.on_y"])
    # c was applied by on_x, not by on_y: each consumer keeps its own rows
    assert [(name, e.event_id) for name, e in fresh] == [("records.on_x", "d"), ("records.on_y", "c")]
    assert duplicates == {"b"}
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 5


def test_a_large_batch_is_claimed_whole(engine):
    """More rows than SQLite takes parameters in one statement (ZHIFA_BATCH_SIZE may be large)."""
    events = [_event(f"e{i}") for i in range(9000)]
    with Session(engine) as session, session.begin():
        fresh, duplicates = claim_unprocessed(session, events + events[:10], "records.on_x")
    assert [e.event_id for _, e in fresh] == [e.event_id for e in events] and len(duplicates) == 10


def test_a_rolled_back_batch_claims_nothing(engine):
    with Session(engine) as session:
        with session.begin():
            claim_unprocessed(session, [_event("x")], "records.on_x")
            session.rollback()
    with Session(engine) as session, session.begin():
        fresh, duplicates = claim_unprocessed(session, [_event("x")], "records.on_x")
    assert [e.event_id for _, e in fresh] == ["x"] and not duplicates


def test_a_concurrent_claim_waits_for_the_first_commit_then_is_a_duplicate(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    with Session(engine) as first, Session(engine) as second:
        first.begin()
        fresh, _ = claim_unprocessed(first, [_event("r")], "records.on_x")
        assert [e.event_id for _, e in fresh] == ["r"]
        # the other replica, while the first has not committed: it waits (here: until its lock timeout)
        second.begin()
        second.execute(text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            claim_unprocessed(second, [_event("r"), _event("s")], "records.on_x")
        second.rollback()
        first.commit()
        # once the first committed, the same claim goes through and sees "r" as a duplicate
        with second.begin():
            fresh2, duplicates2 = claim_unprocessed(second, [_event("r"), _event("s")], "records.on_x")
    assert [e.event_id for _, e in fresh2] == ["s"] and duplicates2 == {"r"}
