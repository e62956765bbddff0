"""The outbox relay against a real broker: pipelined publisher confirms, ``mandatory`` returns
(issue 2: no event lost; issue 20, PLAT-1: an event no queue is bound for is normal publish/subscribe —
counted per type, marked published and purged like the others, no alert)."""
import json
import threading
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import OutboxMessage, PlumbingBase, make_engine
from services.common.outbox import OutboxRelay

pytestmark = pytest.mark.integration


def _row(event_type: str, region: str = "320412") -> OutboxMessage:
    event_id = str(uuid.uuid4())
    envelope = {"event_id": event_id, "event_type": event_type, "region_code": region, "payload": {}}
    return OutboxMessage(event_id=event_id, source="review", event_type=event_type, envelope=json.dumps(envelope))


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_relay_publishes_confirmed_and_counts_unsubscribed(amqp_uri, tmp_path, pg_admin, dialect):
    """Issue 20: the event nobody subscribes to is marked published (purged later) and counted under
    its type in zhifa_outbox_unsubscribed_total; before, it was kept as ``unrouted`` forever."""
    from services.common import metrics

    unsubscribed = metrics.OUTBOX_UNSUBSCRIBED.labels("review", "review.nobody_listens")
    before = unsubscribed._value.get()
    engine = make_engine(f"sqlite:///{tmp_path}/outbox.db" if dialect == "sqlite" else pg_admin())
    PlumbingBase.metadata.create_all(engine)
    rows = [_row("review.classified") for _ in range(120)] + [_row("review.nobody_listens")]
    ids = [r.event_id for r in rows]
    with Session(engine) as session, session.begin():
        session.add_all(rows)
    with Connection(amqp_uri) as conn:
        queue = Queue("observer", exchange=Exchange("review.events", "topic", durable=True),
                      routing_key="review.classified", durable=True)(conn.channel())
        queue.declare()
        relay = OutboxRelay(engine, amqp_uri, "review", threading.Event(), batch_size=50)
        try:
            assert [relay.relay_batch() for _ in range(4)] == [50, 50, 21, 0]
        finally:
            relay.stop()
        with Session(engine) as session:
            marked = session.execute(select(OutboxMessage.event_type, OutboxMessage.status,
                                            OutboxMessage.published_at)).all()
        assert {(t, s) for t, s, _ in marked} == {("review.classified", "published"),
                                                  ("review.nobody_listens", "published")}
        assert unsubscribed._value.get() - before == 1
        assert len(marked) == 121 and all(at is not None for _, _, at in marked)
        received = []
        while (message := queue.get(no_ack=True)) is not None:
            received.append(message)
        assert [m.properties["message_id"] for m in received] == ids[:120]  # in order
        assert received[0].headers == {"zhifa-region": "320412", "zhifa-city": "320400"}
        assert received[0].properties["delivery_mode"] == 2


def test_published_rows_are_purged_after_the_retention_period(tmp_path):
    """Housekeeping: published rows older than the retention go — and the ``unrouted`` rows earlier
    versions kept forever (issue 20); pending rows stay."""
    import datetime as dt

    from services.common.outbox import purge_published

    engine = make_engine(f"sqlite:///{tmp_path}/outbox.db")
    PlumbingBase.metadata.create_all(engine)
    now = dt.datetime.now(dt.timezone.utc)
    rows = []
    for i in range(25):
        row = _row("review.classified")
        row.status, row.published_at = "published", now - dt.timedelta(days=10 if i < 20 else 1)
        rows.append(row)
    old_unrouted, pending = _row("review.nobody_listens"), _row("review.classified")
    old_unrouted.status, old_unrouted.published_at = "unrouted", now - dt.timedelta(days=30)
    with Session(engine) as session, session.begin():
        session.add_all([*rows, old_unrouted, pending])
    assert purge_published(engine, now - dt.timedelta(days=7), chunk=6) == 21
    with Session(engine) as session:
        left = sorted(session.scalars(select(OutboxMessage.status)).all())
    assert left == ["pending", "published", "published", "published", "published", "published"]
    assert purge_published(engine, now - dt.timedelta(days=7)) == 0
