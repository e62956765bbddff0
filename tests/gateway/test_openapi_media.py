"""The OpenAPI description says what the download route really answers (SEC-5, REC-3): an attachment comes
back with the media type it was stored with (image/jpeg, application/pdf, …), so the description lists each
— schemathesis' content-type check failed on a JPEG once when only application/octet-stream was listed."""
from services.common.blobs import ATTACHMENT_MEDIA_TYPES
from services.gateway.http import ROUTES
from services.gateway.openapi import document
from services.gateway.service import GatewayService  # noqa: F401  (registers every route)


def test_attachment_download_lists_every_served_media_type():
    spec = document(tuple(ROUTES))
    content = spec["paths"]["/api/v1/records/blobs/{content_hash}"]["get"]["responses"]["200"]["content"]
    assert set(ATTACHMENT_MEDIA_TYPES) <= set(content) and "image/jpeg" in content
