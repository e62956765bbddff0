"""The three-node RabbitMQ cluster of the tests (issue 20, PLAT-1; deploy/local/rabbitmq-cluster.sh):
the nodes form one cluster, a suite's quorum queues have a member on every node, and when the node
leading a queue stops, its confirmed messages are still there — read through the multi-host AMQP URI
the services are given, on which kombu moves to another node."""
import json
import uuid

import pytest
from kombu import Connection, Exchange, Producer, Queue

from services.common.bus import declare_topology, handler_bindings
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from tests.fixtures import wait_for
import socket

from tests.integration.cluster_support import NODES, cluster_ports, ephemeral_ports, free_base_port

pytestmark = pytest.mark.integration


class ClusteredService:
    name = "clustered"

    @event_handler(DEPARTMENTS, "case.opened")
    def on_opened(self, event):   # pragma: no cover - never run: the test reads its queue
        pass


def test_every_cluster_port_stays_out_of_the_ephemeral_range():
    """CI once found no free base: the CLI's ports sat at 35801+, inside 32768–60999, where the run's own
    short connections (TIME_WAIT) held one port of every candidate."""
    ports = cluster_ports(5701)
    assert len(ports) == len(set(ports)) == NODES * 12          # AMQP, distribution and ten CLI ports a node
    assert {5701, 5702, 5703, 25701, 25703, 15801, 15830} <= set(ports)
    last_base = range(5701, 5900, NODES)[-1]                     # free_base_port's last candidate
    assert max(cluster_ports(last_base)) < ephemeral_ports().start


def test_a_base_with_one_port_taken_is_passed_over():
    base = free_base_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", cluster_ports(base)[-1]))     # the last CLI port of node 3
        holder.listen()
        assert free_base_port() != base


def test_quorum_queues_keep_confirmed_messages_when_their_leader_node_stops(rabbit_cluster, monkeypatch):
    cluster = rabbit_cluster
    assert cluster.running() == [1, 2, 3]
    vhost = cluster.add_vhost("zhifa-cluster")
    monkeypatch.setenv("ZHIFA_QUORUM_QUEUES", "on")
    declare_topology(cluster.uri(vhost), [ClusteredService])
    (binding,) = handler_bindings(ClusteredService)
    queues = {q["name"]: q for q in cluster.queues(vhost)}
    assert queues[binding.queue_name]["type"] == "quorum"
    assert len(queues[binding.queue_name]["members"]) == NODES       # a replica on every node
    leader = cluster.leader_of_busiest(vhost, [binding.queue_name])

    # publish through the leader's node with publisher confirms: confirmed = on a majority of the nodes
    sent = [str(uuid.uuid4()) for _ in range(200)]
    with Connection(cluster.uri(vhost, [leader]), transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())
        for i, message_id in enumerate(sent):
            producer.publish({"n": i}, exchange=Exchange("departments.events", "topic", durable=True),
                             routing_key="case.opened", delivery_mode=2, message_id=message_id, user_id="guest")
    cluster.stop_node(leader)
    try:
        others = [n for n in range(1, NODES + 1) if n != leader]
        assert cluster.running(others[0]) == others

        def new_leader():
            node = cluster.leader_of_busiest(vhost, [binding.queue_name], asking=others[0])
            return node if node != leader else None

        assert wait_for(new_leader, timeout=60, message="a new leader") in others
        # the failover URI lists the stopped node first: kombu moves on to the next one
        got = []
        with Connection(cluster.uri(vhost, [leader, *others]), connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=5)
            assert conn.as_uri().rsplit(":", 1)[-1].split("/")[0] != str(cluster.port(leader))
            queue = Queue(binding.queue_name, no_declare=True)
            with conn.SimpleQueue(queue) as simple:
                while len(got) < len(sent):
                    message = simple.get(timeout=10)
                    got.append(message.properties["message_id"])
                    assert json.loads(message.body) == {"n": len(got) - 1}      # in order
                    message.ack()
    finally:
        cluster.start_node(leader)
    assert got == sent                       # every confirmed message, once
    assert cluster.running() == [1, 2, 3]     # the node came back into the cluster
