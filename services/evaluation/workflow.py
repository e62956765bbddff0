"""What the evaluation service does with grades, violations and supervision (EVAL-4, EVAL-6, EVAL-9,
COORD-3, COORD-4): persists the domain's decisions and emits them as events through the outbox.

Functions take a session (one transaction) and return JSON-ready dicts; errors a person must see
are raised as ``WorkflowError`` with a Chinese message and an HTTP-like status.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict

from sqlalchemy import and_, false, select
from sqlalchemy.orm import Session

from services.common.db import emit
from services.common import settings, tiers
from services.common.events import Event
from services.common.scope import Scope
from services.common.workdays import default_calendar
from services.evaluation import domain as d
from services.evaluation.domain.accountability import FACT_KIND_TO_SOURCE
from services.evaluation.engine import (
    Result,
    evaluate,
    final_grade,
    indicator_config,
    may_finalise,
    persist_grade,
    supervision_rules,
    zero_enforcement_facts,
)
from services.evaluation.models import (
    BodyEntry,
    CaseRow,
    ConsequenceRow,
    Fact,
    SupervisionRow,
)
from services.evaluation.facts_map import NewFact
from services.evaluation.store import (
    Registry,
    case_from_dict,
    case_to_dict,
    in_region,
    item_from_dict,
    gap_reports,
    insert_facts,
    item_to_dict,
    jdump,
    sanction_from,
    to_domain,
)

CHINA = dt.timezone(dt.timedelta(hours=8))


class WorkflowError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def as_json(self) -> dict:
        return {"error": self.code, "status": self.status, "message": self.message}


def now() -> dt.datetime:
    return dt.datetime.now(CHINA)


def new_id(prefix: str, day: dt.date) -> str:
    return f"{prefix}-{day:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"


# --- consequences (结果运用, EVAL-4) -------------------------------------------------------------

def consequence_json(row: ConsequenceRow, today: dt.date | None = None) -> dict:
    out = {"id": row.id, "subject_kind": row.subject_kind, "subject_id": row.subject_id, "body_id": row.body_id,
           "region_code": row.region_code, "year": row.year, "kind": row.kind, "title": row.title,
           "detail": row.detail, "issued_on": row.issued_on.isoformat(), "max_grade": row.max_grade,
           "due_on": row.due_on.isoformat() if row.due_on else None, "due_provisional": row.due_provisional,
           "options": json.loads(row.options) if row.options else [], "scope": row.scope,
           "requires_decision": row.requires_decision, "status": row.status, "resolution": row.resolution,
           "resolved_by": row.resolved_by, "resolved_on": row.resolved_on.isoformat() if row.resolved_on else None,
           "item_id": row.item_id, "event_id": row.event_id}
    if today is not None:
        out["overdue"] = row.status == "open" and row.due_on is not None and today > row.due_on
    return out


def store_consequence(session: Session, c: d.Consequence, body_id: str, region_code: str,
                      issuer_region: str, issuer_id: str) -> ConsequenceRow | None:
    """Persist a consequence once per (subject, year, kind); a rectification order becomes a
    supervision item tracked to closure. Returns None when it existed already."""
    exists = session.execute(select(ConsequenceRow.id).where(
        ConsequenceRow.subject_kind == c.subject_kind.value, ConsequenceRow.subject_id == c.subject_id,
        ConsequenceRow.year == c.year, ConsequenceRow.kind == c.kind.value)).first()
    if exists:
        return None
    status = {"grade_cap": "in_force", "publication": "in_force"}.get(c.kind.value, "open")
    row = ConsequenceRow(subject_kind=c.subject_kind.value, subject_id=c.subject_id, body_id=body_id,
                         region_code=region_code, year=c.year, kind=c.kind.value, title=c.title, detail=c.detail,
                         issued_on=c.issued_on, max_grade=c.max_grade.value if c.max_grade else None,
                         due_on=c.due.due if c.due else None, due_provisional=bool(c.due and c.due.provisional),
                         options=jdump(list(c.options)) if c.options else None, scope=c.scope,
                         requires_decision=c.requires_decision, status=status)
    session.add(row)
    session.flush()
    if c.kind is d.ConsequenceKind.RECTIFICATION_ORDER:
        item = d.rectification_from_consequence(c, new_id("ZG", c.issued_on), issuer_region=issuer_region,
                                                issuer_id=issuer_id, target_region=region_code,
                                                calendar=default_calendar())
        save_item(session, item, new=True)
        emit_item_issued(session, item)
        row.item_id = item.item_id
        if item.deadline:
            row.due_on, row.due_provisional = item.due, item.deadline.provisional
    row.event_id = emit(session, "evaluation.consequence_issued", {
        "consequence_id": row.id, "subject_kind": row.subject_kind, "subject_id": row.subject_id, "year": row.year,
        "kind": row.kind, "title": row.title, "detail": row.detail, "due_on": row.due_on,
        "due_provisional": row.due_provisional, "options": list(c.options), "requires_decision": row.requires_decision,
        "item_id": row.item_id}, region_code=region_code, body_id=body_id)
    return row


def resolve_consequence(session: Session, scope: Scope, consequence_id: int, actor: str, resolution: str,
                        today: dt.date) -> dict:
    """Record how a measure or a removal proposal was carried out (批评教育/离岗培训/调离/取消资格)."""
    row = session.get(ConsequenceRow, consequence_id)
    if row is None or not scope.covers(row.region_code, row.body_id):
        raise WorkflowError(404, "not_found", f"结果运用事项 {consequence_id} 不存在或不在您的管辖范围内")
    if row.status != "open" or row.kind == "rectification_order":
        raise WorkflowError(409, "not_open", "该事项无需办理或已办结（整改事项请通过监督事项办结）")
    options = json.loads(row.options) if row.options else []
    if options and resolution not in options:
        raise WorkflowError(422, "invalid", f"处理结果应为：{'、'.join(options)}")
    row.status, row.resolution, row.resolved_by, row.resolved_on = "done", resolution, actor, today
    return consequence_json(row, today)


# --- grades: year to date and final ------------------------------------------------------------

def record_ytd(session: Session, results: list[Result], as_of: dt.date, year: int) -> dict:
    """Persist year-to-date grades; an officer rated 不合格 gets the grade cap for the year (EVAL-4)."""
    counts: dict = defaultdict(int)
    for r in results:
        persist_grade(session, r, "ytd", as_of)
        counts[(r.subject.kind, r.grade.label)] += 1
        if r.subject.kind == "officer" and not r.grade.insufficient and r.grade.grade is d.Grade.FAIL:
            cap = d.Consequence(d.ConsequenceKind.GRADE_CAP, d.SubjectKind.OFFICER, r.subject.subject_id, year,
                                f"{year}年度评议考核不合格，当年不得评定为优秀",
                                f"执法人员{r.subject.name}截至{as_of.isoformat()}的{year}年度评议考核为不合格，"
                                f"不得在{year}年度考核中评定为优秀。", as_of, max_grade=d.Grade.PASS)
            store_consequence(session, cap, r.subject.body_id, r.subject.region_code, r.subject.region_code, "system")
    return {f"{k}:{g}": n for (k, g), n in sorted(counts.items())}


def finalise_year(session: Session, scope: str, year: int, actor: str, today: dt.date) -> dict:
    """Final grades of a year for the bodies the caller evaluates (EVAL-1) and their officers, with
    consequences; subjects finalised before are reported, not changed."""
    if year >= today.year and today < dt.date(year, 12, 31):
        raise WorkflowError(409, "year_running", f"{year}年度尚未结束，不能确定最终考核等次")
    zero = zero_enforcement_facts(session, scope, year)
    results = evaluate(session, scope, year, None)
    rules = indicator_config().consequences
    calendar = default_calendar()
    bodies_ok = {r.subject.subject_id for r in results if r.subject.kind == "body" and may_finalise(session, scope, r.subject)}
    finalised, skipped, issued = [], [], []
    for r in results:
        key = r.subject.body_id
        if key not in bodies_ok:
            skipped.append({"subject_kind": r.subject.kind, "subject_id": r.subject.subject_id, "reason": "not_evaluator"})
            continue
        if final_grade(session, r.subject.kind, r.subject.subject_id, year):
            skipped.append({"subject_kind": r.subject.kind, "subject_id": r.subject.subject_id, "reason": "already_final"})
            continue
        if r.grade.insufficient:   # no grade without evidence (issue 16): 数据不足, no final grade, no consequence
            skipped.append({"subject_kind": r.subject.kind, "subject_id": r.subject.subject_id,
                            "reason": "insufficient_data", "message": "；".join(r.grade.reasons)})
            continue
        persist_grade(session, r, "final", dt.date(year, 12, 31), decided_by=actor)
        emit(session, "evaluation.grade_finalised", {
            "subject_kind": r.subject.kind, "subject_id": r.subject.subject_id, "year": year, "total": r.score.total,
            "by_total": r.grade.by_total.value, "grade": r.grade.grade.value, "reasons": list(r.grade.reasons),
            "decided_by": actor}, region_code=r.subject.region_code, body_id=r.subject.body_id)
        previous = final_grade(session, r.subject.kind, r.subject.subject_id, year - 1)
        subject = d.Subject(d.SubjectKind(r.subject.kind), r.subject.subject_id, r.subject.region_code, r.subject.name)
        for c in d.consequences(subject, r.grade, previous.grade if previous else None, calendar, today,
                                rules=rules):
            row = store_consequence(session, c, r.subject.body_id, r.subject.region_code, scope, actor)
            if row is not None:
                issued.append(consequence_json(row, today))
        finalised.append({"subject_kind": r.subject.kind, "subject_id": r.subject.subject_id, "name": r.subject.name,
                          "total": str(r.score.total), "by_total": r.grade.by_total.value,
                          "grade": r.grade.grade.value, "reasons": list(r.grade.reasons),
                          "previous_year": previous.grade if previous else None})
    return {"year": year, "region_code": scope, "finalised": finalised, "skipped": skipped,
            "consequences": issued, "zero_enforcement_unexplained": [f.body_id for f in zero]}


# --- accountability cases (EVAL-6) -------------------------------------------------------------

def save_case(session: Session, case: d.AccountabilityCase, origin_key: str | None = None, new: bool = False) -> CaseRow:
    row = None if new else session.get(CaseRow, case.case_id)
    if row is None:
        row = CaseRow(case_id=case.case_id, origin_key=origin_key, opened_at=case.opened_at)
    row.body_id, row.region_code, row.source = case.body_id, case.region_code, case.source.value
    row.stage, row.outcome = case.stage.value, case.outcome.value if case.outcome else None
    row.updated_at, row.data = dt.datetime.now(dt.timezone.utc), jdump(case_to_dict(case))
    session.add(row)
    return row


def _emit_opened(session: Session, case: d.AccountabilityCase) -> None:
    emit(session, "evaluation.accountability_opened", {
        "accountability_case_id": case.case_id, "source": case.source.value, "description": case.description,
        "officer_ids": case.officer_ids, "source_event_ids": case.source_event_ids},
        region_code=case.region_code, body_id=case.body_id)


def _fact_case_key(kind: str, fact: Fact) -> str:
    """One clue per case (or complaint) and kind, not per event (issue 16, EVAL-6)."""
    return f"fact:{kind}:{fact.ref or fact.event_id}"


def open_cases_from_facts(session: Session, rows: list[Fact]) -> list[str]:
    """A violation fact that is final when it arrives (a bypassed review, an overdue publication, an
    upheld complaint, …) opens a clue — one per case and kind: a later event of the same case and kind
    joins the open clue (its event id and officers) instead of opening another."""
    groups: dict = defaultdict(list)
    for r in rows:
        # a province opens no case against a city's body: the city's suite holds it to account (issue 23)
        if r.kind in FACT_KIND_TO_SOURCE and tiers.judged_here(r.region_code):
            groups[_fact_case_key(r.kind, r)].append(r)
    opened = []
    for key, facts in groups.items():
        row = session.execute(select(CaseRow).where(CaseRow.origin_key == key)).scalar()
        if row is not None:
            _join_case(session, row, facts)
            continue
        at = now()
        case = d.open_case_from_fact(to_domain(facts[0]), new_id("ZR", at.date()), at)
        for f in facts[1:]:
            if f.officer_id and f.officer_id not in case.officer_ids:
                case.officer_ids.append(f.officer_id)
            if f.event_id not in case.source_event_ids:
                case.source_event_ids.append(f.event_id)
        save_case(session, case, key, new=True)
        _emit_opened(session, case)
        opened.append(case.case_id)
    return opened


def _join_case(session: Session, row: CaseRow, facts: list[Fact]) -> None:
    """Later events of a case and kind join its clue while it is open (not after it was closed)."""
    if row.stage == "closed":
        return
    case = case_from_dict(json.loads(row.data))
    changed = False
    for f in facts:
        if f.event_id not in case.source_event_ids:
            case.source_event_ids.append(f.event_id)
            changed = True
        if f.officer_id and f.officer_id not in case.officer_ids:
            case.officer_ids.append(f.officer_id)
            changed = True
    if changed:
        save_case(session, case)


def settle_record_gaps(session: Session, today: dt.date, grace_working_days: int | None = None) -> dict:
    """The periodic job's due process for record gaps (EVAL-6, issue 16), by the suite's clock:
    a gap still open past the grace period (working days after the report that found it) becomes
    ``record_gap`` / ``av_missing`` facts and one clue per case and kind; a clue whose gap has closed
    before a supervisor accepted it is withdrawn (撤回线索, history kept) and its facts dropped."""
    grace = gap_grace_working_days() if grace_working_days is None else grace_working_days
    calendar = default_calendar()
    opened, withdrawn = [], []
    for case_id, rows in gap_reports(session).items():
        if not tiers.judged_here(rows[0].region_code):
            continue
        reports = [d.GapReport(r.event_id, case_id, _aware(r.occurred_at), frozenset(json.loads(r.open_kinds)))
                   for r in rows]
        for kind in d.GAP_KINDS:
            status = d.gap_status(reports, kind, calendar, grace, today)
            key = f"fact:{kind}:{case_id}"
            clue = session.execute(select(CaseRow).where(CaseRow.origin_key == key)).scalar()
            if status.final and clue is None:
                since = next(r for r in rows if r.event_id == status.since.event_id)
                opened.append(_open_gap_clue(session, since, kind, key, status))
            elif not status.open and clue is not None and clue.stage == d.Stage.CLUE.value:
                case = case_from_dict(json.loads(clue.data))
                case.withdraw("system", now(), "记录已补齐，缺失情形在立案前已消除，线索撤回")
                save_case(session, case)
                for fact in session.execute(select(Fact).where(
                        Fact.ref == case_id, Fact.kind.in_((kind, "av_required") if kind == "av_missing" else (kind,)),
                        Fact.event_type == "record.gaps_found")).scalars():
                    session.delete(fact)
                withdrawn.append(case.case_id)
    session.flush()
    return {"opened": opened, "withdrawn": withdrawn}


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)   # SQLite keeps no zone: stored in UTC


def _open_gap_clue(session: Session, report, kind: str, key: str, status) -> str:
    officers = Registry(session).officers_of_case(report.case_id)
    day = _aware(report.occurred_at).astimezone(CHINA).date()
    attrs = json.loads(report.gaps or "{}").get(kind) or {}
    new = [NewFact(kind, day, officer_id=o, ref=report.case_id, attrs=attrs) for o in officers] \
        or [NewFact(kind, day, ref=report.case_id, attrs=attrs)]
    if kind == "av_missing":
        new.append(NewFact("av_required", day, ref=report.case_id, unique=True))
    event = Event(event_id=report.event_id, event_type="record.gaps_found", schema_version="1.0",
                  occurred_at=_aware(report.occurred_at), source_system="records", region_code=report.region_code,
                  body_id=report.body_id, case_id=report.case_id, payload={})
    facts = insert_facts(session, event, new)
    at = now()
    description = (f"{d.accountability.CLUE_SOURCE_NAMES_ZH[d.accountability.FACT_KIND_TO_SOURCE[kind]]}："
                   f"案件{report.case_id}于{day.isoformat()}发现{attrs.get('description') or '记录缺失'}，"
                   f"宽限期（至{status.final_after.isoformat()}）届满仍未补齐")
    case = d.open_case_from_fact(to_domain(facts[0]), new_id("ZR", at.date()), at, description=description)
    for f in facts[1:]:
        if f.officer_id and f.officer_id not in case.officer_ids:
            case.officer_ids.append(f.officer_id)
    save_case(session, case, key, new=True)
    _emit_opened(session, case)
    return case.case_id


def entered_by(info, evaluator: str | None, kind: str) -> str | None:
    """Which evaluator of a dual-managed body (EVAL-1) a special check / case-file review belongs to:
    ``superior_department`` or ``government`` (None: counts for every evaluator)."""
    if not evaluator:
        return None
    if kind not in d.evaluators.ENTERED_KINDS or info.info is None:
        raise WorkflowError(422, "invalid", "只有执法主体的专项检查、案卷评查得分可注明考核机关")
    from services.evaluation.engine import evaluator_rules

    for ev in d.evaluators.scoring_evaluators(d.evaluators_for(info.info, evaluator_rules())):
        if ev.kind.value == evaluator:
            return d.evaluators.evaluator_key(ev)
    raise WorkflowError(422, "invalid", f"{info.name}的考核机关中没有 {evaluator}（仅双重管理的执法主体由两个机关分别考核）")


def gap_grace_working_days() -> int:
    """ZHIFA_EVALUATION_GAP_GRACE_WORKING_DAYS (default 5): working days a missing record may still be
    in flight after its step was due before the gap becomes an accountability clue (EVAL-6)."""
    return int(settings.get("ZHIFA_EVALUATION_GAP_GRACE_WORKING_DAYS"))


def open_cases_from_clues(session: Session, clues: list[d.Clue]) -> list[str]:
    opened = []
    for clue in clues:
        key = f"clue:{clue.key}"
        if session.execute(select(CaseRow.case_id).where(CaseRow.origin_key == key)).first():
            continue
        at = now()
        case = d.open_case_from_clue(clue, new_id("ZR", at.date()), at)
        save_case(session, case, key, new=True)
        _emit_opened(session, case)
        opened.append(case.case_id)
    return opened


def case_json(row: CaseRow, full: bool = True) -> dict:
    data = json.loads(row.data)
    data["source_name"] = d.accountability.CLUE_SOURCE_NAMES_ZH[d.ClueSource(row.source)]
    data["stage_name"] = d.Stage(row.stage).zh
    if not full:
        return {k: data[k] for k in ("case_id", "body_id", "region_code", "source", "source_name", "description",
                                     "officer_ids", "stage", "stage_name", "outcome", "opened_at")}
    return data


def get_case(session: Session, scope: Scope, case_id: str) -> CaseRow:
    """An accountability case the caller's scope covers: its region AND its body (SEC-2)."""
    row = session.get(CaseRow, case_id)
    if row is None or not scope.covers(row.region_code, row.body_id):
        raise WorkflowError(404, "not_found", f"责任追究案件 {case_id} 不存在或不在您的管辖范围内")
    return row


def open_case_by_hand(session: Session, scope: Scope, actor: str, data: dict) -> dict:
    body = session.get(BodyEntry, data["body_id"])
    region = body.region_code if body else data.get("region_code")
    if not region:
        raise WorkflowError(422, "invalid", "未登记的执法主体须注明行政区划代码 region_code")
    if not scope.covers(region, data["body_id"]):
        raise WorkflowError(403, "out_of_scope", f"执法主体所在区域 {region} 不在您的管辖范围内")
    at = now()
    try:
        case = d.open_case(new_id("ZR", at.date()), body_id=data["body_id"], region_code=region,
                           source=d.ClueSource(data.get("source") or "other"), description=data["description"],
                           opened_by=actor, opened_at=at, officer_ids=data.get("officer_ids") or [],
                           source_event_ids=data.get("source_event_ids") or [])
    except d.AccountabilityError as exc:
        raise WorkflowError(422, "invalid", str(exc)) from None
    row = save_case(session, case, None, new=True)
    _emit_opened(session, case)
    return case_json(row)


CASE_ACTIONS = ("accept", "dismiss", "add_officer", "add_link", "close_no_violation", "propose",
                "submit_internal_review", "internal_review", "legal_review", "record_statement", "exempt",
                "decide", "close")


def case_action(session: Session, scope: Scope, case_id: str, actor: str, action: str, data: dict) -> dict:
    """Drive a case one step (the domain checks the stage and the rules; Chinese errors → 409)."""
    row = get_case(session, scope, case_id)
    case = case_from_dict(json.loads(row.data))
    at = now()
    note = data.get("note") or ""
    try:
        if action == "accept":
            case.accept(actor, at, note)
        elif action == "dismiss":
            case.dismiss(actor, at, data.get("reason") or "")
        elif action == "add_officer":
            case.add_officer(_required(data, "officer_id"))
        elif action == "add_link":
            case.add_link(d.Stage(_required(data, "stage")), _required(data, "person_id"), data.get("role") or "",
                          data.get("act") or "", actor, at)
        elif action == "close_no_violation":
            case.close_no_violation(actor, at, data.get("reason") or "")
        elif action == "propose":
            case.propose(actor, at, data.get("findings") or "", [sanction_from(s) for s in data.get("sanctions") or []])
        elif action == "submit_internal_review":
            case.submit_internal_review(actor, at)
        elif action == "internal_review":
            case.internal_review(actor, at, bool(data.get("approved")), data.get("opinion") or "")
        elif action == "legal_review":
            case.legal_review(actor, at, bool(data.get("approved")), data.get("opinion") or "")
        elif action == "record_statement":
            case.record_statement(_required(data, "officer_id"), data.get("content") or "", actor, at,
                                  bool(data.get("waived")))
        elif action == "exempt":
            grounds = []
            for g in data.get("grounds") or []:
                try:
                    grounds.append(d.ExemptionGround[g])
                except KeyError:
                    grounds.append(d.ExemptionGround(g))
            case.exempt(actor, at, grounds, data.get("explanation") or "")
        elif action == "decide":
            case.decide(actor, at, [sanction_from(s) for s in data.get("sanctions") or []], data.get("reason") or "")
        elif action == "close":
            case.close(actor, at, note)
        else:
            raise WorkflowError(422, "invalid", f"未知的操作 {action}（可用：{'、'.join(CASE_ACTIONS)}）")
    except (KeyError, ValueError) as exc:
        if isinstance(exc, d.AccountabilityError):
            raise WorkflowError(409, "invalid_transition", str(exc)) from None
        raise WorkflowError(422, "invalid", f"请求内容有误：{exc}") from None
    save_case(session, case)
    if action in ("decide", "exempt", "dismiss", "close_no_violation"):
        emit(session, "evaluation.accountability_decided", {
            "accountability_case_id": case.case_id, "outcome": case.outcome.value if case.outcome else "",
            "sanctions": [{"target_kind": s.target_kind.value, "target_id": s.target_id, "kind": s.kind.value}
                          for s in case.sanctions],
            "transfer_to_discipline": bool(case.transfers_to_discipline)},
            region_code=case.region_code, body_id=case.body_id)
    return case_json(row)


def _required(data: dict, key: str):
    if not data.get(key):
        raise WorkflowError(422, "invalid", f"缺少 {key}")
    return data[key]


# --- supervision items (COORD-4) ---------------------------------------------------------------

def save_item(session: Session, item: d.SupervisionItem, new: bool = False) -> SupervisionRow:
    row = None if new else session.get(SupervisionRow, item.item_id)
    row = row or SupervisionRow(item_id=item.item_id)
    row.kind, row.issuer_region, row.target_body_id = item.kind.value, item.issuer_region, item.target_body_id
    row.target_region, row.status, row.issued_on, row.due_on = item.target_region, item.status.value, item.issued_on, item.due
    row.data = jdump(item_to_dict(item))
    session.add(row)
    return row


def emit_item_issued(session: Session, item: d.SupervisionItem) -> None:
    emit(session, "evaluation.supervision_issued", {
        "item_id": item.item_id, "kind": item.kind.value, "issuer_region": item.issuer_region, "subject": item.subject,
        "due_on": item.due, "due_provisional": item.deadline.provisional},
        region_code=item.target_region, body_id=item.target_body_id)


def item_json(row: SupervisionRow, today: dt.date) -> dict:
    item = item_from_dict(json.loads(row.data))
    out = item_to_dict(item)
    rules = supervision_rules()
    out["flag"] = item.flag(today, default_calendar(), rules.yellow_within).value
    out["overdue"] = item.is_overdue(today)
    out["due_on"] = item.due.isoformat()
    return out


def issue_item(session: Session, scope: Scope, actor: str, data: dict, today: dt.date) -> dict:
    """A supervising office issues an item (COORD-4): its scope has every body of its region (SEC-2)."""
    body = session.get(BodyEntry, data["target_body_id"])
    target_region = body.region_code if body else data.get("target_region")
    if not target_region:
        raise WorkflowError(422, "invalid", "未登记的执法主体须注明所在行政区划 target_region")
    issuer_region = data.get("issuer_region") or scope.region_code
    if not (scope.all_bodies and scope.covers_region(issuer_region)):
        raise WorkflowError(403, "out_of_scope", f"不能以 {issuer_region} 的名义下发监督事项")
    rules = supervision_rules()
    try:
        item = d.issue_supervision_item(new_id("JD", today), data["kind"], issuer_region=issuer_region,
                                        issuer_id=actor, target_body_id=data["target_body_id"],
                                        target_region=target_region, subject=data.get("subject") or "",
                                        issued_on=today, calendar=default_calendar(),
                                        working_days=data.get("working_days"), rules=rules,
                                        case_id=data.get("case_id"))
    except d.OutOfScopeError as exc:
        raise WorkflowError(403, "out_of_scope", str(exc)) from None
    except (d.AccountabilityError, ValueError) as exc:
        raise WorkflowError(422, "invalid", str(exc)) from None
    row = save_item(session, item, new=True)
    emit_item_issued(session, item)
    return item_json(row, today)


def item_action(session: Session, identity: dict, item_id: str, action: str, data: dict, today: dt.date) -> dict:
    """respond (the target body), accept / reject (the issuer). ``identity``: subject, role and scope."""
    row = session.get(SupervisionRow, item_id)
    scope, role = Scope.of(identity.get("scope")), identity.get("role")
    visible = row is not None and (scope.covers(row.target_region, row.target_body_id) or
                                   (scope.all_bodies and scope.covers_region(row.issuer_region)))
    if not visible:
        raise WorkflowError(404, "not_found", f"监督事项 {item_id} 不存在或不在您的管辖范围内")
    item = item_from_dict(json.loads(row.data))
    actor = identity.get("subject") or "unknown"
    try:
        if action == "respond":
            if not scope.covers(item.target_region, item.target_body_id):
                raise WorkflowError(403, "forbidden", "只有被监督的执法主体可以回复")
            item.respond(actor, today, data.get("content") or "")
        elif action in ("accept", "reject"):
            if role not in ("supervisor", "admin") or not (scope.all_bodies and scope.covers_region(item.issuer_region)):
                raise WorkflowError(403, "forbidden", "只有下发监督事项的监督机关可以办结或退回")
            if action == "accept":
                item.accept(actor, today, data.get("note") or "")
            else:
                item.reject(actor, today, data.get("reason") or "", default_calendar(), data.get("extend_working_days"))
        else:
            raise WorkflowError(422, "invalid", f"未知的操作 {action}（respond / accept / reject）")
    except d.AccountabilityError as exc:
        raise WorkflowError(409, "invalid_transition", str(exc)) from None
    save_item(session, item)
    if item.status is d.ItemStatus.CLOSED:
        emit(session, "evaluation.supervision_closed", {"item_id": item.item_id, "kind": item.kind.value,
                                                        "due_on": item.due, "on": today},
             region_code=item.target_region, body_id=item.target_body_id)
        for c in session.execute(select(ConsequenceRow).where(ConsequenceRow.item_id == item.item_id)).scalars():
            c.status, c.resolution, c.resolved_by, c.resolved_on = "done", "整改完成，监督机关已审查办结", actor, today
    return item_json(row, today)


def flag_overdue_items(session: Session, today: dt.date, region_code: str | None = None) -> list[str]:
    """Emit ``evaluation.supervision_overdue`` once for each open item past its deadline (EVAL-9)."""
    out = []
    rows = session.execute(select(SupervisionRow).where(SupervisionRow.status == "open",
                                                        SupervisionRow.due_on < today,
                                                        SupervisionRow.overdue_noted_on.is_(None),
                                                        in_region(SupervisionRow.target_region, region_code))
                           ).scalars()
    for row in rows:
        row.overdue_noted_on = today
        emit(session, "evaluation.supervision_overdue", {"item_id": row.item_id, "kind": row.kind,
                                                         "due_on": row.due_on, "on": today},
             region_code=row.target_region, body_id=row.target_body_id)
        out.append(row.item_id)
    return out


def list_items(session: Session, scope: Scope, today: dt.date, status: str | None = None,
               overdue: bool = False) -> list[dict]:
    """Items issued to the bodies in scope, and (with every body of a region) issued by that region."""
    issued_here = scope.region_clause(SupervisionRow.issuer_region) if scope.all_bodies else false()
    q = select(SupervisionRow).where(
        and_(scope.region_clause(SupervisionRow.target_region), scope.body_clause(SupervisionRow.target_body_id))
        | issued_here)
    if status:
        q = q.where(SupervisionRow.status == status)
    if overdue:
        q = q.where(SupervisionRow.status == "open", SupervisionRow.due_on < today)
    return [item_json(r, today) for r in session.execute(q.order_by(SupervisionRow.due_on)).scalars()]
