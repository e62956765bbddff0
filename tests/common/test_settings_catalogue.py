"""Every ``ZHIFA_*`` setting is declared once and read through its declaration (issue 21): a name used in
services/, tools/, deploy/, bench/ (or tests/) that is not declared fails, so does a declared setting that
nothing reads where its declaration says it is read (config production does not read is a defect);
docs/SETTINGS.md is generated from the declarations; a bad value stops a service's start-up with
``ZHIFA_X: message``."""
import ast
import re
from pathlib import Path

import pytest
from nameko import config
from nameko.containers import ServiceContainer

from services.common import config_catalogue as cc
from services.common import settings
from services.common.docs import SETTINGS
from services.common.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("services", "tools", "deploy", "bench")
NAME = re.compile(r"ZHIFA_[A-Z0-9_]+")
SKIP_DIRS = {"node_modules", "__pycache__", ".venv"}
# declaration sites: not readers
DECLARING = {ROOT / "services" / "common" / "config_catalogue.py"} | {
    p for p in (ROOT / "services").glob("*/__init__.py")}
# variables of the test harness itself (never read by the suite): tests only
TEST_HARNESS = re.compile(r"ZHIFA_(TEST_[A-Z0-9_]+|CHROMIUM|CHROMEDRIVER|SCHEMATHESIS_[A-Z]+)")
# the broker renderer runs in the broker's one-shot container, without the zhifa package
STANDALONE = {ROOT / "deploy" / "broker" / "render.py"}


def files(*tops: str, root: Path = ROOT):
    for top in tops:
        for path in sorted((root / top).rglob("*")):
            if path.is_file() and not SKIP_DIRS & set(path.parts) and path.suffix not in (".pyc", ".png", ".db"):
                yield path


def text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ""


def placeholder_regex(setting: cc.Setting, member: str) -> str:
    """A family's name as written by a reader: <SERVICE> as RECORDS, ${upper}, {service.upper()}, {}."""
    text = re.escape(setting.name)
    for placeholder in cc.PLACEHOLDERS:
        text = text.replace(re.escape(placeholder), member)
    return text


def is_declared(name: str, declared) -> bool:
    base = name[: -len("__FILE")] if name.endswith("__FILE") else name
    for s in declared:
        if s.name == base or (s.family and s.regex().fullmatch(base)):
            return name == base or s.secret_file
        if name.endswith("_") and s.name.startswith(name):     # a prefix: f"ZHIFA_CITY_{city}…", ZHIFA_PROVINCE_AMQP_*
            return True
    return False


def undeclared(tops=SCANNED, root: Path = ROOT, harness: bool = False) -> list[str]:
    declared = cc.all_settings()
    found = []
    for path in files(*tops, root=root):
        if path == Path(__file__):
            continue            # names made up to show the checks fail
        for line_no, line in enumerate(text_of(path).splitlines(), 1):
            for name in NAME.findall(line):
                if not is_declared(name, declared) and not (harness and TEST_HARNESS.fullmatch(name)):
                    found.append(f"{path.relative_to(root)}:{line_no}: {name}")
    return found


def python_constants(path: Path) -> set[str]:
    """String constants a module uses as values (not docstrings), f-strings as templates with {}."""
    tree = ast.parse(text_of(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            out.add(node.value)
        elif isinstance(node, ast.JoinedStr):
            out.add("".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values))
    return out


def readers() -> dict[str, str]:
    """Where each kind of reader is: ``where`` → the text readers of that kind hold."""
    def join(paths):
        return "\n".join(text_of(p) for p in paths)

    def constants(paths):
        return "\n".join(c for p in paths if p.suffix == ".py" and p not in DECLARING for c in python_constants(p))

    deploy = ROOT / "deploy"
    return {
        "process": constants(files("services")),
        "tools": constants(list(files("tools")) + list((deploy / "local").glob("*.py")))
        + "\n" + join((deploy / "local").glob("*.sh")),
        "bench": constants(files("bench")),
        "config": join(deploy.rglob("config.yaml")),
        "entrypoint": join([deploy / "compose" / "entrypoint.sh",
                            deploy / "compose" / "postgres" / "init-databases.sh"]),
        "compose": join([deploy / "compose" / "docker-compose.yml", deploy / "compose" / "make-secrets.sh"]),
        "broker": join([deploy / "broker" / "render.py", ROOT / "services" / "common" / "brokerdefs.py"]),
    }


def is_read(setting: cc.Setting, where: str, text: str) -> bool:
    member = r"(?:[A-Z0-9]+|\$\{?\w+\}?|\{[^}]*\})"
    name = placeholder_regex(setting, member) if setting.family else re.escape(setting.name)
    if where == "tools" and re.search(r"\$\{" + name + r"[:}\-]", text):
        return True                                                     # deploy/local/*.sh: ${NAME:-default}
    if where in ("process", "tools", "bench"):
        return re.search(rf"(?m)^{name}$", text) is not None          # a constant (or f-string) that IS the name
    if where in ("config", "compose"):
        return re.search(r"\$\{" + name + r"[:}\-]", text) is not None  # ${NAME:default}, ${NAME:-default}
    if where == "broker":
        return re.search(r"env:" + name + r"\b", text) is not None or re.search(rf"\b{name}\b", text) is not None
    return re.search(rf"\b{name}\b", text) is not None


def test_every_zhifa_name_in_the_code_and_deploy_files_is_declared():
    """Names in services/, tools/, deploy/, bench/: declared (a family member, or NAME__FILE of a secret)."""
    assert undeclared() == []


def test_tests_and_docs_name_only_declared_settings():
    """A test that sets a setting nobody declared configures nothing (it believes in a limit that is not
    there), a doc naming one misleads an operator: tests and docs use declared names (and the test
    harness's own variables) only."""
    assert undeclared(("tests", "docs"), harness=True) == []


def test_every_declared_setting_is_read_where_it_says():
    places = readers()
    unread = [f"{s.name} ({where})" for s in cc.all_settings() for where in s.read_in
              if not is_read(s, where, places[where])]
    assert unread == [], "declared but not read there: delete the setting or its read_in entry"


def test_the_processes_read_settings_only_through_the_declarations():
    """No os.environ / os.getenv / settings.setting of a ZHIFA_ name in a Python reader (render.py aside;
    setting a variable for child processes, os.environ.setdefault, is no read)."""
    offending = []
    for path in files(*SCANNED):
        if path.suffix != ".py" or path in STANDALONE:
            continue
        for node in ast.walk(ast.parse(text_of(path))):
            if isinstance(node, (ast.Call, ast.Subscript)):
                source = ast.unparse(node)
                if re.match(r"(os\.environ(\.get)?|os\.getenv|settings\.setting)\W+['\"f]*ZHIFA_", source):
                    offending.append(f"{path.relative_to(ROOT)}:{node.lineno}: {source[:60]}")
    assert offending == []


def test_the_checks_can_fail(tmp_path):
    """The scanner finds an undeclared name and a dead declaration; the read check sees a family's f-string."""
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "x.py").write_text('LIMIT = settings.get("ZHIFA_NOBODY_DECLARED_THIS")\n')
    assert undeclared(("services",), root=tmp_path) == ["services/x.py:1: ZHIFA_NOBODY_DECLARED_THIS"]
    assert undeclared(("services",), root=ROOT) == []
    dead = cc.Setting("ZHIFA_DEAD_KNOB", "int", "nobody reads it", 1)
    assert not is_read(dead, "process", readers()["process"])
    family = cc.declaration("ZHIFA_RECORDS_DB")
    assert family.name == "ZHIFA_<SERVICE>_DB" and is_read(family, "process", "ZHIFA_{}_DB")
    assert is_declared("ZHIFA_RECORDS_SIGNING_KEY__FILE", cc.all_settings())
    assert not is_declared("ZHIFA_RECORDS_LOG_ID__FILE", cc.all_settings())     # not a secret


def test_settings_reference_is_current():
    assert SETTINGS.read_text(encoding="utf-8") == cc.reference(), "run `zhifa docs` and commit docs/SETTINGS.md"


def test_each_setting_is_declared_once_and_service_settings_name_their_service():
    names = [s.name for s in cc.all_settings()]
    assert len(names) == len(set(names))
    for group, declared in cc.catalogue():
        if group != "kernel":
            assert all(s.services == (group,) for s in declared), group


def test_the_accessor_refuses_undeclared_names_and_converts_values():
    with pytest.raises(cc.SettingError, match="^ZHIFA_NO_SUCH_THING: not a declared setting"):
        settings.get("ZHIFA_NO_SUCH_THING")
    with pytest.raises(cc.SettingError, match="^ZHIFA_MAX_ATTEMPTS: read it with settings.get"):
        settings.setting("ZHIFA_MAX_ATTEMPTS", 5)
    with pytest.raises(cc.SettingError, match="^ZHIFA_DB_HOST: not read by the processes"):
        settings.get("ZHIFA_DB_HOST")
    with config.patch({"ZHIFA_MAX_ATTEMPTS": "7", "ZHIFA_METRICS_DISABLED": "on", "ZHIFA_CITIES": "320400, 320200",
                       "ZHIFA_RECORDS_WITNESS_KEYS": "records.320400=" + "ab" * 32, "ZHIFA_TIER": "Province",
                       "ZHIFA_RECORDS_WITNESS_CHECK": "off"}, clear=False):
        assert settings.get("ZHIFA_MAX_ATTEMPTS") == 7
        assert settings.get("ZHIFA_METRICS_DISABLED") is True
        assert settings.get("ZHIFA_CITIES") == ("320400", "320200")
        assert settings.get("ZHIFA_RECORDS_WITNESS_KEYS") == {"records.320400": "ab" * 32}
        assert settings.get("ZHIFA_TIER") == "province"
        assert settings.get("ZHIFA_RECORDS_WITNESS_CHECK") is False
    with config.patch({"ZHIFA_RETRY_DELAY_MS": ""}, clear=False):
        assert settings.get("ZHIFA_RETRY_DELAY_MS") == 1000                       # empty: the declared default
    assert settings.get("ZHIFA_RECORDS_BLOB_DIR") == settings.VAR / "blobs"      # computed default
    bad = {"ZHIFA_MAX_ATTEMPTS": ("0", "below the minimum 1"), "ZHIFA_TIER": ("county", "one of city, province"),
           "ZHIFA_METRICS_DISABLED": ("maybe", "expected on/off"), "ZHIFA_SQLITE_BUSY_TIMEOUT": ("soon", "a number"),
           "ZHIFA_AUDIT_RETENTION_DAYS": ("90", "below the minimum 183"), "ZHIFA_RATE_LIMITS": (["x"], "a mapping"),
           "ZHIFA_RECORDS_PREVIOUS_PUBLIC_KEYS": ("abc", "not of the form")}
    for name, (value, message) in bad.items():
        with config.patch({name: value}, clear=False), pytest.raises(cc.SettingError, match=f"^{name}: .*{message}"):
            settings.get(name)


class Records:
    name = "records"
    metrics = Metrics()


def test_a_bad_value_stops_the_start_of_the_service_that_reads_it():
    """REC-4's tree heads need a number of seconds: records does not start with "soon", and says which
    setting; a service that does not read it starts."""
    with config.patch({"ZHIFA_RECORDS_STH_INTERVAL": "soon", "ZHIFA_METRICS_DISABLED": "1"}, clear=False):
        container = ServiceContainer(Records)
        with pytest.raises(cc.SettingError, match="^ZHIFA_RECORDS_STH_INTERVAL: expected a number, got 'soon'$"):
            container.start()
        container.kill()
        settings.check("review")
    with config.patch({"ZHIFA_METRICS_DISABLED": "1"}, clear=False):
        container = ServiceContainer(Records)
        container.start()
        container.stop()
