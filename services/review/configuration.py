"""The review service's configuration files, reread when they change (REV-1: editable without a release).

- ``config/review/catalogue.yaml`` (setting ``ZHIFA_REVIEW_CATALOGUE``): the review catalogue (目录清单);
- ``config/review/checklist.yaml`` (``ZHIFA_REVIEW_CHECKLIST``): automatic pre-check settings;
- ``config/review/review.yaml`` (``ZHIFA_REVIEW_SETTINGS``): due dates, assignment, staffing;
- ``config/review/benchmarks.yaml`` (``ZHIFA_REVIEW_BENCHMARKS``) and ``drafts.yaml`` (``ZHIFA_REVIEW_DRAFTS``):
  the assistance (REV-8): discretion benchmarks, draft decision document templates.

Each access stats the file; a changed file is read and, if its content changed, parsed and validated. A
file that became invalid is reported (log + ``zhifa_review_config_reloads_total{outcome="invalid"}``) and the
last valid content stays in force; with no valid content at all the caller gets :class:`ConfigUnavailable`,
a transient error: events wait in the retry queue until the file is fixed instead of being dead-lettered.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Mapping

from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate

from services.common import settings
from services.common.auth import DepartmentSystems, load_department_systems
from services.common.configfile import ConfigFileError, check_data, load_config_file, under
from services.common.entrypoints import TransientError
from services.common.periods import load_periods, period
from services.common.sample_data import is_sample_code, refuse_sample_data
from services.common.workdays import WorkingDayCalendar
from services.review import metrics
from services.review.domain import (BenchmarksFile, Catalogue, CatalogueFile, ChecklistConfig, ChecklistFile,
                                    DraftsFile, DraftTemplate, MatterBenchmark)

log = logging.getLogger(__name__)
CONFIG_DIR = Path(settings.ROOT) / "config" / "review"


class ConfigUnavailable(TransientError):
    """No valid version of a configuration file could be loaded."""


SettingsError = ConfigFileError   # ``config/review/review.yaml`` is invalid (or names a period counted otherwise)


@dataclass(frozen=True)
class ReviewSettings:
    period_name: str = "review.task"
    warn_working_days: int = 1
    min_own_reviewers: int = 1
    pooled_reviewers: frozenset[str] = field(default_factory=frozenset)
    min_ratio: Decimal = Decimal("0.05")
    grace_hours: float = 24.0

    @property
    def working_days(self) -> int:
        p = period(self.period_name)
        if p.unit != "working_days":
            raise SettingsError(f"period {self.period_name} must be counted in working_days, not {p.unit}")
        return p.value


def _known_period(name: str) -> None:
    try:
        period(name)
    except KeyError as exc:
        raise ValidationError(str(exc.args[0])) from None


class _Task(Schema):
    period = fields.String(load_default="review.task", validate=_known_period)
    warn_working_days = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=0))


class _Assignment(Schema):
    min_own_reviewers = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1))
    pooled_reviewers = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list,
                                   allow_none=True)


class _Ratio(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            ratio = None if isinstance(value, bool) else Decimal(str(value))
        except ArithmeticError:
            ratio = None
        if ratio is None or not 0 <= ratio <= 1:
            raise ValidationError(f"expected a number between 0 and 1, got {value!r}")
        return ratio


class _Staffing(Schema):
    min_ratio = _Ratio(load_default=Decimal("0.05"))
    grace_hours = fields.Float(load_default=24.0, validate=validate.Range(min=0))


class SettingsFile(Schema):
    """``config/review/review.yaml`` → :class:`ReviewSettings` (every key has a default)."""

    task = fields.Nested(_Task, load_default=lambda: _Task().load({}))
    assignment = fields.Nested(_Assignment, load_default=lambda: _Assignment().load({}))
    staffing = fields.Nested(_Staffing, load_default=lambda: _Staffing().load({}))

    @pre_load
    def empty_sections(self, data, **kwargs):
        return {k: ({} if v is None else v) for k, v in data.items()} if isinstance(data, dict) else data

    @post_load
    def build(self, data, **kwargs) -> ReviewSettings:
        task, assignment, staffing = data["task"], data["assignment"], data["staffing"]
        return ReviewSettings(task["period"], task["warn_working_days"], assignment["min_own_reviewers"],
                              frozenset(assignment["pooled_reviewers"] or ()), staffing["min_ratio"],
                              float(staffing["grace_hours"]))


def parse_settings(data: Any, source: str = "<dict>") -> ReviewSettings:
    return check_data(data, SettingsFile, source)


def load_settings(path: Path) -> ReviewSettings:
    return load_config_file(path, SettingsFile)


def load_catalogue(path: str | os.PathLike | None = None) -> Catalogue:
    """Read and validate a catalogue file (default: ``config/review/catalogue.yaml``)."""
    source = Path(path) if path else CONFIG_DIR / "catalogue.yaml"
    return dataclasses.replace(load_config_file(source, CatalogueFile), source=str(source))


def load_checklist_config(path: str | os.PathLike | None = None) -> ChecklistConfig:
    """``config/review/checklist.yaml`` (or ``path``): automatic pre-check settings (COORD-3)."""
    return load_config_file(path or CONFIG_DIR / "checklist.yaml", ChecklistFile)


def load_benchmarks(path: str | os.PathLike | None = None) -> dict[str, MatterBenchmark]:
    """``config/review/benchmarks.yaml`` (or ``path``): discretion benchmarks by matter code (REV-8)."""
    source = path or CONFIG_DIR / "benchmarks.yaml"
    loaded = load_config_file(source, BenchmarksFile)
    refuse_sample_data(source, [code for code in loaded if is_sample_code(code)])   # issue 18
    return loaded


def load_drafts(path: str | os.PathLike | None = None) -> dict[str, DraftTemplate]:
    """``config/review/drafts.yaml`` (or ``path``): draft decision document templates (REV-8, issue 18)."""
    return load_config_file(path or CONFIG_DIR / "drafts.yaml", DraftsFile)


class ReloadingFile:
    """A configuration file parsed by ``loader`` and reloaded when its content changes."""

    def __init__(self, name: str, setting_key: str, loader: Callable[[Path], Any]):
        """``setting_key``: the declared setting naming the file (services/review/__init__.py)."""
        self.name, self.setting_key, self.loader = name, setting_key, loader
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._stamp = None
        self._digest: str | None = None
        self._value = None
        self._bad = None  # (path, stamp) of the invalid content last seen: not reparsed until it changes
        self.last_error: str | None = None

    def path(self) -> Path:
        return settings.get(self.setting_key)

    def get(self):
        path = self.path()
        try:
            st = path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        with self._lock:
            if path == self._path and stamp is not None and stamp == self._stamp and self._value is not None:
                return self._value
            if stamp is not None and self._bad == (path, stamp):
                if self._value is not None:
                    return self._value
                raise ConfigUnavailable(f"review {self.name} unavailable: {self.last_error}")
            try:
                content = path.read_bytes()
            except OSError as exc:
                return self._keep_or_fail(path, f"cannot read {path}: {exc}")
            digest = hashlib.sha256(content).hexdigest()
            if path == self._path and digest == self._digest and self._value is not None:
                self._stamp = stamp
                return self._value
            try:
                value = self.loader(path)
            except ValueError as exc:  # CatalogueError, ChecklistConfigError, SettingsError
                self._bad = (path, stamp)
                return self._keep_or_fail(path, str(exc))
            changed = self._value is not None
            self._path, self._stamp, self._digest, self._value, self.last_error = path, stamp, digest, value, None
            self._bad = None
            metrics.CONFIG_RELOADS.labels(self.name, "reloaded" if changed else "loaded").inc()
            log.info("review %s %s from %s", self.name, "reloaded" if changed else "loaded", path)
            return value

    def _keep_or_fail(self, path: Path, error: str):
        metrics.CONFIG_RELOADS.labels(self.name, "invalid").inc()
        if error != self.last_error:
            log.error("review %s: %s", self.name, error)
        self.last_error = error
        if self._value is not None:
            return self._value  # the last valid version stays in force
        raise ConfigUnavailable(f"review {self.name} unavailable: {error}")


CATALOGUE = ReloadingFile("catalogue", "ZHIFA_REVIEW_CATALOGUE", load_catalogue)
CHECKLIST = ReloadingFile("checklist", "ZHIFA_REVIEW_CHECKLIST", load_checklist_config)
SETTINGS = ReloadingFile("settings", "ZHIFA_REVIEW_SETTINGS", load_settings)


def catalogue() -> Catalogue:
    return CATALOGUE.get()


def checklist_config() -> ChecklistConfig:
    return CHECKLIST.get()


def review_settings() -> ReviewSettings:
    return SETTINGS.get()


BENCHMARKS = ReloadingFile("benchmarks", "ZHIFA_REVIEW_BENCHMARKS", load_benchmarks)


DRAFTS = ReloadingFile("drafts", "ZHIFA_REVIEW_DRAFTS", load_drafts)


def drafts() -> dict[str, DraftTemplate]:
    return DRAFTS.get()


def benchmarks():
    """Discretion benchmarks (REV-8) for the law_discretion hint; None while no valid file is available."""
    try:
        return BENCHMARKS.get()
    except ConfigUnavailable:
        return None


@dataclass(frozen=True)
class ReviewConfig:
    catalogue: Catalogue
    checklist: ChecklistConfig
    settings: ReviewSettings
    benchmarks: Mapping
    periods: Mapping
    calendar: WorkingDayCalendar
    departments: DepartmentSystems
    drafts: Mapping = field(default_factory=dict)


def load_all(root: str | os.PathLike | None = None) -> ReviewConfig:
    """Every file the review service reads, at start-up (issue 21; ``ConfigFiles`` in service.py), from ``root``
    (a copy of ``config/``) or the configured places: a bad file stops the service with ``file: key.path:
    message``. Once running, a file edited into a bad state is reported and the last valid version stays in
    force (:class:`ReloadingFile`)."""
    def load(file: ReloadingFile, name: str):
        return file.loader(under(root, "review", name) or file.path())

    periods_file = under(root, "periods.yaml")
    periods = load_periods(str(periods_file) if periods_file else None)
    return ReviewConfig(load(CATALOGUE, "catalogue.yaml"), load(CHECKLIST, "checklist.yaml"),
                        load(SETTINGS, "review.yaml"), load(BENCHMARKS, "benchmarks.yaml"), periods,
                        WorkingDayCalendar.load(under(root, "calendar")), load_department_systems(),
                        load(DRAFTS, "drafts.yaml"))
