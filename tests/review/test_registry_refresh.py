"""REV-3 / PLAT-3 pre-checks re-run when an officer's registry data change (issue 17).

An ``officer.registered`` or ``certificate.status_changed`` re-runs the automatic pre-checks of the
pending review tasks whose current proposal names that officer. Until issue 17 it found them by locking
every pending task (``SELECT … WHERE pending FOR UPDATE``, the officers being inside the encrypted task
document): one officer event in 200 of the mix waited behind every batch holding any case's task. Now the
tasks' officers are listed in ``review_task_officers`` and registry changes and proposals are serialised per
officer, body and case (``store.hold_checked_data``). Proved here through the real use cases:

- an officer event does not wait for a task that does not name the officer (PostgreSQL: that task is
  locked by another transaction the whole time);
- a proposal computing its pre-checks while the officer's certificate is withdrawn never leaves its task
  passing on stale data, whatever the order the two commit in (PostgreSQL, the race staged);
- the list follows the current version's officers; a task written before migration 0008 (not listed) is
  still found, and listed from then on (SQLite and PostgreSQL).
"""
from __future__ import annotations

import threading
import time
import types

import pytest
from sqlalchemy import delete, event as sa_event, select, text, update
from sqlalchemy.orm import Session

from services.common.db import DatabaseAccess, make_engine
from services.common.events import parse_event
from services.common.migrations import upgrade
from services.review import store
from services.review.models import ReviewTask, TaskOfficer
from services.review.usecases import classification, registry
from tests.integration import events as ev
from tests.review import review_events as rev

WITHDRAWN_FROM = "2026-01-01T00:00:00+08:00"     # before every proposal of these tests


def _access(engine, entrypoint: str) -> DatabaseAccess:
    provider = types.SimpleNamespace(engine=engine, service_name="review", case_ownership=True,
                                     outbox_nudge=threading.Event())
    return DatabaseAccess(provider, f"review.{entrypoint}")


def _registered(engine, *officers, certified_from=None):
    """The body, and each officer registered with a valid certificate (PLAT-3), valid from 2025 or from
    ``certified_from[officer]``."""
    registry.body_registered(_access(engine, "on_body_registered"), parse_event(rev.body()))
    for n, officer_id in enumerate(officers):
        cert = f"JS{n + 1:08d}"
        registry.officer_registered(_access(engine, "on_officer_registered"),
                                    parse_event(rev.officer(officer_id, cert=cert)))
        registry.certificate_changed(_access(engine, "on_certificate_changed"),
                                     parse_event(rev.certificate(officer_id, cert, **(
                                         {"effective_from": certified_from[officer_id]}
                                         if officer_id in (certified_from or {}) else {}))))


def _propose(engine, case_id, officers, version=1):
    classification.decision_proposed(_access(engine, "on_decision_proposed"),
                                     parse_event(rev.proposal(case_id, version=version, officers=officers)))


def _withdraw(engine, officer_id, cert):
    registry.certificate_changed(_access(engine, "on_certificate_changed"), parse_event(
        rev.certificate(officer_id, cert, status="withdrawn", effective_from=WITHDRAWN_FROM, reason="违法执法")))


def _task(engine, case_id):
    with Session(engine) as session:
        row = session.scalars(select(ReviewTask).where(ReviewTask.case_id == case_id)).one()
        task = store.decode(row)
        links = sorted(session.scalars(select(TaskOfficer.officer_id).where(TaskOfficer.task_id == row.task_id)))
        officers_check = next(r for r in task.current.prechecks if r.code == "officers_qualified")
        return row, links, officers_check.outcome.value


@pytest.fixture
def pg_engine(pg_admin):
    url = pg_admin()
    upgrade("review", url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(service_engine):
    return service_engine("review")


def test_rev3_the_officer_list_follows_the_current_version_and_drives_the_recheck(engine):
    """REV-3 / PLAT-3: a task lists its current proposal's officers; a resubmission naming others moves the
    list; a certificate withdrawn for an officer of the current version fails the task's check, one of the
    previous version only is not looked at (SQLite and PostgreSQL)."""
    _registered(engine, "o-1", "o-2", "o-3")
    _propose(engine, "320412-SCJG-K-1", ("o-1", "o-2"))
    _, links, outcome = _task(engine, "320412-SCJG-K-1")
    assert links == ["o-1", "o-2"] and outcome == "pass"
    _propose(engine, "320412-SCJG-K-1", ("o-1", "o-3"), version=2)          # REV-4 送审 again, other officers
    row, links, outcome = _task(engine, "320412-SCJG-K-1")
    assert row.version == 2 and links == ["o-1", "o-3"] and outcome == "pass"

    with Session(engine) as session, session.begin():
        assert store.pending_tasks(session, officer_ids={"o-2"}) == []       # not named by the current version
        assert [r.case_id for r in store.pending_tasks(session, officer_ids={"o-3"})] == ["320412-SCJG-K-1"]
    _withdraw(engine, "o-3", "JS00000003")
    assert _task(engine, "320412-SCJG-K-1")[2] == "fail"


def test_rev3_a_task_written_before_the_officer_list_is_still_rechecked_and_listed(engine):
    """A task saved before migration 0008 has no officer list (``indexed_officers`` NULL): it may name
    anyone, so an officer event still re-runs its pre-checks — and lists it (SQLite and PostgreSQL)."""
    _registered(engine, "o-1", "o-2")
    _propose(engine, "320412-SCJG-K-7", ("o-1", "o-2"))
    with Session(engine) as session, session.begin():
        session.execute(delete(TaskOfficer))
        session.execute(update(ReviewTask).values(indexed_officers=None))
    _withdraw(engine, "o-2", "JS00000002")
    _, links, outcome = _task(engine, "320412-SCJG-K-7")
    assert outcome == "fail" and links == ["o-1", "o-2"]


def _finished_or_waiting(engine, thread, timeout: float = 20.0) -> bool:
    """Barrier: ``thread`` has finished, or another backend of this database waits for a lock."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            if not thread.is_alive() or conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar():
                return True
            conn.rollback()
            time.sleep(0.02)
    return False


def test_rev3_an_officer_event_does_not_wait_for_tasks_not_naming_the_officer(pg_engine):
    """issue 17: with another case's pending task locked by a transaction that stays open (a batch at work),
    an officer event for an officer that task does not name completes — and rechecks the task naming it.
    Before, it locked every pending task and waited for that transaction to end."""
    _registered(pg_engine, "o-1", "o-2", "o-3", "o-4")
    _propose(pg_engine, "320412-SCJG-K-A", ("o-1", "o-2"))
    _propose(pg_engine, "320412-SCJG-K-B", ("o-3", "o-4"))
    done = threading.Event()
    errors = []

    def withdraw():
        try:
            _withdraw(pg_engine, "o-3", "JS00000003")
        except BaseException as exc:     # noqa: BLE001 — reported below
            errors.append(exc)
        done.set()

    with Session(pg_engine) as holder, holder.begin():
        holder.scalars(select(ReviewTask).where(ReviewTask.case_id == "320412-SCJG-K-A").with_for_update()).one()
        worker = threading.Thread(target=withdraw)
        worker.start()
        finished = done.wait(20)        # the lock on K-A's task is still held here
    worker.join(30)
    assert finished, "the officer event waited for a task that does not name the officer"
    assert errors == []
    assert _task(pg_engine, "320412-SCJG-K-B")[2] == "fail" and _task(pg_engine, "320412-SCJG-K-A")[2] == "pass"


ACTED_AT = "2026-03-01T10:00:00+08:00"       # before o-2's certificate (valid from 2026-06-01)


def _withdrawal(engine):
    _withdraw(engine, "o-2", "JS00000002")


def _evidence_before_certification(engine):
    """o-2 collected evidence (调查取证) on 1 March, before their certificate was valid (PLAT-3 at the action)."""
    envelope = ev.evidence(CASE_R)
    envelope["payload"].update({"officer_ids": ["o-2"], "recorded_at": ACTED_AT, "started_at": ACTED_AT,
                                "ended_at": "2026-03-01T10:10:00+08:00"})
    event = parse_event(envelope)
    registry.case_action(_access(engine, "on_evidence_recorded"), event, "evidence.recorded",
                         event.payload["started_at"], event.payload["officer_ids"])


CASE_R = "320412-SCJG-K-R"
CHANGES = {"withdrawal": _withdrawal, "evidence": _evidence_before_certification}


@pytest.mark.parametrize("order", ["change_while_the_task_opens", "change_first"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_plat3_a_change_racing_a_proposal_never_leaves_its_task_passing(pg_engine, order, change):
    """PLAT-3 / REV-3, issue 17: what the officers check reads changes while a proposal naming the officer
    computes its pre-checks (through the real use cases, on PostgreSQL) — the officer's certificate is
    withdrawn (``withdrawal``), or evidence the officer collected before being certified arrives (``evidence``).
    ``change_while_the_task_opens``: the proposal has read the registry and the case and is held before it
    writes its new task; the change is let run until it has committed or waits for a lock; then the proposal
    commits. Whatever the order, the task ends with the officers check failing. Before issue 17 the change
    looked for the pending tasks without seeing the one being opened and left it passing."""
    # for ``evidence``, o-2 is certified from June: valid when proposing, not on 1 March
    _registered(pg_engine, "o-1", "o-2",
                certified_from={"o-2": "2026-06-01T00:00:00+08:00"} if change == "evidence" else None)
    errors: list[BaseException] = []
    at_insert, release = threading.Event(), threading.Event()
    proposer: list[int] = []

    @sa_event.listens_for(pg_engine, "before_cursor_execute")
    def _hold(conn, cursor, statement, parameters, context, executemany):
        if threading.get_ident() in proposer and statement.lstrip().upper().startswith("INSERT INTO REVIEW_TASKS "):
            at_insert.set()
            release.wait(30)

    def propose():
        proposer.append(threading.get_ident())
        try:
            _propose(pg_engine, CASE_R, ("o-1", "o-2"))
        except BaseException as exc:     # noqa: BLE001 — reported below
            errors.append(exc)

    def apply_change():
        try:
            CHANGES[change](pg_engine)
        except BaseException as exc:     # noqa: BLE001
            errors.append(exc)

    try:
        if order == "change_first":
            release.set()
            apply_change()
            propose()
        else:
            p = threading.Thread(target=propose)
            p.start()
            assert at_insert.wait(20), "the proposal did not reach its INSERT"
            w = threading.Thread(target=apply_change)
            w.start()
            staged = _finished_or_waiting(pg_engine, w)
            release.set()
            p.join(30)
            w.join(30)
            assert staged, "the change neither committed nor waited while the proposal was held"
    finally:
        release.set()
        sa_event.remove(pg_engine, "before_cursor_execute", _hold)
    assert errors == []
    assert _task(pg_engine, CASE_R)[2] == "fail"


def test_a_batch_holds_what_its_proposals_read_shared_and_the_cases_it_changes_exclusively(pg_engine):
    """issue 17: a case-traffic batch takes its locks in one statement before any task row — shared for the
    officers, body and case of each proposal, exclusive for the cases whose evidence or gap reports it
    records (a case both proposed and changed in the batch: exclusive)."""
    proposed = parse_event(rev.proposal("320412-SCJG-K-P", officers=("o-1", "o-2")))
    changed = parse_event(ev.evidence("320412-SCJG-K-E"))
    both = [parse_event(rev.proposal("320412-SCJG-K-B")), parse_event(ev.evidence("320412-SCJG-K-B"))]
    seen = []
    sa_event.listen(pg_engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    with Session(pg_engine) as session, session.begin():
        store.preload_batch(session, [proposed, changed, *both])
        modes = sorted(session.execute(text(
            "SELECT mode, count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
            "GROUP BY mode")).all())
    assert "pg_advisory" in seen[0] and sum("pg_advisory" in sql for sql in seen) == 1
    # shared: o-1, o-2, the body, K-P; exclusive: K-E, K-B (K-B's proposal reads o-1, o-2 and the body too)
    assert modes == [("ExclusiveLock", 2), ("ShareLock", 4)]
