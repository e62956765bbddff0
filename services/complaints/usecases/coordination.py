"""Coordination across bodies, departments, regions and tiers (COORD-1, COORD-2, COORD-3).

Clues (违法线索) sent between bodies — across tiers over the federation links —, inspection results shared
between bodies (结果互认) with the repeat flags, jurisdiction disputes (管辖争议) decided by the common
superior's legal office and applied to the complaint or clue they came from, transfers to judicial organs
and discipline inspection (行刑衔接、移送纪检监察) tracked to receipt and outcome, and the sweep of their
deadlines. Each change is one transaction with the events it emits (outbox); rules in
``domain/coordination.py``, queries in ``store.py``.
"""
from __future__ import annotations

import datetime as dt
import uuid

from services.common import tiers
from services.common.db import emit
from services.common.events import InvalidEvent
from services.common.identifiers import region_covers
from services.common.periods import load_periods
from services.common.scope import Scope
from services.common.workdays import default_calendar
from services.complaints import configuration, store
from services.complaints.domain import Handler, RoutingError, TransitionError, complained_bodies, route
from services.complaints.domain import coordination as co

from .handling import emit_transferred
from .shared import Refused, invalid, now_utc, today_china


def _periods():
    return load_periods()


def _refused(exc: co.CoordinationError) -> Refused:
    return Refused(exc.status, "invalid_transition" if exc.status == 409 else "invalid", exc.message, exc.fields)


def _new_id(prefix: str, region: str) -> str:
    return f"{prefix}-{region[:6]}-{uuid.uuid4().hex[:16]}"


def _scope(scope) -> Scope:
    scope = Scope.of(scope)
    if scope.empty:
        raise Refused(403, "out_of_scope", "无权访问：未授权任何执法主体")
    return scope


# --- COORD-1: clues ---------------------------------------------------------------------------------
def _held_here(region_code: str) -> bool:
    """A body of ``region_code`` is served by this suite: at a province, not one of its linked cities'; at
    a city, one of its own regions (any region when the suite's region is not configured)."""
    if tiers.is_province():
        return tiers.judged_here(region_code)
    own = tiers.suite_region()
    return own is None or region_covers(own, region_code)


def _wire(clue: co.Clue, acting: co.Party) -> co.Party:
    """The side of a clue its events are addressed by (envelope region): at a province the side in a linked
    city (the downward link routes on it), else the acting side (the upward link checks it is ours)."""
    if tiers.is_province():
        for side in (clue.recipient, clue.sender):
            if tiers.city_judging(side.region_code) is not None:
                return side
    return acting


def _emit_sent(session, clue: co.Clue, caused_by=None) -> None:
    side = _wire(clue, clue.sender)
    emit(session, "clue.sent", {
        "clue_id": clue.clue_id, "from_body_id": clue.sender.body_id, "from_region_code": clue.sender.region_code,
        "from_name": clue.sender.name, "to_body_id": clue.recipient.body_id,
        "to_region_code": clue.recipient.region_code, "to_name": clue.recipient.name, "matter": clue.matter,
        "facts": clue.facts, "source_kind": clue.source_kind, "source_ref": clue.source_ref,
        "party_id": clue.party_id, "sent_on": clue.sent_on, "acknowledge_due": clue.acknowledge_due,
        "feedback_due": clue.feedback_due, "provisional": clue.provisional, "version": clue.version},
        region_code=side.region_code, body_id=side.body_id, caused_by=caused_by)


def _emit_answered(session, clue: co.Clue) -> None:
    side = _wire(clue, clue.recipient)
    emit(session, "clue.answered", clue.answer_snapshot(), region_code=side.region_code, body_id=side.body_id)


def send_clue(db, scope, actor: str, form: dict) -> dict:
    """违法线索移送 (COORD-1): a body of the caller's scope sends a clue to another body (any department,
    region or tier); across tiers the clue travels over the federation link."""
    scope = _scope(scope)
    form = form or {}
    errors: dict = {}
    sender = co.party_of({"body_id": form.get("from_body_id"), "region_code": form.get("from_region_code"),
                          "name": form.get("from_name")}, "from", errors)
    recipient = co.party_of({"body_id": form.get("to_body_id"), "region_code": form.get("to_region_code"),
                             "name": form.get("to_name")}, "to", errors)
    if errors:
        raise invalid(errors)
    if not scope.covers(sender.region_code, sender.body_id):
        raise Refused(403, "out_of_scope", f"无权以执法主体 {sender.body_id} 的名义移送线索")
    today, now = today_china(), now_utc()
    try:
        clue = co.Clue.new(_new_id("XS", sender.region_code), sender, recipient, form, today=today, actor=actor,
                           periods=_periods(), calendar=default_calendar())
    except co.CoordinationError as exc:
        raise _refused(exc) from None
    with db.session() as session:
        store.add_clue(session, clue, "local", now)
        _emit_sent(session, clue)
    return clue.to_json()


def _load_clue(session, scope: Scope, clue_id: str, *, lock=False):
    row = store.clue_row(session, clue_id, lock=lock)
    if row is None or not store.clue_of(row).visible_to(scope):
        raise Refused(404, "not_found", "未找到该线索")
    return row, store.clue_of(row)


def get_clue(db, scope, clue_id: str) -> dict:
    scope = _scope(scope)
    with db.session() as session:
        return _load_clue(session, scope, clue_id)[1].to_json()


def list_clues(db, scope, filters=None) -> list[dict]:
    scope = Scope.of(scope)
    if scope.empty:
        return []
    today = today_china()
    with db.session() as session:
        out = []
        for row in store.clue_rows(session, scope, filters or {}):
            clue = store.clue_of(row)
            out.append({**clue.to_json(), "overdue": clue.overdue(today),
                        "direction": "sent" if scope.covers(clue.sender.region_code, clue.sender.body_id)
                        else "received"})
        return out


def answer_clue(db, scope, clue_id: str, actor: str, form: dict) -> dict:
    """The recipient acknowledges (签收), answers (反馈) or declines jurisdiction (管辖异议 → a dispute)."""
    scope = _scope(scope)
    form = form or {}
    action = form.get("action")
    if action not in ("acknowledge", "feedback", "decline"):
        raise invalid({"action": ["操作应为 acknowledge（签收）、feedback（反馈）或 decline（管辖异议）"]})
    today, now = today_china(), now_utc()
    with db.session() as session:
        row, clue = _load_clue(session, scope, clue_id, lock=True)
        if not scope.covers(clue.recipient.region_code, clue.recipient.body_id):
            raise Refused(403, "out_of_scope", "只有接收机关可以签收、反馈或提出管辖异议")
        try:
            if action == "acknowledge":
                new = clue.acknowledge(on=today, actor=actor)
            elif action == "feedback":
                new = clue.answer(form.get("result"), form.get("feedback"), on=today, actor=actor)
            else:
                new = clue.decline(form.get("reason"), on=today, actor=actor)
                competent = co.party_of(form.get("proposed") or {}, "proposed", {}) if form.get("proposed") else None
                parties = [clue.recipient, clue.sender] + ([competent] if competent else [])
                _open_dispute(session, parties, f"线索“{clue.matter}”的管辖", "clue", clue.clue_id, actor, today, now,
                              home_region=clue.recipient.region_code)
        except co.CoordinationError as exc:
            raise _refused(exc) from None
        store.write_clue(row, new, now)
        _emit_answered(session, new)
    return new.to_json()


def receive_clue(db, event) -> None:
    """A clue sent from another tier (COORD-1): kept here when it is addressed to a body this suite
    serves; a clue between two bodies of another suite (its events cross the link too) is not ours."""
    p = event.payload
    if not _held_here(p["to_region_code"]):
        return
    clue = co.Clue(p["clue_id"], co.Party(p["from_body_id"], p["from_region_code"], p.get("from_name")),
                   co.Party(p["to_body_id"], p["to_region_code"], p.get("to_name")), p["matter"], p["facts"],
                   p["source_kind"], p.get("source_ref"), p.get("party_id"), p["sent_on"], p["acknowledge_due"],
                   p["feedback_due"], bool(p.get("provisional")), version=int(p["version"]),
                   history=(co.history_entry("received", p["sent_on"], "link",
                                             f"收到{p.get('from_name') or p['from_body_id']}移送的线索"),))
    now = now_utc()
    with db.effect_of(event) as session:
        row = store.clue_row(session, clue.clue_id, lock=True)
        if row is None:
            store.add_clue(session, clue, "remote", now)
        elif row.origin == "remote" and int(p["version"]) > row.version:
            # re-addressed by a coordination decision (COORD-2) and sent again: the newest wins
            store.write_clue(row, clue, now)


def receive_answer(db, event) -> None:
    """The recipient's answer from another tier: the sender's copy takes the newest version (any order)."""
    p = event.payload
    now = now_utc()
    with db.effect_of(event) as session:
        row = store.clue_row(session, p["clue_id"], lock=True)
        if row is None or row.origin != "local":
            return      # not a clue this suite sent (the link carries other suites' clues as well)
        clue = store.clue_of(row)
        new = clue.apply_answer(p)
        if new is not clue:
            store.write_clue(row, new, now)


def sweep_clues(db, today: dt.date, batch: int = 200) -> int:
    """逾期督办: clues sent from here, not acknowledged or answered by their due day, escalated."""
    step = configuration.deadline_rules().escalation_step_working_days
    calendar = default_calendar()
    count, last = 0, ""
    while True:
        with db.session() as session:
            ids = store.open_local_clue_ids(session, last, batch)
        if not ids:
            return count
        last = ids[-1]
        for clue_id in ids:
            with db.session() as session:
                row = store.clue_row(session, clue_id, lock=True)
                clue = store.clue_of(row)
                if not clue.overdue(today):
                    continue
                new, steps = clue.apply_escalations(today, calendar, step)
                if not steps:
                    continue
                store.write_clue(row, new, now_utc())
                for s in steps:
                    emit(session, "clue.escalated", {
                        "clue_id": clue.clue_id, "stage": s["stage"], "level": s["level"],
                        "to_region_code": s["to_region_code"], "tier": s["tier"], "due": s["due"],
                        "escalated_on": s["on"]},
                        region_code=clue.recipient.region_code, body_id=clue.recipient.body_id)
                    count += 1


# --- COORD-1: inspection results (结果互认, 多头检查、重复检查) -----------------------------------------
def record_inspection(db, scope, actor: str, form: dict) -> dict:
    scope = _scope(scope)
    form = form or {}
    errors: dict = {}
    body = co.party_of({"body_id": form.get("body_id"), "region_code": form.get("region_code")}, "body", errors)
    if errors:
        raise invalid(errors)
    if not scope.covers(body.region_code, body.body_id):
        raise Refused(403, "out_of_scope", f"无权以执法主体 {body.body_id} 的名义登记检查结果")
    today, now = today_china(), now_utc()
    try:
        data = co.validate_inspection(form, today)
    except co.CoordinationError as exc:
        raise _refused(exc) from None
    window = _periods()[co.REPEAT_WINDOW].value
    result_id = _new_id("JC", body.region_code)
    with db.session() as session:
        earlier = [co.PriorInspection(r.result_id, r.body_id, r.matter, r.inspected_on)
                   for r in store.inspections_of_party(session, data["party_id"],
                                                       data["inspected_on"] - dt.timedelta(days=window))]
        flags = co.repeat_flags(body.body_id, data["matter"], data["inspected_on"], earlier, window)
        row = store.add_inspection(session, result_id, body.body_id, body.region_code, data, flags, actor, now)
        emit(session, "inspection.recorded", {
            "result_id": result_id, "matter": data["matter"], "inspected_on": data["inspected_on"],
            "outcome": data["outcome"], "repeat": flags["repeat"], "multi_body": flags["multi_body"],
            "earlier_ids": flags["earlier_ids"]}, region_code=body.region_code, body_id=body.body_id)
        return dict(row.state)


def party_inspections(db, scope, party_id: str) -> dict:
    """结果互认: every body's results for a party, to any body of the caller's scope (it inspects too)."""
    scope = _scope(scope)
    if not (isinstance(party_id, str) and party_id.strip()):
        raise invalid({"party_id": ["请填写被检查对象的统一社会信用代码或证件号码"]})
    with db.session() as session:
        rows = store.inspections_of_party(session, party_id.strip())
        return {"party_id": party_id.strip(), "results": [
            {**r.state, "outcome_label": co.INSPECTION_OUTCOMES[r.outcome]} for r in rows]}


# --- COORD-2: jurisdiction disputes -----------------------------------------------------------------
def _open_dispute(session, parties, matter, source_kind, source_ref, actor, today, now, *, home_region,
                  caused_by=None) -> co.Dispute:
    if source_ref and store.open_dispute_of(session, source_kind, source_ref) is not None:
        raise co.CoordinationError("该事项已有正在协调的管辖争议", status=409)
    dispute = co.Dispute.open(_new_id("ZY", home_region), parties, matter, source_kind=source_kind,
                              source_ref=source_ref, raised_by=actor, today=today, periods=_periods(),
                              calendar=default_calendar(), home_region=home_region)
    store.add_dispute(session, dispute, now)
    first = dispute.parties[0]
    emit(session, "dispute.opened", {
        "dispute_id": dispute.dispute_id, "parties": [p.to_json() for p in dispute.parties],
        "coordinator_region": dispute.coordinator_region, "source_kind": source_kind, "source_ref": source_ref,
        "raised_on": dispute.raised_on, "decision_due": dispute.decision_due},
        region_code=first.region_code, body_id=first.body_id, caused_by=caused_by)
    return dispute


def raise_dispute(db, scope, actor: str, form: dict) -> dict:
    """管辖争议提请协调 (COORD-2): from a complaint the caller handles (its complained bodies are the parties
    unless named) or by a body of the caller's scope against others."""
    scope = _scope(scope)
    form = form or {}
    kind = form.get("source_kind") or "body"
    today, now = today_china(), now_utc()
    errors: dict = {}
    parties = [co.party_of(p, f"parties.{i}", errors) for i, p in enumerate(form.get("parties") or [])]
    if errors:
        raise invalid(errors)
    with db.session() as session:
        if kind == "complaint":
            row = store.complaint_row(session, form.get("source_ref"))
            if row is None or not store.covers_complaint(scope, row):
                raise Refused(404, "not_found", "未找到该投诉举报")
            subject = store.record_of(row).complaint.subject
            if not parties:
                parties = [co.Party(subject.body_id, subject.body_region_code)] + [
                    co.Party(b.body_id, b.region_code) for b in subject.other_bodies]
            home = row.region_code
        elif kind == "body":
            if not any(scope.covers(p.region_code, p.body_id) for p in parties):
                raise Refused(403, "out_of_scope", "提请协调的机关应为争议一方")
            home = next(p.region_code for p in parties if scope.covers(p.region_code, p.body_id))
        else:
            raise invalid({"source_kind": ["来源应为 complaint（投诉举报）或 body（执法主体提请）；线索的管辖异议由接收机关退回时提出"]})
        try:
            dispute = _open_dispute(session, parties, form.get("matter"), kind, form.get("source_ref") if kind == "complaint"
                                    else None, actor, today, now, home_region=home)
        except co.CoordinationError as exc:
            raise _refused(exc) from None
        return dispute.to_json(today)


def dispute_from_routing(session, row, record, *, caused_by=None) -> co.Dispute | None:
    """At registration: a complaint about bodies whose routing needs coordination (RoutingError …协调, CMP-8)
    becomes a dispute at once (COORD-2) instead of stopping at the warning."""
    subject = record.complaint.subject
    if subject is None or not subject.other_bodies:
        return None
    try:
        route(subject)
        return None
    except RoutingError as exc:
        why = exc.message
    if "协调" not in why:
        return None
    parties = [co.Party(subject.body_id, subject.body_region_code)] + [
        co.Party(b.body_id, b.region_code) for b in subject.other_bodies]
    try:
        return _open_dispute(session, parties, f"投诉举报{record.register_number}的办理机关（{why}）",
                             "complaint", record.register_number, "system", today_china(), now_utc(),
                             home_region=row.region_code, caused_by=caused_by)
    except co.CoordinationError:
        return None


def _load_dispute(session, scope, dispute_id, lock=False):
    row = store.dispute_row(session, dispute_id, lock=lock)
    if row is None or not store.dispute_of(row).visible_to(scope):
        raise Refused(404, "not_found", "未找到该管辖争议")
    return row, store.dispute_of(row)


def list_disputes(db, scope, filters=None) -> list[dict]:
    scope = Scope.of(scope)
    if scope.empty:
        return []
    today = today_china()
    with db.session() as session:
        return [store.dispute_of(r).to_json(today) for r in store.dispute_rows(session, scope, filters or {})]


def get_dispute(db, scope, dispute_id) -> dict:
    scope = _scope(scope)
    with db.session() as session:
        return _load_dispute(session, scope, dispute_id)[1].to_json(today_china())


def add_statement(db, scope, dispute_id, actor, form) -> dict:
    """争议方陈述意见: staff of a party's body."""
    scope = _scope(scope)
    form = form or {}
    with db.session() as session:
        row, dispute = _load_dispute(session, scope, dispute_id, lock=True)
        body_id = form.get("body_id")
        party = dispute.party(body_id) if isinstance(body_id, str) else None
        if party is None:
            raise invalid({"body_id": ["只有争议方可以陈述意见"]})
        if not scope.covers(party.region_code, party.body_id):
            raise Refused(403, "out_of_scope", f"无权以 {party.body_id} 的名义陈述意见")
        try:
            new = dispute.add_statement(party.body_id, form.get("statement"), on=today_china(), actor=actor)
        except co.CoordinationError as exc:
            raise _refused(exc) from None
        store.write_dispute(row, new, now_utc())
        return new.to_json(today_china())


def decide_dispute(db, scope, dispute_id, actor, form) -> dict:
    """协调决定 (COORD-2) by the coordinator's legal office; its effect in the same transaction: the
    complaint is transferred to the unit decided, the clue re-addressed to the competent body."""
    scope = _scope(scope)
    form = form or {}
    errors: dict = {}
    competent = co.party_of(form.get("competent") or {}, "competent", errors)
    unit = co.party_of(form["handling_unit"], "handling_unit", errors) if form.get("handling_unit") else None
    if errors:
        raise invalid(errors)
    today, now = today_china(), now_utc()
    with db.session() as session:
        row, dispute = _load_dispute(session, scope, dispute_id, lock=True)
        if not dispute.may_decide(scope):
            raise Refused(403, "out_of_scope", f"管辖争议由{dispute.coordinator_region}司法行政部门协调决定")
        try:
            new = dispute.decide(competent, form.get("reason"), on=today, actor=actor, handling_unit=unit)
        except co.CoordinationError as exc:
            raise _refused(exc) from None
        _apply_decision(session, new, actor, now, today)
        store.write_dispute(row, new, now)
        emit(session, "dispute.decided", {
            "dispute_id": new.dispute_id, "coordinator_region": new.coordinator_region,
            "competent_body_id": competent.body_id, "competent_region_code": competent.region_code,
            "source_kind": new.source_kind, "source_ref": new.source_ref, "decided_on": today,
            "late": bool(new.decision["late"])}, region_code=competent.region_code, body_id=competent.body_id)
        return new.to_json(today)


def _apply_decision(session, dispute: co.Dispute, actor, now, today) -> None:
    decision = dispute.decision
    basis = f"管辖争议协调决定 {dispute.dispute_id}：{decision['reason']}"
    if dispute.source_kind == "complaint" and dispute.source_ref:
        row = store.complaint_row(session, dispute.source_ref, lock=True)
        if row is None:
            return
        record = store.record_of(row, store.attachment_count(session, row.number))
        unit = co.Party.of(decision["handling_unit"])
        if unit.body_id in complained_bodies(record.complaint.subject):
            raise Refused(409, "invalid_transition", "投诉举报不得交由被投诉的执法主体办理：请指定其上级或法制机构为办理单位",
                          {"handling_unit": ["不得为被投诉的执法主体"]})
        if unit.body_id == record.handler.unit_id:
            return
        try:
            new = record.transfer(Handler(unit.body_id, unit.region_code, unit.name), basis,
                                  at=max(now, record.history[-1].at), actor=actor)
        except TransitionError as exc:
            raise Refused(409, "invalid_transition", exc.message) from None
        store.write_record(row, new, now)
        emit_transferred(session, record, new)
    elif dispute.source_kind == "clue" and dispute.source_ref:
        row = store.clue_row(session, dispute.source_ref, lock=True)
        if row is None:
            return
        clue = store.clue_of(row)
        new = clue.readdress(co.Party.of(decision["competent"]), on=today, actor=actor, periods=_periods(),
                             calendar=default_calendar(), basis=basis)
        store.write_clue(row, new, now)
        _emit_sent(session, new)


# --- COORD-3: transfers -----------------------------------------------------------------------------
def open_transfer(db, scope, actor: str, form: dict) -> dict:
    """移送 (COORD-3): sent now with its documents, or (``pending``) decided and to be sent."""
    scope = _scope(scope)
    form = form or {}
    errors: dict = {}
    body = co.party_of({"body_id": form.get("body_id"), "region_code": form.get("region_code")}, "body", errors)
    if errors:
        raise invalid(errors)
    if not scope.covers(body.region_code, body.body_id):
        raise Refused(403, "out_of_scope", f"无权以执法主体 {body.body_id} 的名义移送")
    today, now = today_china(), now_utc()
    source_kind = "clue" if form.get("clue_id") else "case"
    try:
        transfer = co.Transfer.open(_new_id("YS", body.region_code), body, form, today=today, actor=actor,
                                    periods=_periods(), calendar=default_calendar(),
                                    pending=bool(form.get("pending")), source_kind=source_kind,
                                    source_ref=form.get("clue_id") or form.get("case_id"))
    except co.CoordinationError as exc:
        raise _refused(exc) from None
    with db.session() as session:
        store.add_transfer(session, transfer, now)
        if transfer.status == "sent":
            _emit_transfer_sent(session, transfer, late=False)
    return transfer.to_json(today)


def _emit_transfer_sent(session, t: co.Transfer, late: bool) -> None:
    emit(session, "transfer.sent", {
        "transfer_id": t.transfer_id, "recipient_kind": t.recipient_kind, "recipient_name": t.recipient_name,
        "source_kind": t.source_kind, "source_ref": t.source_ref, "documents": list(t.documents),
        "sent_on": t.sent_on, "late": late, "receipt_due": t.due},
        region_code=t.body.region_code, body_id=t.body.body_id, case_id=t.case_id)


def _emit_transfer_updated(session, t: co.Transfer) -> None:
    emit(session, "transfer.updated", {
        "transfer_id": t.transfer_id, "recipient_kind": t.recipient_kind, "status": t.status,
        "received_on": (t.receipt or {}).get("received_on"), "receipt_no": (t.receipt or {}).get("receipt_no"),
        "outcome": (t.outcome or {}).get("outcome"), "decided_on": (t.outcome or {}).get("decided_on")},
        region_code=t.body.region_code, body_id=t.body.body_id, case_id=t.case_id)


def act_on_transfer(db, scope, transfer_id: str, actor: str, form: dict) -> dict:
    """send (a pending transfer), receipt (受理回执), outcome (立案/不予立案/处分…), by the transferring body."""
    scope = _scope(scope)
    form = form or {}
    action = form.get("action")
    if action not in ("send", "receipt", "outcome"):
        raise invalid({"action": ["操作应为 send（移送）、receipt（登记受理回执）或 outcome（登记结果）"]})
    today, now = today_china(), now_utc()
    with db.session() as session:
        row = store.transfer_row(session, transfer_id, lock=True)
        if row is None or not store.transfer_of(row).visible_to(scope):
            raise Refused(404, "not_found", "未找到该移送记录")
        t = store.transfer_of(row)
        try:
            if action == "send":
                new = t.send(form, today=today, actor=actor, periods=_periods(), calendar=default_calendar())
            elif action == "receipt":
                new = t.record_receipt(form, today=today, actor=actor, periods=_periods(),
                                       calendar=default_calendar())
            else:
                new = t.record_outcome(form, today=today, actor=actor)
        except co.CoordinationError as exc:
            raise _refused(exc) from None
        store.write_transfer(row, new, now)
        if action == "send":
            _emit_transfer_sent(session, new, late=today > t.due)
        else:
            _emit_transfer_updated(session, new)
        return new.to_json(today)


def list_transfers(db, scope, filters=None) -> list[dict]:
    scope = Scope.of(scope)
    if scope.empty:
        return []
    today = today_china()
    with db.session() as session:
        return [store.transfer_of(r).to_json(today) for r in store.transfer_rows(session, scope, filters or {})]


def transfer_from_accountability(db, event) -> None:
    """``evaluation.accountability_decided`` with 移送纪检监察 among its sanctions (COORD-3): a pending
    transfer to discipline inspection is opened for the body (once per accountability case); not sent
    within ``transfer.send`` it is 应移未移."""
    p = event.payload
    key = f"accountability:{p['accountability_case_id']}"
    today, now = today_china(), now_utc()
    body = co.Party(event.body_id, event.region_code)
    officers = [s["target_id"] for s in p.get("sanctions") or [] if s.get("kind") in ("TRANSFER_DISCIPLINE",)]
    form = {"recipient_kind": "discipline_inspection", "recipient_name": f"{event.region_code[:6]}纪委监委",
            "matter": f"责任追究案件{p['accountability_case_id']}决定移送纪检监察机关"
                      + (f"（涉及{len(officers)}名人员）" if officers else "")}
    with db.effect_of(event) as session:
        if not p.get("transfer_to_discipline") or store.transfer_by_source(session, key) is not None:
            return
        try:
            transfer = co.Transfer.open(_new_id("YS", body.region_code), body, form, today=today, actor="system",
                                        periods=_periods(), calendar=default_calendar(), pending=True,
                                        source_kind="accountability", source_ref=p["accountability_case_id"])
        except co.CoordinationError as exc:
            raise InvalidEvent(f"evaluation.accountability_decided cannot open a transfer: {exc.message}") from None
        store.add_transfer(session, transfer, now, source_key=key)


def sweep_transfers(db, today: dt.date, batch: int = 200) -> int:
    """Transfer steps past their day: ``transfer.overdue`` once per stage (应移未移, no receipt, no outcome)."""
    count, last = 0, ""
    while True:
        with db.session() as session:
            ids = store.overdue_transfer_ids(session, today, last, batch)
        if not ids:
            return count
        last = ids[-1]
        for transfer_id in ids:
            with db.session() as session:
                row = store.transfer_row(session, transfer_id, lock=True)
                t = store.transfer_of(row)
                new, stage = t.overdue_now(today)
                if stage is None:
                    continue
                store.write_transfer(row, new, now_utc())
                emit(session, "transfer.overdue", {
                    "transfer_id": t.transfer_id, "recipient_kind": t.recipient_kind, "stage": stage, "due": t.due,
                    "source_kind": t.source_kind}, region_code=t.body.region_code, body_id=t.body.body_id,
                    case_id=t.case_id)
                count += 1


def sweep(db, today: dt.date) -> dict:
    return {"clues_escalated": sweep_clues(db, today), "transfers_overdue": sweep_transfers(db, today)}
