"""事后公开 (DISC-3…DISC-6): a decision made is published within its deadline in working days, redacted
and fail closed (DISC-4: an entry that still shows personal data is held); a revocation takes the
decision in force when it was decided down, also when it arrives first (issue 14: order is not
guaranteed); from a case's transfer on, its decisions come from its new body (SEC-2)."""
from __future__ import annotations

import logging

from services.common import ownership
from services.common.db import utcnow
from services.common.events import InvalidEvent
from services.common.workdays import default_calendar
from services.disclosure import lifecycle

log = logging.getLogger(__name__)


def preload(db, session, events) -> list:
    """The batch's publications read at once; its index rows go in together, before its commit."""
    lifecycle.preload_decisions(session, events)
    db.once_before_commit(session, "disclosure.finish_decisions", lambda _: lifecycle.finish_decisions(session))
    return []


def decision_made(db, event) -> None:
    """DISC-3: deadline in working days; DISC-4: publish only the redacted entry (fail closed)."""
    try:
        with db.effect_of(event) as session:
            if lifecycle.create_from_decision(session, event, default_calendar()) is not None:
                # DISC-6: a revocation that arrived first (issue 14: order is not guaranteed)
                lifecycle.apply_revocations(session, event.case_id)
    except ValueError as exc:  # the payload cannot be read as a decision
        raise InvalidEvent(f"decision.made cannot be published: {exc}") from None


def decision_revoked(db, event) -> None:
    """DISC-6: revoked / confirmed illegal / re-made → taken down (published) or never published (pending)."""
    with db.effect_of(event) as session:
        revocation = lifecycle.record_revocation(session, event)
        lifecycle.apply_revocations(session, event.case_id)
        if revocation.applied_to is None:
            log.warning("decision.revoked %s: no decision of case %s decided by %s yet; kept until it arrives",
                        event.event_id, event.case_id, event.payload["decided_at"].isoformat())


def case_transferred(db, event) -> None:
    """SEC-2: from the transfer on, the case's decisions and revocations come from its new body."""
    with db.effect_of(event) as session:
        ownership.record_transfer(session, event, utcnow())
