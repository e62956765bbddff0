"""Coordination across bodies, regions and tiers on the real broker (issue 18): clues with deadlines,
escalation and answers over the tier links in any order (COORD-1), shared inspection results with the
多头/重复检查 flags (COORD-1), jurisdiction disputes from routing and from a declined clue, decided at the
common superior and applied (COORD-2), transfers to judicial organs with receipt, outcome, 应移未移 and the
transfer opened by ``evaluation.accountability_decided`` (COORD-3) — through the gateway and the complaints
service's real handlers."""
from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from kombu import Connection, Producer
from sqlalchemy import create_engine, text

from services.common.bus import events_exchange
from services.common.settings import amqp_user
from tests.complaints.helpers import CHINA, complaints_suite, register_via_hotline
from tests.fixtures import dead_letters, outbox_events, wait_for, wait_until_drained
from tests.integration.events import envelope

pytestmark = pytest.mark.integration

SM3 = "0123456789abcdef" * 4
A = {"from_body_id": "320412-SCJG", "from_region_code": "320412", "from_name": "常州市武进区市场监督管理局"}
TO_HB = {"to_body_id": "320412-HBJ", "to_region_code": "320412", "to_name": "常州市生态环境局武进分局"}
CLUE = {"matter": "企业夜间偷排废水", "facts": "食品经营检查中发现该企业排污口有新鲜排放痕迹，疑似夜间偷排。",
        "party_id": "91320412MA1X2Y3B4X"}


@pytest.fixture
def cs(amqp_uri, sqlite_databases, tmp_path):
    with complaints_suite(amqp_uri, {"complaints": sqlite_databases["complaints"]}, tmp_path) as suite:
        yield suite


def officer(cs, body, region="320412"):
    return cs.token("officer", region, sub=f"officer-{body}", bodies=[body])


def _clue_sent_then_escalated(cs, scjg, hbj, gaj):
    from nameko import config

    sent = cs.post("/api/v1/coordination/clues", {**A, **TO_HB, **CLUE}, scjg)
    assert sent.status_code == 201, sent.text
    clue = sent.json()
    assert (clue["acknowledge_due"], clue["feedback_due"], clue["status"]) == ("2026-10-08", "2026-10-23", "sent")
    event = cs.capture.wait_for("clue.sent")[0]
    assert event["payload"]["clue_id"] == clue["clue_id"] and event["region_code"] == "320412"

    listed = cs.get("/api/v1/coordination/clues", hbj).json()["clues"]
    assert [(c["clue_id"], c["direction"]) for c in listed] == [(clue["clue_id"], "received")]
    assert cs.get("/api/v1/coordination/clues", scjg).json()["clues"][0]["direction"] == "sent"
    assert cs.get("/api/v1/coordination/clues", gaj).json() == {"clues": []}
    assert cs.get(f"/api/v1/coordination/clues/{clue['clue_id']}", gaj).status_code == 404
    assert cs.get(f"/api/v1/coordination/clues/{clue['clue_id']}", cs.token("supervisor", "320400")).ok
    ack_by_sender = cs.post(f"/api/v1/coordination/clues/{clue['clue_id']}/actions", {"action": "acknowledge"}, scjg)
    assert ack_by_sender.status_code == 403

    # nobody acknowledged by 10-08: the sweep (every 0.3 s) escalates it to the city on 10-09, once
    config["ZHIFA_CLOCK"] = "2026-10-09T10:00:00+08:00"
    escalated = cs.capture.wait_for("clue.escalated", timeout=20)[0]
    assert escalated["payload"]["to_region_code"] == "320400" and escalated["payload"]["level"] == 1
    assert escalated["body_id"] == "320412-HBJ"
    seen = cs.get(f"/api/v1/coordination/clues/{clue['clue_id']}", scjg).json()
    assert [e["to_region_code"] for e in seen["escalations"]] == ["320400"]
    assert [c["overdue"] for c in cs.get("/api/v1/coordination/clues", hbj).json()["clues"]] == [True]
    ack = cs.post(f"/api/v1/coordination/clues/{clue['clue_id']}/actions", {"action": "acknowledge"}, hbj)
    assert ack.ok, ack.text
    done = cs.post(f"/api/v1/coordination/clues/{clue['clue_id']}/actions",
                   {"action": "feedback", "result": "case_opened", "feedback": "已立案调查"}, hbj)
    assert done.ok, done.text
    return clue


def test_coord1_clue_between_departments_both_sides_see_it_deadlines_and_overdue_escalation(cs):
    """COORD-1: a clue from the market regulator to the environment bureau — both see it with its
    working-day deadlines; a third body sees nothing (404); only the recipient answers; an unacknowledged
    clue past its day is escalated by the leased sweep (clue.escalated to the city)."""
    from nameko import config

    scjg, hbj, gaj = officer(cs, "320412-SCJG"), officer(cs, "320412-HBJ"), officer(cs, "320412-GAJ")
    refused = cs.post("/api/v1/coordination/clues", {**A, **TO_HB, **CLUE}, gaj)
    assert refused.status_code == 403, refused.text
    english = cs.post("/api/v1/coordination/clues", {**A, **TO_HB, **CLUE, "matter": "dumping"}, scjg)
    assert english.status_code == 422 and english.json()["fields"] == {"matter": ["线索事项应使用中文填写"]}
    clock = config.patch({"ZHIFA_CLOCK": "2026-09-28T10:00:00+08:00"}, clear=False)   # the sweep reads it too
    clock.start()
    try:
        clue = _clue_sent_then_escalated(cs, scjg, hbj, gaj)
    finally:
        clock.stop()
    both = cs.get(f"/api/v1/coordination/clues/{clue['clue_id']}", scjg).json()
    assert (both["status"], both["result_label"], both["acknowledged_on"]) == ("answered", "已立案查处", "2026-10-09")
    assert len(outbox_events(cs.databases["complaints"], "clue.escalated")) == 1
    assert [e["payload"]["status"] for e in cs.capture.wait_for("clue.answered", 2)] == ["acknowledged", "answered"]


@pytest.fixture
def link(cs):
    from tests.fixtures import LinkUsers

    users = LinkUsers(["320400"], [cs.amqp_uri.rsplit("/", 1)[1]])
    try:
        yield users
    finally:
        users.close()


def _on_link(suite, link, exchange, env):
    from tests.fixtures import publish_on_link

    publish_on_link(link.uri("320400", suite.amqp_uri.rsplit("/", 1)[1]), exchange, env, link.user("320400"))


def _forget_clue(db_url: str, clue_id: str) -> dict:
    """The other suite does not have the sender's row: take it out (and give it back later)."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        row = dict(conn.execute(text("SELECT * FROM coordination_clues WHERE clue_id = :c"), {"c": clue_id})
                   .mappings().one())
        conn.execute(text("DELETE FROM coordination_clues WHERE clue_id = :c"), {"c": clue_id})
    return row


def _restore_clue(db_url: str, row: dict) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM coordination_clues WHERE clue_id = :clue_id"), row)
        cols = ", ".join(row)
        conn.execute(text(f"INSERT INTO coordination_clues ({cols}) VALUES ({', '.join(':' + c for c in row)})"), row)


def test_coord1_clue_down_a_tier_and_answers_up_in_reverse_order_end_the_same(cs, link):
    """COORD-1, PLAT-1 on one suite playing both tiers: a province body's clue to a city body goes down the
    link (envelope region = the city's body), the city keeps it (a redelivery changes nothing) and answers;
    the answers go up and the province's copy takes the newest whatever the order (feedback first, then the
    acknowledgement, then the feedback again) — the same state as the city's."""
    from nameko import config

    as_province = {"ZHIFA_TIER": "province", "ZHIFA_SUITE_REGION": "320000", "ZHIFA_CITIES": "320400",
                   "ZHIFA_LINK_USER_TEMPLATE": link.template}
    config["ZHIFA_LINK_USER_TEMPLATE"] = link.template
    db = cs.databases["complaints"]
    prov = cs.token("officer", "320000", sub="prov-officer", bodies=["320000-SCJG"])
    with config.patch(as_province, clear=False):
        sent = cs.post("/api/v1/coordination/clues", {
            "from_body_id": "320000-SCJG", "from_region_code": "320000", "from_name": "江苏省市场监督管理局",
            **TO_HB, **CLUE}, prov)
        assert sent.status_code == 201, sent.text
    clue_id = sent.json()["clue_id"]
    down = cs.capture.wait_for("clue.sent")[0]
    assert down["region_code"] == "320412" and down["body_id"] == "320412-HBJ"      # routed to the city
    province_row = _forget_clue(db, clue_id)

    # the city 320400 (the default tier of the suite)
    city = {"ZHIFA_TIER": "city", "ZHIFA_SUITE_REGION": "320400"}
    hbj = officer(cs, "320412-HBJ")
    with config.patch(city, clear=False):
        _on_link(cs, link, "downward.events", down)
        _on_link(cs, link, "downward.events", down)                       # redelivered
        got = wait_for(lambda: cs.get("/api/v1/coordination/clues", hbj).json()["clues"], message="clue received")
        assert [(c["clue_id"], c["direction"], c["sender"]["body_id"]) for c in got] == [
            (clue_id, "received", "320000-SCJG")]
        for body in ({"action": "acknowledge"},
                     {"action": "feedback", "result": "no_violation", "feedback": "经现场核查，未发现偷排行为"}):
            assert cs.post(f"/api/v1/coordination/clues/{clue_id}/actions", body, hbj).ok
        answers = cs.capture.wait_for("clue.answered", 2)
        assert [a["region_code"] for a in answers] == ["320412", "320412"]      # up through the city's link
        city_view = cs.get(f"/api/v1/coordination/clues/{clue_id}", hbj).json()

    _restore_clue(db, province_row)
    with config.patch(as_province, clear=False):
        for answer in (answers[1], answers[0], answers[1]):                   # feedback first, then the ack
            _on_link(cs, link, "upward.events", answer)
        wait_until_drained(cs.amqp_uri, "complaints")
        view = wait_for(lambda: (lambda v: v if v["version"] == 2 else None)(
            cs.get(f"/api/v1/coordination/clues/{clue_id}", prov).json()), message="answers applied")
    keys = ("status", "version", "acknowledged_on", "feedback_on", "result", "feedback")
    assert {k: view[k] for k in keys} == {k: city_view[k] for k in keys}
    assert view["status"] == "answered" and view["result"] == "no_violation"
    assert [h["kind"] for h in view["history"]].count("answer_received") == 1   # the ack (older) changed nothing
    assert not dead_letters(cs.amqp_uri, "complaints")


def test_coord1_inspection_results_shared_and_repeat_inspections_flagged(cs):
    """COORD-1 结果互认: a body's result is visible to another body inspecting the same party; the same
    matter again within the window is flagged 重复检查 (same body) / 多头检查 (another body)."""
    scjg, gaj = officer(cs, "320412-SCJG"), officer(cs, "320412-GAJ")
    party = "91320412MA1X2Y3B4X"
    base = {"region_code": "320412", "party_id": party, "party_name": "常州市顺达机械有限公司",
            "matter": "食品经营监督检查", "outcome": "no_problem", "documents": [SM3]}
    first = cs.post("/api/v1/coordination/inspections", {**base, "body_id": "320412-SCJG",
                                                        "inspected_on": "2026-09-01"}, scjg)
    assert first.status_code == 201, first.text
    assert first.json()["flags"]["earlier_ids"] == []
    assert cs.post("/api/v1/coordination/inspections", {**base, "body_id": "320412-SCJG"}, gaj).status_code == 403
    again = cs.post("/api/v1/coordination/inspections", {**base, "body_id": "320412-SCJG",
                                                        "inspected_on": "2026-10-15"}, scjg).json()
    assert again["flags"]["labels"] == ["重复检查"] and again["flags"]["earlier_ids"] == [first.json()["result_id"]]
    other = cs.post("/api/v1/coordination/inspections", {**base, "body_id": "320412-GAJ",
                                                        "inspected_on": "2026-10-20"}, gaj).json()
    assert other["flags"]["labels"] == ["多头检查"] and len(other["flags"]["earlier_ids"]) == 2
    seen = cs.get(f"/api/v1/coordination/parties/{party}/inspections", gaj).json()
    assert [r["body_id"] for r in seen["results"]] == ["320412-GAJ", "320412-SCJG", "320412-SCJG"]
    assert seen["results"][-1]["outcome_label"] == "未发现问题"
    no_body = cs.token("officer", "320412", sub="nobody")
    assert cs.get(f"/api/v1/coordination/parties/{party}/inspections", no_body).status_code == 403
    events = cs.capture.wait_for("inspection.recorded", 3)
    assert [(e["payload"]["repeat"], e["payload"]["multi_body"]) for e in events] == [
        (False, False), (True, False), (False, True)]
    assert party not in json.dumps(events, ensure_ascii=False)           # the party is not named in events


def test_coord2_routing_dispute_decided_by_the_common_superior_routes_the_complaint(cs):
    """COORD-2: a complaint about bodies of two provinces cannot be routed (RoutingError …协调): at
    registration it becomes a dispute at the province's legal office; a party states its view; a county
    supervisor may not decide (403); the province decides and the complaint goes to the unit decided
    (complaint.transferred); never to a complained body."""
    view = register_via_hotline(cs, subject={"body_id": "320412-SCJG", "other_bodies": [
        {"body_id": "330100-SCJG", "region_code": "330100"}]}, request="请求查处两地联合执法中的违法扣押行为")
    number = view["register_number"]
    opened = cs.capture.wait_for("dispute.opened")[0]["payload"]
    assert opened["source_ref"] == number and opened["coordinator_region"] == "320000"
    province = cs.token("supervisor", "320000", sub="prov-legal")
    disputes = cs.get("/api/v1/coordination/disputes", province).json()["disputes"]
    assert len(disputes) == 1 and disputes[0]["note"].startswith("争议各方分属不同省份")
    dispute_id = disputes[0]["dispute_id"]
    scjg = officer(cs, "320412-SCJG")
    stated = cs.post(f"/api/v1/coordination/disputes/{dispute_id}/statements",
                     {"body_id": "320412-SCJG", "statement": "扣押行为由杭州方面实施，我局仅配合"}, scjg)
    assert stated.status_code == 201, stated.text
    assert cs.post(f"/api/v1/coordination/disputes/{dispute_id}/statements",
                   {"body_id": "330100-SCJG", "statement": "代为陈述"}, scjg).status_code == 403
    decision = {"competent": {"body_id": "320412-SCJG", "region_code": "320412"},
                "reason": "扣押物品存放于常州市，由常州市司法局办理投诉"}
    county = cs.token("supervisor", "320412", sub="county-legal")
    assert cs.post(f"/api/v1/coordination/disputes/{dispute_id}/decision", decision, county).status_code in (403, 404)
    to_body = cs.post(f"/api/v1/coordination/disputes/{dispute_id}/decision", decision, province)
    assert to_body.status_code == 409 and to_body.json()["fields"] == {"handling_unit": ["不得为被投诉的执法主体"]}
    decided = cs.post(f"/api/v1/coordination/disputes/{dispute_id}/decision", {
        **decision, "handling_unit": {"body_id": "320400-SFJ", "region_code": "320400", "name": "常州市司法局"}},
        province)
    assert decided.ok, decided.text
    assert decided.json()["status"] == "decided" and decided.json()["decision"]["late"] is False
    handler = cs.token("complaint_handler", "320400", sub="handler-zhang")
    after = cs.get(f"/api/v1/complaints/{number}", handler).json()
    assert view["handler"]["unit_id"] == "320412-SFJ"                   # registered by the filing county
    assert after["handler"]["unit_id"] == "320400-SFJ" and after["history"][-1]["kind"] == "transferred"
    assert "管辖争议协调决定" in after["history"][-1]["data"]["reason"]
    assert cs.capture.wait_for("dispute.decided")[0]["payload"]["competent_body_id"] == "320412-SCJG"
    again = cs.post(f"/api/v1/coordination/disputes/{dispute_id}/decision", decision, province)
    assert again.status_code == 409


def test_coord2_declined_clue_becomes_a_dispute_and_the_decision_readdresses_it(cs):
    """COORD-1, COORD-2: the recipient declines jurisdiction (管辖异议) → dispute at the common superior
    (the city, for bodies of two counties); the city's decision sends the clue to the competent body
    (clue.sent again, new deadlines), who then sees it."""
    scjg, hbj = officer(cs, "320412-SCJG"), officer(cs, "320412-HBJ")
    clue = cs.post("/api/v1/coordination/clues", {**A, **TO_HB, **CLUE}, scjg).json()
    declined = cs.post(f"/api/v1/coordination/clues/{clue['clue_id']}/actions", {
        "action": "decline", "reason": "排污口位于新北区，不属我局管辖",
        "proposed": {"body_id": "320411-HBJ", "region_code": "320411", "name": "常州市生态环境局新北分局"}}, hbj)
    assert declined.ok and declined.json()["status"] == "declined", declined.text
    city = cs.token("supervisor", "320400", sub="city-legal")
    dispute = wait_for(lambda: cs.get("/api/v1/coordination/disputes", city).json()["disputes"], message="dispute")[0]
    assert (dispute["source_kind"], dispute["source_ref"], dispute["coordinator_region"]) == (
        "clue", clue["clue_id"], "320400")
    xb = officer(cs, "320411-HBJ", "320411")
    assert cs.get(f"/api/v1/coordination/clues/{clue['clue_id']}", xb).status_code == 404
    decided = cs.post(f"/api/v1/coordination/disputes/{dispute['dispute_id']}/decision", {
        "competent": {"body_id": "320411-HBJ", "region_code": "320411", "name": "常州市生态环境局新北分局"},
        "reason": "违法行为发生地在新北区"}, city)
    assert decided.ok, decided.text
    moved = cs.get(f"/api/v1/coordination/clues/{clue['clue_id']}", xb).json()
    assert moved["recipient"]["body_id"] == "320411-HBJ" and moved["status"] == "sent"
    assert moved["history"][-1]["kind"] == "readdressed"
    resent = cs.capture.wait_for("clue.sent", 2)[1]["payload"]
    assert resent["to_body_id"] == "320411-HBJ" and resent["version"] == 2
    assert cs.post(f"/api/v1/coordination/clues/{clue['clue_id']}/actions", {"action": "acknowledge"}, xb).ok


def _publish_evaluation(suite, env):
    with Connection(suite.amqp_uri, transport_options={"confirm_publish": True}) as conn:
        Producer(conn.channel()).publish(json.dumps(env, ensure_ascii=False), exchange=events_exchange("evaluation"),
                                         routing_key=env["event_type"], content_type="application/json",
                                         delivery_mode=2, user_id=amqp_user(suite.amqp_uri))


def test_coord3_transfer_to_public_security_receipt_outcome_and_accountability_transfer_overdue(cs):
    """COORD-3: a suspected crime transferred with its documents (SM3), the 受理回执 and the outcome
    recorded by the body; transfer.sent carries the case for the records log; an accountability decision
    to transfer to discipline inspection (evaluation.accountability_decided) opens a pending transfer once
    (redelivery), which not sent in time is 应移未移 (transfer.overdue stage send)."""
    from nameko import config

    scjg, gaj = officer(cs, "320412-SCJG"), officer(cs, "320412-GAJ")
    form = {"body_id": "320412-SCJG", "region_code": "320412", "recipient_kind": "public_security",
            "recipient_name": "常州市公安局武进分局", "matter": "涉嫌生产、销售伪劣产品罪",
            "case_id": "320412-SCJG-2026-00077", "documents": [{"name": "涉嫌犯罪案件移送书", "sm3": SM3}]}
    assert cs.post("/api/v1/coordination/transfers", form, gaj).status_code == 403
    no_docs = cs.post("/api/v1/coordination/transfers", {**form, "documents": []}, scjg)
    assert no_docs.status_code == 422 and "documents" in no_docs.json()["fields"]
    clock = config.patch({"ZHIFA_CLOCK": "2026-09-30T10:00:00+08:00"}, clear=False)   # the sweep reads it too
    clock.start()
    try:
        _transfer_tracked(cs, form, scjg, gaj)
    finally:
        clock.stop()


def _transfer_tracked(cs, form, scjg, gaj):
    from nameko import config

    sent = cs.post("/api/v1/coordination/transfers", form, scjg)
    assert sent.status_code == 201, sent.text
    t = sent.json()
    assert (t["status"], t["due"], t["running_stage"]) == ("sent", "2026-10-08", "receipt")
    ev = cs.capture.wait_for("transfer.sent")[0]
    assert ev["case_id"] == "320412-SCJG-2026-00077" and ev["payload"]["documents"][0]["sm3"] == SM3
    config["ZHIFA_CLOCK"] = "2026-10-12T10:00:00+08:00"
    overdue = cs.capture.wait_for("transfer.overdue", timeout=20)[0]["payload"]
    assert (overdue["transfer_id"], overdue["stage"]) == (t["transfer_id"], "receipt")
    path = f"/api/v1/coordination/transfers/{t['transfer_id']}/actions"
    assert cs.post(path, {"action": "receipt", "received_on": "2026-10-12", "receipt_no": "武公受〔2026〕88号"},
                   gaj).status_code == 404
    got = cs.post(path, {"action": "receipt", "received_on": "2026-10-12", "receipt_no": "武公受〔2026〕88号"}, scjg)
    assert got.ok and got.json()["status"] == "received", got.text
    done = cs.post(path, {"action": "outcome", "outcome": "filed", "decided_on": "2026-10-12",
                          "text": "已立案侦查"}, scjg)
    assert done.ok and done.json()["outcome"]["label"] == "已立案", done.text
    assert cs.post(path, {"action": "outcome", "outcome": "filed", "text": "重复"}, scjg).status_code == 409
    assert [e["payload"]["status"] for e in cs.capture.wait_for("transfer.updated", 2)] == ["received", "concluded"]

    decided = envelope("evaluation.accountability_decided", {
        "accountability_case_id": "ACC-320412-0001", "outcome": "decided",
        "sanctions": [{"target_kind": "officer", "target_id": "32041200123", "kind": "TRANSFER_DISCIPLINE"}],
        "transfer_to_discipline": True},
        body={"region_code": "320412", "body_id": "320412-SCJG", "system": "zhifa.evaluation"})
    _publish_evaluation(cs, decided)
    _publish_evaluation(cs, decided)
    _publish_evaluation(cs, {**decided, "event_id": str(uuid.uuid4()),
                             "payload": {**decided["payload"], "accountability_case_id": "ACC-320412-0002",
                                         "transfer_to_discipline": False, "sanctions": []}})
    wait_until_drained(cs.amqp_uri, "complaints")
    pending = [x for x in cs.get("/api/v1/coordination/transfers", scjg).json()["transfers"]
               if x["source_kind"] == "accountability"]
    assert [(p["source_ref"], p["status"], p["recipient_kind"], p["due"]) for p in pending] == [
        ("ACC-320412-0001", "pending", "discipline_inspection", "2026-10-13")]
    config["ZHIFA_CLOCK"] = "2026-10-14T10:00:00+08:00"
    late = wait_for(lambda: [e for e in cs.capture.of_type("transfer.overdue") if e["payload"]["stage"] == "send"],
                    message="应移未移")
    assert late[0]["payload"]["source_kind"] == "accountability"
    sent_late = cs.post(f"/api/v1/coordination/transfers/{pending[0]['transfer_id']}/actions", {
        "action": "send", "documents": [{"name": "移送纪检监察机关函", "sm3": SM3}]}, scjg)
    assert sent_late.ok, sent_late.text
    sent_events = cs.capture.wait_for("transfer.sent", 2)
    assert sent_events[1]["payload"]["late"] is True and sent_events[1]["case_id"] is None


def test_coord3_evaluation_counts_transfers_and_transfers_not_made_across_services(amqp_uri, sqlite_databases,
                                                                                  tmp_path):
    """COORD-3, EVAL-2 (service-level, complaints → evaluation): a transfer sent counts as
    judicial_transfer for the body, a transfer decided by accountability and not sent in time as
    transfer_not_made (应移未移), both in the evaluation summary."""
    from nameko import config

    from tests.fixtures import running_suite

    dbs = {k: sqlite_databases[k] for k in ("complaints", "evaluation")}
    clock = config.patch({"ZHIFA_CLOCK": "2026-10-12T10:00:00+08:00", "ZHIFA_COMPLAINTS_SWEEP_SECONDS": 0.3},
                         clear=False)
    clock.start()
    try:
        with running_suite(amqp_uri, dbs, tmp_path, services=["complaints", "evaluation", "gateway"]) as suite:
            scjg = officer(suite, "320412-SCJG")
            sent = suite.post("/api/v1/coordination/transfers", {
                "body_id": "320412-SCJG", "region_code": "320412", "recipient_kind": "procuratorate",
                "recipient_name": "常州市武进区人民检察院", "matter": "涉嫌非法经营罪", "case_id": "320412-SCJG-2026-00078",
                "documents": [{"name": "涉嫌犯罪案件移送书", "sm3": SM3}]}, scjg)
            assert sent.status_code == 201, sent.text
            _publish_evaluation(suite, envelope("evaluation.accountability_decided", {
                "accountability_case_id": "ACC-320412-0009", "outcome": "decided", "sanctions": [],
                "transfer_to_discipline": True},
                body={"region_code": "320412", "body_id": "320412-SCJG", "system": "zhifa.evaluation"}))
            wait_for(lambda: [t for t in suite.get("/api/v1/coordination/transfers", scjg).json()["transfers"]
                              if t["status"] == "pending"], message="pending transfer")
            config["ZHIFA_CLOCK"] = "2026-10-15T10:00:00+08:00"        # past transfer.send: 应移未移
            sup = suite.token("supervisor", "320412", sub="sup")
            counts = wait_for(lambda: (lambda b: b if b.get("transfer_not_made") else None)(
                suite.get("/api/v1/evaluation/summary", sup, params={"year": 2026}).json()["bodies"]
                .get("320412-SCJG", {})), timeout=30, message="evaluation counts")
            assert counts["judicial_transfer"] == 1 and counts["transfer_not_made"] == 1
    finally:
        clock.stop()


def test_coord3_the_records_log_holds_the_transfer_of_a_case(amqp_uri, sqlite_databases, tmp_path):
    """COORD-3, REC-1 (service-level, complaints → records): a transfer of a case to public security is an
    entry of the case's tamper-evident record, with the documents' SM3 digests; a discipline transfer
    without a case leaves no trace in records and nothing is dead-lettered."""
    from tests.fixtures import running_suite
    from tests.integration import events as ev

    dbs = {k: sqlite_databases[k] for k in ("complaints", "records")}
    case_id = "320412-SCJG-2026-00079"
    with running_suite(amqp_uri, dbs, tmp_path, services=["complaints", "records", "gateway"]) as suite:
        suite.publish(ev.case_opened(case_id))
        sup = suite.token("supervisor", "320412", sub="sup")
        wait_for(lambda: suite.get(f"/api/v1/cases/{case_id}/timeline", sup).ok, message="case opened")
        scjg = officer(suite, "320412-SCJG")
        for extra in ({"recipient_kind": "public_security", "case_id": case_id},
                      {"recipient_kind": "discipline_inspection", "recipient_name": "武进区纪委监委"}):
            sent = suite.post("/api/v1/coordination/transfers", {
                "body_id": "320412-SCJG", "region_code": "320412", "recipient_name": "常州市公安局武进分局",
                "matter": "涉嫌生产、销售伪劣产品罪", "documents": [{"name": "涉嫌犯罪案件移送书", "sm3": SM3}], **extra}, scjg)
            assert sent.status_code == 201, sent.text
        entries = wait_for(lambda: [e for e in suite.get(f"/api/v1/cases/{case_id}/timeline", sup).json()["entries"]
                                    if e["event_type"] == "transfer.sent"], message="transfer in the record")
        assert len(entries) == 1 and SM3 in json.dumps(entries[0], ensure_ascii=False)
        assert "public_security" in json.dumps(entries[0], ensure_ascii=False)
        wait_until_drained(amqp_uri, "records")
        assert not dead_letters(amqp_uri, "records")
