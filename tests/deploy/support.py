"""Shared helpers of the deployment tests: paths, YAML loading, PromQL metric and label extraction,
the metric names the code defines, and GitHub-style heading anchors of docs/RUNBOOK.md."""
from __future__ import annotations

import importlib
import re
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
K8S = DEPLOY / "k8s"
BROKER = DEPLOY / "broker"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
RUNBOOK = ROOT / "docs" / "RUNBOOK.md"

SERVICES = ("records", "review", "disclosure", "complaints", "evaluation", "gateway")
DB_SERVICES = ("records", "review", "disclosure", "complaints", "evaluation")
SERVICE_CLASSES = {"records": "RecordsService", "review": "ReviewService", "disclosure": "DisclosureService",
                   "complaints": "ComplaintsService", "evaluation": "EvaluationService", "gateway": "GatewayService"}

# Metrics of RabbitMQ's rabbitmq_prometheus plugin (per-object mode) and Prometheus itself that the
# rules and the dashboard use, with their labels. Anything else outside zhifa_* is a typo.
BUILTIN_METRICS = {
    "up": {"job", "instance"},
    "rabbitmq_queue_messages_ready": {"vhost", "queue", "job", "instance"},
    "rabbitmq_queue_messages_unacked": {"vhost", "queue", "job", "instance"},
    "rabbitmq_queue_messages": {"vhost", "queue", "job", "instance"},
    "rabbitmq_queue_consumers": {"vhost", "queue", "job", "instance"},
}
# zhifa metrics the rules/dashboard use but no service defines yet: keep this explicit, and empty
# when the code has caught up (test_prometheus fails when a listed name becomes defined, so the list
# never silently outlives its reason).
EXPECTED_NOT_YET_DEFINED: set[str] = set()
TARGET_LABELS = {"job", "instance", "namespace", "pod"}


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_all(path: Path) -> list:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


# -- metric names the code defines ---------------------------------------------------------------

_DEFINITION = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*[\"'](zhifa_[a-z0-9_]+)[\"']")


@lru_cache(maxsize=1)
def defined_metrics() -> dict[str, str]:
    """Exposed sample names → kind, from Counter/Gauge/Histogram/Summary("zhifa_…") in services/**/*.py."""
    names: dict[str, str] = {}
    for path in (ROOT / "services").rglob("*.py"):
        for kind, name in _DEFINITION.findall(path.read_text(encoding="utf-8")):
            if kind == "Counter":
                base = name.removesuffix("_total")
                names[base + "_total"] = kind
            elif kind in ("Histogram", "Summary"):
                names[name] = kind
                for suffix in ("_count", "_sum") + (("_bucket",) if kind == "Histogram" else ()):
                    names[name + suffix] = kind
            else:
                names[name] = kind
    return names


@lru_cache(maxsize=1)
def metric_labels() -> dict[str, set[str]]:
    """Label names per exposed sample name, from prometheus_client's registry after importing every
    services/*/metrics.py (best effort: a module that fails to import is reported by other tests)."""
    from prometheus_client import REGISTRY

    for path in sorted((ROOT / "services").glob("*/metrics.py")):
        try:
            importlib.import_module(f"services.{path.parent.name}.metrics")
        except Exception:  # noqa: BLE001, S110 - another helper's module mid-edit; names are still grepped
            pass
    labels: dict[str, set[str]] = {}
    for name, collector in REGISTRY._names_to_collectors.items():
        if name.startswith("zhifa_"):
            extra = {"le"} if name.endswith("_bucket") else set()
            labels[name] = set(getattr(collector, "_labelnames", ())) | extra
    return labels


# -- PromQL ---------------------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_IDENT = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b")
_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
KEYWORDS = {"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
            "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
            "and", "or", "unless", "offset", "bool", "rate", "irate", "increase", "delta", "idelta",
            "deriv", "histogram_quantile", "time", "abs", "absent", "clamp_min", "clamp_max", "vector",
            "scalar", "label_replace", "predict_linear", "max_over_time", "min_over_time",
            "avg_over_time", "sum_over_time", "count_over_time", "changes", "resets", "humanizeDuration",
            "le", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names used by a PromQL expression (strings, grouping labels and matchers removed)."""
    text = _GROUPING.sub(" ", expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = _STRING.sub(" ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    names = set()
    for ident in _IDENT.findall(text):
        if ident in KEYWORDS or re.fullmatch(r"[0-9.e+-]+", ident):
            continue
        names.add(ident)
    return names


def label_matchers(expr: str) -> list[tuple[str, str, str]]:
    """(label, operator, value) of every matcher inside {…}; the value unquoted like PromQL does."""
    found = []
    for selector in re.findall(r"\{([^}]*)\}", expr):
        for label, op, quoted in _MATCHER.findall(selector):
            found.append((label, op, quoted[1:-1].encode().decode("unicode_escape")))
    return found


def grouping_labels(expr: str) -> set[str]:
    labels = set()
    for _, inner in _GROUPING.findall(expr):
        labels |= {part.strip() for part in inner.split(",") if part.strip()}
    return labels


def selector_labels(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, labels in its selector) for every metric{…} in the expression."""
    return [(m, {lbl for lbl, _, _ in _MATCHER.findall(body)})
            for m, body in re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}", expr)]


def balanced(expr: str) -> bool:
    text = _STRING.sub('""', expr)
    stack = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for ch in text:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack.pop() != pairs[ch]:
                return False
    return not stack


# -- Markdown anchors ------------------------------------------------------------------------------

def github_anchor(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@lru_cache(maxsize=1)
def runbook_anchors() -> set[str]:
    anchors = set()
    in_code = False
    for line in RUNBOOK.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            anchors.add(github_anchor(line.lstrip("#")))
    return anchors


@lru_cache(maxsize=None)
def takes_departmental_events(service: str) -> bool:
    """Whether the service consumes events departmental systems publish (and so must check senders)."""
    from services.common.bus import all_service_classes, handler_bindings
    from services.common.events import DEPARTMENTS

    (cls,) = [c for c in all_service_classes() if c.name == service]
    return any(b.source == DEPARTMENTS for b in handler_bindings(cls))
