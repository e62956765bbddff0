"""The broker-node-stop fault (issue 20, PLAT-1) for the chaos harness (tests/chaos/harness.py): the city
suite runs on the three-node RabbitMQ cluster of the tests (tests/integration/cluster_support.py) with
quorum queues and the multi-host AMQP URI; mid-stream the node leading most of the busiest handler queues
(the deepest backlogs at that moment; leaders from ``rabbitmqctl list_queues leader`` before the round)
is stopped — its connections
close, its replicas go, the other two elect new leaders and the services (and the publisher) reconnect
to another node of the URI; ``duration`` seconds later it is started again (in the background: the
barrier does not wait for it) and rejoins.

``cluster_chaos_suite(cluster, root)`` makes the ``ChaosSuite`` for it (no province: the cluster runs no
shovel plugin; the link has its own fault)."""
from __future__ import annotations

import os
import threading
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from kombu import Connection

from tests.chaos.harness import ChaosSuite, Fault

BUSIEST = 10        # the queues whose leaders decide which node goes


class BrokerNodeStop(Fault):
    name = "broker-node-stop"

    def __init__(self, cluster, duration: float = 10.0):
        self.cluster, self.duration = cluster, duration
        self.node: int | None = None
        self.leaders: dict[str, int] = {}
        self.leaders_before: Counter = Counter()

    def prepare(self, suite):
        """The leader of each of the city's handler queues (rabbitmqctl list_queues leader — slow on a
        loaded machine, so before the round; leaders move only when a node goes)."""
        self.wait_started()
        queues = self.cluster.queues(suite.city.vhost)
        if any(q.get("type") != "quorum" for q in queues if q["name"].startswith("evt-")):
            raise RuntimeError("the city's handler queues are not quorum queues (ZHIFA_QUORUM_QUEUES)")
        self.leaders = {q["name"]: self.cluster.node_of(q["leader"]) for q in queues
                        if q["name"].startswith("evt-") and not q["name"].endswith(".retry") and q.get("leader")}

    def _depths(self, suite) -> dict[str, int]:
        """Messages in each handler queue now (passive declares: quick, unlike the CLI)."""
        depths = {}
        with Connection(suite.city.amqp_uri, connect_timeout=5) as conn:
            channel = conn.channel()
            for name in self.leaders:
                depths[name] = channel.queue_declare(name, passive=True).message_count
        return depths

    def start(self, suite):
        """Busiest: most messages through the queue so far — waiting now plus applied by its consumer
        (``processed_events``: the consumers keep up, so the backlog alone is mostly 0)."""
        depths = self._depths(suite)
        applied = suite._applied()
        traffic = {name: depths[name] + len(applied.get(name.split("--", 1)[1], ())) for name in depths}
        busiest = sorted(traffic, key=lambda name: (-traffic[name], name))[:BUSIEST]
        self.leaders_before = Counter(self.leaders[name] for name in busiest)
        self.node = self.leaders_before.most_common(1)[0][0]
        suite.note(f"stopping node {self.node} ({self.cluster.node_name(self.node)}), leader of "
                   f"{self.leaders_before[self.node]} of the {len(busiest)} busiest queues "
                   f"({sum(traffic[n] for n in busiest)} messages through them, {sum(depths[n] for n in busiest)} "
                   f"waiting)")
        self.cluster.stop_node(self.node)
        suite.note(f"node {self.node} stopped")

    def stop(self, suite):
        """Start the node again, in the background: the two others hold a majority of every queue, so
        the round's barrier need not wait for its boot (about a minute on a loaded machine)."""
        node = self.node

        def boot():
            try:
                self.cluster.start_node(node)
                suite.note(f"node {node} started again; running {self.cluster.running()}")
            except Exception as exc:  # noqa: BLE001 - reported by wait_started
                self._boot_error = exc

        self._boot_error = None
        self._booting = threading.Thread(target=boot, daemon=True)
        self._booting.start()

    def wait_started(self, timeout: float = 600) -> None:
        """The stopped node is back (before the next round stops one, and at the end)."""
        booting = getattr(self, "_booting", None)
        if booting is not None:
            booting.join(timeout)
            if booting.is_alive() or self._boot_error is not None:
                raise RuntimeError(f"node {self.node} did not start again: {self._boot_error!r}")

    def close(self, suite):
        self.wait_started()


@contextmanager
def cluster_chaos_suite(cluster, root: Path | None = None, log=print):
    """The city suite on ``cluster`` with quorum queues (its processes inherit ZHIFA_QUORUM_QUEUES=on,
    whatever the test session chose for the single test broker), started and closed. ``root``: the
    harness's data folder (default /tmp/chaos; PostgreSQL's initdb runs as postgres and must reach it)."""
    before = os.environ.get("ZHIFA_QUORUM_QUEUES")
    os.environ["ZHIFA_QUORUM_QUEUES"] = "on"
    suite = ChaosSuite(amqp_host=cluster.hosts(), ctl=cluster.rabbitmqctl, root=root, with_province=False,
                       log=log, lister=cluster.list_queues)
    try:
        suite.start()
        yield suite
    finally:
        try:
            suite.close()
        finally:
            if before is None:
                os.environ.pop("ZHIFA_QUORUM_QUEUES", None)
            else:
                os.environ["ZHIFA_QUORUM_QUEUES"] = before
