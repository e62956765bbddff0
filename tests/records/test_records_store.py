"""Unit tests of the records service's persistence (no broker): entries from events, sealing of
personal data, the batch transaction, the in-memory tree kept level with the database, blobs."""
from __future__ import annotations

import contextlib
import json

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.common.events import InvalidEvent, parse_event
from services.common.migrations import upgrade
from services.common.scope import Scope
from services.records import ingest, store
from services.records.domain import filing
from services.common.blobs import (
    BlobCorrupted,
    BlobNotFound,
    FilesystemBlobStore,
    sm3_hex,
)
from services.records.domain.entries import verify_personal
from services.records.domain.merkle import MerkleLog, leaf_hash
from services.records.ledger import Ledger, LogIntegrityError
from services.records.models import Case, LogEntry, PartyLink, PersonalData, RefusedEvent
from tests.integration import events as ev


class _Db:
    """The part of DatabaseAccess the ledger uses."""

    def __init__(self, engine):
        self.engine = engine

    @contextlib.contextmanager
    def session(self):
        with Session(self.engine, expire_on_commit=False, info={"service": "records"}) as session:
            with session.begin():
                yield session


@pytest.fixture
def db(service_engine):
    return _Db(service_engine("records"))


def apply(db, ledger, envelopes, consumer="records.test", prepare=True):
    """As the service applies a batch: entries prepared before the lock (``prepare=False``: inside)."""
    events = [parse_event(e) for e in envelopes]
    prepared = ingest.prepare_events(events) if prepare else None
    with ledger.appending(db) as session:
        return ingest.apply_events(session, ledger, events, consumer, prepared=prepared)


def test_rec4_entries_prepared_before_the_lock_are_the_entries_made_under_it(tmp_path):
    """Issue 3: building entries before the append lock changes no byte of the log — the same
    batch applied both ways stores the same entries (salted commitments aside), each carrying its
    sequence and the leaf hash of its stored bytes."""
    party = ev.natural_party("吴十")
    batch = [ev.case_opened("P-1", party=party), ev.evidence("P-1", n=1), ev.evidence("P-1", n=2),
             ev.decision_made("P-1", party=party)]
    stored = []
    for prepare in (True, False):
        url = f"sqlite:///{tmp_path / f'prepared-{prepare}.db'}"
        upgrade("records", url)
        engine = make_engine(url)
        apply(_Db(engine), Ledger(), batch, prepare=prepare)
        with Session(engine) as session:
            rows = session.scalars(select(LogEntry).order_by(LogEntry.sequence)).all()
            for row in rows:
                assert leaf_hash(row.canonical.encode()).hex() == row.leaf_hash
                assert json.loads(row.canonical)["seq"] == row.sequence
            stored.append([{k: v for k, v in json.loads(r.canonical).items() if k != "personal_commitment"}
                           for r in rows])
        engine.dispose()
    assert stored[0] == stored[1] and len(stored[0]) == 4


def test_rec8_entries_commit_to_personal_data_without_containing_it(db):
    """REC-8: names, id numbers, phone numbers and free text are sealed beside the log; the entry
    holds a salted commitment the stored salt and data verify against."""
    ledger = Ledger()
    party = ev.natural_party("孙八")
    apply(db, ledger, [ev.case_opened("C-1", party=party), ev.decision_made("C-1", party=party)])
    with db.session() as session:
        rows = session.scalars(select(LogEntry).order_by(LogEntry.sequence)).all()
        assert [r.event_type for r in rows] == ["case.opened", "decision.made"]
        for row in rows:
            assert "孙八" not in row.canonical and party["id_number"] not in row.canonical
            assert "13912345678" not in row.canonical
            entry = json.loads(row.canonical)
            personal = session.get(PersonalData, row.sequence)
            assert verify_personal(entry, bytes.fromhex(personal.salt), personal.data)
            assert not verify_personal(entry, bytes.fromhex(personal.salt), {"personal": {"name": "x"}})
        made = json.loads(rows[1].canonical)
        assert made["data"]["decision_no"] == "武市监罚〔2026〕88号"    # codes stay public
        assert made["document_type"] == "penalty_decision" and made["record_kind"] == "text"


def test_rec4_a_party_is_linked_once_to_each_of_its_cases(db):
    """REC-4 "same party stored together": every event naming the party links it to the case, once
    (the batch inserts without reading first; a repeat link is a conflict, not a second row)."""
    ledger = Ledger()
    party = ev.natural_party("周九")
    apply(db, ledger, [ev.case_opened("C-1", party=party), ev.decision_made("C-1", party=party)])
    apply(db, ledger, [ev.decision_proposed("C-1", party=party), ev.case_opened("C-2", party=party)])
    key = store.party_key(party)
    with db.session() as session:
        links = session.execute(select(PartyLink.party_key, PartyLink.case_id).order_by(PartyLink.case_id)).all()
        assert [tuple(link) for link in links] == [(key, "C-1"), (key, "C-2")]
        region = session.get(Case, "C-1").region_code
        everyone = Scope.granted("supervisor", region)
        assert [c.case_id for c in store.cases_of_party(session, [key], everyone)] == ["C-1", "C-2"]
        # SEC-2: the same search by a principal of another body, or of none, finds nothing
        assert store.cases_of_party(session, [key], Scope.granted("officer", region, ["320412-GAJ"])) == []
        assert store.cases_of_party(session, [key], Scope.granted("officer", region)) == []


def test_rec3_record_kind_of_audio_visual_records():
    """REC-3: the AV form is taken from av_form; without it a span means video, none a photo."""
    assert filing.record_kind_of({"record_kind": "text"}) == "text"
    assert filing.record_kind_of({"record_kind": "electronic"}) == "electronic_data"
    assert filing.record_kind_of({"record_kind": "audio_visual", "av_form": "body_worn_camera"}) == "body_worn_camera"
    import datetime as dt

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert filing.record_kind_of({"record_kind": "audio_visual", "started_at": start,
                                 "ended_at": start + dt.timedelta(minutes=3)}) == "video"
    assert filing.record_kind_of({"record_kind": "audio_visual", "started_at": start, "ended_at": start}) == "photo"


def test_batch_applies_each_event_once_and_numbers_entries_consecutively(db):
    ledger = Ledger()
    opened = ev.case_opened("C-2")
    evidence = [ev.evidence("C-2", n=i) for i in range(5)]
    outcome = apply(db, ledger, [opened, *evidence, evidence[0]])          # a duplicate inside the batch
    assert outcome.duplicates == {evidence[0]["event_id"]} and len(outcome.appended) == 6
    outcome = apply(db, ledger, [evidence[1], ev.evidence("C-2", n=9)])    # a redelivery
    assert outcome.duplicates == {evidence[1]["event_id"]} and len(outcome.appended) == 1
    with db.session() as session:
        seqs = session.scalars(select(LogEntry.sequence).order_by(LogEntry.sequence)).all()
    assert seqs == list(range(7)) and ledger.size == 7


def test_rec5_sealed_case_refusal_is_logged_and_the_event_kept(db):
    ledger = Ledger()
    archived = ev.envelope("case.archived", {"archived_at": "2026-11-20T10:00:00+08:00", "archive_no": "A-1"}, "C-3")
    apply(db, ledger, [ev.case_opened("C-3"), archived])
    late = ev.evidence("C-3", n=5)
    outcome = apply(db, ledger, [late])
    assert "archived and sealed" in outcome.refused[late["event_id"]]
    with db.session() as session:
        refused = session.get(RefusedEvent, late["event_id"])
        assert json.loads(refused.envelope) == late
        entry = json.loads(session.get(LogEntry, refused.log_sequence).canonical)
        assert entry["kind"] == "refusal" and entry["data"]["refused_event_id"] == late["event_id"]
        assert session.get(Case, "C-3").sealed


def test_ledger_rebuilds_after_a_failed_transaction_and_stops_on_a_hole(db):
    """The in-memory tree never holds a leaf the database does not; a hole stops appending."""
    ledger = Ledger()
    apply(db, ledger, [ev.case_opened("C-4")] + [ev.evidence("C-4", n=i) for i in range(4)])
    with pytest.raises(RuntimeError):
        with ledger.appending(db) as session:
            ingest.apply_events(session, ledger, [parse_event(ev.evidence("C-4", n=7))], "records.test")
            assert ledger.size == 6
            raise RuntimeError("commit fails")
    assert ledger.tree is None                                   # dropped, not trusted
    with ledger.reading(db) as session:
        leaves = [bytes.fromhex(h) for h in session.scalars(select(LogEntry.leaf_hash).order_by(LogEntry.sequence))]
    assert ledger.size == 5 and ledger.tree.root() == MerkleLog.from_leaf_hashes(leaves).root()
    # another replica appended: the tree catches up from the stored leaf hashes
    other = Ledger()
    apply(db, other, [ev.evidence("C-4", n=8)])
    with ledger.reading(db):
        assert ledger.size == 6 and ledger.tree.root() == other.tree.root()
    with db.session() as session:
        session.execute(delete(LogEntry).where(LogEntry.sequence == 2))
    fresh = Ledger()
    with pytest.raises(LogIntegrityError), fresh.appending(db):
        pass


def test_filesystem_blob_store_is_content_addressed_and_checks_on_read(tmp_path):
    blobs = FilesystemBlobStore(tmp_path)
    data = b"\x00\x01 record file"
    h = blobs.put(data)
    assert h == sm3_hex(data) and blobs.put(data) == h and blobs.get(h) == data and blobs.size(h) == len(data)
    with pytest.raises(BlobNotFound):
        blobs.get("0" * 64)
    (tmp_path / h[:2] / h[2:4] / h).write_bytes(b"tampered")
    with pytest.raises(BlobCorrupted):
        blobs.get(h)
    assert blobs.put(data) == h and blobs.get(h) == data     # re-upload repairs a damaged copy


def test_parse_event_reuses_schema_instances_and_still_reports_every_error():
    """One parse path for single and batched handlers; cached schemas keep no state between loads."""
    good = ev.evidence("C-5")
    assert parse_event(good, "evidence.recorded") == parse_event(good, "evidence.recorded")
    bad = ev.case_opened("C-5")
    bad["region_code"] = "12"
    bad["payload"]["title"] = ""
    with pytest.raises(InvalidEvent) as first:
        parse_event(bad, "case.opened")
    with pytest.raises(InvalidEvent) as second:
        parse_event(bad, "case.opened")
    assert first.value.errors == second.value.errors
    assert "region_code" in first.value.errors and "title" in first.value.errors["payload"]
    assert parse_event(good, "evidence.recorded").payload["record_kind"] == "audio_visual"


def test_rec5_record_that_happened_before_archiving_but_arrived_after_is_kept(db):
    """Events of one case travel on separate queues: decision.executed sent just before
    case.archived may arrive just after it. It occurred before the archiving: accepted (marked);
    a record that occurred after the archiving is refused."""
    import datetime as dt

    ledger = Ledger()
    at = dt.datetime.now(ev.CHINA)
    executed = ev.envelope("decision.executed", {"executed_at": at.isoformat(), "manner": "自动履行"}, "C-6",
                           at=at - dt.timedelta(seconds=1))
    archived = ev.envelope("case.archived", {"archived_at": at.isoformat(), "archive_no": "A-6"}, "C-6", at=at)
    apply(db, ledger, [ev.case_opened("C-6"), archived])
    outcome = apply(db, ledger, [executed])
    assert not outcome.refused
    with db.session() as session:
        entry = json.loads(session.get(LogEntry, 2).canonical)
    assert entry["event_type"] == "decision.executed" and entry["data"]["delivered_after_seal"] is True
    later = ev.envelope("decision.executed", {"executed_at": at.isoformat(), "manner": "强制执行"}, "C-6",
                        at=at + dt.timedelta(seconds=5))
    assert later["event_id"] in apply(db, ledger, [later]).refused


def test_signed_tree_head_is_announced_for_witnessing(db):
    """record.tree_head_signed goes to the outbox with the head (the province witnesses it)."""
    from services.common.db import OutboxMessage

    ledger = Ledger()
    apply(db, ledger, [ev.case_opened("C-7")])
    with ledger.appending(db) as session:
        head = ledger.sign_head(session, "test")
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.event_type == "record.tree_head_signed")).all()
    payload = json.loads(rows[-1].envelope)["payload"]
    assert payload["tree_size"] == head.tree_size == 1 and payload["root_hash"] == head.root_hash.hex()
    assert json.loads(rows[-1].envelope)["region_code"] == "320412"


def test_rec1_timeline_is_in_the_order_things_happened_not_the_order_they_arrived(db):
    """Events of one case travel on separate queues: the evidence may be appended before the
    opening; the case's timeline still reads in occurrence order, each entry with its log sequence."""
    import datetime as dt

    ledger = Ledger()
    start = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    opened = ev.case_opened("C-ORDER", at=start)
    evidence = ev.envelope("evidence.recorded", {**ev.evidence("C-ORDER")["payload"]}, "C-ORDER",
                           at=start + dt.timedelta(hours=2))
    apply(db, ledger, [evidence])                  # arrives first
    apply(db, ledger, [opened])
    with db.session() as session:
        rows = store.timeline(session, "C-ORDER")
    assert [r.event_type for r in rows] == ["case.opened", "evidence.recorded"]
    assert [r.sequence for r in rows] == [1, 0]


def test_rec1_a_record_dated_before_the_opening_is_refused_in_either_order_within_one_batch(db):
    """REC-1, issue 14 (plausibility): in ONE batch, a record dated an hour before its case's opening is
    refused with ``recorded_before_case_opened`` — retracted when it comes before case.opened, refused
    (dead-lettered) when it comes after; a record within the tolerance (5 minutes earlier: clocks) is
    kept; the case's refusals, timeline and counted records end the same."""
    import datetime as dt

    ledger = Ledger()
    start = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))

    def case(case_id, record_first):
        opened = ev.case_opened(case_id, at=start)
        early = ev.envelope("evidence.recorded", {**ev.evidence(case_id)["payload"]}, case_id,
                            at=start - dt.timedelta(hours=1))
        skewed = ev.envelope("evidence.recorded", {**ev.evidence(case_id, 2)["payload"]}, case_id,
                             at=start - dt.timedelta(minutes=5))
        batch = [early, opened, skewed] if record_first else [opened, early, skewed]
        outcome = apply(db, ledger, batch)
        with db.session() as session:
            refusals = session.scalars(select(RefusedEvent).where(RefusedEvent.case_id == case_id)).all()
            timeline = [(r.event_type, r.event_id) for r in store.timeline(session, case_id)]
        return early, skewed, outcome, refusals, timeline

    early, skewed, outcome, refusals, timeline = case("C-EARLY-1", record_first=True)
    assert early["event_id"] not in outcome.refused and early["event_id"] in outcome.refused_later
    assert [r.event_id for r in refusals] == [early["event_id"]]
    assert refusals[0].reason.startswith("recorded_before_case_opened") and "立案时间" in refusals[0].reason
    assert [t for t, _ in timeline] == ["evidence.recorded", "case.opened"] and timeline[0][1] == skewed["event_id"]

    early, skewed, outcome, refusals, timeline = case("C-EARLY-2", record_first=False)
    assert outcome.refused[early["event_id"]].startswith("recorded_before_case_opened")   # dead-lettered
    assert [r.event_id for r in refusals] == [early["event_id"]]
    assert [t for t, _ in timeline] == ["evidence.recorded", "case.opened"] and timeline[0][1] == skewed["event_id"]
