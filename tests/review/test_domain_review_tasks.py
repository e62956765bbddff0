"""Review task life cycle (REV-4, REV-5, REV-6), the gate and bypass detection (REV-2), due dates
(REV-5, PLAT-6) and reviewer assignment (REV-7 统筹调用)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.common.workdays import WorkingDayCalendar
from services.review.domain import (CoordinationOutcome, DueLevel, InvalidTransition, NoReviewerAvailable, Opinion,
                                    Proposal, Reviewer, TaskState, VersionStatus, ViolationKind, assign_reviewer,
                                    classify, decide_coordination, detect_bypass, due_level, may_decide, open_task,
                                    raise_disagreement, record_opinion, refuse_sign_off,
                                    resubmit, review_due, sign_off, start_review, task_due_level)
from services.review.configuration import load_catalogue

TZ = dt.timezone(dt.timedelta(hours=8))


def at(m, d, h=9, y=2026):
    return dt.datetime(y, m, d, h, 0, tzinfo=TZ)


@pytest.fixture(scope="module")
def calendar(tmp_path_factory):
    # an empty override dir: exactly the library years (2004–2026), 2027 unknown
    return WorkingDayCalendar.load(tmp_path_factory.mktemp("no-overrides"))


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def proposal(version=1, **kw) -> Proposal:
    base = dict(case_id="C-1", version=version, body_id="B1", region_code="330106", action_type="penalty",
                matter_code="M-001", field="market_regulation", parties=({"party_kind": "legal", "name": "甲公司"},),
                officer_ids=("O1", "O2"), proposed_at=at(3, 2), fine_amount=Decimal("200000"), submitted_by="O1")
    base.update(kw)
    return Proposal(**base)


def submit(calendar, catalogue, p: Proposal, when: dt.datetime, task=None):
    cls = classify(p, catalogue)
    due = review_due(when.date(), calendar)
    if task is None:
        return open_task("T-1", p, submitted_by="O1", submitted_at=when, due=due, classification=cls)
    return resubmit(task, p, submitted_by="O1", submitted_at=when, due=due, classification=cls)


# --- life cycle -------------------------------------------------------------------------------

def test_rev4_rev6_resubmission_loop_returned_then_v2_approved(calendar, catalogue):
    p1 = proposal(1)
    task = submit(calendar, catalogue, p1, at(3, 2))
    assert task.state is TaskState.OPEN and task.current.sign_off_required
    task = start_review(task, "R1", at(3, 3))
    assert task.state is TaskState.UNDER_REVIEW
    task = record_opinion(task, "R1", Opinion.problems(["补充听证告知书送达回证", "核实违法所得计算"]), at(3, 4))
    assert task.state is TaskState.RETURNED
    assert task.version(1).status is VersionStatus.RETURNED

    p2 = proposal(2, fine_amount=Decimal("150000"))
    task = submit(calendar, catalogue, p2, at(3, 9), task)
    assert task.state is TaskState.RESUBMITTED
    assert [v.number for v in task.versions] == [1, 2]
    assert task.version(1).status is VersionStatus.RETURNED  # v1 keeps its returned opinion
    task = start_review(task, "R1", at(3, 10))
    task = record_opinion(task, "R1", Opinion.approve(), at(3, 11))
    assert task.state is TaskState.AWAITING_SIGN_OFF  # catalogue: sign_off true
    task = sign_off(task, "HEAD", at(3, 11, 15))
    assert task.state is TaskState.APPROVED
    v2 = task.version(2)
    assert (v2.status, v2.submitted_by, v2.reviewer_id, v2.approver_id) == (VersionStatus.APPROVED, "O1", "R1", "HEAD")
    assert v2.reviewed_on_time is True

    # REV-6: who did what, when
    assert [(h.action, h.actor, h.version, h.to_state.value) for h in task.history] == [
        ("submit", "O1", 1, "open"), ("start_review", "R1", 1, "under_review"), ("return", "R1", 1, "returned"),
        ("resubmit", "O1", 2, "resubmitted"), ("start_review", "R1", 2, "under_review"),
        ("approve", "R1", 2, "awaiting_sign_off"), ("sign_off", "HEAD", 2, "approved"),
    ]
    # REV-2 gate: v2 may be decided, v1 (returned) may not
    assert may_decide(task, "C-1", 2, classify(p2, catalogue)).allowed is True
    refused = may_decide(task, "C-1", 1, classify(p1, catalogue))
    assert refused.allowed is False
    assert refused.reasons == ("案件C-1第1版法制审核未通过（存在问题），应修改后再次送审，不得作出决定",
                               "认定为重大执法决定的依据：较大数额罚款")


def test_rev2_approval_of_v1_does_not_allow_v2(calendar, catalogue):
    task = submit(calendar, catalogue, proposal(1), at(3, 2))
    task = start_review(task, "R1", at(3, 3))
    task = record_opinion(task, "R1", Opinion.approve(), at(3, 4))
    task = sign_off(task, "HEAD", at(3, 4, 10))
    p2 = proposal(2, measures=("order_closure",))
    assert may_decide(task, "C-1", 1, classify(proposal(1), catalogue)).allowed is True
    # v2 not even submitted yet
    answer = may_decide(task, "C-1", 2, classify(p2, catalogue))
    assert answer.allowed is False
    assert answer.reasons[0] == ("案件C-1第2版拟作出的决定未送法制审核（应审未审）（已送审的最新版本为第1版，"
                                 "审核结论不适用于其他版本），不得作出决定")
    # v2 submitted but not reviewed
    task = submit(calendar, catalogue, p2, at(3, 5), task)
    assert task.version(1).status is VersionStatus.APPROVED  # v1's approval stays on v1
    answer = may_decide(task, "C-1", 2, classify(p2, catalogue))
    assert answer.allowed is False
    assert answer.reasons == ("案件C-1第2版法制审核尚未完成（再次送审待审核），不得作出决定",
                              "认定为重大执法决定的依据：较大数额罚款、责令关闭")
    violation = detect_bypass(classify(p2, catalogue), task, 2)
    assert violation.kind is ViolationKind.NOT_REVIEWED
    assert violation.description == "应审未审：案件C-1第2版属于重大执法决定，法制审核尚未完成即作出执法决定"


def test_rev5_coordination_accept_unit_position(calendar, catalogue):
    p = proposal(1, parties=({"party_kind": "natural", "name": "张三"},), fine_amount=Decimal("20000"))
    task = submit(calendar, catalogue, p, at(3, 2))
    task = start_review(task, "R1", at(3, 3))
    task = record_opinion(task, "R1", Opinion.problems(["罚款适用从重情节依据不足"]), at(3, 4))
    task = raise_disagreement(task, "O1", at(3, 5), "从重情节有现场检查笔录和视频为证")
    assert task.state is TaskState.COORDINATION
    with pytest.raises(InvalidTransition, match="neither the reviewer"):
        decide_coordination(task, "R1", at(3, 6), "accept_unit")
    task = decide_coordination(task, "LEGAL-HEAD", at(3, 6), CoordinationOutcome.ACCEPT_UNIT, note="证据充分")
    assert task.state is TaskState.AWAITING_SIGN_OFF  # sign-off still required
    task = sign_off(task, "HEAD", at(3, 6, 11))
    assert task.state is TaskState.APPROVED
    c = task.current.coordination
    assert (c.raised_by, c.coordinator_id, c.outcome, c.corrections_kept) == ("O1", "LEGAL-HEAD",
                                                                              CoordinationOutcome.ACCEPT_UNIT, ())
    assert may_decide(task, "C-1", 1, classify(p, catalogue)).allowed is True
    assert detect_bypass(classify(p, catalogue), task, 1) is None


@pytest.mark.parametrize("outcome,kept,expected_kept", [
    ("uphold_reviewer", (), ("补充证据A", "更正文书B")),
    ("partial", ("更正文书B",), ("更正文书B",)),
])
def test_rev5_coordination_uphold_or_partial_returns_for_correction(calendar, catalogue, outcome, kept, expected_kept):
    p = proposal(1)
    task = submit(calendar, catalogue, p, at(3, 2))
    task = start_review(task, "R1", at(3, 3))
    task = record_opinion(task, "R1", Opinion.problems(["补充证据A", "更正文书B"]), at(3, 4))
    task = raise_disagreement(task, "O1", at(3, 5), "证据A已在卷")
    task = decide_coordination(task, "LEGAL-HEAD", at(3, 6), outcome, corrections_kept=kept)
    assert task.state is TaskState.RETURNED
    assert task.current.coordination.corrections_kept == expected_kept
    with pytest.raises(InvalidTransition, match="already been through coordination"):
        raise_disagreement(task, "O1", at(3, 7), "仍有异议")
    # bypass: deciding the returned version = 审核未通过仍作出决定
    violation = detect_bypass(classify(p, catalogue), task, 1)
    assert violation.kind is ViolationKind.NOT_APPROVED
    assert violation.description == ("审核未通过仍作出决定：案件C-1第1版法制审核意见为存在问题，"
                                     "承办机构未修改并经审核通过即作出执法决定")
    # the loop continues: corrected v2
    task = submit(calendar, catalogue, proposal(2), at(3, 9), task)
    assert task.state is TaskState.RESUBMITTED


def test_rev5_partial_outcome_requires_kept_corrections(calendar, catalogue):
    task = submit(calendar, catalogue, proposal(1), at(3, 2))
    task = start_review(task, "R1", at(3, 3))
    task = record_opinion(task, "R1", Opinion.problems(["补充证据A"]), at(3, 4))
    task = raise_disagreement(task, "O1", at(3, 5), "异议")
    with pytest.raises(InvalidTransition, match="partial outcome must list"):
        decide_coordination(task, "LEGAL-HEAD", at(3, 6), "partial")


def test_rev4_invalid_transitions_raise(calendar, catalogue):
    task = submit(calendar, catalogue, proposal(1), at(3, 2))
    with pytest.raises(InvalidTransition, match="cannot record_opinion in state open"):
        record_opinion(task, "R1", Opinion.approve(), at(3, 3))
    with pytest.raises(InvalidTransition, match="cannot raise_disagreement"):
        raise_disagreement(task, "O1", at(3, 3), "x")
    with pytest.raises(InvalidTransition, match="承办人员不得担任本案法制审核人员"):
        start_review(task, "O2", at(3, 3))  # a handling officer cannot review
    task = start_review(task, "R1", at(3, 3))
    with pytest.raises(InvalidTransition, match="not the assigned reviewer"):
        record_opinion(task, "R2", Opinion.approve(), at(3, 4))
    with pytest.raises(InvalidTransition, match="before the last recorded step"):
        record_opinion(task, "R1", Opinion.approve(), at(3, 1))
    with pytest.raises(InvalidTransition, match="cannot sign_off"):
        sign_off(task, "HEAD", at(3, 4))
    task = record_opinion(task, "R1", Opinion.approve(), at(3, 4))
    with pytest.raises(InvalidTransition, match="reviewer cannot also sign off"):
        sign_off(task, "R1", at(3, 4, 10))
    with pytest.raises(InvalidTransition, match="must be greater than 1"):
        resubmit(task, proposal(1), submitted_by="O1", submitted_at=at(3, 5), due=review_due(at(3, 5), calendar))
    with pytest.raises(ValueError, match="must list the corrections"):
        Opinion.problems([])


def test_rev4_refused_sign_off_returns_and_resubmission_while_pending_supersedes(calendar, catalogue):
    task = submit(calendar, catalogue, proposal(1), at(3, 2))
    task = start_review(task, "R1", at(3, 3))
    task = record_opinion(task, "R1", Opinion.approve(), at(3, 4))
    task = refuse_sign_off(task, "HEAD", at(3, 5), ["罚款幅度明显偏高"])
    assert task.state is TaskState.RETURNED
    assert task.current.opinion.corrections == ("罚款幅度明显偏高",)
    task = submit(calendar, catalogue, proposal(2), at(3, 6), task)
    task = start_review(task, "R1", at(3, 6, 10))
    task = submit(calendar, catalogue, proposal(3), at(3, 7), task)  # v3 arrives while v2 under review
    assert task.version(2).status is VersionStatus.SUPERSEDED
    assert detect_bypass(classify(proposal(2), catalogue), task, 2).kind is ViolationKind.NOT_REVIEWED
    with pytest.raises(InvalidTransition, match="cannot resubmit in state coordination"):
        t = start_review(task, "R1", at(3, 8))
        t = record_opinion(t, "R1", Opinion.problems(["x"]), at(3, 8, 10))
        t = raise_disagreement(t, "O1", at(3, 8, 11), "异议")
        submit(calendar, catalogue, proposal(4), at(3, 9), t)


# --- gate and bypass --------------------------------------------------------------------------

def test_rev2_gate_refuses_unreviewed_major_and_allows_non_major(catalogue):
    major = classify(proposal(1), catalogue)
    answer = may_decide(None, "C-1", 1, major)
    assert answer.allowed is False
    assert answer.reasons == ("案件C-1属于重大执法决定，未送法制审核（应审未审），不得作出决定",
                              "认定为重大执法决定的依据：较大数额罚款")
    minor = classify(proposal(1, fine_amount=Decimal("500")), catalogue)
    assert not minor.major
    assert may_decide(None, "C-1", 1, minor).allowed is True
    assert may_decide(None, "C-1", 1, minor).reasons == ("非重大执法决定，无需法制审核",)


def test_rev2_bypass_detection(calendar, catalogue):
    major = classify(proposal(1), catalogue)
    violation = detect_bypass(major, None, 1)
    assert (violation.case_id, violation.version, violation.kind.value) == ("C-1", 1, "not_reviewed")
    assert violation.description == "应审未审：案件C-1第1版属于重大执法决定，未送法制审核即作出执法决定"
    minor = classify(proposal(1, fine_amount=Decimal("500")), catalogue)
    assert detect_bypass(minor, None, 1) is None
    task = submit(calendar, catalogue, proposal(1), at(3, 2))
    task = start_review(task, "R1", at(3, 3))
    task = record_opinion(task, "R1", Opinion.approve(), at(3, 4))
    assert detect_bypass(major, task, 1).kind is ViolationKind.NOT_REVIEWED  # awaiting sign-off
    task = sign_off(task, "HEAD", at(3, 4, 10))
    assert detect_bypass(major, task, 1) is None


# --- due dates (REV-5, PLAT-6) ----------------------------------------------------------------

@pytest.mark.parametrize("submitted,due", [
    (dt.date(2026, 9, 30), dt.date(2026, 10, 13)),  # National Day 10-01..07 skipped; Sat 10-10 is a workday
    (dt.date(2026, 9, 18), dt.date(2026, 9, 24)),   # adjusted working Sunday 09-20 counts
    (dt.date(2026, 9, 22), dt.date(2026, 9, 30)),   # Mid-Autumn holiday 09-25 skipped
    (dt.date(2026, 3, 2), dt.date(2026, 3, 9)),     # an ordinary week
])
def test_rev5_review_due_counts_working_days(calendar, submitted, due):
    deadline = review_due(submitted, calendar)
    assert (deadline.due, deadline.provisional, deadline.working_days) == (due, False, 5)


def test_rev5_plat6_due_in_unknown_year_is_provisional_until_schedule_loaded(calendar, tmp_path):
    deadline = review_due(dt.date(2026, 12, 28), calendar)
    assert (deadline.due, deadline.provisional) == (dt.date(2027, 1, 4), True)  # plain Mon–Fri counts 01-01
    (tmp_path / "2027.yaml").write_text("year: 2027\nholidays: ['2027-01-01']\nadjusted_workdays: []\nsource: test\n",
                                        encoding="utf-8")
    loaded = WorkingDayCalendar.load(tmp_path)
    deadline = review_due(dt.date(2026, 12, 28), loaded)
    assert (deadline.due, deadline.provisional) == (dt.date(2027, 1, 5), False)


@pytest.mark.parametrize("today,level", [
    (dt.date(2026, 10, 1), DueLevel.GREEN),   # 5 working days left
    (dt.date(2026, 10, 9), DueLevel.GREEN),   # 10-10, 10-12, 10-13 left
    (dt.date(2026, 10, 10), DueLevel.GREEN),  # 2 left
    (dt.date(2026, 10, 11), DueLevel.GREEN),  # Sunday: 10-12, 10-13 left
    (dt.date(2026, 10, 12), DueLevel.YELLOW),  # 1 left
    (dt.date(2026, 10, 13), DueLevel.YELLOW),  # due today
    (dt.date(2026, 10, 14), DueLevel.RED),
])
def test_rev5_overdue_warning_levels(calendar, today, level):
    assert due_level(review_due(dt.date(2026, 9, 30), calendar), today, calendar) is level


def test_rev5_task_due_level_only_while_awaiting_review(calendar, catalogue):
    task = submit(calendar, catalogue, proposal(1), at(9, 30))
    assert task.current.due.due == dt.date(2026, 10, 13)
    assert task_due_level(task, dt.date(2026, 10, 14), calendar) is DueLevel.RED
    task = start_review(task, "R1", at(10, 8))
    task = record_opinion(task, "R1", Opinion.problems(["补正"]), at(10, 14))
    assert task.current.reviewed_on_time is False
    assert task_due_level(task, dt.date(2026, 10, 20), calendar) is None


# --- reviewer assignment (REV-7 统筹调用) ---------------------------------------------------------

REVIEWERS = [
    Reviewer("R-B1-a", "B1", "330106", "market_regulation"),
    Reviewer("R-B1-b", "B1", "330106", "market_regulation"),
    Reviewer("P-CITY", "B-CITY", "330100", "market_regulation", in_pool=True),
    Reviewer("P-PROV", "B-PROV", "330000", "market_regulation", in_pool=True),
    Reviewer("P-OTHERCITY", "B-NB", "330200", "market_regulation", in_pool=True),  # does not cover 330106
    Reviewer("P-TRANSPORT", "B-JT", "330100", "transport", in_pool=True),           # other field
    Reviewer("X-CITY", "B-CITY2", "330100", "market_regulation", in_pool=False),   # not in the pooled list
    Reviewer("P-TOWN", "B-TOWN", "330106001", "market_regulation", in_pool=True),  # lower tier
    Reviewer("P-RETIRED", "B-CITY3", "330100", "market_regulation", active=False, in_pool=True),
]


def assign(body="B1", officers=("O1", "O2"), counts=None, reviewers=REVIEWERS, **kw):
    return assign_reviewer(body_id=body, field="market_regulation", region_code="330106",
                           handling_officer_ids=officers, reviewers=reviewers, open_task_counts=counts or {}, **kw)


def test_rev7_own_reviewer_with_fewest_open_tasks_then_id():
    a = assign(counts={"R-B1-a": 3, "R-B1-b": 1, "P-CITY": 0})
    assert (a.reviewer_id, a.pooled) == ("R-B1-b", False)
    assert a.reason == "本机关法制审核人员中待办任务最少（1件）"
    assert assign(counts={"R-B1-a": 1, "R-B1-b": 1}).reviewer_id == "R-B1-a"  # tie → id


def test_rev7_handling_officer_never_reviews_own_case():
    assert assign(officers=("O1", "R-B1-a"), counts={"R-B1-a": 0, "R-B1-b": 5}).reviewer_id == "R-B1-b"


def test_rev7_pooled_when_body_has_no_reviewer():
    a = assign(body="B-EMPTY")
    assert (a.reviewer_id, a.pooled) == ("P-CITY", True)  # equal load: nearer region (city) before province
    assert a.reason == "本机关无可用法制审核人员，统筹调用本系统B-CITY的法制审核人员（待办任务0件）"
    assert assign(body="B-EMPTY", counts={"P-CITY": 2, "P-PROV": 1}).reviewer_id == "P-PROV"
    # only the own body's reviewers are R-B1-*; as handling officers they are excluded → pooled
    b = assign(officers=("R-B1-a", "R-B1-b"))
    assert (b.reviewer_id, b.pooled) == ("P-CITY", True)


def test_rev7_pooled_when_body_below_its_minimum():
    reviewers = [r for r in REVIEWERS if r.reviewer_id != "R-B1-b"]
    a = assign(reviewers=reviewers, min_own_reviewers=2, counts={"R-B1-a": 3, "P-CITY": 1, "P-PROV": 1})
    assert (a.reviewer_id, a.pooled) == ("P-CITY", True)
    assert a.reason.startswith("本机关可用法制审核人员少于2名")
    b = assign(reviewers=reviewers, min_own_reviewers=2, counts={"R-B1-a": 1, "P-CITY": 1, "P-PROV": 1})
    assert (b.reviewer_id, b.pooled) == ("R-B1-a", False)  # equal load: own body first
    # a pooled county-level legal adviser in the same region: equal load and region → own body still first
    county = reviewers + [Reviewer("A-COUNTY", "B-SFJ", "330106", "market_regulation", in_pool=True)]
    c = assign(reviewers=county, min_own_reviewers=2, counts={"R-B1-a": 1, "A-COUNTY": 1, "P-CITY": 1, "P-PROV": 1})
    assert (c.reviewer_id, c.pooled) == ("R-B1-a", False)
    d = assign(reviewers=county, min_own_reviewers=2, counts={"R-B1-a": 2, "A-COUNTY": 1, "P-CITY": 1, "P-PROV": 1})
    assert (d.reviewer_id, d.pooled) == ("A-COUNTY", True)


def test_rev7_no_reviewer_anywhere():
    with pytest.raises(NoReviewerAvailable):
        assign_reviewer(body_id="B-EMPTY", field="transport", region_code="330200", handling_officer_ids=(),
                        reviewers=REVIEWERS, open_task_counts={})
