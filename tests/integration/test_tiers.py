"""Province and city suites linked by RabbitMQ shovels (PLAT-1, COORD-4, issue 8).

The city suite runs in this process on its own vhost; the link city→province goes through a TCP
proxy that the test cuts and heals. Nothing may be lost; duplicates may arrive but take effect once.
"""
import json
import subprocess
import time
import uuid

import pytest
from kombu import Connection, Queue

from services.common import federation
from tests.fixtures import _rabbitmqctl, running_suite, wait_for
from tests.integration import events as ev
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def province_vhost():
    name = f"zhifa-test-province-{uuid.uuid4().hex[:6]}"
    _rabbitmqctl("add_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield name
    _rabbitmqctl("delete_vhost", name)


@pytest.fixture(scope="module", autouse=True)
def shovel_plugin():
    subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_shovel"], check=True, capture_output=True, timeout=120)


def drain(uri, queue_name):
    """All messages now in a queue (acked), as (event_id, envelope)."""
    out = []
    with Connection(uri) as conn:
        queue = Queue(queue_name, durable=True)(conn.channel())
        while True:
            message = queue.get(no_ack=True)
            if message is None:
                return out
            envelope = json.loads(message.body)
            out.append((envelope["event_id"], envelope))


def test_upward_link_survives_a_cut_without_loss(amqp_uri, sqlite_databases, tmp_path, province_vhost):
    """Decisions published at the city reach the province through a link cut for a while."""
    city_vhost = amqp_uri.rsplit("/", 1)[1]
    province_uri = federation.amqp_uri("127.0.0.1:5672", province_vhost)
    proxy = TcpProxy("127.0.0.1", 5672)
    port = proxy.start()
    federation.declare_city_side(amqp_uri)
    federation.declare_province_side(province_uri, ["320400"])
    with Connection(province_uri) as conn:                 # a province-side observer of everything upward
        Queue("observer", exchange=federation.events_exchange("upward"), routing_key="#",
              durable=True)(conn.channel()).declare()
    definitions = federation.link_definitions(province_uri, amqp_uri, "320400",
                                              city_uri_from_province=federation.amqp_uri(f"127.0.0.1:{port}",
                                                                                         city_vhost))
    federation.apply_with_rabbitmqctl(definitions[:1])     # upward shovel, consuming through the proxy
    with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["disclosure", "gateway"]) as city:
        sent = []
        for i in range(30):
            if i == 10:
                proxy.stop()                                 # the link is cut
            if i == 20:
                time.sleep(3)
                proxy.start()                                # and heals
            case = f"320400-SCJG-2026-{i:05d}"
            city.publish(ev.decision_made(case, body={"region_code": "320412", "body_id": "320412-SCJG",
                                                      "system": "wj"}))
            sent.append(case)
        arrived: dict = {}

        def all_arrived():
            for event_id, envelope in drain(province_uri, "observer"):
                arrived.setdefault(envelope["case_id"], []).append(event_id)
            return len(arrived) == len(sent)

        wait_for(all_arrived, timeout=60, message="every publication at the province")
    duplicates = sum(len(ids) - 1 for ids in arrived.values())
    print(f"\ntier link: sent {len(sent)}, arrived {len(arrived)}, duplicates {duplicates}")
    assert set(arrived) == set(sent)
    proxy.stop()
