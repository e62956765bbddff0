"""The evaluation service's configuration files, all read at start-up (issue 21; ``ConfigFiles`` in
service.py): a bad file stops the service with ``file: key.path: message``.

- ``config/evaluation/indicators.yaml``: indicator sets, grading, consequences (EVAL-2, EVAL-3, EVAL-4);
- ``config/evaluation/evaluators.yaml``: who evaluates dual-managed and vertical bodies (EVAL-1);
- ``config/evaluation/supervision.yaml``: periods of supervision items (COORD-4, EVAL-9);
- ``config/evaluation/rules.yaml``: problem-detection rules (EVAL-9);
- ``config/federation.yaml`` (what crosses between tiers), ``config/periods.yaml``, the working-day calendar
  and the departmental systems' ``api_keys.yaml``.

The schemas sit beside their rules in ``domain/`` (pure: plain data in, rule objects out); this module
reads the files (domain/ does no I/O). The service's running copies are cached in ``engine.py``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from services.common import federation, settings
from services.common.auth import DepartmentSystems, load_department_systems
from services.common.configfile import load_config_file, under
from services.common.periods import Period, load_periods
from services.common.workdays import WorkingDayCalendar
from services.evaluation import domain as d
from services.evaluation.domain.accountability import SupervisionFile, SupervisionRules
from services.evaluation.domain.evaluators import EvaluatorRules, EvaluatorsFile
from services.evaluation.domain.indicators import IndicatorsFile
from services.evaluation.domain.rules import DetectionRule, RulesFile

CONFIG_DIR = settings.ROOT / "config" / "evaluation"
INDICATORS_FILE = CONFIG_DIR / "indicators.yaml"


def load_indicator_config(path: str | os.PathLike | None = None) -> d.IndicatorConfig:
    """``config/evaluation/indicators.yaml`` (or ``path``); IndicatorConfigError ``file: key.path: message``."""
    source = Path(path) if path else INDICATORS_FILE
    return replace(load_config_file(source, IndicatorsFile), source=str(source))


def load_evaluator_rules(path: str | os.PathLike | None = None) -> EvaluatorRules:
    """``config/evaluation/evaluators.yaml`` (or ``path``)."""
    return load_config_file(path or CONFIG_DIR / "evaluators.yaml", EvaluatorsFile)


def load_supervision_rules(path: str | os.PathLike | None = None) -> SupervisionRules:
    """``config/evaluation/supervision.yaml`` (or ``path``): periods per kind, yellow warning window."""
    return load_config_file(path or CONFIG_DIR / "supervision.yaml", SupervisionFile)


def load_rules(path: str | os.PathLike | None = None) -> list[DetectionRule]:
    """``config/evaluation/rules.yaml`` (or ``path``): the problem-detection rules."""
    return load_config_file(path or CONFIG_DIR / "rules.yaml", RulesFile)


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
    return EvaluationConfig(load_indicator_config(under(root, "evaluation", "indicators.yaml")),
                            load_evaluator_rules(under(root, "evaluation", "evaluators.yaml")),
                            load_supervision_rules(under(root, "evaluation", "supervision.yaml")),
                            load_rules(under(root, "evaluation", "rules.yaml")),
                            federation.load_links(under(root, "federation.yaml")),
                            load_periods(str(periods_file) if periods_file else None),
                            WorkingDayCalendar.load(under(root, "calendar")),
                            load_department_systems())
