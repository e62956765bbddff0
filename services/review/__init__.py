"""The review service. It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.config_catalogue import ROOT, Setting
from services.common.registry import ServiceEntry

CONFIG = ROOT / "config" / "review"
SETTINGS = (
    Setting("ZHIFA_REVIEW_CATALOGUE", "path", "The review catalogue (目录清单): which decisions need legal review.",
            CONFIG / "catalogue.yaml"),
    Setting("ZHIFA_REVIEW_CHECKLIST", "path", "Settings of the automatic pre-checks.", CONFIG / "checklist.yaml"),
    Setting("ZHIFA_REVIEW_SETTINGS", "path", "Due dates, assignment and staffing of legal review.",
            CONFIG / "review.yaml"),
    Setting("ZHIFA_REVIEW_BENCHMARKS", "path", "Discretion benchmarks (裁量基准) the pre-checks compare with.",
            CONFIG / "benchmarks.yaml"),
    Setting("ZHIFA_REVIEW_DRAFTS", "path", "Draft decision document templates (执法决定书草稿, Jinja2 per action "
            "type) for the assistance (REV-8).", CONFIG / "drafts.yaml"),
    Setting("ZHIFA_REVIEW_PERIODIC_SECONDS", "float", "Seconds between review's periodic job (due and overdue "
            "tasks, staffing).", 60.0, minimum=0.01),
)

SERVICE = ServiceEntry(
    name="review",
    service="services.review.service:ReviewService",
    models="services.review.models",
    metrics_port=9102,
    order=2,
    settings=SETTINGS,
)
