"""`nameko run services.<svc>.service` must find exactly one service per module (deploy/ and make run use it)."""
import importlib

import pytest
from nameko.cli.utils import import_services

SERVICES = ["records", "review", "disclosure", "complaints", "evaluation", "gateway"]


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_module_holds_exactly_one_service(service):
    found = import_services(f"services.{service}.service")
    assert [cls.name for cls in found] == [service]
    assert importlib.import_module(f"services.{service}.service")
