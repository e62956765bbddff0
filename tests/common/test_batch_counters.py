"""Exact consumed and duplicate counters when an original and its redelivery share a batch (issue 20,
PLAT-1): both carry one event id, and both were counted as duplicates (465 duplicates reported for
300 sent). A batched handler on the real broker receives 30 events each followed by a copy, in the
same batches, then 10 copies of events applied before."""
import pytest
from nameko import config
from nameko.rpc import rpc
from nameko.runners import ServiceRunner

from services.common import metrics
from services.common.batching import batched_event_handler
from services.common.bus import declare_topology
from services.common.db import Database
from services.common.events import DEPARTMENTS
from services.common.migrations import upgrade
from tests.fixtures import wait_for, wait_until_drained
from tests.integration import events as ev

pytestmark = pytest.mark.integration


class CountedService:
    name = "counted"
    db = Database(relay_outbox=False)
    applied: list = []
    batches: list = []

    @batched_event_handler(DEPARTMENTS, "case.opened")
    def on_opened(self, event):
        with self.db.effect_of(event) as session:
            CountedService.batches.append(id(session))
            CountedService.applied.append(event.event_id)

    @rpc
    def ping(self):
        return True


def _counts():
    return (metrics.EVENTS_CONSUMED.labels("counted", "case.opened")._value.get(),
            metrics.EVENTS_DUPLICATE.labels("counted", "case.opened")._value.get())


def test_an_original_and_its_copy_in_one_batch_count_once_each(amqp_uri, tmp_path):
    from kombu import Connection, Exchange, Producer

    url = f"sqlite:///{tmp_path / 'counted.db'}"
    upgrade("records", url)                      # any schema with the plumbing tables
    CountedService.applied.clear()
    CountedService.batches.clear()
    with config.patch({"AMQP_URI": amqp_uri, "ZHIFA_DATABASES": {"counted": url}, "ZHIFA_BATCH_LINGER_MS": 500},
                      clear=False):
        declare_topology(amqp_uri, [CountedService])
        runner = ServiceRunner()
        runner.add_service(CountedService)
        runner.start()
        try:
            with Connection(amqp_uri) as conn:
                channel = conn.channel()
                queue = "evt-departments-case.opened--counted.on_opened"
                wait_for(lambda: channel.queue_declare(queue, passive=True).consumer_count > 0, message="consumed")
                producer = Producer(channel, exchange=Exchange("departments.events", "topic", durable=True))

                def publish(envelopes):
                    for envelope in envelopes:
                        producer.publish(envelope, routing_key=envelope["event_type"], delivery_mode=2,
                                         user_id="guest")

                consumed0, duplicate0 = _counts()
                originals = [ev.case_opened(f"D-{i}") for i in range(30)]
                publish([copy for envelope in originals for copy in (envelope, dict(envelope))])
                wait_for(lambda: len(CountedService.applied) >= 30, message="the originals applied")
                wait_until_drained(amqp_uri, "counted")
                consumed1, duplicate1 = _counts()
                publish(originals[:10])                  # redeliveries of applied events, in a later batch
                wait_for(lambda: _counts()[1] - duplicate0 >= 40, message="the late copies counted")
                wait_until_drained(amqp_uri, "counted")
                consumed2, duplicate2 = _counts()
        finally:
            runner.stop()
    assert sorted(CountedService.applied) == sorted(e["event_id"] for e in originals)   # each once
    assert len(set(CountedService.batches)) < 30          # originals and copies shared batches
    assert (consumed1 - consumed0, duplicate1 - duplicate0) == (30, 30)
    assert (consumed2 - consumed1, duplicate2 - duplicate1) == (0, 10)
