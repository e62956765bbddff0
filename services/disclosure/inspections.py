""""双随机、一公开" random inspections (DISC-8): announce a draw (inputs committed by SM3 digest, seed
source named in advance), perform it once the public value is known, record outcomes, publish the
month's results — all verifiable by anyone with the domain's ``zhifa-draw-v1`` algorithm."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.identifiers import validate_resident_id
from services.common.workdays import WorkingDayCalendar
from services.disclosure.domain.model import PartyKind
from services.disclosure.domain.random_inspection import (Assignment, DrawAnnouncement, DrawError, DrawInputs,
                                                          DrawResult, InspectionResult, announce_draw,
                                                          load_inspection_rules, monthly_results_summary,
                                                          perform_draw, verify_draw)
from services.disclosure.domain.redaction import mask_name
from services.disclosure.models import InspectionDraw, InspectionOutcome, MonthlyInspectionSummary


def inputs_of(row: InspectionDraw) -> DrawInputs:
    i = row.inputs
    return DrawInputs(row.draw_id, row.matter, tuple(i["targets"]), tuple(i["inspectors"]), int(i["target_count"]),
                      int(i["inspectors_per_target"]), tuple(tuple(p) for p in i.get("recusals") or ()))


def announcement_of(row: InspectionDraw) -> DrawAnnouncement:
    return DrawAnnouncement(row.draw_id, row.matter, row.inputs_digest, row.public_value_source, row.public_value_on,
                            row.announced_at)


def result_of(row: InspectionDraw) -> DrawResult | None:
    if not row.result:
        return None
    r = row.result
    return DrawResult(r["draw_id"], r["algorithm"], r["seed_input"], r["seed_hex"], r["inputs_digest"],
                      tuple(Assignment(a["target_id"], tuple(a["inspector_ids"])) for a in r["assignments"]))


def announce(session: Session, data: dict, body_id: str, region_code: str, actor: str, now: dt.datetime) -> InspectionDraw:
    """Commit to the inputs and name a future public value (raises DrawError / ValueError)."""
    if session.get(InspectionDraw, data["draw_id"]) is not None:
        raise ValueError(f"抽查编号 {data['draw_id']} 已存在")
    targets = data["targets"]
    for t in targets:
        if validate_resident_id(t["target_id"]) is None:
            raise DrawError("检查对象编号不得使用居民身份证号码（名录将公开），请使用统一社会信用代码或名录编号")
    inputs = DrawInputs(data["draw_id"], data["matter"], tuple(t["target_id"] for t in targets),
                        tuple(data["inspectors"]), int(data["target_count"]), int(data.get("inspectors_per_target") or 2),
                        tuple((p["inspector_id"], p["target_id"]) for p in data.get("recusals") or ()))
    ann = announce_draw(inputs, data["public_value_source"], data["public_value_on"], now)
    row = InspectionDraw(
        draw_id=inputs.draw_id, body_id=body_id, region_code=region_code, matter=inputs.matter,
        inputs={"targets": sorted(inputs.targets), "inspectors": sorted(inputs.inspectors),
                "target_count": inputs.target_count, "inspectors_per_target": inputs.inspectors_per_target,
                "recusals": sorted([list(p) for p in set(inputs.recusals)])},
        target_names={t["target_id"]: {"name": t["name"], "kind": t.get("kind") or "legal"} for t in targets},
        inputs_digest=ann.inputs_digest, public_value_source=ann.public_value_source_zh,
        public_value_on=ann.public_value_on, announced_at=ann.announced_at, status="announced", recorded_by=actor)
    session.add(row)
    return row


def perform(session: Session, row: InspectionDraw, public_value: str, today: dt.date, now: dt.datetime) -> InspectionDraw:
    if row.status != "announced":
        raise DrawError("该抽查已抽取，不能重复抽取")
    if not (public_value or "").strip():
        raise DrawError("请填写公告所述的公开值")
    result = perform_draw(announcement_of(row), inputs_of(row), public_value, today)
    row.public_value, row.status, row.drawn_at = public_value.strip(), "drawn", now
    row.result = {"draw_id": result.draw_id, "algorithm": result.algorithm, "seed_input": result.seed_input,
                  "seed_hex": result.seed_hex, "inputs_digest": result.inputs_digest, "digest": result.digest(),
                  "assignments": [{"target_id": a.target_id, "inspector_ids": list(a.inspector_ids)}
                                  for a in result.assignments]}
    return row


def record_outcomes(session: Session, row: InspectionDraw, results: list[dict], now: dt.datetime) -> int:
    rules = load_inspection_rules()
    if row.status != "drawn":
        raise DrawError("尚未抽取，不能登记检查结果")
    drawn = {a["target_id"] for a in row.result["assignments"]}
    today = clock.now().astimezone(clock.CHINA).date()
    for r in results:
        if r["inspected_on"] > today:   # a date, not a caller's "today": no result of a future month (SEC-2)
            raise DrawError(f"检查日期 {r['inspected_on'].isoformat()} 晚于今天")
        if r["target_id"] not in drawn:
            raise DrawError(f"检查对象 {r['target_id']} 不在本次抽取结果中")
        if r["outcome"] not in rules.outcomes:
            raise DrawError(f"检查结果代码 {r['outcome']} 不正确")
    for r in results:
        existing = session.scalars(select(InspectionOutcome).where(InspectionOutcome.draw_id == row.draw_id,
                                                                   InspectionOutcome.target_id == r["target_id"])).first()
        if existing is None:
            session.add(InspectionOutcome(draw_id=row.draw_id, body_id=row.body_id, target_id=r["target_id"],
                                          inspected_on=r["inspected_on"], outcome=r["outcome"], recorded_at=now))
        else:
            existing.inspected_on, existing.outcome, existing.recorded_at = r["inspected_on"], r["outcome"], now
    return len(results)


def publish_month(session: Session, body_id: str, body_name: str, region_code: str, year: int, month: int,
                  today: dt.date, calendar: WorkingDayCalendar) -> MonthlyInspectionSummary:
    """Publish (or re-publish) the month's results of a body (抽查结果按月公开)."""
    start = dt.date(year, month, 1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    if today < end:
        raise ValueError(f"{year}年{month}月尚未结束")
    outcomes = session.scalars(select(InspectionOutcome).where(
        InspectionOutcome.body_id == body_id, InspectionOutcome.inspected_on >= start,
        InspectionOutcome.inspected_on < end)).all()
    draws = {d.draw_id: d for d in session.scalars(select(InspectionDraw).where(
        InspectionDraw.draw_id.in_({o.draw_id for o in outcomes})))} if outcomes else {}
    results = []
    for o in outcomes:
        d = draws[o.draw_id]
        name = d.target_names.get(o.target_id, {})
        assigned = next((a["inspector_ids"] for a in d.result["assignments"] if a["target_id"] == o.target_id), [])
        results.append(InspectionResult(o.draw_id, o.target_id, name.get("name") or o.target_id,
                                        PartyKind(name.get("kind") or "legal"), d.matter, o.inspected_on, o.outcome,
                                        tuple(assigned)))
    summary = monthly_results_summary(body_name, year, month, results, calendar)
    data = {"body_name": summary.body_name, "year": year, "month": month, "total": summary.total,
            "by_outcome": summary.by_outcome, "text": summary.text_zh,
            "rows": [{"target_name": r.target_name, "target_id": r.target_id, "matter": r.matter,
                      "inspected_on": r.inspected_on.isoformat(), "outcome_zh": r.outcome_zh, "draw_id": r.draw_id}
                     for r in summary.rows]}
    row = session.scalars(select(MonthlyInspectionSummary).where(
        MonthlyInspectionSummary.body_id == body_id, MonthlyInspectionSummary.year == year,
        MonthlyInspectionSummary.month == month)).first()
    if row is None:
        row = MonthlyInspectionSummary(body_id=body_id, region_code=region_code, year=year, month=month, summary=data,
                                       published_on=today, due_on=summary.publication_deadline.due)
        session.add(row)
    else:
        row.summary, row.published_on = data, today
    return row


def month_view(row: MonthlyInspectionSummary) -> dict:
    return {"body_id": row.body_id, "year": row.year, "month": row.month, "published_on": row.published_on.isoformat(),
            "due_on": row.due_on.isoformat(), "on_time": row.published_on <= row.due_on, **row.summary}


def draw_view(row: InspectionDraw, check_public_value: str | None = None) -> dict:
    """Everything anyone needs to recompute the draw; natural persons' names masked."""
    inputs = inputs_of(row)
    result = result_of(row)
    names = {k: (mask_name(v["name"]) if v.get("kind") == "natural" else v["name"]) for k, v in row.target_names.items()}
    view = {"draw_id": row.draw_id, "body_id": row.body_id, "region_code": row.region_code, "matter": row.matter,
            "status": row.status, "algorithm": "zhifa-draw-v1", "inputs": row.inputs,
            "canonical_inputs": inputs.canonical_json(), "inputs_digest": row.inputs_digest,
            "digest_matches": inputs.digest() == row.inputs_digest, "target_names": names,
            "public_value_source": row.public_value_source, "public_value_on": row.public_value_on.isoformat(),
            "announced_at": row.announced_at.isoformat(), "announcement_text": announcement_of(row).text_zh(),
            "public_value": row.public_value, "drawn_at": row.drawn_at.isoformat() if row.drawn_at else None,
            "result": row.result, "verified": None}
    if result is not None:
        value = check_public_value if check_public_value is not None else row.public_value
        view["verified"] = verify_draw(result, inputs, value, announcement_of(row))
        view["checked_public_value"] = value
    return view
