"""Two records replicas appending to one PostgreSQL log, as deployed (issue 3: competing consumers;
REC-4). Each claims its batch's events, then takes the append lock in turn: every event is in the
log once, redeliveries included, the sequences run 0..n-1 without a hole, and ``verify``
recomputes the whole log and every signed tree head without a problem."""
import os
import signal
import subprocess
import sys

import requests
import psycopg
import pytest
import yaml
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from services.common.bus import all_service_classes, declare_topology
from services.common.migrations import upgrade
from services.records.verify import verify_database
from tests.fixtures import Suite, free_port, wait_for, wait_until_drained
from tests.integration import events as ev

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _replica(cfg_path):
    env = {**os.environ, "PYTHONPATH": ROOT, "ZHIFA_BATCH_SIZE": "40"}     # several batches each
    return subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "nameko"), "run", "--config",
                             str(cfg_path), "services.records.service"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def _counters(port: int) -> dict:
    """The replica's event counters, summed over labels, from its /metrics."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    names = ("zhifa_events_consumed", "zhifa_events_retried", "zhifa_events_rejected", "zhifa_events_duplicate")
    out = dict.fromkeys(names, 0.0)
    for family in text_string_to_metric_families(text):
        if family.name in out:
            out[family.name] = sum(s.value for s in family.samples if s.name.endswith("_total"))
    return out


def _two_replicas(amqp_uri, url, tmp_path, priorities) -> tuple[list, list]:
    """Two records replicas on one database (migrated, topology declared) with these consumer priorities
    (ZHIFA_RECORDS_WRITER_PRIORITY), each exposing its metrics; returns once both consume case traffic."""
    upgrade("records", url)
    declare_topology(amqp_uri, [cls for cls in all_service_classes() if cls.name == "records"])
    replicas, ports = [], []
    for i, priority in enumerate(priorities):
        cfg = tmp_path / f"records-{i}.yaml"
        ports.append(free_port())
        cfg.write_text(yaml.safe_dump({"AMQP_URI": amqp_uri, "ZHIFA_DATABASES": {"records": url},
                                       "ZHIFA_METRICS_PORTS": {"records": ports[-1]}, "ZHIFA_METRICS_DISABLED": "0",
                                       "ZHIFA_RECORDS_STH_INTERVAL": 1, "ZHIFA_RECORDS_WRITER_PRIORITY": priority}))
        replicas.append(_replica(cfg))
    try:
        with Connection(amqp_uri) as conn:
            channel = conn.channel()
            for queue in ("evt-departments-case.opened--records.on_case_opened",
                          "evt-departments-evidence.recorded--records.on_evidence_recorded"):
                wait_for(lambda: channel.queue_declare(queue, passive=True).consumer_count == 2, timeout=60,
                         message=f"both replicas consume {queue}")
    except BaseException:
        for proc in replicas:
            os.killpg(proc.pid, signal.SIGTERM)
        raise
    return replicas, ports


def _cases(prefix: str, cases: int, evidence: int) -> list[dict]:
    """Envelopes of ``cases`` cases, each opened and then ``evidence`` evidence records, in that order."""
    envelopes = []
    for c in range(cases):
        envelopes.append(ev.case_opened(ev.case_id(f"{prefix}-{c}")))
        envelopes += [ev.evidence(ev.case_id(f"{prefix}-{c}"), n=j) for j in range(evidence)]
    return envelopes


def _appended(db) -> int:
    """Entries of departmental events in the log."""
    return db.execute("SELECT count(*) FROM log_entries WHERE event_id IS NOT NULL").fetchone()[0]


def test_rec4_two_replicas_append_every_event_once_to_one_verifiable_log(amqp_uri, pg_admin, tmp_path):
    url = pg_admin()
    # equal priorities: competing consumers, both appending in turn (the default draws one per replica: one
    # appends while it keeps up — the test below)
    replicas, ports = _two_replicas(amqp_uri, url, tmp_path, (5, 5))
    publish = Suite(amqp_uri, {}, 0, "", "").publish
    try:
        with psycopg.connect(url, autocommit=True) as db:
            envelopes = _cases("R", 8, 30)
            for envelope in envelopes:
                publish(envelope)
            for envelope in envelopes[::7]:          # redelivered: must not be appended twice
                publish(envelope)
            total = len(envelopes)
            wait_for(lambda: _appended(db) >= total, timeout=90, message="every event appended")
            wait_until_drained(amqp_uri, "records")   # the redeliveries have been handled (barrier, not sleep)
            rows = db.execute("SELECT sequence, event_id FROM log_entries ORDER BY sequence").fetchall()

            def head_over_all():     # a signed tree head covering the whole log (timer: every 5 s)
                return db.execute("SELECT public_key FROM tree_heads WHERE tree_size >= %s LIMIT 1",
                                  (len(rows),)).fetchone()

            key = wait_for(head_over_all, timeout=30, message="a tree head over the whole log")
        counts = [_counters(port) for port in ports]
    finally:
        for proc in replicas:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
    assert [s for s, _ in rows] == list(range(len(rows)))                         # no hole, no repeat
    events = [e for _, e in rows if e]
    assert len(events) == total and set(events) == {e["event_id"] for e in envelopes}
    # both replicas applied events; no batch failed on the other's appends (nothing retried or
    # dead-lettered); each redelivery was recognised once
    assert all(c["zhifa_events_consumed"] > 0 for c in counts), counts
    assert sum(c["zhifa_events_retried"] + c["zhifa_events_rejected"] for c in counts) == 0, counts
    assert sum(c["zhifa_events_duplicate"] for c in counts) == len(envelopes[::7])
    report = verify_database(url, key[0])
    assert report["ok"], report["problems"]


def test_rec4_issue17_the_replica_of_highest_priority_appends_while_it_keeps_up_and_the_other_takes_over(
        amqp_uri, pg_admin, tmp_path):
    """Issue 17 (REC-4): records' case traffic reaches one replica at a time — the broker delivers to the
    replica whose consumers have the highest priority (ZHIFA_RECORDS_WRITER_PRIORITY) while its prefetch
    window has room — so replicas do not take the append lock in turn for every batch; when that replica
    stops, the other applies what follows (and what it had not acknowledged). Every event once, no hole,
    the log verifies."""
    url = pg_admin()
    replicas, ports = _two_replicas(amqp_uri, url, tmp_path, (10, 1))
    publish = Suite(amqp_uri, {}, 0, "", "").publish
    try:
        with psycopg.connect(url, autocommit=True) as db:
            first = _cases("P", 3, 6)
            for envelope in first:
                publish(envelope)
            wait_for(lambda: _appended(db) >= len(first), timeout=60, message="the first events appended")
            wait_until_drained(amqp_uri, "records")
            counts = [_counters(port) for port in ports]
            assert counts[0]["zhifa_events_consumed"] == len(first), counts     # the writer: all of them
            assert counts[1]["zhifa_events_consumed"] == 0, counts              # the standby: none

            os.killpg(replicas[0].pid, signal.SIGTERM)                         # the writer stops
            replicas[0].wait(20)
            second = _cases("Q", 2, 5)
            for envelope in second:
                publish(envelope)
            total = len(first) + len(second)
            wait_for(lambda: _appended(db) >= total, timeout=60, message="the standby appends what follows")
            wait_until_drained(amqp_uri, "records")
            rows = db.execute("SELECT sequence, event_id FROM log_entries ORDER BY sequence").fetchall()
            key = wait_for(lambda: db.execute("SELECT public_key FROM tree_heads WHERE tree_size >= %s LIMIT 1",
                                              (len(rows),)).fetchone(), timeout=60,    # the stopped writer's
                           message="a tree head over the whole log")                 # head lease: 20 s
        standby = _counters(ports[1])
    finally:
        for proc in replicas:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
    assert standby["zhifa_events_consumed"] == len(second), standby
    assert [s for s, _ in rows] == list(range(len(rows)))
    events = [e for _, e in rows if e]
    assert len(events) == total and set(events) == {e["event_id"] for e in first + second}
    report = verify_database(url, key[0])
    assert report["ok"], report["problems"]
