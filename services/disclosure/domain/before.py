"""Before-enforcement information (事前公开) and credential verification (事中公示) — DISC-1, DISC-2, PLAT-4.

- Versioned public items (bodies, officers' public fields, power-list entries, service guides,
  remedy channels, random-inspection matters): every change makes a new version; :func:`in_force` says
  which one was public on a day, so the current and all historical versions stay queryable (DISC-1).
- :func:`stale_powers`: a power-list entry whose legal basis changed must be updated and published
  within one month (法律依据变化后一个月内更新公布, PLAT-4; config period ``powers_list.update``).
- :func:`verify_certificate`: the public checks an officer's enforcement certificate (执法证件) by number
  or by the QR code the gateway renders (services/common/qr.py) — DISC-2.
"""
from __future__ import annotations

import calendar as _calendar
import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol, Sequence

from services.common.periods import Period, load_periods

from .model import ActionType


# --- public item kinds --------------------------------------------------------------------------
class ItemKind(str, enum.Enum):
    BODY = "body"  # 执法主体
    OFFICER = "officer"  # 执法人员
    POWER = "power"  # 权责清单 / 执法事项目录
    SERVICE_GUIDE = "service_guide"  # 服务指南、流程图
    REMEDY_CHANNEL = "remedy_channel"  # 救济渠道
    INSPECTION_MATTER = "inspection_matter"  # 随机抽查事项清单

    @property
    def label_zh(self) -> str:
        return {"body": "执法主体", "officer": "执法人员", "power": "权责清单事项", "service_guide": "服务指南",
                "remedy_channel": "救济渠道", "inspection_matter": "随机抽查事项"}[self.value]


@dataclass(frozen=True)
class OfficerPublic:
    """An officer's PUBLIC fields only: name, certificate number, body, field (执法领域).

    Never ID number or phone — build it with :func:`officer_public_record`.
    """

    name: str
    certificate_no: str
    body_name: str
    enforcement_field: str


OFFICER_PUBLIC_FIELDS = ("name", "certificate_no", "body_name", "enforcement_field")


def officer_public_record(raw: Mapping[str, Any]) -> OfficerPublic:
    """Keep only the public fields of an officer record (drops id_number, phone, address …)."""
    values = {k: str(raw.get(k) or "").strip() for k in OFFICER_PUBLIC_FIELDS}
    if not values["enforcement_field"]:
        values["enforcement_field"] = str(raw.get("field") or "").strip()
    missing = [k for k in ("name", "certificate_no", "body_name") if not values[k]]
    if missing:
        raise ValueError(f"officer record lacks public fields: {', '.join(missing)}")
    return OfficerPublic(**values)


@dataclass(frozen=True)
class PowerEntry:
    """An entry of the power and responsibility list (权责清单 / 行政执法事项目录) — PLAT-4."""

    matter_code: str
    matter_name: str
    action_type: ActionType
    legal_basis: str
    body_name: str
    level_jurisdiction: str  # 级别管辖, e.g. 市级 / 县级
    updated_on: dt.date  # when this entry was last updated and published
    basis_changed_on: dt.date | None = None  # when its legal basis last changed


@dataclass(frozen=True)
class ServiceGuide:
    """办事指南: matter name, accepting and approving body, conditions, time limit, flow chart."""

    matter_name: str
    accepting_body: str
    approving_body: str
    conditions: str
    time_limit: str
    materials: str = ""
    flow_chart_url: str = ""


@dataclass(frozen=True)
class RemedyChannel:
    """救济渠道: 行政复议 / 行政诉讼 / 投诉举报, with where and within what time."""

    kind_zh: str
    body_name: str
    address: str
    phone: str
    time_limit_zh: str


@dataclass(frozen=True)
class InspectionMatter:
    """随机抽查事项: matter, basis, body, target scope, method, frequency."""

    matter_name: str
    legal_basis: str
    body_name: str
    target_scope: str
    method: str = ""
    frequency: str = ""


# --- versioning ---------------------------------------------------------------------------------
class Version(Protocol):
    """A stored version of a public item: in force from ``valid_from`` until the next version's;
    ``content`` None: the item was retired from that day."""

    version: int
    valid_from: dt.date
    content: Any


def in_force(versions: Iterable[Version], day: dt.date) -> Version | None:
    """The version of one item in force on ``day`` — the latest by (valid_from, version) that started by
    then — or None before the first version or when it was retired (DISC-1: every version is kept and a
    past day shows what was public then)."""
    found = None
    for v in sorted(versions, key=lambda v: (v.valid_from, v.version)):
        if v.valid_from <= day:
            found = v
    return found if found is not None and found.content is not None else None


# --- stale powers (PLAT-4) -------------------------------------------------------------------------
def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic; the day is clamped to the month's end (1月31日 + 1个月 = 2月28/29日)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def powers_update_months(periods: Mapping[str, Period | int] | None = None) -> int:
    spec = (periods if periods is not None else load_periods()).get("powers_list.update", 1)
    if isinstance(spec, Period):
        if spec.unit != "months":
            raise ValueError(f"powers_list.update must be counted in months, not {spec.unit}")
        return spec.value
    return int(spec)


@dataclass(frozen=True)
class StalePower:
    matter_code: str
    matter_name: str
    basis_changed_on: dt.date
    update_due: dt.date
    days_overdue: int
    message_zh: str


def stale_powers(entries: Iterable[PowerEntry], today: dt.date, months: int | None = None,
                 periods: Mapping[str, Period | int] | None = None) -> list[StalePower]:
    """Entries whose legal basis changed and which were not updated within one month — PLAT-4.

    An entry is stale when ``basis_changed_on`` is set, it has not been updated since
    (``updated_on < basis_changed_on``) and ``today`` is after ``basis_changed_on + months``.
    """
    months = powers_update_months(periods) if months is None else months
    found = []
    for e in entries:
        if e.basis_changed_on is None or e.updated_on >= e.basis_changed_on:
            continue
        due = add_months(e.basis_changed_on, months)
        if today > due:
            days = (today - due).days
            found.append(StalePower(e.matter_code, e.matter_name, e.basis_changed_on, due, days,
                                    f"“{e.matter_name}”的法律依据已于{e.basis_changed_on.isoformat()}变化，"
                                    f"应于{due.isoformat()}前更新公布，已逾期{days}天"))
    return sorted(found, key=lambda s: (s.update_due, s.matter_code))


# --- credentials (DISC-2, PLAT-3) ------------------------------------------------------------------
class CertificateState(str, enum.Enum):
    VALID = "valid"
    SUSPENDED = "suspended"  # 暂扣
    WITHDRAWN = "withdrawn"  # 收回
    CANCELLED = "cancelled"  # 注销

    @property
    def label_zh(self) -> str:
        return {"valid": "有效", "suspended": "暂扣", "withdrawn": "收回", "cancelled": "注销"}[self.value]


@dataclass(frozen=True)
class CertificateEvent:
    """One entry of a certificate's history: from ``since`` the certificate is in ``state``."""

    certificate_no: str
    state: CertificateState
    since: dt.date
    holder_name: str
    body_name: str
    enforcement_field: str = ""
    expires_on: dt.date | None = None  # 有效期至 (inclusive)


@dataclass(frozen=True)
class CredentialStatus:
    """Answer to the public's query (执法证件查询)."""

    certificate_no: str
    found: bool
    valid: bool
    status: str  # 有效 / 暂扣 / 收回 / 注销 / 已过期 / 未查询到该证件
    holder_name: str = ""
    body_name: str = ""
    enforcement_field: str = ""
    since: dt.date | None = None


def verify_certificate(certificate_no: str, certificate_history: Sequence[CertificateEvent],
                       today: dt.date) -> CredentialStatus:
    """Who holds ``certificate_no``, for which body, and is it valid today? — DISC-2.

    The latest event with ``since <= today`` decides (future-dated events are ignored).
    """
    number = (certificate_no or "").strip().upper()
    events = sorted((e for e in certificate_history
                     if e.certificate_no.strip().upper() == number and e.since <= today),
                    key=lambda e: e.since)
    if not events:
        return CredentialStatus(number, False, False, "未查询到该证件")
    e = events[-1]
    if e.state is CertificateState.VALID and e.expires_on is not None and today > e.expires_on:
        return CredentialStatus(number, True, False, "已过期", e.holder_name, e.body_name, e.enforcement_field,
                                e.expires_on + dt.timedelta(days=1))
    return CredentialStatus(number, True, e.state is CertificateState.VALID, e.state.label_zh, e.holder_name,
                            e.body_name, e.enforcement_field, e.since)
