"""A batch of decision.made applied with its lookups read once (``lifecycle.preload_decisions``;
issue 3, the whole suite at 1,000 case events/s) publishes exactly what one-at-a-time does — DISC-3
one publication per (case, version), a repeat ignored within and across batches, the body's
registered name, a search key each, every published entry indexed — and a take-down later in the
same batch removes an entry whose index row was still waiting for the commit (DISC-6). On SQLite
and PostgreSQL (the index statements differ)."""
import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.common.events import parse_event
from services.common.workdays import default_calendar
from services.disclosure import lifecycle, search
from services.disclosure.domain.publication import WithdrawalReason
from services.disclosure.models import BeforeItem, Publication
from tests.integration import events as ev

BODY = ev.BODY["body_id"]


@pytest.fixture
def engine(service_engine):
    return service_engine("disclosure")


def _apply(engine, envelopes, then=None):
    """One batch as the service applies it: preload, each event, the before-commit hook."""
    events = [parse_event(e) for e in envelopes]
    with Session(engine, info={"service": "disclosure"}, expire_on_commit=False) as session, session.begin():
        lifecycle.preload_decisions(session, events)
        made = [lifecycle.create_from_decision(session, e, default_calendar()) for e in events]
        if then:
            then(session)
        lifecycle.finish_decisions(session)
    return made


def _indexed(engine) -> list[int]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # every entry carries the token "zall" (a contentless FTS table cannot be scanned)
            return sorted(conn.execute(text(f"SELECT rowid FROM {search.FTS_TABLE} WHERE {search.FTS_TABLE} MATCH 'zall'"))
                          .scalars())
        return sorted(conn.execute(text(f"SELECT search_key FROM {search.PG_TABLE}")).scalars())


def test_disc3_a_batch_publishes_each_decision_once_with_its_body_name_and_index_rows(engine):
    with Session(engine) as session, session.begin():
        session.add_all([
            BeforeItem(kind="body", item_id=BODY, version=v, body_id=BODY, region_code="320412",
                       content={"name": name}, valid_from=dt.date(2026, 1, v), reason="登记",
                       recorded_at=dt.datetime.now(dt.timezone.utc))
            for v, name in ((1, "常州市武进区市场监督管理局（旧称）"), (2, "常州市武进区市场监督管理局"))])
    first = ev.decision_made("B-1")
    made = _apply(engine, [first, ev.decision_made("B-2"), ev.decision_made("B-1"), ev.decision_made("B-3")])
    assert [m is not None for m in made] == [True, True, False, True]      # the repeat is ignored
    assert {m.body_name for m in made if m} == {"常州市武进区市场监督管理局"}  # the name in force
    # a later batch: the repeat across batches is ignored, a new version is not
    again = _apply(engine, [ev.decision_made("B-2"), ev.decision_made("B-2", version=2)])
    assert [m is not None for m in again] == [False, True]
    with Session(engine) as session:
        rows = session.execute(select(Publication.case_id, Publication.version, Publication.status,
                                      Publication.search_key)).all()
    assert sorted((c, v) for c, v, _, _ in rows) == [("B-1", 1), ("B-2", 1), ("B-2", 2), ("B-3", 1)]
    keys = [k for _, _, _, k in rows]
    assert len(set(keys)) == 4
    published = sorted(k for _, _, status, k in rows if status in search.PUBLIC_STATUSES)
    assert published and _indexed(engine) == published


def test_disc6_a_take_down_in_the_same_batch_removes_the_waiting_index_row(engine):
    def take_down(session):
        row = session.scalars(select(Publication).where(Publication.case_id == "T-1")).one()
        assert row.status in search.PUBLIC_STATUSES
        lifecycle.take_down(session, row, WithdrawalReason.REVOKED, "行政复议决定撤销", "test")

    _apply(engine, [ev.decision_made("T-1"), ev.decision_made("T-2")], then=take_down)
    with Session(engine) as session:
        rows = dict(session.execute(select(Publication.case_id, Publication.search_key)).all())
    assert _indexed(engine) == [rows["T-2"]]


def test_disc9_the_longest_decision_the_contract_allows_is_published_and_searchable(engine):
    """Issue 14: the search index copes with the longest text the decision.made contract allows — every
    free-text field at its maximum, 100 parties with 200-character names, in 4-byte CJK characters (each
    bigram distinct: the largest tsvector) — and with a pasted hash or blob (a 3,000-character
    alphanumeric run: a PostgreSQL lexeme may not exceed 2,047 bytes). It used to fail on PostgreSQL
    with 'word is too long' / 'string is too long for tsvector' — an error the handler retried forever."""
    import random

    from services.common.catalogue.departments import MAX_PARTIES, DecisionMade

    limits = {name: next(v.max for v in DecisionMade().fields[name].validators if getattr(v, "max", None))
              for name in ("decision_no", "category", "facts", "legal_basis", "conclusion")}
    rng = random.Random(14)

    def cjk(n):                                       # CJK Extension B: 4 bytes each in UTF-8
        return "".join(chr(0x20000 + rng.randrange(40000)) for _ in range(n))

    blob = "a1b2c3d4" * 375
    parties = [{"party_kind": "legal", "name": cjk(200), "id_type": "other"} for _ in range(MAX_PARTIES)]
    envelope = ev.decision_made("LONG-1", facts="-")
    envelope["payload"].update({
        "decision_no": cjk(limits["decision_no"]), "category": cjk(limits["category"]), "parties": parties,
        "facts": "经查" + blob + cjk(limits["facts"] - len(blob) - 8) + "销售过期食品",
        "legal_basis": cjk(limits["legal_basis"]), "conclusion": cjk(limits["conclusion"])})
    parse_event(envelope)                            # within the contract
    made = _apply(engine, [envelope])
    assert made[0] is not None and len(_indexed(engine)) == 1
    from services.disclosure import portal

    payload = envelope["payload"]
    # PostgreSQL keeps word positions up to 16,383 (docs/disclosure-rules.md): phrases (3+ characters)
    # beyond are not matched there; one-token words (2 CJK characters, a word's start) are, anywhere
    words = [payload["decision_no"][:12], payload["category"][-12:], blob[:40], "销售"]
    if engine.dialect.name == "sqlite":
        words += ["销售过期食品", payload["conclusion"][-12:]]
    with Session(engine) as session:
        for q in words:
            found = portal.search_publications(session, search.SearchRequest(q=q))["results"]
            assert [r["decision_no"] for r in found] == [payload["decision_no"]], q


def _apply_mixed(engine, envelopes, batched: bool):
    """decision.made / decision.revoked as the service applies them (``usecases.decisions``): in ONE
    batch with the decisions' preload (``batched``), or each in its own transaction."""
    events = [parse_event(e) for e in envelopes]

    def one(session, event):
        if event.event_type == "decision.revoked":
            lifecycle.record_revocation(session, event)
        elif lifecycle.create_from_decision(session, event, default_calendar()) is None:
            return
        lifecycle.apply_revocations(session, event.case_id)

    groups = [events] if batched else [[e] for e in events]
    for group in groups:
        with Session(engine, info={"service": "disclosure"}, expire_on_commit=False) as session, session.begin():
            if batched:
                lifecycle.preload_decisions(session, [e for e in group if e.event_type == "decision.made"])
            for event in group:
                one(session, event)
            if batched:
                lifecycle.finish_decisions(session)
    with Session(engine) as session:
        return dict(session.execute(select(Publication.case_id, Publication.status)).all())


def test_disc6_revocations_in_a_batch_take_down_as_one_at_a_time(engine):
    """DISC-6: a batch of decisions reads which of its cases have a revocation once; a decision whose case
    has none is published without looking (no query, no flush per decision), one revoked before the batch
    or earlier in it is taken down — the same statuses as one transaction per event, in either order."""
    from tests.disclosure import events as dev

    now = dt.datetime.now(ev.CHINA)
    decided = now.isoformat()                                   # revoked after every decision was made

    def made(case_id):
        envelope = ev.decision_made(dev._own(case_id, ev.BODY))
        envelope["payload"]["decided_at"] = (now - dt.timedelta(minutes=5)).isoformat()
        return envelope

    def revoked(case_id):
        envelope = dev.revoked(case_id)
        envelope["payload"]["decided_at"] = decided
        return envelope

    outcomes = []
    for mode, batched in (("B", True), ("S", False)):
        _apply_mixed(engine, [revoked(f"{mode}R-1")], batched=False)           # stored by an earlier batch
        batch = [made(f"{mode}R-1"), made(f"{mode}R-2"), revoked(f"{mode}R-3"), made(f"{mode}R-3"),
                 made(f"{mode}R-4"), revoked(f"{mode}R-4")]
        statuses = _apply_mixed(engine, batch, batched=batched)
        outcomes.append({case.rsplit("R-", 1)[1]: status for case, status in statuses.items() if f"-{mode}R-" in case})
    assert outcomes[0] == outcomes[1]
    assert outcomes[0]["2"] == "published" and {outcomes[0][c] for c in ("1", "3", "4")} == {"withdrawn"}


def test_disc4_each_entry_is_checked_for_personal_data_once_and_a_summary_still_is(engine, monkeypatch):
    """DISC-4 (issue 17): the last line of defence runs once per published decision — ``redact_decision``
    checks a full entry against the parties and says so (``checked``), ``publish`` does not repeat it; a
    summary entry (commercial secret / privacy), not checked by ``redact_decision``, is checked by
    ``publish``; a leak still holds the publication."""
    from services.disclosure.domain import redaction

    calls = []
    original = redaction.find_personal_data

    def counting(entry, parties=()):
        calls.append(entry.summary_only)
        return original(entry, parties)

    monkeypatch.setattr(redaction, "find_personal_data", counting)
    made = _apply(engine, [ev.decision_made("C-1"), ev.decision_made("C-2")])
    assert [m.status for m in made] == ["published", "published"] and calls == [False, False]
    calls.clear()
    summary = ev.decision_made("C-3")
    summary["payload"]["secrecy"] = "personal_privacy"
    [row] = _apply(engine, [summary])
    assert row.status == "published" and row.summary_only and calls == [True]
    # a leak that redaction cannot see (a party's declared phone in another form) still holds it
    monkeypatch.setattr(redaction, "find_personal_data", lambda entry, parties=(): [("facts", "phone")])
    [held] = _apply(engine, [ev.decision_made("C-4")])
    assert held.status == "pending" and held.hold_reason
