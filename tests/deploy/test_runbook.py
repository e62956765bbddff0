"""docs/RUNBOOK.md: the procedures issue 8 asks for are there, and every link into it resolves."""
from __future__ import annotations

import re

import pytest

from tests.deploy.support import DEPLOY, ROOT, RUNBOOK, runbook_anchors

TEXT = RUNBOOK.read_text(encoding="utf-8")


@pytest.mark.parametrize("anchor", [
    "bring-up-with-docker-compose", "bring-up-on-kubernetes", "broker-definitions", "add-a-county", "rotate-keys",
    "replay-the-dead-letter-queue", "restore-from-backup", "secrets", "working-day-calendar", "alerts",
    "chaos-suite"])
def test_runbook_has_the_procedure(anchor):
    assert anchor in runbook_anchors()


@pytest.mark.parametrize("needle", [
    "docker compose --env-file province.env", "kubectl apply -k deploy/k8s/overlays/city-320400",
    "overlays/province", "dlq list --service", "dlq replay --service", "pg_dump", "pg_restore",
    "zhifa records verify", "witnessed tree heads", "export_definitions", "import_definitions",
    "--region 320412", "api-key", "old public key", "Publish the new public key", "ZHIFA_TOKEN_SECRET",
    "topic permission", "user_id", "ack-mode: on-confirm"])
def test_runbook_mentions(needle):
    assert needle in TEXT


def test_every_link_into_the_runbook_resolves():
    anchors = runbook_anchors()
    sources = [p for p in DEPLOY.rglob("*") if p.is_file() and "local" not in p.parts] + [RUNBOOK]
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for anchor in re.findall(r"RUNBOOK\.md#([a-z0-9-]+)", text):
            assert anchor in anchors, f"{path.relative_to(ROOT)} links to missing #{anchor}"
    for anchor in re.findall(r"\]\(#([a-z0-9-]+)\)", TEXT):
        assert anchor in anchors, f"RUNBOOK.md links to missing #{anchor}"


def test_files_the_runbook_names_exist():
    for path in set(re.findall(r"`(deploy/[A-Za-z0-9_./-]+|config/[A-Za-z0-9_./-]+|docs/[A-Za-z0-9_./-]+)`", TEXT)):
        if "<" in path or "*" in path:
            continue
        assert (ROOT / path.rstrip("/")).exists(), f"RUNBOOK.md names {path}, which does not exist"
