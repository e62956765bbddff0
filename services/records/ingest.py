"""The records ingest pipeline (REC-1, REC-4, REC-5): a batch of life-cycle events becomes entries of
the tamper-evident log, in one direction — prepare → claim → append → gaps → emit → count.

1. **prepare** (no lock): each event's canonical entry is built, sealed and serialised
   (``store.prepare_events``: the domain's ``make_entry`` + ``seal_personal``);
2. **claim** (before the append lock, same transaction): events for a case their body does not own wait
   (SEC-2, ``ownership.screen``); the others are claimed as processed (``claim_unprocessed``: a
   redelivery is recognised and skipped, a conflicting copy reported);
3. **append** (under the lock, ``Ledger.appending``): entries get their sequence numbers and are hashed
   into the Merkle tree; a record for a sealed case is refused (kept whole, logged, dead-lettered); a
   record dated before its case opened is refused by whichever arrives second (``store.apply_events``);
4. **gaps**: the cases touched are evaluated for completeness (REC-3) — ``record.gaps_found`` when the
   open gaps changed;
5. **emit**: one ``record.batch_appended`` per region and body into the outbox, committed with the batch;
6. **count**: metrics after the commit.
"""
from __future__ import annotations

from services.common import ownership
from services.common.batching import BatchResult
from services.common.db import claim_unprocessed
from services.common.events import Event
from services.records import metrics as rec_metrics
from services.records import store
from services.records.usecases.access import count_appended


def apply(db, ledger, events: list[Event]) -> BatchResult:
    """Apply a batch of life-cycle events (the batch handler's one transaction); the result names
    duplicates, refusals (dead-lettered after commit), conflicts and events waiting for their owner."""
    # replicas take the append lock in turn: what needs no lock is done before it — entries are
    # built, sealed and serialised; the batch's events are claimed in the same transaction
    prepared = store.prepare_events(events)
    consumers = getattr(events, "consumers", None) or db.consumer
    claimed: list = []
    waiting: dict = {}

    def claim(session):
        # SEC-2: an event for a case its body does not own is neither applied nor marked processed
        screened = ownership.screen(session, events)
        waiting.update(screened.waiting)
        names = [consumers] * len(events) if isinstance(consumers, str) else list(consumers)
        kept = [(n, e) for n, e in zip(names, events) if e.event_id not in waiting]
        claimed.append(claim_unprocessed(session, [e for _, e in kept], [n for n, _ in kept]))

    with ledger.appending(db, before_lock=claim) as session:
        outcome = store.apply_events(session, ledger, events, consumers, prepared=prepared, claimed=claimed[0])
    rec_metrics.BATCH_SIZE.observe(len(events))
    if outcome.appended:
        count_appended(outcome.appended)
        rec_metrics.TREE_SIZE.set(ledger.size)
    for event in events:
        if event.event_id in outcome.refused:
            rec_metrics.REFUSED.labels(event.region_code, event.body_id).inc()
    for region, body, _ in outcome.refused_later.values():   # retracted at case.opened (REC-1)
        rec_metrics.REFUSED.labels(region, body).inc()
    return BatchResult(duplicates=outcome.duplicates, refused=outcome.refused, conflicts=outcome.conflicts,
                       waiting=waiting)


def preload_classified(session, events) -> list:
    """The cases of a batch of ``review.classified``, read at once."""
    return list(store.load_cases(session, {e.case_id for e in events}).values())


def classified(db, event) -> None:
    """Whether the decision is major decides which legal-review records the file needs (REC-5)."""
    with db.effect_of(event) as session:
        store.set_major(session, event)
