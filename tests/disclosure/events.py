"""Event builders for the disclosure tests (departmental registry and decisions)."""
from __future__ import annotations

import datetime as dt

from services.common.ownership import in_namespace
from tests.integration import events as ev

CHINA = ev.CHINA
BODY = ev.BODY  # 320412-SCJG, region 320412
OTHER_BODY = {"region_code": "320105", "body_id": "320105-YJ", "system": "nj-yj-system"}


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=CHINA)


def body_registered(body=BODY, name="常州市武进区市场监督管理局", superior="320400-SCJG", when=None, **extra):
    payload = {"body_id": body["body_id"], "name": name, "kind": "department", "region_code": body["region_code"],
               "field": "市场监管", "superior_body_id": superior, **extra}
    return ev.envelope("body.registered", payload, body=body, at=when)


def officer_registered(officer_id="o-1", name="陈建国", certificate_no="32041200123", body=BODY, when=None):
    return ev.envelope("officer.registered", {"officer_id": officer_id, "name": name, "body_id": body["body_id"],
                                              "roles": ["officer"], "certificate_no": certificate_no,
                                              "field": "市场监管"}, body=body, at=when)


def certificate_changed(certificate_no, status, since: dt.datetime, officer_id="o-1", body=BODY, reason=None):
    return ev.envelope("certificate.status_changed", {"certificate_no": certificate_no, "officer_id": officer_id,
                                                      "status": status, "effective_from": since.isoformat(),
                                                      "reason": reason}, body=body)


def power_published(matter_code, name, legal_basis, published_on: dt.date, body=BODY, action="penalty",
                    basis_changed_on=None, version=1):
    return ev.envelope("power.published", {"matter_code": matter_code, "name": name, "action_type": action,
                                           "legal_basis": legal_basis, "body_id": body["body_id"], "level": "county",
                                           "version": version, "published_on": published_on.isoformat(),
                                           "basis_changed_on": basis_changed_on.isoformat() if basis_changed_on else None},
                       body=body)


def _own(case_id: str, body: dict) -> str:
    """The tests' short case ids, in the sending body's namespace (SEC-2: a case id starts with its body's id)."""
    return case_id if in_namespace(body["body_id"], case_id) else ev.case_id(case_id, body)


def decision(case_id, *, parties, facts, decided_at=None, action="penalty", category="销售不符合食品安全标准的食品",
             conclusion="罚款人民币5000元", fine="5000.00", legal_basis="《中华人民共和国食品安全法》第一百二十四条",
             decision_no=None, version=1, secrecy="none", body=BODY, override=None):
    payload = {"version": version, "decision_no": decision_no or f"武市监罚〔2026〕{abs(hash(case_id)) % 900 + 10}号",
               "action_type": action, "matter_code": "SC-0101", "category": category, "parties": parties,
               "facts": facts, "legal_basis": legal_basis, "conclusion": conclusion, "fine_amount": fine,
               "decided_at": (decided_at or dt.datetime.now(CHINA)).isoformat(), "secrecy": secrecy,
               "officer_ids": ["o-1", "o-2"]}
    if override is not None:
        payload["publication_period_override"] = override
    return ev.envelope("decision.made", payload, _own(case_id, body), body=body)


def revoked(case_id, reason="revoked", by="reconsideration", note="武政复决字〔2026〕5号", body=BODY):
    return ev.envelope("decision.revoked", {"reason": reason, "by": by, "note": note,
                                            "decided_at": dt.datetime.now(CHINA).isoformat()}, _own(case_id, body), body=body)
