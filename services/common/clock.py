"""The suite's clock: "now" and "today" (China) for everything that changes state by date — overdue
marks, deadline sweeps, year-to-date grades, annual reports, erasure after retention (SEC-2).

No production surface takes the date from a caller (a future ``as_of`` sent over HTTP or RPC once
marked supervision items overdue for good): jobs and their RPCs ask this clock. The clock is the
system's, unless the suite is configured with ``ZHIFA_CLOCK`` (nameko config or environment; an ISO
instant with its zone, e.g. ``2027-01-10T09:00:00+08:00``) — for tests and demos that need a given
day; it is configuration, never read from a request, and a deployment leaves it unset.
"""
from __future__ import annotations

import datetime as dt
import logging

from services.common import settings

log = logging.getLogger(__name__)
CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
_announced: set = set()


def now() -> dt.datetime:
    """The current instant (aware, UTC)."""
    fixed = settings.get("ZHIFA_CLOCK")
    if not fixed:
        return dt.datetime.now(dt.timezone.utc)
    moment = dt.datetime.fromisoformat(str(fixed))
    if moment.tzinfo is None:
        raise ValueError(f"ZHIFA_CLOCK needs a time zone: {fixed}")
    if fixed not in _announced:
        _announced.add(fixed)
        log.warning("ZHIFA_CLOCK is set: the suite's clock is fixed at %s (tests and demos only)", fixed)
    return moment.astimezone(dt.timezone.utc)


def today() -> dt.date:
    """Today in China (deadlines and periods count China's days)."""
    return now().astimezone(CHINA).date()
