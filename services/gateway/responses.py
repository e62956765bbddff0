"""JSON Schemas of the gateway's success answers, keyed by (method, rule) (issue 14): what a client may
rely on. Objects list the fields they always carry; services may add fields (additional properties
are allowed), never drop or retype these. Operations not listed answer a JSON object."""
from __future__ import annotations


def obj(required: dict | None = None, optional: dict | None = None) -> dict:
    props = {**(required or {}), **(optional or {})}
    schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    return schema


def array(items: dict | None = None) -> dict:
    return {"type": "array", "items": items or {"type": "object"}}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
NULLABLE_STRING = {"type": ["string", "null"]}

LIST_OF = lambda key: obj({key: array()})  # noqa: E731 - {"<key>": [objects]}

PUBLICATION = obj({"publication_id": STRING, "decision_no": STRING, "body_id": STRING, "region_code": STRING,
                   "action_type": STRING, "category": STRING, "parties": STRING, "conclusion": STRING,
                   "decided_on": STRING, "url": STRING})
SEARCH_PAGE = obj({"page": INTEGER, "page_size": {"type": ["integer", "null"]}, "has_more": BOOLEAN,
                   "max_results": INTEGER, "results": array(PUBLICATION)})
TREE_HEADS = obj({"log_id": STRING, "algorithm": STRING, "public_key": STRING, "tree_heads": array()})

RESPONSES: dict = {
    ("GET", "/healthz"): obj({"status": {"const": "ok"}}),
    ("GET", "/api/v1/openapi.json"): obj({"openapi": STRING, "info": {"type": "object"}, "paths": {"type": "object"},
                                          "components": {"type": "object"}}),
    ("POST", "/api/v1/events"): obj({"event_id": {"type": "string", "format": "uuid"}, "status": {"const": "accepted"}}),
    # disclosure: open data (DISC-9) and staff lists
    ("GET", "/api/v1/public/decisions"): SEARCH_PAGE,
    ("GET", "/api/v1/public/decisions/<publication_id>"): PUBLICATION,
    ("GET", "/api/v1/public/bodies"): LIST_OF("bodies"),
    ("GET", "/api/v1/public/certificates/<certificate_no>"): obj(
        {"certificate_no": STRING, "found": BOOLEAN, "verification_url": STRING}, {"valid": {"type": ["boolean", "null"]}}),
    ("GET", "/api/v1/disclosure/due"): LIST_OF("publications"),
    ("GET", "/api/v1/disclosure/stale-powers"): LIST_OF("stale_powers"),
    # records (REC-4): public tree heads and proofs
    ("GET", "/api/v1/public/records/tree-head"): obj({"log_id": STRING, "algorithm": STRING, "public_key": STRING,
                                                      "tree_head": {"type": ["object", "null"]}}),
    ("GET", "/api/v1/public/records/tree-heads"): TREE_HEADS,
    ("GET", "/api/v1/public/records/witnessed-heads"): LIST_OF("heads"),
    ("GET", "/api/v1/public/records/witness"): LIST_OF("logs"),
    ("GET", "/api/v1/public/records/province-witness"): obj({"province_witness": {"type": ["object", "null"]}}),
    ("POST", "/api/v1/admin/records/witness/<log_id>/resolve"): obj({"resolution": {"type": "object"}}),
    ("POST", "/api/v1/records/blobs"): obj({"content_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                            "size": INTEGER, "already_stored": BOOLEAN}),
    # complaints (CMP)
    ("GET", "/api/v1/complaints"): LIST_OF("complaints"),
    ("GET", "/api/v1/complaints/escalations"): LIST_OF("escalations"),
    ("GET", "/api/v1/body-complaints"): LIST_OF("complaints"),
    # evaluation, review
    ("GET", "/api/v1/evaluation/directives"): LIST_OF("directives"),
    ("GET", "/api/v1/review/tasks"): LIST_OF("tasks"),
    ("GET", "/api/v1/review/violations"): LIST_OF("violations"),
    ("GET", "/api/v1/review/staffing"): LIST_OF("bodies"),
    ("GET", "/api/v1/review/gate"): obj({"allowed": BOOLEAN}, {"reasons": array(STRING)}),
}
