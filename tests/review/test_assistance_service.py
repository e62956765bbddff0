"""REV-8 (issue 18) across services, on the real broker: review, disclosure and the gateway. Decisions of the
matter are made and published by disclosure (one withheld as a state secret); a major proposal opens a review
task; GET /api/v1/review/tasks/<id>/assistance answers the matter's articles and benchmark, a draft decision
document with them filled in, and disclosure's similar published decisions (most similar facts first, the case
under review and unpublished decisions never) with the distribution of their fines. Another body's reviewer
gets 404 before disclosure is asked (fail closed), a role without review access 403."""
from __future__ import annotations

import uuid

import pytest

from services.common.auth import hash_key
from tests.disclosure import events as de
from tests.fixtures import running_suite, wait_for
from tests.integration import events as ev
from tests.review import review_events as rv

pytestmark = pytest.mark.integration
REGION, OWN, MATTER = "320412", ["320412-SCJG"], "SAMPLE-SP-126-3"
FACTS = "当事人经营食品未按规定建立进货查验记录，经责令改正后拒不改正"


@pytest.fixture
def suite(amqp_uri, sqlite_databases, tmp_path):
    key = f"k-{uuid.uuid4().hex}"
    keys = [{"key_sha256": hash_key(key), "system": "wj-scjg-system", "region_code": REGION, "body_ids": OWN}]
    with running_suite(amqp_uri, sqlite_databases, tmp_path, services=["review", "disclosure", "gateway"],
                       api_keys=keys) as s:
        yield s


def decision(local, facts, fine, secrecy="none", matter=MATTER):
    envelope = de.decision(local, parties=[ev.legal_party()], facts=facts, fine=fine, secrecy=secrecy,
                           decision_no=f"武市监罚〔2026〕{local}号")
    envelope["payload"]["matter_code"] = matter
    return envelope


def test_rev8_assistance_similar_published_decisions_amounts_and_draft_through_the_gateway(suite):
    suite.publish(rv.body())
    for local, facts, fine, secrecy, matter in [
            ("R8-1", "当事人未按规定建立进货查验记录，经责令改正拒不改正", "20000.00", "none", MATTER),
            ("R8-2", "当事人销售超过保质期的食品", "8000.00", "none", MATTER),
            ("R8-3", "未建立食品进货查验记录", "30000.00", "none", MATTER),
            ("R8-4", FACTS, "45000.00", "state_secret", MATTER),          # withheld: not public
            ("R8-5", FACTS, "99000.00", "none", "SC-0101")]:              # another matter
        suite.publish(decision(local, facts, fine, secrecy, matter))
    staff = suite.token("supervisor", REGION)
    wait_for(lambda: suite.get("/api/v1/public/decisions", staff).json()["total"] >= 4,
             message="decisions published")
    case = ev.case_id("R8-UNDER-REVIEW")
    suite.publish(rv.proposal(case, fine="20000.00", party=ev.natural_party(), matter_code=MATTER, summary=FACTS))
    reviewer = suite.token("legal_reviewer", REGION, sub="r-1", bodies=OWN)
    task = wait_for(lambda: [t for t in suite.get("/api/v1/review/tasks", reviewer).json()["tasks"]
                             if t["case_id"] == case], message="review task")[0]

    response = suite.get(f"/api/v1/review/tasks/{task['task_id']}/assistance", reviewer)
    assert response.status_code == 200, response.text
    help_ = response.json()
    assert "similar_query" not in help_
    assert [a["citation"] for a in help_["articles"]] == ["《中华人民共和国食品安全法》第五十三条",
                                                          "《中华人民共和国食品安全法》第一百二十六条第一款第三项"]
    assert help_["benchmark"]["matching_circumstances"] == ["ordinary"] and help_["benchmark"]["within_benchmark"]
    draft = help_["draft"]
    assert draft["title"] == "行政处罚决定书" and draft["blanks"] == ["文书号", "签发日期"]
    assert f"经查，{FACTS}" in draft["text"] and "违反了《中华人民共和国食品安全法》第五十三条的规定" in draft["text"]
    assert "一、处以罚款人民币20,000.00元；" in draft["text"] and "常州市武进区市场监督管理局" in draft["text"]

    similar = help_["similar"]
    assert similar["considered"] == 3                       # the withheld one and the other matter are not
    assert [d["decision_no"] for d in similar["decisions"]] == ["武市监罚〔2026〕R8-1号", "武市监罚〔2026〕R8-3号",
                                                                "武市监罚〔2026〕R8-2号"]
    assert similar["decisions"][0]["url"].startswith("/disclosure/decisions/")
    amounts = similar["amounts"]
    assert (amounts["count"], amounts["min"], amounts["median"], amounts["max"]) == (3, "8000.00", "20000.00",
                                                                                       "30000.00")
    assert amounts["at_or_below_proposed"] == 2 and "拟处罚款20,000.00元，不低于其中2件" in amounts["message"]

    # fail closed: another body's reviewer does not learn the task exists; other roles are refused
    outsider = suite.token("legal_reviewer", REGION, sub="r-9", bodies=["320412-ZHZF"])
    assert suite.get(f"/api/v1/review/tasks/{task['task_id']}/assistance", outsider).status_code == 404
    handler = suite.token("complaint_handler", REGION)
    assert suite.get(f"/api/v1/review/tasks/{task['task_id']}/assistance", handler).status_code == 403
