"""marshmallow → JSON Schema (draft 7) via marshmallow-jsonschema, flattened to one document."""
from __future__ import annotations

from marshmallow_jsonschema import JSONSchema


DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def _decimals(node):
    """A marshmallow Decimal (money: ``"5000.00"``) takes a JSON number or a decimal string; say so
    (marshmallow-jsonschema calls it ``type: number, format: decimal``, which refused the strings
    every departmental system sends — issue 14)."""
    if isinstance(node, dict):
        node = {key: _decimals(value) for key, value in node.items()}
        if node.get("format") == "decimal":
            del node["format"]
            types = node.get("type")
            types = [types] if isinstance(types, str) else list(types or [])
            node["type"] = [t for t in types if t != "number"] + ["number", "string"]
            if "null" in node["type"]:
                node["type"] = [t for t in node["type"] if t != "null"] + ["null"]
            node["pattern"] = DECIMAL_PATTERN     # applies to the string form only
        return node
    if isinstance(node, list):
        return [_decimals(item) for item in node]
    return node


def schema_to_jsonschema(schema_cls) -> dict:
    dumped = _decimals(JSONSchema().dump(schema_cls()))
    name = dumped["$ref"].split("/")[-1]
    definitions = dumped["definitions"]
    root = dict(definitions.pop(name))
    if definitions:
        root["definitions"] = definitions
    root["title"] = name
    if schema_cls.__doc__:
        root["description"] = " ".join(schema_cls.__doc__.split())
    return root
