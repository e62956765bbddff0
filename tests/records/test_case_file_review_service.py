"""REC-7 over the running suite (issue 18): archived case files arrive as departmental events, a supervisor
draws the year's sample over the HTTP API, assigns a file to a reviewer of another body (its own body is
refused), the reviewer scores it, the result travels to evaluation over the broker and becomes the body's
案卷评查 indicator (it was typed in by hand), and the supervisors' dashboard shows the weak links."""
from __future__ import annotations

import datetime as dt

import pytest

from services.records.domain import casefile_review as rules
from tests.fixtures import wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration
CHINA = dt.timezone(dt.timedelta(hours=8))
A = {"region_code": "320412", "body_id": "320412-SCJG", "system": "wj-scjg"}
B = {"region_code": "320411", "body_id": "320411-ZRZY", "system": "xb-zrzy"}


@pytest.fixture
def suite(amqp_uri, sqlite_databases, tmp_path):
    from tests.fixtures import running_suite

    with running_suite(amqp_uri, sqlite_databases, tmp_path,
                       services=["records", "evaluation", "gateway"]) as running:
        yield running


def test_rec7_draw_assign_score_over_http_feeds_indicator_and_dashboard(suite):
    year = dt.datetime.now(CHINA).year
    archived = dt.datetime.now(CHINA) - dt.timedelta(hours=2)
    suite.publish(ev.envelope("body.registered", {"body_id": A["body_id"], "name": "常州市武进区市场监督管理局",
                                                  "kind": "department", "region_code": A["region_code"],
                                                  "management": "local"}, body=A))
    cases = [f"{A['body_id']}-CFR-{i}" for i in range(2)]
    for case_id in cases:
        suite.publish(ev.case_opened(case_id, body=A, at=archived - dt.timedelta(days=1)))
        suite.publish(ev.case_archived(case_id, at=archived, body=A))
    supervisor = suite.token("supervisor", "320400", sub="sup-1")
    drawn = wait_for(lambda: (lambda r: r.status_code == 201 and r.json())(suite.post(
        "/api/v1/records/case-file-reviews/draws", {"year": year, "public_value": "05 11 23 27 31"}, supervisor)),
        timeout=30, message="draw over both archived files")
    assert drawn["verified"] and sorted(drawn["selected"][A["body_id"]]) == cases
    review_id = drawn["reviews"][0]["review_id"]
    # SEC-2 (fail closed): a supervisor of the neighbouring county neither sees A's draw nor acts on A's files
    outsider = suite.token("supervisor", B["region_code"], sub="sup-b")
    assert suite.get(f"/api/v1/records/case-file-reviews/draws/{year}?region_code={A['region_code']}",
                     outsider).status_code in (403, 404)
    theirs = suite.get(f"/api/v1/records/case-file-reviews/draws/{year}", outsider)
    assert theirs.status_code in (200, 404) and A["body_id"] not in theirs.text
    assert suite.post("/api/v1/records/case-file-reviews/assignments",
                      {"review_id": review_id, "reviewer": "rev-x", "reviewer_body_id": B["body_id"]},
                      outsider).status_code in (403, 404)
    own = suite.post("/api/v1/records/case-file-reviews/assignments",
                     {"review_id": review_id, "reviewer": "rev-a", "reviewer_body_id": A["body_id"]}, supervisor)
    assert own.status_code == 409 and "回避" in own.json()["message"]
    assert suite.post("/api/v1/records/case-file-reviews/assignments",
                      {"review_id": review_id, "reviewer": "rev-b", "reviewer_body_id": B["body_id"]},
                      supervisor).status_code == 200
    reviewer = suite.token("legal_reviewer", B["region_code"], sub="rev-b", bodies=[B["body_id"]])
    [mine] = suite.get("/api/v1/records/case-file-reviews/assigned", reviewer).json()["reviews"]
    marks = {c["code"]: {"points": c["points"]} for c in mine["sheet"]}
    marks["procedure"] = {"points": 10, "reason": "未告知陈述申辩权利"}
    # only the assigned reviewer scores: another reviewer of the same body is refused, and nothing is recorded
    stranger = suite.token("legal_reviewer", B["region_code"], sub="rev-c", bodies=[B["body_id"]])
    assert suite.post("/api/v1/records/case-file-reviews/scores", {"review_id": review_id, "items": marks},
                      stranger).status_code in (403, 404, 409)
    scored = suite.post("/api/v1/records/case-file-reviews/scores", {"review_id": review_id, "items": marks}, reviewer)
    assert scored.status_code == 200, scored.text
    assert scored.json()["score"] == "90.00"
    detail = wait_for(lambda: (lambda d: next((i for i in d.get("indicators", ()) if i["code"] == "CASE_FILE_REVIEW"
                                               and i.get("value") is not None), None))(
        suite.get(f"/api/v1/evaluation/scores/body/{A['body_id']}?year={year}", supervisor).json()),
        timeout=30, message="the review reached evaluation's indicator")
    assert float(detail["value"]) == pytest.approx(90.0)
    weak = suite.get(f"/api/v1/records/case-file-reviews/weak-links?year={year}", supervisor).json()
    assert weak["items"][0]["code"] == "procedure" and weak["files"] == 1
    page = suite.get(f"/evaluation/dashboard?region_code=320400&year={year}", supervisor)
    assert page.status_code == 200
    assert "案卷评查薄弱环节" in page.text and rules.load_review_rules().name_of("procedure") in page.text
