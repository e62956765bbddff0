"""Published, versioned contracts for departmental systems (PLAT-7): JSON Schema per event type and
an AsyncAPI document, generated from the marshmallow catalogue into ``docs/contracts/``."""
from __future__ import annotations

import json
from pathlib import Path

from services.common.events import CATALOGUE, DEPARTMENTS, SCHEMA_MAJOR, EnvelopeSchema
from services.common.jsonschema import schema_to_jsonschema

CONTRACTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "contracts"
BASE_URI = "https://zhifa.example/contracts"
MAPPING_FILE = "sft0052-mapping.md"


def event_schema(event_type: str) -> dict:
    spec = CATALOGUE[event_type]
    envelope = schema_to_jsonschema(EnvelopeSchema)
    payload = schema_to_jsonschema(spec.schema)
    envelope["$schema"] = "http://json-schema.org/draft-07/schema#"
    envelope["$id"] = f"{BASE_URI}/events/{event_type}.schema.json"
    envelope["title"] = event_type
    envelope["description"] = f"{spec.summary}. Emitted by {spec.emitter}. Schema version {spec.version}."
    props = envelope["properties"]
    props["event_type"] = {"const": event_type}
    props["schema_version"] = {"type": "string", "pattern": rf"^{SCHEMA_MAJOR}\.\d+$", "examples": [spec.version]}
    definitions = {**envelope.pop("definitions", {}), **payload.pop("definitions", {})}
    props["payload"] = payload
    if spec.needs_case and "case_id" not in envelope["required"]:
        envelope["required"] = sorted(set(envelope["required"]) | {"case_id"})
    if definitions:
        envelope["definitions"] = definitions
    return envelope


def asyncapi() -> dict:
    channels = {}
    for name, spec in CATALOGUE.items():
        exchange = f"{spec.emitter}.events"
        channels[f"{exchange}/{name}"] = {
            "description": spec.summary,
            "bindings": {"amqp": {"is": "routingKey", "exchange": {
                "name": exchange, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
                "bindingVersion": "0.2.0"}},
            ("publish" if spec.emitter == DEPARTMENTS else "subscribe"): {
                "operationId": f"{spec.emitter}_{name.replace('.', '_')}",
                "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": "0.2.0"}},
                "message": {"name": name, "contentType": "application/json",
                            "payload": {"$ref": f"events/{name}.schema.json"}},
            },
        }
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "zhifa event catalogue (执法监督数据标准)", "version": f"{SCHEMA_MAJOR}.0.0",
                 "description": "Departmental systems publish JSON envelopes to the topic exchange "
                                "`departments.events` with the event type as routing key, persistent, "
                                "content type application/json, with publisher confirms. zhifa services "
                                "publish to `<service>.events`. See docs/INTEGRATION.md."},
        "servers": {"broker": {"url": "amqp://127.0.0.1:5672", "protocol": "amqp", "protocolVersion": "0.9.1"}},
        "defaultContentType": "application/json",
        "channels": channels,
    }


def export(directory: Path = CONTRACTS_DIR) -> list[Path]:
    written = []
    (directory / "events").mkdir(parents=True, exist_ok=True)
    for name in CATALOGUE:
        path = directory / "events" / f"{name}.schema.json"
        path.write_text(json.dumps(event_schema(name), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    envelope = schema_to_jsonschema(EnvelopeSchema)
    envelope["$id"] = f"{BASE_URI}/envelope.schema.json"
    (directory / "envelope.schema.json").write_text(json.dumps(envelope, ensure_ascii=False, indent=2) + "\n",
                                                    encoding="utf-8")
    (directory / "asyncapi.json").write_text(json.dumps(asyncapi(), ensure_ascii=False, indent=2) + "\n",
                                             encoding="utf-8")
    from services.common.dataelements import markdown   # PLAT-7: the SF/T 0052 mapping (issue 18)

    (directory / MAPPING_FILE).write_text(markdown(), encoding="utf-8")
    return written + [directory / "envelope.schema.json", directory / "asyncapi.json", directory / MAPPING_FILE]
