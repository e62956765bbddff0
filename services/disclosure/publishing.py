"""Turning a decision.made event into the public entry (DISC-4), via the redaction rules in domain/."""
from __future__ import annotations

from dataclasses import dataclass, field

from services.common.events import Event


@dataclass
class PublicEntry:
    parties: str
    facts: str
    conclusion: str
    search_text: str
    summary_only: bool = False
    withheld_reason: str | None = None
    redactions: dict = field(default_factory=dict)


def public_entry(event: Event) -> PublicEntry:
    p = event.payload
    names = []
    facts = p["facts"]
    for party in p["parties"]:
        if party["party_kind"] == "natural":
            masked = party["name"][0] + "某"
            facts = facts.replace(party["name"], masked)
            names.append(masked)
        else:
            names.append(party["name"])
    parties = "、".join(names)
    return PublicEntry(parties=parties, facts=facts, conclusion=p["conclusion"],
                       search_text=" ".join([p["decision_no"], p["category"], parties, facts, p["conclusion"]]))
