"""The workload users have (issue 17): the whole suite on PostgreSQL under a realistic case mix,
published from outside by a plain AMQP client with publisher confirms, as a departmental system would.

    python bench/suite_mixed.py [--step-seconds 60] [--first-rate 200] [--max-steps 7]

Prints:
    BENCH suite_broker_raw_msgs_per_s <n> msg/s          (raw broker rate, same run, same machine)
    BENCH suite_mixed_sustained_events_per_s <n> events/s
    BENCH suite_mixed_p99_at_200_ms <ms> ms
    BENCH suite_mixed_vs_raw <ratio> x
    BENCH suite_mixed_cpu_<process>_ms_per_event <ms> ms    (records, review, …, postgresql, rabbitmq, bench)
    BENCH suite_mixed_cpu_ms_per_event <ms> ms             (their sum: the whole machine's CPU per event)
    BENCH suite_mixed_cpu_ceiling_events_per_s <n> events/s (cores × 1000 / that sum)

Set-up: a throwaway vhost; records (ZHIFA_BENCH_RECORDS_REPLICAS replicas, 2 as deployed), review,
disclosure, evaluation and complaints (ZHIFA_BENCH_SUITE) each run as their own ``nameko run`` process
on their own PostgreSQL database (one database per service, as the tests' PostgreSQL helpers do).

The mix (per 100 events, as in issue 17): ~17 case.opened, ~40 evidence.recorded, ~8.5 each of
decision.proposed / made / served / executed and case.archived, ~1 hearing.held, plus one registry event
(officer.registered) per 200. Cases are interleaved (about 300 open at a time), each case's events in
order; half of the cases reach a decision and are archived within the run, half stay under investigation.

Latency: publish (just before ``basic_publish``) → the event's entry is visible (committed) in the
records database's ``log_entries``; a watcher polls the log every 20 ms for sequences above the highest
contiguous one seen, so a figure is at most ~20 ms late. Registry events have no entry and no latency.

How the sustained rate is searched: each *step* offers one constant rate for ``step seconds`` (60 by
default, the issue's definition; ZHIFA_BENCH_STEP_SECONDS or --step-seconds shortens it for a quick
run). Every second the backlog is sampled: the ready messages of every queue of the vhost (passive
declare; unacknowledged ones are bounded by the prefetch) plus the records lag (case events published
minus entries committed). A step *keeps up* when the publisher reached ≥ 95% of the offered rate,
the backlog's least-squares growth over the second half of the step is below 5% of the offered rate
(with fewer than 4 samples there: the end backlog over the step's duration), and the backlog at the end
is below 2 s worth of the offered rate. The first step is at 200/s (it gives
the p99 figure); then the rate doubles after a pass (up to ``--max-rate``) or halves after a fail
until both a pass and a fail are known, and then bisects between the highest pass and the lowest
fail until they are within 15% or ``--max-steps`` steps ran. After each step the suite drains
(backlog 0) before the next; a step that does not drain within 3 minutes ends the search.
The figure is the highest offered rate that kept up (0 if none did).

The budget (issue 17): over each step and its drain, the CPU time of every process of the suite on this
machine — each service (records summed over its replicas), PostgreSQL (all its processes), RabbitMQ
(``beam.smp``) and this script (publisher, watcher, sampler) — read from /proc and divided by the events
published; printed per step on stderr with how busy the cores were, and as BENCH lines for the highest rate
offered that drained (the most saturated step: the largest batches, so the cheapest events). The ceiling is
the rate at which that cost would keep every core busy: no queueing or batching beats it without cutting
the cost.

Absolute figures are noisy on a shared 2-core machine; compare them with the raw broker rate printed
by the same run.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import shutil
import sys
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from urllib.parse import unquote, urlparse

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker_raw import _connect, measure_raw  # noqa: E402
from harness import CommitWatcher, CpuMeter, analyze, pg_database, service_process, vhost, wait_until  # noqa: E402
from records_ingest import ConfirmedPublisher, _encode  # noqa: E402

from services.common import settings  # noqa: E402
from tests.integration import events as ev  # noqa: E402
from tests.integration.events import Mix  # noqa: E402  (the case mix, shared with the chaos suite)

RECORDS_REPLICAS = settings.get("ZHIFA_BENCH_RECORDS_REPLICAS")
SUITE = settings.get("ZHIFA_BENCH_SUITE")


# --- observing ------------------------------------------------------------------------------------

class Backlog:
    """Ready messages in every queue of the vhost (passive declares over one connection)."""

    def __init__(self, amqp_uri: str):
        vhost_name = unquote(urlparse(amqp_uri).path.lstrip("/")) or "/"
        exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
        out = subprocess.run([exe, "-q", "list_queues", "-p", vhost_name, "name", "--formatter", "json"],
                             check=True, capture_output=True, text=True, timeout=60).stdout
        self.queues = [q["name"] for q in json.loads(out or "[]") if not q["name"].startswith("bench.")]
        self.conn = _connect(amqp_uri)
        self.ch = self.conn.channel()

    def ready(self) -> tuple[int, dict[str, int]]:
        per = {}
        for name in self.queues:
            per[name] = self.ch.queue_declare(name, passive=True).message_count
        return sum(per.values()), per

    def close(self):
        with contextlib.suppress(Exception):
            self.conn.close()


def _slope(points: list[tuple[float, float]]) -> float:
    if len(points) < 3:
        return 0.0
    xs, ys = zip(*points)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


# --- one step -------------------------------------------------------------------------------------

def run_step(rate: float, seconds: float, mix: Mix, publisher: ConfirmedPublisher, watcher: CommitWatcher,
             backlog: Backlog, drain_timeout: float, meter: CpuMeter | None = None) -> dict:
    total = int(rate * seconds)
    envelopes = [mix.next() for _ in range(total)]
    bodies = [(_encode(e), e["event_type"], e["event_id"], e.get("case_id") is not None) for e in envelopes]
    published_at: dict[str, float] = {}
    samples: list[tuple[float, float]] = []
    worst_queues: dict[str, int] = {}
    start = time.perf_counter()
    sampling = threading.Event()

    def sample():
        # its own thread and connection: a slow broker delays the samples, never the publisher's pacing
        while not sampling.wait(1.0):
            ready, per = backlog.ready()
            lag = sum(1 for e in list(published_at) if e not in watcher.seen)
            samples.append((time.perf_counter() - start, ready + lag))
            for name, count in per.items():
                worst_queues[name] = max(worst_queues.get(name, 0), count)

    cpu_before = meter.snapshot() if meter else None
    wall_before = time.perf_counter()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for i, (body, key, event_id, is_case) in enumerate(bodies):
        due = start + i / rate
        while True:
            delay = due - time.perf_counter()
            if delay <= 0:
                break
            if delay > 0.002:
                publisher.poll()
            time.sleep(min(delay, 0.001))
        if is_case:
            published_at[event_id] = time.time()
        publisher.publish(body, key)
    last_publish = time.perf_counter()
    sampling.set()
    sampler.join(30)
    publisher.flush()
    achieved = total / max(last_publish - start + 1 / rate, 1e-9)   # pacing kept (the confirms may lag)
    end_ready, _ = backlog.ready()
    end_backlog = end_ready + sum(1 for e in published_at if e not in watcher.seen)
    second_half = [(t, b) for t, b in samples if t >= seconds / 2] + [(last_publish - start, end_backlog)]
    # too few samples (a slow broker answers the passive declares late): the growth from nothing over the step
    growth = _slope(second_half) if len(second_half) >= 4 else end_backlog / seconds
    kept_up = achieved >= 0.95 * rate and growth < 0.05 * rate and end_backlog < 2 * rate
    # drain before the next step (and before reading latencies)
    drain_start = time.perf_counter()
    drained = False
    while time.perf_counter() - drain_start < drain_timeout:
        ready, _ = backlog.ready()
        if ready == 0 and all(e in watcher.seen for e in published_at):
            drained = True
            break
        time.sleep(0.5)
    observed_until = time.time()
    cpu = {}
    if meter:   # the whole suite's CPU over the step and its drain, per event published (issue 17)
        cpu = CpuMeter.per_event_ms(cpu_before, meter.snapshot(), total)
        busy = sum(cpu.values()) * total / 1000 / ((time.perf_counter() - wall_before) * (os.cpu_count() or 1))
    latencies = sorted((watcher.seen.get(e, observed_until) - at) * 1000 for e, at in published_at.items())
    peak = max((b for _, b in samples), default=0)
    result = {"rate": rate, "achieved": achieved, "growth": growth, "end_backlog": end_backlog, "peak": peak,
              "kept_up": kept_up, "drained": drained, "drain_s": time.perf_counter() - drain_start,
              "p50": statistics.median(latencies) if latencies else 0.0,
              "p99": latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0.0,
              "missing": sum(1 for e in published_at if e not in watcher.seen), "cpu": cpu}
    top = sorted(worst_queues.items(), key=lambda kv: -kv[1])[:4]
    print(f"bench: step {rate:.0f}/s for {seconds:.0f} s: achieved {achieved:.0f}/s, backlog growth "
          f"{growth:.1f}/s, end {end_backlog}, peak {peak}, p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms, "
          f"{'KEPT UP' if kept_up else 'fell behind'}, drained {'in %.0f s' % result['drain_s'] if drained else 'NOT'}"
          f"{', %d never committed' % result['missing'] if result['missing'] else ''}; "
          f"deepest queues {top}", file=sys.stderr, flush=True)
    if cpu:
        print(f"bench:   CPU ms per event (step + drain): "
              + ", ".join(f"{name} {ms:.2f}" for name, ms in cpu.items())
              + f"; total {sum(cpu.values()):.2f} — the machine's {os.cpu_count()} cores {100 * busy:.0f}% busy",
              file=sys.stderr, flush=True)
    return result


def search(step: callable, first: float, max_rate: float, max_steps: int) -> tuple[float, dict]:
    """Doubling/halving until a pass and a fail are known, then bisection (see the module docstring)."""
    results: dict[float, dict] = {}
    passed, failed = 0.0, None
    rate = first
    for _ in range(max_steps):
        result = step(rate)
        results[rate] = result
        if result["kept_up"]:
            passed = max(passed, rate)
        else:
            failed = rate if failed is None else min(failed, rate)
        if not result["drained"]:
            break
        if failed is None:
            if rate >= max_rate:
                break
            rate = min(rate * 2, max_rate)
        elif passed == 0.0:
            rate = rate / 2
            if rate < 5:
                break
        else:
            if failed / passed <= 1.15:
                break
            rate = round((passed + failed) / 2)
    return passed, results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step-seconds", type=float, default=settings.get("ZHIFA_BENCH_STEP_SECONDS"))
    parser.add_argument("--first-rate", type=float, default=200)
    parser.add_argument("--max-rate", type=float, default=2000)
    parser.add_argument("--max-steps", type=int, default=7)
    args = parser.parse_args(argv)
    with vhost() as amqp_uri:
        raw = measure_raw(amqp_uri, 20000)
        print(f"BENCH suite_broker_raw_msgs_per_s {raw:.0f} msg/s", flush=True)
        with contextlib.ExitStack() as stack:
            urls = {svc: stack.enter_context(pg_database()) for svc in SUITE}
            pids: dict[str, list[int]] = {}
            for svc in SUITE:
                for _ in range(RECORDS_REPLICAS if svc == "records" else 1):
                    proc = stack.enter_context(service_process(svc, amqp_uri, {svc: urls[svc]},
                                                               extra_config={"ZHIFA_DATABASES": urls}))
                    pids.setdefault(svc, []).append(proc.pid)
            meter = CpuMeter(pids)
            watcher = CommitWatcher(urls["records"])
            stack.callback(watcher.close)
            publisher = ConfirmedPublisher(amqp_uri, window=2000)
            stack.callback(publisher.close)
            mix = Mix(17, f"MIX-{uuid.uuid4().hex[:6]}")
            # warm-up: every service has handled its first events (connections, caches, tree)
            warm = [mix.next() for _ in range(100)]
            for envelope in warm:
                publisher.publish(_encode(envelope), envelope["event_type"])
            publisher.flush()
            wait_until(lambda: all(e["event_id"] in watcher.seen for e in warm if e.get("case_id")), 120, 0.2)
            backlog = Backlog(amqp_uri)
            stack.callback(backlog.close)
            wait_until(lambda: backlog.ready()[0] == 0, 120, 0.5)
            analyze(*urls.values())

            def step(rate):
                return run_step(rate, args.step_seconds, mix, publisher, watcher, backlog, drain_timeout=180,
                                meter=meter)

            sustained, results = search(step, args.first_rate, args.max_rate, args.max_steps)
    at_200 = results.get(200.0) or results.get(200)
    print(f"BENCH suite_mixed_sustained_events_per_s {sustained:.0f} events/s", flush=True)
    if at_200 is not None:
        print(f"BENCH suite_mixed_p99_at_200_ms {at_200['p99']:.0f} ms", flush=True)
    print(f"BENCH suite_mixed_vs_raw {sustained / raw:.3f} x", flush=True)
    # the budget: what one event of the mix costs every process on the machine at the highest rate offered
    # that drained (the most saturated step: the largest batches, the cheapest events), and the rate at which
    # that cost would use every core — what no queueing can beat on this machine
    drained = [rate for rate, result in results.items() if result["drained"]]
    budget = results[max(drained)]["cpu"] if drained else {}   # a step not drained: its events not all applied
    if budget:
        for name, ms in budget.items():
            print(f"BENCH suite_mixed_cpu_{name}_ms_per_event {ms:.2f} ms", flush=True)
        per_event = sum(budget.values())
        print(f"BENCH suite_mixed_cpu_ms_per_event {per_event:.2f} ms", flush=True)
        print(f"BENCH suite_mixed_cpu_ceiling_events_per_s {(os.cpu_count() or 1) * 1000 / per_event:.0f} events/s",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
