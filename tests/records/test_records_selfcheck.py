"""The ledger's self-check against the stored signed tree heads, on SQLite and PostgreSQL without a
broker (REC-4, issue 14 defect 3): a rewritten-and-rehashed entry stops signing and appending at the
next start, with the inconsistent range recorded; a running process also catches a rewrite of the
unsigned tail; a repaired log is accepted again."""
from __future__ import annotations

import contextlib

import pytest
from nameko import config as nameko_config
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from services.common.events import parse_event
from services.records import ingest
from services.records import metrics as rec_metrics
from services.records.domain.merkle import leaf_hash
from services.records.ledger import Ledger, SelfCheckFailed
from services.records.models import LogEntry, SelfCheck, TreeHeadRow
from tests.integration import events as ev


class _Db:
    def __init__(self, engine):
        self.engine = engine

    @contextlib.contextmanager
    def session(self):
        with Session(self.engine, expire_on_commit=False, info={"service": "records"}) as session:
            with session.begin():
                yield session


@pytest.fixture
def db(service_engine):
    with nameko_config.patch({"ZHIFA_RECORDS_SIGNING_KEY": "7" * 64, "ZHIFA_RECORDS_SELF_CHECK_RETRY": 0},
                             clear=False):
        yield _Db(service_engine("records"))


def apply(db, ledger, envelopes):
    events = [parse_event(e) for e in envelopes]
    with ledger.appending(db) as session:
        return ingest.apply_events(session, ledger, events, "records.test", prepared=ingest.prepare_events(events))


def sign(db, ledger):
    with ledger.appending(db) as session:
        return ledger.sign_head(session, "test")


def rewrite_and_rehash(db, sequence):
    """What the insider did: change an entry and recompute its stored leaf hash."""
    with db.session() as session:
        row = session.get(LogEntry, sequence)
        forged = row.canonical.replace('"investigation"', '"initiation"', 1)
        assert forged != row.canonical
        session.execute(update(LogEntry).where(LogEntry.sequence == sequence).values(
            canonical=forged, leaf_hash=leaf_hash(forged.encode()).hex()))


def heads(db):
    with db.session() as session:
        return list(session.scalars(select(TreeHeadRow.tree_size).order_by(TreeHeadRow.tree_size)))


def checks(db):
    with db.session() as session:
        return session.scalars(select(SelfCheck).order_by(SelfCheck.checked_at)).all()


def test_rec4_issue14_rewritten_and_rehashed_entry_stops_signing_and_appending_at_the_next_start(db):
    """REC-4 / issue 14 defect 3: before the fix the rebuilt tree was signed as it was — here the
    restarted ledger refuses to append or sign, records the failed check with its range, and the
    stored heads are unchanged. With the entry restored, the next check passes and appends resume."""
    ledger = Ledger()
    apply(db, ledger, [ev.case_opened("S-1")] + [ev.evidence("S-1", n=i) for i in range(6)])
    first = sign(db, ledger)
    apply(db, ledger, [ev.evidence("S-1", n=i) for i in range(6, 9)])
    second = sign(db, ledger)
    assert (first.tree_size, second.tree_size) == (7, 10)
    with db.session() as session:
        original = session.get(LogEntry, 3).canonical
    rewrite_and_rehash(db, 3)

    restarted = Ledger()                       # a new process: the tree is rebuilt from the stored hashes
    with pytest.raises(SelfCheckFailed) as refused:
        apply(db, restarted, [ev.evidence("S-1", n=20)])
    assert "0..6" in str(refused.value)         # entry 3 lies before the first head (size 7)
    with pytest.raises(SelfCheckFailed):
        sign(db, restarted)
    assert heads(db) == [7, 10]                 # nothing signed
    with db.session() as session:
        assert session.scalar(select(LogEntry.sequence).order_by(LogEntry.sequence.desc()).limit(1)) == 9
    assert rec_metrics.SELF_CHECK_FAILED._value.get() == 1
    [row] = [c for c in checks(db) if not c.ok]
    assert (row.first_sequence, row.last_sequence) == (0, 6) and row.heads_checked == 2
    assert "序号 0 至 6" in row.summary and row.problems[0]["kind"] == "root_mismatch"

    # the operator restores the entry: the next check (retry interval 0 here) passes and appends resume
    with db.session() as session:
        session.execute(update(LogEntry).where(LogEntry.sequence == 3).values(
            canonical=original, leaf_hash=leaf_hash(original.encode()).hex()))
    apply(db, restarted, [ev.evidence("S-1", n=20)])
    assert restarted.size == 11 and rec_metrics.SELF_CHECK_FAILED._value.get() == 0
    assert sign(db, restarted).tree_size == 11


def test_rec4_issue14_running_process_catches_a_rewrite_of_the_unsigned_tail(db):
    """Entries after the newest head have no signature yet: a process that appended them still knows
    their leaf hashes — its periodic check finds the rewrite and it stops signing, even after its tree
    is rebuilt from the database."""
    ledger = Ledger()
    apply(db, ledger, [ev.case_opened("S-2")] + [ev.evidence("S-2", n=i) for i in range(3)])
    sign(db, ledger)
    apply(db, ledger, [ev.evidence("S-2", n=i) for i in range(3, 6)])
    rewrite_and_rehash(db, 5)                  # after the head of size 4: no head covers it
    result = ledger.periodic_check(db)
    assert not result.ok and result.range == (5, 5) and result.problems[0].kind.value == "leaves_changed"
    for _ in range(2):                          # the rebuild from the database does not forget it
        with pytest.raises(SelfCheckFailed):
            sign(db, ledger)
    assert heads(db) == [4]


def test_rec4_issue14_a_head_row_altered_or_deleted_is_a_failed_check(db):
    ledger = Ledger()
    apply(db, ledger, [ev.case_opened("S-3")] + [ev.evidence("S-3", n=i) for i in range(3)])
    sign(db, ledger)
    apply(db, ledger, [ev.evidence("S-3", n=3)])
    sign(db, ledger)
    with db.session() as session:               # the newest head's root replaced: its signature fails
        session.execute(update(TreeHeadRow).where(TreeHeadRow.tree_size == 5).values(root_hash="00" * 32))
    with pytest.raises(SelfCheckFailed) as refused:
        apply(db, Ledger(), [ev.evidence("S-3", n=4)])
    assert refused.value.result.problems[0].kind.value == "bad_signature"
    with db.session() as session:               # … and deleted: the running process saw it
        session.execute(text("DELETE FROM tree_heads WHERE tree_size = 5"))
    with pytest.raises(SelfCheckFailed) as refused:
        sign(db, ledger)
    assert refused.value.result.problems[0].kind.value == "heads_withdrawn"
