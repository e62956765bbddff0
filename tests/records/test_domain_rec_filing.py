"""The records service's filing and refusal rules as pure functions (issue 21: decided in
services/records/domain/filing.py, applied by the ingest pipeline): a record dated before its case
opened (REC-1), a record of a sealed case arriving late or not (REC-5), what an event files (REC-2/REC-3)."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from services.records.domain import filing
from services.records.domain.completeness import default_rules

UTC = dt.timezone.utc
OPENED = dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_rec1_a_record_before_the_opening_beyond_the_tolerance_is_refused():
    assert filing.before_opening(OPENED, OPENED - dt.timedelta(seconds=301), 300)
    assert not filing.before_opening(OPENED, OPENED - dt.timedelta(seconds=300), 300)
    assert not filing.before_opening(None, OPENED - dt.timedelta(days=9), 300)       # opening not known yet
    naive = OPENED.replace(tzinfo=None)                                               # as SQLite gives it back
    assert filing.before_opening(naive, OPENED - dt.timedelta(hours=1), 300)


def test_rec1_the_refusal_names_both_times_in_china_time():
    reason = filing.before_opening_reason("C-1", "evidence.recorded", OPENED - dt.timedelta(hours=2), OPENED)
    assert reason.startswith(f"{filing.BEFORE_OPENING}: evidence.recorded of case C-1")
    assert "2026-03-02T07:00:00+08:00" in reason and "2026-03-02T09:00:00+08:00" in reason and "早于案件 C-1" in reason


def test_rec5_a_sealed_case_takes_a_late_record_only_within_the_grace_period():
    archived, sealed = OPENED + dt.timedelta(days=10), OPENED + dt.timedelta(days=10, seconds=5)
    before = archived - dt.timedelta(minutes=1)
    assert filing.arrived_late("evidence.recorded", before, archived, sealed, sealed + dt.timedelta(seconds=60), 120)
    assert not filing.arrived_late("evidence.recorded", before, archived, sealed, sealed + dt.timedelta(seconds=121), 120)
    assert not filing.arrived_late("evidence.recorded", archived + dt.timedelta(seconds=1), archived, sealed, sealed, 120)
    assert not filing.arrived_late("case.archived", before, archived, sealed, sealed, 120)
    assert not filing.arrived_late("evidence.recorded", before, None, None, sealed, 120)
    assert "已于 2026-03-12T01:00:00+00:00 归档封存" in filing.sealed_refusal_reason("C-1", archived)
    assert "已于 此前 归档封存" in filing.sealed_refusal_reason("C-1", None)


def test_rec2_what_an_event_files():
    rules = default_rules()
    event = lambda t, **p: SimpleNamespace(event_type=t, payload=p)  # noqa: E731
    assert filing.implied_document(event("review.approved"), rules) == "legal_review_opinion"
    assert filing.implied_document(event("hearing.held"), rules) is None                 # no record hash: nothing filed
    assert filing.implied_document(event("hearing.held", record_hash="ab"), rules) == "hearing_record"
    assert filing.implied_document(event("decision.made", action_type="no_such_type"), rules) is None
    assert filing.record_kind_of({"record_kind": "audio_visual", "av_form": "surveillance"}) == "surveillance"


def test_rec3_facts_an_event_adds():
    rules = default_rules()
    facts: dict = {}
    filing.fold_facts(facts, "decision.served", {"method": "lien"}, rules)
    filing.fold_facts(facts, "decision.served", {"method": "unknown"}, rules)
    filing.fold_facts(facts, "hearing.held", {}, rules)
    filing.fold_facts(facts, "evidence.recorded", {"document_type": "onsite_record"}, rules)
    assert facts == {"service_methods": ["lodging"], "hearing_requested": True, "onsite": True}
