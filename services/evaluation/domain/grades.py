"""Grades (考核等次), veto rules (一票否决) and consequences (结果运用) — REQUIREMENTS EVAL-4.

Grades are 优秀 / 合格 / 不合格, from the total with configurable cut-offs, then lowered by
veto rules (a fact kind seen at least ``min_count`` times caps the grade or makes it 不合格) and by
caps carried over from earlier in the year (an officer rated 不合格 may not be 优秀 that year —
the cap is a consequence and persists across recomputation in that year).

Consequences are data, not actions: the service persists them and turns them into tasks,
rectification items (整改, tracked to closure with ``accountability.SupervisionItem``) and
publications. Seed: 000 §六(三).
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from services.common.workdays import Deadline, WorkingDayCalendar

from .facts import Fact, select_facts


class Grade(str, enum.Enum):
    """考核等次."""

    EXCELLENT = "优秀"
    PASS = "合格"
    FAIL = "不合格"

    @property
    def rank(self) -> int:
        return {Grade.FAIL: 0, Grade.PASS: 1, Grade.EXCELLENT: 2}[self]

    @classmethod
    def parse(cls, value: "Grade | str") -> "Grade":
        if isinstance(value, Grade):
            return value
        for grade in cls:
            if value in (grade.value, grade.name, grade.name.lower()):
                return grade
        raise ValueError(f"未知的考核等次：{value}（应为 优秀 / 合格 / 不合格）")


def lower_of(a: Grade, b: Grade) -> Grade:
    return a if a.rank <= b.rank else b


class SubjectKind(str, enum.Enum):
    BODY = "body"        # 执法主体（行政执法部门）
    OFFICER = "officer"  # 执法人员


class VetoEffect(str, enum.Enum):
    CAP = "cap"    # 等次最高为 cap
    FAIL = "fail"  # 直接评为不合格


@dataclass(frozen=True)
class VetoRule:
    """一票否决规则: ``min_count`` facts of ``fact_kind`` in the year → cap or fail."""

    code: str
    name: str
    fact_kind: str
    effect: VetoEffect
    cap: Grade = Grade.FAIL
    min_count: int = 1

    @property
    def max_grade(self) -> Grade:
        return Grade.FAIL if self.effect is VetoEffect.FAIL else self.cap


#: what a subject with too little evidence gets instead of a grade (issue 16: no grade without evidence)
INSUFFICIENT = "数据不足"


@dataclass(frozen=True)
class GradingRules:
    """Cut-offs (≥ excellent_at → 优秀, ≥ pass_at → 合格, else 不合格) and veto rules;
    ``min_evidence``: a subject whose score rests on fewer events gets no grade (数据不足)."""

    excellent_at: Decimal = Decimal(90)
    pass_at: Decimal = Decimal(60)
    vetoes: tuple[VetoRule, ...] = ()
    min_evidence: int = 1


@dataclass(frozen=True)
class ConsequenceRules:
    """Configurable parameters of the consequences (结果运用)."""

    rectification_working_days: int = 30      # 不合格部门责令限期整改
    officer_measure_working_days: int = 20    # 批评教育或离岗培训的落实期限
    body_publication_scope: str = "在本级人民政府门户网站和考核机关内公开"
    officer_publication_scope: str | None = None  # None: officer results are not published


@dataclass(frozen=True)
class VetoHit:
    code: str
    name: str
    effect: VetoEffect
    max_grade: Grade
    count: int
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class GradeCap:
    """A ceiling on a subject's grade in one year (e.g. 不合格 officer: no 优秀 this year)."""

    subject_kind: SubjectKind
    subject_id: str
    year: int
    max_grade: Grade
    reason: str


@dataclass(frozen=True)
class GradeResult:
    subject_kind: SubjectKind
    subject_id: str
    year: int
    as_of: dt.date | None
    final: bool
    total: Decimal
    by_total: Grade
    grade: Grade
    vetoes: tuple[VetoHit, ...] = ()
    caps: tuple[GradeCap, ...] = ()
    reasons: tuple[str, ...] = ()
    insufficient: bool = False      # too little evidence: no grade (数据不足); ``grade`` means nothing then
    evidence_count: int = 0

    @property
    def label(self) -> str:
        """The grade as shown and stored: 优秀 / 合格 / 不合格, or 数据不足."""
        return INSUFFICIENT if self.insufficient else self.grade.value

    @property
    def by_total_label(self) -> str:
        return INSUFFICIENT if self.insufficient else self.by_total.value


def grade_for_total(total: Decimal, rules: GradingRules) -> Grade:
    if total >= rules.excellent_at:
        return Grade.EXCELLENT
    if total >= rules.pass_at:
        return Grade.PASS
    return Grade.FAIL


def check_vetoes(facts: Iterable[Fact], rules: GradingRules) -> list[VetoHit]:
    """The veto rules that fire on ``facts`` (already limited to the subject and period)."""
    facts = list(facts)
    hits = []
    for rule in rules.vetoes:
        matched = {f.body_key: f for f in facts if f.kind == rule.fact_kind}
        if len(matched) >= rule.min_count:
            evidence = tuple(sorted({f.event_id for f in matched.values()}))
            hits.append(VetoHit(rule.code, rule.name, rule.effect, rule.max_grade, len(matched), evidence))
    return hits


def assign_grade(score, facts: Iterable[Fact], rules: GradingRules | None = None,
                 caps: Iterable[GradeCap] = ()) -> GradeResult:
    """Grade a ``scoring.SubjectScore``: cut-offs, then vetoes on the subject's facts in the
    score's period, then caps in force for the same subject and year. ``rules`` defaults to the
    grading rules of the indicator set the score was computed with."""
    rules = rules or score.grading
    kind = SubjectKind(score.subject_kind)
    own = select_facts(facts, kind.value, score.subject_id, score.year, score.as_of)
    evidence = len(score.evidence)
    if evidence < rules.min_evidence or not score.applicable_weight:
        # no grade without evidence (issue 16): not 合格 by default, not 不合格 for want of data
        hits = tuple(check_vetoes(own, rules))
        return GradeResult(kind, score.subject_id, score.year, score.as_of, score.final, score.total,
                           Grade.FAIL, Grade.FAIL, hits, (), (f"{INSUFFICIENT}：评分依据{evidence}件，"
                                                              f"少于最低要求{rules.min_evidence}件，不评定等次",),
                           insufficient=True, evidence_count=evidence)
    by_total = grade_for_total(score.total, rules)
    grade, reasons = by_total, []
    hits = check_vetoes(own, rules)
    for hit in hits:
        if hit.max_grade.rank < grade.rank:
            reasons.append(f"一票否决：{hit.name}（{hit.count}起），等次调整为{hit.max_grade.value}")
        grade = lower_of(grade, hit.max_grade)
    applied = []
    for cap in caps:
        if SubjectKind(cap.subject_kind) is kind and cap.subject_id == score.subject_id and cap.year == score.year:
            applied.append(cap)
            if cap.max_grade.rank < grade.rank:
                reasons.append(f"{cap.reason}，等次调整为{cap.max_grade.value}")
            grade = lower_of(grade, cap.max_grade)
    return GradeResult(kind, score.subject_id, score.year, score.as_of, score.final, score.total,
                       by_total, grade, tuple(hits), tuple(applied), tuple(reasons), evidence_count=evidence)


# --- consequences ------------------------------------------------------------------------------

class ConsequenceKind(str, enum.Enum):
    GRADE_CAP = "grade_cap"                          # 当年不得评为优秀
    CRITICISM_OR_TRAINING = "criticism_or_training"  # 批评教育或者离岗培训（任务）
    REMOVAL_PROPOSAL = "removal_proposal"            # 调离执法岗位或者取消执法资格（建议）
    RECTIFICATION_ORDER = "rectification_order"      # 责令限期整改
    PUBLICATION = "publication"                      # 在一定范围内公开考核结果


@dataclass(frozen=True)
class Subject:
    kind: SubjectKind
    subject_id: str
    region_code: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Consequence:
    kind: ConsequenceKind
    subject_kind: SubjectKind
    subject_id: str
    year: int
    title: str
    detail: str
    issued_on: dt.date
    max_grade: Grade | None = None
    due: Deadline | None = None
    options: tuple[str, ...] = ()
    scope: str | None = None
    requires_decision: bool = False

    def as_cap(self) -> GradeCap | None:
        if self.kind is not ConsequenceKind.GRADE_CAP or self.max_grade is None:
            return None
        return GradeCap(self.subject_kind, self.subject_id, self.year, self.max_grade, self.title)


def caps_in_force(consequences_so_far: Iterable[Consequence], subject_kind: SubjectKind | str,
                  subject_id: str, year: int) -> list[GradeCap]:
    """The grade caps earlier consequences put on a subject for ``year`` (pass to assign_grade)."""
    kind = SubjectKind(subject_kind)
    caps = []
    for c in consequences_so_far:
        cap = c.as_cap()
        if cap and cap.subject_kind is kind and cap.subject_id == subject_id and cap.year == year:
            caps.append(cap)
    return caps


def consequences(subject: Subject, grade: Grade | GradeResult | str, previous_year_grade: Grade | str | None,
                 calendar: WorkingDayCalendar, today: dt.date, *, year: int | None = None,
                 rules: ConsequenceRules | None = None) -> list[Consequence]:
    """What follows from a grade (000 §六(三), EVAL-4).

    Officer 不合格 → a grade cap (may not be 优秀 in that year, in this evaluation and in the annual
    civil-service assessment) and a task: 批评教育 or 离岗培训, due in ``officer_measure_working_days``;
    不合格 also in the previous year → instead of that task, a proposal to 调离执法岗位 or
    取消执法资格 (needs a decision). Body: results published within ``body_publication_scope``;
    不合格 → a rectification order (责令限期整改) due in ``rectification_working_days`` working days.
    """
    rules = rules or ConsequenceRules()
    if isinstance(grade, GradeResult):
        year = grade.year if year is None else year
        if grade.insufficient:
            return []       # no grade, nothing follows (issue 16)
        grade = grade.grade
    if grade == INSUFFICIENT:
        return []
    if year is None:
        raise ValueError("year is required when grade is not a GradeResult")
    grade = Grade.parse(grade)
    previous = Grade.parse(previous_year_grade) if previous_year_grade else None
    kind, sid = subject.kind, subject.subject_id
    label = subject.name or sid
    out: list[Consequence] = []
    if kind is SubjectKind.OFFICER:
        if grade is Grade.FAIL:
            out.append(Consequence(
                ConsequenceKind.GRADE_CAP, kind, sid, year, f"{year}年度评议考核不合格，当年不得评定为优秀",
                f"执法人员{label}{year}年度行政执法评议考核不合格，不得在{year}年度考核中评定为优秀。",
                today, max_grade=Grade.PASS))
            if previous is Grade.FAIL:
                out.append(Consequence(
                    ConsequenceKind.REMOVAL_PROPOSAL, kind, sid, year, "连续两年考核不合格，调离执法岗位或取消执法资格",
                    f"执法人员{label}{year - 1}、{year}年度连续两年评议考核不合格，应当给予调离执法岗位或者取消执法资格处理。",
                    today, options=("调离执法岗位", "取消执法资格"), requires_decision=True,
                    due=calendar.add_working_days(today, rules.officer_measure_working_days)))
            else:
                out.append(Consequence(
                    ConsequenceKind.CRITICISM_OR_TRAINING, kind, sid, year, "考核不合格，批评教育或者离岗培训",
                    f"执法人员{label}{year}年度评议考核不合格，应当给予批评教育或者离岗培训处理。",
                    today, options=("批评教育", "离岗培训"),
                    due=calendar.add_working_days(today, rules.officer_measure_working_days)))
        if rules.officer_publication_scope:
            out.append(Consequence(ConsequenceKind.PUBLICATION, kind, sid, year, "考核结果公开",
                                   f"{year}年度评议考核结果：{grade.value}", today, scope=rules.officer_publication_scope))
    else:
        out.append(Consequence(ConsequenceKind.PUBLICATION, kind, sid, year, "考核结果公开",
                               f"{label}{year}年度行政执法评议考核结果：{grade.value}", today,
                               scope=rules.body_publication_scope))
        if grade is Grade.FAIL:
            due = calendar.add_working_days(today, rules.rectification_working_days)
            out.append(Consequence(
                ConsequenceKind.RECTIFICATION_ORDER, kind, sid, year, "考核不合格，责令限期整改",
                f"{label}{year}年度行政执法评议考核不合格，责令于{due.due.isoformat()}前完成整改并报送整改情况。",
                today, due=due))
    return out
