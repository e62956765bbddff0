"""Every permission fails closed (issue 15; SEC-2, PLAT-1, REV-6): one test per fail-open point the
issue found, each through the real gateway and services — and, where the rule belongs to a service,
straight at the service's RPC too (the gateway is not the only check).

- body list: a key or token without a body list acted for every body of its region;
- officer body: an officer bound to one body read another body's case timeline;
- approver_id: review sign-off through a department API key recorded whatever approver it sent;
- as_of / run_*(today): a caller chose the day state-changing jobs ran as of.
(The AMQP sender check is tests/common/test_amqp_senders.py.)
"""
from __future__ import annotations


import pytest
from nameko.exceptions import IncorrectSignature, RemoteError
from nameko.standalone.rpc import ClusterRpcClient

from services.common.auth import hash_key
from tests.fixtures import wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration

REGION = "320412"
SCJG, GAJ = "320412-SCJG", "320412-GAJ"          # two bodies of one county
GAJ_SRC = {"region_code": REGION, "body_id": GAJ, "system": "wj-gaj-system"}
KEY_SCJG, KEY_NO_BODIES = "zf_fc_scjg", "zf_fc_nobodies"
CASE_SCJG, CASE_GAJ = "320412-SCJG-2026-07001", "320412-GAJ-2026-07001"
CASE_SCJG_DECIDED = "320412-SCJG-2026-07002"


@pytest.fixture(scope="module")
def fc(tmp_path_factory):
    """One suite for the module (every service): a case of each body,
    a major proposal of SCJG with its review task, and SCJG's published decision."""
    from tests.fixtures import module_space, running_suite

    keys = [{"system": "wj-scjg-system", "region_code": REGION, "body_ids": [SCJG], "key_sha256": hash_key(KEY_SCJG)},
            # the fail-open case: an entry without body_ids (it used to act for every body of 320412)
            {"system": "wj-scjg-system-2", "region_code": REGION, "key_sha256": hash_key(KEY_NO_BODIES)}]
    with module_space(tmp_path_factory, "fail-closed") as (amqp_uri, databases, tmp):
        with running_suite(amqp_uri, databases, tmp, api_keys=keys) as suite:
            suite.publish(ev.case_opened(CASE_SCJG))
            suite.publish(ev.case_opened(CASE_GAJ, body=GAJ_SRC))
            suite.publish(ev.decision_proposed(CASE_SCJG))
            # the published decision is another case's: CASE_SCJG's own decision would close its review
            # task (REV-2, issue 14: nothing is reviewed once decided) — and could overtake its proposal
            suite.publish(ev.decision_made(CASE_SCJG_DECIDED))
            supervisor = suite.token("supervisor", REGION)
            for case_id in (CASE_SCJG, CASE_GAJ):
                wait_for(lambda: suite.get(f"/api/v1/cases/{case_id}/timeline", supervisor).ok, timeout=30,
                         message=f"{case_id} recorded")
            suite.publication = wait_for(lambda: suite.get("/api/v1/public/decisions").json()["results"],
                                         timeout=30, message="publication")[0]
            suite.task = wait_for(lambda: suite.get("/api/v1/review/tasks", supervisor).json()["tasks"],
                                  timeout=30, message="review task")[0]
            yield suite


def bearer(suite, role, bodies=(), region=REGION, sub=None):
    return {"Authorization": "Bearer " + suite.token(role, region, sub=sub or f"{role}-x", bodies=bodies)}


def test_sec2_issue15_no_body_list_means_no_body(fc):
    """SEC-2 (issue 15): a key or token WITHOUT a body list acts for no body — it cannot correct or
    withdraw a body's publication, publish for a body, or see its pending publications; checked in the
    disclosure service too (its RPC with a body-less scope refuses). Fails with the old rule "no list →
    every body of the region"."""
    pid = fc.publication["publication_id"]
    correction = {"reason": "更正", "changes": {"conclusion": "罚款人民币100元"}}
    withdrawal = {"reason": "revoked", "detail": "本机关撤销决定书"}
    nobody_key = {"X-Api-Key": KEY_NO_BODIES}
    nobody_officer = bearer(fc, "officer")
    for headers in (nobody_key, nobody_officer, bearer(fc, "officer", [GAJ])):
        r = fc.post(f"/api/v1/disclosure/publications/{pid}/corrections", correction, headers=headers)
        assert r.status_code == 404, r.text
        r = fc.post(f"/api/v1/disclosure/publications/{pid}/withdrawal", withdrawal, headers=headers)
        assert r.status_code == 404, r.text
        assert fc.get("/api/v1/disclosure/due", headers=headers, params={"purpose": "x"}).json() == {"publications": []}
    # a key with no bodies speaks for none (HTTP intake)
    opened = ev.case_opened("320412-SCJG-2026-07009", body={**ev.BODY, "system": "wj-scjg-system-2"})
    r = fc.post("/api/v1/events", opened, headers=nobody_key)
    assert r.status_code == 403 and r.json()["error"] == "wrong_body", r.text
    # … in the service itself: a scope without bodies, or a bare region string (the old argument), is refused
    with ClusterRpcClient() as rpc:
        for scope in ({"region_code": REGION, "bodies": []}, {"region_code": REGION}, REGION):
            refused = rpc.disclosure.correct_publication(pid, {"conclusion": "x"}, "更正", "t", scope)
            assert refused["status"] == 404, refused
        assert rpc.records.case_timeline(CASE_SCJG, {"region_code": REGION, "bodies": []}) is None
    # the body's own key and an officer bound to the body may
    r = fc.post(f"/api/v1/disclosure/publications/{pid}/corrections",
                {"reason": "更正文书号录入错误", "changes": {"decision_no": "武市监罚〔2026〕88-1号"}},
                headers={"X-Api-Key": KEY_SCJG})
    assert r.status_code == 200, r.text
    assert fc.get("/api/v1/disclosure/due", headers=bearer(fc, "officer", ["*"])).ok       # explicit grant


def test_plat1_sec2_issue15_officer_bound_to_a_body_reads_only_its_own_cases(fc):
    """PLAT-1, SEC-2 (issue 15): an officer token bound to one body read another department's case
    timeline; now the records service answers "not found" for another body's case — timeline, proofs,
    gaps, entries and party searches alike — while the body's own officer and the county's supervisor
    see it. Fails when records checks only the region."""
    gaj_officer = bearer(fc, "officer", [GAJ])
    scjg_officer = bearer(fc, "officer", [SCJG])
    purpose = {"purpose": "核查"}
    assert fc.get(f"/api/v1/cases/{CASE_SCJG}/timeline", headers=gaj_officer).status_code == 404
    assert fc.get(f"/api/v1/cases/{CASE_GAJ}/timeline", headers=gaj_officer).ok
    assert fc.get(f"/api/v1/cases/{CASE_SCJG}/timeline", headers=scjg_officer).ok
    assert fc.get(f"/api/v1/cases/{CASE_SCJG}/proofs", headers=gaj_officer, params=purpose).status_code == 404
    assert fc.get(f"/api/v1/cases/{CASE_SCJG}/gaps", headers=gaj_officer).status_code == 404
    assert fc.post(f"/api/v1/cases/{CASE_SCJG}/gaps/evaluate", {}, headers=gaj_officer).status_code == 404
    entries = fc.get("/api/v1/records/entries", headers=gaj_officer, params=purpose).json()["entries"]
    assert entries and {e["case_id"] for e in entries} == {CASE_GAJ}
    party = ev.natural_party()
    found = fc.post("/api/v1/records/party-search", {"id_number": party["id_number"], "purpose": "核查"},
                    headers=gaj_officer).json()["cases"]
    assert [c["case_id"] for c in found] == [CASE_GAJ]
    # review: the GAJ officer does not see SCJG's review task or its gate
    assert fc.get(f"/api/v1/review/tasks/{fc.task['task_id']}", headers=gaj_officer).status_code == 404
    assert fc.get("/api/v1/review/gate", headers=gaj_officer,
                  params={"case_id": CASE_SCJG, "version": 1}).status_code == 404
    # in the records service itself
    with ClusterRpcClient() as rpc:
        assert rpc.records.case_timeline(CASE_SCJG, {"region_code": REGION, "bodies": [GAJ]}) is None
        assert rpc.records.case_timeline(CASE_SCJG, {"region_code": REGION, "bodies": "*"})["case_id"] == CASE_SCJG


def test_rev6_issue15_the_approver_is_the_authenticated_responsible_person(fc):
    """REV-6 (issue 15): review sign-off through a department API key recorded whatever approver_id the
    body sent. Now sign-off is the responsible person's (负责人) own role: a department key or a reviewer
    is refused, an approver_id field is refused, another body's responsible person does not see the
    task, the review service refuses a non-responsible caller itself, and the approver recorded is the
    signed-in responsible person."""
    task_id = fc.task["task_id"]
    reviewer = bearer(fc, "legal_reviewer", [SCJG], sub="r-fc")
    detail = fc.get(f"/api/v1/review/tasks/{task_id}", headers=reviewer).json()
    checks = [{"code": c["code"], "outcome": "pass", "finding": "经审查，未发现问题"}
              for c in detail["current"]["checklist"] if not c["settled"]]
    r = fc.post(f"/api/v1/review/tasks/{task_id}/opinion", {"opinion": "approve", "checks": checks}, headers=reviewer)
    assert r.status_code == 200 and r.json()["status"] == "awaiting_sign_off", r.text
    url = f"/api/v1/review/tasks/{task_id}/sign-off"
    key = {"X-Api-Key": KEY_SCJG}
    assert fc.post(url, {"approve": True, "approver_id": "head-forged"}, headers=key).status_code == 403
    assert fc.post(url, {"approve": True}, headers=key).status_code == 403
    assert fc.post(url, {"approve": True}, headers=reviewer).status_code == 403
    head = bearer(fc, "responsible_person", [SCJG], sub="head-scjg")
    assert fc.post(url, {"approve": True, "approver_id": "someone-else"}, headers=head).status_code == 422
    other_head = bearer(fc, "responsible_person", [GAJ], sub="head-gaj")
    assert fc.post(url, {"approve": True}, headers=other_head).status_code == 404
    with ClusterRpcClient() as rpc:   # the service checks the role itself, whatever the gateway lets through
        department = {"subject": "wj-scjg-system", "role": "department", "region_code": REGION,
                      "kind": "department", "scope": {"region_code": REGION, "bodies": [SCJG]}}
        assert rpc.review.sign(task_id, department, True, "")["status"] == 403
    signed = fc.post(url, {"approve": True, "note": "同意"}, headers=head)
    assert signed.status_code == 200 and signed.json()["status"] == "approved", signed.text
    version = fc.get(f"/api/v1/review/tasks/{task_id}", headers=head).json()["versions"][-1]
    assert version["approver_id"] == "head-scjg"


def test_sec2_issue15_no_caller_chosen_today_changes_state(fc):
    """SEC-2 (issue 15): POST /api/v1/evaluation/recompute took any as_of (a future date marked
    supervision items overdue for good, opened clue cases, stored grades) and the RPC run_*(today)
    methods took any date. Now the HTTP body refuses as_of and no state-changing RPC takes a day:
    they run as of the suite's clock (services/common/clock.py)."""
    admin = bearer(fc, "admin", region="320000")
    r = fc.post("/api/v1/evaluation/recompute", {"as_of": "2099-12-31"}, headers=admin)
    assert r.status_code == 422 and "as_of" in r.json()["fields"], r.text
    # a score's day is a date in the past, not a chosen "today" in a future year
    future = fc.post("/api/v1/evaluation/scores/entries", {"kind": "case_file_review_score", "body_id": SCJG,
                                                           "score": 90, "recorded_on": "2099-01-01"},
                     headers=bearer(fc, "supervisor"))
    assert future.status_code == 422, future.text
    # a supervisor narrowed to one body cannot run the region's job
    assert fc.post("/api/v1/evaluation/recompute", {}, headers=bearer(fc, "supervisor", [SCJG])).status_code == 403
    with ClusterRpcClient() as rpc:
        chosen_days = [(rpc.evaluation.recompute, (None, "2099-12-31")),
                       (rpc.review.run_periodic, ("2099-12-31",)),
                       (rpc.disclosure.run_deadline_check, ("2099-12-31",)),
                       (rpc.disclosure.run_annual_reports, ("2099-01-10",)),
                       (rpc.complaints.run_deadline_sweep, ("2099-12-31",)),
                       (rpc.evaluation.finalise_year, ({"region_code": REGION, "bodies": "*"}, 2098, "x", REGION,
                                                       "2099-12-31")),
                       (rpc.records.erase_personal, (CASE_SCJG, {"region_code": REGION, "bodies": "*"}, "x", "期满",
                                                     "2099-12-31T00:00:00+08:00"))]
        for method, args in chosen_days:
            with pytest.raises((IncorrectSignature, RemoteError), match="positional argument"):
                method(*args)                    # the day is not a parameter any more
        today = rpc.evaluation.recompute(None)["as_of"]
    from services.common import clock
    assert today == clock.today().isoformat()


def test_disc4_issue15_role_labelled_names_are_masked_or_the_publication_is_held(fc):
    """DISC-4 (issue 15): the published text of a decision against a company kept its legal
    representative's name in clear. Through disclosure's real handler: 法定代表人王建国 is published as
    法定代表人王某; a name after 负责人 whose end the redactor cannot find is held — pending, not on the
    portal, its reason visible to the body's staff — and published once the body corrects it."""
    company = ev.legal_party()
    masked = ev.decision_made("320412-SCJG-2026-07101", party=company,
                              facts="当事人常州市顺达机械有限公司，法定代表人王建国，于2026年3月1日销售过期食品。")
    masked["payload"]["decision_no"] = "武市监罚〔2026〕7101号"
    held = ev.decision_made("320412-SCJG-2026-07102", party=company,
                            facts="当事人常州市顺达机械有限公司负责人王建国带领员工拒绝检查。")
    held["payload"]["decision_no"] = "武市监罚〔2026〕7102号"
    fc.publish(masked)
    fc.publish(held)
    officer = bearer(fc, "officer", [SCJG])

    def public(no):
        return [r for r in fc.get("/api/v1/public/decisions", params={"q": no}).json()["results"]
                if r["decision_no"] == no]

    def pending(no):
        return [p for p in fc.get("/api/v1/disclosure/due", headers=officer).json()["publications"]
                if p["decision_no"] == no]

    published = wait_for(lambda: public("武市监罚〔2026〕7101号"), timeout=30, message="published")[0]
    page = fc.get(f"/api/v1/public/decisions/{published['publication_id']}").json()
    assert "法定代表人王某" in page["facts"] and "王建国" not in fc.get(
        f"/disclosure/decisions/{published['publication_id']}").text
    entry = wait_for(lambda: pending("武市监罚〔2026〕7102号"), timeout=30, message="held")[0]
    assert entry["status"] == "pending" and "法定代表人、负责人" in entry["hold_reason"]
    assert "王建国" not in entry["hold_reason"]
    assert public("武市监罚〔2026〕7102号") == []
    assert fc.get(f"/api/v1/public/decisions/{entry['publication_id']}").status_code == 404
    # another body's officer does not even see it held (SEC-2)
    assert not [p for p in fc.get("/api/v1/disclosure/due", headers=bearer(fc, "officer", [GAJ])).json()[
        "publications"] if p["decision_no"] == "武市监罚〔2026〕7102号"]
    fixed = fc.post(f"/api/v1/disclosure/publications/{entry['publication_id']}/corrections",
                    {"reason": "补充脱敏后公开", "changes": {"facts": "当事人常州市顺达机械有限公司负责人王某带领员工拒绝检查。"}},
                    headers=officer)
    assert fixed.status_code == 200 and fixed.json()["publication"]["status"] == "published", fixed.text
    assert public("武市监罚〔2026〕7102号")
