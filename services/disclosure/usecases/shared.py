"""What the disclosure use cases share: the caller's scope check (SEC-2, PLAT-1), the refusal answer
(``{"error", "status", "message", "fields"}``, the gateway turns it into the HTTP error) and a day read
from a form."""
from __future__ import annotations

import datetime as dt

from services.common.scope import Scope
from services.disclosure.lifecycle import Refused

__all__ = ["Refused", "day", "may_act", "refused"]


def day(value) -> dt.date | None:
    """A day from an ISO date (or datetime) string or a date; None for nothing."""
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def may_act(scope, region_code: str, body_id: str) -> bool:
    """SEC-2, PLAT-1: the caller's region covers the entry AND the caller acts for its body (a caller
    without a body list acts for none; every body of the region is an explicit grant)."""
    return Scope.of(scope).covers(region_code, body_id)


def refused(status, code, message, fields=None) -> dict:
    return Refused(status, code, message, fields).as_dict()
