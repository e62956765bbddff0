"""DISC-2: the certificate QR code carries the portal's public address — ZHIFA_PUBLIC_BASE_URL when the
portal sits behind a proxy, else the address the request came in on (a gateway setting since issue 21: the
edge draws the code, disclosure's config no longer holds it)."""
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway.routes.disclosure import verification_url


def request_to(host: str) -> Request:
    return Request(EnvironBuilder(base_url=f"http://{host}/").get_environ())


def test_disc2_qr_link_uses_the_configured_public_address(monkeypatch):
    monkeypatch.setenv("ZHIFA_PUBLIC_BASE_URL", "https://zhifa.example.gov.cn/")
    assert verification_url(request_to("10.0.0.5:8000"), " ab-12 ") == \
        "https://zhifa.example.gov.cn/disclosure/verify/AB-12"


def test_disc2_qr_link_falls_back_to_the_request_address(monkeypatch):
    monkeypatch.delenv("ZHIFA_PUBLIC_BASE_URL", raising=False)
    assert verification_url(request_to("portal.local:8000"), "32041200123") == \
        "http://portal.local:8000/disclosure/verify/32041200123"
