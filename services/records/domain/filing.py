"""What a life-cycle event files in the case file (归档材料认定), and when a record is refused (拒收) —
pure rules of the records service (REC-1, REC-2, REC-3, REC-5), decided here and applied by the ingest
pipeline (``services/records/ingest.py``); no database, no configuration, no clock (tolerances, grace
periods and ``now`` are passed in).

- the stage of each life-cycle event (``EVENT_STAGE``) and the order of stages (``STAGE_ORDER``);
- the record kind of an ``evidence.recorded`` payload (``record_kind_of``: 文字、音像、电子数据) and the
  case-file document an event evidences (``implied_document``), for completeness;
- the completeness facts an event adds (``fold_facts``: measures, hearing, service methods, on-site);
- refusals: a record of a sealed case (``sealed_refusal_reason``, unless it happened before the archiving
  and arrived within the grace period: ``arrived_late``), and a record dated before its case was opened
  (``before_opening``, ``before_opening_reason``).

REC-1, issue 14: a record of a case dated before the case was opened is implausible and refused. The
opening may arrive before or after the record (queues give no order across event types), so the check
runs at whichever of the two arrives second: a record arriving after case.opened is refused at once
(refusal entry, kept, dead-lettered); a record that arrived first is retracted when case.opened arrives
(a refusal entry naming the record's sequence, the same reason, listed with the case's refusals; the
record no longer counts for the timeline, the facts or completeness). Either way the case ends in the
same state.
"""
from __future__ import annotations

import datetime as dt

from services.records.domain.entries import RecordKind, Stage

STAGE_ORDER = [s.value for s in Stage]

EVENT_STAGE = {  # REC-1 stage of each life-cycle event (evidence.recorded carries its own)
    "case.opened": "initiation",
    "hearing.held": "decision",
    "decision.proposed": "decision",
    "review.approved": "decision",
    "review.returned": "decision",
    "decision.made": "decision",
    "decision.served": "service_execution",
    "decision.executed": "service_execution",
    "decision.revoked": "decision",
    "case.archived": "archiving",
}

# events that change what is known about a case but enter no entry in its record (review's classification)
FACTS_ONLY = {"review.classified"}

AV_FORMS = {"photo", "audio", "video", "body_worn_camera", "surveillance"}
ONSITE_DOCUMENTS = {"onsite_record", "onsite_inspection_record", "onsite_verification_record"}
SERVICE_METHOD = {"direct": "direct", "mail": "mail", "electronic": "electronic", "lien": "lodging",
                  "public_notice": "public_notice", "entrusted": "direct"}

OPENING_CHECKED = ("evidence.recorded", "hearing.held", "decision.proposed", "decision.made", "decision.served",
                   "decision.executed", "decision.revoked")
BEFORE_OPENING = "recorded_before_case_opened"
RETRACTABLE = ("record", "stage")     # the entry kinds of a record that can be retracted (not corrections)
CHINA = dt.timezone(dt.timedelta(hours=8))


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """A naive datetime read back from the database was stored in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment


def record_kind_of(payload: dict) -> str | None:
    """The domain record kind (REC-2/REC-3) of an ``evidence.recorded`` payload.

    ``audio_visual`` records name their form in ``av_form``; without it, a record with a time span
    (started_at < ended_at) counts as a video recording and one without as a photo."""
    kind = payload.get("record_kind")
    if kind == "text":
        return RecordKind.TEXT.value
    if kind == "electronic":
        return RecordKind.ELECTRONIC_DATA.value
    if kind == "audio_visual":
        form = payload.get("av_form")
        if form in AV_FORMS:
            return form
        start, end = payload.get("started_at"), payload.get("ended_at")
        return RecordKind.VIDEO.value if start and end and end > start else RecordKind.PHOTO.value
    return None


def implied_document(event, rules) -> str | None:
    """The case-file document a life-cycle event evidences (REC-2), for completeness."""
    p, t = event.payload, event.event_type
    if t == "evidence.recorded":
        return p.get("document_type")
    if t == "decision.made":
        code = f"{p.get('action_type')}_decision"
        return code if code in rules.document_types else None
    if t == "review.approved":
        return "legal_review_opinion"
    if t == "hearing.held" and p.get("record_hash"):
        return "hearing_record"
    if t == "decision.served" and p.get("document_hash"):
        return "proof_of_service"
    if t == "decision.executed" and p.get("document_hash"):
        return "execution_record"
    return None


def fold_facts(facts: dict, t: str, p: dict, rules) -> None:
    """Add what an event of type ``t`` with payload ``p`` tells about the case to its completeness facts."""
    if t == "decision.proposed":
        measures = set(facts.get("measures") or ()) | {m for m in p.get("measures") or () if m in rules.measures}
        facts["measures"] = sorted(measures)
        if p.get("hearing_requested"):
            facts["hearing_requested"] = True
    elif t == "hearing.held":
        facts["hearing_requested"] = True
    elif t == "decision.served":
        method = SERVICE_METHOD.get(p.get("method"))
        if method:
            facts["service_methods"] = sorted(set(facts.get("service_methods") or ()) | {method})
    elif t == "review.classified":
        # REC-5, REV-1: whether the decision is major decides the legal-review items. Monotone (issue 14):
        # major when any version was classified major — classifications only add, in any arrival order
        majors = set(facts.get("major_versions") or ())
        if p.get("major"):
            majors.add(int(p["version"]))
        facts["major_versions"] = sorted(majors)
        facts["is_major"] = bool(majors)
    elif t == "evidence.recorded":
        if p.get("document_type") in ONSITE_DOCUMENTS:
            facts["onsite"] = True
        if p.get("covers") in rules.measures:
            facts["measures"] = sorted(set(facts.get("measures") or ()) | {p["covers"]})


def sealed_refusal_reason(case_id: str, archived_at: dt.datetime | None) -> str:
    """Why a record of an archived (sealed) case is refused (REC-5)."""
    when = _aware(archived_at).isoformat() if archived_at is not None else "此前"
    return (f"case {case_id} is archived and sealed; records are refused (REC-5) — "
            f"案件 {case_id} 已于 {when} 归档封存，不再接受新的记录；如需补正，须经监督人员授权更正")


def arrived_late(event_type: str, occurred_at: dt.datetime, archived_at: dt.datetime | None,
                 sealed_at: dt.datetime | None, now: dt.datetime, grace_seconds: float) -> bool:
    """A record that occurred before the archiving and arrived within the grace period after
    sealing (events of one case travel on separate queues) — not a change to a sealed file."""
    if event_type == "case.archived" or archived_at is None or sealed_at is None:
        return False
    return (occurred_at <= _aware(archived_at)
            and (now - _aware(sealed_at)).total_seconds() <= grace_seconds)


def before_opening(opened_at: dt.datetime | None, occurred_at: dt.datetime, tolerance_seconds: float) -> bool:
    """REC-1: a record dated before its case was opened (beyond the tolerance) is implausible."""
    if opened_at is None:
        return False
    return _aware(occurred_at) < _aware(opened_at) - dt.timedelta(seconds=tolerance_seconds)


def before_opening_reason(case_id: str, event_type: str, occurred_at: dt.datetime, opened_at: dt.datetime) -> str:
    when = _aware(occurred_at).astimezone(CHINA).isoformat()
    opened = _aware(opened_at).astimezone(CHINA).isoformat()
    return (f"{BEFORE_OPENING}: {event_type} of case {case_id} occurred at {when}, before the case was "
            f"opened at {opened} (REC-1) — 该记录的发生时间（{when}）早于案件 {case_id} 的立案时间（{opened}），"
            f"不予接收；请核对记录的发生时间或立案时间后重新报送")
