"""The HTTP edge (gateway). It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.config_catalogue import Setting
from services.common.registry import ServiceEntry

SETTINGS = (
    Setting("ZHIFA_HTTP_ADDRESS", "str", "Address the gateway listens on (WEB_SERVER_ADDRESS).", "127.0.0.1:8000",
            read_in=("config",), default_text="`127.0.0.1:8000`; containers `0.0.0.0:8000`"),
    Setting("ZHIFA_HTTP_PORT", "int", "Host port of the gateway.", 8000, read_in=("compose",)),
    Setting("ZHIFA_PUBLIC_BASE_URL", "str", "The public address written into certificate QR codes when the portal "
            "sits behind a proxy (DISC-2); empty: the address a request came in on.", "",
            read_in=("process", "config")),
    Setting("ZHIFA_TRUSTED_PROXY_HOPS", "int", "Proxies of our own in front of the gateway: X-Forwarded-For and "
            "X-Forwarded-Proto are read only that far.", 0, minimum=0),
    Setting("ZHIFA_COOKIE_SECURE", "str", "`always`: cookies carry Secure (behind TLS); `auto`: when the request "
            "came over TLS (the local http demo).", "auto", choices=("always", "auto")),
    Setting("ZHIFA_CSRF_SECRET", "secret", "Key of the CSRF tokens.", None,
            default_text="ZHIFA_TOKEN_SECRET"),
    Setting("ZHIFA_REDIS_URL", "str", "Redis shared by every gateway replica: abuse limits and staff sessions.",
            "redis://127.0.0.1:6379/0", read_in=("process", "config", "tools")),
    Setting("ZHIFA_REDIS_PREFIX", "str", "Prefix of the gateway's Redis keys.", "zhifa"),
    Setting("ZHIFA_REDIS_FALLBACK", "str", "`local`: without Redis keep limits and sessions in the one process "
            "(`make run` only); `none`: no Redis, no gateway.", "none", choices=("none", "local")),
    Setting("ZHIFA_RATE_LIMITS", "mapping", "Abuse limits overriding config/gateway/limits.yaml (limit name → "
            "e.g. `300/minute`).", {}),
    Setting("ZHIFA_OIDC", "mapping", "Staff sign-in through the identity platform (OpenID Connect): issuer, "
            "client_id, client_secret, redirect_uri, scope, claims, roles, session_hours; no issuer: sign-in "
            "answers 503.", {}),
    Setting("ZHIFA_OIDC_ISSUER", "str", "The identity platform's issuer URL (into ZHIFA_OIDC.issuer).", None,
            read_in=("config", "compose")),
    Setting("ZHIFA_OIDC_CLIENT_ID", "str", "The suite's client id (into ZHIFA_OIDC.client_id).", "zhifa",
            read_in=("config",)),
    Setting("ZHIFA_OIDC_CLIENT_SECRET", "secret", "The suite's client secret (into ZHIFA_OIDC.client_secret).",
            None, read_in=("config",), secret_file=True),
    Setting("ZHIFA_OIDC_REDIRECT_URI", "str", "The sign-in callback (https://<host>/auth/callback).", None,
            read_in=("config", "compose")),
    Setting("ZHIFA_OIDC_SCOPE", "str", "Scopes asked for (into ZHIFA_OIDC.scope).", "openid profile zhifa",
            read_in=("config",)),
)

SERVICE = ServiceEntry(name="gateway", service="services.gateway.service:GatewayService", order=9, metrics_port=9100,
                       settings=SETTINGS)
