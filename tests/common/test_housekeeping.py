"""Outbox and inbox hygiene (issue 20, PLAT-1): the housekeeping job purges published outbox rows and
``processed_events`` after their retention, on SQLite and PostgreSQL, counts what it purged, and a
retention not longer than the redelivery window stops the start-up."""
import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import housekeeping, metrics, settings
from services.common.db import OutboxMessage, PlumbingBase, ProcessedEvent, make_engine


def _outbox(status: str, published_at):
    event_id = str(uuid.uuid4())
    return OutboxMessage(event_id=event_id, source="review", event_type="review.classified", status=status,
                         envelope=json.dumps({"event_id": event_id}), published_at=published_at)


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def test_housekeeping_purges_both_tables_after_their_retention(tmp_path, request, dialect):
    url = f"sqlite:///{tmp_path}/hk.db" if dialect == "sqlite" else request.getfixturevalue("pg_admin")()
    engine = make_engine(url)
    PlumbingBase.metadata.create_all(engine)
    now = dt.datetime.now(dt.timezone.utc)
    old, recent = now - dt.timedelta(days=40), now - dt.timedelta(days=2)
    with Session(engine) as session, session.begin():
        for i in range(23):   # 17 older than 30 days (720 h), 6 recent; two consumers share ids
            session.add(ProcessedEvent(consumer=f"review.on_{i % 2}", event_id=f"e{i // 2}-{i}",
                                       event_type="case.opened", processed_at=old if i < 17 else recent))
        session.add_all([_outbox("published", old) for _ in range(9)] + [_outbox("published", recent)]
                        + [_outbox("unrouted", old), _outbox("pending", None)])
    purged = metrics.PURGED_ROWS.labels("review", "processed_events")
    before = purged._value.get()
    assert housekeeping.purge_processed(engine, now - dt.timedelta(hours=720), chunk=5) == 17
    assert housekeeping.run_once(engine, "review", now) == {"outbox": 10, "processed_events": 0}
    with Session(engine) as session:
        kept = session.scalars(select(ProcessedEvent.processed_at)).all()
        statuses = sorted(session.scalars(select(OutboxMessage.status)).all())
    assert len(kept) == 6 and statuses == ["pending", "published"]
    # the metric counts what the job purged
    with Session(engine) as session, session.begin():
        session.add(ProcessedEvent(consumer="review.on_0", event_id="late", event_type="case.opened",
                                   processed_at=old))
    assert housekeeping.run_once(engine, "review", now) == {"outbox": 0, "processed_events": 1}
    assert purged._value.get() - before == 1
    engine.dispose()


def test_retention_not_longer_than_the_redelivery_window_stops_the_start_up(monkeypatch):
    housekeeping.check_retention()       # the defaults: 720 h and 168 h against 72 h
    monkeypatch.setenv("ZHIFA_PROCESSED_EVENTS_RETENTION_HOURS", "48")
    with pytest.raises(settings.SettingError, match="ZHIFA_PROCESSED_EVENTS_RETENTION_HOURS: 48 h is not longer"):
        housekeeping.check_retention()
    monkeypatch.setenv("ZHIFA_PROCESSED_EVENTS_RETENTION_HOURS", "100")
    housekeeping.check_retention()
    monkeypatch.setenv("ZHIFA_REDELIVERY_WINDOW_HOURS", "200")   # now both retentions are too short
    with pytest.raises(settings.SettingError, match="ZHIFA_OUTBOX_RETENTION_HOURS: 168 h"):
        housekeeping.check_retention()
    monkeypatch.setenv("ZHIFA_REDELIVERY_WINDOW_HOURS", "0")
    monkeypatch.setenv("ZHIFA_OUTBOX_RETENTION_HOURS", "1")
    monkeypatch.setenv("ZHIFA_OWNERSHIP_WAIT_SECONDS", "7200")   # a two-hour ownership wait is a window too
    with pytest.raises(settings.SettingError, match="ZHIFA_OUTBOX_RETENTION_HOURS: 1 h"):
        housekeeping.check_retention()
    # retries: 100 delays of up to 30 s × 1.5 (the jitter) = 75 min — past a 1 h retention (× 1 it was 50 min)
    monkeypatch.setenv("ZHIFA_OWNERSHIP_WAIT_SECONDS", "0")
    monkeypatch.setenv("ZHIFA_MAX_ATTEMPTS", "100")
    with pytest.raises(settings.SettingError, match="ZHIFA_OUTBOX_RETENTION_HOURS: 1 h"):
        housekeeping.check_retention()
