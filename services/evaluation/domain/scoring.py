"""Scoring bodies and officers from facts (评议考核计分) — REQUIREMENTS EVAL-2, EVAL-3, EVAL-7.

``score_body`` and ``score_officer`` compute every indicator of the applicable indicator set
(see ``indicators.py``) from facts, and keep, for each indicator, the ids of the events whose
facts were used (``evidence``), so every score can be traced to the events behind it.

Rounding: an indicator's score (0–100) is rounded to 0.01 (half up) from the exact value; its
weighted score is ``score × weight ÷ 100`` rounded to 0.01; the total is the sum of weighted
scores. An indicator with nothing to measure (a 0/0 ratio, no values) is not applicable (不适用) —
never 100 or 0 (issue 16) — unless a penalty fact (e.g. a review bypass) gives it evidence; the total is re-scaled: ``Σ weighted × 100 ÷ Σ applicable weights``, rounded to 0.01.

With ``as_of`` the score is a year-to-date one (facts that occurred by that day); without it —
or with ``as_of`` on or after 31 December — it is the final score of the year.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

from services.common.identifiers import Tier, region_tier

from .facts import Fact, select_facts
from .grades import GradingRules
from .indicators import HUNDRED, IndicatorConfig, IndicatorDef, IndicatorSet, Method, _fmt

CENT = Decimal("0.01")
VALUE_PLACES = Decimal("0.0001")


def _round(value: Decimal, places: Decimal = CENT) -> Decimal:
    return value.quantize(places, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class IndicatorScore:
    """One indicator of one subject: value, score (0–100), weight, weighted score and evidence."""

    code: str
    name: str
    method: str
    value: Decimal | None          # rounded to 4 places; None when there was nothing to measure
    score: Decimal | None          # 0–100, None when not applicable
    weight: Decimal
    weighted: Decimal              # score × weight ÷ 100
    evidence: tuple[str, ...]      # event ids of every fact behind the value and the penalties
    applicable: bool = True
    met_target: bool | None = None
    detail: str = ""


@dataclass(frozen=True)
class SubjectScore:
    """The score of a body (BodyScore) or officer (OfficerScore) for a year, to date or final."""

    subject_kind: str
    subject_id: str
    tier: Tier
    year: int
    as_of: dt.date | None
    final: bool
    set_name: str
    indicators: tuple[IndicatorScore, ...]
    total: Decimal
    applicable_weight: Decimal
    grading: GradingRules

    def indicator(self, code: str) -> IndicatorScore:
        for item in self.indicators:
            if item.code == code:
                return item
        raise KeyError(code)

    @property
    def evidence(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for item in self.indicators:
            seen.update(dict.fromkeys(item.evidence))
        return tuple(seen)


BodyScore = SubjectScore
OfficerScore = SubjectScore


def _evidence(facts: Iterable[Fact]) -> tuple[str, ...]:
    ordered = sorted(facts, key=lambda f: (f.occurred_on, f.event_id, f.seq))
    return tuple(dict.fromkeys(f.event_id for f in ordered))


def _unique(facts: Iterable[Fact]) -> list[Fact]:
    """One fact per (kind, event_id, seq): officer copies of one event count once."""
    out: dict[tuple, Fact] = {}
    for f in facts:
        out.setdefault(f.body_key, f)
    return list(out.values())


def _pct(value: Decimal) -> str:
    return f"{_round(value * HUNDRED)}%"


def compute_indicator(ind: IndicatorDef, facts: Iterable[Fact]) -> IndicatorScore:
    """Compute one indicator from the subject's facts (already limited to subject and period)."""
    facts = list(facts)
    unique = _unique(facts)
    of = lambda kinds: [f for f in unique if f.kind in kinds]  # noqa: E731
    used: list[Fact] = []
    value: Decimal | None = None
    detail = ""
    if ind.method in (Method.RATIO, Method.RATE_PER_100):
        num_facts, den_facts = of(ind.numerator), of(ind.denominator)
        used = num_facts + den_facts
        num, den = len(num_facts), len(den_facts)
        if den:
            if ind.method is Method.RATIO:
                ratio = Decimal(num) / Decimal(den)
                value = Decimal(1) - ratio if ind.complement else ratio
                detail = f"{den - num if ind.complement else num}/{den} = {_pct(value)}"
            else:
                value = Decimal(num) * HUNDRED / Decimal(den)
                detail = f"{num} × 100 ÷ {den} = {_round(value)}"
        else:
            detail = f"无{'/'.join(ind.denominator)}"
    elif ind.method is Method.PER_OFFICER_THRESHOLD:
        per_officer: dict[str, dict[tuple, Fact]] = defaultdict(dict)
        population: set[str] = set()
        for f in facts:
            if f.officer_id is None:
                continue
            if f.kind in ind.facts:
                per_officer[f.officer_id].setdefault(f.body_key, f)
                population.add(f.officer_id)
                used.append(f)
            elif f.kind in ind.population:
                population.add(f.officer_id)
                used.append(f)
        if population:
            met = sum(1 for o in population
                      if sum((x.value or Decimal(0) for x in per_officer.get(o, {}).values()), Decimal(0)) >= ind.threshold)
            value = Decimal(met) / Decimal(len(population))
            detail = f"{met}/{len(population)}人达到{_fmt(ind.threshold)} = {_pct(value)}"
        else:
            detail = "无执法人员数据"
    else:
        chosen = of(ind.facts)
        values = [f.value if f.value is not None else Decimal(1) for f in chosen]
        if ind.method is Method.SUM:
            used, value = chosen, sum(values, Decimal(0))
            detail = f"合计 {_fmt(value)}（{len(chosen)}条）"
        elif ind.method is Method.COUNT:
            used, value = chosen, Decimal(len(chosen))
            detail = f"{len(chosen)}起"
        elif ind.method is Method.PRESENCE:
            used, value = chosen, Decimal(1 if chosen else 0)
            detail = "有" if chosen else "无"
        elif ind.method is Method.AVERAGE:
            used = chosen
            if chosen:
                value = sum(values, Decimal(0)) / Decimal(len(values))
                detail = f"平均 {_round(value)}（{len(chosen)}条）"
            else:
                detail = "无数据"
        elif ind.method is Method.LATEST:
            if chosen:
                latest = max(chosen, key=lambda f: (f.occurred_on, f.event_id, f.seq))
                used, value = [latest], latest.value
                detail = f"最新值 {_fmt(value)}（{latest.occurred_on.isoformat()}）"
            else:
                detail = "未报送"
    penalty_facts = []
    deduction = Decimal(0)
    for p in ind.penalties:
        hits = of((p.fact_kind,))
        if hits:
            penalty_facts.extend(hits)
            deduction += p.points * len(hits)
            detail += f"；{p.fact_kind} {len(hits)}起，每起扣{_fmt(p.points)}分"
    evidence = _evidence(used + penalty_facts)
    if value is None:
        if not penalty_facts:   # 0/0: not applicable, its weight goes to the others (issue 16)
            return IndicatorScore(ind.code, ind.name, ind.method.value, None, None, ind.weight, Decimal("0.00"),
                                  evidence, applicable=False, met_target=None, detail=detail + "，不适用")
        base = HUNDRED   # only penalties to measure: full marks less the deductions
    else:
        base = ind.curve.score(value)
    score = _round(max(Decimal(0), base - deduction))
    met = None
    if value is not None and ind.target is not None:
        met = value >= ind.target if ind.higher_is_better else value <= ind.target
    return IndicatorScore(ind.code, ind.name, ind.method.value,
                          None if value is None else _round(value, VALUE_PLACES), score, ind.weight,
                          _round(score * ind.weight / HUNDRED), evidence, True, met, detail)


def _resolve_set(indicator_config: IndicatorConfig | IndicatorSet, subject: str, tier: Tier, year: int) -> IndicatorSet:
    if isinstance(indicator_config, IndicatorSet):
        if indicator_config.subject != subject:
            raise ValueError(f"indicator set {indicator_config.name} is for {indicator_config.subject}, not {subject}")
        return indicator_config
    return indicator_config.select(subject, tier, year)


def _infer_one(values: set, what: str):
    values.discard(None)
    if len(values) != 1:
        raise ValueError(f"cannot infer {what} from the facts (found {sorted(values) or 'none'}); pass it explicitly")
    return values.pop()


def score_subject(facts: Iterable[Fact], indicator_set: IndicatorSet, subject_kind: str, subject_id: str,
                  tier: Tier, year: int, as_of: dt.date | None = None) -> SubjectScore:
    own = select_facts(facts, subject_kind, subject_id, year, as_of)
    items = tuple(compute_indicator(ind, own) for ind in indicator_set.indicators)
    weighted = sum((i.weighted for i in items), Decimal(0))
    applicable_weight = sum((i.weight for i in items if i.applicable), Decimal(0))
    if applicable_weight == HUNDRED:
        total = weighted
    elif applicable_weight:
        total = _round(weighted * HUNDRED / applicable_weight)
    else:
        total = Decimal("0.00")
    final = as_of is None or as_of >= dt.date(year, 12, 31)
    return SubjectScore(subject_kind, subject_id, tier, year, None if final else as_of, final, indicator_set.name,
                        items, _round(total), applicable_weight, indicator_set.grading)


def score_body(facts: Iterable[Fact], indicator_config: IndicatorConfig | IndicatorSet, year: int,
               as_of: dt.date | None = None, *, body_id: str | None = None,
               tier: Tier | str | None = None) -> BodyScore:
    """Score an enforcement body (执法主体) for ``year`` (final) or year-to-date ``as_of``.

    ``body_id`` and ``tier`` are inferred from the facts when they concern a single body;
    the indicator set is chosen by subject ``body``, tier and year.
    """
    facts = list(facts)
    if body_id is None:
        body_id = _infer_one({f.body_id for f in facts}, "body_id")
    if tier is None:
        tier = region_tier(_infer_one({f.region_code for f in facts if f.body_id == body_id}, "region"))
    tier = Tier(tier)
    indicator_set = _resolve_set(indicator_config, "body", tier, year)
    return score_subject(facts, indicator_set, "body", body_id, tier, year, as_of)


def score_officer(facts: Iterable[Fact], indicator_config: IndicatorConfig | IndicatorSet, year: int,
                  officer_id: str, as_of: dt.date | None = None, *, tier: Tier | str | None = None) -> OfficerScore:
    """Score an officer (执法人员): routine evaluation — every enforcement act of the officer
    counts (平时考核) — plus special tests (专门考核), EVAL-3."""
    facts = list(facts)
    if tier is None:
        tier = region_tier(_infer_one({f.region_code for f in facts if f.officer_id == officer_id}, "region"))
    tier = Tier(tier)
    indicator_set = _resolve_set(indicator_config, "officer", tier, year)
    return score_subject(facts, indicator_set, "officer", officer_id, tier, year, as_of)
