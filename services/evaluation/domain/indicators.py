"""The indicator system (考核指标体系) — REQUIREMENTS EVAL-2, EVAL-3, EVAL-5, EVAL-7, EVAL-8, REV-7.

Indicators live in ``config/evaluation/indicators.yaml`` as *indicator sets*, each for a subject
(``body`` 执法主体 or ``officer`` 执法人员), a list of tiers (province/city/county/township) and a
range of years. A set may ``extends`` another, ``drop`` some of its indicators and override
``weights``; the weights of every resolved set must sum to 100.

Each indicator says how its value is computed from facts (``method``), whether a higher or lower
value is better, its target and its scoring curve (value → 0–100 points), its weight, and what
happens when there is nothing to measure (``when_empty``: only ``exclude`` — 不适用). Methods:

- ``ratio``            count(numerator kinds) ÷ count(denominator kinds); ``complement: true``
                       scores 1 − that ratio (e.g. 1 − gaps/cases = completeness)
- ``rate_per_100``     count(numerator) × 100 ÷ count(denominator) (e.g. upheld complaints per
                       100 enforcement actions)
- ``per_officer_threshold``  share of officers whose summed values (e.g. training hours) reach
                       ``threshold``; officers are those with any fact of ``facts`` or ``population``
- ``sum``              sum of the values (e.g. an officer's training hours)
- ``average``          mean of the values (satisfaction ratings, check scores)
- ``latest``           the latest value by date (snapshots such as reviewer staffing)
- ``count``            number of facts (with the ``deduct`` curve: points off per fact)
- ``presence``         1 if any fact, else 0

Curves: ``linear`` (``full_at`` → 100, ``zero_at`` → 0, straight line between, clamped),
``threshold`` (100 if the value meets ``at`` in the better direction, else 0), ``deduct``
(100 − ``points`` × value, floored at 0). ``penalties`` deduct points from the indicator's score
per fact of a kind (e.g. each review bypass 应审未审). Loaded and validated with clear errors.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Mapping

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.configfile import ConfigFileError, Keyed, Problems, check_data
from services.common.identifiers import Tier

from .facts import FACT_KINDS, to_decimal
from .grades import ConsequenceRules, Grade, GradingRules, VetoEffect, VetoRule

HUNDRED = Decimal(100)


IndicatorConfigError = ConfigFileError   # the indicator configuration is invalid: every problem in one message


class Method(str, enum.Enum):
    RATIO = "ratio"
    RATE_PER_100 = "rate_per_100"
    PER_OFFICER_THRESHOLD = "per_officer_threshold"
    SUM = "sum"
    AVERAGE = "average"
    LATEST = "latest"
    COUNT = "count"
    PRESENCE = "presence"


class CurveKind(str, enum.Enum):
    LINEAR = "linear"
    THRESHOLD = "threshold"
    DEDUCT = "deduct"


class WhenEmpty(str, enum.Enum):
    """What an indicator with nothing to measure (0/0) is: only ever not applicable (不适用) — the
    total is re-scaled over the other weights. No grade without evidence (issue 16): a 0/0 is never
    scored 100 (``full``) or 0 (``zero``); the loader refuses those."""

    EXCLUDE = "exclude"


@dataclass(frozen=True)
class Curve:
    kind: CurveKind
    higher_is_better: bool
    full_at: Decimal | None = None
    zero_at: Decimal | None = None
    at: Decimal | None = None
    points: Decimal | None = None

    def score(self, value: Decimal) -> Decimal:
        """0–100 points for ``value`` (not rounded)."""
        if self.kind is CurveKind.LINEAR:
            fraction = (value - self.zero_at) / (self.full_at - self.zero_at)
            return HUNDRED * min(Decimal(1), max(Decimal(0), fraction))
        if self.kind is CurveKind.THRESHOLD:
            met = value >= self.at if self.higher_is_better else value <= self.at
            return HUNDRED if met else Decimal(0)
        return max(Decimal(0), HUNDRED - self.points * value)

    def describe(self) -> str:
        if self.kind is CurveKind.LINEAR:
            return f"{_fmt(self.full_at)} 及{'以上' if self.higher_is_better else '以下'}满分，线性降至 {_fmt(self.zero_at)} 为0分"
        if self.kind is CurveKind.THRESHOLD:
            return f"{'≥' if self.higher_is_better else '≤'} {_fmt(self.at)} 满分，否则0分"
        return f"每起扣 {_fmt(self.points)} 分，扣完为止"


@dataclass(frozen=True)
class Penalty:
    fact_kind: str
    points: Decimal


@dataclass(frozen=True)
class IndicatorDef:
    code: str
    name: str
    method: Method
    weight: Decimal
    curve: Curve
    target: Decimal | None = None
    numerator: tuple[str, ...] = ()
    denominator: tuple[str, ...] = ()
    complement: bool = False
    facts: tuple[str, ...] = ()
    population: tuple[str, ...] = ()
    threshold: Decimal | None = None
    when_empty: WhenEmpty = WhenEmpty.EXCLUDE
    penalties: tuple[Penalty, ...] = ()
    requirement: str = ""
    note: str = ""

    @property
    def higher_is_better(self) -> bool:
        return self.curve.higher_is_better

    @property
    def fact_kinds(self) -> frozenset[str]:
        return frozenset(self.numerator + self.denominator + self.facts + self.population
                         + tuple(p.fact_kind for p in self.penalties))

    def formula(self) -> str:
        """A readable formula (Chinese), for documents and screens."""
        n = lambda kinds: " + ".join(kinds)  # noqa: E731
        if self.method is Method.RATIO:
            text = f"1 − 计数({n(self.numerator)}) ÷ 计数({n(self.denominator)})" if self.complement \
                else f"计数({n(self.numerator)}) ÷ 计数({n(self.denominator)})"
        elif self.method is Method.RATE_PER_100:
            text = f"计数({n(self.numerator)}) × 100 ÷ 计数({n(self.denominator)})"
        elif self.method is Method.PER_OFFICER_THRESHOLD:
            text = (f"{n(self.facts)} 合计 ≥ {_fmt(self.threshold)} 的人数 ÷ 执法人员数"
                    f"（有 {n(self.facts + self.population)} 的人员）")
        else:
            label = {Method.SUM: "合计", Method.AVERAGE: "平均", Method.LATEST: "最新值",
                     Method.COUNT: "计数", Method.PRESENCE: "是否存在"}[self.method]
            text = f"{label}({n(self.facts)})"
        for p in self.penalties:
            text += f"；每起 {p.fact_kind} 扣 {_fmt(p.points)} 分"
        return text


@dataclass(frozen=True)
class IndicatorSet:
    name: str
    subject: str                      # "body" | "officer"
    tiers: frozenset[Tier]
    year_from: int | None
    year_to: int | None
    indicators: tuple[IndicatorDef, ...]
    grading: GradingRules

    def applies(self, subject: str, tier: Tier, year: int) -> bool:
        return (self.subject == subject and tier in self.tiers
                and (self.year_from is None or year >= self.year_from)
                and (self.year_to is None or year <= self.year_to))

    def indicator(self, code: str) -> IndicatorDef:
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(code)


@dataclass(frozen=True)
class IndicatorConfig:
    sets: tuple[IndicatorSet, ...]
    consequences: ConsequenceRules
    source: str = "<dict>"
    version: int = 1

    def select(self, subject: str, tier: Tier | str, year: int) -> IndicatorSet:
        """The indicator set for a subject (body/officer) at a tier in a year."""
        tier = Tier(tier)
        for s in self.sets:
            if s.applies(subject, tier, year):
                return s
        raise LookupError(f"没有适用于 {subject}（{tier.value}，{year}年）的考核指标体系")

    def set_named(self, name: str) -> IndicatorSet:
        for s in self.sets:
            if s.name == name:
                return s
        raise KeyError(name)


# --- loading and validation --------------------------------------------------------------------

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_SUBJECTS = ("body", "officer")


def _fmt(value) -> str:
    if value is None:
        return "—"
    text = format(value.normalize() if isinstance(value, Decimal) else value, "f")
    return text


class Number(fields.Field):
    """An exact decimal written as a number (a bool is no number); ``positive``: greater than 0."""

    def __init__(self, *, positive: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.positive = positive

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            number = None if isinstance(value, bool) else to_decimal(value)
        except ValueError:
            number = None
        if number is None or not number.is_finite():
            raise ValidationError(f"Not a valid number: {value!r}.")
        if self.positive and number <= 0:
            raise ValidationError(f"Must be greater than 0, not {value}.")
        return number


def _fact_kind(kind: str) -> None:
    if kind not in FACT_KINDS:
        raise ValidationError(f"unknown fact kind {kind!r}")


class FactKinds(fields.Field):
    """One fact kind or a list of them (考核事实类型), each known (services/evaluation/domain/facts.py)."""

    def _deserialize(self, value, attr, data, **kwargs):
        kinds = [value] if isinstance(value, str) else value
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise ValidationError("Not a list of fact kinds.")
        unknown = [f"unknown fact kind {k!r}" for k in kinds if k not in FACT_KINDS]
        if unknown:
            raise ValidationError(unknown)
        return tuple(kinds)


class _Curve(Schema):
    kind = fields.Enum(CurveKind, by_value=True, required=True)
    full_at = Number()
    zero_at = Number()
    at = Number()
    points = Number(positive=True)


class _Penalty(Schema):
    fact_kind = fields.String(required=True, validate=_fact_kind)
    points = Number(positive=True, required=True)

    @post_load
    def build(self, data, **kwargs) -> Penalty:
        return Penalty(data["fact_kind"], data["points"])


class _Indicator(Schema):
    code = fields.String(required=True, validate=validate.Regexp(
        _CODE_RE, error="must be capital letters, digits and underscores"))
    name = fields.String(required=True, validate=validate.Length(min=1))
    method = fields.Enum(Method, by_value=True, required=True)
    better = fields.String(load_default="higher", validate=validate.OneOf(["higher", "lower"]))
    weight = Number(positive=True, required=True)
    curve = fields.Nested(_Curve, required=True)
    target = Number(load_default=None)
    numerator = FactKinds(load_default=())
    denominator = FactKinds(load_default=())
    facts = FactKinds(load_default=())
    population = FactKinds(load_default=())
    complement = fields.Boolean(load_default=False)
    threshold = Number(load_default=None)
    # only exclude: a 0/0 is 不适用, never 100 or 0 (issue 16)
    when_empty = fields.Enum(WhenEmpty, by_value=True, load_default=WhenEmpty.EXCLUDE)
    penalties = fields.List(fields.Nested(_Penalty), load_default=list)
    requirement = fields.String(load_default="")
    note = fields.String(load_default="")

    @validates_schema
    def consistent(self, data, **kwargs):
        problems, method = Problems(), data["method"]
        if method in (Method.RATIO, Method.RATE_PER_100):
            if not data["numerator"] or not data["denominator"]:
                problems.add(f"{method.value} needs numerator and denominator", "method")
            if data["facts"]:
                problems.add(f"{method.value} does not use facts (use numerator / denominator)", "facts")
        else:
            if not data["facts"]:
                problems.add(f"{method.value} needs facts", "facts")
            if data["numerator"] or data["denominator"]:
                problems.add(f"{method.value} does not use numerator / denominator", "method")
        if method is Method.PER_OFFICER_THRESHOLD and data["threshold"] is None:
            problems.add("per_officer_threshold needs a threshold (e.g. 60 hours a year per officer)", "threshold")
        if data["complement"] and method is not Method.RATIO:
            problems.add("complement applies to ratio only", "complement")
        curve, better = data["curve"], data["better"]
        needed = {CurveKind.LINEAR: ("full_at", "zero_at"), CurveKind.THRESHOLD: ("at",),
                  CurveKind.DEDUCT: ("points",)}[curve["kind"]]
        for key in needed:
            if key not in curve:
                problems.add(f"a {curve['kind'].value} curve needs {key}", "curve", key)
        if curve["kind"] is CurveKind.LINEAR and not set(needed) - set(curve):
            full, zero = curve["full_at"], curve["zero_at"]
            if full == zero:
                problems.add("full_at and zero_at must differ", "curve")
            elif (full > zero) != (better == "higher"):
                problems.add(f"direction contradicts better: {better} (full_at={_fmt(full)}, zero_at={_fmt(zero)})",
                             "curve")
        if curve["kind"] is CurveKind.DEDUCT and better == "higher":
            problems.add("a deduct curve applies to better: lower only", "curve")
        problems.raise_any()

    @post_load
    def build(self, data, **kwargs) -> IndicatorDef:
        raw, higher = data.pop("curve"), data.pop("better") == "higher"
        curve = Curve(raw["kind"], higher and raw["kind"] is not CurveKind.DEDUCT,
                      **{k: v for k, v in raw.items() if k != "kind"})
        return IndicatorDef(curve=curve, penalties=tuple(data.pop("penalties")), **data)


def _grade(value: str) -> None:
    try:
        Grade.parse(value)
    except ValueError:
        raise ValidationError(f"unknown grade {value!r} (优秀 / 合格 / 不合格)") from None


class _Veto(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1))
    name = fields.String(required=True, validate=validate.Length(min=1))
    fact_kind = fields.String(required=True, validate=_fact_kind)
    effect = fields.Enum(VetoEffect, by_value=True, required=True)
    cap = fields.String(load_default="合格", validate=_grade)
    min_count = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1))

    @post_load
    def build(self, data, **kwargs) -> VetoRule:
        cap = Grade.parse(data["cap"]) if data["effect"] is VetoEffect.CAP else Grade.FAIL
        return VetoRule(data["code"], data["name"], data["fact_kind"], data["effect"], cap, data["min_count"])


class _Grading(Schema):
    """Cut-offs and vetoes; what a set leaves out it takes from the grading it builds on."""

    excellent_at = Number()
    pass_at = Number()
    vetoes = fields.List(fields.Nested(_Veto), allow_none=True)
    # fewer events behind a score than this → 数据不足, no grade (issue 16)
    min_evidence = fields.Integer(strict=True, validate=validate.Range(min=1))


class _Gradings(Schema):
    body = fields.Nested(_Grading, load_default=dict)
    officer = fields.Nested(_Grading, load_default=dict)


class _Consequences(Schema):
    rectification_working_days = fields.Integer(strict=True, validate=validate.Range(min=1))
    officer_measure_working_days = fields.Integer(strict=True, validate=validate.Range(min=1))
    body_publication_scope = fields.String(allow_none=True)
    officer_publication_scope = fields.String(allow_none=True)


class _Years(Schema):
    from_ = fields.Integer(strict=True, data_key="from", load_default=None)
    to = fields.Integer(strict=True, load_default=None)


class _IndicatorSet(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    subject = fields.String(required=True, validate=validate.OneOf(_SUBJECTS))
    tiers = fields.List(fields.Enum(Tier, by_value=True), required=True, validate=validate.Length(min=1))
    years = fields.Nested(_Years, load_default=lambda: {"from_": None, "to": None})
    indicators = fields.List(fields.Nested(_Indicator), load_default=list)
    extends = fields.String()
    drop = fields.List(fields.String(), load_default=list)
    weights = Keyed(Number(positive=True), load_default=dict)
    grading = fields.Nested(_Grading, load_default=dict)


def _grading(raw: Mapping, base: GradingRules, problems: Problems, *where) -> GradingRules:
    excellent, passing = raw.get("excellent_at", base.excellent_at), raw.get("pass_at", base.pass_at)
    if not 0 <= passing < excellent <= 100:
        problems.add(f"cut-offs must satisfy 0 <= pass_at < excellent_at <= 100 (pass_at={_fmt(passing)}, "
                     f"excellent_at={_fmt(excellent)})", *where)
    vetoes = tuple(raw.get("vetoes") or ()) if "vetoes" in raw else base.vetoes
    return GradingRules(excellent, passing, vetoes, raw.get("min_evidence", base.min_evidence))


class IndicatorsFile(Schema):
    """``config/evaluation/indicators.yaml`` → :class:`IndicatorConfig`: sets resolved in order (``extends``
    a set defined before, ``drop``, ``weights``), weights of each set summing to 100, no two sets of a
    subject applying to the same tier and year."""

    version = fields.Integer(strict=True, load_default=1)
    grading = fields.Nested(_Gradings, load_default=lambda: {"body": {}, "officer": {}})
    consequences = fields.Nested(_Consequences, load_default=dict)
    indicator_sets = fields.List(fields.Nested(_IndicatorSet), required=True, validate=validate.Length(min=1))

    @post_load
    def build(self, data, **kwargs) -> IndicatorConfig:
        problems = Problems()
        default_grading = {s: _grading(data["grading"][s], GradingRules(), problems, "grading", s) for s in _SUBJECTS}
        resolved: dict[str, IndicatorSet] = {}
        for i, rs in enumerate(data["indicator_sets"]):
            where = ("indicator_sets", i)
            name, subject = rs["name"], rs["subject"]
            if name in resolved:
                problems.add(f"name {name!r} used twice", *where, "name")
                continue
            year_from, year_to = rs["years"]["from_"], rs["years"]["to"]
            if year_from is not None and year_to is not None and year_from > year_to:
                problems.add(f"from {year_from} is later than to {year_to}", *where, "years")
            indicators, base_grading = [], default_grading[subject]
            if "extends" in rs:
                parent = resolved.get(rs["extends"])
                if parent is None:
                    problems.add(f"no indicator set {rs['extends']!r} defined before this one", *where, "extends")
                    continue
                if parent.subject != subject:
                    problems.add(f"{parent.name} is about another subject", *where, "extends")
                indicators, base_grading = list(parent.indicators), parent.grading
            for ind in rs["indicators"]:
                indicators = [x for x in indicators if x.code != ind.code] + [ind]
            codes = [x.code for x in indicators]
            for dup in sorted({x for x in codes if codes.count(x) > 1}):
                problems.add(f"indicator code {dup} used twice", *where, "indicators")
            for code in rs["drop"]:
                if code not in codes:
                    problems.add(f"no indicator {code} to drop", *where, "drop")
            indicators = [x for x in indicators if x.code not in set(rs["drop"])]
            for code, weight in rs["weights"].items():
                if code not in [x.code for x in indicators]:
                    problems.add(f"no indicator {code} to weigh", *where, "weights", code)
                indicators = [replace(x, weight=weight) if x.code == code else x for x in indicators]
            if not indicators:
                problems.add("has no indicator", *where)
                continue
            total = sum((x.weight for x in indicators), Decimal(0))
            if total != HUNDRED:
                problems.add(f"weights of {name} sum to {_fmt(total)}, not 100 "
                             f"({', '.join(f'{x.code}={_fmt(x.weight)}' for x in indicators)})", *where)
            grading = _grading(rs["grading"], base_grading, problems, *where, "grading")
            resolved[name] = IndicatorSet(name, subject, frozenset(rs["tiers"]), year_from, year_to,
                                          tuple(indicators), grading)
        sets = list(resolved.values())
        for a_i, a in enumerate(sets):
            for b in sets[a_i + 1:]:
                if a.subject != b.subject or not (a.tiers & b.tiers):
                    continue
                lo = max(a.year_from or -10**6, b.year_from or -10**6)
                hi = min(a.year_to or 10**6, b.year_to or 10**6)
                if lo <= hi:
                    tiers = ", ".join(sorted(t.value for t in a.tiers & b.tiers))
                    problems.add(f"{a.name} and {b.name} both apply at {tiers} in the same years", "indicator_sets")
        problems.raise_any()
        return IndicatorConfig(tuple(sets), replace(ConsequenceRules(), **data["consequences"]),
                               version=data["version"])


def parse_indicator_config(data: Any, source: str = "<dict>") -> IndicatorConfig:
    """Validate a loaded YAML document and build the configuration; IndicatorConfigError with every problem."""
    return replace(check_data(data, IndicatorsFile, source), source=source)

