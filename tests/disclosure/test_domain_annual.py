"""DISC-7 annual statistics: totals equal the inputs exactly; due 31 January."""
import datetime as dt
from decimal import Decimal

import pytest

from services.common.workdays import WorkingDayCalendar
from services.disclosure.domain.annual import (
    DecisionRecord, annual_report_due, annual_report_timeliness, build_annual_report, render_annual_report)
from services.disclosure.domain.model import ActionType
from services.disclosure.domain.publication import WithdrawalReason

D = dt.date
B = "B-320100-SCJG"


def records():
    return [
        # penalties: due given explicitly
        DecisionRecord("C01", B, "penalty", D(2026, 3, 2), Decimal("50000"), published_on=D(2026, 3, 5),
                       publication_due=D(2026, 3, 11)),
        DecisionRecord("C02", B, "penalty", D(2026, 4, 1), "1234.56", published_on=D(2026, 4, 20),
                       publication_due=D(2026, 4, 13), corrections=2),
        DecisionRecord("C03", B, "penalty", D(2026, 5, 6), 200, publication_due=D(2026, 5, 15),
                       withdrawal_reason=WithdrawalReason.REVOKED, published_on=D(2026, 5, 8)),
        DecisionRecord("C04", B, "penalty", D(2026, 12, 30), Decimal("0.44")),  # due computed, unpublished
        # permits: due computed from the calendar (7 working days)
        DecisionRecord("C05", B, ActionType.PERMIT, D(2026, 9, 28), permit_granted=True,
                       published_on=D(2026, 10, 13)),  # due 10-13 → on time
        DecisionRecord("C06", B, "permit", D(2026, 9, 28), permit_granted=False,
                       published_on=D(2026, 10, 14)),  # late
        DecisionRecord("C07", B, "permit", D(2026, 6, 1), published_on=D(2026, 6, 2)),  # outcome unknown
        # others
        DecisionRecord("C08", B, "inspection", D(2026, 7, 1), published_on=D(2026, 7, 10)),
        DecisionRecord("C09", B, "coercive", D(2026, 8, 3), withheld=True),
        DecisionRecord("C10", B, "coercive", D(2026, 8, 4), published_on=D(2026, 8, 5),
                       withdrawal_reason="remade", corrections=1),
        DecisionRecord("C11", B, "levy", D(2026, 11, 2)),  # unpublished, overdue by the as-of date
        DecisionRecord("C12", B, "reward", D(2026, 2, 2), published_on=D(2026, 2, 3),
                       withdrawal_reason=WithdrawalReason.CONFIRMED_ILLEGAL),
    ]


@pytest.fixture
def cal(tmp_path):
    return WorkingDayCalendar.load(tmp_path)


def test_disc7_totals_equal_inputs(cal):
    r = build_annual_report(B, "南京市市场监督管理局", 2026, records(), as_of=D(2027, 1, 5), calendar=cal)
    assert r.total == 12
    assert r.by_action_type == {
        ActionType.PENALTY: 4, ActionType.PERMIT: 3, ActionType.COERCIVE: 2, ActionType.INSPECTION: 1,
        ActionType.LEVY: 1, ActionType.REQUISITION: 0, ActionType.BENEFIT: 0, ActionType.CONFIRMATION: 0,
        ActionType.ADJUDICATION: 0, ActionType.COMPENSATION: 0, ActionType.REWARD: 1}
    assert sum(r.by_action_type.values()) == r.total
    assert r.fines_total == Decimal("51435.00") and r.fines_count == 4  # 50000 + 1234.56 + 200 + 0.44
    assert (r.permits_granted, r.permits_refused, r.permits_unknown) == (1, 1, 1)
    # on time: C01 C03 C05 C07 C08 C10 C12 ; late: C02 C06 ; overdue: C11 (due 2026-11-30) ;
    # not yet due: C04 (12-30 + 7 working days reaches into 2027 → provisional) ; withheld: C09
    assert (r.published_on_time, r.published_late, r.unpublished_overdue, r.unpublished_not_yet_due,
            r.withheld) == (7, 2, 1, 1, 1)
    assert r.published_on_time + r.published_late + r.unpublished_overdue + r.unpublished_not_yet_due \
        + r.withheld == r.total
    assert r.corrections == 3
    assert r.takedowns == {WithdrawalReason.REVOKED: 1, WithdrawalReason.CONFIRMED_ILLEGAL: 1,
                           WithdrawalReason.REMADE: 1}
    assert r.provisional_deadlines == 1
    assert r.due == D(2027, 1, 31)


def test_disc7_rejects_records_that_do_not_belong(cal):
    with pytest.raises(ValueError):
        build_annual_report(B, "x", 2026, [DecisionRecord("X", B, "penalty", D(2025, 12, 31))], D(2027, 1, 5), cal)
    with pytest.raises(ValueError):
        build_annual_report(B, "x", 2026, [DecisionRecord("X", "OTHER", "penalty", D(2026, 1, 5))], D(2027, 1, 5), cal)
    dup = DecisionRecord("X", B, "penalty", D(2026, 1, 5), publication_due=D(2026, 1, 14))
    with pytest.raises(ValueError):
        build_annual_report(B, "x", 2026, [dup, dup], D(2027, 1, 5), cal)


def test_disc7_due_31_january_and_late_flag():
    assert annual_report_due(2026) == D(2027, 1, 31)
    assert annual_report_timeliness(2026, D(2027, 1, 20)).late is False
    assert annual_report_timeliness(2026, D(2027, 2, 3)).late is True
    assert annual_report_timeliness(2026, D(2027, 2, 3)).days_late == 3
    on_time = annual_report_timeliness(2026, D(2027, 3, 1), published_on=D(2027, 1, 31))
    assert on_time.late is False
    late = annual_report_timeliness(2026, D(2027, 3, 1), published_on=D(2027, 2, 2))
    assert (late.late, late.days_late) == (True, 2)


def test_disc7_rendered_report(cal):
    r = build_annual_report(B, "南京市市场监督管理局", 2026, records(), as_of=D(2027, 1, 5), calendar=cal)
    text = render_annual_report(r)
    assert text.startswith("# 南京市市场监督管理局2026年度行政执法数据统计年报")
    assert "本机关2026年度共作出行政执法决定12件。" in text
    assert "| 行政处罚 | 4 |" in text and "| 合计 | 12 |" in text
    assert "处以罚款4件，罚款金额合计51,435.00元。" in text
    assert "其中准予许可1件，不予许可1件，结果未标明1件。" in text
    assert "按时公开7件，逾期公开2件，按时公开率77.8%" in text
    assert "撤下公示信息3件（依法撤销1件，被确认违法1件，被要求重新作出1件）" in text
