"""Identities at the HTTP edge: departmental API keys, staff tokens, the public.

- Departmental systems (执法部门业务系统) authenticate with an API key bound to their system, the
  enforcement bodies they may speak for and their region. Keys are stored as SHA-256 digests.
- Staff sign in through the province's identity platform (OpenID Connect: services/gateway/oidc.py)
  and hold a server-side session; their role and region scope (PLAT-1) come from its claims.
- Machine clients other than departmental systems (scripts, integrations) use service-account
  tokens (JWT, HS256, ``zhifa token``) whose lifetime is capped (``ZHIFA_TOKEN_MAX_HOURS``,
  default 8): a longer-lived token is neither issued nor accepted (SEC-1). Roles: officer 执法人员,
  legal_reviewer 法制审核人员, responsible_person 负责人 (signs off reviews, REV-6), supervisor 监督人员,
  complaint_handler 投诉处理人员, admin 管理员, auditor 安全审计员 (searches the audit trail of staff
  actions and can do nothing else, SEC-3).
- Public endpoints are explicitly public; everything else checks role and scope. What a principal's
  body list means (no list → no body; ``*`` → every body of the region) is ``services/common/scope.py``
  (SEC-2): ``Identity.scope``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from marshmallow import Schema, ValidationError, fields, validate

from services.common import settings
from services.common.configfile import load_config_file
from services.common.identifiers import is_region_code, region_covers
from services.common.scope import Scope

STAFF_ROLES = ("officer", "legal_reviewer", "responsible_person", "supervisor", "complaint_handler", "admin",
               "auditor")
TOKEN_ISSUER = "zhifa"
DEFAULT_TOKEN_HOURS = 1.0


def token_max_hours() -> float:
    """The longest lifetime of a service-account token (SEC-1)."""
    return settings.get("ZHIFA_TOKEN_MAX_HOURS")


class AuthError(Exception):
    """401: no or bad credentials."""


class Forbidden(Exception):
    """403: credentials fine, not allowed here."""


@dataclass(frozen=True)
class Identity:
    kind: str                      # department | staff | public
    subject: str = "anonymous"
    role: str | None = None
    region_code: str | None = None
    body_ids: tuple[str, ...] = field(default_factory=tuple)

    def covers(self, region_code: str) -> bool:
        return bool(self.region_code) and region_covers(self.region_code, region_code)

    @property
    def scope(self) -> Scope:
        """Region and bodies this principal may see and act for (SEC-2: no body list → no body)."""
        if self.kind == "public":
            return Scope.of(None)
        return Scope.granted(self.role, self.region_code, self.body_ids)


PUBLIC = Identity("public")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def api_keys_path(path: str | os.PathLike | None = None) -> Path:
    return Path(path or settings.get("ZHIFA_API_KEYS_FILE"))


@dataclass(frozen=True)
class DepartmentSystems:
    """``api_keys.yaml``: a list of {key_sha256, system, region_code, body_ids, amqp_user?} — each
    departmental system, by its API key digest and, if it publishes over AMQP, its broker user."""

    by_key: dict[str, Identity]
    by_amqp_user: dict[str, Identity]


def _not_region_code():
    raise ValidationError("Not an administrative division code (quote it in YAML).")


class _DepartmentSystem(Schema):
    system = fields.String(required=True, validate=validate.Length(min=1))
    region_code = fields.String(required=True, validate=lambda v: is_region_code(v) or _not_region_code())
    body_ids = fields.List(fields.String(), load_default=list)
    key_sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    amqp_user = fields.String(allow_none=True)


def load_department_systems(path: str | os.PathLike | None = None) -> DepartmentSystems:
    path = api_keys_path(path)
    systems = DepartmentSystems({}, {})
    if not path.exists():
        return systems
    for item in load_config_file(path, _DepartmentSystem(many=True)):
        identity = Identity("department", subject=item["system"], role="department",
                            region_code=item["region_code"], body_ids=tuple(item["body_ids"]))
        systems.by_key[item["key_sha256"]] = identity
        if item.get("amqp_user"):
            systems.by_amqp_user[str(item["amqp_user"])] = identity
    return systems


_systems_cache: dict = {}


RECHECK_SECONDS = 1.0


def department_systems_cached(path: str | os.PathLike | None = None) -> DepartmentSystems:
    """``load_department_systems`` re-read only when the file changes (keys rotate without a
    restart). The file's time stamp is looked at once a second at most: every departmental event
    received over AMQP asks, and a ``stat`` per event was 6% of the records service's CPU."""
    key = str(path or settings.get("ZHIFA_API_KEYS_FILE"))
    now = time.monotonic()
    cached = _systems_cache.get(key)
    if cached is not None and now - cached[2] < RECHECK_SECONDS:
        return cached[1]
    resolved = api_keys_path(path)
    stamp = resolved.stat().st_mtime_ns if resolved.exists() else None
    if cached is None or cached[0] != stamp:
        cached = (stamp, load_department_systems(resolved), now)
    else:
        cached = (stamp, cached[1], now)
    _systems_cache[key] = cached
    return cached[1]


def api_keys_cached(path: str | os.PathLike | None = None) -> dict[str, Identity]:
    return department_systems_cached(path).by_key


def amqp_senders_cached(path: str | os.PathLike | None = None) -> dict[str, Identity]:
    return department_systems_cached(path).by_amqp_user


def department_event_refusal(identity: Identity, event) -> tuple[str, str] | None:
    """Why a departmental system may not publish ``event`` — (code, Chinese message) — or None. The
    same rules over HTTP (API key) and AMQP (broker user): its own ``source_system``, the bodies it
    speaks for, its region."""
    if event.source_system != identity.subject:
        return "wrong_source", f"source_system 应为 {identity.subject}"
    if not identity.covers(event.region_code):
        return "out_of_scope", f"{identity.subject} 无权报送区划 {event.region_code} 的事件"
    if not identity.scope.covers(event.region_code, event.body_id):   # SEC-2: no body list → no body
        return "wrong_body", f"{identity.subject} 无权代表执法主体 {event.body_id} 报送"
    return None


def sender_refusal(event, user_id: str | None, senders: dict[str, Identity] | Callable[[], dict[str, Identity]],
                   internal_user: str) -> str | None:
    """Why a departmental event received over AMQP may not be accepted from this sender, or None.

    RabbitMQ checks that a message's ``user_id`` property is the user of the connection that
    published it, so it names the sender truthfully; broker permissions already limit each
    department to its event types, this limits it to its own system, bodies and region — the same
    rules as an API key at ``POST /api/v1/events``. Messages published by the suite's own user
    (the gateway after the API-key check, retries, replays) are trusted. The check is always on
    (SEC-2, fail closed; issue 15): a service with no department registry (``api_keys.yaml``
    missing, empty, or without ``amqp_user`` entries) refuses every departmental event that is not
    the suite's own — it never turns itself off.
    """
    if user_id and user_id == internal_user:
        return None
    if not user_id:
        return "发送方未声明 user_id（AMQP 消息属性），无法核验报送系统"
    if callable(senders):       # the registry, read only for a sender that needs it (issue 17: not per own event)
        senders = senders()
    identity = senders.get(user_id)
    if identity is None:
        if not senders:
            return f"本服务未配置部门登记表（api_keys.yaml 中无 amqp_user），拒收消息总线用户 {user_id} 的事件"
        return f"消息总线用户 {user_id} 未登记为部门报送系统"
    refusal = department_event_refusal(identity, event)
    return f"{refusal[1]}（消息总线用户 {user_id}）" if refusal else None


def token_secret() -> str:
    secret = settings.get("ZHIFA_TOKEN_SECRET")
    if secret:
        return secret
    path = settings.VAR / "token_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def issue_token(subject: str, role: str, region_code: str, hours: float = DEFAULT_TOKEN_HOURS,
                secret: str | None = None, body_ids: tuple[str, ...] = ()) -> str:
    """A service account's token (``svc``: not a person; people sign in through OpenID Connect)."""
    if not 0 < hours <= token_max_hours():
        raise ValueError(f"token lifetime {hours} h: service-account tokens live at most "
                         f"{token_max_hours():g} h (ZHIFA_TOKEN_MAX_HOURS)")
    if role not in STAFF_ROLES:
        raise ValueError(f"unknown role {role}")
    if not is_region_code(region_code):
        raise ValueError(f"bad region code {region_code}")
    now = dt.datetime.now(dt.timezone.utc)
    claims = {"sub": subject, "role": role, "region": region_code, "iss": TOKEN_ISSUER, "iat": now,
              "exp": now + dt.timedelta(hours=hours), "bodies": list(body_ids), "svc": True}
    return jwt.encode(claims, secret or token_secret(), algorithm="HS256")


def authenticate(headers, api_keys: dict[str, Identity], secret: str | None = None) -> Identity:
    """Identity from ``X-Api-Key`` or ``Authorization: Bearer``; PUBLIC when neither is sent. Both at
    once is refused (fail closed: which one speaks is ambiguous, and an invalid token must not be
    carried through by a valid key — issue 14, found by schemathesis' ignored_auth check)."""
    key = headers.get("X-Api-Key")
    if key is not None and headers.get("Authorization") is not None:
        raise AuthError("send either X-Api-Key or Authorization, not both")
    if key == "" or headers.get("Authorization") == "":
        raise AuthError("empty credentials")
    if key:
        digest = hash_key(key)
        for known, identity in api_keys.items():
            if hmac.compare_digest(known, digest):
                return identity
        raise AuthError("API key not recognised")
    authz = headers.get("Authorization", "")
    if authz.startswith("Bearer "):
        try:
            claims = jwt.decode(authz[7:], secret or token_secret(), algorithms=["HS256"], issuer=TOKEN_ISSUER,
                                options={"require": ["exp", "iat", "sub", "iss"]})
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from None
        if claims.get("svc") is not True:
            raise AuthError("not a service-account token (staff sign in through OpenID Connect)")
        if claims["exp"] - claims["iat"] > token_max_hours() * 3600 + 60:
            raise AuthError(f"token lifetime exceeds the cap of {token_max_hours():g} h")
        if claims.get("role") not in STAFF_ROLES or not is_region_code(str(claims.get("region"))):
            raise AuthError("token lacks a valid role or region")
        return Identity("staff", subject=claims["sub"], role=claims["role"], region_code=claims["region"],
                        body_ids=tuple(claims.get("bodies") or ()))
    if authz:
        raise AuthError("unsupported Authorization scheme")
    return PUBLIC


def require(identity: Identity, *roles: str) -> Identity:
    """Allow only the given roles (``department`` for API keys); public is never allowed here."""
    if identity.kind == "public":
        raise AuthError("authentication required")
    if identity.role not in roles:
        raise Forbidden(f"role {identity.role} may not do this")
    return identity
