"""The evaluation service's configuration files, all read at start-up (issue 21; ``ConfigFiles`` in
service.py): a bad file stops the service with ``file: key.path: message``.

- ``config/evaluation/indicators.yaml``: indicator sets, grading, consequences (EVAL-2, EVAL-3, EVAL-4);
- ``config/evaluation/evaluators.yaml``: who evaluates dual-managed and vertical bodies (EVAL-1);
- ``config/evaluation/supervision.yaml``: periods of supervision items (COORD-4, EVAL-9);
- ``config/evaluation/rules.yaml``: problem-detection rules (EVAL-9);
- ``config/federation.yaml`` (what crosses between tiers), ``config/periods.yaml``, the working-day calendar
  and the departmental systems' ``api_keys.yaml``.

The schemas sit beside their rules in ``domain/``; the service's running copies are cached in
``engine.py`` (read on first use).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from services.common import federation
from services.common.auth import DepartmentSystems, load_department_systems
from services.common.configfile import under
from services.common.periods import Period, load_periods
from services.common.workdays import WorkingDayCalendar
from services.evaluation import domain as d
from services.evaluation.domain.accountability import SupervisionRules
from services.evaluation.domain.evaluators import EvaluatorRules
from services.evaluation.domain.rules import DetectionRule


@dataclass(frozen=True)
class EvaluationConfig:
    indicators: d.IndicatorConfig
    evaluators: EvaluatorRules
    supervision: SupervisionRules
    rules: list[DetectionRule]
    links: dict
    periods: dict[str, Period]
    calendar: WorkingDayCalendar
    departments: DepartmentSystems


def load_all(root: str | os.PathLike | None = None) -> EvaluationConfig:
    """Every file the evaluation service reads, from ``root`` (a copy of ``config/``) or the configured places."""
    periods_file = under(root, "periods.yaml")
    return EvaluationConfig(d.load_indicator_config(under(root, "evaluation", "indicators.yaml")),
                            d.load_evaluator_rules(under(root, "evaluation", "evaluators.yaml")),
                            d.load_supervision_rules(under(root, "evaluation", "supervision.yaml")),
                            d.load_rules(under(root, "evaluation", "rules.yaml")),
                            federation.load_links(under(root, "federation.yaml")),
                            load_periods(str(periods_file) if periods_file else None),
                            WorkingDayCalendar.load(under(root, "calendar")),
                            load_department_systems())
