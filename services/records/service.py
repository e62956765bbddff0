"""records service (全过程记录): the case timeline and the tamper-evident log (REC-1…REC-8).

This module holds the nameko entrypoints only: each translates its call and delegates — life-cycle
events to the ingest pipeline (``ingest.py``: prepare → claim → append → gaps → count), RPCs, timers and
witnessing handlers to a use case in ``usecases/`` (validate → decide with the pure rules of ``domain/``
→ persist with ``store.py`` and the ledger → emit).

- Life-cycle events arrive through batching handlers (``services/common/batching.py``): each batch
  is validated message by message, applied in ONE transaction (processed ids, entries appended to
  the SM3 Merkle log in order, cases, parties, completeness; ``record.gaps_found`` in the outbox when
  the open gaps changed — no per-batch event, issue 17), committed, then acknowledged.
- Records for an archived (sealed) case are refused: the refusal is itself logged and the event
  kept whole (``refused_events``), then dead-lettered with the reason; a supervisor may authorise
  a correction, which is appended and says what it corrects.
- Every read of case records through the API is logged as an ``access`` entry (who, role, purpose):
  enqueued in the read's own transaction (``pending_reads``, no append lock — issue 20) and appended in
  batches by the writer (the ingest batch, the 1 s timer, or the read itself when the lock is free).
- Tree heads are signed (Ed25519 or SM2: ZHIFA_RECORDS_SIGNATURE_ALGORITHM) by a leased timer, at every
  archiving and on demand for proofs.
- The audit trail of staff actions (SEC-3): the gateway's ``audit.recorded`` events, on their own
  queue, into the append-only ``audit_log`` (services/records/audit_log.py), searched by auditors,
  purged after the retention period by a leased timer. Not part of the Merkle log or its ingest path.
"""
from __future__ import annotations

import logging
import time

from nameko.rpc import rpc
from nameko.timer import timer

from services.common import federation, fieldcrypt
from services.common.batching import batch_event_handler
from services.common.configfile import ConfigFiles
from services.common.db import Database
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from services.common.metrics import Metrics
from services.records import config, ingest, witness
from services.records.ledger import LogIntegrityError
from services.records.providers import BlobStoreProvider, LedgerProvider
from services.records.providers import integrity_guard as _integrity_guard
from services.records.models import ENCRYPTED_COLUMNS
from services.records.usecases import (access, attachments, audit, case_file_review, corrections, proofs,
                                       reading, retention, witnessing)

log = logging.getLogger(__name__)
GAUGE_INTERVAL = 30.0   # seconds between recomputations of the open-gaps gauges (a scan of open cases)
# case traffic is applied by one replica at a time while it keeps up (consumer priorities, issue 17), in
# batches started at most every 20 ms under load (the record is what officers and the public look for first)
# a burst or a backlog drains in batches of up to 500 (issue 17: 6% less CPU per event than 200 — the claim, the
# ownership screen, the append lock, the case reads and the commit are per batch); ZHIFA_BATCH_SIZE overrides it
WRITER = {"group": "records", "consumer_priority": config.writer_priority, "interval_ms": 20, "max_batch": 500}


class RecordsService:
    name = "records"
    config_files = ConfigFiles(config.load_all)   # every config file, read at start-up (issue 21)
    db = Database(case_ownership=True)   # SEC-2: only a case's owner may act on it
    metrics = Metrics()
    ledger = LedgerProvider()
    blobs = BlobStoreProvider()
    gauges_refreshed: dict = {}

    # -- ingestion (REC-1, REC-4, REC-5): the ingest pipeline ---------------------------------------
    def _apply(self, events):
        return ingest.apply(self.db, self.ledger, ingest.of_cases(events))

    @batch_event_handler(DEPARTMENTS, "case.opened", **WRITER)
    def on_case_opened(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "evidence.recorded", **WRITER)
    def on_evidence_recorded(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "hearing.held", **WRITER)
    def on_hearing_held(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "decision.proposed", **WRITER)
    def on_decision_proposed(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "decision.made", **WRITER)
    def on_decision_made(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "decision.served", **WRITER)
    def on_decision_served(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "decision.executed", **WRITER)
    def on_decision_executed(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "decision.revoked", **WRITER)
    def on_decision_revoked(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "case.archived", **WRITER)
    def on_case_archived(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "case.transferred", **WRITER)
    def on_case_transferred(self, events):
        """SEC-2: 移送/指定管辖 — the case passes to another body (a timeline entry; the case's body
        and region become the new owner's)."""
        return self._apply(events)

    @batch_event_handler("complaints", "transfer.sent", **WRITER)
    def on_transfer_sent(self, events):
        """COORD-3: 移送 of a case to public security / procuratorate enters its record (documents by SM3)."""
        return self._apply(events)

    @batch_event_handler("review", "review.approved", **WRITER)
    def on_review_approved(self, events):
        return self._apply(events)

    @batch_event_handler("review", "review.returned", **WRITER)
    def on_review_returned(self, events):
        return self._apply(events)

    @batch_event_handler("review", "review.classified", **WRITER)
    def on_review_classified(self, events):
        """Whether the decision is major decides which legal-review records the file needs (REC-5): the
        case's facts, in the writer's batch (no entry)."""
        return self._apply(events)

    @rpc
    def case_owner(self, case_id, at=None):
        """SEC-2: the body a transferred case belongs to at ``at`` (ISO time; default now), as records
        knows its transfers: ``{"body_id", "region_code"}``, or None when no transfer is in force
        (the case belongs to the body of its id's namespace). For the gateway's intake check."""
        return reading.case_owner(self.db, case_id, at)

    # -- witnessing across tiers (REC-4, PLAT-1, issue 23) ------------------------------------------
    @event_handler(federation.UPWARD_EXCHANGE, "record.tree_head_signed")
    def on_witnessed_head(self, event):
        """A city's signed tree head arriving at the province over the upward link: accepted only as an
        append-only extension of the newest witnessed head, else the fork alarm (witness.py)."""
        witnessing.witness_head(self.db, event)

    @event_handler(federation.UPWARD_EXCHANGE, "record.witness_requested")
    def on_witness_requested(self, event):
        """A city's records service, starting, asks for the newest witnessed head of its log."""
        witnessing.answer_request(self.db, event)

    @event_handler(federation.UPWARD_EXCHANGE, "record.key_rotated")
    def on_key_rotated(self, event):
        """A city hands its log over to a new signing key, signed with the key the province pins."""
        witnessing.hand_over(self.db, event)

    @event_handler(federation.DOWNWARD_EXCHANGE, "record.head_witnessed")
    def on_head_witnessed(self, event):
        """At a city: the province's newest witnessed head of this log (or a reset after a resolved fork)."""
        witnessing.keep_province_view(self.db, self.ledger, event)

    @event_handler(federation.DOWNWARD_EXCHANGE, "record.fork_detected")
    def on_fork_detected(self, event):
        """At a city: the province found this log forked — nothing is signed or appended until resolved."""
        log.error("records: the province raised a fork alarm for %s: %s", event.payload["log_id"],
                  event.payload["reason"])
        witnessing.keep_province_view(self.db, self.ledger, event)

    @rpc
    def witnessed_heads(self, log_id=None, conflicts_only=False, limit=100, status=None):
        """Heads of other suites' logs this suite witnessed (public: heads carry no personal data)."""
        return witnessing.witnessed_heads(self.db, log_id, conflicts_only, limit, status)

    @rpc
    def witness_logs(self, log_id=None):
        """The witness's state per lower-tier log: newest witnessed head, pinned key, fork alarm and
        its resolutions (public: no personal data)."""
        return witnessing.witness_logs(self.db, log_id)

    @rpc
    def resolve_witness_fork(self, log_id, operator, note, scope_region=None):
        """An operator resolves a witnessed log after the restore procedure (docs/RUNBOOK.md): a fork
        alarm is cleared, or a city restored from a backup older than the witnessed heads is let go
        on; the witnessed (and forked) heads stay as evidence, the next head becomes the new anchor,
        the city is told. Recorded with who, when and the note."""
        return witnessing.resolve_fork(self.db, log_id, operator, note, scope_region)

    @rpc
    def province_witness(self):
        """At a city: what the province witnessed of this suite's log (newest head, fork alarm)."""
        return witnessing.province_witness(self.db)

    @rpc
    def announce_key_rotation(self, new_public_key):
        """Hand the log over to a new signing key (docs/RUNBOOK.md#rotate-keys): a statement naming
        the new public key and the tree size from which it signs, signed with the CURRENT key, sent to
        the province (``record.key_rotated``) — before the new key is deployed."""
        return witnessing.announce_key_rotation(self.db, self.ledger, new_public_key)

    # -- signed tree heads and gauges (leased timer) -----------------------------------------------
    @timer(interval=5)
    def sign_tree_heads(self):
        """Sign a tree head when entries were appended and the configured interval has passed
        since the last head; refresh the gauges."""
        witnessing.ask_the_province(self.db, self.ledger)
        if not self.db.acquire_lease("records.tree_heads", 20):
            return
        proofs.sign_due_head(self.db, self.ledger)
        if time.monotonic() - self.ledger.last_full_check >= config.self_check_interval():
            self.ledger.periodic_check(self.db)      # the stored log against every head (REC-4)
        if time.monotonic() - self.gauges_refreshed.get("at", -1e9) >= GAUGE_INTERVAL:
            self.gauges_refreshed["at"] = time.monotonic()
            with self.db.session() as session:
                proofs.refresh_gap_gauges(session)
                witness.refresh_gauges(session)

    @timer(interval=1)
    def append_pending_reads(self):
        """Staff reads wait in ``pending_reads`` (written in the read's own transaction, no append lock);
        appended here in batches when no ingest batch or read did it first (REC-6, issue 20)."""
        try:
            access.append_pending_if_any(self.db, self.ledger)
            self.ledger.keep_level(self.db)   # a standby's tree follows the writer's appends (issue 17)
        except LogIntegrityError as exc:      # the reads wait, durable, until the log accepts appends
            log.warning("records: waiting reads not appended: %s", exc)

    @timer(interval=5)
    def reencrypt_fields(self):
        """Personal data at rest (issue 22, REC-8): fields moved to the active data key after a rotation."""
        fieldcrypt.background_pass(self.db, "records", ENCRYPTED_COLUMNS)
        retention.rekey_party_links(self.db)       # party links written before the keyed index

    # -- audit trail of staff actions (SEC-3) ------------------------------------------------------
    @event_handler("gateway", "audit.recorded")
    def on_audit_recorded(self, event):
        """One staff action recorded by the gateway; idempotent (the processed event id)."""
        audit.record(self.db, event)

    @rpc
    def search_audit(self, scope_region, filters=None):
        """Audit entries of staff within the auditor's region, newest first (auditor only: the
        gateway's route checks the role)."""
        return audit.search(self.db, scope_region, filters)

    @timer(interval=600)
    def purge_audit(self):
        """Delete audit entries past the retention period (one replica: a lease)."""
        if not self.db.acquire_lease("records.audit_purge", 300):
            return
        audit.purge(self.db)

    # -- reads (REC-1, REC-4, REC-6): each read of case records is logged ----------------------------
    @rpc
    @_integrity_guard
    def case_timeline(self, case_id, scope, accessor=None):
        """A case's whole timeline, if the caller's scope covers the case's region AND body (SEC-2,
        PLAT-1); the read is logged."""
        return reading.case_timeline(self.db, self.ledger, case_id, scope, accessor)

    @rpc
    @_integrity_guard
    def search_entries(self, scope, filters, accessor):
        """Timeline entries by region, body, stage and period, in the caller's scope; each case read is logged."""
        return reading.search_entries(self.db, self.ledger, scope, filters, accessor)

    @rpc
    @_integrity_guard
    def party_records(self, scope, party, accessor):
        """All records of one party (REC-4 同一当事人的记录集中存储): cases linked to the party by the
        hash of its identifier, with their timelines; each case read is logged."""
        return reading.party_records(self.db, self.ledger, scope, party, accessor)

    # -- proofs (REC-4) -----------------------------------------------------------------------------
    @rpc
    @_integrity_guard
    def inclusion_proof(self, sequence, scope, accessor, tree_size=None):
        """Inclusion bundle of one entry (with its canonical public part) against a signed head."""
        return proofs.inclusion_proof(self.db, self.ledger, sequence, scope, accessor, tree_size)

    @rpc
    @_integrity_guard
    def case_proofs(self, case_id, scope, accessor):
        """Inclusion bundles of every entry of a case against one signed tree head."""
        return proofs.case_proofs(self.db, self.ledger, case_id, scope, accessor)

    @rpc
    @_integrity_guard
    def public_inclusion(self, leaf_hash):
        """Public: the inclusion proof of a leaf hash (no entry content) against the latest signed head —
        lets a party holding a record's leaf hash check it is in the log."""
        return proofs.public_inclusion(self.db, self.ledger, leaf_hash)

    @rpc
    @_integrity_guard
    def consistency_proof(self, old_size, new_size=None):
        """Public: proof that the head of ``new_size`` extends the head of ``old_size`` (append-only)."""
        return proofs.consistency_proof(self.db, self.ledger, old_size, new_size)

    @rpc
    @_integrity_guard
    def tree_heads(self, limit=20, latest_only=False, consistency=False):
        """Public: signed tree heads, newest first, and the public key to pin. ``consistency``: with a
        consistency proof from each head to the newest (``"type": "tree_heads"``, checked by
        tools/audit_verify.py — REC-4, issue 14); refused while the self-check fails."""
        return proofs.tree_heads(self.db, self.ledger, limit, latest_only, consistency)

    @rpc
    def verification_status(self, limit=5):
        """Public (/records/verify): the latest signed heads and the public key, the log's size and the
        entries no signed head covers yet (未被签名树头覆盖), and the result of the last self-check (REC-4)."""
        return proofs.verification_status(self.db, self.ledger, limit)

    @rpc
    @_integrity_guard
    def sign_tree_head(self):
        """Sign a head for the current tree (admin / operations); returns it."""
        return proofs.sign_tree_head(self.db, self.ledger)

    # -- attachments (content-addressed, REC-4) -----------------------------------------------------
    @rpc
    def put_blob(self, data_b64, media_type, uploaded_by, scope):
        """Store an attachment uploaded by a principal who acts for at least one body (SEC-2)."""
        return attachments.put_blob(self.db, self.blobs, data_b64, media_type, uploaded_by, scope)

    @rpc
    @_integrity_guard
    def get_blob(self, content_hash, scope, accessor):
        """An attachment's metadata (size, media type, chunk size; its stored bytes checked against the
        hash in chunks) if a record of a case in the caller's scope references it, or the caller
        uploaded it, or it was uploaded in the region of a caller with every body of it; the read is
        logged on the referencing case. The bytes follow with ``get_blob_chunk`` (issue 20)."""
        return attachments.get_blob(self.db, self.ledger, self.blobs, content_hash, scope, accessor)

    @rpc
    def get_blob_chunk(self, content_hash, offset, scope, accessor):
        """One chunk (1 MiB, base64) of an attachment from ``offset``, in the same scope as ``get_blob``:
        attachments are streamed a chunk at a time, never held whole (issue 20)."""
        return attachments.get_blob_chunk(self.db, self.blobs, content_hash, offset, scope, accessor)

    # -- completeness (REC-3, REC-5, REC-7) ---------------------------------------------------------
    @rpc
    def case_gaps(self, case_id, scope, evaluate=False):
        """The open gaps of a case file; ``evaluate`` re-evaluates up to the case's current stage now
        (on demand) and emits ``record.gaps_found`` if the open gaps changed."""
        return reading.case_gaps(self.db, case_id, scope, evaluate)

    # -- sealed cases: refusals and corrections (REC-5) ---------------------------------------------
    @rpc
    def list_refusals(self, scope, case_id=None, open_only=False, limit=100):
        return reading.list_refusals(self.db, scope, case_id, open_only, limit)

    @rpc
    @_integrity_guard
    def add_correction(self, case_id, scope, supervisor, body):
        """Append a supervisor-authorised correction to a case (also a sealed one): it never
        overwrites, and says what it corrects — a refused record it admits, and/or an earlier entry."""
        return corrections.add_correction(self.db, self.ledger, case_id, scope, supervisor, body)

    @rpc   # -- case-file review (REC-7) ---------------------------------------------------------------
    def case_file_review(self, action, scope, actor, data=None):
        """案卷评查: draw / get_draw / assign / assigned_to_me / score / weak_links (usecases/case_file_review)."""
        return case_file_review.run(self.db, action, scope, actor, data or {})

    # -- access supervision (REC-6) ---------------------------------------------------------------
    @rpc
    def list_accesses(self, scope, case_id=None, subject=None, limit=100, before=None):
        """Who read which case's records, when, in which role and why (supervisors)."""
        return reading.list_accesses(self.db, self.ledger, scope, case_id, subject, limit, before)

    # -- retention (REC-8) --------------------------------------------------------------------------
    @rpc
    @_integrity_guard
    def erase_personal(self, case_id, scope, admin, basis):
        """Erase the personal data of an archived case whose retention period has ended; the log keeps
        the commitments, so every leaf hash, head and proof stays valid. Appends an ``erasure`` entry.
        "Now" is the service's clock, never the caller's (SEC-2: a chosen date could end a retention)."""
        return retention.erase_personal(self.db, self.ledger, case_id, scope, admin, basis)
