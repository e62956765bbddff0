"""One way to read a configuration file (issue 21): YAML checked against a marshmallow schema.

Every rule file under ``config/`` has a schema; :func:`load_config_file` parses it, refuses unknown keys
(marshmallow's RAISE, the default) and reports every problem in one message, in English, as
``file: key.path: message; key.path: message``. Services load their files at start-up, so a bad file
stops the service with that message instead of failing on the first event that needs the rule.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable

import yaml
from marshmallow import Schema, ValidationError, fields
from nameko.extensions import DependencyProvider

__all__ = ["Code", "ConfigFileError", "ConfigFiles", "Keyed", "Problems", "check_data", "error_lines",
           "load_config_file", "read_yaml_mapping", "under"]
log = logging.getLogger(__name__)


class ConfigFileError(ValueError):
    """A configuration file cannot be used; the message names the file, the key path and the reason."""


def under(root: str | os.PathLike | None, *parts: str) -> Path | None:
    """``root/parts`` when a config root is given (tests, a copy), else None: the loader's own default."""
    return Path(root, *parts) if root is not None else None


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


def read_yaml_mapping(path: str | os.PathLike, many: bool = False) -> dict | list:
    """The YAML file's top-level mapping (an empty file is an empty mapping); with ``many``, its
    top-level list (an empty file is an empty list)."""
    where = Path(path)
    try:
        data = yaml.safe_load(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigFileError(f"{where}: cannot be read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{where}: not valid YAML: {exc}") from exc
    if data is None:
        return [] if many else {}
    if many and not isinstance(data, list):
        raise ConfigFileError(f"{where}: (top level): must be a list, not {type(data).__name__}")
    if not many and not isinstance(data, dict):
        raise ConfigFileError(f"{where}: (top level): must be a mapping, not {type(data).__name__}")
    return data


class Code(fields.String):
    """A code or number written with or without quotes (``320400``, ``"12345"``): YAML reads an unquoted
    one as an integer; it is kept as the text it was written as."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


class Keyed(fields.Field):
    """A mapping whose keys the file chooses (region codes, period names, indicator ids) → values checked
    by ``values`` (a field, usually ``Nested``); ``keys`` checks each key. Errors are keyed by the key
    itself (``regions.320412.email: …``), without marshmallow's ``key``/``value`` wrapper."""

    def __init__(self, values: fields.Field, keys: fields.Field | None = None, **kwargs):
        super().__init__(**kwargs)
        self.values = values
        self.keys = keys or fields.String()

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("Not a valid mapping.")
        out, errors = {}, {}
        for raw_key, raw_value in value.items():
            try:
                key = self.keys.deserialize(raw_key)
                out[key] = self.values.deserialize(raw_value)
            except ValidationError as exc:
                errors[str(raw_key)] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out


def check_data(data: Any, schema: Schema | type[Schema] | fields.Field, source: str) -> Any:
    """Check already parsed ``data`` (as YAML loads it) against ``schema``; ConfigFileError
    ``source: key.path: message; …`` with every problem."""
    try:
        if isinstance(schema, fields.Field):
            return schema.deserialize(data)
        return (schema() if isinstance(schema, type) else schema).load(data)
    except ValidationError as exc:
        raise ConfigFileError(f"{source}: " + "; ".join(error_lines(exc.messages))) from None


class Problems:
    """Problems found while checking a file's parts against each other (``@validates_schema``, ``post_load``),
    collected by key path and raised at once as one ValidationError."""

    def __init__(self):
        self.tree: dict = {}

    def add(self, message: str, *path) -> None:
        node = self.tree
        for key in path:
            node = node.setdefault(key, {})
        node.setdefault("_schema", []).append(message)

    def raise_any(self) -> None:
        if self.tree:
            raise ValidationError(self.tree)


def load_config_file(path: str | os.PathLike, schema: Schema | type[Schema] | fields.Field) -> Any:
    """Parse ``path`` with ``schema`` (a schema instance or class — an instance with ``many=True`` reads a
    top-level list — or a field such as :class:`Keyed` for a file that is one mapping of chosen names);
    ConfigFileError with every problem."""
    many = not isinstance(schema, fields.Field) and bool(getattr(schema, "many", False)) \
        and not isinstance(schema, type)
    return check_data(read_yaml_mapping(path, many=many), schema, str(path))


class ConfigFiles(DependencyProvider):
    """Loads a service's configuration files when its container starts: ``load`` (the service's own
    ``configuration.load_all``) reads and checks every file, so a bad file stops the service with the
    loader's one message (logged, then raised out of ``container.start()``) instead of failing on the
    first event that needs the rule. Workers get what ``load`` returned."""

    def __init__(self, load: Callable[[], Any]):
        self.load = load
        self.files: Any = None

    def setup(self):
        try:
            self.files = self.load()
        except ConfigFileError as exc:
            log.critical("%s not started: bad configuration: %s", self.container.service_name, exc)
            raise

    def get_dependency(self, worker_ctx):
        return self.files
