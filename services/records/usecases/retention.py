"""个人信息删除 (REC-8): the personal data of an archived case whose retention period has ended is erased —
the salts and personal parts beside the log, party links and refused envelopes; the log keeps the
commitments, so every leaf hash, head and proof stays valid. An ``erasure`` entry says what and why.
"Now" is the service's clock, never the caller's (SEC-2: a chosen date could end a retention)."""
from __future__ import annotations

from services.common import clock
from services.common.scope import Scope
from services.records import config, store
from services.records.domain.entries import EntryKind

from .access import error, finish_appends


def erase_personal(db, ledger, case_id, scope, admin, basis):
    moment = clock.now()
    scope = Scope.of(scope)
    with ledger.appending(db) as session:
        case = store.case(session, case_id)
        if case is None or not scope.covers(case.region_code, case.body_id):
            return None
        if not case.sealed or case.archived_at is None:
            return error(409, "not_archived", "案件尚未归档，个人信息保存期限尚未开始计算")
        retention = config.retention_for(case.action_type)
        ends = store.aware(case.archived_at) + retention
        if moment < ends:
            return error(409, "retention_running", f"个人信息保存期限至 {ends.date().isoformat()} 届满，尚不能删除")
        sequences = store.unerased_personal_sequences(session, case_id)
        appender = store.Appender(session, ledger, moment)
        entry = appender.append(EntryKind.ERASURE, case_id=case_id, region_code=case.region_code,
                                body_id=case.body_id, occurred_at=moment,
                                data={"erased_sequences": sequences, "basis": basis, "erased_by": admin,
                                      "retention_days": retention.days,
                                      "retention_ended_on": ends.date().isoformat()})
        finish_appends(appender)
        links = store.erase_personal_rows(session, case_id, sequences, moment, entry.sequence)
        case.title = None
        case.personal_erased_at = moment
        return {"case_id": case_id, "erased_entries": len(sequences), "party_links_removed": links,
                "erasure_sequence": entry.sequence, "erasure_leaf_hash": entry.leaf_hash}


def rekey_party_links(db) -> int | None:
    """Party links written before the keyed index (issue 22) moved to it, one batch per call, one replica
    at a time (lease); None once none is left."""
    if not db.acquire_lease("records.party_links_rekey", 60.0):
        return None
    with db.session() as session:
        return store.rekey_party_links(session)
