"""Builders shared by the complaints domain tests, plus the model's own contract checks (CMP-2)."""
from __future__ import annotations

import datetime as dt

import pytest

from services.complaints.domain import (CHINA_TZ, BodyKind, BodyRef, Channel, Complainant, Complaint, ComplaintFlags,
                                        ComplaintRecord, Handler, Subject, hash_query_code)

ID_NUMBER = "320412199001011231"  # valid GB 11643 check character
PHONE = "13812345678"
NAME = "王小明"
ADDRESS = "常州市武进区湖塘镇人民路88号5幢302室"
QUERY_CODE = "K7QM4WZP"
QUERY_HASH = hash_query_code(QUERY_CODE)  # scrypt is slow-ish: hash once per session


def at(y, m, d, hour=10, minute=0) -> dt.datetime:
    return dt.datetime(y, m, d, hour, minute, tzinfo=CHINA_TZ)


def subject(**over) -> Subject:
    base = dict(body_id="body-320412-scjg", body_kind=BodyKind.DEPARTMENT, body_region_code="320412",
                officer_ids=("officer-001",))
    base.update(over)
    return Subject(**base)


def complaint(**over) -> Complaint:
    base = dict(
        channel=Channel.PORTAL, region_code="320412",
        complainant=Complainant(NAME, PHONE, ID_NUMBER, ADDRESS),
        subject=subject(),
        request="要求撤销罚款决定并退还罚款",
        facts="2026年9月1日区市场监管局执法人员检查我的门店后当场罚款五千元，未告知陈述申辩权利，也未出具处罚决定书。",
        received_at=at(2026, 9, 30),
        case_id="case-2026-0901",
    )
    base.update(over)
    return Complaint(**base)


def record(c: Complaint | None = None, number="320412-2026-000123", handler=None, when=None) -> ComplaintRecord:
    c = c or complaint()
    handler = handler or Handler("unit-320412-sfj", "320412", "武进区司法局行政执法监督科")
    return ComplaintRecord.new(c, number, QUERY_HASH, handler, at=when or at(2026, 9, 30, 11), actor="handler-li")


def test_cmp2_model_rejects_invalid_region_codes():
    with pytest.raises(ValueError):
        complaint(region_code="32041")
    with pytest.raises(ValueError):
        subject(body_region_code="999")
    with pytest.raises(ValueError):
        BodyRef("b", "00ABCD")


def test_cmp2_model_coerces_enums_and_reads_received_day_in_china_time():
    c = complaint(channel="hotline_12345",
                  received_at=dt.datetime(2026, 9, 30, 17, 30, tzinfo=dt.timezone.utc))  # = 10-01 01:30 CST
    assert c.channel is Channel.HOTLINE_12345
    assert c.channel.label == "12345热线"
    assert c.received_on == dt.date(2026, 10, 1)
    assert complaint(flags=ComplaintFlags(against_private_enterprise=True)).flags.against_private_enterprise
