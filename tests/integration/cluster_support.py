"""A real three-node RabbitMQ cluster for the tests (issue 20, PLAT-1): deploy/local/rabbitmq-cluster.sh
started once per test session on free ports with node names of its own, in a temporary folder, and
stopped (every node, data removed) at the end. The machine's broker (5672) is not touched.

``RabbitCluster`` gives the services' multi-host AMQP URI (kombu fails over along
``amqp://…:p1/v;amqp://…:p2/v;amqp://…:p3/v``), a fresh vhost, the leader of each quorum queue, and
stops / starts one node (the chaos fault)."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import pytest

ROOT_DIR = Path(__file__).resolve().parents[2]
SCRIPT = ROOT_DIR / "deploy" / "local" / "rabbitmq-cluster.sh"
NODES = 3


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _script_env(base: int, name: str = "zhifa") -> dict:
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "ZHIFA_CLUSTER_BASE_PORT": str(base),
            "ZHIFA_CLUSTER_NAME": name, "LANG": "C.UTF-8"}


def cluster_ports(base: int) -> list[int]:
    """Every port the nodes and their CLI bind for ``base``, as the script that sets them says."""
    with tempfile.TemporaryDirectory() as scratch:
        out = subprocess.run([str(SCRIPT), "ports", scratch], env=_script_env(base), capture_output=True, text=True,
                             check=True, timeout=30).stdout
    return [int(port) for port in out.split()]


def ephemeral_ports() -> range:
    """The kernel's ephemeral range: a test run's short connections (TIME_WAIT) hold ports there."""
    low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


def free_base_port(start: int = 5701, stop: int = 5900) -> int:
    """A base port whose ports (AMQP, distribution, CLI — cluster_ports) are all free now and all outside
    the ephemeral range, where a free port may be taken by a client connection a moment later. Another
    cluster (another session, another helper) may run beside this one."""
    offsets = [port - start for port in cluster_ports(start)]
    ephemeral, busy = ephemeral_ports(), []
    for base in range(start, stop, NODES):
        ports = [base + offset for offset in offsets]
        if any(port in ephemeral for port in ports):
            raise RuntimeError(f"the cluster's ports for base {base} ({min(ports)}–{max(ports)}) reach into the "
                               f"ephemeral range {ephemeral.start}–{ephemeral.stop - 1}")
        taken = [port for port in ports if not _free(port)]
        if not taken:
            return base
        busy += taken
    raise RuntimeError(f"no free ports for a RabbitMQ cluster with a base in {start}–{stop}; busy: {busy[:20]}")


class RabbitCluster:
    def __init__(self, directory: Path, base_port: int, name: str):
        self.dir, self.base_port, self.name = Path(directory), base_port, name
        self.stopped: set[int] = set()

    # -- the script ---------------------------------------------------------------------------------------
    def _run(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run([str(SCRIPT), args[0], str(self.dir), *args[1:]],
                              env=_script_env(self.base_port, self.name), capture_output=True,
                              text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"rabbitmq-cluster.sh {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def start(self) -> None:
        self._run("start", timeout=600)

    def stop(self) -> None:
        self._run("stop")

    def ctl(self, node: int, *args: str, timeout: float = 120) -> str:
        return self._run("ctl", str(node), "-q", *args, timeout=timeout)

    # -- nodes ---------------------------------------------------------------------------------------------
    def node_name(self, node: int) -> str:
        return f"{self.name}{node}@localhost"

    def node_of(self, name: str) -> int:
        return int(name.split("@", 1)[0][len(self.name):])

    def port(self, node: int) -> int:
        return self.base_port + node - 1

    def stop_node(self, node: int) -> None:
        self.stopped.add(node)
        self._run("stop-node", str(node))

    def start_node(self, node: int) -> None:
        self._run("start-node", str(node), timeout=600)
        self.stopped.discard(node)

    def asking(self) -> int:
        """A node that is not stopped, to run the CLI against."""
        return min(set(range(1, NODES + 1)) - self.stopped)

    def hosts(self) -> str:
        """host:port of every node, comma-separated (tests/integration/tiers_support.SuiteProcesses)."""
        return ",".join(f"127.0.0.1:{self.port(n)}" for n in range(1, NODES + 1))

    def rabbitmqctl(self, *args: str) -> str:
        """rabbitmqctl against a running node (the signature of tests.fixtures._rabbitmqctl)."""
        return self.ctl(self.asking(), *args)

    def list_queues(self, vhost: str, *columns: str) -> list[dict]:
        return json.loads(self.rabbitmqctl("list_queues", "-p", vhost, *columns, "--formatter", "json") or "[]")

    def running(self, asking: int = 1) -> list[int]:
        status = json.loads(self.ctl(asking, "cluster_status", "--formatter", "json") or "{}")
        return sorted(self.node_of(n) for n in status.get("running_nodes", []))

    # -- vhosts and queues -------------------------------------------------------------------------------------
    def uri(self, vhost: str, nodes=None) -> str:
        """The multi-host AMQP URI (kombu's failover list), node 1 first unless ``nodes`` says otherwise."""
        return ";".join(f"amqp://guest:guest@127.0.0.1:{self.port(n)}/{vhost}" for n in (nodes or range(1, NODES + 1)))

    def add_vhost(self, prefix: str = "zhifa-chaos", asking: int = 1) -> str:
        vhost = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.ctl(asking, "add_vhost", vhost)
        self.ctl(asking, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        return vhost

    def queues(self, vhost: str, asking: int | None = None) -> list[dict]:
        """name, type, leader, members and message count of every queue of ``vhost``."""
        out = self.ctl(asking or self.asking(), "list_queues", "-p", vhost, "name", "type", "leader", "members",
                       "messages", "--formatter", "json")
        return json.loads(out or "[]")

    def leader_of_busiest(self, vhost: str, queue_names, asking: int | None = None) -> int:
        """The node leading most of ``queue_names`` (the busiest queues of a run)."""
        wanted = set(queue_names)
        leaders = Counter(q["leader"] for q in self.queues(vhost, asking) if q["name"] in wanted and q.get("leader"))
        if not leaders:
            raise RuntimeError(f"none of {sorted(wanted)[:3]}… has a leader (not quorum queues?)")
        return self.node_of(leaders.most_common(1)[0][0])


def start_cluster() -> RabbitCluster:
    if not (shutil.which("rabbitmq-server") or Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists()):
        raise FileNotFoundError("rabbitmq-server is not installed")
    base = free_base_port()
    cluster = RabbitCluster(Path(tempfile.mkdtemp(prefix="zhifa-cluster-")), base, f"zhifa{base}n")
    try:
        cluster.start()
    except Exception:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: RabbitCluster) -> None:
    try:
        cluster.stop()
    finally:
        shutil.rmtree(cluster.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def rabbit_cluster():
    """Three RabbitMQ nodes clustered on 127.0.0.1, for the session; every node stopped at the end."""
    try:
        cluster = start_cluster()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        stop_cluster(cluster)
