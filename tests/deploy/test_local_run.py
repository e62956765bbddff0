"""`make run` (deploy/local/run.py) for an operator's first run (issue 19): Ctrl-C reaches run.py only — every
child runs in its own session and gets one SIGTERM from run.py (SIGINT to the whole group plus SIGTERM made
nameko print "re-send() an already-triggered event" tracebacks); the gateway address (ZHIFA_HTTP_ADDRESS),
the broker (AMQP_URI) and the metrics ports (ZHIFA_METRICS_PORTS) come from the config the services run with;
the banner lists every page."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "deploy" / "local" / "run.py"


@pytest.fixture
def run(monkeypatch):
    monkeypatch.syspath_prepend(str(RUN.parent))
    sys.modules.pop("run", None)
    import run as module

    yield module
    sys.modules.pop("run", None)


def test_issue19_every_child_runs_in_its_own_session():
    """Ctrl-C's SIGINT goes to the foreground process group: the children are not in it (start_new_session)."""
    tree = ast.parse(RUN.read_text(encoding="utf-8"))
    popens = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Popen"]
    assert len(popens) >= 3
    for call in popens:
        assert any(k.arg == "start_new_session" and getattr(k.value, "value", None) is True for k in call.keywords), \
            ast.unparse(call)


def test_issue19_address_broker_and_metrics_ports_come_from_the_config(run, monkeypatch, tmp_path):
    assert run.gateway_url() == "http://127.0.0.1:8000"
    monkeypatch.setenv("ZHIFA_HTTP_ADDRESS", "0.0.0.0:8123")
    monkeypatch.setenv("AMQP_URI", "amqp://u:secret@broker.example:5673/zhifa")
    assert run.gateway_url() == "http://127.0.0.1:8123"
    assert run.amqp_uri() == "amqp://u:secret@broker.example:5673/zhifa"
    assert run._without_password(run.amqp_uri()) == "amqp://u:***@broker.example:5673/zhifa"
    config = tmp_path / "config.yaml"
    config.write_text("WEB_SERVER_ADDRESS: 10.0.0.5:9000\nZHIFA_METRICS_PORTS:\n  gateway: 19100\n  records: 19101\n")
    assert run.gateway_url(str(config)) == "http://10.0.0.5:9000"
    ports = run.metrics_ports(str(config))
    assert ports["gateway"] == 19100 and ports["records"] == 19101 and ports["review"] == 9102   # registry default
    assert "http://127.0.0.1:19100/metrics" in run.banner_metrics(ports)


def test_issue19_the_banner_lists_every_page(run):
    """Every page a person opens (GET, HTML, no path parameters) is in the banner; it missed /complaints,
    /records/verify, /disclosure/verify and /evaluation/dashboard."""
    from services.gateway.http import ROUTES
    import services.gateway.service  # noqa: F401 - declares the routes

    banner = run.banner_pages("http://127.0.0.1:8000")
    pages = {r.path for r in ROUTES if r.method == "GET" and r.media == "text/html" and "<" not in r.path
             and not r.path.startswith("/auth/") and r.path != "/evaluation/login"
             and r.path != "/evaluation/survey/thanks"}      # shown after an answer (post → redirect), not opened
    for path in pages:
        assert f"http://127.0.0.1:8000{path}\n" in banner + "\n", path
