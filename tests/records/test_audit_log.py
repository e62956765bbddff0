"""The audit trail's table (SEC-3, issue 15), on SQLite and PostgreSQL: entries are searched within the
auditor's region, kept for the retention period (at least six months) and purged after it by the
leased job; on PostgreSQL the table is append-only — UPDATE, DELETE and TRUNCATE are refused by a
trigger except the purge of entries older than six months."""
import datetime as dt
import uuid

import pytest
from nameko import config
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.common.events import Event
from services.records import audit_log
from services.records.models import AuditEntry

NOW = dt.datetime.now(dt.timezone.utc)


def audit_event(subject, region, days_ago, **over):
    payload = {"phase": "outcome", "subject": subject, "role": "supervisor",
               "scope": {"region_code": region, "body_ids": []}, "action": "GET /api/v1/evaluation/summary",
               "method": "GET", "path": "/api/v1/evaluation/summary", "object": {}, "query": {}, "status": 200,
               "outcome": "succeeded", "source_address": "10.1.2.3", "user_agent": "pytest", **over}
    return Event(event_id=str(uuid.uuid4()), event_type="audit.recorded", schema_version="1.0",
                 occurred_at=NOW - dt.timedelta(days=days_ago), source_system="zhifa.gateway", region_code=region,
                 body_id="-", case_id=None, payload=payload, correlation_id=uuid.uuid4().hex)


def test_sec3_search_scope_and_retention_purge(service_engine):
    engine = service_engine("records")
    with Session(engine) as session, session.begin():
        for subject, region, days in (("city-old", "320400", 200), ("city-new", "320400", 10),
                                      ("county", "320412", 184), ("other-city", "320500", 1)):
            audit_log.append(session, audit_event(subject, region, days))
    with Session(engine) as session:
        assert {r.subject for r in audit_log.search(session, "320400", {})} == {"city-old", "city-new", "county"}
        assert {r.subject for r in audit_log.search(session, "320412", {})} == {"county"}
        assert audit_log.search(session, "", {}) == []                       # no scope, no entries
        assert [r.subject for r in audit_log.search(session, "320000", {"subject": "county"})] == ["county"]
        since = (NOW - dt.timedelta(days=30)).isoformat()
        assert {r.subject for r in audit_log.search(session, "320000", {"from": since})} == {"city-new", "other-city"}
    # default retention: 190 days → only the 200-day-old entry goes
    with Session(engine) as session, session.begin():
        assert audit_log.purge(session, now=NOW) == 1
    # a shorter configured retention (still ≥ six months) purges more; less than six months is refused
    with config.patch({"ZHIFA_AUDIT_RETENTION_DAYS": 183}):
        with Session(engine) as session, session.begin():
            assert audit_log.purge(session, now=NOW) == 1               # the 184-day-old one
    with Session(engine) as session:
        assert {r.subject for r in session.query(AuditEntry)} == {"city-new", "other-city"}
    with config.patch({"ZHIFA_AUDIT_RETENTION_DAYS": 90}):
        with pytest.raises(ValueError, match="ZHIFA_AUDIT_RETENTION_DAYS: 90 is below the minimum 183"):
            with Session(engine) as session, session.begin():
                audit_log.purge(session, now=NOW)


def test_sec3_postgresql_refuses_changes_to_the_audit_log(pg_admin):
    """Only the purge may delete, and only entries older than six months (even if the job were
    misconfigured); nothing may update or truncate."""
    from services.common.db import make_engine
    from services.common.migrations import upgrade

    url = pg_admin()
    upgrade("records", url)
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            audit_log.append(session, audit_event("recent", "320400", 30))
            audit_log.append(session, audit_event("old", "320400", 400))
        for statement in ("UPDATE audit_log SET outcome = 'succeeded'", "DELETE FROM audit_log",
                          "TRUNCATE audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                with Session(engine) as session, session.begin():
                    session.execute(text(statement))
        with pytest.raises(DBAPIError, match="append-only"):      # the purge switch does not allow recent rows
            with Session(engine) as session, session.begin():
                session.execute(text("SET LOCAL zhifa.audit_purge = 'on'"))
                session.execute(text("DELETE FROM audit_log WHERE subject = 'recent'"))
        with Session(engine) as session, session.begin():
            assert audit_log.purge(session) == 1                      # the real job: the 400-day-old entry
        with Session(engine) as session:
            assert [r.subject for r in session.query(AuditEntry)] == ["recent"]
    finally:
        engine.dispose()
