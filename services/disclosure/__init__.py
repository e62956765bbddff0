"""The disclosure service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.registry import ServiceEntry

SERVICE = ServiceEntry(
    name="disclosure",
    service="services.disclosure.service:DisclosureService",
    models="services.disclosure.models",
    metrics_port=9103,
    order=3,
)
