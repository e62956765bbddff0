"""records service (全过程记录): the case timeline and the tamper-evident log (REC-1…REC-8)."""
from __future__ import annotations

from nameko.rpc import rpc

from services.common.db import Database, emit
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS, InvalidEvent
from services.common.identifiers import region_covers
from services.common.metrics import Metrics
from services.records import store
from services.records.models import Case


class RecordsService:
    name = "records"
    db = Database()
    metrics = Metrics()

    def _record(self, event):
        with self.db.effect_of(event) as session:
            case = store.open_case(session, event) if event.event_type == "case.opened" \
                else store.ensure_case(session, event)
            if case.sealed:
                raise InvalidEvent(f"case {case.case_id} is archived and sealed; records are refused (REC-5)")
            entry = store.append_event(session, event)
            if entry.stage:
                case.stage = entry.stage
            if event.event_type == "case.archived":
                case.sealed, case.archived_at = True, event.payload["archived_at"]
            emit(session, "record.appended", {"sequence": entry.sequence, "entry_kind": entry.entry_kind,
                                              "leaf_hash": entry.leaf_hash, "tree_size": entry.sequence + 1},
                 region_code=event.region_code, body_id=event.body_id, case_id=event.case_id, caused_by=event)

    @event_handler(DEPARTMENTS, "case.opened")
    def on_case_opened(self, event):
        self._record(event)

    @event_handler(DEPARTMENTS, "evidence.recorded")
    def on_evidence_recorded(self, event):
        self._record(event)

    @event_handler(DEPARTMENTS, "hearing.held")
    def on_hearing_held(self, event):
        self._record(event)

    @event_handler(DEPARTMENTS, "decision.proposed")
    def on_decision_proposed(self, event):
        self._record(event)

    @event_handler(DEPARTMENTS, "decision.made")
    def on_decision_made(self, event):
        self._record(event)

    @event_handler(DEPARTMENTS, "decision.served")
    def on_decision_served(self, event):
        self._record(event)

    @event_handler(DEPARTMENTS, "decision.executed")
    def on_decision_executed(self, event):
        self._record(event)

    @event_handler(DEPARTMENTS, "decision.revoked")
    def on_decision_revoked(self, event):
        self._record(event)

    @event_handler(DEPARTMENTS, "case.archived")
    def on_case_archived(self, event):
        self._record(event)

    @event_handler("review", "review.approved")
    def on_review_approved(self, event):
        self._record(event)

    @event_handler("review", "review.returned")
    def on_review_returned(self, event):
        self._record(event)

    @rpc
    def case_timeline(self, case_id, scope_region):
        """A case's whole timeline, if the caller's region covers the case (PLAT-1)."""
        with self.db.session() as session:
            case = session.get(Case, case_id)
            if case is None or not region_covers(scope_region, case.region_code):
                return None
            return {
                "case_id": case.case_id, "region_code": case.region_code, "body_id": case.body_id,
                "action_type": case.action_type, "title": case.title, "stage": case.stage, "sealed": case.sealed,
                "entries": [{"sequence": e.sequence, "event_type": e.event_type, "stage": e.stage,
                             "record_kind": e.record_kind, "occurred_at": e.occurred_at.isoformat(),
                             "leaf_hash": e.leaf_hash, "details": e.details}
                            for e in store.timeline(session, case_id)],
            }
