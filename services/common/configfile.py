"""One way to read a configuration file (issue 21): YAML checked against a marshmallow schema.

Every rule file under ``config/`` has a schema; :func:`load_config_file` parses it, refuses unknown keys
(marshmallow's RAISE, the default) and reports every problem in one message, in English, as
``file: key.path: message; key.path: message``. Services load their files at start-up, so a bad file
stops the service with that message instead of failing on the first event that needs the rule.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError

__all__ = ["ConfigFileError", "load_config_file", "read_yaml_mapping", "error_lines"]


class ConfigFileError(ValueError):
    """A configuration file cannot be used; the message names the file, the key path and the reason."""


def error_lines(messages: Any, path: tuple[str, ...] = ()) -> list[str]:
    """marshmallow's nested error dict as ``key.path: message`` lines (list indexes as path parts)."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            out += error_lines(value, path if key == "_schema" else (*path, str(key)))
        return out
    if isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        where = ".".join(path) or "(top level)"
        return [f"{where}: {m}" for m in messages]
    if isinstance(messages, list):
        return [line for m in messages for line in error_lines(m, path)]
    return [f"{'.'.join(path) or '(top level)'}: {messages}"]


def read_yaml_mapping(path: str | os.PathLike) -> dict:
    """The YAML file's top-level mapping (an empty file is an empty mapping)."""
    where = Path(path)
    try:
        data = yaml.safe_load(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"{where}: cannot be read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{where}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"{where}: (top level): must be a mapping, not {type(data).__name__}")
    return data


def load_config_file(path: str | os.PathLike, schema: Schema | type[Schema]) -> Any:
    """Parse ``path`` with ``schema`` (an instance or a class); ConfigFileError with every problem."""
    instance = schema() if isinstance(schema, type) else schema
    data = read_yaml_mapping(path)
    try:
        return instance.load(data)
    except ValidationError as exc:
        raise ConfigFileError(f"{path}: " + "; ".join(error_lines(exc.messages))) from None
