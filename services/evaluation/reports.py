"""The supervisors' dashboard data and the annual report section on enforcement
(法治政府建设年度报告 — 行政执法部分), computed from facts, grades, cases and supervision items
(EVAL-2, EVAL-4, EVAL-6, EVAL-9, COORD-4)."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.catalogue.fields import ACTION_TYPE_NAMES_ZH
from services.common.identifiers import region_tier
from services.evaluation import domain as d
from services.evaluation.engine import (
    TIER_NAMES,
    _avg,
    as_of_for,
    child_region,
    evaluate,
    monthly_trend,
)
from services.evaluation.models import (BodyEntry, CaseRow, ConsequenceRow, GradeRow, OfficerEntry, ReceivedGradeRow,
                                       SupervisionRow)
from services.evaluation.store import domain_facts, in_region, summary_counts
from services.evaluation.workflow import case_json, consequence_json, item_json

GRADES = ("优秀", "合格", "不合格", d.INSUFFICIENT)
CHINA = dt.timezone(dt.timedelta(hours=8))


def _opened_year(row: CaseRow) -> int:
    at = row.opened_at if row.opened_at.tzinfo else row.opened_at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(CHINA).year


def _names(session: Session) -> tuple[dict, dict]:
    """Names of bodies and officers, to show instead of their ids."""
    bodies = dict(session.execute(select(BodyEntry.body_id, BodyEntry.name)).all())
    officers = dict(session.execute(select(OfficerEntry.officer_id, OfficerEntry.name)).all())
    return bodies, officers


def _pct(num, den) -> str | None:
    if not den:
        return None
    return str((Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def current_grades(session: Session, region_code: str, year: int, today: dt.date) -> tuple[list[dict], str]:
    """Each body's and officer's grade: the final one where finalised, else year to date computed now."""
    as_of = as_of_for(year, today)
    live = evaluate(session, region_code, year, as_of)
    finals = {(r.subject_kind, r.subject_id): r for r in session.execute(select(GradeRow).where(
        in_region(GradeRow.region_code, region_code), GradeRow.year == year, GradeRow.stage == "final")).scalars()}
    out = []
    for r in live:
        row = r.as_json()
        final = finals.get((r.subject.kind, r.subject.subject_id))
        if final is not None:
            row.update({"total": final.total, "grade": final.grade, "by_total": final.by_total, "stage": "final",
                        "reasons": json.loads(final.result).get("reasons", [])})
        else:
            row["stage"] = "ytd"
        out.append(row)
    graded = [r for r in out if r["subject_kind"] == "body" and r["grade"] != d.INSUFFICIENT]
    stage = "final" if graded and all(r["stage"] == "final" for r in graded) else "ytd"
    return out, stage


def dashboard(session: Session, region_code: str, year: int, today: dt.date) -> dict:
    grades, stage = current_grades(session, region_code, year, today)
    bodies = [g for g in grades if g["subject_kind"] == "body"]
    officers = [g for g in grades if g["subject_kind"] == "officer"]
    as_of = as_of_for(year, today)

    cases = session.execute(select(CaseRow).where(in_region(CaseRow.region_code, region_code))).scalars().all()
    open_cases = [c for c in cases if c.stage != "closed" and _opened_year(c) == year]   # 未结追责 of the year
    body_names, officer_names = _names(session)
    facts = domain_facts(session, region_code, year)
    items = [item_json(r, today) for r in session.execute(select(SupervisionRow).where(
        in_region(SupervisionRow.target_region, region_code) | in_region(SupervisionRow.issuer_region, region_code))
        .order_by(SupervisionRow.due_on)).scalars()]
    consequences = [consequence_json(r, today) for r in session.execute(select(ConsequenceRow).where(
        in_region(ConsequenceRow.region_code, region_code), ConsequenceRow.status == "open")
        .order_by(ConsequenceRow.due_on)).scalars()]

    # subordinate regions
    children: dict[str, dict] = {}
    for b in bodies:
        child = child_region(region_code, b["region_code"])
        slot = children.setdefault(child, {"region_code": child, "bodies": 0, "totals": [],
                                           "grades": {g: 0 for g in GRADES}, "open_cases": 0, "overdue_items": 0})
        slot["bodies"] += 1
        if b["grade"] != d.INSUFFICIENT:      # no grade, no total in the average (issue 16)
            slot["totals"].append(b["total"])
        slot["grades"][b["grade"]] += 1
    for c in open_cases:
        child = child_region(region_code, c.region_code)
        if child in children:
            children[child]["open_cases"] += 1
    for i in items:
        if i["overdue"]:
            child = child_region(region_code, i["target_region"])
            if child in children:
                children[child]["overdue_items"] += 1
    child_rows = []
    for code, slot in sorted(children.items()):
        try:
            tier = TIER_NAMES[region_tier(code)]
        except ValueError:
            tier = ""
        child_rows.append({**{k: v for k, v in slot.items() if k != "totals"}, "tier": tier,
                           "own": code == region_code, "avg_total": str(_avg(slot["totals"]) or "")})

    # indicators and trend
    trend = monthly_trend(session, region_code, year, as_of)
    indicators: dict[str, dict] = {}
    for b in bodies:
        for i in b["indicators"]:
            slot = indicators.setdefault(i["code"], {"code": i["code"], "name": i["name"], "weight": i["weight"],
                                                     "scores": [], "met": 0, "measured": 0})
            if i["applicable"]:
                slot["scores"].append(i["score"])
            if i["met_target"] is not None:
                slot["measured"] += 1
                slot["met"] += 1 if i["met_target"] else 0
    indicator_rows = []
    for code, slot in indicators.items():
        indicator_rows.append({"code": code, "name": slot["name"], "weight": slot["weight"],
                               "avg_score": "" if _avg(slot["scores"]) is None else str(_avg(slot["scores"])),
                               "met": slot["met"],
                               "measured": slot["measured"],
                               "trend": [p["indicators"].get(code) for p in trend["points"]]})

    history = []
    rows = session.execute(select(GradeRow.year, GradeRow.total, GradeRow.grade).where(
        in_region(GradeRow.region_code, region_code), GradeRow.stage == "final",
        GradeRow.subject_kind == "body")).all()
    per_year = defaultdict(list)
    for y, total, grade in rows:
        per_year[y].append((total, grade))
    for y in sorted(per_year):
        history.append({"year": y, "avg_total": str(_avg([t for t, _ in per_year[y]])),
                        "grades": {g: sum(1 for _, x in per_year[y] if x == g) for g in GRADES}})

    by_source = Counter(c.source for c in open_cases)
    until = as_of or dt.date(year, 12, 31)     # as the indicators count: what fell due by then
    unique = {f.body_key: f for f in facts if f.occurred_on <= until}.values()
    kinds = Counter(f.kind for f in unique)
    overdue_items = [i for i in items if i["overdue"]]
    headline = {
        "decisions": kinds.get("enforcement_action", 0),
        "on_time_rate": _pct(kinds.get("disclosure_on_time", 0), kinds.get("disclosure_due", 0)),
        "disclosure_due": kinds.get("disclosure_due", 0),
        "complaints": kinds.get("complaint_received", 0),
        "overdue": len(overdue_items) + sum(1 for c in consequences if c.get("overdue")),
        "clues": sum(1 for c in open_cases if c.stage == "clue"),
    }

    def case_row(c: CaseRow) -> dict:
        row = case_json(c, full=False)
        row["body_name"] = body_names.get(c.body_id, c.body_id)
        row["officer_names"] = [officer_names.get(o, o) for o in row.get("officer_ids") or []]
        return row

    for i in items:
        i["target_body_name"] = body_names.get(i["target_body_id"], i["target_body_id"])
    for c in consequences:
        c["subject_name"] = (body_names if c["subject_kind"] == "body" else officer_names).get(c["subject_id"],
                                                                                              c["subject_id"])
    ranking = sorted(bodies, key=lambda b: (-Decimal(b["total"]), b["subject_id"]))
    # at a province: the cities judge their own bodies — their final grades as the cities sent them
    city_grades: dict[str, dict] = {}
    for row in session.execute(select(ReceivedGradeRow).where(
            in_region(ReceivedGradeRow.region_code, region_code), ReceivedGradeRow.year == year)).scalars():
        slot = city_grades.setdefault(row.city_code, {"city_code": row.city_code, "totals": [],
                                                      "bodies": {g: 0 for g in GRADES},
                                                      "officers": {g: 0 for g in GRADES}})
        slot["bodies" if row.subject_kind == "body" else "officers"][row.grade] += 1
        if row.subject_kind == "body":
            slot["totals"].append(row.total)
    return {
        "region_code": region_code, "region_tier": TIER_NAMES.get(region_tier(region_code), ""),
        "year": year, "as_of": as_of.isoformat() if as_of else None, "stage": stage,
        "year_status": d.year_status(year, today, finalised=stage == "final" and bool(bodies)),
        "year_status_name": d.years.STATUS_NAMES_ZH[d.year_status(year, today, finalised=stage == "final" and bool(bodies))],
        "empty": all(b["grade"] == d.INSUFFICIENT for b in bodies) and not headline["decisions"],
        "headline": headline,
        "children": child_rows,
        "ranking": [{k: b[k] for k in ("subject_id", "name", "region_code", "total", "grade", "by_total", "stage",
                                       "reasons")} for b in ranking],
        "grade_counts": {"body": {g: sum(1 for b in bodies if b["grade"] == g) for g in GRADES},
                         "officer": {g: sum(1 for o in officers if o["grade"] == g) for g in GRADES}},
        "officers_failing": [{**{k: o[k] for k in ("subject_id", "name", "body_id", "total", "grade", "reasons")},
                              "body_name": body_names.get(o["body_id"], o["body_id"])}
                             for o in officers if o["grade"] == "不合格"],
        "indicators": indicator_rows,
        "trend": {"as_of": [p["as_of"] for p in trend["points"]], "total": [p["total"] for p in trend["points"]]},
        "history": history,
        "open_cases": {"count": len(open_cases),
                       "by_source": {d.accountability.CLUE_SOURCE_NAMES_ZH[d.ClueSource(s)]: n
                                     for s, n in by_source.most_common()},
                       "latest": [case_row(c) for c in sorted(open_cases, key=lambda c: c.opened_at, reverse=True)]},
        "items": {"overdue": overdue_items,
                  "due_soon": [i for i in items if i["flag"] == "yellow"],
                  "open": sum(1 for i in items if i["status"] != "closed")},
        "consequences": consequences,
        "cities": [{**{k: v for k, v in slot.items() if k != "totals"}, "avg_total": str(_avg(slot["totals"]) or "")}
                   for _, slot in sorted(city_grades.items())],
    }


def annual_report(session: Session, region_code: str, year: int, today: dt.date) -> dict:
    """Numbers for the enforcement section of the annual report on building a law-based government."""
    counts = summary_counts(session, region_code, year)
    total = Counter()
    for kinds in counts.values():
        total.update(kinds)
    facts = domain_facts(session, region_code, year)
    actions = {}
    fines = Decimal(0)
    seen = set()
    for f in facts:
        if f.kind == "enforcement_action" and f.body_key not in seen:
            seen.add(f.body_key)
            at = f.attrs.get("action_type") or "other"
            actions[at] = actions.get(at, 0) + 1
            if f.attrs.get("fine_amount"):
                fines += Decimal(f.attrs["fine_amount"])
    officers = {f.officer_id for f in facts if f.kind == "certificate_valid" and f.officer_id}
    hours = defaultdict(Decimal)
    for f in facts:
        if f.kind == "training_hours" and f.officer_id:
            hours[f.officer_id] += f.value or 0
            officers.add(f.officer_id)
    trained = sum(1 for o in officers if hours.get(o, 0) >= 60)
    grades, stage = current_grades(session, region_code, year, today)
    cases = [c for c in session.execute(select(CaseRow).where(in_region(CaseRow.region_code, region_code))).scalars()
             if c.opened_at.year == year]
    sanctions = Counter()
    transfers = 0
    for c in cases:
        data = json.loads(c.data)
        for s in data.get("sanctions") or []:
            sanctions[s["kind_name"]] += 1
            transfers += s["kind"] == "TRANSFER_DISCIPLINE"
    items = [r for r in session.execute(select(SupervisionRow).where(
        in_region(SupervisionRow.target_region, region_code) | in_region(SupervisionRow.issuer_region, region_code)))
        .scalars() if r.issued_on.year == year]
    n = lambda k: int(total.get(k, 0))  # noqa: E731
    rows = []

    def add(section, item, value, unit=""):
        rows.append({"section": section, "item": item, "value": "" if value is None else str(value), "unit": unit})

    s1 = "一、执法主体和执法人员"
    add(s1, "纳入考核的行政执法主体", sum(1 for g in grades if g["subject_kind"] == "body"), "个")
    add(s1, "持证执法人员", len(officers), "人")
    add(s1, "年度培训达到60学时的执法人员", trained, "人")
    add(s1, "培训达标率", _pct(trained, len(officers)), "%")
    s2 = "二、行政执法决定"
    add(s2, "作出行政执法决定", sum(actions.values()), "件")
    for code, count in sorted(actions.items()):
        add(s2, f"其中：{ACTION_TYPE_NAMES_ZH.get(code, code)}", count, "件")
    add(s2, "罚款金额合计", fines.quantize(Decimal("0.01")), "元")
    s3 = "三、行政执法公示"
    add(s3, "应公示的执法决定", n("disclosure_due"), "件")
    add(s3, "按时公示", n("disclosure_on_time"), "件")
    add(s3, "逾期公示", n("disclosure_late"), "件")
    add(s3, "超期未公示", n("disclosure_overdue"), "件")
    add(s3, "按时公示率", _pct(n("disclosure_on_time"), n("disclosure_due")), "%")
    s4 = "四、重大执法决定法制审核"
    add(s4, "应当法制审核的重大执法决定", n("review_required"), "件")
    add(s4, "经法制审核通过", n("review_approved"), "件")
    add(s4, "应审未审", n("review_bypassed"), "件")
    add(s4, "法制审核率", _pct(n("review_approved"), n("review_required")), "%")
    s5 = "五、执法全过程记录"
    add(s5, "应全过程记录的案件", n("record_case"), "件")
    add(s5, "发现记录缺失", n("record_gap"), "处")
    add(s5, "音像记录缺失", n("av_missing"), "处")
    s6 = "六、投诉举报"
    add(s6, "收到投诉举报", n("complaint_received"), "件")
    add(s6, "按时告知受理情况", n("complaint_ack_on_time"), "件")
    add(s6, "逾期告知", n("complaint_ack_late"), "件")
    add(s6, "查证属实", n("complaint_upheld"), "件")
    add(s6, "每百件执法决定查实投诉", _pct(n("complaint_upheld"), sum(actions.values())), "件")
    s7 = "七、行政复议和行政诉讼"
    add(s7, "被申请复议或提起诉讼的执法决定", n("decision_challenged"), "件")
    add(s7, "被撤销、确认违法或责令重作", n("decision_corrected"), "件")
    add(s7, "纠错率", _pct(n("decision_corrected"), n("decision_challenged")), "%")
    s8 = "八、评议考核"
    for kind, label in (("body", "执法主体"), ("officer", "执法人员")):
        for g in GRADES:
            add(s8, f"{label}考核{g}", sum(1 for x in grades if x["subject_kind"] == kind and x["grade"] == g),
                "个" if kind == "body" else "人")
    add(s8, "考核结果", "已确定最终等次" if stage == "final" else f"截至{today.isoformat() if year == today.year else '年末'}的年度累计", "")
    cons = Counter(r.kind for r in session.execute(select(ConsequenceRow).where(
        in_region(ConsequenceRow.region_code, region_code), ConsequenceRow.year == year)).scalars())
    add(s8, "责令限期整改的执法主体", cons.get("rectification_order", 0), "个")
    add(s8, "批评教育或离岗培训的执法人员", cons.get("criticism_or_training", 0), "人")
    add(s8, "建议调离执法岗位或取消执法资格", cons.get("removal_proposal", 0), "人")
    s9 = "九、责任追究"
    add(s9, "受理责任追究线索", len(cases), "件")
    outcomes = Counter(c.outcome for c in cases if c.outcome)
    for outcome in d.Outcome:
        add(s9, outcome.value, outcomes.get(outcome.value, 0), "件")
    add(s9, "办理中", sum(1 for c in cases if c.stage != "closed"), "件")
    for kind in d.SanctionKind:
        add(s9, f"追责：{kind.value}", sanctions.get(kind.value, 0), "人次")
    add(s9, "移送纪检监察机关", transfers, "件")
    s10 = "十、层级监督"
    kinds = Counter(r.kind for r in items)
    for kind in d.SupervisionKind:
        add(s10, f"下发{kind.zh}", kinds.get(kind.value, 0), "件")
    add(s10, "已办结", sum(1 for r in items if r.status == "closed"), "件")
    add(s10, "超期未办结", sum(1 for r in items if r.status == "open" and r.due_on < today), "件")
    return {"region_code": region_code, "year": year, "stage": stage, "generated_on": today.isoformat(), "rows": rows}
