"""Issue 16: the gateway's configuration files are read by production code — a value changed away from the
shipped one changes what the gateway does. ``limits.yaml``: the abuse limits the gateway's shared state
(``SharedState.connect``, what each gateway container builds at start) enforces; ``attachments.yaml``: the
attachment rules the portal applies (``check_attachments``, the gateway's complaint routes) and the complaints
service offers the form (``intake_options`` RPC). The copies are put where production reads them
(``LIMITS_FILE``, ``RULES_FILE``); each test is parametrised with the shipped value too."""
from __future__ import annotations

import shutil
import threading
from types import SimpleNamespace

import pytest

from services.common import attachments, settings
from services.gateway import shared
from tests.config_support import spoil

CONFIG = settings.ROOT / "config"
PDF = b"%PDF-1.4\n" + b"0" * 64


@pytest.mark.parametrize("limit, refused_at", [("120/minute;2000/hour", None), ("2/minute", 3)])
def test_issue16_limits_yaml_is_the_limit_the_gateway_enforces(tmp_path, monkeypatch, limit, refused_at):
    """limits.yaml ``search`` (SEC-5): the third search in a minute from one address is refused only when the
    file allows two (120 shipped)."""
    path = shutil.copy(CONFIG / "gateway" / "limits.yaml", tmp_path / "limits.yaml")
    spoil(path, ("limits", "search"), limit)
    monkeypatch.setattr(shared, "LIMITS_FILE", path)
    monkeypatch.setenv("ZHIFA_REDIS_URL", "redis://127.0.0.1:1/0")      # nothing there: the local fallback
    monkeypatch.setenv("ZHIFA_REDIS_FALLBACK", "local")
    state = shared.SharedState.connect()
    refused = None
    for n in range(1, 4):
        try:
            state.hit("search", "198.51.100.7")
        except shared.RateLimited:
            refused = n
            break
    assert refused == refused_at


@pytest.mark.parametrize("max_files, refused", [(5, False), (1, True)])
def test_issue16_attachments_yaml_is_what_the_portal_accepts_and_offers(tmp_path, monkeypatch, max_files, refused):
    """attachments.yaml ``max_files`` (CMP-1): two PDFs are accepted at the shipped 5, refused at 1; the
    complaints service offers the file's number on the form."""
    from nameko.testing.services import worker_factory

    from services.common.db import DatabaseAccess, make_engine
    from services.common.migrations import upgrade
    from services.complaints.service import ComplaintsService

    path = shutil.copy(CONFIG / "attachments.yaml", tmp_path / "attachments.yaml")
    spoil(path, ("attachments", "max_files"), max_files)
    monkeypatch.setattr(attachments, "RULES_FILE", path)
    attachments.intake_rules.cache_clear()
    try:
        problems = attachments.check_attachments([("a.pdf", "application/pdf", PDF), ("b.pdf", "application/pdf", PDF)])
        assert bool(problems) is refused, problems
        url = f"sqlite:///{tmp_path / 'complaints.db'}"
        upgrade("complaints", url)
        engine = make_engine(url)
        provider = SimpleNamespace(engine=engine, service_name="complaints", case_ownership=False,
                                   outbox_nudge=threading.Event())
        worker = worker_factory(ComplaintsService, db=DatabaseAccess(provider, "complaints.intake_options"))
        assert worker.intake_options()["attachments"]["max_files"] == max_files
        engine.dispose()
    finally:
        monkeypatch.undo()
        attachments.intake_rules.cache_clear()
