"""Unit tests of what the review service adds to the domain: checklist findings and approval blockers (REV-3),
re-run pre-checks, officers over all actions of a case (PLAT-3), the JSON codec of a task (REV-6: nothing of
the history is lost) and configuration files reread when they change (REV-1)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.common.workdays import WorkingDayCalendar
from services.review import codec
from services.review.configuration import ConfigUnavailable, ReloadingFile, load_settings, parse_settings, SettingsError
from services.review.domain import (CertificateEvent, CoordinationOutcome, InvalidTransition, Opinion, Outcome,
                                    Proposal, TaskState, approval_blockers, check_officers_at_actions, checklist,
                                    classify, decide_coordination, open_task,
                                    raise_disagreement, record_finding, record_opinion, resubmit, review_due,
                                    run_prechecks, sign_off, start_review, update_prechecks)
from services.review.configuration import load_catalogue, load_checklist_config

TZ = dt.timezone(dt.timedelta(hours=8))


def at(m, d, h=9):
    return dt.datetime(2026, m, d, h, 0, tzinfo=TZ)


@pytest.fixture(scope="module")
def calendar(tmp_path_factory):
    return WorkingDayCalendar.load(tmp_path_factory.mktemp("no-overrides"))


def proposal(version=1, **kw) -> Proposal:
    base = dict(case_id="C-1", version=version, body_id="B1", region_code="330106", action_type="penalty",
                matter_code="M-001", field="market_regulation",
                parties=({"party_kind": "legal", "name": "甲公司", "id_number": "91330106MA2XXXXX0X"},),
                officer_ids=("O1", "O2"), proposed_at=at(3, 2), fine_amount=Decimal("200000"),
                confiscation_amount=Decimal("60000.50"), measures=("order_closure",), submitted_by="O1",
                flags={"social_risk": True})
    base.update(kw)
    return Proposal(**base)


def certs(*suspended):
    events = [CertificateEvent(f"C{o}", o, "valid", at(1, 1)) for o in ("O1", "O2", "O3")]
    return events + [CertificateEvent(f"C{o}", o, "suspended", t) for o, t in suspended]


def submitted(calendar, p=None, prechecks=None):
    p = p or proposal()
    cls = classify(p, load_catalogue())
    pre = prechecks if prechecks is not None else run_prechecks(p, certificates=certs(), powers=[],
                                                                 config=load_checklist_config())
    return open_task("T-1", p, submitted_by="O1", submitted_at=at(3, 2), due=review_due(at(3, 2), calendar),
                     prechecks=pre, classification=cls)


# --- findings and approval blockers (REV-3) ----------------------------------------------------------

def test_rev3_every_check_must_be_settled_and_none_failing_before_approval(calendar):
    task = start_review(submitted(calendar), "R1", at(3, 3))
    blockers = approval_blockers(task.current)
    assert any("未超越法定权限" in b and "不通过" in b for b in blockers)       # no powers list: fail
    assert any("事实清楚、证据合法充分" in b and "尚未记录" in b for b in blockers)
    assert not any("执法人员具备执法资格" in b for b in blockers)            # automatic pass settles it

    task = record_finding(task, "R1", "within_authority", "pass", "权责清单已于3月1日更新，含该事项", at(3, 3, 10))
    for code in ("body_lawful", "procedure_lawful", "facts_evidence", "law_discretion", "documents_complete",
                 "crime_transfer"):
        task = record_finding(task, "R1", code, "pass", "经审查无误", at(3, 3, 11))
    assert approval_blockers(task.current) == []
    items = {i.code: i for i in checklist(task.current)}
    assert items["within_authority"].automatic.outcome is Outcome.FAIL     # the machine result is kept
    assert items["within_authority"].outcome is Outcome.PASS and items["within_authority"].finding.by == "R1"

    task = record_finding(task, "R1", "facts_evidence", "fail", "证据不足", at(3, 3, 12))  # replaces the earlier one
    assert [f.code for f in task.current.findings].count("facts_evidence") == 1
    assert approval_blockers(task.current) == ["“事实清楚、证据合法充分”不通过：证据不足"]
    assert [h.action for h in task.history][-1] == "record_finding"


def test_rev3_findings_only_by_the_reviewer_while_under_review(calendar):
    task = submitted(calendar)
    with pytest.raises(InvalidTransition, match="cannot record_finding"):
        record_finding(task, "R1", "facts_evidence", "pass", "x", at(3, 3))
    task = start_review(task, "R1", at(3, 3))
    with pytest.raises(InvalidTransition, match="not the assigned reviewer"):
        record_finding(task, "R2", "facts_evidence", "pass", "x", at(3, 3))
    with pytest.raises(InvalidTransition, match="unknown check"):
        record_finding(task, "R1", "nonsense", "pass", "x", at(3, 3))
    with pytest.raises(InvalidTransition, match="pass or fail"):
        record_finding(task, "R1", "facts_evidence", "needs_reviewer", "x", at(3, 3))
    with pytest.raises(InvalidTransition, match="needs its text"):
        record_finding(task, "R1", "facts_evidence", "pass", "  ", at(3, 3))


def test_rev3_prechecks_rerun_while_pending_only(calendar):
    task = submitted(calendar)
    config = load_checklist_config()
    rerun = run_prechecks(task.current.proposal, certificates=certs(("O2", at(2, 1))), powers=[], config=config)
    updated = update_prechecks(task, rerun, at(3, 2, 12))
    assert updated.history[-1].action == "update_prechecks" and updated.history[-1].note == "officers_qualified"
    assert update_prechecks(updated, rerun, at(3, 2, 13)) is updated          # nothing changed: no new step
    returned = record_opinion(start_review(updated, "R1", at(3, 3)), "R1", Opinion.problems(["补证"]), at(3, 4))
    assert update_prechecks(returned, task.current.prechecks, at(3, 5)) is returned  # concluded: kept as reviewed


# --- officers at every action (PLAT-3) ---------------------------------------------------------------

def test_plat3_officers_checked_at_each_action_of_the_case():
    history = certs(("O2", at(2, 10)))
    actions = [(at(2, 1), ("O1", "O2")), (at(2, 20), ("O1", "O3"))]
    ok = check_officers_at_actions(actions, history, ("O1", "O3"), at(3, 2))
    assert ok.outcome is Outcome.PASS and "2次执法活动" in ok.finding       # O2 acted before the suspension
    late = check_officers_at_actions(actions + [(at(2, 25), ("O2",))], history, ("O1", "O3"), at(3, 2))
    assert late.outcome is Outcome.FAIL and "O2在2026-02-25" in late.finding and "暂扣" in late.finding
    alone = check_officers_at_actions(actions, history, ("O1", "O2"), at(3, 2))
    assert alone.outcome is Outcome.FAIL and "少于2名" in alone.finding


# --- the codec: a task survives JSON with everything (REV-6) ----------------------------------------

def test_rev6_task_json_round_trip_keeps_every_version_and_step(calendar):
    task = start_review(submitted(calendar), "R1", at(3, 3))
    task = record_finding(task, "R1", "facts_evidence", "fail", "违法所得计算有误", at(3, 3, 10))
    task = record_opinion(task, "R1", Opinion.problems(["重新核算违法所得", "补充送达回证"]), at(3, 4))
    task = raise_disagreement(task, "O1", at(3, 4, 15), "计算依据充分")
    task = decide_coordination(task, "SUP", at(3, 5), CoordinationOutcome.PARTIAL, "部分采纳", ["补充送达回证"])
    p2 = proposal(2, proposed_at=at(3, 6))
    task = resubmit(task, p2, submitted_by="O1", submitted_at=at(3, 6), due=review_due(at(3, 6), calendar),
                    classification=classify(p2, load_catalogue()))
    task = start_review(task, "R1", at(3, 7))
    task = record_opinion(task, "R1", Opinion.approve(), at(3, 8))
    assert task.state is TaskState.AWAITING_SIGN_OFF
    task = sign_off(task, "HEAD", at(3, 9), "同意")

    document = codec.task_to_json(task)
    import json
    again = codec.task_from_json(json.loads(json.dumps(document)))
    assert again == task
    assert document["versions"][0]["coordination"]["corrections_kept"] == ["补充送达回证"]
    assert document["versions"][1]["proposal"]["confiscation_amount"] == "60000.50"
    with pytest.raises(ValueError, match="format"):
        codec.task_from_json({**document, "format": 99})


# --- configuration reread when it changes (REV-1) ---------------------------------------------------

def test_rev1_configuration_file_reread_on_change_last_valid_kept(tmp_path):
    path = tmp_path / "review.yaml"
    path.write_text("staffing: {min_ratio: 0.05, grace_hours: 24}\n", encoding="utf-8")
    from nameko import config

    with config.patch({"ZHIFA_REVIEW_SETTINGS": str(path)}, clear=False):
        holder = ReloadingFile("settings", "ZHIFA_REVIEW_SETTINGS", load_settings)
        assert holder.get().grace_hours == 24
        path.write_text("staffing: {min_ratio: 0.1, grace_hours: 0}\n", encoding="utf-8")
        assert (holder.get().min_ratio, holder.get().grace_hours) == (Decimal("0.1"), 0)
        path.write_text("staffing: {min_ratio: 2}\n", encoding="utf-8")      # invalid: the last valid stays
        assert holder.get().min_ratio == Decimal("0.1") and "min_ratio" in holder.last_error
    broken = tmp_path / "other.yaml"
    broken.write_text("task: {period: no.such.period}\n", encoding="utf-8")
    with config.patch({"ZHIFA_REVIEW_SETTINGS": str(broken)}, clear=False):
        fresh = ReloadingFile("settings", "ZHIFA_REVIEW_SETTINGS", load_settings)
        with pytest.raises(ConfigUnavailable, match="no.such.period"):
            fresh.get()


def test_rev7_settings_validation():
    assert parse_settings({}).min_own_reviewers == 1
    with pytest.raises(SettingsError, match="pooled_reviewers"):
        parse_settings({"assignment": {"pooled_reviewers": "r-1"}})
    with pytest.raises(SettingsError, match="staffing.ratio: Unknown field."):
        parse_settings({"staffing": {"ratio": 0.05}})
