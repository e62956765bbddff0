"""Review assistance (辅助审核): discretion benchmarks and legal articles — REQUIREMENTS REV-8, REV-3.

Given a proposal and the benchmarks of ``config/review/benchmarks.yaml`` (行政裁量权基准 per matter
code), :func:`benchmark_advice` reports the applicable legal articles and whether the proposed fine
lies within the statutory range and within the benchmark range for the circumstance (从轻/一般/从重).
Pure: :class:`BenchmarksFile` / :func:`parse_benchmarks` check plain data (the file is read by
services/review/configuration.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.configfile import Code, ConfigFileError, Keyed, check_data

from .catalogue import Yuan
from .model import Proposal, format_yuan

__all__ = ["BenchmarkError", "BenchmarksFile", "LegalArticle", "BenchmarkRange", "MatterBenchmark",
           "BenchmarkAdvice", "parse_benchmarks", "benchmark_advice"]



BenchmarkError = ConfigFileError   # ``config/review/benchmarks.yaml`` is invalid


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


class _Article(Schema):
    citation = fields.String(required=True, validate=validate.Length(min=1))
    role = fields.String(load_default="", allow_none=True)

    @post_load
    def build(self, data, **kwargs) -> LegalArticle:
        return LegalArticle(data["citation"], data["role"] or "")


class _Range(Schema):
    min = Yuan(required=True, zero=True)
    max = Yuan(required=True, zero=True)

    @validates_schema
    def ordered(self, data, **kwargs):
        if data["min"] > data["max"]:
            raise ValidationError(f"min {data['min']} exceeds max {data['max']}")


class _Circumstance(_Range):
    code = fields.String(required=True, validate=validate.Length(min=1))
    name = fields.String(required=True, validate=validate.Length(min=1))
    conditions = fields.String(load_default="", allow_none=True)


class _Matter(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    field = fields.String(allow_none=True, load_default=None)
    articles = fields.List(fields.Nested(_Article), required=True, validate=validate.Length(min=1))
    statutory_range = fields.Nested(_Range, required=True)
    circumstances = fields.List(fields.Nested(_Circumstance), load_default=list)

    @validates_schema
    def within_statute(self, data, **kwargs):
        smin, smax = data["statutory_range"]["min"], data["statutory_range"]["max"]
        errors, seen = {}, set()
        for i, c in enumerate(data["circumstances"]):
            if c["min"] < smin or c["max"] > smax:
                errors[i] = [f"range {c['min']}–{c['max']} lies outside the statutory range {smin}–{smax}"]
            elif c["code"] in seen:
                errors[i] = [f"duplicate circumstance code {c['code']!r}"]
            seen.add(c["code"])
        if errors:
            raise ValidationError({"circumstances": errors})


class BenchmarksFile(Schema):
    """``config/review/benchmarks.yaml`` → matter code → :class:`MatterBenchmark`."""

    schema_version = fields.Integer(strict=True, validate=validate.Equal(1, error="unsupported version"))
    matters = Keyed(fields.Nested(_Matter), keys=Code(validate=validate.Length(min=1)), required=True)

    @post_load
    def build(self, data, **kwargs) -> dict[str, MatterBenchmark]:
        return {code: MatterBenchmark(
            code, m["name"], m["field"], tuple(m["articles"]), m["statutory_range"]["min"],
            m["statutory_range"]["max"],
            tuple(BenchmarkRange(c["code"], c["name"], c["min"], c["max"], c["conditions"] or "")
                  for c in m["circumstances"]))
            for code, m in data["matters"].items()}


def parse_benchmarks(data: Any, source: str = "<dict>") -> dict[str, MatterBenchmark]:
    return check_data(data, BenchmarksFile, source)


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
