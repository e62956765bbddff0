"""Routing a complaint to the unit that handles it (投诉举报的办理机关, CMP-8).

The rules are local practice and therefore configuration (``config/complaints/routing.yaml``):

=====================  ==================================================================
case                   default target
=====================  ==================================================================
department             legal office (司法行政部门/政府法制机构) of the government at the same tier
county_government      legal office of the government one tier up (county → city)
multiple_bodies        legal office of the common superior (region-wise common ancestor)
authorised_org         its competent department (主管部门)
entrusted_org          legal office at the entrusting body's tier (acts in the entruster's name)
officer_conduct        the legal office (法制机构) of the officer's own body
=====================  ==================================================================

Invariant: a complaint is NEVER routed to a body complained about. When the government legal office
at the chosen tier is itself complained about (e.g. a 司法局 acting as enforcement body), or the
tier has no legal office (townships by default), the route moves up a tier; when nothing is left,
:class:`RoutingError` is raised — the case needs coordination (COORD-2).
"""
from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field

from marshmallow import Schema, ValidationError, fields, post_load, validate

from services.common.configfile import Code, Keyed, load_config_file
from services.common.identifiers import Tier, is_region_code, parent_region, region_tier

from .config import config_path
from .model import BodyKind, Subject

CASES = ("department", "county_government", "authorised_org", "entrusted_org", "multiple_bodies",
         "officer_conduct")


class RouteTarget(str, enum.Enum):
    """What kind of unit a complaint goes to."""

    GOVERNMENT_LEGAL_OFFICE = "government_legal_office"  # 人民政府司法行政部门（政府法制机构）
    COMPETENT_DEPARTMENT = "competent_department"        # 主管部门
    BODY_LEGAL_OFFICE = "body_legal_office"              # 执法主体内设法制机构


_SPEC_TARGETS = {"government_legal_office", "competent_department", "own_body_legal_office",
                 "common_superior_legal_office"}


class RoutingError(ValueError):
    """No lawful route can be found; ``message`` is Chinese, shown to the handler."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Route:
    """Where a complaint goes: ``target_body_id`` is None when the office's id is not configured."""

    target_kind: RouteTarget
    target_region_code: str
    target_body_id: str | None
    description: str
    case: str = ""


@dataclass(frozen=True)
class RouteRule:
    target: str
    of: str = "body"
    levels_up: int = 0
    description: str = ""


@dataclass(frozen=True)
class RoutingRules:
    """Parsed ``routing.yaml``."""

    rules: dict[str, RouteRule]
    legal_office_tiers: frozenset[Tier] = frozenset({Tier.PROVINCE, Tier.CITY, Tier.COUNTY})
    legal_offices: dict[str, str] = field(default_factory=dict)  # region code → body id of its 司法行政部门


def _placeholders(description: str) -> None:
    try:
        description.format(region="320000", body="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationError(f"may use only {{region}} and {{body}}: {exc}") from None


def _region_code(value: str) -> None:
    if not is_region_code(value):
        raise ValidationError("not an administrative division code (quote it in YAML)")


class _RouteRule(Schema):
    target = fields.String(required=True, validate=validate.OneOf(sorted(_SPEC_TARGETS)))
    of = fields.String(load_default="body", validate=validate.OneOf(["body", "competent_department"]))
    levels_up = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=3))
    description = fields.String(required=True, validate=_placeholders)

    @post_load
    def build(self, data, **kwargs) -> RouteRule:
        return RouteRule(**data)


class _Rules(Schema):
    department = fields.Nested(_RouteRule, required=True)
    county_government = fields.Nested(_RouteRule, required=True)
    authorised_org = fields.Nested(_RouteRule, required=True)
    entrusted_org = fields.Nested(_RouteRule, required=True)
    multiple_bodies = fields.Nested(_RouteRule, required=True)
    officer_conduct = fields.Nested(_RouteRule, required=True)


def _includes_province(tiers: list) -> None:
    if Tier.PROVINCE not in tiers:
        raise ValidationError("must include province")


class _RoutingFile(Schema):
    rules = fields.Nested(_Rules, required=True)
    legal_office_tiers = fields.List(fields.Enum(Tier, by_value=True), validate=_includes_province,
                                     load_default=[Tier.PROVINCE, Tier.CITY, Tier.COUNTY])
    legal_offices = Keyed(fields.String(validate=validate.Length(min=1)), keys=Code(validate=_region_code),
                          load_default=dict)

    @post_load
    def build(self, data, **kwargs) -> RoutingRules:
        return RoutingRules({case: data["rules"][case] for case in CASES}, frozenset(data["legal_office_tiers"]),
                            dict(data["legal_offices"]))


def load_routing_rules(path: str | os.PathLike | None = None) -> RoutingRules:
    """Read and validate ``config/complaints/routing.yaml``."""
    return load_config_file(config_path("routing.yaml", path), _RoutingFile)


def complained_bodies(subject: Subject) -> frozenset[str]:
    """The bodies complained about (被投诉主体): the body, every other body that acted, and for an
    entrusted organisation its entrusting body (it acts in that body's name).

    A complaint only about an officer's personal conduct complains about the officer, not the body.
    """
    if subject.about_officer_conduct and subject.officer_ids and not subject.other_bodies:
        return frozenset()
    bodies = {subject.body_id, *subject.other_body_ids}
    if subject.body_kind is BodyKind.ENTRUSTED_ORG and subject.competent_department_id:
        bodies.add(subject.competent_department_id)
    return frozenset(b for b in bodies if b)


def routing_case(subject: Subject) -> str:
    """Which CMP-8 case applies: multiple bodies first, then officer conduct, then the body kind."""
    if subject.other_bodies:
        return "multiple_bodies"
    if subject.about_officer_conduct and subject.officer_ids:
        return "officer_conduct"
    return subject.body_kind.value


def common_ancestor(codes: list[str]) -> str | None:
    """The lowest region that covers every code (GB/T 2260 prefixes), or None across provinces."""
    chains = []
    for code in codes:
        chain, current = [], code
        while current is not None:
            chain.append(current)
            current = parent_region(current)
        chains.append(chain)
    common = set(chains[0]).intersection(*chains[1:])
    for code in chains[0]:  # from the lowest tier up
        if code in common:
            return code
    return None


def _supervising_region(region: str, kind: BodyKind) -> str:
    """The region whose government supervises a body: a government → the tier above; others → own tier."""
    if kind is BodyKind.COUNTY_GOVERNMENT:
        parent = parent_region(region)
        if parent is None:
            raise RoutingError("投诉涉及省级人民政府的行为，不属于本系统路由范围，请报上级协调")
        return parent
    return region


def _up(region: str, levels: int) -> str:
    for _ in range(levels):
        parent = parent_region(region)
        if parent is None:
            raise RoutingError("投诉涉及省级人民政府的行为，不属于本系统路由范围，请报上级协调")
        region = parent
    return region


def _government_legal_office(region: str, rule: RouteRule, rules: RoutingRules,
                             complained: frozenset[str], case: str) -> Route:
    notes = []
    while True:
        if region_tier(region) not in rules.legal_office_tiers:
            parent = parent_region(region)
            if parent is None:  # unreachable: province is always a legal-office tier
                raise RoutingError("未找到可办理的司法行政部门")
            notes.append("该层级未设司法行政部门，由上一级办理")
            region = parent
            continue
        office = rules.legal_offices.get(region)
        if office is not None and office in complained:
            parent = parent_region(region)
            if parent is None:
                raise RoutingError("被投诉主体即省级司法行政部门，须报请省级人民政府协调办理")
            notes.append("同级司法行政部门即被投诉主体，由上一级办理")
            region = parent
            continue
        break
    text = rule.description.format(region=region, body=office or "")
    if notes:
        text += "（" + "；".join(dict.fromkeys(notes)) + "）"
    return Route(RouteTarget.GOVERNMENT_LEGAL_OFFICE, region, office, text, case)


def route(subject: Subject | None, rules: RoutingRules | None = None) -> Route:
    """The unit that should handle a complaint about ``subject`` (CMP-8). Never a complained body."""
    rules = rules or load_routing_rules()
    if subject is None or not subject.body_id.strip():
        if subject is not None and subject.officer_ids:
            raise RoutingError("须先查明被投诉执法人员所在的执法主体，才能确定办理机关")
        raise RoutingError("未明确被投诉的执法主体，无法确定办理机关")
    case = routing_case(subject)
    rule = rules.rules[case]
    complained = complained_bodies(subject)

    if rule.target == "government_legal_office":
        if rule.of == "competent_department":
            if not subject.competent_department_id:
                raise RoutingError("未登记该组织的委托机关或主管部门，无法确定办理机关")
            base = subject.competent_department_region_code or subject.body_region_code
        else:
            base = subject.body_region_code
        result = _government_legal_office(_up(base, rule.levels_up), rule, rules, complained, case)
    elif rule.target == "common_superior_legal_office":
        regions = [_supervising_region(subject.body_region_code, subject.body_kind)]
        regions += [_supervising_region(b.region_code, b.kind) for b in subject.other_bodies]
        ancestor = common_ancestor(regions)
        if ancestor is None:
            raise RoutingError("被投诉的执法主体分属不同省份，无共同上级，须报请协调确定办理机关（COORD-2）")
        result = _government_legal_office(ancestor, rule, rules, complained, case)
    elif rule.target == "competent_department":
        if not subject.competent_department_id:
            raise RoutingError("未登记该组织的主管部门，无法确定办理机关")
        region = subject.competent_department_region_code or subject.body_region_code
        result = Route(RouteTarget.COMPETENT_DEPARTMENT, region, subject.competent_department_id,
                       rule.description.format(region=region, body=subject.competent_department_id), case)
    else:  # own_body_legal_office
        result = Route(RouteTarget.BODY_LEGAL_OFFICE, subject.body_region_code, subject.body_id,
                       rule.description.format(region=subject.body_region_code, body=subject.body_id), case)

    if result.target_body_id is not None and result.target_body_id in complained:
        raise RoutingError(f"按规则（{case}）将转至被投诉主体本身办理，违反回避要求，请调整路由配置")
    return result
