"""Fixtures for integration tests against the real RabbitMQ and PostgreSQL on this machine.

Each test session gets its own RabbitMQ vhost (so durable queues from other runs never interfere),
and each suite its own databases (SQLite files in tmp, or fresh PostgreSQL databases).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import psycopg
import pytest
import requests
from kombu import Connection, Producer

from services.common.bus import all_service_classes, declare_topology, events_exchange
from services.common.settings import amqp_user

ROOT_DIR = __import__("pathlib").Path(__file__).resolve().parents[1]
AMQP_HOST = os.environ.get("ZHIFA_TEST_AMQP_HOST", "127.0.0.1:5672")
PG_DSN = os.environ.get("ZHIFA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ZHIFA_TEST_REDIS", "redis://127.0.0.1:6379/0")


def forget_redis_keys(prefix: str) -> None:
    """Remove a test's keys (limits expire by themselves; this keeps the shared Redis tidy)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}:*", count=500):
        client.delete(key)


def _rabbitmqctl(*args):
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([exe, *args], check=True, capture_output=True, timeout=60)


class VhostPool:
    """Fresh vhosts on the test broker, made and removed in the background (CI time).

    rabbitmqctl boots an Erlang VM for every call — about a second each on the CI machine, so
    add_vhost + set_permissions + delete_vhost cost every test ~3 s of waiting (117 tests ask for one).
    The pool makes the NEXT vhost (add_vhost, then set_permissions for guest) while the current test
    runs, and deletes a released vhost without waiting; the deletions still running are waited for
    (and their failures reported) when the session ends. Every vhost is still new and used by one
    test (or one module fixture) only; a failed background creation is retried in the foreground and
    raises as before."""

    def __init__(self):
        self._next: tuple[str, subprocess.Popen, object] | None = None
        self._deleting: list[tuple[str, subprocess.Popen]] = []
        self.failed_deletes: list[str] = []

    @staticmethod
    def _exe() -> str:
        return shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"

    def _spawn(self) -> tuple[str, subprocess.Popen, object]:
        import tempfile

        vhost, exe = f"zhifa-test-{uuid.uuid4().hex[:8]}", self._exe()
        err = tempfile.TemporaryFile()
        proc = subprocess.Popen(["sh", "-c", '"$0" add_vhost "$1" && "$0" set_permissions -p "$1" guest ".*" ".*" ".*"',
                                 exe, vhost], stdout=subprocess.DEVNULL, stderr=err)
        return vhost, proc, err

    def take(self) -> str:
        """A new vhost with every right for guest (the one made in the background if it is ready)."""
        made, self._next = self._next, None
        vhost = None
        if made is not None:
            name, proc, err = made
            try:
                if proc.wait(timeout=120) == 0:
                    vhost = name
                else:
                    err.seek(0)
                    sys.stderr.write(f"\n[vhost pool] background add_vhost {name} failed: "
                                     f"{err.read().decode(errors='replace')[-500:]}; making one now\n")
                    self._delete_now(name)
            except subprocess.TimeoutExpired:
                proc.kill()
                self._delete_now(name)
            finally:
                err.close()
        if vhost is None:               # the first one, or the background one failed: as before, raising
            vhost = f"zhifa-test-{uuid.uuid4().hex[:8]}"
            _rabbitmqctl("add_vhost", vhost)
            _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        self._next = self._spawn()
        return vhost

    def release(self, vhost: str) -> None:
        """Delete ``vhost`` in the background (at most two deletions at a time)."""
        self._reap()
        while len(self._deleting) >= 2:
            self._finish(*self._deleting.pop(0))
        self._deleting.append((vhost, subprocess.Popen([self._exe(), "delete_vhost", vhost],
                                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))

    def _finish(self, vhost: str, proc: subprocess.Popen) -> None:
        try:
            if proc.wait(timeout=120) != 0:
                self._delete_now(vhost)
        except subprocess.TimeoutExpired:
            proc.kill()
            self._delete_now(vhost)

    def _reap(self) -> None:
        for vhost, proc in list(self._deleting):
            if proc.poll() is not None:
                self._deleting.remove((vhost, proc))
                if proc.returncode != 0:
                    self._delete_now(vhost)

    def _delete_now(self, vhost: str) -> None:
        done = subprocess.run([self._exe(), "delete_vhost", vhost], capture_output=True, timeout=120)
        if done.returncode != 0 and b"does not exist" not in done.stderr + done.stdout:
            self.failed_deletes.append(vhost)

    def close(self) -> None:
        if self._next is not None:
            name, proc, err = self._next
            self._next = None
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
            err.close()
            self._delete_now(name)
        while self._deleting:
            self._finish(*self._deleting.pop(0))


# -- eventlet hygiene --------------------------------------------------------------------------------------
def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def drop_stale_green_waits(nodeid: str, when: str) -> None:
    """A green wait left behind on a descriptor that was closed underneath it (a client library closing its
    socket in C while a greenthread still waits on it) stays registered in eventlet's hub; the next pipe or
    socket that gets the same number then fails with "Second simultaneous read on fileno N" in an unrelated
    test (seen in CI: 26 setups failed at `rabbitmqctl add_vhost`). Drop such stale registrations and say
    which test left them, so the leak is named where it happens."""
    from eventlet import hubs

    hub = hubs.get_hub()
    for kind in (hub.READ, hub.WRITE):
        for fd in [fd for fd in list(hub.listeners[kind]) if _closed(fd)]:
            hub.listeners[kind].pop(fd, None)
            hub.secondaries[kind].pop(fd, None)
            sys.stderr.write(f"\n[eventlet] {nodeid} left a {kind} wait on closed descriptor {fd} ({when}); dropped\n")


@pytest.fixture(scope="session")
def vhost_pool():
    """``take()`` a fresh vhost on the test broker, ``release(vhost)`` it (see VhostPool)."""
    pool = VhostPool()
    yield pool
    pool.close()
    assert not pool.failed_deletes, f"rabbitmqctl delete_vhost failed for {pool.failed_deletes}"


@pytest.fixture
def amqp_uri(vhost_pool):
    """A fresh vhost per test on the local RabbitMQ (no durable leftovers between tests), removed afterwards
    (made and deleted in the background: VhostPool)."""
    vhost = vhost_pool.take()
    yield f"amqp://guest:guest@{AMQP_HOST}/{vhost}"
    vhost_pool.release(vhost)


@pytest.fixture(scope="session")
def pg_admin():
    try:
        conn = psycopg.connect(PG_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # pragma: no cover - CI starts PostgreSQL
        pytest.fail(f"PostgreSQL is not reachable at {PG_DSN}: {exc}")
    created = []

    def create() -> str:
        name = f"zhifa_test_{uuid.uuid4().hex[:10]}"
        conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return PG_DSN.rsplit("/", 1)[0] + "/" + name

    yield create
    for name in created:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def service_engine(request, tmp_path):
    """``service_engine(name)``: an engine on a fresh database migrated for service ``name`` — each
    test runs once on SQLite (the embedded default) and once on PostgreSQL (production), since the
    batch SQL differs by dialect."""
    from services.common.db import make_engine
    from services.common.migrations import upgrade

    engines = []

    def make(service: str):
        url = (f"sqlite:///{tmp_path / (service + '.db')}" if request.param == "sqlite"
               else request.getfixturevalue("pg_admin")())
        upgrade(service, url)
        engines.append(make_engine(url))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


_TEMPLATES: dict[str, str] = {}


def migrate(service: str, url: str) -> None:
    """``upgrade(service, url)`` for a suite's database, without running alembic again for every new
    SQLite file (CI time): a database that does not exist yet is a copy (sqlite3 backup) of one migrated
    to head once per session — the same schema and rows, since the migrations of an empty database
    depend on nothing else. An existing file (a suite restarted on its data) and PostgreSQL are migrated
    by alembic as before. tests/common/test_migrations_lock.py and the migration tests call upgrade()."""
    import sqlite3
    import tempfile

    from services.common.migrations import upgrade

    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else None
    if path is None or "?" in path or os.path.exists(path):
        upgrade(service, url)
        return
    template = _TEMPLATES.get(service)
    if template is None:
        template = os.path.join(tempfile.mkdtemp(prefix="zhifa-migrated-"), f"{service}.db")
        upgrade(service, f"sqlite:///{template}")
        _TEMPLATES[service] = template
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    source, copy = sqlite3.connect(template), sqlite3.connect(path)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Suite:
    """The services of one zhifa suite running in this process on a test vhost."""

    def __init__(self, amqp_uri: str, databases: dict, http_port: int, token_secret: str, api_keys_file: str,
                 tmp_path=None):
        import tempfile
        from pathlib import Path

        self.tmp_path = Path(tmp_path or tempfile.mkdtemp(prefix="zhifa-suite-"))
        self.amqp_uri, self.databases, self.http_port = amqp_uri, databases, http_port
        self.token_secret, self.api_keys_file = token_secret, api_keys_file
        self.base_url = f"http://127.0.0.1:{http_port}"
        self.redis_prefix = f"zhifa-test-{uuid.uuid4().hex[:10]}"   # limits and sessions of this suite only

    def config(self) -> dict:
        from nameko import config

        return {"AMQP_URI": self.amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.http_port}",
                # a city suite (常州市) unless the test configured another tier (services/common/tiers.py)
                "ZHIFA_TIER": config.get("ZHIFA_TIER") or "city",
                "ZHIFA_SUITE_REGION": config.get("ZHIFA_SUITE_REGION") or "320400",
                # no province above a test suite unless the test links one (tests/integration/test_tiers.py)
                "ZHIFA_RECORDS_WITNESS_CHECK": config.get("ZHIFA_RECORDS_WITNESS_CHECK") or "off",
                "ZHIFA_LINK_HEARTBEAT_SECONDS": config.get("ZHIFA_LINK_HEARTBEAT_SECONDS") or 0,
                "ZHIFA_DATABASES": self.databases, "ZHIFA_TOKEN_SECRET": self.token_secret,
                "ZHIFA_API_KEYS_FILE": self.api_keys_file, "ZHIFA_RETRY_DELAY_MS": 200,
                "ZHIFA_MAX_ATTEMPTS": 3, "ZHIFA_METRICS_DISABLED": "1", "max_workers": 10,
                "ZHIFA_REDIS_URL": REDIS_URL, "ZHIFA_REDIS_PREFIX": self.redis_prefix,
                # an event for a case its body does not own waits this long for a transfer (SEC-2)
                "ZHIFA_OWNERSHIP_WAIT_SECONDS": 2,
                # files the services keep beside their databases stay in the test's tmp directory
                "ZHIFA_RECORDS_BLOB_DIR": str(self.tmp_path / "blobs"),
                "ZHIFA_RECORDS_SIGNING_KEY_FILE": str(self.tmp_path / "records-signing-key.pem"),
                "ZHIFA_COMPLAINTS_ATTACHMENTS_DIR": str(self.tmp_path / "attachments")}

    # -- helpers for tests ---------------------------------------------------------------------
    def publish(self, envelope: dict | bytes, routing_key: str | None = None, content_type="application/json"):
        """Publish as a departmental system would: raw JSON to departments.events, confirmed."""
        body = envelope if isinstance(envelope, bytes) else json.dumps(envelope, ensure_ascii=False).encode()
        key = routing_key or envelope["event_type"]
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as conn:
            Producer(conn.channel()).publish(body, exchange=events_exchange("departments"), routing_key=key,
                                             content_type=content_type, content_encoding="utf-8",
                                             delivery_mode=2, mandatory=True,
                                             # as the suite's own broker user (trusted, like the gateway
                                             # after its API-key check): departmental broker users are
                                             # tested in tests/common/test_amqp_senders.py
                                             user_id=amqp_user(self.amqp_uri))

    def token(self, role: str, region: str, sub: str = "tester", bodies=()) -> str:
        """A staff token; ``bodies``: the body list (SEC-2: body-bound roles without one see nothing;
        ``("*",)`` grants every body of the region)."""
        from services.common.auth import issue_token

        return issue_token(sub, role, region, secret=self.token_secret, body_ids=tuple(bodies))

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


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")


def queued_messages(amqp_uri: str, service: str) -> dict[str, int]:
    """Messages (ready + being handled, i.e. unacknowledged) in each handler and retry queue of ``service``."""
    from urllib.parse import unquote, urlparse

    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    vhost = unquote(urlparse(amqp_uri).path.lstrip("/")) or "/"
    out = subprocess.run([exe, "-q", "list_queues", "-p", vhost, "name", "messages", "--formatter", "json"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return {q["name"]: int(q["messages"]) for q in json.loads(out or "[]") if f"--{service}." in q["name"]}


def wait_until_drained(amqp_uri: str, service: str, timeout: float = 30.0) -> None:
    """The barrier before asserting that something did NOT happen (issue 21: never after a sleep).

    Call it once a message published AFTER the one under test has been seen handled (so the one under test
    has been routed): then nothing of ``service`` is left ready, in a worker (unacknowledged: nameko acks
    after the handler's commit) or waiting in a retry queue — whatever the event under test does, it has
    done."""
    wait_for(lambda: not any(queued_messages(amqp_uri, service).values()), timeout=timeout, interval=0.3,
             message=f"every queue of {service} drained")


def outbox_events(db_url: str, event_type: str) -> list[dict]:
    """The envelopes a service (SQLite database) has put in its outbox for ``event_type``, oldest first."""
    import sqlite3

    with sqlite3.connect(db_url.replace("sqlite:///", "")) as conn:
        rows = conn.execute("SELECT envelope FROM outbox WHERE event_type = ? ORDER BY id", (event_type,)).fetchall()
    return [json.loads(r[0]) for r in rows]


def dead_letters(amqp_uri: str, service: str) -> list[dict]:
    from services.common.deadletters import peek

    return peek(amqp_uri, service)


@contextmanager
def running_suite(amqp_uri: str, databases: dict, tmp_path, services=None, api_keys=(), http_port=None):
    """Migrate, bus-init and run the given services (all by default) in this process."""
    from nameko import config
    from nameko.runners import ServiceRunner

    keys_file = tmp_path / "api_keys.yaml"
    import yaml

    keys_file.write_text(yaml.safe_dump(list(api_keys)))
    suite = Suite(amqp_uri, databases, http_port or free_port(), uuid.uuid4().hex, str(keys_file), tmp_path)
    classes = [c for c in all_service_classes() if services is None or c.name in services]
    with config.patch(suite.config(), clear=False):
        for service, url in databases.items():
            migrate(service, url)
        declare_topology(amqp_uri, all_service_classes())
        runner = ServiceRunner()
        for cls in classes:
            runner.add_service(cls)
        runner.start()
        try:
            if any(c.name == "gateway" for c in classes):
                wait_for(lambda: _healthy(suite.base_url), message="gateway health")
            yield suite
        finally:
            runner.stop()
            forget_redis_keys(suite.redis_prefix)


SERVICE_DATABASES = ("records", "review", "disclosure", "complaints", "evaluation")


@contextmanager
def module_space(tmp_path_factory, name: str):
    """A vhost and a folder of its own for a module-scoped suite (the browser and page modules start one
    suite for all their tests): yields (amqp_uri, SQLite databases of the five services, folder); the
    vhost is deleted at the end."""
    vhost = f"zhifa-test-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    tmp = tmp_path_factory.mktemp(name)
    try:
        yield (f"amqp://guest:guest@{AMQP_HOST}/{vhost}",
               {s: f"sqlite:///{tmp / (s + '.db')}" for s in SERVICE_DATABASES}, tmp)
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def _healthy(base_url: str) -> bool:
    try:
        return requests.get(base_url + "/healthz", timeout=1).ok
    except requests.RequestException:
        return False


@pytest.fixture
def sqlite_databases(tmp_path):
    return {s: f"sqlite:///{tmp_path / (s + '.db')}" for s in SERVICE_DATABASES}


@pytest.fixture
def suite(amqp_uri, sqlite_databases, tmp_path):
    with running_suite(amqp_uri, sqlite_databases, tmp_path) as running:
        yield running


# -- browser (headless Debian chromium via selenium) -------------------------------------------------
CHROMIUM = os.environ.get("ZHIFA_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("ZHIFA_CHROMEDRIVER", "/usr/bin/chromedriver")


def _start_chromium(profile_dir):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={BROWSER_SIZE[0]},{BROWSER_SIZE[1]}", "--lang=zh-CN",
                 f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    return driver


BROWSER_SIZE = (420, 900)


class _SharedChromium:
    """One headless Chromium for the session (CI time: starting one took ~2 s for each of 25 tests), handed
    to each test as if new (``reset``): every cookie of every site gone (the gateway's session, the OpenID
    provider's — cookies ignore the port, so a provider login of one test would sign the next one in),
    the HTTP cache emptied, a blank page, the default window size, and the console log drained so that
    ``browser_errors`` sees only the test's own pages. The app keeps nothing in web storage. A driver that
    cannot be reset (a test left a dialog open, the renderer died) is replaced by a new Chromium."""

    def __init__(self, root):
        self.root, self.driver, self.started = root, None, 0

    def get(self):
        if self.driver is not None:
            try:
                self.reset(self.driver)
                return self.driver
            except Exception as exc:  # noqa: BLE001 - a broken browser is replaced, not reused
                sys.stderr.write(f"\n[browser] Chromium could not be reset ({exc!r}); starting a new one\n")
                self.quit()
        self.started += 1
        self.driver = _start_chromium(self.root / f"chromium-profile-{self.started}")
        return self.driver

    @staticmethod
    def reset(driver) -> None:
        driver.get("about:blank")
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        driver.execute_cdp_cmd("Network.clearBrowserCache", {})
        driver.set_window_size(*BROWSER_SIZE)
        driver.get_log("browser")                   # drained: the previous test's messages
        if driver.execute_cdp_cmd("Network.getAllCookies", {}).get("cookies"):
            raise RuntimeError("cookies left after clearing")

    def quit(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:  # noqa: BLE001 - already gone
                pass
            self.driver = None


@pytest.fixture(scope="session")
def _shared_chromium(tmp_path_factory):
    shared = _SharedChromium(tmp_path_factory.mktemp("chromium"))
    yield shared
    shared.quit()


@pytest.fixture
def browser(_shared_chromium):
    """Headless Chromium (Debian's package; installed by .ci/run). Pages are checked as a person sees them.
    One Chromium serves the session, reset for each test as if new (_SharedChromium)."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI"):
            pytest.fail("chromium / chromium-driver are not installed (.ci/run installs them)")
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    yield _shared_chromium.get()


def browser_errors(driver) -> list[str]:
    """Severe console messages (JavaScript errors, failed loads) of the current page."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


class LinkUsers:
    """One broker user per city link (as deploy/broker gives each link its own), named by a test-unique
    ``ZHIFA_LINK_USER_TEMPLATE``, with rights in the given vhosts; removed by ``close``."""

    def __init__(self, cities, vhosts):
        self.template = f"zt{uuid.uuid4().hex[:6]}-link-{{city}}"
        self.users: dict[str, tuple[str, str]] = {}
        for city in cities:
            user, password = self.template.format(city=city), uuid.uuid4().hex
            _rabbitmqctl("add_user", user, password)
            self.users[city] = (user, password)
            for vhost in vhosts:
                _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")

    def user(self, city: str) -> str:
        return self.users[city][0]

    def uri(self, city: str, vhost: str, host: str = AMQP_HOST) -> str:
        from services.common import federation

        user, password = self.users[city]
        return federation.amqp_uri(host, vhost, user, password)

    def close(self):
        exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
        for user, _ in self.users.values():
            subprocess.run([exe, "delete_user", user], capture_output=True, timeout=60)


def publish_on_link(uri: str, exchange: str, envelope: dict, user_id: str) -> None:
    """Publish an envelope onto a tier exchange as a link's shovel delivers it: logged in as the link
    user (``uri``), ``user_id`` set to it (deploy/broker: dest-publish-properties), confirmed."""
    with Connection(uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(json.dumps(envelope, ensure_ascii=False), exchange=exchange,
                                         routing_key=envelope["event_type"], content_type="application/json",
                                         delivery_mode=2, user_id=user_id)


# -- a real OpenID provider (npm oidc-provider, tools/oidc-provider; `make oidc-provider` installs it) --
OIDC_DIR = ROOT_DIR / "tools" / "oidc-provider"
OIDC_ACCOUNTS = json.loads((OIDC_DIR / "accounts.json").read_text(encoding="utf-8"))
OIDC_PASSWORD = "zhifa-demo"


class OidcProvider:
    def __init__(self, issuer: str, client_id: str, client_secret: str, redirect_uri: str):
        self.issuer, self.client_id, self.client_secret, self.redirect_uri = issuer, client_id, client_secret, redirect_uri

    def zhifa_settings(self) -> dict:
        """What ZHIFA_OIDC says for a gateway using this provider."""
        return {"ZHIFA_OIDC": {"issuer": self.issuer, "client_id": self.client_id, "client_secret": self.client_secret,
                               "redirect_uri": self.redirect_uri, "scope": "openid profile zhifa",
                               "claims": {"role": "zhifa_role", "region": "zhifa_region", "bodies": "zhifa_bodies"},
                               "session_hours": 1}}


@contextmanager
def oidc_provider(tmp_path, gateway_port: int):
    """Start the provider on a free port of 127.0.0.1 with one client (the gateway at ``gateway_port``)."""
    node_modules = OIDC_DIR / "node_modules" / "oidc-provider"
    if not node_modules.exists():
        if os.environ.get("CI"):
            pytest.fail("tools/oidc-provider is not installed (make oidc-provider)")
        pytest.skip("the test OpenID provider is not installed: make oidc-provider")
    port = free_port()
    provider = OidcProvider(f"http://127.0.0.1:{port}", "zhifa-gateway", uuid.uuid4().hex * 2,
                            f"http://127.0.0.1:{gateway_port}/auth/callback")
    config = tmp_path / f"oidc-{port}.json"
    config.write_text(json.dumps({"issuer": provider.issuer, "port": port, "accounts": OIDC_ACCOUNTS,
                                  "clients": [{"client_id": provider.client_id, "client_secret": provider.client_secret,
                                               "redirect_uris": [provider.redirect_uri]}]}))
    log = open(tmp_path / f"oidc-{port}.log", "w")
    proc = subprocess.Popen(["node", str(OIDC_DIR / "provider.mjs")], cwd=OIDC_DIR, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "OIDC_CONFIG": str(config)})
    try:
        wait_for(lambda: _answers(provider.issuer + "/.well-known/openid-configuration"), timeout=30,
                 message="the OpenID provider")
        yield provider
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def oidc_session(suite, provider, login: str, password: str = OIDC_PASSWORD) -> requests.Session:
    """Sign in as a person would (the provider's login form), without a browser: the returned
    session carries the gateway's session cookie."""
    import re
    from html import unescape

    browser = requests.Session()
    page = browser.get(suite.base_url + "/auth/login", timeout=15)        # → provider's login form
    action = unescape(re.search(r'action="([^"]+)"', page.text).group(1))
    browser.post(provider.issuer + action, data={"login": login, "password": password}, timeout=15)
    return browser


def browser_sign_in(browser, suite, path: str, login: str = "supervisor", password: str = OIDC_PASSWORD) -> None:
    """Open a staff page signed out and sign in on the identity platform's page, as a person does: the
    gateway sends the browser to the provider (``suite.provider``), and after sign-in back to ``path``."""
    from selenium.webdriver.common.by import By

    browser.get(suite.base_url + path)
    wait_for(lambda: browser.current_url.startswith(suite.provider.issuer), message="the provider's sign-in page")
    browser.find_element(By.ID, "username").send_keys(login)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    wait_for(lambda: browser.current_url.startswith(suite.base_url + path), message=f"{path} after sign-in")
