"""Acceptance of a complaint (受理审查) — REQUIREMENTS CMP-3, CMP-4, CMP-8 (and CMP-6 tagging).

A complaint is acceptable (属于受理范围) when
1. the body or officer complained about is identifiable (被投诉主体或人员明确);
2. there is a concrete request (诉求) with facts and reasons (事实和理由);
3. the matter is in scope — not in an out-of-scope category of ``config/complaints/acceptance.yaml``
   (criminal cases, disputes between citizens, matters for the courts, …);
4. it is not already under administrative reconsideration or litigation (已申请复议或提起诉讼).

:func:`assess` proposes; a person decides. A decision not to accept MUST state its reason
(:func:`decide_not_accepted` refuses an empty one) because the reason is told to the complainant
and written into the register (CMP-4). Keywords in the rule file only raise *warnings* for the
handler to check: a word such as 刑事 in a complaint about an officer is no ground for refusal.
Routing (CMP-8) lives in :mod:`.routing` and is re-exported here.
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.configfile import load_config_file
from services.common.identifiers import region_covers, validate_resident_id

from .config import config_path
from .model import Complaint
from .routing import (Route, RouteTarget, RoutingError, RoutingRules, complained_bodies, load_routing_rules,
                      route)

__all__ = [
    "AcceptanceRules", "Assessment", "NotAccepted", "OutOfScopeCategory", "ReasonRequired", "Route",
    "RouteTarget", "RoutingError", "assess", "complained_bodies", "decide_not_accepted", "load_acceptance_rules",
    "route", "load_routing_rules", "TAG_PRIVATE_ENTERPRISE",
]

TAG_PRIVATE_ENTERPRISE = "private_enterprise"  # 涉民营企业 (CMP-6)

@dataclass(frozen=True)
class OutOfScopeCategory:
    """An out-of-scope category (不属于受理范围的事项)."""

    code: str
    name: str
    reason: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class AcceptanceRules:
    min_request_chars: int
    min_facts_chars: int
    out_of_scope: tuple[OutOfScopeCategory, ...]
    messages: dict[str, str]

    def category(self, code: str) -> OutOfScopeCategory | None:
        return next((c for c in self.out_of_scope if c.code == code), None)


_TEXT = dict(required=True, validate=validate.Regexp(r"\S", error="must be a non-empty text"))


class _Messages(Schema):
    no_subject = fields.String(**_TEXT)
    no_request = fields.String(**_TEXT)
    no_facts = fields.String(**_TEXT)
    under_reconsideration_or_litigation = fields.String(**_TEXT)


class _OutOfScope(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1))
    name = fields.String(required=True)
    reason = fields.String(required=True)
    keywords = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)

    @post_load
    def build(self, data, **kwargs) -> OutOfScopeCategory:
        return OutOfScopeCategory(data["code"], data["name"], data["reason"], tuple(data["keywords"]))


class _AcceptanceFile(Schema):
    min_request_chars = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    min_facts_chars = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    messages = fields.Nested(_Messages, required=True)
    out_of_scope = fields.List(fields.Nested(_OutOfScope), required=True)

    @validates_schema
    def codes_unique(self, data, **kwargs):
        codes = [c.code for c in data.get("out_of_scope", ())]
        if len(codes) != len(set(codes)):
            raise ValidationError("duplicate codes", "out_of_scope")

    @post_load
    def build(self, data, **kwargs) -> AcceptanceRules:
        return AcceptanceRules(data["min_request_chars"], data["min_facts_chars"], tuple(data["out_of_scope"]),
                               dict(data["messages"]))


def load_acceptance_rules(path: str | os.PathLike | None = None) -> AcceptanceRules:
    """Read and validate ``config/complaints/acceptance.yaml``."""
    return load_config_file(config_path("acceptance.yaml", path), _AcceptanceFile)


@dataclass(frozen=True)
class Assessment:
    """The proposed acceptance decision (受理审查意见).

    ``reasons``: grounds for not accepting (Chinese), empty when acceptable.
    ``warnings``: points the handler must check (Chinese), never grounds by themselves.
    ``suggested_route``: where the complaint should be handled (CMP-8), None if undeterminable.
    ``tags``: e.g. ``private_enterprise`` (CMP-6). ``out_of_scope``: category codes that applied.
    """

    acceptable: bool
    reasons: tuple[str, ...]
    suggested_route: Route | None
    warnings: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    out_of_scope: tuple[str, ...] = ()

    @property
    def reason_text(self) -> str:
        """The reasons as one sentence for a 不予受理告知."""
        return "；".join(self.reasons)


def _meaningful_length(text: str | None) -> int:
    """Characters that carry content: letters, digits, CJK (punctuation and spaces excluded)."""
    normal = unicodedata.normalize("NFKC", text or "")
    return sum(1 for ch in normal if ch.isalnum())


def assess(complaint: Complaint, rules: AcceptanceRules | None = None,
           routing_rules: RoutingRules | None = None) -> Assessment:
    """Propose whether ``complaint`` is to be accepted, why not, and where it should go (CMP-3/4/8)."""
    rules = rules or load_acceptance_rules()
    reasons: list[str] = []
    warnings: list[str] = []
    out_of_scope: list[str] = []

    subject = complaint.subject
    if subject is None or not subject.identifiable:
        reasons.append(rules.messages["no_subject"])
    if _meaningful_length(complaint.request) < rules.min_request_chars:
        reasons.append(rules.messages["no_request"])
    if _meaningful_length(complaint.facts) < rules.min_facts_chars:
        reasons.append(rules.messages["no_facts"])
    if complaint.flags.under_reconsideration_or_litigation:
        reasons.append(rules.messages["under_reconsideration_or_litigation"])

    for code in complaint.categories:
        category = rules.category(code)
        if category is None:
            warnings.append(f"事项分类“{code}”未在受理范围规则中定义，请核实")
            continue
        out_of_scope.append(code)
        reasons.append(category.reason)

    text = f"{complaint.request}\n{complaint.facts}"
    for category in rules.out_of_scope:
        if category.code in out_of_scope:
            continue
        hits = [k for k in category.keywords if k in text]
        if hits:
            warnings.append(f"内容涉及“{'、'.join(hits)}”，可能属于{category.name}，请核实是否属于受理范围")

    person = complaint.complainant
    if not (person.phone or "").strip() and not (person.address or "").strip():
        warnings.append("投诉人未留联系电话或通信地址，受理情况和办理结果可能无法告知")
    if person.id_number:
        error = validate_resident_id(person.id_number)
        if error:
            warnings.append(f"投诉人身份证号码有误：{error}")

    suggested: Route | None = None
    if subject is not None and subject.identifiable:
        try:
            suggested = route(subject, routing_rules)
        except RoutingError as exc:
            warnings.append(exc.message)
    if suggested is not None and not region_covers(complaint.region_code, suggested.target_region_code):
        warnings.append(f"本投诉应转办：{suggested.description}")

    tags = (TAG_PRIVATE_ENTERPRISE,) if complaint.flags.against_private_enterprise else ()
    return Assessment(not reasons, tuple(dict.fromkeys(reasons)), suggested, tuple(warnings), tags,
                      tuple(out_of_scope))


class ReasonRequired(ValueError):
    """A 不予受理 decision was attempted without a reason (CMP-4)."""


@dataclass(frozen=True)
class NotAccepted:
    """不予受理决定: the reason is told to the complainant and recorded in the register (CMP-4)."""

    reason: str


def decide_not_accepted(reason: str | None) -> NotAccepted:
    """Make a not-accepted decision; raise :class:`ReasonRequired` if ``reason`` is empty or blank."""
    text = (reason or "").strip()
    if not text:
        raise ReasonRequired("不予受理必须说明理由（CMP-4）")
    return NotAccepted(text)
