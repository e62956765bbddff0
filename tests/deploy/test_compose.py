"""deploy/compose: the compose file, its image, entrypoint, config and one-shot scripts (PLAT-1 operations).

Plain unit tests: nothing is started except the POSIX-sh entrypoint and make-secrets.sh in a temp dir.
"""
from __future__ import annotations

import importlib
import os
import re
import shutil
import stat
import subprocess

import pytest
from nameko.cli.utils.config import load_config

from services.common import registry
from tests.deploy.support import (
    takes_departmental_events,
    COMPOSE_DIR,
    DB_SERVICES,
    K8S,
    ROOT,
    SERVICE_CLASSES,
    SERVICES,
    load_yaml,
)

COMPOSE = COMPOSE_DIR / "docker-compose.yml"
INFRA = {"broker-definitions", "rabbitmq", "postgres", "zhifa-init", "prometheus", "grafana", "redis"}
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|SIGNING_KEY|TOKEN)")


@pytest.fixture(scope="module")
def compose():
    return load_yaml(COMPOSE)


def env_of(service: dict) -> dict:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment must be a mapping (merged from x-zhifa-env)"
    return env


def test_compose_has_every_service_and_the_infrastructure(compose):
    assert set(compose["services"]) == set(SERVICES) | INFRA


@pytest.mark.parametrize("svc", SERVICES)
def test_service_command_runs_a_real_nameko_service_class(compose, svc):
    command = compose["services"][svc]["command"]
    assert command[:4] == ["nameko", "run", "--config", "/etc/zhifa/config.yaml"]
    module_name, _, class_name = command[4].partition(":")
    assert module_name == f"services.{svc}.service" and class_name == SERVICE_CLASSES[svc]
    cls = getattr(importlib.import_module(module_name), class_name)
    assert cls.name == svc, f"{command[4]} is the nameko service {cls.name!r}, not {svc!r}"


@pytest.mark.parametrize("svc", SERVICES)
def test_service_waits_for_init_broker_and_database(compose, svc):
    depends = compose["services"][svc]["depends_on"]
    assert depends["zhifa-init"]["condition"] == "service_completed_successfully"
    assert depends["rabbitmq"]["condition"] == "service_healthy"
    assert depends["postgres"]["condition"] == "service_healthy"


def test_start_order_is_acyclic_and_init_runs_bus_init_then_migrate(compose):
    services = compose["services"]
    init = services["zhifa-init"]
    assert init["restart"] == "no"
    assert "bus-init && zhifa --config /etc/zhifa/config.yaml migrate" in " ".join(init["command"])
    assert {k: v["condition"] for k, v in init["depends_on"].items()} == {
        "rabbitmq": "service_healthy", "postgres": "service_healthy"}
    assert services["rabbitmq"]["depends_on"]["broker-definitions"]["condition"] == "service_completed_successfully"
    graph = {name: set(s.get("depends_on") or ()) for name, s in services.items()}
    order, seen = [], set()

    def visit(node, path=()):
        assert node not in path, f"depends_on cycle: {' → '.join(path + (node,))}"
        if node in seen:
            return
        for dep in graph[node]:
            assert dep in services, f"{node} depends on unknown service {dep}"
            visit(dep, path + (node,))
        seen.add(node)
        order.append(node)

    for name in services:
        visit(name)
    assert order.index("broker-definitions") < order.index("rabbitmq") < order.index("zhifa-init")
    for svc in SERVICES:
        assert order.index("zhifa-init") < order.index(svc)


@pytest.mark.parametrize("svc", SERVICES)
def test_service_environment_has_what_the_process_needs(compose, svc):
    service = compose["services"][svc]
    env = env_of(service)
    for key in ("ZHIFA_AMQP_HOST", "ZHIFA_AMQP_VHOST", "ZHIFA_AMQP_USER", "ZHIFA_AMQP_PASSWORD__FILE",
                "ZHIFA_METRICS_ADDR", "ZHIFA_CALENDAR_DIR", "ZHIFA_DB_HOST"):
        assert env.get(key), f"{svc}: {key} missing"
    assert env["ZHIFA_METRICS_ADDR"] == "0.0.0.0"
    required = set(env["ZHIFA_REQUIRE"].split())
    assert "AMQP_URI" in required
    if svc in DB_SERVICES:
        assert env[f"ZHIFA_{svc.upper()}_DB_PASSWORD__FILE"] == f"/run/secrets/db_{svc}_password"
        assert f"ZHIFA_{svc.upper()}_DB" in required
        others = [s for s in DB_SERVICES if s != svc]
        assert not any(f"ZHIFA_{o.upper()}_DB_PASSWORD__FILE" in env for o in others), \
            f"{svc} must get only its own database credential"
    if svc == "gateway" or takes_departmental_events(svc):
        # SEC-2 / issue 23: the gateway checks API keys and every consumer of departmental events
        # checks their broker user against the department registry; without it they refuse them all
        assert "ZHIFA_API_KEYS_FILE" in required and env["ZHIFA_API_KEYS_FILE"] == "/run/secrets/api_keys"
        assert "api_keys" in service["secrets"]
    if svc == "gateway":
        assert {"ZHIFA_TOKEN_SECRET", "ZHIFA_API_KEYS_FILE"} <= required
        assert env["ZHIFA_TOKEN_SECRET__FILE"] == "/run/secrets/token_secret"
        assert env["ZHIFA_HTTP_ADDRESS"] == "0.0.0.0:8000"
        assert any(p.endswith(":8000") for p in service["ports"])
    if svc == "records":
        assert "ZHIFA_RECORDS_SIGNING_KEY" in required
        assert env["ZHIFA_RECORDS_SIGNING_KEY__FILE"] == "/run/secrets/records_signing_key"
        assert any(v.startswith("records-blobs:") for v in service["volumes"])
    if svc == "complaints":
        assert any(v.startswith("complaints-attachments:") for v in service["volumes"])


@pytest.mark.parametrize("name", sorted(SERVICES) + ["zhifa-init", "broker-definitions", "postgres", "grafana"])
def test_secrets_come_from_declared_secret_files_never_literals(compose, name):
    service = compose["services"][name]
    env = env_of(service)
    granted = set(service.get("secrets") or ())
    for key, value in env.items():
        value = str(value)
        if value.startswith("/run/secrets/"):
            secret = value[len("/run/secrets/"):]
            assert secret in granted, f"{name}: {key} reads secret {secret!r} that is not granted"
        elif SECRET_NAME.search(key) and not key.endswith(("_FILE", "_DIR")) and key != "ZHIFA_REQUIRE":
            pytest.fail(f"{name}: {key} looks like a secret given as a literal")
    for secret in granted:
        assert secret in compose["secrets"], f"{name}: secret {secret} not declared at top level"
    text = COMPOSE.read_text(encoding="utf-8")
    assert not re.search(r"(amqp|postgresql)://[^\s:@/]+:[^\s@$]+@", text), "credentials in a URL literal"


def test_every_declared_secret_is_a_file_that_make_secrets_creates(compose, tmp_path):
    if shutil.which("python3") is None:
        pytest.fail("python3 is needed by make-secrets.sh")
    out = tmp_path / "secrets"
    subprocess.run(["sh", str(COMPOSE_DIR / "make-secrets.sh"), str(out)], check=True, capture_output=True)
    created = {p.name for p in out.iterdir()}
    for name, spec in compose["secrets"].items():
        assert spec["file"].endswith(f"/{name}"), spec
        assert name in created, f"make-secrets.sh does not create {name}"
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    from services.records.domain.treehead import load_private_key
    load_private_key((out / "records_signing_key").read_text())          # a usable Ed25519 seed
    assert re.fullmatch(r"[0-9a-f]{48}", (out / "amqp_password").read_text().strip())  # URL-safe
    before = (out / "token_secret").read_text()
    subprocess.run(["sh", str(COMPOSE_DIR / "make-secrets.sh"), str(out)], check=True, capture_output=True)
    assert (out / "token_secret").read_text() == before, "re-running must keep existing secrets"


def test_interpolated_variables_are_in_env_example_or_have_defaults():
    text = COMPOSE.read_text(encoding="utf-8")
    example = {line.split("=", 1)[0] for line in (COMPOSE_DIR / ".env.example").read_text().splitlines()
               if "=" in line and not line.startswith("#")}
    province = {line.split("=", 1)[0] for line in (COMPOSE_DIR / "province.env.example").read_text().splitlines()
                if "=" in line and not line.startswith("#")}
    for name, default in re.findall(r"\$\{([A-Z0-9_]+)(:-[^}]*)?\}", text):
        assert default or name in example, f"${{{name}}} has no default and is not in .env.example"
    assert {"ZHIFA_VHOST", "ZHIFA_BROKER_DEFINITIONS", "ZHIFA_SUITE_REGION", "ZHIFA_TIER"} <= example & province
    assert not any(SECRET_NAME.search(k) and not k.endswith("_DIR") for k in example | province), \
        "no secrets in env examples"


def test_healthchecks_probe_healthz_or_the_metrics_port(compose):
    for svc in SERVICES:
        test = " ".join(compose["services"][svc]["healthcheck"]["test"])
        if svc == "gateway":
            assert "127.0.0.1:8000/healthz" in test
        else:
            assert f"127.0.0.1:{registry.entry(svc).metrics_port}/metrics" in test


def test_infrastructure_mounts_and_plugins(compose):
    services = compose["services"]
    mounts = " ".join(services["rabbitmq"]["volumes"])
    assert "rabbitmq.conf" in mounts and "enabled_plugins" in mounts and "/etc/rabbitmq/definitions.d" in mounts
    conf = (COMPOSE_DIR / "rabbitmq" / "rabbitmq.conf").read_text()
    assert re.search(r"^prometheus\.return_per_object_metrics\s*=\s*true$", conf, re.MULTILINE)
    assert re.search(r"^load_definitions\s*=\s*/etc/rabbitmq/definitions\.d$", conf, re.MULTILINE)
    plugins = (COMPOSE_DIR / "rabbitmq" / "enabled_plugins").read_text()
    for plugin in ("rabbitmq_management", "rabbitmq_prometheus", "rabbitmq_shovel", "rabbitmq_federation"):
        assert re.search(rf"\b{plugin}\b", plugins), plugin
    assert services["rabbitmq"]["image"].startswith("rabbitmq:") and "management" in services["rabbitmq"]["image"]
    render = services["broker-definitions"]["command"]
    assert render[1] == "/broker/render.py" and "/definitions.d/zhifa.json" in render
    assert any("init-databases.sh:/docker-entrypoint-initdb.d/" in v for v in services["postgres"]["volumes"])
    prom = " ".join(services["prometheus"]["volumes"])
    assert "../prometheus/prometheus.yml:/etc/prometheus/prometheus.yml" in prom
    assert "../prometheus/alerts.yml:/etc/prometheus/alerts.yml" in prom
    graf = " ".join(services["grafana"]["volumes"])
    assert "../grafana/provisioning:/etc/grafana/provisioning" in graf
    assert "../grafana/dashboards:/var/lib/grafana/dashboards" in graf
    for volume in services["grafana"]["volumes"] + services["prometheus"]["volumes"] + services["rabbitmq"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("."):
            assert (COMPOSE_DIR / source).exists(), f"mounted path {source} does not exist"


def test_dockerfile_builds_the_repo_on_python_311_slim():
    text = (COMPOSE_DIR / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.MULTILINE)
    for src in re.findall(r"^COPY (\S+) ", text, re.MULTILINE):
        assert (ROOT / src).exists(), f"Dockerfile copies missing {src}"
    assert "pip install -e ." in text
    assert 'ENTRYPOINT ["/usr/local/bin/zhifa-entrypoint"]' in text
    assert os.access(COMPOSE_DIR / "entrypoint.sh", os.X_OK)
    assert re.search(r"^USER 10001$", text, re.MULTILINE)


def test_container_config_resolves_like_a_deployment(monkeypatch):
    monkeypatch.setenv("AMQP_URI", "amqp://zhifa-320400:pw@rabbitmq:5672/zhifa-320400")
    monkeypatch.setenv("ZHIFA_RECORDS_DB", "postgresql://zhifa_records:pw@postgres:5432/zhifa_records")
    for key in ("ZHIFA_REVIEW_DB", "ZHIFA_METRICS_ADDR", "ZHIFA_HTTP_ADDRESS", "ZHIFA_API_KEYS_FILE"):
        monkeypatch.delenv(key, raising=False)
    with open(COMPOSE_DIR / "config.yaml") as handle:
        config = load_config(handle)
    assert config["AMQP_URI"].endswith("/zhifa-320400")
    assert config["ZHIFA_DATABASES"]["records"].startswith("postgresql://")
    assert config["ZHIFA_DATABASES"]["review"] is None          # not this process's database
    assert config["ZHIFA_METRICS_PORTS"] == {e.name: e.metrics_port for e in registry.entries()}
    assert config["ZHIFA_METRICS_ADDR"] == "0.0.0.0"
    assert config["WEB_SERVER_ADDRESS"] == "0.0.0.0:8000"
    assert config["LOGGING"]["root"]["level"] == "INFO"
    assert (K8S / "base" / "config" / "config.yaml").read_text() == (COMPOSE_DIR / "config.yaml").read_text(), \
        "deploy/k8s/base/config/config.yaml must be a copy of deploy/compose/config.yaml"


# -- the entrypoint (POSIX sh) ----------------------------------------------------------------------

def run_entrypoint(tmp_path, env: dict, *command: str):
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    return subprocess.run(["sh", str(COMPOSE_DIR / "entrypoint.sh"), *(command or ("env",))],
                          env={**base, **env}, capture_output=True, text=True, check=False)


def parse_env(output: str) -> dict:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def test_entrypoint_builds_urls_from_secret_files(tmp_path):
    (tmp_path / "amqp").write_text("a1b2c3\n")
    (tmp_path / "db").write_text("d4e5f6\n")
    (tmp_path / "key").write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    result = run_entrypoint(tmp_path, {
        "ZHIFA_AMQP_USER": "zhifa-320400", "ZHIFA_AMQP_PASSWORD__FILE": str(tmp_path / "amqp"),
        "ZHIFA_AMQP_VHOST": "zhifa-320400", "ZHIFA_RECORDS_DB_PASSWORD__FILE": str(tmp_path / "db"),
        "ZHIFA_DB_HOST": "pg", "ZHIFA_RECORDS_SIGNING_KEY__FILE": str(tmp_path / "key"),
        "ZHIFA_REQUIRE": "AMQP_URI ZHIFA_RECORDS_DB ZHIFA_RECORDS_SIGNING_KEY"},
        "python3", "-c", "import os, json; print(json.dumps(dict(os.environ)))")
    assert result.returncode == 0, result.stderr
    import json
    env = json.loads(result.stdout)
    assert env["AMQP_URI"] == "amqp://zhifa-320400:a1b2c3@rabbitmq:5672/zhifa-320400"
    assert env["ZHIFA_RECORDS_DB"] == "postgresql://zhifa_records:d4e5f6@pg:5432/zhifa_records"
    assert env["ZHIFA_RECORDS_SIGNING_KEY"].count("\n") == 2          # multi-line PEM kept intact
    assert "ZHIFA_AMQP_PASSWORD__FILE" not in env
    assert "ZHIFA_REVIEW_DB" not in env


def test_entrypoint_builds_multi_host_urls_from_db_hosts(tmp_path):
    """issue 20, PLAT-1: ZHIFA_DB_HOSTS (a replicated cluster without a read-write address) gives every
    service a multi-host URL that connects to whichever host takes writes; SQLAlchemy passes the
    hosts to psycopg as one libpq host/port list."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    result = run_entrypoint(tmp_path, {"ZHIFA_RECORDS_DB_PASSWORD": "d4e5f6", "ZHIFA_DB_HOST": "ignored",
                                       "ZHIFA_DB_HOSTS": "pg-a:5433,pg-b", "ZHIFA_DB_PORT": "5432"})
    assert result.returncode == 0, result.stderr
    url = parse_env(result.stdout)["ZHIFA_RECORDS_DB"]
    assert url == ("postgresql://zhifa_records:d4e5f6@/zhifa_records?host=pg-a:5433&host=pg-b:5432"
                   "&target_session_attrs=read-write")
    _, kwargs = PGDialect_psycopg().create_connect_args(make_url(url.replace("postgresql:", "postgresql+psycopg:")))
    assert (kwargs["host"], kwargs["port"], kwargs["target_session_attrs"]) == ("pg-a,pg-b", "5433,5432",
                                                                              "read-write")


def test_entrypoint_keeps_explicit_values(tmp_path):
    (tmp_path / "s").write_text("from-file")
    result = run_entrypoint(tmp_path, {"ZHIFA_TOKEN_SECRET": "explicit", "ZHIFA_TOKEN_SECRET__FILE": str(tmp_path / "s"),
                                       "AMQP_URI": "amqp://u:p@h/v", "ZHIFA_AMQP_PASSWORD": "ignored",
                                       "ZHIFA_AMQP_USER": "x", "ZHIFA_AMQP_VHOST": "y"})
    env = parse_env(result.stdout)
    assert env["ZHIFA_TOKEN_SECRET"] == "explicit" and env["AMQP_URI"] == "amqp://u:p@h/v"


@pytest.mark.parametrize("env, message", [
    ({"ZHIFA_REQUIRE": "AMQP_URI ZHIFA_REVIEW_DB", "AMQP_URI": "amqp://u:p@h/v"}, "ZHIFA_REVIEW_DB"),
    ({"ZHIFA_REQUIRE": "ZHIFA_TOKEN_SECRET", "ZHIFA_TOKEN_SECRET": "CHANGE-ME"}, "ZHIFA_TOKEN_SECRET"),
    ({"ZHIFA_REQUIRE": "AMQP_URI", "ZHIFA_AMQP_PASSWORD": "p", "ZHIFA_AMQP_USER": "u",
      "ZHIFA_AMQP_VHOST": "CHANGE-ME-vhost"}, "AMQP_URI"),
    ({"ZHIFA_TOKEN_SECRET__FILE": "/nonexistent/secret"}, "not readable"),
])
def test_entrypoint_refuses_missing_or_placeholder_settings(tmp_path, env, message):
    result = run_entrypoint(tmp_path, env, "true")
    assert result.returncode == 64
    assert message in result.stderr


def test_postgres_init_script_creates_one_database_and_role_per_service():
    script = COMPOSE_DIR / "postgres" / "init-databases.sh"
    assert subprocess.run(["sh", "-n", str(script)], capture_output=True, check=False).returncode == 0
    text = script.read_text()
    assert "for svc in " + " ".join(DB_SERVICES) + "; do" in text
    assert 'CREATE ROLE :"name" LOGIN PASSWORD' in text and 'CREATE DATABASE :"name" OWNER :"name"' in text
    assert 'db_${svc}_password' in text
