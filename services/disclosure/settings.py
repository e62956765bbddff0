"""Settings of the disclosure service: ``config/disclosure/service.yaml`` (validated on load)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from services.disclosure.domain.model import CONFIG_DIR

SERVICE_FILE = CONFIG_DIR / "service.yaml"


@lru_cache(maxsize=4)
def service_settings(path: str | None = None) -> dict:
    data = yaml.safe_load(Path(path or SERVICE_FILE).read_text(encoding="utf-8")) or {}
    day = int(data.get("annual_report_from_day", 1))
    if not 1 <= day <= 31:
        raise ValueError(f"{path or SERVICE_FILE}: annual_report_from_day must be 1…31")
    base = str(data.get("public_base_url") or "").rstrip("/")
    return {"annual_report_from_day": day, "public_base_url": base}
