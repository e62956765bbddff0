"""Access matrix (PLAT-1, SEC-2; issue 8 §2, issue 15): role × scope × every route, reads and writes.

Every route of the gateway is exercised automatically (a new route is covered the day it is added):

1. roles: each principal kind (a department key, every staff role, the public) is allowed exactly
   where the route's roles say; anyone else gets 401/403;
2. scope: the things of body A (320412-SCJG in county 320412: a case and its records, a review task,
   a publication, a complaint, a draw, an accountability case, a supervision item, an attachment) are
   reachable by A's own principals and by the county, city (320400) and province (320000) above it —
   and by nobody else: another body of the same county (320412-GAJ), a body-bound key or token
   WITHOUT a body list, another county (320411), another city (320500), a supervisor narrowed to
   another body. A's identifiers are swapped into their requests — reads and writes (POST/PUT/DELETE
   with VALID bodies, so that only a scope check can refuse them) — and must answer 403/404; their
   listings and searches must not contain A's identifiers. A's principals read each of A's
   identifiers (200) and, last, each write succeeds for one of them (proof the bodies are valid);
3. any 5xx anywhere is a failure — never counted as "allowed".

Removing any one scope check of a service (or of the gateway) makes this test fail (issue 15).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import pytest
import requests

from services.common.auth import STAFF_ROLES, hash_key
from services.common.scope import REGION_WIDE_ROLES
from services.gateway.service import ROUTES
from tests.fixtures import wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration

A, B, CITY, PROVINCE, OTHER_CITY = "320412", "320411", "320400", "320000", "320500"
BODY_A, BODY_A2, BODY_B, BODY_X = "320412-SCJG", "320412-GAJ", "320411-JTYS", "320500-SCJG"
CASE_A = "320412-SCJG-2026-09001"
CASE_A_DECIDED = "320412-SCJG-2026-09002"   # the published decision: CASE_A's own would close its review task
SRC_A = {"region_code": A, "body_id": BODY_A, "system": "wj-scjg-system"}
KEYS = {  # name: (system, region, bodies, key)
    "dept-a": ("wj-scjg-system", A, [BODY_A], "zf_matrix_key_a"),
    "dept-a2": ("wj-gaj-system", A, [BODY_A2], "zf_matrix_key_a2"),
    "dept-none": ("wj-other-system", A, [], "zf_matrix_key_none"),
    "dept-b": ("xb-jt-system", B, [BODY_B], "zf_matrix_key_b"),
}
PURPOSE = "访问范围测试"


@dataclass(frozen=True)
class Principal:
    name: str
    role: str          # "department", "public" or a staff role
    headers: dict


def staff(suite, role, region, bodies=()) -> Principal:
    name = f"{role}@{region}[{','.join(bodies) or '-'}]"
    token = suite.token(role, region, sub=name, bodies=bodies)
    return Principal(name, role, {"Authorization": f"Bearer {token}"})


def department(name) -> Principal:
    return Principal(name, "department", {"X-Api-Key": KEYS[name][3]})


def body_bound(role) -> bool:
    return role not in REGION_WIDE_ROLES


def insiders(suite) -> list[Principal]:
    """A's own principals and the regions above it (the grant "*" for body-bound roles above A)."""
    out = [department("dept-a")]
    for role in STAFF_ROLES:
        if body_bound(role):
            out += [staff(suite, role, A, [BODY_A]), staff(suite, role, CITY, ["*"])]
        else:
            out += [staff(suite, role, A), staff(suite, role, CITY), staff(suite, role, PROVINCE)]
    return out


def outsiders(suite) -> list[Principal]:
    """Nobody of these may reach A's things."""
    out = [department("dept-a2"), department("dept-none"), department("dept-b")]
    for role in STAFF_ROLES:
        if body_bound(role):
            out += [staff(suite, role, A, [BODY_A2]), staff(suite, role, A), staff(suite, role, B, [BODY_B]),
                    staff(suite, role, OTHER_CITY, [BODY_X])]
        else:
            out += [staff(suite, role, A, [BODY_A2]), staff(suite, role, B), staff(suite, role, OTHER_CITY)]
    return out


# --- requests ---------------------------------------------------------------------------------------
def fill(path: str, samples: dict) -> str:
    def sample(match):
        name = match.group(1)
        assert name in samples, f"add a sample value for path parameter <{name}> to the access matrix"
        return str(samples[name])
    return re.sub(r"<(?:\w+:)?(\w+)>", sample, path)


def send(suite, method, path, headers, body=None, params=None):
    if method != "GET" and not path.startswith("/api/"):
        # a page form: sent as a browser would, with its CSRF cookie and token (SEC-5), so that what
        # is checked here is the role, not the form's origin (tests/gateway/test_edge.py checks that)
        browser = requests.Session()
        form = browser.get(suite.base_url + "/complaints/status", timeout=15)
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text).group(1)
        return browser.post(suite.base_url + path, data={"csrf_token": token}, headers=headers, timeout=15)
    if method == "GET":
        return requests.get(suite.base_url + path, headers=headers, params=params, timeout=30,
                            allow_redirects=False)
    if path == "/api/v1/records/blobs":
        return requests.post(suite.base_url + path, data=b"matrix", timeout=30,
                             headers={**headers, "Content-Type": "application/octet-stream"})
    return requests.request(method, suite.base_url + path, json=body if body is not None else {},
                            headers=headers, timeout=30)


def write_bodies(s: dict) -> dict:
    """(method, route path) → a VALID body naming A's things: refused by scope alone, else accepted."""
    today = dt.datetime.now(ev.CHINA).date().isoformat()
    return {
        ("POST", "/api/v1/events"): ev.case_opened("320412-SCJG-2026-09009"),
        ("POST", "/api/v1/complaints"): {
            "channel": "letter", "phone": "13800001111", "region_code": A, "body_id": BODY_A,
            "request": "请求依法查处违法执法行为", "facts": "执法人员在检查过程中未出示执法证件并强行扣押物品。"},
        ("POST", "/api/v1/complaints/<number>/accept"): {"note": "受理"},
        ("POST", "/api/v1/complaints/<number>/progress"): {"text": "已调取执法记录"},
        ("POST", "/api/v1/complaints/<number>/extend"): {"working_days": 5, "approved_by": "负责人", "reason": "案情复杂"},
        ("POST", "/api/v1/complaints/<number>/not-accept"): {"reason": "不属于受理范围"},
        ("POST", "/api/v1/complaints/<number>/scope-finding"): {"in_scope": True},
        ("POST", "/api/v1/complaints/<number>/conclude"): {"result": "经核查，投诉属实，已责令改正", "upheld": True},
        ("POST", "/api/v1/complaints/<number>/transfer"): {"to_unit_id": "320412-SFJ", "to_region_code": A,
                                                          "reason": "转办"},
        ("POST", "/api/v1/complaints/escalations/<number>/transfer"): {"to_unit_id": "320412-SFJ",
                                                                      "instruction": "请依法办理"},
        ("POST", "/api/v1/disclosure/publications/<publication_id>/corrections"): {
            "reason": "更正", "changes": {"conclusion": "罚款人民币200000元"}},
        ("PUT", "/api/v1/disclosure/bodies/<body_id>/items/<kind>/<item_id>"): {
            "content": {"matter_name": "食品经营许可", "accepting_body": "武进区政务服务中心",
                        "approving_body": "常州市武进区市场监督管理局", "conditions": "有相应场所",
                        "time_limit": "10个工作日"}, "reason": "首次公布"},
        ("POST", "/api/v1/disclosure/basis-changes"): {"law_name": "《中华人民共和国食品安全法》", "changed_on": today,
                                                       "region_code": A},
        ("POST", "/api/v1/disclosure/annual-reports"): {"body_id": BODY_A, "year": 2025},
        ("POST", "/api/v1/disclosure/draws"): {**s["draw_body"], "draw_id": "DRAW-A-2"},
        ("POST", "/api/v1/disclosure/draws/<draw_id>/results"): {"results": [
            {"target_id": s["draw_target"], "inspected_on": today, "outcome": "no_problem"}]},
        ("POST", "/api/v1/disclosure/draws/<draw_id>/perform"): {"public_value": "01 02 03"},
        ("POST", "/api/v1/disclosure/inspection-months"): {"body_id": BODY_A, "year": 2026, "month": 11},
        ("POST", "/api/v1/disclosure/publications/<publication_id>/withdrawal"): {"reason": "revoked",
                                                                                  "detail": "本机关撤销决定书"},
        ("POST", "/api/v1/evaluation/scores/entries"): {"kind": "case_file_review_score", "body_id": BODY_A,
                                                       "score": 90, "recorded_on": today},
        ("POST", "/api/v1/evaluation/years/<int:year>/finalise"): {"region_code": A},
        ("POST", "/api/v1/evaluation/surveys"): {"kind": "survey", "body_id": BODY_A, "codes": 2,
                                                 "closes_on": (dt.date.fromisoformat(today)
                                                               + dt.timedelta(days=30)).isoformat()},
        ("POST", "/api/v1/evaluation/visits"): {"body_id": BODY_A, "visited_on": today, "place": "执法窗口",
                                                "findings": "暗访情况", "score": 90},
        ("POST", "/api/v1/evaluation/consequences/<int:consequence_id>/resolve"): {"resolution": "批评教育"},
        ("POST", "/api/v1/evaluation/cases"): {"body_id": BODY_A, "description": "核查执法过错线索"},
        ("POST", "/api/v1/evaluation/cases/<case_id>/actions"): {"action": "accept", "note": "立案调查"},
        ("POST", "/api/v1/evaluation/supervision"): {"kind": "suggestion", "target_body_id": BODY_A,
                                                     "subject": "请规范行政检查"},
        ("POST", "/api/v1/evaluation/supervision/<item_id>/actions"): {"action": "respond", "content": "已整改"},
        ("POST", "/api/v1/cases/<case_id>/gaps/evaluate"): {},
        ("POST", "/api/v1/cases/<case_id>/transfer"): {"from_body_id": BODY_A, "from_region_code": A,
                                                       "to_body_id": "320412-ZHZF", "to_region_code": A,
                                                       "reason": "指定管辖"},
        ("POST", "/api/v1/cases/<case_id>/corrections"): {
            "reason": "补录现场笔录", "record": {"stage": "investigation", "record_kind": "text", "title": "现场笔录"}},
        ("POST", "/api/v1/admin/records/cases/<case_id>/erase-personal"): {"basis": "保存期限届满"},
        ("POST", "/api/v1/admin/records/witness/<log_id>/resolve"): {"note": "按恢复规程核验后处置"},
        ("POST", "/api/v1/review/tasks/<task_id>/checks"): {"checks": [
            {"code": "facts_evidence", "outcome": "pass", "finding": "经审查，事实清楚"}]},
        ("POST", "/api/v1/review/tasks/<task_id>/opinion"): {"opinion": "problems", "corrections": ["补充证据"]},
        ("POST", "/api/v1/review/tasks/<task_id>/disagreement"): {"position": "证据已经充分，见补充说明"},
        ("POST", "/api/v1/review/tasks/<task_id>/coordination"): {"outcome": "accept_unit", "note": "采纳承办机构意见"},
        ("POST", "/api/v1/review/tasks/<task_id>/sign-off"): {"approve": True, "note": "同意"},
        ("POST", "/api/v1/records/party-search"): {"id_number": ev.resident_id(), "purpose": PURPOSE},
        # issue 18: case-file review (REC-7), typical cases (CMP-7), annual-report receipts (DISC-7)
        ("POST", "/api/v1/records/case-file-reviews/draws"): {"year": 2026, "region_code": A, "public_value": "01 02"},
        ("POST", "/api/v1/records/case-file-reviews/assignments"): {
            "review_id": f"AJPC-{A}-2026:{CASE_A}", "reviewer": "rev-b", "reviewer_body_id": BODY_B},
        ("POST", "/api/v1/records/case-file-reviews/scores"): {"review_id": f"AJPC-{A}-2026:{CASE_A}",
                                                              "items": {"documents": {"points": 10}}},
        ("POST", "/api/v1/evaluation/typical-cases"): {
            "source_kind": "complaint", "source_ref": s["number"], "title": "未亮证执法典型案例",
            "warning_text": "执法人员未出示执法证件即实施检查，违反法定程序，各单位引以为戒。"},
        ("POST", "/api/v1/evaluation/typical-cases/<typical_case_id>/actions"): {"action": "submit"},
        ("POST", "/api/v1/disclosure/annual-report-receipts/acknowledgements"): {
            "receipt_id": f"{BODY_A}:2025:r1:government"},
        # COORD-1…3 (issue 18): A's clue (received from a body no outsider acts for), dispute, transfer
        ("POST", "/api/v1/coordination/clues"): {
            "from_body_id": BODY_A, "from_region_code": A, "to_body_id": ZHZF, "to_region_code": A,
            "matter": "无证经营线索", "facts": "巡查中发现无证经营食品的线索，请核查处理。"},
        ("POST", "/api/v1/coordination/clues/<clue_id>/actions"): {"action": "acknowledge"},
        ("POST", "/api/v1/coordination/inspections"): {
            "body_id": BODY_A, "region_code": A, "party_id": ev.uscc("91320412MA1X2Y9B0"), "matter": "食品经营监督检查",
            "outcome": "no_problem"},
        ("POST", "/api/v1/coordination/disputes"): {"matter": "餐饮油烟扰民的查处管辖", "parties": [
            {"body_id": BODY_A, "region_code": A}, {"body_id": ZHZF, "region_code": A}]},
        ("POST", "/api/v1/coordination/disputes/<dispute_id>/statements"): {"body_id": BODY_A,
                                                                           "statement": "本局认为应由综合执法局管辖"},
        ("POST", "/api/v1/coordination/disputes/<dispute_id>/decision"): {
            "competent": {"body_id": ZHZF, "region_code": A}, "reason": "该事项已划入综合行政执法范围"},
        ("POST", "/api/v1/coordination/transfers"): s["transfer_body"],
        ("POST", "/api/v1/coordination/transfers/<transfer_id>/actions"): {"action": "receipt",
                                                                          "receipt_no": "武公受〔2026〕1号"},
    }


#: writes that do not act on A's things (the caller's own upload, log or region job)
NOT_A_WRITES = {"/api/v1/records/blobs", "/api/v1/admin/records/tree-heads", "/api/v1/evaluation/recompute"}
#: region-level records any principal of the region acting for some body may make
REGION_WRITES = {"/api/v1/disclosure/basis-changes", "/api/v1/complaints"}
#: reads sent as POST (a search body, not a URL)
READ_POSTS = {"/api/v1/records/party-search"}
#: not seeded here (no escalation over a link, no finalised year with a consequence, no witnessed city
#: log): 404 for everyone. Outsiders are refused on a real one of each elsewhere — escalation transfer and
#: witness resolve in tests/integration/test_tiers.py, case-file draws/assignments/scores in
#: tests/records/test_case_file_review_service.py, typical cases in tests/disclosure/test_typical_cases_browser.py,
#: annual-report acknowledgements in tests/disclosure/test_annual_report_receipts_browser.py, consequences in
#: tests/evaluation/test_service_year.py
UNSEEDED = {"/api/v1/complaints/escalations/<number>/transfer",
            # issue 18: no archived case file of A drawn, no concluded upheld complaint, no annual report
            # sent (tests/records/test_case_file_review.py, tests/evaluation/test_typical_cases.py,
            # tests/disclosure/test_annual_report_receipts.py take them through)
            "/api/v1/records/case-file-reviews/draws", "/api/v1/records/case-file-reviews/assignments",
            "/api/v1/records/case-file-reviews/scores", "/api/v1/evaluation/typical-cases",
            "/api/v1/evaluation/typical-cases/<typical_case_id>/actions",
            "/api/v1/disclosure/annual-report-receipts/acknowledgements",
            "/api/v1/evaluation/consequences/<int:consequence_id>/resolve",
            "/api/v1/admin/records/witness/<log_id>/resolve"}
#: writes that take A's thing away from A: validated after every other
LAST_WRITES = {"/api/v1/cases/<case_id>/transfer"}
#: who of A writes where the first role allowed would be refused for what it is (not for its scope)
WRITER = {"/api/v1/evaluation/cases/<case_id>/actions": "supervisor"}
LEGAL_REVIEW = {"action": "legal_review", "approved": True, "opinion": "事实清楚，依据充分"}
SEEDED_PARAMS = {"case_id", "task_id", "publication_id", "number", "draw_id", "item_id", "sequence",
                 "content_hash", "subject_id", "clue_id", "dispute_id", "transfer_id"}
ZHZF = "320412-ZHZF"    # a body of A's county no outsider acts for (the other side of A's clue and dispute)


# --- seeding --------------------------------------------------------------------------------------
def seed(suite) -> dict:
    """A's things, made as A's systems and staff make them."""
    from nameko import config

    supervisor_a, officer_a = staff(suite, "supervisor", A), staff(suite, "officer", A, [BODY_A])
    suite.publish(ev.envelope("body.registered", {"body_id": BODY_A, "name": "常州市武进区市场监督管理局",
                                                  "kind": "department", "region_code": A, "field": "市场监管",
                                                  "superior_body_id": "320400-SCJG"}, body=SRC_A))
    suite.publish(ev.case_opened(CASE_A))
    suite.publish(ev.decision_proposed(CASE_A))
    # REV-2, issue 14: CASE_A's task is acted on below, so CASE_A is not decided (a decision closes the
    # task, and could overtake the proposal); the published decision is another case of A's
    suite.publish(ev.decision_made(CASE_A_DECIDED))
    suite.publish(ev.evidence(CASE_A, 2))
    suite.publish(ev.complaint_submitted())
    blob = b"matrix attachment of body A"
    upload = requests.post(suite.base_url + "/api/v1/records/blobs", data=blob, timeout=30,
                           headers={**officer_a.headers, "Content-Type": "application/octet-stream"})
    assert upload.status_code == 201, upload.text
    evidence = ev.evidence(CASE_A)
    evidence["payload"]["content_hash"] = hashlib.new("sm3", blob).hexdigest()
    suite.publish(evidence)
    get = lambda path, who, **params: requests.get(suite.base_url + path, headers=who.headers,  # noqa: E731
                                                    params={"purpose": PURPOSE, **params}, timeout=30)
    task = wait_for(lambda: get("/api/v1/review/tasks", supervisor_a).json().get("tasks"), timeout=30,
                    message="task")[0]
    publication = wait_for(lambda: get("/api/v1/public/decisions", supervisor_a).json()["results"], timeout=30,
                           message="publication")[0]
    complaint = wait_for(lambda: get("/api/v1/complaints", staff(suite, "complaint_handler", A)).json()
                         .get("complaints"), timeout=30, message="complaint")[0]
    timeline = wait_for(lambda: (lambda t: len(t.get("entries", [])) >= 4 and t)(
        get(f"/api/v1/cases/{CASE_A}/timeline", supervisor_a).json()), timeout=30, message="timeline")
    wait_for(lambda: get(f"/api/v1/public/bodies/{BODY_A}", supervisor_a).ok, message="body registered")
    post = lambda path, body, who: requests.post(suite.base_url + path, json=body, headers=who.headers,  # noqa: E731
                                                 timeout=30)
    # a draw of A, announced and performed
    tomorrow = dt.datetime.now(ev.CHINA).date() + dt.timedelta(days=1)
    targets = [{"target_id": ev.uscc(f"91320412MA1X2Y{n:02d}B"), "name": f"常州某某{n}号商店"} for n in range(4)]
    draw_body = {"draw_id": "DRAW-A-1", "body_id": BODY_A, "matter": "食品经营者监督检查", "targets": targets,
                 "inspectors": ["32041200123", "32041200456"], "target_count": 2,
                 "public_value_source": "次日中国福利彩票双色球开奖号码", "public_value_on": tomorrow.isoformat()}
    announced = post("/api/v1/disclosure/draws", draw_body, officer_a)
    assert announced.status_code == 201, announced.text
    with config.patch({"ZHIFA_CLOCK": f"{tomorrow.isoformat()}T10:00:00+08:00"}, clear=False):
        drawn = post("/api/v1/disclosure/draws/DRAW-A-1/perform", {"public_value": "03 08 15"}, officer_a)
    assert drawn.status_code == 200, drawn.text
    # an accountability case about A, a supervision item issued to A by the city, A's scores
    acc = post("/api/v1/evaluation/cases", {"body_id": BODY_A, "description": "执法过错线索"}, supervisor_a)
    assert acc.status_code == 201, acc.text
    item = post("/api/v1/evaluation/supervision", {"kind": "suggestion", "target_body_id": BODY_A,
                                                   "subject": "请规范行政检查"}, staff(suite, "supervisor", CITY))
    assert item.status_code == 201, item.text
    # COORD-1…3: a clue sent to A, a jurisdiction dispute of A, a transfer of A's case to public security
    clue = post("/api/v1/coordination/clues", {"from_body_id": ZHZF, "from_region_code": A, "to_body_id": BODY_A,
                                               "to_region_code": A, "matter": "无证经营线索",
                                               "facts": "巡查中发现无证经营食品的线索，请核查处理。"}, supervisor_a)
    assert clue.status_code == 201, clue.text
    dispute = post("/api/v1/coordination/disputes", {"matter": "餐饮油烟扰民的查处管辖", "parties": [
        {"body_id": BODY_A, "region_code": A}, {"body_id": ZHZF, "region_code": A}]}, supervisor_a)
    assert dispute.status_code == 201, dispute.text
    transfer_body = {"body_id": BODY_A, "region_code": A, "recipient_kind": "public_security",
                     "recipient_name": "常州市公安局武进分局", "matter": "涉嫌销售伪劣产品", "case_id": CASE_A,
                     "documents": [{"name": "涉嫌犯罪案件移送书", "sm3": "ab" * 32}]}
    transfer = post("/api/v1/coordination/transfers", transfer_body, supervisor_a)
    assert transfer.status_code == 201, transfer.text
    detail = wait_for(lambda: (lambda r: r.ok and r.json())(get(f"/api/v1/evaluation/scores/body/{BODY_A}",
                                                              supervisor_a)), message="A evaluated")
    samples = {"case_id": CASE_A, "task_id": task["task_id"], "publication_id": publication["publication_id"],
               "number": complaint["number"], "body_id": BODY_A, "region_code": A, "draw_id": "DRAW-A-1",
               "draw_body": draw_body, "draw_target": drawn.json()["result"]["assignments"][0]["target_id"],
               "acc_case_id": acc.json()["case_id"], "item_id": item.json()["item_id"],
               "sequence": timeline["entries"][0]["sequence"], "content_hash": evidence["payload"]["content_hash"],
               "subject_kind": "body", "subject_id": BODY_A, "code": detail["indicators"][0]["code"],
               # identifiers that need no seeding (public, or not A's)
               "certificate_no": "3204120000001", "kind": "service_guide", "year": 2026, "month": 11,
               "consequence_id": 1, "name": "zhifa.css", "log_id": "records.320200",
               "token": "no-such-receipt-token",   # a complaint receipt's one-time token (public page)
               "typical_case_id": "DXAL-000000000000",   # none seeded (issue 18)
               "clue_id": clue.json()["clue_id"], "dispute_id": dispute.json()["dispute_id"],
               "transfer_id": transfer.json()["transfer_id"], "transfer_body": transfer_body,
               "party_id": ev.uscc("91320412MA1X2Y9B0")}   # shared inspection results (结果互认): any body reads
    return samples


def samples_for(route, samples: dict) -> dict:
    if route.path.startswith(("/api/v1/evaluation/cases/", "/evaluation/cases/")):   # an accountability case
        return {**samples, "case_id": samples["acc_case_id"]}
    return samples


def a_tokens(samples) -> list[str]:
    """Identifiers only A's things carry: none may show in an outsider's answer."""
    return [CASE_A, samples["task_id"], samples["publication_id"], samples["number"], samples["draw_id"],
            samples["acc_case_id"], samples["item_id"], samples["content_hash"], samples["clue_id"],
            samples["dispute_id"], samples["transfer_id"]]


@pytest.fixture
def matrix_suite(amqp_uri, sqlite_databases, tmp_path):
    from tests.fixtures import running_suite

    keys = [{"system": system, "region_code": region, "body_ids": bodies, "key_sha256": hash_key(key)}
            for system, region, bodies, key in KEYS.values()]
    with running_suite(amqp_uri, sqlite_databases, tmp_path, api_keys=keys) as suite:
        yield suite


def test_plat1_sec2_role_and_scope_matrix_reads_and_writes(matrix_suite):
    """PLAT-1, SEC-2 (issue 15): roles, then region AND body scope for every route — reads and writes,
    A's identifiers swapped into the requests of other bodies, counties and cities — no 5xx anywhere."""
    suite = matrix_suite
    samples = seed(suite)
    writes = write_bodies(samples)
    errors, wrong_roles, leaks, blind = [], [], [], []
    public = Principal("public", "public", {})

    # 1. roles: A's own principal of each kind, on every route
    primary = {p.role: p for p in reversed(insiders(suite))}   # the A-level principal of each role
    checked = 0
    for route in ROUTES:
        path = fill(route.path, samples_for(route, samples))
        for kind in ("public", "department", *STAFF_ROLES):
            who = public if kind == "public" else primary[kind]
            allowed = not route.roles or kind in route.roles
            response = send(suite, route.method, path, who.headers, {}, {"purpose": PURPOSE})
            status = response.status_code
            if route.roles and status == 303 and response.headers.get("Location", "").startswith("/auth/login"):
                status = 401    # a staff page sends a visitor to sign in (SEC-1)
            checked += 1
            if status >= 500:
                errors.append((route.method, route.path, who.name, status))
            elif not allowed and status not in (401, 403):
                wrong_roles.append(("allowed", route.method, route.path, who.name, status))
            elif allowed and status in (401, 403):
                wrong_roles.append(("denied", route.method, route.path, who.name, status))

    # 2. scope: outsiders get nothing of A, insiders read it
    tokens = a_tokens(samples)
    params = {"purpose": PURPOSE, "region_code": A, "case_id": CASE_A, "body_id": BODY_A, "version": 1}
    for route in ROUTES:
        if not route.roles or route.tags == ("audit",) or route.path in NOT_A_WRITES:
            continue   # public data; the audit trail names what was asked (SEC-3); not A's things
        path = fill(route.path, samples_for(route, samples))
        read = route.method == "GET" or route.path in READ_POSTS
        has_a_id = bool(set(re.findall(r"<(?:\w+:)?(\w+)>", route.path)) & (SEEDED_PARAMS | {"body_id"}))
        body = writes.get((route.method, route.path))
        if not read:
            assert body is not None, f"add a valid body for {route.method} {route.path} to write_bodies()"
        for who in outsiders(suite):
            if who.role not in route.roles:
                continue
            if route.path in REGION_WRITES and who.name.startswith(f"{who.role}@{A}[{BODY_A2}"):
                continue   # a region-level record: any principal of A's region acting for some body
            if route.path in REGION_WRITES and who.name == "dept-a2":
                continue
            if route.path == "/api/v1/events":   # the key's own system, speaking for A's body
                body = ev.case_opened("320412-SCJG-2026-09009", body={**SRC_A, "system": KEYS[who.name][0]})
            if route.path == "/api/v1/evaluation/cases/<case_id>/actions":   # what each role may do there
                body = LEGAL_REVIEW if who.role == "legal_reviewer" else writes[(route.method, route.path)]
            r = send(suite, route.method, path, who.headers, body, params)
            checked += 1
            if r.status_code >= 500:
                errors.append((route.method, route.path, who.name, r.status_code))
            elif not read and r.status_code not in (403, 404):
                leaks.append(("write", route.method, route.path, who.name, r.status_code))
            elif read and has_a_id and r.status_code not in (403, 404):
                leaks.append(("read id", route.method, route.path, who.name, r.status_code))
            elif read and r.ok and any(t in r.text for t in tokens):
                leaks.append(("listing", route.method, route.path, who.name, r.status_code))
        if read and has_a_id and route.path not in UNSEEDED:
            for who in insiders(suite):
                if who.role in route.roles:
                    r = send(suite, route.method, path, who.headers, body, params)
                    checked += 1
                    if r.status_code >= 500:
                        errors.append((route.method, route.path, who.name, r.status_code))
                    elif r.status_code != 200:
                        blind.append((route.method, route.path, who.name, r.status_code))

    # 3. each write once by one of A's principals: the bodies are valid (2xx, or 409 for the state)
    invalid = []
    first_insider = {}
    for who in insiders(suite):
        first_insider.setdefault(who.role, who)
    for route in sorted(ROUTES, key=lambda r: r.path in LAST_WRITES):   # a designation moves A's case away
        body = writes.get((route.method, route.path))
        if body is None or route.path in UNSEEDED or route.method == "GET":
            continue
        who = first_insider[WRITER.get(route.path)] if route.path in WRITER else next(
            first_insider[r] for r in ("department", *STAFF_ROLES) if r in route.roles)
        r = send(suite, route.method, fill(route.path, samples_for(route, samples)), who.headers, body, params)
        checked += 1
        if r.status_code >= 500:
            errors.append((route.method, route.path, who.name, r.status_code))
        elif r.status_code not in (200, 201, 202, 409):
            invalid.append((route.method, route.path, who.name, r.status_code, r.text[:200]))

    print(f"\naccess matrix: {checked} checks over {len(ROUTES)} routes")
    assert errors == [], f"5xx answers (a failure, never 'allowed'): {errors}"
    assert wrong_roles == []
    assert leaks == [], f"A's things reached out of scope: {leaks}"
    assert blind == [], f"A's own principals could not read A's things (the ids are wrong?): {blind}"
    assert invalid == [], f"write bodies refused to A's own principals (they must be valid): {invalid}"
    # region parameters naming A are refused to B and to a supervisor narrowed to another body
    for who in (staff(suite, "supervisor", B), staff(suite, "supervisor", A, [BODY_A2])):
        r = send(suite, "GET", f"/api/v1/evaluation/summary?region_code={A}", who.headers)
        assert r.status_code == 403, (who.name, r.status_code)
