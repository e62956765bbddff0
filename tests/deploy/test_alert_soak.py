"""tools/alert_soak.py (issue 20, PLAT-1 "ten minutes of make run demo traffic fires no alert"): the Prometheus
configuration it runs is valid for the shipped rules, scrapes every service's configured metrics port and
the broker's per-object series, and only supervision alerts (departments' lapses the demo sends on purpose)
are left out of the verdict — anything unlabelled counts as operations (fail closed)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.support import PROMETHEUS, load_yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import alert_soak  # noqa: E402


def test_soak_config_scrapes_each_service_and_the_broker_with_the_shipped_rules(tmp_path):
    ports = {"records": 9101, "review": 9102, "gateway": 9100, "evaluation": 0}
    config = alert_soak.prometheus_config(ports, "/")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"zhifa-records", "zhifa-review", "zhifa-gateway", "rabbitmq"}   # port 0: not served
    assert jobs["zhifa-review"]["static_configs"][0]["targets"] == ["127.0.0.1:9102"]
    assert jobs["rabbitmq"]["metrics_path"] == "/metrics/per-object"
    # only the watched suite's vhost (and series without one): other vhosts on the machine's broker are not it
    [keep] = jobs["rabbitmq"]["metric_relabel_configs"]
    assert keep["action"] == "keep" and keep["source_labels"] == ["vhost"] and keep["regex"] == "|/"
    assert config["rule_files"] == [str(PROMETHEUS / "alerts.yml")]
    # the job names are the shipped ones, so rules grouping by job read the same series
    shipped = {job["job_name"] for job in load_yaml(PROMETHEUS / "prometheus.yml")["scrape_configs"]}
    assert set(jobs) <= shipped
    promtool = shutil.which("promtool")
    if promtool:
        path = tmp_path / "prometheus.yml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        checked = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("labels, operations", [
    ({"alertname": "ZhifaReviewBypassed", "audience": "supervision"}, False),
    ({"alertname": "ZhifaOutboxBacklog", "audience": "operations"}, True),
    ({"alertname": "SomethingNew"}, True),
])
def test_only_supervision_alerts_are_left_out_of_the_verdict(labels, operations):
    assert alert_soak.is_operations({"labels": labels}) is operations


def test_every_shipped_rule_has_an_audience():
    rules = [r for g in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for r in g["rules"]]
    assert all(r["labels"].get("audience") in ("operations", "supervision") for r in rules), \
        [r["alert"] for r in rules if r["labels"].get("audience") not in ("operations", "supervision")]
