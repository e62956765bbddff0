"""Review task and opinion life cycle (法制审核任务、审核意见) — REQUIREMENTS REV-4, REV-5, REV-6, REV-7.

A :class:`ReviewTask` is the legal-review file of one case. Each submission of a proposed decision is a
:class:`ReviewVersion` (送审版本) with its own snapshot, pre-check results, reviewer, written opinion
(同意 / 存在问题), optional sign-off by the responsible person (负责人) and due date. All transitions are
pure functions ``f(task, …) -> new task``; an illegal transition raises :class:`InvalidTransition`.

State table (``task.state`` — always the state of the latest version)::

    from \\ action      start_review  record_opinion        sign_off  refuse_sign_off  raise_disagreement  decide_coordination     resubmit
    open               under_review  -                     -         -                -                   -                       resubmitted (supersedes)
    resubmitted        under_review  -                     -         -                -                   -                       resubmitted (supersedes)
    under_review       -             approved | awaiting_  -         -                -                   -                       resubmitted (supersedes)
                                     sign_off | returned
    awaiting_sign_off  -             -                     approved  returned         -                   -                       resubmitted (supersedes)
    approved           -             -                     -         -                -                   -                       resubmitted
    returned           -             -                     -         -                coordination (once) -                       resubmitted
    coordination       -             -                     -         -                -                   returned | approved |   -
                                                                                                          awaiting_sign_off

Reviewer assignment (统筹调用, REV-7) and due dates (REV-5, working days per PLAT-6) live here too.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

from services.common.identifiers import parent_region, region_covers
from services.common.workdays import Deadline, WorkingDayCalendar

from .catalogue import Classification
from .checklist import CHECKS, CheckResult, Outcome
from .model import Proposal

__all__ = [
    "REVIEW_TASK_WORKING_DAYS", "TaskState", "VersionStatus", "OpinionKind", "CoordinationOutcome", "DueLevel",
    "Opinion", "Coordination", "ReviewVersion", "Transition", "ReviewTask", "InvalidTransition",
    "open_task", "start_review", "reassign_reviewer", "record_opinion", "sign_off", "refuse_sign_off",
    "raise_disagreement", "decide_coordination", "resubmit", "review_due", "due_level", "task_due_level",
    "Reviewer", "Assignment", "NoReviewerAvailable", "assign_reviewer",
    "CheckFinding", "ChecklistItem", "record_finding", "update_prechecks", "checklist", "approval_blockers",
]

#: Default review period in working days (config/periods.yaml ``review.task``; REV-5). Callers pass the
#: configured value.
REVIEW_TASK_WORKING_DAYS = 5


class TaskState(str, enum.Enum):
    OPEN = "open"                            # 已送审，待审核
    UNDER_REVIEW = "under_review"            # 审核中
    AWAITING_SIGN_OFF = "awaiting_sign_off"  # 审核同意，待负责人签署
    APPROVED = "approved"                    # 审核通过
    RETURNED = "returned"                    # 存在问题，退回承办机构
    COORDINATION = "coordination"            # 意见不一致，协调中
    RESUBMITTED = "resubmitted"              # 修改后再次送审，待审核


STATE_NAMES_ZH = {
    TaskState.OPEN: "待审核", TaskState.UNDER_REVIEW: "审核中", TaskState.AWAITING_SIGN_OFF: "待负责人签署",
    TaskState.APPROVED: "审核通过", TaskState.RETURNED: "退回修改", TaskState.COORDINATION: "协调中",
    TaskState.RESUBMITTED: "再次送审待审核",
}
_PENDING_STATES = {TaskState.OPEN, TaskState.RESUBMITTED, TaskState.UNDER_REVIEW, TaskState.AWAITING_SIGN_OFF}


class VersionStatus(str, enum.Enum):
    PENDING = "pending"          # not concluded
    APPROVED = "approved"        # 审核通过 (incl. signed off where required)
    RETURNED = "returned"        # 存在问题 (after coordination too, when upheld or partly upheld)
    SUPERSEDED = "superseded"    # replaced by a later version before it was concluded


class OpinionKind(str, enum.Enum):
    APPROVE = "approve"    # 同意
    PROBLEMS = "problems"  # 存在问题


class CoordinationOutcome(str, enum.Enum):
    UPHOLD_REVIEWER = "uphold_reviewer"  # 维持审核意见
    ACCEPT_UNIT = "accept_unit"          # 采纳承办机构意见
    PARTIAL = "partial"                  # 部分采纳


class DueLevel(str, enum.Enum):
    GREEN = "green"    # 正常
    YELLOW = "yellow"  # 临期: ≤ 1 working day left
    RED = "red"        # 超期


class InvalidTransition(Exception):
    """An action not allowed in the task's current state (or by this actor / at this time)."""


@dataclass(frozen=True)
class Opinion:
    """书面审核意见 (REV-4): 同意, or 存在问题 with the corrections the handling unit must make."""

    kind: OpinionKind
    text: str = ""
    corrections: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "kind", OpinionKind(self.kind))
        object.__setattr__(self, "corrections", tuple(c for c in self.corrections))
        if self.kind is OpinionKind.PROBLEMS and not [c for c in self.corrections if c and c.strip()]:
            raise ValueError("an opinion finding problems (存在问题) must list the corrections required")
        if self.kind is OpinionKind.APPROVE and self.corrections:
            raise ValueError("an approving opinion (同意) carries no required corrections")

    @classmethod
    def approve(cls, text: str = "同意") -> "Opinion":
        return cls(OpinionKind.APPROVE, text)

    @classmethod
    def problems(cls, corrections: Sequence[str], text: str = "存在问题") -> "Opinion":
        return cls(OpinionKind.PROBLEMS, text, tuple(corrections))


@dataclass(frozen=True)
class Coordination:
    """协调 (REV-5): the handling unit disagrees with a returned opinion; a coordinator decides."""

    raised_by: str
    raised_at: dt.datetime
    unit_position: str
    coordinator_id: str | None = None
    outcome: CoordinationOutcome | None = None
    decided_at: dt.datetime | None = None
    note: str = ""
    corrections_kept: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckFinding:
    """The reviewer's own finding on one checklist item (审查意见, REV-3): ``pass`` or ``fail``, with the text."""

    code: str
    outcome: Outcome
    finding: str
    by: str
    at: dt.datetime

    def __post_init__(self):
        object.__setattr__(self, "outcome", Outcome(self.outcome))


@dataclass(frozen=True)
class ReviewVersion:
    """One submission (送审) of the proposal, with everyone responsible for it (REV-6)."""

    number: int
    proposal: Proposal
    submitted_by: str
    submitted_at: dt.datetime
    due: Deadline
    prechecks: tuple[CheckResult, ...] = ()
    classification: Classification | None = None
    sign_off_required: bool = False
    status: VersionStatus = VersionStatus.PENDING
    reviewer_id: str | None = None
    review_started_at: dt.datetime | None = None
    opinion: Opinion | None = None
    reviewed_at: dt.datetime | None = None
    approver_id: str | None = None
    signed_off_at: dt.datetime | None = None
    sign_off_note: str = ""
    coordination: Coordination | None = None
    findings: tuple["CheckFinding", ...] = ()

    @property
    def concluded_at(self) -> dt.datetime | None:
        """When the review of this version was concluded (opinion, sign-off or coordination)."""
        if self.status is VersionStatus.APPROVED:
            return self.signed_off_at or (self.coordination.decided_at if self.coordination else None) or self.reviewed_at
        if self.status is VersionStatus.RETURNED:
            if self.coordination and self.coordination.decided_at:
                return self.coordination.decided_at
            return self.signed_off_at or self.reviewed_at
        return None

    @property
    def reviewed_on_time(self) -> bool | None:
        """Whether the reviewer gave the opinion by the due date (None while no opinion)."""
        if self.reviewed_at is None:
            return None
        return self.reviewed_at.date() <= self.due.due


@dataclass(frozen=True)
class Transition:
    """An entry of the task's history (who did what when — REV-6)."""

    action: str
    from_state: TaskState | None
    to_state: TaskState
    version: int
    actor: str
    at: dt.datetime
    note: str = ""


@dataclass(frozen=True)
class ReviewTask:
    task_id: str
    case_id: str
    body_id: str
    state: TaskState
    versions: tuple[ReviewVersion, ...]
    history: tuple[Transition, ...]

    @property
    def current(self) -> ReviewVersion:
        return self.versions[-1]

    def version(self, number: int) -> ReviewVersion | None:
        for v in self.versions:
            if v.number == number:
                return v
        return None

    @property
    def is_pending(self) -> bool:
        """True while a reviewer, approver or coordinator still has to act."""
        return self.state in _PENDING_STATES or self.state is TaskState.COORDINATION


# --- transitions ------------------------------------------------------------------------------

def _require(task: ReviewTask, action: str, allowed: set[TaskState]) -> None:
    if task.state not in allowed:
        allowed_zh = "、".join(STATE_NAMES_ZH[s] for s in sorted(allowed, key=lambda s: s.value))
        raise InvalidTransition(
            f"case {task.case_id} v{task.current.number}: cannot {action} in state {task.state.value} "
            f"（当前状态“{STATE_NAMES_ZH[task.state]}”不能执行该操作，仅限：{allowed_zh}）")


def _check_time(task: ReviewTask, at: dt.datetime) -> None:
    if task.history and at < task.history[-1].at:
        raise InvalidTransition(f"case {task.case_id}: {at.isoformat()} is before the last recorded step "
                                f"{task.history[-1].at.isoformat()}")


def _step(task: ReviewTask, action: str, to_state: TaskState, actor: str, at: dt.datetime, note: str = "",
          versions: tuple[ReviewVersion, ...] | None = None) -> ReviewTask:
    versions = versions if versions is not None else task.versions
    entry = Transition(action, task.state, to_state, versions[-1].number, actor, at, note)
    return replace(task, state=to_state, versions=versions, history=task.history + (entry,))


def _with_current(task: ReviewTask, **changes) -> tuple[ReviewVersion, ...]:
    return task.versions[:-1] + (replace(task.current, **changes),)


def _new_version(proposal: Proposal, submitted_by: str, submitted_at: dt.datetime, due: Deadline,
                 prechecks: Iterable[CheckResult], classification: Classification | None) -> ReviewVersion:
    if not submitted_by:
        raise InvalidTransition("submitted_by (送审人) is required (REV-6)")
    if classification is not None and (classification.case_id, classification.version) != (proposal.case_id, proposal.version):
        raise InvalidTransition(f"classification is for {classification.case_id} v{classification.version}, "
                                f"not {proposal.case_id} v{proposal.version}")
    return ReviewVersion(
        number=proposal.version, proposal=proposal, submitted_by=submitted_by, submitted_at=submitted_at, due=due,
        prechecks=tuple(prechecks), classification=classification,
        sign_off_required=bool(classification and classification.sign_off_required),
    )


def open_task(task_id: str, proposal: Proposal, *, submitted_by: str, submitted_at: dt.datetime, due: Deadline,
              prechecks: Iterable[CheckResult] = (), classification: Classification | None = None) -> ReviewTask:
    """送审: open the review task of ``proposal.case_id`` with its first submitted version (state ``open``)."""
    version = _new_version(proposal, submitted_by, submitted_at, due, prechecks, classification)
    entry = Transition("submit", None, TaskState.OPEN, version.number, submitted_by, submitted_at)
    return ReviewTask(task_id, proposal.case_id, proposal.body_id, TaskState.OPEN, (version,), (entry,))


_ROLE_ZH = {"reviewer": "法制审核人员", "approver": "签署负责人", "coordinator": "协调人"}


def _check_reviewer_independent(task: ReviewTask, person: str, role: str) -> None:
    v = task.current
    if person in v.proposal.officer_ids or person == v.submitted_by:
        raise InvalidTransition(f"{person} handled case {task.case_id} and cannot act as {role} "
                                f"（承办人员不得担任本案{_ROLE_ZH[role]}）")


def start_review(task: ReviewTask, reviewer_id: str, at: dt.datetime) -> ReviewTask:
    """Assign the reviewer and start reviewing: open | resubmitted → under_review."""
    _require(task, "start_review", {TaskState.OPEN, TaskState.RESUBMITTED})
    _check_time(task, at)
    if not reviewer_id:
        raise InvalidTransition("a reviewer is required")
    _check_reviewer_independent(task, reviewer_id, "reviewer")
    versions = _with_current(task, reviewer_id=reviewer_id, review_started_at=at)
    return _step(task, "start_review", TaskState.UNDER_REVIEW, reviewer_id, at, versions=versions)


def reassign_reviewer(task: ReviewTask, reviewer_id: str, at: dt.datetime, by: str, reason: str = "") -> ReviewTask:
    """Hand an ongoing review to another reviewer (state stays ``under_review``)."""
    _require(task, "reassign_reviewer", {TaskState.UNDER_REVIEW})
    _check_time(task, at)
    _check_reviewer_independent(task, reviewer_id, "reviewer")
    versions = _with_current(task, reviewer_id=reviewer_id)
    return _step(task, "reassign_reviewer", TaskState.UNDER_REVIEW, by, at, f"{reviewer_id} {reason}".strip(),
                 versions=versions)


def record_opinion(task: ReviewTask, reviewer_id: str, opinion: Opinion, at: dt.datetime) -> ReviewTask:
    """书面审核意见 (REV-4): under_review → approved (or awaiting_sign_off) | returned."""
    _require(task, "record_opinion", {TaskState.UNDER_REVIEW})
    _check_time(task, at)
    if reviewer_id != task.current.reviewer_id:
        raise InvalidTransition(f"{reviewer_id} is not the assigned reviewer ({task.current.reviewer_id}) of "
                                f"case {task.case_id} v{task.current.number}")
    if opinion.kind is OpinionKind.APPROVE:
        if task.current.sign_off_required:
            versions = _with_current(task, opinion=opinion, reviewed_at=at)
            return _step(task, "approve", TaskState.AWAITING_SIGN_OFF, reviewer_id, at, opinion.text, versions)
        versions = _with_current(task, opinion=opinion, reviewed_at=at, status=VersionStatus.APPROVED)
        return _step(task, "approve", TaskState.APPROVED, reviewer_id, at, opinion.text, versions)
    versions = _with_current(task, opinion=opinion, reviewed_at=at, status=VersionStatus.RETURNED)
    return _step(task, "return", TaskState.RETURNED, reviewer_id, at, "；".join(opinion.corrections), versions)


def sign_off(task: ReviewTask, approver_id: str, at: dt.datetime, note: str = "") -> ReviewTask:
    """负责人签署 (REV-6): awaiting_sign_off → approved. The approver may not be the reviewer or a handler."""
    _require(task, "sign_off", {TaskState.AWAITING_SIGN_OFF})
    _check_time(task, at)
    if approver_id == task.current.reviewer_id:
        raise InvalidTransition("the reviewer cannot also sign off as responsible person（审核人员不得兼任签署负责人）")
    _check_reviewer_independent(task, approver_id, "approver")
    versions = _with_current(task, approver_id=approver_id, signed_off_at=at, sign_off_note=note,
                             status=VersionStatus.APPROVED)
    return _step(task, "sign_off", TaskState.APPROVED, approver_id, at, note, versions)


def refuse_sign_off(task: ReviewTask, approver_id: str, at: dt.datetime, reasons: Sequence[str]) -> ReviewTask:
    """负责人不同意: awaiting_sign_off → returned, with the corrections the responsible person requires."""
    _require(task, "refuse_sign_off", {TaskState.AWAITING_SIGN_OFF})
    _check_time(task, at)
    reasons = tuple(r for r in reasons if r and r.strip())
    if not reasons:
        raise InvalidTransition("refusing sign-off requires the reasons / corrections")
    if approver_id == task.current.reviewer_id:
        raise InvalidTransition("the reviewer cannot also sign off as responsible person（审核人员不得兼任签署负责人）")
    _check_reviewer_independent(task, approver_id, "approver")
    versions = _with_current(task, approver_id=approver_id, signed_off_at=at, sign_off_note="；".join(reasons),
                             status=VersionStatus.RETURNED,
                             opinion=Opinion.problems(reasons, text="负责人未同意"))
    return _step(task, "refuse_sign_off", TaskState.RETURNED, approver_id, at, "；".join(reasons), versions)


def raise_disagreement(task: ReviewTask, raised_by: str, at: dt.datetime, unit_position: str) -> ReviewTask:
    """承办机构对审核意见有异议 (REV-5): returned → coordination. Once per version."""
    _require(task, "raise_disagreement", {TaskState.RETURNED})
    _check_time(task, at)
    if not unit_position or not unit_position.strip():
        raise InvalidTransition("the handling unit's position (承办机构意见) is required")
    if task.current.coordination is not None:
        raise InvalidTransition(f"case {task.case_id} v{task.current.number} has already been through coordination"
                                "（该版本已经协调，应修改后再次送审）")
    coordination = Coordination(raised_by=raised_by, raised_at=at, unit_position=unit_position.strip())
    versions = _with_current(task, coordination=coordination)
    return _step(task, "raise_disagreement", TaskState.COORDINATION, raised_by, at, unit_position, versions)


def decide_coordination(task: ReviewTask, coordinator_id: str, at: dt.datetime, outcome: CoordinationOutcome | str,
                        note: str = "", corrections_kept: Sequence[str] = ()) -> ReviewTask:
    """协调结论 (REV-5), recorded by the coordinator.

    - ``uphold_reviewer`` → returned: all of the reviewer's corrections stand;
    - ``partial`` → returned: only ``corrections_kept`` (non-empty) stand;
    - ``accept_unit`` → approved (awaiting_sign_off where sign-off is required): the opinion is replaced
      by approval as coordinated.
    """
    _require(task, "decide_coordination", {TaskState.COORDINATION})
    _check_time(task, at)
    outcome = CoordinationOutcome(outcome)
    v = task.current
    if coordinator_id in (v.reviewer_id, v.coordination.raised_by):
        raise InvalidTransition("the coordinator must be neither the reviewer nor the unit that disagreed")
    _check_reviewer_independent(task, coordinator_id, "coordinator")
    original = v.opinion.corrections if v.opinion else ()
    if outcome is CoordinationOutcome.PARTIAL:
        kept = tuple(c for c in corrections_kept if c and c.strip())
        if not kept:
            raise InvalidTransition("a partial outcome must list the corrections that still stand")
    elif outcome is CoordinationOutcome.UPHOLD_REVIEWER:
        kept = tuple(original)
    else:
        kept = ()
    coordination = replace(v.coordination, coordinator_id=coordinator_id, outcome=outcome, decided_at=at,
                           note=note, corrections_kept=kept)
    if outcome is CoordinationOutcome.ACCEPT_UNIT:
        if v.sign_off_required:
            versions = _with_current(task, coordination=coordination, status=VersionStatus.PENDING)
            return _step(task, "coordinate", TaskState.AWAITING_SIGN_OFF, coordinator_id, at, outcome.value, versions)
        versions = _with_current(task, coordination=coordination, status=VersionStatus.APPROVED)
        return _step(task, "coordinate", TaskState.APPROVED, coordinator_id, at, outcome.value, versions)
    versions = _with_current(task, coordination=coordination, status=VersionStatus.RETURNED)
    return _step(task, "coordinate", TaskState.RETURNED, coordinator_id, at, outcome.value, versions)


def resubmit(task: ReviewTask, proposal: Proposal, *, submitted_by: str, submitted_at: dt.datetime, due: Deadline,
             prechecks: Iterable[CheckResult] = (), classification: Classification | None = None) -> ReviewTask:
    """再次送审 (REV-4): a new version (number must increase) → resubmitted.

    Allowed after a return or an approval (a changed proposal needs a new review — approval is never
    inherited), and while an earlier version is still pending (that version becomes ``superseded``).
    Not while coordination is running.
    """
    _require(task, "resubmit", _PENDING_STATES | {TaskState.APPROVED, TaskState.RETURNED})
    _check_time(task, submitted_at)
    if proposal.case_id != task.case_id:
        raise InvalidTransition(f"proposal is for case {proposal.case_id}, task is for {task.case_id}")
    if proposal.version <= task.current.number:
        raise InvalidTransition(f"case {task.case_id}: resubmitted version {proposal.version} must be greater than "
                                f"{task.current.number}")
    versions = task.versions
    if task.current.status is VersionStatus.PENDING:
        versions = _with_current(task, status=VersionStatus.SUPERSEDED)
    new = _new_version(proposal, submitted_by, submitted_at, due, prechecks, classification)
    return _step(task, "resubmit", TaskState.RESUBMITTED, submitted_by, submitted_at, versions=versions + (new,))


# --- due dates (REV-5, PLAT-6) ----------------------------------------------------------------

def review_due(submitted_at_date: dt.date | dt.datetime, calendar: WorkingDayCalendar,
               working_days: int = REVIEW_TASK_WORKING_DAYS) -> Deadline:
    """审核时限: the day by which the opinion is due, counting Chinese working days after submission."""
    return calendar.add_working_days(submitted_at_date, working_days)


def due_level(due: dt.date | Deadline, today: dt.date, calendar: WorkingDayCalendar, warn_working_days: int = 1) -> DueLevel:
    """red when ``today`` is past ``due``; yellow when ≤ ``warn_working_days`` working days remain; else green."""
    due_day = due.due if isinstance(due, Deadline) else due
    if today > due_day:
        return DueLevel.RED
    if calendar.working_days_between(today, due_day) <= warn_working_days:
        return DueLevel.YELLOW
    return DueLevel.GREEN


def task_due_level(task: ReviewTask, today: dt.date, calendar: WorkingDayCalendar,
                   warn_working_days: int = 1) -> DueLevel | None:
    """The warning level of a task awaiting the reviewer or approver; None when nothing is awaited from them."""
    if task.state not in _PENDING_STATES:
        return None
    return due_level(task.current.due, today, calendar, warn_working_days)


# --- reviewer assignment (统筹调用, REV-7) --------------------------------------------------------

@dataclass(frozen=True)
class Reviewer:
    """A registered legal reviewer (法制审核人员, 003 §六(二十三)); ``in_pool`` = in the system's pooled list."""

    reviewer_id: str
    body_id: str
    region_code: str
    field: str | None = None
    active: bool = True
    in_pool: bool = False


@dataclass(frozen=True)
class Assignment:
    reviewer_id: str
    pooled: bool
    reason: str  # Chinese


class NoReviewerAvailable(Exception):
    """No eligible reviewer in the body or the pooled list."""


def _levels_up(reviewer_region: str, case_region: str) -> int:
    code, n = case_region, 0
    while code is not None and code != reviewer_region:
        code, n = parent_region(code), n + 1
    return n


def assign_reviewer(*, body_id: str, field: str | None, region_code: str, handling_officer_ids: Iterable[str],
                    reviewers: Iterable[Reviewer], open_task_counts: Mapping[str, int],
                    min_own_reviewers: int = 1, exclude: Iterable[str] = ()) -> Assignment:
    """Pick the reviewer for a task (REV-7).

    Eligible: active, not an officer who handled the case, not in ``exclude``. If the body has at least
    ``min_own_reviewers`` eligible reviewers, the one with the fewest open tasks among them is chosen.
    Otherwise the body's eligible reviewers and the pooled reviewers of the same field whose region is
    the case region or a region above it (统筹调用本系统法律顾问、公职律师) compete. Ties: fewest open
    tasks, own body first, nearest region, then reviewer_id.
    """
    barred = set(handling_officer_ids) | set(exclude)
    everyone = [r for r in reviewers if r.active and r.reviewer_id not in barred]
    own = [r for r in everyone if r.body_id == body_id]

    def key(r: Reviewer):
        return (open_task_counts.get(r.reviewer_id, 0), 0 if r.body_id == body_id else 1,
                _levels_up(r.region_code, region_code), r.reviewer_id)

    if own and len(own) >= min_own_reviewers:
        chosen = min(own, key=key)
        return Assignment(chosen.reviewer_id, False,
                          f"本机关法制审核人员中待办任务最少（{open_task_counts.get(chosen.reviewer_id, 0)}件）")
    pool = [r for r in everyone if r.body_id != body_id and r.in_pool and field is not None and r.field == field
            and region_covers(r.region_code, region_code)]
    candidates = own + pool
    if not candidates:
        raise NoReviewerAvailable(f"no eligible reviewer for body {body_id} (field {field}, region {region_code})"
                                  "（本机关及本系统统筹调用名单中均无可用的法制审核人员）")
    chosen = min(candidates, key=key)
    pooled = chosen.body_id != body_id
    why = "本机关无可用法制审核人员" if not own else f"本机关可用法制审核人员少于{min_own_reviewers}名"
    where = f"统筹调用本系统{chosen.body_id}的法制审核人员" if pooled else "由本机关法制审核人员承担"
    return Assignment(chosen.reviewer_id, pooled,
                      f"{why}，{where}（待办任务{open_task_counts.get(chosen.reviewer_id, 0)}件）")


# --- the checklist of a version (REV-3): automatic pre-checks and the reviewer's findings ------

@dataclass(frozen=True)
class ChecklistItem:
    """One of the eight checks as it stands: the machine pre-check, the reviewer's finding, the effective outcome."""

    code: str
    title: str
    automatic: CheckResult | None
    finding: CheckFinding | None
    outcome: Outcome

    @property
    def settled(self) -> bool:
        """True when the item needs nothing more from the reviewer (a finding, or an automatic pass)."""
        return self.finding is not None or self.outcome is Outcome.PASS


def checklist(version: ReviewVersion) -> list[ChecklistItem]:
    """The eight checks of ``version`` in :data:`CHECKS` order; a reviewer's finding overrides the pre-check."""
    auto = {r.code: r for r in version.prechecks}
    found = {f.code: f for f in version.findings}
    items = []
    for code, title in CHECKS.items():
        a, f = auto.get(code), found.get(code)
        outcome = f.outcome if f else (a.outcome if a else Outcome.NEEDS_REVIEWER)
        items.append(ChecklistItem(code, title, a, f, outcome))
    return items


def approval_blockers(version: ReviewVersion) -> list[str]:
    """Why an approving opinion (同意) may not be given yet (Chinese), empty when it may (REV-3).

    Every check must be settled — an automatic pass, or the reviewer's recorded finding — and none may
    stand at ``fail``: a failed pre-check is either confirmed (then the opinion is 存在问题) or overridden by
    the reviewer's finding saying why it does not apply.
    """
    reasons = []
    for item in checklist(version):
        if item.outcome is Outcome.FAIL:
            why = item.finding.finding if item.finding else item.automatic.finding
            reasons.append(f"“{item.title}”不通过：{why}")
        elif not item.settled:
            reasons.append(f"“{item.title}”尚未记录审查意见")
    return reasons


def record_finding(task: ReviewTask, reviewer_id: str, code: str, outcome: Outcome | str, finding: str,
                   at: dt.datetime) -> ReviewTask:
    """The assigned reviewer records a finding on one check (under_review; replaces an earlier one on that check)."""
    _require(task, "record_finding", {TaskState.UNDER_REVIEW})
    _check_time(task, at)
    if reviewer_id != task.current.reviewer_id:
        raise InvalidTransition(f"{reviewer_id} is not the assigned reviewer ({task.current.reviewer_id}) of "
                                f"case {task.case_id} v{task.current.number}")
    if code not in CHECKS:
        raise InvalidTransition(f"unknown check {code!r}（审查事项代码应为：{'、'.join(CHECKS)}）")
    outcome = Outcome(outcome)
    if outcome is Outcome.NEEDS_REVIEWER:
        raise InvalidTransition("a reviewer's finding is pass or fail（审查意见应为通过或不通过）")
    if not finding or not finding.strip():
        raise InvalidTransition(f"the finding on {code} needs its text（请填写“{CHECKS[code]}”的审查意见）")
    entry = CheckFinding(code, outcome, finding.strip(), reviewer_id, at)
    order = list(CHECKS)
    findings = tuple(sorted((*(f for f in task.current.findings if f.code != code), entry),
                            key=lambda f: order.index(f.code)))
    versions = _with_current(task, findings=findings)
    return _step(task, "record_finding", task.state, reviewer_id, at, f"{code}:{outcome.value}", versions)


def update_prechecks(task: ReviewTask, prechecks: Iterable[CheckResult], at: dt.datetime,
                     actor: str = "system") -> ReviewTask:
    """Re-run automatic pre-checks of the current version when the data behind them changed.

    Only while the version is still before the reviewer or approver (pending); a concluded version keeps the
    results its opinion was based on. Returns ``task`` unchanged when nothing changed.
    """
    prechecks = tuple(prechecks)
    if task.state not in _PENDING_STATES or prechecks == task.current.prechecks:
        return task
    if task.history and at < task.history[-1].at:
        at = task.history[-1].at
    before = {r.code: r for r in task.current.prechecks}
    changed = [r.code for r in prechecks if before.get(r.code) != r]
    versions = _with_current(task, prechecks=prechecks)
    return _step(task, "update_prechecks", task.state, actor, at, ",".join(changed), versions)
