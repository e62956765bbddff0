"""更正补录 (REC-5): a supervisor authorises a correction of a case — also a sealed one. It never
overwrites and says what it corrects: a refused record it admits (the refused event, kept whole, is
appended as a correction), a record added, and/or an earlier entry."""
from __future__ import annotations

import json

from services.common.events import parse_event
from services.common.scope import Scope
from services.records import ingest, store
from services.records.domain import completeness as completeness_rules
from services.records.domain.entries import EntryKind

from .access import error, finish_appends


def add_correction(db, ledger, case_id, scope, supervisor, body):
    scope = Scope.of(scope)
    with ledger.appending(db) as session:
        case = store.case(session, case_id)
        if case is None or not scope.covers(case.region_code, case.body_id):
            return None
        corrects: dict = {}
        appender = store.Appender(session, ledger)
        refused_id = body.get("refused_event_id")
        if body.get("corrects_sequence") is not None:
            target = store.entry(session, body["corrects_sequence"])
            if target is None or target.case_id != case_id:
                return error(422, "bad_reference", f"序号 {body['corrects_sequence']} 不是本案的记录")
            corrects["sequence"] = target.sequence
            corrects["leaf_hash"] = target.leaf_hash
        authorisation = {"authorised_by": supervisor, "corrects": corrects}
        if refused_id:
            refused = store.refused_event(session, refused_id)
            if refused is None or refused.case_id != case_id:
                return error(422, "bad_reference", f"事件 {refused_id} 不是本案被拒收的记录")
            if refused.corrected_by_sequence is not None:
                return error(409, "already_corrected",
                             f"该拒收记录已由序号 {refused.corrected_by_sequence} 的更正补录")
            if refused.envelope is None:
                return error(409, "erased", "该拒收记录的内容已随个人信息删除，无法补录")
            event = parse_event(json.loads(refused.envelope))
            corrects["refused_event_id"] = refused_id
            corrects["refusal_sequence"] = refused.log_sequence
            entry = ingest.append_event(appender, event, completeness_rules.default_rules(),
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
            return error(422, "nothing_to_correct", "须说明更正的对象：被拒收的记录、补录的记录或更正的条目序号")
        finish_appends(appender)
        if case.open_gaps:
            ingest.evaluate_gaps(session, case, case.gaps_scope or case.stage, trigger="correction")
        personal = store.personal_for(session, [entry.sequence])
        row = store.entry(session, entry.sequence)
        return {"correction": store.entry_view(row, personal.get(entry.sequence))}
