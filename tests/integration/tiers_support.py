"""A province and its city suites as separate `nameko run` processes on one broker (each suite its own
vhost and databases), linked by RabbitMQ shovels logging in as each link's own broker user — the
set-up of tests/integration/test_tiers.py (issue 23)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import requests
import yaml
from kombu import Connection, Producer
from cryptography.hazmat.primitives import serialization

from services.common import federation
from services.common.bus import all_service_classes, declare_topology, events_exchange
from tests.fixtures import AMQP_HOST, ROOT_DIR, _rabbitmqctl, free_port, migrate, wait_for
from tests.tcp_proxy import TcpProxy

DATABASES = ("records", "review", "disclosure", "complaints", "evaluation")
_TAKEN: set[int] = set()


def port() -> int:
    """A free port not handed out before by this helper (nothing binds them until the processes start)."""
    while True:
        candidate = free_port()
        if candidate not in _TAKEN:
            _TAKEN.add(candidate)
            return candidate


def new_vhost(prefix: str, ctl=_rabbitmqctl) -> str:
    name = f"zhifa-test-{prefix}-{uuid.uuid4().hex[:6]}"
    ctl("add_vhost", name)
    ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return name


def healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).ok
    except requests.RequestException:
        return False


class SuiteProcesses:
    """One tier suite: its vhost, databases, config and `nameko run` processes (one per group of
    services, so that a group — e.g. records — can be stopped, restored and started again).
    ``amqp_host`` (host:port, or a comma-separated list for a broker cluster) and ``ctl`` (rabbitmqctl
    of that broker) default to the test broker."""

    def __init__(self, name: str, tmp: Path, region: str, tier: str, settings: dict, groups: dict[str, list[str]],
                 amqp_host: str = AMQP_HOST, ctl=_rabbitmqctl):
        self.name, self.region, self.tier, self.groups = name, region, tier, groups
        self.tmp = tmp / name
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.ctl = ctl
        self.vhost = new_vhost(name, ctl)
        self.amqp_uri = ";".join(f"amqp://guest:guest@{host}/{self.vhost}" for host in amqp_host.split(","))
        self.databases = {s: f"sqlite:///{self.tmp / (s + '.db')}" for s in DATABASES}
        self.postgres: dict[str, PostgresDatabase] = {}
        self.port, self.token_secret = port(), uuid.uuid4().hex
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.group_metrics: dict[str, int] = {}
        self.settings = settings
        self.procs: dict[str, subprocess.Popen] = {}
        keys = self.tmp / "api_keys.yaml"
        keys.write_text("[]\n")
        self.api_keys_file = str(keys)

    # -- set-up ------------------------------------------------------------------------------------
    def use_postgresql(self, service: str) -> None:
        """Run ``service`` on its own PostgreSQL database (role and database as deployed)."""
        self.postgres[service] = PostgresDatabase(service)
        self.databases[service] = self.postgres[service].url

    def prepare(self, cities=()):
        running = {s for services in self.groups.values() for s in services}
        for service, url in self.databases.items():
            if service in running:
                migrate(service, url)
        declare_topology(self.amqp_uri, all_service_classes())
        if self.tier == "province":
            federation.declare_province_side(self.amqp_uri, list(cities))
        else:
            federation.declare_city_side(self.amqp_uri)

    def config_file(self, group: str) -> Path:
        ports = {s: port() for s in self.groups[group]}
        cfg = {"AMQP_URI": self.amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.port}",
               "ZHIFA_DATABASES": self.databases, "ZHIFA_TOKEN_SECRET": self.token_secret,
               "ZHIFA_API_KEYS_FILE": self.api_keys_file, "ZHIFA_METRICS_PORTS": ports,
               "ZHIFA_METRICS_ADDR": "127.0.0.1", "ZHIFA_METRICS_DISABLED": "0",
               "ZHIFA_TIER": self.tier, "ZHIFA_SUITE_REGION": self.region,
               "ZHIFA_RETRY_DELAY_MS": 200, "ZHIFA_MAX_ATTEMPTS": 3, "max_workers": 10,
               "ZHIFA_RECORDS_BLOB_DIR": str(self.tmp / "blobs"),
               "ZHIFA_COMPLAINTS_ATTACHMENTS_DIR": str(self.tmp / "attachments"),
               "LOGGING": {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}},
               **self.settings}
        path = self.tmp / f"{group}.yaml"
        path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
        self.group_metrics[group] = ports[self.groups[group][0]]
        return path

    def start(self, group: str):
        cfg = self.config_file(group)
        log = open(self.tmp / f"{group}.log", "a")
        self.procs[group] = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "nameko"), "run", "--config", str(cfg),
             *[f"services.{s}.service" for s in self.groups[group]]], cwd=ROOT_DIR,
            env={**os.environ, "PYTHONPATH": str(ROOT_DIR)}, stdout=log, stderr=subprocess.STDOUT)

    def start_all(self):
        for group in self.groups:
            self.start(group)
        if any("gateway" in services for services in self.groups.values()):
            wait_for(lambda: healthy(self.base_url), timeout=90, message=f"{self.name} gateway")

    def stop(self, group: str):
        proc = self.procs.pop(group, None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def kill(self, group: str):
        """kill -9 of a group's process (no shutdown: its unacknowledged messages go back to the queues)."""
        proc = self.procs.pop(group, None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)

    def close(self):
        for group in list(self.procs):
            self.stop(group)
        self.ctl("delete_vhost", self.vhost)
        for database in self.postgres.values():
            database.drop()

    def log_text(self) -> str:
        return "\n".join((self.tmp / f"{g}.log").read_text(errors="replace")[-4000:] for g in self.groups
                         if (self.tmp / f"{g}.log").exists())

    # -- helpers like tests.fixtures.Suite -----------------------------------------------------------
    def token(self, role: str, region: str | None = None, sub: str = "tester") -> str:
        from services.common.auth import issue_token

        return issue_token(sub, role, region or self.region, secret=self.token_secret)

    def auth(self, role: str, region: str | None = None, sub: str = "tester") -> dict:
        return {"Authorization": "Bearer " + self.token(role, region, sub)}

    def get(self, path: str, token: str | None = None, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.base_url + path, headers=headers, timeout=15, **kw)

    def post(self, path: str, json_body=None, token: str | None = None, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(self.base_url + path, json=json_body, headers=headers, timeout=15, **kw)

    def publish(self, envelope: dict, source: str = "departments"):
        """As the suite's own broker user (trusted): departmental events as the gateway would relay
        them, or a zhifa service's events (``source``) as that service emits them."""
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as conn:
            Producer(conn.channel()).publish(json.dumps(envelope, ensure_ascii=False).encode(),
                                             exchange=events_exchange(source), routing_key=envelope["event_type"],
                                             content_type="application/json", content_encoding="utf-8",
                                             delivery_mode=2, mandatory=True, user_id="guest")

    def metrics(self, group: str) -> str:
        """The /metrics of a process (every service of a process shares its registry)."""
        return requests.get(f"http://127.0.0.1:{self.group_metrics[group]}/metrics", timeout=5).text


def metric_value(text: str, name: str, **labels) -> float | None:
    """The value of one sample of a Prometheus text exposition (labels must all match)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


def signing_key(path: Path) -> str:
    """A fresh Ed25519 records signing key written to ``path`` (PEM); returns its public key (hex)."""
    from services.records.domain.treehead import generate_key, public_key_bytes

    key = generate_key()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return public_key_bytes(key).hex()


class Link:
    """A province–city link: the two shovels (as the link's broker user, user_id = it), the city end
    reached through a TCP proxy the test can cut."""

    def __init__(self, links, province: SuiteProcesses, city: SuiteProcesses):
        self.city = city.region
        self.proxy = TcpProxy("127.0.0.1", int(AMQP_HOST.rsplit(":", 1)[1]))
        port = self.proxy.start()
        federation.apply_with_rabbitmqctl(federation.link_definitions(
            links.uri(self.city, province.vhost), links.uri(self.city, city.vhost), self.city,
            link_user=links.user(self.city),
            city_uri_from_province=links.uri(self.city, city.vhost, f"127.0.0.1:{port}")))

    def cut(self):
        self.proxy.stop()

    def heal(self):
        self.proxy.start()


def records_verify(suite: SuiteProcesses, public_key: str, witnessed_url: str) -> tuple[int, dict]:
    """`zhifa records verify --witnessed …` against a suite's records database (the restore procedure)."""
    result = subprocess.run([sys.executable, "-m", "services.common.cli", "--config",
                             str(suite.tmp / "records.yaml"), "records", "verify", "--db", suite.databases["records"],
                             "--public-key", public_key, "--witnessed", witnessed_url, "--json"],
                            cwd=ROOT_DIR, env={**os.environ, "PYTHONPATH": str(ROOT_DIR)}, capture_output=True,
                            text=True, timeout=120)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip().startswith("{") else {
        "stdout": result.stdout, "stderr": result.stderr}


class PostgresDatabase:
    """A service's PostgreSQL database as init-databases.sh makes it: a login role of the same name
    owning its own database (the test server trusts local connections, so no password)."""

    def __init__(self, service: str):
        import psycopg

        from tests.fixtures import PG_DSN

        self.admin_dsn = PG_DSN
        self.name = f"zhifa_t{uuid.uuid4().hex[:8]}_{service}"
        server = PG_DSN.split("@", 1)[1].rsplit("/", 1)[0]
        self.host, self.port = (server.split(":") + ["5432"])[:2]
        with psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE ROLE "{self.name}" LOGIN')
            conn.execute(f'CREATE DATABASE "{self.name}" OWNER "{self.name}"')
        self.url = f"postgresql://{self.name}@{server}/{self.name}"

    def tool(self, *args: str) -> None:
        """A PostgreSQL client tool as the RUNBOOK runs it (-h $PGHOST -U postgres)."""
        result = subprocess.run([args[0], "-h", self.host, "-p", self.port, "-U", "postgres", *args[1:]],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"{' '.join(args)}: {result.stdout}{result.stderr}"

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{self.name}"')


def backup_database(suite: SuiteProcesses, service: str, to: Path) -> None:
    """An online backup of a service's database, as the nightly backup takes it: ``pg_dump -Fc``
    (docs/RUNBOOK.md#restore-from-backup) for PostgreSQL, SQLite's online backup otherwise."""
    import sqlite3

    pg = suite.postgres.get(service)
    if pg is not None:
        pg.tool("pg_dump", "-Fc", "-f", str(to), pg.name)
        return

    source = sqlite3.connect(suite.databases[service].removeprefix("sqlite:///"))
    target = sqlite3.connect(to)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def restore_database(suite: SuiteProcesses, service: str, backup: Path) -> None:
    """Put a backup in place of the (stopped) service's database — for PostgreSQL with the commands
    of docs/RUNBOOK.md#restore-from-backup (dropdb, createdb -O, pg_restore --no-owner --role, zhifa
    migrate)."""
    pg = suite.postgres.get(service)
    if pg is not None:
        pg.tool("dropdb", pg.name)
        pg.tool("createdb", "-O", pg.name, pg.name)
        pg.tool("pg_restore", "--no-owner", f"--role={pg.name}", "-d", pg.name, str(backup))
        result = subprocess.run([sys.executable, "-m", "services.common.cli", "--config",
                                 str(suite.tmp / f"{_group_of(suite, service)}.yaml"), "migrate", service],
                                cwd=ROOT_DIR, env={**os.environ, "PYTHONPATH": str(ROOT_DIR)}, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return
    target = Path(suite.databases[service].removeprefix("sqlite:///"))
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(target) + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup, target)


def _group_of(suite: SuiteProcesses, service: str) -> str:
    return next(group for group, services in suite.groups.items() if service in services)
