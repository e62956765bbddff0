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
os.environ.setdefault("ZHIFA_METRICS_DISABLED", "1")
# the shipped benchmarks and complaint channels are sample data: allowed in tests and the demo only (issue 18)
os.environ.setdefault("ZHIFA_SAMPLE_DATA", "true")

pytest_plugins = ["tests.fixtures"]


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def pytest_runtest_teardown(item, nextitem):
    """A green wait left behind on a descriptor that was closed underneath it (a client library closing its
    socket in C while a greenthread still waits on it) stays registered in eventlet's hub; the next pipe or
    socket that gets the same number then fails with "Second simultaneous read on fileno N" in an unrelated
    test (seen in CI: 26 setups failed at `rabbitmqctl add_vhost`). Drop such stale registrations after each
    test and say which test left them, so the leak is named where it happens."""
    from eventlet import hubs

    hub = hubs.get_hub()
    for kind in (hub.READ, hub.WRITE):
        for fd in [fd for fd in list(hub.listeners[kind]) if _closed(fd)]:
            hub.listeners[kind].pop(fd, None)
            hub.secondaries[kind].pop(fd, None)
            sys.stderr.write(f"\n[eventlet] {item.nodeid} left a {kind} wait on closed descriptor {fd}; dropped\n")
