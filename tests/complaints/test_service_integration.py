"""The complaints service on the real broker (issue 6): intake, register, acceptance, transfer,
escalation, feedback, confidentiality, back-tracking, attachments and rate limits; across tiers, the
province's supervision register and the transfer orders the city applies (COORD-4)."""
from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest

from services.common.blobs import FilesystemBlobStore
from services.complaints.intake import sm3_hex
from tests.complaints.helpers import (ADDRESS, CHINA, ID_NUMBER, NAME, PHONE, body_registered, complaints_suite,
                                      portal_form, register_via_hotline)
from tests.fixtures import outbox_events, wait_for, wait_until_drained

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def cs(amqp_uri, sqlite_databases, tmp_path):
    with complaints_suite(amqp_uri, {"complaints": sqlite_databases["complaints"]}, tmp_path) as suite:
        yield suite


def handler(suite, region="320400", sub="handler-zhang"):
    return suite.token("complaint_handler", region, sub=sub)


def test_cmp3_acknowledgement_deadline_counts_working_days_across_national_day(cs):
    """CMP-3, PLAT-6: received 2026-09-30 (evening, Beijing) → told by 2026-10-13 (10-01…07 off, Sat 10-10 worked)."""
    received = dt.datetime(2026, 9, 30, 17, 30, tzinfo=CHINA)
    view = register_via_hotline(cs, received_at=received)
    assert view["acknowledge"]["due"] == "2026-10-13"
    registered = cs.capture.wait_for("complaint.registered")[0]
    assert registered["payload"]["acknowledge_due"] == "2026-10-13"
    # received Fri 10-09 18:00 Beijing → 10-15; 10-09 17:00 UTC is Sat 10-10 in Beijing (a make-up working
    # day), so the clock starts a day later → 10-16
    friday = register_via_hotline(cs, received_at=dt.datetime(2026, 10, 9, 18, 0, tzinfo=CHINA),
                                  request="另一件事：请求撤销违法的查封决定")
    assert friday["acknowledge"]["due"] == "2026-10-15"
    saturday = register_via_hotline(cs, received_at=dt.datetime(2026, 10, 9, 17, 0, tzinfo=dt.timezone.utc),
                                    request="第三件事：请求确认扣押财物的行为违法")
    assert saturday["acknowledge"]["due"] == "2026-10-16"


def test_cmp4_not_accepted_needs_a_reason_kept_in_register_and_told(cs):
    """CMP-4: a not-accepted decision without reason is refused (422); with one it is kept and told."""
    receipt = cs.post("/api/v1/public/complaints", portal_form()).json()
    number, token = receipt["number"], handler(cs)
    for body in ({}, {"reason": "   "}):
        refused = cs.post(f"/api/v1/complaints/{number}/not-accept", body, token)
        assert refused.status_code == 422, refused.text
        assert refused.json()["fields"]["reason"] == ["不予受理必须说明理由（CMP-4）"]
    assert cs.get(f"/api/v1/complaints/{number}", token).json()["status"] == "registered"

    reason = "该事项已由人民法院受理，依法不属于行政执法投诉举报受理范围"
    done = cs.post(f"/api/v1/complaints/{number}/not-accept", {"reason": reason}, token)
    assert done.ok, done.text
    assert done.json()["not_accepted_reason"] == reason
    status = cs.get(f"/api/v1/public/complaints/{number}", params={"code": receipt["query_code"]}).json()
    assert status["status"] == "not_accepted" and reason in status["result"]
    ack = cs.capture.wait_for("complaint.acknowledged")[0]["payload"]
    assert ack["decision"] == "not_accepted" and ack["on_time"] is True and ack["number"] == number
    # in scope by the acceptance rules, yet not accepted → back-tracking clue (CMP-5)
    clue = cs.capture.wait_for("complaint.accountability_clue")[0]
    assert clue["payload"]["kind"] == "should_accept_not_accepted"
    assert clue["payload"]["against_kind"] == "handling_unit" and clue["body_id"] == "320412-SFJ"
    # a second decision is an invalid transition in Chinese
    again = cs.post(f"/api/v1/complaints/{number}/accept", {}, token)
    assert again.status_code == 409 and "不予受理" in again.json()["message"]


def test_cmp8_routed_to_supervising_unit_never_to_the_body_and_coord1_transfer_keeps_number(cs):
    """CMP-3, CMP-8, COORD-1: routed to the legal office over the body; a transfer keeps number and history."""
    cs.publish(body_registered())
    wait_for(lambda: cs.get("/complaints").text.count("常州市武进区市场监督管理局"), message="body directory")
    receipt = cs.post("/api/v1/public/complaints", portal_form()).json()
    number, token = receipt["number"], handler(cs)
    view = cs.get(f"/api/v1/complaints/{number}", token).json()
    assert view["handler"]["unit_id"] == "320412-SFJ" and view["handler"]["unit_id"] != "320412-SCJG"
    assert view["assessment"]["route"]["case"] == "department"

    accepted = cs.post(f"/api/v1/complaints/{number}/accept", {"note": "材料齐全"}, token).json()
    assert accepted["status"] == "accepted" and accepted["route"]["target_region_code"] == "320412"
    # never to the body complained about
    refused = cs.post(f"/api/v1/complaints/{number}/transfer", {
        "to_unit_id": "320412-SCJG", "to_region_code": "320412", "reason": "请其自查"}, token)
    assert refused.status_code == 409 and "被投诉" in refused.json()["message"]
    # to the city tier: same number, history grows, the new unit's region sees it
    moved = cs.post(f"/api/v1/complaints/{number}/transfer", {
        "to_unit_id": "320400-SFJ", "to_region_code": "320400", "to_name": "常州市司法局",
        "reason": "涉及市级统一部署的执法行动，由市级办理"}, token)
    assert moved.ok, moved.text
    after = moved.json()
    assert after["register_number"] == number and after["handler"]["unit_id"] == "320400-SFJ"
    kinds = [h["kind"] for h in after["history"]]
    assert kinds == ["registered", "accepted", "transferred"]
    assert after["history"][-1]["data"]["from_unit_id"] == "320412-SFJ"
    transferred = cs.capture.wait_for("complaint.transferred")[0]["payload"]
    assert transferred["number"] == number and transferred["to_region_code"] == "320400"
    public = cs.get(f"/api/v1/public/complaints/{number}", params={"code": receipt["query_code"]}).json()
    assert public["number"] == number and "登记编号不变" in public["progress"][-1]["text"]
    # out-of-scope staff of another county see nothing
    other = cs.get(f"/api/v1/complaints/{number}", handler(cs, "320411"))
    assert other.status_code == 403


def test_cmp3_unhandled_past_deadline_is_escalated_by_the_leased_timer(cs):
    """CMP-3, CMP-9: a complaint left undecided past its 5-working-day deadline escalates to the next tier."""
    received = dt.datetime.now(CHINA) - dt.timedelta(days=30)
    view = register_via_hotline(cs, received_at=received)
    escalated = cs.capture.wait_for("complaint.escalated", timeout=20)
    first = escalated[0]["payload"]
    assert first["number"] == view["register_number"] and first["stage"] == "acknowledge"
    assert first["level"] == 1 and first["to_region_code"] == "320400" and first["tier"] == "city"
    assert all(NAME not in json.dumps(e, ensure_ascii=False) for e in escalated)
    after = wait_for(lambda: (lambda v: v if v["supervising_region"] else None)(
        cs.get(f"/api/v1/complaints/{view['register_number']}", handler(cs)).json()), message="escalation recorded")
    assert after["status"] == "registered" and after["handler"]["unit_id"] == view["handler"]["unit_id"]
    assert after["warning_level"] == "red"
    overdue = cs.get("/api/v1/complaints", handler(cs), params={"escalated": "1"}).json()["complaints"]
    assert [c["number"] for c in overdue] == [view["register_number"]]
    clue = cs.capture.wait_for("complaint.accountability_clue")[0]["payload"]
    assert clue["kind"] == "acknowledge_overdue"
    # idempotent: later sweeps add no second level-1 escalation. Barrier (not a sleep): a second complaint
    # past its deadline (a higher register number) is escalated by a sweep that went over the first one
    # before it, and the outbox relays a service's events in the order they were written
    later = register_via_hotline(cs, received_at=received, request="另一件事：请求撤销违法的查封决定")
    assert later["register_number"] > view["register_number"]
    wait_for(lambda: [e for e in cs.capture.of_type("complaint.escalated")
                      if e["payload"]["number"] == later["register_number"]], message="the later complaint escalated")
    levels = [e["payload"]["level"] for e in cs.capture.of_type("complaint.escalated")
              if e["payload"]["number"] == view["register_number"]]
    assert levels[0] == 1 and len(levels) == len(set(levels)), levels   # each step of the ladder once


def test_cmp4_query_code_shows_the_status_and_nothing_else(cs):
    """CMP-4: number + query code, no login; only status, dates, notices and result."""
    receipt = cs.post("/api/v1/public/complaints", portal_form(case_id="320412-SCJG-2026-00001")).json()
    number, code = receipt["number"], receipt["query_code"]
    status = cs.get(f"/api/v1/public/complaints/{number}", params={"code": code.lower()})
    assert status.ok
    body = status.json()
    assert set(body) == {"register_number", "number", "status", "status_label", "status_text", "received_on",
                         "acknowledge_due", "decided_on", "handling_due", "concluded_on", "progress", "result",
                         "can_rate", "receipt_type", "issued_at", "signature"}   # signed query receipt (issue 22)
    assert set(body["signature"]) >= {"algorithm", "public_key", "value"}
    text = json.dumps(body, ensure_ascii=False)
    for secret in (NAME, PHONE, ID_NUMBER, "320412-SCJG", "SFJ", "执法证件", "handler"):
        assert secret not in text
    for wrong in ({"code": "ABCDEFGH"}, {}, {"code": code[:-1]}):
        missing = cs.get(f"/api/v1/public/complaints/{number}", params=wrong)
        assert missing.status_code == 404 and missing.json()["message"] == "编号或查询码不正确"
    assert cs.get("/api/v1/public/complaints/320412-2026-999999", params={"code": code}).status_code == 404


def test_cmp_confidentiality_identity_in_no_event_and_not_in_the_body_view(cs, tmp_path):
    """CMP confidentiality, CMP-5, EVAL-7: the complainant's name/phone/ID/address appear in no event the
    complaints service emits, nor in the body's view; the full life cycle emits the evaluation events."""
    receipt = cs.post("/api/v1/public/complaints", portal_form(officer_ids=["o-1"])).json()
    number, code, token = receipt["number"], receipt["query_code"], handler(cs)
    hotline = register_via_hotline(cs)
    assert cs.post(f"/api/v1/complaints/{number}/accept", {}, token).ok
    progress = cs.post(f"/api/v1/complaints/{number}/progress",
                       {"text": f"已约谈{NAME}（电话{PHONE}）核实情况，正在调查", "note": "内部：调取执法记录仪"}, token)
    assert progress.ok, progress.text
    concluded = cs.post(f"/api/v1/complaints/{number}/conclude",
                        {"result": "经查投诉属实，已责令武进区市场监管局改正并对执法人员批评教育", "upheld": True}, token)
    assert concluded.ok, concluded.text
    rated = cs.post(f"/api/v1/public/complaints/{number}/rating", {"code": code, "rating": 4, "comment": "满意"})
    assert rated.ok, rated.text
    assert cs.post(f"/api/v1/public/complaints/{number}/rating", {"code": "ABCDEFGH", "rating": 4}).status_code == 404

    for kind in ("complaint.registered", "complaint.acknowledged", "complaint.concluded", "complaint.rated"):
        cs.capture.wait_for(kind)
    clues = cs.capture.wait_for("complaint.accountability_clue", count=2)
    upheld = {c["payload"]["against_kind"]: c for c in clues if c["payload"]["kind"] == "upheld_complaint"}
    assert upheld["body"]["payload"]["against_ids"] == ["320412-SCJG"] and upheld["officer"]["payload"]["against_ids"] == ["o-1"]
    rating = cs.capture.of_type("complaint.rated")[0]["payload"]
    assert rating == {"number": number, "subject_body_id": "320412-SCJG", "rating": 4,
                      "against_private_enterprise": False}
    assert cs.capture.of_type("complaint.concluded")[0]["payload"]["upheld"] is True

    events = cs.capture.drain()
    assert len(events) >= 7
    raw = "\n".join(cs.capture.bodies)
    for secret in (NAME, "小明", PHONE, ID_NUMBER, ADDRESS, "人民路88号", "王先生"):
        assert secret not in raw, f"{secret} leaked into an event"

    # the body complained about (department API key bound to the body) sees no identity
    officer = cs.token("officer", "320412", sub="o-9")
    assert cs.get("/api/v1/body-complaints", officer).json() == {"complaints": []}  # not bound to a body
    from services.common.auth import issue_token
    body_token = issue_token("o-9", "officer", "320412", secret=cs.token_secret, body_ids=("320412-SCJG",))
    seen = cs.get("/api/v1/body-complaints", body_token)
    assert seen.ok, seen.text
    views = seen.json()["complaints"]
    assert {v["register_number"] for v in views} == {number, hotline["register_number"]}
    text = json.dumps(views, ensure_ascii=False)
    for secret in (NAME, PHONE, ID_NUMBER, ADDRESS, "人民路88号"):
        assert secret not in text
    assert "[已隐去]" in text and "complainant" not in text
    # the handler sees the identity
    assert cs.get(f"/api/v1/complaints/{number}", token).json()["complainant"]["name"] == NAME


def test_cmp2_duplicate_complaint_is_linked_to_the_earlier_one(cs):
    """CMP-2: same complainant, same body, similar request within 30 days → linked (not merged)."""
    first = cs.post("/api/v1/public/complaints", portal_form(request="请求查处武进区市场监管局执法人员不出示证件")).json()
    second = cs.post("/api/v1/public/complaints",
                     portal_form(request="请求查处武进区市场监管局执法人员不出示证件的行为")).json()
    other = cs.post("/api/v1/public/complaints", portal_form(phone="13700001111", id_number=None,
                                                             request="请求查处武进区市场监管局执法人员不出示证件")).json()
    token = handler(cs)
    assert cs.get(f"/api/v1/complaints/{second['number']}", token).json()["linked_to"] == first["number"]
    assert cs.get(f"/api/v1/complaints/{other['number']}", token).json()["linked_to"] is None
    assert second["number"] != first["number"]


def test_cmp1_portal_attachments_limits_and_content_addressed_storage(cs, tmp_path):
    """Issue 6 §7: ≤ 5 files of ≤ 5 MiB, jpg/png/pdf by content; stored under var/ by SM3."""
    form = portal_form()
    files = [("attachments", ("现场照片.png", PNG, "image/png")),
             ("attachments", ("决定书.pdf", b"%PDF-1.7\n" + b"x" * 100, "application/pdf"))]
    ok = cs.post("/api/v1/public/complaints", None, data=form, files=files)
    assert ok.status_code == 201, ok.text
    view = cs.get(f"/api/v1/complaints/{ok.json()['number']}", handler(cs)).json()
    stored = {a["filename"]: a for a in view["attachments"]}
    assert stored["现场照片.png"]["sm3"] == sm3_hex(PNG) and stored["现场照片.png"]["size"] == len(PNG)
    assert FilesystemBlobStore(tmp_path / "attachments").get(sm3_hex(PNG)) == PNG   # stored as registered
    assert view["attachments"] and view["complainant"]["name"] == NAME

    fake = cs.post("/api/v1/public/complaints", None, data=form,
                   files=[("attachments", ("病毒.pdf", b"MZ\x90\x00not a pdf", "application/pdf"))])
    assert fake.status_code == 422 and "只接受JPG、PNG、PDF格式的文件" in fake.json()["fields"]["attachments"][0]
    too_many = cs.post("/api/v1/public/complaints", None, data=form,
                       files=[("attachments", (f"{i}.png", PNG, "image/png")) for i in range(6)])
    assert too_many.status_code == 422 and too_many.json()["fields"]["attachments"] == ["附件最多5个"]
    big = cs.post("/api/v1/public/complaints", None, data=form,
                  files=[("attachments", ("大图.png", PNG + b"\x00" * (5 * 1024 * 1024), "image/png"))])
    assert big.status_code == 422 and "超过5 兆字节" in big.json()["fields"]["attachments"][0]
    # field errors in Chinese on the multipart form too
    bad = cs.post("/api/v1/public/complaints", None, data={**form, "phone": "12"}, files=files)
    assert bad.status_code == 422 and bad.json()["fields"]["phone"] == ["请填写有效的手机或固定电话号码"]


def test_cmp1_staff_register_letters_and_cmp6_private_enterprise_report(cs):
    """CMP-1: a handler registers a letter (date of receipt kept); CMP-6: reported separately."""
    token = handler(cs, "320412")
    letter = cs.post("/api/v1/complaints", {
        **portal_form(against_private_enterprise=True, phone=None), "channel": "letter",
        "received_at": "2026-11-20T09:00:00+08:00", "external_ref": "来信-2026-118"}, token)
    assert letter.status_code == 201, letter.text
    number = letter.json()["number"]
    view = cs.get(f"/api/v1/complaints/{number}", token).json()
    assert view["channel"] == "letter" and view["received_at"].startswith("2026-11-20T01:00:00")
    assert view["flags"]["against_private_enterprise"] is True and "private_enterprise" in view["assessment"]["tags"]
    assert cs.post("/api/v1/complaints", {**portal_form(), "channel": "portal"}, token).status_code == 422
    assert cs.post("/api/v1/complaints", {**portal_form(region_code="320411"), "channel": "visit"},
                   token).status_code == 403
    cs.post("/api/v1/public/complaints", portal_form(phone="13600002222", request="请求撤销违法罚款决定书"))
    assert cs.get("/api/v1/complaints/reports/private-enterprise", token).status_code == 403  # handlers: no
    report = cs.get("/api/v1/complaints/reports/private-enterprise", cs.token("supervisor", "320400")).json()
    assert report["private_enterprise"]["total"] == 1 and report["other"]["total"] == 1
    assert [c["number"] for c in report["private_enterprise_complaints"]] == [number]
    assert report["private_enterprise_by_body"] == {"320412-SCJG": {"total": 1, "upheld": 0, "not_accepted": 0}}


def test_cmp1_published_channels_per_region(cs):
    """CMP-1: scope, hotline, mailbox, address per region, taken from parent regions where missing."""
    wj = cs.get("/api/v1/public/complaint-channels/320412").json()
    assert wj["name"] == "常州市武进区" and wj["scope"].startswith("受理对武进区")
    assert wj["sources"]["hotlines"] == "320400" and wj["has_12345"]
    assert cs.get("/api/v1/public/complaint-channels/110000").status_code == 404
    page = cs.get("/complaints", params={"region_code": "320412"})
    assert page.ok and "12345" in page.text and "受理对武进区" in page.text


def test_cmp1_public_intake_is_rate_limited_per_ip_in_chinese(amqp_uri, sqlite_databases, tmp_path):
    """Issue 6 §7, SEC-5: the gateway's abuse limits per client address answer 429 in Chinese with Retry-After."""
    limits = {"complaint_submit": "2/hour", "complaint_query": "3/hour", "complaint_code": "100/hour"}
    with complaints_suite(amqp_uri, {"complaints": sqlite_databases["complaints"]}, tmp_path,
                          ZHIFA_RATE_LIMITS=limits) as suite:
        answers = [suite.post("/api/v1/public/complaints", portal_form(phone=f"1380000{i:04d}")) for i in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert "提交过于频繁" in answers[2].json()["message"] and int(answers[2].headers["Retry-After"]) >= 1
        number = answers[0].json()["number"]
        codes = [suite.get(f"/api/v1/public/complaints/{number}", params={"code": "ABCDEFGH"}).status_code
                 for _ in range(4)]
        assert codes == [404, 404, 404, 429]  # guessing query codes is throttled too
        import re

        import requests
        browser = requests.Session()
        form_page = browser.get(suite.base_url + "/complaints", timeout=15)
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form_page.text).group(1)
        page = browser.post(suite.base_url + "/complaints", data={**portal_form(), "csrf_token": token}, timeout=15)
        assert page.status_code == 429 and "提交过于频繁" in page.text
        # nothing was registered beyond the two accepted submissions
        register = suite.get("/api/v1/complaints", suite.token("complaint_handler", "320400")).json()
        assert len(register["complaints"]) == 2


def test_sec5_query_code_guesses_are_limited_per_complaint_number_from_any_address(amqp_uri, sqlite_databases,
                                                                                    tmp_path):
    """SEC-5: the query code is checked with scrypt; guessing one complaint's code from many addresses
    (behind the ingress: X-Forwarded-For) is limited per number, other numbers are not affected."""
    limits = {"complaint_code": "3/hour", "complaint_query": "100/hour", "complaint_submit": "100/hour"}
    with complaints_suite(amqp_uri, {"complaints": sqlite_databases["complaints"]}, tmp_path,
                          ZHIFA_RATE_LIMITS=limits, ZHIFA_TRUSTED_PROXY_HOPS=1) as suite:
        first = suite.post("/api/v1/public/complaints", portal_form()).json()
        second = suite.post("/api/v1/public/complaints", portal_form(phone="13800009999")).json()
        guesses = [suite.get(f"/api/v1/public/complaints/{first['number']}", params={"code": "WRONG123"},
                             headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(4)]
        assert guesses == [404, 404, 404, 429]
        refused = suite.get(f"/api/v1/public/complaints/{first['number']}", params={"code": first["query_code"]},
                            headers={"X-Forwarded-For": "198.51.100.7"})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1   # even the right code
        other = suite.get(f"/api/v1/public/complaints/{second['number']}", params={"code": second["query_code"]},
                          headers={"X-Forwarded-For": "198.51.100.7"})
        assert other.ok


def test_cmp1_rate_limit_behind_a_proxy_counts_each_client_not_the_proxy():
    """Behind the ingress every request comes from the proxy's address: with ZHIFA_TRUSTED_PROXY_HOPS
    the client is read from X-Forwarded-For, and what a client writes there itself is not trusted."""
    from services.gateway.routes.complaints import client_ip

    assert client_ip("10.0.0.5", "203.0.113.7", 1) == "203.0.113.7"
    assert client_ip("10.0.0.5", "1.2.3.4, 203.0.113.7", 1) == "203.0.113.7"           # forged entry ignored
    assert client_ip("10.0.0.5", "1.2.3.4, 203.0.113.7, 10.0.0.9", 2) == "203.0.113.7"  # two proxies
    assert client_ip("10.0.0.5", "203.0.113.7", 0) == "10.0.0.5"                       # no proxy: header ignored
    assert client_ip("10.0.0.5", None, 1) == "10.0.0.5"
    assert client_ip(None, None, 0) == "unknown"


def test_cmp1_json_api_rejects_bad_json_and_bad_regions_in_chinese(cs):
    """The JSON API (used by the gateway tests and integrators) keeps working; errors are Chinese."""
    bad = cs.post("/api/v1/public/complaints", None, data="{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400
    missing = cs.post("/api/v1/public/complaints", {"region_code": "3204"})
    assert missing.status_code == 422 and missing.json()["fields"]["region_code"] == ["请选择有效的地区"]


def test_cmp5_supervisor_finding_in_scope_turns_a_refusal_into_a_backtracking_clue(cs, sqlite_databases):
    """CMP-5: refused as 'under litigation' (the rules agree) → no clue; a supervisor finds it was in
    scope after all → clue 应受理未受理 against the refusing unit, emitted once."""
    receipt = cs.post("/api/v1/public/complaints", portal_form(under_reconsideration_or_litigation=True)).json()
    number, token = receipt["number"], handler(cs)
    view = cs.get(f"/api/v1/complaints/{number}", token).json()
    assert view["assessment"]["acceptable"] is False
    assert cs.post(f"/api/v1/complaints/{number}/not-accept",
                   {"reason": "该事项已提起行政诉讼，不再作为投诉举报受理"}, token).ok
    cs.capture.wait_for("complaint.acknowledged")
    assert cs.capture.of_type("complaint.accountability_clue") == []
    supervisor = cs.token("supervisor", "320400", sub="sup-1")
    assert cs.post(f"/api/v1/complaints/{number}/scope-finding", {"in_scope": True}, token).status_code == 403
    found = cs.post(f"/api/v1/complaints/{number}/scope-finding",
                    {"in_scope": True, "note": "经核实未提起诉讼"}, supervisor)
    assert found.ok, found.text
    assert found.json()["clues"][0]["kind"] == "should_accept_not_accepted"
    clue = cs.capture.wait_for("complaint.accountability_clue")[0]["payload"]
    assert clue["kind"] == "should_accept_not_accepted" and clue["against_ids"] == ["320412-SFJ"]
    again = cs.post(f"/api/v1/complaints/{number}/scope-finding", {"in_scope": True}, supervisor)
    # the RPC answers after its commit, outbox rows included: what it emitted is in the outbox now
    assert again.ok and again.json()["clues"][0]["kind"] == "should_accept_not_accepted"
    assert [e["payload"]["number"] for e in outbox_events(sqlite_databases["complaints"],
                                                          "complaint.accountability_clue")] == [number]


@pytest.fixture
def link(cs):
    """The 320400 link's broker user (issue 23: tier events are accepted only from their city's link)."""
    from tests.fixtures import LinkUsers

    users = LinkUsers(["320400"], [cs.amqp_uri.rsplit("/", 1)[1]])
    try:
        yield users
    finally:
        users.close()


def _publish_to(suite, link, exchange: str, envelope: dict) -> None:
    """Publish an envelope onto a tier exchange of this suite, as the 320400 link's shovel delivers it."""
    from tests.fixtures import publish_on_link

    publish_on_link(link.uri("320400", suite.amqp_uri.rsplit("/", 1)[1]), exchange, envelope, link.user("320400"))


def test_coord4_province_register_orders_a_transfer_and_the_city_applies_it(cs, link):
    """CMP-3, CMP-9, COORD-4, PLAT-1 on one suite playing both tiers (configured as the province, then
    as city 320400, each time receiving over the 320400 link's broker user): complaint.escalated arriving on
    upward.events enters the supervision register (scope-filtered, no identity); a province supervisor
    orders a transfer (field errors, 403 for a city, 409 twice); the complaint.transfer_ordered it emits,
    delivered on downward.events, is applied to the complaint with that number (new unit, instruction,
    issuer, deadline, complaint.transferred); an unknown number is dead-lettered with its reason;
    complaint.concluded upward closes the register line."""
    from nameko import config

    from tests.fixtures import dead_letters
    from tests.integration.events import envelope

    as_province = {"ZHIFA_TIER": "province", "ZHIFA_SUITE_REGION": "320000", "ZHIFA_CITIES": "320400",
                   "ZHIFA_LINK_USER_TEMPLATE": link.template}
    config["ZHIFA_LINK_USER_TEMPLATE"] = link.template
    view = register_via_hotline(cs)
    number = view["register_number"]
    assert number.startswith("320412-") and view["handler"]["unit_id"] == "320412-SFJ"
    body = {"region_code": "320412", "body_id": "320412-SCJG", "system": "zhifa.complaints"}
    province_phase = config.patch(as_province, clear=False)
    try:
        province_phase.start()
        for level, to, tier, on in ((1, "320400", "city", "2026-10-14"), (2, "320000", "province", "2026-10-21")):
            _publish_to(cs, link, "upward.events", envelope("complaint.escalated", {
                "number": number, "subject_body_id": "320412-SCJG", "stage": "acknowledge", "level": level,
                "to_region_code": to, "tier": tier, "due": "2026-10-13", "escalated_on": on,
                "handler_unit_id": "320412-SFJ", "handler_region_code": "320412"}, body=body))
        province = cs.token("supervisor", "320000", sub="prov-sup")
        lines = wait_for(lambda: (lambda r: r if r and r[0]["level"] == 2 else None)(
            cs.get("/api/v1/complaints/escalations", province).json()["escalations"]), message="register line")
        line = lines[0]
        assert (line["number"], line["city_code"], line["status"], line["tier"]) == (number, "320400", "open", "province")
        assert NAME not in json.dumps(lines, ensure_ascii=False) and PHONE not in json.dumps(lines, ensure_ascii=False)
        assert [x["number"] for x in cs.get("/api/v1/complaints/escalations", cs.token("supervisor", "320400")).json()[
            "escalations"]] == [number]
        assert cs.get("/api/v1/complaints/escalations", cs.token("supervisor", "320500")).json() == {"escalations": []}
        assert cs.get("/api/v1/complaints/escalations", handler(cs)).status_code == 403

        path = f"/api/v1/complaints/escalations/{number}/transfer"
        bad = cs.post(path, {"to_unit_id": "320500-SFJ", "instruction": "please"}, province)
        assert bad.status_code == 422, bad.text
        assert bad.json()["fields"] == {"to_region_code": ["承办单位应为投诉所在设区市（320400）或其下辖地区的单位"],
                                        "instruction": ["交办意见应使用中文填写"]}
        assert cs.post(path, {"instruction": "请依法办理"}, province).json()["fields"]["to_unit_id"] == ["请填写承办单位"]
        instruction = "请常州市司法局直接督办，核实执法人员未出示证件问题并依法办结"
        order = {"to_unit_id": "320400-SFJ", "to_name": "常州市司法局", "instruction": instruction, "due_working_days": 10}
        assert cs.post(path, order, cs.token("supervisor", "320400")).status_code == 403
        assert cs.post("/api/v1/complaints/escalations/320412-2026-999999/transfer", order, province).status_code == 404
        ordered = cs.post(path, order, province)
        assert ordered.status_code == 201, ordered.text
        assert ordered.json()["status"] == "transferred_down" and ordered.json()["order"]["working_days"] == 10
        assert cs.post(path, order, province).status_code == 409

        sent = cs.capture.wait_for("complaint.transfer_ordered")[0]
        province_phase.stop()                                             # now the city 320400
        assert sent["region_code"] == "320412" and sent["payload"]["issuer_region"] == "320000"
        assert NAME not in json.dumps(sent, ensure_ascii=False)
        _publish_to(cs, link, "downward.events", sent)                          # as the downward shovel delivers it
        after = wait_for(lambda: (lambda v: v if v["superior_order"] else None)(
            cs.get(f"/api/v1/complaints/{number}", handler(cs)).json()), message="order applied")
        assert after["handler"]["unit_id"] == "320400-SFJ" and after["handler"]["name"] == "常州市司法局"
        assert after["superior_order"]["issuer_region"] == "320000" and after["superior_order"]["instruction"] == instruction
        assert after["superior_order"]["due"] == sent["payload"]["due"]
        assert after["history"][-1]["kind"] == "ordered" and after["history"][-1]["kind_label"] == "上级交办"
        transferred = cs.capture.wait_for("complaint.transferred")[0]["payload"]
        assert (transferred["from_unit_id"], transferred["to_unit_id"]) == ("320412-SFJ", "320400-SFJ")
        _publish_to(cs, link, "downward.events", sent)                          # redelivered: applied once
        unknown = dict(sent, event_id=str(uuid.uuid4()),
                       payload={**sent["payload"], "number": "320412-2026-999999"})
        _publish_to(cs, link, "downward.events", unknown)
        letters = wait_for(lambda: [d for d in dead_letters(cs.amqp_uri, "complaints")
                                    if "320412-2026-999999" in (d["reason"] or "")], message="unknown number dead-lettered")
        assert "no complaint 320412-2026-999999 is registered in this suite" in letters[0]["reason"]
        wait_until_drained(cs.amqp_uri, "complaints")       # barrier: the redelivery before it is handled too
        assert [h["kind"] for h in cs.get(f"/api/v1/complaints/{number}", handler(cs)).json()["history"]].count(
            "ordered") == 1

        province_phase.start()                                            # the province again
        _publish_to(cs, link, "upward.events", envelope("complaint.concluded", {
            "number": number, "subject_body_id": "320412-SCJG", "officer_ids": [], "upheld": False, "on_time": False,
            "concluded_on": "2026-11-20", "handling_due": None, "against_private_enterprise": False}, body=body))
        closed = wait_for(lambda: (lambda r: r if r[0]["status"] == "concluded" else None)(
            cs.get("/api/v1/complaints/escalations", province).json()["escalations"]), message="line concluded")
        assert closed[0]["concluded_on"] == "2026-11-20" and closed[0]["upheld"] is False
    finally:
        province_phase.stop()
