"""The garbage collector of a service process (issue 17): tuned when a service starts, by ZHIFA_GC_THRESHOLD.

Each case runs in a process of its own — freezing is process-wide and done once."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from services.common.config_catalogue import declaration
from services.common.settings import ROOT

SCRIPT = """
import gc, json, sys
from nameko import config
from nameko.containers import ServiceContainer
from services.common.metrics import Metrics

class Tiny:
    name = "tiny"
    metrics = Metrics()

patch = json.loads(sys.argv[1])
before = gc.get_threshold()[0]
with config.patch({"ZHIFA_METRICS_DISABLED": True, **patch}, clear=False):
    container = ServiceContainer(Tiny)
    container.start()
    try:
        print(json.dumps({"before": before, "threshold": gc.get_threshold()[0], "frozen": gc.get_freeze_count()}))
    finally:
        container.stop()
"""


def _started(patch: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(patch)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("threshold", [12345, None])
def test_issue17_a_started_service_freezes_what_it_loaded_and_collects_less_often(threshold):
    """A service that started (its Metrics extension) has frozen its start-up objects and runs the collector
    after ZHIFA_GC_THRESHOLD new objects — the setting's value, or its declared default when unset."""
    state = _started({"ZHIFA_GC_THRESHOLD": threshold})
    expected = threshold or declaration("ZHIFA_GC_THRESHOLD").default
    assert state["before"] == 700 and expected != 700
    assert state["threshold"] == expected and state["frozen"] > 10000, state


def test_issue17_gc_threshold_zero_leaves_pythons_collector_as_it_is():
    state = _started({"ZHIFA_GC_THRESHOLD": 0})
    assert state == {"before": 700, "threshold": 700, "frozen": 0}
