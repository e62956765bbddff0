"""A working-day calendar directory a test can change (PLAT-6, issue 16).

The ``calendar_dir`` fixture points ``ZHIFA_CALENDAR_DIR`` at an empty temporary directory and makes it
the process's calendar in force (the shipped years of ``chinese_calendar`` only). ``load_schedule`` then
drops a ``2026.yaml`` override into it — 2026 as the State Council published it, plus extra holidays —
as an operator would; the services see it at their next periodic job (``refresh_default_calendar``).
At the end the calendar of the other tests is restored.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import chinese_calendar
import pytest
import yaml

from services.common import workdays

YEAR = 2026


def schedule_text(extra_holidays=()) -> str:
    """``2026.yaml``: the library's 2026 schedule with ``extra_holidays`` added."""
    holidays = sorted({d for d in chinese_calendar.holidays if d.year == YEAR} | set(extra_holidays))
    workdays_ = sorted(d for d in chinese_calendar.workdays if d.year == YEAR)
    return yaml.safe_dump({"year": YEAR, "source": "测试：补充放假安排", "holidays": holidays,
                           "adjusted_workdays": workdays_}, allow_unicode=True)


class CalendarDir:
    def __init__(self, path: Path):
        self.path = path

    def load_schedule(self, *extra_holidays: dt.date) -> None:
        (self.path / f"{YEAR}.yaml").write_text(schedule_text(extra_holidays), encoding="utf-8")

    def calendar(self) -> workdays.WorkingDayCalendar:
        """The calendar the directory holds now (what the services should count on)."""
        return workdays.WorkingDayCalendar.load(self.path)


@pytest.fixture
def calendar_dir(tmp_path, monkeypatch):
    path = tmp_path / "calendar"
    path.mkdir()
    monkeypatch.setenv("ZHIFA_CALENDAR_DIR", str(path))
    workdays.reload_default_calendar()
    yield CalendarDir(path)
    monkeypatch.undo()
    workdays.reload_default_calendar()
