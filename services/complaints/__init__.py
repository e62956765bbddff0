"""The complaints service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.config_catalogue import Setting, under_var
from services.common.registry import ServiceEntry

SETTINGS = (
    Setting("ZHIFA_COMPLAINTS_SWEEP_SECONDS", "float", "Seconds between deadline sweeps (escalation, overdue "
            "clues; CMP-3, CMP-5, CMP-9).", 300.0, minimum=0.01),
    Setting("ZHIFA_COMPLAINTS_ATTACHMENTS_DIR", "path", "Directory of complaint attachments (content-addressed).",
            under_var("complaints", "attachments"), default_text="`var/complaints/attachments`"),
)

SERVICE = ServiceEntry(
    name="complaints",
    service="services.complaints.service:ComplaintsService",
    models="services.complaints.models",
    metrics_port=9104,
    order=4,
    settings=SETTINGS,
)
