"""The rooms of the suite (issue 21): a service imports only its own modules and services/common; common
imports no service — it finds them through the registry (services/common/registry.py)."""
import ast
from pathlib import Path

import pytest

from services.common import registry

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
SERVICES = sorted(p.name for p in SERVICES_DIR.iterdir() if (p / "__init__.py").exists() and p.name != "common")


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (function-level imports included), as absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names if module == "services"]
    return found


def crossings(owner: str, root: Path = SERVICES_DIR) -> list[str]:
    allowed = {f"services.{owner}", "services.common"} if owner != "common" else {"services.common"}
    out = []
    for path in sorted((root / owner).rglob("*.py")):
        for line, module in imported_modules(path, root):
            parts = module.split(".")
            if parts[0] != "services" or len(parts) < 2:
                continue
            if ".".join(parts[:2]) not in allowed:
                out.append(f"{path.relative_to(root.parent)}:{line} imports {module}")
    return out


def test_the_registry_knows_every_service_package():
    assert sorted(e.name for e in registry.entries()) == SERVICES


@pytest.mark.parametrize("owner", SERVICES)
def test_a_service_imports_only_its_own_modules_and_common(owner):
    assert crossings(owner) == []


def test_common_imports_no_service():
    assert crossings("common") == []


def test_the_rule_sees_a_crossing(tmp_path):
    """The check itself can fail: a function-level import of another service is found, relative ones are not."""
    fake = tmp_path / "services" / "alpha"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "x.py").write_text("def f():\n    from services.beta.store import q\n    from . import y\n")
    assert crossings("alpha", tmp_path / "services") == ["services/alpha/x.py:2 imports services.beta.store"]


# --- entrypoints are thin (issue 21): service.py holds nameko entrypoints that translate and delegate;
# the use cases (usecases/) and the queries (store.py) live beside it. Services join this list as they
# are thinned (records, review and disclosure come later).
THIN_SERVICES = ["complaints", "evaluation", "review", "disclosure", "records"]
MAX_SERVICE_LINES = 400


def thickness(path: Path) -> list[str]:
    """What makes a service.py more than its entrypoints: too many lines, an ORM query of its own."""
    text = path.read_text(encoding="utf-8")
    problems = []
    lines = len(text.splitlines())
    if lines > MAX_SERVICE_LINES:
        problems.append(f"{path.name}: {lines} lines > {MAX_SERVICE_LINES}")
    problems += [f"{path.name}:{number} runs a query: {line.strip()}"
                 for number, line in enumerate(text.splitlines(), 1) if "select(" in line]
    return problems


@pytest.mark.parametrize("owner", THIN_SERVICES)
def test_service_py_holds_thin_entrypoints_only(owner):
    assert thickness(SERVICES_DIR / owner / "service.py") == []


def test_the_rule_sees_a_thick_service(tmp_path):
    """The check itself can fail: a query in service.py is found, and so is line 401."""
    thick = tmp_path / "service.py"
    thick.write_text("def f(session):\n    return session.scalars(select(Row))\n" + "x = 1\n" * 399)
    assert thickness(thick) == ["service.py: 401 lines > 400",
                                "service.py:2 runs a query: return session.scalars(select(Row))"]
