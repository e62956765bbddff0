"""The gateway's configuration files, all read at start-up (issue 21; ``ConfigFiles`` in service.py):
a bad file stops the gateway with ``file: key.path: message``.

- ``config/gateway/limits.yaml``: abuse limits (SEC-5; services/gateway/shared.py);
- ``config/attachments.yaml``: complaint attachment rules checked at the edge (CMP-1; services/common/attachments.py);
- the departmental systems' ``api_keys.yaml`` (``ZHIFA_API_KEYS_FILE``; services/common/auth.py).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from services.common.attachments import IntakeRules, load_intake_rules
from services.common.auth import DepartmentSystems, load_department_systems
from services.common.configfile import under
from services.gateway.shared import LimitRules, load_limit_rules


@dataclass(frozen=True)
class GatewayConfig:
    limits: LimitRules
    attachments: IntakeRules
    departments: DepartmentSystems


def load_all(root: str | os.PathLike | None = None) -> GatewayConfig:
    """Every file the gateway reads, from ``root`` (a copy of ``config/``) or the configured places."""
    return GatewayConfig(load_limit_rules(under(root, "gateway", "limits.yaml")),
                         load_intake_rules(under(root, "attachments.yaml")),
                         load_department_systems())
