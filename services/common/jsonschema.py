"""marshmallow → JSON Schema (draft 7) via marshmallow-jsonschema, flattened to one document."""
from __future__ import annotations

from marshmallow_jsonschema import JSONSchema


def schema_to_jsonschema(schema_cls) -> dict:
    dumped = JSONSchema().dump(schema_cls())
    name = dumped["$ref"].split("/")[-1]
    definitions = dumped["definitions"]
    root = dict(definitions.pop(name))
    if definitions:
        root["definitions"] = definitions
    root["title"] = name
    if schema_cls.__doc__:
        root["description"] = " ".join(schema_cls.__doc__.split())
    return root
