"""``batched_event_handler`` on the real broker: a method written for one event, applied in batches
of one transaction each (issue 3: "batching, done safely"), keeping every guarantee of the reliable
handler — redeliveries applied once, the group's types sharing one transaction, an event the method
refuses dead-lettered alone with its reason while the rest of its batch goes through, and a
method's ``preload`` run once per batch before its events."""
import uuid

import pytest
from nameko import config
from nameko.rpc import rpc
from nameko.runners import ServiceRunner
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from services.common.batching import batched_event_handler
from services.common.bus import declare_topology
from services.common.db import Database, ProcessedEvent
from services.common.events import DEPARTMENTS, InvalidEvent
from services.common.migrations import upgrade
from services.records.models import LogEntry
from tests.fixtures import dead_letters, wait_for, wait_until_drained
from tests.integration import events as ev

pytestmark = pytest.mark.integration


class TallyService:
    name = "tally"
    db = Database(relay_outbox=False)
    applied: list = []
    sessions: dict = {}
    preloaded: list = []          # per batch: the (type, case) of the events preload was given

    def _apply(self, event, kind):
        with self.db.effect_of(event) as session:
            if event.case_id.startswith("REFUSE"):
                raise InvalidEvent(f"{kind} of {event.case_id} refused by the domain")
            TallyService.sessions.setdefault(session.info.setdefault("tx", uuid.uuid4().hex), set()).add(kind)
            if kind == "evidence":   # preload ran first, on this event among the batch's
                assert ("evidence.recorded", event.case_id) in TallyService.preloaded[-1]
            TallyService.applied.append((kind, event.case_id))
            session.add(LogEntry(sequence=len(TallyService.applied), entry_kind=kind, region_code="320412",
                                 body_id="b", case_id=event.case_id, occurred_at=event.occurred_at, canonical="{}",
                                 leaf_hash="0" * 64, details={}))

    @batched_event_handler(DEPARTMENTS, "case.opened", group="cases")
    def on_opened(self, event):
        self._apply(event, "opened")

    def _preload_evidence(self, session, events):
        TallyService.preloaded.append({(e.event_type, e.case_id) for e in events})
        return []

    @batched_event_handler(DEPARTMENTS, "evidence.recorded", group="cases", preload=_preload_evidence)
    def on_evidence(self, event):
        self._apply(event, "evidence")

    @rpc
    def ping(self):
        return True


def test_batches_apply_once_in_order_and_refuse_alone(amqp_uri, tmp_path):
    from kombu import Connection, Exchange, Producer

    url = f"sqlite:///{tmp_path / 'tally.db'}"
    upgrade("records", url)                      # any schema with plumbing tables and a table to write
    TallyService.applied.clear()
    TallyService.sessions.clear()
    TallyService.preloaded.clear()
    with config.patch({"AMQP_URI": amqp_uri, "ZHIFA_DATABASES": {"tally": url}, "ZHIFA_BATCH_LINGER_MS": 500},
                      clear=False):
        declare_topology(amqp_uri, [TallyService])
        runner = ServiceRunner()
        runner.add_service(TallyService)
        runner.start()
        try:
            with Connection(amqp_uri) as conn:
                channel = conn.channel()

                def consuming(queue):
                    return channel.queue_declare(queue, passive=True).consumer_count > 0

                for queue in ("evt-departments-case.opened--tally.on_opened",
                              "evt-departments-evidence.recorded--tally.on_evidence"):
                    wait_for(lambda: consuming(queue), message=f"{queue} consumed")
                producer = Producer(channel, exchange=Exchange("departments.events", "topic", durable=True))

                def publish(envelopes):
                    for envelope in envelopes:
                        producer.publish(envelope, routing_key=envelope["event_type"], delivery_mode=2,
                                         user_id="guest")   # the suite's own broker user (trusted)

                first = []
                for i in range(20):
                    first += [ev.case_opened(f"C-{i}"), ev.evidence(f"C-{i}")]
                publish(first)
                wait_for(lambda: len(TallyService.applied) >= 40, message="the first events applied")
                batched = dict(TallyService.sessions)
                # a refused event among others, and a redelivery of an applied one
                publish([ev.case_opened("C-20"), ev.evidence("REFUSE-1"), ev.evidence("C-20"), first[3]])
                letters = wait_for(lambda: dead_letters(amqp_uri, "tally"), message="refused event dead-lettered")
                wait_for(lambda: len(TallyService.applied) >= 42, message="the others of its batch applied")
                wait_until_drained(amqp_uri, "tally")   # the redelivered one too (barrier, not a sleep)
        finally:
            runner.stop()
    assert len(letters) == 1 and "REFUSE-1" in letters[0]["body"]
    assert "refused by the domain" in letters[0]["reason"]
    engine = create_engine(url)
    with Session(engine) as session:
        cases = session.execute(select(LogEntry.entry_kind, LogEntry.case_id).order_by(LogEntry.sequence)).all()
        processed = session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert len(cases) == 42 and len(set(cases)) == 42          # each once, the redelivery skipped
    assert processed == 42                                       # the refused one is not marked processed
    assert len(batched) < 40                                     # several events per transaction
    # both methods in one transaction (the group's buffer waits up to 500 ms for more events)
    assert {"opened", "evidence"} in batched.values()
    # preload: once per batch, given only its method's events (not the group's case.opened ones)
    preloaded = [pair for batch in TallyService.preloaded for pair in batch]
    assert {t for t, _ in preloaded} == {"evidence.recorded"}
    assert {c for _, c in preloaded} >= {c for kind, c in cases if kind == "evidence"}
    assert len(TallyService.preloaded) < 20
