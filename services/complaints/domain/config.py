"""Reading the complaints rule files under ``config/complaints/`` with clear errors.

Every rule file is loaded by a function that takes a path (default: the shipped file) so that a
region can edit its rules without a release (PLAT-6 spirit, house rule for data-driven rules).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config" / "complaints"


class ConfigError(ValueError):
    """A complaints rule file is missing, unreadable or malformed."""


def config_path(name: str, path: str | os.PathLike | None) -> Path:
    return Path(path) if path is not None else CONFIG_DIR / name


def load_mapping(path: Path) -> dict[str, Any]:
    """Parse a YAML file whose top level must be a mapping."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read complaints rule file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def require(data: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ConfigError(f"{where}: missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}: {key!r} must be {names}, got {type(value).__name__}")
    return value


def optional(data: dict, key: str, kind: type | tuple[type, ...], where: str, default: Any = None) -> Any:
    if data.get(key) is None:
        return default
    return require(data, key, kind, where)
