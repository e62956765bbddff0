"""The suite's place among the tiers (PLAT-1): its tier, its region, its links — and which link an
event between tiers may arrive on (issue 23).

Configuration (deploy/compose/*.env, the k8s overlays' ``zhifa-settings``):

- ``ZHIFA_TIER``: ``province`` or ``city`` (省级 / 市级 suite; counties and townships are tenants of
  their city's suite);
- ``ZHIFA_SUITE_REGION``: the suite's GB/T 2260 code (320000 for 江苏省, 320400 for 常州市);
- ``ZHIFA_CITIES`` (province only): the city suites linked to it, comma-separated (320400,320200);
- ``ZHIFA_LINK_USER_TEMPLATE``: the broker user of a city's link, ``zhifa-link-{city}`` by default —
  one user per city link, the same on both brokers of the link (deploy/broker definitions).

Each link's shovels publish with ``dest-publish-properties: {user_id: <link user>}``, and RabbitMQ
refuses a ``user_id`` that is not the publishing connection's user, so at the receiving suite the
``user_id`` of a message on ``upward.events`` / ``downward.events`` names the link it came through.
An event between tiers is accepted only when its region belongs to that link's city: a city cannot
speak for another city, and a province's directive for another city is not taken.

Copies the suite itself publishes again (retries, dead-letter replays) carry the suite's own
``user_id`` and the link the original came through in ``x-zhifa-link`` (set once the original passed
this check); only the suite's own broker user can publish with that ``user_id``.
"""
from __future__ import annotations

from services.common import settings
from services.common.config_catalogue import declaration
from services.common.identifiers import is_region_code, region_covers

PROVINCE, CITY = "province", "city"
LINK_HEADER = "x-zhifa-link"
DEFAULT_LINK_USER_TEMPLATE = declaration("ZHIFA_LINK_USER_TEMPLATE").default


class TierConfigError(settings.SettingError):
    """A tier setting that is unusable (``ZHIFA_…: message``)."""


def tier() -> str:
    return settings.get("ZHIFA_TIER")         # declared: city or province


def is_province() -> bool:
    return tier() == PROVINCE


def suite_region() -> str | None:
    """The suite's own region code, or None when not configured (an embedded development suite)."""
    value = settings.get("ZHIFA_SUITE_REGION")
    if not value:
        return None
    if not is_region_code(value) or len(value) != 6:
        raise TierConfigError(f"ZHIFA_SUITE_REGION must be a 6-digit GB/T 2260 code, not {value!r}")
    return value


def linked_cities() -> tuple[str, ...]:
    """The city suites linked to this province suite (``ZHIFA_CITIES``); none at a city."""
    cities = tuple(sorted(set(settings.get("ZHIFA_CITIES"))))
    for city in cities:
        if not (is_region_code(city) and len(city) == 6 and city.endswith("00") and city[2:4] != "00"):
            raise TierConfigError(f"ZHIFA_CITIES: {city!r} is not a city code (e.g. 320400)")
    return cities


def link_user(city: str) -> str:
    """The broker user of the link between ``city`` and its province."""
    template = settings.get("ZHIFA_LINK_USER_TEMPLATE")
    return template.format(city=city)


def judged_here(region_code: str) -> bool:
    """Whether this suite judges (scores, grades, holds to account) a subject of ``region_code``: a
    province leaves everything of its linked cities' regions to the city suites (they judge their own
    bodies and send their final grades up); a city judges everything it holds."""
    if not is_province():
        return True
    return not any(region_covers(city, region_code) for city in linked_cities())


def city_judging(region_code: str) -> str | None:
    """At a province: the linked city whose suite judges a subject of ``region_code`` (else None)."""
    if not is_province():
        return None
    for city in linked_cities():
        if region_covers(city, region_code):
            return city
    return None


def link_of(user_id: str | None, headers: dict | None, internal_user: str, candidates) -> str | None:
    """The city of the link a message came through: its ``user_id`` is that link's broker user, or
    it is the suite's own copy (``user_id`` = the suite's user) naming the link in ``x-zhifa-link``."""
    if not user_id:
        return None
    if user_id == internal_user:
        city = str((headers or {}).get(LINK_HEADER) or "")
        return city if city in candidates else None
    for city in candidates:
        if user_id == link_user(city):
            return city
    return None


def upward_refusal(event, user_id: str | None, headers: dict | None, internal_user: str) -> tuple[str | None, str | None]:
    """(city, None) when an upward event may be accepted, (None, reason) when not: only a province
    takes upward events, only through the link of a configured city, and only for that city's
    regions (a tree head only for that city's log, ``records.<city>``)."""
    if not is_province():
        return None, "本套系统不是省级，不接收下级上报的事件（ZHIFA_TIER）"
    cities = linked_cities()
    city = link_of(user_id, headers, internal_user, cities)
    if city is None:
        return None, (f"上报事件未经已登记的级联链路到达（user_id={user_id or '无'}；"
                      f"已登记的市：{', '.join(cities) or '无'}）")
    if not region_covers(city, event.region_code):
        return None, f"经 {city} 链路上报的事件属于区划 {event.region_code}，不属于该市：一个市不能代替另一个市报送"
    log_id = (event.payload or {}).get("log_id") if event.event_type.startswith("record.") else None
    if log_id is not None and log_id != f"records.{city}":
        return None, f"经 {city} 链路上报的树头属于日志 {log_id}，不属于该市（应为 records.{city}）"
    return city, None


def downward_refusal(event, user_id: str | None, headers: dict | None, internal_user: str) -> tuple[str | None, str | None]:
    """(city, None) when a downward event may be accepted at this city suite, (None, reason) when not:
    only through this city's own link, and only for its own regions."""
    if is_province():
        return None, "省级系统不接收上级下发的事件（ZHIFA_TIER）"
    own = suite_region()
    if own is None:
        return None, "未配置本市区划（ZHIFA_SUITE_REGION），无法核验下发链路"
    if link_of(user_id, headers, internal_user, (own,)) is None:
        return None, f"下发事件未经本市级联链路到达（user_id={user_id or '无'}）"
    if not region_covers(own, event.region_code):
        return None, f"下发事件属于区划 {event.region_code}，不属于本市 {own}"
    return own, None
