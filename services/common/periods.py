"""Statutory periods as configuration (PLAT-6): ``config/periods.yaml``, overridable by file."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from services.common import settings



@dataclass(frozen=True)
class Period:
    value: int
    unit: str  # "working_days" | "days" | "months"


@lru_cache(maxsize=None)
def load_periods(path: str | None = None) -> dict[str, Period]:
    source = Path(path or settings.get("ZHIFA_PERIODS_FILE"))
    raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    return {name: Period(int(spec["value"]), str(spec["unit"])) for name, spec in raw.items()}


def period(name: str) -> Period:
    try:
        return load_periods()[name]
    except KeyError:
        raise KeyError(f"no statutory period {name!r} in the periods configuration") from None
