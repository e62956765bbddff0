"""The review service on the real broker, through the gateway's API (issue 4: REV-1…REV-7, COORD-3, PLAT-3/4/6).

Each test starts review + gateway on a fresh vhost with SQLite databases, publishes departmental events as a
departmental system does, and reads the outcome through the HTTP API and the events review emits.
"""
from __future__ import annotations

import datetime as dt
import shutil

import pytest
import yaml
from nameko import config
from nameko.standalone.rpc import ServiceRpcClient

from services.review.configuration import CONFIG_DIR
from tests.fixtures import dead_letters, wait_for, wait_until_drained
from tests.review import review_events as rv
from tests.review.conftest import review_config

pytestmark = pytest.mark.integration
REGION = "320412"
OWN = ["320412-SCJG"]   # the body the staff of these tests work for (SEC-2: no body list → no body)
CHINA = rv.CHINA


def tasks(suite, token, **params):
    response = suite.get("/api/v1/review/tasks", token, params=params)
    assert response.status_code == 200, response.text
    return response.json()["tasks"]


def wait_task(suite, token, case_id, version=1):
    found = wait_for(lambda: [t for t in tasks(suite, token) if t["case_id"] == case_id and t["version"] == version],
                     message=f"review task of {case_id} v{version}")
    return found[0]


def open_task(suite, token, task_id):
    response = suite.get(f"/api/v1/review/tasks/{task_id}", token)
    assert response.status_code == 200, response.text
    return response.json()


def settle_all(task, outcome="pass"):
    """Findings for every check the machine did not settle (what a reviewer writes on the checklist)."""
    return [{"code": item["code"], "outcome": outcome, "finding": f"经审查，{item['title']}，未发现问题"}
            for item in task["current"]["checklist"] if not item["settled"] and item["outcome"] != "fail"]


def checklist_when(suite, token, task_id, predicate, message):
    """The current version's checklist once ``predicate`` holds (pre-checks are re-run as registry data arrives)."""
    return wait_for(lambda: (lambda c: predicate(c) and c)(
        {c["code"]: c for c in open_task(suite, token, task_id)["current"]["checklist"]}), message=message)


def registry(suite, officers=("o-1", "o-2"), reviewers=("r-1", "r-2")):
    suite.publish(rv.body())
    suite.publish(rv.power())
    for i, o in enumerate(officers):
        suite.publish(rv.officer(o, cert=f"320412000{i}"))
        suite.publish(rv.certificate(o, f"320412000{i}"))
    for r in reviewers:
        suite.publish(rv.officer(r, roles=("officer", "legal_reviewer")))


def test_rev1_proposal_via_broker_yields_fired_rules_and_catalogue_reloads_without_restart(review_suite, tmp_path):
    """REV-1: review.classified carries the fired rules (ids, Chinese descriptions, what matched); the
    catalogue file is reread when it changes — a body's own threshold applies without a restart."""
    suite = review_suite
    catalogue = tmp_path / "catalogue.yaml"
    shutil.copy(CONFIG_DIR / "catalogue.yaml", catalogue)
    from nameko import config

    with config.patch({"ZHIFA_REVIEW_CATALOGUE": str(catalogue)}, clear=False):
        suite.publish(rv.proposal("320412-SCJG-C-REV1-1", fine="100000.00", measures=["order_closure"]))
        classified = suite.tap.wait("review.classified", case_id="320412-SCJG-C-REV1-1")[0]["payload"]
        assert classified["major"] is True
        assert classified["fired_rules"] == ["amount.fine", "measure.order_closure"]
        assert classified["fired"][0] == {"rule_id": "amount.fine", "description": "较大数额罚款",
                                          "detail": "罚款金额100000元，当事人为法人，达到法人标准100000元（以上含本数）"}
        assert classified["sign_off_required"] is True and classified["source"] == "proposal"

        suite.publish(rv.proposal("320412-SCJG-C-REV1-2", fine="150000.00"))
        assert suite.tap.wait("review.classified", case_id="320412-SCJG-C-REV1-2")[0]["payload"]["fired_rules"] == ["amount.fine"]

        # the body publishes its own catalogue: legal persons from 200 000 yuan, no sign-off
        data = yaml.safe_load(catalogue.read_text(encoding="utf-8"))
        data["bodies"] = {"320412-SCJG": {"sign_off": False, "rules": [
            {"id": "amount.fine", "kind": "amount", "description": "较大数额罚款（本局标准）", "amount": "fine",
             "thresholds": {"natural": 20000, "legal": 200000, "other": 200000}}]}}
        catalogue.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        suite.publish(rv.proposal("320412-SCJG-C-REV1-3", fine="150000.00"))
        third = suite.tap.wait("review.classified", case_id="320412-SCJG-C-REV1-3")[0]["payload"]
        assert third["major"] is False and third["fired_rules"] == []
        assert third["catalogue_digest"] != classified["catalogue_digest"]

        # a broken edit does not stop classification: the last valid catalogue stays in force
        catalogue.write_text("default: [unclosed\n", encoding="utf-8")
        suite.publish(rv.proposal("320412-SCJG-C-REV1-4", fine="250000.00"))
        fourth = suite.tap.wait("review.classified", case_id="320412-SCJG-C-REV1-4")[0]["payload"]
        assert fourth["fired_rules"] == ["amount.fine"] and fourth["sign_off_required"] is False
        assert fourth["fired"][0]["description"] == "较大数额罚款（本局标准）"


def test_rev4_rev6_resubmission_loop_v1_returned_v2_approved_via_gateway(review_suite):
    """REV-3/4/6 through the gateway: list my tasks, open one (proposal, fired rules, pre-checks), record
    findings, return v1 with corrections; the unit resubmits v2 (same task, history kept); approve v2, the
    responsible person signs off; the gate then allows v2 only; who submitted/reviewed/approved is kept."""
    suite = review_suite
    registry(suite)
    wait_for(lambda: [b for b in suite.get("/api/v1/review/staffing", suite.token("supervisor", REGION)).json()["bodies"]
                      if b["reviewers"] == 2 and b["officers"] == 4], message="registry")
    reviewer = suite.token("legal_reviewer", REGION, sub="r-1", bodies=OWN)
    other = suite.token("legal_reviewer", REGION, sub="r-2", bodies=OWN)
    case_id = "320412-SCJG-C-LOOP-1"
    suite.publish(rv.proposal(case_id, fine="180000.00"))
    opened = suite.tap.wait("review.task_opened", case_id=case_id)[0]["payload"]
    assert opened["reviewer_id"] in ("r-1", "r-2") and opened["pooled"] is False
    me = "r-1" if opened["reviewer_id"] == "r-1" else "r-2"
    reviewer, other = (reviewer, other) if me == "r-1" else (other, reviewer)

    mine = tasks(suite, reviewer, assigned="me")
    assert [t["case_id"] for t in mine] == [case_id]
    assert tasks(suite, other, assigned="me") == []
    checks = checklist_when(suite, reviewer, mine[0]["task_id"], lambda c: c["officers_qualified"]["outcome"] == "pass"
                            and c["within_authority"]["outcome"] == "pass", "pre-checks with the registry")
    task = open_task(suite, reviewer, mine[0]["task_id"])
    assert task["status"] == "open" and task["current"]["proposal"]["fine_amount"] == "180000.00"
    assert [f["rule_id"] for f in task["fired"]] == ["amount.fine"]
    assert checks["officers_qualified"]["automatic"]["outcome"] == "pass"
    assert checks["within_authority"]["automatic"]["outcome"] == "pass"
    assert checks["crime_transfer"]["automatic"]["finding"].startswith("本案无没收金额")
    assert task["current"]["approval_blockers"]  # nothing examined yet

    # someone else cannot take a task assigned to a colleague
    refused = suite.post(f"/api/v1/review/tasks/{task['task_id']}/opinion", {"opinion": "approve"}, other)
    assert refused.status_code == 403, refused.text

    # findings, then 存在问题 with the corrections required
    found = suite.post(f"/api/v1/review/tasks/{task['task_id']}/checks", {"checks": [
        {"code": "facts_evidence", "outcome": "fail", "finding": "违法所得计算依据不足，缺少进货凭证"}]}, reviewer)
    assert found.status_code == 200, found.text
    assert found.json()["status"] == "under_review"
    approve_too_early = suite.post(f"/api/v1/review/tasks/{task['task_id']}/opinion", {"opinion": "approve"}, reviewer)
    assert approve_too_early.status_code == 409 and "事实清楚" in approve_too_early.json()["message"]
    returned = suite.post(f"/api/v1/review/tasks/{task['task_id']}/opinion",
                          {"opinion": "problems", "corrections": ["补充进货凭证，重新核算违法所得"]}, reviewer)
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"
    event = suite.tap.wait("review.returned", case_id=case_id)[0]["payload"]
    assert event["problems"] == ["补充进货凭证，重新核算违法所得"] and event["reviewer_id"] == me

    # v2 resubmitted by the handling unit: a new version of the same task
    suite.publish(rv.proposal(case_id, version=2, fine="160000.00"))
    v2 = wait_task(suite, reviewer, case_id, version=2)
    assert v2["task_id"] == task["task_id"] and v2["status"] == "resubmitted" and v2["versions"] == 2
    assert suite.tap.wait("review.task_opened", case_id=case_id, version=2)[0]["payload"]["reviewer_id"] == me

    task = open_task(suite, reviewer, v2["task_id"])
    approved = suite.post(f"/api/v1/review/tasks/{task['task_id']}/opinion",
                          {"opinion": "approve", "text": "同意", "checks": settle_all(task)}, reviewer)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "awaiting_sign_off"  # the catalogue requires the responsible person
    gate = suite.get("/api/v1/review/gate", headers={"X-Api-Key": suite.api_key},
                     params={"case_id": case_id, "version": 2}).json()
    assert gate["allowed"] is False and "待负责人签署" in gate["reasons"][0]

    # sign-off is the responsible person's role (REV-6): not the reviewer's, and a reviewer who is also
    # a responsible person cannot sign their own review; the body's responsible person does
    self_sign = suite.post(f"/api/v1/review/tasks/{task['task_id']}/sign-off", {"approve": True}, reviewer)
    assert self_sign.status_code == 403
    as_head = suite.token("responsible_person", REGION, sub=me, bodies=OWN)
    assert suite.post(f"/api/v1/review/tasks/{task['task_id']}/sign-off", {"approve": True}, as_head).status_code == 409
    head = suite.token("responsible_person", REGION, sub="head-1", bodies=OWN)
    signed = suite.post(f"/api/v1/review/tasks/{task['task_id']}/sign-off", {"approve": True, "note": "同意"}, head)
    assert signed.status_code == 200, signed.text
    assert signed.json()["status"] == "approved"
    done = suite.tap.wait("review.approved", case_id=case_id)[0]["payload"]
    assert (done["version"], done["reviewer_id"], done["stage"]) == (2, me, "sign_off")
    assert done["approver_id"] == "head-1"

    for version, allowed in ((2, True), (1, False)):
        gate = suite.get("/api/v1/review/gate", headers={"X-Api-Key": suite.api_key},
                         params={"case_id": case_id, "version": version}).json()
        assert gate["allowed"] is allowed, gate
    full = open_task(suite, reviewer, task["task_id"])
    v1, v2 = full["versions"]
    assert (v1["status"], v1["submitted_by"], v1["reviewer_id"], v1["approver_id"]) == ("returned", "o-1", me, None)
    assert (v2["status"], v2["submitted_by"], v2["reviewer_id"]) == ("approved", "o-1", me)
    assert v2["approver_id"] == done["approver_id"]
    assert [h["action"] for h in full["history"] if h["action"] != "update_prechecks"] == [
        "submit", "start_review", "record_finding", "return", "resubmit", "start_review"] + \
        ["record_finding"] * len(settle_all(task)) + ["approve", "sign_off"]
    assert dead_letters(suite.amqp_uri, "review") == []


def test_rev5_disagreement_goes_to_coordination_decided_by_a_supervisor(review_suite):
    """REV-5: the handling unit disagrees with a returned opinion; a supervisor's coordination accepts the
    unit's position; the responsible person signs; the gate opens."""
    suite = review_suite
    reviewer = suite.token("legal_reviewer", REGION, sub="r-9", bodies=OWN)
    officer = suite.token("officer", REGION, sub="o-1", bodies=OWN)
    supervisor = suite.token("supervisor", "320400", sub="sfj-1")
    suite.publish(rv.proposal("320412-SCJG-C-COORD-1"))
    task = wait_task(suite, reviewer, "320412-SCJG-C-COORD-1")
    assert task["assigned_reviewer_id"] is None  # nobody registered: any reviewer in scope claims it
    returned = suite.post(f"/api/v1/review/tasks/{task['task_id']}/opinion",
                          {"opinion": "problems", "corrections": ["罚款幅度过高"]}, reviewer)
    assert returned.status_code == 200, returned.text
    early = suite.post(f"/api/v1/review/tasks/{task['task_id']}/coordination", {"outcome": "accept_unit"}, supervisor)
    assert early.status_code == 409
    stranger = suite.post(f"/api/v1/review/tasks/{task['task_id']}/disagreement", {"position": "不同意"},
                          suite.token("officer", REGION, sub="o-77", bodies=OWN))
    assert stranger.status_code == 403  # only the handling unit disagrees
    # SEC-2 (issue 15): the body's system may speak for its handling officer, but cannot name the reviewer
    # (or anyone outside the case) as the one who disagrees
    named = suite.post(f"/api/v1/review/tasks/{task['task_id']}/disagreement",
                       {"position": "不同意", "raised_by": "r-9"}, headers={"X-Api-Key": suite.api_key})
    assert named.status_code == 403 and named.json()["error"] == "not_handling_officer", named.text
    raised = suite.post(f"/api/v1/review/tasks/{task['task_id']}/disagreement",
                        {"position": "罚款在裁量基准一般情形幅度内，理由见集体讨论记录"}, officer)
    assert raised.status_code == 200 and raised.json()["status"] == "coordination", raised.text
    assert suite.tap.wait("review.disagreement_raised", case_id="320412-SCJG-C-COORD-1")[0]["payload"]["raised_by"] == "o-1"
    gate = suite.get("/api/v1/review/gate", supervisor, params={"case_id": "320412-SCJG-C-COORD-1", "version": 1}).json()
    assert gate["allowed"] is False and "正在协调" in gate["reasons"][0]

    decided = suite.post(f"/api/v1/review/tasks/{task['task_id']}/coordination",
                         {"outcome": "accept_unit", "note": "经协调，采纳承办机构意见"}, supervisor)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "awaiting_sign_off"
    assert suite.tap.wait("review.coordinated", case_id="320412-SCJG-C-COORD-1")[0]["payload"]["outcome"] == "accept_unit"
    signed = suite.post(f"/api/v1/review/tasks/{task['task_id']}/sign-off", {"approve": True},
                        suite.token("responsible_person", REGION, sub="head-1", bodies=OWN))
    assert signed.status_code == 200 and signed.json()["status"] == "approved", signed.text
    gate = suite.get("/api/v1/review/gate", supervisor, params={"case_id": "320412-SCJG-C-COORD-1", "version": 1}).json()
    assert gate["allowed"] is True
    coordination = open_task(suite, reviewer, task["task_id"])["current"]["coordination"]
    assert (coordination["raised_by"], coordination["coordinator_id"], coordination["outcome"]) == (
        "o-1", "sfj-1", "accept_unit")


def test_plat3_suspended_certificate_fails_the_precheck_and_blocks_approval(review_suite):
    """REV-3, PLAT-3: registry events through the broker, then a proposal: an officer whose certificate was
    suspended before the proposal fails 执法人员具备执法资格; record gaps from records fail 文书完备;
    an amount above the field's transfer reference prompts 移送 (COORD-3)."""
    suite = review_suite
    registry(suite, reviewers=("r-1",))
    yesterday = (dt.datetime.now(CHINA) - dt.timedelta(days=1)).replace(microsecond=0)
    suite.publish(rv.certificate("o-2", "3204120001", status="suspended", effective_from=yesterday.isoformat(),
                                 reason="涉嫌违纪，暂扣执法证件"))
    reviewer = suite.token("legal_reviewer", REGION, sub="r-1", bodies=OWN)
    suite.publish(rv.proposal("320412-SCJG-C-CERT-1", fine="200000.00", confiscation_amount="60000.00"))
    task_id = wait_task(suite, reviewer, "320412-SCJG-C-CERT-1")["task_id"]
    checks = checklist_when(suite, reviewer, task_id, lambda c: "暂扣" in c["officers_qualified"]["automatic"]["finding"]
                            and c["within_authority"]["outcome"] == "pass"
                            and c["body_lawful"]["automatic"]["automatic"], "registry applied to the pre-checks")
    task = open_task(suite, reviewer, task_id)
    officers = checks["officers_qualified"]["automatic"]
    assert officers["outcome"] == "fail", officers
    assert "o-2" in officers["finding"] and "暂扣" in officers["finding"] and "o-1" not in officers["finding"]
    assert checks["body_lawful"]["automatic"]["finding"].startswith("常州市武进区市场监督管理局已在执法主体名录中登记")
    assert checks["within_authority"]["outcome"] == "pass"
    assert checks["crime_transfer"]["automatic"]["finding"].startswith("移送提示：没收金额60000元")
    assert task["current"]["transfer_suggested"] is True

    # records reports an open gap afterwards: the pending task's pre-check is re-run
    rv.publish_as(suite.amqp_uri, "records", rv.gaps_found("320412-SCJG-C-CERT-1"))
    documents = wait_for(lambda: (lambda c: c["outcome"] == "fail" and c)(
        {c["code"]: c for c in open_task(suite, reviewer, task["task_id"])["current"]["checklist"]}
        ["documents_complete"]), message="documents pre-check re-run")
    assert "现场执法音像记录" in documents["automatic"]["finding"]

    task = open_task(suite, reviewer, task_id)
    refused = suite.post(f"/api/v1/review/tasks/{task['task_id']}/opinion",
                         {"opinion": "approve", "checks": settle_all(task)}, reviewer)
    assert refused.status_code == 409
    assert "执法人员具备执法资格" in refused.json()["message"] and "文书完备规范" in refused.json()["message"]


def test_rev2_pre_decision_check_refuses_an_unreviewed_major_decision(review_suite):
    """REV-2: the departmental system asks before deciding: a major decision not yet reviewed → no, with the
    reasons and the catalogue rules; a non-major one → yes; another body's case → not found (scope)."""
    suite = review_suite
    suite.publish(rv.proposal("320412-SCJG-C-GATE-1", fine="300000.00", measures=["revoke_licence"]))
    suite.publish(rv.proposal("320412-SCJG-C-GATE-2", fine="500.00"))
    other = {"region_code": "320411", "body_id": "320411-JTYS", "system": "xb-jt-system"}
    suite.publish(rv.proposal("320411-JTYS-C-GATE-3", fine="300000.00", body_src=other))
    suite.tap.wait("review.classified", count=3)
    key = {"X-Api-Key": suite.api_key}

    answer = suite.get("/api/v1/review/gate", headers=key, params={"case_id": "320412-SCJG-C-GATE-1", "version": 1})
    assert answer.status_code == 200, answer.text
    answer = answer.json()
    assert answer["allowed"] is False and answer["violation"] == "not_reviewed" and answer["major"] is True
    assert "不得作出决定" in answer["reasons"][0]
    assert "较大数额罚款" in answer["reasons"][1] and "吊销许可证照" in answer["reasons"][1]
    minor = suite.get("/api/v1/review/gate", headers=key, params={"case_id": "320412-SCJG-C-GATE-2", "version": 1}).json()
    assert minor["allowed"] is True and minor["reasons"] == ["非重大执法决定，无需法制审核"]
    unproposed = suite.get("/api/v1/review/gate", headers=key, params={"case_id": "320412-SCJG-C-GATE-2", "version": 2}).json()
    assert unproposed["allowed"] is False and "请先报送" in unproposed["reasons"][0]
    assert suite.get("/api/v1/review/gate", headers=key, params={"case_id": "320411-JTYS-C-GATE-3", "version": 1}).status_code == 404
    officer_b = suite.token("officer", "320411", bodies=["320411-JTYS"])
    assert suite.get("/api/v1/review/gate", officer_b, params={"case_id": "320411-JTYS-C-GATE-3", "version": 1}).json()["allowed"] is False
    # SEC-2: an officer of the county without a body list acts for no body
    assert suite.get("/api/v1/review/gate", suite.token("officer", "320411"),
                     params={"case_id": "320411-JTYS-C-GATE-3", "version": 1}).status_code == 404


def test_rev2_bypass_detected_from_events_alone(review_suite):
    """REV-2: decision.made for a major case without an approved review → review.bypassed (应审未审) and a
    violation in the supervisors' list; a decision nobody proposed is classified from the decision itself."""
    suite = review_suite
    suite.publish(rv.proposal("320412-SCJG-C-BYPASS-1", fine="200000.00"))
    suite.tap.wait("review.task_opened", case_id="320412-SCJG-C-BYPASS-1")
    suite.publish(rv.decision_made("320412-SCJG-C-BYPASS-1"))
    suite.publish(rv.decision_made("320412-SCJG-C-BYPASS-2", fine="50000.00"))  # natural person, ≥ 10 000: major
    suite.publish(rv.decision_made("320412-SCJG-C-BYPASS-3", fine="500.00"))    # not major: no violation
    bypassed = suite.tap.wait("review.bypassed", count=2)
    by_case = {e["case_id"]: e["payload"] for e in bypassed}
    assert by_case["320412-SCJG-C-BYPASS-1"]["violation"] == "not_reviewed"
    assert by_case["320412-SCJG-C-BYPASS-1"]["fired_rules"] == ["amount.fine"]
    assert "应审未审" in by_case["320412-SCJG-C-BYPASS-2"]["description"]
    from_decision = suite.tap.wait("review.classified", case_id="320412-SCJG-C-BYPASS-2")[0]["payload"]
    assert from_decision["source"] == "decision" and from_decision["major"] is True

    # barrier: BYPASS-3's decision was handled (its classification and any violation commit together)
    minor = wait_for(lambda: (lambda g: g if g.get("major") is False else None)(suite.get(
        "/api/v1/review/gate", headers={"X-Api-Key": suite.api_key},
        params={"case_id": "320412-SCJG-C-BYPASS-3", "version": 1}).json()), message="BYPASS-3 classified")
    assert minor["allowed"] is True and minor["violation"] is None
    supervisor = suite.token("supervisor", "320400")
    listed = suite.get("/api/v1/review/violations", supervisor, params={"kind": "not_reviewed"}).json()["violations"]
    assert sorted(v["case_id"] for v in listed) == ["320412-SCJG-C-BYPASS-1", "320412-SCJG-C-BYPASS-2"]
    assert listed[0]["kind_zh"] == "应审未审"
    assert suite.get("/api/v1/review/violations", suite.token("supervisor", "320411")).json()["violations"] == []
    assert suite.get("/api/v1/review/violations", suite.token("legal_reviewer", REGION)).status_code == 403
    assert dead_letters(suite.amqp_uri, "review") == []


def test_rev5_plat6_due_day_counts_working_days_across_national_day_and_overdue_alerts(review_suite):
    """REV-5, PLAT-6: submitted on 2025-09-30, 5 working days run over the National Day holiday (10-01…10-08)
    and the adjusted Saturday 10-11 to 2025-10-14; past it, the leased job emits review.task_overdue once."""
    suite = review_suite
    submitted = dt.datetime(2025, 9, 30, 10, 0, tzinfo=CHINA)
    suite.publish(rv.proposal("320412-SCJG-C-DUE-1", proposed_at=submitted))
    opened = suite.tap.wait("review.task_opened", case_id="320412-SCJG-C-DUE-1")[0]["payload"]
    assert (opened["due_on"], opened["due_provisional"]) == ("2025-10-14", False)
    reviewer = suite.token("legal_reviewer", REGION, sub="r-1", bodies=OWN)
    task = wait_task(suite, reviewer, "320412-SCJG-C-DUE-1")
    assert task["due_on"] == "2025-10-14" and task["overdue"] is True and task["due_level"] == "red"

    with ServiceRpcClient("review", timeout=15) as review:   # the suite's clock (ZHIFA_CLOCK), not an argument
        for day, alerted in (("2025-10-14", []),                 # due day itself: on time
                             ("2025-10-15", [task["task_id"]]),
                             ("2025-10-16", [])):                # alerted once per version
            with config.patch({"ZHIFA_CLOCK": f"{day}T09:00:00+08:00"}, clear=False):
                assert review.run_periodic()["overdue_alerted"] == alerted
    alert = suite.tap.wait("review.task_overdue", case_id="320412-SCJG-C-DUE-1")[0]["payload"]
    assert (alert["due_on"], alert["working_days_overdue"], alert["state"]) == ("2025-10-14", 1, "open")
    assert [t["case_id"] for t in tasks(suite, reviewer, status="overdue")] == ["320412-SCJG-C-DUE-1"]


def test_rev7_five_percent_rule_and_pooled_reviewer(review_suite, tmp_path):
    """REV-7: 21 officers and 1 legal reviewer is short (5% of 21 → 2): review.staffing_short and a violation;
    a second reviewer restores it. A body with no reviewer of its own gets one from the pooled list (统筹调用)."""
    suite = review_suite
    settings = {"task": {"period": "review.task", "warn_working_days": 1},
                "assignment": {"min_own_reviewers": 1, "pooled_reviewers": ["city-r-1"]},
                "staffing": {"min_ratio": 0.05, "grace_hours": 0}}
    supervisor = suite.token("supervisor", "320400")
    with review_config(tmp_path, "ZHIFA_REVIEW_SETTINGS", settings):
        suite.publish(rv.body())
        suite.publish(rv.officer("r-1", roles=("officer", "legal_reviewer")))
        for i in range(20):  # 20 officers with 1 reviewer are at 5%; the 21st makes the body short
            suite.publish(rv.officer(f"o-{i:02d}"))
        short = suite.tap.wait("review.staffing_short", body_id="320412-SCJG")[0]["payload"]
        assert (short["officers"], short["reviewers"], short["required"], short["shortfall"]) == (21, 1, 2, 1)
        staffing = wait_for(lambda: (lambda b: b and b[0]["officers"] == 21 and b)(
            suite.get("/api/v1/review/staffing", supervisor).json()["bodies"]), message="staffing")[0]
        assert (staffing["compliant"], staffing["ratio"]) == (False, "0.0476")
        violations = suite.get("/api/v1/review/violations", supervisor, params={"kind": "staffing_short"}).json()
        assert [v["open"] for v in violations["violations"]] == [True]
        assert "缺1名" in violations["violations"][0]["description"]

        suite.publish(rv.officer("r-2", roles=("legal_reviewer",)))
        restored = suite.tap.wait("review.staffing_restored", body_id="320412-SCJG")[0]["payload"]
        assert (restored["reviewers"], restored["shortfall"]) == (2, 0)
        violations = suite.get("/api/v1/review/violations", supervisor, params={"kind": "staffing_short"}).json()
        assert [v["open"] for v in violations["violations"]] == [False]
        with ServiceRpcClient("review", timeout=15) as review:  # the timer's recheck finds nothing new
            assert review.run_periodic()["staffing"][0]["compliant"] is True

        # 统筹调用: a township body without reviewers; the city's pooled reviewer of the same field is assigned
        city = {"region_code": "320400", "body_id": "320400-SCJG", "system": "cz-scjg"}
        town = {"region_code": "320412100", "body_id": "320412100-ZF", "system": "hd-zf"}
        suite.publish(rv.body(body_id=city["body_id"], region="320400", name="常州市市场监督管理局"))
        suite.publish(rv.officer("city-r-1", body_id=city["body_id"], region="320400", roles=("legal_reviewer",)))
        suite.publish(rv.body(body_id=town["body_id"], region="320412100", name="湖塘镇人民政府"))
        wait_for(lambda: len(suite.get("/api/v1/review/staffing", supervisor).json()["bodies"]) >= 2,
                 message="city body")
        wait_until_drained(suite.amqp_uri, "review")      # the township and the city reviewer are known too
        suite.publish(rv.proposal("320412100-ZF-C-POOL-1", fine="60000.00", body_src=town))
        opened = suite.tap.wait("review.task_opened", case_id="320412100-ZF-C-POOL-1")[0]["payload"]
        assert (opened["reviewer_id"], opened["pooled"]) == ("city-r-1", True)
        assert "统筹调用" in opened["assignment"]


def test_rev4_rev2_review_loop_and_bypass_on_postgresql(amqp_uri, pg_admin, tmp_path):
    """The same task document, JSON columns, dates and leases on PostgreSQL (production database): v1 returned,
    v2 approved and signed, v1 decided anyway → 审核未通过仍作出决定; nothing dead-lettered."""
    from tests.fixtures import running_suite

    with running_suite(amqp_uri, {"review": pg_admin()}, tmp_path, services=["review", "gateway"]) as suite:
        tap = rv.Tap(amqp_uri, "review")
        reviewer = suite.token("legal_reviewer", REGION, sub="r-1", bodies=OWN)
        head = suite.token("responsible_person", REGION, sub="head-1", bodies=OWN)
        suite.publish(rv.proposal("320412-SCJG-C-PG-1"))
        task = wait_task(suite, reviewer, "320412-SCJG-C-PG-1")
        assert suite.post(f"/api/v1/review/tasks/{task['task_id']}/opinion",
                          {"opinion": "problems", "problems": ["补充证据"]}, reviewer).json()["status"] == "returned"
        suite.publish(rv.proposal("320412-SCJG-C-PG-1", version=2))
        detail = open_task(suite, reviewer, wait_task(suite, reviewer, "320412-SCJG-C-PG-1", version=2)["task_id"])
        assert suite.post(f"/api/v1/review/tasks/{task['task_id']}/opinion",
                          {"opinion": "approve", "checks": settle_all(detail)}, reviewer).status_code == 200
        assert suite.post(f"/api/v1/review/tasks/{task['task_id']}/sign-off", {"approve": True},
                          head).json()["status"] == "approved"
        suite.publish(rv.decision_made("320412-SCJG-C-PG-1", version=1))
        bypass = tap.wait("review.bypassed", case_id="320412-SCJG-C-PG-1")[0]["payload"]
        assert (bypass["version"], bypass["violation"]) == (1, "not_approved")
        with ServiceRpcClient("review", timeout=15) as review:
            assert review.run_periodic()["overdue_alerted"] == []
        assert len(open_task(suite, reviewer, task["task_id"])["history"]) >= 7
        assert dead_letters(amqp_uri, "review") == []
        tap.close()
