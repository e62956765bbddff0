"""Settings read from nameko's global config (loaded from deploy/*/config.yaml by ``nameko run``),
with environment variables and defaults for the embedded set-up.

Every ``ZHIFA_*`` setting is declared once (services/common/config_catalogue.py, or its service's
ServiceEntry) and read through :func:`get`, which refuses an undeclared name and converts and checks the
value; :func:`check` runs at a service's start-up so a bad value stops it with ``ZHIFA_…: message``
(issue 21). docs/SETTINGS.md lists them all.
"""
from __future__ import annotations

import os
from pathlib import Path

from nameko import config

from services.common.config_catalogue import ROOT, SettingError, all_settings, declaration

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"

__all__ = ["ROOT", "VAR", "SettingError", "get", "check", "amqp_uri", "database_url", "metrics_port"]


def _raw(key: str):
    # nameko's Config is a UserDict: its ``data`` holds what ``config.get`` would find (``config.patch`` too),
    # without the Mapping.get → __getitem__ → __missing__ detour — settings are read on every event (issue 17)
    value = config.data.get(key)
    if value in (None, ""):
        value = os.environ.get(key)
    return value


def get(name: str):
    """The value of the declared setting ``name``: nameko config, else the environment, else its declared
    default; converted to its declared type and checked (SettingError ``NAME: message`` when unusable)."""
    declared = declaration(name)
    if "process" not in declared.read_in and not {"tools", "bench"} & set(declared.read_in):
        raise SettingError(f"{name}: not read by the processes (read in {', '.join(declared.read_in)})")
    raw = _raw(name)
    if raw in (None, ""):
        return declared.default_value()
    try:
        return declared.convert(raw)
    except ValueError as exc:
        raise SettingError(f"{name}: {exc}") from None


def check(service: str) -> None:
    """Read every setting ``service``'s process reads; the first unusable ones stop its start-up with
    ``ZHIFA_…: message`` (one line per setting)."""
    problems = []
    for declared in all_settings():
        if declared.family or "process" not in declared.read_in:
            continue
        if not ({service, "every service"} & set(declared.services)):
            continue
        try:
            get(declared.name)
        except SettingError as exc:
            problems.append(str(exc))
    if problems:
        raise SettingError("; ".join(problems))


VAR = Path(get("ZHIFA_VAR_DIR"))


def setting(key: str, default=None):
    """A nameko config key that is not a ``ZHIFA_*`` setting (AMQP_URI …)."""
    if key.startswith("ZHIFA_"):
        raise SettingError(f"{key}: read it with settings.get (declared settings only)")
    value = _raw(key)
    return default if value in (None, "") else value


def amqp_uri() -> str:
    return setting("AMQP_URI", DEFAULT_AMQP_URI)


def amqp_user(uri: str | None = None) -> str:
    """The broker user of an AMQP URI (the suite's own user: messages it publishes carry it as
    ``user_id``, which RabbitMQ verifies)."""
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri or amqp_uri()).username or "guest")


def database_url(service: str) -> str:
    """Per-service database URL: ZHIFA_DATABASES[service], ZHIFA_<SERVICE>_DB, or SQLite under var/."""
    configured = get("ZHIFA_DATABASES").get(service)
    return configured or get(f"ZHIFA_{service.upper()}_DB") or f"sqlite:///{VAR / (service + '.db')}"


def metrics_port(service: str) -> int:
    configured = get("ZHIFA_METRICS_PORTS").get(service)
    if configured:
        return int(configured)
    from services.common.registry import RegistryError, entry

    try:
        return entry(service).metrics_port
    except RegistryError:
        return 0


def retry_delay_ms() -> int:
    return get("ZHIFA_RETRY_DELAY_MS")


def max_attempts() -> int:
    """Attempts for a handler failing with an unexpected error before its event is dead-lettered."""
    return get("ZHIFA_MAX_ATTEMPTS")


def future_tolerance() -> float:
    """Seconds an event's ``occurred_at`` may lie ahead of this process's clock (clock skew between
    a departmental system and the suite); an event dated further in the future is refused — 422
    over HTTP, dead-lettered over AMQP (issue 14, plausibility)."""
    return get("ZHIFA_FUTURE_TOLERANCE_SECONDS")
