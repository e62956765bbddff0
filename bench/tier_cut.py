"""A measured 60-second cut of a province–city link (issue 23): does the alert fire, and how long does
the province take to catch up after the link heals?

    .venv/bin/python bench/tier_cut.py [--cut 60] [--rate 2]

A province and the Changzhou city suite run as processes (tests/integration/tiers_support.py), linked
by shovels as the link's own broker user, the city end behind a TCP proxy. The city sends
``--rate`` publications per second upward the whole time; the link heartbeat runs at its production
default (5 s). Every second the province's and the city's /metrics are scraped. The link is cut for
``--cut`` seconds, then healed.

A real Prometheus (the ``prometheus`` binary) runs beside them with the shipped
deploy/prometheus/alerts.yml and the shipped scrape and evaluation intervals
(deploy/prometheus/prometheus.yml, 15 s each), scraping the province's and the city's services; its
/api/v1/alerts is polled every second, so the time ZhifaTierLinkCut fired (upward at the province,
downward at the city) and the time it was resolved after the heal are what an operator would see.

Then the measured samples of ``zhifa_link_last_received_timestamp_seconds`` (and the heartbeat delay)
are also written as a promtool unit test of deploy/prometheus/alerts.yml — evaluated at the production
evaluation interval (15 s) — and `promtool test rules` checks that ZhifaTierLinkCut is firing during
the cut (at the first evaluation it can, and reported) and not 30 s after the link healed.

Prints BENCH lines: when the alert fired after the cut began (real Prometheus, per direction; and the
earliest evaluation promtool finds on 1-second samples), when it was resolved after the heal, the
catch-up time (heal → every event sent during the cut counted at the province) and the events
buffered at the peak. Exit status 1 when the alert did not fire during the cut or stayed on.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import eventlet  # noqa: E402,F401  - the helpers import nameko modules (no monkey patching needed here)

import requests  # noqa: E402
import yaml  # noqa: E402

from services.common.events import make_envelope  # noqa: E402
from tests.fixtures import LinkUsers, free_port  # noqa: E402
from tests.integration.tiers_support import Link, SuiteProcesses, metric_value, signing_key  # noqa: E402

CITY = "320400"
BODY = "320412-CUT"
EVAL_INTERVAL = 15


def humanize_duration(v: float) -> str:
    """Prometheus's humanizeDuration (template function) for non-negative values."""
    if v == 0:
        return "0s"
    if v >= 1:
        seconds = int(v)
        days, hours, minutes, secs = seconds // 86400, seconds // 3600 % 24, seconds // 60 % 60, seconds % 60
        if days:
            return f"{days}d {hours}h {minutes}m {secs}s"
        if hours:
            return f"{hours}h {minutes}m {secs}s"
        if minutes:
            return f"{minutes}m {secs}s"
        return f"{v:.4g}s"
    return f"{v * 1000:.4g}ms"


def promtool_case(samples, t0, eval_time, firing, rules: Path) -> str:
    """A promtool test of the measured series at one evaluation time."""
    lines = [f"rule_files: [{rules}]", f"evaluation_interval: {EVAL_INTERVAL}s", "tests:", "  - interval: 1s",
             "    input_series:"]
    received = " ".join(str(int(round(s["received"] - t0))) for s in samples)
    lines += [f"      - series: 'zhifa_link_last_received_timestamp_seconds{{direction=\"upward\",city=\"{CITY}\"}}'",
              f"        values: '{received}'"]
    delays = " ".join(f"{s['delay']:.3f}" for s in samples)
    lines += [f"      - series: 'zhifa_link_delay_seconds{{direction=\"upward\",city=\"{CITY}\"}}'",
              f"        values: '{delays}'"]
    lines += ["    alert_rule_test:", f"      - eval_time: {eval_time}s", "        alertname: ZhifaTierLinkCut"]
    if not firing:
        lines.append("        exp_alerts: []")
    else:
        index = min(int(eval_time), len(samples) - 1)
        age = eval_time - int(round(samples[index]["received"] - t0))
        delay = samples[index]["delay"]
        value = age if age > 25 else delay
        lines += ["        exp_alerts:",
                  f"          - exp_labels: {{direction: upward, city: \"{CITY}\", severity: critical, "
                  "audience: operations}",
                  "            exp_annotations:",
                  f"              summary: \"省市级联中断 / Tier link upward of city {CITY}: nothing received for "
                  f"{humanize_duration(value)}\"",
                  "              description: \"No event (not even the 5-second heartbeat) has arrived over this "
                  "province-city link for more than 25 seconds, or heartbeats take that long: the link is cut or "
                  "flapping. Events wait in the sending suite's buffer (zhifa_link_buffered_messages) and arrive "
                  "when it heals.\"",
                  "              runbook_url: \"docs/RUNBOOK.md#zhifatierlinkcut\""]
    return "\n".join(lines) + "\n"


class Prometheus:
    """A real Prometheus with the shipped alert rules and intervals, scraping the given metrics ports
    (job zhifa-evaluation, as deployed); ``alerts()`` polls its active alerts."""

    def __init__(self, workdir: Path, targets: list[str]):
        shipped = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
        self.intervals = {k: shipped["global"][k] for k in ("scrape_interval", "evaluation_interval")}
        config = {"global": self.intervals,
                  "rule_files": [str(ROOT / "deploy" / "prometheus" / "alerts.yml")],
                  "scrape_configs": [{"job_name": "zhifa-evaluation", "static_configs": [{"targets": targets}]}]}
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = open(workdir / "prometheus.log", "w")
        self.proc = subprocess.Popen([shutil.which("prometheus"), f"--config.file={workdir / 'prometheus.yml'}",
                                      f"--storage.tsdb.path={workdir / 'data'}",
                                      f"--web.listen-address={self.url.removeprefix('http://')}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(self.url + "/-/ready", timeout=1).ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"prometheus did not start (log: {workdir / 'prometheus.log'})")

    def alerts(self, name: str) -> list[dict]:
        answer = requests.get(self.url + "/api/v1/alerts", timeout=5).json()
        return [a for a in answer["data"]["alerts"] if a["labels"].get("alertname") == name]

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def promtool_passes(text: str, workdir: Path) -> bool:
    path = workdir / "case.yml"
    path.write_text(text, encoding="utf-8")
    result = subprocess.run([shutil.which("promtool") or "promtool", "test", "rules", str(path)],
                            capture_output=True, text=True)
    return result.returncode == 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cut", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=2.0, help="upward publications per second at the city")
    parser.add_argument("--warmup", type=float, default=30.0)
    args = parser.parse_args(argv)
    if not shutil.which("promtool") or not shutil.which("prometheus"):
        print("promtool and prometheus are needed (apt-get install prometheus)", file=sys.stderr)
        return 2
    if shutil.which("rabbitmq-plugins"):      # the links are shovels (as tests/integration/test_tiers.py)
        subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_shovel"], check=True, capture_output=True, timeout=120)
    tmp = Path(tempfile.mkdtemp(prefix="zhifa-tier-cut-"))
    key = signing_key(tmp / "key-320400.pem")
    common = {"ZHIFA_LINK_HEARTBEAT_SECONDS": 5, "ZHIFA_RECORDS_WITNESS_CHECK": "off"}
    province = SuiteProcesses("province", tmp, "320000", "province",
                              {**common, "ZHIFA_CITIES": CITY, "ZHIFA_RECORDS_WITNESS_KEYS": {f"records.{CITY}": key}},
                              {"main": ["evaluation", "gateway"]})
    city = SuiteProcesses("changzhou", tmp, CITY, "city", {**common, "ZHIFA_RECORDS_SIGNING_KEY_FILE":
                                                           str(tmp / "key-320400.pem")}, {"main": ["evaluation"]})
    users = LinkUsers([CITY], [province.vhost, city.vhost])
    for suite in (province, city):
        suite.settings["ZHIFA_LINK_USER_TEMPLATE"] = users.template
    link = prom = None
    stop = threading.Event()
    samples: list[dict] = []
    alert_log: list[tuple[float, str, str]] = []          # (time, direction, state) of ZhifaTierLinkCut
    sent = [0]
    try:
        province.prepare([CITY])
        city.prepare()
        province.start_all()
        city.start_all()
        link = Link(users, province, city)
        prom = Prometheus(tmp / "prometheus", [f"127.0.0.1:{province.group_metrics['main']}",
                                               f"127.0.0.1:{city.group_metrics['main']}"])

        def publish():
            today = dt.date.today()
            while not stop.is_set():
                i = sent[0]
                city.publish(make_envelope("disclosure.published", {
                    "publication_id": f"P-CUT-{i}", "decision_no": f"武市监罚〔{today.year}〕C{i}号",
                    "action_type": "penalty", "due_on": today, "due_provisional": False, "published_on": today,
                    "on_time": True}, source_system="zhifa.disclosure", region_code="320412", body_id=BODY,
                    case_id=f"{BODY}-{today.year}-{i:06d}"), source="disclosure")
                sent[0] += 1
                time.sleep(1 / args.rate)

        def sample():
            while not stop.is_set():
                started = time.time()
                try:
                    text = province.metrics("main")
                    buffered = metric_value(city.metrics("main"), "zhifa_link_buffered_messages", direction="upward",
                                            city=CITY)
                    received = metric_value(text, "zhifa_link_last_received_timestamp_seconds", direction="upward",
                                            city=CITY)
                    if received is not None:
                        samples.append({"t": started, "received": received, "buffered": buffered or 0,
                                        "delay": metric_value(text, "zhifa_link_delay_seconds", direction="upward",
                                                              city=CITY) or 0.0})
                except Exception:  # noqa: BLE001 - a missed scrape is a gap, as in Prometheus
                    pass
                time.sleep(max(0.0, 1.0 - (time.time() - started)))

        def watch():
            while not stop.is_set():
                started = time.time()
                try:
                    for alert in prom.alerts("ZhifaTierLinkCut"):
                        if alert["labels"].get("city") == CITY:
                            alert_log.append((started, alert["labels"]["direction"], alert["state"]))
                except Exception:  # noqa: BLE001 - a missed poll
                    pass
                time.sleep(max(0.0, 1.0 - (time.time() - started)))

        threads = [threading.Thread(target=target, daemon=True) for target in (publish, sample, watch)]
        for thread in threads:
            thread.start()
        deadline = time.time() + 120
        while not samples and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(args.warmup)
        t0 = samples[0]["t"]
        link.cut()
        cut_at = time.time()
        time.sleep(args.cut)
        link.heal()
        healed = time.time()
        sent_by_heal = sent[0]

        def counted():
            bodies = province.get("/api/v1/evaluation/summary", province.token("supervisor"),
                                  params={"region_code": CITY}).json()["bodies"]
            return bodies.get(BODY, {}).get("disclosure_on_time", 0)

        while counted() < sent_by_heal and time.time() < healed + 300:
            time.sleep(0.2)
        caught_up = time.time() - healed
        # long enough for a scrape and an evaluation (15 s each) to see the link back
        time.sleep(max(35.0, 2.5 * _seconds(prom.intervals["scrape_interval"])
                       + 2.5 * _seconds(prom.intervals["evaluation_interval"]) - (time.time() - healed)))
        stop.set()
        for thread in threads:
            thread.join(5)
        peak = max(s["buffered"] for s in samples)
        # the measured samples, one per second from t0 (gaps filled with the previous scrape)
        series, last = [], samples[0]
        by_second = {int(s["t"] - t0): s for s in samples}
        for second in range(int(samples[-1]["t"] - t0) + 1):
            last = by_second.get(second, last)
            series.append(last)
        rules = ROOT / "deploy" / "prometheus" / "alerts.yml"
        work = tmp / "promtool"
        work.mkdir()
        cut_rel, heal_rel = cut_at - t0, healed - t0
        first_eval = math.ceil(cut_rel / EVAL_INTERVAL) * EVAL_INTERVAL
        fired_at = None
        for eval_time in range(first_eval, int(heal_rel) + 1, EVAL_INTERVAL):
            if promtool_passes(promtool_case(series, t0, eval_time, True, rules), work):
                fired_at = eval_time
                break
        before = (math.floor(cut_rel / EVAL_INTERVAL) - 1) * EVAL_INTERVAL
        after = math.ceil((heal_rel + 30) / EVAL_INTERVAL) * EVAL_INTERVAL
        quiet_before = promtool_passes(promtool_case(series, t0, max(0, before), False, rules), work)
        quiet_after = promtool_passes(promtool_case(series, t0, after, False, rules), work)
        (work / "measured-60s-cut.yml").write_text(promtool_case(series, t0, fired_at or first_eval, True, rules))
        print(f"cut {args.cut:.0f} s; {sent[0]} publications sent, {sent_by_heal} by the heal; peak buffered {peak:.0f}")
        prom_ok = True
        print(f"prometheus {prom.intervals}: ZhifaTierLinkCut city {CITY}")
        for direction in ("upward", "downward"):
            seen = [(t, state) for t, d, state in alert_log if d == direction]
            firing = [t for t, state in seen if state == "firing" and cut_at <= t <= healed + 1]
            pending = [t for t, state in seen if cut_at <= t <= healed + 1]
            before = [t for t, _ in seen if t < cut_at]
            still = [a for a in prom.alerts("ZhifaTierLinkCut")
                     if a["labels"].get("city") == CITY and a["labels"].get("direction") == direction]
            resolved = max((t for t, _ in seen), default=None)
            print(f"  {direction}: active before the cut {bool(before)}, pending at t_cut+"
                  f"{(pending[0] - cut_at) if pending else float('nan'):.1f} s, firing at t_cut+"
                  f"{(firing[0] - cut_at) if firing else float('nan'):.1f} s, last seen active at t_heal+"
                  f"{(resolved - healed) if resolved else float('nan'):.1f} s, still active at the end {bool(still)}")
            if firing:
                print(f"BENCH tier_cut_alert_fired_{direction}_s {firing[0] - cut_at:.1f} s")
            if resolved is not None and resolved > healed:
                print(f"BENCH tier_cut_alert_resolved_{direction}_after_heal_s {resolved - healed:.1f} s")
            prom_ok = prom_ok and bool(firing) and not before and not still
        print(f"promtool test rules on the measured series (evaluation every {EVAL_INTERVAL} s): "
              f"quiet before the cut {quiet_before}, firing at t_cut+{(fired_at - cut_rel) if fired_at else 'never'} s, "
              f"quiet 30 s after the heal {quiet_after}; test file {work / 'measured-60s-cut.yml'}")
        if fired_at is not None:
            print(f"BENCH tier_cut_alert_firing_promtool_1s_samples_s {fired_at - cut_rel:.1f} s")
        print(f"BENCH tier_cut_catch_up_s {caught_up:.2f} s")
        print(f"BENCH tier_cut_peak_buffered {peak:.0f} messages")
        return 0 if prom_ok and fired_at is not None and quiet_before and quiet_after and fired_at <= heal_rel else 1
    finally:
        stop.set()
        if prom is not None:
            prom.close()
        if link is not None:
            link.proxy.stop()
        for suite in (province, city):
            try:
                suite.close()
            except Exception:  # noqa: BLE001
                pass
        users.close()


def _seconds(duration: str) -> float:
    """A Prometheus duration of one unit (15s, 1m) in seconds."""
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h)", str(duration)).groups()
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


if __name__ == "__main__":
    sys.exit(main())
