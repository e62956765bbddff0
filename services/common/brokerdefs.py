"""RabbitMQ definitions templates of a tier suite, generated from the code (``zhifa broker-definitions``).

``deploy/broker/definitions-<tier>.json`` are what a suite's broker imports at boot (after
``deploy/broker/render.py`` fills in the secrets). They are generated here, from
config/federation.yaml and the services' handler bindings, so that:

- each city link has its own broker user ``zhifa-link-<city>`` (the same name and password on both
  brokers of the link), with rights on that link's queues only; its shovels publish with
  ``dest-publish-properties: {user_id: zhifa-link-<city>}`` so the receiving suite knows which link
  an event came through (services/common/tiers.py checks its region against it);
- the queues a shovel feeds exist before the shovel starts: the handler queues of the suite's tier
  link consumers (``evt-upward-…`` at a province, ``evt-downward-…`` at a city) are declared here with
  their bindings, exactly as ``zhifa bus-init`` declares them (the same arguments: quorum queues with
  their delivery limit and dead-letter target, issue 20), because the broker
  starts its shovels as soon as it has imported the definitions — before bus-init has run — and a
  message a shovel delivers to an exchange with no queue bound is confirmed and dropped (issue 23);
- "Add a city" is two commands: generate the new city's file, regenerate the province's with the
  new city in ``--cities`` (docs/RUNBOOK.md#add-a-city).

Regenerating an existing file keeps what the generator does not own: the departmental users, their
permissions and topic permissions (``dept-…``), which operators edit by hand.
"""
from __future__ import annotations

import json
from pathlib import Path

from services.common import federation
from services.common.bus import all_service_classes, events_exchange, handler_bindings
from services.common.events import DEPARTMENTS

SERVICE_SOURCES = ("records", "review", "disclosure", "complaints", "evaluation")
LINK_USER = "zhifa-link-{city}"          # tiers.DEFAULT_LINK_USER_TEMPLATE
OWNED_USERS_PREFIXES = ("zhifa-",)


def province_of(region: str) -> str:
    return region[:2] + "0000"


def link_password(city: str) -> str:
    return f"link_{city}_password"


def _user(name: str, secret: str, tags=()) -> dict:
    return {"name": name, "password_hash": f"${{hash:{secret}}}", "hashing_algorithm": "rabbit_password_hashing_sha256",
            "tags": list(tags), "limits": {}}


def _perm(user: str, vhost: str, configure: str, write: str, read: str) -> dict:
    return {"user": user, "vhost": vhost, "configure": configure, "write": write, "read": read}


def _queue(name: str, vhost: str, arguments: dict | None = None) -> dict:
    return {"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": arguments or {}}


def definitions_quorum() -> bool:
    """The definitions declare the link consumers' handler queues as bus-init will: quorum queues when
    ZHIFA_QUORUM_QUEUES is on or auto (a broker importing definitions supports them; issue 20)."""
    from services.common import settings

    return settings.get("ZHIFA_QUORUM_QUEUES") != "off"


def _exchange(name: str, vhost: str, kind: str = "topic") -> dict:
    return {"name": name, "vhost": vhost, "type": kind, "durable": True, "auto_delete": False, "internal": False,
            "arguments": {}}


def _binding(source: str, vhost: str, destination: str, kind: str, key: str = "", arguments=None) -> dict:
    return {"source": source, "vhost": vhost, "destination": destination, "destination_type": kind,
            "routing_key": key, "arguments": arguments or {}}


def _escape(name: str) -> str:
    return name.replace(".", "\\.")


def link_consumer_bindings(source: str) -> list:
    """The handler queues (and their routing keys) of every service consuming from a tier link."""
    return sorted((b for cls in all_service_classes() for b in handler_bindings(cls) if b.source == source),
                  key=lambda b: b.queue_name)


def _shovel(name: str, vhost: str, user: str, src_vhost: str, src_queue: str, dest_host: str, dest_port: str,
            dest_vhost: str, dest_exchange: str, secret: str) -> dict:
    value = federation.shovel(f"amqp://{user}:${{secret:{secret}}}@localhost:5672/{src_vhost}", src_queue,
                              f"amqp://{user}:${{secret:{secret}}}@{dest_host}:{dest_port}/{dest_vhost}",
                              dest_exchange, link_user=user)
    return {"vhost": vhost, "component": "shovel", "name": name, "value": value}


def _policies(vhost: str) -> list:
    return [
        {"vhost": vhost, "name": "zhifa-dead-letter-limit", "pattern": "^zhifa\\.dead-letter\\.[a-z]+$",
         "apply-to": "queues", "priority": 10, "definition": {"max-length": 1000000, "overflow": "reject-publish"}},
        {"vhost": vhost, "name": "zhifa-federation-buffer", "pattern": "^zhifa\\.(upward|downward\\.[0-9]+)$",
         "apply-to": "queues", "priority": 10,
         "definition": {"max-length-bytes": 8589934592, "overflow": "reject-publish"}},
    ]


def generate(tier: str, region: str, name: str, cities: list[str] | None = None, existing: dict | None = None,
             links: dict | None = None) -> dict:
    """The definitions template of one suite (``tier`` city or province)."""
    links = links or federation.load_links()
    vhost = f"zhifa-{region}"
    label = "city" if tier == "city" else "province"
    description = f"zhifa {label} suite {region} {name}"
    users = [_user("zhifa-admin", "rabbitmq_admin_password", ["administrator"]), _user(vhost, "amqp_password")]
    permissions = [_perm("zhifa-admin", vhost, ".*", ".*", ".*"), _perm(vhost, vhost, ".*", ".*", ".*")]
    exchanges = [_exchange(f"{DEPARTMENTS}.events", vhost)] + [_exchange(f"{s}.events", vhost) for s in SERVICE_SOURCES]
    queues, bindings, parameters = [], [], []
    if tier == "city":
        user = LINK_USER.format(city=region)
        users.append(_user(user, link_password(region)))
        permissions.append(_perm(user, vhost, f"^{_escape(federation.UPWARD_QUEUE)}$",
                                 f"^{_escape(federation.DOWNWARD_EXCHANGE)}\\.events$",
                                 f"^{_escape(federation.UPWARD_QUEUE)}$"))
        exchanges.append(_exchange(f"{federation.DOWNWARD_EXCHANGE}.events", vhost))
        queues.append(_queue(federation.UPWARD_QUEUE, vhost))
        for source, types in (links.get("upward") or {}).items():
            for event_type in types:
                bindings.append(_binding(f"{source}.events", vhost, federation.UPWARD_QUEUE, "queue", event_type))
        landing = federation.DOWNWARD_EXCHANGE
        province = province_of(region)
        parameters.append(_shovel(f"zhifa-upward-{region}", vhost, user, vhost, federation.UPWARD_QUEUE,
                                  "${env:ZHIFA_PROVINCE_AMQP_HOST:rabbitmq}", "${env:ZHIFA_PROVINCE_AMQP_PORT:5672}",
                                  f"zhifa-{province}", f"{federation.UPWARD_EXCHANGE}.events", link_password(region)))
    else:
        exchanges.append(_exchange(f"{federation.UPWARD_EXCHANGE}.events", vhost))
        exchanges.append(_exchange(federation.DOWNWARD_HEADERS_EXCHANGE, vhost, "headers"))
        for source, types in (links.get("downward") or {}).items():
            for event_type in types:
                bindings.append(_binding(f"{source}.events", vhost, federation.DOWNWARD_HEADERS_EXCHANGE, "exchange",
                                         event_type))
        for city in sorted(cities or ()):
            user = LINK_USER.format(city=city)
            queue = federation.downward_queue(city)
            users.append(_user(user, link_password(city)))
            permissions.append(_perm(user, vhost, f"^{_escape(queue)}$",
                                     f"^{_escape(federation.UPWARD_EXCHANGE)}\\.events$", f"^{_escape(queue)}$"))
            queues.append(_queue(queue, vhost))
            bindings.append(_binding(federation.DOWNWARD_HEADERS_EXCHANGE, vhost, queue, "queue", "",
                                     {"x-match": "all", "zhifa-city": city}))
            parameters.append(_shovel(f"zhifa-downward-{city}", vhost, user, vhost, queue,
                                      f"${{env:ZHIFA_CITY_{city}_AMQP_HOST:rabbitmq}}",
                                      f"${{env:ZHIFA_CITY_{city}_AMQP_PORT:5672}}", f"zhifa-{city}",
                                      f"{federation.DOWNWARD_EXCHANGE}.events", link_password(city)))
        landing = federation.UPWARD_EXCHANGE
    # the queues the link's shovel feeds, so nothing it delivers before bus-init is dropped
    for b in link_consumer_bindings(landing):
        queues.append(_queue(b.queue_name, vhost, b.queue(definitions_quorum()).queue_arguments))
        bindings.append(_binding(events_exchange(b.source).name, vhost, b.queue_name, "queue", b.event_type))
    kept_users, kept_perms, kept_topics = [], [], []
    if existing:
        owned = {u["name"] for u in users}
        kept_users = [u for u in existing.get("users", []) if u["name"] not in owned
                      and not u["name"].startswith(OWNED_USERS_PREFIXES)]
        kept = {u["name"] for u in kept_users}
        kept_perms = [p for p in existing.get("permissions", []) if p["user"] in kept]
        kept_topics = [t for t in existing.get("topic_permissions", []) if t["user"] in kept]
    comment = [
        f"zhifa {label} suite {region} ({name}) — broker definitions TEMPLATE, generated by",
        f"`zhifa broker-definitions --tier {tier} --region {region} --name {name}"
        + (f" --cities {','.join(sorted(cities or ()))}" if tier == "province" else "") + "` (services/common/brokerdefs.py):",
        "regenerate after changing config/federation.yaml or the link consumers; departmental users (dept-…) are kept.",
        "Render with deploy/broker/render.py (fills ${hash:NAME} / ${secret:NAME} from secret files and",
        "${env:NAME:default} from the environment, drops _comment keys), then import at boot (load_definitions).",
        "Here: the vhost; users (admin, the suite user, one link user per city link, departments) and their",
        "permissions; the link buffer queues, their bindings and shovels (ack on confirm, user_id = link user);",
        "the tier link consumers' handler queues and bindings (they exist before any shovel delivers); policies.",
        "The other handler, retry and dead-letter queues are declared by `zhifa bus-init`. docs/RUNBOOK.md#broker-definitions",
    ]
    return {
        "_comment": comment,
        "vhosts": [{"name": vhost, "description": description, "tags": ["zhifa", label],
                    "metadata": {"description": description, "tags": ["zhifa", label]}}],
        "users": users + kept_users,
        "permissions": permissions + kept_perms,
        "topic_permissions": kept_topics,
        "parameters": parameters,
        "global_parameters": [],
        "policies": _policies(vhost),
        "queues": queues,
        "exchanges": exchanges,
        "bindings": bindings,
    }


def write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
