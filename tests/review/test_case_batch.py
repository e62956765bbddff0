"""A batch of decision.proposed / decision.made reads its cases' classifications and tasks once
(``store.preload_batch``; issue 3, the suite at 1,000 case events/s): afterwards the lookups the
handlers make per event (a version's classification, the bypass check, the case's task) issue
no SQL — for rows that exist and for rows known to be absent — and a row the batch creates is
found by the batch's later events. A throughput property (issue 3); the REV rules themselves are proved
in test_review_service.py and tests/common/test_case_event_order.py. On SQLite and PostgreSQL (the tasks are locked there)."""
import datetime as dt

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from services.common.events import parse_event
from services.review import store
from services.review.models import Classification, ReviewTask
from tests.integration import events as ev

NOW = dt.datetime(2026, 11, 23, 9, tzinfo=dt.timezone.utc)


@pytest.fixture
def engine(service_engine):
    return service_engine("review")


def _statements(engine):
    seen = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_a_batch_reads_its_cases_once_and_finds_what_it_created(engine):
    with Session(engine) as session, session.begin():
        session.add(Classification(case_id="K-2", version=1, region_code="320412", body_id="320412-SCJG",
                                   major=True, classified_at=NOW))
        session.add(ReviewTask(task_id="T-2", case_id="K-2", region_code="320412", body_id="320412-SCJG",
                               state="in_review", pending=True, version=1, due_on=NOW.date(), opened_at=NOW,
                               updated_at=NOW, document={}, assignments={}))
    events = [parse_event(e) for e in (ev.decision_proposed("K-1"), ev.decision_made("K-1"),
                                       ev.decision_made("K-2"))]
    seen = _statements(engine)
    with Session(engine) as session, session.begin():
        kept = store.preload_batch(session, events)
        assert {type(r).__name__ for r in kept} == {"Classification", "ReviewTask"}
        loaded = len(seen)
        reads = [sql for sql in seen if "pg_advisory" not in sql]
        assert len(reads) == 3                              # classifications, tasks, decided versions (REV-2)
        if engine.dialect.name == "postgresql":    # what the proposal pre-checks is held, before the tasks
            assert "pg_advisory_xact_lock_shared" in seen[0] and len(seen) == 4
        assert store.classification(session, "K-2", 1).major is True
        assert store.classification(session, "K-1", 1) is None        # known absent
        assert store.task_row_for_case(session, "K-2", lock=True).task_id == "T-2"
        assert store.task_row_for_case(session, "K-1", lock=True) is None
        assert store.decided_versions(session, "K-1") == {} and store.case_classifications(session, "K-2")[0].major
        assert len(seen) == loaded                                    # no SQL for any of them
        created = Classification(case_id="K-1", version=1, region_code="320412", body_id="320412-SCJG",
                                 major=False, classified_at=NOW)
        store.add_classification(session, created)
        assert store.classification(session, "K-1", 1) is created     # the decision finds the proposal's
        assert len(seen) == loaded
        assert store.classification(session, "K-1", 2) is None       # not in the batch: asked of the database
        assert any("FROM classifications" in sql for sql in seen[loaded:])
    with Session(engine) as session:
        assert session.get(Classification, ("K-1", 1)).major is False


def test_rev3_a_batch_reads_its_cases_gap_reports_once_and_keeps_the_latest(engine):
    """REV-3 文书完备: the records service's latest gap report per case is kept (a report older than the
    stored one is ignored). A batch of record.gaps_found reads its cases' reports in one query
    (``store.preload_batch``) and ends with the rows one query per event gives: a case reported
    before the batch, a case reported twice in it, an older report arriving after a newer one."""
    import threading
    from types import SimpleNamespace

    from services.common.db import DatabaseAccess
    from services.review.models import RecordGaps
    from services.review.usecases import registry

    def report(case_id, codes, minutes):
        return ev.envelope("record.gaps_found", {
            "gaps": [{"code": c, "description": c, "stage": "decision", "severity": "serious", "kind": "missing"}
                     for c in codes], "open_gap_codes": codes, "closed_gap_codes": [], "evaluated_stage": "decision",
            "trigger": "decision.made", "action_type": "penalty", "mandatory_av_missing": False},
            case_id, at=NOW + dt.timedelta(minutes=minutes))

    provider = SimpleNamespace(engine=engine, service_name="review", case_ownership=False,
                               outbox_nudge=threading.Event())
    outcome = {}
    for mode in ("batch", "one"):
        cases = [ev.case_id(f"{mode}-G-{i}") for i in range(3)]
        before = [report(cases[0], ["a", "b"], 0)]
        batch = [report(cases[0], ["b"], 5), report(cases[1], ["c"], 10), report(cases[1], ["c", "d"], 1),
                 report(cases[2], ["e"], 2), report(cases[2], [], 3)]
        groups = [before] + ([batch] if mode == "batch" else [[e] for e in batch])
        for group in groups:
            events = [parse_event(e) for e in group]
            db = DatabaseAccess(provider, "review.on_record_gaps")
            with db.batch(events) as context:
                if mode == "batch":
                    store.preload_batch(context.session, events)
                for _, event in context.fresh:
                    registry.record_gaps(db, event)
        with Session(engine) as session:
            rows = {r.case_id: r.open_gap_codes for r in session.query(RecordGaps).filter(RecordGaps.case_id.in_(cases))}
        outcome[mode] = {case.rsplit("-", 1)[1]: codes for case, codes in rows.items()}
    assert outcome["batch"] == outcome["one"] == {"0": ["b"], "1": ["c"], "2": []}
