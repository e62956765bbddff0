"""The disclosure service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.config_catalogue import Setting
from services.common.registry import ServiceEntry

SETTINGS = (
    Setting("ZHIFA_DISCLOSURE_DEADLINE_INTERVAL", "float", "Seconds between disclosure's deadline job (publication "
            "deadlines, overdue publications).", 300.0, minimum=0.01),
    Setting("ZHIFA_DISCLOSURE_ANNUAL_INTERVAL", "float", "Seconds between disclosure's annual-report job.", 3600.0,
            minimum=0.01),
)

SERVICE = ServiceEntry(
    name="disclosure",
    service="services.disclosure.service:DisclosureService",
    models="services.disclosure.models",
    metrics_port=9103,
    order=3,
    settings=SETTINGS,
)
