"""Settings of the disclosure service: ``config/disclosure/service.yaml`` (validated on load)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from services.disclosure.domain.model import CONFIG_DIR

SERVICE_FILE = CONFIG_DIR / "service.yaml"


@lru_cache(maxsize=4)
def service_settings(path: str | None = None) -> dict:
    where = path or SERVICE_FILE
    data = yaml.safe_load(Path(where).read_text(encoding="utf-8")) or {}
    unknown = sorted(set(data) - {"version", "annual_report_from_day"})
    if unknown:
        # a key nobody reads is a setting an operator believes in (public_base_url moved to the gateway's
        # ZHIFA_PUBLIC_BASE_URL: the edge draws the certificate QR codes)
        raise ValueError(f"{where}: unknown keys {unknown}")
    day = int(data.get("annual_report_from_day", 1))
    if not 1 <= day <= 31:
        raise ValueError(f"{where}: annual_report_from_day must be 1…31")
    return {"annual_report_from_day": day}
