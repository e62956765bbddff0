"""Final grades received from the cities (考核结果上报) — EVAL-4, PLAT-1, COORD-4.

Each city suite finalises the grades of the bodies and officers it evaluates and emits
``evaluation.grade_finalised``; the upward link brings them to the province, which keeps one grade
per subject and year and shows them per city. Pure: no I/O.

- :func:`supersedes` — which of two received grades of the same subject and year is kept: the one
  finalised later (a city that re-finalises after a correction); the same or an older one changes
  nothing (redeliveries, late arrivals).
- :func:`by_city` — the grades per city: counts of 优秀 / 合格 / 不合格 for bodies and officers, and the
  subjects themselves.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

from services.common.identifiers import city_of

from .grades import Grade

SUBJECT_KINDS = ("body", "officer")


@dataclass(frozen=True)
class ReceivedGrade:
    """A final grade as a city sent it (``evaluation.grade_finalised``)."""

    subject_kind: str
    subject_id: str
    year: int
    region_code: str
    body_id: str
    total: Decimal
    by_total: str
    grade: str
    finalised_at: dt.datetime
    decided_by: str = ""
    reasons: tuple[str, ...] = field(default_factory=tuple)
    event_id: str = ""

    def __post_init__(self):
        if self.subject_kind not in SUBJECT_KINDS:
            raise ValueError(f"subject_kind must be body or officer, got {self.subject_kind!r}")
        Grade.parse(self.grade)
        Grade.parse(self.by_total)
        if self.finalised_at.tzinfo is None:
            raise ValueError("finalised_at must be timezone-aware")
        object.__setattr__(self, "total", Decimal(str(self.total)))
        object.__setattr__(self, "reasons", tuple(self.reasons))

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.subject_kind, self.subject_id, self.year)

    @property
    def city_code(self) -> str:
        return city_of(self.region_code)

    def to_json(self) -> dict[str, Any]:
        return {"subject_kind": self.subject_kind, "subject_id": self.subject_id, "year": self.year,
                "region_code": self.region_code, "city_code": self.city_code, "body_id": self.body_id,
                "total": str(self.total), "by_total": self.by_total, "grade": self.grade,
                "reasons": list(self.reasons), "decided_by": self.decided_by,
                "finalised_at": self.finalised_at.isoformat(), "event_id": self.event_id}


def supersedes(incoming: ReceivedGrade, kept: ReceivedGrade | None) -> bool:
    """Whether ``incoming`` replaces the grade ``kept`` for the same subject and year."""
    if kept is None:
        return True
    if incoming.key != kept.key:
        raise ValueError("grades of different subjects or years")
    return incoming.finalised_at > kept.finalised_at


def by_city(grades: Iterable[ReceivedGrade]) -> list[dict[str, Any]]:
    """Per city (ascending code): counts per grade for bodies and officers, and the grades (bodies
    first, then officers, by subject id)."""
    cities: dict[str, dict[str, Any]] = {}
    for g in grades:
        slot = cities.setdefault(g.city_code, {
            "city_code": g.city_code,
            "bodies": {grade.value: 0 for grade in Grade},
            "officers": {grade.value: 0 for grade in Grade},
            "grades": []})
        slot["bodies" if g.subject_kind == "body" else "officers"][Grade.parse(g.grade).value] += 1
        slot["grades"].append(g)
    out = []
    for code in sorted(cities):
        slot = cities[code]
        slot["grades"] = [g.to_json() for g in sorted(slot["grades"], key=lambda g: (
            SUBJECT_KINDS.index(g.subject_kind), g.subject_id, g.year))]
        out.append(slot)
    return out
