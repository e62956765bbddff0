"""Strict HTTP intake (SEC-5, issue 14): media type, encoding, size (with and without Content-Length),
nesting depth — each refused with its own status, never a 500; and CSV cells a spreadsheet would run
as formulas are escaped (OWASP CSV injection)."""
import csv
import datetime as dt
import decimal
import io
import json

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common.auth import hash_key
from services.common.events import InvalidEvent, parse_event
from services.gateway.exports import csv_text, safe_cell
from services.gateway.http import JSON_DEPTH, MAX_BODY, HttpError, read_json
from services.gateway.schemas import ComplaintNoteRequest
from tests.fixtures import running_suite
from tests.integration import events as ev

KEY = "zf_test_key_intake"


def request(body: bytes, content_type="application/json", chunked=False) -> Request:
    headers = {"Transfer-Encoding": "chunked"} if chunked else {}
    builder = EnvironBuilder(method="POST", input_stream=io.BytesIO(body), headers=headers,
                             content_type=content_type, content_length=None if chunked else len(body))
    environ = builder.get_environ()
    if chunked:
        environ.pop("CONTENT_LENGTH", None)
    return Request(environ)


def refusal(req, schema=None, **kw) -> HttpError:
    with pytest.raises(HttpError) as caught:
        read_json(req, schema, **kw)
    return caught.value


# --- unit: read_json ---------------------------------------------------------------------------------
def test_json_body_needs_json_media_type_and_utf8_charset():
    assert refusal(request(b'{"note": "x"}', "text/plain")).status == 415
    assert refusal(request(b'{"note": "x"}', "application/x-www-form-urlencoded")).status == 415
    assert refusal(request(b'{"note": "x"}', "application/json; charset=gbk")).status == 415
    assert read_json(request(b'{"note": "x"}', "application/json; charset=utf-8")) == {"note": "x"}


def test_body_that_is_not_utf8_is_refused_with_the_byte_offset():
    body = '{"note": "罚款'.encode("utf-8") + "决定".encode("gbk") + b'"}'
    error = refusal(request(body))
    assert (error.status, error.code) == (400, "bad_encoding")
    offset = len('{"note": "罚款'.encode("utf-8"))
    assert f"第 {offset} 字节" in error.message and error.fields == {"_body": [f"byte offset {offset}"]}


def test_nesting_deeper_than_the_limit_is_a_400_not_a_500():
    assert read_json(request(b"[" * JSON_DEPTH + b"]" * JSON_DEPTH)) is not None
    assert refusal(request(b"[" * (JSON_DEPTH + 1) + b"]" * (JSON_DEPTH + 1))).code == "too_deep"
    assert refusal(request(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)).status == 400   # RecursionError in json
    assert refusal(request(b"[" * 200_000 + b"]" * 200_000)).status == 400


def test_size_limit_with_and_without_content_length():
    big = b'{"note": "' + b"x" * MAX_BODY + b'"}'
    assert refusal(request(big)).status == 413
    assert refusal(request(big, chunked=True)).status == 413
    assert read_json(request(b'{"note": "chunked"}', chunked=True), ComplaintNoteRequest) == {"note": "chunked"}


def test_empty_body_is_an_error_unless_the_body_is_optional():
    assert refusal(request(b"")).status == 400
    assert read_json(request(b"", content_type=None), ComplaintNoteRequest, optional=True) == {"note": None}
    assert refusal(request(b"[1]"), ComplaintNoteRequest).status == 400
    assert refusal(request(b'{"note": 5}'), ComplaintNoteRequest).status == 422


# --- unit: future occurred_at -------------------------------------------------------------------------
def test_occurred_at_beyond_the_tolerance_is_an_invalid_event(monkeypatch):
    """Plausibility (issue 14): an event dated more than ZHIFA_FUTURE_TOLERANCE_SECONDS ahead is invalid;
    within the tolerance (clock skew) it is accepted. The setting is read, not a constant."""
    now = dt.datetime(2026, 6, 1, 10, tzinfo=dt.timezone.utc)
    monkeypatch.setenv("ZHIFA_FUTURE_TOLERANCE_SECONDS", "120")
    parse_event(ev.case_opened("C-F-1", at=now + dt.timedelta(seconds=119)), now=now)
    with pytest.raises(InvalidEvent) as caught:
        parse_event(ev.case_opened("C-F-2", at=now + dt.timedelta(seconds=121)), now=now)
    assert "120秒" in caught.value.errors["occurred_at"][0]
    monkeypatch.setenv("ZHIFA_FUTURE_TOLERANCE_SECONDS", "3600")
    parse_event(ev.case_opened("C-F-3", at=now + dt.timedelta(seconds=121)), now=now)


# --- unit: CSV cells ---------------------------------------------------------------------------------------
def test_csv_cells_that_would_run_as_formulas_are_quoted():
    for text in ("=HYPERLINK(\"http://x\",\"点击\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"):
        assert safe_cell(text) == "'" + text
    assert [safe_cell(v) for v in ("张某", "武市监罚〔2026〕1号", "", None, 5, -5, decimal.Decimal("-1.50"), "a=b")] == \
        ["张某", "武市监罚〔2026〕1号", "", "", 5, -5, decimal.Decimal("-1.50"), "a=b"]
    rows = list(csv.reader(io.StringIO(csv_text([["a", "=1+1"], ["-3", -3]]).lstrip("\ufeff"))))
    assert rows == [["a", "'=1+1"], ["'-3", "-3"]]


# --- the live gateway ------------------------------------------------------------------------------------
@pytest.mark.integration
def test_live_gateway_intake_statuses(amqp_uri, sqlite_databases, tmp_path):
    """Through eventlet's HTTP server, as a departmental system sees it: every refusal is JSON with its
    status; a chunked body within the limit is read (it used to arrive empty) and beyond it is 413."""
    keys = [{"system": "wj-scjg-system", "region_code": "320412", "body_ids": ["320412-SCJG"],
             "key_sha256": hash_key(KEY)}]
    with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["gateway"], api_keys=keys) as suite:
        url = suite.base_url + "/api/v1/events"
        headers = {"X-Api-Key": KEY}
        event = json.dumps(ev.case_opened("320412-SCJG-INTAKE-1"), ensure_ascii=False).encode()

        def post(data, content_type="application/json"):
            return requests.post(url, data=data, headers={**headers, "Content-Type": content_type}, timeout=30)

        answer = post(event, "text/plain")
        assert answer.status_code == 415 and answer.json()["error"] == "unsupported_media_type"
        answer = post(event.replace("涉嫌".encode(), "涉嫌".encode("gbk")))
        assert answer.status_code == 400 and answer.json()["error"] == "bad_encoding"
        assert "字节" in answer.json()["message"]
        assert post(b"[" * 50_000 + b"]" * 50_000).status_code == 400
        assert post(b'{"a":' * 50 + b"1" + b"}" * 50).status_code == 400
        assert post(b"x" * (MAX_BODY + 1)).status_code == 413
        # chunked: a generator body has no Content-Length
        answer = post(iter([event[:100], event[100:]]))
        assert answer.status_code == 202, answer.text
        answer = post(iter([b"[" + b"1," * (1 << 16)] * 9 + [b"1]"]))
        assert answer.status_code == 413 and answer.json()["error"] == "too_large"
        # a future occurred_at: 422 with the field
        future = ev.case_opened("320412-SCJG-INTAKE-2", at=dt.datetime.now(ev.CHINA) + dt.timedelta(hours=2))
        answer = post(json.dumps(future).encode())
        assert answer.status_code == 422 and "occurred_at" in answer.json()["fields"]
