"""Statutory periods as configuration (PLAT-6): ``config/periods.yaml``, overridable by file."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from marshmallow import Schema, fields, post_load, validate

from services.common import settings
from services.common.configfile import Keyed, load_config_file


@dataclass(frozen=True)
class Period:
    value: int
    unit: str  # "working_days" | "days" | "months"


class _Period(Schema):
    value = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    unit = fields.String(required=True, validate=validate.OneOf(["working_days", "days", "months"]))

    @post_load
    def build(self, data, **kwargs) -> Period:
        return Period(data["value"], data["unit"])


PERIODS_FILE = Keyed(fields.Nested(_Period))


@lru_cache(maxsize=None)
def load_periods(path: str | None = None) -> dict[str, Period]:
    """``config/periods.yaml`` (or ``ZHIFA_PERIODS_FILE``): name → Period; ConfigFileError when bad."""
    return load_config_file(Path(path or settings.get("ZHIFA_PERIODS_FILE")), PERIODS_FILE)


def period(name: str) -> Period:
    try:
        return load_periods()[name]
    except KeyError:
        raise KeyError(f"no statutory period {name!r} in the periods configuration") from None
