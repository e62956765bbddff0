"""At-least-once delivery on the real broker: dead letters, duplicates, retries, outages, kills (issue 2)."""
import json
import os
import signal
import sqlite3
import subprocess
import sys

import psycopg
import pytest
import requests
from nameko.rpc import rpc

from services.common.db import Database
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from services.records.models import LogEntry
from tests.fixtures import ROOT_DIR, dead_letters, free_port, running_suite, wait_for, wait_until_drained
from tests.integration import events as ev

pytestmark = pytest.mark.integration


def timeline_len(suite, case_id):
    response = suite.get(f"/api/v1/cases/{case_id}/timeline", suite.token("supervisor", "320000"))
    return len(response.json()["entries"]) if response.ok else 0


def test_invalid_event_is_dead_lettered_with_reason_and_next_is_processed(suite):
    """Bad input loses nothing: the invalid event waits in the DLQ with its reason; the next goes on."""
    bad = ev.case_opened("320412-SCJG-C-BAD-1")
    bad["region_code"] = "12"                      # not a GB/T 2260 code
    bad["payload"]["parties"][0]["id_number"] = "320412198503141230"  # wrong check digit (PLAT-8)
    suite.publish(bad)
    suite.publish(b"{not json", routing_key="case.opened")
    suite.publish(ev.case_opened("320412-SCJG-C-GOOD-1"))

    wait_for(lambda: timeline_len(suite, "320412-SCJG-C-GOOD-1") == 1, message="valid event after the invalid ones")
    letters = wait_for(lambda: (lambda d: len(d) >= 2 and d)(dead_letters(suite.amqp_uri, "records")),
                       message="two dead letters")
    by_body = {item["body"][:9]: item for item in letters}
    invalid = next(i for i in letters if bad["event_id"] in i["body"])
    assert invalid["queue"] == "evt-departments-case.opened--records.on_case_opened"
    assert "region_code" in invalid["reason"] and "校验位" in invalid["reason"]
    assert json.loads(invalid["body"]) == bad                        # the original, byte for byte
    assert "undecodable" in by_body["{not json"]["reason"]
    # the other consumers of case.opened (none besides records) and of other types are unaffected
    assert dead_letters(suite.amqp_uri, "review") == []


def test_event_delivered_twice_has_its_effect_once(suite):
    """Idempotency: processed event ids are stored in the same transaction as the effect."""
    opened = ev.case_opened("320412-SCJG-C-TWICE-1")
    suite.publish(opened)
    suite.publish(opened)
    suite.publish(ev.evidence("320412-SCJG-C-TWICE-1"))
    wait_for(lambda: timeline_len(suite, "320412-SCJG-C-TWICE-1") == 2, message="two distinct entries")
    wait_until_drained(suite.amqp_uri, "records")           # the second copy has been handled as well
    assert timeline_len(suite, "320412-SCJG-C-TWICE-1") == 2


class FlakyService:
    """A purpose-built service to drive the entrypoint's failure paths."""

    name = "flaky"
    db = Database(relay_outbox=False)
    calls: dict = {}

    @event_handler(DEPARTMENTS, "hearing.held")
    def on_hearing(self, event):
        FlakyService.calls[event.case_id] = FlakyService.calls.get(event.case_id, 0) + 1
        if event.case_id.startswith("POISON"):
            raise RuntimeError("handler bug")
        with self.db.effect_of(event) as session:
            session.add(LogEntry(sequence=FlakyService.calls[event.case_id] * 1000 + len(FlakyService.calls),
                                 entry_kind="test", region_code="320412", body_id="b", case_id=event.case_id,
                                 occurred_at=event.occurred_at, canonical="{}", leaf_hash="0" * 64, details={}))

    @rpc
    def ping(self):
        return True


def hearing(case_id):
    return ev.envelope("hearing.held", {"hearing_id": f"{case_id}-H", "held_at": "2026-11-20T10:00:00+08:00"},
                       case_id)


def test_poison_event_reaches_dead_letter_queue_after_bounded_attempts(amqp_uri, sqlite_databases, tmp_path):
    from nameko import config
    from nameko.runners import ServiceRunner

    from services.common.bus import declare_topology
    from services.common.migrations import upgrade

    databases = {**sqlite_databases, "flaky": sqlite_databases["records"]}
    with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["records", "gateway"]) as suite:
        with config.patch({"ZHIFA_DATABASES": databases}, clear=False):
            upgrade("records", databases["flaky"])
            declare_topology(amqp_uri, [FlakyService])
            runner = ServiceRunner()
            runner.add_service(FlakyService)
            runner.start()
            try:
                suite.publish(hearing("POISON-1"))
                suite.publish(hearing("FINE-1"))
                letters = wait_for(lambda: dead_letters(amqp_uri, "flaky"), message="poison dead-lettered")
                assert FlakyService.calls["POISON-1"] == 3          # ZHIFA_MAX_ATTEMPTS in the test suite
                assert "failed 3 times" in letters[0]["reason"] and "handler bug" in letters[0]["reason"]
                assert FlakyService.calls["FINE-1"] == 1
            finally:
                runner.stop()


def retried(service: str) -> float:
    """zhifa_events_retried_total of ``service`` in this process (the suite runs in it)."""
    from services.common.metrics import EVENTS_RETRIED

    return sum(s.value for metric in EVENTS_RETRIED.collect() for s in metric.samples
               if s.name.endswith("_total") and s.labels.get("service") == service)


def test_database_outage_delays_events_and_loses_none(amqp_uri, sqlite_databases, tmp_path):
    """A locked/unavailable database is transient: the event is retried until it commits."""
    from nameko import config

    with config.patch({"ZHIFA_SQLITE_BUSY_TIMEOUT": 0.2}, clear=False):
        with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["records", "gateway"]) as suite:
            path = sqlite_databases["records"].replace("sqlite:///", "")
            blocker = sqlite3.connect(path, timeout=5)
            blocker.execute("BEGIN EXCLUSIVE")              # the database is unavailable for writing
            before = retried("records")
            suite.publish(ev.case_opened("320412-SCJG-C-OUTAGE-1"))
            wait_for(lambda: retried("records") >= before + 2, message="two failed attempts put back for retry")
            assert dead_letters(amqp_uri, "records") == []   # transient: retried, not dead-lettered
            blocker.rollback()
            blocker.close()
            wait_for(lambda: timeline_len(suite, "320412-SCJG-C-OUTAGE-1") == 1, timeout=40, message="event after outage")


def _records_process(cfg_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT_DIR)}
    return subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "nameko"), "run", "--config",
                             str(cfg_path), "services.records.service"], cwd=ROOT_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_service_killed_between_receiving_and_committing_loses_nothing(amqp_uri, pg_admin, tmp_path):
    """kill -9 while the handler waits inside its transaction: the event is redelivered and applied once."""
    import yaml

    from services.common.bus import all_service_classes, declare_topology
    from services.common.migrations import upgrade

    url = pg_admin()
    upgrade("records", url)
    declare_topology(amqp_uri, all_service_classes())
    cfg = tmp_path / "records.yaml"
    cfg.write_text(yaml.safe_dump({"AMQP_URI": amqp_uri, "ZHIFA_DATABASES": {"records": url},
                                   "ZHIFA_METRICS_PORTS": {"records": free_port()}}))
    pg = psycopg.connect(url.replace("postgresql://", "postgresql://", 1))
    proc = _records_process(cfg)
    try:
        suite_publish = _publisher(amqp_uri)
        suite_publish(ev.case_opened("320412-SCJG-C-KILL-0"))  # proves the consumer is up
        wait_for(lambda: _count(url, "320412-SCJG-C-KILL-0") == 1, timeout=30, message="service up")
        pg.execute("LOCK TABLE log_entries IN ACCESS EXCLUSIVE MODE")   # the next insert will wait
        suite_publish(ev.case_opened("320412-SCJG-C-KILL-1"))
        wait_for(lambda: _waiting_on_lock(url), timeout=20, message="handler blocked inside its transaction")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        pg.rollback()
        assert _count(url, "320412-SCJG-C-KILL-1") == 0                  # nothing was committed
        proc = _records_process(cfg)
        wait_for(lambda: _count(url, "320412-SCJG-C-KILL-1") == 1, timeout=40, message="redelivered after restart")
        wait_until_drained(amqp_uri, "records")
        assert _count(url, "320412-SCJG-C-KILL-1") == 1
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        pg.close()


def _publisher(amqp_uri):
    from tests.fixtures import Suite

    return Suite(amqp_uri, {}, 0, "", "").publish


def _count(url, case_id):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM log_entries WHERE case_id = %s", (case_id,)).fetchone()[0]


def _waiting_on_lock(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM pg_locks WHERE NOT granted").fetchone()[0] > 0
