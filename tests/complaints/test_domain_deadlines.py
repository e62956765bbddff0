"""Acknowledgement and handling periods, extension, warnings, escalation (CMP-3, CMP-9, PLAT-6, EVAL-9).

Hand-computed against the State Council 2026 schedule (国办发明电〔2025〕7号):
Spring Festival 2026-02-15…23 off, Sat 02-14 and Sat 02-28 worked; Mid-Autumn 09-25…27 off;
National Day 10-01…07 off, Sun 09-20 and Sat 10-10 worked. The day of receipt is not counted.
"""
from __future__ import annotations

import datetime as dt

import pytest

from services.common.periods import Period
from services.common.identifiers import Tier
from services.common.workdays import WorkingDayCalendar, default_calendar
from services.complaints.domain import (ConfigError, EscalationStep, ExtensionError, WarningLevel,
                                        acknowledgement_deadline, escalation_steps,
                                        handling_period, load_deadline_rules, warning_level)
from services.complaints.domain.deadlines import DeadlineRules
from services.complaints.domain.model import CHINA_TZ

CAL = default_calendar()
D = dt.date

ACK_TABLE = [
    # received,       due              working days counted
    (D(2026, 9, 30), D(2026, 10, 13)),  # 10-08, 10-09, 10-10(Sat, worked), 10-12, 10-13
    (D(2026, 9, 28), D(2026, 10, 10)),  # 09-29, 09-30, 10-08, 10-09, 10-10(Sat, worked)
    (D(2026, 9, 24), D(2026, 10, 9)),   # 09-25…27 Mid-Autumn off; 09-28, 09-29, 09-30, 10-08, 10-09
    (D(2026, 10, 1), D(2026, 10, 13)),  # received during the holiday: 10-08, 10-09, 10-10, 10-12, 10-13
    (D(2026, 2, 10), D(2026, 2, 24)),   # 02-11, 02-12, 02-13, 02-14(Sat, worked), 02-24
    (D(2026, 2, 12), D(2026, 2, 26)),   # 02-13, 02-14(Sat, worked), 02-24, 02-25, 02-26
    (D(2026, 2, 13), D(2026, 2, 27)),   # 02-14(Sat, worked), 02-24, 02-25, 02-26, 02-27
    (D(2026, 2, 16), D(2026, 2, 28)),   # received during the holiday: 02-24…02-27, 02-28(Sat, worked)
]


@pytest.mark.parametrize("received, due", ACK_TABLE, ids=[str(r) for r, _ in ACK_TABLE])
def test_cmp3_acknowledgement_five_working_days_national_day_and_spring_festival_2026(received, due):
    deadline = acknowledgement_deadline(received, calendar=CAL)
    assert deadline.due == due
    assert deadline.working_days == 5
    assert deadline.provisional is False


def test_cmp3_receipt_day_is_the_beijing_day():
    # 2026-09-29 17:00 UTC is 2026-09-30 01:00 in Beijing → counted from 09-30, not 09-29 (which gives 10-12)
    received = dt.datetime(2026, 9, 29, 17, 0, tzinfo=dt.timezone.utc)
    assert acknowledgement_deadline(received, calendar=CAL).due == D(2026, 10, 13)
    assert acknowledgement_deadline(D(2026, 9, 29), calendar=CAL).due == D(2026, 10, 12)


def test_plat6_deadline_into_unknown_year_is_provisional():
    deadline = acknowledgement_deadline(D(2026, 12, 28), calendar=CAL)
    assert (deadline.due, deadline.provisional) == (D(2027, 1, 4), True)


def test_plat6_configured_period_overrides_default():
    assert acknowledgement_deadline(D(2026, 9, 30), calendar=CAL, working_days=3).due == D(2026, 10, 10)
    # calendar days ending on a holiday move to the next working day: 09-28 + 5 days = 10-03 → 10-08
    assert acknowledgement_deadline(D(2026, 9, 28), calendar=CAL, working_days=Period(5, "days")).due == D(2026, 10, 8)


def test_cmp9_handling_thirty_working_days_across_mid_autumn_and_national_day():
    # from Mon 2026-09-21: 09-22…24 (3), 09-28…30 (6), 10-08…10 (9), 10-12…16 (14), 10-19…23 (19),
    # 10-26…30 (24), 11-02…06 (29), 11-09 (30)
    assert handling_period(D(2026, 9, 21), calendar=CAL).base.due == D(2026, 11, 9)   # what acceptance starts


def test_cmp9_extension_once_by_at_most_twenty():
    period = handling_period(D(2026, 9, 21), calendar=CAL)
    extended = period.extend(20, approved_by="局长 张某", approved_on=D(2026, 11, 2), reason="案情复杂需现场核查",
                             calendar=CAL)
    # 11-10…13 (4), 11-16…20 (9), 11-23…27 (14), 11-30…12-04 (19), 12-07 (20)
    assert extended.due == D(2026, 12, 7)
    assert extended.base.due == D(2026, 11, 9)
    assert extended.extension.approved_by == "局长 张某"
    with pytest.raises(ExtensionError, match="只能延长一次"):
        extended.extend(1, approved_by="局长 张某", approved_on=D(2026, 11, 3), reason="再延", calendar=CAL)


@pytest.mark.parametrize("days, approver, on, message", [
    (21, "局长", D(2026, 11, 2), "最多20个工作日"),
    (0, "局长", D(2026, 11, 2), "正整数"),
    (10, "  ", D(2026, 11, 2), "负责人批准"),
    (10, "局长", D(2026, 11, 10), "已于2026-11-09届满"),
])
def test_cmp9_forbidden_extensions(days, approver, on, message):
    period = handling_period(D(2026, 9, 21), calendar=CAL)
    with pytest.raises(ExtensionError, match=message):
        period.extend(days, approved_by=approver, approved_on=on, reason="理由", calendar=CAL)


def test_cmp9_shorter_extension_allowed():
    period = handling_period(D(2026, 9, 21), calendar=CAL)
    assert period.extend(5, approved_by="局长", approved_on=D(2026, 11, 9), reason="补充材料",
                         calendar=CAL).due == D(2026, 11, 16)


@pytest.mark.parametrize("today, level", [
    (D(2026, 10, 9), WarningLevel.NONE),     # 10-10(Sat, worked), 10-12, 10-13 left = 3
    (D(2026, 10, 11), WarningLevel.NONE),    # Sunday: 10-12, 10-13 left = 2
    (D(2026, 10, 12), WarningLevel.YELLOW),  # 1 left
    (D(2026, 10, 13), WarningLevel.YELLOW),  # due today
    (D(2026, 10, 14), WarningLevel.RED),
])
def test_eval9_yellow_and_red_warnings(today, level):
    assert warning_level(D(2026, 10, 13), today, calendar=CAL, yellow_within=1) is level


def test_eval9_completed_steps():
    assert warning_level(D(2026, 10, 13), D(2026, 12, 1), calendar=CAL, completed_on=D(2026, 10, 13)) \
        is WarningLevel.NONE
    assert warning_level(D(2026, 10, 13), D(2026, 12, 1), calendar=CAL, completed_on=D(2026, 10, 14)) \
        is WarningLevel.RED


def test_cmp3_escalation_chain_township_county_city_province():
    steps = escalation_steps("320412001", D(2026, 10, 13), D(2026, 12, 1), calendar=CAL, step_working_days=5)
    # first overdue day 10-14; +5 working days 10-15,16,19,20,21; +5: 10-22,23,26,27,28
    assert steps == [
        EscalationStep(1, "320412", Tier.COUNTY, D(2026, 10, 14)),
        EscalationStep(2, "320400", Tier.CITY, D(2026, 10, 21)),
        EscalationStep(3, "320000", Tier.PROVINCE, D(2026, 10, 28)),
    ]


@pytest.mark.parametrize("handler, today, regions", [
    ("320412001", D(2026, 10, 13), []),
    ("320412001", D(2026, 10, 14), ["320412"]),
    ("320412001", D(2026, 10, 20), ["320412"]),
    ("320412001", D(2026, 10, 21), ["320412", "320400"]),
    ("320412", D(2026, 12, 1), ["320400", "320000"]),
    ("320000", D(2026, 12, 1), []),
])
def test_cmp3_escalation_stops_at_province(handler, today, regions):
    steps = escalation_steps(handler, D(2026, 10, 13), today, calendar=CAL, step_working_days=5)
    assert [s.region_code for s in steps] == regions


def test_cmp9_deadline_rules_file(tmp_path):
    assert load_deadline_rules() == DeadlineRules(1, 5)
    bad = tmp_path / "deadlines.yaml"
    bad.write_text("yellow_within_working_days: 1\nescalation_step_working_days: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="escalation_step_working_days"):
        load_deadline_rules(bad)


def test_plat6_override_calendar_used_for_unknown_year(tmp_path):
    (tmp_path / "2027.yaml").write_text("year: 2027\nholidays: [2027-01-01]\nadjusted_workdays: []\n",
                                        encoding="utf-8")
    cal = WorkingDayCalendar.load(tmp_path)
    deadline = acknowledgement_deadline(dt.datetime(2026, 12, 28, 9, tzinfo=CHINA_TZ), calendar=cal)
    assert (deadline.due, deadline.provisional) == (D(2027, 1, 5), False)
