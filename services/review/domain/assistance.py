"""Review assistance (辅助审核): discretion benchmarks and legal articles — REQUIREMENTS REV-8, REV-3.

Given a proposal and the benchmarks of ``config/review/benchmarks.yaml`` (行政裁量权基准 per matter
code), :func:`benchmark_advice` reports the applicable legal articles and whether the proposed fine
lies within the statutory range and within the benchmark range for the circumstance (从轻/一般/从重).
Only :func:`load_benchmarks` reads a file.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import yaml

from .model import Proposal, format_yuan, to_decimal

__all__ = ["DEFAULT_BENCHMARKS_FILE", "BenchmarkError", "LegalArticle", "BenchmarkRange", "MatterBenchmark",
           "BenchmarkAdvice", "load_benchmarks", "parse_benchmarks", "benchmark_advice"]

DEFAULT_BENCHMARKS_FILE = Path(__file__).resolve().parents[3] / "config" / "review" / "benchmarks.yaml"


class BenchmarkError(ValueError):
    """The benchmarks YAML is invalid."""


@dataclass(frozen=True)
class LegalArticle:
    citation: str  # e.g. 《中华人民共和国大气污染防治法》第九十九条第一项
    role: str      # 违反条款 / 处罚依据 / …


@dataclass(frozen=True)
class BenchmarkRange:
    code: str
    name: str      # 从轻处罚 / 一般处罚 / 从重处罚
    min: Decimal
    max: Decimal
    conditions: str = ""

    def contains(self, amount: Decimal) -> bool:
        return self.min <= amount <= self.max


@dataclass(frozen=True)
class MatterBenchmark:
    matter_code: str
    name: str
    field: str | None
    articles: tuple[LegalArticle, ...]
    statutory_min: Decimal
    statutory_max: Decimal
    circumstances: tuple[BenchmarkRange, ...]


@dataclass(frozen=True)
class BenchmarkAdvice:
    """What the officer and reviewer are shown for one proposal (REV-8)."""

    matter_code: str
    found: bool
    matter_name: str | None
    articles: tuple[LegalArticle, ...]
    fine: Decimal | None
    circumstance: str | None
    within_statutory: bool | None
    within_benchmark: bool | None
    matching_circumstances: tuple[str, ...]
    message: str  # Chinese


def load_benchmarks(path: str | Path | None = None) -> dict[str, MatterBenchmark]:
    source = Path(path) if path else DEFAULT_BENCHMARKS_FILE
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BenchmarkError(f"benchmarks {source}: {exc}") from exc
    return parse_benchmarks(data, str(source))


def parse_benchmarks(data: Any, source: str = "<dict>") -> dict[str, MatterBenchmark]:
    def fail(where, msg):
        raise BenchmarkError(f"benchmarks {source}: {where}: {msg}")

    def keys(m, allowed, where, required=()):
        if not isinstance(m, Mapping):
            fail(where, "expected a mapping")
        extra = sorted(str(k) for k in m if k not in allowed)
        if extra:
            fail(where, f"unknown key(s) {', '.join(extra)}")
        missing = [k for k in required if k not in m]
        if missing:
            fail(where, f"missing key(s) {', '.join(missing)}")

    def money(v, where):
        try:
            amount = None if isinstance(v, str) else to_decimal(v)
        except ValueError:
            amount = None
        if amount is None:
            fail(where, f"expected a non-negative number of yuan, got {v!r}")
        return amount

    keys(data, {"schema_version", "matters"}, "top level", ("matters",))
    if data.get("schema_version", 1) != 1:
        fail("schema_version", "unsupported version")
    matters = data["matters"] or {}
    if not isinstance(matters, Mapping):
        fail("matters", "expected a mapping keyed by matter_code")
    out = {}
    for code, m in matters.items():
        w = f"matters.{code}"
        keys(m, {"name", "field", "articles", "statutory_range", "circumstances"}, w,
             ("name", "articles", "statutory_range"))
        arts = m["articles"]
        if not isinstance(arts, list) or not arts:
            fail(f"{w}.articles", "expected a non-empty list")
        articles = []
        for i, a in enumerate(arts):
            keys(a, {"citation", "role"}, f"{w}.articles[{i}]", ("citation",))
            articles.append(LegalArticle(str(a["citation"]), str(a.get("role") or "")))
        sr = m["statutory_range"]
        keys(sr, {"min", "max"}, f"{w}.statutory_range", ("min", "max"))
        smin, smax = money(sr["min"], f"{w}.statutory_range.min"), money(sr["max"], f"{w}.statutory_range.max")
        if smin > smax:
            fail(f"{w}.statutory_range", f"min {smin} exceeds max {smax}")
        ranges, seen = [], set()
        for i, c in enumerate(m.get("circumstances") or []):
            cw = f"{w}.circumstances[{i}]"
            keys(c, {"code", "name", "min", "max", "conditions"}, cw, ("code", "name", "min", "max"))
            lo, hi = money(c["min"], f"{cw}.min"), money(c["max"], f"{cw}.max")
            if lo > hi:
                fail(cw, f"min {lo} exceeds max {hi}")
            if lo < smin or hi > smax:
                fail(cw, f"range {lo}–{hi} lies outside the statutory range {smin}–{smax}")
            if c["code"] in seen:
                fail(cw, f"duplicate circumstance code {c['code']!r}")
            seen.add(c["code"])
            ranges.append(BenchmarkRange(str(c["code"]), str(c["name"]), lo, hi, str(c.get("conditions") or "")))
        out[str(code)] = MatterBenchmark(str(code), str(m["name"]), m.get("field"), tuple(articles), smin, smax,
                                         tuple(ranges))
    return out


def benchmark_advice(proposal: Proposal, benchmarks: Mapping[str, MatterBenchmark],
                     circumstance: str | None = None) -> BenchmarkAdvice:
    """Legal articles and the fine's position against the benchmark for ``proposal.matter_code`` (REV-8).

    With ``circumstance`` (a range code such as ``lighter``) the fine is compared with that range; without
    it, ``matching_circumstances`` lists every range containing the fine (bounds inclusive).
    """
    b = benchmarks.get(proposal.matter_code)
    fine = proposal.fine_amount
    if b is None:
        return BenchmarkAdvice(proposal.matter_code, False, None, (), fine, circumstance, None, None, (),
                               f"执法事项{proposal.matter_code}未配置裁量基准，请审核人员对照法律规定审查")
    cites = "；".join(f"{a.citation}（{a.role}）" if a.role else a.citation for a in b.articles)
    if fine is None:
        return BenchmarkAdvice(b.matter_code, True, b.name, b.articles, None, circumstance, None, None, (),
                               f"适用条款：{cites}。本案未拟处罚款")
    within_stat = b.statutory_min <= fine <= b.statutory_max
    matching = tuple(r.code for r in b.circumstances if r.contains(fine))
    parts = [f"适用条款：{cites}",
             f"拟处罚款{format_yuan(fine)}，法定幅度{format_yuan(b.statutory_min)}至{format_yuan(b.statutory_max)}"
             + ("" if within_stat else "，超出法定幅度")]
    if circumstance is not None:
        chosen = next((r for r in b.circumstances if r.code == circumstance), None)
        if chosen is None:
            raise ValueError(f"matter {b.matter_code} has no benchmark circumstance {circumstance!r}")
        within = chosen.contains(fine)
        parts.append(f"{chosen.name}基准{format_yuan(chosen.min)}至{format_yuan(chosen.max)}，"
                     + ("在基准范围内" if within else "不在基准范围内，应说明理由"))
    elif b.circumstances:
        within = bool(matching)
        names = "、".join(r.name for r in b.circumstances if r.code in matching)
        parts.append(f"属于{names}基准范围" if matching else "不在任何裁量基准范围内")
    else:
        within = None
    return BenchmarkAdvice(b.matter_code, True, b.name, b.articles, fine, circumstance, within_stat, within,
                           matching, "；".join(parts))
