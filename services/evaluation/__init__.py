"""The evaluation service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.registry import ServiceEntry

SERVICE = ServiceEntry(
    name="evaluation",
    service="services.evaluation.service:EvaluationService",
    models="services.evaluation.models",
    metrics_port=9105,
    order=5,
)
