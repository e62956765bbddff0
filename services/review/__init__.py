"""The review service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.registry import ServiceEntry

SERVICE = ServiceEntry(
    name="review",
    service="services.review.service:ReviewService",
    models="services.review.models",
    metrics_port=9102,
    order=2,
)
