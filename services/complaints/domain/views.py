"""Who sees what of a complaint (保密), back-tracking clues (责任倒查) and the CMP-6 report.

- :func:`public_status` — for the complainant's query by register number + query code: status, dates,
  the notices and progress written *for the complainant*, the result. Nothing else: no handler, no
  internal notes, no subject details, no identity.
- :func:`body_view` — for the body complained about and any event it can read: the complaint without
  the complainant. Name, phone, ID number, address (and look-alike numbers) are redacted from every
  free text (:func:`redact_identity`); the complainant block is absent.
- :func:`handler_view` — everything, for the handler and supervisors (never the query-code hash).
- :func:`accountability_clues` (CMP-5, COORD-1) — upheld complaint → clue against the body (and the
  officers named); left unaccepted although in scope, or overdue → clue against the responsible unit.
- :func:`enterprise_report` (CMP-6) — complaints about enforcement against private enterprises
  counted separately, with satisfaction (EVAL-7).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from .acceptance import Assessment
from .lifecycle import HANDLER_CHANGES, ComplaintRecord, EventKind, HistoryEvent, Status
from .model import Complainant, local_date
from .register import InvalidRegisterNumber, parse_register_number, verify_query_code
from .routing import complained_bodies

REDACTED = "[已隐去]"

# --- public status (complainant) ----------------------------------------------------------------

_PUBLIC_PROGRESS_KINDS = (EventKind.REGISTERED, EventKind.ACCEPTED, EventKind.NOT_ACCEPTED, EventKind.PROGRESS,
                          EventKind.TRANSFERRED, EventKind.EXTENDED, EventKind.ORDERED, EventKind.CONCLUDED)


def _progress_text(e: HistoryEvent) -> str:
    """The line of the complainant's progress list: the conclusion says 已办结 before its result (issue 19: the
    list never showed 已办结 — the conclusion was left out)."""
    if e.kind is EventKind.CONCLUDED:
        return f"您的投诉举报已办结。办理结果：{e.public_text}"
    return e.public_text


def _day(value: dt.datetime | dt.date | None) -> str | None:
    return local_date(value).isoformat() if value is not None else None


def public_status(record: ComplaintRecord) -> dict[str, Any]:
    """What the complainant sees by number + query code (CMP-3, CMP-4). Minimal by design."""
    if record.status is Status.NOT_ACCEPTED:
        result = f"不予受理。理由：{record.not_accepted_reason}"
    elif record.result is not None:
        result = record.result
    else:
        result = None
    return {
        "register_number": record.register_number,
        "status": record.status.value,
        "status_label": record.status.label,
        "received_on": record.complaint.received_on.isoformat(),
        "acknowledge_due": record.acknowledge.due.isoformat(),
        "decided_on": _day(record.decided_at),
        "handling_due": record.handling.due.isoformat() if record.handling else None,
        "concluded_on": _day(record.concluded_at),
        "progress": [{"date": _day(e.at), "text": _progress_text(e)}
                     for e in record.history if e.kind in _PUBLIC_PROGRESS_KINDS and e.public_text],
        "result": result,
    }


def query_status(record: ComplaintRecord | None, number: str, code: str) -> dict[str, Any] | None:
    """The public status if ``number`` and ``code`` match, else None (never says which one was wrong)."""
    try:
        wanted = str(parse_register_number(number))
    except InvalidRegisterNumber:
        return None
    if record is None or record.register_number != wanted:
        return None
    if not verify_query_code(code, record.query_code_hash):
        return None
    return public_status(record)


# --- redaction (body view) ------------------------------------------------------------------------

_HONORIFICS = ("先生", "女士", "小姐", "师傅", "老师", "阿姨", "大爷", "大妈", "大姐", "大哥", "老板", "同志",
               "某某", "某")
_GENERIC_PATTERNS = [
    re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])"),                      # resident ID (18)
    re.compile(r"(?<!\d)\d{15}(?!\d)"),                                             # old resident ID (15)
    re.compile(r"(?<!\d)(?:\+?86[\s\-]?)?1[3-9]\d(?:[\s\-]?\d){8}(?!\d)"),          # mobile
    re.compile(r"(?<!\d)0\d{2,3}[\s\-]?\d{7,8}(?!\d)"),                             # landline
    re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"),               # e-mail
]
_CJK = re.compile(r"^[\u3400-\u9fff·]+$")
_MIN_ADDRESS_FRAGMENT = 6


def _flexible(literal: str) -> re.Pattern:
    """``literal`` allowing whitespace/dashes between its characters, case-insensitive."""
    return re.compile(r"[\s\-－—]*".join(re.escape(ch) for ch in literal), re.IGNORECASE)


def _phone_variants(phone: str) -> list[str]:
    digits = re.sub(r"\D", "", phone)
    variants = [digits] if len(digits) >= 5 else []
    if digits.startswith("0") and len(digits) >= 10:  # landline: also the local number alone
        variants.append(digits[3:] if digits[1] in "12" else digits[4:])
    return variants


def _name_patterns(name: str) -> list[re.Pattern]:
    name = name.strip()
    if not name:
        return []
    patterns = [_flexible(name)]
    if _CJK.match(name):
        if len(name) >= 3:
            surname, given = (name[:2], name[2:]) if len(name) >= 4 else (name[0], name[1:])
        else:
            surname, given = name[0], ""
        if len(given) >= 2:
            patterns.append(_flexible(given))
        patterns.append(re.compile(re.escape(surname) + "(?:" + "|".join(_HONORIFICS) + ")"))
    else:
        patterns += [_flexible(part) for part in name.split() if len(part) >= 3]
    return patterns


def _address_spans(text: str, address: str) -> list[tuple[int, int]]:
    """Maximal fragments of ``address`` (≥ 6 characters) occurring in ``text``."""
    spans, i = [], 0
    address = address.strip()
    while i < len(text):
        length = 0
        while i + length < len(text) and text[i:i + length + 1] in address:
            length += 1
        if length >= _MIN_ADDRESS_FRAGMENT:
            spans.append((i, i + length))
            i += length
        else:
            i += 1
    return spans


def _fold(text: str) -> str:
    """Width-fold character by character (full-width digits, dashes, letters → ASCII), keeping length."""
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        out.append(folded if len(folded) == 1 else ch)
    return "".join(out)


def redact_identity(text: str | None, complainant: Complainant) -> str | None:
    """``text`` with the complainant's identity removed (name, phone, ID, address) and, to be safe,
    every phone number, ID number and e-mail address replaced by ``[已隐去]``."""
    if text is None:
        return None
    original = text
    text = _fold(text)  # same length as the original: spans found here are cut from the original
    spans: list[tuple[int, int]] = []
    patterns = list(_GENERIC_PATTERNS)
    if complainant.name:
        patterns += _name_patterns(unicodedata.normalize("NFKC", complainant.name))
    if complainant.phone:
        patterns += [_flexible(v) for v in _phone_variants(unicodedata.normalize("NFKC", complainant.phone))]
    if complainant.id_number:
        patterns.append(_flexible(unicodedata.normalize("NFKC", complainant.id_number).strip()))
    for pattern in patterns:
        spans += [m.span() for m in pattern.finditer(text) if m.end() > m.start()]
    if complainant.address:
        spans += _address_spans(text, unicodedata.normalize("NFKC", complainant.address))
    if not spans:
        return original
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(original[last:start])
        out.append(REDACTED)
        last = end
    out.append(original[last:])
    return "".join(out)


def body_view(record: ComplaintRecord) -> dict[str, Any]:
    """The complaint as the body complained about may read it: no complainant identity anywhere."""
    c = record.complaint
    person = c.complainant

    def clean(value: str | None) -> str | None:
        return redact_identity(value, person)

    subject = None
    if c.subject is not None:
        subject = {"body_id": c.subject.body_id, "body_kind": c.subject.body_kind.value,
                   "body_region_code": c.subject.body_region_code, "officer_ids": list(c.subject.officer_ids),
                   "other_body_ids": list(c.subject.other_body_ids)}
    return {
        "register_number": record.register_number,
        "status": record.status.value,
        "status_label": record.status.label,
        "channel": c.channel.value,
        "received_on": c.received_on.isoformat(),
        "case_id": c.case_id,
        "subject": subject,
        "request": clean(c.request),
        "facts": clean(c.facts),
        "attachments": c.attachments,
        "acknowledge_due": record.acknowledge.due.isoformat(),
        "handling_due": record.handling.due.isoformat() if record.handling else None,
        "decided_on": _day(record.decided_at),
        "not_accepted_reason": clean(record.not_accepted_reason),
        "result": clean(record.result),
        "upheld": record.upheld,
        "events": [{"seq": e.seq, "kind": e.kind.value, "date": _day(e.at), "text": clean(e.public_text)}
                   for e in record.history if e.kind is not EventKind.RATED],
    }


def _event_dict(e: HistoryEvent) -> dict[str, Any]:
    return {"seq": e.seq, "kind": e.kind.value, "kind_label": e.kind.label, "at": e.at.isoformat(),
            "actor": e.actor, "status": e.status.value, "public_text": e.public_text,
            "internal_note": e.internal_note, "data": dict(e.data)}


def handler_view(record: ComplaintRecord) -> dict[str, Any]:
    """Everything, for the handling unit and supervisors (the query-code hash excepted)."""
    c = record.complaint
    received = c.received_at.isoformat()
    return {
        "register_number": record.register_number,
        "status": record.status.value,
        "status_label": record.status.label,
        "channel": c.channel.value,
        "channel_label": c.channel.label,
        "region_code": c.region_code,
        "received_at": received,
        "complainant": asdict(c.complainant),
        "subject": asdict(c.subject) if c.subject is not None else None,
        "case_id": c.case_id,
        "request": c.request,
        "facts": c.facts,
        "flags": asdict(c.flags),
        "attachments": c.attachments,
        "categories": list(c.categories),
        "handler": asdict(record.handler),
        "route": ({**asdict(record.route), "target_kind": record.route.target_kind.value}
                  if record.route else None),
        "acknowledge": {"due": record.acknowledge.due.isoformat(), "provisional": record.acknowledge.provisional},
        "handling": ({"accepted_on": record.handling.accepted_on.isoformat(), "due": record.handling.due.isoformat(),
                      "base_due": record.handling.base.due.isoformat(), "provisional": record.handling.provisional,
                      "extension": asdict(record.handling.extension) if record.handling.extension else None}
                     if record.handling else None),
        "decided_at": record.decided_at.isoformat() if record.decided_at else None,
        "not_accepted_reason": record.not_accepted_reason,
        "result": record.result,
        "upheld": record.upheld,
        "concluded_at": record.concluded_at.isoformat() if record.concluded_at else None,
        "satisfaction": record.satisfaction,
        "linked_to": record.linked_to,
        "supervising_region": record.supervising_region,
        "superior_order": ({"issuer_region": record.order.issuer_region, "instruction": record.order.instruction,
                            "ordered_on": record.order.ordered_on.isoformat(),
                            "working_days": record.order.working_days, "due": record.order.due.isoformat(),
                            "due_provisional": record.order.deadline.provisional}
                           if record.order is not None else None),
        "history": [_event_dict(e) for e in record.history],
    }


# --- accountability back-tracking (责任倒查, CMP-5) -------------------------------------------------

CLUE_UPHELD = "upheld_complaint"             # 投诉举报经查属实
CLUE_NOT_ACCEPTED = "should_accept_not_accepted"  # 应受理未受理
CLUE_ACK_OVERDUE = "acknowledge_overdue"     # 逾期未告知受理情况
CLUE_HANDLING_OVERDUE = "handling_overdue"   # 逾期未办结

CLUE_LABELS = {CLUE_UPHELD: "投诉举报经查属实", CLUE_NOT_ACCEPTED: "应受理未受理",
               CLUE_ACK_OVERDUE: "逾期未告知受理情况", CLUE_HANDLING_OVERDUE: "逾期未办结"}


@dataclass(frozen=True)
class Clue:
    """A clue for accountability (责任追究线索), shareable across regions and tiers (COORD-1).

    ``against_kind``: ``body`` (被投诉执法主体), ``officer`` (执法人员) or ``handling_unit`` (承办单位).
    """

    kind: str
    against_kind: str
    against_ids: tuple[str, ...]
    region_code: str
    register_number: str
    description: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return CLUE_LABELS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label": self.label, "against_kind": self.against_kind,
                "against_ids": list(self.against_ids), "region_code": self.region_code,
                "register_number": self.register_number, "description": self.description,
                "evidence": dict(self.evidence)}


def handler_on(record: ComplaintRecord, day: dt.date) -> tuple[str, str]:
    """(unit_id, region_code) of the unit responsible at the end of ``day``, from the history."""
    first = record.history[0].data
    unit, region = first.get("handler_unit_id", record.handler.unit_id), first.get(
        "handler_region_code", record.handler.region_code)
    for e in record.history:
        if e.kind in HANDLER_CHANGES and "to_unit_id" in e.data and local_date(e.at) <= day:
            unit, region = e.data["to_unit_id"], e.data["to_region_code"]
    return unit, region


def _handler_at_event(record: ComplaintRecord, kind: EventKind) -> tuple[str, str]:
    first = record.history[0].data
    unit, region = first.get("handler_unit_id", record.handler.unit_id), first.get(
        "handler_region_code", record.handler.region_code)
    for e in record.history:
        if e.kind is kind:
            break
        if e.kind in HANDLER_CHANGES and "to_unit_id" in e.data:
            unit, region = e.data["to_unit_id"], e.data["to_region_code"]
    return unit, region


def accountability_clues(record: ComplaintRecord, *, today: dt.date, assessment: Assessment | None = None,
                         found_in_scope: bool | None = None) -> list[Clue]:
    """Clues raised by one complaint (CMP-5).

    - concluded and upheld → against the body/bodies complained about, and the officers named;
    - not accepted although in scope (``assessment.acceptable`` or a supervisor's ``found_in_scope``)
      → against the unit that refused;
    - acceptance not told by the acknowledgement deadline, or not concluded by the handling deadline
      (late or still open on ``today``) → against the unit responsible on the due day.
    """
    clues: list[Clue] = []
    number = record.register_number
    subject = record.complaint.subject

    if record.status in (Status.CONCLUDED, Status.RATED) and record.upheld and subject is not None:
        bodies = tuple(sorted(complained_bodies(subject))) or (subject.body_id,)
        clues.append(Clue(CLUE_UPHELD, "body", bodies, subject.body_region_code, number,
                          f"投诉举报（编号{number}）经查属实，被投诉执法主体的执法行为违法或不当，应依法追究其主体责任",
                          {"result": record.result}))
        if subject.officer_ids:
            clues.append(Clue(CLUE_UPHELD, "officer", subject.officer_ids, subject.body_region_code, number,
                              f"投诉举报（编号{number}）经查属实，涉及的执法人员应依法追究行政执法责任",
                              {"body_id": subject.body_id}))

    in_scope = found_in_scope if found_in_scope is not None else (assessment.acceptable if assessment else None)
    if record.status is Status.NOT_ACCEPTED and in_scope:
        unit, region = _handler_at_event(record, EventKind.NOT_ACCEPTED)
        clues.append(Clue(CLUE_NOT_ACCEPTED, "handling_unit", (unit,), region, number,
                          f"投诉举报（编号{number}）属于受理范围，承办单位应受理未受理，应倒查追究其责任",
                          {"reason_given": record.not_accepted_reason}))

    ack_due = record.acknowledge.due
    decided = local_date(record.decided_at) if record.decided_at else None
    if (decided is not None and decided > ack_due) or (decided is None and today > ack_due):
        unit, region = handler_on(record, ack_due)
        clues.append(Clue(CLUE_ACK_OVERDUE, "handling_unit", (unit,), region, number,
                          f"投诉举报（编号{number}）未在{ack_due.isoformat()}前告知投诉人受理情况，"
                          f"{'逾期告知' if decided else '至今未告知'}，应倒查追究承办单位责任",
                          {"due": ack_due.isoformat(), "decided_on": decided.isoformat() if decided else None}))

    if record.handling is not None:
        due = record.handling.due
        concluded = local_date(record.concluded_at) if record.concluded_at else None
        if (concluded is not None and concluded > due) or (concluded is None and record.is_open and today > due):
            unit, region = handler_on(record, due)
            clues.append(Clue(CLUE_HANDLING_OVERDUE, "handling_unit", (unit,), region, number,
                              f"投诉举报（编号{number}）办理期限于{due.isoformat()}届满，"
                              f"{'逾期办结' if concluded else '至今未办结'}，应倒查追究承办单位责任",
                              {"due": due.isoformat(), "concluded_on": concluded.isoformat() if concluded else None}))
    return clues


# --- CMP-6: private enterprises -------------------------------------------------------------------

@dataclass(frozen=True)
class ComplaintCounts:
    total: int
    by_status: dict[str, int]
    not_accepted: int
    concluded: int
    upheld: int
    rated: int
    mean_satisfaction: float | None


@dataclass(frozen=True)
class EnterpriseReport:
    """涉民营企业投诉举报 counted separately from the others (CMP-6, EVAL-7)."""

    private_enterprise: ComplaintCounts
    other: ComplaintCounts

    def to_dict(self) -> dict[str, Any]:
        return {"private_enterprise": asdict(self.private_enterprise), "other": asdict(self.other)}


def _counts(records: list[ComplaintRecord]) -> ComplaintCounts:
    by_status = {s.value: 0 for s in Status}
    for r in records:
        by_status[r.status.value] += 1
    scores = [r.satisfaction for r in records if r.satisfaction is not None]
    return ComplaintCounts(
        total=len(records), by_status=by_status, not_accepted=by_status[Status.NOT_ACCEPTED.value],
        concluded=by_status[Status.CONCLUDED.value] + by_status[Status.RATED.value],
        upheld=sum(1 for r in records if r.upheld), rated=len(scores),
        mean_satisfaction=round(sum(scores) / len(scores), 2) if scores else None)


def enterprise_report(records: Iterable[ComplaintRecord]) -> EnterpriseReport:
    """Counts for complaints about enforcement against private enterprises vs all others (CMP-6)."""
    records = list(records)
    private = [r for r in records if r.complaint.flags.against_private_enterprise]
    other = [r for r in records if not r.complaint.flags.against_private_enterprise]
    return EnterpriseReport(_counts(private), _counts(other))


def private_enterprise_by_body(records: Iterable[ComplaintRecord]) -> dict[str, dict[str, int]]:
    """涉民营企业投诉举报 per body complained about: total, upheld, not accepted (CMP-6)."""
    by_body: dict[str, dict[str, int]] = {}
    for r in records:
        if not r.complaint.flags.against_private_enterprise:
            continue
        entry = by_body.setdefault(r.complaint.subject.body_id, {"total": 0, "upheld": 0, "not_accepted": 0})
        entry["total"] += 1
        entry["upheld"] += int(bool(r.upheld))
        entry["not_accepted"] += int(r.status is Status.NOT_ACCEPTED)
    return by_body
