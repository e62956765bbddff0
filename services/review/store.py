"""What the review service reads and writes in its own database, in domain terms.

The use cases (usecases/) call these inside one transaction: load/save a domain task, compute the
automatic pre-checks from review's copy of the registry, assign a reviewer, answer the gate, read what
staffing counts (the recount and its violation are ``usecases/staffing.py``), and shape the views the
gateway returns.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.common import ownership
from services.common.db import get_or_create, lock_keys, one_of, utcnow
from services.common.scope import NOTHING, Scope
from services.common.workdays import WorkingDayCalendar
from services.review import codec
from services.review.domain import (CHECKS, CertificateEvent, ChecklistConfig, Classification, PowerEntry,
                                    Proposal, Reviewer, ReviewTask, TaskState, VersionStatus, approval_blockers,
                                    assign_reviewer, benchmark_advice, check_body_lawful, check_crime_transfer,
                                    check_documents_complete, check_law_discretion, check_officers_at_actions,
                                    check_procedure, check_within_authority, checklist, manual_check,
                                    task_due_level, transfer_suggested)
from services.review.domain.tasks import STATE_NAMES_ZH, _PENDING_STATES, NoReviewerAvailable
from services.review.models import (BodyStaffing, CaseAction, CertificateChange, DecidedVersion, PowerItem,
                                    RecordGaps, RegistryBody, RegistryOfficer, TaskOfficer)
from services.review.models import Classification as ClassificationRow
from services.review.models import ReviewTask as TaskRow
from services.review.models import Violation

CHINA = dt.timezone(dt.timedelta(hours=8))
UTC = dt.timezone.utc
STATUS_NAMES_ZH = {"pending": "审核中", "approved": "审核通过", "returned": "退回修改", "superseded": "已被替代"}
VIOLATION_NAMES_ZH = {"not_reviewed": "应审未审", "not_approved": "审核未通过仍作出决定",
                      "staffing_short": "法制审核人员不足"}


class ReviewError(Exception):
    """A refusal the caller sees: HTTP-like status, code and a Chinese message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def as_dict(self) -> dict:
        return {"error": self.code, "status": self.status, "message": self.message}


# --- time helpers (SQLite returns naive datetimes: everything is stored in UTC) -----------------

def to_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def china_day(value: dt.datetime) -> dt.date:
    return aware(value).astimezone(CHINA).date()


def step_time(task: ReviewTask | None, now: dt.datetime | None = None) -> dt.datetime:
    """Now, never before the task's last recorded step (clocks of replicas may differ slightly)."""
    now = now or utcnow()
    if task is not None and task.history and now < task.history[-1].at:
        return task.history[-1].at
    return now


# --- actor and scope (PLAT-1) --------------------------------------------------------------------

@dataclass(frozen=True)
class Actor:
    """Who calls: from the gateway's identity — kind, role, subject and the scope it acts in (region and
    bodies, ``services/common/scope.py``: no body list → no body, SEC-2)."""

    subject: str
    role: str
    region_code: str
    kind: str = "staff"
    scope: Scope = NOTHING

    @classmethod
    def of(cls, data: dict) -> "Actor":
        if not isinstance(data, dict):
            raise ReviewError(403, "out_of_scope", "调用方未说明其身份和访问范围")
        return cls(str(data["subject"]), str(data["role"]), str(data["region_code"]), str(data.get("kind", "staff")),
                   Scope.of(data.get("scope")))

    def covers(self, region_code: str, body_id: str | None = None) -> bool:
        return self.scope.covers(region_code, body_id)


def in_scope(query, region_column, body_column, actor: Actor):
    """Filter ``query`` to the actor's scope: regions under its region AND its bodies (SEC-2, PLAT-1)."""
    return actor.scope.where(query, region_column, body_column)


# --- tasks -------------------------------------------------------------------------------------

def locked(session: Session, query):
    """``SELECT … FOR UPDATE`` on PostgreSQL: a task document is read, changed and written back whole, so two
    writers (a reviewer's act, a pre-check re-run, a resubmission) must not interleave. SQLite serialises anyway."""
    return query.with_for_update() if session.bind.dialect.name == "postgresql" else query


BATCH_KEY = "review.case_batch"


@dataclass
class CaseBatch:
    """The classifications and task rows of a batch's cases (decision.proposed / decision.made),
    read in two statements instead of two or three per event; ``None``: known to be absent. Rows
    the batch creates are added, so later events of the batch find them."""

    classifications: dict       # (case_id, version) -> row | None
    tasks: dict                 # case_id -> row | None (locked on PostgreSQL, in task id order)
    decided: dict               # case_id -> {version: DecidedVersion} (REV-2: decisions made)


def preload_cases(session: Session, events) -> list:
    """Read (and lock the tasks of) the batch's cases; ``classification`` and ``task_row_for_case``
    answer from it. Returns the rows, kept for the batch (the identity map holds them weakly)."""
    cases = {e.case_id for e in events}
    found = session.scalars(select(ClassificationRow).where(one_of(session, ClassificationRow.case_id, cases))).all()
    classifications = {(e.case_id, int(e.payload["version"])): None for e in events}
    classifications.update({(r.case_id, r.version): r for r in found})
    tasks = session.scalars(locked(session, select(TaskRow).where(one_of(session, TaskRow.case_id, cases))
                                   .order_by(TaskRow.task_id))).all()
    by_case = dict.fromkeys(cases)
    for row in tasks:                 # one task per case; the first, as task_row_for_case's query
        if by_case[row.case_id] is None:
            by_case[row.case_id] = row
    made = session.scalars(select(DecidedVersion).where(one_of(session, DecidedVersion.case_id, cases))).all()
    decided: dict = {c: {} for c in cases}
    for row in made:
        decided[row.case_id][row.version] = row
    session.info[BATCH_KEY] = CaseBatch(classifications, by_case, decided)
    return [*found, *tasks, *made]


def classification(session: Session, case_id: str, version: int) -> ClassificationRow | None:
    batch = session.info.get(BATCH_KEY)
    if batch is not None and (case_id, version) in batch.classifications:
        return batch.classifications[(case_id, version)]
    return session.get(ClassificationRow, (case_id, version))


def add_classification(session: Session, row: ClassificationRow) -> None:
    session.add(row)
    batch = session.info.get(BATCH_KEY)
    if batch is not None:
        batch.classifications[(row.case_id, row.version)] = row


def case_classifications(session: Session, case_id: str) -> list[ClassificationRow]:
    """Every classified version of the case (from the batch when it read the case)."""
    batch = session.info.get(BATCH_KEY)
    if batch is not None and case_id in batch.tasks:      # the batch read all of the case's rows
        return [r for (c, _), r in batch.classifications.items() if c == case_id and r is not None]
    return list(session.scalars(select(ClassificationRow).where(ClassificationRow.case_id == case_id)))


def decided_versions(session: Session, case_id: str) -> dict[int, DecidedVersion]:
    """The case's decided versions (decision.made) review has heard of: version -> row (REV-2)."""
    batch = session.info.get(BATCH_KEY)
    if batch is not None and case_id in batch.decided:
        return batch.decided[case_id]
    return {r.version: r for r in session.scalars(select(DecidedVersion).where(DecidedVersion.case_id == case_id))}


def add_decided_version(session: Session, event, version: int) -> DecidedVersion:
    """Remember that ``version`` of the event's case was decided (the first copy of its decision.made)."""
    row = DecidedVersion(case_id=event.case_id, version=version, region_code=event.region_code,
                         body_id=event.body_id, decision_event_id=event.event_id,
                         decided_at=event.payload["decided_at"].astimezone(dt.timezone.utc), payload=event.raw.get("payload") or {},
                         recorded_at=utcnow())
    session.add(row)
    return row


def has_gate_violation(session: Session, case_id: str, version: int) -> bool:
    """Was the version already flagged (应审未审 or 审核未通过)? One REV-2 violation per case version."""
    return session.scalars(select(Violation.violation_id).where(
        Violation.case_id == case_id, Violation.version == version,
        Violation.kind.in_(("not_reviewed", "not_approved"))).limit(1)).first() is not None


def task_row_for_case(session: Session, case_id: str, lock: bool = False) -> TaskRow | None:
    batch = session.info.get(BATCH_KEY)
    if batch is not None and case_id in batch.tasks:     # read (and locked) by preload_cases
        return batch.tasks[case_id]
    query = select(TaskRow).where(TaskRow.case_id == case_id)
    return session.scalars(locked(session, query) if lock else query).first()


def add_task_row(session: Session, row: TaskRow) -> None:
    session.add(row)
    batch = session.info.get(BATCH_KEY)
    if batch is not None:
        batch.tasks[row.case_id] = row


def follow_owner(session: Session, row: TaskRow) -> None:
    """A transferred case's task is in the scope of the body that owns the case now (SEC-2)."""
    current = ownership.current_owner(session, row.case_id)
    if current is not None:
        row.body_id, row.region_code = current.to_body, current.to_region


def decode(row: TaskRow | None) -> ReviewTask | None:
    return codec.task_from_json(row.document) if row is not None else None


def save(row: TaskRow, task: ReviewTask, now: dt.datetime) -> None:
    """Write the domain task and keep the indexed columns in step with it."""
    cur = task.current
    row.document = codec.task_to_json(task)
    row.state = task.state.value
    # REV-2: a version whose decision was made (or a later version's) is closed for review
    row.pending = task.is_pending and not closed_by_decision(row, cur.number)
    row.version = cur.number
    row.submitted_by = cur.submitted_by
    row.reviewer_id = cur.reviewer_id
    row.approver_id = cur.approver_id
    row.due_on = cur.due.due
    row.due_provisional = cur.due.provisional
    row.field = cur.proposal.field
    assigned = (row.assignments or {}).get(str(cur.number)) or {}
    row.assigned_reviewer_id = cur.reviewer_id or assigned.get("reviewer_id")
    row.updated_at = now
    list_officers(row, cur.proposal.officer_ids)


def list_officers(row: TaskRow, officer_ids) -> None:
    """Keep ``review_task_officers`` naming the current proposal's officers (written only when they change:
    a new version naming others, or a task listed for the first time)."""
    officers = sorted(set(officer_ids))
    key = json.dumps(officers, ensure_ascii=False)
    if row.indexed_officers != key:
        row.officer_links = [TaskOfficer(officer_id=o) for o in officers]
        row.indexed_officers = key


def closed_by_decision(row: TaskRow, version: int) -> bool:
    """REV-2: the decision of this version (or of a later one) was made — nothing is left to review."""
    return row.decided_version is not None and version <= row.decided_version


def load_for_actor(session: Session, task_id: str, actor: Actor, *, lock: bool = True) -> tuple[TaskRow, ReviewTask]:
    """The task for the actor's scope; ``lock``: for a change — refused once its version was decided."""
    query = select(TaskRow).where(TaskRow.task_id == task_id)
    if lock:
        query = locked(session, query)
    row = session.scalars(query).first()
    if row is None or not actor.covers(row.region_code, row.body_id):
        raise ReviewError(404, "not_found", "审核任务不存在或不在您的管辖范围内")
    task = decode(row)
    if lock and closed_by_decision(row, task.current.number):
        raise ReviewError(409, "decided", f"案件{row.case_id}第{row.decided_version}版已作出执法决定，"
                                          "该审核任务已关闭，不能再办理（未经审核作出的重大执法决定已记为违规）")
    return row, task


def pending_tasks(session: Session, *, case_ids=(), body_ids=(), officer_ids=()) -> list[TaskRow]:
    """Pending task rows (locked, in task order) that may concern the cases, bodies or officers: of those
    cases or bodies, or whose current proposal names one of the officers (``review_task_officers``), or
    not listed yet (a task written before migration 0008 may name anyone)."""
    concerns = []
    if case_ids:
        concerns.append(TaskRow.case_id.in_(sorted(case_ids)))
    if body_ids:
        concerns.append(TaskRow.body_id.in_(sorted(body_ids)))
    if officer_ids:
        concerns.append(TaskRow.task_id.in_(select(TaskOfficer.task_id)
                                            .where(TaskOfficer.officer_id.in_(sorted(officer_ids)))))
        concerns.append(TaskRow.indexed_officers.is_(None))
    if not concerns:
        return []
    query = select(TaskRow).where(TaskRow.pending.is_(True), or_(*concerns)).order_by(TaskRow.task_id)
    return session.scalars(locked(session, query)).all()


# --- who may be reading the registry data a pre-check uses -------------------------------------------

HELD_KEY = "review.checked_data_locks"


def hold_checked_data(session: Session, *, reads=(), changes=()) -> None:
    """Serialise pre-checks against changes of the data they read — an officer (执法人员, certificates), a body
    (执法主体, 权责清单) or a case (its actions, its record gaps) — with ``db.lock_keys``: PostgreSQL advisory
    locks to the end of the transaction. ``reads``/``changes``: ``(kind, id)`` pairs. A proposal computing
    pre-checks holds its officers, body and case shared; a change holds them exclusively before it looks for
    the pending tasks concerned. So a proposal either sees the change, or committed its task (and its
    ``review_task_officers``) before the change looks — a task is never opened on stale data that nobody
    re-checks (issue 17). A batch takes all of its locks in one statement before any task row
    (``preload_batch``); later requests of a key already held are skipped. SQLite serialises writers anyway."""
    held = session.info.setdefault(HELD_KEY, {})
    changes = {(f"review.{kind}", i) for kind, i in changes if i}
    reads = {(f"review.{kind}", i) for kind, i in reads if i} - changes
    changes = [k for k in changes if held.get(k) != "exclusive"]
    reads = [k for k in reads if k not in held]
    if changes or reads:
        lock_keys(session, exclusive=changes, shared=reads)
        held.update(dict.fromkeys(reads, "shared"))
        held.update(dict.fromkeys(changes, "exclusive"))


def proposal_reads(event) -> list:
    """What the pre-checks of a ``decision.proposed`` read (``hold_checked_data``): its officers, its body
    and its case — the same for the batch's preload and for the proposal's own transaction."""
    officers = event.payload.get("officer_ids") or ()
    return [("officer", o) for o in officers] + [("body", event.body_id), ("case", event.case_id)]


def overdue_tasks(session: Session, today: dt.date) -> list[TaskRow]:
    """Pending tasks past their due day (超期), in a state a reviewer or approver still acts in."""
    return session.scalars(select(TaskRow).where(
        TaskRow.pending.is_(True), TaskRow.due_on < today, TaskRow.state.in_(PENDING_STATES))).all()


def running_task_rows(session: Session) -> list[TaskRow]:
    """Pending tasks (their due day is running), for the recount on a new calendar (PLAT-6, issue 16)."""
    return session.scalars(select(TaskRow).where(TaskRow.pending.is_(True)).order_by(TaskRow.task_id)).all()


def task_counts(session: Session, today: dt.date) -> tuple[list, list]:
    """(region, body, n) of open tasks and of overdue tasks, for the gauges."""
    open_rows = session.execute(select(TaskRow.region_code, TaskRow.body_id, func.count())
                                .where(TaskRow.pending.is_(True))
                                .group_by(TaskRow.region_code, TaskRow.body_id)).all()
    overdue_rows = session.execute(select(TaskRow.region_code, TaskRow.body_id, func.count())
                                   .where(TaskRow.pending.is_(True), TaskRow.due_on < today,
                                          TaskRow.state.in_(PENDING_STATES))
                                   .group_by(TaskRow.region_code, TaskRow.body_id)).all()
    return open_rows, overdue_rows


def tasks_in_scope(session: Session, actor: Actor, today: dt.date, *, status=None, assigned=None, body_id=None,
                   case_id=None) -> list[TaskRow]:
    """Tasks in the actor's scope; ``status``: a state, ``pending`` or ``overdue``; ``assigned='me'``:
    assigned to the actor or to nobody yet. At most 500, by due day."""
    query = in_scope(select(TaskRow), TaskRow.region_code, TaskRow.body_id, actor)
    if status == "pending":
        query = query.where(TaskRow.pending.is_(True))
    elif status == "overdue":
        query = query.where(TaskRow.pending.is_(True), TaskRow.due_on < today, TaskRow.state.in_(PENDING_STATES))
    elif status:
        query = query.where(TaskRow.state == status)
    if assigned == "me":
        query = query.where((TaskRow.assigned_reviewer_id == actor.subject)
                            | (TaskRow.assigned_reviewer_id.is_(None)))
    if body_id:
        query = query.where(TaskRow.body_id == body_id)
    if case_id:
        query = query.where(TaskRow.case_id == case_id)
    rows = session.scalars(query.order_by(TaskRow.due_on, TaskRow.case_id).limit(500)).all()
    return [r for r in rows if actor.covers(r.region_code, r.body_id)]


# --- registry, case actions, record gaps: what the pre-checks read (PLAT-2/3/4, REV-3) ------------

def body_name(session: Session, body_id: str) -> str | None:
    """The body's registered name in review's registry copy (None when not registered)."""
    body = session.get(RegistryBody, body_id)
    return body.name if body is not None else None


def upsert_body(session: Session, p: dict, now: dt.datetime) -> RegistryBody:
    """执法主体 as ``body.registered`` tells it."""
    fields = {"name": p["name"], "kind": p["kind"], "region_code": p["region_code"], "field": p.get("field"),
              "superior_body_id": p.get("superior_body_id"), "updated_at": now}
    body = get_or_create(session, RegistryBody, {"body_id": p["body_id"]}, fields)   # race-free (issue 20)
    for name, value in fields.items():
        setattr(body, name, value)
    session.flush()
    return body


def upsert_officer(session: Session, p: dict, region_code: str, now: dt.datetime) -> str | None:
    """执法人员 as ``officer.registered`` tells it (region and field from the body when known).
    Returns the body the officer moved from, if any."""
    body = session.get(RegistryBody, p["body_id"])
    # race-free (issue 20): a new officer is inserted as registered to its body, so it moved from nowhere
    officer = get_or_create(session, RegistryOfficer, {"officer_id": p["officer_id"]}, {
        "name": p["name"], "body_id": p["body_id"], "region_code": body.region_code if body is not None else region_code,
        "updated_at": now})
    moved_from = officer.body_id if officer.body_id != p["body_id"] else None
    officer.name, officer.body_id = p["name"], p["body_id"]
    officer.region_code = body.region_code if body is not None else region_code
    roles = set(p.get("roles") or ["officer"])
    officer.is_officer, officer.is_reviewer = "officer" in roles, "legal_reviewer" in roles
    officer.field = p.get("field") or (body.field if body is not None else None)
    officer.certificate_no, officer.updated_at = p.get("certificate_no"), now
    session.flush()
    return moved_from


def add_certificate_change(session: Session, event_id: str, p: dict) -> None:
    """执法证件 status change (``certificate.status_changed``), kept as history."""
    session.add(CertificateChange(event_id=event_id, certificate_no=p["certificate_no"],
                                  officer_id=p["officer_id"], status=p["status"],
                                  effective_from=to_utc(p["effective_from"]), valid_until=p.get("valid_until"),
                                  reason=p.get("reason")))
    session.flush()


def upsert_power_item(session: Session, p: dict) -> None:
    """权责清单 entry as ``power.published`` tells it (one row per version)."""
    fields = {"action_type": p["action_type"], "name": p["name"], "legal_basis": p["legal_basis"],
              "published_on": p["published_on"]}
    item = get_or_create(session, PowerItem, {"body_id": p["body_id"], "matter_code": p["matter_code"],
                                              "version": p["version"]}, fields)   # race-free (issue 20)
    for name, value in fields.items():
        setattr(item, name, value)
    session.flush()


def add_case_action(session: Session, event_id: str, case_id: str, kind: str, acted_at: dt.datetime,
                    officer_ids) -> None:
    session.add(CaseAction(event_id=event_id, case_id=case_id, kind=kind, acted_at=acted_at,
                           officer_ids=list(officer_ids or [])))


GAPS_KEY = "review.record_gaps"     # session.info: case id -> its RecordGaps row (None: none yet), for a batch


CASE_DATA_CHANGES = ("evidence.recorded", "record.gaps_found")   # re-run the pre-checks of their case's task


def preload_batch(session: Session, events) -> list:
    """A case-traffic batch's reads in a few statements (issue 17): first the locks of the data its proposals
    pre-check and of the cases whose data it changes (``hold_checked_data``, one statement, before any task
    row), then the proposals' and decisions' cases (``preload_cases``) and the gap reports
    (``preload_record_gaps``). Returns the rows, kept for the batch."""
    reads, changes = [], []
    for e in events:
        if e.event_type == "decision.proposed":
            reads += proposal_reads(e)
        elif e.event_type in CASE_DATA_CHANGES:
            changes.append(("case", e.case_id))
    hold_checked_data(session, reads=reads, changes=changes)
    decisions = [e for e in events if e.event_type in ("decision.proposed", "decision.made")]
    gap_reports = [e for e in events if e.event_type == "record.gaps_found"]
    return [*(preload_cases(session, decisions) if decisions else ()),
            *(preload_record_gaps(session, gap_reports) if gap_reports else ())]


def preload_record_gaps(session: Session, events) -> list:
    """The latest gap reports of a batch's cases, in one query (issue 17: a ``session.get`` per
    record.gaps_found, a round trip for every case without one yet). Returns the rows, kept for the batch."""
    cases = {e.case_id for e in events if e.case_id}
    rows = session.scalars(select(RecordGaps).where(one_of(session, RecordGaps.case_id, cases))).all()
    known: dict = dict.fromkeys(cases)
    known.update({row.case_id: row for row in rows})
    session.info[GAPS_KEY] = known
    return list(rows)


def record_gaps(session: Session, case_id: str) -> RecordGaps | None:
    known = session.info.get(GAPS_KEY)
    if known is not None and case_id in known:
        return known[case_id]
    return session.get(RecordGaps, case_id)


def set_record_gaps(session: Session, row: RecordGaps | None, case_id: str, *, open_gap_codes: list, gaps: list,
                    reported_at: dt.datetime) -> None:
    row = row or RecordGaps(case_id=case_id)
    row.open_gap_codes, row.gaps, row.reported_at = open_gap_codes, gaps, reported_at
    session.add(row)
    known = session.info.get(GAPS_KEY)
    if known is not None:
        known[case_id] = row       # a later report of the case in the batch finds it, as the query (autoflushed) did


# --- pre-checks (REV-3) --------------------------------------------------------------------------

def certificate_history(session: Session, officer_ids: Iterable[str]) -> list[CertificateEvent]:
    rows = session.scalars(select(CertificateChange).where(CertificateChange.officer_id.in_(list(officer_ids))))
    return [CertificateEvent(r.certificate_no, r.officer_id, r.status, aware(r.effective_from), r.valid_until)
            for r in rows]


def power_entries(session: Session, body_id: str) -> list[PowerEntry]:
    rows = session.scalars(select(PowerItem).where(PowerItem.body_id == body_id)
                           .order_by(PowerItem.matter_code, PowerItem.version)).all()
    entries = []
    for i, r in enumerate(rows):
        nxt = rows[i + 1] if i + 1 < len(rows) and rows[i + 1].matter_code == r.matter_code else None
        until = nxt.published_on - dt.timedelta(days=1) if nxt is not None else None
        if until is not None and until < r.published_on:
            continue  # replaced on the day it was published
        entries.append(PowerEntry(r.body_id, r.matter_code, r.action_type, r.published_on, until))
    return entries


def compute_prechecks(session: Session, proposal: Proposal, config: ChecklistConfig, benchmarks) -> list:
    """The eight checks of ``proposal`` from what review holds (registry, case actions, record gaps)."""
    officers = list(dict.fromkeys(proposal.officer_ids))
    certs = certificate_history(session, officers)
    known = session.scalars(select(RegistryOfficer.officer_id).where(RegistryOfficer.officer_id.in_(officers))).all()
    if not certs and not known:
        officers_check = manual_check("officers_qualified", "未收到本案执法人员的登记和执法证件信息（执法人员名录未同步），"
                                                            "无法自动核验，待审核人员核查执法证件")
    else:
        actions = [(aware(a.acted_at), tuple(a.officer_ids or ())) for a in
                   session.scalars(select(CaseAction).where(CaseAction.case_id == proposal.case_id))]
        officers_check = check_officers_at_actions(actions, certs, officers, proposal.proposed_at,
                                                   config.min_certified_officers)
    powers = power_entries(session, proposal.body_id)
    if powers:
        authority = check_within_authority(proposal.body_id, proposal.matter_code, proposal.action_type, powers,
                                           proposal.proposed_at.date())
    else:
        authority = manual_check("within_authority", "未收到本机关的权责清单（执法事项目录），无法自动核验，待审核人员审查")
    body = session.get(RegistryBody, proposal.body_id)
    gaps = session.get(RecordGaps, proposal.case_id)
    codes = list(gaps.open_gap_codes or []) if gaps else []
    names = {g.get("code"): g.get("description") for g in (gaps.gaps or [])} if gaps else {}
    advice = benchmark_advice(proposal, benchmarks) if benchmarks is not None else None
    return [
        check_body_lawful(True if body is not None else None, body.name if body is not None else None),
        officers_check,
        check_procedure(proposal.hearing_requested, proposal.hearing_held),
        manual_check("facts_evidence"),
        check_law_discretion(advice),
        authority,
        check_documents_complete(codes, names),
        check_crime_transfer(proposal, config),
    ]


# --- reviewers (REV-7) ---------------------------------------------------------------------------

def reviewers(session: Session, pooled: frozenset[str]) -> list[Reviewer]:
    return [Reviewer(r.officer_id, r.body_id, r.region_code, r.field, True, r.officer_id in pooled)
            for r in session.scalars(select(RegistryOfficer).where(RegistryOfficer.is_reviewer.is_(True)))]


def open_task_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(TaskRow.assigned_reviewer_id, func.count()).where(
        TaskRow.pending.is_(True), TaskRow.assigned_reviewer_id.is_not(None)).group_by(TaskRow.assigned_reviewer_id))
    return {reviewer: n for reviewer, n in rows}


def assign(session: Session, proposal: Proposal, *, min_own: int, pooled: frozenset[str],
           previous: str | None = None) -> dict:
    """The reviewer for a submitted version: the previous reviewer when still eligible, else by the domain rule."""
    everyone = reviewers(session, pooled)
    handling = set(proposal.officer_ids) | ({proposal.submitted_by} if proposal.submitted_by else set())
    if previous and previous not in handling and any(r.reviewer_id == previous for r in everyone):
        return {"reviewer_id": previous, "pooled": False, "reason": "再次送审，由原审核人员继续审核"}
    try:
        a = assign_reviewer(body_id=proposal.body_id, field=proposal.field, region_code=proposal.region_code,
                            handling_officer_ids=handling, reviewers=everyone,
                            open_task_counts=open_task_counts(session), min_own_reviewers=min_own)
    except NoReviewerAvailable:
        return {"reviewer_id": None, "pooled": False,
                "reason": "本机关及本系统统筹调用名单中均无已登记的可用法制审核人员，由辖区内法制审核人员认领"}
    return {"reviewer_id": a.reviewer_id, "pooled": a.pooled, "reason": a.reason}


# --- gate (REV-2) -----------------------------------------------------------------------------------

def domain_classification(row: ClassificationRow) -> Classification:
    from services.review.domain import FiredRule

    fired = tuple(FiredRule(f["rule_id"], f["description"], f["detail"]) for f in (row.fired or []))
    if not fired and row.fired_rules:  # rows written before the descriptions were kept
        fired = tuple(FiredRule(r, r, "") for r in row.fired_rules)
    return Classification(row.case_id, row.version, row.major, fired, bool(row.sign_off_required),
                          tuple(row.layers or ()), row.catalogue_digest or "")


def gate_answer(session: Session, case_id: str, version: int) -> dict | None:
    """May ``case_id`` version ``version`` be decided now? None when review knows nothing of the case."""
    from services.review.domain import detect_bypass, may_decide

    rows = session.scalars(select(ClassificationRow).where(ClassificationRow.case_id == case_id)
                           .order_by(ClassificationRow.version)).all()
    if not rows:
        return None
    base = {"case_id": case_id, "version": version, "region_code": rows[0].region_code, "body_id": rows[0].body_id}
    row = next((r for r in rows if r.version == version), None)
    task = decode(task_row_for_case(session, case_id))
    if row is None:
        majors = [r for r in rows if r.major]
        if majors:
            reasons = [f"案件{case_id}第{version}版拟作出的决定未送法制审核（应审未审），不得作出决定",
                       f"此前第{majors[-1].version}版属于重大执法决定：" + "、".join(
                           f["description"] for f in (majors[-1].fired or [])) ]
            return {**base, "allowed": False, "major": True, "violation": "not_reviewed", "reasons": reasons,
                    "fired": majors[-1].fired or []}
        return {**base, "allowed": False, "major": None, "violation": None, "fired": [],
                "reasons": [f"未收到案件{case_id}第{version}版拟作出的决定（decision.proposed），无法认定是否属于重大执法决定，"
                            f"请先报送"]}
    cls = domain_classification(row)
    answer = may_decide(task, case_id, version, cls)
    violation = None
    if not answer.allowed:
        found = detect_bypass(cls, task, version)
        violation = found.kind.value if found else None
    return {**base, "allowed": answer.allowed, "major": cls.major, "violation": violation,
            "reasons": list(answer.reasons), "fired": row.fired or []}


def record_violation(session: Session, *, kind: str, region_code: str, body_id: str, description: str,
                     case_id: str | None = None, version: int | None = None, details: dict | None = None,
                     now: dt.datetime | None = None) -> Violation:
    v = Violation(violation_id=str(uuid.uuid4()), kind=kind, region_code=region_code, body_id=body_id,
                  case_id=case_id, version=version, description=description, details=details or {},
                  detected_at=now or utcnow())
    session.add(v)
    return v


def violations_in_scope(session: Session, actor: Actor, *, kind=None, open_only=False, body_id=None) -> list[Violation]:
    """Violations in the actor's scope, newest first (at most 500)."""
    query = in_scope(select(Violation), Violation.region_code, Violation.body_id, actor)
    if kind:
        query = query.where(Violation.kind == kind)
    if open_only:
        query = query.where(Violation.resolved_at.is_(None))
    if body_id:
        query = query.where(Violation.body_id == body_id)
    rows = session.scalars(query.order_by(Violation.detected_at.desc()).limit(500)).all()
    return [v for v in rows if actor.covers(v.region_code, v.body_id)]


def violation_view(v: Violation) -> dict:
    return {"violation_id": v.violation_id, "kind": v.kind, "kind_zh": VIOLATION_NAMES_ZH.get(v.kind, v.kind),
            "region_code": v.region_code, "body_id": v.body_id, "case_id": v.case_id, "version": v.version,
            "description": v.description, "details": v.details, "detected_at": aware(v.detected_at).isoformat(),
            "resolved_at": aware(v.resolved_at).isoformat() if v.resolved_at else None, "open": v.resolved_at is None}


# --- staffing (REV-7) ---------------------------------------------------------------------------

def staffing_counts(session: Session, body_id: str) -> tuple[int, int]:
    """(officers, legal reviewers) registered for the body (REV-7)."""
    officers, reviewers = session.execute(select(
        func.count().filter(RegistryOfficer.is_officer.is_(True)),
        func.count().filter(RegistryOfficer.is_reviewer.is_(True))).where(RegistryOfficer.body_id == body_id)).one()
    return int(officers), int(reviewers)


def registry_body(session: Session, body_id: str) -> RegistryBody | None:
    return session.get(RegistryBody, body_id)


def officers_region(session: Session, body_id: str) -> str | None:
    """The region of the body's officers, for a body not (yet) registered itself."""
    return session.scalars(select(RegistryOfficer.region_code).where(RegistryOfficer.body_id == body_id)).first()


def staffing_row(session: Session, body_id: str, region_code: str, now: dt.datetime) -> BodyStaffing:
    """The body's staffing row (a new, compliant one when there is none yet), locked until the transaction
    ends: two recounts of one body (a body and an officer registered at once) take turns instead of both
    inserting it (issue 20) or the later one writing counts read before the other committed."""
    return get_or_create(session, BodyStaffing, {"body_id": body_id}, {
        "region_code": region_code, "officers": 0, "reviewers": 0, "required": 0, "shortfall": 0,
        "compliant": True, "checked_at": now})


def violation(session: Session, violation_id: str) -> Violation | None:
    return session.get(Violation, violation_id)


def staffed_body_ids(session: Session) -> set[str]:
    """Every body with officers registered or a staffing row (REV-7)."""
    bodies = set(session.scalars(select(RegistryOfficer.body_id).distinct()))
    return bodies | set(session.scalars(select(BodyStaffing.body_id)))


def staffing_in_scope(session: Session, actor: Actor) -> list[BodyStaffing]:
    rows = session.scalars(in_scope(select(BodyStaffing), BodyStaffing.region_code, BodyStaffing.body_id, actor)
                           .order_by(BodyStaffing.body_id)).all()
    return [r for r in rows if actor.covers(r.region_code, r.body_id)]


def staffing_view(row: BodyStaffing) -> dict:
    return {"body_id": row.body_id, "region_code": row.region_code, "officers": row.officers,
            "reviewers": row.reviewers, "required": row.required, "shortfall": row.shortfall, "ratio": row.ratio,
            "compliant": row.compliant, "short_since": aware(row.short_since).isoformat() if row.short_since else None,
            "checked_at": aware(row.checked_at).isoformat()}


# --- views -------------------------------------------------------------------------------------

def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def version_view(v) -> dict:
    items = checklist(v)
    crime = next((r for r in v.prechecks if r.code == "crime_transfer"), None)
    return {
        "number": v.number, "status": v.status.value, "status_zh": STATUS_NAMES_ZH[v.status.value],
        "submitted_by": v.submitted_by, "submitted_at": _iso(v.submitted_at),
        "due_on": v.due.due.isoformat(), "due_provisional": v.due.provisional, "working_days": v.due.working_days,
        "reviewer_id": v.reviewer_id, "review_started_at": _iso(v.review_started_at),
        "opinion": codec.opinion_to_json(v.opinion), "reviewed_at": _iso(v.reviewed_at),
        "sign_off_required": v.sign_off_required, "approver_id": v.approver_id, "signed_off_at": _iso(v.signed_off_at),
        "sign_off_note": v.sign_off_note, "coordination": codec.coordination_to_json(v.coordination),
        "proposal": codec.proposal_to_json(v.proposal),
        "classification": codec.classification_to_json(v.classification) if v.classification else None,
        "checklist": [{"code": i.code, "title": i.title, "outcome": i.outcome.value, "settled": i.settled,
                       "automatic": codec.check_to_json(i.automatic) if i.automatic else None,
                       "finding": codec.finding_to_json(i.finding) if i.finding else None} for i in items],
        "approval_blockers": approval_blockers(v) if v.status is VersionStatus.PENDING else [],
        "transfer_suggested": bool(crime and transfer_suggested(crime)),
    }


def task_summary(row: TaskRow, task: ReviewTask, calendar: WorkingDayCalendar, warn_days: int,
                 today: dt.date) -> dict:
    cur = task.current
    level = task_due_level(task, today, calendar, warn_days) if row.pending else None
    assignment = (row.assignments or {}).get(str(cur.number)) or {}
    return {
        "task_id": row.task_id, "case_id": row.case_id, "version": cur.number, "region_code": row.region_code,
        "body_id": row.body_id, "status": task.state.value, "status_zh": STATE_NAMES_ZH[task.state],
        "pending": bool(row.pending), "version_status": cur.status.value,
        "decided_version": row.decided_version,
        "assigned_reviewer_id": assignment.get("reviewer_id"), "pooled": bool(assignment.get("pooled")),
        "reviewer_id": cur.reviewer_id, "approver_id": cur.approver_id, "submitted_by": cur.submitted_by,
        "sign_off_required": cur.sign_off_required,
        "opinion": cur.opinion.kind.value if cur.opinion else None,
        "problems": list(cur.opinion.corrections) if cur.opinion else [],
        "fired": [codec.fired_to_json(f) for f in cur.classification.fired] if cur.classification else [],
        "action_type": cur.proposal.action_type, "matter_code": cur.proposal.matter_code,
        "due_on": cur.due.due.isoformat(), "due_provisional": cur.due.provisional,
        "due_level": level.value if level else None,
        "overdue": bool(row.pending and task.state is not TaskState.COORDINATION and today > cur.due.due),
        "opened_at": aware(row.opened_at).isoformat(), "updated_at": aware(row.updated_at).isoformat(),
        "versions": len(task.versions),
    }


def task_view(row: TaskRow, task: ReviewTask, calendar: WorkingDayCalendar, warn_days: int, today: dt.date) -> dict:
    view = task_summary(row, task, calendar, warn_days, today)
    view.update({
        "assignment": (row.assignments or {}).get(str(task.current.number)),
        "current": version_view(task.current),
        "versions": [version_view(v) for v in task.versions],
        "history": [codec.transition_to_json(t) for t in task.history],
        "checks": list(CHECKS.items()),
    })
    return view


PENDING_STATES = tuple(s.value for s in _PENDING_STATES)
