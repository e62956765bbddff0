"""PostgreSQL failover under load (issue 20, PLAT-1): the records service runs on a multi-host URL
(``host=…&host=…&target_session_attrs=read-write``) over a primary and a streaming-replication
standby of its OWN (two temporary clusters on free ports in a tmp dir — the machine's cluster on
5432 is not touched). A stream of events goes through RabbitMQ; mid-stream the primary is killed
(-9, postmaster and every backend) and the standby promoted (pg_ctl promote). Every event must be in
the records log exactly once (0 lost, 0 duplicated), nothing dead-lettered, and the log recomputed by
``services.records.verify`` with its signed tree heads.

Replication is synchronous (``synchronous_standby_names = '*'``): a commit the service saw succeed
(and so acknowledged to the broker) is on the standby. With asynchronous replication the last
acknowledged transactions can be lost at a failover — see RUNBOOK "PostgreSQL failover".
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import psycopg
import pytest
import yaml
from kombu import Connection, Producer

from services.common.bus import all_service_classes, declare_topology, events_exchange
from services.common.migrations import upgrade
from services.common.settings import amqp_user
from services.records.verify import verify_database
from tests.fixtures import ROOT_DIR, dead_letters, free_port, wait_for, wait_until_drained
from tests.integration import events as ev
from tests.pg_replication import INITDB, ReplicatedPostgres

pytestmark = pytest.mark.integration

CASES, EVIDENCE_PER_CASE = 12, 24          # 300 events
KILL_AFTER = 100                           # events published before the primary dies
PROMOTE_AFTER = 10.0                       # seconds without a primary (a cluster manager's detection time)


@pytest.fixture
def replicated_pg():
    """A primary and a synchronous streaming standby (pg_basebackup -R) in a tmp dir, on free ports."""
    if not INITDB:
        pytest.skip("PostgreSQL server binaries (initdb) are not installed: no failover test")
    pair = ReplicatedPostgres(tempfile.mkdtemp(prefix="zhifa-pgfail-"))
    try:
        yield pair.start().primary, pair.standby
    finally:
        pair.stop()
        shutil.rmtree(pair.root, ignore_errors=True)


def _records_process(cfg_path, log_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT_DIR), "ZHIFA_BATCH_SIZE": "20"}
    return subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "nameko"), "run", "--config",
                             str(cfg_path), "services.records.service"], cwd=ROOT_DIR, env=env,
                            stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, start_new_session=True)


def _appended(dsn: str):
    """Entries of events in the log: (count, {event_id: times}) — None while no primary answers."""
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            rows = conn.execute("SELECT event_id, count(*) FROM log_entries WHERE event_id IS NOT NULL "
                                "GROUP BY event_id").fetchall()
    except psycopg.OperationalError:
        return None
    return dict(rows)


def test_plat1_issue20_primary_killed_mid_stream_standby_promoted_every_event_once(amqp_uri, replicated_pg,
                                                                                  tmp_path):
    """issue 20, PLAT-1: kill -9 of the PostgreSQL primary mid-stream, promotion of the standby:
    records reconnects through its multi-host URL to the new primary; every event once."""
    primary, standby = replicated_pg
    with psycopg.connect(primary.dsn(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE records")
    url = (f"postgresql://postgres@/records?host=127.0.0.1:{primary.port}&host=127.0.0.1:{standby.port}"
           "&target_session_attrs=read-write&connect_timeout=3")
    upgrade("records", url)                    # migrations go through the multi-host URL as well
    declare_topology(amqp_uri, [cls for cls in all_service_classes() if cls.name == "records"])
    cfg = tmp_path / "records.yaml"
    cfg.write_text(yaml.safe_dump({"AMQP_URI": amqp_uri, "ZHIFA_DATABASES": {"records": url},
                                   "ZHIFA_METRICS_PORTS": {"records": free_port()}, "ZHIFA_RECORDS_STH_INTERVAL": 1,
                                   "ZHIFA_RETRY_DELAY_MS": 300, "ZHIFA_MAX_ATTEMPTS": 3,
                                   "ZHIFA_RECORDS_BLOB_DIR": str(tmp_path / "blobs"),
                                   "ZHIFA_RECORDS_SIGNING_KEY_FILE": str(tmp_path / "key.pem")}))
    log_path = tmp_path / "records.log"
    proc = _records_process(cfg, log_path)
    cases = [ev.case_id(f"FAILOVER-{c}") for c in range(CASES)]
    # the cases interleaved: every stage of the stream touches many of them
    envelopes = [ev.case_opened(case) for case in cases]
    envelopes += [ev.evidence(case, n=j) for j in range(EVIDENCE_PER_CASE) for case in cases]
    new_primary = standby.dsn("records")
    figures: dict = {}
    try:
        with Connection(amqp_uri) as conn:
            channel = conn.channel()
            wait_for(lambda: channel.queue_declare("evt-departments-case.opened--records.on_case_opened",
                                                   passive=True).consumer_count == 1, timeout=60,
                     message="records consumes")
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
            producer = Producer(conn.channel())
            killed = promoted = None
            for i, envelope in enumerate(envelopes):
                if i == KILL_AFTER:
                    wait_for(lambda: len(_appended(primary.dsn("records")) or ()) >= KILL_AFTER // 2, timeout=30,
                             message="records applies on the primary")
                    primary.kill9()
                    killed = time.monotonic()
                    figures["applied_before_kill"] = len(_appended(new_primary) or ())
                if killed and not promoted and time.monotonic() - killed > PROMOTE_AFTER:
                    # the operator's (or the cluster manager's) reaction: promote the standby. Until
                    # then no host takes writes: longer than ZHIFA_MAX_ATTEMPTS × the retry delay, so
                    # an outage taken for a handler error would dead-letter events
                    standby.promote()
                    promoted = time.monotonic()
                producer.publish(json.dumps(envelope, ensure_ascii=False).encode(),
                                 exchange=events_exchange("departments"), routing_key=envelope["event_type"],
                                 content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                                 mandatory=True, user_id=amqp_user(amqp_uri))
                time.sleep(0.01)          # a steady stream (~100/s), not one burst before the kill
        if not promoted:              # the stream ended first: the promotion comes at its time
            time.sleep(max(0.0, killed + PROMOTE_AFTER - time.monotonic()))
            standby.promote()
            promoted = time.monotonic()
        figures["promoted_after_seconds"] = round(promoted - killed, 2)
        at_promotion = len(_appended(new_primary) or ())
        wait_for(lambda: len(_appended(new_primary) or ()) > at_promotion, timeout=30,
                 message="records appends on the promoted standby")
        figures["recovered_seconds"] = round(time.monotonic() - killed, 2)
        wait_for(lambda: len(_appended(new_primary) or ()) >= len(envelopes), timeout=40,
                 message="every event applied after the failover")
        wait_until_drained(amqp_uri, "records")      # the redeliveries have been handled (barrier)
        with psycopg.connect(new_primary, autocommit=True) as db:
            seqs = [s for (s,) in db.execute("SELECT sequence FROM log_entries ORDER BY sequence")]
            key = wait_for(lambda: db.execute("SELECT public_key FROM tree_heads WHERE tree_size >= %s LIMIT 1",
                                              (len(seqs),)).fetchone(), timeout=30,
                           message="a tree head over the whole log")
        letters = dead_letters(amqp_uri, "records")
    except BaseException:
        print(log_path.read_text(errors="replace")[-8000:])
        raise
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
    applied = _appended(new_primary)
    sent = {e["event_id"] for e in envelopes}
    lost = sent - set(applied)
    duplicated = {e: n for e, n in applied.items() if n > 1}
    figures.update(sent=len(sent), applied=len(applied), lost=len(lost), duplicated=len(duplicated),
                   dead_lettered=len(letters))
    print("FAILOVER", json.dumps(figures))
    assert not lost and not duplicated, figures
    assert letters == [], letters                    # a lost primary is transient, not poison
    assert seqs == list(range(len(seqs)))            # no hole, no repeat in the log
    report = verify_database(new_primary, key[0])
    assert report["ok"], report["problems"]
