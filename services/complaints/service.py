"""complaints service (投诉举报): intake from every channel, the numbered register, acceptance,
routing, transfer, escalation, feedback, confidentiality and back-tracking (CMP-1…CMP-9, COORD-1, EVAL-7);
across tiers (PLAT-1, COORD-4), the province's supervision register of escalated city complaints and the
transfer orders it sends down (上级交办), applied by the city.

Entry points are thin: the rules live in ``services/complaints/domain`` (pure), persistence in
``store.py``. Every state change runs in one transaction with the events it emits (outbox). No
event carries the complainant's identity; the body complained about sees only ``body_view``.

RPC methods answer plain dicts; a refusal is ``{"error": {"status", "code", "message", "fields"}}``
(the gateway turns it into the HTTP error), so expected refusals never travel as remote exceptions.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import logging

from nameko.rpc import rpc
from nameko.timer import Timer
from sqlalchemy import func, or_, select

from services.common import clock, federation, settings
from services.common.db import Database, emit
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS, InvalidEvent
from services.common.identifiers import is_region_code
from services.common.metrics import Metrics
from services.common.scope import Scope
from services.common.attachments import intake_rules
from services.complaints import intake, store
from services.complaints import metrics as m
from services.complaints.domain import (CHINA_TZ, BodyKind, BodyRef, Channel, Complainant, ComplaintFlags,
                                        ComplaintRecord, ConfigError, DuplicateCandidate, EventKind, Handler,
                                        ReasonRequired, RouteTarget, RoutingError, Status, Subject,
                                        TransitionError, accountability_clues, assess, body_view,
                                        enterprise_report, find_duplicate, handler_view, issue_query_code,
                                        load_channels, load_duplicate_rules, load_routing_rules, query_status,
                                        route, warning_level)
from services.complaints.domain import Complaint as DomainComplaint
from services.complaints.domain import supervision
from services.complaints.domain.lifecycle import OPEN_STATUSES
from services.complaints.domain.views import redact_identity
from services.complaints.models import Attachment, CityConclusion, Complaint, KnownBody, SupervisedComplaint

log = logging.getLogger(__name__)

STAFF_CHANNELS = ("letter", "email", "visit", "hotline_12345")
SWEEP_LEASE = "complaints.deadline_sweep"


class ConfiguredTimer(Timer):
    """A timer whose interval is read from a setting when the container starts (tests shorten it)."""

    def __init__(self, setting: str, **kwargs):
        self.setting = setting
        super().__init__(interval=0, **kwargs)      # the setting is read in setup

    def setup(self):
        self.interval = settings.get(self.setting)
        super().setup()


timer = ConfiguredTimer.decorator


class Refused(Exception):
    """An expected refusal of an RPC: becomes ``{"error": {...}}``."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}

    def answer(self) -> dict:
        return {"error": {"status": self.status, "code": self.code, "message": self.message, "fields": self.fields}}


def refusing(fn):
    """Turn :class:`Refused` and domain refusals into the ``{"error": …}`` answer."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Refused as exc:
            return exc.answer()
        except ReasonRequired as exc:
            return Refused(422, "reason_required", str(exc), {"reason": [str(exc)]}).answer()
        except TransitionError as exc:
            return Refused(409, "invalid_transition", exc.message).answer()
        except RoutingError as exc:
            return Refused(422, "routing", exc.message).answer()

    return wrapper


def now_utc() -> dt.datetime:
    return clock.now()


def today_china() -> dt.date:
    """Today in China from the suite's clock (services/common/clock.py), never a caller's date."""
    return clock.now().astimezone(CHINA_TZ).date()


def _region_name(region_code: str) -> str:
    try:
        entry = load_channels().regions.get(region_code[:6]) or {}
    except ConfigError:
        entry = {}
    return entry.get("name") or f"地区{region_code}"


def legal_office_id(region_code: str) -> str:
    """Body id of a region's legal office (司法行政部门): configured in routing.yaml, else ``<region>-SFJ``."""
    return load_routing_rules().legal_offices.get(region_code) or f"{region_code}-SFJ"


def handler_for(route_, filing_region: str, session=None) -> Handler:
    """The unit that handles a complaint on ``route_`` (never the body complained about: domain routing);
    without a route, the legal office of the filing region's county (or higher) registers and sorts it."""
    if route_ is None:
        region = filing_region[:6]
        return Handler(legal_office_id(region), region, f"{_region_name(region)}司法行政部门（投诉举报受理）")
    region = route_.target_region_code
    if route_.target_kind is RouteTarget.GOVERNMENT_LEGAL_OFFICE:
        return Handler(route_.target_body_id or legal_office_id(region), region,
                       f"{_region_name(region)}司法行政部门")
    if route_.target_kind is RouteTarget.COMPETENT_DEPARTMENT:
        known = session.get(KnownBody, route_.target_body_id) if session is not None else None
        return Handler(route_.target_body_id, region, known.name if known else f"主管部门 {route_.target_body_id}")
    known = session.get(KnownBody, route_.target_body_id) if session is not None else None
    return Handler(f"{route_.target_body_id}-FZJG", region,
                   f"{known.name if known else route_.target_body_id}法制机构")


def _err(fields: dict) -> Refused:
    return Refused(422, "invalid", "请求内容有误", fields)


class ComplaintsService:
    name = "complaints"
    db = Database()
    metrics = Metrics()

    # =========================================================================================
    # intake (CMP-1, CMP-2)
    # =========================================================================================
    def _subject(self, session, raw: dict, filing_region: str) -> tuple[Subject, list[str]]:
        """The subject from what the channel sent, completed from the body directory."""
        body_id = (raw.get("body_id") or "").strip()
        known = session.get(KnownBody, body_id) if body_id else None
        warnings = []
        if body_id and known is None:
            warnings.append(f"被投诉主体“{body_id}”未在执法主体库中登记，请核实主体类别和所在地区")
        kind = raw.get("body_kind") or (known.kind if known else "department")
        region = raw.get("body_region_code") or (known.region_code if known else filing_region)
        competent = raw.get("competent_department_id")
        if not competent and known is not None:
            competent = known.entrusting_body_id if known.kind == "entrusted_org" else (
                known.superior_body_id if known.kind == "authorised_org" else None)
        competent_region = raw.get("competent_department_region_code")
        if competent and not competent_region:
            parent = session.get(KnownBody, competent)
            competent_region = parent.region_code if parent else None
        others = []
        for b in raw.get("other_bodies") or ():
            if isinstance(b, str):  # a body id from a form: complete it from the directory
                other = session.get(KnownBody, b)
                others.append(BodyRef(b, other.region_code if other else region,
                                      BodyKind(other.kind if other else "department")))
            else:
                others.append(BodyRef(b["body_id"], b["region_code"], BodyKind(b.get("kind") or "department")))
        try:
            subject = Subject(body_id=body_id, body_kind=BodyKind(kind), body_region_code=region,
                              competent_department_id=competent, competent_department_region_code=competent_region,
                              officer_ids=tuple(raw.get("officer_ids") or ()), other_bodies=tuple(others),
                              about_officer_conduct=bool(raw.get("about_officer_conduct")))
        except ValueError as exc:
            raise _err({"body_region_code": [f"被投诉主体的地区代码无效：{exc}"]}) from None
        return subject, warnings

    def _register(self, session, complaint: DomainComplaint, *, actor: str, subject_warnings=(),
                  source_event_id=None, external_ref=None, files=(), caused_by=None):
        """Register one complaint in the caller's transaction; returns (row, query code, record)."""
        now = now_utc()
        code, code_hash = issue_query_code()  # scrypt before the counter row is locked: keep the lock short
        assessment = assess(complaint)
        handler = handler_for(assessment.suggested_route, complaint.region_code, session)
        duplicate = self._find_duplicate(session, complaint)
        year = store.local_year(now)
        number, seq = store.allocate_number(session, complaint.region_code, year)
        record = ComplaintRecord.new(complaint, number, code_hash, handler, at=now, actor=actor)
        if duplicate is not None:
            record = record.link_duplicate(duplicate.register_number, duplicate.similarity, at=now, actor="system")
        row = store.new_row(record, seq=seq, year=year, source_event_id=source_event_id, external_ref=external_ref,
                            assessment=store.assessment_to_dict(assessment, subject_warnings), now=now)
        session.add(row)
        session.flush()
        for filename, content_type, digest, size in files:
            session.add(Attachment(number=number, sm3=digest, filename=filename[:200], content_type=content_type,
                                   size=size))
        subject = complaint.subject
        emit(session, "complaint.registered", {
            "number": number, "channel": complaint.channel.value, "subject_body_id": subject.body_id,
            "acknowledge_due": record.acknowledge.due, "due_provisional": record.acknowledge.provisional,
            "against_private_enterprise": complaint.flags.against_private_enterprise,
            "filed_region_code": complaint.region_code, "handler_unit_id": handler.unit_id,
            "handler_region_code": handler.region_code, "duplicate_of": record.linked_to},
            region_code=subject.body_region_code, body_id=subject.body_id, case_id=complaint.case_id,
            caused_by=caused_by)
        return row, code, record

    def _find_duplicate(self, session, complaint: DomainComplaint):
        rules = load_duplicate_rules()
        since = store.utc(complaint.received_at if isinstance(complaint.received_at, dt.datetime)
                          else dt.datetime.combine(complaint.received_at, dt.time(), CHINA_TZ))
        since -= dt.timedelta(days=rules.window_days + 1)
        rows = session.scalars(select(Complaint).where(
            Complaint.subject_body_id == complaint.subject.body_id, Complaint.received_at >= since)
            .order_by(Complaint.received_at.desc()).limit(200)).all()
        candidates = [DuplicateCandidate(r.number, store.complaint_of(r)) for r in rows if r.linked_to is None]
        return find_duplicate(complaint, candidates, rules)

    def _store_files(self, attachments) -> list[tuple[str, str, str, int]]:
        """Decode, check and store the attachments; refused with Chinese field errors."""
        decoded = []
        for item in attachments or ():
            try:
                data = base64.b64decode(item.get("content_base64") or "", validate=True)
            except (binascii.Error, ValueError):
                raise _err({"attachments": [f"{item.get('filename') or '附件'}：内容无法解码"]}) from None
            decoded.append((item.get("filename") or "附件", item.get("content_type") or "", data))
        errors = intake.check_attachments(decoded)
        if errors:
            raise _err({"attachments": errors})
        return [(name, ctype, intake.store_attachment(data), len(data)) for name, ctype, data in decoded]

    def _after_register(self, complaint: DomainComplaint, record: ComplaintRecord):
        labels = (complaint.region_code[:6], complaint.channel.value)
        m.RECEIVED.labels(*labels).inc()
        if record.linked_to:
            m.DUPLICATES.labels(*labels).inc()

    @event_handler(DEPARTMENTS, "complaint.submitted")
    def on_complaint_submitted(self, event):
        """CMP-1, CMP-2: complaints from the 12345 hotline and other channel systems are registered."""
        p = event.payload
        with self.db.effect_of(event) as session:
            try:
                subject, warnings = self._subject(session, p["subject"], event.region_code)
            except Refused as exc:
                raise InvalidEvent(exc.message, exc.fields) from None
            c = p["complainant"]
            complaint = DomainComplaint(
                channel=Channel(p["channel"]), region_code=event.region_code,
                complainant=Complainant(c.get("name"), c.get("phone"), c.get("id_number"), c.get("address")),
                subject=subject, request=p["request"], facts=p["facts"], received_at=p["received_at"],
                case_id=p.get("case_id") or event.case_id,
                flags=ComplaintFlags(bool(p.get("under_reconsideration_or_litigation")),
                                     bool(p["against_private_enterprise"])),
                categories=tuple(p.get("categories") or ()))
            _, _, record = self._register(session, complaint, actor=f"channel:{event.source_system}",
                                          subject_warnings=warnings, source_event_id=event.event_id,
                                          external_ref=p.get("external_ref"), caused_by=event)
        self._after_register(complaint, record)

    def _form_complaint(self, session, form: dict, channel: str, received_at: dt.datetime):
        region = form.get("region_code") or ""
        if not is_region_code(region):
            raise _err({"region_code": ["请选择有效的地区"]})
        subject, warnings = self._subject(session, {
            "body_id": form.get("body_id"), "body_kind": form.get("body_kind"),
            "body_region_code": form.get("body_region_code"), "officer_ids": form.get("officer_ids"),
            "about_officer_conduct": form.get("about_officer_conduct"),
            "other_bodies": form.get("other_bodies")}, region)
        complaint = DomainComplaint(
            channel=Channel(channel), region_code=region,
            complainant=Complainant(form.get("name") or None, form.get("phone") or None,
                                    form.get("id_number") or None, form.get("address") or None),
            subject=subject, request=form.get("request") or "", facts=form.get("facts") or "",
            received_at=received_at, case_id=form.get("case_id") or None,
            flags=ComplaintFlags(bool(form.get("under_reconsideration_or_litigation")),
                                 bool(form.get("against_private_enterprise"))),
            attachments=len(form.get("attachments") or ()), categories=tuple(form.get("categories") or ()))
        return complaint, warnings

    def _receipt(self, row, code, record) -> dict:
        due = record.acknowledge.due.isoformat()
        return {"number": row.number, "query_code": code, "acknowledge_due": due,
                "acknowledge_provisional": record.acknowledge.provisional,
                "message": f"您的投诉举报已登记，编号 {row.number}。请妥善保管查询码，"
                           f"我们将于 {due} 前告知是否受理。"}

    @rpc
    @refusing
    def submit_portal_complaint(self, form):
        """CMP-1 portal intake: registers at once and answers (after commit) with number and query code."""
        files = self._store_files(form.get("attachments"))
        with self.db.session() as session:
            complaint, warnings = self._form_complaint(session, form, "portal", now_utc())
            row, code, record = self._register(session, complaint, actor="complainant", subject_warnings=warnings,
                                               files=files)
            answer = self._receipt(row, code, record)
        self._after_register(complaint, record)
        return answer

    @rpc
    @refusing
    def register_by_staff(self, scope, actor, form):
        """CMP-1: a letter, e-mail, visit or call registered by a complaint handler of the region."""
        channel = form.get("channel")
        if channel not in STAFF_CHANNELS:
            raise _err({"channel": ["请选择来信、电子邮件、来访或12345热线"]})
        scope = Scope.of(scope)
        if scope.empty or not scope.covers_region(form.get("region_code") or ""):
            raise Refused(403, "out_of_scope", f"无权为行政区划 {form.get('region_code')} 登记投诉举报")
        received_at = form.get("received_at") or now_utc()
        if isinstance(received_at, str):
            received_at = dt.datetime.fromisoformat(received_at)
        if received_at.tzinfo is None or received_at > now_utc() + dt.timedelta(minutes=5):
            raise _err({"received_at": ["收到时间应为带时区的、不晚于当前的时间"]})
        files = self._store_files(form.get("attachments"))
        with self.db.session() as session:
            complaint, warnings = self._form_complaint(session, form, channel, received_at)
            row, code, record = self._register(session, complaint, actor=actor, subject_warnings=warnings,
                                               external_ref=form.get("external_ref"), files=files)
            answer = self._receipt(row, code, record)
        self._after_register(complaint, record)
        return answer

    @event_handler(DEPARTMENTS, "body.registered")
    def on_body_registered(self, event):
        """The body directory used to complete subjects and route complaints (CMP-8)."""
        p = event.payload
        with self.db.effect_of(event) as session:
            body = session.get(KnownBody, p["body_id"]) or KnownBody(body_id=p["body_id"])
            body.name, body.kind, body.region_code = p["name"], p["kind"], p["region_code"]
            body.superior_body_id, body.entrusting_body_id = p.get("superior_body_id"), p.get("entrusting_body_id")
            body.updated_at = now_utc()
            session.add(body)

    # =========================================================================================
    # public: status, rating, channels, bodies (CMP-1, CMP-4, EVAL-7)
    # =========================================================================================
    def _attachment_count(self, session, number) -> int:
        return session.scalar(select(func.count()).select_from(Attachment).where(Attachment.number == number)) or 0

    @rpc
    def public_status(self, number, code):
        """CMP-4: status by number + query code, no login; nothing but the status (domain public_status)."""
        from services.complaints.domain.register import InvalidRegisterNumber, parse_register_number

        try:
            wanted = str(parse_register_number(number or ""))
        except InvalidRegisterNumber:
            wanted = None
        with self.db.session() as session:
            row = session.get(Complaint, wanted) if wanted else None
            record = store.record_of(row) if row is not None else None
        status = query_status(record, number or "", code or "") if record is not None else None
        if status is None:
            return None
        return {**status, "number": status["register_number"], "status_text": status["status_label"],
                "can_rate": status["status"] == Status.CONCLUDED.value}

    @rpc
    @refusing
    def rate(self, number, code, rating, comment=None):
        """满意度评价 by the complainant at closure (EVAL-7); needs number + query code."""
        try:
            rating = int(rating)
        except (TypeError, ValueError):
            raise _err({"rating": ["请选择1至5分的满意度"]}) from None
        with self.db.session() as session:
            row = session.get(Complaint, number, with_for_update=True)
            record = store.record_of(row) if row is not None else None
            if record is None or query_status(record, number, code or "") is None:
                raise Refused(404, "not_found", "编号或查询码不正确")
            new = record.rate(rating, at=now_utc(), comment=(comment or None))
            store.write_record(row, new, now_utc())
            subject = record.complaint.subject
            emit(session, "complaint.rated", {
                "number": number, "subject_body_id": subject.body_id, "rating": rating,
                "against_private_enterprise": record.complaint.flags.against_private_enterprise},
                region_code=subject.body_region_code, body_id=subject.body_id, case_id=record.complaint.case_id)
        return {"number": number, "status": new.status.value, "status_label": new.status.label,
                "message": "感谢您的评价。"}

    @rpc
    def channels(self, region_code):
        """CMP-1: the published channels for a region (fields missing there come from parent regions)."""
        directory = load_channels()
        info = directory.channels_for(region_code) if is_region_code(region_code or "") else None
        if info is None:
            return None
        return {"region_code": info.region_code, "name": info.name, "scope": info.scope, "mailbox": info.mailbox,
                "email": info.email, "hotlines": [{"number": h.number, "name": h.name} for h in info.hotlines],
                "postal_address": ({"address": info.postal_address.address, "postcode": info.postal_address.postcode,
                                    "recipient": info.postal_address.recipient} if info.postal_address else None),
                "web_form": info.web_form, "sources": info.sources, "has_12345": info.has_12345}

    @rpc
    def intake_options(self):
        """What the portal form offers: regions that publish channels, and the registered bodies."""
        directory = load_channels()
        regions = [{"region_code": code, "name": entry.get("name") or code}
                   for code, entry in sorted(directory.regions.items())]
        with self.db.session() as session:
            bodies = session.scalars(select(KnownBody).order_by(KnownBody.region_code, KnownBody.name)).all()
            known = [{"body_id": b.body_id, "name": b.name, "kind": b.kind, "region_code": b.region_code}
                     for b in bodies]
        codes = {r["region_code"] for r in regions}
        for b in known:
            if b["region_code"][:6] not in codes:
                codes.add(b["region_code"][:6])
                regions.append({"region_code": b["region_code"][:6], "name": _region_name(b["region_code"])})
        limits = intake_rules()
        return {"regions": regions, "bodies": known,
                "attachments": {"max_files": limits.max_files, "max_bytes": limits.max_bytes,
                                "types": sorted(limits.types)}}

    # =========================================================================================
    # handling (CMP-3, CMP-4, CMP-9, COORD-1)
    # =========================================================================================
    def _load(self, session, scope, number, lock=True) -> tuple[Complaint, ComplaintRecord]:
        row = session.get(Complaint, number, with_for_update=True if lock else None) if number else None
        if row is None:
            raise Refused(404, "not_found", "未找到该投诉举报")
        if not store.covers_complaint(Scope.of(scope), row):   # SEC-2, PLAT-1: reads and writes alike
            raise Refused(403, "out_of_scope", f"无权处理行政区划 {row.handler_region_code} 的投诉举报")
        return row, store.record_of(row, self._attachment_count(session, number))

    def _view(self, session, row, record) -> dict:
        view = handler_view(record)
        today = today_china()
        running = record.open_deadline()
        view["warning_level"] = (warning_level(running[1], today).value if running else "none")
        assessment = store.assessment_from_dict(row.assessment)
        view["assessment"] = row.assessment
        view["found_in_scope"] = row.found_in_scope
        view["clues"] = [c.to_dict() for c in accountability_clues(record, today=today, assessment=assessment,
                                                                   found_in_scope=row.found_in_scope)]
        view["attachments"] = [{"sm3": a.sm3, "filename": a.filename, "content_type": a.content_type, "size": a.size}
                               for a in session.scalars(select(Attachment).where(Attachment.number == row.number))]
        view["external_ref"] = row.external_ref
        return view

    def _emit_clues(self, session, row, record, today, caused_by=None) -> int:
        """Emit each accountability clue of this complaint once (CMP-5). No identity in the event."""
        sent = set(row.clues_sent or ())
        count = 0
        for clue in accountability_clues(record, today=today, assessment=store.assessment_from_dict(row.assessment),
                                         found_in_scope=row.found_in_scope):
            key = f"{clue.kind}:{clue.against_kind}"
            if key in sent:
                continue
            sent.add(key)
            subject = record.complaint.subject
            body_id = clue.against_ids[0] if clue.against_kind == "handling_unit" else subject.body_id
            region = clue.region_code if clue.against_kind == "handling_unit" else subject.body_region_code
            emit(session, "complaint.accountability_clue", {
                "kind": clue.kind, "label": clue.label, "against_kind": clue.against_kind,
                "against_ids": list(clue.against_ids), "region_code": clue.region_code,
                "number": record.register_number, "subject_body_id": subject.body_id,
                "description": redact_identity(clue.description, record.complaint.complainant),
                "due": clue.evidence.get("due")},
                region_code=region, body_id=body_id, case_id=record.complaint.case_id, caused_by=caused_by)
            count += 1
        row.clues_sent = sorted(sent)
        return count

    def _change(self, scope, number, change, *, events=()):
        """Load (locked), apply ``change(record) -> record``, persist, emit, answer the handler view."""
        now = now_utc()
        with self.db.session() as session:
            row, record = self._load(session, scope, number)
            new = change(record, now)
            store.write_record(row, new, now)
            for emitter in events:
                emitter(session, row, record, new)
            self._emit_clues(session, row, new, today_china())
            view = self._view(session, row, new)
        return view, record, new

    def _acknowledged(self, session, row, old, new):
        c = new.complaint
        on_time = new.history[-1].data.get("acknowledged_on_time", True)
        emit(session, "complaint.acknowledged", {
            "number": new.register_number, "channel": c.channel.value, "subject_body_id": c.subject.body_id,
            "decision": new.status.value, "on_time": bool(on_time), "acknowledge_due": new.acknowledge.due,
            "decided_on": new.decided_at.astimezone(CHINA_TZ).date(), "handler_unit_id": new.handler.unit_id,
            "handler_region_code": new.handler.region_code,
            "handling_due": new.handling.due if new.handling else None},
            region_code=c.subject.body_region_code, body_id=c.subject.body_id, case_id=c.case_id)

    def _count_ack(self, new):
        labels = (new.complaint.region_code[:6], new.complaint.channel.value)
        (m.ACCEPTED if new.status is Status.ACCEPTED else m.NOT_ACCEPTED).labels(*labels).inc()
        if not new.history[-1].data.get("acknowledged_on_time", True):
            m.ACK_LATE.labels(*labels).inc()

    @rpc
    @refusing
    def accept(self, scope, number, actor, note=None):
        """受理 (CMP-3/4): records the route (CMP-8) and starts the 30-working-day handling period (CMP-9)."""
        def change(record, now):
            try:
                suggested = route(record.complaint.subject)
            except RoutingError:
                suggested = None
            return record.accept(at=now, actor=actor, route=suggested, note=note)

        view, _, new = self._change(scope, number, change, events=(self._acknowledged,))
        self._count_ack(new)
        return view

    @rpc
    @refusing
    def not_accept(self, scope, number, actor, reason, note=None):
        """不予受理 (CMP-4): the reason is required, told to the complainant and kept in the register."""
        view, _, new = self._change(scope, number,
                                    lambda record, now: record.not_accept(reason, at=now, actor=actor, note=note),
                                    events=(self._acknowledged,))
        self._count_ack(new)
        return view

    @rpc
    @refusing
    def add_progress(self, scope, number, actor, text, note=None):
        """办理进展, shown to the complainant by the status query (CMP-4)."""
        view, _, _ = self._change(scope, number, lambda record, now: record.add_progress(
            text, at=now, actor=actor, internal_note=note))
        return view

    @rpc
    @refusing
    def conclude(self, scope, number, actor, result, upheld, note=None):
        """办结 with the result for the complainant; upheld → accountability clue (CMP-4, CMP-5)."""
        def concluded(session, row, old, new):
            c = new.complaint
            emit(session, "complaint.concluded", {
                "number": new.register_number, "subject_body_id": c.subject.body_id,
                "officer_ids": list(c.subject.officer_ids), "upheld": bool(new.upheld),
                "on_time": bool(new.history[-1].data.get("on_time", True)),
                "concluded_on": new.concluded_at.astimezone(CHINA_TZ).date(),
                "handling_due": new.handling.due if new.handling else None,
                "against_private_enterprise": c.flags.against_private_enterprise},
                region_code=c.subject.body_region_code, body_id=c.subject.body_id, case_id=c.case_id)

        view, _, new = self._change(scope, number, lambda record, now: record.conclude(
            result, upheld, at=now, actor=actor, internal_note=note), events=(concluded,))
        m.CONCLUDED.labels(new.complaint.region_code[:6], new.complaint.channel.value,
                           "yes" if new.upheld else "no").inc()
        return view

    @rpc
    @refusing
    def transfer(self, scope, number, actor, to_unit_id, to_region_code, reason, to_name=None):
        """移送/转办 to another unit, region or tier: number and history kept (COORD-1)."""
        if not is_region_code(to_region_code or ""):
            raise _err({"to_region_code": ["接收单位的行政区划代码无效"]})
        if not (to_unit_id or "").strip():
            raise _err({"to_unit_id": ["请填写接收单位"]})

        def transferred(session, row, old, new):
            self._emit_transferred(session, old, new)

        view, _, _ = self._change(scope, number, lambda record, now: record.transfer(
            Handler(to_unit_id.strip(), to_region_code, to_name), reason, at=now, actor=actor),
            events=(transferred,))
        return view

    @staticmethod
    def _emit_transferred(session, old, new, caused_by=None):
        c = new.complaint
        emit(session, "complaint.transferred", {
            "number": new.register_number, "subject_body_id": c.subject.body_id,
            "from_unit_id": old.handler.unit_id, "from_region_code": old.handler.region_code,
            "to_unit_id": new.handler.unit_id, "to_region_code": new.handler.region_code},
            region_code=c.subject.body_region_code, body_id=c.subject.body_id, case_id=c.case_id,
            caused_by=caused_by)

    @rpc
    @refusing
    def extend(self, scope, number, actor, working_days, approved_by, reason):
        """延长办理期限 once, ≤ 20 working days, approved by a responsible person (CMP-9)."""
        try:
            days = int(working_days)
        except (TypeError, ValueError):
            raise _err({"working_days": ["延长天数应为整数"]}) from None
        view, _, _ = self._change(scope, number, lambda record, now: record.extend(
            days, approved_by=approved_by, reason=reason, at=now, actor=actor))
        return view

    @rpc
    @refusing
    def record_scope_finding(self, scope, number, actor, in_scope, note=None):
        """A supervisor's finding that a not-accepted complaint was (not) in scope → clue (CMP-5)."""
        now = now_utc()
        with self.db.session() as session:
            row, record = self._load(session, scope, number)
            if record.status is not Status.NOT_ACCEPTED:
                raise Refused(409, "invalid_transition", f"当前状态为“{record.status.label}”，只能对不予受理的投诉举报作出认定")
            row.found_in_scope = bool(in_scope)
            history = list(row.history)
            history.append({"seq": len(history) + 1, "kind": EventKind.PROGRESS.value, "at": now.isoformat(),
                            "actor": actor, "status": record.status.value, "public_text": None,
                            "internal_note": f"监督认定：{'属于' if in_scope else '不属于'}受理范围。{note or ''}".strip(),
                            "data": {"scope_finding": bool(in_scope)}})
            row.history = history
            self._emit_clues(session, row, store.record_of(row), today_china())
            view = self._view(session, row, store.record_of(row))
        return view

    # =========================================================================================
    # reading (PLAT-1 scope in every query)
    # =========================================================================================
    @rpc
    @refusing
    def get_complaint(self, scope, number):
        """The handler view (identity included) for a handler or supervisor of the region."""
        with self.db.session() as session:
            row, record = self._load(session, scope, number, lock=False)
            return self._view(session, row, record)

    @rpc
    def list_register(self, scope, filters=None):
        """The register in the caller's scope (filed or handled in their region), newest first."""
        filters = filters or {}
        query = select(Complaint).where(store.scope_filter(Scope.of(scope)))
        if filters.get("status"):
            query = query.where(Complaint.status == filters["status"])
        if filters.get("channel"):
            query = query.where(Complaint.channel == filters["channel"])
        if filters.get("overdue"):
            query = query.where(Complaint.open_due < today_china())
        if filters.get("escalated"):
            query = query.where(Complaint.supervising_region.is_not(None))
        if filters.get("private_enterprise"):
            query = query.where(Complaint.against_private_enterprise.is_(True))
        limit = min(int(filters.get("limit") or 500), 2000)
        today = today_china()
        with self.db.session() as session:
            rows = session.scalars(query.order_by(Complaint.region_code, Complaint.year, Complaint.seq)
                                   .limit(limit)).all()
            return [{"number": c.number, "channel": c.channel, "region_code": c.region_code,
                     "subject_body_id": c.subject_body_id, "status": c.status,
                     "status_label": Status(c.status).label, "received_at": store.aware(c.received_at).isoformat(),
                     "acknowledge_due": c.acknowledge_due.isoformat(),
                     "handling_due": c.handling_due.isoformat() if c.handling_due else None,
                     "overdue": bool(c.open_due and c.open_due < today),
                     "handler_unit_id": c.handler_unit_id, "handler_region_code": c.handler_region_code,
                     "supervising_region": c.supervising_region, "linked_to": c.linked_to,
                     "against_private_enterprise": c.against_private_enterprise, "request": c.request,
                     "complainant_name": c.complainant_name, "complainant_phone": c.complainant_phone}
                    for c in rows]

    @rpc
    def body_complaints(self, scope):
        """What a body complained about may read (body_view): no complainant identity anywhere. The
        complaints about the bodies in the caller's scope (SEC-2: no body list → none; every body of the
        region when granted)."""
        scope = Scope.of(scope)
        if scope.empty:
            return []
        out = []
        with self.db.session() as session:
            if scope.all_bodies:   # every body of the region (an explicit grant): region checked below
                query = select(Complaint).where(Complaint.complained_bodies.is_not(None))
            else:
                query = select(Complaint).where(or_(*(Complaint.complained_bodies.contains(f"|{b}|")
                                                      for b in sorted(scope.bodies))))
            for row in session.scalars(query.order_by(Complaint.received_at)).all():
                subject_region = (row.subject or {}).get("body_region_code") or row.region_code
                mine = [b for b in (row.complained_bodies or "").strip("|").split("|") if b and
                        (scope.all_bodies or b in scope.bodies)]
                if not mine or not (scope.covers_region(subject_region) or scope.covers_region(row.region_code)):
                    continue
                out.append(body_view(store.record_of(row, self._attachment_count(session, row.number))))
        return out

    @rpc
    def private_enterprise_report(self, scope, year=None):
        """CMP-6: complaints about enforcement against private enterprises, reported separately."""
        year = int(year or today_china().year)
        scope = Scope.of(scope)
        with self.db.session() as session:
            rows = session.scalars(select(Complaint).where(store.scope_filter(scope),
                                                           Complaint.year == year)).all()
            records = [store.record_of(r) for r in rows]
        report = enterprise_report(records).to_dict()
        by_body: dict[str, dict] = {}
        for r in records:
            if not r.complaint.flags.against_private_enterprise:
                continue
            entry = by_body.setdefault(r.complaint.subject.body_id, {"total": 0, "upheld": 0, "not_accepted": 0})
            entry["total"] += 1
            entry["upheld"] += int(bool(r.upheld))
            entry["not_accepted"] += int(r.status is Status.NOT_ACCEPTED)
        return {"region_code": scope.region_code, "year": year, **report, "private_enterprise_by_body": by_body,
                "private_enterprise_complaints": [
                    {"number": r.register_number, "status": r.status.value, "status_label": r.status.label,
                     "subject_body_id": r.complaint.subject.body_id, "received_on": r.complaint.received_on.isoformat(),
                     "upheld": r.upheld, "satisfaction": r.satisfaction}
                    for r in records if r.complaint.flags.against_private_enterprise]}

    # =========================================================================================
    # deadlines: escalation and overdue clues (CMP-3, CMP-5, CMP-9) — one replica at a time
    # =========================================================================================
    @timer("ZHIFA_COMPLAINTS_SWEEP_SECONDS")
    def deadline_sweep(self):
        interval = settings.get("ZHIFA_COMPLAINTS_SWEEP_SECONDS")
        if not self.db.acquire_lease(SWEEP_LEASE, max(3 * interval, 10.0)):
            return
        self.sweep_deadlines(today_china())

    def sweep_deadlines(self, today: dt.date, batch: int = 200) -> int:
        """Escalate every open complaint past its running deadline, emit overdue clues; refresh gauges."""
        escalated_total = 0
        last = ""
        while True:
            with self.db.session() as session:
                numbers = session.scalars(select(Complaint.number).where(
                    Complaint.status.in_([s.value for s in OPEN_STATUSES]), Complaint.open_due < today,
                    Complaint.number > last).order_by(Complaint.number).limit(batch)).all()
            if not numbers:
                break
            last = numbers[-1]
            for number in numbers:
                escalated_total += self._sweep_one(number, today)
        self._refresh_gauges(today)
        return escalated_total

    def _sweep_one(self, number: str, today: dt.date) -> int:
        now = now_utc()
        counted = []
        with self.db.session() as session:
            row = session.get(Complaint, number, with_for_update=True)
            if row is None or Status(row.status) not in OPEN_STATUSES:
                return 0
            record = store.record_of(row)
            pending = record.pending_escalations(today)
            new = record.apply_escalations(today, at=max(now, record.history[-1].at))
            c = new.complaint
            for stage, step in pending:
                running = record.open_deadline()
                emit(session, "complaint.escalated", {
                    "number": new.register_number, "subject_body_id": c.subject.body_id, "stage": stage,
                    "level": step.level, "to_region_code": step.region_code, "tier": step.tier.value,
                    "due": running[1].due, "escalated_on": step.escalated_on,
                    "handler_unit_id": new.handler.unit_id, "handler_region_code": new.handler.region_code},
                    region_code=c.subject.body_region_code, body_id=c.subject.body_id, case_id=c.case_id)
                counted.append(stage)
            if pending:
                store.write_record(row, new, now)
            self._emit_clues(session, row, new, today)
        for stage in counted:
            m.ESCALATED.labels(c.region_code[:6], c.channel.value, stage).inc()
        return len(counted)

    def _refresh_gauges(self, today: dt.date) -> None:
        with self.db.session() as session:
            rows = session.execute(select(Complaint.handler_region_code, Complaint.channel, Complaint.status,
                                          func.count()).where(
                Complaint.status.in_([s.value for s in OPEN_STATUSES]), Complaint.open_due < today)
                .group_by(Complaint.handler_region_code, Complaint.channel, Complaint.status)).all()
        m.OVERDUE.clear()
        for region, channel, status, count in rows:
            stage = "acknowledge" if status == Status.REGISTERED.value else "handle"
            m.OVERDUE.labels((region or "")[:6], channel, stage).inc(count)

    @rpc
    def run_deadline_sweep(self):
        """Operations: run the sweep now (e.g. after loading a calendar); the lease keeps one runner.
        The day is the suite's clock's, never a caller's (SEC-2)."""
        if not self.db.acquire_lease(SWEEP_LEASE, 60.0):
            return {"ran": False}
        day = today_china()
        return {"ran": True, "escalated": self.sweep_deadlines(day)}


    # =========================================================================================
    # across tiers (PLAT-1, COORD-4): at a province, the supervision register of the complaints
    # its cities escalated and the transfer orders it sends down; at a city, applying them
    # =========================================================================================
    @event_handler(federation.UPWARD_EXCHANGE, "complaint.escalated")
    def on_city_escalation(self, event):
        """省级督办台账: a city complaint escalated (逐级上报, CMP-3/CMP-9) enters or updates the register.
        Only what the event carries is kept — no complainant, no complaint text (they stay in the city)."""
        p = event.payload
        try:
            notice = supervision.EscalationNotice(
                number=p["number"], region_code=event.region_code, subject_body_id=p["subject_body_id"],
                stage=p["stage"], level=p["level"], to_region_code=p["to_region_code"], tier=p["tier"],
                due=p["due"], escalated_on=p["escalated_on"], handler_unit_id=p["handler_unit_id"],
                handler_region_code=p["handler_region_code"])
            supervision.filed_region(notice.number)
        except ValueError as exc:
            raise InvalidEvent(f"complaint.escalated cannot enter the supervision register: {exc}") from None
        now = now_utc()
        with self.db.effect_of(event) as session:
            row = session.get(SupervisedComplaint, notice.number, with_for_update=True)
            entry = supervision.receive_escalation(store.entry_of(row) if row is not None else None, notice)
            if row is None:
                concluded = session.get(CityConclusion, notice.number)
                if concluded is not None:  # its conclusion came first (both buffered while the link was down)
                    entry = supervision.receive_conclusion(entry, concluded.concluded_on, concluded.upheld)
                row = SupervisedComplaint(number=notice.number)
                store.write_entry(row, entry, now)
                session.add(row)
            else:
                store.write_entry(row, entry, now)

    @event_handler(federation.UPWARD_EXCHANGE, "complaint.concluded")
    def on_city_conclusion(self, event):
        """A city concluded a complaint (办结): its register line, if any, is closed. Touches nothing but
        the supervision register (the province's own complaints are not in it)."""
        p = event.payload
        now = now_utc()
        with self.db.effect_of(event) as session:
            row = session.get(SupervisedComplaint, p["number"], with_for_update=True)
            if row is None:
                if session.get(CityConclusion, p["number"]) is None:
                    session.add(CityConclusion(number=p["number"], concluded_on=p["concluded_on"],
                                               upheld=bool(p["upheld"]), received_at=now))
                return
            store.write_entry(row, supervision.receive_conclusion(store.entry_of(row), p["concluded_on"],
                                                                   p["upheld"]), now)

    @rpc
    def list_escalations(self, scope, filters=None):
        """The supervision register in the caller's scope (SEC-2, PLAT-1), most recently escalated first."""
        filters = filters or {}
        scope = Scope.of(scope)
        if scope.empty:
            return []
        query = select(SupervisedComplaint).where(store.register_scope_filter(scope))
        if filters.get("status"):
            query = query.where(SupervisedComplaint.status == filters["status"])
        if filters.get("city_code"):
            query = query.where(SupervisedComplaint.city_code == filters["city_code"])
        limit = min(int(filters.get("limit") or 500), 2000)
        with self.db.session() as session:
            rows = session.scalars(query.order_by(SupervisedComplaint.escalated_on.desc(),
                                                  SupervisedComplaint.number).limit(limit)).all()
            return [store.entry_of(r).to_json() for r in rows]

    @rpc
    @refusing
    def order_transfer(self, scope, number, actor, form):
        """上级交办 (COORD-4, CMP-9): a province supervisor orders an escalated complaint handled by a
        unit of its city, with an instruction and a period in working days; sent down to that city only."""
        now, today = now_utc(), today_china()
        scope = Scope.of(scope)
        scope_region = scope.region_code
        with self.db.session() as session:
            row = session.get(SupervisedComplaint, number, with_for_update=True) if number else None
            entry = store.entry_of(row) if row is not None else None
            if entry is None or scope.empty or not entry.visible_to(scope_region) or not (
                    scope.all_bodies or scope.covers(entry.handler_region_code, entry.handler_unit_id)):
                raise Refused(404, "not_found", "督办台账中没有该投诉举报")
            try:
                order = supervision.validate_order(entry, form or {}, issuer_region=scope_region, ordered_by=actor,
                                                   today=today)
                new = supervision.order_transfer(entry, order)
            except supervision.OrderRefused as exc:
                code = {403: "out_of_scope", 409: "invalid_transition"}.get(exc.status, "invalid")
                raise Refused(exc.status, code, exc.message, exc.fields) from None
            store.write_entry(row, new, now)
            emit(session, "complaint.transfer_ordered", {
                "number": order.number, "subject_body_id": order.subject_body_id,
                "issuer_region": order.issuer_region, "ordered_by": order.ordered_by, "ordered_on": order.ordered_on,
                "to_unit_id": order.to_unit_id, "to_region_code": order.to_region_code, "to_name": order.to_name,
                "instruction": order.instruction, "working_days": order.working_days,
                "due": order.deadline().due},
                region_code=supervision.filed_region(order.number), body_id=order.subject_body_id)
        return new.to_json()

    @event_handler(federation.DOWNWARD_EXCHANGE, "complaint.transfer_ordered")
    def on_transfer_ordered(self, event):
        """上级交办 received from the tier above: the complaint with that number gets the unit named, the
        instruction and the issuer in its history, and the ordered deadline (working days) as the one
        running; ``complaint.transferred`` when the unit changed. An order this suite cannot apply
        (unknown number, closed complaint, another body) is dead-lettered with the reason."""
        p = event.payload
        order = supervision.order_from_json(p, p["subject_body_id"])
        now = now_utc()
        with self.db.effect_of(event) as session:
            row = session.get(Complaint, order.number, with_for_update=True)
            if row is None:
                raise InvalidEvent(f"complaint.transfer_ordered from {order.issuer_region}: no complaint "
                                   f"{order.number} is registered in this suite")
            record = store.record_of(row, self._attachment_count(session, row.number))
            try:
                new = record.apply_order(order, at=max(now, record.history[-1].at),
                                         actor=f"tier:{order.issuer_region}:{order.ordered_by}",
                                         event_id=event.event_id)
            except (TransitionError, ValueError) as exc:
                reason = exc.message if isinstance(exc, TransitionError) else str(exc)
                raise InvalidEvent(f"complaint.transfer_ordered from {order.issuer_region} for {order.number} "
                                   f"refused: {reason}") from None
            store.write_record(row, new, now)
            if new.handler_changed:
                self._emit_transferred(session, record, new, caused_by=event)
            self._emit_clues(session, row, new, today_china(), caused_by=event)
