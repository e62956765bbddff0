"""Across tiers (PLAT-1, COORD-4, EVAL-4, issue 23): directives issued by the tier above and received
over the downward link, the cities' final grades received at the province over the upward link, and
the heartbeats that show each link alive."""
from __future__ import annotations

import datetime as dt
import logging

from services.common import links, settings
from services.common.events import InvalidEvent
from services.common.scope import Scope
from services.evaluation import domain as d
from services.evaluation import store

from .shared import scoped, today_in_china

log = logging.getLogger(__name__)


def send_heartbeats() -> None:
    """A heartbeat over each of this suite's tier links, and its buffers' depths (off when the interval is 0)."""
    if not links.interval():
        return
    try:
        links.beat(settings.amqp_uri())
    except Exception as exc:  # noqa: BLE001 - the broker is away: the other end's alert says so
        log.warning("link heartbeat not sent: %s", exc)


def receive_directive(db, event) -> None:
    """A supervision item the province issued to a body of this city arrives over the link; kept once,
    with when it arrived (not when issued)."""
    with db.effect_of(event) as session:
        store.keep_directive(session, event, dt.datetime.now(dt.timezone.utc))


def received_directives(db, scope) -> list[dict]:
    """Directives from the tier above for the bodies in the caller's scope (region and bodies)."""
    scope = Scope.of(scope)
    with db.session() as session:
        return [{"item_id": r.item_id, "kind": r.kind, "issuer_region": r.issuer_region,
                 "target_body_id": r.target_body_id, "target_region": r.target_region, "subject": r.subject,
                 "due_on": r.due_on.isoformat(), "due_provisional": r.due_provisional,
                 "received_at": r.received_at.isoformat() if r.received_at else None}
                for r in store.received_directives(session) if scope.covers(r.target_region, r.target_body_id)]


def receive_city_grade(db, event) -> None:
    """A city's final grade of a body or officer arrives at the province: kept once per subject and
    year (the latest finalisation wins, domain ``supersedes``)."""
    p = event.payload
    try:
        incoming = d.ReceivedGrade(
            subject_kind=p["subject_kind"], subject_id=p["subject_id"], year=p["year"],
            region_code=event.region_code, body_id=event.body_id, total=p["total"], by_total=p["by_total"],
            grade=p["grade"], finalised_at=event.occurred_at, decided_by=p["decided_by"],
            reasons=tuple(p.get("reasons") or ()), event_id=event.event_id)
    except ValueError as exc:
        raise InvalidEvent(f"evaluation.grade_finalised: {exc}") from None
    with db.effect_of(event) as session:
        row = store.received_grade_row(session, incoming.key)
        if row is not None and not d.supersedes(incoming, store.received_grade_of(row)):
            return
        store.write_received_grade(session, row, incoming, dt.datetime.now(dt.timezone.utc))


def received_grades(db, scope, region_code=None, year=None) -> dict:
    """The cities' final grades received over the upward link, per city, in the caller's scope."""
    region = scoped(scope, region_code)
    year = d.check_year(year or today_in_china().year, today_in_china())
    with db.session() as session:
        grades = [store.received_grade_of(r) for r in store.received_grades_in(session, region, year)]
    return {"region_code": region, "year": year, "cities": d.by_city(grades)}
