"""The review service's configuration files, reread when they change (REV-1: editable without a release).

- ``config/review/catalogue.yaml`` (setting ``ZHIFA_REVIEW_CATALOGUE``): the review catalogue (目录清单);
- ``config/review/checklist.yaml`` (``ZHIFA_REVIEW_CHECKLIST``): automatic pre-check settings;
- ``config/review/review.yaml`` (``ZHIFA_REVIEW_SETTINGS``): due dates, assignment, staffing.

Each access stats the file; a changed file is read and, if its content changed, parsed and validated. A
file that became invalid is reported (log + ``zhifa_review_config_reloads_total{outcome="invalid"}``) and the
last valid content stays in force; with no valid content at all the caller gets :class:`ConfigUnavailable`,
a transient error: events wait in the retry queue until the file is fixed instead of being dead-lettered.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import yaml

from services.common import settings
from services.common.entrypoints import TransientError
from services.common.periods import period
from services.review import metrics
from services.review.domain import (Catalogue, ChecklistConfig, load_catalogue, load_checklist_config)

log = logging.getLogger(__name__)
CONFIG_DIR = Path(settings.ROOT) / "config" / "review"


class ConfigUnavailable(TransientError):
    """No valid version of a configuration file could be loaded."""


class SettingsError(ValueError):
    """``config/review/review.yaml`` is invalid."""


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


def parse_settings(data: Any, source: str = "<dict>") -> ReviewSettings:
    def fail(where, message):
        raise SettingsError(f"review settings {source}: {where}: {message}")

    def section(name, keys):
        raw = data.get(name) or {}
        if not isinstance(raw, dict):
            fail(name, "expected a mapping")
        extra = sorted(set(raw) - keys)
        if extra:
            fail(name, f"unknown key(s) {', '.join(map(str, extra))}")
        return raw

    if not isinstance(data, dict):
        fail("top level", "expected a mapping")
    extra = sorted(set(data) - {"task", "assignment", "staffing"})
    if extra:
        fail("top level", f"unknown key(s) {', '.join(map(str, extra))}")
    task = section("task", {"period", "warn_working_days"})
    assignment = section("assignment", {"min_own_reviewers", "pooled_reviewers"})
    staffing = section("staffing", {"min_ratio", "grace_hours"})
    period_name = str(task.get("period", "review.task"))
    try:
        period(period_name)
    except KeyError as exc:
        fail("task.period", str(exc))
    warn = task.get("warn_working_days", 1)
    if not isinstance(warn, int) or isinstance(warn, bool) or warn < 0:
        fail("task.warn_working_days", f"expected a non-negative integer, got {warn!r}")
    own = assignment.get("min_own_reviewers", 1)
    if not isinstance(own, int) or isinstance(own, bool) or own < 1:
        fail("assignment.min_own_reviewers", f"expected a positive integer, got {own!r}")
    pool = assignment.get("pooled_reviewers") or []
    if not isinstance(pool, list) or not all(isinstance(x, str) and x for x in pool):
        fail("assignment.pooled_reviewers", "expected a list of officer ids")
    try:
        ratio = Decimal(str(staffing.get("min_ratio", "0.05")))
    except Exception:
        ratio = None
    if ratio is None or isinstance(staffing.get("min_ratio"), bool) or not (0 <= ratio <= 1):
        fail("staffing.min_ratio", f"expected a number between 0 and 1, got {staffing.get('min_ratio')!r}")
    grace = staffing.get("grace_hours", 24)
    if not isinstance(grace, (int, float)) or isinstance(grace, bool) or grace < 0:
        fail("staffing.grace_hours", f"expected a non-negative number of hours, got {grace!r}")
    return ReviewSettings(period_name, warn, own, frozenset(pool), ratio, float(grace))


def load_settings(path: Path) -> ReviewSettings:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"review settings {path}: {exc}") from exc
    return parse_settings(data, str(path))


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


def _load_benchmarks(path: Path):
    from services.review.domain import load_benchmarks

    return load_benchmarks(path)


BENCHMARKS = ReloadingFile("benchmarks", "ZHIFA_REVIEW_BENCHMARKS", _load_benchmarks)


def benchmarks():
    """Discretion benchmarks (REV-8) for the law_discretion hint; None while no valid file is available."""
    try:
        return BENCHMARKS.get()
    except ConfigUnavailable:
        return None
