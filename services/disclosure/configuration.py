"""The disclosure service's configuration files, all read at start-up (issue 21; ``ConfigFiles`` in
service.py): a bad file stops the service with ``file: key.path: message``.

- ``config/disclosure/service.yaml``: service settings (DISC-7; services/disclosure/settings.py);
- ``config/disclosure/redaction.yaml``: what is masked before publication (DISC-4);
- ``config/disclosure/conclusion_types.yaml``: classification of conclusions (DISC-3);
- ``config/disclosure/random_inspection.yaml``: random inspections (双随机一公开, DISC-5);
- ``config/periods.yaml`` (publication periods, DISC-3) and the working-day calendar (PLAT-6);
- the departmental systems' ``api_keys.yaml`` (who may send decisions, SEC-1).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from services.common.auth import DepartmentSystems, load_department_systems
from services.common.configfile import under
from services.common.periods import Period, load_periods
from services.common.workdays import WorkingDayCalendar
from services.disclosure.domain.conclusions import ConclusionRules, load_conclusion_rules
from services.disclosure.domain.random_inspection import InspectionRules, load_inspection_rules
from services.disclosure.domain.redaction import RedactionRules, load_redaction_rules
from services.disclosure.settings import service_settings


@dataclass(frozen=True)
class DisclosureConfig:
    settings: dict
    redaction: RedactionRules
    conclusions: ConclusionRules
    inspections: InspectionRules
    periods: dict[str, Period]
    calendar: WorkingDayCalendar
    departments: DepartmentSystems


def load_all(root: str | os.PathLike | None = None) -> DisclosureConfig:
    """Every file the disclosure service reads, from ``root`` (a copy of ``config/``) or the configured places."""
    def path(*parts):
        found = under(root, *parts)
        return str(found) if found is not None else None

    return DisclosureConfig(service_settings(path("disclosure", "service.yaml")),
                            load_redaction_rules(path("disclosure", "redaction.yaml")),
                            load_conclusion_rules(path("disclosure", "conclusion_types.yaml")),
                            load_inspection_rules(path("disclosure", "random_inspection.yaml")),
                            load_periods(path("periods.yaml")),
                            WorkingDayCalendar.load(under(root, "calendar")),
                            load_department_systems())
