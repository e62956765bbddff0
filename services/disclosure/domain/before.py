"""Before-enforcement information (事前公开) and credential verification (事中公示) — DISC-1, DISC-2, PLAT-4.

- Versioned public items (bodies, officers' public fields, power-list entries, service guides,
  remedy channels, random-inspection matters): every change makes a new version; the current and all
  historical versions stay queryable (kept current as laws and bodies change — DISC-1).
- :func:`stale_powers`: a power-list entry whose legal basis changed must be updated and published
  within one month (法律依据变化后一个月内更新公布, PLAT-4; config period ``powers_list.update``).
- :func:`verify_certificate`: the public checks an officer's enforcement certificate (执法证件) by number
  or by the QR code the gateway renders (services/common/qr.py) — DISC-2.
"""
from __future__ import annotations

import calendar as _calendar
import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

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


class BodyKind(str, enum.Enum):
    """执法主体类型 (PLAT-2)."""

    DEPARTMENT = "department"  # 行政机关
    AUTHORISED = "authorised"  # 法律法规授权组织
    ENTRUSTED = "entrusted"  # 受委托组织


@dataclass(frozen=True)
class BodyInfo:
    body_id: str
    name: str
    body_kind: BodyKind
    region_code: str
    duties: str  # 职责
    address: str = ""  # office address (public)
    phone: str = ""  # office phone (public, institutional)
    entrusting_body: str = ""  # 委托机关 (entrusted organisations)
    entrustment_basis: str = ""


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


_CONTENT_TYPES: dict[ItemKind, type] = {
    ItemKind.BODY: BodyInfo, ItemKind.OFFICER: OfficerPublic, ItemKind.POWER: PowerEntry,
    ItemKind.SERVICE_GUIDE: ServiceGuide, ItemKind.REMEDY_CHANNEL: RemedyChannel,
    ItemKind.INSPECTION_MATTER: InspectionMatter,
}


# --- versioning ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemVersion:
    kind: ItemKind
    item_id: str
    version: int
    content: Any  # one of the dataclasses above, or None when the item was retired
    valid_from: dt.date
    valid_to: dt.date | None  # exclusive; None = current
    reason_zh: str

    @property
    def retired(self) -> bool:
        return self.content is None


@dataclass
class BeforeRegister:
    """Versioned register of before-information (事前公开信息库), all versions kept — DISC-1.

    Pure in-memory structure; the service persists ``versions``.
    """

    versions: dict[tuple[ItemKind, str], list[ItemVersion]] = field(default_factory=dict)

    def put(self, kind: ItemKind, item_id: str, content: Any, effective_on: dt.date, reason_zh: str) -> ItemVersion:
        """Add a new version effective from ``effective_on``; the previous one ends that day."""
        expected = _CONTENT_TYPES[kind]
        if not isinstance(content, expected):
            raise TypeError(f"{kind.value} content must be {expected.__name__}, not {type(content).__name__}")
        return self._append(kind, item_id, content, effective_on, reason_zh)

    def retire(self, kind: ItemKind, item_id: str, effective_on: dt.date, reason_zh: str) -> ItemVersion:
        """The item no longer exists from ``effective_on`` (e.g. a power abolished); history is kept."""
        if not self.versions.get((kind, item_id)):
            raise KeyError(f"no {kind.value} {item_id!r}")
        return self._append(kind, item_id, None, effective_on, reason_zh)

    def _append(self, kind, item_id, content, effective_on, reason_zh) -> ItemVersion:
        if not (reason_zh or "").strip():
            raise ValueError("a change of public information needs a reason (变更原因)")
        history = self.versions.setdefault((kind, item_id), [])
        if history:
            last = history[-1]
            if effective_on <= last.valid_from:
                raise ValueError(f"{kind.value} {item_id}: new version must start after {last.valid_from}")
            history[-1] = ItemVersion(last.kind, last.item_id, last.version, last.content, last.valid_from,
                                      effective_on, last.reason_zh)
        version = ItemVersion(kind, item_id, len(history) + 1, content, effective_on, None, reason_zh.strip())
        history.append(version)
        return version

    def as_of(self, kind: ItemKind, item_id: str, day: dt.date) -> ItemVersion | None:
        """The version in force on ``day`` (None before the first version or when retired)."""
        for v in self.versions.get((kind, item_id), []):
            if v.valid_from <= day and (v.valid_to is None or day < v.valid_to):
                return None if v.retired else v
        return None

    def current(self, kind: ItemKind, item_id: str, today: dt.date) -> ItemVersion | None:
        return self.as_of(kind, item_id, today)

    def history(self, kind: ItemKind, item_id: str) -> tuple[ItemVersion, ...]:
        return tuple(self.versions.get((kind, item_id), ()))

    def current_items(self, kind: ItemKind, today: dt.date) -> list[ItemVersion]:
        """All items of ``kind`` in force on ``today``, ordered by item id."""
        found = (self.as_of(k, i, today) for (k, i) in self.versions if k is kind)
        return sorted((v for v in found if v is not None), key=lambda v: v.item_id)


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
