"""Who owns a case (案件归属) — SEC-2 "a case belongs to the body that opened it, and no other
sender may act on it" (PLAT-8; issue 14).

The rule, the same in every service that accepts case events (records, review, disclosure,
evaluation), decided from the event and the service's own copy of the case's transfers, never
from which event happened to arrive first:

- **Namespaced case ids.** A case id belongs to the body whose ``body_id`` it starts with,
  followed by ``-`` or ``:`` (``320412-SCJG-2026-00001`` and ``320412-SCJG:2026-1`` belong to body
  ``320412-SCJG``). So ownership is known from the id alone, whatever the arrival order: no other
  body can "open" an id first (squatting is impossible), append to it, seal it or decide on it.
- **Explicit transfers.** A change of owner (移送, 指定管辖, 管辖变更) is a ``case.transferred``
  event sent by the owner at that moment (or, for a supervisor's designation, by the gateway on
  the supervisor's behalf, naming the owner as the envelope's body). It takes effect at its
  ``occurred_at``: events dated from then on belong to the new body, events dated before it to
  the old one — so an old owner's record delivered late is still its own, whatever the order.
  Transfers are the only stored ownership (table ``case_transfers`` in each consuming service).
- **Refusal.** A departmental case event whose body does not own the case at the event's time is
  not applied anywhere (no partial effect): it waits — the transfer that would make its body the
  owner may still be on its way on another queue — for ``ZHIFA_OWNERSHIP_WAIT_SECONDS``, then
  goes to the service's dead-letter queue with the reason ``case_owned_by_other_body`` and is
  counted (``zhifa_case_ownership_refused_total``).

Events zhifa services emit (``review.classified``, ``record.gaps_found`` …) follow from events
already accepted and are not screened again.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import DateTime, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.common import settings

OWNED_BY_OTHER = "case_owned_by_other_body"
TRANSFER_EVENT = "case.transferred"
SEPARATORS = ("-", ":")


def in_namespace(body_id: str | None, case_id: str | None) -> bool:
    """True when ``case_id`` is in ``body_id``'s namespace: ``<body_id>-…`` or ``<body_id>:…``."""
    if not body_id or not case_id or len(case_id) <= len(body_id) + 1:
        return False
    return case_id.startswith(body_id) and case_id[len(body_id)] in SEPARATORS


def is_screened(event) -> bool:
    """Departmental case events are screened; events zhifa services emit are not."""
    from services.common.catalogue import CATALOGUE
    from services.common.events import DEPARTMENTS

    spec = CATALOGUE.get(event.event_type)
    return bool(event.case_id) and spec is not None and spec.emitter == DEPARTMENTS


def wait_seconds() -> float:
    """How long an event for a case its body does not (yet) own waits for a transfer before it is
    dead-lettered (``case_owned_by_other_body``)."""
    return settings.get("ZHIFA_OWNERSHIP_WAIT_SECONDS")


class OwnershipBase(DeclarativeBase):
    """The ``case_transfers`` table of the services that accept case events (each in its own
    database, created by its own migration)."""


class CaseTransfer(OwnershipBase):
    """A change of a case's owner (移送 / 指定管辖 / 管辖变更), as accepted by this service."""

    __tablename__ = "case_transfers"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    from_body_id: Mapped[str] = mapped_column(String(64))
    to_body_id: Mapped[str] = mapped_column(String(64))
    to_region_code: Mapped[str] = mapped_column(String(9))
    kind: Mapped[str] = mapped_column(String(32))
    effective_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True, order=True)
class Transfer:
    at: dt.datetime                 # effective from (the transfer's occurred_at), UTC
    event_id: str
    case_id: str = field(compare=False)
    from_body: str = field(compare=False)
    to_body: str = field(compare=False)
    to_region: str = field(compare=False)


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:       # SQLite hands back the UTC wall clock
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def transfer_of(event) -> Transfer:
    p = event.payload
    return Transfer(_utc(event.occurred_at), event.event_id, event.case_id, event.body_id, p["to_body_id"],
                    p["to_region_code"])


def _row_transfer(row: CaseTransfer) -> Transfer:
    return Transfer(_utc(row.effective_at), row.event_id, row.case_id, row.from_body_id, row.to_body_id,
                    row.to_region_code)


def chain(transfers) -> list[Transfer]:
    """The transfers that take effect, in time order: each one sent by the owner at its moment
    (the namespace owner until the first, then the previous transfer's receiver). Others do not
    (yet) count — a link arriving early, or a transfer by a body that does not own the case."""
    valid: list[Transfer] = []
    owner: str | None = None        # None: the namespace owner
    for t in sorted(set(transfers)):
        if (in_namespace(t.from_body, t.case_id) if owner is None else t.from_body == owner) \
                and t.to_body != t.from_body:
            valid.append(t)
            owner = t.to_body
    return valid


def owner_at(valid: list[Transfer], at: dt.datetime) -> Transfer | None:
    """The transfer in force at ``at`` (None: the namespace owner still owns the case)."""
    at = _utc(at)
    current = None
    for t in valid:
        if t.at <= at:
            current = t
    return current


def may_act(body_id: str, case_id: str, at: dt.datetime, valid: list[Transfer]) -> bool:
    current = owner_at(valid, at)
    return in_namespace(body_id, case_id) if current is None else body_id == current.to_body


def refusal_reason(event) -> str:
    return (f"{OWNED_BY_OTHER}: case {event.case_id} does not belong to body {event.body_id} "
            f"at {event.occurred_at.isoformat()} (SEC-2) — 案件 {event.case_id} 不属于执法主体 {event.body_id}，"
            f"不得报送该案事件；案件编号应以本机关主体代码加“-”或“:”开头，移交的案件以移送事件为准")


@dataclass
class Screen:
    """``screen``'s answer: the events to apply (in order) and the ones that wait for their owner
    (event id → reason)."""

    accepted: list
    waiting: dict = field(default_factory=dict)


def load_transfers(session: Session, case_ids) -> dict[str, list[Transfer]]:
    from services.common.db import one_of

    case_ids = set(case_ids)
    out: dict[str, list[Transfer]] = {c: [] for c in case_ids}
    if case_ids:
        for row in session.scalars(select(CaseTransfer).where(one_of(session, CaseTransfer.case_id, case_ids))):
            out[row.case_id].append(_row_transfer(row))
    return out


def screen(session: Session, events) -> Screen:
    """Which of ``events`` may be applied (SEC-2): every departmental case event whose body owns
    its case at its time, given the transfers stored and those of this batch that take effect; the
    others wait. One query for the batch (the transfers of its cases)."""
    screened = [e for e in events if is_screened(e)]
    if not screened:
        return Screen(list(events))
    stored = load_transfers(session, {e.case_id for e in screened})
    candidates: dict[str, list[Transfer]] = {}
    for e in screened:
        if e.event_type == TRANSFER_EVENT:
            candidates.setdefault(e.case_id, []).append(transfer_of(e))
    chains = {case_id: chain(stored.get(case_id, []) + candidates.get(case_id, []))
              for case_id in stored.keys() | candidates.keys()}
    accepted, waiting = [], {}
    for e in events:
        if not is_screened(e):
            accepted.append(e)
            continue
        valid = chains.get(e.case_id, [])
        if e.event_type == TRANSFER_EVENT:
            ok = transfer_of(e) in valid
        else:
            ok = may_act(e.body_id, e.case_id, e.occurred_at, valid)
        if ok:
            accepted.append(e)
        else:
            waiting[e.event_id] = refusal_reason(e)
    return Screen(accepted, waiting)


def record_transfer(session: Session, event, now: dt.datetime) -> CaseTransfer:
    """Store an accepted ``case.transferred`` (idempotent by event id)."""
    row = session.get(CaseTransfer, event.event_id)
    if row is None:
        p = event.payload
        row = CaseTransfer(event_id=event.event_id, case_id=event.case_id, from_body_id=event.body_id,
                           to_body_id=p["to_body_id"], to_region_code=p["to_region_code"], kind=p["kind"],
                           effective_at=_utc(event.occurred_at), recorded_at=now)
        session.add(row)
    return row


def current_owners(session: Session, case_ids) -> dict[str, Transfer]:
    """The last transfer that took effect of each case that has one (its owner now; a case without
    one belongs to its namespace owner). One query."""
    out = {}
    for case_id, transfers in load_transfers(session, case_ids).items():
        valid = chain(transfers)
        if valid:
            out[case_id] = valid[-1]
    return out


def current_owner(session: Session, case_id: str) -> Transfer | None:
    return current_owners(session, [case_id]).get(case_id)


class AwaitingOwner(Exception):
    """Raised for an event its body does not own: the entrypoint delays it, then dead-letters it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
