"""Final grades received from the cities over the upward link, kept once and shown per city (EVAL-4, PLAT-1)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.evaluation.domain import ReceivedGrade, by_city, supersedes

UTC = dt.timezone.utc


def grade(subject_id="320412-SCJG", kind="body", region="320412", grade_="合格", total="82.50", at=None, year=2026):
    return ReceivedGrade(kind, subject_id, year, region, subject_id if kind == "body" else "320412-SCJG",
                         Decimal(total), grade_, grade_, at or dt.datetime(2027, 1, 5, 9, tzinfo=UTC), "sup-1")


def test_eval4_the_later_finalisation_wins_redeliveries_and_late_arrivals_change_nothing():
    first = grade()
    corrected = grade(grade_="不合格", total="58.00", at=dt.datetime(2027, 1, 20, tzinfo=UTC))
    assert supersedes(first, None)
    assert supersedes(corrected, first)
    assert not supersedes(first, corrected)          # the older one arriving late
    assert not supersedes(first, first)              # the same one again
    with pytest.raises(ValueError):
        supersedes(grade(year=2025), first)


def test_eval4_received_grades_are_counted_per_city_bodies_and_officers_apart():
    """PLAT-1: 常州 (320400) and 苏州 (320500) each with their own counts; the province itself maps to itself."""
    cities = by_city([
        grade("320412-SCJG", region="320412", grade_="优秀", total="93.00"),
        grade("320411-SCJG", region="320411", grade_="不合格", total="55.00"),
        grade("officer-1", kind="officer", region="320412", grade_="合格"),
        grade("320502-SCJG", region="320502", grade_="合格"),
        grade("320000-SFT", region="320000", grade_="合格"),
    ])
    assert [c["city_code"] for c in cities] == ["320000", "320400", "320500"]
    changzhou = cities[1]
    assert changzhou["bodies"] == {"优秀": 1, "合格": 0, "不合格": 1}
    assert changzhou["officers"] == {"优秀": 0, "合格": 1, "不合格": 0}
    assert [(g["subject_kind"], g["subject_id"]) for g in changzhou["grades"]] == [
        ("body", "320411-SCJG"), ("body", "320412-SCJG"), ("officer", "officer-1")]
    assert changzhou["grades"][1]["total"] == "93.00" and changzhou["grades"][1]["city_code"] == "320400"
    assert cities[2]["bodies"]["合格"] == 1


def test_eval4_a_received_grade_must_be_a_known_grade_and_kind():
    with pytest.raises(ValueError):
        grade(grade_="良好")
    with pytest.raises(ValueError):
        grade(kind="team")
    with pytest.raises(ValueError):
        ReceivedGrade("body", "b", 2026, "320412", "b", Decimal("1"), "合格", "合格", dt.datetime(2027, 1, 1))
