"""review service (重大执法决定法制审核): classification, review tasks, the gate (REV-1…REV-7)."""
from __future__ import annotations

import datetime as dt
import uuid

from nameko.rpc import rpc
from sqlalchemy import select

from services.common.db import Database, emit, utcnow
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from services.common.identifiers import region_covers
from services.common.metrics import Metrics
from services.common.periods import period
from services.common.workdays import default_calendar
from services.review.domain.catalogue import classify, load_catalogue
from services.review.domain.model import proposal_from_payload
from services.review.models import Classification, ReviewTask


def _task_view(task: ReviewTask) -> dict:
    return {"task_id": task.task_id, "case_id": task.case_id, "version": task.version,
            "region_code": task.region_code, "body_id": task.body_id, "status": task.status,
            "submitted_by": task.submitted_by, "reviewer_id": task.reviewer_id, "approver_id": task.approver_id,
            "opinion": task.opinion, "problems": task.problems, "checks": task.checks,
            "due_on": task.due_on.isoformat(), "due_provisional": task.due_provisional,
            "opened_at": task.opened_at.isoformat() if task.opened_at else None,
            "reviewed_at": task.reviewed_at.isoformat() if task.reviewed_at else None}


class ReviewService:
    name = "review"
    db = Database()
    metrics = Metrics()

    @event_handler(DEPARTMENTS, "decision.proposed")
    def on_decision_proposed(self, event):
        """REV-1: classify; a major decision opens a review task due in working days (REV-5)."""
        proposal = proposal_from_payload(event.payload, case_id=event.case_id, body_id=event.body_id,
                                         region_code=event.region_code)
        result = classify(proposal, load_catalogue())
        with self.db.effect_of(event) as session:
            session.merge(Classification(
                case_id=event.case_id, version=proposal.version, region_code=event.region_code,
                body_id=event.body_id, major=result.major, fired_rules=result.fired_rule_ids,
                proposal=event.raw["payload"], classified_at=utcnow()))
            emit(session, "review.classified", {"version": proposal.version, "major": result.major,
                                                "fired_rules": result.fired_rule_ids},
                 region_code=event.region_code, body_id=event.body_id, case_id=event.case_id, caused_by=event)
            if not result.major:
                return
            due = default_calendar().add_working_days(event.payload["proposed_at"], period("review.task").value)
            task = ReviewTask(task_id=str(uuid.uuid4()), case_id=event.case_id, version=proposal.version,
                              region_code=event.region_code, body_id=event.body_id, status="open",
                              submitted_by=event.payload.get("submitted_by"), due_on=due.due,
                              due_provisional=due.provisional, opened_at=utcnow(),
                              checks=[{"rule_id": f.rule_id, "description": f.description, "detail": f.detail}
                                      for f in result.fired])
            session.add(task)
            emit(session, "review.task_opened", {"task_id": task.task_id, "version": task.version,
                                                 "reviewer_id": None, "due_on": due.due,
                                                 "due_provisional": due.provisional},
                 region_code=event.region_code, body_id=event.body_id, case_id=event.case_id, caused_by=event)

    @event_handler(DEPARTMENTS, "decision.made")
    def on_decision_made(self, event):
        """REV-2: a major decision made without an approved review of that version is a violation."""
        version = event.payload["version"]
        with self.db.effect_of(event) as session:
            answer = self._gate(session, event.case_id, version)
            if answer["allowed"]:
                return
            emit(session, "review.bypassed", {"version": version, "violation": answer["violation"],
                                              "description": "；".join(answer["reasons"])},
                 region_code=event.region_code, body_id=event.body_id, case_id=event.case_id, caused_by=event)

    @staticmethod
    def _gate(session, case_id: str, version: int) -> dict:
        classification = session.get(Classification, (case_id, version))
        if classification is None or not classification.major:
            # unknown versions are treated as not reviewed only when some version was major
            majors = session.scalars(select(Classification).where(Classification.case_id == case_id,
                                                                  Classification.major.is_(True))).first()
            if classification is None and majors is not None:
                return {"allowed": False, "violation": "not_reviewed",
                        "reasons": [f"第{version}版拟决定未提交法制审核（此前版本属重大执法决定）"]}
            return {"allowed": True, "violation": None, "reasons": []}
        task = session.scalars(select(ReviewTask).where(ReviewTask.case_id == case_id,
                                                        ReviewTask.version == version)).first()
        if task is None or task.status == "open":
            return {"allowed": False, "violation": "not_reviewed",
                    "reasons": [f"重大执法决定第{version}版尚未经法制审核，不得作出决定"]}
        if task.status != "approved":
            return {"allowed": False, "violation": "not_approved",
                    "reasons": [f"重大执法决定第{version}版法制审核未通过，不得作出决定"] + list(task.problems or [])}
        return {"allowed": True, "violation": None, "reasons": []}

    @rpc
    def may_decide(self, case_id, version, scope_region):
        """REV-2 pre-decision check for departmental systems: yes, or no with reasons."""
        with self.db.session() as session:
            known = session.scalars(select(Classification).where(Classification.case_id == case_id)).first()
            if known is None or not region_covers(scope_region, known.region_code):
                return None
            answer = self._gate(session, case_id, int(version))
            return {"case_id": case_id, "version": int(version), **answer}

    @rpc
    def list_tasks(self, scope_region, status=None):
        with self.db.session() as session:
            query = select(ReviewTask).order_by(ReviewTask.due_on)
            if status:
                query = query.where(ReviewTask.status == status)
            return [_task_view(t) for t in session.scalars(query) if region_covers(scope_region, t.region_code)]

    @rpc
    def submit_opinion(self, task_id, reviewer_id, scope_region, opinion, problems, approver_id=None):
        """REV-4 written opinion; REV-6 who reviewed and who approved is kept."""
        with self.db.session() as session:
            task = session.get(ReviewTask, task_id)
            if task is None or not region_covers(scope_region, task.region_code):
                return {"error": "not_found", "status": 404, "message": "审核任务不存在或不在您的管辖范围内"}
            if task.status != "open":
                return {"error": "conflict", "status": 409, "message": f"该任务已{task.status}，不能重复出具意见"}
            task.status = "approved" if opinion == "approve" else "returned"
            task.opinion, task.problems = opinion, list(problems or [])
            task.reviewer_id, task.approver_id, task.reviewed_at = reviewer_id, approver_id, utcnow()
            emit(session, "review.approved" if opinion == "approve" else "review.returned",
                 {"task_id": task.task_id, "version": task.version, "reviewer_id": reviewer_id,
                  "approver_id": approver_id, "opinion": opinion, "problems": task.problems},
                 region_code=task.region_code, body_id=task.body_id, case_id=task.case_id)
            return _task_view(task)
