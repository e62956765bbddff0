"""PLAT-7: the envelope and catalogue validate what departmental systems send, with field errors."""
import pytest

from services.common.contracts import asyncapi, event_schema
from services.common.events import CATALOGUE, InvalidEvent, make_envelope, parse_event
from tests.integration import events as ev


def test_valid_events_of_every_builder_parse():
    for envelope in [ev.case_opened("C1"), ev.evidence("C1"), ev.decision_proposed("C1"), ev.decision_made("C1"),
                     ev.decision_served("C1"), ev.complaint_submitted()]:
        assert parse_event(envelope).event_type == envelope["event_type"]


def test_envelope_and_payload_errors_are_reported_together():
    bad = ev.decision_made("C1")
    bad["region_code"] = "999"
    bad["payload"]["parties"][0]["id_number"] = "320412198503141230"
    del bad["payload"]["legal_basis"]
    with pytest.raises(InvalidEvent) as info:
        parse_event(bad)
    errors = info.value.errors
    assert "region_code" in errors
    assert "legal_basis" in errors["payload"]
    assert "校验位" in str(errors["payload"]["parties"])


def test_case_events_need_a_case_id_and_a_supported_version():
    bad = ev.case_opened(None)
    with pytest.raises(InvalidEvent, match="case"):
        parse_event(bad)
    future = ev.case_opened("C1")
    future["schema_version"] = "2.0"
    with pytest.raises(InvalidEvent) as info:
        parse_event(future)
    assert "schema_version" in info.value.errors


def test_audio_visual_record_needs_its_time_span():
    record = ev.evidence("C1")
    del record["payload"]["ended_at"]
    with pytest.raises(InvalidEvent) as info:
        parse_event(record)
    assert "ended_at" in info.value.errors["payload"]


def test_make_envelope_validates_what_a_service_emits():
    with pytest.raises(InvalidEvent):
        make_envelope("review.bypassed", {"version": 1}, source_system="zhifa.review", region_code="320412",
                      body_id="b")


def test_plat7_every_event_has_a_json_schema_and_an_asyncapi_channel():
    doc = asyncapi()
    for name, spec in CATALOGUE.items():
        schema = event_schema(name)
        assert schema["properties"]["event_type"] == {"const": name}
        assert "payload" in schema["properties"] and "event_id" in schema["required"]
        assert f"{spec.emitter}.events/{name}" in doc["channels"]
