"""The chaos suite, short (issue 20, PLAT-1): one seeded round of each fault kind against the whole
suite as real processes (tests/chaos/harness.py, run by tools/chaos.py in its own process: the suite's
threads and sockets stay out of the test process's eventlet hub) — kill -9 of a city service (which
one: from the seed), kill -9 of the PostgreSQL primary with promotion of the standby 3 s later, a
city–province partition of 5 s — 40 events each. Every round: 0 lost, 0 duplicated, nothing
dead-lettered, every event confirmed, the barrier settled and the records log verified. `make chaos`
runs 20 rounds of every fault (and of every service's kill) with the full volume.

The seed is printed (ZHIFA_TEST_CHAOS_SEED repeats a run).
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from tests.chaos.harness import CITY_SERVICES
from tests.fixtures import ROOT_DIR
from tests.pg_replication import INITDB

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("ZHIFA_TEST_CHAOS_SEED") or random.SystemRandom().randrange(1, 2**31))
EVENTS = 40


def test_plat1_issue20_one_round_of_each_fault_loses_nothing_and_applies_everything_once(tmp_path):
    """PLAT-1, issue 20: a service killed -9 mid-stream (restarted), the PostgreSQL primary killed -9
    (standby promoted), the city–province link cut: every confirmed event applied exactly once by
    every consumer, the city's upward events once at the province, nothing dead-lettered, the records
    log verifies."""
    if not INITDB:
        pytest.skip("PostgreSQL server binaries (initdb) are not installed: no chaos suite")
    kill = f"kill-{random.Random(SEED).choice(CITY_SERVICES)}"
    out = tmp_path / "rounds.json"
    print(f"\nchaos short: seed {SEED} (ZHIFA_TEST_CHAOS_SEED={SEED} repeats it), {kill}")
    run = subprocess.run([sys.executable, "tools/chaos.py", "--rounds", "1", "--seed", str(SEED),
                          "--faults", f"{kill},pg-primary-kill,partition", "--events", str(EVENTS), "--rate", "40",
                          "--partition-seconds", "5", "--promote-after", "3", "--json", str(out)],
                         cwd=ROOT_DIR, env={**os.environ, "PYTHONPATH": str(ROOT_DIR)}, capture_output=True,
                         text=True, timeout=600)
    print("\n".join(line for line in run.stdout.splitlines() if line.startswith(("chaos", " ", "-", "fault", "kill",
                                                                                   "pg-", "partition"))))
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    rounds = json.loads(out.read_text())
    assert [r["fault"] for r in rounds] == [kill, "pg-primary-kill", "partition"], run.stdout[-3000:]
    failed = {f"{r['fault']} seed {r['seed']}": r["problems"][:8] + r["notes"] for r in rounds if not r["ok"]}
    assert failed == {}
    assert [(r["lost"], r["duplicated"], r["dead_lettered"]) for r in rounds] == [(0, 0, 0)] * 3
    assert all(r["attempted"] == r["confirmed"] == r["applied_once"] == EVENTS and r["verify"] == "ok"
               for r in rounds)
    assert run.returncode == 0, run.stdout[-3000:]
