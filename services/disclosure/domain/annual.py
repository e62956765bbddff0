"""Annual enforcement statistics (行政执法统计年报) — DISC-7.

Each body publishes last year's enforcement totals by 31 January (每年1月31日前公开本机关上年度
行政执法总体情况有关数据) and reports them to its government and superior department.
:func:`build_annual_report` turns a list of decision records into exact totals;
:func:`render_annual_report` gives a Chinese Markdown body the service templates into HTML.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Mapping, Sequence

from services.common.periods import Period
from services.common.workdays import WorkingDayCalendar

from .deadlines import publication_deadline
from .model import ACTION_TYPE_LABELS, ActionType, parse_action_type
from .publication import WithdrawalReason


@dataclass(frozen=True)
class DecisionRecord:
    """One decision of the year as the statistics need it (no personal data)."""

    case_id: str
    body_id: str
    action_type: ActionType | str
    decided_on: dt.date
    fine_amount: Decimal | int | str | None = None
    permit_granted: bool | None = None  # permits: True granted, False refused, None unknown
    published_on: dt.date | None = None
    publication_due: dt.date | None = None  # if None, computed from the calendar
    publication_period_override: int | None = None
    withheld: bool = False  # not published by law (state secret)
    corrections: int = 0
    withdrawal_reason: WithdrawalReason | str | None = None
    cancelled_before_publication: bool = False  # revoked etc. before it was published: not published at all


@dataclass(frozen=True)
class AnnualReport:
    body_id: str
    body_name: str
    year: int
    as_of: dt.date
    total: int
    by_action_type: dict[ActionType, int]
    fines_count: int
    fines_total: Decimal
    permits_granted: int
    permits_refused: int
    permits_unknown: int
    published_on_time: int
    published_late: int
    unpublished_overdue: int
    unpublished_not_yet_due: int
    withheld: int
    corrections: int
    takedowns: dict[WithdrawalReason, int]
    due: dt.date
    provisional_deadlines: int = 0
    case_ids: tuple[str, ...] = field(default=(), repr=False)
    cancelled_before_publication: int = 0

    @property
    def takedowns_total(self) -> int:
        return sum(self.takedowns.values())


def annual_report_due(year: int) -> dt.date:
    """The report on ``year`` is due 31 January of the following year (DISC-7)."""
    return dt.date(year + 1, 1, 31)


@dataclass(frozen=True)
class ReportTimeliness:
    due: dt.date
    late: bool
    days_late: int  # calendar days after the due date (0 when on time / not yet due)
    message_zh: str


def annual_report_timeliness(year: int, today: dt.date, published_on: dt.date | None = None) -> ReportTimeliness:
    """Is the annual report of ``year`` on time? Late = published after, or still missing after, 31 Jan."""
    due = annual_report_due(year)
    if published_on is not None:
        late = published_on > due
        days = (published_on - due).days if late else 0
        text = (f"{year}年度统计年报于{published_on.isoformat()}公开，" +
                (f"晚于{due.isoformat()}截止日{days}天" if late else "按时公开"))
        return ReportTimeliness(due, late, days, text)
    if today > due:
        days = (today - due).days
        return ReportTimeliness(due, True, days, f"{year}年度统计年报应于{due.isoformat()}前公开，已逾期{days}天未公开")
    return ReportTimeliness(due, False, 0, f"{year}年度统计年报应于{due.isoformat()}前公开")


def build_annual_report(
    body_id: str,
    body_name: str,
    year: int,
    records: Sequence[DecisionRecord],
    as_of: dt.date,
    calendar: WorkingDayCalendar | None = None,
    periods: Mapping[str, Period | int] | None = None,
) -> AnnualReport:
    """Exact totals of one body's decisions of ``year`` — DISC-7.

    Every record must belong to ``body_id`` and be decided in ``year`` (ValueError otherwise:
    totals must equal the inputs, nothing is silently dropped). Case ids must be unique.
    ``as_of`` decides whether an unpublished decision is already overdue. ``calendar`` is needed
    only for records without ``publication_due``.
    """
    seen: set[str] = set()
    by_type = {a: 0 for a in ActionType}
    fines_total, fines_count = Decimal("0"), 0
    granted = refused = unknown = 0
    on_time = late = overdue = not_due = withheld = corrections = provisional = cancelled = 0
    takedowns = {r: 0 for r in WithdrawalReason}
    for rec in records:
        if rec.body_id != body_id:
            raise ValueError(f"record {rec.case_id} belongs to body {rec.body_id}, not {body_id}")
        if rec.decided_on.year != year:
            raise ValueError(f"record {rec.case_id} was decided in {rec.decided_on.year}, not {year}")
        if rec.case_id in seen:
            raise ValueError(f"record {rec.case_id} appears twice")
        seen.add(rec.case_id)
        action = parse_action_type(rec.action_type)
        by_type[action] += 1
        if rec.fine_amount not in (None, ""):
            amount = Decimal(str(rec.fine_amount))
            if amount < 0:
                raise ValueError(f"record {rec.case_id}: negative fine")
            fines_total += amount
            fines_count += 1
        if action is ActionType.PERMIT:
            if rec.permit_granted is True:
                granted += 1
            elif rec.permit_granted is False:
                refused += 1
            else:
                unknown += 1
        corrections += rec.corrections
        if rec.cancelled_before_publication:
            cancelled += 1  # never published: neither a take-down nor late
            continue
        if rec.withdrawal_reason is not None:
            takedowns[WithdrawalReason(rec.withdrawal_reason)] += 1
        if rec.withheld:
            withheld += 1
            continue
        due = rec.publication_due
        if due is None:
            if calendar is None:
                raise ValueError(f"record {rec.case_id} has no publication_due and no calendar was given")
            deadline = publication_deadline(action, rec.decided_on, calendar, rec.publication_period_override, periods)
            due, provisional = deadline.due, provisional + int(deadline.provisional)
        if rec.published_on is not None:
            if rec.published_on <= due:
                on_time += 1
            else:
                late += 1
        elif as_of > due:
            overdue += 1
        else:
            not_due += 1
    return AnnualReport(
        body_id=body_id, body_name=body_name, year=year, as_of=as_of, total=len(seen), by_action_type=by_type,
        fines_count=fines_count, fines_total=fines_total, permits_granted=granted, permits_refused=refused,
        permits_unknown=unknown, published_on_time=on_time, published_late=late, unpublished_overdue=overdue,
        unpublished_not_yet_due=not_due, withheld=withheld, corrections=corrections, takedowns=takedowns,
        due=annual_report_due(year), provisional_deadlines=provisional, case_ids=tuple(sorted(seen)),
        cancelled_before_publication=cancelled,
    )


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):,}"


def render_annual_report(report: AnnualReport, published_on: dt.date | None = None) -> str:
    """Chinese Markdown body of the annual report (统计年报正文)."""
    timeliness = annual_report_timeliness(report.year, report.as_of, published_on)
    published = report.published_on_time + report.published_late
    rate = f"{report.published_on_time * 100 / published:.1f}%" if published else "—"
    lines = [
        f"# {report.body_name}{report.year}年度行政执法数据统计年报",
        "",
        f"统计截至：{report.as_of.isoformat()}　公开截止日期：{report.due.isoformat()}",
        "",
        "## 一、行政执法总体情况",
        "",
        f"本机关{report.year}年度共作出行政执法决定{report.total}件。",
        "",
        "| 行政执法行为类别 | 件数 |",
        "| --- | ---: |",
    ]
    lines += [f"| {ACTION_TYPE_LABELS[a]} | {n} |" for a, n in report.by_action_type.items()]
    lines += [f"| 合计 | {report.total} |", "", "## 二、行政处罚罚款情况", "",
              f"处以罚款{report.fines_count}件，罚款金额合计{_money(report.fines_total)}元。", "",
              "## 三、行政许可情况", "",
              f"作出行政许可决定{report.by_action_type[ActionType.PERMIT]}件，其中准予许可{report.permits_granted}件，"
              f"不予许可{report.permits_refused}件" +
              (f"，结果未标明{report.permits_unknown}件" if report.permits_unknown else "") + "。", "",
              "## 四、执法决定信息公开情况", "",
              f"按时公开{report.published_on_time}件，逾期公开{report.published_late}件，按时公开率{rate}；"
              f"截至统计日逾期未公开{report.unpublished_overdue}件，尚在公开期限内{report.unpublished_not_yet_due}件；"
              f"依法不予公开{report.withheld}件。", "",
              f"更正公示信息{report.corrections}次；撤下公示信息{report.takedowns_total}件"
              f"（依法撤销{report.takedowns[WithdrawalReason.REVOKED]}件，"
              f"被确认违法{report.takedowns[WithdrawalReason.CONFIRMED_ILLEGAL]}件，"
              f"被要求重新作出{report.takedowns[WithdrawalReason.REMADE]}件）。"]
    if report.cancelled_before_publication:
        lines += ["", f"另有{report.cancelled_before_publication}件决定在公开前被依法撤销、确认违法或要求重新作出，不再公开。"]
    if report.provisional_deadlines:
        lines += ["", f"注：{report.provisional_deadlines}件决定的公开期限涉及尚未发布的节假日安排，按暂定期限统计。"]
    lines += ["", f"（{timeliness.message_zh}）", ""]
    return "\n".join(lines)
