"""Accountability cases (行政执法责任追究) and supervision items (监督事项) — EVAL-6, EVAL-9, COORD-3, COORD-4.

Accountability case (责任追究案件), seed 000 §七: the chain is split over stages, each with its
own responsible person —

    线索 clue → 调查 investigation → 处理建议 proposal → 内部审查 internal review
      → 法制审核 legal review → 决定 decision → 结案 closed

plus: dismissal of a clue (不予立案); closing an investigation that found nothing (查无实据);
returns (internal review → investigation, legal review → proposal); due-diligence exemption
(尽职免责, with grounds, closes without sanction) from any stage between investigation and
decision. Before a decision against an officer, the officer's statement and defence (陈述申辩)
must be recorded (or its waiver). ``links`` record who did what at which stage of the
enforcement act under examination (责任划分: 发现线索、调查核实、承办建议、内部审核、法制审核、
作出决定); an officer can only be sanctioned if a link names them. Invalid transitions raise
``AccountabilityError``.

Supervision item (监督事项, COORD-4): a supervision suggestion (监督建议), special investigation
(专项调查) or rectification order (整改) issued by a supervising region to a body in a region it
covers, with a working-day deadline, responses and closure; open items are flagged
green / yellow / red against their deadline (EVAL-9).
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Iterable

from marshmallow import Schema, fields, post_load, validate

from services.common.identifiers import region_covers
from services.common.workdays import Deadline, WorkingDayCalendar

from .facts import Fact
from .grades import Consequence, ConsequenceKind, SubjectKind



class AccountabilityError(ValueError):
    """An action not allowed in the case's or item's current state (message in Chinese)."""


# --- accountability cases ----------------------------------------------------------------------

class Stage(str, enum.Enum):
    CLUE = "clue"
    INVESTIGATION = "investigation"
    PROPOSAL = "proposal"
    INTERNAL_REVIEW = "internal_review"
    LEGAL_REVIEW = "legal_review"
    DECISION = "decision"
    CLOSED = "closed"

    @property
    def zh(self) -> str:
        return STAGE_NAMES_ZH[self]


STAGE_NAMES_ZH = {
    Stage.CLUE: "线索", Stage.INVESTIGATION: "调查", Stage.PROPOSAL: "处理建议",
    Stage.INTERNAL_REVIEW: "内部审查", Stage.LEGAL_REVIEW: "法制审核", Stage.DECISION: "决定",
    Stage.CLOSED: "结案",
}


class ClueSource(str, enum.Enum):
    REVIEW_BYPASSED = "review_bypassed"              # 应审未审 (REV-2)
    DISCLOSURE_OVERDUE = "disclosure_overdue"        # 超期未公示 (DISC-3)
    RECORD_GAP = "record_gap"                        # 记录缺失 (REC-1)
    AV_MISSING = "av_missing"                        # 音像记录缺失 (REC-2)
    COMPLAINT_UPHELD = "complaint_upheld"            # 投诉举报查证属实 (CMP-4)
    COMPLAINT_BACKTRACK = "complaint_backtrack"      # 责任倒查: 应受理未受理、应追究未追究 (CMP-5)
    CERTIFICATE_VIOLATION = "certificate_violation"  # 无证执法 (PLAT-3)
    DETECTION_RULE = "detection_rule"                # 问题发现规则 (EVAL-9)
    SUPERVISION = "supervision"                      # 监督检查、案卷评查发现 (COORD-4)
    OTHER = "other"


CLUE_SOURCE_NAMES_ZH = {
    ClueSource.REVIEW_BYPASSED: "重大执法决定应审未审", ClueSource.DISCLOSURE_OVERDUE: "执法决定超期未公示",
    ClueSource.RECORD_GAP: "执法全过程记录缺失", ClueSource.AV_MISSING: "音像记录缺失",
    ClueSource.COMPLAINT_UPHELD: "投诉举报查证属实", ClueSource.COMPLAINT_BACKTRACK: "投诉举报责任倒查",
    ClueSource.CERTIFICATE_VIOLATION: "无有效执法证件从事执法", ClueSource.DETECTION_RULE: "问题发现规则预警",
    ClueSource.SUPERVISION: "监督检查发现", ClueSource.OTHER: "其他",
}

#: Fact kinds that open an accountability clue.
FACT_KIND_TO_SOURCE = {
    "review_bypassed": ClueSource.REVIEW_BYPASSED,
    "disclosure_overdue": ClueSource.DISCLOSURE_OVERDUE,
    "record_gap": ClueSource.RECORD_GAP,
    "av_missing": ClueSource.AV_MISSING,
    "complaint_upheld": ClueSource.COMPLAINT_UPHELD,
    "complaint_backtrack": ClueSource.COMPLAINT_BACKTRACK,
    "certificate_invalid_action": ClueSource.CERTIFICATE_VIOLATION,
}


SOURCE_TO_FACT_KIND = {source.value: kind for kind, source in FACT_KIND_TO_SOURCE.items()}


class SanctionKind(str, enum.Enum):
    """追责决定的种类."""

    CRITICISM_EDUCATION = "批评教育"
    ORDER_SELF_EXAMINATION = "责令检查"
    CIRCULATED_CRITICISM = "通报批评"
    SUSPEND_CERTIFICATE = "暂扣执法证件"
    REMOVE_FROM_POST = "调离执法岗位"
    CANCEL_QUALIFICATION = "取消执法资格"
    TRANSFER_DISCIPLINE = "移送纪检监察"  # COORD-3

    @property
    def officer_only(self) -> bool:
        return self in (SanctionKind.SUSPEND_CERTIFICATE, SanctionKind.REMOVE_FROM_POST,
                        SanctionKind.CANCEL_QUALIFICATION)


class ExemptionGround(str, enum.Enum):
    """尽职免责情形 (001 §二(六)2 尽职免予问责; common provincial practice)."""

    LAW_UNCLEAR = "法律法规规章没有规定或者规定不明确，执法人员按照合理理解作出执法行为"
    PARTY_DECEPTION = "行政相对人弄虚作假、隐瞒真相，致使执法人员无法作出正确判断"
    FORCE_MAJEURE = "因不可抗力等客观原因无法正常履行职责"
    SUPERIOR_ORDER = "执行上级机关的决定、命令，且已提出改正或者撤销意见"
    DUTY_PERFORMED = "已按照法定程序和标准履行法定职责"
    TECHNICAL_LIMITS = "受技术水平等客观条件限制无法发现违法行为"
    OTHER = "其他依法依规可以免责的情形"


class Outcome(str, enum.Enum):
    DISMISSED = "不予立案"
    NO_VIOLATION = "查无实据"
    NO_LIABILITY = "不予追究"
    EXEMPTED = "尽职免责"
    SANCTIONED = "作出追责决定"
    WITHDRAWN = "撤回线索"       # the violation ended before the clue was accepted (e.g. the record arrived)


#: outcomes under which the violation does not count against anyone (issue 16, EVAL-6)
NOT_HELD = frozenset({Outcome.DISMISSED, Outcome.NO_VIOLATION, Outcome.EXEMPTED, Outcome.WITHDRAWN})


def counts_against(stage: "Stage | str | None", outcome: "Outcome | str | None") -> bool:
    """A clue counts against an officer only once a supervisor accepted it (立案: past the clue stage)
    and while it was not found groundless, exempted or withdrawn (issue 16, EVAL-6)."""
    if stage is None or Stage(stage) is Stage.CLUE:
        return False
    return outcome is None or Outcome(outcome) not in NOT_HELD


@dataclass(frozen=True)
class ResponsibleLink:
    """Who did what at which stage of the enforcement act under examination (责任划分)."""

    stage: Stage
    person_id: str
    role: str            # e.g. 承办人, 审核人, 法制审核人员, 批准人
    act: str             # what they did, in Chinese
    recorded_by: str
    recorded_at: dt.datetime


@dataclass(frozen=True)
class Statement:
    """陈述申辩 (or its waiver 放弃陈述申辩)."""

    officer_id: str
    content: str
    recorded_by: str
    recorded_at: dt.datetime
    waived: bool = False


@dataclass(frozen=True)
class Sanction:
    target_kind: SubjectKind  # officer or body (主体责任)
    target_id: str
    kind: SanctionKind
    note: str = ""


@dataclass(frozen=True)
class Exemption:
    grounds: tuple[ExemptionGround, ...]
    explanation: str
    decided_by: str
    decided_at: dt.datetime


@dataclass(frozen=True)
class Transition:
    from_stage: Stage
    to_stage: Stage
    action: str
    actor_id: str
    at: dt.datetime
    note: str = ""


_EXEMPTABLE = (Stage.INVESTIGATION, Stage.PROPOSAL, Stage.INTERNAL_REVIEW, Stage.LEGAL_REVIEW, Stage.DECISION)


@dataclass
class AccountabilityCase:
    """责任追究案件. Create with ``open_case`` / ``open_case_from_fact``; drive with the methods."""

    case_id: str
    body_id: str
    region_code: str
    source: ClueSource
    description: str
    opened_by: str
    opened_at: dt.datetime
    officer_ids: list[str] = field(default_factory=list)
    source_event_ids: list[str] = field(default_factory=list)
    stage: Stage = Stage.CLUE
    outcome: Outcome | None = None
    findings: str = ""
    proposed: list[Sanction] = field(default_factory=list)
    proposed_by: str | None = None
    sanctions: list[Sanction] = field(default_factory=list)
    decided_at: dt.datetime | None = None
    decision_reason: str = ""
    exemption: Exemption | None = None
    links: list[ResponsibleLink] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    history: list[Transition] = field(default_factory=list)

    # -- helpers --
    def _require(self, action: str, *stages: Stage) -> None:
        if self.stage not in stages:
            allowed = "、".join(s.zh for s in stages)
            raise AccountabilityError(f"案件{self.case_id}当前处于「{self.stage.zh}」环节，不能{action}（仅限：{allowed}）")

    def _move(self, to: Stage, action: str, actor: str, at: dt.datetime, note: str = "") -> None:
        if not actor:
            raise AccountabilityError(f"{action}须记录承办人")
        self.history.append(Transition(self.stage, to, action, actor, at, note))
        self.stage = to

    @property
    def decided(self) -> bool:
        return self.decided_at is not None

    def statement_of(self, officer_id: str) -> Statement | None:
        for s in reversed(self.statements):
            if s.officer_id == officer_id:
                return s
        return None

    # -- stage actions --
    def accept(self, actor: str, at: dt.datetime, note: str = "") -> None:
        """线索 → 调查 (立案调查)."""
        self._require("立案调查", Stage.CLUE)
        self._move(Stage.INVESTIGATION, "立案调查", actor, at, note)

    def dismiss(self, actor: str, at: dt.datetime, reason: str) -> None:
        """线索 → 结案: 不予立案, with reason."""
        self._require("不予立案", Stage.CLUE)
        if not reason:
            raise AccountabilityError("不予立案须说明理由")
        self.outcome = Outcome.DISMISSED
        self.decision_reason = reason
        self._move(Stage.CLOSED, "不予立案", actor, at, reason)

    def withdraw(self, actor: str, at: dt.datetime, reason: str) -> None:
        """线索 → 结案: 撤回线索 — the violation ended before a supervisor accepted the clue (e.g. the
        missing record arrived); kept with its history, it counts against no one (issue 16, EVAL-6)."""
        self._require("撤回线索", Stage.CLUE)
        if not reason:
            raise AccountabilityError("撤回线索须说明理由")
        self.outcome = Outcome.WITHDRAWN
        self.decision_reason = reason
        self._move(Stage.CLOSED, "撤回线索", actor, at, reason)

    def add_officer(self, officer_id: str) -> None:
        self._require("增加涉及人员", Stage.CLUE, Stage.INVESTIGATION)
        if officer_id not in self.officer_ids:
            self.officer_ids.append(officer_id)

    def add_link(self, stage: Stage, person_id: str, role: str, act: str, recorded_by: str, at: dt.datetime) -> None:
        """Record who did what at which stage of the enforcement act (责任划分), during investigation."""
        self._require("记录责任环节", Stage.INVESTIGATION, Stage.PROPOSAL)
        if stage is Stage.CLOSED:
            raise AccountabilityError("责任环节应为线索、调查、处理建议、内部审查、法制审核或决定")
        if not (person_id and role and act):
            raise AccountabilityError("责任环节须写明人员、角色和行为")
        self.links.append(ResponsibleLink(Stage(stage), person_id, role, act, recorded_by, at))
        if person_id not in self.officer_ids:
            self.officer_ids.append(person_id)

    def close_no_violation(self, actor: str, at: dt.datetime, reason: str) -> None:
        """调查 → 结案: 查无实据."""
        self._require("以查无实据结案", Stage.INVESTIGATION)
        if not reason:
            raise AccountabilityError("查无实据结案须说明理由")
        self.outcome = Outcome.NO_VIOLATION
        self.decision_reason = reason
        self._move(Stage.CLOSED, "查无实据", actor, at, reason)

    def propose(self, actor: str, at: dt.datetime, findings: str, proposed: Iterable[Sanction]) -> None:
        """调查 → 处理建议: the investigator's findings and proposed handling (承办人员提出建议)."""
        self._require("提出处理建议", Stage.INVESTIGATION)
        if not findings:
            raise AccountabilityError("提出处理建议须写明调查认定的事实")
        proposed = list(proposed)
        self._check_targets(proposed)
        self.findings, self.proposed, self.proposed_by = findings, proposed, actor
        self._move(Stage.PROPOSAL, "提出处理建议", actor, at)

    def submit_internal_review(self, actor: str, at: dt.datetime) -> None:
        """处理建议 → 内部审查."""
        self._require("提交内部审查", Stage.PROPOSAL)
        self._move(Stage.INTERNAL_REVIEW, "提交内部审查", actor, at)

    def internal_review(self, actor: str, at: dt.datetime, approved: bool, opinion: str) -> None:
        """内部审查 → 法制审核 (通过) or → 调查 (退回补充调查)."""
        self._require("内部审查", Stage.INTERNAL_REVIEW)
        self._separate(actor, "内部审查")
        if not opinion:
            raise AccountabilityError("内部审查须有审查意见")
        if approved:
            self._move(Stage.LEGAL_REVIEW, "内部审查通过", actor, at, opinion)
        else:
            self._move(Stage.INVESTIGATION, "内部审查退回补充调查", actor, at, opinion)

    def legal_review(self, actor: str, at: dt.datetime, approved: bool, opinion: str) -> None:
        """法制审核 → 决定 (通过) or → 处理建议 (退回修改)."""
        self._require("法制审核", Stage.LEGAL_REVIEW)
        self._separate(actor, "法制审核")
        if not opinion:
            raise AccountabilityError("法制审核须有审核意见")
        if approved:
            self._move(Stage.DECISION, "法制审核通过", actor, at, opinion)
        else:
            self._move(Stage.PROPOSAL, "法制审核退回修改", actor, at, opinion)

    def record_statement(self, officer_id: str, content: str, recorded_by: str, at: dt.datetime,
                         waived: bool = False) -> None:
        """陈述申辩 (or its waiver) of an officer concerned, before the decision."""
        self._require("记录陈述申辩", Stage.INVESTIGATION, Stage.PROPOSAL, Stage.INTERNAL_REVIEW,
                      Stage.LEGAL_REVIEW, Stage.DECISION)
        if self.decided:
            raise AccountabilityError("已作出决定，不能再记录陈述申辩")
        if officer_id not in self.officer_ids:
            raise AccountabilityError(f"{officer_id}不是本案涉及人员")
        if not waived and not content:
            raise AccountabilityError("陈述申辩内容不能为空（放弃陈述申辩的，应记录放弃）")
        self.statements.append(Statement(officer_id, content, recorded_by, at, waived))

    def exempt(self, actor: str, at: dt.datetime, grounds: Iterable[ExemptionGround], explanation: str) -> None:
        """尽职免责: closes the case without sanction, with grounds."""
        self._require("认定尽职免责", *_EXEMPTABLE)
        if self.decided:
            raise AccountabilityError("已作出追责决定，不能再认定尽职免责")
        grounds = tuple(ExemptionGround(g) for g in grounds)
        if not grounds:
            raise AccountabilityError("认定尽职免责须列明免责情形")
        if not explanation:
            raise AccountabilityError("认定尽职免责须说明理由和依据")
        self.exemption = Exemption(grounds, explanation, actor, at)
        self.outcome = Outcome.EXEMPTED
        self.sanctions = []
        self._move(Stage.CLOSED, "尽职免责", actor, at, explanation)

    def decide(self, actor: str, at: dt.datetime, sanctions: Iterable[Sanction], reason: str = "") -> None:
        """决定: sanctions (or none = 不予追究, with reason). Officers must have been heard."""
        self._require("作出决定", Stage.DECISION)
        if self.decided:
            raise AccountabilityError("本案已作出决定")
        sanctions = list(sanctions)
        self._check_targets(sanctions)
        if not sanctions and not reason:
            raise AccountabilityError("不予追究须说明理由")
        unheard = sorted({s.target_id for s in sanctions if s.target_kind is SubjectKind.OFFICER
                          and self.statement_of(s.target_id) is None})
        if unheard:
            raise AccountabilityError(f"作出对执法人员不利的决定前，须听取其陈述和申辩：{'、'.join(unheard)}")
        self.sanctions = sanctions
        self.decided_at = at
        self.decision_reason = reason
        self.outcome = Outcome.SANCTIONED if sanctions else Outcome.NO_LIABILITY
        self.history.append(Transition(Stage.DECISION, Stage.DECISION, "作出决定", actor, at, reason))

    def close(self, actor: str, at: dt.datetime, note: str = "") -> None:
        """决定 → 结案 (after the decision)."""
        self._require("结案", Stage.DECISION)
        if not self.decided:
            raise AccountabilityError("尚未作出决定，不能结案")
        self._move(Stage.CLOSED, "结案", actor, at, note)

    @property
    def transfers_to_discipline(self) -> list[Sanction]:
        """Decisions to transfer to discipline inspection (移送纪检监察, COORD-3)."""
        return [s for s in self.sanctions if s.kind is SanctionKind.TRANSFER_DISCIPLINE]

    def _check_targets(self, sanctions: list[Sanction]) -> None:
        linked = {link.person_id for link in self.links}
        for s in sanctions:
            if s.target_kind is SubjectKind.OFFICER:
                if s.target_id not in linked:
                    raise AccountabilityError(f"{s.target_id}未在责任环节中认定，不能对其追责")
            else:
                if s.kind.officer_only:
                    raise AccountabilityError(f"「{s.kind.value}」只适用于执法人员")
                if s.target_id != self.body_id:
                    raise AccountabilityError(f"追责对象{s.target_id}不是本案执法主体")

    def _separate(self, actor: str, action: str) -> None:
        if actor == self.proposed_by:
            raise AccountabilityError(f"{action}人员不能是处理建议的提出人")


def open_case(case_id: str, *, body_id: str, region_code: str, source: ClueSource, description: str,
              opened_by: str, opened_at: dt.datetime, officer_ids: Iterable[str] = (),
              source_event_ids: Iterable[str] = ()) -> AccountabilityCase:
    if not description:
        raise AccountabilityError("线索须有描述")
    return AccountabilityCase(case_id, body_id, region_code, ClueSource(source), description, opened_by, opened_at,
                              list(dict.fromkeys(officer_ids)), list(dict.fromkeys(source_event_ids)))


def open_case_from_fact(fact: Fact, case_id: str, opened_at: dt.datetime, opened_by: str = "system",
                        description: str | None = None) -> AccountabilityCase:
    """Open a clue from a violation fact (review bypassed, publication overdue, record gap, upheld
    complaint, back-tracking, certificate violation); raises ValueError for other kinds."""
    source = FACT_KIND_TO_SOURCE.get(fact.kind)
    if source is None:
        raise ValueError(f"考核事实 {fact.kind} 不是责任追究线索来源")
    text = description or f"{CLUE_SOURCE_NAMES_ZH[source]}（{fact.occurred_on.isoformat()}，来源事件{fact.event_id}）"
    return open_case(case_id, body_id=fact.body_id, region_code=fact.region_code, source=source, description=text,
                     opened_by=opened_by, opened_at=opened_at,
                     officer_ids=[fact.officer_id] if fact.officer_id else [], source_event_ids=[fact.event_id])


# --- deadline flags (EVAL-9) -------------------------------------------------------------------

class Flag(str, enum.Enum):
    NONE = "none"      # nothing pending on the deadline (closed or awaiting the issuer)
    GREEN = "green"
    YELLOW = "yellow"  # 黄灯: due within the warning window
    RED = "red"        # 红灯: overdue


def deadline_flag(due: dt.date, today: dt.date, calendar: WorkingDayCalendar, yellow_within: int = 3) -> Flag:
    """Red when ``today`` is past ``due``; yellow when at most ``yellow_within`` working days are
    left (counting the days after today up to and including due); green otherwise."""
    if today > due:
        return Flag.RED
    if calendar.working_days_between(today, due) <= yellow_within:
        return Flag.YELLOW
    return Flag.GREEN


# --- supervision items (COORD-4) ---------------------------------------------------------------

class SupervisionKind(str, enum.Enum):
    SUGGESTION = "suggestion"                        # 监督建议
    SPECIAL_INVESTIGATION = "special_investigation"  # 专项调查
    RECTIFICATION = "rectification"                  # 整改

    @property
    def zh(self) -> str:
        return {"suggestion": "监督建议", "special_investigation": "专项调查", "rectification": "整改"}[self.value]


class ItemStatus(str, enum.Enum):
    OPEN = "open"            # 待办理/待回复
    RESPONDED = "responded"  # 已回复，待监督机关审查
    CLOSED = "closed"        # 已办结


@dataclass(frozen=True)
class SupervisionRules:
    working_days: dict  # SupervisionKind -> int
    yellow_within: int = 3


DEFAULT_SUPERVISION_RULES = SupervisionRules(
    {SupervisionKind.SUGGESTION: 15, SupervisionKind.SPECIAL_INVESTIGATION: 30, SupervisionKind.RECTIFICATION: 30}, 3)


class _WorkingDays(Schema):
    suggestion = fields.Integer(strict=True, validate=validate.Range(min=1), load_default=15)
    special_investigation = fields.Integer(strict=True, validate=validate.Range(min=1), load_default=30)
    rectification = fields.Integer(strict=True, validate=validate.Range(min=1), load_default=30)


class SupervisionFile(Schema):
    """``config/evaluation/supervision.yaml`` → :class:`SupervisionRules`."""

    working_days = fields.Nested(_WorkingDays, load_default=lambda: _WorkingDays().load({}))
    yellow_within_working_days = fields.Integer(strict=True, validate=validate.Range(min=0), load_default=3)

    @post_load
    def build(self, data, **kwargs) -> SupervisionRules:
        return SupervisionRules({SupervisionKind(k): v for k, v in data["working_days"].items()},
                                data["yellow_within_working_days"])


@dataclass(frozen=True)
class Response:
    responded_by: str
    responded_on: dt.date
    content: str
    on_time: bool


@dataclass(frozen=True)
class ItemReview:
    """The issuer's review of a response: 办结 or 退回继续办理."""

    action: str
    by: str
    on: dt.date
    note: str = ""


@dataclass
class SupervisionItem:
    """监督事项: issued by a supervising region to a body of a region it covers (COORD-4)."""

    item_id: str
    kind: SupervisionKind
    issuer_region: str
    issuer_id: str
    target_body_id: str
    target_region: str
    subject: str
    issued_on: dt.date
    deadline: Deadline
    status: ItemStatus = ItemStatus.OPEN
    responses: list[Response] = field(default_factory=list)
    reviews: list["ItemReview"] = field(default_factory=list)
    closed_on: dt.date | None = None
    closing_note: str = ""
    case_id: str | None = None

    @property
    def due(self) -> dt.date:
        return self.deadline.due

    def respond(self, by: str, on: dt.date, content: str) -> Response:
        """The target body reports what it did (回复/报送整改情况)."""
        if self.status is not ItemStatus.OPEN:
            raise AccountabilityError(f"{self.kind.zh}{self.item_id}当前状态为{self.status.value}，不能回复")
        if not content:
            raise AccountabilityError("回复内容不能为空")
        response = Response(by, on, content, on <= self.due)
        self.responses.append(response)
        self.status = ItemStatus.RESPONDED
        return response

    def accept(self, by: str, on: dt.date, note: str = "") -> None:
        """The issuer accepts the response: closed (办结)."""
        if self.status is not ItemStatus.RESPONDED:
            raise AccountabilityError(f"{self.kind.zh}{self.item_id}尚未回复，不能办结")
        self.status, self.closed_on, self.closing_note = ItemStatus.CLOSED, on, note
        self._log("办结", by, on, note)

    def reject(self, by: str, on: dt.date, reason: str, calendar: WorkingDayCalendar | None = None,
               extend_working_days: int | None = None) -> None:
        """The issuer finds the response insufficient (整改不到位): back to open, optionally with a
        new deadline counted from ``on``."""
        if self.status is not ItemStatus.RESPONDED:
            raise AccountabilityError(f"{self.kind.zh}{self.item_id}尚未回复，不能退回")
        if not reason:
            raise AccountabilityError("退回须说明理由")
        if extend_working_days:
            if calendar is None:
                raise ValueError("calendar is required to set a new deadline")
            self.deadline = calendar.add_working_days(on, extend_working_days)
        self.status = ItemStatus.OPEN
        self._log("退回继续办理", by, on, reason)

    def flag(self, today: dt.date, calendar: WorkingDayCalendar, yellow_within: int = 3) -> Flag:
        """Yellow / red warning while waiting for the target body (EVAL-9)."""
        if self.status is not ItemStatus.OPEN:
            return Flag.NONE
        return deadline_flag(self.due, today, calendar, yellow_within)

    def is_overdue(self, today: dt.date) -> bool:
        return self.status is ItemStatus.OPEN and today > self.due

    def _log(self, action: str, by: str, on: dt.date, note: str) -> None:
        self.reviews.append(ItemReview(action, by, on, note))


class OutOfScopeError(AccountabilityError):
    """The issuer's region does not cover the target's region (上级监督下级, COORD-4)."""


def issue_supervision_item(item_id: str, kind: SupervisionKind | str, *, issuer_region: str, issuer_id: str,
                           target_body_id: str, target_region: str, subject: str, issued_on: dt.date,
                           calendar: WorkingDayCalendar, working_days: int | None = None,
                           rules: SupervisionRules = DEFAULT_SUPERVISION_RULES,
                           case_id: str | None = None) -> SupervisionItem:
    """Issue a supervision suggestion / special investigation / rectification order."""
    kind = SupervisionKind(kind)
    if not region_covers(issuer_region, target_region):
        raise OutOfScopeError(f"监督机关所在区域{issuer_region}不包含被监督主体所在区域{target_region}，不能下发{kind.zh}")
    if not subject:
        raise AccountabilityError(f"{kind.zh}须写明事项内容")
    days = working_days if working_days is not None else rules.working_days[kind]
    if days < 1:
        raise ValueError("working_days must be >= 1")
    return SupervisionItem(item_id, kind, issuer_region, issuer_id, target_body_id, target_region, subject,
                           issued_on, calendar.add_working_days(issued_on, days), case_id=case_id)


def rectification_from_consequence(consequence: Consequence, item_id: str, *, issuer_region: str, issuer_id: str,
                                   target_region: str, calendar: WorkingDayCalendar) -> SupervisionItem:
    """Track a body's rectification order (不合格 → 责令限期整改, EVAL-4) to closure."""
    if consequence.kind is not ConsequenceKind.RECTIFICATION_ORDER or consequence.subject_kind is not SubjectKind.BODY:
        raise ValueError("only a body's rectification order can become a rectification item")
    days = consequence.due.working_days if consequence.due else DEFAULT_SUPERVISION_RULES.working_days[SupervisionKind.RECTIFICATION]
    return issue_supervision_item(item_id, SupervisionKind.RECTIFICATION, issuer_region=issuer_region,
                                  issuer_id=issuer_id, target_body_id=consequence.subject_id,
                                  target_region=target_region, subject=consequence.detail,
                                  issued_on=consequence.issued_on, calendar=calendar, working_days=days)
