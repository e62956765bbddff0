"""docs/ARCHITECTURE.md's event table and docs/contracts are generated; they must match the code."""
import json

from services.common.contracts import CONTRACTS_DIR, asyncapi, event_schema
from services.common.docs import ARCHITECTURE, render
from services.common.events import CATALOGUE


def test_architecture_event_table_is_current():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert render(text) == text, "run `zhifa docs` (make contracts) and commit docs/ARCHITECTURE.md"


def test_published_contracts_are_current():
    for name in CATALOGUE:
        published = json.loads((CONTRACTS_DIR / "events" / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert published == json.loads(json.dumps(event_schema(name))), f"regenerate contracts ({name})"
    assert json.loads((CONTRACTS_DIR / "asyncapi.json").read_text(encoding="utf-8")) == asyncapi()
