"""OpenAPI 3.1 document generated from the gateway's route table and marshmallow schemas."""
from __future__ import annotations

import re

from services.common.jsonschema import schema_to_jsonschema


def document(routes) -> dict:
    paths: dict = {}
    for route in routes:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.path)
        params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in re.findall(r"{(\w+)}", path)]
        op = {
            "summary": route.summary,
            "tags": list(route.tags),
            "parameters": params,
            "security": [] if not route.roles else [{"staffToken": []}, {"apiKey": []}],
            "x-roles": list(route.roles) or ["public"],
            "responses": {str(route.success): {"description": "OK"},
                          "4XX": {"description": "Error with field errors",
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        }
        if route.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": schema_to_jsonschema(route.body)}}}
        if route.path == "/api/v1/events":
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                "$ref": "https://zhifa.example/contracts/envelope.schema.json"}}}}
        paths.setdefault(path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "zhifa gateway", "version": "1.0.0",
                 "description": "HTTP edge of zhifa (执法监督). Public endpoints need no credentials; departmental "
                                "systems send X-Api-Key; staff send a Bearer token with role and region."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "staffToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
            "schemas": {"Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string"}, "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True}}}},
        },
    }
