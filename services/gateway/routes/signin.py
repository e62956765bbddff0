"""Staff sign-in and sign-out (SEC-1, issue 15): OpenID Connect against the province's identity
platform (services/gateway/oidc.py). Staff never handle tokens: the browser holds a random session
id in an HttpOnly cookie; the session (who, role, region, bodies) is kept in the shared store.
"""
from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from werkzeug.utils import redirect

from services.gateway import audit, edge, oidc, pages
from services.gateway.http import endpoint

log = logging.getLogger(__name__)
STATE_PATH = "/auth"
ME_ROLES = ("officer", "legal_reviewer", "supervisor", "complaint_handler", "admin")   # not the auditor: nothing else


def safe_next(target: str | None) -> str:
    """Only a local page (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/evaluation/dashboard"


def sign_in_url(next_url: str) -> str:
    return "/auth/login?" + urlencode({"next": next_url})


#: people read this page; the setting the operator needs (ZHIFA_OIDC) is in the log line and docs/RUNBOOK.md
NOT_SET_UP = "本平台尚未接入统一身份认证，工作人员暂不能登录，请联系系统管理员。"


class SignInRoutes:
    @endpoint("GET", "/auth/login", tags=("auth",), limit="sign_in",
              summary="Staff sign-in: redirect to the identity platform (OpenID Connect, code + PKCE) (SEC-1)")
    def sign_in(self, request, identity):
        config = oidc.oidc_settings()
        if config is None:   # an informational page (200): nothing failed, sign-in is not set up here
            log.warning("staff sign-in asked for, but ZHIFA_OIDC is not set (docs/RUNBOOK.md)")
            return pages.render("auth/message.html", title="暂不能登录",
                                message=NOT_SET_UP)
        target = safe_next(request.args.get("next"))
        try:
            url, state = oidc.begin(config, request, self.shared, target)
        except oidc.SignInError as exc:
            return pages.render("auth/message.html", status=502, title="暂不能登录", message=exc.message)
        response = redirect(url, code=302)
        response.set_cookie(oidc.STATE_COOKIE, state, max_age=oidc.PENDING_SECONDS, path=STATE_PATH, httponly=True,
                            samesite="Lax", secure=edge.cookie_secure(request))
        return response

    @endpoint("GET", "/auth/callback", tags=("auth",), limit="sign_in",
              summary="The identity platform's redirect back: code exchanged, ID token checked, session opened (SEC-1)")
    def sign_in_callback(self, request, identity):
        config = oidc.oidc_settings()
        if config is None:
            # not a failure (5xx): sign-in is not set up on this suite, so there is nothing to call back to
            return pages.render("auth/message.html", status=404, title="暂不能登录",
                                message=NOT_SET_UP)
        try:
            staff, target = oidc.finish(config, request, self.shared)
        except oidc.SignInError as exc:
            log.warning("sign-in refused [%s]: %s", edge.correlation_id(request.environ), exc)
            response = pages.render("auth/message.html", status=401, title="登录未成功", message=exc.message,
                                    retry=True)
            response.delete_cookie(oidc.STATE_COOKIE, path=STATE_PATH)
            return response
        # the sign-in is a staff action: recorded (and confirmed) before the session exists (SEC-3)
        audit.publish(audit.record(request, staff, action="GET /auth/callback", phase="outcome", status=303,
                                   path_values={}, source_address=edge.request_ip(request),
                                   correlation_id=edge.correlation_id(request.environ)))
        session_id = secrets.token_urlsafe(32)
        self.shared.session_put(oidc.session_key(session_id), oidc.session_payload(staff, None, config),
                                config.session_seconds)
        response = redirect(target, code=303)
        response.set_cookie(oidc.SESSION_COOKIE, session_id, path="/", httponly=True, samesite="Lax",
                            secure=edge.cookie_secure(request))
        response.delete_cookie(oidc.STATE_COOKIE, path=STATE_PATH)
        return response

    @endpoint("POST", "/auth/logout", tags=("auth",),
              summary="Sign out: the session is ended in the shared store (the old cookie opens nothing) (SEC-1)")
    def sign_out(self, request, identity):
        session_id = request.cookies.get(oidc.SESSION_COOKIE)
        if session_id:
            self.shared.session_delete(oidc.session_key(session_id))
        response = redirect("/auth/signed-out", code=303)
        response.delete_cookie(oidc.SESSION_COOKIE, path="/")
        return response

    @endpoint("GET", "/api/v1/me", roles=ME_ROLES, tags=("auth",),
              summary="Who the caller is: subject, role, region, bodies (signed-in staff and service accounts)")
    def whoami(self, request, identity):
        return {"subject": identity.subject, "role": identity.role, "region_code": identity.region_code,
                "body_ids": list(identity.body_ids)}

    @endpoint("GET", "/auth/signed-out", tags=("auth",), summary="Signed-out page (Chinese)")
    def signed_out(self, request, identity):
        """The zhifa session is over; the identity platform's own single sign-on session is the
        platform's: a link ends it there too (shared computers)."""
        end_session = None
        config = oidc.oidc_settings()
        if config is not None:
            try:
                endpoint_url = oidc.provider_metadata(config.issuer)["meta"].get("end_session_endpoint")
            except Exception:   # noqa: BLE001 - the page works without the link
                endpoint_url = None
            if endpoint_url:
                end_session = endpoint_url + "?" + urlencode({"client_id": config.client_id})
        return pages.render("auth/message.html", title="已退出登录", message="您已退出登录。", retry=True,
                            end_session=end_session)
