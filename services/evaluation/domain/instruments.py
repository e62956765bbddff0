"""Evaluation instruments (评议考核方法) — EVAL-2 (issue 18): public opinion by surveys (问卷调查) and evaluation
cards (评议卡), and unannounced visits (暗访) by supervisors. Each becomes a fact of the body evaluated, scored
by the indicators of config/evaluation/indicators.yaml: an answer is a ``survey_rating`` fact (1–5, the
SATISFACTION indicator beside complaint ratings), a visit report an ``unannounced_visit_score`` fact (0–100,
the SPECIAL_CHECK indicator beside special-check scores).

One answer per code: a survey hands out N codes (a card usually one); only each code's SHA-256 is stored, a
code is used once (the answer's transaction marks it used only if it was unused), and the answer does not
keep which code it used. Pure: the codes are drawn by the caller, the day is passed in.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping, Sequence

KINDS = {"survey": "问卷调查", "card": "评议卡"}
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"      # no 0/O, 1/I/L: read off paper
CODE_LENGTH = 10
MAX_CODES = 5000
MAX_QUESTIONS = 20
RATING_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
DEFAULT_QUESTIONS = ({"code": "attitude", "text": "执法人员的态度是否文明规范？"},
                     {"code": "procedure", "text": "执法程序是否公开、公正？"},
                     {"code": "result", "text": "您对执法结果是否满意？"})


class InstrumentError(ValueError):
    """A request the rules refuse: ``fields`` maps a field to its Chinese messages."""

    def __init__(self, message: str, fields: Mapping[str, list[str]] | None = None):
        super().__init__(message)
        self.message, self.fields = message, dict(fields or {})


def normalise_code(text: str | None) -> str:
    """What a person typed: spaces and hyphens dropped, upper case (a code is printed as XXXXX-XXXXX)."""
    return re.sub(r"[\s\-－]", "", text or "").upper()


def code_hash(code: str) -> str:
    return hashlib.sha256(("survey-code:" + normalise_code(code)).encode("utf-8")).hexdigest()


def format_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def looks_like_code(text: str | None) -> bool:
    code = normalise_code(text)
    return len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)


@dataclass(frozen=True)
class SurveySpec:
    kind: str
    body_id: str
    title: str
    questions: tuple[dict, ...]
    codes: int
    opens_on: dt.date
    closes_on: dt.date
    case_id: str | None
    officer_id: str | None


def survey_spec(data: Mapping[str, Any], today: dt.date) -> SurveySpec:
    """A new survey or evaluation card from a supervisor's request (refused with Chinese field messages)."""
    errors: dict[str, list[str]] = {}
    kind = data.get("kind") or "survey"
    if kind not in KINDS:
        errors["kind"] = ["应为 survey（问卷调查）或 card（评议卡）"]
    body_id = (data.get("body_id") or "").strip()
    if not body_id:
        errors["body_id"] = ["须注明被评议的执法主体"]
    title = (data.get("title") or "").strip() or (KINDS.get(kind, "问卷调查") + "：群众对行政执法的评价")
    questions = tuple(data.get("questions") or DEFAULT_QUESTIONS)
    seen = set()
    for i, q in enumerate(questions):
        code, text = str((q or {}).get("code") or "").strip(), str((q or {}).get("text") or "").strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", code) or code in seen or not text:
            errors.setdefault("questions", []).append(f"第{i + 1}题须有不重复的代码（小写字母、数字）和题目")
        seen.add(code)
    if not questions or len(questions) > MAX_QUESTIONS:
        errors.setdefault("questions", []).append(f"题目数量应为1至{MAX_QUESTIONS}个")
    codes = data.get("codes", 1 if kind == "card" else None)
    if not isinstance(codes, int) or isinstance(codes, bool) or not 1 <= codes <= MAX_CODES:
        errors["codes"] = [f"答卷码数量应为1至{MAX_CODES}的整数"]
    opens_on = data.get("opens_on") or today
    closes_on = data.get("closes_on")
    if not isinstance(closes_on, dt.date):
        errors["closes_on"] = ["须注明截止日期"]
    elif closes_on < opens_on or closes_on < today:
        errors["closes_on"] = ["截止日期不能早于开始日期或今天"]
    if kind != "card" and (data.get("case_id") or data.get("officer_id")):
        errors["case_id"] = ["只有评议卡可以注明案件和执法人员"]
    if errors:
        raise InstrumentError("请求内容有误", errors)
    return SurveySpec(kind, body_id, title[:200], tuple({"code": q["code"].strip(), "text": q["text"].strip()}
                                                        for q in questions),
                      codes, opens_on, closes_on, data.get("case_id") or None, data.get("officer_id") or None)


def open_on(opens_on: dt.date, closes_on: dt.date, today: dt.date) -> str | None:
    """Why a survey cannot be answered today (Chinese), or None."""
    if today < opens_on:
        return f"该调查自{opens_on.year}年{opens_on.month}月{opens_on.day}日起接受评价"
    if today > closes_on:
        return "该调查已截止"
    return None


def ratings_of(questions: Sequence[Mapping[str, str]], answers: Mapping[str, Any]) -> dict[str, int]:
    """Every question rated 1–5 (the form sends ``q_<code>``; an API may send ``<code>``)."""
    ratings, errors = {}, {}
    for q in questions:
        raw = answers.get(f"q_{q['code']}", answers.get(q["code"]))
        try:
            value = int(str(raw))
        except (TypeError, ValueError):
            value = None
        if value not in RATING_NAMES:
            errors[f"q_{q['code']}"] = ["请选择评价（1–5）"]
        else:
            ratings[q["code"]] = value
    if errors:
        raise InstrumentError("请对每一项作出评价", errors)
    return ratings


def average(ratings: Mapping[str, int]) -> Decimal:
    return (Decimal(sum(ratings.values())) / Decimal(len(ratings))).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class VisitSpec:
    body_id: str
    visited_on: dt.date
    place: str
    findings: str
    problems: tuple[str, ...]
    score: Decimal


def visit_spec(data: Mapping[str, Any], today: dt.date) -> VisitSpec:
    """An unannounced-visit report (暗访报告) from a supervisor's request."""
    errors: dict[str, list[str]] = {}
    body_id = (data.get("body_id") or "").strip()
    if not body_id:
        errors["body_id"] = ["须注明被暗访的执法主体"]
    visited_on = data.get("visited_on")
    if not isinstance(visited_on, dt.date):
        errors["visited_on"] = ["须注明暗访日期"]
    elif visited_on > today:
        errors["visited_on"] = ["暗访日期不能晚于今天"]
    place = (data.get("place") or "").strip()
    findings = (data.get("findings") or "").strip()
    if not place:
        errors["place"] = ["须注明暗访地点（执法现场、服务窗口等）"]
    if not findings:
        errors["findings"] = ["须写明暗访情况"]
    problems = tuple(str(p).strip() for p in (data.get("problems") or ()) if str(p).strip())
    try:
        score = Decimal(str(data.get("score")))
    except ArithmeticError:
        score = None
    if score is None or not score.is_finite() or not Decimal(0) <= score <= Decimal(100):
        errors["score"] = ["暗访得分应为0至100"]
    if errors:
        raise InstrumentError("请求内容有误", errors)
    return VisitSpec(body_id, visited_on, place[:300], findings, problems, score)
