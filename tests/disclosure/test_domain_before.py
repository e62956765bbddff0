"""DISC-1 before-information (versioned), PLAT-4 stale powers, DISC-2 credential verification and QR."""
import datetime as dt

import pytest

from services.disclosure.domain.before import (
    CertificateEvent, CertificateState, OfficerPublic, PowerEntry, add_months, in_force, officer_public_record,
    stale_powers, verify_certificate)
from services.disclosure.domain.model import ActionType
from services.disclosure.models import BeforeItem

D = dt.date


def power(code, changed=None, updated=D(2025, 6, 1)):
    return PowerEntry(code, f"事项{code}", ActionType.PENALTY, "《食品安全法》第一百二十二条",
                      "南京市市场监督管理局", "市级", updated_on=updated, basis_changed_on=changed)


def test_plat4_stale_powers_after_one_calendar_month():
    entries = [power("A", changed=D(2026, 1, 31)),                          # due 2026-02-28
               power("B", changed=D(2026, 1, 31), updated=D(2026, 2, 20)),  # updated in time
               power("C"),                                                  # basis unchanged
               power("D", changed=D(2026, 2, 15))]                          # due 2026-03-15
    assert stale_powers(entries, D(2026, 2, 28)) == []
    flagged = stale_powers(entries, D(2026, 3, 1))
    assert [(s.matter_code, s.update_due, s.days_overdue) for s in flagged] == [("A", D(2026, 2, 28), 1)]
    flagged = stale_powers(entries, D(2026, 3, 16))
    assert [(s.matter_code, s.days_overdue) for s in flagged] == [("A", 16), ("D", 1)]
    assert flagged[0].message_zh == "“事项A”的法律依据已于2026-01-31变化，应于2026-02-28前更新公布，已逾期16天"
    assert [s.matter_code for s in stale_powers(entries, D(2026, 3, 16), months=2)] == []


@pytest.mark.parametrize("day, months, expected", [
    (D(2026, 1, 31), 1, D(2026, 2, 28)), (D(2028, 1, 31), 1, D(2028, 2, 29)),
    (D(2026, 12, 15), 1, D(2027, 1, 15)), (D(2026, 3, 31), 1, D(2026, 4, 30))])
def test_plat4_add_months(day, months, expected):
    assert add_months(day, months) == expected


def test_disc1_the_version_in_force_on_a_day_history_kept():
    """The rule the register applies to its stored versions (services/disclosure/register.py: the portal's
    current page, a past day's page, the body list, stale powers): the latest version started by that day
    is public; an earlier day shows the earlier version; a retired item shows nothing; resends on one day
    are ordered by version number."""
    body = [BeforeItem(version=1, valid_from=D(2025, 1, 1), content={"name": "南京市市场监督管理局"}),
            BeforeItem(version=2, valid_from=D(2026, 4, 1), content={"name": "南京市市场监督管理局（南京市知识产权局）"})]
    assert in_force(body, D(2024, 12, 31)) is None
    assert in_force(body, D(2026, 3, 31)).content["name"] == "南京市市场监督管理局"
    assert in_force(reversed(body), D(2026, 4, 1)).version == 2                # stored order does not matter
    remedy = [BeforeItem(version=1, valid_from=D(2025, 1, 1), content={"kind_zh": "行政复议"}),
              BeforeItem(version=2, valid_from=D(2026, 1, 1), content=None)]    # retired
    assert in_force(remedy, D(2025, 12, 31)).version == 1 and in_force(remedy, D(2026, 1, 2)) is None
    same_day = [BeforeItem(version=3, valid_from=D(2026, 5, 1), content={"v": 3}),
                BeforeItem(version=2, valid_from=D(2026, 5, 1), content={"v": 2})]
    assert in_force(same_day, D(2026, 5, 1)).content == {"v": 3}


def test_disc1_officer_public_fields_only():
    raw = {"name": "李执法", "certificate_no": "32010020230001", "body_name": "南京市市场监督管理局",
           "field": "市场监管", "id_number": "320102198503121234", "phone": "13812345678"}
    officer = officer_public_record(raw)
    assert officer == OfficerPublic("李执法", "32010020230001", "南京市市场监督管理局", "市场监管")
    assert "13812345678" not in repr(officer) and "320102198503121234" not in repr(officer)
    with pytest.raises(ValueError):
        officer_public_record({"name": "李执法"})


HISTORY = [
    CertificateEvent("32010020230001", CertificateState.VALID, D(2023, 3, 1), "李执法", "南京市市场监督管理局",
                     "市场监管", expires_on=D(2029, 2, 28)),
    CertificateEvent("32010020230001", CertificateState.SUSPENDED, D(2026, 5, 10), "李执法", "南京市市场监督管理局"),
    CertificateEvent("32010020230001", CertificateState.VALID, D(2026, 8, 10), "李执法", "南京市市场监督管理局",
                     expires_on=D(2029, 2, 28)),
    CertificateEvent("32010020230002", CertificateState.VALID, D(2020, 1, 1), "王执法", "南京市交通运输局",
                     expires_on=D(2025, 12, 31)),
    CertificateEvent("32010020230003", CertificateState.WITHDRAWN, D(2026, 2, 1), "赵执法", "南京市城市管理局"),
    CertificateEvent("32010020230004", CertificateState.CANCELLED, D(2026, 2, 1), "钱执法", "南京市城市管理局"),
]


@pytest.mark.parametrize("number, today, valid, status, since", [
    ("32010020230001", D(2026, 5, 9), True, "有效", D(2023, 3, 1)),
    ("32010020230001", D(2026, 5, 10), False, "暂扣", D(2026, 5, 10)),
    ("32010020230001", D(2026, 8, 10), True, "有效", D(2026, 8, 10)),
    ("32010020230002", D(2026, 1, 1), False, "已过期", D(2026, 1, 1)),
    ("32010020230003", D(2026, 6, 1), False, "收回", D(2026, 2, 1)),
    ("32010020230004", D(2026, 6, 1), False, "注销", D(2026, 2, 1)),
    ("32010020239999", D(2026, 6, 1), False, "未查询到该证件", None),
])
def test_disc2_verify_certificate(number, today, valid, status, since):
    s = verify_certificate(number, HISTORY, today)
    assert (s.valid, s.status, s.since) == (valid, status, since)
    if s.found:
        assert s.holder_name and s.body_name


