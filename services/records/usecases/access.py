"""调阅登记 (REC-6): every read of a case's records through the API appends an ``access`` entry to the
log — who, in which role, which view, for which purpose (sealed beside the log), and the gateway
request's correlation id (its audit entries, SEC-3, name it too)."""
from __future__ import annotations

import datetime as dt

from services.records import metrics as rec_metrics
from services.records import ingest, store
from services.records.domain.entries import EntryKind
from services.records.models import Case

MAX_PAGE = 200


def error(status: int, code: str, message: str) -> dict:
    """A refusal as the RPC answers it (the gateway turns it into the HTTP error)."""
    return {"error": {"status": status, "code": code, "message": message}}


def log_access(appender, case: Case, accessor: dict | None, view: str, **data) -> None:
    if not accessor:
        return
    appender.append(EntryKind.ACCESS, case_id=case.case_id, region_code=case.region_code, body_id=case.body_id,
                    occurred_at=appender.now,
                    data={"accessor": accessor.get("subject"), "role": accessor.get("role"), "view": view,
                          "accessor_region": accessor.get("region_code"),
                          "purpose_stated": bool(accessor.get("purpose_stated", True)),
                          # the gateway request's correlation id: its audit entries (SEC-3) name it too
                          **({"request_id": accessor["request_id"]} if accessor.get("request_id") else {}),
                          **data},
                    personal={"purpose": accessor.get("purpose") or ""},
                    index={"subject": accessor.get("subject"), "role": accessor.get("role"), "view": view})
    rec_metrics.ACCESSES.labels(case.region_code, accessor.get("role") or "", view).inc()


def finish_reads(session, ledger, appender) -> None:
    """The access entries appended and counted (no per-batch event, issue 17)."""
    appender.flush()
    ingest.count_appended(appender.appended)


def refusal_view(r) -> dict:
    return {"event_id": r.event_id, "event_type": r.event_type, "case_id": r.case_id, "region_code": r.region_code,
            "body_id": r.body_id, "reason": r.reason, "refused_at": store.iso(r.refused_at),
            "log_sequence": r.log_sequence, "corrected_by_sequence": r.corrected_by_sequence,
            "content_kept": r.envelope is not None}


def parse_time(value):
    """A filter's time (ISO; China time when it names no zone) in UTC."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(str(value))   # checked by the gateway
    return store.to_utc(moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=8))))
