"""Where the complaints rule files under ``config/complaints/`` are, and the error a bad one raises.

Every rule file is loaded by a function that takes a path (default: the shipped file) so that a
region can edit its rules without a release (PLAT-6 spirit, house rule for data-driven rules). The
files are read by the one loader (services/common/configfile.py: a marshmallow schema per file,
errors as ``file: key.path: message``).
"""
from __future__ import annotations

import os
from pathlib import Path

from services.common.configfile import ConfigFileError as ConfigError  # noqa: F401 - re-exported

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config" / "complaints"


def config_path(name: str, path: str | os.PathLike | None) -> Path:
    return Path(path) if path is not None else CONFIG_DIR / name
