"""Conclusion types (处理结果类型) read from a decision's free-text conclusion — DISC-3/4/7.

Rules live in ``config/disclosure/conclusion_types.yaml`` (see that file for the format).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

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


def _str_list(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}: expected a list of non-empty strings")
    return tuple(value)


def load_conclusion_rules(path: str | Path | None = None) -> ConclusionRules:
    """Load and validate ``conclusion_types.yaml``; raises ValueError naming the bad key."""
    return _load(str(path or DEFAULT_CONCLUSION_FILE))


@lru_cache(maxsize=8)
def _load(path: str) -> ConclusionRules:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: top level must be a mapping")
    penalty = []
    for i, item in enumerate(data.get("penalty") or []):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise ValueError(f"{path}: penalty[{i}] needs 'type' and 'keywords'")
        penalty.append((item["type"], _str_list(item.get("keywords"), f"{path}: penalty[{i}].keywords")))
    permit = data.get("permit") or {}
    if not isinstance(permit, dict):
        raise ValueError(f"{path}: permit must be a mapping with refused/granted")
    label = data.get("default_label")
    if not isinstance(label, str) or not label:
        raise ValueError(f"{path}: default_label must be a non-empty string")
    return ConclusionRules(
        penalty=tuple(penalty),
        permit_refused=_str_list(permit.get("refused"), f"{path}: permit.refused"),
        permit_granted=_str_list(permit.get("granted"), f"{path}: permit.granted"),
        default_label=label,
    )


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
