"""Scoring, grading and finalising from stored facts (EVAL-1 … EVAL-5, EVAL-7, EVAL-8).

The service calls these with a database session; the rules themselves are the pure domain
(``services/evaluation/domain``). Everything is computed from facts, so every score stays
traceable to its events (``IndicatorScore.evidence``).
"""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import tiers
from services.common.identifiers import Tier, parent_region, region_covers, region_tier
from services.evaluation import configuration
from services.evaluation import domain as d
from services.evaluation.models import (
    BodyEntry,
    CaseRow,
    ConsequenceRow,
    Fact,
    GradeRow,
    OfficerEntry,
    PowerEntry,
)
from services.evaluation.store import domain_facts, in_region, jdump

TIER_NAMES = {Tier.PROVINCE: "省级", Tier.CITY: "市级", Tier.COUNTY: "县级", Tier.TOWNSHIP: "乡镇（街道）"}


@lru_cache(maxsize=1)
def indicator_config() -> d.IndicatorConfig:
    return configuration.load_indicator_config()


@lru_cache(maxsize=1)
def evaluator_rules():
    return configuration.load_evaluator_rules()


@lru_cache(maxsize=1)
def supervision_rules():
    return configuration.load_supervision_rules()


@lru_cache(maxsize=1)
def detection_rules():
    return configuration.load_rules()


@dataclass
class SubjectInfo:
    kind: str                  # body | officer
    subject_id: str
    body_id: str
    region_code: str
    name: str
    tier: Tier
    info: d.BodyInfo | None = None


@dataclass
class Result:
    subject: SubjectInfo
    score: d.SubjectScore
    grade: d.GradeResult
    evaluators: list = field(default_factory=list)

    def as_json(self, evidence: bool = False) -> dict:
        s, g = self.score, self.grade
        return {
            "subject_kind": self.subject.kind, "subject_id": self.subject.subject_id, "name": self.subject.name,
            "body_id": self.subject.body_id, "region_code": self.subject.region_code, "tier": self.subject.tier.value,
            "year": s.year, "as_of": s.as_of.isoformat() if s.as_of else None, "final": s.final,
            "set_name": s.set_name, "total": str(s.total), "applicable_weight": str(s.applicable_weight),
            "by_total": g.by_total_label, "grade": g.label, "reasons": list(g.reasons),
            "insufficient": g.insufficient, "evidence_count": g.evidence_count,
            "vetoes": [{"code": v.code, "name": v.name, "effect": v.effect.value, "max_grade": v.max_grade.value,
                        "count": v.count, "evidence": list(v.evidence)} for v in g.vetoes],
            "caps": [{"max_grade": c.max_grade.value, "reason": c.reason} for c in g.caps],
            "indicators": [indicator_json(i, evidence) for i in s.indicators],
            "evaluators": self.evaluators,
        }


def indicator_json(i: d.IndicatorScore, evidence: bool = False) -> dict:
    out = {"code": i.code, "name": i.name, "method": i.method, "value": None if i.value is None else str(i.value),
           "score": None if i.score is None else str(i.score), "weight": str(i.weight), "weighted": str(i.weighted),
           "applicable": i.applicable, "met_target": i.met_target, "detail": i.detail,
           "evidence_count": len(i.evidence)}
    if evidence:
        out["evidence"] = list(i.evidence)
    return out


# --- subjects ----------------------------------------------------------------------------------

def _safe_tier(code: str) -> Tier:
    try:
        return region_tier(code)
    except ValueError:
        return Tier.COUNTY


def subjects(session: Session, region_code: str | None, facts: list[d.Fact], year: int | None = None) -> tuple[dict, dict]:
    """Bodies (registered in the region by the end of ``year``, or with facts there) and their officers
    (registered with the officer role by then, or with facts), each with name, region and tier."""
    bodies: dict[str, SubjectInfo] = {}
    end = dt.date(year, 12, 31) if year else dt.date.max
    for b in session.execute(select(BodyEntry).where(in_region(BodyEntry.region_code, region_code),
                                                     BodyEntry.registered_on <= end)).scalars():
        info = d.BodyInfo(b.body_id, b.region_code, d.Management(b.management), b.kind, b.superior_body_id,
                          b.entrusting_body_id)
        bodies[b.body_id] = SubjectInfo("body", b.body_id, b.body_id, b.region_code, b.name,
                                        _safe_tier(b.region_code), info)
    for f in facts:
        if f.body_id not in bodies:
            bodies[f.body_id] = SubjectInfo("body", f.body_id, f.body_id, f.region_code, f.body_id,
                                            _safe_tier(f.region_code), d.BodyInfo(f.body_id, f.region_code))
    officers: dict[str, SubjectInfo] = {}
    for o in session.execute(select(OfficerEntry).where(OfficerEntry.body_id.in_(list(bodies)),
                                                        OfficerEntry.registered_on <= end)).scalars():
        if "officer" in o.roles.split(","):
            body = bodies[o.body_id]
            officers[o.officer_id] = SubjectInfo("officer", o.officer_id, o.body_id, body.region_code, o.name, body.tier)
    for f in facts:
        if f.officer_id and f.officer_id not in officers and f.body_id in bodies:
            body = bodies[f.body_id]
            officers[f.officer_id] = SubjectInfo("officer", f.officer_id, f.body_id, body.region_code, f.officer_id,
                                                 body.tier)
    return bodies, officers


def evaluators_of(subject: SubjectInfo) -> list[dict]:
    """Who evaluates the subject (EVAL-1), as data."""
    if subject.kind == "officer":
        evs = d.evaluators_for_officer(subject.body_id)
    else:
        try:
            evs = d.evaluators_for(subject.info, evaluator_rules())
        except ValueError as exc:
            return [{"error": str(exc)}]
    return [{"kind": e.kind.value, "ref": e.ref, "weight": str(e.weight), "role": e.role.value} for e in evs]


def may_finalise(session: Session, scope: str, subject: SubjectInfo) -> bool:
    """The caller (a supervisor of ``scope``) acts for a primary evaluator of the body (EVAL-1):
    the government of a region its scope covers, or a superior / entrusting body in its scope."""
    for ev in evaluators_of(subject):
        if ev.get("role") != "primary" or ev.get("weight") == "0":
            continue
        if ev["kind"] == "government":
            region = ev["ref"]
        else:
            ref = session.get(BodyEntry, ev["ref"])
            region = ref.region_code if ref else subject.region_code
        if region_covers(scope, region):
            return True
    return False


# --- accountability: what counts against an officer (EVAL-6) ----------------------------------

def accepted_violations(session: Session) -> set[tuple[str, str]]:
    """(fact kind, event id) of the violations whose clue a supervisor accepted (立案) and that were
    not found groundless or exempted: only those count against an officer (issue 16, EVAL-6)."""
    out: set[tuple[str, str]] = set()
    rows = session.execute(select(CaseRow.data).where(CaseRow.stage != "clue")).scalars()
    for raw in rows:
        data = json.loads(raw)
        if not d.accountability.counts_against(data.get("stage"), data.get("outcome")):
            continue
        kind = d.accountability.SOURCE_TO_FACT_KIND.get(data.get("source"))
        for event_id in data.get("source_event_ids") or ():
            out.add((kind, event_id))
    return out


# --- caps and previous grades ------------------------------------------------------------------

def caps_in_force(session: Session, year: int) -> dict[tuple[str, str], list[d.GradeCap]]:
    caps: dict = defaultdict(list)
    rows = session.execute(select(ConsequenceRow).where(ConsequenceRow.year == year,
                                                        ConsequenceRow.kind == "grade_cap")).scalars()
    for r in rows:
        caps[(r.subject_kind, r.subject_id)].append(
            d.GradeCap(d.SubjectKind(r.subject_kind), r.subject_id, r.year, d.Grade(r.max_grade), r.title))
    return caps


def final_grade(session: Session, subject_kind: str, subject_id: str, year: int) -> GradeRow | None:
    return session.execute(select(GradeRow).where(
        GradeRow.subject_kind == subject_kind, GradeRow.subject_id == subject_id, GradeRow.year == year,
        GradeRow.stage == "final")).scalar()


# --- evaluation --------------------------------------------------------------------------------

def evaluate(session: Session, region_code: str | None, year: int, as_of: dt.date | None = None,
             facts: list[d.Fact] | None = None, with_officers: bool = True, grade: bool = True) -> list[Result]:
    """Score and grade every body (and officer) of a region for a year — year to date ``as_of`` or final."""
    facts = domain_facts(session, region_code, year) if facts is None else facts
    bodies, officers = subjects(session, region_code, facts, year)
    # a province judges only what it judges itself: its cities' suites judge their own bodies and send
    # their final grades up (issue 23; services/common/tiers.py)
    bodies = {k: v for k, v in bodies.items() if tiers.judged_here(v.region_code)}
    officers = {k: v for k, v in officers.items() if tiers.judged_here(v.region_code)}
    by_body, by_officer = defaultdict(list), defaultdict(list)
    accepted = accepted_violations(session)
    for f in facts:
        by_body[f.body_id].append(f)
        if f.officer_id and d.counts_against_officer(f, accepted):
            by_officer[f.officer_id].append(f)
    caps = caps_in_force(session, year) if grade else {}
    config = indicator_config()
    out = []
    for body_id, info in sorted(bodies.items()):
        score, evaluators = score_body_by_evaluators(info, by_body[body_id], config, year, as_of)
        result = d.assign_grade(score, by_body[body_id], caps=caps.get(("body", body_id), ())) if grade else None
        out.append(Result(info, score, result, evaluators if grade else []))
    if with_officers:
        for officer_id, info in sorted(officers.items()):
            score = d.score_officer(by_officer[officer_id], config, year, officer_id, as_of, tier=info.tier)
            result = d.assign_grade(score, by_officer[officer_id], caps=caps.get(("officer", officer_id), ())) \
                if grade else None
            out.append(Result(info, score, result, evaluators_of(info) if grade else []))
    return out


def as_of_for(year: int, today: dt.date) -> dt.date | None:
    """Year to date for the running year; the final score (None) for a past year; a future year is
    refused (``d.FutureYearError``, issue 16: nothing happened in it, so nothing can be graded)."""
    d.check_year(year, today)
    return today if year == today.year else None


def persist_grade(session: Session, result: Result, stage: str, as_of: dt.date, decided_by: str | None = None) -> GradeRow:
    s, g = result.score, result.grade
    row = session.execute(select(GradeRow).where(
        GradeRow.subject_kind == result.subject.kind, GradeRow.subject_id == result.subject.subject_id,
        GradeRow.year == s.year, GradeRow.stage == stage, GradeRow.as_of == as_of)).scalar()
    row = row or GradeRow(subject_kind=result.subject.kind, subject_id=result.subject.subject_id, year=s.year,
                          stage=stage, as_of=as_of)
    row.body_id, row.region_code = result.subject.body_id, result.subject.region_code
    row.total, row.by_total, row.grade, row.set_name = str(s.total), g.by_total_label, g.label, s.set_name
    row.result, row.decided_by = jdump(result.as_json()), decided_by
    row.computed_at = dt.datetime.now(dt.timezone.utc)
    session.add(row)
    return row


def grade_json(row: GradeRow, names: dict | None = None) -> dict:
    data = json.loads(row.result)
    data.update({"stage": row.stage, "as_of": row.as_of.isoformat(), "total": row.total, "grade": row.grade,
                 "by_total": row.by_total, "decided_by": row.decided_by,
                 "computed_at": row.computed_at.isoformat() if row.computed_at else None})
    return data


# --- zero enforcement (EVAL-8) -----------------------------------------------------------------

def zero_enforcement_facts(session: Session, region_code: str | None, year: int) -> list[Fact]:
    """At the end of a year: a body with powers (权责清单) and no enforcement action that did not
    explain it gets a ``zero_enforcement_unexplained`` fact, traced to its latest power.published event."""
    added = []
    bodies = session.execute(select(PowerEntry.body_id).where(
        PowerEntry.published_on <= dt.date(year, 12, 31)).distinct()).scalars().all()
    for body_id in bodies:
        body = session.get(BodyEntry, body_id)
        if body is None or (region_code and not region_covers(region_code, body.region_code)):
            continue
        kinds = set(session.execute(select(Fact.kind).where(
            Fact.body_id == body_id, Fact.year == year,
            Fact.kind.in_(("enforcement_action", "zero_enforcement_explained", "zero_enforcement_unexplained"))))
            .scalars().all())
        if kinds:
            continue
        power = session.execute(select(PowerEntry).where(PowerEntry.body_id == body_id)
                                .order_by(PowerEntry.published_on.desc(), PowerEntry.id.desc()).limit(1)).scalar()
        row = Fact(event_id=power.event_id, event_type="power.published", kind="zero_enforcement_unexplained",
                   region_code=body.region_code, body_id=body_id, officer_id=None, year=year,
                   occurred_on=dt.date(year, 12, 31), value=1.0, seq=0, ref=f"zero:{year}",
                   attrs=jdump({"matter_code": power.matter_code}))
        session.add(row)
        added.append(row)
    session.flush()
    return added


# --- trends ------------------------------------------------------------------------------------

def month_ends(year: int, until: dt.date | None) -> list[dt.date]:
    out = []
    for m in range(1, 13):
        end = (dt.date(year, m + 1, 1) - dt.timedelta(days=1)) if m < 12 else dt.date(year, 12, 31)
        if until is not None and end > until:
            if until.month == m:
                out.append(until)
            break
        out.append(end)
    return out


def _avg(values) -> Decimal | None:
    values = [Decimal(v) for v in values if v is not None]
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def monthly_trend(session: Session, region_code: str, year: int, until: dt.date | None) -> dict:
    """Average body total and average score of each indicator at each month end (year to date)."""
    facts = domain_facts(session, region_code, year)
    active = d.months_with_facts((f.occurred_on for f in facts), year)
    points = []
    for day in month_ends(year, until):
        if day.month not in active:     # a month without facts has no point (issue 16), not last month's
            points.append({"as_of": day.isoformat(), "total": None, "indicators": {}})
            continue
        results = evaluate(session, region_code, year, day, facts=facts, with_officers=False, grade=False)
        per_ind = defaultdict(list)
        for r in results:
            for i in r.score.indicators:
                if i.applicable:
                    per_ind[i.code].append(i.score)
        points.append({"as_of": day.isoformat(), "total": _avg([r.score.total for r in results]),
                       "indicators": {code: _avg(v) for code, v in per_ind.items()}})
    return {"points": points}


def child_region(scope: str, code: str) -> str:
    """The region directly under ``scope`` that contains ``code`` (``scope`` itself for its own bodies)."""
    current = code
    while current and current != scope:
        parent = parent_region(current)
        if parent == scope or parent is None:
            return current if parent == scope else scope
        current = parent
    return scope


def subject_info(session: Session, subject_kind: str, subject_id: str, year: int) -> SubjectInfo | None:
    """Name, body, region and tier of one body or officer (registry first, else its facts)."""
    if subject_kind == "body":
        b = session.get(BodyEntry, subject_id)
        if b is not None:
            info = d.BodyInfo(b.body_id, b.region_code, d.Management(b.management), b.kind, b.superior_body_id,
                              b.entrusting_body_id)
            return SubjectInfo("body", b.body_id, b.body_id, b.region_code, b.name, _safe_tier(b.region_code), info)
        region = session.execute(select(Fact.region_code).where(Fact.body_id == subject_id).limit(1)).scalar()
        if region is None:
            return None
        return SubjectInfo("body", subject_id, subject_id, region, subject_id, _safe_tier(region),
                           d.BodyInfo(subject_id, region))
    o = session.get(OfficerEntry, subject_id)
    if o is not None:
        body = subject_info(session, "body", o.body_id, year)
        region = body.region_code if body else o.region_code
        return SubjectInfo("officer", o.officer_id, o.body_id, region, o.name, _safe_tier(region))
    row = session.execute(select(Fact.body_id, Fact.region_code).where(Fact.officer_id == subject_id)
                          .order_by(Fact.year.desc()).limit(1)).first()
    if row is None:
        return None
    body = subject_info(session, "body", row[0], year)
    region = body.region_code if body else row[1]
    return SubjectInfo("officer", subject_id, row[0], region, subject_id, _safe_tier(region))


def evaluate_subject(session: Session, info: SubjectInfo, year: int, as_of: dt.date | None) -> tuple[Result, list]:
    """Score and grade one subject; returns the result and the facts it was computed from."""
    facts = domain_facts(session, None, year, body_ids=[info.body_id])
    caps = caps_in_force(session, year).get((info.kind, info.subject_id), ())
    config = indicator_config()
    evaluators = None
    if info.kind == "body":
        own = [f for f in facts if f.body_id == info.body_id]
        score, evaluators = score_body_by_evaluators(info, own, config, year, as_of)
    else:
        accepted = accepted_violations(session)
        own = [f for f in facts if f.officer_id == info.subject_id and d.counts_against_officer(f, accepted)]
        score = d.score_officer(own, config, year, info.subject_id, as_of, tier=info.tier)
    return Result(info, score, d.assign_grade(score, own, caps=caps),
                  evaluators if evaluators is not None else evaluators_of(info)), own


def score_body_by_evaluators(info: SubjectInfo, facts: list, config, year: int, as_of) -> tuple[d.SubjectScore, list]:
    """A body's score (EVAL-1): a dual-managed body (双重管理) is scored by each of its evaluators —
    the superior department and the local government, each with the scores it entered itself — and
    the totals are combined with ``combine_scores`` as evaluators.yaml says; every other body by one.
    Returns the score (with the combined total) and the evaluators, each with its own total."""
    listed = evaluators_of(info)
    try:
        evs = d.evaluators_for(info.info, evaluator_rules()) if info.info else []
    except ValueError:
        evs = []
    scoring = d.evaluators.scoring_evaluators(evs)
    if len(scoring) < 2:
        return d.score_body(facts, config, year, as_of, body_id=info.subject_id, tier=info.tier), listed
    totals, parts = {}, {}
    for ev in scoring:
        part = d.score_body(d.evaluators.facts_for_evaluator(facts, ev), config, year, as_of,
                            body_id=info.subject_id, tier=info.tier)
        totals[(ev.kind, ev.ref)] = part.total
        parts[d.evaluators.evaluator_key(ev)] = part
    combined = d.combine_scores(evs, totals)
    base = d.score_body(facts, config, year, as_of, body_id=info.subject_id, tier=info.tier)
    for row in listed:
        part = parts.get(f"{row.get('kind')}:{row.get('ref')}")
        if part is not None:
            row["total"] = str(part.total)
    return replace(base, total=combined), listed
