"""CMP-7: the approved typical case published on the portal, redacted (``services/disclosure/typical.py``)."""
from __future__ import annotations

import datetime as dt

from services.disclosure import typical


def approved(db, event) -> None:
    with db.effect_of(event) as session:
        typical.publish(session, event, dt.datetime.now(dt.timezone.utc))


def listing(db, region_code=None, limit=50) -> list[dict]:
    with db.session() as session:
        return typical.published(session, region_code, max(1, min(int(limit or 50), 200)))


def one(db, typical_case_id) -> dict | None:
    with db.session() as session:
        return typical.one(session, str(typical_case_id))
