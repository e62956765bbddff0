"""DISC-3 publication deadlines and PLAT-6 working days (hand-computed against the 2026 schedule:
National Day 2026-10-01…07 off, Saturday 2026-10-10 and Sunday 2026-09-20 worked, 2026-09-25 off)."""
import datetime as dt

import pytest

from services.common.periods import Period
from services.common.workdays import WorkingDayCalendar
from services.disclosure.domain.deadlines import (
    PublicationStatus, WarningLevel, needs_recompute, period_name, publication_days, publication_deadline,
    publication_status)

D = dt.date
PERIODS = {"disclosure.penalty": Period(7, "working_days"), "disclosure.permit": Period(7, "working_days"),
           "disclosure.other": Period(20, "working_days")}


@pytest.fixture
def cal(tmp_path):
    return WorkingDayCalendar.load(tmp_path)  # library years only, no overrides


@pytest.mark.parametrize("action, decided, due", [
    # 9-29(1) 9-30(2) [10-1..7 off] 10-8(3) 10-9(4) 10-10 Sat worked(5) 10-12(6) 10-13(7)
    ("penalty", D(2026, 9, 28), D(2026, 10, 13)),
    ("permit", D(2026, 9, 28), D(2026, 10, 13)),
    # 9-20 Sun worked(1) 9-21..24(2-5) [9-25 off, 9-26/27 weekend] 9-28(6) 9-29(7)
    ("penalty", D(2026, 9, 18), D(2026, 9, 29)),
    # …continuing: 9-30(8) 10-8(9) 10-9(10) 10-10(11) 10-12..16(12-16) 10-19..22(17-20)
    ("inspection", D(2026, 9, 18), D(2026, 10, 22)),
    # 10-8(1) 10-9(2) 10-10(3) 10-12..16(4-8) 10-19..23(9-13) 10-26..30(14-18) 11-2(19) 11-3(20)
    ("levy", D(2026, 9, 30), D(2026, 11, 3)),
    ("coercive", D(2026, 9, 30), D(2026, 11, 3)),
])
def test_disc3_deadline_across_national_day_and_adjusted_weekend(cal, action, decided, due):
    deadline = publication_deadline(action, decided, cal, periods=PERIODS)
    assert deadline.due == due
    assert deadline.provisional is False


def test_disc3_periods_default_from_config_file(cal):
    assert publication_days("penalty") == 7
    assert publication_days("permit") == 7
    assert publication_days("reward") == 20
    assert period_name("adjudication") == "disclosure.other"
    assert publication_deadline("penalty", D(2026, 9, 28), cal).due == D(2026, 10, 13)


def test_disc3_law_says_otherwise_override(cal):
    # 5 working days: 9-29(1) 9-30(2) 10-8(3) 10-9(4) 10-10(5)
    assert publication_deadline("penalty", D(2026, 9, 28), cal, override_days=5).due == D(2026, 10, 10)
    # a local rule of 10 working days for "other" via the periods mapping
    assert publication_deadline("inspection", D(2026, 9, 28), cal,
                                periods={**PERIODS, "disclosure.other": 10}).due == D(2026, 10, 16)


def test_disc3_unknown_action_type_and_wrong_unit_raise(cal):
    with pytest.raises(ValueError):
        publication_deadline("punishment", D(2026, 9, 28), cal)
    with pytest.raises(ValueError):
        publication_days("penalty", periods={"disclosure.penalty": Period(7, "days")})


def test_plat6_deadline_into_2027_is_provisional_until_schedule_loaded(tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    before = WorkingDayCalendar.load(empty)
    # Mon–Fri rule for 2027: 12-29(1) 12-30(2) 12-31(3) 1-1 Fri counted(4) 1-4(5) 1-5(6) 1-6(7)
    provisional = publication_deadline("penalty", D(2026, 12, 28), before, periods=PERIODS)
    assert provisional.due == D(2027, 1, 6)
    assert provisional.provisional is True

    loaded = tmp_path / "calendar"
    loaded.mkdir()
    (loaded / "2027.yaml").write_text(
        "year: 2027\nsource: test\nholidays:\n  - 2027-01-01\n  - 2027-01-02\n  - 2027-01-03\n"
        "adjusted_workdays: []\n", encoding="utf-8")
    after = WorkingDayCalendar.load(loaded)
    assert needs_recompute(provisional, after) is True
    # 1-1 off now: 12-29(1) 12-30(2) 12-31(3) 1-4(4) 1-5(5) 1-6(6) 1-7(7)
    final = publication_deadline("penalty", D(2026, 12, 28), after, periods=PERIODS)
    assert final.due == D(2027, 1, 7)
    assert final.provisional is False
    assert needs_recompute(final, after) is False


@pytest.mark.parametrize("today, published, status, warning, left, late", [
    (D(2026, 9, 29), None, PublicationStatus.DUE, WarningLevel.NONE, 6, None),
    (D(2026, 10, 3), None, PublicationStatus.DUE, WarningLevel.NONE, 5, None),  # holiday: 10-8,9,10,12,13
    (D(2026, 10, 9), None, PublicationStatus.DUE, WarningLevel.NONE, 3, None),
    (D(2026, 10, 10), None, PublicationStatus.DUE, WarningLevel.YELLOW, 2, None),
    (D(2026, 10, 13), None, PublicationStatus.DUE, WarningLevel.YELLOW, 0, None),
    (D(2026, 10, 14), None, PublicationStatus.OVERDUE, WarningLevel.RED, None, 1),
    (D(2026, 10, 19), None, PublicationStatus.OVERDUE, WarningLevel.RED, None, 4),
    (D(2026, 10, 20), D(2026, 10, 13), PublicationStatus.PUBLISHED_ON_TIME, WarningLevel.NONE, None, None),
    (D(2026, 10, 20), D(2026, 10, 15), PublicationStatus.PUBLISHED_LATE, WarningLevel.NONE, None, 2),
])
def test_disc3_publication_status(cal, today, published, status, warning, left, late):
    deadline = publication_deadline("penalty", D(2026, 9, 28), cal, periods=PERIODS)
    timing = publication_status(deadline, today, cal, published_on=published)
    assert (timing.status, timing.warning, timing.working_days_left, timing.working_days_late) == \
        (status, warning, left, late)
    assert timing.due == D(2026, 10, 13)
    assert "2026-10-13" in timing.message_zh


def test_plat6_disc3_the_deadline_job_recomputes_a_provisional_deadline_once_the_schedule_is_loaded(tmp_path):
    """The job's step (services/disclosure/jobs.py ``recompute``) applies ``needs_recompute``: a deadline
    computed under the calendar in force is kept; under an older one it is computed again, once."""
    from services.disclosure import jobs
    from services.disclosure.models import Publication

    empty, loaded = tmp_path / "none", tmp_path / "calendar"
    empty.mkdir()
    loaded.mkdir()
    (loaded / "2027.yaml").write_text(
        "year: 2027\nsource: test\nholidays:\n  - 2027-01-01\n  - 2027-01-02\n  - 2027-01-03\n"
        "adjusted_workdays: []\n", encoding="utf-8")
    before, after = WorkingDayCalendar.load(empty), WorkingDayCalendar.load(loaded)
    first = publication_deadline("penalty", D(2026, 12, 28), before)
    row = Publication(action_type="penalty", decided_on=D(2026, 12, 28), publication_period_override=None,
                      due_on=first.due, due_provisional=first.provisional, calendar_version=first.calendar_version)
    assert jobs.recompute(row, before) is False and row.due_on == D(2027, 1, 6)
    assert jobs.recompute(row, after) is True
    assert (row.due_on, row.due_provisional, row.calendar_version) == (D(2027, 1, 7), False, after.version)
    assert jobs.recompute(row, after) is False
