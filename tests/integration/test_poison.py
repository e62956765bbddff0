"""Poison is not transient (issue 14, SEC-6): a data error that will fail again with the same event — a
text too long for the search index (PostgreSQL "program limit exceeded", which SQLAlchemy calls an
OperationalError), a constraint violation that is not a race — is retried ZHIFA_MAX_ATTEMPTS times and
dead-lettered with its reason, and the events after it are processed. Before, such an OperationalError
counted as an outage and the event was delayed forever. On the real PostgreSQL and RabbitMQ, through
a per-event and a batched handler."""
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from services.common.batching import batched_event_handler
from services.common.db import Database, JobLease, make_engine
from services.common.entrypoints import event_handler, is_transient
from services.common.events import DEPARTMENTS
from tests.fixtures import dead_letters, running_suite, wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration


class PoisonService:
    name = "poison"
    db = Database(relay_outbox=False)
    calls: dict = {}

    def _effect(self, session, event):
        PoisonService.calls[event.case_id] = PoisonService.calls.get(event.case_id, 0) + 1
        if event.case_id.startswith("TOOLONG"):     # a lexeme longer than PostgreSQL allows (2,047 bytes)
            session.execute(text("SELECT CAST(:v AS tsvector)"), {"v": "x" * 3000})
        holder = None if event.case_id.startswith("NOTNULL") else "poison"     # NOT NULL violation, no race
        session.execute(text("INSERT INTO job_leases (name, holder, expires_at) VALUES (:n, :h, now())"),
                        {"n": event.event_id, "h": holder})

    @event_handler(DEPARTMENTS, "hearing.held")
    def on_hearing(self, event):
        with self.db.effect_of(event) as session:
            self._effect(session, event)

    @batched_event_handler(DEPARTMENTS, "decision.served")
    def on_served(self, event):
        with self.db.effect_of(event) as session:
            self._effect(session, event)


def hearing(case_id):
    return ev.envelope("hearing.held", {"hearing_id": f"{case_id}-H", "held_at": "2026-11-20T10:00:00+08:00"}, case_id)


def test_database_errors_that_will_fail_again_are_not_transient(pg_admin):
    engine = make_engine(pg_admin())
    try:
        with pytest.raises(OperationalError) as too_long, engine.begin() as conn:
            conn.execute(text("SELECT CAST(:v AS tsvector)"), {"v": "x" * 3000})
        assert not is_transient(too_long.value)        # 54000 program_limit_exceeded
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE held (v text)"))
        with engine.connect() as holder:
            holder.begin()
            holder.execute(text("LOCK TABLE held IN ACCESS EXCLUSIVE MODE"))
            with pytest.raises(OperationalError) as locked, engine.begin() as conn:   # 55P03 lock not available
                conn.execute(text("LOCK TABLE held IN ACCESS EXCLUSIVE MODE NOWAIT"))
            holder.rollback()
        assert is_transient(locked.value)
        assert is_transient(OperationalError("x", {}, type("Orig", (Exception,), {"sqlstate": "08006"})()))
        assert is_transient(OperationalError("x", {}, ConnectionRefusedError()))   # no code: cannot connect
        with pytest.raises(IntegrityError) as violation, engine.begin() as conn:
            conn.execute(text("CREATE TEMP TABLE t (v text NOT NULL)"))
            conn.execute(text("INSERT INTO t VALUES (NULL)"))
        assert not is_transient(violation.value)
    finally:
        engine.dispose()


def test_poison_events_are_dead_lettered_after_bounded_attempts_and_the_next_is_processed(
        amqp_uri, sqlite_databases, pg_admin, tmp_path):
    from nameko import config
    from nameko.runners import ServiceRunner

    from services.common.bus import declare_topology
    from services.common.migrations import upgrade

    url = pg_admin()
    upgrade("records", url)                            # any service schema: processed_events, job_leases
    PoisonService.calls.clear()
    with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["gateway"]) as suite:
        with config.patch({"ZHIFA_DATABASES": {**sqlite_databases, "poison": url}}, clear=False):
            declare_topology(amqp_uri, [PoisonService])
            runner = ServiceRunner()
            runner.add_service(PoisonService)
            runner.start()
            try:
                poison = [hearing("TOOLONG-1"), hearing("NOTNULL-1"), ev.decision_served("TOOLONG-2"),
                          ev.decision_served("NOTNULL-2")]
                good = [hearing("FINE-1"), ev.decision_served("FINE-2")]
                for envelope in poison + good:
                    suite.publish(envelope)
                letters = wait_for(lambda: (lambda d: len(d) == 4 and d)(dead_letters(amqp_uri, "poison")),
                                   timeout=60, message="four poison events dead-lettered")
                by_case = {next(e["case_id"] for e in poison if e["event_id"] in item["body"]): item for item in letters}
                assert set(by_case) == {"TOOLONG-1", "NOTNULL-1", "TOOLONG-2", "NOTNULL-2"}
                for case_id, item in by_case.items():
                    assert item["reason"].startswith("failed 3 times; last error: "), item["reason"]  # ZHIFA_MAX_ATTEMPTS
                    assert ("word is too long" if case_id.startswith("TOOLONG") else "NotNullViolation") in item["reason"]
                    assert PoisonService.calls[case_id] >= 3
                engine = make_engine(url)
                try:
                    with Session(engine) as session:
                        names = set(session.scalars(select(JobLease.name)))
                finally:
                    engine.dispose()
                assert names == {good[0]["event_id"], good[1]["event_id"]}       # the good ones, once each
                assert PoisonService.calls["FINE-1"] == 1
            finally:
                runner.stop()
