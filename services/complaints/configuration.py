"""The complaints service's configuration files, all read at start-up (issue 21; ``ConfigFiles`` in
service.py): a bad file stops the service with ``file: key.path: message``.

- ``config/complaints/acceptance.yaml`` (CMP-3, CMP-4), ``routing.yaml`` (CMP-8), ``channels.yaml`` (CMP-1),
  ``deadlines.yaml`` (CMP-9; the rules in force, ``deadline_rules()``), ``duplicates.yaml`` (CMP-2) — schemas beside their rules in domain/;
- ``config/attachments.yaml`` (CMP-1), ``config/periods.yaml`` and the working-day calendar (PLAT-6);
- the departmental systems' ``api_keys.yaml`` (who may send ``complaint.submitted``, SEC-1).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from services.common.attachments import IntakeRules, load_intake_rules
from services.common.auth import DepartmentSystems, load_department_systems
from services.common.configfile import under
from services.common.periods import Period, load_periods
from services.common.sample_data import refuse_sample_data
from services.common.workdays import WorkingDayCalendar
from services.complaints.domain import (AcceptanceRules, ChannelDirectory, DeadlineRules, DuplicateRules,
                                        RoutingRules, load_acceptance_rules, load_channels, load_deadline_rules,
                                        load_duplicate_rules, load_routing_rules)
from services.complaints.domain.config import config_path


@dataclass(frozen=True)
class ComplaintsConfig:
    acceptance: AcceptanceRules
    routing: RoutingRules
    channels: ChannelDirectory
    deadlines: DeadlineRules
    duplicates: DuplicateRules
    attachments: IntakeRules
    periods: dict[str, Period]
    calendar: WorkingDayCalendar
    departments: DepartmentSystems


_IN_FORCE: dict = {}


def load_all(root: str | os.PathLike | None = None) -> ComplaintsConfig:
    """Every file the complaints service reads, from ``root`` (a copy of ``config/``) or the configured places.
    The rules read here are the ones in force (``deadline_rules``): the service calls this at start-up."""
    periods_file = under(root, "periods.yaml")
    loaded = ComplaintsConfig(load_acceptance_rules(under(root, "complaints", "acceptance.yaml")),
                            load_routing_rules(under(root, "complaints", "routing.yaml")),
                            load_channels(under(root, "complaints", "channels.yaml")),
                            load_deadline_rules(under(root, "complaints", "deadlines.yaml")),
                            load_duplicate_rules(under(root, "complaints", "duplicates.yaml")),
                            load_intake_rules(under(root, "attachments.yaml")),
                            load_periods(str(periods_file) if periods_file else None),
                            WorkingDayCalendar.load(under(root, "calendar")),
                            load_department_systems())
    refuse_sample_data(config_path("channels.yaml", under(root, "complaints", "channels.yaml")),
                       loaded.channels.samples())
    _IN_FORCE["deadlines"] = loaded.deadlines
    return loaded


def deadline_rules() -> DeadlineRules:
    """CMP-9 (issue 16): the warning and escalation parameters in force — ``config/complaints/deadlines.yaml``
    as read at start-up by ``load_all`` (read now if nothing loaded it, e.g. an operator's script). The use
    cases pass them to the domain (``warning_level``, ``pending_escalations``): the domain's defaults are
    never what a deployment runs on."""
    rules = _IN_FORCE.get("deadlines")
    if rules is None:
        rules = _IN_FORCE["deadlines"] = load_deadline_rules()
    return rules
