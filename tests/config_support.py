"""Broken copies of configuration files (issue 21: a bad file stops start-up with one clear message).

:func:`broken_copy` copies a service's shipped config directory to a temporary one and spoils one
file: ``set_at`` (a key path and a value) puts a value of the wrong type, ``add_at`` adds a key the
schema does not know. :func:`assert_refused` runs the service's start-up loader and checks the one
message names the file and the key path.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from services.common.configfile import ConfigFileError


def broken_copy(source_dir: Path, tmp_path: Path, name: str, keys: tuple, value) -> Path:
    """A copy of ``source_dir`` in which ``name``'s ``keys`` (list indexes as ints) holds ``value``."""
    target = tmp_path / Path(source_dir).name
    shutil.copytree(source_dir, target)
    spoil(target / name, keys, value)
    return target


def spoil(path: Path, keys: tuple, value) -> Path:
    """Rewrite the YAML file ``path`` with ``value`` at ``keys``."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def assert_refused(load, path: Path, key_path: str, message: str = "") -> str:
    """``load()`` raises ConfigFileError ``<path>: … <key_path>: <message>…``; the message is returned."""
    with pytest.raises(ConfigFileError) as caught:
        load()
    text = str(caught.value)
    assert text.startswith(f"{path}: "), text
    assert f"{key_path}: {message}" in text, text
    return text


def cases(files: dict[str, list[tuple[tuple, object, str, str]]]):
    """pytest params ``(file name, keys, value, key path, message)`` with readable ids."""
    return [pytest.param(name, keys, value, key_path, message, id=f"{name}:{key_path}")
            for name, spoils in files.items() for keys, value, key_path, message in spoils]


UNKNOWN = "Unknown field."
