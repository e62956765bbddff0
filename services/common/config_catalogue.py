"""Every ``ZHIFA_*`` setting, declared once (issue 21): name, type, default, meaning, who reads it.

The kernel's settings are declared here; a service declares its own in its :class:`ServiceEntry`
(``services/<name>/__init__.py``, ``settings=(…)``), found through the registry, so common names no
service. ``services.common.settings.get`` reads a setting through its declaration (it refuses an
undeclared name and converts and checks the value); docs/SETTINGS.md is generated from these
declarations (``zhifa docs``); tests/common/test_settings_catalogue.py fails on a ``ZHIFA_*`` name in
services/, tools/, deploy/ or bench/ that is not declared, and on a declared one nobody reads.

``read_in`` says where a setting is read:

- ``process``: the suite's Python processes, through ``settings.get`` (nameko config first, then the
  environment);
- ``config``: substituted into the nameko config files (``${NAME:default}`` in deploy/*/config.yaml);
- ``entrypoint``: the container entrypoint (deploy/compose/entrypoint.sh) and the database initialisation
  (deploy/compose/postgres/init-databases.sh);
- ``compose``: ``docker compose`` (the ``.env`` of deploy/compose, docker-compose.yml);
- ``broker``: the broker definitions renderer (deploy/broker/render.py ``${env:NAME:default}``);
- ``tools`` / ``bench``: ``make run`` (deploy/local/run.py) and the benchmarks.

A name with ``<SERVICE>`` or ``<CODE>`` declares a family (``ZHIFA_RECORDS_DB``, ``ZHIFA_CITY_320400_AMQP_HOST``).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("str", "secret", "int", "float", "bool", "path", "list", "mapping")
WHERE = ("process", "config", "entrypoint", "compose", "broker", "tools", "bench")
NAMES = re.compile(r"ZHIFA_[A-Z0-9_<>/]*[A-Z0-9>]")          # names in a meaning, quoted in the docs
PLACEHOLDERS = {"<SERVICE>": "[A-Z]+", "<CODE>": "[0-9]{6}"}
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class SettingError(ValueError):
    """A setting that is not declared, or whose value is unusable: ``ZHIFA_…: message``."""


@dataclass(frozen=True)
class Setting:
    """One ``ZHIFA_*`` setting. ``default`` is the typed value used when the setting is unset or empty; a
    callable default is computed when read (a path under ZHIFA_VAR_DIR), ``default_text`` shows it in the
    docs. ``services``: who reads it (service names, or ``every service``); empty in a ServiceEntry: that
    service. ``choices`` / ``minimum`` / ``pattern`` (a regular expression each string, or each list
    item, must match) are checked on every read. ``secret_file``: ``NAME__FILE=/path`` is accepted too
    (the container entrypoint reads the file into NAME)."""

    name: str
    kind: str
    meaning: str
    default: Any = None
    services: tuple[str, ...] = ()
    read_in: tuple[str, ...] = ("process",)
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    pattern: str | None = None
    secret_file: bool = False
    default_text: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS or not set(self.read_in) <= set(WHERE) or not self.name.startswith("ZHIFA_"):
            raise SettingError(f"{self.name}: bad declaration (kind {self.kind!r}, read_in {self.read_in})")

    @property
    def family(self) -> bool:
        return "<" in self.name

    def regex(self) -> re.Pattern:
        text = re.escape(self.name)
        for placeholder, expression in PLACEHOLDERS.items():
            text = text.replace(re.escape(placeholder), expression)
        return re.compile(text)

    def default_value(self):
        return self.default() if callable(self.default) else self.default

    def convert(self, raw) -> Any:
        """The typed value of ``raw`` (from YAML config or the environment); ValueError on a bad one."""
        kind = self.kind
        if kind in ("str", "secret", "path"):
            if isinstance(raw, (dict, list, tuple)):
                raise ValueError(f"expected a single value, got {type(raw).__name__}")
            value = str(raw).strip()
            if self.choices and value.lower() not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)}, not {value!r}")
            if self.choices:
                value = value.lower()
            if self.pattern and not re.fullmatch(self.pattern, value):
                raise ValueError(f"{value!r} is not of the form {self.pattern}")
            return Path(value) if kind == "path" else value
        if kind in ("int", "float"):
            if isinstance(raw, bool):
                raise ValueError(f"expected a number, got {raw!r}")
            try:
                number = int(str(raw).strip()) if kind == "int" else float(raw)
            except (TypeError, ValueError):
                raise ValueError(f"expected {'an integer' if kind == 'int' else 'a number'}, got {raw!r}") from None
            if self.minimum is not None and number < self.minimum:
                raise ValueError(f"{number} is below the minimum {self.minimum:g}")
            return number
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word in TRUE or word in FALSE:
                return word in TRUE
            raise ValueError(f"expected on/off (true/false, 1/0), got {raw!r}")
        if kind == "list":
            items = raw if isinstance(raw, (list, tuple)) else re.split(r"[\s,]+", str(raw))
            values = tuple(str(i).strip() for i in items if str(i).strip())
            bad = [v for v in values if self.pattern and not re.fullmatch(self.pattern, v)]
            if bad:
                raise ValueError(f"{', '.join(map(repr, bad))} not of the form {self.pattern}")
            return values
        # mapping: YAML mapping, a JSON object, or "key=value,key=value" from the environment
        if isinstance(raw, str):
            text = raw.strip()
            try:
                raw = json.loads(text) if text.startswith("{") else dict(
                    item.strip().split("=", 1) for item in text.split(",") if item.strip())
            except ValueError:
                raise ValueError(f"expected a mapping (JSON object or key=value,…), got {text!r}") from None
        if not isinstance(raw, dict):
            raise ValueError(f"expected a mapping, got {type(raw).__name__}")
        return dict(raw)

    def type_text(self) -> str:
        text = {"str": "text", "secret": "secret text", "int": "integer", "float": "number", "bool": "on/off",
                "path": "path", "list": "list (comma-separated)", "mapping": "mapping"}[self.kind]
        if self.choices:
            text = "one of " + " / ".join(f"`{c}`" for c in self.choices)
        if self.minimum is not None:
            text += f" ≥ {self.minimum:g}"
        if self.secret_file:
            text += "; or `__FILE`"
        return text

    def default_doc(self) -> str:
        if self.default_text is not None:
            return self.default_text
        value = self.default
        if value is None or value == "" or value == () or value == {}:
            return "—"
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, Path):
            try:
                value = value.relative_to(ROOT)
            except ValueError:
                pass
        return f"`{value}`"


def under_var(*parts: str) -> Callable[[], Path]:
    """A default under ZHIFA_VAR_DIR, computed when read."""
    def default() -> Path:
        from services.common import settings

        return settings.VAR.joinpath(*parts)
    return default


EVERY = ("every service",)
DB_SERVICES = ("records", "review", "disclosure", "complaints", "evaluation")
BATCHED_SERVICES = ("records", "review", "disclosure", "evaluation")   # batched handlers of case traffic (issue 17)
FIELDCRYPT_SERVICES = ("records", "complaints", "disclosure", "review", "evaluation")  # issue 22

KERNEL: tuple[Setting, ...] = (
    # -- the processes (services/common) ---------------------------------------------------------------
    Setting("ZHIFA_VAR_DIR", "path", "Directory of the embedded set-up's state: SQLite databases, generated "
            "keys and secrets, attachments (containers: /var/lib/zhifa).", ROOT / "var", EVERY),
    Setting("ZHIFA_DATABASES", "mapping", "Database URL of each service (nameko config: service name → "
            "SQLAlchemy URL). A service missing here: ZHIFA_<SERVICE>_DB, else SQLite under ZHIFA_VAR_DIR.",
            {}, DB_SERVICES),
    Setting("ZHIFA_<SERVICE>_DB", "str", "A service's database URL (e.g. ZHIFA_RECORDS_DB); the deploy configs "
            "put it into ZHIFA_DATABASES, the container entrypoint builds it from ZHIFA_<SERVICE>_DB_PASSWORD, "
            "ZHIFA_DB_HOST/PORT (or ZHIFA_DB_HOSTS) and ZHIFA_DB_PREFIX. Several PostgreSQL hosts (failover, "
            "issue 20): postgresql://user:pw@/db?host=h1:5432&host=h2:5432&target_session_attrs=read-write — "
            "a new connection goes to the host that takes writes; a lost one is retried, not dead-lettered. "
            "libpq parameters in the query override the suite's defaults (connect_timeout 5, keepalives, "
            "tcp_user_timeout 60000: services/common/db.py PG_CONNECT_DEFAULTS).",
            None, DB_SERVICES, ("process", "config", "entrypoint"),
            default_text="SQLite `var/<service>.db`"),
    Setting("ZHIFA_METRICS_PORTS", "mapping", "The /metrics port of each service (service name → port).", {},
            EVERY, default_text="the registry's (gateway 9100, records 9101 … evaluation 9105)"),
    Setting("ZHIFA_METRICS_ADDR", "str", "Address the /metrics endpoints listen on (containers: 0.0.0.0).",
            "127.0.0.1", EVERY, ("process", "config")),
    Setting("ZHIFA_METRICS_DISABLED", "bool", "Start no /metrics endpoint (benchmarks, tests).", False, EVERY),
    Setting("ZHIFA_GC_THRESHOLD", "int", "Python's cyclic garbage collector runs after this many new container "
            "objects (its first threshold; Python's own: 700); at start-up everything loaded so far is frozen out "
            "of its scans. 0 leaves Python's defaults and freezes nothing.", 20000, EVERY, minimum=0),
    Setting("ZHIFA_MAX_ATTEMPTS", "int", "Attempts of a handler failing with an unexpected error before its "
            "event is dead-lettered.", 5, EVERY, ("process", "config"), minimum=1),
    Setting("ZHIFA_RETRY_DELAY_MS", "int", "First delay before an event is tried again (doubles each attempt).",
            1000, EVERY, ("process", "config"), minimum=0),
    Setting("ZHIFA_QUORUM_QUEUES", "str", "Handler, retry and dead-letter queues as quorum queues (replicated "
            "on a broker cluster): auto — when the broker is RabbitMQ 3.10 or later and, "
            "for a broker on this machine, its file-handle budget (rabbitmqctl status) is at least 4096; on; off "
            "(classic queues). "
            "A quorum queue replica reserves about 3 of the broker's file handles: the broker needs an open-file "
            "limit of at least 65536 (docs/RUNBOOK.md, quorum queues). bus-init migrates existing queues.",
            "auto", EVERY, ("process",), choices=("auto", "on", "off")),
    Setting("ZHIFA_DELIVERY_LIMIT", "int", "Quorum handler queues: deliveries of a message (returned unacked: "
            "its worker died) before the broker dead-letters it (reason delivery_limit).", 20, EVERY,
            ("process",), minimum=1),
    Setting("ZHIFA_OWNERSHIP_WAIT_SECONDS", "float", "How long an event about a case whose owner is not known "
            "yet waits (the owning event may be on its way) before it is refused (SEC-2).", 300.0, EVERY,
            ("process", "config"),
            minimum=0),
    Setting("ZHIFA_FUTURE_TOLERANCE_SECONDS", "float", "Seconds an event's occurred_at may lie ahead of this "
            "process's clock; an event dated further ahead is refused (422 / dead letter).", 300.0, EVERY,
            ("process", "config"),
            minimum=0),
    Setting("ZHIFA_BATCH_SIZE", "int", "Largest batch of a batched event handler (the case traffic of records, "
            "review, disclosure and evaluation): events applied in one transaction. Unset: each service's own — "
            "records 500 (a backlog drains with fewer appends, claims and commits), review, disclosure and "
            "evaluation 200.", None, BATCHED_SERVICES, minimum=1,
            default_text="records 500; review, disclosure, evaluation 200"),
    Setting("ZHIFA_BATCH_LINGER_MS", "float", "How long a batched handler waits for more events once its "
            "buffer went idle.", 3.0, BATCHED_SERVICES, minimum=0),
    Setting("ZHIFA_BATCH_INTERVAL_MS", "float", "Least time between the starts of two batches of a batched "
            "handler: under load, events gather into fewer, larger transactions (less CPU per event) and wait "
            "up to this long; a lone event does not wait. Unset: each service's own — records 20 (the record "
            "is what an officer or citizen looks for first), review, disclosure and evaluation 200.", None,
            BATCHED_SERVICES, minimum=0, default_text="records 20; review, disclosure, evaluation 200"),
    Setting("ZHIFA_OUTBOX_RETENTION_HOURS", "float", "Relayed outbox rows older than this are deleted by the "
            "housekeeping job; must be longer than the redelivery window (checked at start-up).", 168.0,
            DB_SERVICES, minimum=0),
    Setting("ZHIFA_PROCESSED_EVENTS_RETENTION_HOURS", "float", "The ids of applied events (processed_events: "
            "a redelivery is recognised by them) older than this are deleted by the housekeeping job; must be "
            "longer than the redelivery window (checked at start-up), or a late copy would apply twice.",
            720.0, DB_SERVICES, minimum=0),
    Setting("ZHIFA_REDELIVERY_WINDOW_HOURS", "float", "The longest time after its first delivery that a copy "
            "of an event may still arrive (a departmental re-send, a queue or tier-link buffer held through an "
            "outage). Both retentions must be longer than this, the ownership wait and the retry schedule.",
            72.0, DB_SERVICES, minimum=0),
    Setting("ZHIFA_HOUSEKEEPING_INTERVAL_SECONDS", "float", "How often the housekeeping job purges the outbox "
            "and processed_events (one replica at a time, under a job lease).", 3600.0, DB_SERVICES,
            minimum=1),
    Setting("ZHIFA_FIELD_ENCRYPTION", "bool", "Encrypt personal fields at rest with SM4-GCM under the service's "
            "data key (issue 22, services/common/fieldcrypt.py); off: new values are written in clear (stored "
            "ciphertexts stay readable). The deploy configs set it off until the keys are provisioned for every "
            "replica (docs/RUNBOOK.md).", True, FIELDCRYPT_SERVICES, ("process", "config")),
    Setting("ZHIFA_KEYS_DIR", "path", "Directory of the field-encryption keyrings (<service>.keyring.json: the "
            "wrapped data and index keys) and, with the file key provider, of the key-encryption keys (kek/). "
            "Back it up apart from the databases.", under_var("keys"), FIELDCRYPT_SERVICES,
            default_text="`var/keys`"),
    Setting("ZHIFA_KEK_DIR", "path", "Directory of the key-encryption keys of the file key provider (current, "
            "kek-<id>.key), when they are kept apart from the keyrings (a Secret of their own); unset: "
            "ZHIFA_KEYS_DIR/kek.", None, FIELDCRYPT_SERVICES, default_text="`ZHIFA_KEYS_DIR/kek`"),
    Setting("ZHIFA_KEY_PROVIDER", "str", "Who holds the key-encryption keys: file (KEK files under "
            "ZHIFA_KEYS_DIR/kek) or package.module:Class implementing fieldcrypt.KeyProvider (an HSM or KMS).",
            "file", FIELDCRYPT_SERVICES),
    Setting("ZHIFA_FIELDCRYPT_REENCRYPT_INTERVAL", "float", "Seconds between the background re-encrypt passes "
            "that move personal fields to the active data key after a rotation (and encrypt legacy rows).",
            30.0, FIELDCRYPT_SERVICES, minimum=1),
    Setting("ZHIFA_SQLITE_BUSY_TIMEOUT", "float", "Seconds a SQLite connection waits for a lock (embedded "
            "set-up only).", 30.0, DB_SERVICES, minimum=0),
    Setting("ZHIFA_SAMPLE_DATA", "bool", "Allow configuration files that ship sample data (review's `SAMPLE-*` "
            "matter codes in config/review/benchmarks.yaml, the placeholder complaint channels of "
            "config/complaints/channels.yaml): true only for `make run`'s demo and the tests; otherwise a service "
            "whose file holds sample data refuses to start (issue 18, REV-8, CMP-1).", False,
            ("review", "complaints")),
    Setting("ZHIFA_CLOCK", "str", "An ISO instant with time zone that fixes the suite's clock (tests and "
            "demos only; a warning is logged).", None, EVERY),
    Setting("ZHIFA_CALENDAR_DIR", "path", "Directory of working-day calendar override files (YAML, one a year; "
            "they win over the library's years).", ROOT / "config" / "calendar", EVERY),
    Setting("ZHIFA_PERIODS_FILE", "path", "The statutory periods file (name → value and unit).",
            ROOT / "config" / "periods.yaml", EVERY),
    Setting("ZHIFA_API_KEYS_FILE", "path", "The departmental systems' registry (API key hashes, region, "
            "bodies, broker user): who may send what (SEC-2).", under_var("api_keys.yaml"), EVERY,
            ("process", "config"),
            default_text="`var/api_keys.yaml`"),
    Setting("ZHIFA_TOKEN_SECRET", "secret", "HS256 key of service-account tokens (and of CSRF tokens unless "
            "ZHIFA_CSRF_SECRET is set).", None, ("gateway",), secret_file=True,
            default_text="generated in `var/token_secret`"),
    Setting("ZHIFA_TOKEN_MAX_HOURS", "float", "Longest lifetime of a service-account token (`zhifa token`).",
            8.0, ("gateway",), minimum=0),
    Setting("ZHIFA_RECORDS_MAX_BLOB_BYTES", "int", "Largest attachment of an enforcement record: the gateway "
            "refuses a bigger upload (413), records refuses to store it.", 8 * 1024 * 1024,
            ("gateway", "records"), minimum=1),
    Setting("ZHIFA_TIER", "str", "Which suite this is: a province (省级) or a city (市级) suite.", "city", EVERY,
            ("process", "compose"), choices=("city", "province")),
    Setting("ZHIFA_SUITE_REGION", "str", "The suite's GB/T 2260 region code (320000 江苏省, 320400 常州市); "
            "unset: an embedded development suite.", None, EVERY, ("process", "compose"), pattern=r"[0-9]{6}"),
    Setting("ZHIFA_CITIES", "list", "Province only: the city suites linked to it (320400,320200).", (), EVERY,
            ("process", "compose"), pattern=r"[0-9]{4}00"),
    Setting("ZHIFA_LINK_USER_TEMPLATE", "str", "The broker user of a city's tier link ({city}: its code).",
            "zhifa-link-{city}", EVERY),
    Setting("ZHIFA_LINK_HEARTBEAT_SECONDS", "float", "Interval of the tier-link heartbeats evaluation sends "
            "(0: none); alerts watch the last arrival.", 5.0, ("evaluation",), minimum=0),
    # -- substituted into the nameko config files ------------------------------------------------------------
    Setting("ZHIFA_MAX_WORKERS", "int", "nameko max_workers of each process.", 10, EVERY, ("config",)),
    Setting("ZHIFA_PREFETCH_COUNT", "int", "nameko PREFETCH_COUNT (unacknowledged messages per consumer).", 20,
            EVERY, ("config",)),
    Setting("ZHIFA_LOG_LEVEL", "str", "Level of the root logger (containers).", "INFO", EVERY,
            ("config", "compose")),
    # -- the container entrypoint ------------------------------------------------------------------------------
    Setting("ZHIFA_AMQP_USER", "str", "The suite's broker user; with ZHIFA_AMQP_PASSWORD the entrypoint builds "
            "AMQP_URI.", None, EVERY, ("entrypoint",)),
    Setting("ZHIFA_AMQP_PASSWORD", "secret", "The broker user's password.", None, EVERY, ("entrypoint",),
            secret_file=True),
    Setting("ZHIFA_AMQP_HOST", "str", "The suite's broker host.", "rabbitmq", EVERY, ("entrypoint",)),
    Setting("ZHIFA_AMQP_PORT", "int", "The suite's broker port.", 5672, EVERY, ("entrypoint",)),
    Setting("ZHIFA_AMQP_VHOST", "str", "The suite's broker virtual host.", None, EVERY, ("entrypoint",)),
    Setting("ZHIFA_<SERVICE>_DB_PASSWORD", "secret", "A service's database password (user and database: "
            "ZHIFA_DB_PREFIX + service).", None, DB_SERVICES, ("entrypoint",), secret_file=True),
    Setting("ZHIFA_DB_HOST", "str", "PostgreSQL host of the suite's databases.", "postgres", DB_SERVICES,
            ("entrypoint",)),
    Setting("ZHIFA_DB_PORT", "int", "PostgreSQL port.", 5432, DB_SERVICES, ("entrypoint",)),
    Setting("ZHIFA_DB_HOSTS", "list", "PostgreSQL hosts of a replicated cluster without a read-write service "
            "address (Patroni, hand-run streaming replication), comma-separated host[:port] (port default "
            "ZHIFA_DB_PORT); replaces ZHIFA_DB_HOST: the entrypoint builds multi-host URLs with "
            "target_session_attrs=read-write (issue 20, PLAT-1; RUNBOOK: PostgreSQL failover). With "
            "CloudNativePG use ZHIFA_DB_HOST=<cluster>-rw instead.", None, DB_SERVICES, ("entrypoint",)),
    Setting("ZHIFA_DB_PREFIX", "str", "Prefix of database and user names (two city suites on one server: "
            "zhifa_320200_).", "zhifa_", DB_SERVICES, ("entrypoint",)),
    Setting("ZHIFA_DB_SECRETS_DIR", "path", "init-databases.sh: directory of the db_<service>_password files.",
            Path("/run/secrets"), DB_SERVICES, ("entrypoint",), default_text="`/run/secrets`"),
    Setting("ZHIFA_REQUIRE", "list", "Settings a container refuses to start without (empty or CHANGE-ME…): "
            "exit 64 instead of embedded defaults.", (), EVERY, ("entrypoint",)),
    # -- docker compose (.env) -------------------------------------------------------------------------------
    Setting("ZHIFA_PROJECT", "str", "Compose project name (one per suite on a host).", "zhifa-320400", EVERY,
            ("compose",)),
    Setting("ZHIFA_IMAGE", "str", "The zhifa container image.", "zhifa:local", EVERY, ("compose",)),
    Setting("ZHIFA_VHOST", "str", "The suite's broker vhost, and its broker user's name.", "zhifa-320400",
            EVERY, ("compose",)),
    Setting("ZHIFA_BROKER_DEFINITIONS", "str", "Which deploy/broker/definitions-<name>.json the suite's broker "
            "imports (make-secrets.sh fills its passwords).", "city-320400", EVERY, ("compose",)),
    Setting("ZHIFA_ENV_FILE", "path", "The env file itself, handed to the broker-definitions renderer.",
            Path(".env"), EVERY, ("compose",), default_text="`.env`"),
    Setting("ZHIFA_SECRETS_DIR", "path", "Directory of the suite's secret files (make-secrets.sh).",
            Path("./secrets"), EVERY, ("compose", "broker"), default_text="`./secrets` (renderer: `/run/secrets`)"),
    Setting("ZHIFA_AMQP_PUBLISH_PORT", "int", "Host port of the broker (departmental systems, the other "
            "tier's shovel).", 5672, EVERY, ("compose",)),
    Setting("ZHIFA_RABBITMQ_UI_PORT", "int", "Host port of the broker's management UI (127.0.0.1 only).", 15672,
            EVERY, ("compose",)),
    Setting("ZHIFA_PROMETHEUS_PORT", "int", "Host port of Prometheus (127.0.0.1 only).", 9090, EVERY,
            ("compose",)),
    Setting("ZHIFA_GRAFANA_PORT", "int", "Host port of Grafana (127.0.0.1 only).", 3000, EVERY, ("compose",)),
    # -- the broker definitions (tier links) ---------------------------------------------------------------------
    Setting("ZHIFA_PROVINCE_AMQP_HOST", "str", "City: the province's broker as this broker sees it (the "
            "upward shovel publishes there).", "rabbitmq", EVERY, ("broker",)),
    Setting("ZHIFA_PROVINCE_AMQP_PORT", "int", "City: the province broker's port.", 5672, EVERY, ("broker",)),
    Setting("ZHIFA_CITY_<CODE>_AMQP_HOST", "str", "Province: a linked city's broker (the downward shovel).",
            "rabbitmq", EVERY, ("broker",)),
    Setting("ZHIFA_CITY_<CODE>_AMQP_PORT", "int", "Province: a linked city broker's port.", 5672, EVERY,
            ("broker",)),
    # -- make run and the benchmarks -------------------------------------------------------------------------------
    Setting("ZHIFA_CONFIG", "path", "`make run`: the nameko config file of the embedded suite.",
            ROOT / "deploy" / "local" / "config.yaml", EVERY, ("tools",)),
    Setting("ZHIFA_CLUSTER_BASE_PORT", "int", "deploy/local/rabbitmq-cluster.sh: AMQP port of node 1 (nodes "
            "use base…base+2, distribution base+20000…, their CLI base+10100…, all below the kernel's ephemeral "
            "ports); kept in <dir>/cluster.env.", 5701,
            (), ("tools",), minimum=1),
    Setting("ZHIFA_CLUSTER_NAME", "str", "deploy/local/rabbitmq-cluster.sh: node name prefix (node n is "
            "<name><n>@localhost); kept in <dir>/cluster.env.", "zhifa", (), ("tools",)),
    Setting("ZHIFA_BENCH_PG", "str", "Benchmarks: the PostgreSQL server's admin URL.",
            "postgresql://postgres@127.0.0.1:5432/postgres", (), ("bench",)),
    Setting("ZHIFA_BENCH_AMQP_HOST", "str", "Benchmarks: the broker's host:port.", "127.0.0.1:5672", (),
            ("bench",)),
    Setting("ZHIFA_BENCH_CQV2", "bool", "Benchmarks: declare classic queues v2.", False, (), ("bench",)),
    Setting("ZHIFA_BENCH_RECORDS_REPLICAS", "int", "records_ingest: records replicas.", 2, (), ("bench",),
            minimum=1),
    Setting("ZHIFA_BENCH_DOWNSTREAM_NICE", "int", "records_ingest: nice level of the downstream services.", 0, (),
            ("bench",)),
    Setting("ZHIFA_BENCH_STEP_SECONDS", "int", "suite_mixed: seconds each offered rate is held (60: the issue's "
            "definition of sustained; shorten for a quick run).", 60, (), ("bench",), minimum=5),
    Setting("ZHIFA_BENCH_PROFILE_DIR", "str", "Benchmarks: when set, every service process runs under cProfile and "
            "writes <service>-<id>.prof there when it stops.", "", (), ("bench",)),
    Setting("ZHIFA_ALERT_SOAK_MINUTES", "float", "`make alert-soak`: how long Prometheus watches `make run` with "
            "the shipped alert rules (tools/alert_soak.py; --minutes wins).", 10.0, (), ("tools",), minimum=0.5),
    Setting("ZHIFA_CHAOS_ROUNDS", "int", "`make chaos`: seeded rounds of each fault (tools/chaos.py; --rounds wins).", 20,
            (), ("tools",), minimum=1),
    Setting("ZHIFA_CHAOS_SEED", "int", "`make chaos`: the seed of the rounds (printed; unset: a random one).", None,
            (), ("tools",), default_text="a random seed, printed"),
    Setting("ZHIFA_CHAOS_DIR", "path", "`make chaos`: folder of the chaos suite's PostgreSQL clusters, keys and logs "
            "(removed afterwards).", Path("/tmp/chaos"), (), ("tools",)),
    Setting("ZHIFA_CHAOS_PARTITION_SECONDS", "float", "`make chaos`: how long a city–province partition lasts.",
            30.0, (), ("tools",), minimum=1),
    Setting("ZHIFA_BENCH_SUITE", "list", "records_ingest and suite_mixed: the services run.",
            ("records", "review", "disclosure", "evaluation", "complaints"), (), ("bench",),
            default_text="`records,review,disclosure,evaluation,complaints`"),
)


@lru_cache(maxsize=1)
def catalogue() -> tuple[tuple[str, tuple[Setting, ...]], ...]:
    """(group, settings) pairs: the kernel's, then each registered service's, in registry order."""
    from services.common.registry import entries

    groups = [("kernel", KERNEL)]
    for entry in entries():
        groups.append((entry.name, tuple(s if s.services else _owned(s, entry.name) for s in entry.settings)))
    seen: dict[str, str] = {}
    for group, declared in groups:
        for s in declared:
            if s.name in seen:
                raise SettingError(f"{s.name}: declared twice ({seen[s.name]} and {group})")
            seen[s.name] = group
    return tuple(groups)


def _owned(setting: Setting, service: str) -> Setting:
    return replace(setting, services=(service,))


def all_settings() -> tuple[Setting, ...]:
    return tuple(s for _, declared in catalogue() for s in declared)


_KERNEL_NAMES = {s.name: s for s in KERNEL if not s.family}


@lru_cache(maxsize=None)
def declaration(name: str) -> Setting:
    """The declaration of ``name`` (a family's member resolves to the family); SettingError if undeclared."""
    if name in _KERNEL_NAMES:                 # no registry needed (read at import time, e.g. ZHIFA_VAR_DIR)
        return _KERNEL_NAMES[name]
    for s in all_settings():
        if s.name == name or (s.family and s.regex().fullmatch(name)):
            return s
    raise SettingError(f"{name}: not a declared setting (declare it in services/common/config_catalogue.py "
                       "or in its service's ServiceEntry)")


def quoted(text: str) -> str:
    return NAMES.sub(lambda m: f"`{m.group(0)}`", text)


def reference() -> str:
    """docs/SETTINGS.md."""
    lines = ["# Settings", "",
             "<!-- generated by `zhifa docs` from services/common/config_catalogue.py and each service's "
             "ServiceEntry; do not edit -->", "",
             "Every `ZHIFA_*` setting of the suite. The processes read a setting from the nameko config file "
             "first, then from the environment (`settings.get`: an undeclared name is refused, a bad value "
             "stops start-up with `ZHIFA_…: message`). *Read in*: `process` — the suite's processes; "
             "`config` — substituted into the nameko config files (deploy/*/config.yaml); `entrypoint` — "
             "the container entrypoint; `compose` — docker compose's `.env`; `broker` — the broker "
             "definitions renderer; `tools` / `bench` — `make run` and the benchmarks. A `secret` setting "
             "may instead name a file in `NAME__FILE` (containers). `<SERVICE>` is a service's name in "
             "capitals, `<CODE>` a city's region code. Operations: [RUNBOOK.md](RUNBOOK.md).", ""]
    for group, declared in catalogue():
        lines += [f"## {'Shared (services/common)' if group == 'kernel' else group}", "",
                  "| setting | type | default | read in | read by | meaning |", "|---|---|---|---|---|---|"]
        for s in declared:
            lines.append(f"| `{s.name}` | {s.type_text()} | {s.default_doc()} | {', '.join(s.read_in)} | "
                         f"{', '.join(s.services) or '—'} | {quoted(s.meaning)} |")
        lines.append("")
    count = len(all_settings())
    lines.append(f"{count} settings.")
    return "\n".join(lines) + "\n"


__all__ = ["Setting", "SettingError", "KERNEL", "catalogue", "all_settings", "declaration", "reference"]
