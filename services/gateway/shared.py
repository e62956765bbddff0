"""State the gateway replicas share (SEC-5, SEC-1): abuse limits and staff sessions, in Redis.

Every replica must see the same counters (two replicas with limits in memory would double them)
and the same sessions (a sign-out on one replica must end the session on all). Both live in Redis
(``ZHIFA_REDIS_URL``, default ``redis://127.0.0.1:6379/0``; keys under ``ZHIFA_REDIS_PREFIX``).

Start-up: the gateway refuses to start when Redis does not answer, unless
``ZHIFA_REDIS_FALLBACK: local`` is configured explicitly — then (``make run`` only) limits and
sessions are kept in this process, and it says so in its log. Once started, an unreachable Redis
makes the check fail closed: 503, never "no limit" or "any session".

Limits use the kept ``limits`` library (moving windows; Redis sorted sets through its Lua
scripts). Which limits and how high: ``config/gateway/limits.yaml``, overridden per name by the
``ZHIFA_RATE_LIMITS`` setting (a mapping, e.g. for load tests).
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import limits
import redis
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter
from marshmallow import Schema, ValidationError, fields
from nameko.extensions import DependencyProvider

from services.common import settings
from services.common.configfile import Keyed, load_config_file

log = logging.getLogger(__name__)
LIMITS_FILE = settings.ROOT / "config" / "gateway" / "limits.yaml"


class SharedStateUnavailable(Exception):
    """Redis did not answer: the check cannot run, so the request is refused (503)."""


class RateLimited(Exception):
    def __init__(self, name: str, retry_after: float):
        super().__init__(f"rate limited: {name}")
        self.name = name
        self.retry_after = max(1, math.ceil(retry_after))

    @property
    def message(self) -> str:
        minutes = math.ceil(self.retry_after / 60)
        wait = f"{self.retry_after}秒" if self.retry_after < 120 else f"{minutes}分钟"
        if self.name.startswith("complaint"):
            return f"提交过于频繁，请{wait}后再试。如情况紧急，请拨打12345政务服务便民热线。"
        return f"请求过于频繁，请{wait}后再试。"


@dataclass(frozen=True)
class LimitRules:
    by_name: dict[str, list]    # name → [RateLimitItem, …]


def _windows(text: str) -> list:
    try:
        return limits.parse_many(text)
    except ValueError as exc:
        raise ValidationError(f"not moving windows such as '10/minute;100/hour': {exc}") from None


class _Windows(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return _windows(super()._deserialize(value, attr, data, **kwargs))


class _LimitsFile(Schema):
    limits = Keyed(_Windows(), required=True)


def load_limit_rules(path: str | Path | None = None) -> LimitRules:
    """``config/gateway/limits.yaml`` (ConfigFileError ``file: limits.<name>: …`` when bad), entries
    overridden by the ``ZHIFA_RATE_LIMITS`` setting."""
    rules = dict(load_config_file(Path(path or LIMITS_FILE), _LimitsFile)["limits"])
    for name, text in (settings.get("ZHIFA_RATE_LIMITS") or {}).items():
        try:
            rules[name] = _windows(str(text))
        except ValidationError as exc:
            raise ValueError(f"ZHIFA_RATE_LIMITS: {name}: {exc.messages[0]}") from None
    return LimitRules(rules)


def redis_url() -> str:
    return settings.get("ZHIFA_REDIS_URL")


def key_prefix() -> str:
    return settings.get("ZHIFA_REDIS_PREFIX")


def fallback_allowed() -> bool:
    return settings.get("ZHIFA_REDIS_FALLBACK") == "local"


class _LocalSessions:
    """In-process sessions for ``make run`` without Redis (one gateway process)."""

    def __init__(self):
        self._data: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def set(self, key, value, ex, nx=False):
        with self._lock:
            found = self._data.get(key)
            if nx and found and found[0] > time.monotonic():
                return None
            self._data[key] = (time.monotonic() + ex, value)
            return True

    def get(self, key):
        with self._lock:
            found = self._data.get(key)
            if found and found[0] > time.monotonic():
                return found[1]
            self._data.pop(key, None)
            return None

    def delete(self, key):
        with self._lock:
            self._data.pop(key, None)


class SharedState:
    """Limits and sessions of one gateway container."""

    def __init__(self, rules: LimitRules, shared: bool, storage, sessions):
        self.rules, self.shared = rules, shared
        self.limiter = MovingWindowRateLimiter(storage)
        self._sessions = sessions
        self.prefix = key_prefix()

    @classmethod
    def connect(cls) -> "SharedState":
        rules = load_limit_rules()
        url, prefix = redis_url(), key_prefix()
        try:
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            client.ping()
        except redis.RedisError as exc:
            if not fallback_allowed():
                raise RuntimeError(f"Redis at {url} does not answer ({exc}): the gateway's abuse limits and staff "
                                   "sessions must be shared by every replica; set ZHIFA_REDIS_FALLBACK: local only "
                                   "for a single-process demo") from None
            log.warning("NO REDIS at %s (%s): abuse limits and staff sessions are kept IN THIS PROCESS only "
                        "(ZHIFA_REDIS_FALLBACK: local) — not for production, not shared between replicas", url, exc)
            return cls(rules, False, MemoryStorage(), _LocalSessions())
        storage = RedisStorage(url, key_prefix=f"{prefix}:limits", wrap_exceptions=True,
                               socket_timeout=2, socket_connect_timeout=2)
        log.info("abuse limits and staff sessions shared through Redis at %s (prefix %s)", url, prefix)
        return cls(rules, True, storage, client)

    # -- abuse limits -------------------------------------------------------------------------------
    def hit(self, name: str, *key: str) -> None:
        """Count one request against limit ``name`` for ``key`` (an address, a complaint number…);
        RateLimited when a window is full, SharedStateUnavailable when Redis does not answer."""
        items = self.rules.by_name.get(name)
        if items is None:
            raise KeyError(f"no abuse limit named {name!r} in {LIMITS_FILE}")
        wait = 0.0
        try:
            for item in items:
                if not self.limiter.hit(item, name, *key):
                    reset, _ = self.limiter.get_window_stats(item, name, *key)
                    wait = max(wait, reset - time.time(), 1.0)
        except (limits.errors.StorageError, redis.RedisError) as exc:
            raise SharedStateUnavailable(str(exc)) from None
        if wait:
            raise RateLimited(name, wait)

    # -- sessions -----------------------------------------------------------------------------------
    def session_put(self, key: str, value: dict, seconds: int) -> None:
        self._call("set", f"{self.prefix}:session:{key}", json.dumps(value), ex=max(1, int(seconds)))

    def session_get(self, key: str) -> dict | None:
        found = self._call("get", f"{self.prefix}:session:{key}")
        return json.loads(found) if found else None

    def session_delete(self, key: str) -> None:
        self._call("delete", f"{self.prefix}:session:{key}")

    def session_claim(self, key: str, value: dict, seconds: int) -> bool:
        """Store ``value`` under ``key`` only if nothing is there (SET NX): True for the one caller that
        claimed it — a form's submission token is filed once, whatever the refreshes and double clicks
        (issue 19, CMP-1)."""
        return bool(self._call("set", f"{self.prefix}:session:{key}", json.dumps(value), ex=max(1, int(seconds)),
                               nx=True))

    def _call(self, op, *args, **kwargs):
        try:
            return getattr(self._sessions, op)(*args, **kwargs)
        except redis.RedisError as exc:
            raise SharedStateUnavailable(str(exc)) from None


class Shared(DependencyProvider):
    """The container's SharedState: connected in ``setup`` (a gateway without Redis does not start)."""

    def setup(self):
        self.state = SharedState.connect()

    def get_dependency(self, worker_ctx):
        return self.state

