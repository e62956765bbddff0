"""事前公开 from the departmental registry (DISC-1, DISC-2, PLAT-4): bodies (执法主体), officers (执法人员),
certificates (执法证件) and power lists (权责清单) kept as versions valid from a day."""
from __future__ import annotations

from services.disclosure import register


def body_registered(db, event) -> None:
    with db.effect_of(event) as session:
        register.on_body_registered(session, event)


def officer_registered(db, event) -> None:
    with db.effect_of(event) as session:
        register.on_officer_registered(session, event)


def certificate_status_changed(db, event) -> None:
    with db.effect_of(event) as session:
        register.on_certificate_status_changed(session, event)


def power_published(db, event) -> None:
    with db.effect_of(event) as session:
        register.on_power_published(session, event)
