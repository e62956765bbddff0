"""Shared set-up for benchmarks: a throwaway RabbitMQ vhost and PostgreSQL database, a service
started with `nameko run` against them, and a confirmed publisher of departmental events."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import yaml
from kombu import Connection, Producer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.common import settings  # noqa: E402
from services.common.settings import amqp_user  # noqa: E402

PG_ADMIN = settings.get("ZHIFA_BENCH_PG")
AMQP_HOST = settings.get("ZHIFA_BENCH_AMQP_HOST")


def rabbitmqctl(*args):
    subprocess.run([shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl", *args], check=True,
                   capture_output=True, timeout=60)


@contextlib.contextmanager
def vhost():
    name = f"zhifa-bench-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    if settings.get("ZHIFA_BENCH_CQV2"):
        rabbitmqctl("set_policy", "-p", name, "--apply-to", "queues", "zhifa-queue-version", ".*",
                    '{"queue-version": 2}')
    try:
        yield f"amqp://guest:guest@{AMQP_HOST}/{name}"
    finally:
        rabbitmqctl("delete_vhost", name)


@contextlib.contextmanager
def pg_database():
    name = f"zhifa_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        _autovacuum_as_in_production(admin, +1)
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _autovacuum_as_in_production(admin, -1)


_AUTOVACUUM = {"databases": 0, "restore": None}


def _autovacuum_as_in_production(admin, delta: int) -> None:
    """Autovacuum on while a bench database exists, as on every production server. This machine's server
    runs with ``autovacuum = off`` (a CI setting): no table was ever analysed, so the planner had no
    statistics and read growing tables from end to end — PostgreSQL's CPU per event tripled from one
    suite_mixed step to the next (issue 17). Turned on with ALTER SYSTEM (a reload, no restart) when the
    first database is created and put back as it was when the last one is dropped."""
    state = _AUTOVACUUM
    if delta > 0 and state["databases"] == 0:
        if admin.execute("SHOW autovacuum").fetchone()[0] == "off":
            in_auto_conf = admin.execute("SELECT count(*) FROM pg_file_settings WHERE name = 'autovacuum' "
                                         "AND sourcefile LIKE '%postgresql.auto.conf' AND applied").fetchone()[0]
            state["restore"] = ("ALTER SYSTEM SET autovacuum = off" if in_auto_conf
                                else "ALTER SYSTEM RESET autovacuum")
            admin.execute("ALTER SYSTEM SET autovacuum = on")
            admin.execute("SELECT pg_reload_conf()")
            print("bench: the PostgreSQL server runs with autovacuum off; on for this run, as in production",
                  file=sys.stderr, flush=True)
    state["databases"] += delta
    if delta < 0 and state["databases"] == 0 and state["restore"]:
        admin.execute(state["restore"])
        admin.execute("SELECT pg_reload_conf()")
        state["restore"] = None


def analyze(*urls: str) -> None:
    """Statistics for every table now (after a warm-up), as a running deployment's autovacuum keeps
    them: autovacuum analyses a table only after its first minute or so of changes."""
    for url in urls:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")


@contextlib.contextmanager
def service_process(service: str, amqp_uri: str, databases: dict, extra_config: dict | None = None,
                    nice: int = 0):
    """`nameko run` of one service (migrated, topology declared) until the block ends."""
    from nameko import config

    from services.common.bus import all_service_classes, declare_topology
    from services.common.migrations import upgrade

    for name, url in databases.items():
        upgrade(name, url)
    # only this service's queues: queues of services not running would pile up every event and
    # charge the broker for copies nobody consumes (the e2e bench starts each service, declaring its own)
    declare_topology(amqp_uri, [cls for cls in all_service_classes() if cls.name == service])
    cfg = {"AMQP_URI": amqp_uri, "ZHIFA_DATABASES": databases, "ZHIFA_METRICS_DISABLED": "1",
           "ZHIFA_SAMPLE_DATA": True,   # the benchmarks run on the shipped sample benchmarks and channels (issue 18)
           "LOGGING": {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}},
           **(extra_config or {})}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump(cfg, handle)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [str(Path(sys.executable).parent / "nameko"), "run", "--config", handle.name, f"services.{service}.service"]
    profile_dir = settings.get("ZHIFA_BENCH_PROFILE_DIR")
    if profile_dir:   # cProfile of the whole process, written on SIGTERM (the budget's profile)
        out = Path(profile_dir) / f"{service}-{uuid.uuid4().hex[:6]}.prof"
        command = [sys.executable, "-c", _PROFILED.format(out=str(out)), *command[1:]]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=(lambda: os.nice(nice)) if nice else None)
    config.update(cfg)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(120 if profile_dir else 20)     # a profiled process writes its profile first
        except subprocess.TimeoutExpired:
            proc.kill()
        os.unlink(handle.name)


_PROFILED = """
import atexit, cProfile, sys, time
from nameko.cli import cli
profile = cProfile.Profile(time.process_time)   # CPU, not wall time (green threads wait)
def _dump():
    profile.disable()
    profile.dump_stats({out!r})
atexit.register(_dump)   # nameko run stops cleanly on SIGTERM, then the interpreter exits
sys.argv = ["nameko"] + sys.argv[1:]
profile.enable()
cli()
"""


def cpu_seconds(pids, missing_ok: bool = False) -> float:
    """User + system CPU seconds of these processes (/proc/<pid>/stat); a process gone is an error unless
    ``missing_ok`` (a PostgreSQL backend that exited)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            if missing_ok:
                continue
            raise
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds (user + system, from /proc) of the processes a benchmark runs on this machine: each
    service process by name, PostgreSQL (every ``postgres`` process: the server and its backends),
    RabbitMQ (``beam.smp``) and the benchmark itself (publisher, watcher, sampler) — the whole suite's
    budget, not only the services' (issue 17). ``snapshot()`` → {name: seconds}; a backend that exits
    between two snapshots takes its CPU with it (the services keep pooled connections)."""

    GROUPS = {"postgresql": "postgres", "rabbitmq": "beam.smp"}

    def __init__(self, processes: dict[str, list[int]]):
        self.processes = processes

    @staticmethod
    def _named(comm: str) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/comm") as handle:
                        if handle.read().strip() == comm:
                            pids.append(int(entry))
                except OSError:
                    continue
        return pids

    def snapshot(self) -> dict[str, float]:
        out = {name: cpu_seconds(pids) for name, pids in self.processes.items()}
        for name, comm in self.GROUPS.items():
            out[name] = cpu_seconds(self._named(comm), missing_ok=True)
        out["bench"] = cpu_seconds([os.getpid()])
        return out

    @staticmethod
    def per_event_ms(before: dict, after: dict, events: int) -> dict[str, float]:
        return {name: 1000 * (after[name] - before[name]) / max(events, 1) for name in after}


class Publisher:
    """Publishes envelopes to departments.events with confirms, as a departmental system would."""

    def __init__(self, amqp_uri: str):
        self.conn = Connection(amqp_uri, transport_options={"confirm_publish": True})
        self.producer = Producer(self.conn.channel())
        self.user = amqp_user(amqp_uri)   # the suite's own broker user: trusted by the sender check

    def publish(self, envelope: dict):
        self.producer.publish(json.dumps(envelope, ensure_ascii=False).encode(), exchange="departments.events",
                              routing_key=envelope["event_type"], content_type="application/json",
                              content_encoding="utf-8", delivery_mode=2, user_id=self.user)

    def close(self):
        self.conn.release()


def wait_until(predicate, timeout: float, interval: float = 0.05) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return time.perf_counter()
        time.sleep(interval)
    raise TimeoutError("benchmark condition not reached")


class CommitWatcher:
    """Polls records' log_entries (every 20 ms) and notes when each event id became visible."""

    def __init__(self, url: str):
        self.url = url
        self.seen: dict[str, float] = {}
        self.low = -1
        self.above: set[int] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute("SELECT sequence, event_id FROM log_entries WHERE sequence > %s",
                                    (self.low,)).fetchall()
                now = time.time()
                for seq, event_id in rows:
                    if seq not in self.above:
                        self.above.add(seq)
                        if event_id:
                            self.seen.setdefault(str(event_id), now)
                while self.low + 1 in self.above:
                    self.above.discard(self.low + 1)
                    self.low += 1
                time.sleep(0.02)

    def close(self):
        self.stop.set()
        self.thread.join(5)
