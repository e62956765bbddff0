"""办理 (CMP-3, CMP-4, CMP-5, CMP-9, COORD-1): a complaint handler of the region accepts or refuses a
complaint, records progress, concludes, transfers (转办) or extends (延期). Each change loads the
record locked, lets the domain's life cycle decide, writes it back with its events and the
accountability clues (责任倒查线索) it newly shows, and answers the handler view."""
from __future__ import annotations

from services.common.db import emit
from services.common.identifiers import is_region_code
from services.common.scope import Scope
from services.complaints import configuration, store
from services.complaints import metrics as m
from services.complaints.domain import (CHINA_TZ, Handler, RoutingError, Status, accountability_clues,
                                        handler_view, route, warning_level)
from services.complaints.domain.views import redact_identity

from .shared import Refused, invalid, now_utc, today_china


def load(session, scope, number, lock=True):
    """The row and record of ``number`` if the caller's scope covers it (SEC-2, PLAT-1: reads and writes alike)."""
    row = store.complaint_row(session, number, lock=lock)
    if row is None:
        raise Refused(404, "not_found", "未找到该投诉举报")
    if not store.covers_complaint(Scope.of(scope), row):
        raise Refused(403, "out_of_scope", f"无权处理行政区划 {row.handler_region_code} 的投诉举报")
    return row, store.record_of(row, store.attachment_count(session, number))


def view(session, row, record) -> dict:
    """The handler view (办理视图): identity included, warning level, assessment, clues, attachments."""
    answer = handler_view(record)
    today = today_china()
    yellow_within = configuration.deadline_rules().yellow_within_working_days   # deadlines.yaml (CMP-9)
    running = record.open_deadline()
    answer["warning_level"] = (warning_level(running[1], today, yellow_within=yellow_within).value
                               if running else "none")
    assessment = store.assessment_from_dict(row.assessment)
    answer["assessment"] = row.assessment
    answer["found_in_scope"] = row.found_in_scope
    answer["clues"] = [c.to_dict() for c in accountability_clues(record, today=today, assessment=assessment,
                                                                 found_in_scope=row.found_in_scope)]
    answer["attachments"] = [{"sm3": a.sm3, "filename": a.filename, "content_type": a.content_type, "size": a.size}
                             for a in store.attachments_of(session, row.number)]
    answer["external_ref"] = row.external_ref
    return answer


def emit_clues(session, row, record, today, caused_by=None) -> int:
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


def emit_transferred(session, old, new, caused_by=None) -> None:
    c = new.complaint
    emit(session, "complaint.transferred", {
        "number": new.register_number, "subject_body_id": c.subject.body_id,
        "from_unit_id": old.handler.unit_id, "from_region_code": old.handler.region_code,
        "to_unit_id": new.handler.unit_id, "to_region_code": new.handler.region_code},
        region_code=c.subject.body_region_code, body_id=c.subject.body_id, case_id=c.case_id,
        caused_by=caused_by)


def change(db, scope, number, decide, *, events=()):
    """Load (locked), ``decide(record, now) -> record``, persist, emit, answer the handler view."""
    now = now_utc()
    with db.session() as session:
        row, record = load(session, scope, number)
        new = decide(record, now)
        store.write_record(row, new, now)
        for emitter in events:
            emitter(session, row, record, new)
        emit_clues(session, row, new, today_china())
        answer = view(session, row, new)
    return answer, record, new


def _acknowledged(session, row, old, new):
    c = new.complaint
    on_time = new.history[-1].data.get("acknowledged_on_time", True)
    emit(session, "complaint.acknowledged", {
        "number": new.register_number, "channel": c.channel.value, "subject_body_id": c.subject.body_id,
        "decision": new.status.value, "on_time": bool(on_time), "acknowledge_due": new.acknowledge.due,
        "decided_on": new.decided_at.astimezone(CHINA_TZ).date(), "handler_unit_id": new.handler.unit_id,
        "handler_region_code": new.handler.region_code,
        "handling_due": new.handling.due if new.handling else None},
        region_code=c.subject.body_region_code, body_id=c.subject.body_id, case_id=c.case_id)


def _count_acknowledged(new):
    labels = (new.complaint.region_code[:6], new.complaint.channel.value)
    (m.ACCEPTED if new.status is Status.ACCEPTED else m.NOT_ACCEPTED).labels(*labels).inc()
    if not new.history[-1].data.get("acknowledged_on_time", True):
        m.ACK_LATE.labels(*labels).inc()


def accept(db, scope, number, actor, note=None) -> dict:
    """受理 (CMP-3/4): records the route (CMP-8) and starts the 30-working-day handling period (CMP-9)."""
    def decide(record, now):
        try:
            suggested = route(record.complaint.subject)
        except RoutingError:
            suggested = None
        return record.accept(at=now, actor=actor, route=suggested, note=note)

    answer, _, new = change(db, scope, number, decide, events=(_acknowledged,))
    _count_acknowledged(new)
    return answer


def not_accept(db, scope, number, actor, reason, note=None) -> dict:
    """不予受理 (CMP-4): the reason is required, told to the complainant and kept in the register."""
    answer, _, new = change(db, scope, number,
                            lambda record, now: record.not_accept(reason, at=now, actor=actor, note=note),
                            events=(_acknowledged,))
    _count_acknowledged(new)
    return answer


def add_progress(db, scope, number, actor, text, note=None) -> dict:
    """办理进展, shown to the complainant by the status query (CMP-4)."""
    answer, _, _ = change(db, scope, number, lambda record, now: record.add_progress(
        text, at=now, actor=actor, internal_note=note))
    return answer


def conclude(db, scope, number, actor, result, upheld, note=None) -> dict:
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

    answer, _, new = change(db, scope, number, lambda record, now: record.conclude(
        result, upheld, at=now, actor=actor, internal_note=note), events=(concluded,))
    m.CONCLUDED.labels(new.complaint.region_code[:6], new.complaint.channel.value,
                       "yes" if new.upheld else "no").inc()
    return answer


def transfer(db, scope, number, actor, to_unit_id, to_region_code, reason, to_name=None) -> dict:
    """移送/转办 to another unit, region or tier: number and history kept (COORD-1)."""
    if not is_region_code(to_region_code or ""):
        raise invalid({"to_region_code": ["接收单位的行政区划代码无效"]})
    if not (to_unit_id or "").strip():
        raise invalid({"to_unit_id": ["请填写接收单位"]})

    def transferred(session, row, old, new):
        emit_transferred(session, old, new)

    answer, _, _ = change(db, scope, number, lambda record, now: record.transfer(
        Handler(to_unit_id.strip(), to_region_code, to_name), reason, at=now, actor=actor),
        events=(transferred,))
    return answer


def extend(db, scope, number, actor, working_days, approved_by, reason) -> dict:
    """延长办理期限 once, ≤ 20 working days, approved by a responsible person (CMP-9)."""
    try:
        days = int(working_days)
    except (TypeError, ValueError):
        raise invalid({"working_days": ["延长天数应为整数"]}) from None
    answer, _, _ = change(db, scope, number, lambda record, now: record.extend(
        days, approved_by=approved_by, reason=reason, at=now, actor=actor))
    return answer


def record_scope_finding(db, scope, number, actor, in_scope, note=None) -> dict:
    """A supervisor's finding that a not-accepted complaint was (not) in scope → clue (CMP-5)."""
    now = now_utc()
    with db.session() as session:
        row, record = load(session, scope, number)
        new = record.record_scope_finding(bool(in_scope), at=now, actor=actor, note=note)
        store.write_record(row, new, now)
        store.write_scope_finding(row, bool(in_scope))
        emit_clues(session, row, store.record_of(row), today_china())
        answer = view(session, row, store.record_of(row))
    return answer


def get_complaint(db, scope, number) -> dict:
    """The handler view (identity included) for a handler or supervisor of the region."""
    with db.session() as session:
        row, record = load(session, scope, number, lock=False)
        return view(session, row, record)
