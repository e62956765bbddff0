"""Turning a decision.made event into the public entry (DISC-4) with the redaction rules in domain/."""
from __future__ import annotations

from dataclasses import dataclass, field

from services.common.events import Event
from services.disclosure.domain.model import decision_from_payload
from services.disclosure.domain.redaction import Outcome, redact_decision


@dataclass
class PublicEntry:
    parties: str
    facts: str
    conclusion: str
    search_text: str
    summary_only: bool = False
    withheld_reason: str | None = None
    redactions: dict = field(default_factory=dict)


def public_entry(event: Event, body_name: str | None = None) -> PublicEntry:
    """The redacted entry; state secrets are withheld, commercial secrets and privacy summarised."""
    payload = {**event.raw["payload"], "case_id": event.case_id, "body_id": event.body_id,
               "region_code": event.region_code, "body_name": body_name or event.body_id}
    result = redact_decision(decision_from_payload(payload))
    if result.outcome is Outcome.WITHHELD:
        return PublicEntry("", "", "", "", withheld_reason=result.reason_zh, redactions=result.counts())
    entry = result.entry
    parties = "、".join(p.name for p in entry.parties)
    facts, conclusion = entry.facts or "", entry.conclusion or entry.notice_zh or ""
    search_text = " ".join(filter(None, [entry.decision_no, entry.category, entry.body_name, parties, facts,
                                         conclusion, entry.legal_basis or ""]))
    return PublicEntry(parties=parties, facts=facts, conclusion=conclusion, search_text=search_text,
                       summary_only=result.outcome is Outcome.SUMMARY, redactions=result.counts())
