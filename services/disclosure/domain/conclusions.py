"""Conclusion types (处理结果类型) read from a decision's free-text conclusion — DISC-3/4/7.

Rules live in ``config/disclosure/conclusion_types.yaml`` (see that file for the format).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from marshmallow import Schema, fields, post_load, validate

from services.common.configfile import load_config_file

from .model import CONFIG_DIR, ActionType, parse_action_type

DEFAULT_CONCLUSION_FILE = CONFIG_DIR / "conclusion_types.yaml"


@dataclass(frozen=True)
class ConclusionRules:
    penalty: tuple[tuple[str, tuple[str, ...]], ...]  # (type label, keywords)
    permit_refused: tuple[str, ...]
    permit_granted: tuple[str, ...]
    default_label: str


@dataclass(frozen=True)
class ConclusionClass:
    """What a conclusion says, without its free text: labels and, for permits, granted or not."""

    types: tuple[str, ...]
    label_zh: str
    permit_granted: bool | None  # None: not a permit, or not recognisable


def load_conclusion_rules(path: str | Path | None = None) -> ConclusionRules:
    """Load and validate ``conclusion_types.yaml``; raises ValueError naming the bad key."""
    return _load(str(path or DEFAULT_CONCLUSION_FILE))


class _PenaltyType(Schema):
    type = fields.String(required=True, validate=validate.Length(min=1))
    keywords = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                           validate=validate.Length(min=1))


class _Permit(Schema):
    refused = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                          validate=validate.Length(min=1))
    granted = fields.List(fields.String(validate=validate.Length(min=1)), required=True,
                          validate=validate.Length(min=1))


class ConclusionFile(Schema):
    """``config/disclosure/conclusion_types.yaml`` → :class:`ConclusionRules`."""

    version = fields.Integer(strict=True)
    penalty = fields.List(fields.Nested(_PenaltyType), load_default=list)
    permit = fields.Nested(_Permit, required=True)
    default_label = fields.String(required=True, validate=validate.Length(min=1))

    @post_load
    def build(self, data, **kwargs) -> ConclusionRules:
        return ConclusionRules(penalty=tuple((p["type"], tuple(p["keywords"])) for p in data["penalty"]),
                               permit_refused=tuple(data["permit"]["refused"]),
                               permit_granted=tuple(data["permit"]["granted"]), default_label=data["default_label"])


@lru_cache(maxsize=8)
def _load(path: str) -> ConclusionRules:
    return load_config_file(path, ConclusionFile)


def classify_conclusion(action_type: ActionType | str, conclusion: str,
                        rules: ConclusionRules | None = None) -> ConclusionClass:
    """Classify a conclusion (处理结果) — e.g. penalty "罚款5000元并没收违法所得" → (罚款, 没收违法所得)."""
    rules = rules or load_conclusion_rules()
    action = parse_action_type(action_type)
    text = conclusion or ""
    if action is ActionType.PENALTY:
        found = []
        consumed = text
        for label, keywords in rules.penalty:
            for kw in keywords:
                if kw in consumed:
                    found.append(label)
                    consumed = consumed.replace(kw, "\u3000")  # 没收违法所得 is not also 没收
                    break
        types = tuple(found)
        return ConclusionClass(types, "、".join(types) or action.label_zh + "决定", None)
    if action is ActionType.PERMIT:
        if any(kw in text for kw in rules.permit_refused):
            return ConclusionClass(("不予许可",), "不予许可", False)
        if any(kw in text for kw in rules.permit_granted):
            return ConclusionClass(("准予许可",), "准予许可", True)
        return ConclusionClass((), rules.default_label, None)
    return ConclusionClass((), f"{action.label_zh}：{rules.default_label}", None)
