"""Packaging prints no warnings of ours (issue 19, "Operator's first run"): `make install` printed a
setuptools deprecation warning for ``license = {text = ...}`` (three times) and a BuildBackendWarning for
the editable install's meta-path finder. Checked by hand: `make install` after this change prints only the
machine's own pip configuration notes."""
from __future__ import annotations

import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_issue19_license_is_an_spdx_expression_and_the_backend_reads_it():
    doc = _pyproject()
    assert doc["project"]["license"] == "Apache-2.0"            # not the deprecated {text = ...} table
    # PEP 639 license expressions are read by setuptools >= 77; older ones reject the string form
    (requirement,) = [r for r in doc["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", requirement)
    assert minimum and int(minimum.group(1)) >= 77, requirement
    assert not any("License ::" in c for c in doc["project"].get("classifiers", []))  # forbidden beside it


def test_issue19_editable_install_is_a_plain_path_entry():
    """``package-dir = {"" = "."}``: setuptools installs the editable project as a .pth entry (what PYTHONPATH
    already says in the Makefile) instead of a meta-path finder, which warns on every install."""
    setuptools = _pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"": "."}
    assert setuptools["packages"]["find"]["include"] == ["services*"]
