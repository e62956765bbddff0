"""Builders of departmental events for tests (valid envelopes, realistic payloads)."""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from services.common.identifiers import resident_id_check_char, uscc_check_char

CHINA = dt.timezone(dt.timedelta(hours=8))
BODY = {"region_code": "320412", "body_id": "320412-SCJG", "system": "wj-scjg-system"}


def resident_id(first17: str = "32041219850314123") -> str:
    return first17 + resident_id_check_char(first17)


def uscc(first17: str = "91320412MA1X2Y3B4") -> str:
    return first17 + uscc_check_char(first17)


def case_id(local: str, body: dict = BODY) -> str:
    """A case id in ``body``'s namespace (SEC-2: a case belongs to the body its id starts with)."""
    return f"{body['body_id']}-{local}"


def envelope(event_type: str, payload: dict, case_id: str | None = None, body: dict = BODY,
             event_id: str | None = None, at: dt.datetime | None = None) -> dict:
    return {"event_id": event_id or str(uuid.uuid4()), "event_type": event_type, "schema_version": "1.0",
            "occurred_at": (at or dt.datetime.now(CHINA)).isoformat(), "source_system": body["system"],
            "region_code": body["region_code"], "body_id": body["body_id"], "case_id": case_id, "payload": payload}


def natural_party(name="张三丰"):
    return {"party_kind": "natural", "name": name, "id_type": "resident_id", "id_number": resident_id(),
            "phone": "13912345678", "address": "常州市武进区湖塘镇花园街18号"}


def legal_party(name="常州市顺达机械有限公司"):
    return {"party_kind": "legal", "name": name, "id_type": "uscc", "id_number": uscc(), "is_private_enterprise": True}


def sm3(text: str) -> str:
    return hashlib.new("sm3", text.encode()).hexdigest()


def case_opened(case_id: str, party=None, **kw):
    now = kw.get("at") or dt.datetime.now(CHINA)     # opened when it occurred
    return envelope("case.opened", {"action_type": "penalty", "matter_code": "SC-0101", "title": "涉嫌销售不合格食品案",
                                    "parties": [party or natural_party()], "officer_ids": ["o-1", "o-2"],
                                    "opened_at": now.isoformat()}, case_id, **kw)


def evidence(case_id: str, n: int = 1, **kw):
    now = dt.datetime.now(CHINA)
    return envelope("evidence.recorded", {
        "record_id": f"{case_id}-R{n}", "stage": "investigation", "record_kind": "audio_visual",
        "document_type": "on_site_av", "title": "现场执法记录仪视频", "device": "DSJ-V9",
        "content_hash": sm3(f"{case_id}-{n}"), "officer_ids": ["o-1", "o-2"], "recorded_at": now.isoformat(),
        "started_at": now.isoformat(), "ended_at": (now + dt.timedelta(minutes=10)).isoformat()}, case_id, **kw)


def decision_proposed(case_id: str, fine="200000.00", party=None, version=1, **kw):
    return envelope("decision.proposed", {
        "version": version, "action_type": "penalty", "matter_code": "SC-0101", "field": "market_regulation",
        "parties": [party or legal_party()], "fine_amount": fine, "officer_ids": ["o-1", "o-2"],
        "summary": "拟处罚款", "proposed_at": dt.datetime.now(CHINA).isoformat(), "submitted_by": "o-1"},
        case_id, **kw)


def decision_made(case_id: str, party=None, version=1, fine="200000.00", facts=None, **kw):
    party = party or natural_party()
    return envelope("decision.made", {
        "version": version, "decision_no": "武市监罚〔2026〕88号", "action_type": "penalty", "matter_code": "SC-0101",
        "category": "销售不符合食品安全标准的食品", "parties": [party],
        "facts": facts or f"当事人{party['name']}，身份证号{party['id_number']}，联系电话13912345678，"
                          f"住常州市武进区湖塘镇花园街18号，销售过期食品。",
        "legal_basis": "《中华人民共和国食品安全法》第一百二十四条", "conclusion": f"罚款人民币{fine}元",
        "fine_amount": fine, "decided_at": dt.datetime.now(CHINA).isoformat(), "officer_ids": ["o-1", "o-2"]},
        case_id, **kw)


def decision_served(case_id: str, **kw):
    return envelope("decision.served", {"served_at": dt.datetime.now(CHINA).isoformat(), "method": "direct"},
                    case_id, **kw)


def case_transferred(case_id: str, to: dict, kind="transfer", reason="不属于本机关管辖，依法移送", **kw):
    return envelope("case.transferred", {"to_body_id": to["body_id"], "to_region_code": to["region_code"],
                                         "kind": kind, "reason": reason,
                                         "basis": "《市场监督管理行政处罚程序规定》第十五条"}, case_id, **kw)


def case_archived(case_id: str, at: dt.datetime | None = None, **kw):
    moment = at or dt.datetime.now(CHINA)
    return envelope("case.archived", {"archived_at": moment.isoformat(), "archive_no": f"档{case_id[-5:]}"},
                    case_id, at=moment, **kw)


def complaint_submitted(subject_body="320412-SCJG", **kw):
    return envelope("complaint.submitted", {
        "channel": "hotline_12345", "complainant": {"name": "李四", "phone": "13800001111"},
        "subject": {"body_id": subject_body}, "request": "请求查处执法人员不出示证件的行为",
        "facts": "执法人员检查时未出示执法证件。", "received_at": dt.datetime.now(CHINA).isoformat()},
        body={"region_code": "320412", "body_id": "320400-12345", "system": "changzhou-12345"}, **kw)


# --- the realistic case mix (issue 17; bench/suite_mixed.py and the chaos suite, tests/chaos) ---------------

def case_script(case_id: str, rng):
    """One case's events, in order: opened, 2–3 evidence, and for half of the cases the decision path."""
    def now():
        return dt.datetime.now(CHINA)

    yield case_opened(case_id)
    for n in range(3 if rng.random() < 0.35 else 2):
        yield evidence(case_id, n=n)
    if rng.random() < 0.5:
        return
    if rng.random() < 2 / 17:
        yield envelope("hearing.held", {"hearing_id": f"{case_id}-H1", "held_at": now().isoformat(),
                                        "officer_ids": ["o-1", "o-2"]}, case_id)
    fine = "200000.00" if rng.random() < 0.1 else "2000.00"
    yield decision_proposed(case_id, fine=fine)
    yield decision_made(case_id, fine=fine)
    yield decision_served(case_id)
    yield envelope("decision.executed", {"executed_at": now().isoformat(), "manner": "当事人自觉履行，已缴纳罚款"},
                   case_id)
    yield case_archived(case_id)


class Mix:
    """An endless interleaved stream of case events (and a registry event every 200) — per 100 events
    ~17 case.opened, ~40 evidence.recorded, ~8.5 each of decision.proposed / made / served / executed
    and case.archived, ~1 hearing.held. Cases are interleaved (``open_cases`` open at a time), each
    case's events in order. ``body_every`` > 0 adds a body.registered of the body every that many
    events (its consumers include complaints, which the case events do not reach)."""

    def __init__(self, seed: int, prefix: str, open_cases: int = 300, body_every: int = 0):
        import random

        self.rng = random.Random(seed)
        self.prefix = prefix
        self.body_every = body_every
        self.k = 0
        self.n = 0
        self.open = [self._new() for _ in range(open_cases)]

    def _new(self):
        self.k += 1
        return case_script(case_id(f"{self.prefix}-{self.k}"), self.rng)

    def next(self) -> dict:
        self.n += 1
        if self.n % 200 == 0:
            return envelope("officer.registered", {
                "officer_id": f"o-{self.n // 200 % 50 + 1}", "name": "王执法", "body_id": BODY["body_id"],
                "roles": ["officer"], "certificate_no": f"JS{self.n:08d}"})
        if self.body_every and self.n % self.body_every == 0:
            return envelope("body.registered", {"body_id": BODY["body_id"], "name": "常州市武进区市场监督管理局",
                                                "kind": "department", "region_code": BODY["region_code"],
                                                "field": "市场监管", "superior_body_id": "320400-SCJG"})
        while True:
            i = self.rng.randrange(len(self.open))
            found = next(self.open[i], None)
            if found is not None:
                return found
            self.open[i] = self._new()
