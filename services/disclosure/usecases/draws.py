"""双随机、一公开 (DISC-8): a body announces a draw with its committed inputs and the future public value
that will seed it, draws once the value is public, records the inspection results and publishes each
month's summary. Anyone can recompute a draw from what is published."""
from __future__ import annotations

import datetime as dt

from services.common.db import utcnow
from services.common.workdays import default_calendar
from services.disclosure import inspections, register, store
from services.disclosure.domain.random_inspection import DrawError
from services.disclosure.lifecycle import china_now

from .shared import Refused, day, may_act, refused


def body_for_staff(session, body_id, scope):
    body = register.current(session, "body", body_id, dt.date.max)
    if body is None:
        raise Refused(404, "not_found", f"执法主体 {body_id} 未登记")
    if not may_act(scope, body.region_code, body_id):
        raise Refused(403, "out_of_scope", "无权代表该执法主体")
    return body


def draw_for_staff(session, draw_id, scope):
    row = store.draw(session, draw_id)
    if row is None or not may_act(scope, row.region_code, row.body_id):
        raise Refused(404, "not_found", "未找到该抽查或不在您的管辖范围内")
    return row


def announce(db, body_id, data, actor, scope) -> dict:
    """Publish the draw's committed inputs and the future public value that will seed it."""
    try:
        with db.session() as session:
            body = body_for_staff(session, body_id, scope)
            data = {**data, "public_value_on": day(data["public_value_on"])}
            row = inspections.announce(session, data, body_id, body.region_code, actor, china_now())
            session.flush()
            return inspections.draw_view(row)
    except Refused as exc:
        return exc.as_dict()
    except (DrawError, ValueError) as exc:
        return refused(422, "invalid", str(exc))


def perform(db, draw_id, public_value, scope, today: dt.date) -> dict:
    """Draw with the public value, once it is public (not before its day)."""
    try:
        with db.session() as session:
            row = draw_for_staff(session, draw_id, scope)
            inspections.perform(session, row, public_value, today, china_now())
            return inspections.draw_view(row)
    except Refused as exc:
        return exc.as_dict()
    except DrawError as exc:
        return refused(409, "draw_refused", str(exc))


def record_results(db, draw_id, results, scope) -> dict:
    try:
        with db.session() as session:
            row = draw_for_staff(session, draw_id, scope)
            results = [{**r, "inspected_on": day(r["inspected_on"])} for r in results]
            n = inspections.record_outcomes(session, row, results, utcnow())
            return {"draw_id": draw_id, "recorded": n}
    except Refused as exc:
        return exc.as_dict()
    except DrawError as exc:
        return refused(422, "invalid", str(exc))


def publish_month(db, body_id, year, month, scope, today: dt.date) -> dict:
    """The month's inspection results of a body, published (一公开)."""
    try:
        with db.session() as session:
            body = body_for_staff(session, body_id, scope)
            row = inspections.publish_month(session, body_id, body.content["name"], body.region_code, int(year),
                                            int(month), today, default_calendar())
            session.flush()
            return inspections.month_view(row)
    except Refused as exc:
        return exc.as_dict()
    except ValueError as exc:
        return refused(422, "invalid", str(exc))
