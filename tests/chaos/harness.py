"""The chaos harness (issue 20, PLAT-1): the whole suite as real processes, a realistic case mix
published with publisher confirms while a fault acts, then a barrier and an exact count of what
every consumer did. Support code only — the tests are tests/chaos/test_chaos_short.py (`make test`)
and tools/chaos.py (`make chaos`).

Set-up (``ChaosSuite``, started once and used for many rounds):
- a city suite (常州 320400) under test: records, review, disclosure, evaluation and complaints, each
  its own ``nameko run`` process, on its own vhost of the given broker (``amqp_host``, ``ctl``,
  ``lister``) and on PostgreSQL — one database per service on a primary with a synchronous streaming
  standby of the harness's own (tests/pg_replication.py; multi-host URLs with ``target_session_attrs=read-write``);
- a province suite (江苏 320000: records, evaluation, complaints on SQLite) linked to the city by the
  federation shovels, the city end reached through a TCP proxy (tests/tcp_proxy.py) that a fault cuts.
Data folders under ``root`` (``/tmp/chaos/`` by default); everything is stopped and removed by
``close()``.

A round (``ChaosSuite.round(fault, seed)``):
1. ``fault.prepare(suite)`` — optional, before anything is published;
2. the mix (tests/integration/events.Mix, seeded) is published at ``rate`` events/s by a plain AMQP
   publisher with publisher confirms and ``mandatory`` (``ConfirmingPublisher``: republishes what was
   not confirmed after a lost connection, so an event may be *sent* twice — the consumers dedupe);
3. after a seeded share (20–50%) of the events, in its own thread: ``fault.start(suite)``; then
   ``fault.duration`` seconds later ``fault.stop(suite)`` (publishing goes on meanwhile);
4. the barrier: every handler and retry queue of the city's services (and the link buffers) empty,
   no outbox row pending, and every expected effect present — or the round's ``barrier_timeout``;
5. the count (read-only: the services' databases, the dead-letter queues, the processes' metrics):

   attempted      distinct events the publisher tried to send
   confirmed      of them, confirmed by the broker (returned-as-unroutable or nacked ones are not)
   applied_once   confirmed events every expected consumer applied exactly once
   lost           confirmed events some expected consumer never applied (after the barrier)
   duplicated     effects present more than once (records log entries per event id — review's
                  classified/approved entries included —, disclosure publications per case and
                  version, evaluation facts per event/kind/officer/seq — NULL officers are not
                  covered by its unique constraint —, the province's log entries and facts).
                  review's own tables are keyed by case and version: a copy cannot show there
   dead_lettered  messages in the dead-letter queues of the city's and the province's services
   redelivered    copies the services received again and skipped as already applied
                  (zhifa_events_duplicate_total, scraped every second from every process; a message
                  redelivered after a kill whose first delivery never committed is applied, not
                  counted here)
   republished    messages the publisher sent again after a lost connection (unconfirmed)
   verify         services.records.verify over the city's log and a signed head covering it

   "Expected consumers" of a departmental event are the handlers bound to its type
   (services.common.bus.handler_bindings), checked in each service's ``processed_events`` (written in
   the effect's transaction) and, where a duplicate could show, in the effect tables above. Events the
   city emitted upward (its outboxes, the federation.yaml upward types but the heartbeats, which
   expire by design) must be processed at the province by each upward consumer.

Faults are small objects (subclass ``Fault``)::

    class BrokerNodeStop(Fault):
        name = "broker-node-stop"        # the row's label in the table
        duration = 10.0                  # seconds between start() and stop()
        def prepare(self, suite): ...    # optional: before the round publishes (default: nothing)
        def start(self, suite): ...      # inject: called once, mid-stream, in the fault thread
        def stop(self, suite): ...       # heal: restart what was killed, end the partition, …
        def close(self, suite): ...      # optional: when the suite closes

``suite`` is the ``ChaosSuite``: ``suite.city`` / ``suite.province`` (tests/integration/
tiers_support.SuiteProcesses: ``kill(group)``, ``start(group)``, ``procs``, ``amqp_uri``,
``databases``), ``suite.pg`` (ReplicatedPostgres), ``suite.link`` (its ``proxy``), ``suite.rng``
(the round's seeded random.Random), ``suite.note(text)`` (a line in the round's log). The built-in
faults: ``ServiceKill(service)``, ``PostgresFailover()``, ``Partition(seconds)``; ``FAULTS`` maps
their names to factories (``make chaos`` runs each).
"""
from __future__ import annotations

import contextlib
import json
import random
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import amqp
import psycopg
import requests

from services.common.bus import all_service_classes, handler_bindings
from tests.fixtures import AMQP_HOST, LinkUsers, _rabbitmqctl
from tests.integration.events import Mix
from tests.integration.tiers_support import Link, SuiteProcesses, signing_key
from tests.pg_replication import ReplicatedPostgres

CITY, PROVINCE = "320400", "320000"
CITY_SERVICES = ("records", "review", "disclosure", "evaluation", "complaints")
PROVINCE_SERVICES = ("records", "evaluation", "complaints")
UPWARD_EXCLUDED = {"link.heartbeat"}          # short TTL: expire during a cut by design
ROOT = Path("/tmp/chaos")


# --- faults --------------------------------------------------------------------------------------------

class Fault:
    """A fault plugin (see the module docstring)."""

    name = "fault"
    duration = 0.0

    def prepare(self, suite: "ChaosSuite") -> None:
        pass

    def start(self, suite: "ChaosSuite") -> None:
        raise NotImplementedError

    def stop(self, suite: "ChaosSuite") -> None:
        pass

    def close(self, suite: "ChaosSuite") -> None:
        pass


class ServiceKill(Fault):
    """kill -9 of one city service's process mid-stream; restarted ``duration`` seconds later."""

    duration = 2.0

    def __init__(self, service: str):
        self.service = service
        self.name = f"kill-{service}"

    def start(self, suite):
        suite.city.kill(self.service)
        suite.note(f"killed {self.service} (-9)")

    def stop(self, suite):
        suite.city.start(self.service)
        suite.note(f"restarted {self.service}")


class PostgresFailover(Fault):
    """kill -9 of the PostgreSQL primary (postmaster and backends) under all the city's services; the
    standby is promoted ``duration`` seconds later (a cluster manager's detection time), and a new
    standby is made of the dead primary's place after the round's barrier (``prepare`` of the next)."""

    name = "pg-primary-kill"

    def __init__(self, promote_after: float = 8.0):
        self.duration = promote_after

    def prepare(self, suite):
        if suite.pg.needs_standby:
            suite.pg.rebuild_standby()
            suite.pg.needs_standby = False
            suite.note("standby rebuilt from the promoted primary")

    def start(self, suite):
        suite.pg.kill_primary()
        suite.note(f"primary :{suite.pg.primary.port} killed (-9)")

    def stop(self, suite):
        suite.pg.promote_standby()
        suite.pg.needs_standby = True
        suite.note(f"standby :{suite.pg.primary.port} promoted")


class Partition(Fault):
    """The city–province link cut for ``seconds`` (the TCP proxy in front of the city's broker end
    closes every connection and stops listening), then healed."""

    def __init__(self, seconds: float = 30.0):
        self.duration = seconds
        self.name = "partition"

    def start(self, suite):
        suite.link.cut()
        suite.note(f"link cut for {self.duration:.0f} s")

    def stop(self, suite):
        suite.link.heal()
        suite.note("link healed")


FAULTS = {
    **{f"kill-{s}": (lambda s=s, **_: ServiceKill(s)) for s in CITY_SERVICES},
    "pg-primary-kill": lambda promote_after=8.0, **_: PostgresFailover(promote_after),
    "partition": lambda partition_seconds=30.0, **_: Partition(partition_seconds),
}


# --- the publisher -------------------------------------------------------------------------------------

class ConfirmingPublisher:
    """Persistent JSON to ``departments.events`` with publisher confirms and ``mandatory``, as a
    departmental system publishes. A lost connection is reopened (next URI of the list) and every
    unconfirmed message published again."""

    def __init__(self, amqp_uris: list[str], window: int = 500):
        self.uris, self.window = amqp_uris, window
        self.bodies: dict[str, tuple[bytes, str]] = {}
        self.attempted: set[str] = set()
        self.confirmed: set[str] = set()
        self.returned: set[str] = set()
        self.nacked: set[str] = set()
        self.republished = 0
        self._nacks: dict[str, int] = {}
        self._nacked_at: dict[str, float] = {}
        self._tags: dict[int, str] = {}
        self._conn = None
        self._open(timeout=30)

    def _open(self, timeout: float):
        deadline, i, error = time.monotonic() + timeout, 0, None
        while time.monotonic() < deadline:
            url = urlparse(self.uris[i % len(self.uris)])
            i += 1
            try:
                conn = amqp.Connection(host=f"{url.hostname}:{url.port or 5672}", userid=unquote(url.username or "guest"),
                                       password=unquote(url.password or "guest"),
                                       virtual_host=unquote(url.path[1:]) or "/", connect_timeout=5)
                conn.connect()
                ch = conn.channel()
                ch.confirm_select()
                ch.events["basic_ack"].add(self._ack)
                ch.events["basic_nack"].add(self._nack)
                ch.events["basic_return"].add(self._return)
                self._conn, self._ch, self._user, self._tags, self._tag = conn, ch, unquote(url.username or "guest"), {}, 0
                return
            except (OSError, amqp.exceptions.AMQPError) as exc:
                error = exc
                time.sleep(0.5)
        raise ConnectionError(f"no broker answered in {timeout} s: {error}")

    def _settle(self, tag: int, multiple: bool, into: set):
        for t in ([t for t in self._tags if t <= tag] if multiple else [tag]):
            event_id = self._tags.pop(t, None)
            if event_id is not None:
                into.add(event_id)

    def _ack(self, delivery_tag, multiple=False):
        self._settle(delivery_tag, multiple, self.confirmed)
        self.nacked -= self.confirmed

    def _nack(self, delivery_tag, multiple=False):
        """The broker did not take it (a quorum queue without its leader for a moment, issue 20): sent
        again, as a publisher with confirms does, a bounded number of times (``_resend_nacked``)."""
        self._settle(delivery_tag, multiple, self.nacked)

    def _resend_nacked(self):
        """Each nacked event again after a back-off of 0.25 s, doubling to 5 s (≈ 33 s over its 10 tries), as
        a departmental publisher does: sent again at once, all ten tries fell inside one leader election of a
        stopped node's quorum queues and 87 events were given up (CI, test_node_stop)."""
        now = time.monotonic()
        for event_id in sorted(self.nacked - self.confirmed - set(self._tags.values())):
            tries = self._nacks.get(event_id, 0)
            if tries >= 10:
                continue
            if now < self._nacked_at.setdefault(event_id, now) + min(0.25 * 2 ** tries, 5.0):
                continue
            del self._nacked_at[event_id]
            self._nacks[event_id] = tries + 1
            self.republished += 1
            self._send(event_id)

    def _retrying(self) -> bool:
        return any(self._nacks.get(e, 0) < 10 for e in self.nacked - self.confirmed)

    def _return(self, exc, exchange, routing_key, message):
        self.returned.add(json.loads(message.body)["event_id"])

    def _send(self, event_id: str):
        body, key = self.bodies[event_id]
        self._ch.basic_publish(amqp.Message(body, delivery_mode=2, content_type="application/json",
                                            content_encoding="utf-8", user_id=self._user),
                               exchange="departments.events", routing_key=key, mandatory=True)
        self._tag += 1
        self._tags[self._tag] = event_id

    def _recover(self):
        with contextlib.suppress(Exception):
            self._conn.collect()
        unconfirmed = [e for e in self._tags.values()]
        self._open(timeout=120)
        for event_id in unconfirmed:
            self.republished += 1
            self._send(event_id)

    def publish(self, envelope: dict):
        event_id = envelope["event_id"]
        self.bodies[event_id] = (json.dumps(envelope, ensure_ascii=False).encode(), envelope["event_type"])
        self.attempted.add(event_id)
        while True:
            try:
                self._resend_nacked()
                self._send(event_id)
                while len(self._tags) >= self.window:
                    self._conn.drain_events(timeout=5)
                return
            except (OSError, amqp.exceptions.ConnectionError, amqp.exceptions.RecoverableConnectionError,
                    amqp.exceptions.ChannelError) as exc:
                if event_id in self._tags.values():
                    return self._recover()       # it is among the unconfirmed sent again
                self._recover()

    def poll(self):
        try:
            self._conn.drain_events(timeout=0)
        except TimeoutError:
            pass
        except (OSError, amqp.exceptions.ConnectionError, amqp.exceptions.RecoverableConnectionError):
            self._recover()

    def flush(self, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while (self._tags or self.nacked - self.confirmed) and time.monotonic() < deadline:
            try:
                self._resend_nacked()
                if not self._tags:
                    if not self._retrying():
                        break       # nacked ten times: left unconfirmed
                    time.sleep(0.1)  # a nacked event waits out its back-off
                    continue
                self._conn.drain_events(timeout=1)
            except TimeoutError:
                pass
            except (OSError, amqp.exceptions.ConnectionError, amqp.exceptions.RecoverableConnectionError):
                self._recover()

    def close(self):
        with contextlib.suppress(Exception):
            self._conn.close()


# --- observing -----------------------------------------------------------------------------------------

def expected_consumers(source: str) -> dict[str, list[str]]:
    """event type -> the handlers (service.method) bound to it from ``source``, of every service."""
    out: dict[str, list[str]] = {}
    for cls in all_service_classes():
        for b in handler_bindings(cls):
            if b.source == source:
                out.setdefault(b.event_type, []).append(f"{b.service}.{b.method}")
    return out


def _vhost(amqp_uri: str) -> str:
    return unquote(urlparse(amqp_uri.split(";")[0]).path.lstrip("/")) or "/"


def list_queues(vhost: str, *columns: str) -> list[dict]:
    """``rabbitmqctl list_queues`` of the test broker as dicts (a ``ChaosSuite`` on another broker — the
    RabbitMQ cluster of the node-stop fault — is given its own)."""
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    out = subprocess.run([exe, "-q", "list_queues", "-p", vhost, *columns, "--formatter", "json"],
                         capture_output=True, text=True, timeout=60).stdout
    return json.loads(out or "[]")


def queue_depths(vhost: str, lister=list_queues) -> dict[str, int] | None:
    """Messages (ready + unacknowledged) of every queue of a vhost; None when rabbitmqctl did not answer."""
    try:
        return {q["name"]: int(q["messages"]) for q in lister(vhost, "name", "messages")}
    except (ValueError, TypeError, RuntimeError, subprocess.SubprocessError):
        return None


def _watched(name: str, services, buffers) -> bool:
    """A handler or retry queue of a running service, or a link buffer (not a dead-letter queue)."""
    return any(f"--{s}." in name for s in services) or name in buffers


class MetricsScraper:
    """Sums a counter over every process incarnation: each process's /metrics read every second, the
    last value of each (group, pid) kept — a killed process keeps the value of its last scrape."""

    def __init__(self, suites: list[SuiteProcesses], name: str = "zhifa_events_duplicate_total"):
        self.suites, self.name = suites, name
        self.last: dict[tuple, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _value(self, text: str) -> float:
        total = 0.0
        for line in text.splitlines():
            if line.startswith(self.name + "{") or line.startswith(self.name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def scrape(self):
        for suite in self.suites:
            for group, proc in list(suite.procs.items()):
                port = suite.group_metrics.get(group)
                if port is None or proc.poll() is not None:
                    continue
                with contextlib.suppress(requests.RequestException, ValueError):
                    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
                    self.last[(suite.name, group, proc.pid)] = self._value(text)

    def _run(self):
        while not self._stop.wait(1.0):
            self.scrape()

    def total(self) -> float:
        return sum(self.last.values())

    def close(self):
        self._stop.set()
        self._thread.join(5)


def _pg_rows(conninfo: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _sqlite_rows(url: str, sql: str, params=()) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)) as conn:
        return conn.execute(sql, params).fetchall()


# --- one round's figures -------------------------------------------------------------------------------

@dataclass
class RoundResult:
    fault: str
    seed: int
    attempted: int = 0
    confirmed: int = 0
    applied_once: int = 0
    lost: int = 0
    duplicated: int = 0
    dead_lettered: int = 0
    redelivered: int = 0
    republished: int = 0
    verify: str = "?"
    seconds: float = 0.0
    drained: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Fail closed: any problem — a fault that failed or did not finish, a count that could not be
        made — fails the round, whatever the counts say."""
        return (self.lost == 0 and self.duplicated == 0 and self.dead_lettered == 0 and self.verify == "ok"
                and self.drained and self.confirmed == self.attempted and not self.problems)

    def summary(self) -> str:
        """One log line: the verdict, the counts and the first problems (the fault's own error first)."""
        return (f"{'ok' if self.ok else 'FAILED'} — attempted {self.attempted}, lost {self.lost}, "
                f"duplicated {self.duplicated}, dead-lettered {self.dead_lettered}, verify {self.verify}"
                f"{'; ' + '; '.join(self.problems[:5]) if self.problems else ''}")


COLUMNS = ("fault", "seed", "attempted", "confirmed", "applied_once", "lost", "duplicated", "dead_lettered",
           "redelivered", "republished", "verify", "seconds")


def table(results: list[RoundResult]) -> str:
    """The printed table: one row per round, and a total row per fault."""
    rows = [[str(getattr(r, c)) if c != "seconds" else f"{r.seconds:.0f}" for c in COLUMNS] for r in results]
    by_fault: dict[str, list[RoundResult]] = {}
    for r in results:
        by_fault.setdefault(r.fault, []).append(r)
    totals = []
    for name, rs in by_fault.items():
        totals.append([f"{name} ×{len(rs)}", "-", *[str(sum(getattr(r, c) for r in rs)) for c in COLUMNS[2:10]],
                       f"{sum(r.verify == 'ok' for r in rs)}/{len(rs)} ok", f"{sum(r.seconds for r in rs):.0f}"])
    widths = [max([len(c)] + [len(row[i]) for row in rows + totals]) for i, c in enumerate(COLUMNS)]
    line = lambda cells: "  ".join(str(v).rjust(w) if i > 0 else str(v).ljust(w)  # noqa: E731
                                   for i, (v, w) in enumerate(zip(cells, widths)))
    out = [line(COLUMNS), line(["-" * w for w in widths]), *map(line, rows)]
    if totals:
        out += [line(["-" * w for w in widths]), *map(line, totals)]
    return "\n".join(out)


# --- the suite -----------------------------------------------------------------------------------------

class ChaosSuite:
    """The city suite under test and its province, started once; ``round()`` runs one seeded round."""

    def __init__(self, amqp_host: str = AMQP_HOST, ctl=_rabbitmqctl, root: Path | None = None,
                 with_province: bool = True, log=print, lister=list_queues):
        self.log, self.lister = log, lister
        self.root = (root or ROOT) / f"run-{uuid.uuid4().hex[:6]}"
        self.root.mkdir(parents=True, exist_ok=True)
        self.amqp_host, self.ctl = amqp_host, ctl
        self.with_province = with_province
        self.city = self.province = self.link = self.links_users = self.pg = self.scraper = None
        self.rng = random.Random(0)
        self._notes: list[str] = []
        self.faults: list[Fault] = []
        self.departments = expected_consumers("departments")
        self.upward = expected_consumers("upward")

    # -- set-up -----------------------------------------------------------------------------------------
    def start(self) -> "ChaosSuite":
        if self.with_province:
            subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_shovel"], check=True, capture_output=True,
                           timeout=120)
        self.pg = ReplicatedPostgres(str(self.root / "pg")).start()
        self.pg.needs_standby = False
        city_key = signing_key(self.root / "key-city.pem")
        common = {"ZHIFA_SAMPLE_DATA": True,   # the shipped sample rules and channels, as the tests and benches run
                  "ZHIFA_LINK_HEARTBEAT_SECONDS": 2, "ZHIFA_RECORDS_STH_INTERVAL": 1,
                  "ZHIFA_RECORDS_SELF_CHECK_RETRY": 2, "ZHIFA_RECORDS_WITNESS_REQUEST_RETRY": 5}
        groups = {s: [s] for s in CITY_SERVICES}
        self.city = SuiteProcesses("city", self.root, CITY, "city", {
            **common, "ZHIFA_RECORDS_LOG_ID": f"records.{CITY}",
            "ZHIFA_RECORDS_SIGNING_KEY_FILE": str(self.root / "key-city.pem"),
            "ZHIFA_RECORDS_WITNESS_CHECK": "on" if self.with_province else "off",
            "ZHIFA_METRICS_DISABLED": "0"}, groups, amqp_host=self.amqp_host, ctl=self.ctl)
        self.city_key = city_key
        self.read: dict[str, str] = {}
        for service in CITY_SERVICES:
            db = f"chaos_{service}"
            self.pg.create_database(db)
            self.city.databases[service] = self.pg.url(db)
            self.read[service] = self.pg.conninfo(db)
        suites = [self.city]
        if self.with_province:
            self.province = SuiteProcesses("province", self.root, PROVINCE, "province", {
                **common, "ZHIFA_CITIES": CITY, "ZHIFA_RECORDS_LOG_ID": f"records.{PROVINCE}",
                "ZHIFA_RECORDS_WITNESS_KEYS": {f"records.{CITY}": city_key},
                "ZHIFA_RECORDS_SIGNING_KEY_FILE": str(self.root / "key-province.pem")},
                {"main": list(PROVINCE_SERVICES)}, amqp_host=self.amqp_host, ctl=self.ctl)
            suites.append(self.province)
            self.links_users = LinkUsers([CITY], [s.vhost for s in suites])
            for suite in suites:
                suite.settings["ZHIFA_LINK_USER_TEMPLATE"] = self.links_users.template
            self.province.prepare([CITY])
        self.city.prepare()
        for suite in suites:
            suite.start_all()
        if self.with_province:
            self.link = Link(self.links_users, self.province, self.city)
        self.scraper = MetricsScraper(suites)
        self._wait_consuming(timeout=180)
        return self

    def _wait_consuming(self, timeout: float):
        """Every handler queue of the city has its consumer (the processes are up)."""
        deadline = time.monotonic() + timeout
        names = {f"evt-departments-{t}--{c}" for t, cs in self.departments.items() for c in cs
                 if c.split(".")[0] in CITY_SERVICES}
        have: set = set()
        while time.monotonic() < deadline:
            with contextlib.suppress(ValueError, RuntimeError, subprocess.SubprocessError):
                have = {q["name"] for q in self.lister(self.city.vhost, "name", "consumers") if q["consumers"]}
                if names <= have:
                    return
            time.sleep(1)
        raise TimeoutError(f"city services not consuming: {sorted(names - have)[:5]}\n{self.city.log_text()}")

    def note(self, text: str):
        self._notes.append(f"{time.strftime('%H:%M:%S')} {text}")
        self.log(f"chaos:   {text}")

    def close(self):
        for fault in self.faults:
            with contextlib.suppress(Exception):
                fault.close(self)
        if self.scraper:
            self.scraper.close()
        for suite in (self.city, self.province):        # every process asked to stop at once, then waited for
            for proc in (suite.procs.values() if suite is not None else ()):
                with contextlib.suppress(OSError):
                    proc.terminate()
        for suite in (self.city, self.province):
            if suite is not None:
                with contextlib.suppress(Exception):
                    suite.close()
        if self.link:
            self.link.proxy.stop()
        if self.links_users:
            with contextlib.suppress(Exception):
                self.links_users.close()
        if self.pg:
            self.pg.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- a round ----------------------------------------------------------------------------------------
    def round(self, fault: Fault, seed: int, events: int = 300, rate: float = 60.0,
              barrier_timeout: float = 180.0) -> RoundResult:
        if fault not in self.faults:
            self.faults.append(fault)
        self.rng, self._notes = random.Random(seed), []
        self._upward_seen = None
        result = RoundResult(fault.name, seed)
        began = time.monotonic()
        fault.prepare(self)
        self._wait_consuming(timeout=120)
        mix = Mix(seed, f"CH{seed}-{uuid.uuid4().hex[:4]}", open_cases=max(10, events // 10), body_every=50)
        envelopes = [mix.next() for _ in range(events)]
        fault_at = int(events * self.rng.uniform(0.2, 0.5))
        redelivered_before = self.scraper.total()
        dead_before = len(self._dead_letters())
        fault_done = threading.Event()
        fault_error: list[BaseException] = []

        def act():
            try:
                fault.start(self)
                time.sleep(fault.duration)
                fault.stop(self)
            except BaseException as exc:  # noqa: BLE001 - reported with the round
                fault_error.append(exc)
            finally:
                fault_done.set()

        publisher = ConfirmingPublisher(self.city.amqp_uri.split(";"))
        actor = None
        try:
            start = time.monotonic()
            for i, envelope in enumerate(envelopes):
                if i == fault_at:
                    actor = threading.Thread(target=act, daemon=True)
                    actor.start()
                due = start + i / rate
                while time.monotonic() < due:
                    publisher.poll()
                    time.sleep(0.002)
                publisher.publish(envelope)
            publisher.flush()
        finally:
            publisher.close()
        self.note(f"published {len(publisher.attempted)} in {time.monotonic() - began:.1f} s")
        if actor is not None:
            if fault_done.wait(fault.duration + 300):
                self.note(f"fault over at {time.monotonic() - began:.1f} s")
            else:
                result.problems.append(f"the fault did not finish within {fault.duration + 300:.0f} s of its start")
        if fault_error:
            # first in the list, so the log line names it even when the barrier then times out
            result.problems.append(f"the fault failed: {fault_error[0]!r}")
            self.note(f"the fault failed: {fault_error[0]!r}")
        result.attempted, result.republished = len(publisher.attempted), publisher.republished
        confirmed = publisher.confirmed - publisher.returned - publisher.nacked
        result.confirmed = len(confirmed & publisher.attempted)
        sent = [e for e in envelopes if e["event_id"] in confirmed]
        # the barrier: nothing queued or pending anywhere, every expected effect present
        deadline = time.monotonic() + barrier_timeout
        missing: dict = {}
        while time.monotonic() < deadline:
            missing = self._missing(sent)
            if not missing and self._quiet():
                time.sleep(1.0)             # and still quiet a moment later (a retry in flight)
                if self._quiet():
                    result.drained = True
                    break
            time.sleep(1.0)
        self.note(f"barrier {'passed' if result.drained else 'TIMED OUT'} at {time.monotonic() - began:.1f} s"
                  f"{'' if result.drained else f' ({len(missing)} effects missing)'}")
        self.scraper.scrape()
        try:
            self._count(result, sent, self._upward_seen if result.drained else None)
        except psycopg.Error as exc:
            # a database that refuses (a promotion that never came) fails the round; the run goes on to the table
            result.problems.append(f"the effects could not be counted: {exc!r}"[:400])
        letters = self._dead_letters()
        result.dead_lettered = len(letters) - dead_before
        for letter in letters[dead_before:][:10]:   # why: a failing round names each letter's queue and reason
            result.problems.append(f"dead letter: {letter.get('queue')}: {str(letter.get('reason'))[:300]}")
        result.redelivered = int(self.scraper.total() - redelivered_before)
        try:
            result.verify = self._verify()
        except psycopg.Error as exc:
            result.verify = f"FAILED: the records database refused: {exc!r}"[:300]
        self.note(f"verified at {time.monotonic() - began:.1f} s")
        result.seconds = time.monotonic() - began
        result.notes = list(self._notes)
        if not result.drained:
            result.problems.append("the barrier timed out (queues, outboxes or effects not settled)")
        if result.confirmed != result.attempted:
            result.problems.append(f"{result.attempted - result.confirmed} events never confirmed by the broker")
        return result

    # -- the barrier and the count --------------------------------------------------------------------
    def _quiet(self) -> bool:
        """Nothing ready, in a worker or waiting for a retry in any watched queue; no outbox row pending."""
        from services.common.federation import UPWARD_QUEUE, downward_queue

        for suite, services, buffers in ((self.city, CITY_SERVICES, {UPWARD_QUEUE} if self.link else set()),
                                         (self.province, PROVINCE_SERVICES, {downward_queue(CITY)})):
            if suite is None:
                continue
            depths = queue_depths(suite.vhost, self.lister)
            if depths is None or any(n for q, n in depths.items() if _watched(q, services, buffers)):
                return False
        for service in CITY_SERVICES:
            try:
                if _pg_rows(self.read[service], "SELECT count(*) FROM outbox WHERE status = 'pending'")[0][0]:
                    return False
            except psycopg.Error:
                return False
        return True

    def _applied(self) -> dict[str, set]:
        """consumer -> event ids in the city's processed_events."""
        applied: dict[str, set] = {}
        for service in CITY_SERVICES:
            with contextlib.suppress(psycopg.Error):
                for consumer, event_id in _pg_rows(self.read[service],
                                                   "SELECT consumer, event_id FROM processed_events"):
                    applied.setdefault(consumer, set()).add(event_id)
        return applied

    def _upward_sent(self) -> list[tuple[str, str]]:
        """(event type, event id) the city emitted upward (its outboxes, published)."""
        from services.common.federation import load_links

        types = {t for ts in load_links()["upward"].values() for t in ts} - UPWARD_EXCLUDED
        out = []
        for service in CITY_SERVICES:
            with contextlib.suppress(psycopg.Error):
                out += _pg_rows(self.read[service], "SELECT event_type, event_id FROM outbox "
                                "WHERE status = 'published' AND event_type = ANY(%s)", (list(types),))
        return out

    def _province_applied(self) -> dict[str, set]:
        applied: dict[str, set] = {}
        for service in PROVINCE_SERVICES:
            with contextlib.suppress(sqlite3.Error):
                for consumer, event_id in _sqlite_rows(self.province.databases[service],
                                                       "SELECT consumer, event_id FROM processed_events"):
                    applied.setdefault(consumer, set()).add(event_id)
        return applied

    def _missing(self, sent: list[dict], upward: list[tuple[str, str]] | None = None) -> dict[tuple, int]:
        """Expected effects not (yet) present. ``upward``: the city's upward events to account for (default:
        every one published so far, remembered in ``_upward_seen`` — the count takes the barrier's)."""
        applied = self._applied()
        missing = {}
        for envelope in sent:
            for consumer in self.departments.get(envelope["event_type"], []):
                if consumer.split(".")[0] in CITY_SERVICES and envelope["event_id"] not in applied.get(consumer, ()):
                    missing[(consumer, envelope["event_id"])] = 1
        if self.with_province:
            prov = self._province_applied()
            self._upward_seen = upward = self._upward_sent() if upward is None else upward
            for event_type, event_id in upward:
                for consumer in self.upward.get(event_type, []):
                    if consumer.split(".")[0] in PROVINCE_SERVICES and event_id not in prov.get(consumer, ()):
                        missing[(f"province:{consumer}", event_id)] = 1
        return missing

    def _count(self, result: RoundResult, sent: list[dict], upward: list[tuple[str, str]] | None = None):
        # the upward events of the barrier: records signs a tree head on its timer, and one signed after the
        # barrier was counted lost 8 ms before the province applied it (a pg-primary-kill round, 3 Dec)
        missing = self._missing(sent, upward)
        lost_events = {event_id for (_, event_id) in missing}
        duplicated: set = set()
        q = {
            "records": "SELECT 'records.log_entries', event_id FROM log_entries WHERE event_id IS NOT NULL "
                       "GROUP BY event_id HAVING count(*) > 1",
            "disclosure": "SELECT 'disclosure.publications', case_id || '#' || version FROM publications "
                          "GROUP BY case_id, version HAVING count(*) > 1",
            "evaluation": "SELECT 'evaluation.facts', event_id FROM facts GROUP BY event_id, kind, officer_id, seq "
                          "HAVING count(*) > 1",
        }
        for service, sql in q.items():
            duplicated |= set(_pg_rows(self.read[service], sql))
        # the effects themselves: every case event an entry, every decision a publication and facts
        ids = [e["event_id"] for e in sent]
        entries = {r[0] for r in _pg_rows(self.read["records"], "SELECT event_id FROM log_entries "
                                          "WHERE event_id = ANY(%s)", (ids,))}
        made = [e for e in sent if e["event_type"] == "decision.made"]
        published = {r[0] for r in _pg_rows(self.read["disclosure"], "SELECT case_id FROM publications "
                                            "WHERE case_id = ANY(%s)", ([e["case_id"] for e in made],))}
        facts = {r[0] for r in _pg_rows(self.read["evaluation"], "SELECT event_id FROM facts WHERE event_id = ANY(%s)",
                                        ([e["event_id"] for e in made],))}
        proposed = [e for e in sent if e["event_type"] == "decision.proposed"]
        classified = {r[0] for r in _pg_rows(self.read["review"], "SELECT case_id FROM classifications "
                                             "WHERE case_id = ANY(%s)", ([e["case_id"] for e in proposed],))}
        for e in sent:
            if e.get("case_id") and e["event_id"] not in entries:
                lost_events.add(e["event_id"])
                result.problems.append(f"no records entry for {e['event_type']} {e['event_id']}")
        for e in made:
            if e["case_id"] not in published:
                lost_events.add(e["event_id"])
                result.problems.append(f"no disclosure publication for {e['case_id']}")
            if e["event_id"] not in facts:
                lost_events.add(e["event_id"])
                result.problems.append(f"no evaluation facts for decision {e['event_id']}")
        for e in proposed:
            if e["case_id"] not in classified:
                lost_events.add(e["event_id"])
                result.problems.append(f"no review classification for {e['case_id']}")
        if self.with_province:      # a province consumer's processed id is its effect's key: count copies
            for service in PROVINCE_SERVICES:
                if service == "records":
                    duplicated |= {("province.records.log_entries", r[0]) for r in _sqlite_rows(
                        self.province.databases[service], "SELECT event_id FROM log_entries WHERE event_id IS NOT "
                        "NULL GROUP BY event_id HAVING count(*) > 1")}
                if service == "evaluation":
                    duplicated |= {("province.evaluation.facts", r[0]) for r in _sqlite_rows(
                        self.province.databases[service], "SELECT event_id FROM facts GROUP BY event_id, kind, "
                        "officer_id, seq HAVING count(*) > 1")}
        for key in list(missing)[:10]:
            result.problems.append(f"not applied: {key[0]} {key[1]}")
        for key in sorted(duplicated)[:10]:
            result.problems.append(f"duplicated: {key[0]} {key[1]}")
        result.lost = len(lost_events)
        result.duplicated = len(duplicated)
        result.applied_once = len([e for e in sent if e["event_id"] not in lost_events])

    def _dead_letters(self) -> list[dict]:
        """Every dead letter of the city's and the province's services (queue, reason), oldest first."""
        from services.common.deadletters import peek

        letters: list[dict] = []
        for suite, services in ((self.city, CITY_SERVICES), (self.province, PROVINCE_SERVICES)):
            if suite is None:
                continue
            for service in services:
                with contextlib.suppress(Exception):
                    letters += peek(suite.amqp_uri.split(";")[0], service, limit=1000)
        return letters

    def _verify(self) -> str:
        """services.records.verify over the city's log, with a signed head covering every entry."""
        from services.records.verify import verify_database

        deadline = time.monotonic() + 60
        size = _pg_rows(self.read["records"], "SELECT count(*) FROM log_entries")[0][0]
        while time.monotonic() < deadline:
            if _pg_rows(self.read["records"], "SELECT count(*) FROM tree_heads WHERE tree_size >= %s", (size,))[0][0]:
                report = verify_database(self.city.databases["records"], self.city_key)
                return "ok" if report["ok"] else "FAILED: " + "; ".join(map(str, report["problems"]))[:300]
            time.sleep(1)
        return f"no signed head over {size} entries"


def run_rounds(fault_names: list[str], rounds: int, seed: int, events: int, rate: float,
               suite: ChaosSuite, log=print, barrier_timeout: float = 300.0, **options) -> list[RoundResult]:
    """``rounds`` rounds of every named fault (``FAULTS``; ``options`` go to the factories, e.g.
    ``partition_seconds``, ``promote_after``), seeds derived from ``seed`` (printed per row)."""
    master = random.Random(seed)
    results = []
    for name in fault_names:
        fault = FAULTS[name](**options)
        for n in range(rounds):
            round_seed = master.randrange(1, 2**31)
            log(f"chaos: {fault.name} round {n + 1}/{rounds} seed {round_seed}")
            result = suite.round(fault, round_seed, events=events, rate=rate, barrier_timeout=barrier_timeout)
            log(f"chaos:   {result.summary()}")
            results.append(result)
    return results
