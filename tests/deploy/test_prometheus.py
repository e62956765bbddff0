"""deploy/prometheus and deploy/grafana: scrape configs, alert rules and the dashboard.

`promtool check config|rules` runs when promtool is on PATH (Debian package `prometheus`); a Python
structural check always runs. Each test prints which checker it used. Every metric named in a rule or
a panel must exist: defined in services/**/*.py, or a RabbitMQ/Prometheus built-in, or listed in
support.EXPECTED_NOT_YET_DEFINED.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess

from services.common import registry
from tests.deploy.support import (
    BUILTIN_METRICS,
    COMPOSE_DIR,
    EXPECTED_NOT_YET_DEFINED,
    GRAFANA,
    PROMETHEUS,
    SERVICES,
    TARGET_LABELS,
    balanced,
    defined_metrics,
    grouping_labels,
    label_matchers,
    load_yaml,
    metric_labels,
    metric_names,
    runbook_anchors,
    selector_labels,
)

DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
SEVERITIES = {"critical", "warning", "info"}


def rules() -> list[dict]:
    return [rule for group in load_yaml(PROMETHEUS / "alerts.yml")["groups"] for rule in group["rules"]]


def dashboard() -> dict:
    return json.loads((GRAFANA / "dashboards" / "zhifa.json").read_text(encoding="utf-8"))


def dashboard_exprs() -> list[str]:
    return [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]


def promtool():
    return shutil.which("promtool")


def report(capsys, what: str):
    with capsys.disabled():
        print(f"\n[deploy] {what}: " + ("promtool " + promtool() if promtool() else
                                      "promtool not on PATH — Python structural check only"))


def test_compose_prometheus_scrapes_every_service_and_rabbitmq(capsys):
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for svc in SERVICES:
        (sd,) = jobs[f"zhifa-{svc}"]["dns_sd_configs"]
        assert sd["names"] == [svc] and sd["port"] == registry.entry(svc).metrics_port
    assert jobs["rabbitmq"]["static_configs"][0]["targets"] == ["rabbitmq:15692"]
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    k8s = load_yaml(PROMETHEUS / "prometheus-k8s.yml")
    assert k8s["rule_files"] == ["/etc/prometheus/alerts.yml"]
    relabel = k8s["scrape_configs"][0]["relabel_configs"]
    assert any(r.get("target_label") == "job" and r.get("replacement") == "zhifa-$1" for r in relabel), \
        "jobs must be zhifa-<service> on Kubernetes too, so the rules apply unchanged"
    assert any(str(t).endswith(":15692") for j in k8s["scrape_configs"] for c in j.get("static_configs", [])
               for t in c["targets"])
    report(capsys, "prometheus.yml")
    if promtool():
        for name in ("prometheus.yml", "prometheus-k8s.yml"):
            check_config_with_promtool(name)


def check_config_with_promtool(name: str):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shutil.copy(PROMETHEUS / "alerts.yml", tmp / "alerts.yml")
        text = (PROMETHEUS / name).read_text().replace("/etc/prometheus/alerts.yml", str(tmp / "alerts.yml"))
        (tmp / name).write_text(text)
        result = subprocess.run([promtool(), "check", "config", str(tmp / name)], capture_output=True, text=True, check=False)
        output = result.stdout + result.stderr
        if result.returncode != 0 and "kubernetes_sd_configs not found" in output:
            # Debian builds Prometheus without Kubernetes service discovery: check the rest of the file
            # with promtool by validating a copy whose kubernetes_sd_configs are swapped for static ones
            import yaml

            config = yaml.safe_load((tmp / name).read_text())
            for job in config["scrape_configs"]:
                if job.pop("kubernetes_sd_configs", None) is not None:
                    job.pop("relabel_configs", None)
                    job["static_configs"] = [{"targets": ["placeholder:9100"]}]
            (tmp / name).write_text(yaml.safe_dump(config))
            print(f"\n[deploy] {name}: this promtool lacks kubernetes_sd; checked with static targets instead")
            result = subprocess.run([promtool(), "check", "config", str(tmp / name)], capture_output=True,
                                    text=True, check=False)
            output = result.stdout + result.stderr
        assert result.returncode == 0, output


def test_alert_rules_are_complete_and_link_the_runbook(capsys):
    all_rules = rules()
    names = [r["alert"] for r in all_rules]
    assert len(names) == len(set(names)), "alert names must be unique"
    for required in ("ZhifaServiceDown", "ZhifaDeadLetters", "ZhifaConsumerLag", "ZhifaOutboxBacklog",
                     "ZhifaPublicationsOverdue", "ZhifaComplaintsAcknowledgementOverdue", "ZhifaReviewBypassed",
                     "ZhifaRecordsTreeHeadStale", "ZhifaRecordsSelfCheckFailed", "ZhifaTierLinkCut",
                     "ZhifaRecordsWitnessFork", "ZhifaRecordsProvinceForkAlarm"):
        assert required in names
    anchors = runbook_anchors()
    for rule in all_rules:
        name = rule["alert"]
        assert rule["expr"].strip() and balanced(rule["expr"]), f"{name}: unbalanced expression"
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule["labels"]["audience"] in ("operations", "supervision"), name
        if "for" in rule:
            assert DURATION.match(rule["for"]), f"{name}: bad for: {rule['for']}"
        summary = rule["annotations"]["summary"]
        assert re.search(r"[\u4e00-\u9fff]", summary) and re.search(r"[A-Za-z]{3}", summary), \
            f"{name}: summary must be Chinese and English"
        assert rule["annotations"]["description"]
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/RUNBOOK.md#{name.lower()}", f"{name}: runbook_url {url}"
        assert name.lower() in anchors, f"docs/RUNBOOK.md has no heading for {name}"
        for label, op, value in label_matchers(rule["expr"]):
            if op in ("=~", "!~"):
                re.compile(value)
    report(capsys, "alerts.yml")
    if promtool():
        result = subprocess.run([promtool(), "check", "rules", str(PROMETHEUS / "alerts.yml")],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_dead_letter_and_lag_rules_select_the_real_queue_names():
    from services.common.bus import (
        all_service_classes,
        dead_letter_queue,
        handler_bindings,
    )

    handler = [b.queue_name for cls in all_service_classes() for b in handler_bindings(cls)]
    by_name = {r["alert"]: r for r in rules()}

    def queue_regexes(name):
        return [(op, v) for label, op, v in label_matchers(by_name[name]["expr"]) if label == "queue"]

    def selects(name, queue):
        return all(bool(re.fullmatch(v, queue)) == (op == "=~") for op, v in queue_regexes(name))

    assert selects("ZhifaDeadLetters", dead_letter_queue("records").name)
    assert not selects("ZhifaDeadLetters", handler[0])
    for queue in handler:
        assert selects("ZhifaConsumerLag", queue) and selects("ZhifaHandlerQueueWithoutConsumer", queue)
        assert not selects("ZhifaConsumerLag", queue + ".retry")
    assert not selects("ZhifaConsumerLag", dead_letter_queue("records").name)


def test_tier_link_and_witness_alerts_need_no_broker_plugin_and_fire_on_a_60_second_cut(capsys):
    """Issue 23 (6): the link alert reads zhifa's own metrics (the rabbitmq_prometheus plugin is not in
    every deployment), and `promtool test rules deploy/prometheus/tests/*.yml` shows it firing within a
    60-second cut and on a flapping link, and the fork alarm at the next head."""
    import os

    by_name = {r["alert"]: r for r in rules()}
    for name in ("ZhifaTierLinkCut", "ZhifaFederationBacklog", "ZhifaRecordsWitnessFork", "ZhifaRecordsWitnessLag",
                 "ZhifaRecordsProvinceForkAlarm"):
        assert all(m.startswith("zhifa_") for m in metric_names(by_name[name]["expr"])), name
    for config in ("prometheus.yml", "prometheus-k8s.yml"):   # a 60 s cut must be seen while it lasts
        assert load_yaml(PROMETHEUS / config)["global"]["evaluation_interval"] == "15s"
    report(capsys, "alert unit tests")
    if not promtool():
        if os.environ.get("CI"):
            raise AssertionError("promtool is not installed (.ci/run installs it)")
        return
    tests = sorted(str(p) for p in (PROMETHEUS / "tests").glob("*.yml"))
    assert tests
    result = subprocess.run([promtool(), "test", "rules", *tests], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def used_metrics() -> dict[str, set[str]]:
    """metric → expressions using it, over the rules and the dashboard."""
    used: dict[str, set[str]] = {}
    for expr in [r["expr"] for r in rules()] + dashboard_exprs():
        for name in metric_names(expr):
            used.setdefault(name, set()).add(expr)
    return used


def test_every_metric_in_rules_and_dashboard_exists(capsys):
    defined = defined_metrics()
    used = used_metrics()
    unknown, pending = [], []
    for name in sorted(used):
        if name in BUILTIN_METRICS:
            continue
        assert name.startswith("zhifa_"), f"{name}: not a zhifa metric nor a known RabbitMQ/Prometheus built-in"
        if name in defined:
            continue
        (pending if name in EXPECTED_NOT_YET_DEFINED else unknown).append(name)
    assert not unknown, f"metrics used but defined nowhere in services/: {unknown}"
    stale = sorted(n for n in EXPECTED_NOT_YET_DEFINED if n in defined)
    assert not stale, f"now defined in the code — remove from EXPECTED_NOT_YET_DEFINED: {stale}"
    with capsys.disabled():
        print(f"\n[deploy] metrics: {len(used)} used, {len(pending)} expected but not yet defined: {pending}")


def test_labels_used_on_zhifa_metrics_exist():
    labels = metric_labels()
    for expr in [r["expr"] for r in rules()] + dashboard_exprs():
        names = metric_names(expr)
        available = set(TARGET_LABELS)
        for name in names:
            available |= labels.get(name, set()) | BUILTIN_METRICS.get(name, set())
        if any(n.startswith("zhifa_") and n not in labels for n in names):
            continue  # metric module not importable right now: names are still checked above
        for metric, used in selector_labels(expr):
            own = labels.get(metric, BUILTIN_METRICS.get(metric, set())) | TARGET_LABELS
            assert used <= own, f"{expr}: {metric} has no label(s) {used - own}"
        assert grouping_labels(expr) <= available, f"{expr}: grouping by unknown labels {grouping_labels(expr) - available}"


def test_grafana_dashboard_and_provisioning():
    dash = dashboard()
    assert dash["uid"] == "zhifa-overview" and dash["panels"]
    datasource = load_yaml(GRAFANA / "provisioning" / "datasources" / "zhifa.yml")["datasources"][0]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    cells = set()
    for panel in dash["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"panel {panel['title']!r} overlaps another"
                cells.add((x, y))
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == datasource["uid"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == datasource["uid"] and balanced(target["expr"])
    for variable in dash["templating"]["list"]:
        assert variable["datasource"]["uid"] == datasource["uid"]
    titles = " ".join(p["title"] for p in dash["panels"]).lower()
    for topic in ("consumed", "rejected", "duplicate", "latency p95", "outbox", "dead-letter", "publications overdue",
                  "complaints overdue", "review bypasses", "tree size", "head age", "http requests by status"):
        assert topic in titles, f"dashboard lacks a panel on {topic}"
    exprs = " ".join(dashboard_exprs())
    assert "histogram_quantile(0.95" in exprs and "zhifa_handler_seconds_bucket" in exprs
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "zhifa.yml")["providers"][0]
    compose = load_yaml(COMPOSE_DIR / "docker-compose.yml")
    mounts = compose["services"]["grafana"]["volumes"]
    assert any(v.endswith(":" + provider["options"]["path"] + ":ro") for v in mounts)
