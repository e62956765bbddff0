"""Staff sign-in through the province's identity platform (统一身份认证): OpenID Connect, authorization
code flow with PKCE (SEC-1, issue 15).

Configuration (nameko config ``ZHIFA_OIDC``; docs/RUNBOOK.md#staff-sign-in-oidc)::

    ZHIFA_OIDC:
      issuer: https://idp.example.gov.cn          # discovery at <issuer>/.well-known/openid-configuration
      client_id: zhifa
      client_secret_file: /run/secrets/oidc_client_secret   # or client_secret (demo only)
      redirect_uri: https://zhifa.example.gov.cn/auth/callback
      scope: openid profile zhifa
      claims: {role: zhifa_role, region: zhifa_region, bodies: zhifa_bodies, name: name}
      roles: {}                                   # provider value → zhifa role, when they differ
      session_hours: 8

How it goes: ``GET /auth/login`` makes a state, a nonce and a PKCE verifier, keeps them in the
shared store (Redis, one-time, 10 minutes) under the state, binds the state to the browser with a
short HttpOnly cookie, and redirects to the provider. ``GET /auth/callback`` checks the state
against that cookie, takes the pending flow out of the store (a replayed callback finds nothing),
exchanges the code with the verifier and the client secret (authlib), and validates the ID token
(joserfc: the provider's JWKS signature, issuer, audience, expiry, nonce). Role, region and bodies
come from the configured claims; a user without a zhifa role, or with a malformed region, is
refused. The session lives server-side (shared store, ``session_hours``); the browser holds only a
random id in an HttpOnly, SameSite=Lax cookie (``Secure`` behind TLS: edge.cookie_secure). Sign-out
deletes the session in the store: the old cookie then opens nothing on any replica.

No token ever travels in a URL: the code is exchanged server to server, and the gateway refuses
``?token=`` / ``?access_token=`` / ``?id_token=`` on every route.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from services.common import settings
from services.common.auth import STAFF_ROLES, Identity
from services.common.identifiers import is_region_code

log = logging.getLogger(__name__)
SESSION_COOKIE = "zhifa_session"
STATE_COOKIE = "zhifa_auth_state"
PENDING_SECONDS = 600
DISCOVERY_SECONDS = 3600
ID_TOKEN_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
DEFAULT_CLAIMS = {"role": "zhifa_role", "region": "zhifa_region", "bodies": "zhifa_bodies", "name": "name"}


class SignInError(Exception):
    """The sign-in failed; ``message`` is shown to the person (Chinese), the detail is logged."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(detail or message)
        self.message = message


@dataclass(frozen=True)
class OidcSettings:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str | None
    scope: str
    claims: dict
    roles: dict
    session_seconds: int


def oidc_settings() -> OidcSettings | None:
    raw = settings.get("ZHIFA_OIDC")
    if not raw or not raw.get("issuer"):
        return None     # not configured: sign-in answers 503 (a deployment sets the issuer)
    secret = raw.get("client_secret")
    if raw.get("client_secret_file"):
        secret = Path(raw["client_secret_file"]).read_text(encoding="utf-8").strip()
    if not (raw.get("issuer") and raw.get("client_id") and secret):
        raise ValueError("ZHIFA_OIDC needs issuer, client_id and client_secret (or client_secret_file)")
    return OidcSettings(issuer=str(raw["issuer"]).rstrip("/"), client_id=str(raw["client_id"]), client_secret=secret,
                        redirect_uri=raw.get("redirect_uri"), scope=str(raw.get("scope", "openid profile zhifa")),
                        claims={**DEFAULT_CLAIMS, **(raw.get("claims") or {})}, roles=dict(raw.get("roles") or {}),
                        session_seconds=int(float(raw.get("session_hours", 8)) * 3600))


_discovery: dict = {}


def provider_metadata(issuer: str) -> dict:
    """The provider's discovery document and JWKS, cached for an hour (keys rotate rarely; an
    unknown key id refreshes them at once)."""
    cached = _discovery.get(issuer)
    if cached and time.monotonic() - cached["at"] < DISCOVERY_SECONDS:
        return cached
    meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    if meta.get("issuer", "").rstrip("/") != issuer:
        raise SignInError("统一身份认证平台配置有误", f"discovery issuer {meta.get('issuer')!r} is not {issuer!r}")
    jwks = requests.get(meta["jwks_uri"], timeout=10).json()
    cached = {"meta": meta, "jwks": jwks, "at": time.monotonic()}
    _discovery[issuer] = cached
    return cached


def session_key(session_id: str) -> str:
    """The store keeps a digest of the cookie's value, not the value itself."""
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()


def redirect_uri(config: OidcSettings, request) -> str:
    return config.redirect_uri or request.host_url.rstrip("/") + "/auth/callback"


def begin(config: OidcSettings, request, shared, next_url: str) -> tuple[str, str]:
    """(authorization URL, state): the flow's secrets are kept in the shared store under the state."""
    meta = provider_metadata(config.issuer)["meta"]
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    client = OAuth2Session(config.client_id, config.client_secret, scope=config.scope,
                           redirect_uri=redirect_uri(config, request), code_challenge_method="S256")
    url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=state, code_verifier=verifier,
                                             nonce=nonce)
    shared.session_put(f"pending:{session_key(state)}",
                       {"nonce": nonce, "verifier": verifier, "next": next_url}, PENDING_SECONDS)
    return url, state


def finish(config: OidcSettings, request, shared) -> tuple[Identity, str]:
    """The staff identity of a successful callback, and where to go next."""
    if request.args.get("error"):
        raise SignInError("统一身份认证平台未完成登录，请重新登录", f"provider error {request.args.get('error')}")
    state, code = request.args.get("state", ""), request.args.get("code", "")
    bound = request.cookies.get(STATE_COOKIE, "")
    if not state or not code or not secrets.compare_digest(state, bound):
        raise SignInError("登录请求已失效或不是从本浏览器发起的，请重新登录", "state missing or not bound to this browser")
    key = f"pending:{session_key(state)}"
    pending = shared.session_get(key)
    shared.session_delete(key)       # one-time: a replayed callback finds nothing
    if pending is None:
        raise SignInError("登录请求已失效，请重新登录", "no pending sign-in for this state (expired or replayed)")
    cached = provider_metadata(config.issuer)
    meta = cached["meta"]
    if request.args.get("iss") and request.args["iss"].rstrip("/") != config.issuer:   # RFC 9207
        raise SignInError("登录响应来源不符，请重新登录", f"iss {request.args['iss']!r} in the callback")
    client = OAuth2Session(config.client_id, config.client_secret, redirect_uri=redirect_uri(config, request),
                           token_endpoint_auth_method="client_secret_basic")
    try:
        token = client.fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=code,
                                   code_verifier=pending["verifier"], timeout=10)
    except Exception as exc:   # noqa: BLE001 - authlib raises OAuthError, requests its own
        raise SignInError("统一身份认证平台未确认本次登录，请重新登录", f"token exchange failed: {exc}") from None
    claims = _validate_id_token(config, token.get("id_token"), pending["nonce"], cached)
    return identity_from_claims(config, claims), pending["next"]


def _validate_id_token(config: OidcSettings, id_token: str | None, nonce: str, cached: dict) -> dict:
    if not id_token:
        raise SignInError("统一身份认证平台未返回身份令牌", "no id_token in the token response")
    try:
        decoded = jwt.decode(id_token, KeySet.import_key_set(cached["jwks"]), algorithms=list(ID_TOKEN_ALGORITHMS))
        jwt.JWTClaimsRegistry(leeway=60, iss={"essential": True, "value": config.issuer},
                              aud={"essential": True, "value": config.client_id},
                              nonce={"essential": True, "value": nonce}, sub={"essential": True},
                              exp={"essential": True}).validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        _discovery.pop(config.issuer, None)   # a rotated key: fetch the JWKS again next time
        raise SignInError("身份令牌校验未通过，请重新登录", f"id_token invalid: {exc}") from None
    return decoded.claims


def identity_from_claims(config: OidcSettings, claims: dict) -> Identity:
    """Role, region and bodies from the configured claims; no zhifa role → refused (fail closed)."""
    names = config.claims
    raw_role = claims.get(names["role"])
    role = config.roles.get(raw_role, raw_role)
    region = str(claims.get(names["region"]) or "")
    if role not in STAFF_ROLES:
        raise SignInError("您的账号未被授予本平台的角色，请联系管理员", f"{claims.get('sub')}: role claim {raw_role!r}")
    if not is_region_code(region):
        raise SignInError("您的账号未配置有效的管辖区划，请联系管理员", f"{claims.get('sub')}: region claim {region!r}")
    bodies = claims.get(names["bodies"]) or []
    if isinstance(bodies, str):
        bodies = [b for b in bodies.replace("，", ",").split(",") if b.strip()]
    return Identity("staff", subject=str(claims["sub"]), role=role, region_code=region,
                    body_ids=tuple(str(b).strip() for b in bodies))


def session_payload(identity: Identity, name: str | None, config: OidcSettings) -> dict:
    return {"subject": identity.subject, "role": identity.role, "region_code": identity.region_code,
            "body_ids": list(identity.body_ids), "name": name or identity.subject,
            "expires_at": int(time.time()) + config.session_seconds}


def identity_from_session(data: dict | None) -> Identity | None:
    if not data or data.get("expires_at", 0) < time.time():
        return None
    return Identity("staff", subject=data["subject"], role=data["role"], region_code=data["region_code"],
                    body_ids=tuple(data.get("body_ids") or ()))
