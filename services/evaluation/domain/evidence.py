"""Traceability (可追溯, EVAL-2): the facts behind an indicator's score, as the evidence view lists them."""
from __future__ import annotations

from typing import Iterable

from .facts import FACT_KINDS, Fact


def evidence_facts(facts: Iterable[Fact], event_ids: Iterable[str], kinds: Iterable[str]) -> list[dict]:
    """The facts behind an indicator's evidence (event ids), limited to the indicator's kinds, each
    with its event id, event type, date and value (officer copies of one event listed once)."""
    ids, kinds = set(event_ids), set(kinds)
    out, seen = [], set()
    for f in sorted(facts, key=lambda f: (f.occurred_on, f.event_id, f.seq)):
        if f.event_id not in ids or f.kind not in kinds or f.body_key in seen:
            continue
        seen.add(f.body_key)
        attrs = {k: v for k, v in f.attrs.items() if not k.startswith("_")}
        out.append({"event_id": f.event_id, "event_type": f.attrs.get("_event_type"), "kind": f.kind,
                    "kind_name": FACT_KINDS[f.kind][0], "occurred_on": f.occurred_on.isoformat(),
                    "year": f.year, "value": None if f.value is None else str(f.value), "body_id": f.body_id,
                    "officer_id": f.officer_id, "ref": f.attrs.get("_ref"), "seq": f.seq, "attrs": attrs})
    return out
