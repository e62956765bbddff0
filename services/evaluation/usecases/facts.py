"""Events → facts (事实采集, EVAL-1, EVAL-2): each consumed event becomes the facts its rule in
``facts_map.RULES`` draws (each traced to its event id), after the registry copies it updates; a
decision fills in the officers of facts that came before it, a certificate no longer valid flags
earlier actions, and facts that open accountability cases open them (EVAL-6). Also the registry
copies (bodies, powers) and case transfers (SEC-2)."""
from __future__ import annotations

import datetime as dt

from services.common import ownership
from services.common.events import InvalidEvent
from services.evaluation import workflow
from services.evaluation.facts_map import FactRule
from services.evaluation.store import (Registry, backfill_case_officers, insert_facts, keep_gap_report,
                                       preload_backfill, preload_fact_keys, preload_gap_reports, preload_officers,
                                       retro_certificate_violations)

#: registry updates applied before an event's facts are drawn
REGISTRY_UPDATES = {"officer.registered": Registry.officer_registered,
                    "certificate.status_changed": Registry.certificate_changed}


def apply_event(db, event, rule: FactRule) -> None:
    """The facts of one event, in the event's transaction (a batch's, inside a batch)."""
    with db.effect_of(event) as session:
        registry = Registry(session)
        update = REGISTRY_UPDATES.get(event.event_type)
        if update:
            update(registry, event)
        try:
            rows = insert_facts(session, event, rule.facts(event, registry))
        except ValueError as exc:  # a fact the domain refuses (e.g. a value out of range)
            raise InvalidEvent(f"{event.event_type}: {exc}") from None
        if event.event_type == "record.gaps_found":   # judged final later, by the periodic job (EVAL-6)
            keep_gap_report(session, event)
        if event.event_type == "decision.made":
            backfill_case_officers(session, event.case_id, list(event.payload.get("officer_ids") or []))
        if event.event_type == "certificate.status_changed" and event.payload["status"] != "valid":
            rows += retro_certificate_violations(session, event.payload["officer_id"])
        workflow.open_cases_from_facts(session, rows)


def preload(session, events) -> list:
    """The stored fact keys a batch of events will check, in one query, and the officers and
    certificate histories its decisions are checked against (PLAT-3), in two — none when an officer
    registration or a certificate change is in the batch: it changes what the checks read, and also
    writes facts outside insert_facts (retroactive violations)."""
    if any(e.event_type in REGISTRY_UPDATES for e in events):
        return []
    loaded = preload_fact_keys(session, events) + preload_gap_reports(session, events)
    decisions = [e for e in events if e.event_type == "decision.made"]
    officers = {o for e in decisions for o in (e.payload.get("officer_ids") or ())}
    if officers:
        loaded += preload_officers(session, officers)
    if any(e.case_id for e in decisions):
        loaded += preload_backfill(session, {e.case_id for e in decisions if e.case_id})
    return loaded


def record_case_transfer(db, event) -> None:
    """SEC-2: from the transfer on, the case's decisions count for its new body."""
    with db.effect_of(event) as session:
        ownership.record_transfer(session, event, dt.datetime.now(dt.timezone.utc))


def register_body(db, event) -> None:
    with db.effect_of(event) as session:
        Registry(session).body_registered(event)


def publish_power(db, event) -> None:
    with db.effect_of(event) as session:
        Registry(session).power_published(event)
