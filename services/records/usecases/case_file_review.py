"""案卷评查 (REC-7): a supervisor draws the year's sample of archived case files of every body of the
region (seeded like the 双随机 draw, reproducible), assigns each file to a reviewer who does not work
for the file's body, the reviewer fills in the score sheet of config/records/case_file_review.yaml, and
the result — score and the items with deductions, with reasons — goes to evaluation as
``record.case_file_reviewed`` (its 案卷评查 indicator). The weak-link statistics count the failed items
by body and action type for the dashboard.

One RPC (``RecordsService.case_file_review``) dispatches ``action`` to the functions below; each answers
a dict or ``{"error": …}``. Scope (SEC-2): draws and assignments need every body of the region
(supervisor); a reviewer reads and scores only the files assigned to them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from services.common import clock
from services.common.db import emit
from services.common.scope import Scope
from services.records.domain import casefile_review as rules
from services.records.domain.casefile_review import ReviewError
from services.records.models import Case, CaseFileDraw, CaseFileReview

from .access import error

CHINA = clock.CHINA


def _rules() -> rules.ReviewRules:
    return rules.load_review_rules()


def _population(session, region_code: str, year: int) -> tuple[dict[str, list[str]], dict[str, Case]]:
    """Archived case files of the year (China time) in the region: body → case ids."""
    start = dt.datetime(year, 1, 1, tzinfo=CHINA)
    end = dt.datetime(year + 1, 1, 1, tzinfo=CHINA)
    cases = session.scalars(Scope(region_code, None).where(
        select(Case).where(Case.archived_at.is_not(None), Case.archived_at >= start, Case.archived_at < end),
        Case.region_code, Case.body_id)).all()
    population: dict[str, list[str]] = {}
    for c in cases:
        population.setdefault(c.body_id, []).append(c.case_id)
    return population, {c.case_id: c for c in cases}


def _review_view(r: CaseFileReview) -> dict:
    return {"review_id": r.review_id, "draw_id": r.draw_id, "year": r.year, "region_code": r.region_code,
            "body_id": r.body_id, "case_id": r.case_id, "action_type": r.action_type, "position": r.position,
            "status": r.status, "reviewer": r.reviewer, "reviewer_body_id": r.reviewer_body_id,
            "score": r.score, "passed": r.passed, "items": r.items, "failed_items": r.failed_items,
            "scored_at": r.scored_at.isoformat() if r.scored_at else None}


def _draw_view(d: CaseFileDraw, reviews: list[CaseFileReview]) -> dict:
    recomputed = rules.draw_sample(d.draw_id, d.public_value, d.population, d.per_body)
    selected: dict[str, list[str]] = {}
    for r in sorted(reviews, key=lambda r: (r.body_id, r.position)):
        selected.setdefault(r.body_id, []).append(r.case_id)
    return {"draw_id": d.draw_id, "region_code": d.region_code, "year": d.year, "public_value": d.public_value,
            "algorithm": recomputed.algorithm, "seed_input": recomputed.seed_input, "seed_hex": d.seed_hex,
            "per_body": d.per_body, "population": d.population, "population_digest": d.population_digest,
            "selected": selected, "verified": recomputed.selected == selected
            and recomputed.population_digest == d.population_digest,
            "drawn_by": d.drawn_by, "drawn_at": d.drawn_at.isoformat(),
            "reviews": [_review_view(r) for r in sorted(reviews, key=lambda r: (r.body_id, r.position))]}


def _region(scope: Scope, data: dict) -> str:
    region = data.get("region_code") or scope.region_code
    if not scope.covers_region(region):
        raise ReviewError(403, "forbidden", "无权对该区划的案卷组织评查")
    return region


def draw(session, scope: Scope, actor: str, data: dict) -> dict:
    if not scope.all_bodies:
        raise ReviewError(403, "forbidden", "组织案卷评查抽样须有本区划全部执法主体的监督权限")
    region, year = _region(scope, data), int(data["year"])
    if year > clock.today().year:
        raise ReviewError(422, "invalid", f"{year}年度尚未开始，不能抽取案卷")
    draw_id = rules.draw_id_of(region, year)
    if session.get(CaseFileDraw, draw_id) is not None:
        raise ReviewError(409, "already_drawn", f"{region} {year}年度案卷评查已抽样（{draw_id}），不得重抽")
    config = _rules()
    population, cases = _population(session, region, year)
    if not population:
        raise ReviewError(422, "empty", f"{year}年度本区划没有已归档的案卷")
    sample = rules.draw_sample(draw_id, data["public_value"], population, config.per_body)
    row = CaseFileDraw(draw_id=draw_id, region_code=region, year=year, public_value=data["public_value"].strip(),
                       seed_hex=sample.seed_hex, per_body=config.per_body,
                       population=rules.canonical_population(population),
                       population_digest=sample.population_digest, drawn_by=actor, drawn_at=clock.now())
    session.add(row)
    reviews = []
    for body_id, case_ids in sample.selected.items():
        for position, case_id in enumerate(case_ids):
            case = cases[case_id]
            reviews.append(CaseFileReview(
                review_id=f"{draw_id}:{case_id}", draw_id=draw_id, year=year, region_code=case.region_code,
                body_id=body_id, case_id=case_id, action_type=case.action_type, position=position, status="drawn"))
    session.add_all(reviews)
    session.flush()
    return _draw_view(row, reviews)


def get_draw(session, scope: Scope, actor: str, data: dict) -> dict:
    region = _region(scope, data)
    row = session.get(CaseFileDraw, rules.draw_id_of(region, int(data["year"])))
    if row is None:
        raise ReviewError(404, "not_found", "该年度尚未抽取案卷")
    reviews = session.scalars(select(CaseFileReview).where(CaseFileReview.draw_id == row.draw_id)).all()
    view = _draw_view(row, list(reviews))
    view["reviews"] = [r for r in view["reviews"] if scope.covers(r["region_code"], r["body_id"])]
    return view


def _review(session, review_id: str) -> CaseFileReview:
    row = session.get(CaseFileReview, review_id, with_for_update=True)
    if row is None:
        raise ReviewError(404, "not_found", f"评查案卷 {review_id} 不存在")
    return row


def assign(session, scope: Scope, actor: str, data: dict) -> dict:
    row = _review(session, data["review_id"])
    if not (scope.all_bodies and scope.covers(row.region_code, row.body_id)):
        raise ReviewError(404, "not_found", f"评查案卷 {data['review_id']} 不存在")
    if row.status == "scored":
        raise ReviewError(409, "already_scored", "该案卷已评查完毕，不能改派")
    rules.check_reviewer(row.body_id, data.get("reviewer_body_id"))
    row.reviewer, row.reviewer_body_id, row.assigned_by = data["reviewer"], data["reviewer_body_id"], actor
    row.status = "assigned"
    return _review_view(row)


def assigned_to_me(session, scope: Scope, actor: str, data: dict) -> dict:
    rows = session.scalars(select(CaseFileReview).where(CaseFileReview.reviewer == actor)
                           .order_by(CaseFileReview.review_id)).all()
    config = _rules()
    return {"reviews": [{**_review_view(r), "sheet": [{"code": c.code, "name": c.name, "points": c.points}
                                                      for c in config.sheet(r.action_type)]} for r in rows]}


def score(session, scope: Scope, actor: str, data: dict) -> dict:
    row = _review(session, data["review_id"])
    if row.reviewer != actor:           # only the assigned reviewer; others do not learn it exists
        raise ReviewError(404, "not_found", f"评查案卷 {data['review_id']} 未分派给您")
    if scope.bodies is not None and row.body_id in scope.bodies:
        raise ReviewError(409, "own_body", "评查人员不得评查本单位的案卷（应当回避）")
    if row.status == "scored":
        raise ReviewError(409, "already_scored", "该案卷已评查完毕")
    result = rules.score_sheet(_rules(), row.action_type, data.get("items") or {})
    today = clock.today()
    row.score, row.passed, row.items, row.failed_items = str(result.score), result.passed, result.items, \
        result.failed_items
    row.status, row.scored_at = "scored", clock.now()
    row.event_id = emit(session, "record.case_file_reviewed", {
        "review_id": row.review_id, "draw_id": row.draw_id, "case_id": row.case_id, "year": row.year,
        "action_type": row.action_type, "score": result.score, "passed": result.passed, "items": result.items,
        "failed_items": result.failed_items, "reviewer": actor, "reviewer_body_id": row.reviewer_body_id,
        "reviewed_on": today}, region_code=row.region_code, body_id=row.body_id)
    return _review_view(row)


def weak_links(session, scope: Scope, actor: str, data: dict) -> dict:
    region = _region(scope, data)
    year = int(data["year"])
    rows = session.scalars(scope.where(select(CaseFileReview).where(
        CaseFileReview.year == year, CaseFileReview.status == "scored",
        Scope(region, None).region_clause(CaseFileReview.region_code)),
        CaseFileReview.region_code, CaseFileReview.body_id)).all()
    stats = rules.weak_links(_rules(), ((r.body_id, r.action_type, [i["code"] for i in r.items or ()],
                                         r.failed_items or []) for r in rows))
    scores = [float(r.score) for r in rows]
    return {"region_code": region, "year": year, **stats,
            "average_score": round(sum(scores) / len(scores), 2) if scores else None,
            "failed_files": sum(1 for r in rows if r.passed is False)}


ACTIONS = {"draw": draw, "get_draw": get_draw, "assign": assign, "assigned_to_me": assigned_to_me,
           "score": score, "weak_links": weak_links}


def run(db, action: str, scope, actor: str, data: dict) -> dict:
    """One step of the case-file review in one transaction (the emitted result with it)."""
    fn = ACTIONS.get(action)
    if fn is None:
        return error(422, "invalid", f"未知的评查操作 {action}")
    scope = Scope.of(scope)
    if scope.empty:
        return error(403, "forbidden", "无权访问案卷评查")
    try:
        with db.session() as session:
            return fn(session, scope, actor, dict(data or {}))
    except ReviewError as exc:
        return error(exc.status, exc.code, exc.message)
    except (KeyError, ValueError) as exc:
        return error(422, "invalid", f"请求有误：{exc}")
