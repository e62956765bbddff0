"""Evaluation facts (考核事实) — the unit every score is computed from (EVAL-2, EVAL-3).

The evaluation service turns the events it consumes (from departmental systems and from the
other zhifa services) into *facts*. Each fact keeps the ``event_id`` it came from, so every
indicator score can be traced back to the events behind it (可追溯).

A fact may concern a body only (``officer_id`` None) or one officer of a body. One event may
give one fact per officer involved (e.g. a decision made by two officers gives two
``enforcement_action`` facts with the same ``event_id``); body-level counting de-duplicates on
``(kind, event_id, seq)`` so such a decision counts once for the body and once for each officer.
Use ``seq`` to distinguish several facts of the same kind from one event (e.g. two record gaps).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping


#: Every fact kind the evaluation domain knows, with a Chinese label and how ``value`` is used.
#: value: None → the fact counts 1; "hours", "ratio", "rating", "score" → the value is required.
FACT_KINDS: dict[str, tuple[str, str | None]] = {
    # enforcement data
    "enforcement_action": ("作出执法决定/执法行为", None),  # attrs: action_type, party_id, fine_amount
    # disclosure (DISC) — disclosure_due: occurred_on is the publication due date
    "disclosure_due": ("应公示的执法决定（公示期限届满日）", None),
    "disclosure_on_time": ("按时公示", None),
    "disclosure_late": ("逾期公示", None),
    "disclosure_overdue": ("超期未公示", None),
    # legal review of major decisions (REV)
    "review_required": ("应当法制审核的重大执法决定", None),
    "review_approved": ("法制审核通过后作出决定", None),
    "review_bypassed": ("应审未审或审核未通过即作出决定", None),
    "review_task_overdue": ("法制审核超期", None),
    # full-process record (REC)
    "record_case": ("应全过程记录的案件", None),
    "record_gap": ("记录缺失", None),
    "av_required": ("应音像记录的环节", None),
    "av_missing": ("音像记录缺失", None),
    # complaints (CMP)
    "complaint_received": ("收到投诉举报", None),
    "complaint_ack_on_time": ("按时告知受理情况", None),
    "complaint_ack_late": ("逾期告知受理情况", None),
    "complaint_upheld": ("投诉举报查证属实", None),
    "complaint_backtrack": ("应受理未受理、应追究未追究（责任倒查线索）", None),
    # coordination across bodies and tiers (COORD-1, COORD-3)
    "judicial_transfer": ("移送司法机关、纪检监察机关", None),
    "transfer_not_made": ("应移未移（决定移送后逾期未移送）", None),
    "clue_overdue": ("线索逾期未签收或未反馈", None),
    "repeat_inspection": ("多头检查、重复检查", None),
    # outcome measures (EVAL-7)
    "decision_challenged": ("被申请行政复议或提起行政诉讼的决定", None),
    "decision_corrected": ("经复议或诉讼被纠错的决定", None),
    "decision_withdrawn": ("执法机关自行撤销或经监督纠正的决定", None),
    "satisfaction": ("群众满意度评价（1–5）", "rating"),
    # officers (EVAL-3, EVAL-5, PLAT-3)
    "training_hours": ("培训学时", "hours"),
    "certificate_valid": ("持有有效执法证件", None),
    "certificate_invalid_action": ("无有效执法证件从事执法", None),
    "special_test_score": ("专门考核（法律素养/执法规范化测试）得分", "score"),
    # bodies (REV-7, EVAL-8, EVAL-2)
    "reviewer_staffing": ("法制审核人员占执法人员比例（快照）", "ratio"),
    "zero_enforcement_explained": ("零执法已说明", None),
    "zero_enforcement_unexplained": ("零执法未说明", None),
    "special_check_score": ("专项检查得分", "score"),
    "case_file_review_score": ("案卷评查得分", "score"),
    # evaluation instruments (EVAL-2, issue 18)
    "survey_rating": ("问卷调查、评议卡评价（1–5）", "rating"),
    "unannounced_visit_score": ("暗访得分", "score"),
}

_VALUE_RANGES: dict[str, tuple[Decimal, Decimal | None]] = {
    "rating": (Decimal(1), Decimal(5)),
    "score": (Decimal(0), Decimal(100)),
    "hours": (Decimal(0), None),
    "ratio": (Decimal(0), Decimal(1)),
}


def to_decimal(value: Any) -> Decimal:
    """Exact decimal from int/str/Decimal (floats via their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc


@dataclass(frozen=True)
class Fact:
    """One evaluation fact (考核事实) with the id of the event it came from."""

    kind: str
    body_id: str
    region_code: str
    officer_id: str | None
    year: int
    occurred_on: dt.date
    value: Decimal | None
    event_id: str
    seq: int = 0
    attrs: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def body_key(self) -> tuple[str, str, int]:
        """Identity for body-level counting (officer copies of one event count once)."""
        return (self.kind, self.event_id, self.seq)


def validate_fact(fact: Fact) -> None:
    """Raise ValueError (Chinese message) when a fact is malformed."""
    if fact.kind not in FACT_KINDS:
        raise ValueError(f"未知的考核事实类型：{fact.kind}")
    if not fact.event_id:
        raise ValueError(f"考核事实 {fact.kind} 缺少来源事件编号 event_id")
    unit = FACT_KINDS[fact.kind][1]
    if unit is None:
        return
    if fact.value is None:
        raise ValueError(f"考核事实 {fact.kind} 须有数值（{unit}）")
    low, high = _VALUE_RANGES[unit]
    if fact.value < low or (high is not None and fact.value > high):
        raise ValueError(f"考核事实 {fact.kind} 的数值 {fact.value} 超出范围 [{low}, {high if high is not None else '∞'}]")


def make_fact(kind: str, *, body_id: str, region_code: str, occurred_on: dt.date, event_id: str,
              officer_id: str | None = None, value: Any = None, year: int | None = None,
              seq: int = 0, attrs: Mapping[str, Any] | None = None) -> Fact:
    """Build and validate a fact; ``year`` defaults to the year of ``occurred_on``."""
    fact = Fact(kind=kind, body_id=body_id, region_code=region_code, officer_id=officer_id,
                year=year if year is not None else occurred_on.year, occurred_on=occurred_on,
                value=None if value is None else to_decimal(value), event_id=str(event_id), seq=seq,
                attrs=dict(attrs or {}))
    validate_fact(fact)
    return fact


def in_period(facts: Iterable[Fact], year: int, as_of: dt.date | None = None) -> list[Fact]:
    """Facts of evaluation year ``year`` that had occurred by ``as_of`` (inclusive; None = all)."""
    return [f for f in facts if f.year == year and (as_of is None or f.occurred_on <= as_of)]


def select_facts(facts: Iterable[Fact], subject_kind: str, subject_id: str, year: int,
                 as_of: dt.date | None = None) -> list[Fact]:
    """The facts of one body (``subject_kind="body"``, all its officers' facts included) or of one
    officer (``"officer"``) in ``year`` up to ``as_of``."""
    if subject_kind == "body":
        chosen = [f for f in facts if f.body_id == subject_id]
    elif subject_kind == "officer":
        chosen = [f for f in facts if f.officer_id == subject_id]
    else:
        raise ValueError(f"unknown subject kind {subject_kind!r} (body | officer)")
    return in_period(chosen, year, as_of)
