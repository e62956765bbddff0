"""PLAT-6: Chinese working days, override files, provisional deadlines."""
import datetime as dt

import pytest

from services.common.workdays import WorkingDayCalendar, load_override_file

D = dt.date


@pytest.fixture
def calendar(tmp_path):
    return WorkingDayCalendar.load(tmp_path)  # library years only


def test_plat6_national_day_2026_is_skipped(calendar):
    # 2026-10-01..07 National Day holiday; 2026-09-30 is a Wednesday; 10-10 (Saturday) is 调休上班
    deadline = calendar.add_working_days(D(2026, 9, 30), 1)
    assert deadline.due == D(2026, 10, 8)
    assert calendar.add_working_days(D(2026, 9, 30), 3).due == D(2026, 10, 10)
    assert all(not calendar.is_working_day(D(2026, 10, d)) for d in range(1, 8))
    assert deadline.provisional is False


def test_plat6_adjusted_working_weekend_counts(calendar):
    # 2026-01-04 (Sunday) is an adjusted working day after New Year 2026 (调休上班)
    assert D(2026, 1, 4).weekday() == 6 and calendar.is_working_day(D(2026, 1, 4))
    # decided Wed 2025-12-31: Jan 1–3 holiday, Jan 4 (Sun) working → 1 working day later is Jan 4
    assert calendar.add_working_days(D(2025, 12, 31), 1).due == D(2026, 1, 4)


def test_plat6_seven_working_days_from_a_friday(calendar):
    # Fri 2026-11-20 + 7 working days = Tue 2026-12-01 (weekends skipped, day of decision not counted)
    assert calendar.add_working_days(D(2026, 11, 20), 7).due == D(2026, 12, 1)


def test_plat6_unknown_year_is_provisional_until_its_schedule_is_loaded(tmp_path):
    calendar = WorkingDayCalendar.load(tmp_path)
    before = calendar.add_working_days(D(2026, 12, 30), 3)
    assert before.provisional is True and before.due == D(2027, 1, 4)  # Mon–Fri rule: Dec 31, Jan 1, Jan 4
    (tmp_path / "2027.yaml").write_text(
        "year: 2027\nsource: test schedule\nholidays: [2027-01-01, 2027-01-04]\nadjusted_workdays: [2027-01-09]\n")
    reloaded = WorkingDayCalendar.load(tmp_path)
    after = reloaded.add_working_days(D(2026, 12, 30), 3)
    assert after.provisional is False and after.due == D(2027, 1, 6)
    assert after.calendar_version != before.calendar_version   # running deadlines know to recompute


def test_plat6_override_file_rejects_dates_of_another_year(tmp_path):
    path = tmp_path / "2027.yaml"
    path.write_text("year: 2027\nholidays: [2026-01-01]\n")
    with pytest.raises(ValueError, match="outside 2027"):
        load_override_file(path)


def test_working_days_between(calendar):
    assert calendar.working_days_between(D(2026, 11, 20), D(2026, 12, 1)) == 7
    assert calendar.working_days_between(D(2026, 12, 1), D(2026, 11, 20)) == 0
