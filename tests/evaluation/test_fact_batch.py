"""A batch's ``unique`` facts are checked against ONE read of its cases' stored fact keys
(``store.preload_fact_keys``; issue 3, the suite at 1,000 case events/s): a fact already stored,
or stored by an earlier event of the same batch, is skipped exactly as one query per fact would
skip it (each enforcement action and case counted once), without a query per fact. A throughput
property of the plumbing (issue 3), not a proof of an EVAL requirement. On SQLite and PostgreSQL."""
import datetime as dt

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.events import parse_event
from services.evaluation.facts_map import NewFact
from services.evaluation.models import Fact
from services.evaluation.store import insert_facts, preload_fact_keys
from tests.integration import events as ev

DAY = dt.date(2026, 11, 23)


@pytest.fixture
def engine(service_engine):
    return service_engine("evaluation")


def _facts(event):
    """Two officers' copies of one unique fact: stored together, or skipped together."""
    return [NewFact("enforcement_action", DAY, officer_id=o, ref=event.case_id, unique=True) for o in ("o-1", "o-2")]


def test_a_batch_skips_facts_already_stored_without_a_query_per_fact(engine):
    first, again, new, new_again = (parse_event(ev.decision_made(c)) for c in ("F-1", "F-1", "F-2", "F-2"))
    with Session(engine) as session, session.begin():
        insert_facts(session, first, _facts(first))                    # stored by an earlier batch
    seen = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    with Session(engine) as session, session.begin():
        preload_fact_keys(session, [again, new, new_again])
        read = len(seen)
        stored = [insert_facts(session, e, _facts(e)) for e in (again, new, new_again)]
        assert [len(s) for s in stored] == [0, 2, 0]     # F-1 stored before; F-2 by this batch's first event
        assert not any(sql.lstrip().upper().startswith("SELECT") for sql in seen[read:])
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Fact)) == 4


def test_refs_the_batch_did_not_read_are_still_checked(engine):
    """A fact whose ref is not one of the batch's cases (a certificate year, a complaint number)."""
    event = parse_event(ev.decision_made("F-3"))
    fact = NewFact("certificate_valid", DAY, officer_id="o-1", ref="cert:o-1:2026", unique=True)
    with Session(engine) as session, session.begin():
        insert_facts(session, event, [fact])
    with Session(engine) as session, session.begin():
        preload_fact_keys(session, [event])
        assert insert_facts(session, event, [fact]) == []


def test_a_batch_checks_certificates_against_one_read_of_its_officers(engine):
    """PLAT-3: a decision's officers are checked against their certificate in force on the decision
    day. In a batch (``store.preload_officers``) the answer for every officer and day is the one the
    per-decision queries give — the latest status not after the day's end (ties: the later row), an
    officer never registered not judged — without a query per officer."""
    from services.evaluation.models import CertificateStatus, OfficerEntry
    from services.evaluation.store import Registry, preload_officers

    cst = dt.timezone(dt.timedelta(hours=8))
    with Session(engine) as session, session.begin():
        for officer, cert in (("o-1", "JS1"), ("o-2", "JS2"), ("o-3", None)):
            session.add(OfficerEntry(officer_id=officer, name="王执法", body_id="b1", region_code="320102",
                                     roles="officer", certificate_no=cert, event_id=f"e-{officer}",
                                     registered_on=dt.date(2025, 1, 1)))
        history = [("o-1", "valid", dt.datetime(2025, 1, 1, 9, tzinfo=cst), None),
                   ("o-1", "suspended", dt.datetime(2026, 11, 20, 23, 59, tzinfo=cst), None),
                   ("o-1", "valid", dt.datetime(2026, 11, 25, 0, 0, tzinfo=cst), dt.date(2026, 11, 30)),
                   ("o-2", "withdrawn", dt.datetime(2026, 11, 23, 10, tzinfo=cst), None),
                   ("o-2", "valid", dt.datetime(2026, 11, 23, 10, tzinfo=cst), None)]    # same instant: later row wins
        for i, (officer, status, at, until) in enumerate(history):
            session.add(CertificateStatus(officer_id=officer, certificate_no="JS", status=status, effective_from=at,
                                          valid_until=until, event_id=f"c-{i}"))
    officers = ("o-1", "o-2", "o-3", "o-unknown")
    days = [DAY + dt.timedelta(days=n) for n in range(-4, 10)]
    with Session(engine) as session:
        expected = {(o, d): Registry(session).certificate_valid(o, d) for o in officers for d in days}
    assert expected[("o-1", DAY)] is False and expected[("o-1", DAY + dt.timedelta(days=2))] is True
    assert expected[("o-1", DAY + dt.timedelta(days=8))] is False and expected[("o-unknown", DAY)] is None
    assert expected[("o-2", DAY)] is True
    seen = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    with Session(engine) as session:
        rows = preload_officers(session, officers)
        read = len(seen)
        assert {(o, d): Registry(session).certificate_valid(o, d) for o in officers for d in days} == expected
        assert seen[read:] == [] and len(rows) == 3 + len(history)


def test_a_batch_backfills_officers_from_one_read_of_its_cases(engine):
    """EVAL-6/EVAL-7: facts of a case that came before its decision (a bypassed review: no officers known
    then) get a copy per officer of the decision. In a batch the case's facts are read once
    (``store.preload_backfill``) and what the batch writes is added — the copies are the ones one query
    per decision makes: for facts stored before the batch, facts of an earlier event of the batch, and
    a second decision of the same case (no copy twice)."""
    from services.evaluation.store import backfill_case_officers, preload_backfill

    def bypassed(case_id):
        event = parse_event(ev.decision_made(case_id))
        return event, [NewFact("review_bypassed", DAY, ref=event.case_id, unique=True)]

    outcome = {}
    for mode in ("batch", "one"):
        early, early_facts = bypassed(f"{mode}-K-1")
        with Session(engine) as session, session.begin():
            insert_facts(session, early, early_facts)                    # stored by an earlier batch
        later, later_facts = bypassed(f"{mode}-K-2")
        cases = [early.case_id, later.case_id]
        with Session(engine) as session, session.begin():
            if mode == "batch":
                preload_fact_keys(session, [early, later])
                preload_backfill(session, cases)
            insert_facts(session, later, later_facts)
            added = [backfill_case_officers(session, cases[0], ["o-1", "o-2"]),
                     backfill_case_officers(session, cases[1], ["o-1"]),
                     backfill_case_officers(session, cases[1], ["o-3"]),     # a second decision: copies exist
                     backfill_case_officers(session, cases[0], ["o-1", "o-2"])]
        with Session(engine) as session:
            rows = session.execute(select(Fact.ref, Fact.officer_id).where(Fact.ref.in_(cases))).all()
        outcome[mode] = (added, sorted((ref.rsplit("-", 1)[1], officer or "") for ref, officer in rows))
    assert outcome["batch"] == outcome["one"]
    assert outcome["one"][0] == [2, 1, 0, 0]
