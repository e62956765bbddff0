"""Province and city suites linked by RabbitMQ shovels (PLAT-1, COORD-4, issue 8).

The city suite runs in this process on its own vhost; the link city→province goes through a TCP
proxy that the test cuts and heals. Nothing may be lost; duplicates may arrive but take effect once.
"""
import json
import shutil
import subprocess
import time
import uuid

import pytest
from kombu import Connection, Queue

from services.common import federation
from nameko import config

from tests.fixtures import LinkUsers, _rabbitmqctl, publish_on_link, running_suite, wait_for
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


@pytest.fixture
def links(province_vhost, amqp_uri):
    """One broker user per city link (320400 常州, 320200 无锡), with rights in both suites' vhosts."""
    users = LinkUsers(["320400", "320200"], [province_vhost, amqp_uri.rsplit("/", 1)[1]])
    with config.patch({"ZHIFA_LINK_USER_TEMPLATE": users.template}, clear=False):
        yield users
    users.close()


def link(links, province_uri, city_uri, city="320400", *, city_host=None):
    """Start the two shovels of a city's link, logged in as its link user (``city_host``: where the
    province's broker reaches the city, e.g. a TCP proxy to cut)."""
    pv, cv = province_uri.rsplit("/", 1)[1], city_uri.rsplit("/", 1)[1]
    federation.apply_with_rabbitmqctl(federation.link_definitions(
        links.uri(city, pv), links.uri(city, cv), city, link_user=links.user(city),
        city_uri_from_province=links.uri(city, cv, city_host) if city_host else None))


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


def test_upward_link_survives_a_cut_without_loss(amqp_uri, sqlite_databases, tmp_path, province_vhost, links):
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
    definitions = federation.link_definitions(links.uri("320400", province_vhost), links.uri("320400", city_vhost),
                                              "320400", link_user=links.user("320400"),
                                              city_uri_from_province=links.uri("320400", city_vhost,
                                                                               f"127.0.0.1:{port}"))
    federation.apply_with_rabbitmqctl(definitions[:1])     # upward shovel, consuming through the proxy
    with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["disclosure", "gateway"]) as city:
        sent = []
        for i in range(30):
            if i == 10:
                proxy.stop()                                 # the link is cut
            if i == 20:
                time.sleep(3)
                proxy.start()                                # and heals
            case = f"320412-SCJG-2026-{i:05d}"
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


def start_province(tmp_path, province_uri, services=("evaluation", "gateway")):
    """The province suite: its own vhost and databases, `nameko run` in a subprocess."""
    import os
    import sys

    import yaml

    from services.common.bus import all_service_classes, declare_topology
    from services.common.migrations import upgrade
    from tests.fixtures import ROOT_DIR, free_port

    databases = {s: f"sqlite:///{tmp_path / ('province-' + s + '.db')}" for s in services if s != "gateway"}
    for service, url in databases.items():
        upgrade(service, url)
    declare_topology(province_uri, all_service_classes())
    federation.declare_province_side(province_uri, ["320400", "320200"])
    port, secret = free_port(), uuid.uuid4().hex
    keys = tmp_path / "province-keys.yaml"
    keys.write_text("[]\n")
    cfg = tmp_path / "province.yaml"
    cfg.write_text(yaml.safe_dump({
        "AMQP_URI": province_uri, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "ZHIFA_DATABASES": databases,
        "ZHIFA_TOKEN_SECRET": secret, "ZHIFA_API_KEYS_FILE": str(keys), "ZHIFA_METRICS_DISABLED": "1",
        "ZHIFA_TIER": "province", "ZHIFA_SUITE_REGION": "320000", "ZHIFA_CITIES": "320400,320200",
        "ZHIFA_LINK_USER_TEMPLATE": config["ZHIFA_LINK_USER_TEMPLATE"],
        "LOGGING": {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}}))
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "nameko"), "run", "--config", str(cfg),
                             *[f"services.{s}.service" for s in services]], cwd=ROOT_DIR,
                            env={**os.environ, "PYTHONPATH": str(ROOT_DIR)}, stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "province.log", "w"))
    return proc, f"http://127.0.0.1:{port}", secret


def test_province_sees_city_data_and_city_receives_province_directives(amqp_uri, sqlite_databases, tmp_path,
                                                                       province_vhost, links):
    """Upward: city publications become province evaluation facts. Downward: a directive issued at the
    province reaches the city of its target body, and only that city (COORD-4)."""
    import requests

    from services.common.auth import issue_token

    city_vhost = amqp_uri.rsplit("/", 1)[1]
    province_uri = federation.amqp_uri("127.0.0.1:5672", province_vhost)
    federation.declare_city_side(amqp_uri)
    province, province_url, secret = start_province(tmp_path, province_uri, ("evaluation", "records", "gateway"))
    try:
        link(links, province_uri, amqp_uri)
        province_supervisor = {"Authorization": "Bearer " + issue_token("prov-sup", "supervisor", "320000",
                                                                         secret=secret)}
        wait_for(lambda: _ok(province_url + "/healthz"), timeout=60, message="province gateway")
        from nameko import config

        with config.patch({"ZHIFA_RECORDS_STH_INTERVAL": 1, "ZHIFA_RECORDS_LOG_ID": "records.320400"}, clear=False), \
                running_suite(amqp_uri, sqlite_databases, tmp_path) as city:
            for i in range(3):
                city.publish(ev.decision_made(f"320412-SCJG-2026-{i:05d}"))
            summary = wait_for(lambda: (lambda b: b.get("320412-SCJG", {}).get("disclosure_on_time") == 3 and b)(
                requests.get(province_url + "/api/v1/evaluation/summary", headers=province_supervisor,
                             params={"region_code": "320400"}, timeout=10).json().get("bodies", {})),
                timeout=60, message="city publications counted at the province")
            print(f"\nprovince sees: {summary['320412-SCJG']}")

            def issue(body_id, region):
                response = requests.post(province_url + "/api/v1/evaluation/supervision", headers=province_supervisor,
                                         json={"kind": "suggestion", "target_body_id": body_id,
                                               "target_region": region, "subject": "请对近期罚没款未及时公示问题进行整改"},
                                         timeout=10)
                assert response.status_code in (200, 201), response.text
                return response.json()

            issue("320412-SCJG", "320412")
            issue("320502-SCJG", "320502")                    # a body of another city (苏州)
            city_supervisor = city.token("supervisor", "320400")
            directives = wait_for(lambda: city.get("/api/v1/evaluation/directives", city_supervisor).json()
                                  .get("directives"), timeout=60, message="directive at the city")
            time.sleep(2)
            directives = city.get("/api/v1/evaluation/directives", city_supervisor).json()["directives"]
            assert [d["target_body_id"] for d in directives] == ["320412-SCJG"]
            assert directives[0]["issuer_region"] == "320000"
            # a county under the city sees its own directive; another county does not
            assert city.get("/api/v1/evaluation/directives", city.token("officer", "320411")).json()["directives"] == []

            # REC-4 across tiers: the city's signed tree heads are witnessed at the province
            witnessed = lambda **q: requests.get(province_url + "/api/v1/public/records/witnessed-heads",  # noqa: E731
                                                 params=q, timeout=10).json()["heads"]
            heads = wait_for(lambda: witnessed(log_id="records.320400"), timeout=60, message="witnessed heads")
            assert all(h["conflict"] is None for h in heads)
            city_head = requests.get(city.base_url + "/api/v1/public/records/tree-head", timeout=10).json()["tree_head"]
            # the city rewrites history: a head at a witnessed size with another root, signed with its key
            from services.records.domain.treehead import SignedTreeHead, TreeHead, load_private_key, sign_tree_head

            key = load_private_key((city.tmp_path / "records-signing-key.pem").read_bytes())
            seen = heads[0]
            forged = sign_tree_head(TreeHead(seen["tree_size"], bytes(32), seen["timestamp"] + 1000,
                                             "records.320400"), key)
            envelope = ev.envelope("record.tree_head_signed", {**forged.to_json(), "reason": "rewritten"},
                                   body={"region_code": "320400", "body_id": "zhifa-records-log",
                                         "system": "zhifa.records"})
            publish_on_link(links.uri("320400", province_vhost), "upward.events", envelope, links.user("320400"))
            conflicts = wait_for(lambda: witnessed(log_id="records.320400", conflicts="1"), timeout=30,
                                 message="conflict flagged")
            assert "根哈希不同" in conflicts[0]["conflict"]
            assert city_head["tree_size"] >= 1
    finally:
        province.terminate()
        province.wait(20)


def _ok(url):
    import requests

    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def test_escalated_complaint_reaches_the_province_and_its_transfer_order_the_city(amqp_uri, sqlite_databases,
                                                                                   tmp_path, province_vhost, links):
    """CMP-3, CMP-9, COORD-4, PLAT-1 (issue 8): a city complaint left unanswered past its deadline is
    escalated by the city's sweep and appears in the province's supervision register (no identity);
    the province orders a transfer (上级交办), which the downward link delivers to that city only; the
    city complaint then shows the province's instruction, the new handling unit and the new deadline."""
    import datetime as dt

    import requests

    from services.common.auth import issue_token
    from tests.complaints.helpers import CHINA, NAME, PHONE, complaints_suite, register_via_hotline

    province_uri = federation.amqp_uri("127.0.0.1:5672", province_vhost)
    federation.declare_city_side(amqp_uri)
    province, province_url, secret = start_province(tmp_path, province_uri, ("complaints", "gateway"))
    try:
        link(links, province_uri, amqp_uri)
        auth = lambda region, sub: {"Authorization": "Bearer " + issue_token(sub, "supervisor", region,  # noqa: E731
                                                                             secret=secret)}
        province_supervisor = auth("320000", "prov-sup")
        wait_for(lambda: _ok(province_url + "/healthz"), timeout=60, message="province gateway")

        def register(headers):
            return requests.get(province_url + "/api/v1/complaints/escalations", headers=headers,
                                timeout=10).json()["escalations"]

        with complaints_suite(amqp_uri, {"complaints": sqlite_databases["complaints"]}, tmp_path) as city:
            view = register_via_hotline(city, received_at=dt.datetime.now(CHINA) - dt.timedelta(days=30))
            number = view["register_number"]
            # the city's sweep escalates it (county → city → province); the upward link carries both steps
            lines = wait_for(lambda: (lambda r: r if r and r[0]["level"] == 2 else None)(
                register(province_supervisor)), timeout=60, message="escalation in the province register")
            line = lines[0]
            assert (line["number"], line["city_code"], line["status"], line["to_region_code"]) == (
                number, "320400", "open", "320000")
            assert [s["level"] for s in line["steps"]] == [1, 2]
            text = json.dumps(lines, ensure_ascii=False)
            assert NAME not in text and PHONE not in text
            # another city's supervisor sees nothing of 常州's complaints
            assert register(auth("320500", "sz-sup")) == []

            instruction = "请常州市司法局直接办理，核实执法人员未出示执法证件问题并依法办结，结果报省司法厅"
            ordered = requests.post(province_url + f"/api/v1/complaints/escalations/{number}/transfer",
                                    headers=province_supervisor, timeout=10,
                                    json={"to_unit_id": "320400-SFJ", "to_name": "常州市司法局",
                                          "instruction": instruction, "due_working_days": 10})
            assert ordered.status_code == 201, ordered.text
            assert ordered.json()["status"] == "transferred_down"
            due = ordered.json()["order"]["due"]

            # the city applies it to the complaint with that number
            token = city.token("complaint_handler", "320400", sub="handler-zhang")
            after = wait_for(lambda: (lambda v: v if v.get("superior_order") else None)(
                city.get(f"/api/v1/complaints/{number}", token).json()), timeout=60, message="order at the city")
            assert after["handler"]["unit_id"] == "320400-SFJ" and after["handler"]["name"] == "常州市司法局"
            assert after["superior_order"] == {"issuer_region": "320000", "instruction": instruction,
                                               "ordered_on": ordered.json()["order"]["ordered_on"],
                                               "working_days": 10, "due": due,
                                               "due_provisional": after["superior_order"]["due_provisional"]}
            entry = after["history"][-1]
            assert entry["kind_label"] == "上级交办" and entry["data"]["issuer_region"] == "320000"
            assert instruction in entry["internal_note"]
            transferred = city.capture.wait_for("complaint.transferred")[0]["payload"]
            assert transferred["to_unit_id"] == "320400-SFJ"

        # only that city: nothing waits for the second city (无锡 320200, no link here) at the province
        with Connection(province_uri) as conn:
            channel = conn.channel()
            _, waiting, _ = channel.queue_declare(federation.downward_queue("320200"), passive=True)
            channel.close()
        assert waiting == 0
    finally:
        province.terminate()
        province.wait(20)


def import_topology(template, vhost):
    """What a broker imports from a tier's definitions at boot (exchanges, queues, bindings, policies),
    into a test vhost, with RabbitMQ's own importer (users, permissions and shovels are the test's)."""
    data = json.loads(template.read_text(encoding="utf-8"))
    part = {section: [{**item, "vhost": vhost} for item in data[section]]
            for section in ("queues", "exchanges", "bindings", "policies")}
    import os
    import tempfile

    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir="/tmp") as handle:   # rabbitmqctl reads it as
        handle.write(json.dumps(part))                                              # the rabbitmq user
        handle.flush()
        os.chmod(handle.name, 0o644)
        result = subprocess.run([exe, "import_definitions", handle.name], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

    def imported():   # rabbitmqctl's import is asynchronous: wait for the last section (bindings)
        listed = subprocess.run([exe, "list_bindings", "-q", "-p", vhost, "source_name", "destination_name"],
                                capture_output=True, text=True, timeout=60).stdout
        present = {tuple(line.split("\t")[:2]) for line in listed.splitlines()}
        return all((b["source"], b["destination"]) in present for b in part["bindings"])

    wait_for(imported, timeout=60, interval=0.5, message=f"definitions imported into {vhost}")


def queue_depth(uri, name):
    with Connection(uri) as conn:
        channel = conn.channel()
        _, count, _ = channel.queue_declare(name, passive=True)
        channel.close()
    return count


def test_a_link_started_before_bus_init_loses_nothing(amqp_uri, tmp_path, province_vhost, links):
    """Issue 23 (3): brokers import their definitions — shovels included — before `zhifa bus-init`
    runs. Both suites here have only what the shipped definitions declare; the link starts; the city
    sends 10 publications upward; only then does the province run bus-init and start evaluation. The
    queues the shovel feeds were in the definitions, so all 10 wait there and are all applied."""
    import datetime as dt

    import requests

    from services.common.auth import issue_token
    from services.common.events import make_envelope
    from tests.fixtures import ROOT_DIR

    city_vhost = amqp_uri.rsplit("/", 1)[1]
    province_uri = federation.amqp_uri("127.0.0.1:5672", province_vhost)
    broker = ROOT_DIR / "deploy" / "broker"
    import_topology(broker / "definitions-province.json", province_vhost)
    import_topology(broker / "definitions-city-320400.json", city_vhost)
    link(links, province_uri, amqp_uri)
    today = dt.date.today()
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        from kombu import Producer

        producer = Producer(conn.channel())
        for i in range(10):                          # as the city's disclosure service emits them
            envelope = make_envelope("disclosure.published", {
                "publication_id": f"P-320412-{i}", "decision_no": f"武市监罚〔{today.year}〕{i}号",
                "action_type": "penalty", "due_on": today, "due_provisional": False, "published_on": today,
                "on_time": True}, source_system="zhifa.disclosure", region_code="320412", body_id="320412-SCJG",
                case_id=f"320412-SCJG-{today.year}-{i:05d}")
            producer.publish(json.dumps(envelope, ensure_ascii=False), exchange="disclosure.events",
                             routing_key="disclosure.published", content_type="application/json", delivery_mode=2,
                             mandatory=True, user_id="guest")
    landing = "evt-upward-disclosure.published--evaluation.on_published"
    wait_for(lambda: queue_depth(amqp_uri, federation.UPWARD_QUEUE) == 0 and queue_depth(province_uri, landing) == 10,
             timeout=60, message="all ten shovelled into the province queue that the definitions declared")
    province, province_url, secret = start_province(tmp_path, province_uri)   # bus-init, migrate, start
    try:
        supervisor = {"Authorization": "Bearer " + issue_token("prov-sup", "supervisor", "320000", secret=secret)}
        wait_for(lambda: _ok(province_url + "/healthz"), timeout=60, message="province gateway")
        counted = wait_for(lambda: requests.get(province_url + "/api/v1/evaluation/summary", headers=supervisor,
                                                params={"region_code": "320400"}, timeout=10).json()["bodies"]
                           .get("320412-SCJG", {}).get("disclosure_on_time") == 10, timeout=60,
                           message="the ten publications counted at the province")
        assert counted
    finally:
        province.terminate()
        province.wait(20)


def test_a_city_cannot_speak_for_another_city(tmp_path, province_vhost, links, amqp_uri):
    """Issue 23 (2), PLAT-1: each city link has its own broker user and the province accepts an
    upward event only if its region belongs to the link it came through — a final grade of a Wuxi
    (320200) body and a tree head of records.320200 sent through the Changzhou (320400) link are
    dead-lettered; the same grade through the Wuxi link is kept; an upward event published by
    anyone else (the province's own user, no link) is refused too."""
    import requests

    from services.common.auth import issue_token
    from tests.fixtures import dead_letters

    province_uri = federation.amqp_uri("127.0.0.1:5672", province_vhost)
    province, province_url, secret = start_province(tmp_path, province_uri, ("evaluation", "records", "gateway"))
    try:
        supervisor = {"Authorization": "Bearer " + issue_token("prov-sup", "supervisor", "320000", secret=secret)}
        wait_for(lambda: _ok(province_url + "/healthz"), timeout=60, message="province gateway")
        wuxi = {"region_code": "320202", "body_id": "320202-SCJG", "system": "zhifa.evaluation"}
        grade = ev.envelope("evaluation.grade_finalised", {
            "subject_kind": "body", "subject_id": "320202-SCJG", "year": 2025, "total": "99.50", "by_total": "优秀",
            "grade": "优秀", "reasons": [], "decided_by": "forger"}, body=wuxi)
        from services.records.domain.treehead import TreeHead, generate_key, sign_tree_head

        head = sign_tree_head(TreeHead(5, bytes(32), 1_700_000_000_000, "records.320200"), generate_key())
        wuxi_head = ev.envelope("record.tree_head_signed", {**head.to_json(), "reason": "timer"},
                                body={"region_code": "320200", "body_id": "zhifa-records-log",
                                      "system": "zhifa.records"})
        changzhou = links.uri("320400", province_vhost)
        publish_on_link(changzhou, "upward.events", grade, links.user("320400"))
        publish_on_link(changzhou, "upward.events", wuxi_head, links.user("320400"))
        publish_on_link(province_uri, "upward.events", {**grade, "event_id": str(uuid.uuid4())}, "guest")

        def refused(service, n):
            letters = [d for d in dead_letters(province_uri, service) if "unauthorised sender" in (d["reason"] or "")]
            return len(letters) >= n and letters

        evaluation = wait_for(lambda: refused("evaluation", 2), timeout=30, message="grades dead-lettered")
        reasons = sorted(d["reason"] for d in evaluation)
        assert any("经 320400 链路上报的事件属于区划 320202" in r for r in reasons), reasons
        assert any("未经已登记的级联链路到达（user_id=guest" in r for r in reasons), reasons
        (records,) = wait_for(lambda: refused("records", 1), timeout=30, message="tree head dead-lettered")
        assert "320400" in records["reason"] and "320202" not in records["reason"]
        # the same grade through its own (Wuxi) link is kept; a sentinel barrier for the refusals above
        publish_on_link(links.uri("320200", province_vhost), "upward.events", {**grade, "event_id": str(uuid.uuid4())},
                        links.user("320200"))
        grades = wait_for(lambda: requests.get(province_url + "/api/v1/evaluation/received-grades", headers=supervisor,
                                               params={"year": 2025}, timeout=10).json()["cities"], timeout=30,
                          message="the grade from its own link")
        assert [(c["city_code"], [g["subject_id"] for g in c["grades"]]) for c in grades] == [("320200", ["320202-SCJG"])]
        assert requests.get(province_url + "/api/v1/public/records/witnessed-heads", timeout=10).json()["heads"] == []
    finally:
        province.terminate()
        province.wait(20)
