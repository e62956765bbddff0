"""Settings of the disclosure service: ``config/disclosure/service.yaml`` (validated on load)."""
from __future__ import annotations

from functools import lru_cache

from marshmallow import Schema, fields, validate

from services.common.configfile import load_config_file
from services.disclosure.domain.model import CONFIG_DIR

SERVICE_FILE = CONFIG_DIR / "service.yaml"


class _ServiceFile(Schema):
    # a key nobody reads is a setting an operator believes in: unknown keys are refused (public_base_url
    # moved to the gateway's ZHIFA_PUBLIC_BASE_URL: the edge draws the certificate QR codes)
    version = fields.Integer(strict=True)
    annual_report_from_day = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=31))


@lru_cache(maxsize=4)
def service_settings(path: str | None = None) -> dict:
    data = load_config_file(path or SERVICE_FILE, _ServiceFile)
    return {"annual_report_from_day": data["annual_report_from_day"]}
