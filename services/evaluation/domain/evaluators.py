"""Who evaluates whom (评议考核权限) — REQUIREMENTS EVAL-1; seed 000 §六(一).

- 各级政府负责对所属行政执法部门进行考核 — a local department (and an organisation authorised
  by law) is evaluated by the government of its region (its legal office carries it out).
- 垂直管理部门由上一级主管部门考核，并充分听取当地政府的意见 — a vertical body by its superior
  department (primary), with the local government's opinion recorded as an input (weight 0).
- 双重管理部门由上一级主管部门和本级政府分别考核 — a dual-managed body by both; the results are
  combined with configurable weights (default 50/50), or only the primary evaluator's counts.
- 各行政执法部门负责对本部门内设行政执法机构及所属行政执法人员进行考核 — a body evaluates its
  internal units and its officers; an entrusted organisation (受委托组织) is evaluated by the body
  that entrusted it.

Config: ``config/evaluation/evaluators.yaml``.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Mapping

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.configfile import ConfigFileError
from services.common.identifiers import is_region_code

from .facts import to_decimal
from .indicators import Number



class Management(str, enum.Enum):
    LOCAL = "local"        # 属地管理
    VERTICAL = "vertical"  # 垂直管理
    DUAL = "dual"          # 双重管理


class EvaluatorKind(str, enum.Enum):
    GOVERNMENT = "government"                    # 本级人民政府（由其司法行政部门具体实施）; ref = region code
    SUPERIOR_DEPARTMENT = "superior_department"  # 上一级主管部门; ref = body id
    BODY = "body"                                # 本部门 / 委托机关; ref = body id


class Role(str, enum.Enum):
    PRIMARY = "primary"  # its score counts with its weight
    OPINION = "opinion"  # an input that is recorded and shown, weight 0 (听取意见)


@dataclass(frozen=True)
class BodyInfo:
    """What the evaluator rules need to know about a body (from body.registered, PLAT-2)."""

    body_id: str
    region_code: str
    management: Management = Management.LOCAL
    kind: str = "department"               # department | authorised_org | entrusted_org
    superior_body_id: str | None = None    # 上一级主管部门 (vertical / dual)
    entrusting_body_id: str | None = None  # 委托机关 (entrusted_org)
    unit_of: str | None = None             # set for an internal unit (内设执法机构) of a body


@dataclass(frozen=True)
class Evaluator:
    kind: EvaluatorKind
    ref: str            # region code (government) or body id
    weight: Decimal
    role: Role


@dataclass(frozen=True)
class EvaluatorRules:
    dual_mode: str = "weighted"                                   # weighted | primary
    dual_superior_weight: Decimal = Decimal(50)
    dual_government_weight: Decimal = Decimal(50)
    dual_primary: EvaluatorKind = EvaluatorKind.SUPERIOR_DEPARTMENT  # used when dual_mode = primary
    vertical_government_opinion: bool = True


EvaluatorConfigError = ConfigFileError   # evaluators.yaml is invalid: every problem in one message


class _Weights(Schema):
    superior_department = Number(load_default=Decimal(50), validate=validate.Range(min=0))
    government = Number(load_default=Decimal(50), validate=validate.Range(min=0))

    @validates_schema
    def hundred(self, data, **kwargs):
        if data["superior_department"] + data["government"] != 100:
            raise ValidationError(f"must sum to 100, not superior_department={data['superior_department']}, "
                                  f"government={data['government']}")


class _Dual(Schema):
    mode = fields.String(load_default="weighted", validate=validate.OneOf(["weighted", "primary"]))
    weights = fields.Nested(_Weights, load_default=lambda: {"superior_department": Decimal(50),
                                                            "government": Decimal(50)})
    primary = fields.Enum(EvaluatorKind, by_value=True, load_default=EvaluatorKind.SUPERIOR_DEPARTMENT,
                          validate=validate.OneOf([EvaluatorKind.SUPERIOR_DEPARTMENT, EvaluatorKind.GOVERNMENT]))


class _Vertical(Schema):
    government_opinion = fields.Boolean(load_default=True)


class EvaluatorsFile(Schema):
    """``config/evaluation/evaluators.yaml`` → :class:`EvaluatorRules`."""

    dual = fields.Nested(_Dual, load_default=lambda: _Dual().load({}))
    vertical = fields.Nested(_Vertical, load_default=lambda: {"government_opinion": True})

    @post_load
    def build(self, data, **kwargs) -> EvaluatorRules:
        dual = data["dual"]
        return EvaluatorRules(dual["mode"], dual["weights"]["superior_department"], dual["weights"]["government"],
                              dual["primary"], data["vertical"]["government_opinion"])


def evaluators_for(body: BodyInfo, rules: EvaluatorRules | None = None) -> list[Evaluator]:
    """Who evaluates ``body`` and with what weight (EVAL-1)."""
    rules = rules or EvaluatorRules()
    if not is_region_code(body.region_code):
        raise ValueError(f"执法主体 {body.body_id} 的行政区划代码无效：{body.region_code!r}")
    hundred, zero = Decimal(100), Decimal(0)
    if body.unit_of:
        return [Evaluator(EvaluatorKind.BODY, body.unit_of, hundred, Role.PRIMARY)]
    if body.kind == "entrusted_org":
        if not body.entrusting_body_id:
            raise ValueError(f"受委托组织 {body.body_id} 未登记委托机关")
        return [Evaluator(EvaluatorKind.BODY, body.entrusting_body_id, hundred, Role.PRIMARY)]
    management = Management(body.management)
    government = body.region_code
    if management is Management.LOCAL:
        return [Evaluator(EvaluatorKind.GOVERNMENT, government, hundred, Role.PRIMARY)]
    if not body.superior_body_id:
        raise ValueError(f"{'垂直' if management is Management.VERTICAL else '双重'}管理的执法主体 "
                         f"{body.body_id} 未登记上一级主管部门")
    superior = body.superior_body_id
    if management is Management.VERTICAL:
        out = [Evaluator(EvaluatorKind.SUPERIOR_DEPARTMENT, superior, hundred, Role.PRIMARY)]
        if rules.vertical_government_opinion:
            out.append(Evaluator(EvaluatorKind.GOVERNMENT, government, zero, Role.OPINION))
        return out
    if rules.dual_mode == "primary":
        sup_primary = rules.dual_primary is EvaluatorKind.SUPERIOR_DEPARTMENT
        return [
            Evaluator(EvaluatorKind.SUPERIOR_DEPARTMENT, superior, hundred if sup_primary else zero,
                      Role.PRIMARY if sup_primary else Role.OPINION),
            Evaluator(EvaluatorKind.GOVERNMENT, government, zero if sup_primary else hundred,
                      Role.OPINION if sup_primary else Role.PRIMARY),
        ]
    return [
        Evaluator(EvaluatorKind.SUPERIOR_DEPARTMENT, superior, rules.dual_superior_weight, Role.PRIMARY),
        Evaluator(EvaluatorKind.GOVERNMENT, government, rules.dual_government_weight, Role.PRIMARY),
    ]


def evaluators_for_officer(body_id: str) -> list[Evaluator]:
    """An officer is evaluated by the body they belong to (各行政执法部门 … 所属行政执法人员)."""
    return [Evaluator(EvaluatorKind.BODY, body_id, Decimal(100), Role.PRIMARY)]


def combine_scores(evaluators: list[Evaluator], totals: Mapping[tuple[EvaluatorKind, str], Decimal]) -> Decimal:
    """Combine each evaluator's total into one (weighted by the primary evaluators' weights).

    ``totals`` maps (evaluator kind, ref) to that evaluator's total; opinions are not counted.
    Raises KeyError (Chinese message) when a primary evaluator's total is missing.
    """
    weighted, weights = Decimal(0), Decimal(0)
    for ev in evaluators:
        if ev.role is not Role.PRIMARY or ev.weight == 0:
            continue
        key = (ev.kind, ev.ref)
        if key not in totals:
            raise KeyError(f"缺少考核机关 {ev.kind.value}:{ev.ref} 的考核得分")
        weighted += to_decimal(totals[key]) * ev.weight
        weights += ev.weight
    if not weights:
        raise ValueError("没有计分的考核机关")
    return (weighted / weights).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


#: scores a supervisor enters for one evaluator (专项检查, 案卷评查): each evaluator of a dual-managed
#: body scores with its own; the enforcement data is the same for both
ENTERED_KINDS = frozenset({"special_check_score", "case_file_review_score", "unannounced_visit_score"})


def evaluator_key(ev: Evaluator) -> str:
    return f"{ev.kind.value}:{ev.ref}"


def facts_for_evaluator(facts, ev: Evaluator) -> list:
    """The facts one evaluator scores a body on (EVAL-1): all of them, except the scores another
    evaluator entered (an entered score names its evaluator in ``attrs['evaluator']``; unnamed ones
    count for every evaluator)."""
    key = evaluator_key(ev)
    return [f for f in facts if f.kind not in ENTERED_KINDS or (f.attrs or {}).get("evaluator") in (None, key)]


def scoring_evaluators(evaluators: list[Evaluator]) -> list[Evaluator]:
    """The evaluators whose own score counts (primary, weight > 0): two for a weighted dual-managed body."""
    return [ev for ev in evaluators if ev.role is Role.PRIMARY and ev.weight != 0]
