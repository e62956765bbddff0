"""complaints service (投诉举报): numbered register, acknowledgement deadlines, status by query code."""
from __future__ import annotations

import datetime as dt

from nameko.rpc import rpc
from sqlalchemy import select

from services.common.db import Database, emit
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from services.common.identifiers import is_region_code, region_covers
from services.common.metrics import Metrics
from services.common.periods import period
from services.common.workdays import default_calendar
from services.complaints import store
from services.complaints.domain.register import issue_query_code, verify_query_code
from services.complaints.models import Complaint

STATUS_ZH = {"registered": "已登记，待受理", "accepted": "已受理", "not_accepted": "不予受理",
             "in_progress": "办理中", "concluded": "已办结", "rated": "已评价"}


class ComplaintsService:
    name = "complaints"
    db = Database()
    metrics = Metrics()

    def _register(self, session, *, region_code, channel, complainant, subject_body_id, officer_ids, request,
                  facts, received_at, against_private_enterprise, source_event_id=None, caused_by=None):
        number, seq = store.allocate_number(session, region_code, store.local_year(received_at))
        code, code_hash = issue_query_code()
        due = default_calendar().add_working_days(received_at, period("complaint.acknowledge").value)
        complaint = Complaint(
            number=number, region_code=region_code, year=store.local_year(received_at), seq=seq, channel=channel,
            source_event_id=source_event_id, complainant_name=complainant.get("name"),
            complainant_phone=complainant.get("phone"), complainant_id_number=complainant.get("id_number"),
            subject_body_id=subject_body_id, subject_officer_ids=list(officer_ids or []), request=request,
            facts=facts, received_at=received_at, acknowledge_due=due.due, due_provisional=due.provisional,
            status="registered", query_code_hash=code_hash, against_private_enterprise=against_private_enterprise,
            history=[{"at": received_at.isoformat(), "action": "registered", "note": "已编号登记"}])
        session.add(complaint)
        # CMP confidentiality: the event carries no complainant identity
        emit(session, "complaint.registered", {
            "number": number, "channel": channel, "subject_body_id": subject_body_id,
            "acknowledge_due": due.due, "due_provisional": due.provisional,
            "against_private_enterprise": against_private_enterprise},
            region_code=region_code, body_id=subject_body_id, caused_by=caused_by)
        return complaint, code

    @event_handler(DEPARTMENTS, "complaint.submitted")
    def on_complaint_submitted(self, event):
        """CMP-1, CMP-2: complaints from the 12345 hotline and other channel systems are registered."""
        p = event.payload
        with self.db.effect_of(event) as session:
            self._register(session, region_code=event.region_code, channel=p["channel"],
                           complainant=p["complainant"], subject_body_id=p["subject"]["body_id"],
                           officer_ids=p["subject"]["officer_ids"], request=p["request"], facts=p["facts"],
                           received_at=p["received_at"], against_private_enterprise=p["against_private_enterprise"],
                           source_event_id=event.event_id, caused_by=event)

    @rpc
    def submit_portal_complaint(self, form):
        """CMP-1 portal intake: registers at once and answers with the number and the query code."""
        if not is_region_code(form.get("region_code", "")):
            return {"errors": {"region_code": ["请选择有效的地区"]}}
        received_at = dt.datetime.now(dt.timezone.utc)
        with self.db.session() as session:
            complaint, code = self._register(
                session, region_code=form["region_code"], channel="portal",
                complainant={"name": form.get("name"), "phone": form.get("phone")},
                subject_body_id=form["body_id"], officer_ids=form.get("officer_ids"), request=form["request"],
                facts=form["facts"], received_at=received_at,
                against_private_enterprise=bool(form.get("against_private_enterprise")))
            return {"number": complaint.number, "query_code": code,
                    "acknowledge_due": complaint.acknowledge_due.isoformat(),
                    "message": f"您的投诉已登记，编号 {complaint.number}。请妥善保管查询码，"
                               f"我们将于 {complaint.acknowledge_due.isoformat()} 前告知是否受理。"}

    @rpc
    def public_status(self, number, code):
        """CMP-4: status by number + query code, no login; nothing but the status is shown."""
        with self.db.session() as session:
            complaint = session.get(Complaint, number)
            if complaint is None or not verify_query_code(code or "", complaint.query_code_hash):
                return None
            return {"number": complaint.number, "status": complaint.status,
                    "status_text": STATUS_ZH.get(complaint.status, complaint.status),
                    "received_on": complaint.received_at.date().isoformat(),
                    "acknowledge_due": complaint.acknowledge_due.isoformat(),
                    "progress": [{"at": h["at"], "note": h["note"]} for h in complaint.history if h.get("note")]}

    @rpc
    def list_register(self, scope_region):
        with self.db.session() as session:
            rows = session.scalars(select(Complaint).order_by(Complaint.region_code, Complaint.year, Complaint.seq))
            return [{"number": c.number, "channel": c.channel, "region_code": c.region_code,
                     "subject_body_id": c.subject_body_id, "status": c.status,
                     "acknowledge_due": c.acknowledge_due.isoformat(), "request": c.request,
                     "complainant_name": c.complainant_name, "complainant_phone": c.complainant_phone}
                    for c in rows if region_covers(scope_region, c.region_code)]
