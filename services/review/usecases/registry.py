"""What the pre-checks read (REV-3, PLAT-2/3/4): review's copy of the registry (执法主体, 执法人员, 执法证件,
权责清单), the case's actions (调查取证) and the records service's open gaps (文书完备). When such data
changes, the automatic pre-checks of the pending tasks it concerns are re-run; a change of officers
recounts the body's reviewers (REV-7)."""
from __future__ import annotations

from services.common.db import utcnow
from services.review import configuration, store
from services.review.domain import update_prechecks
from services.review.store import aware, to_utc

from . import staffing


def body_registered(db, event) -> None:
    p = event.payload
    with db.effect_of(event) as session:
        store.upsert_body(session, p, utcnow())
        refresh_pending(session, body_ids={p["body_id"]})
        recount_staffing(session, [p["body_id"]])


def officer_registered(db, event) -> None:
    p = event.payload
    with db.effect_of(event) as session:
        moved_from = store.upsert_officer(session, p, event.region_code, utcnow())
        refresh_pending(session, officer_ids={p["officer_id"]})
        recount_staffing(session, [p["body_id"]] + ([moved_from] if moved_from else []))


def certificate_changed(db, event) -> None:
    p = event.payload
    with db.effect_of(event) as session:
        store.add_certificate_change(session, event.event_id, p)
        refresh_pending(session, officer_ids={p["officer_id"]})


def power_published(db, event) -> None:
    p = event.payload
    with db.effect_of(event) as session:
        store.upsert_power_item(session, p)
        refresh_pending(session, body_ids={p["body_id"]})


def case_action(db, event, kind: str, at, officer_ids) -> None:
    """PLAT-3 at the time of action: who acted on the case when (调查取证), for the certificate pre-check."""
    with db.effect_of(event) as session:
        store.add_case_action(session, event.event_id, event.case_id, kind, to_utc(at), officer_ids)
        refresh_cases_before_commit(db, session, event.case_id)


def record_gaps(db, event) -> None:
    """REV-3 文书完备: the records service's open gaps of a case (latest report wins)."""
    p = event.payload
    with db.effect_of(event) as session:
        row = store.record_gaps(session, event.case_id)
        if row is not None and aware(row.reported_at) > event.occurred_at:
            return  # an older report arriving late
        store.set_record_gaps(session, row, event.case_id, open_gap_codes=list(p["open_gap_codes"]),
                              gaps=[{"code": g["code"], "description": g["description"], "stage": g.get("stage")}
                                    for g in p["gaps"]],
                              reported_at=to_utc(event.occurred_at))
        refresh_cases_before_commit(db, session, event.case_id)


def refresh_cases_before_commit(db, session, case_id: str) -> None:
    """Pre-checks of the cases a batch touched are re-run once, at its end (evidence is 60% of
    the departmental traffic: a query per event would dominate the service)."""
    db.once_before_commit(session, "review.refresh_cases",
                          lambda case_ids: refresh_pending(session, case_ids=case_ids), case_id)


def refresh_pending(session, *, case_ids=(), body_ids=(), officer_ids=()) -> int:
    """Re-run the automatic pre-checks of pending tasks whose data changed (the history says so). A task
    not listed in review_task_officers yet is listed now, whether or not its pre-checks changed."""
    case_ids, body_ids, officer_ids = set(case_ids), set(body_ids), set(officer_ids)
    # a proposal reading these for its pre-checks has committed its task before we look (hold_checked_data)
    store.hold_checked_data(session, changes=[("officer", o) for o in officer_ids] + [("body", b) for b in body_ids]
                            + [("case", c) for c in case_ids])
    changed = 0
    config, benchmarks = configuration.checklist_config(), configuration.benchmarks()
    for row in store.pending_tasks(session, case_ids=case_ids, body_ids=body_ids, officer_ids=officer_ids):
        task = store.decode(row)
        proposal = task.current.proposal
        store.list_officers(row, proposal.officer_ids)
        if not (row.case_id in case_ids or row.body_id in body_ids or officer_ids & set(proposal.officer_ids)):
            continue
        results = store.compute_prechecks(session, proposal, config, benchmarks)
        now = store.step_time(task)
        updated = update_prechecks(task, results, now)
        if updated is not task:
            store.save(row, updated, now)
            changed += 1
    return changed


def recount_staffing(session, body_ids, emit_events: bool = True) -> list[dict]:
    """REV-7 审核人员配备: recount the bodies' reviewers against their officers."""
    s = configuration.review_settings()
    return staffing.recount(session, body_ids, min_ratio=s.min_ratio, grace_hours=s.grace_hours, now=utcnow(),
                            emit_events=emit_events)
