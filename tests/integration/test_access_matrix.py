"""Tier-scoped access everywhere (PLAT-1, issue 8 §2): role × tier × endpoint, zero unexpected allows.

Every route of the gateway is exercised automatically (a new route is covered the day it is added):
1. roles: each identity kind is allowed exactly where the route's roles say; everyone else gets 401/403;
2. scope: data of county A (320412) is invisible to staff of county B (320411) — identifiers of A are
   swapped into B's requests and must answer 403/404, and B's listings must not contain A's data;
   the city (320400) and the province (320000) above A see it.
"""
import re

import pytest

from services.common.auth import STAFF_ROLES, hash_key
from services.gateway.service import ROUTES
from tests.fixtures import wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration

A, B, CITY, PROVINCE = "320412", "320411", "320400", "320000"
KEY_A = "zf_matrix_key_a"
CASE_A = "320412-SCJG-2026-09001"


def seed(suite):
    """Data in county A: a major case with a review task, a publication, a complaint."""
    suite.publish(ev.case_opened(CASE_A))
    suite.publish(ev.decision_proposed(CASE_A))
    reviewer_a = suite.token("legal_reviewer", A)
    task = wait_for(lambda: suite.get("/api/v1/review/tasks", reviewer_a).json().get("tasks"), message="task")[0]
    suite.publish(ev.decision_made(CASE_A))
    suite.publish(ev.complaint_submitted())
    publication = wait_for(lambda: suite.get("/api/v1/public/decisions").json()["results"], message="publication")[0]
    complaint = wait_for(lambda: suite.get("/api/v1/complaints", suite.token("complaint_handler", A)).json()
                         .get("complaints"), message="complaint")[0]
    return {"case_id": CASE_A, "task_id": task["task_id"], "publication_id": publication["publication_id"],
            "number": complaint["number"], "body_id": "320412-SCJG", "region_code": A,
            # identifiers that need no seeding: existence doesn't matter for authorisation
            "certificate_no": "3204120000001", "draw_id": "DRAW-A-1", "kind": "service_guide", "item_id": "ITEM-1",
            "year": 2026, "month": 11, "sequence": 0, "content_hash": "0" * 64, "subject_kind": "body",
            "subject_id": "320412-SCJG", "code": "DISCLOSURE_ON_TIME", "consequence_id": 1,
            "name": "zhifa.css"}


def fill(path: str, samples: dict) -> str:
    def sample(match):
        name = match.group(1)
        assert name in samples, f"add a sample value for path parameter <{name}> to the access matrix"
        return str(samples[name])
    return re.sub(r"<(?:\w+:)?(\w+)>", sample, path)


def call(suite, route, path, headers):
    if route.method != "GET" and not path.startswith("/api/"):
        # a page form: sent as a browser would, with its CSRF cookie and token (SEC-5), so that what
        # is checked here is the role, not the form's origin (tests/gateway/test_edge.py checks that)
        import requests

        browser = requests.Session()
        form = browser.get(suite.base_url + "/complaints/status", timeout=15)
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text).group(1)
        return browser.post(suite.base_url + path, data={"csrf_token": token}, headers=headers, timeout=15)
    if route.method == "GET":
        return suite.get(path, headers=headers, allow_redirects=False)
    if route.method == "PUT":
        import requests

        return requests.put(suite.base_url + path, json={}, headers=headers, timeout=15)
    return suite.post(path, {}, headers=headers)


def identities(suite, region):
    out = {"public": {}, "department": {"X-Api-Key": KEY_A}}
    for role in STAFF_ROLES:
        out[role] = {"Authorization": f"Bearer {suite.token(role, region, sub=f'{role}-{region}')}"}
    return out


@pytest.fixture
def matrix_suite(amqp_uri, sqlite_databases, tmp_path):
    from tests.fixtures import running_suite

    keys = [{"system": "wj-scjg-system", "region_code": A, "body_ids": ["320412-SCJG"], "key_sha256": hash_key(KEY_A)}]
    with running_suite(amqp_uri, sqlite_databases, tmp_path, api_keys=keys) as suite:
        yield suite


def test_role_and_scope_matrix(matrix_suite):
    suite = matrix_suite
    samples = seed(suite)
    unexpected_allows, unexpected_denials, checked = [], [], 0
    for route in ROUTES:
        path = fill(route.path, samples)
        for kind, headers in identities(suite, A).items():
            allowed = not route.roles or kind in route.roles
            response = call(suite, route, path, headers)
            status = response.status_code
            if route.roles and status == 303 and response.headers.get("Location", "").startswith("/auth/login"):
                status = 401    # a staff page sends a visitor to sign in (SEC-1)
            checked += 1
            if not allowed and status not in (401, 403):
                unexpected_allows.append((route.method, route.path, kind, status))
            if allowed and status in (401, 403):
                unexpected_denials.append((route.method, route.path, kind, status))
    print(f"\naccess matrix: {checked} role×endpoint checks, {len(unexpected_allows)} unexpected allows")
    assert unexpected_allows == []
    assert unexpected_denials == []

    # scope: B's staff asking for A's things, and listing
    leaks = []
    for route in ROUTES:
        if not route.roles or route.method != "GET":
            continue
        if route.tags == ("audit",):
            continue   # the audit trail of B's staff names what they asked for, A's ids included (SEC-3)
        path = fill(route.path, samples)
        for role in route.roles:
            if role == "department":
                continue
            for region, should_see in ((B, False), (CITY, True), (PROVINCE, True)):
                headers = {"Authorization": f"Bearer {suite.token(role, region, sub=f'{role}-{region}')}"}
                response = suite.get(path, headers=headers, params={"purpose": "访问范围测试"})  # REC-6 reads need one
                sees = response.ok and any(str(v) in response.text for v in (CASE_A, samples["number"],
                                                                                samples["task_id"]))
                has_id_param = "<" in route.path
                if not should_see and sees:
                    leaks.append((route.path, role, region, response.status_code))
                if not should_see and has_id_param and response.status_code not in (403, 404):
                    leaks.append((route.path, role, region, response.status_code))
    assert leaks == [], f"data of county {A} visible out of scope: {leaks}"
    # region parameters naming A are refused to B
    b = {"Authorization": f"Bearer {suite.token('supervisor', B)}"}
    assert suite.get(f"/api/v1/evaluation/summary?region_code={A}", headers=b).status_code == 403
