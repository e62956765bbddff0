"""Draft decision documents (执法决定书草稿) for legal review's assistance — REQUIREMENTS REV-8 (issue 18).

``config/review/drafts.yaml`` holds one Jinja2 template per action type (``default`` for the others). The
draft is filled with the proposal (parties, 案情摘要, measures, the fine), the legal articles of the matter's
discretion benchmark (违反条款 and 处罚依据) and the benchmark's verdict on the fine; what only the body
can write (the decision number, the date it is signed) is left as a marked blank. Templates are rendered
in Jinja2's sandbox with undefined names refused, so a template naming a value that does not exist fails
when the file is loaded (a sample rendering), not in front of an officer.

Pure: the file's text in, the draft's text out; the day is passed in.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from services.common.configfile import Keyed, check_data

from .assistance import BenchmarkAdvice, MatterBenchmark
from .model import ACTION_TYPE_NAMES_ZH, ACTION_TYPES, MEASURE_NAMES_ZH, PARTY_KIND_NAMES_ZH, Proposal

__all__ = ["DraftTemplate", "DraftsFile", "Draft", "draft_context", "render_draft", "parse_drafts"]

BLANK = "＿＿＿＿"        # what the body fills in by hand (文书号, 签发日期)
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                            keep_trailing_newline=True)


def yuan_zh(amount: Decimal | None) -> str:
    """``Decimal('12000') → '人民币12,000.00元'``."""
    return "" if amount is None else f"人民币{amount:,.2f}元"


def _date_zh(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class DraftTemplate:
    key: str            # an action type, or "default"
    title: str          # e.g. 行政处罚决定书
    template: str       # Jinja2 source


@dataclass(frozen=True)
class Draft:
    template: str
    title: str
    text: str
    blanks: tuple[str, ...]      # what the body still has to write


def draft_context(proposal: Proposal, advice: BenchmarkAdvice, benchmark: MatterBenchmark | None,
                  body_name: str, today: dt.date) -> dict[str, Any]:
    """The values a template may use (all of them always present)."""
    articles = tuple(benchmark.articles) if benchmark is not None else ()
    violated = [a.citation for a in articles if a.role == "违反条款"]
    basis = [a.citation for a in articles if a.role != "违反条款"]
    circumstances = [r for r in (benchmark.circumstances if benchmark else ()) if r.code in advice.matching_circumstances]
    return {
        "body_name": body_name, "decision_no": BLANK, "signed_on": BLANK, "drafted_on": _date_zh(today),
        "case_id": proposal.case_id, "version": proposal.version,
        "action_type": proposal.action_type, "action_type_zh": ACTION_TYPE_NAMES_ZH.get(proposal.action_type, ""),
        "matter_code": proposal.matter_code, "matter_name": (benchmark.name if benchmark else advice.matter_name) or "",
        "parties": [{"name": p.name, "kind_zh": PARTY_KIND_NAMES_ZH[p.party_kind.value], "id_number": p.id_number or ""}
                    for p in proposal.parties],
        "facts": proposal.summary or BLANK,
        "violated_articles": violated, "basis_articles": basis,
        "measures": [MEASURE_NAMES_ZH.get(m, m) for m in proposal.measures],
        "fine": yuan_zh(proposal.fine_amount), "confiscation": yuan_zh(proposal.confiscation_amount),
        "benchmark_found": advice.found,
        "circumstance_names": [r.name for r in circumstances],
        "statutory_range": (f"{yuan_zh(benchmark.statutory_min)}至{yuan_zh(benchmark.statutory_max)}"
                            if benchmark else ""),
        "benchmark_message": advice.message,
        "hearing_held": proposal.hearing_held,
    }


def render_draft(templates: Mapping[str, DraftTemplate], context: Mapping[str, Any]) -> Draft:
    """The draft from the action type's template (or ``default``)."""
    chosen = templates.get(context["action_type"]) or templates["default"]
    text = _ENV.from_string(chosen.template).render(**context)
    blanks = tuple(name for name, value in (("文书号", context["decision_no"]), ("签发日期", context["signed_on"]),
                                            ("案情摘要", context["facts"])) if value == BLANK)
    return Draft(chosen.key, chosen.title, text, blanks)


# -- the file -------------------------------------------------------------------------------------------------
_SAMPLE = None


def _sample_context() -> dict[str, Any]:
    """A complete context to try every template with at load time."""
    global _SAMPLE
    if _SAMPLE is None:
        from .assistance import BenchmarkRange, LegalArticle

        bench = MatterBenchmark("X-1", "示例事项", None, (LegalArticle("《示例法》第一条", "违反条款"),
                                                          LegalArticle("《示例法》第二条", "处罚依据")),
                                Decimal("1000"), Decimal("10000"),
                                (BenchmarkRange("ordinary", "一般处罚", Decimal("1000"), Decimal("10000")),))
        proposal = Proposal(case_id="c", version=1, body_id="b", region_code="320412", action_type="penalty",
                            matter_code="X-1", parties=({"party_kind": "legal", "name": "某公司"},), officer_ids=("o",),
                            proposed_at=dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc), fine_amount=Decimal("5000"))
        advice = BenchmarkAdvice("X-1", True, "示例事项", bench.articles, Decimal("5000"), None, True, True,
                                 ("ordinary",), "示例")
        _SAMPLE = draft_context(proposal, advice, bench, "某机关", dt.date(2026, 1, 5))
    return _SAMPLE


class _Template(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1))
    template = fields.String(required=True, validate=validate.Length(min=1))

    @validates("template")
    def renders(self, value, **kwargs):
        try:
            _ENV.from_string(value).render(**_sample_context())
        except TemplateError as exc:
            raise ValidationError(f"template does not render: {exc}") from None


def _template_key(value: str) -> None:
    if value != "default" and value not in ACTION_TYPES:
        raise ValidationError(f"not an action type (PLAT-5) or 'default': {value!r}")


class DraftsFile(Schema):
    """``config/review/drafts.yaml`` → key → :class:`DraftTemplate` (``default`` required)."""

    schema_version = fields.Integer(strict=True, validate=validate.Equal(1, error="unsupported version"))
    templates = Keyed(fields.Nested(_Template), keys=fields.String(validate=_template_key), required=True)

    @validates("templates")
    def has_default(self, value, **kwargs):
        if "default" not in value:
            raise ValidationError("a 'default' template is required")

    @post_load
    def build(self, data, **kwargs) -> dict[str, DraftTemplate]:
        return {key: DraftTemplate(key, t["title"], t["template"]) for key, t in data["templates"].items()}


def parse_drafts(data: Any, source: str = "<dict>") -> dict[str, DraftTemplate]:
    return check_data(data, DraftsFile, source)
