"""A province (江苏 320000) and two city suites (常州 320400, 无锡 320200) linked by RabbitMQ shovels —
issue 23, PLAT-1, REC-4, COORD-4.

Each suite runs as `nameko run` processes on its own vhost and databases (tests/integration/
tiers_support.py; SQLite, but Changzhou's records on PostgreSQL, restored with the RUNBOOK's
commands); each city link has its own broker user and its city end behind a TCP proxy the
tests cut. The suites are started once for the module and shared by the tests (ordered so that the
ones restoring a records database from a backup come last).
"""
import datetime as dt
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
import requests
from kombu import Connection

from services.common import federation
from tests.evaluation import year as Y
from tests.fixtures import LinkUsers, _rabbitmqctl, dead_letters, drop_stale_green_waits, publish_on_link, wait_for
from tests.integration import events as ev
from tests.integration.tiers_support import (
    Link,
    SuiteProcesses,
    backup_database,
    metric_value,
    records_verify,
    restore_database,
    signing_key,
)

pytestmark = pytest.mark.integration
CZ, WX = "320400", "320200"


@pytest.fixture(scope="module", autouse=True)
def shovel_plugin():
    subprocess.run(["rabbitmq-plugins", "enable", "rabbitmq_shovel"], check=True, capture_output=True, timeout=120)


class Tiers:
    """The province, the two cities, their links and link users."""


@pytest.fixture(scope="module")
def tiers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tiers")
    keys = {CZ: signing_key(tmp / "key-320400.pem"), WX: signing_key(tmp / "key-320200.pem")}
    common = {"ZHIFA_LINK_HEARTBEAT_SECONDS": 2,
              "ZHIFA_RECORDS_STH_INTERVAL": 1, "ZHIFA_RECORDS_SELF_CHECK_RETRY": 2,
              "ZHIFA_RECORDS_WITNESS_REQUEST_RETRY": 5, "ZHIFA_COMPLAINTS_SWEEP_SECONDS": 0.3}
    t = Tiers()
    t.province = SuiteProcesses("province", tmp, "320000", "province", {
        **common, "ZHIFA_CITIES": f"{CZ},{WX}", "ZHIFA_RECORDS_LOG_ID": "records.320000",
        "ZHIFA_RECORDS_WITNESS_KEYS": {f"records.{c}": k for c, k in keys.items()},
        "ZHIFA_RECORDS_SIGNING_KEY_FILE": str(tmp / "key-320000.pem")},
        {"main": ["evaluation", "records", "complaints", "gateway"]})
    # 常州 checks its log against what the province witnessed; 无锡 runs as a release that does not
    # (ZHIFA_RECORDS_WITNESS_CHECK off): the province's witness must catch what it does anyway
    t.cz = SuiteProcesses("changzhou", tmp, CZ, "city", {
        **common, "ZHIFA_RECORDS_LOG_ID": f"records.{CZ}", "ZHIFA_RECORDS_SIGNING_KEY_FILE": str(tmp / "key-320400.pem"),
        "ZHIFA_RECORDS_WITNESS_CHECK": "on"},
        {"records": ["records"], "main": ["evaluation", "complaints", "gateway"]})
    t.cz.use_postgresql("records")         # backed up and restored with the RUNBOOK's pg_dump / pg_restore
    t.wx = SuiteProcesses("wuxi", tmp, WX, "city", {
        **common, "ZHIFA_RECORDS_LOG_ID": f"records.{WX}", "ZHIFA_RECORDS_SIGNING_KEY_FILE": str(tmp / "key-320200.pem"),
        "ZHIFA_RECORDS_WITNESS_CHECK": "off"},
        {"records": ["records"], "main": ["evaluation", "gateway"]})
    t.keys, t.tmp = keys, tmp
    suites = (t.province, t.cz, t.wx)
    t.links_users = LinkUsers([CZ, WX], [s.vhost for s in suites])
    for suite in suites:
        suite.settings["ZHIFA_LINK_USER_TEMPLATE"] = t.links_users.template
    t.links = {}
    try:
        t.province.prepare([CZ, WX])
        t.cz.prepare()
        t.wx.prepare()
        for suite in suites:
            suite.start_all()
        t.links = {CZ: Link(t.links_users, t.province, t.cz), WX: Link(t.links_users, t.province, t.wx)}
        t.prov_sup = t.province.token("supervisor", "320000", "prov-sup")
        t.prov_admin = t.province.token("admin", "320000", "prov-admin")
        yield t
    finally:
        for suite in suites:
            try:
                suite.close()
            except Exception:  # noqa: BLE001 - clean up the rest
                pass
        for link in t.links.values():
            link.proxy.stop()
        # the suites' databases dropped and links closed may leave a green wait on a closed descriptor; the
        # rabbitmqctl calls next would get its number ("second simultaneous read": fresh-clone CI)
        drop_stale_green_waits("tiers", "module teardown")
        t.links_users.close()


def province_metric(t, name, **labels):
    return metric_value(t.province.metrics("main"), name, **labels)


def witness(t, log_id):
    logs = t.province.get("/api/v1/public/records/witness", params={"log_id": log_id}).json()["logs"]
    return logs[0] if logs else None


def send_cases(suite, body_id, n):
    region = body_id.split("-")[0]
    for _ in range(n):
        suite.publish(ev.case_opened(f"{body_id}-{uuid.uuid4().hex[:8]}",
                                     body={"region_code": region, "body_id": body_id, "system": "dept"}))


def tip_size(t, log_id):
    state = witness(t, log_id)
    return state["tip"]["tree_size"] if state and state["tip"] else 0


# -- links: identity, heartbeats, a cut ----------------------------------------------------------------

def test_a_cut_link_loses_nothing_shows_at_once_and_directives_say_when_they_arrived(tiers):
    """Issue 23 (6), PLAT-1, COORD-4: both cities' heartbeats reach the province (last received per
    city); while the Changzhou link is cut, the province sees only Changzhou go silent and Changzhou's
    buffer fill, Wuxi is unaffected; after the cut every publication arrives (none lost), and a
    directive issued during the cut reaches Changzhou only, with the time it arrived."""
    t = tiers
    now = time.time()
    for city in (CZ, WX):
        wait_for(lambda city=city: (province_metric(t, "zhifa_link_last_received_timestamp_seconds",
                                                    direction="upward", city=city) or 0) > now,
                 timeout=60, message=f"heartbeats from {city} at the province")
    wait_for(lambda: (metric_value(t.cz.metrics("main"), "zhifa_link_last_received_timestamp_seconds",
                                   direction="downward", city=CZ) or 0) > now, timeout=60,
             message="the province's heartbeat at Changzhou")
    body = "320412-LINK"
    today = dt.date.today()
    t.links[CZ].cut()
    cut_at = time.time()
    from services.common.events import make_envelope

    for i in range(20):                                   # as Changzhou's disclosure service emits them
        t.cz.publish(make_envelope("disclosure.published", {
            "publication_id": f"P-LINK-{i}", "decision_no": f"武市监罚〔{today.year}〕L{i}号", "action_type": "penalty",
            "due_on": today, "due_provisional": False, "published_on": today, "on_time": True},
            source_system="zhifa.disclosure", region_code="320412", body_id=body,
            case_id=f"{body}-{today.year}-{i:05d}"), source="disclosure")
    issued = t.province.post("/api/v1/evaluation/supervision", {
        "kind": "suggestion", "target_body_id": "320412-SCJG", "target_region": "320412",
        "subject": "请对近期罚没款未及时公示问题进行整改"}, t.prov_sup)
    assert issued.status_code in (200, 201), issued.text
    other = t.province.post("/api/v1/evaluation/supervision", {
        "kind": "suggestion", "target_body_id": "320202-SCJG", "target_region": "320202",
        "subject": "请对执法全过程记录缺项问题进行整改"}, t.prov_sup)
    assert other.status_code in (200, 201), other.text
    # during the cut: Changzhou silent at the province, Wuxi not; Changzhou's buffer holds what waits
    wait_for(lambda: time.time() - province_metric(t, "zhifa_link_last_received_timestamp_seconds",
                                                   direction="upward", city=CZ) > 6, timeout=30,
             message="Changzhou silent at the province")
    assert time.time() - province_metric(t, "zhifa_link_last_received_timestamp_seconds", direction="upward",
                                         city=WX) < 6
    wait_for(lambda: (metric_value(t.cz.metrics("main"), "zhifa_link_buffered_messages", direction="upward",
                                   city=CZ) or 0) >= 20, timeout=30, message="Changzhou's upward buffer")
    time.sleep(max(0.0, 8 - (time.time() - cut_at)))
    t.links[CZ].heal()
    healed = time.time()
    summary = lambda: t.province.get("/api/v1/evaluation/summary", t.prov_sup,  # noqa: E731
                                     params={"region_code": CZ}).json()["bodies"].get(body, {})
    wait_for(lambda: summary().get("disclosure_on_time") == 20, timeout=60, message="all twenty at the province")
    caught_up = time.time() - healed
    directives = wait_for(lambda: t.cz.get("/api/v1/evaluation/directives", t.cz.token("supervisor")).json()
                          .get("directives"), timeout=60, message="the directive at Changzhou")
    print(f"\n8 s cut: 20 publications and the directive caught up {caught_up:.1f} s after the link healed")
    assert [d["target_body_id"] for d in directives] == ["320412-SCJG"] and directives[0]["issuer_region"] == "320000"
    received = dt.datetime.fromisoformat(directives[0]["received_at"]).timestamp()
    assert received >= healed - 1, "received_at is when it arrived (after the cut), not when it was issued"
    wait_for(lambda: t.wx.get("/api/v1/evaluation/directives", t.wx.token("supervisor")).json().get("directives"),
             timeout=60, message="Wuxi's own directive")
    assert [d["target_body_id"] for d in t.wx.get("/api/v1/evaluation/directives",
                                                  t.wx.token("supervisor")).json()["directives"]] == ["320202-SCJG"]


def test_a_city_cannot_speak_for_another_city(tiers):
    """Issue 23 (2), PLAT-1, COORD-4: a final grade of a Wuxi body (优秀 99.5) and a tree head of
    records.320200 sent through the Changzhou link, and an upward event not sent through any link, are
    dead-lettered; the grade through the Wuxi link is kept. Downward, a city takes a directive only
    through its own link and only for its own bodies. (The link users and shovels are the ones of
    deploy/broker.)"""
    t = tiers
    wuxi = {"region_code": "320202", "body_id": "320202-SCJG", "system": "zhifa.evaluation"}
    grade = ev.envelope("evaluation.grade_finalised", {
        "subject_kind": "body", "subject_id": "320202-SCJG", "year": 2024, "total": "99.50", "by_total": "优秀",
        "grade": "优秀", "reasons": [], "decided_by": "forger"}, body=wuxi)
    from services.records.domain.treehead import TreeHead, generate_key, sign_tree_head

    head = sign_tree_head(TreeHead(5, bytes(32), 1_700_000_000_000, "records.320200"), generate_key())
    wuxi_head = ev.envelope("record.tree_head_signed", {**head.to_json(), "reason": "timer"},
                            body={"region_code": WX, "body_id": "zhifa-records-log", "system": "zhifa.records"})
    users = t.links_users
    publish_on_link(users.uri(CZ, t.province.vhost), "upward.events", grade, users.user(CZ))
    publish_on_link(users.uri(CZ, t.province.vhost), "upward.events", wuxi_head, users.user(CZ))
    publish_on_link(t.province.amqp_uri, "upward.events", {**grade, "event_id": str(uuid.uuid4())}, "guest")

    def refused(service, n):
        letters = [d for d in dead_letters(t.province.amqp_uri, service) if "unauthorised sender" in (d["reason"] or "")]
        return len(letters) >= n and letters

    reasons = sorted(d["reason"] for d in wait_for(lambda: refused("evaluation", 2), timeout=30,
                                                   message="grades dead-lettered"))
    assert any("经 320400 链路上报的事件属于区划 320202" in r for r in reasons), reasons
    assert any("未经已登记的级联链路到达（user_id=guest" in r for r in reasons), reasons
    (records,) = wait_for(lambda: refused("records", 1), timeout=30, message="tree head dead-lettered")
    assert CZ in records["reason"]
    publish_on_link(users.uri(WX, t.province.vhost), "upward.events", {**grade, "event_id": str(uuid.uuid4())},
                    users.user(WX))
    cities = wait_for(lambda: t.province.get("/api/v1/evaluation/received-grades", t.prov_sup,
                                             params={"year": 2024}).json()["cities"], timeout=30,
                      message="the grade from its own link")
    assert [(c["city_code"], [g["subject_id"] for g in c["grades"]]) for c in cities] == [(WX, ["320202-SCJG"])]
    # downward too: Changzhou dead-letters a directive for a Wuxi body sent through its own link, and one
    # for its own body that did not come through its link (Wuxi's link user)
    def directive(region, body_id):
        return ev.envelope("evaluation.supervision_issued", {
            "item_id": f"SI-{uuid.uuid4().hex[:8]}", "kind": "suggestion", "issuer_region": "320000",
            "subject": "请对执法公示问题进行整改", "due_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            "due_provisional": False}, body={"region_code": region, "body_id": body_id, "system": "zhifa.evaluation"})

    for_wuxi, not_from_link = directive("320202", "320202-SCJG"), directive("320412", "320412-SCJG")
    publish_on_link(users.uri(CZ, t.cz.vhost), "downward.events", for_wuxi, users.user(CZ))
    publish_on_link(users.uri(WX, t.cz.vhost), "downward.events", not_from_link, users.user(WX))
    expected = {for_wuxi["event_id"]: "不属于本市 320400", not_from_link["event_id"]: "下发事件未经本市级联链路到达"}
    letters = wait_for(lambda: (lambda found: found if len(found) == 2 else None)(
        [d for d in dead_letters(t.cz.amqp_uri, "evaluation") if json.loads(d["body"])["event_id"] in expected]),
        timeout=30, message="both directives dead-lettered at Changzhou")
    for letter in letters:
        assert expected[json.loads(letter["body"])["event_id"]] in letter["reason"], letter["reason"]


# -- the province does not re-judge its cities ---------------------------------------------------------

def _processed(db_url):
    import sqlite3

    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        return conn.execute("select count(*) from processed_events").fetchone()[0]


def test_the_provinces_scores_for_a_citys_bodies_are_the_citys_own(tiers):
    """Issue 23 (5), EVAL-1, EVAL-4, PLAT-1: a year of enforcement in Changzhou (its facts partly cross
    the link); Changzhou finalises 2025; at the province the scores of Changzhou's bodies and officers
    are exactly Changzhou's final grades, the province computed no grade of its own for them, refuses
    to score them in detail or to finalise Changzhou's year, and opened no accountability case against
    them (Changzhou did)."""
    t = tiers
    phases = Y.generate()
    for phase in ("registry", "decisions", "rest"):
        before = _processed(t.cz.databases["evaluation"])
        Y.publish(t.cz.amqp_uri, phases[phase])
        wait_for(lambda: _processed(t.cz.databases["evaluation"]) >= before + len(phases[phase]), timeout=120,
                 message=f"{phase} applied at Changzhou")
    city_sup = t.cz.token("supervisor", CZ, "cz-sup")
    finalised = t.cz.post("/api/v1/evaluation/years/2025/finalise", {}, city_sup)
    assert finalised.status_code == 200, finalised.text
    city_final = {(g["subject_kind"], g["subject_id"]): (g["total"], g["grade"])
                  for kind in ("body", "officer")
                  for g in t.cz.get("/api/v1/evaluation/grades", city_sup, params={"year": 2025}).json()["grades"]
                  if g["subject_kind"] == kind}
    # 3 bodies and 6 officers: D and E (no enforcement) have too little evidence for a grade (issue 16)
    assert len(city_final) >= 9 and ("body", Y.B["body_id"]) in city_final

    def province_scores(kind):
        r = t.province.get("/api/v1/evaluation/scores", t.prov_sup,
                           params={"year": 2025, "region_code": CZ, "subject": kind})
        assert r.ok, r.text
        subjects = r.json()["subjects"]
        # each subject once, as Changzhou judged it — none scored by the province from what crossed the link
        assert all(s.get("judged_by") == CZ for s in subjects), [s for s in subjects if s.get("judged_by") != CZ][:2]
        assert len({s["subject_id"] for s in subjects}) == len(subjects)
        return {(s["subject_kind"], s["subject_id"]): (s["total"], s["grade"]) for s in subjects}

    wait_for(lambda: len(province_scores("body")) + len(province_scores("officer")) == len(city_final),
             timeout=60, message="Changzhou's final grades at the province")
    at_province = {**province_scores("body"), **province_scores("officer")}
    print(f"\nprovince shows for {CZ}: {sorted(at_province.items())[:3]} …")
    assert at_province == city_final
    detail = t.province.get(f"/api/v1/evaluation/scores/body/{Y.B['body_id']}", t.prov_sup, params={"year": 2025})
    assert detail.status_code == 409 and "320400 市级系统评议" in detail.json()["message"]
    # the province judged nothing of Changzhou's: no grade of its own, no accountability case
    assert t.province.get("/api/v1/evaluation/grades", t.prov_sup,
                          params={"year": 2025, "region_code": CZ, "stage": "ytd"}).json()["grades"] == []
    # nor may it finalise Changzhou's year for it (EVAL-1): refused; finalising its own region
    # finalises none of Changzhou's subjects
    taken = t.province.post("/api/v1/evaluation/years/2025/finalise", {"region_code": CZ}, t.prov_sup)
    assert taken.status_code == 409 and "由 320400 市级系统确定最终等次" in taken.json()["message"], taken.text
    own = t.province.post("/api/v1/evaluation/years/2025/finalise", {}, t.prov_sup)
    assert own.status_code == 200, own.text
    assert not [f for f in own.json()["finalised"] if (f["subject_kind"], f["subject_id"]) in city_final]
    assert t.province.get("/api/v1/evaluation/grades", t.prov_sup,
                          params={"year": 2025, "region_code": CZ, "stage": "final"}).json()["grades"] == []
    cz_cases = t.cz.get("/api/v1/evaluation/cases", city_sup).json()["cases"]
    assert cz_cases, "Changzhou opened its own cases (review bypassed, uncertified officers …)"
    assert [c for c in t.province.get("/api/v1/evaluation/cases", t.prov_sup).json()["cases"]
            if c["region_code"].startswith("3204")] == []
    from nameko import config
    from nameko.standalone.rpc import ClusterRpcClient

    with config.patch({"AMQP_URI": t.province.amqp_uri}), ClusterRpcClient() as rpc:   # the dashboard's data
        dashboard = rpc.evaluation.dashboard({"region_code": "320000", "bodies": "*"}, "320000", 2025)
    (changzhou,) = [c for c in dashboard["cities"] if c["city_code"] == CZ]
    assert sum(changzhou["bodies"].values()) == sum(1 for k in city_final if k[0] == "body")
    assert not [r for r in dashboard["ranking"] if r["region_code"].startswith("3204")]


# -- the witness: forks, the city's own check, the restore procedure -----------------------------------

def test_a_recent_backup_rollback_raises_the_fork_alarm_at_the_next_head(tiers):
    """Issue 23 (1), REC-4: Wuxi's records database is backed up, Wuxi goes on (its heads witnessed),
    then is restored from the backup and — running a release that does not check — appends other
    entries and signs. That next head does not extend the newest witnessed head: the province raises
    the fork alarm (witness state, gauge, record.fork_detected down to Wuxi), refuses Wuxi's further
    heads, and accepts them again only after an operator resolved it."""
    t = tiers
    log_id = f"records.{WX}"
    send_cases(t.wx, "320202-SCJG", 3)
    wait_for(lambda: tip_size(t, log_id) >= 3, timeout=60, message="Wuxi's heads witnessed")
    backup = t.tmp / "wuxi-records-backup.db"
    backup_database(t.wx, "records", backup)
    backed_up = tip_size(t, log_id)
    send_cases(t.wx, "320202-SCJG", 3)
    wait_for(lambda: tip_size(t, log_id) >= backed_up + 3, timeout=60, message="heads after the backup witnessed")
    t.wx.stop("records")
    restore_database(t.wx, "records", backup)
    t.wx.start("records")
    send_cases(t.wx, "320202-SCJG", 4)                          # other entries after the restored ones
    state = wait_for(lambda: (lambda s: s if s and s["status"] == "forked" else None)(witness(t, log_id)),
                     timeout=90, message="the fork alarm")
    print(f"\nfork alarm: {state['fork_reason']}")
    assert "回滚" in state["fork_reason"] or "根哈希" in state["fork_reason"]
    forked = t.province.get("/api/v1/public/records/witnessed-heads",
                            params={"log_id": log_id, "status": "forked"}).json()["heads"]
    assert len(forked) == 1
    assert province_metric(t, "zhifa_records_witness_forked", log_id=log_id, city=WX) == 1
    wx_view = wait_for(lambda: (lambda v: v if v and v["status"] == "forked" else None)(
        t.wx.get("/api/v1/public/records/province-witness").json()["province_witness"]), timeout=60,
        message="the fork alarm at Wuxi")
    assert wx_view["fork_reason"] == state["fork_reason"]
    # further heads are refused until resolved
    send_cases(t.wx, "320202-SCJG", 2)
    wait_for(lambda: t.province.get("/api/v1/public/records/witnessed-heads",
                                    params={"log_id": log_id, "status": "refused"}).json()["heads"], timeout=60,
             message="a further head refused")
    assert witness(t, log_id)["status"] == "forked"
    # SEC-2: the fork is the province's to clear — an administrator of another city is refused (fail closed)
    outside = t.province.post(f"/api/v1/admin/records/witness/{log_id}/resolve",
                              {"note": "无锡市记录服务从备份恢复"}, t.province.token("admin", "320400", "cz-admin"))
    assert outside.status_code in (403, 404), outside.text
    assert witness(t, log_id)["status"] == "forked"
    refused = t.province.post(f"/api/v1/admin/records/witness/{log_id}/resolve", {"note": "x"}, t.prov_admin)
    assert refused.status_code == 422
    resolved = t.province.post(f"/api/v1/admin/records/witness/{log_id}/resolve",
                               {"note": "无锡市记录服务从备份恢复，缺失记录已由部门重报"}, t.prov_admin)
    assert resolved.status_code == 200, resolved.text
    send_cases(t.wx, "320202-SCJG", 1)
    state = wait_for(lambda: (lambda s: s if s["status"] == "ok" and s["tip"] else None)(witness(t, log_id)),
                     timeout=60, message="a new anchor after the resolution")
    assert state["resolutions"][0]["resolved_by"] == "prov-admin" and "缺失记录" in state["resolutions"][0]["note"]
    assert province_metric(t, "zhifa_records_witness_forked", log_id=log_id, city=WX) == 0


def test_a_citys_signing_key_is_handed_over_with_a_statement_the_pinned_key_signed(tiers):
    """Issue 23 (2), REC-4, PLAT-1: the province pins Wuxi's key from configuration only. Wuxi rotates
    its key as the RUNBOOK says (announce_key_rotation with the old key, restart with the new key):
    the hand-over crosses the link as record.key_rotated, the province moves the pin and witnesses
    the heads the new key signs. A hand-over the pinned key did not sign, sent through Wuxi's own
    link, is dead-lettered and moves nothing."""
    from nameko import config
    from nameko.standalone.rpc import ClusterRpcClient

    from services.records.domain.treehead import generate_key, public_key_bytes
    from services.records.domain.witnessing import handover_bytes

    t = tiers
    log_id = f"records.{WX}"
    send_cases(t.wx, "320202-SCJG", 1)
    state = wait_for(lambda: (lambda s: s if s["status"] == "ok" and s["tip"] else None)(witness(t, log_id)),
                     timeout=60, message="Wuxi witnessed")
    old = t.keys[WX]
    assert state["pinned_key"] == old
    new = signing_key(t.tmp / "key-320200-2.pem")
    with config.patch({"AMQP_URI": t.wx.amqp_uri}), ClusterRpcClient() as rpc:
        statement = rpc.records.announce_key_rotation(new)
    assert statement["old_public_key"] == old and statement["new_public_key"] == new
    wait_for(lambda: witness(t, log_id)["pinned_key"] == new, timeout=60, message="the new key pinned")
    assert [k["public_key"] for k in witness(t, log_id)["key_history"]] == [old]
    # the new key deployed (the old public key kept for the self-check), heads under it witnessed
    t.wx.stop("records")
    t.wx.settings.update({"ZHIFA_RECORDS_SIGNING_KEY_FILE": str(t.tmp / "key-320200-2.pem"),
                          "ZHIFA_RECORDS_PREVIOUS_PUBLIC_KEYS": old})
    t.wx.start("records")
    before = tip_size(t, log_id)
    send_cases(t.wx, "320202-SCJG", 2)
    state = wait_for(lambda: (lambda s: s if s["tip"] and s["tip"]["tree_size"] >= before + 2 else None)(
        witness(t, log_id)), timeout=90, message="a head signed with the new key witnessed")
    assert state["status"] == "ok" and state["tip"]["public_key"] == new
    # a forged hand-over (signed by a key nobody pinned) through Wuxi's own link: refused
    forger = generate_key()
    stamp = int(time.time() * 1000)
    forged = ev.envelope("record.key_rotated", {
        "log_id": log_id, "algorithm": "ed25519", "old_public_key": new,
        "new_public_key": public_key_bytes(forger).hex(), "from_tree_size": state["tip"]["tree_size"],
        "timestamp": stamp, "signature": forger.sign(handover_bytes(
            log_id, "ed25519", public_key_bytes(forger), state["tip"]["tree_size"], stamp)).hex()},
        body={"region_code": WX, "body_id": "zhifa-records-log", "system": "zhifa.records"})
    publish_on_link(t.links_users.uri(WX, t.province.vhost), "upward.events", forged, t.links_users.user(WX))
    (letter,) = wait_for(lambda: [d for d in dead_letters(t.province.amqp_uri, "records")
                                  if json.loads(d["body"])["event_id"] == forged["event_id"]], timeout=30,
                         message="the forged hand-over dead-lettered")
    assert "not signed by the pinned key" in letter["reason"], letter
    assert witness(t, log_id)["pinned_key"] == new


def test_a_restored_city_refuses_to_sign_against_the_witness_until_the_restore_procedure_is_done(tiers):
    """Issue 23 (1), (6), REC-4: Changzhou checks its log against what the province witnessed. Its
    records database (PostgreSQL) is restored with the RUNBOOK's commands (pg_dump -Fc; dropdb,
    createdb -O, pg_restore --no-owner --role, zhifa migrate) from a backup older than the witnessed
    heads; its records service asks the province at start,
    finds its log shorter than the witnessed head and signs and appends nothing; `records verify
    --witnessed` names the lost entries; once the province's operators resolve it (RUNBOOK restore
    procedure), Changzhou appends the events that waited and signs again, and the province witnesses."""
    t = tiers
    log_id = f"records.{CZ}"
    send_cases(t.cz, "320412-SCJG", 2)
    wait_for(lambda: tip_size(t, log_id) >= 2, timeout=90, message="Changzhou's heads witnessed")
    backup = t.tmp / "changzhou-records-backup.dump"         # pg_dump -Fc
    backup_database(t.cz, "records", backup)
    backed_up = tip_size(t, log_id)
    send_cases(t.cz, "320412-SCJG", 3)
    wait_for(lambda: tip_size(t, log_id) >= backed_up + 3, timeout=60, message="heads after the backup witnessed")
    witnessed = tip_size(t, log_id)
    t.cz.stop("records")
    restore_database(t.cz, "records", backup)
    url = f"{t.province.base_url}/api/v1/public/records/witnessed-heads?log_id={log_id}&status=accepted&limit=1000"
    code, report = records_verify(t.cz, t.keys[CZ], url)
    assert code == 1 and report["witnessed"]["ok"] is False, report
    assert report["witnessed"]["entries_lost"] >= 3
    assert {p["kind"] for p in report["witnessed"]["problems"]} == {"head_beyond_log"}
    t.cz.start("records")
    view = wait_for(lambda: (lambda v: v if v and v["tree_size"] == witnessed else None)(
        t.cz.get("/api/v1/public/records/province-witness").json().get("province_witness")),
        timeout=90, message="the province's answer at Changzhou")   # records restarting: 503 without the key
    assert view["status"] == "witnessed"
    wait_for(lambda: metric_value(t.cz.metrics("records"), "zhifa_records_self_check_failed") == 1, timeout=60,
             message="Changzhou's self-check fails against the witnessed head")
    waiting = f"320412-SCJG-WAIT-{uuid.uuid4().hex[:6]}"            # sent now: it must wait, not be appended
    t.cz.publish(ev.case_opened(waiting, body={"region_code": "320412", "body_id": "320412-SCJG", "system": "dept"}))
    wait_for(lambda: metric_value(t.cz.metrics("records"), "zhifa_events_retried_total", service="records",
                                  event_type="case.opened", reason="transient"), timeout=60,
             message="the event refused for now (retried, not dead-lettered)")
    supervisor = t.cz.token("supervisor", CZ)
    # not appended: records refuses it (and, while its self-check fails, even reads of the log: 503)
    assert t.cz.get(f"/api/v1/cases/{waiting}/timeline", supervisor).status_code in (404, 503)
    assert witness(t, log_id)["status"] == "ok" and tip_size(t, log_id) == witnessed     # nothing signed
    # the restore procedure done, the province's operators reset the witness of the log
    reset = t.province.post(f"/api/v1/admin/records/witness/{log_id}/resolve",
                            {"note": "常州市记录服务从备份恢复，按规程核验，缺失记录已由部门重报"}, t.prov_admin)
    assert reset.status_code == 200, reset.text
    assert reset.json()["resolution"]["kind"] == "restore"
    wait_for(lambda: t.cz.get(f"/api/v1/cases/{waiting}/timeline", supervisor).ok, timeout=60,
             message="the waiting event appended after the reset")
    state = wait_for(lambda: (lambda s: s if s["tip"] else None)(witness(t, log_id)), timeout=60,
                     message="Changzhou witnessed again")
    assert state["status"] == "ok" and state["tip"]["tree_size"] < witnessed + 10


# -- complaints across tiers ---------------------------------------------------------------------------

def test_escalated_complaint_reaches_the_province_and_its_transfer_order_the_city(tiers):
    """CMP-3, CMP-9, COORD-4, PLAT-1 (issue 8): a Changzhou complaint left unanswered past its deadline is
    escalated by the city's sweep and appears in the province's supervision register (no identity);
    the province orders a transfer (上级交办), which the downward link delivers to that city only; the
    city complaint then shows the province's instruction, the new handling unit and the new deadline."""
    from tests.complaints.helpers import CHINA, NAME, PHONE, _ref, hotline_complaint

    t = tiers
    event = hotline_complaint(received_at=dt.datetime.now(CHINA) - dt.timedelta(days=30))
    ref = event["payload"]["external_ref"]
    t.cz.publish(event)
    handler = t.cz.token("complaint_handler", CZ, "handler-zhang")

    def register(token):
        return t.province.get("/api/v1/complaints/escalations", token).json()["escalations"]

    def number_of_ref():
        for c in t.cz.get("/api/v1/complaints", handler).json()["complaints"]:
            if c["number"] and _ref(t.cz, handler, c["number"]) == ref:
                return c["number"]
        return None

    number = wait_for(number_of_ref, timeout=60, message="hotline complaint registered at Changzhou")
    line = wait_for(lambda: next((x for x in register(t.prov_sup) if x["number"] == number and x["level"] == 2),
                                 None), timeout=60, message="escalation in the province register")
    assert (line["city_code"], line["status"], line["to_region_code"]) == (CZ, "open", "320000")
    text = json.dumps(register(t.prov_sup), ensure_ascii=False)
    assert NAME not in text and PHONE not in text
    assert [x for x in register(t.province.token("supervisor", WX, "wx-sup")) if x["number"] == number] == []
    instruction = "请常州市司法局直接办理，核实执法人员未出示执法证件问题并依法办结，结果报省司法厅"
    # SEC-2/CMP-5: only the tier the complaint was escalated to orders it — a Wuxi supervisor cannot
    wrong_tier = t.province.post(f"/api/v1/complaints/escalations/{number}/transfer",
                                 {"to_unit_id": "320400-SFJ", "to_name": "常州市司法局", "instruction": instruction,
                                  "due_working_days": 10}, t.province.token("supervisor", WX, "wx-sup"))
    assert wrong_tier.status_code in (403, 404), wrong_tier.text
    ordered = t.province.post(f"/api/v1/complaints/escalations/{number}/transfer",
                              {"to_unit_id": "320400-SFJ", "to_name": "常州市司法局", "instruction": instruction,
                               "due_working_days": 10}, t.prov_sup)
    assert ordered.status_code == 201, ordered.text
    after = wait_for(lambda: (lambda v: v if v.get("superior_order") else None)(
        t.cz.get(f"/api/v1/complaints/{number}", handler).json()), timeout=60, message="order at the city")
    assert after["handler"]["unit_id"] == "320400-SFJ" and after["superior_order"]["issuer_region"] == "320000"
    assert after["history"][-1]["kind_label"] == "上级交办"


# -- link start --------------------------------------------------------------------------------------

def import_topology(template, vhost):
    """What a broker imports from a tier's definitions at boot (exchanges, queues, bindings, policies),
    into a test vhost, with RabbitMQ's own importer (users, permissions and shovels are the test's)."""
    import tempfile

    data = json.loads(template.read_text(encoding="utf-8"))
    part = {section: [{**item, "vhost": vhost} for item in data[section]]
            for section in ("queues", "exchanges", "bindings", "policies")}
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir="/tmp") as handle:   # rabbitmqctl reads it as
        handle.write(json.dumps(part))                                              # the rabbitmq user
        handle.flush()
        os.chmod(handle.name, 0o644)
        result = subprocess.run([exe, "import_definitions", handle.name], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

    def imported():   # rabbitmqctl's import is asynchronous: wait for the last section (bindings)
        listed = subprocess.run([exe, "list_bindings", "-q", "-p", vhost, "source_name", "destination_name"],
                                capture_output=True, text=True, timeout=60).stdout
        present = {tuple(line.split("\t")[:2]) for line in listed.splitlines()}
        return all((b["source"], b["destination"]) in present for b in part["bindings"])

    wait_for(imported, timeout=60, interval=0.5, message=f"definitions imported into {vhost}")


def queue_depth(uri, name):
    with Connection(uri) as conn:
        channel = conn.channel()
        try:
            _, count, _ = channel.queue_declare(name, passive=True)
        except Exception:  # noqa: BLE001 - no such queue: what reached it is lost
            return None
        finally:
            conn.release()
    return count


def test_a_link_started_before_bus_init_loses_nothing(tmp_path):
    """Issue 23 (3): brokers import their definitions — shovels included — before `zhifa bus-init`
    runs. Both suites here have only what the shipped definitions declare; the link starts; the city
    sends 10 publications upward; only then does the province run bus-init and start evaluation. The
    queues the shovel feeds were in the definitions, so all 10 wait there and are all applied."""
    from services.common.events import make_envelope
    from tests.fixtures import ROOT_DIR

    province = SuiteProcesses("province", tmp_path, "320000", "province",
                              {"ZHIFA_CITIES": f"{CZ},{WX}", "ZHIFA_LINK_HEARTBEAT_SECONDS": 0},
                              {"main": ["evaluation", "gateway"]})
    city = SuiteProcesses("city", tmp_path, CZ, "city", {}, {})
    users = LinkUsers([CZ], [province.vhost, city.vhost])
    province.settings["ZHIFA_LINK_USER_TEMPLATE"] = users.template
    link = None
    try:
        broker = ROOT_DIR / "deploy" / "broker"
        import_topology(broker / "definitions-province.json", province.vhost)
        import_topology(broker / "definitions-city-320400.json", city.vhost)
        link = Link(users, province, city)
        today = dt.date.today()
        for i in range(10):                          # as the city's disclosure service emits them
            city.publish(make_envelope("disclosure.published", {
                "publication_id": f"P-320412-{i}", "decision_no": f"武市监罚〔{today.year}〕{i}号",
                "action_type": "penalty", "due_on": today, "due_provisional": False, "published_on": today,
                "on_time": True}, source_system="zhifa.disclosure", region_code="320412", body_id="320412-SCJG",
                case_id=f"320412-SCJG-{today.year}-{i:05d}"), source="disclosure")
        landing = "evt-upward-disclosure.published--evaluation.on_published"
        wait_for(lambda: queue_depth(city.amqp_uri, federation.UPWARD_QUEUE) == 0
                 and queue_depth(province.amqp_uri, landing) == 10, timeout=60,
                 message="all ten shovelled into the province queue that the definitions declared")
        province.prepare([CZ, WX])                   # bus-init and migrations, after the link started
        province.start_all()
        def on_time_count():
            try:                                     # a poll: a dropped connection is asked again, and if
                response = province.get(             # the process died the wait fails with its log below
                    "/api/v1/evaluation/summary", province.token("supervisor"), params={"region_code": CZ})
            except (requests.ConnectionError, requests.Timeout):   # evaluation still starting behind it
                return None
            return response.json()["bodies"].get("320412-SCJG", {}).get("disclosure_on_time")

        try:
            wait_for(lambda: on_time_count() == 10, timeout=90, message="the ten publications counted at the province")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nprovince log:\n{province.log_text()}") from None
    finally:
        if link is not None:
            link.proxy.stop()
        province.close()
        _rabbitmqctl("delete_vhost", city.vhost)
        users.close()
