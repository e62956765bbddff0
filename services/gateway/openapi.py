"""The gateway's contract: an OpenAPI 3.1 document generated from the route table, and the request
validator built from the same document (issue 14, PLAT-7).

Everything a client can send is described — path parameters with their types and ranges, query
parameters, JSON and form bodies — and every answer: the success body (JSON with its schema, HTML,
CSV, Atom, PNG), redirects, and errors (the JSON error body; HTML error pages for pages). Every
``$ref`` points inside the document: marshmallow schemas become ``#/components/schemas/…`` (nested
schemas too), and ``POST /api/v1/events`` takes one of the departmental event envelopes, each with
its own payload schema — the same JSON Schema as ``docs/contracts/``.

The gateway validates each request against this document before the handler runs (``validate``:
422 with field errors, in Chinese), then the handler loads the body with its marshmallow schema (the
rules JSON Schema cannot say: check digits, cross-field rules). So what the document refuses, the
gateway refuses — the contract clients code against is the one enforced.
"""
from __future__ import annotations

import copy
import json
import re
from functools import lru_cache

import jsonschema_rs

from services.common.blobs import ATTACHMENT_MEDIA_TYPES
from services.common.jsonschema import schema_to_jsonschema

PATH_PARAM_RE = re.compile(r"<(?:(\w+):)?(\w+)>")
NO_NUL = "^[^\\u0000]*$"          # PostgreSQL text cannot hold NUL: no string the gateway takes may
# a path segment: no NUL or other control character
SEGMENT = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\u0000-\\u001f/]+$"}

# path parameters by name: what identifies a resource (a value outside these cannot exist: 422)
PATH_PARAMS = {
    "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
    "month": {"type": "integer", "minimum": 1, "maximum": 12},
    "sequence": {"type": "integer", "minimum": 0, "maximum": 2 ** 62},
    "consequence_id": {"type": "integer", "minimum": 1, "maximum": 2 ** 62},
    "region_code": {"type": "string", "pattern": "^[1-9][0-9]{5}([0-9]{3})?$"},
    "content_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "subject_kind": {"type": "string", "enum": ["body", "officer"]},
    "kind": {"type": "string", "enum": ["service_guide", "remedy_channel", "inspection_matter"]},
    "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,100}$"},
}

ERROR_SCHEMA = {
    "type": "object", "required": ["error", "message"],
    "description": "An error: a machine code, a Chinese message, field errors keyed like the request, and the "
                   "correlation id to quote to operators.",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                   "correlation_id": {"type": "string"},
                   "fields": {"type": "object", "additionalProperties": True}}}
HTML = {"type": "string", "description": "A page in Simplified Chinese"}
MEDIA_SCHEMAS = {"text/html": HTML, "text/csv": {"type": "string", "description": "UTF-8 CSV with a BOM"},
                 "application/atom+xml": {"type": "string", "description": "An Atom 1.0 feed"},
                 "image/png": {"type": "string", "format": "binary"},
                 "application/octet-stream": {"type": "string", "format": "binary"},
                 "text/css": {"type": "string"}, "application/javascript": {"type": "string"}}


# -- marshmallow schemas as components ------------------------------------------------------------------
class Components:
    """``#/components/schemas``: marshmallow schemas (and their nested ones) under their class names;
    two different schemas with one name get a suffix. ``#/definitions/X`` references are rewritten."""

    def __init__(self):
        self.schemas: dict = {"Error": ERROR_SCHEMA}

    def add(self, name: str, schema: dict) -> str:
        key, n = name, 1
        while key in self.schemas and self.schemas[key] != schema:
            n += 1
            key = f"{name}{n}"
        self.schemas[key] = schema
        return key

    def marshmallow(self, schema_cls) -> dict:
        """A reference to the component of a marshmallow schema class."""
        dumped = schema_to_jsonschema(schema_cls)
        return {"$ref": "#/components/schemas/" + self.hoist(dumped, schema_cls.__name__)}

    def hoist(self, dumped: dict, name: str) -> str:
        dumped = copy.deepcopy(dumped)
        definitions = dumped.pop("definitions", {})
        names = {}
        for def_name in definitions:                      # nested schemas first (they cannot nest us)
            names[def_name] = def_name
        for def_name, definition in definitions.items():
            names[def_name] = self.add(def_name, _clean(_rewrite(definition, names)))
        return self.add(name, _clean(_rewrite(dumped, names)))


def _rewrite(node, names: dict):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/definitions/"):
                out[key] = "#/components/schemas/" + names.get(value.split("/")[-1], value.split("/")[-1])
            else:
                out[key] = _rewrite(value, names)
        return out
    if isinstance(node, list):
        return [_rewrite(item, names) for item in node]
    return node


def _clean(node):
    """marshmallow-jsonschema's output made exact: no non-standard ``format: decimal`` (a number) or
    ``enumNames``; every string without a pattern refuses NUL (PostgreSQL cannot store it)."""
    if isinstance(node, dict):
        node = {k: _clean(v) for k, v in node.items() if k != "enumNames"}
        if node.get("format") == "decimal":
            del node["format"]
        types = node.get("type")
        if (types == "string" or (isinstance(types, list) and "string" in types)) and "pattern" not in node \
                and "enum" not in node and "format" not in node:
            node["pattern"] = NO_NUL
        return node
    if isinstance(node, list):
        return [_clean(item) for item in node]
    return node


# -- the document ------------------------------------------------------------------------------------------
def openapi_path(rule: str) -> str:
    return PATH_PARAM_RE.sub(lambda m: "{" + m.group(2) + "}", rule)


def path_parameters(rule: str) -> list[dict]:
    params = []
    for converter, name in PATH_PARAM_RE.findall(rule):
        schema = dict(SEGMENT)
        if converter == "int":
            schema = {"type": "integer", "minimum": 0}
        schema.update(PATH_PARAMS.get(name, {}))
        if schema.get("type") == "integer":
            schema.pop("pattern", None), schema.pop("minLength", None), schema.pop("maxLength", None)
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def query_parameters(route) -> list[dict]:
    params = []
    for name, spec in (route.query or {}).items():
        spec = dict(spec)
        required = spec.pop("required", False)
        description = spec.pop("description", None)
        if spec.get("type") == "string" and "pattern" not in spec and "enum" not in spec and "format" not in spec:
            spec["pattern"] = NO_NUL
        param = {"name": name, "in": "query", "required": required, "schema": spec}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _departmental_events(components: Components) -> dict:
    from services.common.contracts import event_schema
    from services.common.events import CATALOGUE, DEPARTMENTS

    variants = []
    for event_type, spec in CATALOGUE.items():
        if spec.emitter != DEPARTMENTS:
            continue
        schema = event_schema(event_type)
        schema.pop("$schema", None), schema.pop("$id", None)
        name = "Event_" + event_type
        variants.append({"$ref": "#/components/schemas/" + components.hoist(schema, name)})
    return {"oneOf": variants, "description": "A departmental event: the envelope with the payload of its "
                                              "event_type (docs/contracts/events/*.schema.json)"}


def _responses(route, components: Components) -> dict:
    media = route.media
    success_schema = route.response if isinstance(route.response, dict) else (
        components.marshmallow(route.response) if route.response is not None else
        MEDIA_SCHEMAS.get(media, {"type": "object"}))
    content = {media: {"schema": success_schema}}
    if media == "application/octet-stream":  # an attachment is served with the media type it was stored with
        for stored in ATTACHMENT_MEDIA_TYPES:
            content[stored] = {"schema": MEDIA_SCHEMAS["application/octet-stream"]}
    if media == "text/css":                 # the static files: style sheets and scripts
        content["application/javascript"] = {"schema": MEDIA_SCHEMAS["application/javascript"]}
    success = {"description": route.summary or "OK", "content": content}
    responses = {str(route.success): success}
    # issue 19: every address outside /api/ (pages, downloads, static files) answers errors as a Chinese page
    page = not route.path.startswith("/api/") and route.path != "/healthz"
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    if page:
        error_content["text/html"] = {"schema": HTML}
    responses["4XX"] = {"description": "Refused: the JSON error body (pages: an error page in Chinese)",
                        "content": error_content}
    if route.redirects:
        responses["3XX"] = {"description": "Redirect (e.g. to sign in, or after a form is sent)",
                            "headers": {"Location": {"schema": {"type": "string"}, "required": True}}}
    return responses


def _request_body(route, components: Components):
    if route.path == "/api/v1/events":
        return {"required": True, "content": {"application/json": {"schema": _departmental_events(components)}}}
    if route.body is not None:
        return {"required": not route.body_optional,
                "content": {"application/json": {"schema": components.marshmallow(route.body)}}}
    if route.form is not None:
        content_type = "multipart/form-data" if route.files else "application/x-www-form-urlencoded"
        return {"required": True, "content": {content_type: {"schema": route.form}}}
    if route.raw_body:
        return {"required": True, "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
    return None


@lru_cache(maxsize=4)
def _document(routes: tuple) -> str:
    components = Components()
    paths: dict = {}
    for route in routes:
        op = {"operationId": f"{route.method.lower()}_{route.handler or openapi_path(route.path)}",
              "summary": route.summary, "tags": list(route.tags),
              "parameters": path_parameters(route.path) + query_parameters(route),
              "security": [] if not route.roles else [{"staffToken": []}, {"apiKey": []}, {"staffSession": []}],
              "x-roles": list(route.roles) or ["public"],
              "responses": _responses(route, components)}
        body = _request_body(route, components)
        if body is not None:
            op["requestBody"] = body
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = op
    return json.dumps({
        "openapi": "3.1.0",
        "info": {"title": "zhifa gateway", "version": "1.0.0",
                 "description": "HTTP edge of zhifa (执法监督). Public endpoints need no credentials; departmental "
                                "systems send X-Api-Key; staff send a Bearer token with role and region. Errors "
                                "are JSON {error, message, correlation_id, fields}. docs/INTEGRATION.md lists "
                                "every status."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "staffToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "staffSession": {"type": "apiKey", "in": "cookie", "name": "zhifa_session",
                                 "description": "the session of a staff member signed in at /auth/login (pages; "
                                                "writes also need the page's CSRF token)"},
            },
            "schemas": components.schemas,
        },
    }, ensure_ascii=False)


def document(routes) -> dict:
    return json.loads(_document(tuple(routes)))


# -- validating requests against the document ---------------------------------------------------------
class Invalid(Exception):
    def __init__(self, fields: dict):
        super().__init__("invalid request")
        self.fields = fields


@lru_cache(maxsize=4)
def _validators(routes: tuple) -> dict:
    doc = json.loads(_document(routes))
    components = {"components": doc["components"]}
    validators = {}
    for route in routes:
        op = doc["paths"][openapi_path(route.path)][route.method.lower()]
        params = {"path": {}, "query": {}}
        required = {"path": [], "query": []}
        for param in op["parameters"]:
            params[param["in"]][param["name"]] = param["schema"]
            if param["required"]:
                required[param["in"]].append(param["name"])
        compiled = {}
        for where in ("path", "query"):
            if params[where]:
                compiled[where] = (jsonschema_rs.validator_for(
                    {"type": "object", "properties": params[where], "required": required[where]},
                    validate_formats=True), params[where])
        body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
        if body is not None:
            compiled["body"] = jsonschema_rs.validator_for({**body["schema"], **components}, validate_formats=True)
            if "oneOf" in body["schema"]:      # the events: each type against its own envelope (precise errors)
                compiled["variants"] = {
                    name[len("Event_"):]: jsonschema_rs.validator_for(
                        {"$ref": "#/components/schemas/" + name, **components}, validate_formats=True)
                    for name in doc["components"]["schemas"] if name.startswith("Event_")}
        validators[(route.method, route.path)] = compiled
    return validators


def _coerce(values: dict, schemas: dict) -> dict:
    """Query/path values as the schema types them: integers parsed (a non-integer stays a string and
    fails the type)."""
    out = {}
    for name, value in values.items():
        if name not in schemas:
            continue
        if schemas[name].get("type") == "integer" and isinstance(value, str):
            try:
                value = int(value, 10) if re.fullmatch(r"-?[0-9]+", value) else value
            except ValueError:
                pass
        out[name] = value
    return out


def validate(routes, route, path_values: dict, query: dict, body=None, has_body: bool = False) -> None:
    """Raise Invalid with Chinese field errors when the request does not match the document."""
    compiled = _validators(tuple(routes)).get((route.method, route.path))
    if compiled is None:        # a route outside the table (tests declare such routes): nothing to check against
        return
    errors: dict = {}
    for where, values in (("path", path_values), ("query", query)):
        if where in compiled:
            validator, schemas = compiled[where]
            for error in validator.iter_errors(_coerce(values, schemas)):
                _add(errors, error)
    if has_body and "body" in compiled:
        variants = compiled.get("variants")
        validator = compiled["body"]
        if variants is not None and isinstance(body, dict):      # the events: judged as their event type
            event_type = body.get("event_type")
            validator = variants.get(event_type) if isinstance(event_type, str) else None
            if validator is None:
                errors["event_type"] = ["应为部门可报送的事件类型之一：" + "、".join(sorted(variants))]
        if validator is not None:
            for error in validator.iter_errors(body):
                _add(errors, error)
    if errors:
        raise Invalid(errors)


def _add(errors: dict, error) -> None:
    path = [str(p) for p in error.instance_path]
    kind = error.kind
    name = type(kind).__name__
    if name == "Required":
        path.append(str(kind.property))
        message = MISSING
    elif name == "AdditionalProperties":
        for extra in kind.unexpected:
            errors.setdefault(".".join(path + [str(extra)]), []).append("不允许的字段")
        return
    else:
        message = _MESSAGES.get(name, "取值无效")
        for attr in ("limit", "format", "pattern"):
            if "{" + attr + "}" in message:
                message = message.replace("{" + attr + "}", str(getattr(kind, attr, "")))
        if name == "Type":
            message = "类型有误"
        if name == "Enum":
            message = "取值应为：" + "、".join(str(o) for o in kind.options)
    errors.setdefault(".".join(path) or "_schema", []).append(message)


MISSING = "缺少必填字段"
_MESSAGES = {"MaxLength": "长度不能超过{limit}", "MinLength": "长度不能少于{limit}", "Maximum": "不能大于{limit}",
             "Minimum": "不能小于{limit}", "Pattern": "格式不正确", "Format": "格式应为 {format}",
             "MaxItems": "最多{limit}项", "MinItems": "至少{limit}项", "OneOfNotValid": "不符合任何一种事件格式",
             "ExclusiveMinimum": "应大于{limit}", "ExclusiveMaximum": "应小于{limit}", "Constant": "取值不符"}
