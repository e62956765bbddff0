"""Which year may be evaluated and how its figures are labelled (issue 16: no grade without evidence).

- a future year is refused: nothing has happened in it, so nothing can be scored (``FutureYearError``);
- the running year is provisional (年度进行中) — year-to-date figures — until it is finalised;
- a past year not finalised yet is 年度已结束、待确定最终等次; a finalised one is 已确定最终等次;
- a monthly trend has a point only for the months with facts: an empty month is a gap, not a copy of
  the month before.

Pure functions; "today" always comes from the suite's clock (services/common/clock.py), never a caller.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

PROVISIONAL = "provisional"
ENDED = "ended"
FINAL = "final"

STATUS_NAMES_ZH = {PROVISIONAL: "年度进行中（暂定）", ENDED: "年度已结束，待确定最终等次", FINAL: "已确定最终等次"}


class FutureYearError(ValueError):
    """A year that has not begun: refused with a Chinese message."""

    def __init__(self, year: int, today: dt.date):
        self.year, self.today = year, today
        super().__init__(f"{year}年度尚未开始（今天是{today.isoformat()}），不能查询或评定该年度的考核结果")


def check_year(year: int, today: dt.date) -> int:
    """``year`` as an int if it has begun by ``today``; raises FutureYearError otherwise."""
    year = int(year)
    if year > today.year:
        raise FutureYearError(year, today)
    return year


def year_status(year: int, today: dt.date, finalised: bool = False) -> str:
    """provisional (the running year, not finalised), ended (past, not finalised) or final."""
    check_year(year, today)
    if finalised:
        return FINAL
    return PROVISIONAL if year == today.year else ENDED


def months_with_facts(days: Iterable[dt.date], year: int) -> set[int]:
    """The months of ``year`` in which at least one fact occurred."""
    return {d.month for d in days if d.year == year}
