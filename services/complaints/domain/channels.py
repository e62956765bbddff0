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

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.configfile import Code, Keyed, load_config_file
from services.common.identifiers import is_region_code, parent_region

from .config import config_path

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


_TEXT = dict(validate=validate.Regexp(r"\S", error="is empty"))


class _Hotline(Schema):
    number = Code(required=True, validate=validate.Length(min=1))
    name = fields.String(required=True, validate=validate.Length(min=1))

    @post_load
    def build(self, data, **kwargs) -> Hotline:
        return Hotline(data["number"], data["name"])


class _PostalAddress(Schema):
    address = fields.String(required=True, **_TEXT)
    postcode = Code(load_default=None)
    recipient = fields.String(load_default=None)

    @post_load
    def build(self, data, **kwargs) -> PostalAddress:
        return PostalAddress(data["address"], data["postcode"] or None, data["recipient"] or None)


class _Region(Schema):
    name = fields.String(**_TEXT)
    scope = fields.String(**_TEXT)
    mailbox = fields.String(**_TEXT)
    email = fields.Email()
    hotlines = fields.List(fields.Nested(_Hotline))
    postal_address = fields.Nested(_PostalAddress)
    web_form = fields.Url(schemes={"http", "https"}, require_tld=False)

    @validates_schema
    def publishes_something(self, data, **kwargs):
        if "scope" not in data and not any(k in data for k in _CHANNEL_FIELDS):
            raise ValidationError("publishes neither a scope nor any channel")

    @post_load
    def build(self, data, **kwargs) -> dict:
        return {k: v.strip() if isinstance(v, str) else tuple(v) if isinstance(v, list) else v
                for k, v in data.items()}


def _region_code(value: str) -> None:
    if not is_region_code(value):
        raise ValidationError("not an administrative division code (quote it in YAML)")


class _ChannelsFile(Schema):
    regions = Keyed(fields.Nested(_Region), keys=Code(validate=_region_code), required=True,
                    validate=validate.Length(min=1, error="must name at least one region"))

    @post_load
    def build(self, data, **kwargs) -> "ChannelDirectory":
        return ChannelDirectory(data["regions"])


@dataclass(frozen=True)
class ChannelDirectory:
    """Parsed ``channels.yaml``: region code → published fields."""

    regions: dict[str, dict]

    def samples(self) -> list[str]:
        """The entries that are placeholders, not published channels (issue 18, CMP-1): a reserved
        ``.example`` domain or "示例" in any text, as ``regions.<code>.<field>``."""
        from services.common.sample_data import is_sample_text

        found = []
        for code, entry in self.regions.items():
            for key, value in entry.items():
                texts = [value] if isinstance(value, str) else \
                    [h.name for h in value] if key == "hotlines" else \
                    [value.address, value.recipient] if isinstance(value, PostalAddress) else []
                if any(is_sample_text(t) for t in texts):
                    found.append(f"regions.{code}.{key}")
        return found

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
    return load_config_file(config_path("channels.yaml", path), _ChannelsFile)


@lru_cache(maxsize=1)
def _default_directory() -> ChannelDirectory:
    return load_channels()


def channels_for(region_code: str, directory: ChannelDirectory | None = None) -> ChannelInfo | None:
    """Published channels for ``region_code`` (CMP-1), falling back to the parent region."""
    return (directory or _default_directory()).channels_for(region_code)
