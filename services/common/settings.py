"""Settings read from nameko's global config (loaded from deploy/*/config.yaml by ``nameko run``),
with environment variables and defaults for the embedded set-up."""
from __future__ import annotations

import os
from pathlib import Path

from nameko import config

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("ZHIFA_VAR_DIR", ROOT / "var"))
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


def setting(key: str, default=None):
    value = config.get(key)
    if value in (None, ""):
        value = os.environ.get(key, default)
    return value


def amqp_uri() -> str:
    return setting("AMQP_URI", DEFAULT_AMQP_URI)


def amqp_user(uri: str | None = None) -> str:
    """The broker user of an AMQP URI (the suite's own user: messages it publishes carry it as
    ``user_id``, which RabbitMQ verifies)."""
    from urllib.parse import unquote, urlparse

    return unquote(urlparse(uri or amqp_uri()).username or "guest")


def database_url(service: str) -> str:
    """Per-service database URL: ZHIFA_DATABASES[service], env ZHIFA_<SERVICE>_DB, or SQLite under var/."""
    configured = (config.get("ZHIFA_DATABASES") or {}).get(service)
    return configured or os.environ.get(f"ZHIFA_{service.upper()}_DB") or f"sqlite:///{VAR / (service + '.db')}"


def metrics_port(service: str) -> int:
    configured = (config.get("ZHIFA_METRICS_PORTS") or {}).get(service)
    env = os.environ.get(f"ZHIFA_{service.upper()}_METRICS_PORT")
    if configured or env:
        return int(configured or env)
    from services.common.registry import RegistryError, entry

    try:
        return entry(service).metrics_port
    except RegistryError:
        return 0


def retry_delay_ms() -> int:
    return int(setting("ZHIFA_RETRY_DELAY_MS", 1000))


def max_attempts() -> int:
    """Attempts for a handler failing with an unexpected error before its event is dead-lettered."""
    return int(setting("ZHIFA_MAX_ATTEMPTS", 5))


def future_tolerance() -> float:
    """Seconds an event's ``occurred_at`` may lie ahead of this process's clock (clock skew between
    a departmental system and the suite); an event dated further in the future is refused — 422
    over HTTP, dead-lettered over AMQP (issue 14, plausibility). Default 300 s."""
    return float(setting("ZHIFA_FUTURE_TOLERANCE_SECONDS", 300))
