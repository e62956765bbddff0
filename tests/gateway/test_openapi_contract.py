"""The OpenAPI document is a contract clients can trust (issue 14, PLAT-7).

Unit tests: every reference resolves inside the document; every path parameter is documented with
its type (integers as integers); every query parameter a handler reads is documented; requests are
validated against the document (what it refuses, the gateway refuses — 422, never a 500).

Integration: schemathesis fuzzes the live suite from its own document with every check on
(not_a_server_error, status_code / content_type / response_headers / response_schema conformance,
negative_data_rejection, positive_data_acceptance, missing_required_header, unsupported_method,
ignored_auth, use_after_free, …) — without credentials, with a department API key and with a staff
token — and must find nothing. A bounded run: examples and fuzzing phases, ZHIFA_SCHEMATHESIS_EXAMPLES
cases per operation (default 4); ZHIFA_SCHEMATHESIS_PHASES=examples,coverage,fuzzing adds the coverage
phase (every boundary and type mutation of every parameter: ~9,000 requests a run, several minutes).
"""
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from services.common.auth import hash_key
from services.gateway import openapi
from services.gateway.http import ROUTES
from services.gateway.parameters import OPERATIONS
from services.gateway.service import GatewayService
from tests.fixtures import running_suite

KEY = "zf_test_key_schemathesis"
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture(scope="module")
def document():
    return openapi.document(ROUTES)


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_reference_resolves_inside_the_document(document):
    """Before: POST /api/v1/events referenced https://zhifa.example/… and nine #/definitions/… pointed at nothing."""
    refs = set(_refs(document))
    assert refs, "the document uses components"
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.split("/")[-1] in document["components"]["schemas"], ref
    events = document["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    from services.common.events import CATALOGUE, DEPARTMENTS

    departmental = [t for t, spec in CATALOGUE.items() if spec.emitter == DEPARTMENTS]
    assert len(events["oneOf"]) == len(departmental) >= 18    # every departmental type, each with its payload
    case_opened = document["components"]["schemas"]["Event_case.opened"]
    assert case_opened["properties"]["event_type"] == {"const": "case.opened"}
    assert case_opened["properties"]["payload"]["properties"]["parties"]["maxItems"] == 100


def test_every_parameter_body_and_answer_is_documented(document):
    for route in ROUTES:
        op = document["paths"][openapi.openapi_path(route.path)][route.method.lower()]
        names = {p["name"]: p for p in op["parameters"]}
        for converter, name in openapi.PATH_PARAM_RE.findall(route.path):
            assert names[name]["in"] == "path" and names[name]["required"]
            if converter == "int":
                assert names[name]["schema"]["type"] == "integer", route.path
        success = op["responses"][str(route.success)]
        assert success["content"], route.path
        assert "4XX" in op["responses"] and "application/json" in op["responses"]["4XX"]["content"]
        if route.body is not None:
            assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"]


def test_portal_region_box_takes_a_name_the_api_a_code(document):
    """Issue 19 (DISC-9): the portal page's region_code is a name or a code; the JSON API keeps GB/T 2260 codes."""
    def region(path):
        return next(p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "region_code")["schema"]

    assert "[1-9]" not in region("/").get("pattern", "") and region("/")["maxLength"] == 60
    assert region("/api/v1/public/decisions")["pattern"].startswith("^([1-9]")


def test_every_query_parameter_a_handler_reads_is_documented():
    """A drift guard: request.args.get("x") / _int_arg(request, "x") in a handler needs an entry in
    services/gateway/parameters.py (helpers reading args are listed here)."""
    helpers = {"_year(request": {"year"}, "_region(request": {"region_code"}, "_page_int(request": {"page"},
               "_filters(request)": set(), "_accessor(identity, request.args.get(\"purpose\")": {"purpose"}}
    for route in ROUTES:
        fn = getattr(GatewayService, route.handler).__wrapped__
        source = inspect.getsource(fn)
        read = set(re.findall(r"args\.get\(\"(\w+)\"", source)) | set(re.findall(r"_int_arg\(request, \"(\w+)\"", source))
        for helper, names in helpers.items():
            if helper in source:
                read |= names
        documented = set((route.query or {}))
        assert read <= documented, (route.method, route.path, read - documented)
    keys = {(r.method, r.path) for r in ROUTES}
    assert set(OPERATIONS) <= keys, set(OPERATIONS) - keys      # no entry for a route that is gone


def test_requests_are_validated_against_the_document():
    """The three 5xx schemathesis found: {"event_type": {}} (unhashable type), year 0 (out of range),
    officer_ids [""] (the emitted event failed its own schema) — each is now a 422 with field errors."""
    events = next(r for r in ROUTES if r.path == "/api/v1/events")
    with pytest.raises(openapi.Invalid) as caught:
        openapi.validate(ROUTES, events, {}, {}, {"event_type": {}}, True)
    assert "event_type" in caught.value.fields
    finalise = next(r for r in ROUTES if r.path == "/api/v1/evaluation/years/<int:year>/finalise")
    with pytest.raises(openapi.Invalid) as caught:
        openapi.validate(ROUTES, finalise, {"year": 0}, {}, None, False)
    assert caught.value.fields == {"year": ["不能小于2000"]}
    cases = next(r for r in ROUTES if r.path == "/api/v1/evaluation/cases" and r.method == "POST")
    with pytest.raises(openapi.Invalid) as caught:
        openapi.validate(ROUTES, cases, {}, {}, {"body_id": "320412-SCJG", "description": "未出示证件",
                                                 "officer_ids": [""]}, True)
    assert list(caught.value.fields) == ["officer_ids.0"]
    openapi.validate(ROUTES, cases, {}, {}, {"body_id": "320412-SCJG", "description": "未出示证件",
                                             "officer_ids": ["o-1"]}, True)


def test_parse_event_refuses_a_non_string_event_type_as_a_field_error():
    """Over AMQP too: {"event_type": {}} was a TypeError (unhashable) in the entrypoint."""
    from services.common.events import InvalidEvent, parse_event

    with pytest.raises(InvalidEvent) as caught:
        parse_event({"event_type": {}})
    assert "event_type" in caught.value.errors


# -- the live suite under schemathesis ---------------------------------------------------------------------
def _schemathesis(base_url: str, name: str, headers: list[str], tmp_path) -> subprocess.Popen:
    """Start one schemathesis run (a process of its own: hypothesis stays out of this eventlet process)."""
    examples = os.environ.get("ZHIFA_SCHEMATHESIS_EXAMPLES", "4")
    phases = os.environ.get("ZHIFA_SCHEMATHESIS_PHASES", "examples,fuzzing")
    command = [str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run",
               base_url + "/api/v1/openapi.json", "--checks", "all", "--phases", phases, "-n", examples,
               "--workers", "1",          # CPython 3.11's ast is not thread-safe (hypothesis parses lambdas)
               "--seed", "14", "--no-shrink", "--continue-on-failure", "--request-timeout", "30",
               "--output-truncate", "false"]
    for header in headers:
        command += ["-H", header]
    out = open(tmp_path / f"{name}.out", "w")
    return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)  # its cache too


@pytest.mark.integration
def test_schemathesis_finds_nothing_in_the_live_suite(amqp_uri, sqlite_databases, tmp_path):
    keys = [{"system": "wj-scjg-system", "region_code": "320412", "body_ids": ["320412-SCJG"],
             "key_sha256": hash_key(KEY)}]
    with running_suite(amqp_uri, sqlite_databases, tmp_path, api_keys=keys) as suite:
        supervisor = suite.token("supervisor", "320400")
        # the three server errors schemathesis found before (500, 500, 502): now field errors
        found = [suite.post("/api/v1/events", {"event_type": {}}, headers={"X-Api-Key": KEY}),
                 suite.post("/api/v1/evaluation/years/0/finalise", {}, token=supervisor),
                 suite.post("/api/v1/evaluation/cases", {"body_id": "320412-SCJG", "region_code": "320412",
                                                         "description": "未出示执法证件", "officer_ids": [""]},
                            token=supervisor)]
        assert [r.status_code for r in found] == [422, 422, 422], [r.text for r in found]
        assert [field in r.json()["fields"] for r, field in zip(found, ("event_type", "year", "officer_ids"))] == \
            [True, True, True], [r.text for r in found]
        assert suite.get("/api/v1/public/annual-reports/320412-SCJG/abc").json()["error"] == "not_found"  # JSON 404
        runs = {"no credentials": [], "department API key": [f"X-Api-Key: {KEY}"],
                "staff token": [f"Authorization: Bearer {supervisor}"]}
        # the three runs at once: each is one client thread, the suite serves them together
        runs = {name: _schemathesis(suite.base_url, name.replace(" ", "-"), headers, tmp_path)
                for name, headers in runs.items()}
        codes = {name: process.wait(timeout=1200) for name, process in runs.items()}
    outputs = {name: (tmp_path / f"{name.replace(' ', '-')}.out").read_text() for name in runs}
    counts = {name: int(m.group(1)) if (m := re.search(r"(\d+) generated", out)) else 0
              for name, out in outputs.items()}
    print("schemathesis test cases (requests):", json.dumps(counts, ensure_ascii=False), "total", sum(counts.values()))
    for name, out in outputs.items():
        assert codes[name] == 0 and counts[name] > 0, f"{name}:\n{out[-30000:]}"
