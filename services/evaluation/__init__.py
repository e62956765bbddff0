"""The evaluation service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.config_catalogue import Setting
from services.common.registry import ServiceEntry

SETTINGS = (
    Setting("ZHIFA_EVALUATION_INTERVAL", "float", "Seconds between evaluation's periodic job (scores, grades, "
            "overdue supervision).", 600.0, minimum=0.01),
    Setting("ZHIFA_EVALUATION_GAP_GRACE_WORKING_DAYS", "int", "Chinese working days a missing record may still be "
            "in flight after its step was due (the decision, the archiving) before the periodic job makes the gap "
            "an accountability clue (EVAL-6, issue 16).", 5, minimum=0),
)

SERVICE = ServiceEntry(
    name="evaluation",
    service="services.evaluation.service:EvaluationService",
    models="services.evaluation.models",
    metrics_port=9105,
    order=5,
    settings=SETTINGS,
)
