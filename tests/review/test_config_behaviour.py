"""Issue 16: review's configuration files are read by production code — a value changed away from the shipped
one changes what the service does. Each test copies the file, changes one value, points the service at the
copy the way production finds it (its declared setting, ``ZHIFA_REVIEW_CATALOGUE`` / ``ZHIFA_REVIEW_SETTINGS``,
reread when it changes) and goes through review's REAL handler and RPCs (``tests/handlers.py``, a migrated
SQLite database). Each is parametrised with the shipped value too, so it cannot pass by the changed value
equalling a default."""
from __future__ import annotations

import shutil

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import settings
from services.common.db import DatabaseAccess, make_engine
from services.common.migrations import upgrade
from services.review.models import ReviewTask
from services.review.service import ReviewService
from tests.config_support import spoil
from tests.handlers import Deliverer
from tests.integration import events as ev

CONFIG = settings.ROOT / "config" / "review"
REVIEWER = {"subject": "legal-wang", "role": "legal_reviewer", "region_code": "320412",
            "scope": {"region_code": "320412", "bodies": ["320412-SCJG"]}}


@pytest.fixture
def review(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'review.db'}"
    upgrade("review", url)
    engine = make_engine(url)
    deliverer = Deliverer(ReviewService, engine)

    def change(name, setting, keys, value):
        path = shutil.copy(CONFIG / name, tmp_path / name)
        spoil(path, keys, value)
        monkeypatch.setenv(setting, str(path))

    def call(method, *args):
        worker = worker_factory(ReviewService, db=DatabaseAccess(deliverer.provider, f"review.{method}"))
        return getattr(worker, method)(*args)

    def task(case_id):
        with Session(engine) as session:
            return session.scalars(select(ReviewTask).where(ReviewTask.case_id == case_id)).first()

    def change_more(name, keys, value):
        spoil(tmp_path / name, keys, value)

    deliverer.change, deliverer.change_more, deliverer.call, deliverer.task = change, change_more, call, task
    yield deliverer
    engine.dispose()


@pytest.mark.parametrize("threshold, major", [(100000, True), (500000, False)])
def test_issue16_catalogue_yaml_decides_which_fine_needs_legal_review(review, threshold, major):
    """catalogue.yaml ``amount.fine`` threshold for a legal person (REV-1): a 200,000-yuan fine is a major
    decision with a review task at the shipped 100,000, not at 500,000."""
    review.change("catalogue.yaml", "ZHIFA_REVIEW_CATALOGUE", ("default", "rules", 0, "thresholds", "legal"),
                  threshold)
    case_id = f"320412-SCJG-2026-CAT{threshold}"
    assert review.deliver(ev.decision_proposed(case_id, fine="200000.00")).outcome == "applied"
    task = review.task(case_id)
    assert (task is not None and task.pending) is major


@pytest.mark.parametrize("warn, level", [(1, "green"), (10, "yellow")])
def test_issue16_review_yaml_sets_when_a_task_turns_yellow(review, warn, level):
    """review.yaml ``task.warn_working_days`` (REV-5): a task submitted today with five working days left is
    green at the shipped 1, yellow when the warning starts 10 working days before the due day."""
    review.change("review.yaml", "ZHIFA_REVIEW_SETTINGS", ("task", "warn_working_days"), warn)
    case_id = f"320412-SCJG-2026-WARN{warn}"
    assert review.deliver(ev.decision_proposed(case_id, fine="200000.00")).outcome == "applied"
    view = review.call("get_task", review.task(case_id).task_id, REVIEWER)
    assert view["due_level"] == level, view


def _check(review, case_id, code):
    view = review.call("get_task", review.task(case_id).task_id, REVIEWER)
    checks = view.get("checklist") or view["versions"][-1]["checklist"]
    return next(c["automatic"] for c in checks if c["code"] == code)


@pytest.mark.parametrize("minimum", [2, 3])
def test_issue16_checklist_yaml_sets_how_many_certified_officers_a_case_needs(review, minimum):
    """checklist.yaml ``min_certified_officers`` (REV-3): the pre-check asks for the file's number (2 shipped)."""
    review.change("checklist.yaml", "ZHIFA_REVIEW_CHECKLIST", ("min_certified_officers",), minimum)
    case_id = f"320412-SCJG-2026-CHK{minimum}"
    from tests.evaluation import year as Y

    for officer in ("o-1", "o-2"):     # registered with a valid certificate: two certified officers on the case
        for envelope in (Y.officer_registered(Y.A, officer, "张执法", Y.at(2025, 1, 2), certificate=False),
                         Y.certificate(Y.A, officer, "valid", Y.at(2025, 1, 3))):
            assert review.deliver(envelope).outcome == "applied", envelope
    assert review.deliver(ev.decision_proposed(case_id, fine="200000.00")).outcome == "applied"
    check = _check(review, case_id, "officers_qualified")
    assert (check["outcome"] == "pass") is (minimum == 2), check
    assert (f"少于{minimum}名" in str(check)) is (minimum == 3), check


@pytest.mark.parametrize("upper", [50000, 40000])
def test_issue16_benchmarks_yaml_is_the_discretion_benchmark_a_reviewer_sees(review, upper):
    """benchmarks.yaml (REV-8): the discretion hint for a matter quotes the file's statutory range
    (5,000–50,000 yuan shipped for SAMPLE-SP-126-3)."""
    review.change("benchmarks.yaml", "ZHIFA_REVIEW_BENCHMARKS",
                  ("matters", "SAMPLE-SP-126-3", "statutory_range", "max"), upper)
    if upper != 50000:
        review.change_more("benchmarks.yaml", ("matters", "SAMPLE-SP-126-3", "circumstances", 2, "max"), upper)
    case_id = f"320412-SCJG-2026-BM{upper}"
    proposed = ev.decision_proposed(case_id, fine="200000.00")
    proposed["payload"]["matter_code"] = "SAMPLE-SP-126-3"
    assert review.deliver(proposed).outcome == "applied"
    check = _check(review, case_id, "law_discretion")
    assert f"法定幅度5000元至{upper}元" in check["finding"], check


@pytest.mark.parametrize("title", ["行政处罚决定书", "当场行政处罚决定书"])
def test_issue16_drafts_yaml_is_the_draft_decision_document_an_officer_gets(review, title):
    """drafts.yaml (REV-8, issue 18): the draft of a penalty is the file's ``templates.penalty`` — its title
    (行政处罚决定书 shipped) and the text rendered from it — read through review's assistance RPC."""
    review.change("drafts.yaml", "ZHIFA_REVIEW_DRAFTS", ("templates", "penalty", "title"), title)
    case_id = f"320412-SCJG-2026-DR{len(title)}"
    assert review.deliver(ev.decision_proposed(case_id, fine="200000.00")).outcome == "applied"
    draft = review.call("assistance", review.task(case_id).task_id, REVIEWER)["draft"]
    assert draft["title"] == title and draft["template"] == "penalty"
    assert "行政处罚决定书" in draft["text"]
