"""Which event gives which evaluation facts (考核事实来源) — the one table the service's handlers are
generated from (EVAL-2, EVAL-3, EVAL-5, EVAL-7, EVAL-8).

Each ``FactRule`` names the emitter (``departments`` or a zhifa service), the event type, the
handler method (which is also the name of its durable queue: keep it stable) and a function
``facts(event, lookup) -> [NewFact]``. ``lookup`` answers what the event alone does not say (the
officers of a case, whether an officer's certificate was valid on a day, a body's reviewer ratio).

A rule whose event type is not (yet) in the catalogue is skipped, so an event another service
will emit can be mapped here before it exists; it becomes live when its contract is registered.
To consume a new event: add one ``FactRule`` line to ``RULES``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Iterable, Protocol

from services.common import fieldcrypt
from services.common.catalogue import CATALOGUE
from services.common.events import DEPARTMENTS, Event

CHINA = dt.timezone(dt.timedelta(hours=8))
#: action types whose every case needs a full-process audio-visual record (REC-3: 查封、扣押、强制拆除 …
#: are coercive measures); other cases count as requiring one when records reports it missing.
AV_REQUIRED_ACTIONS = ("coercive",)


def local_day(value: dt.datetime | dt.date | str | None, fallback: dt.datetime | None = None) -> dt.date:
    """The day in China (UTC+8) of a timestamp; dates pass through."""
    if value is None:
        value = fallback
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=CHINA)
        return value.astimezone(CHINA).date()
    return value


@dataclass(frozen=True)
class NewFact:
    """A fact to store for the event being handled."""

    kind: str
    on: dt.date
    officer_id: str | None = None
    value: Decimal | float | int | None = None
    seq: int = 0
    ref: str | None = None           # natural key (case id, complaint number, record id)
    unique: bool = False             # at most one fact of this kind per (body, ref): later events are ignored
    replace: bool = False            # replaces the facts of this kind with the same (body, ref) (snapshots)
    attrs: dict = field(default_factory=dict)
    body_id: str | None = None       # default: the event's body
    year: int | None = None          # default: the year of ``on``


class Lookup(Protocol):
    def officers_of_case(self, case_id: str | None) -> list[str]: ...
    def certificate_valid(self, officer_id: str, day: dt.date) -> bool | None: ...
    def officer_body(self, officer_id: str) -> str | None: ...
    def reviewer_ratio(self, body_id: str) -> Decimal | None: ...


@dataclass(frozen=True)
class FactRule:
    source: str
    event_type: str
    method: str
    facts: Callable[[Event, Lookup], list[NewFact]]
    summary: str = ""


def per_officer(kind: str, on: dt.date, officers: Iterable[str], **kw) -> list[NewFact]:
    """One fact per officer (body-level counting de-duplicates them), or one body fact when none."""
    officers = list(dict.fromkeys(o for o in officers if o))
    if not officers:
        return [NewFact(kind, on, **kw)]
    return [NewFact(kind, on, officer_id=o, **kw) for o in officers]


PARTY_INDEX = "party"


def _party_key(parties: list[dict]) -> str | None:
    """The first party, for "the same party again" (repeat-inspection rule): a keyed blind index (HMAC-SM3
    under the evaluation index key, issue 22) of its id, ID number or name — equal parties compare equal,
    the facts table holds no ID number or name."""
    if not parties:
        return None
    p = parties[0]
    return fieldcrypt.blind_index("evaluation", p.get("party_id") or p.get("id_number") or p.get("name"),
                                  PARTY_INDEX)


def case_file_reviewed(e: Event, lk: Lookup) -> list[NewFact]:
    """REC-7 → EVAL-2: a drawn case file's review score counts in the body's 案卷评查 indicator (one fact
    per review; the failed items and the reviewer kept with it)."""
    p = e.payload
    return [NewFact("case_file_review_score", p["reviewed_on"], value=Decimal(str(p["score"])), ref=p["review_id"],
                    unique=True, year=p["year"],
                    attrs={"case_id": p["case_id"], "action_type": p.get("action_type"),
                           "failed_items": list(p["failed_items"]), "reviewer": p["reviewer"],
                           "source": "record.case_file_reviewed"})]


# --- departmental events ----------------------------------------------------------------------

def decision_made(e: Event, lk: Lookup) -> list[NewFact]:
    p = e.payload
    day = local_day(p["decided_at"])
    officers = list(dict.fromkeys(p.get("officer_ids") or []))
    attrs = {"action_type": p["action_type"], "party_id": _party_key(p["parties"]),
             "fine_amount": str(p["fine_amount"]) if p.get("fine_amount") is not None else None,
             "decision_no": p["decision_no"], "matter_code": p["matter_code"]}
    facts = per_officer("enforcement_action", day, officers, ref=e.case_id, unique=True, attrs=attrs)
    facts.append(NewFact("record_case", day, ref=e.case_id, unique=True))
    if p["action_type"] in AV_REQUIRED_ACTIONS:  # REC-3: full-process audio-visual record
        facts.append(NewFact("av_required", day, ref=e.case_id, unique=True))
    for officer in officers:  # PLAT-3: no enforcement without a valid certificate
        if lk.certificate_valid(officer, day) is False:
            facts.append(NewFact("certificate_invalid_action", day, officer_id=officer, ref=e.case_id,
                                 attrs={"decision_no": p["decision_no"]}))
    return facts


def decision_revoked(e: Event, lk: Lookup) -> list[NewFact]:
    p = e.payload
    day = local_day(p["decided_at"])
    attrs = {"reason": p["reason"], "by": p["by"]}
    if p["by"] in ("reconsideration", "litigation"):  # 纠错率, EVAL-7
        return [NewFact("decision_challenged", day, ref=e.case_id, unique=True, attrs=attrs),
                *per_officer("decision_corrected", day, lk.officers_of_case(e.case_id), ref=e.case_id,
                             unique=True, attrs=attrs)]
    return [NewFact("decision_withdrawn", day, ref=e.case_id, unique=True, attrs=attrs)]


def decision_challenged(e: Event, lk: Lookup) -> list[NewFact]:
    return [NewFact("decision_challenged", local_day(e.payload["filed_at"]), ref=e.case_id, unique=True,
                    attrs={"by": e.payload["by"]})]


def officer_registered(e: Event, lk: Lookup) -> list[NewFact]:
    p = e.payload
    day = local_day(e.occurred_at)
    facts = []
    if "officer" in p["roles"] and p.get("certificate_no"):
        facts.append(NewFact("certificate_valid", day, officer_id=p["officer_id"], body_id=p["body_id"],
                             ref=f"cert:{p['officer_id']}:{day.year}", unique=True,
                             attrs={"certificate_no": p["certificate_no"]}))
    ratio = lk.reviewer_ratio(p["body_id"])  # REV-7 snapshot after this registration (one per body and day)
    if ratio is not None:
        facts.append(NewFact("reviewer_staffing", day, value=ratio, body_id=p["body_id"],
                             ref=f"staffing:{p['body_id']}:{day.isoformat()}", replace=True))
    return facts


def certificate_changed(e: Event, lk: Lookup) -> list[NewFact]:
    p = e.payload
    if p["status"] != "valid":
        return []
    day = local_day(p["effective_from"])
    return [NewFact("certificate_valid", day, officer_id=p["officer_id"], body_id=lk.officer_body(p["officer_id"]),
                    ref=f"cert:{p['officer_id']}:{day.year}", unique=True,
                    attrs={"certificate_no": p["certificate_no"]})]


def training_recorded(e: Event, lk: Lookup) -> list[NewFact]:
    p = e.payload
    return [NewFact("training_hours", p["completed_on"], officer_id=p["officer_id"], value=p["hours"],
                    body_id=lk.officer_body(p["officer_id"]), ref=f"training:{p['record_id']}", unique=True,
                    attrs={"course": p["course"]})]


def zero_enforcement_explained(e: Event, lk: Lookup) -> list[NewFact]:
    p = e.payload
    return [NewFact("zero_enforcement_explained", p["explained_on"], ref=f"zero:{p['year']}", unique=True,
                    year=p["year"], attrs={"explanation": p["explanation"][:200]})]


# --- zhifa services' events -------------------------------------------------------------------

def published(e: Event, lk: Lookup) -> list[NewFact]:
    """DISC-3: the due date counts in the year it falls due; an on-time publication is dated by its
    due date too, so a year-to-date rate never counts an early publication whose due is still ahead."""
    p = e.payload
    attrs = {"publication_id": p["publication_id"], "due_on": p["due_on"].isoformat(),
             "published_on": p["published_on"].isoformat()}
    return [NewFact("disclosure_due", p["due_on"], ref=e.case_id, unique=True, attrs=attrs),
            NewFact("disclosure_on_time", p["due_on"], ref=e.case_id, unique=True, attrs=attrs) if p["on_time"]
            else NewFact("disclosure_late", p["published_on"], ref=e.case_id, unique=True, attrs=attrs)]


def disclosure_overdue(e: Event, lk: Lookup) -> list[NewFact]:
    p = e.payload
    due = p.get("due_on") or local_day(e.occurred_at)
    return [NewFact("disclosure_due", due, ref=e.case_id, unique=True),
            NewFact("disclosure_overdue", due, ref=e.case_id, unique=True,
                    attrs={"due_on": due.isoformat()})]


def classified(e: Event, lk: Lookup) -> list[NewFact]:
    if not e.payload["major"]:
        return []
    return [NewFact("review_required", local_day(e.occurred_at), ref=e.case_id, unique=True,
                    attrs={"fired_rules": list(e.payload["fired_rules"])[:10]})]


def review_approved(e: Event, lk: Lookup) -> list[NewFact]:
    return [NewFact("review_approved", local_day(e.occurred_at), ref=e.case_id, unique=True,
                    attrs={"task_id": e.payload["task_id"], "reviewer_id": e.payload["reviewer_id"]})]


def review_bypassed(e: Event, lk: Lookup) -> list[NewFact]:
    return per_officer("review_bypassed", local_day(e.occurred_at), lk.officers_of_case(e.case_id), ref=e.case_id,
                       unique=True, attrs={"violation": e.payload["violation"],
                                           "description": e.payload["description"][:200]})


def review_task_overdue(e: Event, lk: Lookup) -> list[NewFact]:
    p = e.payload
    return [NewFact("review_task_overdue", p["due_on"], ref=f"{e.case_id}:{p['task_id']}", unique=True,
                    attrs={"task_id": p["task_id"], "working_days_overdue": p["working_days_overdue"]})]


def staffing(e: Event, lk: Lookup) -> list[NewFact]:
    """REV-7 snapshot from review (staffing_short / staffing_restored)."""
    p = e.payload
    ratio = p.get("ratio")
    if ratio is None and p["officers"]:
        ratio = Decimal(p["reviewers"]) / Decimal(p["officers"])
    if ratio is None:
        return []
    return [NewFact("reviewer_staffing", local_day(e.occurred_at), value=min(Decimal(str(ratio)), Decimal(1)).quantize(
        Decimal("0.0001")), attrs={"officers": p["officers"], "reviewers": p["reviewers"], "required": p["required"]})]


def _complaint_body(e: Event) -> str:
    return e.payload.get("subject_body_id") or e.body_id


def complaint_registered(e: Event, lk: Lookup) -> list[NewFact]:
    return [NewFact("complaint_received", local_day(e.occurred_at), body_id=_complaint_body(e),
                    ref=e.payload["number"], unique=True, attrs={"channel": e.payload["channel"]})]


def complaint_acknowledged(e: Event, lk: Lookup) -> list[NewFact]:
    kind = "complaint_ack_on_time" if e.payload["on_time"] else "complaint_ack_late"
    return [NewFact(kind, e.payload["decided_on"], body_id=_complaint_body(e), ref=e.payload["number"], unique=True,
                    attrs={"decision": e.payload["decision"], "acknowledge_due": e.payload["acknowledge_due"].isoformat()})]


def complaint_concluded(e: Event, lk: Lookup) -> list[NewFact]:
    if not e.payload["upheld"]:
        return []
    return per_officer("complaint_upheld", e.payload["concluded_on"], e.payload.get("officer_ids") or [],
                       body_id=_complaint_body(e), ref=e.payload["number"], unique=True)


def complaint_rated(e: Event, lk: Lookup) -> list[NewFact]:
    return [NewFact("satisfaction", local_day(e.occurred_at), value=e.payload["rating"], body_id=_complaint_body(e),
                    ref=e.payload["number"], unique=True)]


def complaint_clue(e: Event, lk: Lookup) -> list[NewFact]:
    """责任倒查 (CMP-5): should-accept-not-accepted and overdue handling. An upheld complaint is already a
    ``complaint_upheld`` fact (from complaint.concluded) and opens its own case. The envelope's body is
    the body (or handling unit) the clue is against."""
    p = e.payload
    if p["kind"] == "upheld_complaint":
        return []
    officers = p["against_ids"] if p["against_kind"] == "officer" else []
    return per_officer("complaint_backtrack", local_day(e.occurred_at), officers, body_id=e.body_id,
                       ref=f"{p['number']}:{p['kind']}", unique=True,
                       attrs={"clue_kind": p["kind"], "label": p["label"], "description": p["description"][:200]})


def _gap_kind(gap: dict) -> str | None:
    kind = gap.get("kind") or ("av_missing" if str(gap.get("code", "")).startswith("av_full_process")
                               else "av_advisory" if str(gap.get("code", "")).startswith("av_expected") else "missing")
    return {"av_missing": "av_missing", "av_advisory": None}.get(kind, "record_gap")


def gap_kinds(payload: dict) -> dict[str, dict]:
    """The kinds of gap a ``record.gaps_found`` lists open (record_gap: missing / wrong stage; av_missing:
    mandatory full-process audio-visual record), each with its codes and descriptions; advisory
    audio-visual suggestions do not count."""
    by_kind: dict[str, list[dict]] = {}
    for gap in payload.get("gaps") or []:
        kind = _gap_kind(gap)
        if kind:
            by_kind.setdefault(kind, []).append(gap)
    return {kind: {"codes": [g.get("code") for g in gaps][:20],
                   "description": "；".join(str(g.get("description", "")) for g in gaps)[:300]}
            for kind, gaps in sorted(by_kind.items())}


def record_gaps(e: Event, lk: Lookup) -> list[NewFact]:
    """REC-1/REC-3, EVAL-6 (issue 16): a report of open gaps is no fact yet — a record may still be in
    flight or its step not due. The service keeps the report (``record_gap_reports``); the periodic job
    turns a gap still open past the grace period into ``record_gap`` / ``av_missing`` facts and one
    clue per case and kind (``workflow.settle_record_gaps``)."""
    return []


def transfer_sent(e: Event, lk: Lookup) -> list[NewFact]:
    """COORD-3: a transfer to public security, procuratorate or discipline inspection (移送) counts for the
    transferring body; ``late`` when it was sent after its day (it was 应移未移 first)."""
    p = e.payload
    return [NewFact("judicial_transfer", p["sent_on"], ref=p["transfer_id"], unique=True,
                    attrs={"recipient_kind": p["recipient_kind"], "late": bool(p["late"])})]


def transfer_overdue(e: Event, lk: Lookup) -> list[NewFact]:
    """COORD-3 应移未移: a transfer decided and not sent by its day; later steps (no receipt, no outcome)
    are the recipient organ's, not the body's, and give no fact."""
    p = e.payload
    if p["stage"] != "send":
        return []
    return [NewFact("transfer_not_made", local_day(e.occurred_at), ref=p["transfer_id"], unique=True,
                    attrs={"recipient_kind": p["recipient_kind"], "due": p["due"].isoformat(),
                           "source_kind": p["source_kind"]})]


def clue_escalated(e: Event, lk: Lookup) -> list[NewFact]:
    """COORD-1: a clue the body (the envelope's: the recipient) did not acknowledge or answer in time —
    one fact per clue and stage, at its first escalation."""
    p = e.payload
    if p["level"] != 1:
        return []
    return [NewFact("clue_overdue", p["escalated_on"], ref=f"{p['clue_id']}:{p['stage']}", unique=True,
                    attrs={"stage": p["stage"], "due": p["due"].isoformat()})]


def inspection_recorded(e: Event, lk: Lookup) -> list[NewFact]:
    """COORD-1 多头检查、重复检查: an inspection of a party and matter already inspected within the window."""
    p = e.payload
    if not (p["repeat"] or p["multi_body"]):
        return []
    return [NewFact("repeat_inspection", p["inspected_on"], ref=p["result_id"], unique=True,
                    attrs={"repeat": p["repeat"], "multi_body": p["multi_body"], "earlier_ids": p["earlier_ids"][:10]})]


RULES: list[FactRule] = [
    # departmental systems
    FactRule(DEPARTMENTS, "decision.made", "on_decision_made", decision_made, "执法决定 → 执法行为、应记录案件、无证执法"),
    FactRule(DEPARTMENTS, "decision.revoked", "on_decision_revoked", decision_revoked, "复议/诉讼纠错 → 纠错率"),
    FactRule(DEPARTMENTS, "decision.challenged", "on_decision_challenged", decision_challenged, "复议/诉讼 → 纠错率分母"),
    FactRule(DEPARTMENTS, "officer.registered", "on_officer_registered", officer_registered, "执法人员、法制审核人员比例"),
    FactRule(DEPARTMENTS, "certificate.status_changed", "on_certificate_changed", certificate_changed, "执法证件"),
    FactRule(DEPARTMENTS, "training.recorded", "on_training_recorded", training_recorded, "培训学时"),
    FactRule(DEPARTMENTS, "zero_enforcement.explained", "on_zero_enforcement_explained", zero_enforcement_explained, "零执法说明"),
    # zhifa services
    FactRule("disclosure", "disclosure.published", "on_published", published, "按时/逾期公示"),
    FactRule("disclosure", "disclosure.overdue", "on_disclosure_overdue", disclosure_overdue, "超期未公示"),
    FactRule("review", "review.classified", "on_classified", classified, "应当法制审核"),
    FactRule("review", "review.approved", "on_review_approved", review_approved, "审核通过"),
    FactRule("review", "review.bypassed", "on_review_bypassed", review_bypassed, "应审未审"),
    FactRule("review", "review.task_overdue", "on_review_task_overdue", review_task_overdue, "审核超期"),
    FactRule("review", "review.staffing_short", "on_staffing_short", staffing, "审核人员配备不足"),
    FactRule("review", "review.staffing_restored", "on_staffing_restored", staffing, "审核人员配备恢复"),
    FactRule("complaints", "complaint.registered", "on_complaint_registered", complaint_registered, "收到投诉举报"),
    FactRule("complaints", "complaint.acknowledged", "on_complaint_acknowledged", complaint_acknowledged, "按时告知"),
    FactRule("complaints", "complaint.concluded", "on_complaint_concluded", complaint_concluded, "查证属实"),
    FactRule("complaints", "complaint.rated", "on_complaint_rated", complaint_rated, "群众满意度"),
    FactRule("complaints", "complaint.accountability_clue", "on_complaint_clue", complaint_clue, "责任倒查线索"),
    FactRule("records", "record.gaps_found", "on_record_gaps", record_gaps, "记录缺失"),
    FactRule("records", "record.case_file_reviewed", "on_case_file_reviewed", case_file_reviewed, "案卷评查"),
    FactRule("complaints", "transfer.sent", "on_transfer_sent", transfer_sent, "移送司法机关、纪检监察 (COORD-3)"),
    FactRule("complaints", "transfer.overdue", "on_transfer_overdue", transfer_overdue, "应移未移 (COORD-3)"),
    FactRule("complaints", "clue.escalated", "on_clue_escalated", clue_escalated, "线索逾期 (COORD-1)"),
    FactRule("complaints", "inspection.recorded", "on_inspection_recorded", inspection_recorded,
             "多头检查、重复检查 (COORD-1)"),
]


def active_rules(rules: list[FactRule] = RULES) -> list[FactRule]:
    """The rules whose event type is in the catalogue (the others wait for their contract)."""
    return [r for r in rules if r.event_type in CATALOGUE and CATALOGUE[r.event_type].emitter == r.source]
