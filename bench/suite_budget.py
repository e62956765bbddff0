"""The CPU and delivery budget of one departmental event of each type (issue 17), whole suite on PostgreSQL.

    python bench/suite_budget.py [--cases 300] [--rate 0] [--idle-seconds 20]

Set-up as bench/suite_mixed.py (every service its own ``nameko run`` and database, records × 2).
``--cases`` cases are taken through their life one event type at a time (officer.registered, then
case.opened for every case, then evidence.recorded ×2, hearing.held, decision.proposed, made, served,
executed, case.archived), each phase published by a confirmed AMQP publisher (``--rate`` 0: as fast as the
confirm window allows — the services see a backlog and batch as under saturation, the regime in which
the sustained rate is decided; ``--rate N``: paced, small batches) and drained before the next. First the
suite idles for ``--idle-seconds``: each service's CPU and transactions per second when nothing arrives
(timers, outbox relay polls, heartbeats) are measured and subtracted from every phase (its duration ×
the idle rate), so the figures are what the events cost. Per phase and per service the script reads:

- CPU: user+system time of the service's processes (/proc/<pid>/stat; records summed over its replicas);
- transactions: ``xact_commit`` of the service's database (pg_stat_database; includes the outbox relay's
  and periodic jobs' transactions, i.e. everything the service commits);
- broker deliveries: the departmental event's queues (bindings of ``departments.events`` for the type)
  plus, for every internal event the phase put in a service's outbox, the queues bound to
  ``<service>.events`` for its type.

Prints a Markdown table (per event: deliveries, transactions and CPU ms per service) and
``BENCH suite_budget_cpu_ms_per_event <ms> ms`` (mix-weighted, all services). PostgreSQL and RabbitMQ
are shared with whatever else runs on the machine: their CPU is not attributed.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import unquote, urlparse

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import CommitWatcher, cpu_seconds, pg_database, service_process, vhost, wait_until  # noqa: E402
from records_ingest import ConfirmedPublisher, _encode  # noqa: E402
from suite_mixed import Backlog  # noqa: E402

from services.common import settings  # noqa: E402
from tests.integration import events as ev  # noqa: E402

RECORDS_REPLICAS = settings.get("ZHIFA_BENCH_RECORDS_REPLICAS")
SUITE = settings.get("ZHIFA_BENCH_SUITE")
# the mix, per event
WEIGHTS = {"case.opened": 0.17, "evidence.recorded": 0.40, "hearing.held": 0.01, "decision.proposed": 0.085,
           "decision.made": 0.085, "decision.served": 0.085, "decision.executed": 0.085, "case.archived": 0.085,
           "officer.registered": 0.005}


def bindings(amqp_uri: str) -> dict[tuple[str, str], int]:
    """(exchange, routing key) -> number of queues bound."""
    vhost_name = unquote(urlparse(amqp_uri).path.lstrip("/")) or "/"
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    out = subprocess.run([exe, "-q", "list_bindings", "-p", vhost_name, "source_name", "destination_name",
                          "routing_key", "--formatter", "json"], check=True, capture_output=True, text=True,
                         timeout=60).stdout
    counts: Counter = Counter()
    for b in json.loads(out or "[]"):
        if b["source_name"] and not b["destination_name"].startswith("bench."):
            counts[(b["source_name"], b["routing_key"])] += 1
    return counts


def in_queues(vhost_name: str) -> int:
    """Messages in the vhost's queues, ready or delivered and not yet acknowledged."""
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    out = subprocess.run([exe, "-q", "list_queues", "-p", vhost_name, "name", "messages", "--formatter", "json"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return sum(int(q.get("messages") or 0) for q in json.loads(out or "[]") if not q["name"].startswith("bench."))


def outbox_counts(urls: dict) -> dict[str, Counter]:
    result = {}
    for svc, url in urls.items():
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT event_type, count(*) FROM outbox GROUP BY event_type").fetchall()
        result[svc] = Counter(dict(rows))
    return result


def commits(urls: dict) -> dict[str, int]:
    with psycopg.connect(settings.get("ZHIFA_BENCH_PG"), autocommit=True) as conn:
        rows = dict(conn.execute("SELECT datname, xact_commit FROM pg_stat_database").fetchall())
    return {svc: rows.get(url.rsplit("/", 1)[1], 0) for svc, url in urls.items()}


def phases(cases: list[str]):
    def now():
        return ev.dt.datetime.now(ev.CHINA)

    yield "officer.registered", [ev.envelope("officer.registered", {
        "officer_id": f"o-{i + 1}", "name": "王执法", "body_id": ev.BODY["body_id"], "roles": ["officer"],
        "certificate_no": f"JS{i:08d}"}) for i in range(len(cases) // 10)]
    yield "case.opened", [ev.case_opened(c) for c in cases]
    yield "evidence.recorded", [ev.evidence(c, n=n) for n in range(2) for c in cases]
    yield "hearing.held", [ev.envelope("hearing.held", {"hearing_id": f"{c}-H1", "held_at": now().isoformat(),
                                                         "officer_ids": ["o-1", "o-2"]}, c) for c in cases]
    yield "decision.proposed", [ev.decision_proposed(c, fine="2000.00") for c in cases]
    yield "decision.made", [ev.decision_made(c, fine="2000.00") for c in cases]
    yield "decision.served", [ev.decision_served(c) for c in cases]
    yield "decision.executed", [ev.envelope("decision.executed", {
        "executed_at": now().isoformat(), "manner": "当事人自觉履行，已缴纳罚款"}, c) for c in cases]
    yield "case.archived", [ev.case_archived(c) for c in cases]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--rate", type=float, default=0)
    parser.add_argument("--idle-seconds", type=float, default=20)
    args = parser.parse_args(argv)
    rows = []
    with vhost() as amqp_uri, contextlib.ExitStack() as stack:
        urls = {svc: stack.enter_context(pg_database()) for svc in SUITE}
        pids: dict[str, list[int]] = defaultdict(list)
        for svc in SUITE:
            for _ in range(RECORDS_REPLICAS if svc == "records" else 1):
                proc = stack.enter_context(service_process(svc, amqp_uri, {svc: urls[svc]},
                                                           extra_config={"ZHIFA_DATABASES": urls}))
                pids[svc].append(proc.pid)
        watcher = CommitWatcher(urls["records"])
        stack.callback(watcher.close)
        publisher = ConfirmedPublisher(amqp_uri, window=2000)
        stack.callback(publisher.close)
        prefix = f"BUD-{uuid.uuid4().hex[:6]}"
        warm = [ev.case_opened(ev.case_id(f"{prefix}-W{i}")) for i in range(20)]
        for envelope in warm:
            publisher.publish(_encode(envelope), envelope["event_type"])
        publisher.flush()
        wait_until(lambda: all(e["event_id"] in watcher.seen for e in warm), 120, 0.2)
        backlog = Backlog(amqp_uri)
        stack.callback(backlog.close)
        bound = bindings(amqp_uri)
        cases = [ev.case_id(f"{prefix}-{i}") for i in range(args.cases)]

        vhost_name = unquote(urlparse(amqp_uri).path.lstrip("/")) or "/"

        def settled():
            # ready AND unacknowledged: a consumer's prefetch holds hundreds of delivered messages while
            # no queue shows one ready — counting ready only let a phase's work spill into the next
            return backlog.ready()[0] == 0 and in_queues(vhost_name) == 0

        wait_until(settled, 120, 0.5)
        time.sleep(2)
        cpu0, tx0, t0 = {svc: cpu_seconds(p) for svc, p in pids.items()}, commits(urls), time.perf_counter()
        time.sleep(args.idle_seconds)
        idle_s = time.perf_counter() - t0
        cpu1, tx1 = {svc: cpu_seconds(p) for svc, p in pids.items()}, commits(urls)
        idle_cpu = {svc: (cpu1[svc] - cpu0[svc]) / idle_s for svc in urls}
        idle_tx = {svc: (tx1[svc] - tx0[svc]) / idle_s for svc in urls}
        print("bench: idle per second: " + ", ".join(f"{svc} {idle_cpu[svc] * 1000:.0f} CPU ms {idle_tx[svc]:.1f} tx"
                                                     for svc in urls), file=sys.stderr, flush=True)
        for event_type, envelopes in phases(cases):
            cpu0 = {svc: cpu_seconds(p) for svc, p in pids.items()}
            tx0, out0 = commits(urls), outbox_counts(urls)
            start = time.perf_counter()
            for i, envelope in enumerate(envelopes):
                while args.rate and time.perf_counter() < start + i / args.rate:
                    publisher.poll()
                    time.sleep(0.001)
                publisher.publish(_encode(envelope), event_type)
            publisher.flush()
            if envelopes[0].get("case_id"):
                wait_until(lambda: all(e["event_id"] in watcher.seen for e in envelopes), 300, 0.2)
            wait_until(settled, 300, 0.5)
            time.sleep(2.5)      # the outbox relays (and its subscribers) finish; the relay polls
            wait_until(settled, 300, 0.5)
            n = len(envelopes)
            elapsed = time.perf_counter() - start
            cpu1 = {svc: cpu_seconds(p) for svc, p in pids.items()}
            tx1, out1 = commits(urls), outbox_counts(urls)
            # what the events cost: the idle rate over the phase's duration subtracted
            cpu1 = {svc: cpu1[svc] - idle_cpu[svc] * elapsed for svc in urls}
            tx1 = {svc: tx1[svc] - idle_tx[svc] * elapsed for svc in urls}
            emitted = {svc: out1[svc] - out0[svc] for svc in urls}
            deliveries = bound[("departments.events", event_type)] * n
            internal = []
            for svc, counter in emitted.items():
                for etype, count in counter.items():
                    queues = bound[(f"{svc}.events", etype)]
                    deliveries += count * queues
                    internal.append(f"{etype} {count / n:.2f}×{queues}")
            rows.append((event_type, n, deliveries / n, bound[("departments.events", event_type)],
                         {svc: (tx1[svc] - tx0[svc]) / n for svc in urls},
                         {svc: (cpu1[svc] - cpu0[svc]) * 1000 / n for svc in urls}, internal))
            print(f"bench: {event_type}: {n} events, {deliveries / n:.2f} deliveries/event", file=sys.stderr,
                  flush=True)
    services = list(SUITE)
    print("| event (×n) | deliveries/event (direct) | internal events per event × queues | "
          + " | ".join(f"{s} tx / CPU ms" for s in services) + " | CPU ms total |")
    print("|---|---|---|" + "---|" * len(services) + "---|")
    weighted_cpu = weighted_deliveries = 0.0
    for event_type, n, deliveries, direct, tx, cpu, internal in rows:
        total = sum(cpu.values())
        weighted_cpu += WEIGHTS.get(event_type, 0) * total
        weighted_deliveries += WEIGHTS.get(event_type, 0) * deliveries
        print(f"| {event_type} (×{n}) | {deliveries:.2f} ({direct}) | {', '.join(internal) or '—'} | "
              + " | ".join(f"{tx[s]:.2f} / {cpu[s]:.1f}" for s in services) + f" | {total:.1f} |")
    print(f"BENCH suite_budget_cpu_ms_per_event {weighted_cpu:.1f} ms", flush=True)
    print(f"BENCH suite_budget_deliveries_per_event {weighted_deliveries:.2f} deliveries", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
