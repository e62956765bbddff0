"""The service registry: how the shared kernel finds the services without importing them.

Each service joins by declaring a :class:`ServiceEntry` in its own package (``services/<name>/__init__.py``)
and naming it under the ``zhifa.services`` entry-point group in pyproject.toml. bus-init, the broker
definitions, the docs generator, the migration runner and the CLI ask this registry; nothing under
``services/common`` imports a service module by name, so a new service is added without editing common
(issue 21). The references are "module:attribute" strings, resolved only when asked for, so reading the
registry does not import nameko services.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import entry_points

GROUP = "zhifa.services"

__all__ = ["ServiceEntry", "RegistryError", "entries", "entry", "service_classes", "database_services", "resolve"]


class RegistryError(RuntimeError):
    """The registry cannot answer (no service registered, an unknown name, a reference that does not load)."""


def resolve(reference: str):
    """Import ``"package.module:attribute"`` and return the attribute."""
    module, _, attribute = reference.partition(":")
    try:
        target = importlib.import_module(module)
        return getattr(target, attribute) if attribute else target
    except (ImportError, AttributeError) as exc:
        raise RegistryError(f"cannot load {reference!r}: {exc}") from exc


@dataclass(frozen=True)
class ServiceEntry:
    """What a service tells the kernel about itself.

    ``service``: its nameko service class ("module:Class"); the class's handlers say what it consumes
    (services/common/bus.py ``handler_bindings``), the event catalogue says what it emits.
    ``models``: the module holding its SQLAlchemy ``Base`` (None: the service owns no database).
    ``commands``: CLI sub-commands it offers (``zhifa <service> <command> …``), name → "module:function"
    taking the remaining arguments.
    ``order``: where it comes in listings (bus-init, docs).
    ``settings``: the ``ZHIFA_*`` settings only this service reads (services/common/config_catalogue.py
    ``Setting``; docs/SETTINGS.md lists them).
    """

    name: str
    service: str
    models: str | None = None
    commands: dict[str, str] = field(default_factory=dict)
    order: int = 100
    metrics_port: int = 0                # default /metrics port of the embedded set-up (0: none)
    settings: tuple = ()

    def service_class(self):
        return resolve(self.service)

    def models_module(self):
        if self.models is None:
            raise RegistryError(f"service {self.name} owns no database")
        return resolve(self.models)

    def command(self, name: str):
        if name not in self.commands:
            raise RegistryError(f"service {self.name} has no command {name!r} (it has: {sorted(self.commands)})")
        return resolve(self.commands[name])


@lru_cache(maxsize=1)
def entries() -> tuple[ServiceEntry, ...]:
    """Every registered service, in ``order``. Fails closed: none registered is an error (the package is
    not installed: ``pip install -e .``), never an empty suite."""
    found = []
    for point in entry_points(group=GROUP):
        declared = point.load()
        if not isinstance(declared, ServiceEntry) or declared.name != point.name:
            raise RegistryError(f"entry point {point.name} = {point.value} is not the ServiceEntry of {point.name}")
        found.append(declared)
    if not found:
        raise RegistryError(f"no zhifa service is registered under the {GROUP!r} entry points: "
                            "install the package (make install, or pip install -e .)")
    return tuple(sorted(found, key=lambda e: (e.order, e.name)))


def entry(name: str) -> ServiceEntry:
    for candidate in entries():
        if candidate.name == name:
            return candidate
    raise RegistryError(f"unknown service {name!r} (registered: {', '.join(e.name for e in entries())})")


def service_classes() -> list:
    """The nameko service classes of every registered service."""
    return [e.service_class() for e in entries()]


def database_services() -> tuple[str, ...]:
    """Names of the services that own a database."""
    return tuple(e.name for e in entries() if e.models is not None)
