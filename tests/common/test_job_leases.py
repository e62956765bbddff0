"""Periodic jobs with several replicas: one runs, the others skip (issue 8 §4; NAMEKO-NOTES timers)."""
import datetime as dt
import threading

import pytest
from sqlalchemy.orm import Session

from services.common import db as dbmod
from services.common.db import DatabaseAccess, JobLease, PlumbingBase, make_engine


class _Provider:
    """The parts of the Database dependency DatabaseAccess uses."""

    def __init__(self, engine):
        self.engine, self.service_name, self.outbox_nudge = engine, "test", threading.Event()


def replicas(engine, n=3):
    out = []
    for i in range(n):
        access = DatabaseAccess(_Provider(engine), "test.job")
        out.append((f"replica-{i}", access))
    return out


def run_as(monkeypatch, holder, access, name, ttl):
    monkeypatch.setattr(dbmod, "PROCESS_ID", holder)
    return access.acquire_lease(name, ttl)


def check_lease_semantics(engine, monkeypatch):
    PlumbingBase.metadata.create_all(engine)
    (a_id, a), (b_id, b), (c_id, c) = replicas(engine)
    assert run_as(monkeypatch, a_id, a, "disclosure.overdue", 60) is True
    assert run_as(monkeypatch, b_id, b, "disclosure.overdue", 60) is False     # held by a
    assert run_as(monkeypatch, c_id, c, "disclosure.overdue", 60) is False
    assert run_as(monkeypatch, a_id, a, "disclosure.overdue", 60) is True      # the holder renews
    assert run_as(monkeypatch, b_id, b, "other.job", 60) is True               # leases are per job
    with Session(engine) as session, session.begin():                          # a's lease runs out
        session.get(JobLease, "disclosure.overdue").expires_at = dbmod.utcnow() - dt.timedelta(seconds=5)
    assert run_as(monkeypatch, b_id, b, "disclosure.overdue", 60) is True      # b takes over
    assert run_as(monkeypatch, a_id, a, "disclosure.overdue", 60) is False


def test_one_replica_runs_a_periodic_job_sqlite(tmp_path, monkeypatch):
    check_lease_semantics(make_engine(f"sqlite:///{tmp_path / 'lease.db'}"), monkeypatch)


@pytest.mark.integration
def test_one_replica_runs_a_periodic_job_postgres(pg_admin, monkeypatch):
    engine = make_engine(pg_admin())
    try:
        check_lease_semantics(engine, monkeypatch)
    finally:
        engine.dispose()
