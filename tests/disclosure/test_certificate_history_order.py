"""DISC-2 certificate check, PLAT-1 (issue 20): a certificate's history is the same for every arrival order
of its events, and a number has one issuance (发证) even when two registrations name it at once.

Registering an officer with a certificate number records the issuance; it was recorded only when the
number had no record yet, so a status change that overtook the registration (暂扣 before 登记 arrived)
suppressed the issuance, and a change on the day of issuance sorted by arrival. Now the issuance is one
row per number under a unique key (INSERT … ON CONFLICT) and sorts before the same day's changes.
Through the real handlers (tests/handlers.py), on SQLite and PostgreSQL."""
import datetime as dt
import itertools

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.common.migrations import upgrade
from services.disclosure import register
from services.disclosure.models import ISSUANCE_REASON, CertificateRecord
from services.disclosure.service import DisclosureService
from tests.disclosure import events as dev
from tests.handlers import Deliverer

NUMBER = "32041200123"
CHINA = dt.timezone(dt.timedelta(hours=8))
REGISTERED = dt.datetime(2026, 3, 2, 9, tzinfo=CHINA)


def history(engine, number=NUMBER, today=dt.date(2026, 6, 1)) -> dict:
    with Session(engine) as session:
        answer = register.verify(session, number, today)
    return {k: answer[k] for k in ("found", "valid", "status", "since", "history")}


def test_disc2_plat1_certificate_history_is_the_same_for_every_arrival_order(service_engine):
    """All 24 orders of registration, a suspension the same day, reinstatement, withdrawal — each order
    on its own certificate number (and officer) in one database."""
    engine = service_engine("disclosure")
    deliverer = Deliverer(DisclosureService, engine)
    assert deliverer.deliver(dev.body_registered(when=REGISTERED - dt.timedelta(days=30))).outcome == "applied"
    outcomes = {}
    for n, order in enumerate(itertools.permutations(range(4))):
        number, officer = f"3204120{n:04d}", f"o-{n}"
        events = [dev.officer_registered(officer_id=officer, certificate_no=number, when=REGISTERED),
                  dev.certificate_changed(number, "suspended", REGISTERED, officer_id=officer),    # the same day
                  dev.certificate_changed(number, "valid", REGISTERED + dt.timedelta(days=20), officer_id=officer),
                  dev.certificate_changed(number, "withdrawn", REGISTERED + dt.timedelta(days=60), officer_id=officer)]
        for i in order:
            assert deliverer.deliver(events[i]).outcome == "applied", (order, i)
        outcomes[order] = [{k: v for k, v in h.items()} for h in (history(engine, number),
                                                                  history(engine, number, dt.date(2026, 3, 10)))]
    in_order = outcomes[(0, 1, 2, 3)]
    assert in_order[0]["status"] == "收回" and not in_order[0]["valid"]
    assert [h["status"] for h in in_order[0]["history"]] == ["有效", "暂扣", "有效", "收回"]
    assert in_order[1]["status"] == "暂扣"                    # suspended on the day it was issued
    differing = {order: o for order, o in outcomes.items() if o != in_order}
    assert differing == {}, f"{len(differing)} of 24 orders give another history, e.g. {next(iter(differing.items()))}"


def test_plat1_two_officers_naming_one_number_record_one_issuance(service_engine):
    engine = service_engine("disclosure")
    deliverer = Deliverer(DisclosureService, engine)
    deliverer.deliver(dev.body_registered(when=REGISTERED - dt.timedelta(days=30)))
    for officer in ("o-1", "o-2"):
        assert deliverer.deliver(dev.officer_registered(officer_id=officer, certificate_no=NUMBER.lower(),
                                                        when=REGISTERED)).outcome == "applied"
    with Session(engine) as session:
        issuances = session.scalars(select(CertificateRecord.officer_id).where(
            CertificateRecord.certificate_no == NUMBER, CertificateRecord.reason == ISSUANCE_REASON)).all()
    assert issuances == ["o-1"]


def test_plat1_migration_keeps_the_first_of_duplicate_issuances(tmp_path):
    """0012 deletes all but the earliest issuance of a number before the unique key goes on."""
    url = f"sqlite:///{tmp_path / 'disclosure.db'}"
    upgrade("disclosure", url, revision="0011")
    engine = make_engine(url)
    rows = [("A1", "o-1", ISSUANCE_REASON), ("A1", "o-2", ISSUANCE_REASON), ("A1", "o-1", "暂扣"),
            ("B2", "o-3", ISSUANCE_REASON)]
    with engine.begin() as conn:
        for number, officer, reason in rows:
            conn.execute(text("INSERT INTO certificate_records (certificate_no, officer_id, state, since, reason, "
                              "recorded_at) VALUES (:n, :o, 'valid', '2026-03-02', :r, '2026-03-02 01:00:00')"),
                         {"n": number, "o": officer, "r": reason})
    upgrade("disclosure", url)
    with Session(engine) as session:
        kept = session.execute(select(CertificateRecord.certificate_no, CertificateRecord.officer_id,
                                      CertificateRecord.reason).order_by(CertificateRecord.id)).all()
        assert [tuple(r) for r in kept] == [("A1", "o-1", ISSUANCE_REASON), ("A1", "o-1", "暂扣"),
                                            ("B2", "o-3", ISSUANCE_REASON)]
        assert session.scalar(select(func.count()).select_from(CertificateRecord)) == 3
    engine.dispose()


def test_plat1_issuances_are_recorded_however_often_a_connection_has_run_the_insert(pg_admin):
    """DISC-2 / PLAT-1: every registration with a new certificate number records its issuance, also once
    psycopg has prepared the INSERT … ON CONFLICT on its connection (from its 6th run): the partial unique
    index's predicate was sent as a bind parameter, which PostgreSQL cannot match to the index in a prepared
    statement ("no unique or exclusion constraint matching the ON CONFLICT specification") — under load one
    registration in a dozen failed and went round the retry queue. One connection, twelve registrations."""
    url = pg_admin()
    upgrade("disclosure", url)
    engine = make_engine(url, pool_size=1)
    try:
        deliverer = Deliverer(DisclosureService, engine)
        deliverer.deliver(dev.body_registered(when=REGISTERED - dt.timedelta(days=30)))
        outcomes = [deliverer.deliver(dev.officer_registered(officer_id=f"o-{n}", certificate_no=f"3204129{n:04d}",
                                                             when=REGISTERED)).outcome for n in range(12)]
        assert outcomes == ["applied"] * 12
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(CertificateRecord).where(
                CertificateRecord.reason == ISSUANCE_REASON)) == 12
    finally:
        engine.dispose()
