"""The records service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.registry import ServiceEntry

SERVICE = ServiceEntry(
    name="records",
    service="services.records.service:RecordsService",
    models="services.records.models",
    commands={"verify": "services.records.verify:main"},
    metrics_port=9101,
    order=1,
)
