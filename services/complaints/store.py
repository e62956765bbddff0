"""Persistence of the complaint register (登记簿) — queries and mapping only, no decisions: gap-free
numbering inside the registering transaction, every query the use cases run (usecases/), and the
mapping between a ``complaints`` row and the domain's :class:`ComplaintRecord` (rebuilt on every use,
so running deadlines follow the calendar in force — PLAT-6)."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.common import fieldcrypt
from services.common.db import dialect_insert, get_or_create, lock_key
from services.common.identifiers import region_prefix
from services.common.periods import Period
from services.common.scope import Scope
from services.common.workdays import WorkingDayCalendar, default_calendar
from services.complaints.domain import (Assessment, BodyKind, BodyRef, Channel, Complainant,
                                        ComplaintFlags, ComplaintRecord, EventKind, Extension, Handler,
                                        HandlingPeriod, HistoryEvent, Route, RouteTarget, Status, Subject,
                                        complained_bodies)
from services.complaints.domain import Complaint as DomainComplaint
from services.complaints.domain.deadlines import acknowledgement_deadline
from services.complaints.domain.register import format_register_number
from services.complaints.domain.supervision import SuperiorOrder, SupervisionEntry, ordered_deadline
from services.complaints.domain.lifecycle import OPEN_STATUSES
from services.complaints.models import ID_NUMBER_INDEX
from services.complaints.models import ClueRow, DisputeRow, InspectionResultRow, TransferRow
from services.complaints.domain import coordination
from services.complaints.models import (Attachment, CityConclusion, Complaint, KnownBody, RegisterCounter,
                                        SupervisedComplaint)

UTC = dt.timezone.utc


def allocate_number(session: Session, region_code: str, year: int) -> tuple[str, int]:
    """Next number for (region, year) — unique and gap-free (CMP-2).

    The counter is kept per 6-digit code (a township registers under its county, as the number
    shows) and incremented in the same transaction that inserts the complaint: a rolled-back
    registration gives its number back; concurrent ones — in one process or in several replicas —
    serialise on the counter row's lock (PostgreSQL) or the database write lock (SQLite).
    """
    region6 = region_code[:6]
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(RegisterCounter).values(region_code=region6, year=year, last_seq=0)
                    .on_conflict_do_nothing())
    seq = session.execute(update(RegisterCounter)
                          .where(RegisterCounter.region_code == region6, RegisterCounter.year == year)
                          .values(last_seq=RegisterCounter.last_seq + 1)
                          .returning(RegisterCounter.last_seq)).scalar_one()
    return format_register_number(region6, year, seq), seq


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """Datetimes are stored in UTC; SQLite gives them back naive."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(UTC) if value is not None else None


def scope_filter(scope: Scope):
    """Complaints a handler or supervisor with ``scope`` may see (SEC-2, PLAT-1): with every body of
    their region, those filed in or handled in it; narrowed to bodies, those its handling unit is one
    of (the legal office of a body handles complaints about its officers, CMP-8); nothing without a
    scope. ``covers_complaint`` is the same rule for one row."""
    if scope.empty:
        return false()
    if scope.all_bodies:
        return or_(scope.region_clause(Complaint.region_code), scope.region_clause(Complaint.handler_region_code))
    return and_(scope.region_clause(Complaint.handler_region_code), scope.body_clause(Complaint.handler_unit_id))


def covers_complaint(scope: Scope, row) -> bool:
    if scope.all_bodies:
        return scope.covers_region(row.region_code) or scope.covers_region(row.handler_region_code)
    return scope.covers(row.handler_region_code, row.handler_unit_id)


# --- queries of the register ---------------------------------------------------------------------

def complaint_row(session: Session, number: str | None, *, lock: bool = False) -> Complaint | None:
    """The register row of ``number`` (locked for update when ``lock``), None when there is none."""
    if not number:
        return None
    return session.get(Complaint, number, with_for_update=True if lock else None)


def recent_complaints_about(session: Session, body_id: str, since: dt.datetime, limit: int = 200) -> list[Complaint]:
    """The latest complaints about ``body_id`` received since ``since`` (duplicate detection, CMP-2)."""
    return session.scalars(select(Complaint).where(
        Complaint.subject_body_id == body_id, Complaint.received_at >= since)
        .order_by(Complaint.received_at.desc()).limit(limit)).all()


def register_rows(session: Session, scope: Scope, filters: dict, today: dt.date) -> list[Complaint]:
    """The register in ``scope`` narrowed by the handler's filters, in register order (limit ≤ 2000)."""
    query = select(Complaint).where(scope_filter(scope))
    if filters.get("status"):
        query = query.where(Complaint.status == filters["status"])
    if filters.get("channel"):
        query = query.where(Complaint.channel == filters["channel"])
    if filters.get("overdue"):
        query = query.where(Complaint.open_due < today)
    if filters.get("escalated"):
        query = query.where(Complaint.supervising_region.is_not(None))
    if filters.get("private_enterprise"):
        query = query.where(Complaint.against_private_enterprise.is_(True))
    limit = min(int(filters.get("limit") or 500), 2000)
    return session.scalars(query.order_by(Complaint.region_code, Complaint.year, Complaint.seq).limit(limit)).all()


def complaints_about_bodies(session: Session, scope: Scope) -> list[Complaint]:
    """Complaints naming a body of ``scope`` (every complained-about body when all are granted), oldest
    first; the caller still checks the region of each."""
    if scope.all_bodies:
        query = select(Complaint).where(Complaint.complained_bodies.is_not(None))
    else:
        query = select(Complaint).where(or_(*(Complaint.complained_bodies.contains(f"|{b}|")
                                              for b in sorted(scope.bodies))))
    return session.scalars(query.order_by(Complaint.received_at)).all()


def complaints_of_year(session: Session, scope: Scope, year: int) -> list[Complaint]:
    return session.scalars(select(Complaint).where(scope_filter(scope), Complaint.year == year)).all()


def overdue_numbers(session: Session, today: dt.date, after: str, limit: int) -> list[str]:
    """Numbers of open complaints past their running deadline, after ``after`` in number order (a page)."""
    return session.scalars(select(Complaint.number).where(
        Complaint.status.in_([s.value for s in OPEN_STATUSES]), Complaint.open_due < today,
        Complaint.number > after).order_by(Complaint.number).limit(limit)).all()


def open_complaint_rows(session: Session) -> list[Complaint]:
    """Open complaints (a deadline is running), for the recount on a new calendar (PLAT-6, issue 16)."""
    return session.scalars(select(Complaint).where(Complaint.status.in_([s.value for s in OPEN_STATUSES]))
                           .order_by(Complaint.number)).all()


def overdue_counts(session: Session, today: dt.date) -> list[tuple[str | None, str, str, int]]:
    """(handler region, channel, status, count) of open complaints past their running deadline."""
    return session.execute(select(Complaint.handler_region_code, Complaint.channel, Complaint.status,
                                  func.count()).where(
        Complaint.status.in_([s.value for s in OPEN_STATUSES]), Complaint.open_due < today)
        .group_by(Complaint.handler_region_code, Complaint.channel, Complaint.status)).all()


def attachment_count(session: Session, number: str) -> int:
    return session.scalar(select(func.count()).select_from(Attachment).where(Attachment.number == number)) or 0


def attachments_of(session: Session, number: str) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.number == number)))


def add_attachments(session: Session, number: str, files) -> None:
    """Attachment rows of a registered complaint: ``files`` are (filename, content type, SM3, size)."""
    for filename, content_type, digest, size in files:
        session.add(Attachment(number=number, sm3=digest, filename=filename[:200], content_type=content_type,
                               size=size))


# --- the body directory (执法主体库) -----------------------------------------------------------------

def known_body(session: Session, body_id: str | None) -> KnownBody | None:
    return session.get(KnownBody, body_id) if body_id else None


def known_bodies(session: Session) -> list[KnownBody]:
    return session.scalars(select(KnownBody).order_by(KnownBody.region_code, KnownBody.name)).all()


def save_known_body(session: Session, payload: dict, now: dt.datetime) -> None:
    """Insert or update the directory entry of a ``body.registered`` payload."""
    body = get_or_create(session, KnownBody, {"body_id": payload["body_id"]}, {   # race-free (issue 20)
        "name": payload["name"], "kind": payload["kind"], "region_code": payload["region_code"], "updated_at": now})
    body.name, body.kind, body.region_code = payload["name"], payload["kind"], payload["region_code"]
    body.superior_body_id, body.entrusting_body_id = payload.get("superior_body_id"), payload.get("entrusting_body_id")
    body.updated_at = now
    session.add(body)


# --- subject ----------------------------------------------------------------------------------

def subject_to_dict(subject: Subject) -> dict:
    data = asdict(subject)
    data["body_kind"] = subject.body_kind.value
    data["officer_ids"] = list(subject.officer_ids)
    data["other_bodies"] = [{"body_id": b.body_id, "region_code": b.region_code, "kind": b.kind.value}
                            for b in subject.other_bodies]
    return data


def subject_from_dict(data: dict) -> Subject:
    return Subject(body_id=data.get("body_id") or "", body_kind=BodyKind(data.get("body_kind") or "department"),
                   body_region_code=data.get("body_region_code") or "",
                   competent_department_id=data.get("competent_department_id"),
                   competent_department_region_code=data.get("competent_department_region_code"),
                   officer_ids=tuple(data.get("officer_ids") or ()),
                   other_bodies=tuple(BodyRef(b["body_id"], b["region_code"], BodyKind(b.get("kind") or "department"))
                                      for b in data.get("other_bodies") or ()),
                   about_officer_conduct=bool(data.get("about_officer_conduct")))


def complained_key(subject: Subject) -> str:
    ids = complained_bodies(subject) | {subject.body_id}
    return "|" + "|".join(sorted(i for i in ids if i)) + "|"


# --- route, assessment, history ------------------------------------------------------------------

def route_to_dict(route: Route | None) -> dict | None:
    if route is None:
        return None
    return {"target_kind": route.target_kind.value, "target_region_code": route.target_region_code,
            "target_body_id": route.target_body_id, "description": route.description, "case": route.case}


def route_from_dict(data: dict | None) -> Route | None:
    if not data:
        return None
    return Route(RouteTarget(data["target_kind"]), data["target_region_code"], data.get("target_body_id"),
                 data.get("description") or "", data.get("case") or "")


def assessment_to_dict(assessment: Assessment, extra_warnings: list[str] = ()) -> dict:
    return {"acceptable": assessment.acceptable, "reasons": list(assessment.reasons),
            "warnings": list(assessment.warnings) + list(extra_warnings), "tags": list(assessment.tags),
            "out_of_scope": list(assessment.out_of_scope), "route": route_to_dict(assessment.suggested_route)}


def assessment_from_dict(data: dict | None) -> Assessment | None:
    if not data:
        return None
    return Assessment(bool(data.get("acceptable")), tuple(data.get("reasons") or ()),
                      route_from_dict(data.get("route")), tuple(data.get("warnings") or ()),
                      tuple(data.get("tags") or ()), tuple(data.get("out_of_scope") or ()))


def _event_to_json(e: HistoryEvent) -> dict:
    return {"seq": e.seq, "kind": e.kind.value, "at": utc(e.at).isoformat(), "actor": e.actor,
            "status": e.status.value, "public_text": e.public_text, "internal_note": e.internal_note,
            "data": e.data}


def _event_from_json(d: dict) -> HistoryEvent:
    return HistoryEvent(d["seq"], EventKind(d["kind"]), aware(dt.datetime.fromisoformat(d["at"])), d["actor"],
                        Status(d["status"]), d.get("public_text"), d.get("internal_note"), dict(d.get("data") or {}))


# --- row <-> record -------------------------------------------------------------------------------

def complaint_of(row: Complaint, attachments: int = 0) -> DomainComplaint:
    subject = subject_from_dict(row.subject) if row.subject else Subject(
        body_id=row.subject_body_id, body_region_code=row.region_code[:6],
        officer_ids=tuple(row.subject_officer_ids or ()))
    return DomainComplaint(
        channel=Channel(row.channel), region_code=row.region_code,
        complainant=Complainant(row.complainant_name, row.complainant_phone, row.complainant_id_number,
                                row.complainant_address),
        subject=subject, request=row.request, facts=row.facts, received_at=aware(row.received_at),
        case_id=row.case_id,
        flags=ComplaintFlags(bool(row.under_reconsideration_or_litigation), bool(row.against_private_enterprise)),
        attachments=attachments, categories=tuple(row.categories or ()))


def _handling_of(data: dict | None, calendar: WorkingDayCalendar) -> HandlingPeriod | None:
    if not data:
        return None
    extension = None
    if data.get("extension"):
        e = data["extension"]
        extension = Extension(int(e["working_days"]), e["approved_by"], dt.date.fromisoformat(e["approved_on"]),
                              e["reason"])
    return HandlingPeriod.counted(dt.date.fromisoformat(data["accepted_on"]), int(data["working_days"]),
                                  data.get("unit", "working_days"), extension, calendar)


def _handling_to_dict(period: HandlingPeriod | None) -> dict | None:
    if period is None:
        return None
    data = {"accepted_on": period.accepted_on.isoformat(), "working_days": period.base.working_days,
            "unit": period.unit, "extension": None}
    if period.extension is not None:
        e = period.extension
        data["extension"] = {"working_days": e.working_days, "approved_by": e.approved_by,
                             "approved_on": e.approved_on.isoformat(), "reason": e.reason}
    return data


def _order_of(history: tuple[HistoryEvent, ...], calendar: WorkingDayCalendar) -> SuperiorOrder | None:
    """The latest order from the tier above, its deadline recomputed on the calendar in force."""
    for e in reversed(history):
        if e.kind is EventKind.ORDERED:
            ordered_on = dt.date.fromisoformat(e.data["ordered_on"])
            days = int(e.data["working_days"])
            return SuperiorOrder(e.data["issuer_region"], e.data["instruction"], ordered_on, days,
                                 ordered_deadline(ordered_on, days, calendar), e.seq)
    return None


def record_of(row: Complaint, attachments: int = 0, calendar: WorkingDayCalendar | None = None) -> ComplaintRecord:
    """The domain record of a row, deadlines recomputed on the calendar in force."""
    calendar = calendar or default_calendar()
    complaint = complaint_of(row, attachments)
    unit = row.acknowledge_unit or "working_days"
    acknowledge = acknowledgement_deadline(complaint.received_at, calendar=calendar,
                                           working_days=Period(row.acknowledge_days or 5, unit))
    handler = Handler(row.handler_unit_id or f"{row.region_code[:6]}-SFJ",
                      row.handler_region_code or row.region_code[:6], row.handler_name)
    history = tuple(_event_from_json(e) for e in row.history or ())
    return ComplaintRecord(
        register_number=row.number, complaint=complaint, query_code_hash=row.query_code_hash, handler=handler,
        status=Status(row.status), acknowledge=acknowledge, history=history, order=_order_of(history, calendar),
        handling=_handling_of(row.handling, calendar), route=route_from_dict(row.route),
        decided_at=aware(row.decided_at), not_accepted_reason=row.not_accepted_reason, result=row.result,
        upheld=row.upheld, concluded_at=aware(row.concluded_at), satisfaction=row.satisfaction,
        linked_to=row.linked_to, acknowledge_unit=unit)


def write_record(row: Complaint, record: ComplaintRecord, now: dt.datetime) -> None:
    """Copy the state of ``record`` into ``row`` (the complaint itself never changes after filing)."""
    row.status = record.status.value
    row.handler_unit_id = record.handler.unit_id
    row.handler_region_code = record.handler.region_code
    row.handler_name = record.handler.name
    row.acknowledge_days = record.acknowledge.working_days
    row.acknowledge_unit = record.acknowledge_unit
    row.acknowledge_due = record.acknowledge.due
    row.due_provisional = record.acknowledge.provisional
    row.route = route_to_dict(record.route)
    row.decided_at = utc(record.decided_at)
    row.not_accepted_reason = record.not_accepted_reason
    row.handling = _handling_to_dict(record.handling)
    row.handling_due = record.handling.due if record.handling else None
    row.result = record.result
    row.upheld = record.upheld
    row.concluded_at = utc(record.concluded_at)
    row.satisfaction = record.satisfaction
    row.linked_to = record.linked_to
    row.supervising_region = record.supervising_region
    running = record.open_deadline()
    row.open_due = running[1].due if running else None
    row.history = [_event_to_json(e) for e in record.history]
    row.updated_at = utc(now)


def write_scope_finding(row: Complaint, in_scope: bool) -> None:
    """A supervisor's finding on a not-accepted complaint (监督认定), kept beside the record (CMP-5)."""
    row.found_in_scope = in_scope


def new_row(record: ComplaintRecord, *, seq: int, year: int, source_event_id: str | None, external_ref: str | None,
            assessment: dict, now: dt.datetime) -> Complaint:
    c = record.complaint
    row = Complaint(
        number=record.register_number, region_code=c.region_code, year=year, seq=seq, channel=c.channel.value,
        source_event_id=source_event_id, external_ref=external_ref,
        complainant_name=c.complainant.name, complainant_phone=c.complainant.phone,
        complainant_id_number=c.complainant.id_number, complainant_address=c.complainant.address,
        complainant_id_index=fieldcrypt.blind_index("complaints", c.complainant.id_number, ID_NUMBER_INDEX),
        subject_body_id=c.subject.body_id, subject_officer_ids=list(c.subject.officer_ids),
        subject=subject_to_dict(c.subject), complained_bodies=complained_key(c.subject), case_id=c.case_id,
        request=c.request, facts=c.facts, categories=list(c.categories),
        under_reconsideration_or_litigation=c.flags.under_reconsideration_or_litigation,
        against_private_enterprise=c.flags.against_private_enterprise, received_at=utc(c.received_at),
        query_code_hash=record.query_code_hash, assessment=assessment, clues_sent=[])
    write_record(row, record, now)
    return row


# --- the province's supervision register (省级督办台账, COORD-4) -------------------------------------

def register_scope_filter(scope: Scope):
    """Register lines a user with ``scope`` may see: the complaint was registered in, is handled in, or
    is about a body of their region (PLAT-1) — a city sees nothing of another city; a scope narrowed to
    bodies sees the lines its handling unit is one of (SEC-2)."""
    if scope.empty:
        return false()
    if not scope.all_bodies:
        return and_(scope.region_clause(SupervisedComplaint.handler_region_code),
                    scope.body_clause(SupervisedComplaint.handler_unit_id))
    prefix = region_prefix(scope.region_code)
    return or_(SupervisedComplaint.number.startswith(prefix), SupervisedComplaint.region_code.startswith(prefix),
               SupervisedComplaint.handler_region_code.startswith(prefix))


def supervised_row(session: Session, number: str | None, *, lock: bool = True) -> SupervisedComplaint | None:
    if not number:
        return None
    return session.get(SupervisedComplaint, number, with_for_update=True if lock else None)


def register_lines(session: Session, scope: Scope, filters: dict) -> list[SupervisedComplaint]:
    """Supervision register lines in ``scope``, most recently escalated first (limit ≤ 2000)."""
    query = select(SupervisedComplaint).where(register_scope_filter(scope))
    if filters.get("status"):
        query = query.where(SupervisedComplaint.status == filters["status"])
    if filters.get("city_code"):
        query = query.where(SupervisedComplaint.city_code == filters["city_code"])
    limit = min(int(filters.get("limit") or 500), 2000)
    return session.scalars(query.order_by(SupervisedComplaint.escalated_on.desc(),
                                          SupervisedComplaint.number).limit(limit)).all()


def city_conclusion(session: Session, number: str) -> CityConclusion | None:
    """A conclusion that arrived before its escalation (kept until the escalation comes)."""
    return session.get(CityConclusion, number)


def lock_supervision_line(session: Session, number: str) -> None:
    """The escalation and the conclusion of one complaint each decide by reading whether the other has
    arrived: taken first, so one waits for the other's commit (issue 20; an open line never closed)."""
    lock_key(session, "complaints.supervision", number)


def keep_city_conclusion(session: Session, number: str, concluded_on, upheld: bool, now: dt.datetime) -> None:
    # ON CONFLICT DO NOTHING: two conclusions of one complaint handled at once keep the first (issue 20)
    session.execute(dialect_insert(session, CityConclusion).values(
        number=number, concluded_on=concluded_on, upheld=upheld, received_at=now).on_conflict_do_nothing())


def add_supervised(session: Session, number: str) -> SupervisedComplaint:
    row = SupervisedComplaint(number=number)
    session.add(row)
    return row


def entry_of(row: SupervisedComplaint) -> SupervisionEntry:
    return SupervisionEntry(
        number=row.number, city_code=row.city_code, region_code=row.region_code,
        subject_body_id=row.subject_body_id, stage=row.stage, level=row.level, to_region_code=row.to_region_code,
        tier=row.tier, due=row.due, escalated_on=row.escalated_on, handler_unit_id=row.handler_unit_id,
        handler_region_code=row.handler_region_code, status=row.status, steps=tuple(row.steps or ()),
        order=dict(row.transfer_order) if row.transfer_order else None, concluded_on=row.concluded_on,
        upheld=row.upheld)


def write_entry(row: SupervisedComplaint, entry: SupervisionEntry, now: dt.datetime) -> None:
    row.city_code, row.region_code, row.subject_body_id = entry.city_code, entry.region_code, entry.subject_body_id
    row.stage, row.level, row.to_region_code, row.tier = entry.stage, entry.level, entry.to_region_code, entry.tier
    row.due, row.escalated_on = entry.due, entry.escalated_on
    row.handler_unit_id, row.handler_region_code = entry.handler_unit_id, entry.handler_region_code
    row.status, row.steps = entry.status, [dict(s) for s in entry.steps]
    row.transfer_order = dict(entry.order) if entry.order else None
    row.concluded_on, row.upheld = entry.concluded_on, entry.upheld
    if row.received_at is None:
        row.received_at = utc(now)
    row.updated_at = utc(now)


def numbers_by_id_number(session: Session, id_number: str) -> list[str]:
    """Exact lookup by the complainant's ID number through its blind index (issue 22): the column itself
    is encrypted, so the index — HMAC-SM3 under the service's index key — is what is compared."""
    index = fieldcrypt.blind_index("complaints", id_number, ID_NUMBER_INDEX)
    if index is None:
        return []
    return list(session.scalars(select(Complaint.number).where(Complaint.complainant_id_index == index)
                                .order_by(Complaint.number)))


# --- coordination (COORD-1, COORD-2, COORD-3): rows ↔ domain objects, and the queries -----------------
def clue_row(session: Session, clue_id: str, *, lock: bool = False):
    q = select(ClueRow).where(ClueRow.clue_id == clue_id)
    return session.execute(q.with_for_update() if lock else q).scalar_one_or_none()


def add_clue(session: Session, clue, origin: str, now: dt.datetime):
    row = ClueRow(clue_id=clue.clue_id, origin=origin, created_at=now)
    write_clue(row, clue, now)
    session.add(row)
    return row


def write_clue(row, clue, now: dt.datetime) -> None:
    row.from_body_id, row.from_region_code = clue.sender.body_id, clue.sender.region_code
    row.to_body_id, row.to_region_code = clue.recipient.body_id, clue.recipient.region_code
    row.status, row.version, row.state, row.updated_at = clue.status, clue.version, clue.to_json(), now


def clue_of(row):
    return coordination.Clue.from_json(row.state)


def clue_rows(session: Session, scope: Scope, filters: dict) -> list:
    """Clues sent or received by the scope's bodies (both sides see the clue), newest first."""
    sent = and_(scope.region_clause(ClueRow.from_region_code), scope.body_clause(ClueRow.from_body_id))
    received = and_(scope.region_clause(ClueRow.to_region_code), scope.body_clause(ClueRow.to_body_id))
    q = select(ClueRow).where(or_(sent, received))
    if filters.get("status"):
        q = q.where(ClueRow.status == filters["status"])
    return list(session.execute(q.order_by(ClueRow.created_at.desc()).limit(int(filters.get("limit") or 200)))
                .scalars())


def open_local_clue_ids(session: Session, after: str, limit: int) -> list[str]:
    return list(session.execute(select(ClueRow.clue_id).where(
        ClueRow.origin == "local", ClueRow.status.in_(("sent", "acknowledged")), ClueRow.clue_id > after)
        .order_by(ClueRow.clue_id).limit(limit)).scalars())


def add_inspection(session: Session, result_id: str, body_id: str, region_code: str, data: dict, flags: dict,
                   actor: str, now: dt.datetime):
    state = {**data, "inspected_on": data["inspected_on"].isoformat(), "result_id": result_id,
             "body_id": body_id, "region_code": region_code, "recorded_by": actor, "flags": flags}
    row = InspectionResultRow(result_id=result_id, body_id=body_id, region_code=region_code,
                              party_id=data["party_id"], matter=data["matter"], inspected_on=data["inspected_on"],
                              outcome=data["outcome"], flags=flags, state=state, created_at=now)
    session.add(row)
    return row


def inspections_of_party(session: Session, party_id: str, since: dt.date | None = None, limit: int = 500) -> list:
    q = select(InspectionResultRow).where(InspectionResultRow.party_id == party_id)
    if since is not None:
        q = q.where(InspectionResultRow.inspected_on >= since)
    return list(session.execute(q.order_by(InspectionResultRow.inspected_on.desc(),
                                           InspectionResultRow.created_at.desc()).limit(limit)).scalars())


def dispute_row(session: Session, dispute_id: str, *, lock: bool = False):
    q = select(DisputeRow).where(DisputeRow.dispute_id == dispute_id)
    return session.execute(q.with_for_update() if lock else q).scalar_one_or_none()


def open_dispute_of(session: Session, source_kind: str, source_ref: str):
    return session.execute(select(DisputeRow).where(DisputeRow.source_kind == source_kind,
                                                    DisputeRow.source_ref == source_ref,
                                                    DisputeRow.status == "open")).scalars().first()


def add_dispute(session: Session, dispute, now: dt.datetime):
    row = DisputeRow(dispute_id=dispute.dispute_id, coordinator_region=dispute.coordinator_region,
                     source_kind=dispute.source_kind, source_ref=dispute.source_ref, created_at=now)
    write_dispute(row, dispute, now)
    session.add(row)
    return row


def write_dispute(row, dispute, now: dt.datetime) -> None:
    row.status, row.state, row.updated_at = dispute.status, dispute.to_json(), now


def dispute_of(row):
    return coordination.Dispute.from_json(row.state)


def dispute_rows(session: Session, scope: Scope, filters: dict) -> list:
    """Disputes the scope may see: filtered here by region (coordinator or a party's region under the
    scope's region, or the coordinator above it), then by the domain's ``visible_to``."""
    q = select(DisputeRow)
    if filters.get("status"):
        q = q.where(DisputeRow.status == filters["status"])
    rows = session.execute(q.order_by(DisputeRow.created_at.desc()).limit(1000)).scalars()
    return [r for r in rows if dispute_of(r).visible_to(scope)][:int(filters.get("limit") or 200)]


def transfer_row(session: Session, transfer_id: str, *, lock: bool = False):
    q = select(TransferRow).where(TransferRow.transfer_id == transfer_id)
    return session.execute(q.with_for_update() if lock else q).scalar_one_or_none()


def transfer_by_source(session: Session, source_key: str):
    return session.execute(select(TransferRow).where(TransferRow.source_key == source_key)).scalar_one_or_none()


def add_transfer(session: Session, transfer, now: dt.datetime, source_key: str | None = None):
    row = TransferRow(transfer_id=transfer.transfer_id, body_id=transfer.body.body_id,
                      region_code=transfer.body.region_code, source_key=source_key, created_at=now)
    write_transfer(row, transfer, now)
    session.add(row)
    return row


def write_transfer(row, transfer, now: dt.datetime) -> None:
    row.status, row.state, row.updated_at = transfer.status, transfer.to_json(), now
    row.due = transfer.due if transfer.running_stage() else None


def transfer_of(row):
    return coordination.Transfer.from_json(row.state)


def transfer_rows(session: Session, scope: Scope, filters: dict) -> list:
    q = scope.where(select(TransferRow), TransferRow.region_code, TransferRow.body_id)
    if filters.get("status"):
        q = q.where(TransferRow.status == filters["status"])
    return list(session.execute(q.order_by(TransferRow.created_at.desc()).limit(int(filters.get("limit") or 200)))
                .scalars())


def overdue_transfer_ids(session: Session, today: dt.date, after: str, limit: int) -> list[str]:
    return list(session.execute(select(TransferRow.transfer_id).where(
        TransferRow.due.is_not(None), TransferRow.due < today, TransferRow.transfer_id > after)
        .order_by(TransferRow.transfer_id).limit(limit)).scalars())
