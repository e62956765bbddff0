"""`make alert-soak` (issue 20): `make run` with its demo traffic, watched for N minutes by a real Prometheus
evaluating the alert rules exactly as shipped (deploy/prometheus/alerts.yml); exit status 1 if any
operations alert (``audience: operations`` — the suite's own health: services, queues, retries, outbox, links,
the records log) fired or is still pending at the end, or if a target could not be scraped (a rule that
cannot be evaluated must not pass as quiet — fail closed).

Supervision alerts (``audience: supervision``) report departments' lapses — a bypassed legal review, a late
publication — and the demo sends such lapses on purpose (deploy/local/demo.py marks cases missing / late /
bypassed) so that supervisors have something to see; they are listed, and the demo's lapses are what should
explain them, but they do not fail the soak.

    python tools/alert_soak.py [--minutes 10] [--prometheus-port 9490]

ZHIFA_ALERT_SOAK_MINUTES (default 10) is read when --minutes is not given. Needs Prometheus's server binary
(Debian package `prometheus`; `.ci/run` installs it for promtool) and, for the broker's rules, RabbitMQ's
`rabbitmq_prometheus` plugin on port 15692 — enabled here with rabbitmq-plugins when the broker is this
machine's and the plugin is off. The per-queue series the broker rules read come from /metrics/per-object
(the same series `prometheus.return_per_object_metrics = true` gives in deploy/compose).

The suite runs from this checkout's var/ exactly as `make run` starts it; Prometheus keeps its data in
var/alert-soak/ (removed first, so every soak starts empty).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "deploy" / "local"))

from services.common import settings  # noqa: E402
from run import amqp_uri, gateway_url, metrics_ports  # noqa: E402  (deploy/local/run.py: the ports make run uses)

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
BROKER_METRICS = "127.0.0.1:15692"
POLL_SECONDS = 15.0
RUN_LOG = ROOT / "var" / "logs" / "alert-soak-make-run.log"


def log(text: str) -> None:
    print(f"alert-soak: {text}", flush=True)


def suite_vhost() -> str:
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(amqp_uri()).path[1:]) or "/"


def broker_metrics_answer() -> bool:
    try:
        return requests.get(f"http://{BROKER_METRICS}/metrics/per-object", timeout=5).ok
    except requests.RequestException:
        return False


def ensure_broker_metrics() -> None:
    """The broker rules (dead letters, consumer lag, queues without consumers) read the rabbitmq_prometheus
    plugin; without it they could not fire, so the soak would prove nothing about them."""
    if broker_metrics_answer():
        return
    plugins = shutil.which("rabbitmq-plugins") or "/usr/sbin/rabbitmq-plugins"
    if not os.path.exists(plugins):
        raise SystemExit(f"alert-soak: no broker metrics at {BROKER_METRICS} and no rabbitmq-plugins to enable "
                         "rabbitmq_prometheus; enable the plugin on the broker and run again")
    log("enabling RabbitMQ's rabbitmq_prometheus plugin (the broker rules read it)")
    subprocess.run([plugins, "enable", "rabbitmq_prometheus"], check=True, capture_output=True, text=True)
    deadline = time.time() + 60
    while not broker_metrics_answer():
        if time.time() > deadline:
            raise SystemExit(f"alert-soak: rabbitmq_prometheus enabled but {BROKER_METRICS} does not answer")
        time.sleep(1)


def prometheus_config(ports: dict[str, int], vhost: str | None = None) -> dict:
    """Scrape jobs named as in deploy/prometheus/prometheus.yml (zhifa-<service>, rabbitmq), on this machine.
    ``vhost``: the broker's per-queue series of that vhost only — the machine's broker also holds other
    suites' and test runs' vhosts, which are not the suite under watch."""
    jobs = [{"job_name": f"zhifa-{service}", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
            for service, port in ports.items() if port]
    # per-object output is ~1 MB with every vhost's queues (the plugin cannot filter it by vhost) and took
    # over 14 s on this 2-core machine under load: scraped every 30 s with 25 s to answer
    broker = {"job_name": "rabbitmq", "metrics_path": "/metrics/per-object", "scrape_interval": "30s",
              "scrape_timeout": "25s",
              "static_configs": [{"targets": [BROKER_METRICS]}]}
    if vhost is not None:
        broker["metric_relabel_configs"] = [{"source_labels": ["vhost"], "regex": f"|{re.escape(vhost)}",
                                             "action": "keep"}]
    jobs.append(broker)
    return {"global": {"scrape_interval": "15s", "evaluation_interval": "15s",
                       "external_labels": {"system": "zhifa"}},
            "rule_files": [str(ALERTS)], "scrape_configs": jobs}


def start_prometheus(folder: Path, port: int, ports: dict[str, int], vhost: str) -> subprocess.Popen:
    binary = shutil.which("prometheus")
    if not binary:
        raise SystemExit("alert-soak: Prometheus is not installed (Debian package `prometheus`)")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(ports, vhost), sort_keys=False), encoding="utf-8")
    check = subprocess.run([shutil.which("promtool") or "promtool", "check", "config", str(config)],
                           capture_output=True, text=True)
    if check.returncode:
        raise SystemExit(f"alert-soak: promtool rejects the soak config:\n{check.stdout}{check.stderr}")
    return subprocess.Popen([binary, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                            stdout=open(folder / "prometheus.log", "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def start_suite() -> subprocess.Popen:
    """`make run` itself: installs what is missing, bus-init, migrations, six services and demo traffic."""
    RUN_LOG.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(["make", "run"], cwd=ROOT, stdout=open(RUN_LOG, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_for_suite(run: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.time() + timeout
    while "zhifa is running" not in RUN_LOG.read_text(encoding="utf-8", errors="replace"):
        if run.poll() is not None:
            raise SystemExit(f"alert-soak: make run exited ({run.returncode}); see {RUN_LOG}")
        if time.time() > deadline:
            raise SystemExit("alert-soak: make run did not start in time")
        time.sleep(2)


def api(port: int, path: str, **params) -> dict:
    answer = requests.get(f"http://127.0.0.1:{port}/api/v1/{path}", params=params, timeout=10)
    answer.raise_for_status()
    return answer.json()["data"]


def is_operations(alert: dict) -> bool:
    return alert["labels"].get("audience") != "supervision"     # unlabelled counts as operations (fail closed)


def alert_key(alert: dict) -> str:
    labels = {k: v for k, v in alert["labels"].items() if k not in ("alertname", "severity", "system")}
    return alert["labels"]["alertname"] + (" " + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
                                           if labels else "")


def soak(minutes: float, port: int) -> int:
    folder = ROOT / "var" / "alert-soak"
    ensure_broker_metrics()
    ports = metrics_ports()
    log(f"Prometheus on 127.0.0.1:{port} with {ALERTS.relative_to(ROOT)}; scraping {ports} and the broker")
    run = start_suite()
    prometheus = None
    try:
        wait_for_suite(run)
        log(f"make run is up ({gateway_url()}); watching for {minutes:g} minutes")
        prometheus = start_prometheus(folder, port, ports, suite_vhost())
        fired: dict[str, dict] = {}
        supervision: dict[str, str] = {}
        pending_seen: dict[str, str] = {}
        down: dict[str, list] = {}
        started = time.time()
        end = started + minutes * 60
        time.sleep(POLL_SECONDS * 2)             # two scrapes and evaluations before the first look
        while True:
            for target in api(port, "targets")["activeTargets"]:
                if target["health"] == "down":
                    down.setdefault(target["labels"]["job"], []).append(target.get("lastError", ""))
            pending_now = []
            for alert in api(port, "alerts")["alerts"]:
                key = alert_key(alert)
                if not is_operations(alert):
                    supervision.setdefault(key, f"{alert['state']} since {alert.get('activeAt')}")
                elif alert["state"] == "firing":
                    fired.setdefault(key, {"since": alert.get("activeAt"), "value": alert.get("value")})
                else:
                    pending_now.append(key)
                    pending_seen.setdefault(key, alert.get("activeAt"))
            if run.poll() is not None:
                log(f"make run exited during the soak ({run.returncode})")
                return 1
            if time.time() >= end:
                break
            time.sleep(POLL_SECONDS)
        samples = api(port, "query", query="count({__name__=~\"zhifa_.+\"})")["result"]
        scraped = int(float(samples[0]["value"][1])) if samples else 0
        events = api(port, "query", query="sum(zhifa_events_consumed_total)")["result"]
        consumed = int(float(events[0]["value"][1])) if events else 0
        rules = sum(len(g["rules"]) for g in api(port, "rules")["groups"])
        print(f"\nalert-soak: {minutes:g} min of make run demo traffic; {rules} alert rules evaluated; "
              f"{scraped} zhifa series; {consumed} events consumed")
        for key, first in sorted(pending_seen.items()):
            print(f"  pending at some point: {key} (since {first})")
        for key in sorted(fired):
            print(f"  FIRED: {key} (since {fired[key]['since']}, value {fired[key]['value']})")
        for key, state in sorted(supervision.items()):
            print(f"  supervision (departments' lapses the demo sends on purpose): {key} ({state})")
        for job, errors in sorted(down.items()):
            print(f"  TARGET DOWN: {job} ({len(errors)} looks; last error: {errors[-1] or '-'})")
        still_pending = sorted(set(pending_now))
        for key in still_pending:
            print(f"  STILL PENDING at the end: {key}")
        print(f"alert-soak: operations alerts fired {len(fired)}, pending at the end {len(still_pending)}, "
              f"targets down {len(down)}; supervision alerts {len(supervision)}")
        if not consumed:
            print("alert-soak: no event was consumed — the demo traffic did not reach the services")
            return 1
        return 1 if fired or still_pending or down else 0
    finally:
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(timeout=30)
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=settings.get("ZHIFA_ALERT_SOAK_MINUTES"))
    parser.add_argument("--prometheus-port", type=int, default=9490)
    args = parser.parse_args()
    return soak(args.minutes, args.prometheus_port)


if __name__ == "__main__":
    sys.exit(main())
