"""records service (全过程记录): the case timeline and the tamper-evident log (REC-1…REC-8).

- Life-cycle events arrive through batching handlers (``services/common/batching.py``): each batch
  is validated message by message, applied in ONE transaction (processed ids, entries appended to
  the SM3 Merkle log in order, cases, parties, completeness, one ``record.batch_appended`` per
  region and body in the outbox), committed, then acknowledged.
- Records for an archived (sealed) case are refused: the refusal is itself logged and the event
  kept whole (``refused_events``), then dead-lettered with the reason; a supervisor may authorise
  a correction, which is appended and says what it corrects.
- Every read of case records through the API appends an ``access`` entry (who, role, purpose).
- Tree heads are signed (Ed25519) by a leased timer, at every archiving and on demand for proofs.
- The audit trail of staff actions (SEC-3): the gateway's ``audit.recorded`` events, on their own
  queue, into the append-only ``audit_log`` (services/records/audit_log.py), searched by auditors,
  purged after the retention period by a leased timer. Not part of the Merkle log or its ingest path.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import inspect
import json
import logging
import time
from collections import Counter

from nameko.exceptions import IncorrectSignature
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import delete, func, select, update

from services.common import clock, federation, ownership
from services.common.batching import BatchResult, batch_event_handler, batched_event_handler
from services.common.configfile import ConfigFiles
from services.common.db import Database, claim_unprocessed, emit, utcnow
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS, Event, InvalidEvent, parse_event
from services.common.identifiers import is_region_code, region_covers
from services.common.metrics import Metrics
from services.common.scope import Scope
from services.records import audit_log, config, store, witness
from services.records import metrics as rec_metrics
from services.common.blobs import (
    BlobCorrupted,
    BlobError,
    BlobNotFound,
    FilesystemBlobStore,
    check_hash,
    max_record_blob_bytes,
)
from services.records.domain import completeness as completeness_rules
from services.records.domain.bundles import consistency_bundle, inclusion_bundle
from services.records.domain.entries import EntryKind
from services.records.ledger import Ledger, LogIntegrityError, SelfCheckFailed, head_from_row
from services.records.models import (
    Blob,
    Case,
    LogEntry,
    PartyLink,
    PersonalData,
    RefusedEvent,
    SelfCheck,
    ProvinceWitness,
    TreeHeadRow,
    WitnessedHead,
    WitnessLog,
)

log = logging.getLogger(__name__)
MAX_PAGE = 200
GAUGE_INTERVAL = 30.0   # seconds between recomputations of the open-gaps gauges (a scan of open cases)


class LedgerProvider(DependencyProvider):
    """One in-memory Merkle tree per service process, shared by its workers."""

    def setup(self):
        self.ledger = Ledger()

    def get_dependency(self, worker_ctx):
        return self.ledger


class BlobStoreProvider(DependencyProvider):
    def setup(self):
        self.store = FilesystemBlobStore(config.blob_dir())

    def get_dependency(self, worker_ctx):
        return self.store


def _error(status: int, code: str, message: str) -> dict:
    return {"error": {"status": status, "code": code, "message": message}}


def _integrity_guard(method):
    """An RPC that appends to (or proves from) the log answers 503 with the reason while the log
    fails its self-check or has a hole (REC-4): reads of case records are logged, so they wait too."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            signature.bind(self, *args, **kwargs)
        except TypeError as exc:          # what nameko's own signature check answers
            raise IncorrectSignature(str(exc)) from None
        try:
            return method(self, *args, **kwargs)
        except SelfCheckFailed as exc:
            return _error(503, "log_integrity", "执法全过程记录日志自检未通过，已暂停签名和追加（含调阅登记），"
                                                f"请联系运维人员：{exc.result.summary_zh()}")
        except LogIntegrityError:
            return _error(503, "log_integrity", "执法全过程记录日志序号不连续，已暂停追加，请联系运维人员运行核验")
    return guarded


def _count_appended(appended) -> None:
    counts = Counter((a.region_code, a.body_id, a.kind) for a in appended)
    for (region, body, kind), n in counts.items():
        rec_metrics.ENTRIES.labels(region, body, kind).inc(n)


class RecordsService:
    name = "records"
    config_files = ConfigFiles(config.load_all)   # every config file, read at start-up (issue 21)
    db = Database(case_ownership=True)   # SEC-2: only a case's owner may act on it
    metrics = Metrics()
    ledger = LedgerProvider()
    blobs = BlobStoreProvider()
    gauges_refreshed: dict = {}

    # -- ingestion (REC-1, REC-4, REC-5) ----------------------------------------------------------
    def _apply(self, events: list[Event]) -> BatchResult:
        # replicas take the append lock in turn: what needs no lock is done before it — entries are
        # built, sealed and serialised; the batch's events are claimed in the same transaction
        prepared = store.prepare_events(events)
        consumers = getattr(events, "consumers", None) or self.db.consumer
        claimed: list = []
        waiting: dict = {}

        def claim(session):
            # SEC-2: an event for a case its body does not own is neither applied nor marked processed
            screened = ownership.screen(session, events)
            waiting.update(screened.waiting)
            names = [consumers] * len(events) if isinstance(consumers, str) else list(consumers)
            kept = [(n, e) for n, e in zip(names, events) if e.event_id not in waiting]
            claimed.append(claim_unprocessed(session, [e for _, e in kept], [n for n, _ in kept]))

        with self.ledger.appending(self.db, before_lock=claim) as session:
            outcome = store.apply_events(session, self.ledger, events, consumers, prepared=prepared,
                                         claimed=claimed[0])
        rec_metrics.BATCH_SIZE.observe(len(events))
        if outcome.appended:
            _count_appended(outcome.appended)
            rec_metrics.TREE_SIZE.set(self.ledger.size)
        for event in events:
            if event.event_id in outcome.refused:
                rec_metrics.REFUSED.labels(event.region_code, event.body_id).inc()
        for region, body, _ in outcome.refused_later.values():   # retracted at case.opened (REC-1)
            rec_metrics.REFUSED.labels(region, body).inc()
        return BatchResult(duplicates=outcome.duplicates, refused=outcome.refused, conflicts=outcome.conflicts,
                           waiting=waiting)

    @batch_event_handler(DEPARTMENTS, "case.opened", group="records")
    def on_case_opened(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "evidence.recorded", group="records")
    def on_evidence_recorded(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "hearing.held", group="records")
    def on_hearing_held(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "decision.proposed", group="records")
    def on_decision_proposed(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "decision.made", group="records")
    def on_decision_made(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "decision.served", group="records")
    def on_decision_served(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "decision.executed", group="records")
    def on_decision_executed(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "decision.revoked", group="records")
    def on_decision_revoked(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "case.archived", group="records")
    def on_case_archived(self, events):
        return self._apply(events)

    @batch_event_handler(DEPARTMENTS, "case.transferred", group="records")
    def on_case_transferred(self, events):
        """SEC-2: 移送/指定管辖 — the case passes to another body (a timeline entry; the case's body
        and region become the new owner's)."""
        return self._apply(events)

    @batch_event_handler("review", "review.approved", group="records")
    def on_review_approved(self, events):
        return self._apply(events)

    @batch_event_handler("review", "review.returned", group="records")
    def on_review_returned(self, events):
        return self._apply(events)

    def _cases_classified(self, session, events):
        return list(store.load_cases(session, {e.case_id for e in events}).values())

    @batched_event_handler("review", "review.classified", group="classified", preload=_cases_classified)
    def on_review_classified(self, event):
        """Whether the decision is major decides which legal-review records the file needs (REC-5)."""
        with self.db.effect_of(event) as session:
            store.set_major(session, event)

    @rpc
    def case_owner(self, case_id, at=None):
        """SEC-2: the body a transferred case belongs to at ``at`` (ISO time; default now), as records
        knows its transfers: ``{"body_id", "region_code"}``, or None when no transfer is in force
        (the case belongs to the body of its id's namespace). For the gateway's intake check."""
        moment = dt.datetime.fromisoformat(at) if at else utcnow()
        with self.db.session() as session:
            valid = ownership.chain(ownership.load_transfers(session, [case_id])[case_id])
            current = ownership.owner_at(valid, moment)
        return {"body_id": current.to_body, "region_code": current.to_region} if current else None

    # -- signed tree heads and gauges (leased timer) -----------------------------------------------
    # -- witnessing across tiers (REC-4, PLAT-1, issue 23) ------------------------------------------
    @event_handler(federation.UPWARD_EXCHANGE, "record.tree_head_signed")
    def on_witnessed_head(self, event):
        """A city's signed tree head arriving at the province over the upward link: accepted only as an
        append-only extension of the newest witnessed head, else the fork alarm (witness.py)."""
        with self.db.effect_of(event) as session:
            witness.witness(session, event)

    @event_handler(federation.UPWARD_EXCHANGE, "record.witness_requested")
    def on_witness_requested(self, event):
        """A city's records service, starting, asks for the newest witnessed head of its log."""
        with self.db.effect_of(event) as session:
            witness.answer_request(session, event)

    @event_handler(federation.UPWARD_EXCHANGE, "record.key_rotated")
    def on_key_rotated(self, event):
        """A city hands its log over to a new signing key, signed with the key the province pins."""
        with self.db.effect_of(event) as session:
            witness.hand_over(session, event)

    @event_handler(federation.DOWNWARD_EXCHANGE, "record.head_witnessed")
    def on_head_witnessed(self, event):
        """At a city: the province's newest witnessed head of this log (or a reset after a resolved fork)."""
        self._keep_province_view(event)

    @event_handler(federation.DOWNWARD_EXCHANGE, "record.fork_detected")
    def on_fork_detected(self, event):
        """At a city: the province found this log forked — nothing is signed or appended until resolved."""
        log.error("records: the province raised a fork alarm for %s: %s", event.payload["log_id"],
                  event.payload["reason"])
        self._keep_province_view(event)

    def _keep_province_view(self, event):
        if event.payload["log_id"] != config.log_id():
            raise InvalidEvent(f"{event.event_type} for log {event.payload['log_id']}, not this suite's "
                               f"log {config.log_id()}")
        with self.db.effect_of(event) as session:
            row = witness.keep_province_view(session, event)
            rec_metrics.PROVINCE_FORK.set(1 if row.status == "forked" else 0)
        try:     # the log against what the province says it witnessed, now (SelfCheckFailed stops appends)
            self.ledger.check_witness(self.db)
        except LogIntegrityError as exc:
            log.error("records: %s", exc)

    @rpc
    def witnessed_heads(self, log_id=None, conflicts_only=False, limit=100, status=None):
        """Heads of other suites' logs this suite witnessed (public: heads carry no personal data)."""
        with self.db.session() as session:
            query = select(WitnessedHead).order_by(WitnessedHead.id.desc()).limit(min(int(limit), 1000))
            if log_id:
                query = query.where(WitnessedHead.log_id == log_id)
            if conflicts_only:
                query = query.where(WitnessedHead.status == "forked")
            if status:
                query = query.where(WitnessedHead.status == status)
            return [witness.view(r) for r in session.scalars(query)]

    @rpc
    def witness_logs(self, log_id=None):
        """The witness's state per lower-tier log: newest witnessed head, pinned key, fork alarm and
        its resolutions (public: no personal data)."""
        with self.db.session() as session:
            query = select(WitnessLog).order_by(WitnessLog.log_id)
            if log_id:
                query = query.where(WitnessLog.log_id == log_id)
            return [witness.log_view(state, session.get(WitnessedHead, state.tip_id) if state.tip_id else None)
                    for state in session.scalars(query)]

    @rpc
    def resolve_witness_fork(self, log_id, operator, note, scope_region=None):
        """An operator resolves a witnessed log after the restore procedure (docs/RUNBOOK.md): a fork
        alarm is cleared, or a city restored from a backup older than the witnessed heads is let go
        on; the witnessed (and forked) heads stay as evidence, the next head becomes the new anchor,
        the city is told. Recorded with who, when and the note."""
        if len((note or "").strip()) < 4:
            return _error(422, "note_required", "须说明处置情况（如：已按恢复规程核对，缺失记录已由部门重报）")
        with self.db.session() as session:
            state = session.get(WitnessLog, log_id)
            if state is None or not (scope_region and is_region_code(scope_region)
                                     and region_covers(scope_region, state.city_code)):
                return _error(404, "not_found", f"未见证过日志 {log_id}，或其不在您的管辖范围内")
            return {"resolution": witness.resolve_fork(session, log_id, operator, note.strip())}

    @rpc
    def province_witness(self):
        """At a city: what the province witnessed of this suite's log (newest head, fork alarm)."""
        with self.db.session() as session:
            return witness.province_view(session.get(ProvinceWitness, config.log_id()))

    @rpc
    def announce_key_rotation(self, new_public_key):
        """Hand the log over to a new signing key (docs/RUNBOOK.md#rotate-keys): a statement naming
        the new public key and the tree size from which it signs, signed with the CURRENT key, sent to
        the province (``record.key_rotated``) — before the new key is deployed."""
        from services.records.domain.treehead import load_public_key, public_key_bytes
        from services.records.domain.witnessing import handover_bytes

        new = public_key_bytes(load_public_key(str(new_public_key))).hex()
        signer = config.signer()
        with self.ledger.appending(self.db) as session:
            size = self.ledger.size
            stamp = int(time.time() * 1000)
            statement = handover_bytes(config.log_id(), signer.algorithm, bytes.fromhex(new), size, stamp)
            payload = {"log_id": config.log_id(), "algorithm": signer.algorithm,
                       "old_public_key": signer.public_key_bytes().hex(), "new_public_key": new,
                       "from_tree_size": size, "timestamp": stamp, "signature": signer.sign(statement).hex()}
            from services.records.ledger import settings_region

            emit(session, "record.key_rotated", payload, region_code=config.log_region() or settings_region()
                 or "000000", body_id=config.log_body())
        return payload

    @timer(interval=5)
    def sign_tree_heads(self):
        """Sign a tree head when entries were appended and the configured interval has passed
        since the last head; refresh the gauges."""
        self._ask_the_province()
        if not self.db.acquire_lease("records.tree_heads", 20):
            return
        try:
            # the first use after start rebuilds the tree and checks it against every head; every
            # signature is preceded by a check against the newest head (Ledger.sign_head)
            with self.ledger.appending(self.db) as session:
                latest = self.ledger.latest_head(session)
                size = self.ledger.size
                due = latest is None or (latest.tree_size < size and
                                         time.time() - latest.head.timestamp / 1000 >= config.tree_head_interval())
                if size and due:
                    latest = self.ledger.sign_head(session, "timer")
                rec_metrics.TREE_SIZE.set(size)
                if latest is not None:
                    rec_metrics.HEAD_AGE.set(max(0.0, time.time() - latest.head.timestamp / 1000))
                    rec_metrics.HEAD_SIZE.set(latest.tree_size)
        except LogIntegrityError as exc:       # logged when found; the gauge and the alert say the rest
            log.warning("records: tree head not signed: %s", exc)
        if time.monotonic() - self.ledger.last_full_check >= config.self_check_interval():
            self.ledger.periodic_check(self.db)      # the stored log against every head (REC-4)
        if time.monotonic() - self.gauges_refreshed.get("at", -1e9) >= GAUGE_INTERVAL:
            self.gauges_refreshed["at"] = time.monotonic()
            with self.db.session() as session:
                self._refresh_gap_gauges(session)
                witness.refresh_gauges(session)

    def _ask_the_province(self):
        """At a city, every process asks once at start (and again while unanswered) for the newest head
        of its log the province witnessed; it signs nothing before the answer (issue 23)."""
        if not config.witness_check_required():
            return
        ledger = self.ledger
        with self.db.session() as session:
            row = session.get(ProvinceWitness, config.log_id())
            answered = ledger.witness_request is not None and row is not None and \
                ledger.witness_request in (row.answered_requests or [])
            rec_metrics.PROVINCE_FORK.set(1 if row is not None and row.status == "forked" else 0)
            if answered or time.monotonic() - ledger.witness_requested_at < config.witness_request_retry():
                return
            size = session.scalar(select(func.count()).select_from(LogEntry)) or 0
            ledger.request_witness(session, size)

    def _refresh_gap_gauges(self, session):
        gaps, cases = Counter(), Counter()
        for region, body, open_gaps in session.execute(select(Case.region_code, Case.body_id, Case.open_gaps)
                                                       .where(Case.open_gaps.is_not(None))):
            if not open_gaps:
                continue
            cases[(region, body)] += 1
            for gap in open_gaps:
                gaps[(region, body, gap.get("severity") or "serious")] += 1
        rec_metrics.GAPS_OPEN.clear()
        rec_metrics.CASES_WITH_GAPS.clear()
        for (region, body, severity), n in gaps.items():
            rec_metrics.GAPS_OPEN.labels(region, body, severity).set(n)
        for (region, body), n in cases.items():
            rec_metrics.CASES_WITH_GAPS.labels(region, body).set(n)

    # -- audit trail of staff actions (SEC-3) ------------------------------------------------------
    @event_handler("gateway", "audit.recorded")
    def on_audit_recorded(self, event):
        """One staff action recorded by the gateway; idempotent (the processed event id)."""
        with self.db.effect_of(event) as session:
            audit_log.append(session, event)

    @rpc
    def search_audit(self, scope_region, filters=None):
        """Audit entries of staff within the auditor's region, newest first (auditor only: the
        gateway's route checks the role)."""
        with self.db.session() as session:
            rows = audit_log.search(session, scope_region, dict(filters or {}))
            return {"entries": [audit_log.view(r) for r in rows],
                    "retention_days": audit_log.retention_days()}

    @timer(interval=600)
    def purge_audit(self):
        """Delete audit entries past the retention period (one replica: a lease)."""
        if not self.db.acquire_lease("records.audit_purge", 300):
            return
        while True:
            with self.db.session() as session:
                purged = audit_log.purge(session)
            if purged:
                log.info("audit trail: %d entries past %d days purged", purged, audit_log.retention_days())
            if purged < audit_log.PURGE_BATCH:
                break

    # -- access supervision (REC-6) ---------------------------------------------------------------
    def _log_access(self, appender, case: Case, accessor: dict | None, view: str, **data):
        if not accessor:
            return
        appender.append(EntryKind.ACCESS, case_id=case.case_id, region_code=case.region_code, body_id=case.body_id,
                        occurred_at=appender.now,
                        data={"accessor": accessor.get("subject"), "role": accessor.get("role"), "view": view,
                              "accessor_region": accessor.get("region_code"),
                              "purpose_stated": bool(accessor.get("purpose_stated", True)),
                              # the gateway request's correlation id: its audit entries (SEC-3) name it too
                              **({"request_id": accessor["request_id"]} if accessor.get("request_id") else {}),
                              **data},
                        personal={"purpose": accessor.get("purpose") or ""},
                        index={"subject": accessor.get("subject"), "role": accessor.get("role"), "view": view})
        rec_metrics.ACCESSES.labels(case.region_code, accessor.get("role") or "", view).inc()

    def _finish_reads(self, session, appender):
        appender.flush()
        store.emit_batch_events(session, self.ledger, appender.appended)
        _count_appended(appender.appended)

    # -- reads (REC-1, REC-4, REC-6) --------------------------------------------------------------
    @rpc
    @_integrity_guard
    def case_timeline(self, case_id, scope, accessor=None):
        """A case's whole timeline, if the caller's scope covers the case's region AND body (SEC-2,
        PLAT-1); the read is logged."""
        scope = Scope.of(scope)
        with self.ledger.appending(self.db) as session:
            case = session.get(Case, case_id)
            if case is None or not scope.covers(case.region_code, case.body_id):
                return None
            rows = store.timeline(session, case_id)
            personal = store.personal_for(session, [r.sequence for r in rows])
            hashes = {h for r in rows for h in json.loads(r.canonical).get("content_hashes", [])}
            stored = set(session.scalars(select(Blob.content_hash).where(Blob.content_hash.in_(hashes)))) \
                if hashes else set()
            refusals = session.scalars(select(RefusedEvent).where(RefusedEvent.case_id == case_id)
                                       .order_by(RefusedEvent.log_sequence)).all()
            appender = store.Appender(session, self.ledger)
            self._log_access(appender, case, accessor, "timeline")
            self._finish_reads(session, appender)
            return {
                "case_id": case.case_id, "region_code": case.region_code, "body_id": case.body_id,
                "action_type": case.action_type, "title": case.title if case.personal_erased_at is None else None,
                "stage": case.stage, "sealed": case.sealed,
                "archived_at": store.iso(case.archived_at),
                "entries": [store.entry_view(r, personal.get(r.sequence), stored) for r in rows],
                "open_gaps": case.open_gaps or [], "gaps_evaluated_at":
                    store.iso(case.gaps_evaluated_at),
                "refusals": [_refusal_view(r) for r in refusals],
                "personal_erased_at": store.iso(case.personal_erased_at),
            }

    @rpc
    @_integrity_guard
    def search_entries(self, scope, filters, accessor):
        """Timeline entries by region, body, stage and period, in the caller's scope; each case read is logged."""
        filters = filters or {}
        limit = max(1, min(int(filters.get("limit") or 100), MAX_PAGE))
        period_from = _parse_time(filters.get("from"))
        period_to = _parse_time(filters.get("to"))
        with self.ledger.appending(self.db) as session:
            rows = store.search_entries(session, Scope.of(scope), region_code=filters.get("region_code"),
                                        body_id=filters.get("body_id"), stage=filters.get("stage"),
                                        period_from=period_from, period_to=period_to,
                                        case_id=filters.get("case_id"), limit=limit,
                                        after_sequence=filters.get("after"))
            personal = store.personal_for(session, [r.sequence for r in rows])
            appender = store.Appender(session, self.ledger)
            case_ids = sorted({r.case_id for r in rows if r.case_id})
            for case in session.scalars(select(Case).where(Case.case_id.in_(case_ids))):
                self._log_access(appender, case, accessor, "search")
            self._finish_reads(session, appender)
            return {"entries": [store.entry_view(r, personal.get(r.sequence)) for r in rows],
                    "next_after": rows[-1].sequence if len(rows) == limit else None}

    @rpc
    @_integrity_guard
    def party_records(self, scope, party, accessor):
        """All records of one party (REC-4 同一当事人的记录集中存储): cases linked to the party by the
        hash of its identifier, with their timelines; each case read is logged."""
        key = store.party_key(party)
        with self.ledger.appending(self.db) as session:
            cases = store.cases_of_party(session, key, Scope.of(scope))
            appender = store.Appender(session, self.ledger)
            out = []
            for case in cases:
                rows = store.timeline(session, case.case_id)
                personal = store.personal_for(session, [r.sequence for r in rows])
                out.append({"case_id": case.case_id, "region_code": case.region_code, "body_id": case.body_id,
                            "action_type": case.action_type, "stage": case.stage, "sealed": case.sealed,
                            "entries": [store.entry_view(r, personal.get(r.sequence)) for r in rows]})
                self._log_access(appender, case, accessor, "party")
            self._finish_reads(session, appender)
            return {"cases": out}

    # -- proofs (REC-4) -----------------------------------------------------------------------------
    def _head_covering(self, session, size_needed: int, tree_size=None):
        """A signed head of ``tree_size`` (must exist) or the latest one covering ``size_needed``
        entries, signing a new head when none does."""
        if tree_size is not None:
            row = session.scalars(select(TreeHeadRow).where(TreeHeadRow.tree_size == int(tree_size))).first()
            return head_from_row(row) if row is not None else None
        latest = self.ledger.latest_head(session)
        if latest is None or latest.tree_size < size_needed:
            latest = self.ledger.sign_head(session, "proof")
        return latest

    def _bundle(self, session, row: LogEntry, head, with_entry=True):
        return inclusion_bundle(self.ledger.tree, row.sequence, head,
                                row.canonical.encode("utf-8") if with_entry else None)

    @rpc
    @_integrity_guard
    def inclusion_proof(self, sequence, scope, accessor, tree_size=None):
        """Inclusion bundle of one entry (with its canonical public part) against a signed head."""
        scope = Scope.of(scope)
        with self.ledger.appending(self.db) as session:
            row = session.get(LogEntry, int(sequence))
            if row is None or not scope.covers(row.region_code, row.body_id):
                return None
            head = self._head_covering(session, row.sequence + 1, tree_size)
            if head is None or head.tree_size <= row.sequence:
                return _error(404, "no_tree_head", f"没有覆盖序号 {sequence} 的条目数为 {tree_size} 的签名树头")
            try:
                bundle = self._bundle(session, row, head)
            except ValueError as exc:
                return _error(409, "log_inconsistent", f"日志与签名树头不一致，请运行核验：{exc}")
            case = session.get(Case, row.case_id) if row.case_id else None
            if case is not None:
                appender = store.Appender(session, self.ledger)
                self._log_access(appender, case, accessor, "proof", sequence=row.sequence)
                self._finish_reads(session, appender)
            return bundle

    @rpc
    @_integrity_guard
    def case_proofs(self, case_id, scope, accessor):
        """Inclusion bundles of every entry of a case against one signed tree head."""
        scope = Scope.of(scope)
        with self.ledger.appending(self.db) as session:
            case = session.get(Case, case_id)
            if case is None or not scope.covers(case.region_code, case.body_id):
                return None
            rows = list(session.scalars(select(LogEntry).where(LogEntry.case_id == case_id)
                                        .order_by(LogEntry.sequence)))
            head = self._head_covering(session, self.ledger.size)
            try:
                bundles = [self._bundle(session, r, head) for r in rows if r.sequence < head.tree_size]
            except ValueError as exc:
                return _error(409, "log_inconsistent", f"日志与签名树头不一致，请运行核验：{exc}")
            appender = store.Appender(session, self.ledger)
            self._log_access(appender, case, accessor, "proof", entries=len(bundles))
            self._finish_reads(session, appender)
            return {"case_id": case_id, "tree_head": head.to_json(), "bundles": bundles}

    @rpc
    @_integrity_guard
    def public_inclusion(self, leaf_hash):
        """Public: the inclusion proof of a leaf hash (no entry content) against the latest signed head —
        lets a party holding a record's leaf hash check it is in the log."""
        leaf_hash = str(leaf_hash).lower()
        with self.ledger.reading(self.db) as session:
            row = session.scalars(select(LogEntry).where(LogEntry.leaf_hash == leaf_hash)
                                  .order_by(LogEntry.sequence).limit(1)).first()
            if row is None:
                return None
            head = self.ledger.latest_head(session)
            if head is None or head.tree_size <= row.sequence:
                return _error(409, "not_yet_signed", "该条目尚未被签名树头覆盖，请稍后再试")
            try:
                return self._bundle(session, row, head, with_entry=False)
            except ValueError as exc:
                return _error(409, "log_inconsistent", f"日志与签名树头不一致：{exc}")

    @rpc
    @_integrity_guard
    def consistency_proof(self, old_size, new_size=None):
        """Public: proof that the head of ``new_size`` extends the head of ``old_size`` (append-only)."""
        with self.ledger.reading(self.db) as session:
            old = session.scalars(select(TreeHeadRow).where(TreeHeadRow.tree_size == int(old_size))).first()
            if new_size is None:
                new = session.scalars(select(TreeHeadRow).order_by(TreeHeadRow.tree_size.desc()).limit(1)).first()
            else:
                new = session.scalars(select(TreeHeadRow).where(TreeHeadRow.tree_size == int(new_size))).first()
            if old is None or new is None:
                return _error(404, "no_tree_head", "没有该条目数的签名树头")
            if old.tree_size > new.tree_size:
                return _error(422, "bad_range", "old_size 不能大于 new_size")
            try:
                return consistency_bundle(self.ledger.tree, head_from_row(old), head_from_row(new))
            except ValueError as exc:
                return _error(409, "log_inconsistent", f"日志与签名树头不一致，请运行核验：{exc}")

    @rpc
    @_integrity_guard
    def tree_heads(self, limit=20, latest_only=False, consistency=False):
        """Public: signed tree heads, newest first, and the public key to pin. ``consistency``: with a
        consistency proof from each head to the newest (``"type": "tree_heads"``, checked by
        tools/audit_verify.py — REC-4, issue 14); refused while the self-check fails."""
        count = 1 if latest_only else max(1, min(int(limit), 500))
        query = select(TreeHeadRow).order_by(TreeHeadRow.tree_size.desc()).limit(count)
        signer = config.signer()
        out = {"log_id": config.log_id(), "algorithm": signer.algorithm, "public_key": signer.public_key_bytes().hex()}
        if not consistency:
            with self.db.session() as session:
                return {**out, "tree_heads": [head_from_row(r).to_json() for r in session.scalars(query)]}
        with self.ledger.reading(self.db) as session:
            heads = [head_from_row(r) for r in session.scalars(query)]
            newest = heads[0].tree_size if heads else 0
            proofs = [{"old_size": h.tree_size, "new_size": newest,
                       "proof": [p.hex() for p in self.ledger.tree.consistency_proof(h.tree_size, newest)]}
                      for h in heads[1:]]
        return {"type": "tree_heads", **out, "tree_heads": [h.to_json() for h in heads], "consistency": proofs}

    @rpc
    def verification_status(self, limit=5):
        """Public (/records/verify): the latest signed heads and the public key, the log's size and the
        entries no signed head covers yet (未被签名树头覆盖), and the result of the last self-check
        (REC-4): a failure found within the last hour by any replica wins over a later success of
        another, whose in-memory tree may not have seen the rewrite yet."""
        heads = self.tree_heads(limit)
        with self.db.session() as session:
            last = session.scalar(select(func.max(LogEntry.sequence)))
            checks = session.scalars(select(SelfCheck).order_by(SelfCheck.checked_at.desc()).limit(50)).all()
        size = 0 if last is None else last + 1
        newest = heads["tree_heads"][0]["tree_size"] if heads["tree_heads"] else 0
        recent = utcnow() - dt.timedelta(hours=1)
        failing = [c for c in checks if not c.ok and store.aware(c.checked_at) >= recent]
        shown = failing[0] if failing else (checks[0] if checks else None)
        return {**heads, "tree_size": size,
                "unsigned": {"first_sequence": newest, "last_sequence": size - 1, "count": size - newest}
                if size > newest else None,
                "self_check": None if shown is None else {
                    "ok": shown.ok, "checked_at": store.iso(shown.checked_at), "trigger": shown.trigger,
                    "tree_size": shown.tree_size, "heads_checked": shown.heads_checked,
                    "newest_head_size": shown.newest_head_size, "summary": shown.summary,
                    "range": [shown.first_sequence, shown.last_sequence] if shown.first_sequence is not None
                    else None}}

    @rpc
    @_integrity_guard
    def sign_tree_head(self):
        """Sign a head for the current tree (admin / operations); returns it."""
        with self.ledger.appending(self.db) as session:
            if not self.ledger.size:
                return None
            return self.ledger.sign_head(session, "on_demand").to_json()

    # -- attachments (content-addressed, REC-4) -----------------------------------------------------
    @rpc
    def put_blob(self, data_b64, media_type, uploaded_by, scope):
        """Store an attachment uploaded by a principal who acts for at least one body (SEC-2)."""
        scope = Scope.of(scope)
        if scope.empty:
            return _error(403, "out_of_scope", "未绑定执法主体，不能上传附件")
        region_code = scope.region_code
        data = base64.b64decode(data_b64)
        if len(data) > max_record_blob_bytes():
            return _error(413, "too_large", f"附件超过 {max_record_blob_bytes()} 字节")
        content_hash = self.blobs.put(data)
        with self.db.session() as session:
            existing = session.get(Blob, content_hash)
            if existing is None:
                session.add(Blob(content_hash=content_hash, size=len(data), media_type=media_type or
                                 "application/octet-stream", uploaded_by=uploaded_by, region_code=region_code,
                                 uploaded_at=utcnow()))
        return {"content_hash": content_hash, "size": len(data), "already_stored": existing is not None}

    @rpc
    @_integrity_guard
    def get_blob(self, content_hash, scope, accessor):
        """An attachment's bytes (checked against the hash) if a record of a case in the caller's scope
        (region and body) references it, or the caller uploaded it, or it was uploaded in the region
        of a caller with every body of it; the read is logged on the referencing case."""
        scope = Scope.of(scope)
        try:
            check_hash(content_hash)
        except BlobError as exc:
            return _error(422, "bad_hash", str(exc))
        with self.ledger.appending(self.db) as session:
            meta = session.get(Blob, content_hash)
            row = session.scalars(scope.where(select(LogEntry).where(LogEntry.content_hash == content_hash),
                                              LogEntry.region_code, LogEntry.body_id)
                                  .order_by(LogEntry.sequence).limit(1)).first()
            uploaded_in_scope = meta is not None and scope.covers_region(meta.region_code) and (
                scope.all_bodies or (bool(accessor) and meta.uploaded_by == accessor.get("subject")))
            if row is None and not uploaded_in_scope:
                return None
            try:
                data = self.blobs.get(content_hash)
            except BlobNotFound:
                return _error(404, "not_stored", "记录引用了该附件，但附件未上传到附件库")
            except BlobCorrupted as exc:
                log.error("attachment %s corrupted: %s", content_hash, exc)
                return _error(409, "corrupted", "附件内容与其SM3哈希不符（可能被篡改或损坏），拒绝提供")
            if row is not None and row.case_id:
                case = session.get(Case, row.case_id)
                if case is not None:
                    appender = store.Appender(session, self.ledger)
                    self._log_access(appender, case, accessor, "attachment", content_hash=content_hash)
                    self._finish_reads(session, appender)
            return {"content_hash": content_hash, "size": len(data),
                    "media_type": meta.media_type if meta else "application/octet-stream",
                    "data_b64": base64.b64encode(data).decode("ascii")}

    # -- completeness (REC-3, REC-5, REC-7) ---------------------------------------------------------
    @rpc
    def case_gaps(self, case_id, scope, evaluate=False):
        """The open gaps of a case file; ``evaluate`` re-evaluates up to the case's current stage now
        (on demand) and emits ``record.gaps_found`` if the open gaps changed."""
        scope = Scope.of(scope)
        with self.db.session() as session:
            case = session.get(Case, case_id)
            if case is None or not scope.covers(case.region_code, case.body_id):
                return None
            if evaluate:
                up_to = "archiving" if case.sealed else max(
                    case.stage or "initiation", case.gaps_scope or "initiation", key=store.STAGE_ORDER.index)
                store.evaluate_gaps(session, case, up_to, trigger="on_demand")
            rules = completeness_rules.default_rules()
            return {"case_id": case.case_id, "action_type": case.action_type,
                    "action_type_known": case.action_type in rules.action_types,
                    "stage": case.stage, "evaluated_stage": case.gaps_scope, "facts": case.facts or {},
                    "open_gaps": case.open_gaps or [],
                    "evaluated_at": store.iso(case.gaps_evaluated_at)}

    # -- sealed cases: refusals and corrections (REC-5) ---------------------------------------------
    @rpc
    def list_refusals(self, scope, case_id=None, open_only=False, limit=100):
        with self.db.session() as session:
            q = Scope.of(scope).where(select(RefusedEvent), RefusedEvent.region_code, RefusedEvent.body_id)
            if case_id:
                q = q.where(RefusedEvent.case_id == case_id)
            if open_only:
                q = q.where(RefusedEvent.corrected_by_sequence.is_(None))
            rows = session.scalars(q.order_by(RefusedEvent.log_sequence.desc())
                                   .limit(max(1, min(int(limit), MAX_PAGE)))).all()
            return {"refusals": [_refusal_view(r) for r in rows]}

    @rpc
    @_integrity_guard
    def add_correction(self, case_id, scope, supervisor, body):
        """Append a supervisor-authorised correction to a case (also a sealed one): it never
        overwrites, and says what it corrects — a refused record it admits, and/or an earlier entry."""
        scope = Scope.of(scope)
        with self.ledger.appending(self.db) as session:
            case = session.get(Case, case_id)
            if case is None or not scope.covers(case.region_code, case.body_id):
                return None
            corrects: dict = {}
            appender = store.Appender(session, self.ledger)
            refused_id = body.get("refused_event_id")
            if body.get("corrects_sequence") is not None:
                target = session.get(LogEntry, int(body["corrects_sequence"]))
                if target is None or target.case_id != case_id:
                    return _error(422, "bad_reference", f"序号 {body['corrects_sequence']} 不是本案的记录")
                corrects["sequence"] = target.sequence
                corrects["leaf_hash"] = target.leaf_hash
            authorisation = {"authorised_by": supervisor, "corrects": corrects}
            if refused_id:
                refused = session.get(RefusedEvent, refused_id)
                if refused is None or refused.case_id != case_id:
                    return _error(422, "bad_reference", f"事件 {refused_id} 不是本案被拒收的记录")
                if refused.corrected_by_sequence is not None:
                    return _error(409, "already_corrected",
                                  f"该拒收记录已由序号 {refused.corrected_by_sequence} 的更正补录")
                if refused.envelope is None:
                    return _error(409, "erased", "该拒收记录的内容已随个人信息删除，无法补录")
                event = parse_event(json.loads(refused.envelope))
                corrects["refused_event_id"] = refused_id
                corrects["refusal_sequence"] = refused.log_sequence
                entry = store.append_event(appender, event, completeness_rules.default_rules(),
                                           kind=EntryKind.CORRECTION, extra_data=authorisation,
                                           extra_personal={"correction_reason": body["reason"]})
                refused.corrected_by_sequence = entry.sequence
            elif body.get("record"):
                record = body["record"]
                entry = appender.append(
                    EntryKind.CORRECTION, case_id=case_id, region_code=case.region_code, body_id=case.body_id,
                    occurred_at=appender.now, stage=record.get("stage"), record_kind=record.get("record_kind"),
                    document_type=record.get("document_type"),
                    content_hashes=[record["content_hash"]] if record.get("content_hash") else [],
                    officers=record.get("officer_ids") or [],
                    data={**authorisation, **{k: record[k] for k in ("recorded_at", "device", "started_at",
                                                                     "ended_at", "covers") if record.get(k)}},
                    personal={"correction_reason": body["reason"], **({"title": record["title"]}
                                                                      if record.get("title") else {})},
                    event_type="record.correction",
                    index={"covers": record["covers"]} if record.get("covers") else {})
            elif corrects:
                entry = appender.append(EntryKind.CORRECTION, case_id=case_id, region_code=case.region_code,
                                        body_id=case.body_id, occurred_at=appender.now, data=authorisation,
                                        personal={"correction_reason": body["reason"]},
                                        event_type="record.correction")
            else:
                return _error(422, "nothing_to_correct", "须说明更正的对象：被拒收的记录、补录的记录或更正的条目序号")
            self._finish_reads(session, appender)
            if case.open_gaps:
                store.evaluate_gaps(session, case, case.gaps_scope or case.stage, trigger="correction")
            personal = store.personal_for(session, [entry.sequence])
            row = session.get(LogEntry, entry.sequence)
            return {"correction": store.entry_view(row, personal.get(entry.sequence))}

    # -- access supervision (REC-6) ---------------------------------------------------------------
    @rpc
    def list_accesses(self, scope, case_id=None, subject=None, limit=100, before=None):
        """Who read which case's records, when, in which role and why (supervisors)."""
        with self.db.session() as session:
            rows = store.access_entries(session, Scope.of(scope), case_id=case_id, subject=subject,
                                        limit=max(1, min(int(limit), MAX_PAGE)), before_sequence=before)
            personal = store.personal_for(session, [r.sequence for r in rows])
            out = []
            for r in rows:
                data = json.loads(r.canonical).get("data", {})
                p = personal.get(r.sequence)
                out.append({"sequence": r.sequence, "case_id": r.case_id, "region_code": r.region_code,
                            "body_id": r.body_id, "at": store.iso(r.occurred_at), "subject": data.get("accessor"),
                            "role": data.get("role"), "view": data.get("view"),
                            "purpose": store.sealed_fields(p).get("purpose"),
                            "purpose_stated": data.get("purpose_stated"), "request_id": data.get("request_id"),
                            "leaf_hash": r.leaf_hash})
            return {"accesses": out}

    # -- retention (REC-8) --------------------------------------------------------------------------
    @rpc
    @_integrity_guard
    def erase_personal(self, case_id, scope, admin, basis):
        """Erase the personal data of an archived case whose retention period has ended: the salts and
        personal parts beside the log are deleted, party links and refused envelopes too; the log keeps
        the commitments, so every leaf hash, head and proof stays valid. Appends an ``erasure`` entry.
        "Now" is the service's clock, never the caller's (SEC-2: a chosen date could end a retention)."""
        moment = clock.now()
        scope = Scope.of(scope)
        with self.ledger.appending(self.db) as session:
            case = session.get(Case, case_id)
            if case is None or not scope.covers(case.region_code, case.body_id):
                return None
            if not case.sealed or case.archived_at is None:
                return _error(409, "not_archived", "案件尚未归档，个人信息保存期限尚未开始计算")
            retention = config.retention_for(case.action_type)
            ends = store.aware(case.archived_at) + retention
            if moment < ends:
                return _error(409, "retention_running", f"个人信息保存期限至 {ends.date().isoformat()} 届满，尚不能删除")
            sequences = list(session.scalars(select(PersonalData.sequence).where(
                PersonalData.case_id == case_id, PersonalData.erased_at.is_(None))))
            appender = store.Appender(session, self.ledger, moment)
            entry = appender.append(EntryKind.ERASURE, case_id=case_id, region_code=case.region_code,
                                    body_id=case.body_id, occurred_at=moment,
                                    data={"erased_sequences": sequences, "basis": basis, "erased_by": admin,
                                          "retention_days": retention.days,
                                          "retention_ended_on": ends.date().isoformat()})
            self._finish_reads(session, appender)
            session.execute(update(PersonalData).where(PersonalData.sequence.in_(sequences)).values(
                salt=None, data=None, erased_at=moment, erasure_sequence=entry.sequence))
            links = session.execute(delete(PartyLink).where(PartyLink.case_id == case_id)).rowcount
            session.execute(update(RefusedEvent).where(RefusedEvent.case_id == case_id).values(envelope=None))
            case.title = None
            case.personal_erased_at = moment
            return {"case_id": case_id, "erased_entries": len(sequences), "party_links_removed": links,
                    "erasure_sequence": entry.sequence, "erasure_leaf_hash": entry.leaf_hash}


def _refusal_view(r: RefusedEvent) -> dict:
    return {"event_id": r.event_id, "event_type": r.event_type, "case_id": r.case_id, "region_code": r.region_code,
            "body_id": r.body_id, "reason": r.reason, "refused_at": store.iso(r.refused_at),
            "log_sequence": r.log_sequence, "corrected_by_sequence": r.corrected_by_sequence,
            "content_kept": r.envelope is not None}


def _parse_time(value):
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))   # checked by the gateway
    return store.to_utc(moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=8))))

