"""What the body directory (执法主体库) and the rule files tell about a complaint's handling unit
(办理机关, CMP-8): which unit handles it and under which name. Pure: the name a body has in the
directory is passed in by the caller."""
from __future__ import annotations

from services.common import regions

from .config import ConfigError
from .channels import load_channels
from .lifecycle import Handler
from .routing import Route, RouteTarget, load_routing_rules


def region_name(region_code: str) -> str:
    """The region's name from the published channels (channels.yaml), else its GB/T 2260 name
    (江苏省常州市武进区, services/common/regions.py; issue 19 — it read 地区320412)."""
    try:
        entry = load_channels().regions.get(region_code[:6]) or {}
    except ConfigError:
        entry = {}
    return entry.get("name") or regions.region_label(region_code[:6])


def legal_office_id(region_code: str) -> str:
    """Body id of a region's legal office (司法行政部门): configured in routing.yaml, else ``<region>-SFJ``."""
    return load_routing_rules().legal_offices.get(region_code) or f"{region_code}-SFJ"


def competent_department(kind: str, entrusting_body_id: str | None, superior_body_id: str | None) -> str | None:
    """The competent department (主管部门) of a body as the directory knows it: an entrusted organisation's
    is the body that entrusted it (委托机关), an authorised organisation's its superior; others have none."""
    if kind == "entrusted_org":
        return entrusting_body_id
    if kind == "authorised_org":
        return superior_body_id
    return None


def handling_unit(route: Route | None, filing_region: str, known_name: str | None = None) -> Handler:
    """The unit that handles a complaint on ``route`` (never the body complained about: domain routing);
    without a route, the legal office of the filing region's county (or higher) registers and sorts it.
    ``known_name``: the directory's name of the route's target body, if it is known."""
    if route is None:
        region = filing_region[:6]
        return Handler(legal_office_id(region), region, f"{region_name(region)}司法行政部门（投诉举报受理）")
    region = route.target_region_code
    if route.target_kind is RouteTarget.GOVERNMENT_LEGAL_OFFICE:
        return Handler(route.target_body_id or legal_office_id(region), region, f"{region_name(region)}司法行政部门")
    if route.target_kind is RouteTarget.COMPETENT_DEPARTMENT:
        name = known_name if known_name is not None else f"主管部门 {route.target_body_id}"
        return Handler(route.target_body_id, region, name)
    name = known_name if known_name is not None else route.target_body_id
    return Handler(f"{route.target_body_id}-FZJG", region, f"{name}法制机构")
