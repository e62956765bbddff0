"""Vocabulary and input records of the disclosure domain (行政执法公示) — DISC-3, DISC-4, PLAT-5.

Departmental systems publish a ``decision.made`` event; the service maps its payload onto
:class:`Decision` (see :func:`decision_from_payload`) before any rule here runs.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Mapping

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config" / "disclosure"


class ActionType(str, enum.Enum):
    """Action types (行政执法行为类别) — PLAT-5."""

    PENALTY = "penalty"
    PERMIT = "permit"
    COERCIVE = "coercive"
    INSPECTION = "inspection"
    LEVY = "levy"
    REQUISITION = "requisition"
    BENEFIT = "benefit"
    CONFIRMATION = "confirmation"
    ADJUDICATION = "adjudication"
    COMPENSATION = "compensation"
    REWARD = "reward"

    @property
    def label_zh(self) -> str:
        return ACTION_TYPE_LABELS[self]


ACTION_TYPE_LABELS: dict[ActionType, str] = {
    ActionType.PENALTY: "行政处罚",
    ActionType.PERMIT: "行政许可",
    ActionType.COERCIVE: "行政强制",
    ActionType.INSPECTION: "行政检查",
    ActionType.LEVY: "行政征收",
    ActionType.REQUISITION: "行政征用",
    ActionType.BENEFIT: "行政给付",
    ActionType.CONFIRMATION: "行政确认",
    ActionType.ADJUDICATION: "行政裁决",
    ActionType.COMPENSATION: "行政补偿",
    ActionType.REWARD: "行政奖励",
}


class PartyKind(str, enum.Enum):
    """执法对象类型: 自然人 / 法人 / 其他组织."""

    NATURAL = "natural"
    LEGAL = "legal"
    OTHER = "other"


class IdType(str, enum.Enum):
    RESIDENT_ID = "resident_id"  # 居民身份证号码 (GB 11643)
    USCC = "uscc"  # 统一社会信用代码 (GB 32100)
    OTHER = "other"


class Secrecy(str, enum.Enum):
    """Secrecy marking of a decision (DISC-4): 国家秘密 / 商业秘密 / 个人隐私."""

    NONE = "none"
    STATE_SECRET = "state_secret"
    COMMERCIAL_SECRET = "commercial_secret"
    PERSONAL_PRIVACY = "personal_privacy"


def parse_action_type(value: ActionType | str) -> ActionType:
    try:
        return value if isinstance(value, ActionType) else ActionType(str(value))
    except ValueError:
        allowed = ", ".join(a.value for a in ActionType)
        raise ValueError(f"unknown action_type {value!r}; expected one of: {allowed}") from None


@dataclass(frozen=True)
class Party:
    """A party (当事人 / 执法对象) of a decision."""

    party_kind: PartyKind
    name: str
    id_type: IdType = IdType.OTHER
    id_number: str = ""
    phone: str = ""
    address: str = ""
    is_private_enterprise: bool = False

    @property
    def is_natural(self) -> bool:
        return self.party_kind is PartyKind.NATURAL


@dataclass(frozen=True)
class Decision:
    """An enforcement decision (执法决定) as received in ``decision.made`` — DISC-3."""

    case_id: str
    decision_no: str  # 文书号, e.g. 宁市监罚〔2026〕123号
    version: int
    body_id: str
    body_name: str
    region_code: str
    action_type: ActionType
    category: str  # 违法行为类别 / 事项名称
    parties: tuple[Party, ...]
    facts: str
    legal_basis: str
    conclusion: str  # 处理结果
    decided_at: dt.date
    fine_amount: Decimal | None = None
    secrecy: Secrecy = Secrecy.NONE
    publication_period_override: int | None = None  # working days, where a law says otherwise

def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"fine_amount is not a number: {value!r}") from None


def party_from_payload(raw: Mapping[str, Any]) -> Party:
    return Party(
        party_kind=PartyKind(raw.get("party_kind", "natural")),
        name=str(raw.get("name") or "").strip(),
        id_type=IdType(raw.get("id_type") or "other"),
        id_number=str(raw.get("id_number") or "").strip(),
        phone=str(raw.get("phone") or "").strip(),
        address=str(raw.get("address") or "").strip(),
        is_private_enterprise=bool(raw.get("is_private_enterprise", False)),
    )


def decision_from_payload(payload: Mapping[str, Any]) -> Decision:
    """Map a ``decision.made`` payload (plain dict) onto :class:`Decision`; raises ValueError."""
    missing = [k for k in ("case_id", "decision_no", "body_id", "body_name", "action_type", "decided_at")
               if not payload.get(k)]
    if missing:
        raise ValueError(f"decision.made payload lacks: {', '.join(missing)}")
    override = payload.get("publication_period_override")
    return Decision(
        case_id=str(payload["case_id"]),
        decision_no=str(payload["decision_no"]),
        version=int(payload.get("version") or 1),
        body_id=str(payload["body_id"]),
        body_name=str(payload["body_name"]),
        region_code=str(payload.get("region_code") or ""),
        action_type=parse_action_type(payload["action_type"]),
        category=str(payload.get("category") or ""),
        parties=tuple(party_from_payload(p) for p in payload.get("parties") or ()),
        facts=str(payload.get("facts") or ""),
        legal_basis=str(payload.get("legal_basis") or ""),
        conclusion=str(payload.get("conclusion") or ""),
        decided_at=_as_date(payload["decided_at"]),
        fine_amount=_as_decimal(payload.get("fine_amount")),
        secrecy=Secrecy(payload.get("secrecy") or "none"),
        publication_period_override=int(override) if override not in (None, "") else None,
    )
