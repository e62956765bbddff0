"""The indicator system (考核指标体系) — REQUIREMENTS EVAL-2, EVAL-3, EVAL-5, EVAL-7, EVAL-8, REV-7.

Indicators live in ``config/evaluation/indicators.yaml`` as *indicator sets*, each for a subject
(``body`` 执法主体 or ``officer`` 执法人员), a list of tiers (province/city/county/township) and a
range of years. A set may ``extends`` another, ``drop`` some of its indicators and override
``weights``; the weights of every resolved set must sum to 100.

Each indicator says how its value is computed from facts (``method``), whether a higher or lower
value is better, its target and its scoring curve (value → 0–100 points), its weight, and what
happens when there is nothing to measure (``when_empty``). Methods:

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
from pathlib import Path
from typing import Any, Mapping

import yaml

from services.common.identifiers import Tier

from .facts import FACT_KINDS, to_decimal
from .grades import ConsequenceRules, Grade, GradingRules, VetoEffect, VetoRule

DEFAULT_INDICATORS_FILE = Path(__file__).resolve().parents[3] / "config" / "evaluation" / "indicators.yaml"
HUNDRED = Decimal(100)


class IndicatorConfigError(ValueError):
    """The indicator configuration is invalid; ``errors`` lists every problem found."""

    def __init__(self, source: str, errors: list[str]):
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: 考核指标配置有误（{len(errors)}处）：\n  - " + "\n  - ".join(errors))


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
    FULL = "full"        # nothing to measure → full marks
    ZERO = "zero"        # nothing to measure → 0 (e.g. a snapshot that was never reported)
    EXCLUDE = "exclude"  # not applicable; the total is re-scaled over the other weights


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
    when_empty: WhenEmpty = WhenEmpty.FULL
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
_INDICATOR_KEYS = {"code", "name", "method", "weight", "curve", "target", "numerator", "denominator",
                   "complement", "facts", "population", "threshold", "when_empty", "penalties",
                   "requirement", "note", "better"}
_SET_KEYS = {"name", "subject", "tiers", "years", "indicators", "extends", "drop", "weights", "grading"}
_TOP_KEYS = {"version", "grading", "consequences", "indicator_sets"}
_SUBJECTS = ("body", "officer")


def _fmt(value) -> str:
    if value is None:
        return "—"
    text = format(value.normalize() if isinstance(value, Decimal) else value, "f")
    return text


class _Collector:
    def __init__(self):
        self.errors: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def number(self, where: str, raw, *, required=True, positive=False) -> Decimal | None:
        if raw is None:
            if required:
                self.add(where, "缺少数值")
            return None
        if isinstance(raw, bool):
            self.add(where, f"应为数值，实际为 {raw!r}")
            return None
        try:
            value = to_decimal(raw)
        except ValueError:
            self.add(where, f"应为数值，实际为 {raw!r}")
            return None
        if positive and value <= 0:
            self.add(where, f"应大于0，实际为 {raw}")
        return value

    def kinds(self, where: str, raw) -> tuple[str, ...]:
        if raw is None:
            return ()
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            self.add(where, "应为考核事实类型列表")
            return ()
        for kind in raw:
            if kind not in FACT_KINDS:
                self.add(where, f"未知的考核事实类型 {kind!r}")
        return tuple(str(k) for k in raw)


def _parse_curve(c: _Collector, where: str, raw, better: str) -> Curve | None:
    if not isinstance(raw, Mapping):
        c.add(where, "缺少评分曲线 curve（linear / threshold / deduct）")
        return None
    try:
        kind = CurveKind(raw.get("kind"))
    except ValueError:
        c.add(where, f"未知的评分曲线 {raw.get('kind')!r}（应为 linear / threshold / deduct）")
        return None
    higher = better == "higher"
    if kind is CurveKind.LINEAR:
        full, zero = c.number(f"{where}.full_at", raw.get("full_at")), c.number(f"{where}.zero_at", raw.get("zero_at"))
        if full is None or zero is None:
            return None
        if full == zero:
            c.add(where, "full_at 与 zero_at 不能相同")
            return None
        if (full > zero) != higher:
            c.add(where, f"曲线方向与 better: {better} 不一致（full_at={_fmt(full)}, zero_at={_fmt(zero)}）")
            return None
        return Curve(kind, higher, full_at=full, zero_at=zero)
    if kind is CurveKind.THRESHOLD:
        at = c.number(f"{where}.at", raw.get("at"))
        return None if at is None else Curve(kind, higher, at=at)
    points = c.number(f"{where}.points", raw.get("points"), positive=True)
    if higher:
        c.add(where, "deduct 曲线只适用于 better: lower（数值越小越好）")
        return None
    return None if points is None else Curve(kind, False, points=points)


def _parse_indicator(c: _Collector, where: str, raw) -> IndicatorDef | None:
    if not isinstance(raw, Mapping):
        c.add(where, "指标应为映射")
        return None
    unknown = set(raw) - _INDICATOR_KEYS
    if unknown:
        c.add(where, f"未知的字段 {sorted(unknown)}")
    code = str(raw.get("code", ""))
    if not _CODE_RE.match(code):
        c.add(where, f"指标代码 {code!r} 应为大写字母、数字和下划线")
    where = f"{where}({code})"
    name = raw.get("name")
    if not name:
        c.add(where, "缺少中文名称 name")
    try:
        method = Method(raw.get("method"))
    except ValueError:
        c.add(where, f"未知的计算方法 {raw.get('method')!r}（应为 {', '.join(m.value for m in Method)}）")
        return None
    better = raw.get("better", "higher")
    if better not in ("higher", "lower"):
        c.add(where, f"better 应为 higher 或 lower，实际为 {better!r}")
        return None
    weight = c.number(f"{where}.weight", raw.get("weight"), positive=True)
    curve = _parse_curve(c, f"{where}.curve", raw.get("curve"), better)
    numerator = c.kinds(f"{where}.numerator", raw.get("numerator"))
    denominator = c.kinds(f"{where}.denominator", raw.get("denominator"))
    facts = c.kinds(f"{where}.facts", raw.get("facts"))
    population = c.kinds(f"{where}.population", raw.get("population"))
    threshold = c.number(f"{where}.threshold", raw.get("threshold"), required=False)
    if method in (Method.RATIO, Method.RATE_PER_100):
        if not numerator or not denominator:
            c.add(where, f"{method.value} 须有 numerator 和 denominator")
        if facts:
            c.add(where, f"{method.value} 不使用 facts，请用 numerator / denominator")
    else:
        if not facts:
            c.add(where, f"{method.value} 须有 facts")
        if numerator or denominator:
            c.add(where, f"{method.value} 不使用 numerator / denominator")
    if method is Method.PER_OFFICER_THRESHOLD and threshold is None:
        c.add(where, "per_officer_threshold 须有 threshold（如每人每年60学时）")
    if raw.get("complement") and method is not Method.RATIO:
        c.add(where, "complement 只适用于 ratio")
    try:
        when_empty = WhenEmpty(raw.get("when_empty", "full"))
    except ValueError:
        c.add(where, f"when_empty 应为 full / zero / exclude，实际为 {raw.get('when_empty')!r}")
        when_empty = WhenEmpty.FULL
    penalties = []
    for i, p in enumerate(raw.get("penalties") or []):
        pw = f"{where}.penalties[{i}]"
        if not isinstance(p, Mapping):
            c.add(pw, "应为 {fact_kind, points}")
            continue
        kinds = c.kinds(f"{pw}.fact_kind", p.get("fact_kind"))
        points = c.number(f"{pw}.points", p.get("points"), positive=True)
        if len(kinds) == 1 and points is not None:
            penalties.append(Penalty(kinds[0], points))
        elif len(kinds) != 1:
            c.add(pw, "fact_kind 应为一个考核事实类型")
    target = c.number(f"{where}.target", raw.get("target"), required=False)
    if weight is None or curve is None or not name or not _CODE_RE.match(code):
        return None
    return IndicatorDef(code=code, name=str(name), method=method, weight=weight, curve=curve, target=target,
                        numerator=numerator, denominator=denominator, complement=bool(raw.get("complement")),
                        facts=facts, population=population, threshold=threshold, when_empty=when_empty,
                        penalties=tuple(penalties), requirement=str(raw.get("requirement", "")),
                        note=str(raw.get("note", "")))


def _parse_grading(c: _Collector, where: str, raw, base: GradingRules | None = None) -> GradingRules:
    base = base or GradingRules()
    if raw is None:
        return base
    if not isinstance(raw, Mapping):
        c.add(where, "grading 应为映射")
        return base
    excellent = c.number(f"{where}.excellent_at", raw.get("excellent_at", base.excellent_at))
    passing = c.number(f"{where}.pass_at", raw.get("pass_at", base.pass_at))
    if excellent is not None and passing is not None and not (0 <= passing < excellent <= 100):
        c.add(where, f"等次分数线应满足 0 ≤ pass_at < excellent_at ≤ 100（pass_at={_fmt(passing)}, excellent_at={_fmt(excellent)}）")
    vetoes = list(base.vetoes)
    if "vetoes" in raw:
        vetoes = []
        for i, v in enumerate(raw.get("vetoes") or []):
            vw = f"{where}.vetoes[{i}]"
            if not isinstance(v, Mapping):
                c.add(vw, "应为映射")
                continue
            kinds = c.kinds(f"{vw}.fact_kind", v.get("fact_kind"))
            try:
                effect = VetoEffect(v.get("effect"))
            except ValueError:
                c.add(vw, f"effect 应为 cap 或 fail，实际为 {v.get('effect')!r}")
                continue
            cap = Grade.FAIL
            if effect is VetoEffect.CAP:
                try:
                    cap = Grade.parse(v.get("cap", "合格"))
                except ValueError as exc:
                    c.add(vw, str(exc))
                    continue
            if not v.get("code") or not v.get("name"):
                c.add(vw, "须有 code 和中文名称 name")
                continue
            min_count = v.get("min_count", 1)
            if not isinstance(min_count, int) or min_count < 1:
                c.add(vw, f"min_count 应为正整数，实际为 {min_count!r}")
                continue
            if len(kinds) == 1:
                vetoes.append(VetoRule(str(v["code"]), str(v["name"]), kinds[0], effect, cap, min_count))
    return GradingRules(excellent if excellent is not None else base.excellent_at,
                        passing if passing is not None else base.pass_at, tuple(vetoes))


def _parse_consequences(c: _Collector, raw) -> ConsequenceRules:
    base = ConsequenceRules()
    if raw is None:
        return base
    if not isinstance(raw, Mapping):
        c.add("consequences", "应为映射")
        return base
    unknown = set(raw) - set(ConsequenceRules.__dataclass_fields__)
    if unknown:
        c.add("consequences", f"未知的字段 {sorted(unknown)}")
    values = {}
    for key in ("rectification_working_days", "officer_measure_working_days"):
        if key in raw:
            if not isinstance(raw[key], int) or isinstance(raw[key], bool) or raw[key] < 1:
                c.add(f"consequences.{key}", f"应为正整数（工作日），实际为 {raw[key]!r}")
            else:
                values[key] = raw[key]
    for key in ("body_publication_scope", "officer_publication_scope"):
        if key in raw:
            values[key] = None if raw[key] is None else str(raw[key])
    return replace(base, **values)


def parse_indicator_config(data: Any, source: str = "<dict>") -> IndicatorConfig:
    """Validate a loaded YAML document and build the configuration; raise IndicatorConfigError."""
    c = _Collector()
    if not isinstance(data, Mapping):
        raise IndicatorConfigError(source, ["文件内容应为映射（version / grading / consequences / indicator_sets）"])
    unknown = set(data) - _TOP_KEYS
    if unknown:
        c.add("(顶层)", f"未知的字段 {sorted(unknown)}")
    grading_raw = data.get("grading") or {}
    default_grading = {s: _parse_grading(c, f"grading.{s}", grading_raw.get(s)) for s in _SUBJECTS}
    consequence_rules = _parse_consequences(c, data.get("consequences"))
    raw_sets = data.get("indicator_sets")
    if not isinstance(raw_sets, list) or not raw_sets:
        c.add("indicator_sets", "须至少有一个指标体系")
        raise IndicatorConfigError(source, c.errors)
    resolved: dict[str, IndicatorSet] = {}
    for i, rs in enumerate(raw_sets):
        where = f"indicator_sets[{i}]"
        if not isinstance(rs, Mapping):
            c.add(where, "应为映射")
            continue
        name = str(rs.get("name", ""))
        where = f"indicator_sets[{i}]({name})"
        if not name:
            c.add(where, "缺少名称 name")
            continue
        if name in resolved:
            c.add(where, "名称重复")
            continue
        unknown = set(rs) - _SET_KEYS
        if unknown:
            c.add(where, f"未知的字段 {sorted(unknown)}")
        subject = rs.get("subject")
        if subject not in _SUBJECTS:
            c.add(where, f"subject 应为 body 或 officer，实际为 {subject!r}")
            continue
        tiers = set()
        for t in rs.get("tiers") or []:
            try:
                tiers.add(Tier(t))
            except ValueError:
                c.add(where, f"未知的层级 {t!r}（应为 province / city / county / township）")
        if not tiers:
            c.add(where, "须列出适用层级 tiers")
        years = rs.get("years") or {}
        year_from, year_to = years.get("from"), years.get("to")
        for label, y in (("from", year_from), ("to", year_to)):
            if y is not None and (not isinstance(y, int) or isinstance(y, bool)):
                c.add(where, f"years.{label} 应为年份整数，实际为 {y!r}")
        if isinstance(year_from, int) and isinstance(year_to, int) and year_from > year_to:
            c.add(where, f"years.from {year_from} 晚于 years.to {year_to}")
        base_grading = default_grading[subject]
        indicators: list[IndicatorDef] = []
        if rs.get("extends"):
            parent = resolved.get(rs["extends"])
            if parent is None:
                c.add(where, f"extends 引用的指标体系 {rs['extends']!r} 不存在或未在此前定义")
                continue
            if parent.subject != subject:
                c.add(where, f"extends 引用的指标体系 {parent.name} 的 subject 不同")
            indicators = list(parent.indicators)
            base_grading = parent.grading
        for j, ri in enumerate(rs.get("indicators") or []):
            ind = _parse_indicator(c, f"{where}.indicators[{j}]", ri)
            if ind is None:
                continue
            indicators = [x for x in indicators if x.code != ind.code] + [ind]
        codes = [x.code for x in indicators]
        for dup in sorted({x for x in codes if codes.count(x) > 1}):
            c.add(where, f"指标代码 {dup} 重复")
        for code in rs.get("drop") or []:
            if code not in codes:
                c.add(f"{where}.drop", f"要去掉的指标 {code} 不存在")
        indicators = [x for x in indicators if x.code not in set(rs.get("drop") or [])]
        for code, w in (rs.get("weights") or {}).items():
            weight = c.number(f"{where}.weights.{code}", w, positive=True)
            if code not in [x.code for x in indicators]:
                c.add(f"{where}.weights", f"要调整权重的指标 {code} 不存在")
            elif weight is not None:
                indicators = [replace(x, weight=weight) if x.code == code else x for x in indicators]
        if not indicators:
            c.add(where, "没有任何指标")
            continue
        total = sum((x.weight for x in indicators), Decimal(0))
        if total != HUNDRED:
            c.add(where, f"权重合计应为100，实际为 {_fmt(total)}（{', '.join(f'{x.code}={_fmt(x.weight)}' for x in indicators)}）")
        grading = _parse_grading(c, f"{where}.grading", rs.get("grading"), base_grading)
        resolved[name] = IndicatorSet(name, subject, frozenset(tiers), year_from, year_to, tuple(indicators), grading)
    sets = list(resolved.values())
    for a_i, a in enumerate(sets):
        for b in sets[a_i + 1:]:
            if a.subject != b.subject or not (a.tiers & b.tiers):
                continue
            lo = max(a.year_from or -10**6, b.year_from or -10**6)
            hi = min(a.year_to or 10**6, b.year_to or 10**6)
            if lo <= hi:
                tiers = ", ".join(sorted(t.value for t in a.tiers & b.tiers))
                c.add("indicator_sets", f"{a.name} 与 {b.name} 在层级 {tiers} 的适用年度重叠")
    if c.errors:
        raise IndicatorConfigError(source, c.errors)
    return IndicatorConfig(tuple(sets), consequence_rules, source, int(data.get("version", 1)))


def load_indicator_config(path: str | Path | None = None) -> IndicatorConfig:
    """Load and validate ``config/evaluation/indicators.yaml`` (or ``path``)."""
    source = Path(path) if path else DEFAULT_INDICATORS_FILE
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise IndicatorConfigError(str(source), [f"YAML 语法错误：{exc}"]) from exc
    return parse_indicator_config(data, str(source))
