"""Chinese working-day calendar (工作日) — REQUIREMENTS PLAT-6.

Every statutory deadline in zhifa counts working days: weekends and statutory holidays are
skipped, and the adjusted working weekends (调休上班日) count. The schedule comes from the
maintained `chinese_calendar` package; a year it does not know yet (the State Council publishes
next year's schedule each autumn) is loaded from an override file in the calendar directory
(`config/calendar/<year>.yaml`) without a release. A deadline that touches a year known to
neither is computed with the plain Monday–Friday rule and flagged ``provisional`` — never
silently presented as final. Each calendar has a ``version`` (a digest of the schedules it
knows) so that services can recompute running deadlines when a new schedule is loaded.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import chinese_calendar
from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from services.common.configfile import load_config_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: statutory holidays and adjusted working days (调休)."""

    year: int
    holidays: frozenset[dt.date]
    adjusted_workdays: frozenset[dt.date]
    source: str = ""

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.adjusted_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


@dataclass(frozen=True)
class Deadline:
    """A working-day deadline: ``due`` is the last day on which the act is on time.

    ``provisional`` is True when any day counted lies in a year whose schedule is not loaded.
    """

    start: dt.date
    working_days: int
    due: dt.date
    provisional: bool
    calendar_version: str

    def is_overdue(self, today: dt.date) -> bool:
        return today > self.due


def _library_schedules() -> dict[int, YearSchedule]:
    by_year: dict[int, tuple[set, set]] = {}
    for day in chinese_calendar.holidays:
        by_year.setdefault(day.year, (set(), set()))[0].add(day)
    for day in chinese_calendar.workdays:
        by_year.setdefault(day.year, (set(), set()))[1].add(day)
    return {
        year: YearSchedule(year, frozenset(h), frozenset(w), source="chinese_calendar")
        for year, (h, w) in by_year.items()
    }


class _YearFile(Schema):
    year = fields.Integer(required=True, strict=True)
    source = fields.String()
    holidays = fields.List(fields.Date(), load_default=list)
    adjusted_workdays = fields.List(fields.Date(), load_default=list)

    @validates_schema
    def same_year(self, data, **kwargs):
        for key in ("holidays", "adjusted_workdays"):
            stray = sorted(str(d) for d in data.get(key, ()) if "year" in data and d.year != data["year"])
            if stray:
                raise ValidationError(f"dates outside {data['year']}: {', '.join(stray)}", key)

    @post_load
    def build(self, data, **kwargs) -> YearSchedule:
        return YearSchedule(data["year"], frozenset(data["holidays"]), frozenset(data["adjusted_workdays"]),
                            source=data.get("source", ""))


def load_override_file(path: Path) -> YearSchedule:
    """Read ``<year>.yaml``: ``year``, ``holidays`` and ``adjusted_workdays`` (ISO dates), ``source``;
    ConfigFileError (a ValueError) ``file: key.path: message`` when bad."""
    schedule = load_config_file(path, _YearFile)
    return schedule if schedule.source else YearSchedule(schedule.year, schedule.holidays,
                                                         schedule.adjusted_workdays, source=Path(path).name)


@dataclass
class WorkingDayCalendar:
    """The working-day calendar in force: library years plus override files (overrides win)."""

    schedules: dict[int, YearSchedule] = field(default_factory=dict)

    @classmethod
    def load(cls, calendar_dir: str | os.PathLike | None = None) -> "WorkingDayCalendar":
        schedules = _library_schedules()
        from services.common import settings

        directory = Path(calendar_dir or settings.get("ZHIFA_CALENDAR_DIR"))
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                schedule = load_override_file(path)
                schedules[schedule.year] = schedule
        return cls(schedules)

    @property
    def known_years(self) -> set[int]:
        return set(self.schedules)

    @property
    def version(self) -> str:
        # asked for every deadline computed: recomputed only when the schedules changed
        key = tuple(sorted(self.schedules.items(), key=lambda item: item[0]))
        cached = self.__dict__.get("_version_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        digest = hashlib.sha256()
        for year in sorted(self.schedules):
            s = self.schedules[year]
            digest.update(f"{year}|{sorted(s.holidays)}|{sorted(s.adjusted_workdays)}".encode())
        self.__dict__["_version_cache"] = (key, digest.hexdigest()[:16])
        return self.__dict__["_version_cache"][1]

    def is_known(self, day: dt.date) -> bool:
        return day.year in self.schedules

    def is_working_day(self, day: dt.date) -> bool:
        schedule = self.schedules.get(day.year)
        if schedule is None:
            return day.weekday() < 5  # provisional rule; callers see the flag on Deadline
        return schedule.is_working_day(day)

    def add_working_days(self, start: dt.date | dt.datetime, working_days: int) -> Deadline:
        """The day on which ``working_days`` working days after ``start`` have elapsed.

        The start day itself is not counted (期间开始的日不计算在期间内), so a decision made on a
        Friday with 1 working day runs to the next working day.
        """
        if isinstance(start, dt.datetime):
            start = start.date()
        if working_days < 0:
            raise ValueError("working_days must be >= 0")
        day, counted, provisional = start, 0, not self.is_known(start)
        while counted < working_days:
            day += dt.timedelta(days=1)
            provisional = provisional or not self.is_known(day)
            if self.is_working_day(day):
                counted += 1
        return Deadline(start, working_days, day, provisional, self.version)

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


_default: WorkingDayCalendar | None = None
_default_source: tuple | None = None   # what _default was loaded from (directory_signature)


def directory_signature(calendar_dir: str | os.PathLike | None = None) -> tuple:
    """What the calendar in force is read from: the directory (``ZHIFA_CALENDAR_DIR``) and each
    ``<year>.yaml`` in it with its size and modification time — a new, edited or removed file changes it."""
    from services.common import settings

    directory = Path(calendar_dir or settings.get("ZHIFA_CALENDAR_DIR"))
    files = []
    if directory.is_dir():
        for path in sorted(directory.glob("*.yaml")):
            try:
                stat = path.stat()
            except OSError:
                continue
            files.append((path.name, stat.st_size, stat.st_mtime_ns))
    return str(directory.resolve()), tuple(files)


def default_calendar() -> WorkingDayCalendar:
    """The process-wide calendar, loaded once; ``refresh_default_calendar`` picks up new files."""
    global _default, _default_source
    if _default is None:
        _default_source = directory_signature()
        _default = WorkingDayCalendar.load()
    return _default


def reload_default_calendar() -> WorkingDayCalendar:
    global _default, _default_source
    _default_source = directory_signature()
    _default = WorkingDayCalendar.load()
    return _default


def refresh_default_calendar() -> WorkingDayCalendar:
    """The calendar in force, reloaded first if its directory changed since it was loaded (PLAT-6,
    issue 16): every service's periodic job calls this, so a schedule dropped into
    ``ZHIFA_CALENDAR_DIR`` is in force at the next run — no release, no restart — and the job then
    recomputes the running deadlines (services/common/running_deadlines.py). A bad new file is
    logged and the calendar in force is kept (it is also refused at the next start-up)."""
    global _default, _default_source
    if _default is None:
        return default_calendar()
    source = directory_signature()
    if source == _default_source:
        return _default
    try:
        loaded = WorkingDayCalendar.load()
    except ValueError as exc:   # ConfigFileError: keep the calendar in force
        log.error("calendar directory changed but cannot be loaded; keeping version %s: %s", _default.version, exc)
        _default_source = source
        return _default
    if loaded.version != _default.version:
        log.warning("working-day calendar changed: version %s -> %s (years %s–%s)", _default.version,
                    loaded.version, min(loaded.known_years), max(loaded.known_years))
    _default, _default_source = loaded, source
    return _default
