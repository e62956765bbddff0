"""deploy/broker: RabbitMQ definitions per tier (PLAT-1 tier links, departmental publish rights).

The definitions were also imported into a real RabbitMQ 3.10 during development (departmental topic
permissions refused foreign event types with 403, a spoofed user_id with 406, and both shovels moved
events between the tiers); these tests keep them consistent with the code and config/federation.yaml.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys

import pytest

from services.common import federation
from services.common.bus import (
    all_service_classes,
    dead_letter_queue,
    events_exchange,
    handler_bindings,
)
from services.common.catalogue import departments
from tests.deploy.support import BROKER, COMPOSE_DIR, DB_SERVICES, load_yaml

TIERS = {"province": "zhifa-320000", "city-320400": "zhifa-320400", "city-320200": "zhifa-320200"}
CITIES = ("320200", "320400")
GENERATED = {"province": ("province", "320000", "江苏省"), "city-320400": ("city", "320400", "常州市"),
             "city-320200": ("city", "320200", "无锡市")}
DEPARTMENT_TYPES = {e.name for e in departments.EVENTS}
sys.path.insert(0, str(BROKER))
import render


def definitions(tier: str) -> dict:
    return json.loads((BROKER / f"definitions-{tier}.json").read_text(encoding="utf-8"))


def links() -> dict:
    return federation.load_links()


def all_handler_queues() -> list[str]:
    return [b.queue_name for cls in all_service_classes() for b in handler_bindings(cls)]


@pytest.mark.parametrize("tier", TIERS)
def test_definitions_parse_and_hold_one_vhost(tier):
    data = definitions(tier)
    assert [v["name"] for v in data["vhosts"]] == [TIERS[tier]]
    for section in ("users", "permissions", "topic_permissions", "parameters", "policies", "queues",
                    "exchanges", "bindings"):
        assert isinstance(data[section], list), section
        for item in data[section]:
            if "vhost" in item:
                assert item["vhost"] == TIERS[tier], f"{section}: {item}"


@pytest.mark.parametrize("tier", TIERS)
def test_every_permission_regex_compiles_and_users_exist(tier):
    data = definitions(tier)
    users = {u["name"] for u in data["users"]}
    for perm in data["permissions"] + data["topic_permissions"]:
        assert perm["user"] in users
        for key in ("configure", "write", "read"):
            if key in perm:
                re.compile(perm[key])
                assert "{" not in perm[key].replace("{username}", "").replace("{vhost}", ""), \
                    "braces are RabbitMQ variable expansion in permissions: avoid {n} quantifiers"
    for policy in data["policies"]:
        re.compile(policy["pattern"])
    for user in data["users"]:
        assert user["hashing_algorithm"] == "rabbit_password_hashing_sha256"
        assert re.fullmatch(r"\$\{hash:[a-z0-9_]+\}", user["password_hash"]), "templates hold no hashes"


def test_each_department_may_publish_only_its_own_event_types():
    data = definitions("city-320400")
    topic = {(t["user"], t["exchange"]): t for t in data["topic_permissions"]}
    perms = {p["user"]: p for p in data["permissions"]}
    departments_users = [u["name"] for u in data["users"] if u["name"].startswith("dept-")]
    assert len(departments_users) >= 2
    allowed = {}
    for user in departments_users:
        assert perms[user] == {"user": user, "vhost": "zhifa-320400", "configure": "^$",
                               "write": "^departments\\.events$", "read": "^$"}
        rule = topic[(user, "departments.events")]
        assert rule["read"] == "^$"
        pattern = re.compile(rule["write"])
        allowed[user] = {t for t in DEPARTMENT_TYPES if pattern.search(t)}
        assert allowed[user], f"{user} may publish nothing"
        for other in ("record.appended", "review.approved", "disclosure.published", "case.opened.x",
                      "xcase.opened", "#", "complaint.submitted.extra"):
            assert not pattern.search(other), f"{user} may publish {other!r}"
    assert allowed["dept-320400-12345"] == {"complaint.submitted"}
    assert allowed["dept-320400-scjg"] == DEPARTMENT_TYPES - {"complaint.submitted"}


@pytest.mark.parametrize("tier", TIERS)
def test_exchanges_match_what_the_code_declares(tier):
    for exchange in definitions(tier)["exchanges"]:
        if exchange["name"] == federation.DOWNWARD_HEADERS_EXCHANGE:
            assert exchange["type"] == "headers" and exchange["durable"]
            continue
        code = events_exchange(exchange["name"][: -len(".events")])
        assert exchange["name"].endswith(".events")
        assert (exchange["type"], exchange["durable"], exchange["auto_delete"], exchange["arguments"]) == \
            (code.type, code.durable, code.auto_delete, {}), "must equal bus.events_exchange or bus-init fails (406)"


@pytest.mark.parametrize("tier", TIERS)
def test_templates_are_what_the_generator_makes_of_the_code(tier, monkeypatch):
    """deploy/broker is generated (`zhifa broker-definitions`, services/common/brokerdefs.py): a
    change of config/federation.yaml or of a link consumer must be regenerated into the templates.
    They are generated with the shipped default of ZHIFA_QUORUM_QUEUES (auto: quorum queues, issue 20),
    whatever the test session runs with (tests/conftest.py)."""
    from services.common import brokerdefs

    monkeypatch.delenv("ZHIFA_QUORUM_QUEUES", raising=False)
    assert brokerdefs.definitions_quorum()

    kind, region, name = GENERATED[tier]
    data = definitions(tier)
    assert brokerdefs.generate(kind, region, name, list(CITIES) if kind == "province" else None, data) == data, \
        f"regenerate: zhifa broker-definitions --tier {kind} --region {region} --name {name} --out …"


@pytest.mark.parametrize("tier", TIERS)
def test_the_queues_a_shovel_feeds_exist_before_bus_init_with_its_arguments(tier, monkeypatch):
    """No loss at link start (issue 23): the broker starts the shovels as soon as it imported the
    definitions, before bus-init — so the handler queues of the link's consumers are declared here,
    with their bindings, exactly as bus-init declares them (shipped default: quorum queues with their
    delivery limit, issue 20); every other suite queue is left to it."""
    monkeypatch.delenv("ZHIFA_QUORUM_QUEUES", raising=False)
    data = definitions(tier)
    landing = "upward" if tier == "province" else "downward"
    consumers = {b.queue_name: b for cls in all_service_classes() for b in handler_bindings(cls)
                 if b.source == landing}
    assert consumers, f"no {landing} consumers?"
    handler_queues = {q["name"] for q in data["queues"] if q["name"].startswith("evt-")}
    assert handler_queues == set(consumers)
    for queue in data["queues"]:
        assert not queue["name"].startswith("zhifa.dead-letter"), "dead-letter queues are declared by bus-init"
        assert not queue["name"].endswith(".retry"), "retry queues are declared by bus-init"
        assert queue["durable"] and not queue["auto_delete"]
    declared = {q["name"]: q["arguments"] for q in data["queues"]}
    for name, binding in consumers.items():
        from services.common.brokerdefs import definitions_quorum

        code = binding.queue(quorum=definitions_quorum())     # issue 20: quorum queues when on
        assert (code.durable, code.auto_delete) == (True, False)
        assert declared[name] == (code.queue_arguments or {}), \
            "bus-init must declare what the definitions declare (else 406)"
        bound = [b for b in data["bindings"] if b["destination"] == name]
        assert [(b["source"], b["routing_key"], b["destination_type"]) for b in bound] == \
            [(f"{landing}.events", binding.event_type, "queue")]


@pytest.mark.parametrize("tier", TIERS)
def test_policies_never_touch_handler_or_retry_queues_and_never_overlap(tier):
    data = definitions(tier)
    handler = all_handler_queues()
    assert len(handler) >= 10
    names = handler + [q + ".retry" for q in handler]
    for policy in data["policies"]:
        pattern = re.compile(policy["pattern"])
        assert policy["apply-to"] == "queues"
        assert not [n for n in names if pattern.search(n)], f"{policy['name']} matches suite queues"
    dead = [dead_letter_queue(s).name for s in DB_SERVICES + ("gateway",)]
    buffers = [federation.UPWARD_QUEUE, federation.downward_queue("320400")]
    for name in dead + buffers:
        matching = [p["name"] for p in data["policies"] if re.search(p["pattern"], name)]
        assert len(matching) == 1, f"{name}: policies {matching} (exactly one must apply)"
    (dlq_policy,) = [p for p in data["policies"] if re.search(p["pattern"], dead[0])]
    assert dlq_policy["definition"]["overflow"] == "reject-publish", "a full DLQ must refuse, never drop"


@pytest.mark.parametrize("tier", ["city-320400", "city-320200"])
def test_city_upward_buffer_is_bound_to_exactly_the_configured_event_types(tier):
    data = definitions(tier)
    assert federation.UPWARD_QUEUE in {q["name"] for q in data["queues"]}
    bound = {(b["source"], b["routing_key"]) for b in data["bindings"]
             if b["destination"] == federation.UPWARD_QUEUE and b["destination_type"] == "queue"}
    expected = {(f"{src}.events", t) for src, types in links()["upward"].items() for t in types}
    assert bound == expected, "definitions must follow config/federation.yaml (upward)"
    exchanges = {e["name"] for e in data["exchanges"]}
    assert {s for s, _ in bound} <= exchanges and "downward.events" in exchanges and "departments.events" in exchanges


def test_province_downward_routing_follows_federation_config():
    data = definitions("province")
    e2e = {(b["source"], b["routing_key"]) for b in data["bindings"] if b["destination_type"] == "exchange"}
    assert all(b["destination"] == federation.DOWNWARD_HEADERS_EXCHANGE for b in data["bindings"]
               if b["destination_type"] == "exchange")
    expected = {(f"{src}.events", t) for src, types in links()["downward"].items() for t in types}
    assert e2e == expected, "definitions must follow config/federation.yaml (downward)"
    city_bindings = {b["destination"]: b["arguments"] for b in data["bindings"]
                     if b["source"] == federation.DOWNWARD_HEADERS_EXCHANGE}
    assert city_bindings == {federation.downward_queue(c): {"x-match": "all", "zhifa-city": c} for c in CITIES}
    assert federation.city_of("320404") == "320400"
    assert "upward.events" in {e["name"] for e in data["exchanges"]}


LINKS = [("city-320400", "zhifa-upward-320400", "zhifa.upward", "upward.events", "zhifa-320000", "320400"),
         ("city-320200", "zhifa-upward-320200", "zhifa.upward", "upward.events", "zhifa-320000", "320200")]
LINKS += [("province", f"zhifa-downward-{c}", f"zhifa.downward.{c}", "downward.events", f"zhifa-{c}", c) for c in CITIES]


@pytest.mark.parametrize("tier, name, src_queue, dest_exchange, dest_vhost, city", LINKS)
def test_each_link_has_its_own_user_and_shovels_ack_on_confirm(tier, name, src_queue, dest_exchange, dest_vhost,
                                                               city):
    """Issue 23 (2): one broker user per city link, the same on both brokers, with rights on that
    link's queues only; its shovels publish with user_id = that user (the receiving suite checks
    the event's region against the link)."""
    from services.common import tiers

    data = definitions(tier)
    (param,) = [p for p in data["parameters"] if p["name"] == name]
    assert param["component"] == "shovel"
    value = param["value"]
    user = tiers.DEFAULT_LINK_USER_TEMPLATE.format(city=city)
    assert value["ack-mode"] == "on-confirm"
    assert value["src-queue"] == src_queue and src_queue in {q["name"] for q in data["queues"]}
    assert value["dest-exchange"] == dest_exchange
    assert value["src-uri"].endswith("/" + TIERS[tier]) and value["dest-uri"].endswith("/" + dest_vhost)
    code = federation.shovel("amqp://src", src_queue, "amqp://dest", dest_exchange, link_user=user)
    assert set(value) == set(code)
    for key in code:
        if not key.endswith("-uri"):
            assert value[key] == code[key], key
    assert value["dest-publish-properties"] == {"user_id": user}
    for uri in (value["src-uri"], value["dest-uri"]):
        assert uri.startswith(f"amqp://{user}:${{secret:link_{city}_password}}@")
    perms = {p["user"]: p for p in data["permissions"]}
    link = perms[user]
    assert re.search(link["read"], src_queue) and not re.search(link["read"], "evt-x")
    assert re.fullmatch(link["write"], dest_exchange.replace("downward", "upward") if tier == "province"
                        else "downward.events")
    others = [c for c in CITIES if c != city]
    for other in others:            # a link user has no right on another city's link
        assert not re.search(link["read"], federation.downward_queue(other))
    assert not any(u["name"] == "zhifa-shovel" for u in data["users"]), "no shared shovel login"
    province = definitions("province")
    assert f"link_{city}_password" in json.dumps(province) and f"link_{city}_password" in json.dumps(
        definitions(f"city-{city}"))


@pytest.mark.parametrize("tier", TIERS)
def test_every_secret_the_templates_need_is_created_by_make_secrets(tier, tmp_path):
    """make-secrets.sh creates a file for every placeholder of the tier's template (a new city's
    link password, a new department's), and broker-definitions reads the whole secrets directory."""
    compose = load_yaml(COMPOSE_DIR / "docker-compose.yml")
    service = compose["services"]["broker-definitions"]
    assert any(v.startswith("${ZHIFA_SECRETS_DIR:-./secrets}:") for v in service["volumes"])
    template = BROKER / f"definitions-{tier}.json"
    subprocess.run(["sh", str(COMPOSE_DIR / "make-secrets.sh"), str(tmp_path / "s"), str(template)], check=True,
                   capture_output=True)
    created = {p.name for p in (tmp_path / "s").iterdir()}
    needed = set(re.findall(r"\$\{(?:hash|secret):([a-z0-9_]+)\}", template.read_text()))
    assert needed and needed <= created, needed - created


# -- render.py ---------------------------------------------------------------------------------------

def test_password_hash_is_rabbitmq_sha256_format():
    salt = bytes.fromhex("908d c60a".replace(" ", ""))
    expected = base64.b64encode(salt + hashlib.sha256(salt + b"test12").digest()).decode()
    assert render.rabbit_password_hash("test12", salt) == expected
    hashed = render.rabbit_password_hash("s3cret")
    assert render.check_password_hash("s3cret", hashed) and not render.check_password_hash("other", hashed)
    assert len(base64.b64decode(hashed)) == 36


@pytest.mark.parametrize("tier", TIERS)
def test_render_fills_every_placeholder(tier, tmp_path):
    template = (BROKER / f"definitions-{tier}.json").read_text()
    for name in set(re.findall(r"\$\{(?:hash|secret):([a-z0-9_]+)\}", template)):
        (tmp_path / name).write_text(f"pw-{name}\n")
    out = tmp_path / "out.json"
    env = {"PATH": "/usr/bin:/bin", "ZHIFA_PROVINCE_AMQP_HOST": "prov.example",
           "ZHIFA_CITY_320400_AMQP_HOST": "city.example", "ZHIFA_CITY_320200_AMQP_HOST": "city.example"}
    result = subprocess.run([sys.executable, str(BROKER / "render.py"), str(BROKER / f"definitions-{tier}.json"),
                             "--secrets-dir", str(tmp_path), "--out", str(out)], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "${" not in text and '"_comment"' not in text
    data = json.loads(text)
    for user in data["users"]:
        secret = re.search(r"hash:([a-z0-9_]+)", next(
            u for u in definitions(tier)["users"] if u["name"] == user["name"])["password_hash"]).group(1)
        assert render.check_password_hash(f"pw-{secret}", user["password_hash"]), user["name"]
    for param in data["parameters"]:
        city = param["name"].rsplit("-", 1)[1]
        assert f"zhifa-link-{city}:pw-link_{city}_password@" in param["value"]["dest-uri"]
        assert ("prov.example" if tier.startswith("city") else "city.example") in param["value"]["dest-uri"]


def test_render_refuses_missing_or_placeholder_secrets(tmp_path):
    template = {"users": [{"name": "u", "password_hash": "${hash:missing}"}]}
    with pytest.raises(render.RenderError, match="missing"):
        render.render(template, tmp_path, {})
    (tmp_path / "missing").write_text("CHANGE-ME\n")
    with pytest.raises(render.RenderError, match="placeholder"):
        render.render(template, tmp_path, {})
    with pytest.raises(render.RenderError, match="NOPE"):
        render.render({"x": "${env:NOPE}"}, tmp_path, {})
    assert render.render({"x": "${env:NOPE:dflt}", "_c": 1}, tmp_path, {}) == {"x": "dflt"}
