"""Publication life cycle in the database (DISC-3…DISC-6): the rules are the domain's
(:mod:`services.disclosure.domain.publication` and ``.redaction``); this module loads a row into a
domain :class:`Publication`, runs the transition, writes it back and keeps the search index in step.

Fail closed (DISC-4): a decision whose redacted entry still shows personal data
(``PersonalDataLeak``) is not published; it stays ``pending`` with an internal hold reason until the
body sends a correction, and it turns overdue like any unpublished decision.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.db import emit, one_of, utcnow
from services.common.workdays import WorkingDayCalendar
from services.disclosure import metrics, search
from services.disclosure.domain.deadlines import publication_deadline
from services.disclosure.domain.model import IdType, PartyKind, decision_from_payload
from services.disclosure.domain.publication import (Action, HistoryItem, InvalidTransition, PublicationState,
                                                    Revision, WithdrawalReason, link_remade)
from services.disclosure.domain.publication import Publication as DomainPublication
from services.disclosure.domain.redaction import (Outcome, PersonalDataLeak, PublicEntry, PublicParty, redact_decision,
                                                  redact_text)
from services.disclosure.models import BeforeItem, Counter, DecisionSource, Publication, Revocation

log = logging.getLogger(__name__)
CHINA = dt.timezone(dt.timedelta(hours=8))
SYSTEM = "system"
REVOKED_BY_ZH = {"body": "本机关自行纠正", "reconsideration": "行政复议决定", "litigation": "人民法院裁判",
                 "supervision": "行政执法监督决定"}
CORRECTABLE = ("decision_no", "category", "facts", "legal_basis", "conclusion", "fine_amount", "parties", "secrecy")


def china_now() -> dt.datetime:
    """Now in China, from the suite's clock (services/common/clock.py)."""
    return clock.now().astimezone(CHINA)


class Refused(Exception):
    """A staff request the rules refuse: HTTP status, code and Chinese message (and field errors)."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}

    def as_dict(self) -> dict:
        return {"error": self.code, "status": self.status, "message": self.message, "fields": self.fields}


# --- (de)serialising domain objects --------------------------------------------------------------------
def entry_from_dict(d: dict) -> PublicEntry:
    parties = tuple(PublicParty(PartyKind(p["party_kind"]), p["name"], IdType(p.get("id_type") or "other"),
                                p.get("id_display") or "") for p in d.get("parties") or ())
    fine = d.get("fine_amount")
    return PublicEntry(
        case_id=d["case_id"], decision_no=d["decision_no"], version=int(d.get("version") or 1), body_id=d["body_id"],
        body_name=d.get("body_name") or "", region_code=d.get("region_code") or "", action_type=d["action_type"],
        action_type_zh=d.get("action_type_zh") or "", category=d.get("category") or "",
        decided_on=dt.date.fromisoformat(d["decided_on"][:10]), conclusion_type=d.get("conclusion_type") or "",
        parties=parties, facts=d.get("facts"), legal_basis=d.get("legal_basis"), conclusion=d.get("conclusion"),
        fine_amount=Decimal(fine) if fine not in (None, "") else None, summary_only=bool(d.get("summary_only")),
        notice_zh=d.get("notice_zh"))


def history_to_dict(h: HistoryItem) -> dict:
    return {"at": h.at.isoformat(), "actor": h.actor, "action": h.action.value, "reason_zh": h.reason_zh,
            "revision": h.revision, "changed_fields": list(h.changed_fields),
            "withdrawal_reason": h.withdrawal_reason.value if h.withdrawal_reason else None,
            "related_publication": h.related_publication}


_LEGACY = {"published": "publish", "withdrawn": "withdraw"}


def history_from_dict(d: dict) -> HistoryItem | None:
    try:
        action = Action(_LEGACY.get(d.get("action"), d.get("action")))
    except ValueError:
        return None
    reason = d.get("withdrawal_reason")
    return HistoryItem(dt.datetime.fromisoformat(d["at"]), d.get("actor") or SYSTEM, action,
                       d.get("reason_zh") or d.get("reason") or "", int(d.get("revision") or 0),
                       tuple(d.get("changed_fields") or ()), WithdrawalReason(reason) if reason else None,
                       d.get("related_publication"))


_STATE = {"pending": PublicationState.PENDING, "published": PublicationState.PUBLISHED,
          "corrected": PublicationState.CORRECTED, "withdrawn": PublicationState.WITHDRAWN,
          "cancelled": PublicationState.CANCELLED, "withheld": PublicationState.PENDING}


def to_domain(row: Publication) -> DomainPublication:
    revisions = [Revision(int(r["number"]), entry_from_dict(r["entry"]), dt.datetime.fromisoformat(r["at"]))
                 for r in row.revisions or []]
    history = [h for h in (history_from_dict(d) for d in row.history or []) if h is not None]
    return DomainPublication(
        publication_id=row.publication_id, case_id=row.case_id, decision_no=row.decision_no, state=_STATE[row.status],
        revisions=revisions, history=history, replaces=row.replaces, replaced_by=row.replaced_by,
        withdrawal_reason=WithdrawalReason(row.withdrawal_reason) if row.withdrawal_reason else None,
        published_on=row.published_on)


def entry_search_text(entry: PublicEntry) -> str:
    return " ".join(filter(None, [entry.decision_no, entry.category, entry.body_name,
                                  " ".join(p.name for p in entry.parties), entry.facts, entry.conclusion,
                                  entry.legal_basis, entry.conclusion_type]))


def _set_entry_columns(row: Publication, entry: PublicEntry | None) -> None:
    if entry is None:
        row.parties_public = row.facts_public = row.conclusion_public = row.legal_basis = row.search_text = ""
        row.parties_json, row.fine_amount = [], None
        return
    row.decision_no = entry.decision_no
    row.category = entry.category[:300]
    row.parties_public = "、".join(p.name for p in entry.parties)
    row.parties_json = [{"party_kind": p.party_kind.value, "name": p.name, "id_type": p.id_type.value,
                         "id_display": p.id_display} for p in entry.parties]
    row.facts_public = entry.facts or ""
    row.conclusion_public = entry.conclusion or entry.notice_zh or ""
    row.legal_basis = entry.legal_basis or ""
    row.conclusion_type = entry.conclusion_type
    row.fine_amount = str(entry.fine_amount) if entry.fine_amount is not None else None
    row.summary_only = entry.summary_only
    row.notice_zh = entry.notice_zh
    row.search_text = entry_search_text(entry)


def write_back(session: Session, row: Publication, dom: DomainPublication) -> None:
    """Store the domain publication's state, current entry, revisions and history; re-index."""
    was_public = row.status in search.PUBLIC_STATUSES
    if not (row.status == "withheld" and dom.state is PublicationState.PENDING):
        row.status = dom.state.value
    if dom.revisions:
        _set_entry_columns(row, dom.revisions[-1].entry)
    row.revisions = [{"number": r.number, "at": r.at.isoformat(), "entry": r.entry.to_dict()} for r in dom.revisions]
    row.history = [history_to_dict(h) for h in dom.history]
    row.revision = dom.revisions[-1].number if dom.revisions else 0
    row.corrections = sum(1 for h in dom.history if h.action is Action.CORRECT)
    row.withdrawal_reason = dom.withdrawal_reason.value if dom.withdrawal_reason else None
    row.replaces, row.replaced_by = dom.replaces, dom.replaced_by
    row.published_on = dom.published_on
    row.updated_at = utcnow()
    sync_index(session, row, was_public)


def sync_index(session: Session, row: Publication, was_public: bool) -> None:
    if was_public and row.search_terms:
        search.remove_from_index(session, row.search_key, row.search_terms)
    if row.status in search.PUBLIC_STATUSES:
        row.search_terms = search.doc_terms(row.search_text, row.body_id, row.region_code, row.action_type)
        search.add_to_index(session, row.search_key, row.publication_id, row.search_terms)


# --- helpers --------------------------------------------------------------------------------------------
def body_names(session: Session, body_ids) -> dict[str, str | None]:
    """Each body's current registered name (事前公开 register; None for a body registered without
    one), for the bodies that were registered."""
    names: dict[str, str | None] = {}
    for item_id, content in session.execute(
            select(BeforeItem.item_id, BeforeItem.content).where(BeforeItem.kind == "body",
                                                                 one_of(session, BeforeItem.item_id, body_ids))
            .order_by(BeforeItem.item_id, BeforeItem.valid_from.desc(), BeforeItem.version.desc())):
        if item_id not in names:            # the latest version is the registration in force
            names[item_id] = (content or {}).get("name") if content else None
    return names


def acting_names(session: Session, body_ids) -> dict[str, str | None]:
    """The name each body's decisions are published under (PLAT-2, issue 18): its registered name, except an
    entrusted organisation (受委托组织), which acts in the name of the body that entrusted it (以委托行政机关名义
    实施): ``<entrusting body>（受委托组织：<its own name>）`` — the entrusting body answers for the act."""
    contents: dict[str, dict] = {}
    for item_id, content in session.execute(
            select(BeforeItem.item_id, BeforeItem.content).where(BeforeItem.kind == "body",
                                                                 one_of(session, BeforeItem.item_id, body_ids))
            .order_by(BeforeItem.item_id, BeforeItem.valid_from.desc(), BeforeItem.version.desc())):
        contents.setdefault(item_id, content or {})
    entrusting = {c.get("entrusting_body_id") for c in contents.values()
                  if c.get("body_kind") == "entrusted_org" and c.get("entrusting_body_id")}
    principals = body_names(session, entrusting) if entrusting else {}
    names: dict[str, str | None] = {}
    for body_id, content in contents.items():
        own = content.get("name")
        principal = content.get("entrusting_body_id") if content.get("body_kind") == "entrusted_org" else None
        if principal:
            names[body_id] = f"{principals.get(principal) or principal}（受委托组织：{own or body_id}）"[:200]
        else:
            names[body_id] = own
    return names


def body_name(session: Session, body_id: str) -> str | None:
    """The body's current registered name, if the body was registered."""
    return body_names(session, [body_id]).get(body_id)


def source_decision(session: Session, row: Publication):
    source = session.get(DecisionSource, row.publication_id)
    return (source, decision_from_payload(source.payload)) if source is not None else (None, None)


def _labels(row: Publication) -> tuple[str, str]:
    return row.region_code, row.body_id


def _emit_published(session: Session, row: Publication, redactions: dict, caused_by=None) -> None:
    on_time = row.published_on <= row.due_on
    emit(session, "disclosure.published", {
        "publication_id": row.publication_id, "decision_no": row.decision_no, "action_type": row.action_type,
        "due_on": row.due_on, "due_provisional": bool(row.due_provisional), "published_on": row.published_on,
        "on_time": on_time, "redactions": redactions},
        region_code=row.region_code, body_id=row.body_id, case_id=row.case_id, caused_by=caused_by)
    metrics.PUBLISHED.labels(*_labels(row), "on_time" if on_time else "late").inc()
    if not on_time:
        metrics.PUBLISHED_LATE.labels(*_labels(row)).inc()


FIELD_ZH = {"facts": "事实", "conclusion": "执法结论", "legal_basis": "执法依据", "category": "执法类别"}
LEAK_KIND_ZH = {"name": "当事人姓名", "resident_id": "身份证号码", "mobile": "手机号码", "bank_account": "银行账号",
                "id_number": "证件号码", "phone": "电话号码",
                "labelled_name": "法定代表人、负责人、经营者等身份标注后的疑似姓名"}


def _hold_reason(leak: PersonalDataLeak) -> str:
    """Why a publication is held, for staff (field and kind only, never the value) — DISC-4."""
    where = "、".join(sorted({f"{FIELD_ZH.get(field.split('.')[0].split('[')[0], field)}（"
                              f"{LEAK_KIND_ZH.get(kind, kind)}）" for field, kind in leak.findings}))
    return f"自动脱敏后仍检出个人信息：{where}。暂缓公开，请执法机关更正后公开。"


# --- decision.made ----------------------------------------------------------------------------------------
@dataclass
class DecisionBatch:
    """What a batch of decision.made needs from the database, read in three statements instead of
    three per decision (each also flushed the previous decision's rows first): the publications
    already made of its (case, version) pairs, the registered names of its bodies, and a block of
    search-key sequence numbers. Its index rows are written together before the commit."""

    existing: dict          # (case_id, version) -> publication_id
    names: dict             # body_id -> the name its decisions are published under (acting_names)
    sequences: deque        # search-key sequence numbers reserved for the batch
    # cases of the batch with a revocation stored before it or recorded in it (None: not read — query);
    # ``apply_revocations`` skips the others without a query (which also flushed the decision's rows)
    revoked: set | None = None


BATCH_KEY = "disclosure.decision_batch"


def _read_decisions(session: Session, events) -> DecisionBatch:
    cases = {e.case_id for e in events}
    existing = {(c, v): pid for c, v, pid in session.execute(
        select(Publication.case_id, Publication.version, Publication.publication_id)
        .where(one_of(session, Publication.case_id, cases)))}
    return DecisionBatch(existing, acting_names(session, {e.body_id for e in events}),
                         deque(search.next_sequences(session, Counter, len(events))))


def preload_decisions(session: Session, events) -> DecisionBatch:
    """Read what ``create_from_decision`` needs for ``events`` at once; it then uses this batch, and
    its index rows wait for ``finish_decisions``."""
    batch = session.info[BATCH_KEY] = _read_decisions(session, events)
    batch.revoked = set(session.scalars(select(Revocation.case_id).where(
        one_of(session, Revocation.case_id, {e.case_id for e in events})).distinct()))
    session.info[search.PENDING_INDEX] = []
    return batch


def finish_decisions(session: Session) -> None:
    """Write the batch's index rows; later work in the transaction goes back to one at a time."""
    search.flush_pending_index(session)
    session.info.pop(BATCH_KEY, None)
    session.info.pop(search.PENDING_INDEX, None)


def create_from_decision(session: Session, event, calendar: WorkingDayCalendar) -> Publication | None:
    """DISC-3/DISC-4: deadline in working days, redaction, publication at once (or held / withheld)."""
    payload = event.payload
    version = int(payload.get("version") or 1)
    # inside a batch handler its batch was read in advance; otherwise the same reads for this event
    batch: DecisionBatch = session.info.get(BATCH_KEY) or _read_decisions(session, [event])
    duplicate_id = batch.existing.get((event.case_id, version))
    if duplicate_id is not None:
        log.warning("decision.made %s: case %s version %s already has publication %s; ignored", event.event_id,
                    event.case_id, version, duplicate_id)
        return None
    name = batch.names.get(event.body_id) or event.body_id
    source_payload = {**event.raw["payload"], "case_id": event.case_id, "body_id": event.body_id,
                      "region_code": event.region_code, "body_name": name}
    decision = decision_from_payload(source_payload)
    decided_on = payload["decided_at"].astimezone(CHINA).date()
    override = payload.get("publication_period_override")
    deadline = publication_deadline(payload["action_type"], decided_on, calendar, override_days=override)
    now = china_now()
    pid = str(uuid.uuid4())
    row = Publication(
        publication_id=pid, case_id=event.case_id, decision_no=payload["decision_no"], region_code=event.region_code,
        body_id=event.body_id, body_name=name, action_type=payload["action_type"], category=payload["category"][:300],
        decided_on=decided_on, due_on=deadline.due, due_provisional=deadline.provisional, status="pending",
        parties_public="", facts_public="", conclusion_public="", legal_basis="", search_text="", history=[],
        revisions=[], version=version, revision=0, corrections=0, summary_only=False,
        calendar_version=deadline.calendar_version, publication_period_override=override, updated_at=utcnow(),
        matter_code=str(payload["matter_code"])[:64],
        search_key=search.search_key(decided_on, batch.sequences.popleft() if batch.sequences
                                     else search.next_sequence(session, Counter)))
    batch.existing[(event.case_id, version)] = pid
    session.add(row)
    session.add(DecisionSource(publication_id=pid, payload=source_payload, received_at=utcnow()))
    try:
        result = redact_decision(decision)
    except PersonalDataLeak as leak:
        row.hold_reason = _hold_reason(leak)
        metrics.HELD.labels(*_labels(row)).inc()
        log.warning("publication %s held: %s", pid, leak)
        _link_to_remade_original(session, row, now)
        return row
    if result.outcome is Outcome.WITHHELD:
        row.status, row.hold_reason = "withheld", result.reason_zh
        row.conclusion_public = result.reason_zh or ""
        metrics.WITHHELD.labels(*_labels(row)).inc()
        return row
    dom = to_domain(row)
    # DISC-4's last line of defence runs once per entry: ``redact_decision`` already checked a full
    # (PUBLISH) entry against these parties before returning it (the entry is frozen); a summary was not
    # checked there, so ``publish`` checks it (issue 17: the second check was 11% of decision.made's CPU)
    dom.publish(result.entry, now, SYSTEM, parties=None if result.checked else decision.parties,
                reason_zh="依法公开执法决定信息" + ("（摘要）" if result.outcome is Outcome.SUMMARY else ""))
    write_back(session, row, dom)
    _link_to_remade_original(session, row, now, dom)
    _emit_published(session, row, result.counts(), caused_by=event)
    return row


def _link_to_remade_original(session: Session, row: Publication, now: dt.datetime,
                             dom: DomainPublication | None = None) -> None:
    """A re-made decision (higher version of a case whose publication was withdrawn as 'remade') is
    linked to the original; both histories record it (DISC-6)."""
    if row.version <= 1:
        return  # a first decision re-makes nothing (and most decisions are first: skip the query)
    old = session.scalars(select(Publication).where(
        Publication.case_id == row.case_id, Publication.status == "withdrawn",
        Publication.withdrawal_reason == "remade", Publication.replaced_by.is_(None),
        Publication.version < row.version).order_by(Publication.version.desc()).limit(1)).first()
    if old is None:
        return
    old_dom, new_dom = to_domain(old), dom or to_domain(row)
    try:
        link_remade(old_dom, new_dom, now, SYSTEM)
    except InvalidTransition as exc:
        log.warning("cannot link %s to %s: %s", row.publication_id, old.publication_id, exc)
        return
    write_back(session, old, old_dom)
    write_back(session, row, new_dom)


# --- corrections (DISC-5) ---------------------------------------------------------------------------------
def correct(session: Session, row: Publication, changes: dict, reason: str, actor: str) -> Publication:
    """Apply the body's correction: the source is changed, re-redacted and checked; a published entry
    gets a new revision, a held (pending) one is published. Raises Refused."""
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise Refused(422, "invalid", "请求内容有误", {k: ["不可更正的字段"] for k in unknown})
    if not (reason or "").strip():
        raise Refused(422, "invalid", "请求内容有误", {"reason": ["必须填写更正原因"]})
    if row.status not in ("pending", "published", "corrected"):
        raise Refused(409, "invalid_state", f"当前状态为“{_status_zh(row.status)}”，不能更正")
    if "secrecy" in changes and row.status != "pending":
        raise Refused(409, "invalid_state", "已公开的信息不能更改涉密标识；如依法不应公开，请撤下后按规定处理")
    source, _ = source_decision(session, row)
    if source is None:
        raise Refused(409, "no_source", "缺少该决定的原始信息，无法更正")
    payload = {**source.payload, **{k: (str(v) if isinstance(v, Decimal) else v) for k, v in changes.items()}}
    try:
        decision = decision_from_payload(payload)
    except ValueError as exc:
        raise Refused(422, "invalid", f"更正内容有误：{exc}") from None
    if decision.decided_at != row.decided_on and "decided_at" in changes:  # pragma: no cover - not correctable
        raise Refused(422, "invalid", "决定日期不可更正")
    try:
        result = redact_decision(decision)
    except PersonalDataLeak as leak:
        raise Refused(422, "personal_data", "更正后的内容经脱敏后仍含个人信息，不能公开",
                      {field: [f"仍含个人信息（{kind}）"] for field, kind in leak.findings}) from None
    masked_reason, _ = redact_text(reason.strip(), decision.parties)
    now = china_now()
    source.payload = payload
    if result.outcome is Outcome.WITHHELD:
        row.status, row.hold_reason = "withheld", result.reason_zh
        row.updated_at = utcnow()
        return row
    dom = to_domain(row)
    try:
        if dom.state is PublicationState.PENDING:
            dom.publish(result.entry, now, actor, parties=decision.parties, reason_zh=f"更正后公开：{masked_reason}")
        else:
            dom.correct(result.entry, now, actor, masked_reason, parties=decision.parties)
    except InvalidTransition as exc:
        raise Refused(409, "invalid_transition", str(exc)) from None
    first_publication = row.status == "pending"
    row.hold_reason = None
    write_back(session, row, dom)
    if first_publication:
        _emit_published(session, row, result.counts())
        _link_to_remade_original(session, row, now, dom)
    else:
        metrics.CORRECTIONS.labels(*_labels(row)).inc()
    return row


# --- take-downs (DISC-6) ----------------------------------------------------------------------------------
def take_down(session: Session, row: Publication, reason: WithdrawalReason, detail: str, actor: str) -> bool:
    """Withdraw a published entry, or cancel a not-yet-published one (pending / held / withheld): a
    decision that no longer stands is never published. Returns False when nothing was left to do."""
    if row.status in ("withdrawn", "cancelled"):
        return False
    _, decision = source_decision(session, row)
    masked, _ = redact_text(detail.strip(), decision.parties if decision else ())
    now = china_now()
    dom = to_domain(row)
    try:
        if dom.state in (PublicationState.PUBLISHED, PublicationState.CORRECTED):
            dom.withdraw(reason, now, actor, masked)
            row.withdrawn_on = now.date()
            metrics.TAKEDOWNS.labels(*_labels(row), reason.value).inc()
        else:
            dom.cancel(reason, now, actor, masked)
    except InvalidTransition as exc:
        raise Refused(409, "invalid_transition", str(exc)) from None
    row.hold_reason = None
    write_back(session, row, dom)  # withheld → cancelled too
    return True


# --- revocations whatever the order of arrival (DISC-6, issue 14) ------------------------------------------
def record_revocation(session: Session, event) -> Revocation:
    """Keep a decision.revoked; ``apply_revocations`` gives it its effect."""
    row = Revocation(event_id=event.event_id, case_id=event.case_id, region_code=event.region_code,
                     body_id=event.body_id, reason=event.payload["reason"],
                     decided_at=event.payload["decided_at"].astimezone(dt.timezone.utc),  # SQLite keeps no zone
                     detail=revocation_detail(event.payload), actor=event.source_system, received_at=utcnow())
    session.add(row)
    session.flush()
    batch = session.info.get(BATCH_KEY)
    if batch is not None and batch.revoked is not None:
        batch.revoked.add(row.case_id)     # a decision of the batch after this revocation looks it up
    return row


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def apply_revocations(session: Session, case_id: str) -> None:
    """Give the case's revocations their effect, the same whichever arrives first, the decision or its
    revocation: a revocation applies to the decision in force when it was decided — the highest
    version decided at or before its ``decided_at`` — taken down if published (withdrawn) or never
    published if not yet (cancelled); a decision arriving after its revocation is published and taken
    down in the same transaction, so it ends as it would have in order. A re-made decision is linked
    to the original withdrawn as ``remade`` whichever arrived first."""
    batch = session.info.get(BATCH_KEY)
    if batch is not None and batch.revoked is not None and case_id not in batch.revoked:
        return      # inside a batch of decisions: the case has no revocation (read with the batch)
    revocations = session.scalars(select(Revocation).where(Revocation.case_id == case_id)
                                  .order_by(Revocation.decided_at, Revocation.event_id)).all()
    if not revocations:
        return
    rows = session.scalars(select(Publication).where(Publication.case_id == case_id)
                           .order_by(Publication.version)).all()
    decided = {}
    for row in rows:
        source = session.get(DecisionSource, row.publication_id)
        when = (source.payload or {}).get("decided_at") if source is not None else None
        decided[row.publication_id] = _aware(dt.datetime.fromisoformat(when)) if when else None
    for revocation in revocations:
        moment = _aware(revocation.decided_at)
        in_force = [r for r in rows if decided[r.publication_id] is not None and decided[r.publication_id] <= moment]
        if not in_force:
            continue        # its decision has not arrived yet: applied when it does
        target = in_force[-1]
        revocation.applied_to = target.publication_id
        if target.status not in ("withdrawn", "cancelled"):
            take_down(session, target, WithdrawalReason(revocation.reason), revocation.detail, revocation.actor)
    now = china_now()
    for row in rows:
        if row.version > 1 and row.replaces is None and row.status in ("pending", "published", "corrected"):
            _link_to_remade_original(session, row, now)


def revocation_detail(payload: dict) -> str:
    by = REVOKED_BY_ZH.get(payload.get("by"), payload.get("by") or "")
    when = payload["decided_at"].astimezone(CHINA).date().isoformat()
    note = (payload.get("note") or "").strip()
    return f"{by}（{when}）" + (f"：{note}" if note else "")


def _status_zh(status: str) -> str:
    from services.disclosure.portal import STATUS_ZH

    return STATUS_ZH.get(status, status)
