"""The service registry (issue 21): the kernel finds services, their models and their commands through it."""
import subprocess
import sys
from pathlib import Path

import pytest

from services.common import registry
from services.common.bus import all_service_classes

ROOT = Path(__file__).resolve().parents[2]


def test_registry_lists_each_service_with_its_class_models_and_port():
    names = [e.name for e in registry.entries()]
    assert names == ["records", "review", "disclosure", "complaints", "evaluation", "gateway"]
    assert [cls.name for cls in all_service_classes()] == names
    assert registry.database_services() == ("records", "review", "disclosure", "complaints", "evaluation")
    assert registry.entry("review").models_module().Base.metadata.tables
    assert len({e.metrics_port for e in registry.entries()}) == len(names)


def test_unknown_service_or_command_is_refused():
    with pytest.raises(registry.RegistryError, match="unknown service 'nope'"):
        registry.entry("nope")
    with pytest.raises(registry.RegistryError, match="no command 'rebuild'"):
        registry.entry("records").command("rebuild")
    with pytest.raises(registry.RegistryError, match="owns no database"):
        registry.entry("gateway").models_module()


def test_cli_runs_a_service_command_found_through_the_registry():
    run = subprocess.run([sys.executable, "-m", "services.common.cli", "records", "verify", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "--public-key" in run.stdout, run.stderr
    listed = subprocess.run([sys.executable, "-m", "services.common.cli", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert "zhifa records verify" in listed.stdout, listed.stderr
