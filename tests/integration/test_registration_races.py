"""PLAT-1 (issue 20): two registrations of one body handled at once, on the real PostgreSQL.

A make chaos pg-primary-kill round lost 4 and dead-lettered 6 body.registered events in review and
disclosure: after the outage's backlog two registrations of one body ran together, both read "no row"
(review's registry_bodies, disclosure's max(version) + 1) and both inserted; the second failed on the
key (IntegrityError), was retried as an error, and its budget was already spent by the outage's
transient delays — dead-lettered. Here the two registrations run through each service's real use case
(the handler's body: ``effect_of`` + the store), in two threads held at the race point: each waits,
just before its INSERT into the contested table, until the other is there too. Both must be applied,
once each, with one row (or one version per registration) and no error. The race point is found by
the statement, so the same test fails on the select-then-insert code (both read nothing, then both
insert: IntegrityError) and passes on the race-free one (INSERT … ON CONFLICT, then the row afresh).
"""
from __future__ import annotations

import threading
import types

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.db import DatabaseAccess, ProcessedEvent, make_engine
from services.common.entrypoints import is_transient
from services.common.events import parse_event
from services.common.migrations import upgrade
from tests.review import review_events as rev

pytestmark = pytest.mark.integration


def _review(db, event):
    from services.review.usecases import registry
    registry.body_registered(db, event)


def _disclosure(db, event):
    from services.disclosure.usecases import registry
    registry.body_registered(db, event)


def _evaluation(db, event):
    from services.evaluation.usecases import facts
    facts.register_body(db, event)


def _complaints(db, event):
    from services.complaints.usecases import registration
    registration.record_body(db, event)


def _review_rows(session, body_id):
    from services.review.models import BodyStaffing, RegistryBody
    return ([r.name for r in session.scalars(select(RegistryBody).where(RegistryBody.body_id == body_id))],
            session.scalar(select(func.count()).select_from(BodyStaffing)))


def _disclosure_rows(session, body_id):
    from services.disclosure.models import BeforeItem
    rows = session.scalars(select(BeforeItem).where(BeforeItem.kind == "body", BeforeItem.item_id == body_id)
                           .order_by(BeforeItem.version)).all()
    return [(r.version, r.content["name"], r.reason) for r in rows]


def _evaluation_rows(session, body_id):
    from services.evaluation.models import BodyEntry
    return [r.name for r in session.scalars(select(BodyEntry).where(BodyEntry.body_id == body_id))]


def _complaints_rows(session, body_id):
    from services.complaints.models import KnownBody
    return [r.name for r in session.scalars(select(KnownBody).where(KnownBody.body_id == body_id))]


CASES = {
    # service: (use case, the contested table, its rows after both registrations)
    "review": (_review, "registry_bodies", _review_rows),
    "disclosure": (_disclosure, "before_items", _disclosure_rows),
    "evaluation": (_evaluation, "bodies", _evaluation_rows),
    "complaints": (_complaints, "known_bodies", _complaints_rows),
}
NAMES = ("常州市武进区市场监督管理局", "常州市武进区市场监督管理局（更名）")


def _held_at_insert(engine, table: str, parties: int = 2):
    """Hold each thread before its first INSERT into ``table`` until ``parties`` threads are there."""
    barrier, seen = threading.Barrier(parties, timeout=15), set()

    @sa_event.listens_for(engine, "before_cursor_execute")
    def _hold(conn, cursor, statement, parameters, context, executemany):
        me = threading.get_ident()
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} ") and me not in seen:
            seen.add(me)
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
    return barrier


def _race(pg_admin, service: str, use_case, table: str, events: list, rows_of, subject_id: str, entrypoint: str):
    """Apply ``events`` concurrently through ``use_case`` on a fresh PostgreSQL database of ``service``,
    the threads held together before their INSERT into ``table``; assert the race was staged, no
    error, every event applied once; return ``rows_of(session, subject_id)``."""
    url = pg_admin()
    upgrade(service, url)
    engine = make_engine(url)
    barrier = _held_at_insert(engine, table, parties=len(events))
    provider = types.SimpleNamespace(engine=engine, service_name=service, case_ownership=True,
                                     outbox_nudge=threading.Event())
    errors: list[BaseException] = []

    def apply(event):
        try:
            use_case(DatabaseAccess(provider, f"{service}.{entrypoint}"), event)
        except BaseException as exc:        # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(e,)) for e in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not barrier.broken, "the registrations did not meet at the INSERT (the race was not staged)"
        assert errors == [], f"{service}: {errors!r} (transient: {[is_transient(e) for e in errors]})"
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == len(events)
            return rows_of(session, subject_id)
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", sorted(CASES))
def test_plat1_two_registrations_of_one_body_at_once_are_both_applied_without_a_key_violation(service, pg_admin):
    """PLAT-1: two body.registered of one body, applied concurrently through the real use case on
    PostgreSQL, held together at the INSERT → both applied (2 processed events), no IntegrityError nor any
    other error (nothing that would be retried or dead-lettered), one row for the body (disclosure: one
    version per registration, numbered 1 and 2)."""
    use_case, table, rows_of = CASES[service]
    events = [parse_event(rev.body(name=name)) for name in NAMES]
    rows = _race(pg_admin, service, use_case, table, events, rows_of, rev.BODY["body_id"], "on_body_registered")
    if service == "disclosure":
        assert [v for v, _, _ in rows] == [1, 2]
        assert {n for _, n, _ in rows} == set(NAMES)
        assert rows[0][2] == "登记" and rows[1][2] == "变更：name"
    elif service == "review":
        names, staffing_rows = rows
        assert len(names) == 1 and names[0] in NAMES
        assert staffing_rows <= 1
    else:
        assert len(rows) == 1 and rows[0] in NAMES


def _review_officer(db, event):
    from services.review.usecases import registry
    registry.officer_registered(db, event)


def _disclosure_officer(db, event):
    from services.disclosure.usecases import registry
    registry.officer_registered(db, event)


def _review_officer_rows(session, officer_id):
    from services.review.models import BodyStaffing, RegistryOfficer
    return ([r.name for r in session.scalars(select(RegistryOfficer).where(RegistryOfficer.officer_id == officer_id))],
            [(r.officers, r.reviewers) for r in session.scalars(select(BodyStaffing))])


def _disclosure_officer_rows(session, officer_id):
    from services.disclosure.models import BeforeItem, CertificateRecord
    rows = session.scalars(select(BeforeItem).where(BeforeItem.kind == "officer", BeforeItem.item_id == officer_id)
                           .order_by(BeforeItem.version)).all()
    return ([r.version for r in rows], session.scalar(select(func.count()).select_from(CertificateRecord)))


OFFICER_CASES = {
    "review": (_review_officer, "registry_officers", _review_officer_rows),
    "disclosure": (_disclosure_officer, "before_items", _disclosure_officer_rows),
}


@pytest.mark.parametrize("service", sorted(OFFICER_CASES))
def test_plat1_two_registrations_of_one_officer_at_once_are_both_applied(service, pg_admin):
    """PLAT-1: two officer.registered of one officer (a resend and a role change), applied concurrently
    through the real use case on PostgreSQL, held together at the INSERT → both applied, no error; review:
    one officer row and one staffing row counting it once; disclosure: versions 1 and 2, one certificate
    issuance."""
    use_case, table, rows_of = OFFICER_CASES[service]
    events = [parse_event(rev.officer("o-race", roles=roles, cert="JS00000001"))
              for roles in (("officer",), ("officer", "legal_reviewer"))]
    rows = _race(pg_admin, service, use_case, table, events, rows_of, "o-race", "on_officer_registered")
    if service == "review":
        names, staffing = rows
        assert len(names) == 1
        assert len(staffing) == 1 and staffing[0][0] == 1      # one officer, counted once
    else:
        versions, certificates = rows
        assert versions == [1, 2] and certificates == 1


def test_plat1_two_officers_naming_one_certificate_at_once_record_one_issuance(pg_admin):
    """PLAT-1, DISC-2: two officer.registered of different officers naming one certificate number, applied
    concurrently in disclosure on PostgreSQL, held together at the certificate INSERT → both applied, one
    issuance (发证) of the number — the count-then-insert recorded two."""
    from services.disclosure.models import ISSUANCE_REASON, CertificateRecord

    def issuances(session, number):
        return session.scalars(select(CertificateRecord.officer_id).where(
            CertificateRecord.certificate_no == number, CertificateRecord.reason == ISSUANCE_REASON)).all()

    events = [parse_event(rev.officer(officer, cert="JS00000002")) for officer in ("o-first", "o-second")]
    rows = _race(pg_admin, "disclosure", _disclosure_officer, "certificate_records", events, issuances,
                 "JS00000002", "on_officer_registered")
    assert len(rows) == 1 and rows[0] in ("o-first", "o-second")
