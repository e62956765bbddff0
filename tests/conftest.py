"""Test set-up. eventlet first (nameko no longer monkey-patches on its own — NAMEKO-NOTES)."""
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # eventlet announces its own deprecation on import
    import eventlet

eventlet.monkey_patch()

import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# before anything imports psycopg: its cooperative wait function, as every service process has it (a test
# importing psycopg first got the C one, which blocks every green thread while one waits for a lock)
import services  # noqa: E402,F401

import pytest  # noqa: E402

os.environ.setdefault("ZHIFA_METRICS_DISABLED", "1")
# the shipped benchmarks and complaint channels are sample data: allowed in tests and the demo only (issue 18)
os.environ.setdefault("ZHIFA_SAMPLE_DATA", "true")

pytest_plugins = ["tests.fixtures", "tests.integration.cluster_support"]


def _drop_stale_green_waits(nodeid: str, when: str) -> None:
    # imported when first needed: importing tests.fixtures here would keep pytest from rewriting its asserts
    from tests.fixtures import drop_stale_green_waits

    drop_stale_green_waits(nodeid, when)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # before the fixtures' finalizers too: a test's own clean-up may leave one, and a module fixture's
    # finalizer running next (tiers: rabbitmqctl delete_user) then got its descriptor number (CI)
    _drop_stale_green_waits(item.nodeid, "end of test")
    # after the fixtures' finalizers (a module fixture stopping suites leaked one before the next setup: CI)
    yield
    _drop_stale_green_waits(item.nodeid, "teardown")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _drop_stale_green_waits(item.nodeid, "before setup")


# -- quorum queues on the test broker (issue 20, PLAT-1) ----------------------------------------------------------
# ZHIFA_QUORUM_QUEUES is auto by default: the suites the tests start declare quorum queues on RabbitMQ ≥ 3.10.
# Measured (RabbitMQ 3.10.8): every quorum-queue replica reserves about 3 handles of the broker's file-handle
# budget (326 quorum queues on one node: 984 handles used; 490 replicas on a cluster member: 998) although it
# holds almost no real descriptors, and a broker whose budget is used up stops answering new AMQP connections
# (the accept waits for a handle: "timed out" in the handshake) and even stalls vhost creation (11.5 min). A
# broker started with the default `ulimit -n 1024` has a budget of 927: the three tier suites (3 × 163 quorum
# queues ≈ 1,470 handles), or two sessions side by side, cannot fit. .ci/run and deploy/local/ensure_broker.sh
# start the broker with 65536; on a test broker started otherwise with a smaller budget the session runs with
# classic queues and says so in its header (a production broker needs the limit: docs/RUNBOOK.md#quorum-queues).
_QUORUM_NOTE: list[str] = []


def pytest_configure(config):
    if "ZHIFA_QUORUM_QUEUES" in os.environ:
        _QUORUM_NOTE.append(f"ZHIFA_QUORUM_QUEUES={os.environ['ZHIFA_QUORUM_QUEUES']} (from the environment)")
        return
    from services.common.bus import QUORUM_MIN_FILE_HANDLES, local_broker_file_handle_limit

    # services decide the same (bus.quorum_enabled, auto); set here once so no subprocess asks rabbitmqctl again
    limit = local_broker_file_handle_limit()
    if limit is not None and limit < QUORUM_MIN_FILE_HANDLES:
        os.environ["ZHIFA_QUORUM_QUEUES"] = "off"
        _QUORUM_NOTE.append(f"classic queues: the test broker's file-handle budget is {limit} (< "
                            f"{QUORUM_MIN_FILE_HANDLES}; start it with ulimit -n 65536 for quorum queues)")
    else:
        _QUORUM_NOTE.append(f"ZHIFA_QUORUM_QUEUES=auto (the default; broker file-handle budget {limit})")


def pytest_report_header(config):
    return [f"zhifa queues: {note}" for note in _QUORUM_NOTE]
