"""Demo departmental traffic: several departmental systems (执法部门业务系统) publishing enforcement
events the way a non-Python system would — raw JSON envelopes over AMQP to ``departments.events``,
and one system over HTTP through the gateway — plus a legal reviewer approving major decisions
through the gateway API and citizens filing complaints.

    python deploy/local/demo.py --cases 12 [--forever] [--gateway http://127.0.0.1:8000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from kombu import Connection, Exchange, Producer

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.common.identifiers import region_covers, resident_id_check_char, uscc_check_char  # noqa: E402

CHINA = dt.timezone(dt.timedelta(hours=8))
EXCHANGE = Exchange("departments.events", type="topic", durable=True)

# Changzhou (常州市, 320400) and its districts: the city suite serves them (PLAT-1)
BODIES = [
    {"body_id": "320400-SCJG", "name": "常州市市场监督管理局", "region_code": "320400", "field": "market_regulation",
     "system": "czscjg-case-system", "prefix": "常市监罚"},
    {"body_id": "320412-SCJG", "name": "常州市武进区市场监督管理局", "region_code": "320412",
     "field": "market_regulation", "system": "czscjg-case-system", "prefix": "武市监罚"},
    {"body_id": "320400-STHJ", "name": "常州市生态环境局", "region_code": "320400", "field": "ecology_environment",
     "system": "czsthj-enforcement", "prefix": "常环罚"},
    {"body_id": "320404-ZHZF", "name": "常州市钟楼区综合行政执法局", "region_code": "320404",
     "field": "urban_management", "system": "zl-zhzf-http", "prefix": "钟综执罚"},
    {"body_id": "320411-JTYS", "name": "常州市新北区交通运输局", "region_code": "320411", "field": "transport",
     "system": "xb-jtys-system", "prefix": "新交罚"},
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "秀英", "建华", "志强"]
COMPANIES = ["常州市顺达机械有限公司", "武进区新城餐饮管理有限公司", "常州华源化工有限公司", "常州市恒信物流有限公司",
             "钟楼区阳光超市", "新北区宏运建材有限公司", "常州优品食品有限公司"]
MATTERS = {
    "market_regulation": [("SC-0101", "销售不符合食品安全标准的食品", "《中华人民共和国食品安全法》第一百二十四条"),
                          ("SC-0203", "虚假宣传", "《中华人民共和国反不正当竞争法》第二十条")],
    "ecology_environment": [("HJ-0301", "超标排放大气污染物", "《中华人民共和国大气污染防治法》第九十九条")],
    "urban_management": [("ZF-0402", "违法建设", "《中华人民共和国城乡规划法》第六十四条")],
    "transport": [("JT-0501", "未取得道路运输经营许可擅自从事经营", "《中华人民共和国道路运输条例》第六十三条")],
}


def resident_id(rng: random.Random) -> str:
    first17 = f"3204{rng.choice(['02', '04', '11', '12'])}{rng.randint(1960, 2000)}{rng.randint(1, 12):02d}" \
              f"{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first17 + resident_id_check_char(first17)


def uscc(rng: random.Random) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = "91320400" + "".join(rng.choice(alphabet) for _ in range(9))
    return first17 + uscc_check_char(first17)


HOTLINE = {"system": "changzhou-12345", "region_code": "320400", "body_id": "320400-12345"}


def amqp_systems(http_systems=()) -> dict[str, dict]:
    """The demo's systems that publish over AMQP: {system: {"region_code", "body_ids"}} — what each
    one's entry in the department registry (api_keys.yaml, ``amqp_user``) must say, since every
    service refuses a departmental event whose broker user is not registered for its body (SEC-2)."""
    systems: dict[str, dict] = {}
    for body in BODIES + [HOTLINE]:
        if body["system"] in http_systems:
            continue
        entry = systems.setdefault(body["system"], {"region_code": body["region_code"], "body_ids": []})
        entry["body_ids"].append(body["body_id"])
        if not region_covers(entry["region_code"], body["region_code"]):
            entry["region_code"] = entry["region_code"][:4] + "00"        # the city covers its districts
    return systems


class Department:
    """Publishes envelopes as departmental systems would: over AMQP, each under its own broker user
    (``user_id`` set, as docs/INTEGRATION.md asks), or over HTTP through the gateway with an API key."""

    def __init__(self, amqp_uri: str, gateway: str, api_keys: dict, senders: dict | None = None):
        self.amqp_uri = amqp_uri
        self.senders = senders or {}     # system -> (broker user, password)
        self.producers: dict = {}
        self.gateway = gateway
        self.api_keys = api_keys
        self.sent = 0

    def _producer(self, system: str):
        if system not in self.producers:
            if system not in self.senders:
                raise SystemExit(f"demo: no broker user for {system} (--sender {system}=USER:PASSWORD)")
            user, password = self.senders[system]
            parts = urlsplit(self.amqp_uri)
            uri = urlunsplit((parts.scheme, f"{quote(user, safe='')}:{quote(password, safe='')}@"
                              f"{parts.hostname}:{parts.port or 5672}", parts.path, "", ""))
            conn = Connection(uri, transport_options={"confirm_publish": True})
            self.producers[system] = (Producer(conn.channel(), exchange=EXCHANGE, auto_declare=False), user, conn)
        return self.producers[system]

    def send(self, body: dict, event_type: str, payload: dict, case_id: str | None = None,
             at: dt.datetime | None = None) -> str:
        envelope = {"event_id": str(uuid.uuid4()), "event_type": event_type, "schema_version": "1.0",
                    "occurred_at": (at or dt.datetime.now(CHINA)).isoformat(), "source_system": body["system"],
                    "region_code": body["region_code"], "body_id": body["body_id"], "case_id": case_id,
                    "payload": payload}
        if body["system"] in self.api_keys:  # this one integrates over HTTP
            response = requests.post(f"{self.gateway}/api/v1/events", json=envelope, timeout=10,
                                     headers={"X-Api-Key": self.api_keys[body["system"]]})
            response.raise_for_status()
        else:
            producer, user, _ = self._producer(body["system"])
            producer.publish(json.dumps(envelope, ensure_ascii=False).encode("utf-8"), routing_key=event_type,
                             content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                             retry=True, mandatory=True, user_id=user)
        self.sent += 1
        return envelope["event_id"]


def register_bodies(dept: Department, rng: random.Random) -> dict:
    officers = {}
    for body in BODIES:
        dept.send(body, "body.registered", {"body_id": body["body_id"], "name": body["name"], "kind": "department",
                                            "region_code": body["region_code"], "field": body["field"]})
        staff = []
        for i in range(1, 6):
            officer_id = f"{body['body_id']}-{i:03d}"
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            roles = ["officer", "legal_reviewer"] if i == 5 else ["officer"]
            cert = f"{body['region_code']}{i:07d}"
            dept.send(body, "officer.registered", {"officer_id": officer_id, "name": name, "body_id": body["body_id"],
                                                   "roles": roles, "certificate_no": cert, "field": body["field"]})
            dept.send(body, "certificate.status_changed", {
                "certificate_no": cert, "officer_id": officer_id, "status": "valid",
                "effective_from": "2025-01-01T00:00:00+08:00", "valid_until": "2029-12-31"})
            staff.append(officer_id)
            # this year's training (EVAL-5): most officers reached the 60 hours, a few are short
            hours = rng.choice((60, 64, 72, 80)) if rng.random() < TRAINED_RATE else rng.choice((24, 36, 48))
            today = dt.date.today()
            dept.send(body, "training.recorded", {
                "record_id": f"TR-{officer_id}-{today.year}", "officer_id": officer_id,
                "course": "行政执法人员公共法律知识和专业法律知识培训", "hours": str(hours),
                "completed_on": max(dt.date(today.year, 1, 1), today - dt.timedelta(days=30)).isoformat()})
        for code, name, basis in MATTERS[body["field"]]:
            dept.send(body, "power.published", {"matter_code": code, "name": name, "action_type": "penalty",
                                                "legal_basis": basis, "body_id": body["body_id"],
                                                "published_on": "2026-01-05"})
        officers[body["body_id"]] = staff
    return officers


def sm3_hex(data: bytes) -> str:
    import hashlib

    return hashlib.new("sm3", data).hexdigest()


#: the realistic minority of lapses a supervisor should see (issue 16): most cases are complete and on time
MISSING_RECORD_RATE = 0.04     # 事先告知书 never filed → a record gap that stays open → one clue after the grace period
LATE_RECORD_RATE = 0.05        # 询问笔录 filed a little after the decision → a gap that closes within the grace period
BYPASS_RATE = 0.05             # a major decision made without legal review (应审未审)
TRAINED_RATE = 0.85            # officers who completed their 60 training hours this year (EVAL-5)


def _document(dept, body, case_id, pair, n, stage, document_type, title, at):
    dept.send(body, "evidence.recorded", {
        "record_id": f"{case_id}-R{n}", "stage": stage, "record_kind": "text", "document_type": document_type,
        "title": title, "content_hash": sm3_hex(f"{case_id}-{document_type}".encode()), "officer_ids": pair,
        "recorded_at": at.isoformat()}, case_id)


def run_case(dept: Department, rng: random.Random, body: dict, officers: list, n: int, reviewer, major=None) -> dict:
    """One penalty case from filing to archiving, with the file a completeness check asks for — except
    for a realistic minority: a missing record, a record filed late, a major decision not reviewed."""
    case_id = f"{body['body_id']}-{dt.date.today().year}-{n:05d}"
    code, matter, basis = rng.choice(MATTERS[body["field"]])
    legal = rng.random() < 0.6
    if legal:
        party = {"party_kind": "legal", "name": rng.choice(COMPANIES), "id_type": "uscc", "id_number": uscc(rng),
                 "is_private_enterprise": True}
    else:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        party = {"party_kind": "natural", "name": name, "id_type": "resident_id", "id_number": resident_id(rng),
                 "phone": f"139{rng.randint(10000000, 99999999)}", "address": "常州市钟楼区南大街88号"}
    major = (rng.random() < 0.3) if major is None else major
    fine = rng.choice([200000, 350000, 500000]) if (major and legal) else (
        rng.choice([20000, 50000]) if major else rng.choice([500, 2000, 5000]))
    pair = rng.sample(officers[:4], 2)
    now = dt.datetime.now(CHINA)
    dept.send(body, "case.opened", {"action_type": "penalty", "matter_code": code, "title": f"涉嫌{matter}案",
                                    "parties": [party], "officer_ids": pair, "opened_at": now.isoformat(),
                                    "place": "常州市"}, case_id)
    dept.send(body, "evidence.recorded", {
        "record_id": f"{case_id}-R1", "stage": "initiation", "record_kind": "text", "document_type": "filing_approval",
        "title": "立案审批表", "content_hash": sm3_hex(f"{case_id}-filing".encode()), "officer_ids": pair,
        "recorded_at": now.isoformat()}, case_id)
    dept.send(body, "evidence.recorded", {
        "record_id": f"{case_id}-R2", "stage": "investigation", "record_kind": "audio_visual",
        "document_type": "on_site_av", "title": "现场检查执法记录仪视频", "device": "执法记录仪 DSJ-V9",
        "content_hash": sm3_hex(f"{case_id}-av".encode()), "content_length": 73400320, "officer_ids": pair,
        "recorded_at": now.isoformat(), "started_at": now.isoformat(),
        "ended_at": (now + dt.timedelta(minutes=18)).isoformat()}, case_id)
    missing, late = rng.random() < MISSING_RECORD_RATE, rng.random() < LATE_RECORD_RATE
    if not late:
        _document(dept, body, case_id, pair, 3, "investigation", "investigation_record", "询问笔录", now)
    _document(dept, body, case_id, pair, 4, "investigation", "investigation_report", "案件调查终结报告", now)
    if not missing:
        _document(dept, body, case_id, pair, 5, "decision", "prior_notice", "行政处罚事先告知书", now)
    _document(dept, body, case_id, pair, 6, "decision", "internal_approval", "行政处罚审批表", now)
    if major:
        _document(dept, body, case_id, pair, 7, "decision", "collective_discussion_record", "集体讨论记录", now)
    proposal = {"version": 1, "action_type": "penalty", "matter_code": code, "field": body["field"],
                "parties": [party], "fine_amount": f"{fine}.00", "measures": [], "hearing_requested": False,
                "hearing_held": False, "officer_ids": pair, "summary": f"拟对当事人{matter}行为处以罚款{fine}元",
                "proposed_at": now.isoformat(), "submitted_by": pair[0]}
    dept.send(body, "decision.proposed", proposal, case_id)
    bypassed = major and rng.random() < BYPASS_RATE
    if reviewer is not None and not bypassed:
        reviewer(case_id, body)
        if major:
            _document(dept, body, case_id, pair, 8, "decision", "legal_review_opinion", "法制审核意见书", now)
    decision_no = f"{body['prefix']}〔{now.year}〕{n}号"
    facts = (f"经查，当事人{party['name']}于{now.year}年{now.month}月在经营活动中{matter}，"
             + (f"联系电话{party.get('phone')}，身份证号{party['id_number']}。" if not legal else "")
             + "事实清楚，证据确凿。")
    dept.send(body, "decision.made", {
        "version": 1, "decision_no": decision_no, "action_type": "penalty", "matter_code": code, "category": matter,
        "parties": [party], "facts": facts, "legal_basis": basis, "conclusion": f"罚款人民币{fine}元",
        "fine_amount": f"{fine}.00", "decided_at": dt.datetime.now(CHINA).isoformat(), "officer_ids": pair},
        case_id)
    _document(dept, body, case_id, pair, 9, "decision", "penalty_decision", "行政处罚决定书", dt.datetime.now(CHINA))
    dept.send(body, "decision.served", {"served_at": dt.datetime.now(CHINA).isoformat(), "method": "direct"}, case_id)
    _document(dept, body, case_id, pair, 10, "service_execution", "proof_of_service", "送达回证", dt.datetime.now(CHINA))
    dept.send(body, "decision.executed", {"executed_at": dt.datetime.now(CHINA).isoformat(),
                                          "manner": "当事人已缴纳罚款"}, case_id)
    _document(dept, body, case_id, pair, 11, "service_execution", "payment_record", "罚款缴纳凭证", dt.datetime.now(CHINA))
    _document(dept, body, case_id, pair, 12, "archiving", "closure_report", "结案报告", dt.datetime.now(CHINA))
    if late:    # the inquiry record arrives after the decision: the gap closes within the grace period
        _document(dept, body, case_id, pair, 3, "investigation", "investigation_record", "询问笔录", now)
    dept.send(body, "case.archived", {"archived_at": dt.datetime.now(CHINA).isoformat(),
                                      "archive_no": f"DA-{case_id}"}, case_id)
    return {"case_id": case_id, "major": major, "party": party, "missing": missing, "late": late,
            "bypassed": bypassed}


def make_reviewer(gateway: str, token_secret: str, timeout: float = 30.0):
    """Legal reviewers (法制审核人员) doing a major case's review through the gateway API: the body's
    registered reviewer records a finding for every check and approves (REV-3, REV-4); the body's
    responsible person (负责人) signs off (REV-6)."""
    from services.common.auth import issue_token

    def headers(sub: str, region: str, role: str = "legal_reviewer", bodies=()) -> dict:
        token = issue_token(sub, role, region, secret=token_secret, body_ids=tuple(bodies))
        return {"Authorization": f"Bearer {token}"}

    # asks the pre-decision gate (REV-2) for every body of the city: an explicit all-bodies grant (SEC-2)
    officer = headers("320400-demo-officer", "320400", role="officer", bodies=("*",))

    def review(case_id: str, body: dict):
        reviewer = headers(f"{body['body_id']}-005", body["region_code"], bodies=(body["body_id"],))
        head = headers(f"{body['body_id']}-head", body["region_code"], role="responsible_person",
                       bodies=(body["body_id"],))       # the body's responsible person (负责人) signs off
        deadline = time.time() + timeout
        while time.time() < deadline:
            response = requests.get(f"{gateway}/api/v1/review/tasks", params={"case_id": case_id},
                                    headers=reviewer, timeout=10)
            tasks = response.json().get("tasks", []) if response.ok else []
            if tasks:
                task_id = tasks[0]["task_id"]
                answer = requests.get(f"{gateway}/api/v1/review/tasks/{task_id}", headers=reviewer, timeout=10)
                detail = answer.json() if answer.ok else {}
                if "current" not in detail:     # a passing refusal (e.g. 502 while a database is busy): again
                    print(f"demo: review task {task_id} not readable ({answer.status_code}), retrying", flush=True)
                    time.sleep(1)
                    continue
                checks = [{"code": c["code"], "outcome": "pass", "finding": "经审查，符合规定"}
                          for c in detail["current"]["checklist"] if not c["settled"]]
                requests.post(f"{gateway}/api/v1/review/tasks/{task_id}/opinion", headers=reviewer, timeout=10,
                              json={"opinion": "approve", "checks": checks}).raise_for_status()
                requests.post(f"{gateway}/api/v1/review/tasks/{task_id}/sign-off", headers=head, timeout=10,
                              json={"approve": True}).raise_for_status()
                return True
            gate = requests.get(f"{gateway}/api/v1/review/gate", params={"case_id": case_id, "version": 1},
                                headers=officer, timeout=10)
            if gate.status_code == 200 and gate.json().get("allowed"):
                return False  # not major: no task
            time.sleep(0.3)
        return False

    return review


def hotline_complaint(dept: Department, rng: random.Random, target: dict):
    hotline = {**HOTLINE, "region_code": target["region_code"]}       # the 12345 of the city, for a district
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    dept.send(hotline, "complaint.submitted", {
        "channel": "hotline_12345", "external_ref": f"12345-{rng.randint(100000, 999999)}",
        "complainant": {"name": name, "phone": f"138{rng.randint(10000000, 99999999)}"},
        "subject": {"body_id": target["body_id"]}, "request": "请求依法查处执法人员检查时态度粗暴的行为",
        "facts": f"{dt.date.today().isoformat()}上午，{target['name']}执法人员到店检查时未出示执法证件，且态度粗暴。",
        "received_at": dt.datetime.now(CHINA).isoformat(), "against_private_enterprise": True})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--forever", action="store_true", help="keep sending a case every few seconds")
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--api-key", action="append", default=[], help="system=key for HTTP integration")
    parser.add_argument("--sender", action="append", default=[],
                        help="system=user:password — the broker user an AMQP system publishes as")
    parser.add_argument("--token-secret-file", help="sign reviewer tokens with this secret (var/token_secret)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--state-file", help="keeps the last case number sent, so a restarted demo (make run "
                        "again on the same var/) sends new cases: an archived case's number sent again is "
                        "refused by records (REC-5) and dead-lettered")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    api_keys = dict(item.split("=", 1) for item in args.api_key)
    senders = {system: tuple(cred.split(":", 1)) for system, cred in (item.split("=", 1) for item in args.sender)}
    dept = Department(args.amqp, args.gateway, api_keys, senders)
    reviewer = None
    if args.token_secret_file:
        reviewer = make_reviewer(args.gateway, Path(args.token_secret_file).read_text().strip())
    started = time.perf_counter()
    officers = register_bodies(dept, rng)
    print(f"demo: registered {len(BODIES)} bodies, {sum(map(len, officers.values()))} officers", flush=True)
    state = Path(args.state_file) if args.state_file else None
    first = int(state.read_text().strip() or 0) if state and state.exists() else 0
    n = first
    while True:
        n += 1
        body = BODIES[(n - 1) % len(BODIES)]
        case = run_case(dept, rng, body, officers[body["body_id"]], n, reviewer, major=True if n == first + 1 else None)
        if state:
            state.write_text(str(n))
        lapses = [k for k in ("missing", "late", "bypassed") if case[k]]
        print(f"demo: case {case['case_id']} ({'major' if case['major'] else 'ordinary'}"
              f"{', ' + '/'.join(lapses) if lapses else ''}) sent "
              f"[{time.perf_counter() - started:.1f}s]", flush=True)
        if n % 4 == 0:
            hotline_complaint(dept, rng, body)
            print("demo: 12345 hotline complaint sent", flush=True)
        if n - first >= args.cases and not args.forever:
            break
        if n - first >= args.cases:
            time.sleep(args.interval)
    print(f"demo: {dept.sent} events sent", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
