"""The proposed decision (拟作出的执法决定) as the review domain sees it — REQUIREMENTS REV-1, PLAT-5.

The service maps a ``decision.proposed`` event (envelope + payload) onto :class:`Proposal`
with :func:`proposal_from_payload`. Everything here is a plain, immutable value: no I/O.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field as dc_field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from services.common.events import ACTION_TYPE_NAMES_ZH, ACTION_TYPES
from services.common.identifiers import Tier, is_region_code, region_tier

__all__ = [
    "ACTION_TYPES", "ACTION_TYPE_NAMES_ZH", "FLAG_NAMES_ZH", "PARTY_KIND_NAMES_ZH", "MEASURE_NAMES_ZH",
    "PartyKind", "Party", "Flags", "Proposal", "proposal_from_payload", "to_decimal", "format_yuan",
]


class PartyKind(str, enum.Enum):
    """当事人类别: 自然人 natural person, 法人 legal person, 其他组织 other organisation."""

    NATURAL = "natural"
    LEGAL = "legal"
    OTHER = "other"


PARTY_KIND_NAMES_ZH = {"natural": "自然人", "legal": "法人", "other": "其他组织"}

#: The four flags a handling unit sets on a proposal (003 §四(十二)).
FLAG_NAMES_ZH = {
    "major_public_interest": "涉及重大公共利益",
    "social_risk": "可能造成重大社会影响或引发社会风险",
    "complex_legal_relations": "案件情况疑难复杂、涉及多个法律关系",
    "law_requires_review": "法律、法规、规章规定应当进行法制审核",
}

#: Chinese names of the measure codes departmental systems send (a catalogue may add its own
#: through ``measure_names``; unknown codes are shown as the code itself).
MEASURE_NAMES_ZH = {
    "revoke_licence": "吊销许可证件",
    "withdraw_permit": "撤销、撤回行政许可",
    "reduce_qualification": "降低资质等级",
    "order_closure": "责令关闭",
    "suspend_production": "责令停产停业",
    "restrict_production": "限制开展生产经营活动",
    "restrict_employment": "限制从业",
    "administrative_detention": "行政拘留",
    "detention_of_property": "查封、扣押场所、设施或者财物",
    "freeze_deposits": "冻结存款、汇款",
    "forced_demolition": "强制拆除",
    "continuous_daily_penalty": "按日连续处罚",
    "large_fine": "较大数额罚款",
    "confiscation_large": "没收较大数额违法所得、非法财物",
}


def to_decimal(value: Any, what: str = "amount") -> Decimal | None:
    """Money as :class:`Decimal` (yuan). ``None``/"" stay ``None``; floats go through ``str``."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected an amount in yuan, got a boolean")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what}: not a number: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{what}: must be a non-negative finite amount, got {value!r}")
    return amount


def format_yuan(amount: Decimal) -> str:
    """``Decimal('12000') -> '12000元'``, ``Decimal('12000.5') -> '12000.50元'``."""
    if amount == amount.to_integral_value():
        return f"{int(amount)}元"
    return f"{amount.quantize(Decimal('0.01'))}元"


@dataclass(frozen=True)
class Party:
    """当事人 of a proposed decision."""

    party_kind: PartyKind
    name: str = ""
    id_number: str | None = None
    is_private_enterprise: bool = False

    def __post_init__(self):
        object.__setattr__(self, "party_kind", PartyKind(self.party_kind))


@dataclass(frozen=True)
class Flags:
    """Flags set by the handling unit (承办机构): the non-quantitative REV-1 criteria."""

    major_public_interest: bool = False     # 涉及重大公共利益
    social_risk: bool = False               # 可能造成重大社会影响或引发社会风险
    complex_legal_relations: bool = False   # 案件情况疑难复杂、涉及多个法律关系
    law_requires_review: bool = False       # 法律法规规定应当进行法制审核

    def is_set(self, name: str) -> bool:
        if name not in FLAG_NAMES_ZH:
            raise KeyError(f"unknown flag {name!r}")
        return bool(getattr(self, name))


@dataclass(frozen=True)
class Proposal:
    """拟作出的执法决定: one version of a proposed decision (REV-1 input, snapshot kept per version).

    ``region_code`` is the enforcement body's GB/T 2260 code; its tier (省/市/县/乡) drives tier rules.
    Amounts are yuan as :class:`Decimal`.
    """

    case_id: str
    version: int
    body_id: str
    region_code: str
    action_type: str
    matter_code: str
    parties: tuple[Party, ...]
    officer_ids: tuple[str, ...]
    proposed_at: dt.datetime
    field: str | None = None
    fine_amount: Decimal | None = None
    confiscation_amount: Decimal | None = None
    measures: tuple[str, ...] = ()
    hearing_requested: bool = False
    hearing_held: bool = False
    flags: Flags = dc_field(default_factory=Flags)
    submitted_by: str | None = None
    summary: str = ""          # 案情摘要 as the unit sent it (REV-8: similar decisions, the draft's facts)

    def __post_init__(self):
        if not self.case_id:
            raise ValueError("proposal: case_id is required")
        if not isinstance(self.version, int) or isinstance(self.version, bool) or self.version < 1:
            raise ValueError(f"proposal {self.case_id}: version must be an integer >= 1, got {self.version!r}")
        if self.action_type not in ACTION_TYPES:
            raise ValueError(f"proposal {self.case_id}: unknown action type {self.action_type!r} (PLAT-5)")
        if not is_region_code(self.region_code):
            raise ValueError(f"proposal {self.case_id}: not a GB/T 2260 region code: {self.region_code!r}")
        object.__setattr__(self, "parties", tuple(p if isinstance(p, Party) else Party(**p) for p in self.parties))
        object.__setattr__(self, "officer_ids", tuple(self.officer_ids))
        object.__setattr__(self, "measures", tuple(self.measures))
        object.__setattr__(self, "fine_amount", to_decimal(self.fine_amount, "fine_amount"))
        object.__setattr__(self, "confiscation_amount", to_decimal(self.confiscation_amount, "confiscation_amount"))
        if isinstance(self.flags, Mapping):
            object.__setattr__(self, "flags", Flags(**self.flags))

    @property
    def tier(self) -> Tier:
        """层级 of the deciding body (PLAT-1)."""
        return region_tier(self.region_code)

    @property
    def party_kinds(self) -> frozenset[PartyKind]:
        return frozenset(p.party_kind for p in self.parties)

    def amount(self, basis: str) -> Decimal | None:
        """``fine`` 罚款, ``confiscation`` 没收, ``total`` (both added); None when none applies."""
        fine, conf = self.fine_amount, self.confiscation_amount
        if basis == "fine":
            return fine
        if basis == "confiscation":
            return conf
        if basis == "total":
            return None if fine is None and conf is None else (fine or Decimal(0)) + (conf or Decimal(0))
        raise ValueError(f"unknown amount basis {basis!r}")


def proposal_from_payload(payload: Mapping[str, Any], *, case_id: str, body_id: str, region_code: str) -> Proposal:
    """Build a :class:`Proposal` from a loaded ``decision.proposed`` payload plus its envelope fields."""
    parties: Iterable[Mapping] = payload.get("parties") or ()
    flags = payload.get("flags") or {}
    return Proposal(
        case_id=case_id,
        version=int(payload["version"]),
        body_id=body_id,
        region_code=region_code,
        action_type=payload["action_type"],
        matter_code=payload["matter_code"],
        field=payload.get("field"),
        parties=tuple(Party(party_kind=p["party_kind"], name=p.get("name", ""), id_number=p.get("id_number"),
                            is_private_enterprise=bool(p.get("is_private_enterprise", False))) for p in parties),
        officer_ids=tuple(payload.get("officer_ids") or ()),
        proposed_at=payload["proposed_at"],
        fine_amount=payload.get("fine_amount"),
        confiscation_amount=payload.get("confiscation_amount"),
        measures=tuple(payload.get("measures") or ()),
        hearing_requested=bool(payload.get("hearing_requested", False)),
        hearing_held=bool(payload.get("hearing_held", False)),
        flags=Flags(**{k: bool(flags.get(k, False)) for k in FLAG_NAMES_ZH}),
        submitted_by=payload.get("submitted_by"),
        summary=payload.get("summary") or "",
    )
