"""RUNBOOK "Add a city" with the shipped scripts, for a city that is not in the repository (320500
苏州市) — issue 23 (6): the generator, make-secrets.sh, render.py, init-databases.sh and the
entrypoint, in the order the RUNBOOK gives them; two city suites may share one PostgreSQL server."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from tests.deploy.support import BROKER, COMPOSE_DIR, DB_SERVICES, ROOT

sys.path.insert(0, str(BROKER))
import render  # noqa: E402


def zhifa(*args):
    result = subprocess.run([sys.executable, "-m", "services.common.cli", *args], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_new_city_is_added_with_the_shipped_scripts(tmp_path):
    broker = tmp_path / "broker"
    shutil.copytree(BROKER, broker)
    # 1. definitions: the new city's file, the province's with the new city
    zhifa("broker-definitions", "--tier", "city", "--region", "320500", "--name", "苏州市",
          "--out", str(broker / "definitions-city-320500.json"))
    zhifa("broker-definitions", "--tier", "province", "--region", "320000", "--name", "江苏省",
          "--cities", "320400,320200,320500", "--out", str(broker / "definitions-province.json"))
    # 3. secrets: the city's, then its link password copied into the province's directory
    city, province = tmp_path / "secrets-320500", tmp_path / "secrets-320000"
    for directory, template in ((city, "definitions-city-320500.json"), (province, "definitions-province.json")):
        if directory == province:
            province.mkdir(mode=0o700)
            shutil.copy(city / "link_320500_password", province / "link_320500_password")
        subprocess.run(["sh", str(COMPOSE_DIR / "make-secrets.sh"), str(directory), str(broker / template)],
                       check=True, capture_output=True)
    assert (city / "link_320500_password").read_text() == (province / "link_320500_password").read_text()
    # render both, as the broker-definitions one-shot does
    rendered = {}
    for name, directory in (("definitions-city-320500.json", city), ("definitions-province.json", province)):
        out = tmp_path / f"rendered-{name}"
        env = {"PATH": os.environ["PATH"], "ZHIFA_PROVINCE_AMQP_HOST": "broker.province.example",
               "ZHIFA_CITY_320500_AMQP_HOST": "broker.suzhou.example"}
        result = subprocess.run([sys.executable, str(broker / "render.py"), str(broker / name), "--secrets-dir",
                                 str(directory), "--out", str(out)], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        rendered[name] = json.loads(out.read_text())
    password = (city / "link_320500_password").read_text().strip()
    for data in rendered.values():            # the same link user and password on both brokers
        (user,) = [u for u in data["users"] if u["name"] == "zhifa-link-320500"]
        assert render.check_password_hash(password, user["password_hash"])
    (up,) = rendered["definitions-city-320500.json"]["parameters"]
    assert up["value"]["dest-uri"] == f"amqp://zhifa-link-320500:{password}@broker.province.example:5672/zhifa-320000"
    down = {p["name"]: p["value"] for p in rendered["definitions-province.json"]["parameters"]}
    assert down["zhifa-downward-320500"]["dest-uri"].endswith("@broker.suzhou.example:5672/zhifa-320500")
    assert down["zhifa-downward-320500"]["dest-publish-properties"] == {"user_id": "zhifa-link-320500"}
    queues = {q["name"] for q in rendered["definitions-city-320500.json"]["queues"]}
    assert "zhifa.upward" in queues and any(q.startswith("evt-downward-") for q in queues)


@pytest.mark.integration
def test_two_city_suites_share_one_postgresql_server(tmp_path):
    """init-databases.sh and the entrypoint with ZHIFA_DB_PREFIX: a second city's roles and databases
    beside the first one's on the same server, each role owning only its own database."""
    import psycopg

    from tests.fixtures import PG_DSN

    dsn = PG_DSN
    tag = uuid.uuid4().hex[:6]
    prefixes = [f"zhifa_t{tag}_320400_", f"zhifa_t{tag}_320200_"]
    try:
        for prefix in prefixes:
            secrets = tmp_path / prefix
            secrets.mkdir()
            for svc in DB_SERVICES:
                (secrets / f"db_{svc}_password").write_text(uuid.uuid4().hex)
            env = {**os.environ, "ZHIFA_DB_SECRETS_DIR": str(secrets), "ZHIFA_DB_PREFIX": prefix,
                   "PGHOST": "127.0.0.1", "PGUSER": "postgres", "POSTGRES_USER": "postgres"}
            result = subprocess.run(["sh", str(COMPOSE_DIR / "postgres" / "init-databases.sh")], env=env,
                                    capture_output=True, text=True)
            assert result.returncode == 0, result.stderr
            built = subprocess.run(["sh", str(COMPOSE_DIR / "entrypoint.sh"), "env"], capture_output=True, text=True,
                                   env={"PATH": os.environ["PATH"], "ZHIFA_DB_PREFIX": prefix,
                                        "ZHIFA_DB_HOST": "127.0.0.1", "ZHIFA_EVALUATION_DB_PASSWORD__FILE":
                                        str(secrets / "db_evaluation_password")})
            url = dict(line.split("=", 1) for line in built.stdout.splitlines() if "=" in line)["ZHIFA_EVALUATION_DB"]
            assert url.endswith(f"/{prefix}evaluation") and f"//{prefix}evaluation:" in url
            with psycopg.connect(url.replace("postgresql://", "postgresql://"), connect_timeout=5) as conn:
                assert conn.execute("select current_database()").fetchone()[0] == f"{prefix}evaluation"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for prefix in prefixes:
                for svc in DB_SERVICES:
                    conn.execute(f'DROP DATABASE IF EXISTS "{prefix}{svc}" WITH (FORCE)')
                    conn.execute(f'DROP ROLE IF EXISTS "{prefix}{svc}"')
