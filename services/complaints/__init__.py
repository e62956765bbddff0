"""The complaints service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.registry import ServiceEntry

SERVICE = ServiceEntry(
    name="complaints",
    service="services.complaints.service:ComplaintsService",
    models="services.complaints.models",
    metrics_port=9104,
    order=4,
)
