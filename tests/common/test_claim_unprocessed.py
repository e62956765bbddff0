"""``claim_unprocessed``: a batch's idempotency in one statement (delivery is at-least-once; issue 3
"batching, done safely"), on SQLite and on the real PostgreSQL — new events are claimed in order,
redelivered and repeated ones are duplicates, and on PostgreSQL a second replica claiming the same
event while the first has not committed waits for it, then sees a duplicate (no primary-key failure).
An id arriving again with another content digest is a conflict, not a duplicate (issue 14)."""
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from services.common.db import ProcessedEvent, claim_unprocessed


def _event(event_id, event_type="evidence.recorded", digest=None):
    return SimpleNamespace(event_id=event_id, event_type=event_type, digest=digest)


@pytest.fixture
def engine(service_engine):
    return service_engine("records")


def test_new_events_are_claimed_in_order_and_redeliveries_are_duplicates(engine):
    first = [_event("a"), _event("b"), _event("a"), _event("c", "case.opened")]
    with Session(engine) as session, session.begin():
        fresh, duplicates, _ = claim_unprocessed(session, first, "records.on_x")
    assert [(name, e.event_id) for name, e in fresh] == [("records.on_x", "a"), ("records.on_x", "b"),
                                                         ("records.on_x", "c")]
    assert duplicates == {"a"}          # repeated within the batch: applied once
    again = [_event("b"), _event("d"), _event("c", "case.opened")]
    with Session(engine) as session, session.begin():
        fresh, duplicates, _ = claim_unprocessed(session, again, ["records.on_x", "records.on_x", "records.on_y"])
    # c was applied by on_x, not by on_y: each consumer keeps its own rows
    assert [(name, e.event_id) for name, e in fresh] == [("records.on_x", "d"), ("records.on_y", "c")]
    assert duplicates == {"b"}
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 5


def test_a_large_batch_is_claimed_whole(engine):
    """More rows than SQLite takes parameters in one statement (ZHIFA_BATCH_SIZE may be large)."""
    events = [_event(f"e{i}") for i in range(9000)]
    with Session(engine) as session, session.begin():
        fresh, duplicates, _ = claim_unprocessed(session, events + events[:10], "records.on_x")
    assert [e.event_id for _, e in fresh] == [e.event_id for e in events] and len(duplicates) == 10


def test_a_rolled_back_batch_claims_nothing(engine):
    with Session(engine) as session:
        with session.begin():
            claim_unprocessed(session, [_event("x")], "records.on_x")
            session.rollback()
    with Session(engine) as session, session.begin():
        fresh, duplicates, _ = claim_unprocessed(session, [_event("x")], "records.on_x")
    assert [e.event_id for _, e in fresh] == ["x"] and not duplicates


def test_a_concurrent_claim_waits_for_the_first_commit_then_is_a_duplicate(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    with Session(engine) as first, Session(engine) as second:
        first.begin()
        fresh, _, _ = claim_unprocessed(first, [_event("r")], "records.on_x")
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
            fresh2, duplicates2, _ = claim_unprocessed(second, [_event("r"), _event("s")], "records.on_x")
    assert [e.event_id for _, e in fresh2] == ["s"] and duplicates2 == {"r"}


def test_same_id_with_other_content_is_a_conflict_and_unknown_content_a_duplicate(engine):
    """Issue 14: the digest is stored with the id and returned by the same statement for ids seen
    before; a different digest is a conflicting duplicate (also between two copies in one batch); a row
    without digest (written before the migration) or a copy without one is a plain duplicate."""
    with Session(engine) as session, session.begin():
        claim = claim_unprocessed(session, [_event("a", digest="d1"), _event("b", digest="d1"),
                                            _event("b", digest="d2"), _event("old")], "records.on_x")
    assert [e.event_id for _, e in claim.fresh] == ["a", "b", "old"]
    assert claim.duplicates == set()
    assert list(claim.conflicts) == [("records.on_x", "b", "d2")]
    assert claim.conflicts[("records.on_x", "b", "d2")].startswith("conflicting_duplicate: event b ")
    with Session(engine) as session, session.begin():
        claim = claim_unprocessed(session, [_event("a", digest="d1"), _event("a", digest="d9"), _event("old", digest="d3"),
                                            _event("b", digest=None), _event("c", digest="d4")], "records.on_x")
    assert [e.event_id for _, e in claim.fresh] == ["c"]
    assert claim.duplicates == {"a", "old", "b"}
    assert set(claim.conflicts) == {("records.on_x", "a", "d9")}
    # another consumer has its own rows: the same id is new there
    with Session(engine) as session, session.begin():
        claim = claim_unprocessed(session, [_event("a", digest="d9")], "records.on_y")
    assert [(n, e.event_id) for n, e in claim.fresh] == [("records.on_y", "a")] and not claim.conflicts
    with Session(engine) as session:
        assert session.get(ProcessedEvent, ("records.on_x", "a")).digest == "d1"


def test_conflicts_cost_no_extra_statement_on_postgresql(engine):
    """The hot path stays one round trip: a batch with redeliveries and a conflict is claimed by ONE
    statement on PostgreSQL (the stored digests come back with the INSERT's result)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads the digests of a batch's duplicates with a second query")
    from sqlalchemy import event as sa_event

    with Session(engine) as session, session.begin():
        claim_unprocessed(session, [_event("p", digest="d1"), _event("q", digest="d1")], "records.on_x")
    statements = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with Session(engine) as session, session.begin():
        claim = claim_unprocessed(session, [_event("p", digest="d1"), _event("q", digest="d2"), _event("n", digest="d1")],
                                  "records.on_x")
    assert len([s for s in statements if "processed_events" in s]) == 1
    assert [e.event_id for _, e in claim.fresh] == ["n"] and claim.duplicates == {"p"}
    assert set(claim.conflicts) == {("records.on_x", "q", "d2")}


def test_a_conflicting_copy_claimed_while_the_first_commits_is_still_a_conflict(engine):
    """Two replicas: the second's INSERT waits for the first's commit, then its statement snapshot does not
    see the row — the digest is read afterwards, so the conflict is still found (not taken as a duplicate)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    import time

    import eventlet

    threading = eventlet.patcher.original("threading")   # an OS thread: the waiting replica blocks in libpq
    results = {}
    with Session(engine) as first:
        first.begin()
        claim_unprocessed(first, [_event("w", digest="d1")], "records.on_x")

        def second_replica():
            with Session(engine) as second, second.begin():
                results["claim"] = claim_unprocessed(second, [_event("w", digest="d2"), _event("v", digest="d1")],
                                                     "records.on_x")

        thread = threading.Thread(target=second_replica)
        thread.start()
        time.sleep(0.5)                   # the second waits on the first's uncommitted row
        assert "claim" not in results
        first.commit()
        thread.join(30)
    claim = results["claim"]
    assert [e.event_id for _, e in claim.fresh] == ["v"] and not claim.duplicates
    assert set(claim.conflicts) == {("records.on_x", "w", "d2")}
