"""Issue 16: records' completeness rules file is read by production code — a required item added to
``config/records/completeness.yaml`` is a gap the records service finds. The copy is put where production reads
it (``services/records/domain/completeness.DEFAULT_COMPLETENESS_FILE``, reread when it changes) and the case's
events go through the records service's REAL handlers (``tests/handlers.py``, a migrated SQLite database).
Parametrised with the shipped file too. (retention.yaml: tests/records/test_records_service.py, erasure after
the retention a test file sets.)"""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy.orm import Session

from services.common import settings
from services.common.db import make_engine
from services.common.migrations import upgrade
from services.records.domain import completeness
from services.records.ledger import Ledger
from services.records.models import Case
from services.records.service import RecordsService
from tests.handlers import Deliverer
from tests.integration import events as ev

CONFIG = settings.ROOT / "config" / "records"


@pytest.mark.parametrize("added", [False, True])
def test_issue16_completeness_yaml_item_added_is_a_gap_found(tmp_path, monkeypatch, added):
    """completeness.yaml (REC-1, REC-2): an expert report required of every penalty case is a gap of a case
    that has none — only when the file says so."""
    import yaml

    path = shutil.copy(CONFIG / "completeness.yaml", tmp_path / "completeness.yaml")
    if added:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        raw["action_types"]["penalty"]["items"].append(
            {"code": "expert_report", "stage": "investigation", "severity": "general"})
        path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setattr(completeness, "DEFAULT_COMPLETENESS_FILE", path)
    url = f"sqlite:///{tmp_path / 'records.db'}"
    upgrade("records", url)
    engine = make_engine(url)
    try:
        deliverer = Deliverer(RecordsService, engine, ledger=Ledger())
        case_id = "320412-SCJG-2026-CMP1"
        for envelope in (ev.case_opened(case_id), ev.decision_made(case_id)):
            assert deliverer.deliver(envelope).outcome == "applied"
        with Session(engine) as session:
            gaps = {g["code"] for g in session.get(Case, case_id).open_gaps or ()}
        assert ("expert_report" in gaps) is added, gaps
    finally:
        engine.dispose()
