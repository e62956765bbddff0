"""The HTTP edge on the real broker: identities, roles, scope, JSON errors, OpenAPI (issue 2 §4)."""
import pytest
from services.common.auth import hash_key
from services.gateway.service import ROUTES, GatewayService
from tests.fixtures import running_suite, wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration

KEY = "zf_test_key_wujin_scjg"


def post_event(suite, envelope, key=KEY):
    return suite.post("/api/v1/events", envelope, headers={"X-Api-Key": key} if key else {})


def test_department_posts_an_event_over_http_and_it_is_processed(amqp_uri, sqlite_databases, tmp_path):
    keys = [{"system": "wj-scjg-system", "region_code": "320412", "body_ids": ["320412-SCJG"],
             "key_sha256": hash_key(KEY)}]
    with running_suite(amqp_uri, sqlite_databases, tmp_path, api_keys=keys) as suite:
        opened = ev.case_opened("320412-SCJG-C-HTTP-1")
        response = post_event(suite, opened)
        assert response.status_code == 202, response.text
        assert response.json()["event_id"] == opened["event_id"]
        token = suite.token("officer", "320412", bodies=["320412-SCJG"])
        wait_for(lambda: suite.get("/api/v1/cases/320412-SCJG-C-HTTP-1/timeline", token).ok, message="processed")

        # field errors, in the same envelope shape departmental systems code against
        bad = ev.case_opened("320412-SCJG-C-HTTP-2")
        bad["payload"]["parties"][0]["id_number"] = "320412198503141230"
        response = post_event(suite, bad)
        assert response.status_code == 422
        assert "校验位" in str(response.json()["fields"]["payload"])
        # a key speaks only for its own system, bodies and region
        other = ev.case_opened("320412-SCJG-C-HTTP-3", body={"region_code": "320411", "body_id": "320411-JTYS",
                                                 "system": "wj-scjg-system"})
        assert post_event(suite, other).status_code == 403
        assert post_event(suite, ev.case_opened("320412-SCJG-C-HTTP-4"), key="wrong").status_code == 401
        assert post_event(suite, ev.case_opened("320412-SCJG-C-HTTP-5"), key=None).status_code == 401
        assert suite.post("/api/v1/events", None, data="{oops", headers={"X-Api-Key": KEY,
                          "Content-Type": "application/json"}).status_code == 400


def test_roles_scope_and_public_endpoints(suite):
    officer_other_county = suite.token("officer", "320411", bodies=["320411-JTYS"])
    suite.publish(ev.case_opened("320412-SCJG-C-SCOPE-1"))
    wait_for(lambda: suite.get("/api/v1/cases/320412-SCJG-C-SCOPE-1/timeline",
                               suite.token("officer", "320412", bodies=["320412-SCJG"])).ok,
             message="case visible in its county")
    # out of scope looks like not found (no leak of existence)
    assert suite.get("/api/v1/cases/320412-SCJG-C-SCOPE-1/timeline", officer_other_county).status_code == 404
    assert suite.get("/api/v1/cases/320412-SCJG-C-SCOPE-1/timeline", suite.token("supervisor", "320400")).ok
    # no credentials, wrong role, forged token
    assert suite.get("/api/v1/cases/320412-SCJG-C-SCOPE-1/timeline").status_code == 401
    assert suite.get("/api/v1/cases/320412-SCJG-C-SCOPE-1/timeline", suite.token("complaint_handler", "320400")).status_code == 403
    from services.common.auth import issue_token

    forged = issue_token("x", "admin", "320000", secret="not-the-secret")
    assert suite.get("/api/v1/cases/320412-SCJG-C-SCOPE-1/timeline", forged).status_code == 401
    assert suite.get("/api/v1/evaluation/summary", suite.token("supervisor", "320411"),
                     params={"region_code": "320400"}).status_code == 403
    # public endpoints need nothing
    assert suite.get("/healthz").ok and suite.get("/api/v1/public/decisions").ok
    home = suite.get("/")
    assert home.ok and "行政执法监督平台" in home.text


def test_complaint_form_errors_are_chinese_field_errors(suite):
    response = suite.post("/api/v1/public/complaints", {"phone": "123", "request": "短"})
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert fields["phone"] == ["请填写有效的手机或固定电话号码"]
    assert fields["facts"] == ["请填写事实和理由"] and "body_id" in fields
    ok = suite.post("/api/v1/public/complaints", {
        "phone": "13800001111", "region_code": "320412", "body_id": "320412-SCJG",
        "request": "请求依法查处违法执法行为", "facts": "执法人员在检查过程中未出示执法证件并强行扣押物品。"})
    assert ok.status_code == 201, ok.text
    body = ok.json()
    status = suite.get(f"/api/v1/public/complaints/{body['number']}", params={"code": body["query_code"]})
    assert status.ok and status.json()["status"] == "registered"
    assert suite.get(f"/api/v1/public/complaints/{body['number']}", params={"code": "WRONG123"}).status_code == 404


def test_openapi_documents_every_endpoint(suite):
    doc = suite.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    import re
    for route in ROUTES:
        assert (route.method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.path)) in documented
    # every http entrypoint of the gateway is in the route table (the document can't drift)
    from nameko.web.handlers import HttpRequestHandler
    entrypoints = {(e.method, e.url) for name in dir(GatewayService)
                   for e in getattr(getattr(GatewayService, name), "nameko_entrypoints", ())
                   if isinstance(e, HttpRequestHandler)}
    assert entrypoints == {(r.method, r.path) for r in ROUTES}
