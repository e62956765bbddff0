"""The leased jobs (one replica runs each): publication deadlines (DISC-3, 超期) and stale power
lists (PLAT-4), and the annual reports generated, published and sent in January (DISC-7)."""
from __future__ import annotations

import datetime as dt

from services.common.workdays import default_calendar, refresh_default_calendar
from services.disclosure import jobs, reports
from services.disclosure.settings import service_settings


def deadline_check(db, today: dt.date) -> dict:
    """DISC-3 and PLAT-6: on the calendar in force — reloaded first if its directory changed (issue 16), so
    pending publications computed under another calendar version are recounted, their moves kept."""
    with db.session() as session:
        counts = jobs.check_deadlines(session, today, refresh_default_calendar())
    with db.session() as session:
        counts["stale_powers"] = jobs.refresh_stale_powers(session, today)
    return counts


def annual_reports(db, today: dt.date) -> list[str]:
    return reports.generate_missing(db.session, today, default_calendar(),
                                    service_settings()["annual_report_from_day"])
