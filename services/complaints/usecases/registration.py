"""编号登记 (CMP-1, CMP-2): a complaint from a channel system (12345 …), the portal or a complaint
handler is completed from the body directory, assessed, numbered gap-free, checked for an earlier
duplicate and registered with its ``complaint.registered`` event in one transaction; counted after
commit. Also keeps the body directory (执法主体库) from ``body.registered``."""
from __future__ import annotations

import base64
import binascii
import datetime as dt

from services.common import receipts
from services.common.db import emit
from services.common.events import InvalidEvent
from services.common.identifiers import is_region_code
from services.common.scope import Scope
from services.complaints import intake, store
from services.complaints import metrics as m
from services.complaints.domain import (CHINA_TZ, BodyKind, BodyRef, Channel, Complainant, ComplaintFlags,
                                        ComplaintRecord, DuplicateCandidate, RouteTarget, Subject, assess,
                                        find_duplicate, issue_query_code, load_duplicate_rules)
from services.complaints.domain import Complaint
from services.complaints.domain.directory import competent_department, handling_unit
from services.complaints.domain.register import register_year

from . import coordination
from .shared import Refused, invalid, now_utc

STAFF_CHANNELS = ("letter", "email", "visit", "hotline_12345")


def complete_subject(session, raw: dict, filing_region: str) -> tuple[Subject, list[str]]:
    """The subject (被投诉主体) from what the channel sent, completed from the body directory."""
    body_id = (raw.get("body_id") or "").strip()
    known = store.known_body(session, body_id)
    warnings = []
    if body_id and known is None:
        warnings.append(f"被投诉主体“{body_id}”未在执法主体库中登记，请核实主体类别和所在地区")
    kind = raw.get("body_kind") or (known.kind if known else "department")
    region = raw.get("body_region_code") or (known.region_code if known else filing_region)
    competent = raw.get("competent_department_id")
    if not competent and known is not None:
        competent = competent_department(known.kind, known.entrusting_body_id, known.superior_body_id)
    competent_region = raw.get("competent_department_region_code")
    if competent and not competent_region:
        parent = store.known_body(session, competent)
        competent_region = parent.region_code if parent else None
    others = []
    for b in raw.get("other_bodies") or ():
        if isinstance(b, str):  # a body id from a form: complete it from the directory
            other = store.known_body(session, b)
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
        raise invalid({"body_region_code": [f"被投诉主体的地区代码无效：{exc}"]}) from None
    return subject, warnings


def earlier_duplicate(session, complaint: Complaint):
    """The earlier complaint this one repeats (重复投诉, CMP-2), if any."""
    rules = load_duplicate_rules()
    since = store.utc(complaint.received_at if isinstance(complaint.received_at, dt.datetime)
                      else dt.datetime.combine(complaint.received_at, dt.time(), CHINA_TZ))
    since -= dt.timedelta(days=rules.window_days + 1)
    rows = store.recent_complaints_about(session, complaint.subject.body_id, since)
    candidates = [DuplicateCandidate(r.number, store.complaint_of(r)) for r in rows if r.linked_to is None]
    return find_duplicate(complaint, candidates, rules)


def register(session, complaint: Complaint, *, actor: str, subject_warnings=(), source_event_id=None,
             external_ref=None, files=(), caused_by=None):
    """Register one complaint in the caller's transaction; returns (row, query code, record)."""
    now = now_utc()
    code, code_hash = issue_query_code()  # scrypt before the counter row is locked: keep the lock short
    assessment = assess(complaint)
    route = assessment.suggested_route
    known = (store.known_body(session, route.target_body_id)
             if route is not None and route.target_kind is not RouteTarget.GOVERNMENT_LEGAL_OFFICE else None)
    handler = handling_unit(route, complaint.region_code, known.name if known is not None else None)
    duplicate = earlier_duplicate(session, complaint)
    year = register_year(now)
    number, seq = store.allocate_number(session, complaint.region_code, year)
    record = ComplaintRecord.new(complaint, number, code_hash, handler, at=now, actor=actor)
    if duplicate is not None:
        record = record.link_duplicate(duplicate.register_number, duplicate.similarity, at=now, actor="system")
    row = store.new_row(record, seq=seq, year=year, source_event_id=source_event_id, external_ref=external_ref,
                        assessment=store.assessment_to_dict(assessment, subject_warnings), now=now)
    session.add(row)
    session.flush()
    store.add_attachments(session, number, files)
    subject = complaint.subject
    emit(session, "complaint.registered", {
        "number": number, "channel": complaint.channel.value, "subject_body_id": subject.body_id,
        "acknowledge_due": record.acknowledge.due, "due_provisional": record.acknowledge.provisional,
        "against_private_enterprise": complaint.flags.against_private_enterprise,
        "filed_region_code": complaint.region_code, "handler_unit_id": handler.unit_id,
        "handler_region_code": handler.region_code, "duplicate_of": record.linked_to},
        region_code=subject.body_region_code, body_id=subject.body_id, case_id=complaint.case_id,
        caused_by=caused_by)
    if route is None:   # routing needs coordination (several bodies without a common superior): COORD-2
        coordination.dispute_from_routing(session, row, record, caused_by=caused_by)
    return row, code, record


def count_registered(complaint: Complaint, record: ComplaintRecord) -> None:
    """Metrics, after the registering transaction committed."""
    labels = (complaint.region_code[:6], complaint.channel.value)
    m.RECEIVED.labels(*labels).inc()
    if record.linked_to:
        m.DUPLICATES.labels(*labels).inc()


def store_files(attachments) -> list[tuple[str, str, str, int]]:
    """Decode, check and store the attachments (附件); refused with Chinese field errors."""
    decoded = []
    for item in attachments or ():
        try:
            data = base64.b64decode(item.get("content_base64") or "", validate=True)
        except (binascii.Error, ValueError):
            raise invalid({"attachments": [f"{item.get('filename') or '附件'}：内容无法解码"]}) from None
        decoded.append((item.get("filename") or "附件", item.get("content_type") or "", data))
    errors = intake.check_attachments(decoded)
    if errors:
        raise invalid({"attachments": errors})
    return [(name, ctype, intake.store_attachment(data), len(data)) for name, ctype, data in decoded]


def register_submitted(db, event) -> None:
    """CMP-1, CMP-2: a complaint from the 12345 hotline or another channel system (``complaint.submitted``)."""
    p = event.payload
    with db.effect_of(event) as session:
        try:
            subject, warnings = complete_subject(session, p["subject"], event.region_code)
        except Refused as exc:
            raise InvalidEvent(exc.message, exc.fields) from None
        c = p["complainant"]
        complaint = Complaint(
            channel=Channel(p["channel"]), region_code=event.region_code,
            complainant=Complainant(c.get("name"), c.get("phone"), c.get("id_number"), c.get("address")),
            subject=subject, request=p["request"], facts=p["facts"], received_at=p["received_at"],
            case_id=p.get("case_id") or event.case_id,
            flags=ComplaintFlags(bool(p.get("under_reconsideration_or_litigation")),
                                 bool(p["against_private_enterprise"])),
            categories=tuple(p.get("categories") or ()))
        _, _, record = register(session, complaint, actor=f"channel:{event.source_system}",
                                subject_warnings=warnings, source_event_id=event.event_id,
                                external_ref=p.get("external_ref"), caused_by=event)
    count_registered(complaint, record)


def complaint_of_form(session, form: dict, channel: str, received_at: dt.datetime):
    """The complaint a portal or staff form describes, with the subject's directory warnings."""
    region = form.get("region_code") or ""
    if not is_region_code(region):
        raise invalid({"region_code": ["请选择有效的地区"]})
    subject, warnings = complete_subject(session, {
        "body_id": form.get("body_id"), "body_kind": form.get("body_kind"),
        "body_region_code": form.get("body_region_code"), "officer_ids": form.get("officer_ids"),
        "about_officer_conduct": form.get("about_officer_conduct"),
        "other_bodies": form.get("other_bodies")}, region)
    complaint = Complaint(
        channel=Channel(channel), region_code=region,
        complainant=Complainant(form.get("name") or None, form.get("phone") or None,
                                form.get("id_number") or None, form.get("address") or None),
        subject=subject, request=form.get("request") or "", facts=form.get("facts") or "",
        received_at=received_at, case_id=form.get("case_id") or None,
        flags=ComplaintFlags(bool(form.get("under_reconsideration_or_litigation")),
                             bool(form.get("against_private_enterprise"))),
        attachments=len(form.get("attachments") or ()), categories=tuple(form.get("categories") or ()))
    return complaint, warnings


def receipt(row, code, record) -> dict:
    """The answer to the person registering: number, query code, acknowledgement due date — signed
    (issue 22: SM2 or Ed25519 by ZHIFA_COMPLAINTS_RECEIPT_SIGNATURE_ALGORITHM, recorded in the receipt;
    tools/audit_verify.py checks it)."""
    due = record.acknowledge.due.isoformat()
    return receipts.sign("complaints", "complaint_registration", {
        "number": row.number, "query_code": code, "acknowledge_due": due,
        "acknowledge_provisional": record.acknowledge.provisional,
        "message": f"您的投诉举报已登记，编号 {row.number}。请妥善保管查询码，"
                   f"我们将于 {due} 前告知是否受理。"})


def register_from_portal(db, form: dict) -> dict:
    """CMP-1 portal intake: registers at once and answers (after commit) with number and query code."""
    files = store_files(form.get("attachments"))
    with db.session() as session:
        complaint, warnings = complaint_of_form(session, form, "portal", now_utc())
        row, code, record = register(session, complaint, actor="complainant", subject_warnings=warnings,
                                     files=files)
        answer = receipt(row, code, record)
    count_registered(complaint, record)
    return answer


def register_by_staff(db, scope, actor: str, form: dict) -> dict:
    """CMP-1: a letter, e-mail, visit or call registered by a complaint handler of the region."""
    channel = form.get("channel")
    if channel not in STAFF_CHANNELS:
        raise invalid({"channel": ["请选择来信、电子邮件、来访或12345热线"]})
    scope = Scope.of(scope)
    if scope.empty or not scope.covers_region(form.get("region_code") or ""):
        raise Refused(403, "out_of_scope", f"无权为行政区划 {form.get('region_code')} 登记投诉举报")
    received_at = form.get("received_at") or now_utc()
    if isinstance(received_at, str):
        received_at = dt.datetime.fromisoformat(received_at)
    if received_at.tzinfo is None or received_at > now_utc() + dt.timedelta(minutes=5):
        raise invalid({"received_at": ["收到时间应为带时区的、不晚于当前的时间"]})
    files = store_files(form.get("attachments"))
    with db.session() as session:
        complaint, warnings = complaint_of_form(session, form, channel, received_at)
        row, code, record = register(session, complaint, actor=actor, subject_warnings=warnings,
                                     external_ref=form.get("external_ref"), files=files)
        answer = receipt(row, code, record)
    count_registered(complaint, record)
    return answer


def record_body(db, event) -> None:
    """The body directory used to complete subjects and route complaints (CMP-8): ``body.registered``."""
    with db.effect_of(event) as session:
        store.save_known_body(session, event.payload, now_utc())
