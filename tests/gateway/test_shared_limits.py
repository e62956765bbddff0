"""Abuse limits shared by every gateway replica (SEC-5, issue 15): two gateway processes (``nameko
run``, as deployed) on one Redis enforce ONE limit together; a gateway without Redis refuses to start
unless the single-process fallback is configured explicitly."""
import subprocess
import sys
import uuid

import pytest
import requests
import yaml

from tests.fixtures import REDIS_URL, ROOT_DIR, forget_redis_keys, free_port, wait_for

pytestmark = pytest.mark.integration
NAMEKO = str(ROOT_DIR / ".venv" / "bin" / "nameko") if (ROOT_DIR / ".venv" / "bin" / "nameko").exists() else "nameko"


def start_gateway(tmp_path, amqp_uri, name, **settings):
    port = free_port()
    config = {"AMQP_URI": amqp_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "ZHIFA_METRICS_DISABLED": "1",
              "ZHIFA_TOKEN_SECRET": uuid.uuid4().hex, "ZHIFA_API_KEYS_FILE": str(tmp_path / "api_keys.yaml"),
              "LOGGING": {"version": 1, "disable_existing_loggers": False,
                          "handlers": {"console": {"class": "logging.StreamHandler"}},
                          "root": {"level": "INFO", "handlers": ["console"]}}, **settings}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    log = open(tmp_path / f"{name}.log", "w+")
    proc = subprocess.Popen([NAMEKO, "run", "--config", str(path), "services.gateway.service"], cwd=ROOT_DIR,
                            stdout=log, stderr=subprocess.STDOUT,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT_DIR), "ZHIFA_VAR_DIR": str(tmp_path)})
    return proc, f"http://127.0.0.1:{port}", tmp_path / f"{name}.log"


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def healthy(base):
    try:
        return requests.get(base + "/healthz", timeout=1).ok
    except requests.RequestException:
        return False


def test_sec5_two_gateway_processes_share_one_limit_through_redis(amqp_uri, tmp_path):
    """5 proofs an hour per address: alternating between two gateways, the sixth request is refused
    by either — each process alone would have allowed five (limits in process memory did)."""
    prefix = f"zhifa-test-{uuid.uuid4().hex[:10]}"
    shared = {"ZHIFA_REDIS_URL": REDIS_URL, "ZHIFA_REDIS_PREFIX": prefix, "ZHIFA_RATE_LIMITS": {"proof": "5/hour"}}
    (a, base_a, _), (b, base_b, _) = (start_gateway(tmp_path, amqp_uri, "a", **shared),
                                      start_gateway(tmp_path, amqp_uri, "b", **shared))
    try:
        wait_for(lambda: healthy(base_a) and healthy(base_b), timeout=60, message="two gateways")
        path = "/api/v1/public/records/inclusion?leaf_hash=not-a-hash"   # answered without any service
        answers = [requests.get((base_a, base_b)[i % 2] + path, timeout=10) for i in range(6)]
        assert [r.status_code for r in answers] == [422] * 5 + [429]
        refused = answers[-1]
        assert "请求过于频繁" in refused.json()["message"] and int(refused.headers["Retry-After"]) >= 1
        assert requests.get(base_a + path, timeout=10).status_code == 429
        # another limit (and other routes) are not affected
        assert requests.get(base_a + "/healthz", timeout=10).ok
    finally:
        stop(a)
        stop(b)
        forget_redis_keys(prefix)


def test_sec5_gateway_refuses_to_start_without_redis_unless_fallback_is_configured(amqp_uri, tmp_path):
    """Production: no Redis → no gateway (the limits would silently be per process). ``make run``
    sets ZHIFA_REDIS_FALLBACK: local and says so in its log."""
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    proc, base, log = start_gateway(tmp_path, amqp_uri, "strict", ZHIFA_REDIS_URL=nowhere)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stop(proc)
        pytest.fail("the gateway started without Redis")
    assert proc.returncode != 0 and "does not answer" in log.read_text()
    proc, base, log = start_gateway(tmp_path, amqp_uri, "demo", ZHIFA_REDIS_URL=nowhere, ZHIFA_REDIS_FALLBACK="local",
                                    ZHIFA_RATE_LIMITS={"proof": "2/hour"})
    try:
        wait_for(lambda: healthy(base), timeout=60, message="gateway with the local fallback")
        assert "NO REDIS" in log.read_text() and "IN THIS PROCESS" in log.read_text()
        path = "/api/v1/public/records/inclusion?leaf_hash=x"
        assert [requests.get(base + path, timeout=10).status_code for _ in range(3)] == [422, 422, 429]
    finally:
        stop(proc)

