"""evaluation service (评议考核): facts from every service's events, indicators and grades (EVAL-*)."""
from __future__ import annotations

import datetime as dt

from nameko.rpc import rpc
from sqlalchemy import func, select

from services.common.db import Database
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from services.common.identifiers import region_prefix
from services.common.metrics import Metrics
from services.evaluation.models import Fact

CHINA = dt.timezone(dt.timedelta(hours=8))


class EvaluationService:
    name = "evaluation"
    db = Database(relay_outbox=False)
    metrics = Metrics()

    def _facts(self, event, *kinds_and_officers, on: dt.date | None = None):
        """Record facts (kind, officer_id|None, value) from one event, idempotently."""
        day = on or event.occurred_at.astimezone(CHINA).date()
        with self.db.effect_of(event) as session:
            for kind, officer_id, value in kinds_and_officers:
                session.add(Fact(event_id=event.event_id, kind=kind, region_code=event.region_code,
                                 body_id=event.body_id, officer_id=officer_id, year=day.year, occurred_on=day,
                                 value=value))

    @event_handler(DEPARTMENTS, "decision.made")
    def on_decision_made(self, event):
        day = event.payload["decided_at"].astimezone(CHINA).date()
        officers = event.payload.get("officer_ids") or []
        self._facts(event, ("enforcement_action", None, 1.0),
                    *[("officer_action", officer, 1.0) for officer in officers], on=day)

    @event_handler(DEPARTMENTS, "decision.revoked")
    def on_decision_revoked(self, event):
        if event.payload["by"] in ("reconsideration", "litigation"):
            self._facts(event, ("decision_corrected", None, 1.0))  # 纠错率, EVAL-7
        else:
            self._facts(event, ("decision_withdrawn", None, 1.0))

    @event_handler("disclosure", "disclosure.published")
    def on_published(self, event):
        self._facts(event, ("disclosure_on_time" if event.payload["on_time"] else "disclosure_late", None, 1.0))

    @event_handler("review", "review.classified")
    def on_classified(self, event):
        if event.payload["major"]:
            self._facts(event, ("review_required", None, 1.0))

    @event_handler("review", "review.approved")
    def on_review_approved(self, event):
        self._facts(event, ("review_approved", None, 1.0))

    @event_handler("review", "review.bypassed")
    def on_review_bypassed(self, event):
        self._facts(event, ("review_bypassed", None, 1.0))

    @event_handler("complaints", "complaint.registered")
    def on_complaint_registered(self, event):
        self._facts(event, ("complaint_received", None, 1.0))

    @rpc
    def summary(self, region_code, year=None):
        """Fact counts per body and kind for a region and everything under it (EVAL-2)."""
        year = year or dt.datetime.now(CHINA).year
        with self.db.session() as session:
            rows = session.execute(
                select(Fact.body_id, Fact.kind, func.sum(Fact.value), func.count())
                .where(Fact.region_code.startswith(region_prefix(region_code)), Fact.year == year)
                .group_by(Fact.body_id, Fact.kind).order_by(Fact.body_id, Fact.kind)).all()
        bodies: dict = {}
        for body_id, kind, total, _ in rows:
            bodies.setdefault(body_id, {})[kind] = total
        return {"region_code": region_code, "year": year, "bodies": bodies}
