"""Published complaint channels (投诉举报渠道公布, CMP-1).

``config/complaints/channels.yaml`` lists, per region code, what each government publishes: the scope
of complaints it accepts (受理范围), mailbox (投诉信箱), e-mail (电子信箱), hotlines including 12345,
postal address (通信地址) and web form (网上投诉入口). :func:`channels_for` answers for any region,
taking each missing field from the nearest ancestor region that publishes it (a township shows its
county's channels, a county without its own e-mail shows the city's).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from services.common.identifiers import is_region_code, parent_region

from .config import ConfigError, config_path, load_mapping, optional

FIELDS = ("name", "scope", "mailbox", "email", "hotlines", "postal_address", "web_form")
_CHANNEL_FIELDS = ("mailbox", "email", "hotlines", "postal_address", "web_form")


@dataclass(frozen=True)
class Hotline:
    number: str
    name: str


@dataclass(frozen=True)
class PostalAddress:
    address: str
    postcode: str | None = None
    recipient: str | None = None


@dataclass(frozen=True)
class ChannelInfo:
    """The channels that apply in ``region_code``; ``sources`` names the region each field came from."""

    region_code: str
    name: str | None
    scope: str | None
    mailbox: str | None
    email: str | None
    hotlines: tuple[Hotline, ...]
    postal_address: PostalAddress | None
    web_form: str | None
    sources: dict[str, str]

    @property
    def has_12345(self) -> bool:
        return any(h.number == "12345" for h in self.hotlines)


def _parse_entry(region: str, raw: dict, where: str) -> dict:
    ctx = f"{where}: regions.{region}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{ctx} must be a mapping")
    unknown = set(raw) - set(FIELDS)
    if unknown:
        raise ConfigError(f"{ctx}: unknown keys {sorted(unknown)}; allowed {list(FIELDS)}")
    entry: dict = {}
    for key in ("name", "scope", "mailbox", "email", "web_form"):
        value = optional(raw, key, str, ctx)
        if value is not None:
            if not value.strip():
                raise ConfigError(f"{ctx}: {key} is empty")
            entry[key] = value.strip()
    if "email" in entry and "@" not in entry["email"]:
        raise ConfigError(f"{ctx}: email {entry['email']!r} is not an e-mail address")
    if "web_form" in entry and not entry["web_form"].startswith(("https://", "http://")):
        raise ConfigError(f"{ctx}: web_form must be an http(s) URL")
    hotlines = optional(raw, "hotlines", list, ctx)
    if hotlines is not None:
        parsed = []
        for i, h in enumerate(hotlines):
            if not isinstance(h, dict) or not h.get("number") or not h.get("name"):
                raise ConfigError(f"{ctx}: hotlines[{i}] needs number and name")
            parsed.append(Hotline(str(h["number"]), str(h["name"])))
        entry["hotlines"] = tuple(parsed)
    address = optional(raw, "postal_address", dict, ctx)
    if address is not None:
        if not address.get("address"):
            raise ConfigError(f"{ctx}: postal_address.address is required")
        entry["postal_address"] = PostalAddress(str(address["address"]),
                                                str(address["postcode"]) if address.get("postcode") else None,
                                                str(address["recipient"]) if address.get("recipient") else None)
    if not any(k in entry for k in _CHANNEL_FIELDS) and "scope" not in entry:
        raise ConfigError(f"{ctx}: publishes neither a scope nor any channel")
    return entry


@dataclass(frozen=True)
class ChannelDirectory:
    """Parsed ``channels.yaml``: region code → published fields."""

    regions: dict[str, dict]

    def channels_for(self, region_code: str) -> ChannelInfo | None:
        """The channels in force for ``region_code`` (field-wise fallback to parent regions), or None."""
        if not is_region_code(region_code):
            raise ValueError(f"not an administrative division code: {region_code!r}")
        values: dict = {}
        sources: dict[str, str] = {}
        current: str | None = region_code
        while current is not None:
            for key, value in self.regions.get(current, {}).items():
                if key not in values:
                    values[key], sources[key] = value, current
            current = parent_region(current)
        if not values:
            return None
        return ChannelInfo(region_code, values.get("name"), values.get("scope"), values.get("mailbox"),
                           values.get("email"), values.get("hotlines", ()), values.get("postal_address"),
                           values.get("web_form"), sources)


def load_channels(path: str | os.PathLike | None = None) -> ChannelDirectory:
    """Read and validate ``config/complaints/channels.yaml`` (top key ``regions``)."""
    where = config_path("channels.yaml", path)
    data = load_mapping(where)
    regions_raw = data.get("regions")
    if not isinstance(regions_raw, dict) or not regions_raw:
        raise ConfigError(f"{where}: 'regions' must be a non-empty mapping of region code → channels")
    regions = {}
    for code, raw in regions_raw.items():
        code = str(code)
        if not is_region_code(code):
            raise ConfigError(f"{where}: {code!r} is not an administrative division code (quote it in YAML)")
        regions[code] = _parse_entry(code, raw, str(where))
    return ChannelDirectory(regions)


@lru_cache(maxsize=1)
def _default_directory() -> ChannelDirectory:
    return load_channels()


def channels_for(region_code: str, directory: ChannelDirectory | None = None) -> ChannelInfo | None:
    """Published channels for ``region_code`` (CMP-1), falling back to the parent region."""
    return (directory or _default_directory()).channels_for(region_code)
