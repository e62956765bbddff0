"""disclosure service (行政执法公示): publish decisions on time, redacted, with history (DISC-1…DISC-9)."""
from __future__ import annotations

import datetime as dt
import uuid

from nameko.rpc import rpc
from sqlalchemy import or_, select

from services.common.db import Database, emit, utcnow
from services.common.entrypoints import event_handler
from services.common.events import ACTION_TYPE_NAMES_ZH, DEPARTMENTS
from services.common.identifiers import region_covers, region_prefix
from services.common.metrics import Metrics
from services.common.workdays import default_calendar
from services.disclosure import publishing
from services.disclosure.domain.deadlines import publication_deadline
from services.disclosure.models import Publication

CHINA = dt.timezone(dt.timedelta(hours=8))
PAGE_SIZE = 20


def publication_view(p: Publication, with_history: bool = False) -> dict:
    view = {"publication_id": p.publication_id, "decision_no": p.decision_no, "region_code": p.region_code,
            "body_id": p.body_id, "action_type": p.action_type,
            "action_type_zh": ACTION_TYPE_NAMES_ZH.get(p.action_type, p.action_type), "category": p.category,
            "parties": p.parties_public, "facts": p.facts_public, "conclusion": p.conclusion_public,
            "legal_basis": p.legal_basis, "fine_amount": p.fine_amount, "decided_on": p.decided_on.isoformat(),
            "published_on": p.published_on.isoformat() if p.published_on else None, "status": p.status,
            "due_on": p.due_on.isoformat(), "due_provisional": p.due_provisional}
    if with_history:
        view["history"] = p.history
    return view


class DisclosureService:
    name = "disclosure"
    db = Database()
    metrics = Metrics()

    @event_handler(DEPARTMENTS, "decision.made")
    def on_decision_made(self, event):
        """DISC-3: deadline in working days; DISC-4: publish only the redacted entry."""
        payload = event.payload
        decided_on = payload["decided_at"].astimezone(CHINA).date()
        deadline = publication_deadline(payload["action_type"], decided_on, default_calendar(),
                                        override_days=payload.get("publication_period_override"))
        entry = publishing.public_entry(event)
        today = dt.datetime.now(CHINA).date()
        with self.db.effect_of(event) as session:
            publication = Publication(
                publication_id=str(uuid.uuid4()), case_id=event.case_id, decision_no=payload["decision_no"],
                region_code=event.region_code, body_id=event.body_id, action_type=payload["action_type"],
                category=payload["category"], decided_on=decided_on, due_on=deadline.due,
                due_provisional=deadline.provisional, status="pending", parties_public=entry.parties,
                facts_public=entry.facts, conclusion_public=entry.conclusion, legal_basis=payload["legal_basis"],
                fine_amount=str(payload["fine_amount"]) if payload.get("fine_amount") is not None else None,
                search_text=entry.search_text, history=[], updated_at=utcnow())
            session.add(publication)
            if entry.withheld_reason:
                publication.status = "withheld"
                publication.history = [{"at": utcnow().isoformat(), "action": "withheld",
                                        "reason": entry.withheld_reason}]
                return
            publication.status, publication.published_on = "published", today
            publication.history = [{"at": utcnow().isoformat(), "action": "published",
                                    "reason": "依法公开" + ("（摘要）" if entry.summary_only else "")}]
            emit(session, "disclosure.published", {
                "publication_id": publication.publication_id, "decision_no": publication.decision_no,
                "action_type": publication.action_type, "due_on": deadline.due,
                "due_provisional": deadline.provisional, "published_on": today, "on_time": today <= deadline.due,
                "redactions": entry.redactions},
                region_code=event.region_code, body_id=event.body_id, case_id=event.case_id, caused_by=event)

    @event_handler(DEPARTMENTS, "decision.revoked")
    def on_decision_revoked(self, event):
        """DISC-6: a revoked / illegal / re-made decision is taken down, with a visible history."""
        reasons = {"revoked": "决定已被撤销", "confirmed_illegal": "决定被确认违法", "remade": "决定被责令重新作出"}
        with self.db.effect_of(event) as session:
            for publication in session.scalars(select(Publication).where(Publication.case_id == event.case_id,
                                                                         Publication.status == "published")):
                publication.status = "withdrawn"
                publication.history = [*publication.history, {"at": utcnow().isoformat(), "action": "withdrawn",
                                                              "reason": reasons[event.payload["reason"]]}]
                publication.updated_at = utcnow()

    @rpc
    def search(self, q=None, region_code=None, body_id=None, action_type=None, page=1):
        """DISC-9 online query of published decisions (public)."""
        with self.db.session() as session:
            query = select(Publication).where(Publication.status == "published")
            if q:
                for word in q.split()[:5]:
                    query = query.where(Publication.search_text.contains(word))
            if region_code:
                query = query.where(Publication.region_code.startswith(region_prefix(region_code)))
            if body_id:
                query = query.where(Publication.body_id == body_id)
            if action_type:
                query = query.where(Publication.action_type == action_type)
            query = query.order_by(Publication.decided_on.desc(), Publication.publication_id)
            rows = session.scalars(query.offset((max(1, int(page)) - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
            return {"page": page, "results": [publication_view(p) for p in rows]}

    @rpc
    def get_publication(self, publication_id):
        with self.db.session() as session:
            p = session.get(Publication, publication_id)
            if p is None or p.status not in ("published", "withdrawn"):
                return None
            return publication_view(p, with_history=True)

    @rpc
    def list_pending(self, scope_region):
        """Publications due or overdue (DISC-3) in the caller's region."""
        with self.db.session() as session:
            rows = session.scalars(select(Publication).where(
                or_(Publication.status == "pending", Publication.published_on > Publication.due_on)))
            return [publication_view(p) for p in rows if region_covers(scope_region, p.region_code)]
