"""What the OpenAPI document says about each operation beyond its route (issue 14): query parameters,
the media type and schema of the success answer, form bodies, redirects. Keyed by (method, rule);
``endpoint`` merges an entry into the route it declares (services/gateway/http.py), and a test checks
that every key names a route and that every handler reading ``request.args`` has its parameters here.
The gateway validates every request against the document built from it (openapi.validate)."""
from __future__ import annotations

from services.common.catalogue.fields import ACTION_TYPES
from services.gateway.responses import RESPONSES

REGION = {"type": "string", "pattern": "^[1-9][0-9]{5}([0-9]{3})?$", "description": "GB/T 2260 code (6 or 9 digits)"}
YEAR = {"type": "integer", "minimum": 2000, "maximum": 2100}
DATE = {"type": "string", "format": "date"}
FLAG = {"type": "string", "enum": ["0", "1", "true", "false"]}
IDENT = {"type": "string", "minLength": 1, "maxLength": 64}
ISO_TIME = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
            "description": "ISO 8601 date or date-time with zone"}
EMPTY = {"type": "string", "maxLength": 0}


def text(max_length: int, min_length: int = 0) -> dict:
    spec = {"type": "string", "maxLength": max_length}
    if min_length:
        spec["minLength"] = min_length
    return spec


BIGINT = 2 ** 62     # sizes, sequences and positions: within a PostgreSQL bigint


def integer(minimum: int | None = None, maximum: int = BIGINT) -> dict:
    spec = {"type": "integer", "maximum": maximum}
    if minimum is not None:
        spec["minimum"] = minimum
    return spec


def required(spec: dict) -> dict:
    return {**spec, "required": True}


PURPOSE = required({**text(200, 1), "description": "调阅事由: why the records are read (REC-6, logged)"})
LIMIT = integer(1, 10_000)
SEARCH = {"q": {**text(200), "description": "keywords separated by spaces or ，、； (AND)"}, "body_id": text(64),
          "region_code": {**REGION, "pattern": "^([1-9][0-9]{5}([0-9]{3})?)?$"},
          "action_type": {"type": "string", "enum": ["", *ACTION_TYPES]}, "date_from": {"anyOf": [DATE, {"type": "string", "maxLength": 0}]},
          "date_to": {"anyOf": [DATE, {"type": "string", "maxLength": 0}]}}
AUDIT = {"subject": text(128), "role": text(32), "action": text(200), "outcome": text(32), "phase": text(16),
         "correlation_id": text(64), "source_address": text(64), "from": ISO_TIME, "to": ISO_TIME,
         "before": integer(0), "limit": LIMIT}
REGION_YEAR = {"region_code": REGION, "year": YEAR}
SORT = {"type": "string", "enum": ["", "date", "amount"],
        "description": "date: newest decision first (default); amount: largest fine first (issue 19)"}
CSRF = {"type": "string", "maxLength": 200, "description": "the page's CSRF token (SEC-5)"}

OPERATIONS: dict = {
    # -- operations -----------------------------------------------------------------------------
    ("GET", "/static/<name>"): {"media": "text/css"},
    # -- audit (SEC-3) ----------------------------------------------------------------------------
    ("GET", "/api/v1/audit/entries"): {"query": AUDIT},
    ("GET", "/audit"): {"query": AUDIT, "redirects": True},
    # -- complaints -------------------------------------------------------------------------------
    ("POST", "/api/v1/public/complaints"): {"form": {"type": "object", "description": "the same fields as the JSON "
                                                     "body, attachments as files", "additionalProperties": True},
                                            "files": True},
    ("GET", "/api/v1/public/complaints/<number>"): {"query": {"code": {**text(32), "description":
                                                                       "查询码 given when filing (without it: 404)"}}},
    ("GET", "/complaints"): {"query": {"region_code": REGION, "body_id": text(64), "decision": text(64)}},
    ("GET", "/complaints/receipt/<token>"): {},
    ("POST", "/complaints"): {"redirects": True, "form": {"type": "object", "properties": {
        "csrf_token": CSRF, "submission_token": text(64), "name": text(50), "phone": text(20),
        "region_code": text(9), "body_id": text(64),
        "officer_ids": text(1000), "request": text(2000), "facts": text(10000), "id_number": text(18),
        "address": text(300), "case_id": text(64), "against_private_enterprise": text(5),
        "about_officer_conduct": text(5), "under_reconsideration_or_litigation": text(5),
        "attachments": {"type": "array", "items": {"type": "string", "format": "binary"}}}}, "files": True},
    ("GET", "/complaints/status"): {"query": {"number": text(32)}},
    ("POST", "/complaints/status"): {"form": {"type": "object", "properties": {
        "csrf_token": CSRF, "number": text(32), "code": text(32), "rating": text(1), "comment": text(500),
        "action": text(8)}}},
    ("GET", "/api/v1/complaints"): {"query": {
        "status": text(32), "channel": text(32), "overdue": FLAG, "escalated": FLAG, "private_enterprise": FLAG,
        "limit": LIMIT}},
    ("GET", "/api/v1/complaints/reports/private-enterprise"): {"query": {"year": YEAR}},
    ("GET", "/api/v1/complaints/escalations"): {"query": {"status": text(32), "city_code": REGION, "limit": LIMIT}},
    # -- disclosure -------------------------------------------------------------------------------
    ("GET", "/disclosure/bodies/<body_id>"): {"query": {"as_of": text(10)}},
    ("GET", "/disclosure/verify"): {"query": {"certificate_no": text(64)}},
    ("GET", "/disclosure/draws/<draw_id>"): {"query": {"public_value": text(500)}},
    ("GET", "/api/v1/public/decisions"): {"query": {**SEARCH, "page": {**integer(1, 50), "description":
                                                                        "20 a page, the first 1,000 results"},
                                                    "sort": SORT}},
    ("GET", "/api/v1/public/decisions.csv"): {"query": {**SEARCH, "limit": LIMIT}, "media": "text/csv"},
    ("GET", "/api/v1/public/decisions.atom"): {"query": SEARCH, "media": "application/atom+xml"},
    ("GET", "/api/v1/public/bodies"): {"query": {"region_code": REGION}},
    ("GET", "/api/v1/public/bodies/<body_id>"): {"query": {"as_of": DATE}},
    ("GET", "/api/v1/public/certificates/<certificate_no>/qr.png"): {"media": "image/png"},
    ("GET", "/api/v1/public/draws/<draw_id>"): {"query": {"public_value": text(500)}},
    # a page past the reachable results is answered by the page itself (issue 19), not refused
    # the portal's region box takes a name ("武进区", "常州市武进区") as well as a code (issue 19)
    ("GET", "/"): {"query": {**SEARCH, "region_code": {**text(60), "description": "a region's name or its GB/T 2260 "
                                                                               "code"},
                             "page": integer(1, 1_000_000), "sort": SORT}},
    # -- evaluation -------------------------------------------------------------------------------
    ("GET", "/api/v1/evaluation/summary"): {"query": REGION_YEAR},
    ("GET", "/api/v1/evaluation/scores"): {"query": {**REGION_YEAR, "subject": {"type": "string",
                                                                                "enum": ["body", "officer"]},
                                                      "as_of": DATE}},
    ("GET", "/api/v1/evaluation/scores/<subject_kind>/<subject_id>"): {"query": {"year": YEAR, "as_of": DATE}},
    ("GET", "/api/v1/evaluation/scores/<subject_kind>/<subject_id>/indicators/<code>/evidence"): {
        "query": {"year": YEAR, "as_of": DATE}},
    ("GET", "/api/v1/evaluation/grades"): {"query": {**REGION_YEAR, "stage": {"type": "string",
                                                                              "enum": ["final", "ytd"]}}},
    ("GET", "/api/v1/evaluation/received-grades"): {"query": REGION_YEAR},
    ("POST", "/api/v1/evaluation/years/<int:year>/finalise"): {"body_optional": True},
    ("POST", "/api/v1/evaluation/recompute"): {"body_optional": True},
    ("GET", "/api/v1/evaluation/consequences"): {"query": {"year": YEAR, "status": text(32)}},
    ("GET", "/api/v1/evaluation/cases"): {"query": {"status": text(32), "body_id": text(64)}},
    ("GET", "/api/v1/evaluation/surveys"): {"query": {"body_id": text(64)}},
    ("GET", "/api/v1/evaluation/visits"): {"query": {"body_id": text(64)}},
    ("GET", "/api/v1/evaluation/supervision"): {"query": {"status": text(32), "overdue": FLAG}},
    ("GET", "/evaluation/login"): {"query": {"next": text(500)}, "redirects": True},
    # -- staff sign-in (SEC-1, OpenID Connect) --------------------------------------------------------
    ("GET", "/auth/login"): {"query": {"next": text(500)}, "redirects": True},
    ("GET", "/auth/callback"): {"query": {"code": text(2000), "state": text(500), "iss": text(500),
                                          "error": text(200), "error_description": text(1000)}, "redirects": True},
    ("POST", "/auth/logout"): {"form": {"type": "object", "properties": {"csrf_token": CSRF}}, "redirects": True},
    ("GET", "/evaluation/dashboard"): {"query": {**REGION_YEAR, "page": {**integer(1, 10000), "description":
                                                                      "page of the open cases and the ranking (20 a page)"}},
                                       "redirects": True},
    ("GET", "/evaluation/cases/<case_id>"): {"redirects": True},
    ("GET", "/evaluation/annual-report"): {"query": REGION_YEAR, "redirects": True},
    ("GET", "/records/audit_verify.py"): {"media": "text/x-python"},
    ("GET", "/records/verification.md"): {"media": "text/plain"},
    ("GET", "/evaluation/annual-report.csv"): {"query": REGION_YEAR, "redirects": True, "media": "text/csv"},
    # -- complaints (accept: body optional) --------------------------------------------------------
    ("POST", "/api/v1/complaints/<number>/accept"): {"body_optional": True},
    # -- records ----------------------------------------------------------------------------------
    ("GET", "/api/v1/cases/<case_id>/timeline"): {"query": {"purpose": {**text(200), "description":
                                                                         "调阅事由; default 办案查阅（案件时间线）"}}},
    ("GET", "/api/v1/records/entries"): {"query": {
        "purpose": PURPOSE, "region_code": REGION, "body_id": text(64), "stage": text(32), "from": ISO_TIME,
        "to": ISO_TIME, "case_id": text(64), "limit": LIMIT, "after": integer(0)}},
    ("GET", "/api/v1/records/entries/<int:sequence>/proof"): {"query": {"purpose": PURPOSE,
                                                                          "tree_size": integer(1)}},
    ("GET", "/api/v1/cases/<case_id>/proofs"): {"query": {"purpose": PURPOSE}},
    ("GET", "/api/v1/public/records/tree-heads"): {"query": {"limit": integer(1, 1000), "consistency": FLAG}},
    ("GET", "/api/v1/public/records/witnessed-heads"): {"query": {"log_id": text(200), "conflicts": FLAG,
                                                                   "limit": integer(1, 1000),
                                                                   "status": {"type": "string", "enum": [
                                                                       "accepted", "pending", "forked", "refused"]}}},
    ("GET", "/api/v1/public/records/witness"): {"query": {"log_id": text(200)}},
    ("GET", "/api/v1/public/records/consistency"): {"query": {"old_size": required(integer(0)),
                                                               "new_size": integer(1)}},
    ("GET", "/api/v1/public/records/inclusion"): {"query": {"leaf_hash": required(
        {"type": "string", "pattern": "^[0-9a-fA-F]{64}$", "description": "SM3 leaf hash, 64 hex digits"})}},
    ("POST", "/api/v1/records/blobs"): {"raw_body": True},
    ("GET", "/api/v1/records/blobs/<content_hash>"): {"query": {"purpose": PURPOSE},
                                                       "media": "application/octet-stream"},
    ("GET", "/api/v1/records/refusals"): {"query": {"case_id": text(64), "open": FLAG, "limit": integer(1, 1000)}},
    ("GET", "/api/v1/records/accesses"): {"query": {"case_id": text(64), "subject": text(128),
                                                    "limit": integer(1, 1000), "before": integer(0)}},
    # -- review -----------------------------------------------------------------------------------
    ("GET", "/api/v1/review/tasks"): {"query": {"status": text(32), "assigned": text(64), "body_id": text(64),
                                                "case_id": text(64)}},
    ("GET", "/api/v1/review/gate"): {"query": {"case_id": required(IDENT), "version": required(integer(1, 10_000))}},
    ("GET", "/api/v1/review/violations"): {"query": {"kind": text(32), "open": FLAG, "body_id": text(64)}},
}


def operation(method: str, path: str) -> dict:
    """The document's entry for an operation, with its success response schema."""
    spec = dict(OPERATIONS.get((method, path), {}))
    if (method, path) in RESPONSES:
        spec["response"] = RESPONSES[(method, path)]
    return spec
