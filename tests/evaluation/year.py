"""A generated year of enforcement for five bodies in 常州 (320400), with the hand-computed grades
it must produce (EVAL-2 … EVAL-8). Events are envelopes as departmental systems and the other
zhifa services send them; ``publish`` puts each through the real broker to the evaluation service.

Hand-computed results (config/evaluation/indicators.yaml; docs/evaluation-rules.md §2–3):

Body A 320412-SCJG 武进区市场监督管理局 (county): 10 decisions, all published on time, 2 major both
  approved, 1 complaint acknowledged on time and rated 5, officers a1 (60 h) and a2 (30 h), one legal
  reviewer (ratio 1/2), case-file review 95.
  DISC 12 + REVIEW 12 + RECORD 10 + ACK 8 + UPHELD 6 + TRAINING 0 (1/2 ≥ 60 h) + STAFFING 5
  + CERTIFICATES 6 + SATISFACTION 6 + ZERO 4 + CASE_FILE 3.50 (95 → 87.5) = 72.50 over 81 applicable
  (SPECIAL_CHECK, and — 0/0 since issue 16 — AV_COMPLIANCE (no AV required) and CORRECTION_RATE
  (nothing challenged) are 不适用) → 89.51 合格.
Body B 320411-ZRZY 新北区自然资源局 (county, registered 2024): 8 decisions, 7 on time + 1 late
  (7/8 → 37.5 → 4.50), 2 major: 1 approved, 1 bypassed (0), officer b2 suspended since 2025-06-01
  decides twice (2/8 per 100 → 0), training b1 60 h / b2 45 h (0), no legal reviewer (0).
  4.50 + 0 + 10 + 8 + 6 + 0 + 0 + 0 + 4 = 32.50 over 71 (AV, CORRECTION, SATISFACTION, SPECIAL_CHECK,
  CASE_FILE 不适用) → 45.77 不合格 → 责令限期整改.
Body C 320400-CGJ 常州市城市管理局 (city): 20 decisions, 19 on time (9.00), 4 major approved, 1 case
  with a record gap (1 − 1/20 → 50 → 5.00), 3 complaints acknowledged on time, 1 upheld (5 per 100
  → 0), 2 challenged / 1 corrected (50% → 0), training 60/60, ratio 1/2, ratings 4 and 5 (4.5 → 6),
  special check 80 (2.40): 65.40 over 88 (AV_COMPLIANCE 0/0 不适用 since issue 16) → 74.32 合格.
Body D 320412-WSJ (powers, no decision, no explanation) and Body E 320412-TYJ (powers, explained): no
  enforcement, one or two events behind a score — fewer than grading.body.min_evidence (10): 数据不足,
  no grade (issue 16); D still gets the zero_enforcement_unexplained fact at year end (EVAL-8).
Officers (officer-standard; O_SPECIAL_TEST excluded unless entered; violations count once their clue
is accepted — the tests accept every clue before finalising, EVAL-6):
  a1 100.00 优秀; a2 (30 h → 10) 70/80 → 87.50 合格;
  b1 100.00 优秀 by total, 合格 by the veto 参与作出应审未审的重大执法决定;
  b2 (45 h → 15, 2 uncertified → 0) 65/80 → 81.25 合格 by total, 不合格 by the veto 无证执法;
     b2 was 不合格 in 2024 as well (three decisions, one uncertified: 50/80 → 62.50, veto) → 调离/取消资格 proposal;
  c1 (corrected 5/100 → 0, gaps 5/100 → 7.50, upheld 5/100 → 0, special test 70 → 5.00) 42.50 不合格;
  c2 (corrected → 0, gaps → 7.50) 52.50/80 → 65.63 合格.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

from kombu import Connection, Producer

from services.common.bus import events_exchange
from services.common.settings import amqp_user

CHINA = dt.timezone(dt.timedelta(hours=8))
YEAR = 2025

A = {"body_id": "320412-SCJG", "region_code": "320412", "name": "常州市武进区市场监督管理局", "system": "wj-scjg"}
B = {"body_id": "320411-ZRZY", "region_code": "320411", "name": "常州市新北区自然资源局", "system": "xb-zrzy"}
C = {"body_id": "320400-CGJ", "region_code": "320400", "name": "常州市城市管理局", "system": "cz-cgj"}
D = {"body_id": "320412-WSJ", "region_code": "320412", "name": "常州市武进区卫生健康局", "system": "wj-wsj"}
E = {"body_id": "320412-TYJ", "region_code": "320412", "name": "常州市武进区体育局", "system": "wj-tyj"}

EXPECTED_BODIES = {  # body_id: (total, by_total, grade)
    A["body_id"]: ("89.51", "合格", "合格"),
    B["body_id"]: ("45.77", "不合格", "不合格"),
    C["body_id"]: ("74.32", "合格", "合格"),
}
#: no enforcement all year: too little evidence for a grade (issue 16: 数据不足, grading.body.min_evidence)
INSUFFICIENT_BODIES = (D["body_id"], E["body_id"])
EXPECTED_OFFICERS = {
    "a1": ("100.00", "优秀", "优秀"),
    "a2": ("87.50", "合格", "合格"),
    "b1": ("100.00", "优秀", "合格"),
    "b2": ("81.25", "合格", "不合格"),
    "c1": ("42.50", "不合格", "不合格"),
    "c2": ("65.63", "合格", "合格"),
}


def at(y, m, d, h=10) -> dt.datetime:
    return dt.datetime(y, m, d, h, 0, tzinfo=CHINA)


def envelope(event_type, payload, body, when: dt.datetime, case_id=None, source_system=None):
    return {"event_id": str(uuid.uuid4()), "event_type": event_type, "schema_version": "1.0",
            "occurred_at": when.isoformat(), "source_system": source_system or body["system"],
            "region_code": body["region_code"], "body_id": body["body_id"], "case_id": case_id,
            "payload": json.loads(json.dumps(payload, default=str))}


def party(n):
    return {"party_kind": "legal", "name": f"常州市测试企业{n}有限公司", "party_id": f"P-{n}"}


def decision(body, case_id, when, officers, no, action_type="penalty", fine="5000.00"):
    return envelope("decision.made", {
        "version": 1, "decision_no": no, "action_type": action_type, "matter_code": "M-01", "category": "违法行为",
        "parties": [party(case_id)], "facts": "当事人存在违法行为。", "legal_basis": "《中华人民共和国行政处罚法》",
        "conclusion": f"罚款人民币{fine}元", "fine_amount": fine, "decided_at": when.isoformat(),
        "officer_ids": officers}, body, when, case_id)


def published(body, case_id, decided: dt.datetime, on_time=True):
    due = (decided + dt.timedelta(days=9)).date()
    on = (decided + dt.timedelta(days=3)).date() if on_time else due + dt.timedelta(days=5)
    return envelope("disclosure.published", {
        "publication_id": f"PUB-{case_id}", "decision_no": f"NO-{case_id}", "action_type": "penalty",
        "due_on": due.isoformat(), "due_provisional": False, "published_on": on.isoformat(), "on_time": on_time,
        "redactions": {}}, body, dt.datetime.combine(on, dt.time(9), CHINA), case_id, "zhifa.disclosure")


def classified(body, case_id, when):
    return envelope("review.classified", {"version": 1, "major": True, "fired_rules": ["FINE_AMOUNT"]}, body,
                    when, case_id, "zhifa.review")


def approved(body, case_id, when):
    return envelope("review.approved", {"task_id": f"T-{case_id}", "version": 1, "reviewer_id": "r-1",
                                        "opinion": "同意", "problems": []}, body, when, case_id, "zhifa.review")


def bypassed(body, case_id, when):
    return envelope("review.bypassed", {"version": 1, "violation": "not_reviewed",
                                        "description": "重大执法决定未经法制审核即作出"}, body, when, case_id,
                    "zhifa.review")


def body_registered(body, when):
    return envelope("body.registered", {"body_id": body["body_id"], "name": body["name"], "kind": "department",
                                        "region_code": body["region_code"], "management": "local"}, body, when)


def officer_registered(body, officer_id, name, when, roles=("officer",), certificate=True):
    return envelope("officer.registered", {"officer_id": officer_id, "name": name, "body_id": body["body_id"],
                                           "roles": list(roles),
                                           "certificate_no": f"CERT-{officer_id}" if certificate else None},
                    body, when)


def certificate(body, officer_id, status, effective: dt.datetime):
    return envelope("certificate.status_changed", {"certificate_no": f"CERT-{officer_id}", "officer_id": officer_id,
                                                   "status": status, "effective_from": effective.isoformat()},
                    body, effective)


def power(body, code, when):
    return envelope("power.published", {"matter_code": code, "name": "行政检查事项", "action_type": "inspection",
                                        "legal_basis": "有关法律", "body_id": body["body_id"],
                                        "published_on": when.date().isoformat()}, body, when)


def training(body, officer_id, hours, on: dt.date, n=1):
    return envelope("training.recorded", {"record_id": f"TR-{officer_id}-{n}", "officer_id": officer_id,
                                          "course": "行政执法人员公共法律知识培训", "hours": str(hours),
                                          "completed_on": on.isoformat()}, body,
                    dt.datetime.combine(on, dt.time(17), CHINA))


def complaint(event_type, body, number, when, **payload):
    base = {"number": number, "subject_body_id": body["body_id"]}
    if event_type == "complaint.registered":
        base.update({"channel": "hotline_12345", "acknowledge_due": (when + dt.timedelta(days=7)).date().isoformat(),
                     "due_provisional": False})
    if event_type == "complaint.acknowledged":
        base.update({"channel": "hotline_12345", "decision": "accepted", "on_time": True,
                     "acknowledge_due": (when + dt.timedelta(days=3)).date().isoformat(),
                     "decided_on": when.date().isoformat(), "handler_unit_id": body["body_id"],
                     "handler_region_code": body["region_code"]})
    if event_type == "complaint.concluded":
        base.update({"on_time": True, "concluded_on": when.date().isoformat(), "officer_ids": []})
    base.update(payload)
    return envelope(event_type, base, body, when, None, "zhifa.complaints")


def gaps_found(body, case_id, when):
    return envelope("record.gaps_found", {
        "gaps": [{"code": "prior_notice", "description": "缺少行政处罚事先告知书", "stage": "decision"}],
        "open_gap_codes": ["prior_notice"]}, body, when, case_id, "zhifa.records")


def challenged(body, case_id, by, when):
    return envelope("decision.challenged", {"by": by, "filed_at": when.isoformat()}, body, when, case_id)


def revoked(body, case_id, by, when):
    return envelope("decision.revoked", {"reason": "revoked", "by": by, "decided_at": when.isoformat()},
                    body, when, case_id)


def generate() -> dict[str, list[tuple[str, dict]]]:
    """Three phases of (source, envelope): registry, decisions, everything that follows."""
    registry, decisions, rest = [], [], []
    dep = lambda e: ("departments", e)  # noqa: E731

    # -- registry --
    jan24, jan25 = at(2024, 1, 10), at(2025, 1, 6)
    registry += [dep(body_registered(B, jan24)), dep(officer_registered(B, "b1", "陈一", jan24)),
                 dep(officer_registered(B, "b2", "陈二", jan24)),
                 dep(certificate(B, "b2", "suspended", at(2024, 3, 1, 0))),
                 dep(certificate(B, "b2", "valid", at(2024, 12, 1, 0))),
                 dep(certificate(B, "b2", "suspended", at(2025, 6, 1, 0)))]
    for body in (A, C, D, E):
        registry.append(dep(body_registered(body, jan25)))
    registry += [dep(officer_registered(A, "a1", "王一", jan25)), dep(officer_registered(A, "a2", "王二", jan25)),
                 dep(officer_registered(A, "ar", "王审", jan25, roles=("legal_reviewer",), certificate=False)),
                 dep(officer_registered(C, "c1", "李一", jan25)), dep(officer_registered(C, "c2", "李二", jan25)),
                 dep(officer_registered(C, "cr", "李审", jan25, roles=("legal_reviewer",), certificate=False)),
                 dep(power(D, "WS-01", jan25)), dep(power(E, "TY-01", jan25))]

    def case(body, prefix, n, when, officers, major=False, bypass=False, on_time=True):
        case_id = f"{body['body_id']}-{prefix}-{n:02d}"     # in the body's namespace (SEC-2)
        decisions.append(dep(decision(body, case_id, when, officers, f"{prefix}〔2025〕{n}号")))
        rest.append(("disclosure", published(body, case_id, when, on_time)))
        if major:
            rest.append(("review", classified(body, case_id, when - dt.timedelta(days=3))))
            rest.append(("review", bypassed(body, case_id, when) if bypass
                         else approved(body, case_id, when - dt.timedelta(days=1))))
        return case_id

    # -- body A: 10 decisions, 2 major approved --
    for n in range(1, 11):
        case(A, "WJSJ", n, at(2025, n, 12), ["a1", "a2"], major=n in (2, 6))
    # -- body B: 8 decisions; B-05 bypassed; B-07/B-08 by the suspended b2; B-08 published late --
    for n in range(1, 7):
        case(B, "XBZR", n, at(2025, 1 + n // 2, 5 + n), ["b1", "b2"], major=n in (3, 5), bypass=n == 5)
    case(B, "XBZR", 7, at(2025, 7, 15), ["b2"])
    case(B, "XBZR", 8, at(2025, 8, 20), ["b2"], on_time=False)
    decisions.append(dep(decision(B, "320411-ZRZY-XBZR-2024-01", at(2024, 5, 10), ["b2"], "新自然资罚〔2024〕1号")))
    # two more 2024 decisions of b2 while the certificate was valid: enough evidence for a 2024 grade (issue 16)
    decisions.append(dep(decision(B, "320411-ZRZY-XBZR-2024-02", at(2024, 2, 10), ["b2"], "新自然资罚〔2024〕2号")))
    decisions.append(dep(decision(B, "320411-ZRZY-XBZR-2024-03", at(2024, 12, 10), ["b2"], "新自然资罚〔2024〕3号")))
    # -- body C: 20 decisions, 4 major approved, one published late --
    for n in range(1, 21):
        case(C, "CZCG", n, at(2025, 1 + (n - 1) // 2, 3 + n), ["c1", "c2"], major=n in (1, 5, 10, 15),
             on_time=n != 20)
    rest += [("records", gaps_found(C, "320400-CGJ-CZCG-05", at(2025, 4, 2))),
             dep(challenged(C, "320400-CGJ-CZCG-02", "litigation", at(2025, 4, 1))),
             dep(challenged(C, "320400-CGJ-CZCG-03", "reconsideration", at(2025, 4, 8))),
             dep(revoked(C, "320400-CGJ-CZCG-03", "reconsideration", at(2025, 6, 8)))]

    # -- complaints --
    rest += [("complaints", complaint("complaint.registered", A, "320412-2025-0001", at(2025, 3, 1))),
             ("complaints", complaint("complaint.acknowledged", A, "320412-2025-0001", at(2025, 3, 3))),
             ("complaints", complaint("complaint.concluded", A, "320412-2025-0001", at(2025, 3, 20), upheld=False)),
             ("complaints", complaint("complaint.rated", A, "320412-2025-0001", at(2025, 3, 21), rating=5)),
             ("complaints", complaint("complaint.registered", B, "320411-2025-0001", at(2025, 4, 1))),
             ("complaints", complaint("complaint.acknowledged", B, "320411-2025-0001", at(2025, 4, 2)))]
    for i, (upheld, rating) in enumerate(((True, 4), (False, 5), (None, None)), start=1):
        number = f"320400-2025-000{i}"
        rest += [("complaints", complaint("complaint.registered", C, number, at(2025, 5, i))),
                 ("complaints", complaint("complaint.acknowledged", C, number, at(2025, 5, i + 2)))]
        if upheld is not None:
            rest.append(("complaints", complaint("complaint.concluded", C, number, at(2025, 6, i), upheld=upheld,
                                                 officer_ids=["c1"] if upheld else [])))
            rest.append(("complaints", complaint("complaint.rated", C, number, at(2025, 6, i + 1), rating=rating)))

    # -- training, zero-enforcement explanation --
    for body, officer, hours in ((A, "a1", 60), (A, "a2", 30), (B, "b1", 60), (B, "b2", 45), (C, "c1", 60),
                                 (C, "c2", 60)):
        rest.append(dep(training(body, officer, hours, dt.date(2025, 9, 10))))
    rest.append(dep(envelope("zero_enforcement.explained", {
        "year": 2025, "explanation": "本年度辖区内未发现需要立案查处的体育经营违法行为，已开展日常巡查。",
        "explained_on": "2025-12-20"}, E, at(2025, 12, 20))))
    return {"registry": registry, "decisions": decisions, "rest": rest}


def publish(amqp_uri: str, items: list[tuple[str, dict]]) -> None:
    """Publish each envelope to ``<source>.events`` as the departmental system or zhifa service would."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())
        for source, env in items:
            producer.publish(json.dumps(env, ensure_ascii=False).encode(), exchange=events_exchange(source),
                             routing_key=env["event_type"], content_type="application/json",
                             content_encoding="utf-8", delivery_mode=2, mandatory=True,
                             user_id=amqp_user(amqp_uri))   # the suite's own user (trusted)
