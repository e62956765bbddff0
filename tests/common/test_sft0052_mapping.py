"""PLAT-7 (issue 18): docs/contracts gains the SF/T 0052 data-element mapping — every field of every contract
(the envelope and each event's payload) is listed, mapped to the data item and national code set where that is
known, "no known element" otherwise; no element identifier is invented (the standard's text is not available);
the published file is the one `zhifa contracts` generates."""
from __future__ import annotations

import re

from services.common import dataelements
from services.common.contracts import CONTRACTS_DIR, MAPPING_FILE, event_schema
from services.common.events import CATALOGUE


def _schema_paths(schema: dict, prefix: str = "") -> set[str]:
    out = set()
    for name, prop in (schema.get("properties") or {}).items():
        items = prop.get("items") if prop.get("type") == "array" else None
        if items and items.get("properties"):
            out |= _schema_paths(items, f"{prefix}{name}[].")
        elif prop.get("properties"):
            out |= _schema_paths(prop, f"{prefix}{name}.")
        else:
            out.add(prefix + name)
    return out


def test_plat7_every_field_of_every_published_contract_is_in_the_mapping():
    listed = {(where, path) for where, path, _ in dataelements.rows()}
    for event_type in CATALOGUE:
        payload = event_schema(event_type)["properties"]["payload"]
        for path in _schema_paths(payload):     # nested objects are $refs here: their fields are listed below them
            assert any(w == event_type and (p == f"payload.{path}" or p.startswith(f"payload.{path}["))
                       or w == event_type and p.startswith(f"payload.{path}.") for w, p in listed), (event_type, path)


def test_plat7_known_items_follow_their_national_code_sets_and_no_identifier_is_invented():
    by = {(w, p): e for w, p, e in dataelements.rows()}
    assert by[("envelope", "region_code")].code_set.startswith("GB/T 2260")
    id_number = by[("decision.made", "payload.parties[].id_number")]
    assert "GB 11643" in id_number.code_set and "GB 32100" in id_number.code_set
    assert "行政处罚" in by[("decision.made", "payload.action_type")].code_set
    assert "暂扣" in by[("certificate.status_changed", "payload.status")].code_set
    assert by[("body.registered", "payload.kind")].name_zh == "执法主体类别"
    assert by[("envelope", "event_id")] is None and by[("record.tree_head_signed", "payload.signature")] is None
    text = (CONTRACTS_DIR / MAPPING_FILE).read_text(encoding="utf-8")
    assert "no known element" in text and not re.search(r"\bDE\d{3,}\b", text)   # no made-up element codes
    assert text == dataelements.markdown(), "docs/contracts is stale: run make contracts"
