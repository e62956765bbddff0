"""The vertical slice on the real broker: one major penalty case through every service (issue 2)."""
import pytest

from tests.fixtures import wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration


def test_major_penalty_flows_through_every_service(suite):
    """REC-1, REV-1, REV-2, DISC-3, DISC-4, CMP-2, EVAL-2: the case shows up in each service."""
    case_id = "320412-SCJG-2026-00001"
    supervisor = suite.token("supervisor", "320400")
    reviewer = suite.token("legal_reviewer", "320412", sub="reviewer-1", bodies=["320412-SCJG"])

    suite.publish(ev.case_opened(case_id))
    suite.publish(ev.evidence(case_id))
    suite.publish(ev.decision_proposed(case_id, fine="200000.00"))

    task = wait_for(lambda: [t for t in suite.get("/api/v1/review/tasks", reviewer).json()["tasks"]
                             if t["case_id"] == case_id], message="review task")[0]
    assert task["status"] == "open"
    gate = suite.get("/api/v1/review/gate", reviewer.replace("", ""), params={"case_id": case_id, "version": 1})
    assert gate.status_code == 403  # a reviewer is not among the roles that ask the gate
    gate = suite.get("/api/v1/review/gate", supervisor, params={"case_id": case_id, "version": 1}).json()
    assert gate["allowed"] is False and gate["violation"] == "not_reviewed"

    # REV-3: every check gets a finding; REV-4 the opinion; REV-6 a responsible person signs off
    detail = suite.get(f"/api/v1/review/tasks/{task['task_id']}", reviewer).json()
    checks = [{"code": c["code"], "outcome": "pass", "finding": "经审查，未发现问题"}
              for c in detail["current"]["checklist"] if not c["settled"]]
    refused = suite.post(f"/api/v1/review/tasks/{task['task_id']}/opinion", {"opinion": "approve"}, reviewer)
    assert refused.status_code == 409                      # no approval with unsettled checks
    approved = suite.post(f"/api/v1/review/tasks/{task['task_id']}/opinion",
                          {"opinion": "approve", "checks": checks}, reviewer)
    assert approved.status_code == 200, approved.text
    assert approved.json()["reviewer_id"] == "reviewer-1"
    head = suite.token("responsible_person", "320412", sub="head-1", bodies=["320412-SCJG"])
    signed = suite.post(f"/api/v1/review/tasks/{task['task_id']}/sign-off", {"approve": True}, head)
    assert signed.status_code == 200 and signed.json()["status"] == "approved", signed.text
    assert suite.get("/api/v1/review/gate", supervisor, params={"case_id": case_id, "version": 1}).json()["allowed"]

    party = ev.natural_party("王小明")
    suite.publish(ev.decision_made(case_id, party=party))
    suite.publish(ev.decision_served(case_id))
    suite.publish(ev.complaint_submitted())

    timeline = wait_for(lambda: (lambda r: r.ok and len(r.json()["entries"]) >= 6 and r.json())(
        suite.get(f"/api/v1/cases/{case_id}/timeline", supervisor)), message="timeline")
    kinds = [e["event_type"] for e in timeline["entries"]]
    assert kinds[:3] == ["case.opened", "evidence.recorded", "decision.proposed"]
    assert {"review.approved", "decision.made", "decision.served"} <= set(kinds)

    found = wait_for(lambda: suite.get("/api/v1/public/decisions", params={"q": "食品"}).json()["results"],
                     message="publication")
    published = found[0]
    assert published["parties"] == "王某"
    text = str(published)
    assert "王小明" not in text and party["id_number"] not in text and "13912345678" not in text
    assert published["due_on"] >= published["decided_on"]

    register = wait_for(lambda: suite.get("/api/v1/complaints", suite.token("complaint_handler", "320400"))
                        .json()["complaints"], message="complaint")
    assert register[0]["number"].startswith("320412-")

    summary = wait_for(lambda: (lambda s: s.get("320412-SCJG", {}).get("complaint_received") and s)(
        suite.get("/api/v1/evaluation/summary", supervisor).json()["bodies"]), message="evaluation facts")
    body = summary["320412-SCJG"]
    assert body["enforcement_action"] == 1
    assert body["review_required"] == 1 and body["review_approved"] == 1
    assert body.get("review_bypassed") is None
    assert body["disclosure_on_time"] == 1
