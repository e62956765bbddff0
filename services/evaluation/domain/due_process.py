"""Due process before accountability (EVAL-6; issue 16).

A violation fact becomes an accountability clue only when it is final, and nothing counts against an
officer until a supervisor accepts the clue (立案):

- **record gaps** (``record_gap``, ``av_missing``): records reports the open gaps of a case each time
  they change (``record.gaps_found``: at the decision for the steps up to it, at archiving for the
  whole file, and when a later record closes a gap). A gap is a step's record missing *after the step
  was due* — the report that first found it is the step's deadline (the decision, the archiving) —
  and records still in flight get a grace period of ``grace_working_days`` Chinese working days
  (services/common/workdays.py). The gap is final when it is still open at the end of that period;
  the evaluation service's periodic job decides that by the suite's clock, never a caller's date.
  The outcome depends only on the set of reports, not on the order they arrived in: the state of a
  case is its latest report by the time records made it (``occurred_at``, then event id).
- **one clue per case and kind**, not per event;
- a clue whose gap closes before it is accepted is withdrawn (撤回线索), with its history kept;
- an officer's violation facts count in their score only when the clue holding them was accepted and
  not dismissed, found groundless, exempted or withdrawn (``accountability.counts_against``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from services.common.workdays import WorkingDayCalendar

from .accountability import FACT_KIND_TO_SOURCE
from .facts import Fact

CHINA = dt.timezone(dt.timedelta(hours=8))
GAP_KINDS = ("record_gap", "av_missing")


@dataclass(frozen=True)
class GapReport:
    """One ``record.gaps_found`` of a case: which kinds of gap were open when records made it."""

    event_id: str
    case_id: str
    occurred_at: dt.datetime          # aware
    open_kinds: frozenset[str]

    @property
    def order(self) -> tuple:
        at = self.occurred_at if self.occurred_at.tzinfo else self.occurred_at.replace(tzinfo=dt.timezone.utc)
        return (at, self.event_id)


@dataclass(frozen=True)
class GapStatus:
    kind: str
    open: bool                        # open in the case's latest report
    since: GapReport | None           # the report that opened the current open spell (its deadline)
    final_after: dt.date | None       # the last day of the grace period
    final: bool                       # open past the grace period: a clue


def gap_status(reports: Iterable[GapReport], kind: str, calendar: WorkingDayCalendar, grace_working_days: int,
               today: dt.date) -> GapStatus:
    """Whether a case's gap of ``kind`` is final on ``today``: open in the latest report and open ever
    since a report at least ``grace_working_days`` working days before (the end of that grace day
    passed). Independent of the order in which the reports arrived."""
    ordered = sorted(reports, key=lambda r: r.order)
    if not ordered or kind not in ordered[-1].open_kinds:
        return GapStatus(kind, False, None, None, False)
    since = ordered[-1]
    for report in reversed(ordered):
        if kind not in report.open_kinds:
            break
        since = report
    day = since.order[0].astimezone(CHINA).date()
    final_after = calendar.add_working_days(day, grace_working_days).due
    return GapStatus(kind, True, since, final_after, today > final_after)


def counts_against_officer(fact: Fact, accepted: set[tuple[str, str]]) -> bool:
    """An officer's fact counts in their score unless it is a violation whose clue was not accepted
    (``accepted``: (fact kind, event id) of the accepted clues' source events)."""
    if fact.officer_id is None or fact.kind not in FACT_KIND_TO_SOURCE:
        return True
    return (fact.kind, fact.event_id) in accepted
