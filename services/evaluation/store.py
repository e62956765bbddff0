"""Persistence of the evaluation service: facts in and out of the database, the registry copies,
the queries the use cases run (usecases/: grades, cases, consequences, supervision items, what the
tiers above and below sent), and JSON (de)serialisation of accountability cases and supervision items
(EVAL-2, EVAL-6, COORD-4)."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Iterable

from sqlalchemy import func, select, true, update
from sqlalchemy.orm import Session

from services.common.db import dialect_insert, get_or_create, one_of
from services.common.events import Event
from services.common.identifiers import region_prefix
from services.common.workdays import Deadline
from services.evaluation import domain as d
from services.evaluation.domain.accountability import (
    Exemption,
    ItemReview,
    Response,
    ResponsibleLink,
    Statement,
    Transition,
)
from services.evaluation.domain.officers import acted_without_certificate, certificate_valid_on, reviewer_ratio
from services.evaluation.domain.year_start import carried_staffing
from services.evaluation.facts_map import NewFact, local_day
from services.evaluation.models import (
    BodyEntry,
    CaseRow,
    CertificateStatus,
    ConsequenceRow,
    Fact,
    GradeRow,
    OfficerEntry,
    PowerEntry,
    ReceivedDirective,
    ReceivedGradeRow,
    SupervisionRow,
    SurveyAnswer,
    SurveyCode,
    SurveyRow,
    VisitReport,
)


def jdump(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default)


def _default(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value"):
        return value.value
    raise TypeError(repr(value))


def in_region(column, region_code: str | None):
    return true() if region_code is None else column.startswith(region_prefix(region_code))


# --- registry and lookups (facts_map.Lookup) ---------------------------------------------------

class Registry:
    """What the fact rules may ask about bodies, officers and cases, from this service's own tables."""

    def __init__(self, session: Session):
        self.session = session

    def officers_of_case(self, case_id: str | None) -> list[str]:
        if not case_id:
            return []
        rows = self.session.execute(select(Fact.officer_id).where(
            Fact.ref == case_id, Fact.kind == "enforcement_action", Fact.officer_id.is_not(None))
            .order_by(Fact.id)).scalars().all()
        return list(dict.fromkeys(rows))

    def certificate_valid(self, officer_id: str, day: dt.date) -> bool | None:
        """True/False when known; None for an officer never registered (not judged, PLAT-3)."""
        end_of_day = dt.datetime.combine(day, dt.time.max, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        preloaded = self.session.info.get(OFFICERS)
        if preloaded is not None and officer_id in preloaded[0]:
            # the batch's officers and certificate histories, read by ``preload_officers``
            officer = preloaded[1].get(officer_id)
            if officer is None:
                return None
            status = latest_status(preloaded[2].get(officer_id, ()), end_of_day)
            return certificate_valid_on(day, status.status if status else None,
                                        status.valid_until if status else None, officer.certificate_no)
        officer = self.session.get(OfficerEntry, officer_id)
        if officer is None:
            return None
        status = self.session.execute(select(CertificateStatus).where(
            CertificateStatus.officer_id == officer_id, CertificateStatus.effective_from <= end_of_day)
            .order_by(CertificateStatus.effective_from.desc(), CertificateStatus.id.desc()).limit(1)).scalar()
        return certificate_valid_on(day, status.status if status else None, status.valid_until if status else None,
                                    officer.certificate_no)

    def officer_body(self, officer_id: str) -> str | None:
        officer = self.session.get(OfficerEntry, officer_id)
        return officer.body_id if officer else None

    def reviewer_ratio(self, body_id: str) -> Decimal | None:
        return reviewer_ratio(self.session.execute(select(OfficerEntry.roles).where(
            OfficerEntry.body_id == body_id)).scalars().all())

    # -- updates from registry events --
    def body_registered(self, event: Event) -> None:
        p = event.payload
        # race-free (issue 20): two registrations of one body at once take turns on the row
        row = get_or_create(self.session, BodyEntry, {"body_id": p["body_id"]}, {
            "name": p["name"], "kind": p["kind"], "region_code": p["region_code"], "event_id": event.event_id,
            "registered_on": local_day(event.occurred_at)})
        row.name, row.kind, row.region_code = p["name"], p["kind"], p["region_code"]
        row.management, row.field = p.get("management") or "local", p.get("field")
        row.superior_body_id, row.entrusting_body_id = p.get("superior_body_id"), p.get("entrusting_body_id")
        row.event_id, row.updated_at = event.event_id, dt.datetime.now(dt.timezone.utc)
        row.registered_on = min(row.registered_on or local_day(event.occurred_at), local_day(event.occurred_at))
        self.session.add(row)

    def officer_registered(self, event: Event) -> None:
        p = event.payload
        body = self.session.get(BodyEntry, p["body_id"])
        row = get_or_create(self.session, OfficerEntry, {"officer_id": p["officer_id"]}, {   # race-free (issue 20)
            "name": p["name"], "body_id": p["body_id"], "roles": ",".join(p["roles"]),
            "region_code": body.region_code if body else event.region_code, "event_id": event.event_id,
            "registered_on": local_day(event.occurred_at)})
        row.name, row.body_id, row.roles = p["name"], p["body_id"], ",".join(p["roles"])
        row.region_code = body.region_code if body else event.region_code
        row.certificate_no, row.event_id = p.get("certificate_no"), event.event_id
        row.registered_on = min(row.registered_on or local_day(event.occurred_at), local_day(event.occurred_at))
        self.session.add(row)
        self.session.flush()

    def certificate_changed(self, event: Event) -> None:
        p = event.payload
        self.session.add(CertificateStatus(officer_id=p["officer_id"], certificate_no=p["certificate_no"],
                                           status=p["status"], effective_from=p["effective_from"],
                                           valid_until=p.get("valid_until"), event_id=event.event_id))
        self.session.flush()

    def power_published(self, event: Event) -> None:
        p = event.payload
        row = self.session.execute(select(PowerEntry).where(PowerEntry.body_id == p["body_id"],
                                                            PowerEntry.matter_code == p["matter_code"])).scalar()
        row = row or PowerEntry(body_id=p["body_id"], matter_code=p["matter_code"])
        row.name, row.published_on, row.event_id = p["name"], p["published_on"], event.event_id
        self.session.add(row)


# --- facts -------------------------------------------------------------------------------------

FACT_KEYS = "evaluation.fact_keys"     # session.info: (refs read, their stored (body, kind, ref) keys)


def preload_fact_keys(session: Session, events) -> list:
    """The (body, kind, ref) keys of the stored facts whose ref is a case of the batch, in one query:
    ``insert_facts`` then checks ``unique`` facts of those refs without a query each (most facts of
    a case event have its case id as ref). Only for batches whose facts all go through
    ``insert_facts``."""
    refs = {e.case_id for e in events if e.case_id}
    if refs:
        keys = session.execute(select(Fact.body_id, Fact.kind, Fact.ref).where(one_of(session, Fact.ref, refs))
                               .distinct()).all()
        session.info[FACT_KEYS] = (refs, {tuple(k) for k in keys})
    return []


OFFICERS = "evaluation.officers"    # session.info: (officer ids read, their rows, their certificate histories)


def preload_officers(session: Session, officer_ids) -> list:
    """The officers of a batch's decisions and their certificate histories, in two queries:
    ``Registry.certificate_valid`` then answers without two queries per officer and decision (PLAT-3).
    Only for batches that change no officer or certificate (``facts.preload``). Returns the rows (the
    caller keeps them referenced while the batch is applied)."""
    ids = set(officer_ids)
    officers = {o.officer_id: o for o in session.scalars(select(OfficerEntry).where(
        one_of(session, OfficerEntry.officer_id, ids)))}
    histories: dict[str, list] = {}
    statuses = session.scalars(select(CertificateStatus).where(one_of(session, CertificateStatus.officer_id, ids))).all()
    for status in statuses:
        histories.setdefault(status.officer_id, []).append(status)
    session.info[OFFICERS] = (ids, officers, histories)
    return [*officers.values(), *statuses]


def latest_status(history, end_of_day: dt.datetime):
    """The status in force at ``end_of_day`` of an officer's certificate history: the one with the
    latest ``effective_from`` not after it (ties: the higher id) — the query's ``ORDER BY effective_from
    DESC, id DESC LIMIT 1``. SQLite keeps no time zone (wall times, compared as stored): compared the same."""
    naive_end = end_of_day.replace(tzinfo=None)
    best = None
    for status in history:
        at = status.effective_from
        if (at <= naive_end) if at.tzinfo is None else (at <= end_of_day):
            if best is None or (at, status.id) > (best.effective_from, best.id):
                best = status
    return best


def insert_facts(session: Session, event: Event, new: Iterable[NewFact]) -> list[Fact]:
    """Store the facts of one event; a ``unique`` fact whose (body, kind, ref) exists is skipped."""
    stored: list[Fact] = []
    seen_unique: dict[tuple, bool] = {}
    preloaded = session.info.get(FACT_KEYS)
    for nf in new:
        body_id = nf.body_id or event.body_id
        if nf.replace and nf.ref:
            for old in session.execute(select(Fact).where(Fact.body_id == body_id, Fact.kind == nf.kind,
                                                          Fact.ref == nf.ref)).scalars():
                session.delete(old)
            session.flush()
        elif nf.unique and nf.ref:
            key = (body_id, nf.kind, nf.ref)
            if key not in seen_unique:
                if preloaded is not None and nf.ref in preloaded[0]:
                    seen_unique[key] = key in preloaded[1]
                else:
                    seen_unique[key] = session.execute(select(Fact.id).where(
                        Fact.body_id == body_id, Fact.kind == nf.kind, Fact.ref == nf.ref).limit(1)).first() is not None
            if seen_unique[key]:
                continue
        on = local_day(nf.on)
        row = Fact(event_id=event.event_id, event_type=event.event_type, kind=nf.kind, region_code=event.region_code,
                   body_id=body_id, officer_id=nf.officer_id, year=nf.year or on.year, occurred_on=on,
                   value=float(nf.value) if nf.value is not None else 1.0, seq=nf.seq, ref=nf.ref,
                   attrs=jdump(nf.attrs) if nf.attrs else None)
        d.validate_fact(to_domain(row))
        session.add(row)
        stored.append(row)
    if preloaded is not None:       # the batch's later events see this event's facts
        preloaded[1].update((r.body_id, r.kind, r.ref) for r in stored if r.ref in preloaded[0])
    backfill = session.info.get(BACKFILL)
    if backfill is not None:        # … and a later decision of their case backfills them
        for r in stored:
            if r.kind in BACKFILL_KINDS and r.ref in backfill[0]:
                backfill[1][r.ref].append(r)
    if preloaded is None:
        session.flush()
    # in a batch (preloaded keys) the rows go out with the next query's autoflush or the commit: the
    # batch's facts in one multi-row INSERT instead of one round trip per event (issue 17)
    return stored


BACKFILL_KINDS = ("review_bypassed", "decision_corrected", "record_gap", "av_missing")
BACKFILL = "evaluation.backfill"    # session.info: (case ids read, case id -> its facts of BACKFILL_KINDS)


def preload_backfill(session: Session, case_ids) -> list:
    """The facts ``backfill_case_officers`` reads for the cases of a batch's decisions, in one query
    (one per decision before). ``insert_facts`` and the backfill add what the batch writes, so a later
    decision of the same case in the batch sees it as the query (after autoflush) did."""
    ids = set(case_ids)
    rows = session.scalars(select(Fact).where(one_of(session, Fact.ref, ids), Fact.kind.in_(BACKFILL_KINDS))).all()
    by_case: dict[str, list] = {case_id: [] for case_id in ids}
    for row in rows:
        by_case[row.ref].append(row)
    session.info[BACKFILL] = (ids, by_case)
    return list(rows)


def backfill_case_officers(session: Session, case_id: str | None, officers: list[str],
                           kinds=BACKFILL_KINDS) -> int:
    """Facts of a case that arrived before its decision (no officers known then) get their officer copies."""
    if not case_id or not officers:
        return 0
    preloaded = session.info.get(BACKFILL)
    if preloaded is not None and case_id in preloaded[0] and tuple(kinds) == BACKFILL_KINDS:
        rows = list(preloaded[1][case_id])       # read with the batch (``preload_backfill``)
    else:
        rows = session.execute(select(Fact).where(Fact.ref == case_id, Fact.kind.in_(kinds))).scalars().all()
        preloaded = None
    have = {(r.kind, r.event_id, r.seq) for r in rows if r.officer_id}
    added = 0
    for r in rows:
        if r.officer_id is None and (r.kind, r.event_id, r.seq) not in have:
            for officer in officers:
                copy = Fact(event_id=r.event_id, event_type=r.event_type, kind=r.kind, region_code=r.region_code,
                            body_id=r.body_id, officer_id=officer, year=r.year, occurred_on=r.occurred_on,
                            value=r.value, seq=r.seq, ref=r.ref, attrs=r.attrs)
                session.add(copy)
                if preloaded is not None:
                    preloaded[1][case_id].append(copy)
                added += 1
            have.add((r.kind, r.event_id, r.seq))
    return added


def retro_certificate_violations(session: Session, officer_id: str) -> list[Fact]:
    """After a certificate status change: enforcement actions of the officer on days the certificate
    was not valid, not yet flagged, become ``certificate_invalid_action`` facts traced to the decision
    event (a suspension reported after the decisions still counts, PLAT-3)."""
    registry = Registry(session)
    actions = session.execute(select(Fact).where(Fact.officer_id == officer_id, Fact.kind == "enforcement_action")
                              ).scalars().all()
    flagged = set(session.execute(select(Fact.event_id).where(
        Fact.officer_id == officer_id, Fact.kind == "certificate_invalid_action")).scalars().all())
    added = []
    for a in actions:
        known = a.event_id in flagged
        validity = None if known else registry.certificate_valid(officer_id, a.occurred_on)
        if not acted_without_certificate(validity, known):
            continue
        row = Fact(event_id=a.event_id, event_type=a.event_type, kind="certificate_invalid_action",
                   region_code=a.region_code, body_id=a.body_id, officer_id=officer_id, year=a.year,
                   occurred_on=a.occurred_on, value=1.0, seq=0, ref=a.ref, attrs=None)
        session.add(row)
        added.append(row)
    session.flush()
    return added


def _value(row: Fact):
    unit = d.FACT_KINDS.get(row.kind, ("", None))[1]
    return None if unit is None else Decimal(str(row.value))


def to_domain(row: Fact) -> d.Fact:
    """The domain fact; ``attrs`` also carry the event type and natural reference (for the evidence view)."""
    attrs = json.loads(row.attrs) if row.attrs else {}
    attrs.update({"_event_type": row.event_type, "_ref": row.ref})
    return d.Fact(kind=row.kind, body_id=row.body_id, region_code=row.region_code, officer_id=row.officer_id,
                  year=row.year, occurred_on=row.occurred_on, value=_value(row), event_id=row.event_id,
                  seq=row.seq or 0, attrs=attrs)


def fact_rows(session: Session, region_code: str | None, year: int, body_ids: Iterable[str] | None = None):
    q = select(Fact).where(in_region(Fact.region_code, region_code), Fact.year == year)
    if body_ids is not None:
        q = q.where(Fact.body_id.in_(list(body_ids)))
    return session.execute(q.order_by(Fact.occurred_on, Fact.id)).scalars().all()


def domain_facts(session: Session, region_code: str | None, year: int,
                 body_ids: Iterable[str] | None = None) -> list[d.Fact]:
    """The year's facts of a region, plus the officers registered with a valid certificate before the
    year began (their ``certificate_valid`` fact is in an earlier year; they still belong to the
    TRAINING population) — traced to the registration / certificate event."""
    body_ids = None if body_ids is None else list(body_ids)
    rows = fact_rows(session, region_code, year, body_ids)
    facts = [to_domain(r) for r in rows if r.kind in d.FACT_KINDS]
    q = select(Fact).where(in_region(Fact.region_code, region_code), Fact.kind == "reviewer_staffing", Fact.year < year)
    if body_ids is not None:
        q = q.where(Fact.body_id.in_(body_ids))
    earlier = [to_domain(r) for r in session.execute(q.order_by(Fact.occurred_on, Fact.id)).scalars()]
    facts += carried_staffing(facts, earlier, year)
    have = {f.officer_id for f in facts if f.kind == "certificate_valid"}
    jan1 = dt.date(year, 1, 1)
    dec31 = dt.datetime(year, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    registry = Registry(session)
    q = select(OfficerEntry).where(in_region(OfficerEntry.region_code, region_code))
    if body_ids is not None:
        q = q.where(OfficerEntry.body_id.in_(body_ids))
    officers = session.execute(q).scalars().all()
    for o in officers:
        if o.officer_id in have or "officer" not in o.roles.split(",") or o.registered_on > dt.date(year, 12, 31):
            continue
        if registry.certificate_valid(o.officer_id, max(jan1, o.registered_on)) or \
                registry.certificate_valid(o.officer_id, dec31.date()):
            last = session.execute(select(CertificateStatus.event_id).where(
                CertificateStatus.officer_id == o.officer_id, CertificateStatus.status == "valid",
                CertificateStatus.effective_from <= dec31).order_by(CertificateStatus.effective_from.desc())
                .limit(1)).scalar()
            facts.append(d.Fact(kind="certificate_valid", body_id=o.body_id, region_code=o.region_code,
                                officer_id=o.officer_id, year=year, occurred_on=jan1, value=None,
                                event_id=last or o.event_id,
                                attrs={"from_registry": True, "_ref": f"cert:{o.officer_id}",
                                       "_event_type": "certificate.status_changed" if last else "officer.registered"}))
    return facts


def summary_counts(session: Session, region_code: str, year: int) -> dict:
    """Per body and kind: the count (or sum of values) of facts, officer copies counted once."""
    rows = session.execute(select(Fact.body_id, Fact.kind, Fact.event_id, Fact.seq, Fact.value).where(
        in_region(Fact.region_code, region_code), Fact.year == year).distinct()).all()
    bodies: dict = {}
    seen = set()
    for body_id, kind, event_id, seq, value in rows:
        if (body_id, kind, event_id, seq) in seen:
            continue
        seen.add((body_id, kind, event_id, seq))
        counted = value if d.FACT_KINDS.get(kind, ("", None))[1] else 1
        slot = bodies.setdefault(body_id, {})
        slot[kind] = slot.get(kind, 0) + counted
    return dict(sorted(bodies.items()))


# --- grades, cases, consequences, supervision items (queries of the use cases) -----------------

def grades_of_year(session: Session, year: int) -> list[GradeRow]:
    return session.execute(select(GradeRow).where(GradeRow.year == year)).scalars().all()


def grades_in(session: Session, region_code: str, year: int, stage: str) -> list[GradeRow]:
    """Persisted grades of a region and year at ``stage``, by subject and as-of day."""
    return session.execute(select(GradeRow).where(
        in_region(GradeRow.region_code, region_code), GradeRow.year == year, GradeRow.stage == stage)
        .order_by(GradeRow.subject_kind, GradeRow.subject_id, GradeRow.as_of)).scalars().all()


def final_grade_history(session: Session, subject_kind: str, subject_id: str) -> list[tuple]:
    """(year, total, grade) of a subject's final grades, oldest first."""
    return session.execute(select(GradeRow.year, GradeRow.total, GradeRow.grade).where(
        GradeRow.subject_kind == subject_kind, GradeRow.subject_id == subject_id,
        GradeRow.stage == "final").order_by(GradeRow.year)).all()


def open_cases(session: Session) -> list[CaseRow]:
    return list(session.execute(select(CaseRow).where(CaseRow.stage != "closed")).scalars())


def open_items(session: Session) -> list[SupervisionRow]:
    return list(session.execute(select(SupervisionRow).where(SupervisionRow.status != "closed")).scalars())


def cases_in(session: Session, scope, status: str | None, body_id: str | None) -> list[CaseRow]:
    """Accountability cases in ``scope`` (open / closed / all, optionally of one body), newest first."""
    q = scope.where(select(CaseRow), CaseRow.region_code, CaseRow.body_id)
    if status == "open":
        q = q.where(CaseRow.stage != "closed")
    elif status == "closed":
        q = q.where(CaseRow.stage == "closed")
    if body_id:
        q = q.where(CaseRow.body_id == body_id)
    return list(session.execute(q.order_by(CaseRow.opened_at.desc())).scalars())


def consequences_in(session: Session, scope, year: int | None, status: str | None) -> list[ConsequenceRow]:
    q = scope.where(select(ConsequenceRow), ConsequenceRow.region_code, ConsequenceRow.body_id)
    if year:
        q = q.where(ConsequenceRow.year == int(year))
    if status:
        q = q.where(ConsequenceRow.status == status)
    return list(session.execute(q.order_by(ConsequenceRow.id)).scalars())


def add_score_fact(session: Session, event_id: str, kind: str, region_code: str, body_id: str,
                   officer_id: str | None, on: dt.date, score, note: str | None, evaluator: str | None = None) -> Fact:
    """The fact of a score a supervisor entered (``evaluation.score_recorded``), traced to its event;
    ``evaluator``: whose check of a dual-managed body it is (EVAL-1; None: every evaluator's)."""
    attrs = {k: v for k, v in (("note", note), ("evaluator", evaluator)) if v}
    row = Fact(event_id=event_id, event_type="evaluation.score_recorded", kind=kind, region_code=region_code,
               body_id=body_id, officer_id=officer_id, year=on.year, occurred_on=on, value=float(score), seq=0,
               ref=None, attrs=jdump(attrs) if attrs else None)
    session.add(row)
    return row


# --- what the tier above and the cities sent (COORD-4, EVAL-4, PLAT-1) ------------------------

def keep_directive(session: Session, event: Event, now: dt.datetime) -> None:
    """A directive from the tier above, kept once (by item id) with the time it arrived."""
    p = event.payload
    # INSERT … ON CONFLICT DO NOTHING: a second copy arriving at once is skipped, not a key violation (issue 20)
    session.execute(dialect_insert(session, ReceivedDirective).values(
        item_id=p["item_id"], event_id=event.event_id, kind=p["kind"], issuer_region=p["issuer_region"],
        target_body_id=event.body_id, target_region=event.region_code, subject=p["subject"],
        due_on=p["due_on"], due_provisional=p["due_provisional"], received_at=now).on_conflict_do_nothing())


def received_directives(session: Session) -> list[ReceivedDirective]:
    return list(session.execute(select(ReceivedDirective).order_by(ReceivedDirective.due_on)).scalars())


def received_grade_row(session: Session, key) -> ReceivedGradeRow | None:
    return session.get(ReceivedGradeRow, key, with_for_update=True)


def write_received_grade(session: Session, row: ReceivedGradeRow | None, incoming: d.ReceivedGrade,
                         now: dt.datetime) -> None:
    """Keep ``incoming`` in ``row`` (a new row when None)."""
    if row is None:
        row = ReceivedGradeRow(subject_kind=incoming.subject_kind, subject_id=incoming.subject_id,
                               year=incoming.year)
        session.add(row)
    row.region_code, row.city_code, row.body_id = incoming.region_code, incoming.city_code, incoming.body_id
    row.total, row.by_total, row.grade = str(incoming.total), incoming.by_total, incoming.grade
    row.reasons, row.decided_by = jdump(list(incoming.reasons)), incoming.decided_by[:100]
    row.event_id, row.finalised_at = incoming.event_id, incoming.finalised_at
    row.received_at = now


def received_grades_in(session: Session, region_code: str, year: int,
                       subject_kind: str | None = None) -> list[ReceivedGradeRow]:
    q = select(ReceivedGradeRow).where(in_region(ReceivedGradeRow.region_code, region_code),
                                       ReceivedGradeRow.year == year)
    if subject_kind is not None:
        q = q.where(ReceivedGradeRow.subject_kind == subject_kind)
    return session.execute(q).scalars().all()


def received_grade_of(row: ReceivedGradeRow) -> d.ReceivedGrade:
    finalised = row.finalised_at if row.finalised_at.tzinfo else row.finalised_at.replace(tzinfo=dt.timezone.utc)
    return d.ReceivedGrade(row.subject_kind, row.subject_id, row.year, row.region_code, row.body_id, row.total,
                           row.by_total, row.grade, finalised, row.decided_by, tuple(json.loads(row.reasons or "[]")),
                           row.event_id)


# --- accountability cases and supervision items (JSON) ----------------------------------------

def _dt(value):
    return dt.datetime.fromisoformat(value) if value else None


def _d(value):
    return dt.date.fromisoformat(value) if value else None


def case_to_dict(c: d.AccountabilityCase) -> dict:
    return {
        "case_id": c.case_id, "body_id": c.body_id, "region_code": c.region_code, "source": c.source.value,
        "description": c.description, "opened_by": c.opened_by, "opened_at": c.opened_at.isoformat(),
        "officer_ids": list(c.officer_ids), "source_event_ids": list(c.source_event_ids), "stage": c.stage.value,
        "outcome": c.outcome.value if c.outcome else None, "findings": c.findings,
        "proposed": [_sanction(s) for s in c.proposed], "proposed_by": c.proposed_by,
        "sanctions": [_sanction(s) for s in c.sanctions],
        "decided_at": c.decided_at.isoformat() if c.decided_at else None, "decision_reason": c.decision_reason,
        "exemption": None if c.exemption is None else {
            "grounds": [g.name for g in c.exemption.grounds], "explanation": c.exemption.explanation,
            "decided_by": c.exemption.decided_by, "decided_at": c.exemption.decided_at.isoformat()},
        "links": [{"stage": link.stage.value, "person_id": link.person_id, "role": link.role, "act": link.act,
                   "recorded_by": link.recorded_by, "recorded_at": link.recorded_at.isoformat()} for link in c.links],
        "statements": [{"officer_id": s.officer_id, "content": s.content, "recorded_by": s.recorded_by,
                        "recorded_at": s.recorded_at.isoformat(), "waived": s.waived} for s in c.statements],
        "history": [{"from_stage": t.from_stage.value, "to_stage": t.to_stage.value, "action": t.action,
                     "actor_id": t.actor_id, "at": t.at.isoformat(), "note": t.note} for t in c.history],
    }


def _sanction(s: d.Sanction) -> dict:
    return {"target_kind": s.target_kind.value, "target_id": s.target_id, "kind": s.kind.name, "kind_name": s.kind.value,
            "note": s.note}


def sanction_from(raw: dict) -> d.Sanction:
    kind = raw["kind"]
    try:
        kind = d.SanctionKind[kind]
    except KeyError:
        kind = d.SanctionKind(kind)
    return d.Sanction(d.SubjectKind(raw["target_kind"]), raw["target_id"], kind, raw.get("note") or "")


def case_from_dict(raw: dict) -> d.AccountabilityCase:
    c = d.AccountabilityCase(raw["case_id"], raw["body_id"], raw["region_code"], d.ClueSource(raw["source"]),
                             raw["description"], raw["opened_by"], _dt(raw["opened_at"]),
                             list(raw["officer_ids"]), list(raw["source_event_ids"]))
    c.stage = d.Stage(raw["stage"])
    c.outcome = d.Outcome(raw["outcome"]) if raw.get("outcome") else None
    c.findings, c.proposed_by = raw.get("findings") or "", raw.get("proposed_by")
    c.proposed = [sanction_from(s) for s in raw.get("proposed") or []]
    c.sanctions = [sanction_from(s) for s in raw.get("sanctions") or []]
    c.decided_at, c.decision_reason = _dt(raw.get("decided_at")), raw.get("decision_reason") or ""
    if raw.get("exemption"):
        e = raw["exemption"]
        c.exemption = Exemption(tuple(d.ExemptionGround[g] for g in e["grounds"]), e["explanation"],
                                e["decided_by"], _dt(e["decided_at"]))
    c.links = [ResponsibleLink(d.Stage(x["stage"]), x["person_id"], x["role"], x["act"], x["recorded_by"],
                               _dt(x["recorded_at"])) for x in raw.get("links") or []]
    c.statements = [Statement(x["officer_id"], x["content"], x["recorded_by"], _dt(x["recorded_at"]), x["waived"])
                    for x in raw.get("statements") or []]
    c.history = [Transition(d.Stage(x["from_stage"]), d.Stage(x["to_stage"]), x["action"], x["actor_id"],
                            _dt(x["at"]), x.get("note") or "") for x in raw.get("history") or []]
    return c


def item_to_dict(i: d.SupervisionItem) -> dict:
    return {
        "item_id": i.item_id, "kind": i.kind.value, "kind_name": i.kind.zh, "issuer_region": i.issuer_region,
        "issuer_id": i.issuer_id, "target_body_id": i.target_body_id, "target_region": i.target_region,
        "subject": i.subject, "issued_on": i.issued_on.isoformat(),
        "deadline": {"start": i.deadline.start.isoformat(), "working_days": i.deadline.working_days,
                     "due": i.deadline.due.isoformat(), "provisional": i.deadline.provisional,
                     "calendar_version": i.deadline.calendar_version},
        "status": i.status.value, "closed_on": i.closed_on.isoformat() if i.closed_on else None,
        "closing_note": i.closing_note, "case_id": i.case_id,
        "responses": [{"responded_by": r.responded_by, "responded_on": r.responded_on.isoformat(),
                       "content": r.content, "on_time": r.on_time} for r in i.responses],
        "reviews": [{"action": r.action, "by": r.by, "on": r.on.isoformat(), "note": r.note} for r in i.reviews],
    }


def item_from_dict(raw: dict) -> d.SupervisionItem:
    dl = raw["deadline"]
    item = d.SupervisionItem(raw["item_id"], d.SupervisionKind(raw["kind"]), raw["issuer_region"], raw["issuer_id"],
                             raw["target_body_id"], raw["target_region"], raw["subject"], _d(raw["issued_on"]),
                             Deadline(_d(dl["start"]), dl["working_days"], _d(dl["due"]), dl["provisional"],
                                      dl["calendar_version"]),
                             d.ItemStatus(raw["status"]), case_id=raw.get("case_id"))
    item.closed_on, item.closing_note = _d(raw.get("closed_on")), raw.get("closing_note") or ""
    item.responses = [Response(r["responded_by"], _d(r["responded_on"]), r["content"], r["on_time"])
                      for r in raw.get("responses") or []]
    item.reviews = [ItemReview(r["action"], r["by"], _d(r["on"]), r.get("note") or "") for r in raw.get("reviews") or []]
    return item



def running_item_rows(session: Session) -> list:
    """Open supervision items (their deadline is running), for the recount on a new calendar (PLAT-6, issue 16)."""
    return list(session.scalars(select(SupervisionRow).where(SupervisionRow.status == d.ItemStatus.OPEN.value)
                                .order_by(SupervisionRow.item_id)))


def consequences_of_item(session: Session, item_id: str) -> list:
    """The consequences (整改 orders) tracked by a supervision item."""
    return list(session.scalars(select(ConsequenceRow).where(ConsequenceRow.item_id == item_id)))


# --- record gap reports (EVAL-6, issue 16) ------------------------------------------------------

GAP_REPORTS = "evaluation.gap_reports"   # session.info: (report ids read, those stored) — preload_gap_reports


def preload_gap_reports(session: Session, events) -> list:
    """Which of a batch's ``record.gaps_found`` reports are stored already, in one query: ``keep_gap_report``
    then answers without a SELECT (and a flush) per report (issue 17: at 400 events/s the reports were the
    deepest queue of the suite, one round trip each)."""
    from services.evaluation.models import GapReportRow

    ids = {e.event_id for e in events if e.event_type == "record.gaps_found" and e.case_id}
    if ids:
        stored = set(session.scalars(select(GapReportRow.event_id).where(one_of(session, GapReportRow.event_id, ids))))
        session.info[GAP_REPORTS] = (ids, stored)
    return []


def keep_gap_report(session: Session, event: Event) -> None:
    """Keep a ``record.gaps_found`` report (once per event): the kinds of gap open when it was made."""
    from services.evaluation.facts_map import gap_kinds
    from services.evaluation.models import GapReportRow

    if not event.case_id:
        return
    read, stored = session.info.get(GAP_REPORTS) or ((), ())
    if event.event_id in read:
        if event.event_id in stored:
            return
        stored.add(event.event_id)
    elif session.get(GapReportRow, event.event_id) is not None:
        return
    kinds = gap_kinds(event.payload)
    session.add(GapReportRow(event_id=event.event_id, case_id=event.case_id, body_id=event.body_id,
                             region_code=event.region_code, occurred_at=event.occurred_at,
                             open_kinds=jdump(sorted(kinds)), gaps=jdump(kinds)))


def gap_reports(session: Session) -> dict[str, list]:
    """Every case's gap reports: case id → [GapReportRow]."""
    from services.evaluation.models import GapReportRow

    out: dict[str, list] = {}
    for row in session.execute(select(GapReportRow).order_by(GapReportRow.case_id)).scalars():
        out.setdefault(row.case_id, []).append(row)
    return out


# --- evaluation instruments (EVAL-2, issue 18) ------------------------------------------------------------

def add_survey(session: Session, row: SurveyRow, code_hashes: Iterable[str]) -> None:
    session.add(row)
    session.add_all(SurveyCode(code_hash=h, survey_id=row.survey_id) for h in code_hashes)


def survey_by_code(session: Session, code_hash: str) -> tuple[SurveyRow, SurveyCode] | None:
    """The survey a code belongs to, with the code's row (used or not)."""
    code = session.get(SurveyCode, code_hash)
    if code is None:
        return None
    survey = session.get(SurveyRow, code.survey_id)
    return (survey, code) if survey is not None else None


def use_code(session: Session, code_hash: str, at: dt.datetime) -> bool:
    """Mark the code used if it was unused — one conditional UPDATE, so of two simultaneous answers with the
    same code exactly one changes the row (the other's transaction sees 0 rows and is refused)."""
    result = session.execute(update(SurveyCode).where(SurveyCode.code_hash == code_hash,
                                                      SurveyCode.used_at.is_(None)).values(used_at=at))
    return result.rowcount == 1


def add_survey_answer(session: Session, event_id: str, survey: SurveyRow, ratings: dict, average: Decimal,
                      comment: str | None, at: dt.datetime, on: dt.date) -> None:
    session.add(SurveyAnswer(event_id=event_id, survey_id=survey.survey_id, ratings=jdump(ratings),
                             average=float(average), comment=comment, answered_at=at))
    attrs = {"instrument": survey.kind, "survey_id": survey.survey_id}
    session.add(Fact(event_id=event_id, event_type="evaluation.survey_answered", kind="survey_rating",
                     region_code=survey.region_code, body_id=survey.body_id, officer_id=None, year=on.year,
                     occurred_on=on, value=float(average), seq=0, ref=survey.case_id, attrs=jdump(attrs)))


def surveys_in_scope(session: Session, scope, body_id: str | None = None) -> list[tuple[SurveyRow, int, float | None]]:
    """Surveys in the caller's scope (newest first) with their answer count and mean rating."""
    query = select(SurveyRow).order_by(SurveyRow.created_at.desc())
    if body_id:
        query = query.where(SurveyRow.body_id == body_id)
    rows = [r for r in session.scalars(query.limit(500)) if scope.covers(r.region_code, r.body_id)]
    stats = dict(((sid, (n, avg)) for sid, n, avg in session.execute(
        select(SurveyAnswer.survey_id, func.count(), func.avg(SurveyAnswer.average))
        .where(one_of(session, SurveyAnswer.survey_id, [r.survey_id for r in rows]))
        .group_by(SurveyAnswer.survey_id)))) if rows else {}
    return [(r, *stats.get(r.survey_id, (0, None))) for r in rows]


def add_visit(session: Session, row: VisitReport) -> None:
    session.add(row)
    attrs = {k: v for k, v in (("evaluator", row.evaluator), ("place", row.place)) if v}
    session.add(Fact(event_id=row.event_id, event_type="evaluation.visit_reported", kind="unannounced_visit_score",
                     region_code=row.region_code, body_id=row.body_id, officer_id=None, year=row.visited_on.year,
                     occurred_on=row.visited_on, value=float(row.score), seq=0, ref=None, attrs=jdump(attrs)))


def visits_in_scope(session: Session, scope, body_id: str | None = None) -> list[VisitReport]:
    query = select(VisitReport).order_by(VisitReport.visited_on.desc(), VisitReport.recorded_at.desc())
    if body_id:
        query = query.where(VisitReport.body_id == body_id)
    return [r for r in session.scalars(query.limit(500)) if scope.covers(r.region_code, r.body_id)]
