"""Identifiers: administrative division codes and tiers (PLAT-1), party identifiers (PLAT-8).

- Region codes follow GB/T 2260: 6 digits for province/city/county, 9 digits for
  townships and streets (乡镇街道, the 6-digit county code plus 3 digits).
- Resident identity numbers follow GB 11643-1999 (ISO 7064 MOD 11-2 check character).
- Unified social credit codes (统一社会信用代码) follow GB 32100-2015 (MOD 31 check character).
"""
from __future__ import annotations

import datetime as dt
import enum
import re


class Tier(str, enum.Enum):
    """Administrative tier (层级): 省 province, 市 city, 县 county, 乡 township."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


_REGION_RE = re.compile(r"^\d{6}(\d{3})?$")


def is_region_code(code: str) -> bool:
    return bool(isinstance(code, str) and _REGION_RE.match(code)) and code[:2] != "00"


def region_tier(code: str) -> Tier:
    if not is_region_code(code):
        raise ValueError(f"not an administrative division code: {code!r}")
    if len(code) == 9:
        return Tier.TOWNSHIP
    if code[2:] == "0000":
        return Tier.PROVINCE
    if code[4:] == "00":
        return Tier.CITY
    return Tier.COUNTY


def parent_region(code: str) -> str | None:
    """The code of the tier above (township → county → city → province → None)."""
    tier = region_tier(code)
    if tier is Tier.TOWNSHIP:
        return code[:6]
    if tier is Tier.COUNTY:
        return code[:4] + "00"
    if tier is Tier.CITY:
        return code[:2] + "0000"
    return None


def region_prefix(code: str) -> str:
    """The prefix every code under ``code`` (itself included) starts with."""
    tier = region_tier(code)
    return {Tier.PROVINCE: code[:2], Tier.CITY: code[:4], Tier.COUNTY: code[:6], Tier.TOWNSHIP: code}[tier]


def region_covers(scope: str, code: str) -> bool:
    """True when a user scoped to ``scope`` may see data of region ``code`` (PLAT-1, COORD-4).

    A province covers all its cities, counties and townships; a city its counties and townships;
    a county itself and its townships; a township only itself.
    """
    if not (is_region_code(scope) and is_region_code(code)):
        return False
    return code.startswith(region_prefix(scope))


# --- GB 11643 resident identity number ---------------------------------------------------------
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


def resident_id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS)) % 11]


def validate_resident_id(value: str) -> str | None:
    """Return an error message (Chinese, shown to people) or None when the number is valid."""
    value = (value or "").strip().upper()
    if not _ID_RE.match(value):
        return "居民身份证号码应为18位，前17位为数字，末位为数字或X"
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "居民身份证号码中的出生日期无效"
    if resident_id_check_char(value[:17]) != value[17]:
        return "居民身份证号码校验位错误"
    return None


# --- GB 32100 unified social credit code -------------------------------------------------------
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str | None:
    """Return an error message or None when the unified social credit code is valid."""
    value = (value or "").strip().upper()
    if len(value) != 18 or any(c not in _USCC_ALPHABET for c in value):
        return "统一社会信用代码应为18位，由数字和大写字母（不含I、O、Z、S、V）组成"
    if uscc_check_char(value[:17]) != value[17]:
        return "统一社会信用代码校验位错误"
    return None


def city_of(region_code: str) -> str:
    """The city (设区市/地级) code a region belongs to — where its suite runs (a province maps to
    itself). The downward tier link routes on it (services/common/federation.py)."""
    return region_code[:4] + "00" if region_code[2:6] != "0000" else region_code[:6]
