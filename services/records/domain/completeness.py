"""Case-file completeness 案卷完整性检查 — REC-1, REC-2, REC-3, REC-5, REC-7; PLAT-5.

Rules live in ``config/records/completeness.yaml`` (see the comments there); ``load_rules(path)``
validates them. ``find_gaps(action_type, facts, records)`` lists what a case file still lacks:

* every required text record (文字记录) of the action type whose condition holds — missing
  (缺失) or filed under the wrong REC-1 stage (归档环节不符);
* mandatory full-process audio-visual records (全程音像记录, REC-3) for seizure 查封, detention of
  property 扣押, forced demolition 强制拆除 and on-site actions touching personal freedom, life
  and health or major property — only video / body-worn camera / surveillance footage counts;
* advisory audio-visual records (根据实际情况进行音像记录) for on-site enforcement, hearings,
  留置送达 and 公告送达.

``records`` are the items filed for the case: ``(code, stage)`` or ``(code, stage, covers)``
tuples or mappings ``{"document_type" | "record_kind": code, "stage": stage, "covers": measure}``
where ``code`` is a document type or a record kind from the YAML. ``covers`` (optional) ties an
audio-visual record to the measure it films; without it, a record in a matching stage counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.configfile import Keyed, load_config_file

from .entries import Stage

__all__ = [
    "DEFAULT_COMPLETENESS_FILE",
    "Severity",
    "GapKind",
    "CaseFacts",
    "RequiredItem",
    "ExpectedAV",
    "CompletenessRules",
    "Gap",
    "RulesError",
    "CompletenessFile",
    "load_rules",
    "default_rules",
    "find_gaps",
]

DEFAULT_COMPLETENESS_FILE = Path(__file__).resolve().parents[3] / "config" / "records" / "completeness.yaml"


class RulesError(ValueError):
    """A condition the rules cannot evaluate (the file itself is checked by :class:`CompletenessFile`)."""


class Severity(str, Enum):
    SERIOUS = "serious"      # 严重
    GENERAL = "general"      # 一般
    ADVISORY = "advisory"    # 提示

    @property
    def label(self) -> str:
        return {"serious": "严重", "general": "一般", "advisory": "提示"}[self.value]


class GapKind(str, Enum):
    MISSING = "missing"                  # 缺失
    WRONG_STAGE = "wrong_stage"          # 记录环节不符
    AV_MISSING = "av_missing"            # 缺少全程音像记录
    AV_ADVISORY = "av_advisory"          # 建议音像记录


@dataclass(frozen=True)
class CaseFacts:
    """Facts of one case that decide which records are required (案件情形)."""

    is_major: bool = False                     # 重大执法决定 (REV)
    hearing_requested: bool = False            # 当事人要求听证
    statement_requested: bool = False          # 当事人陈述申辩
    measures: tuple[str, ...] = ()             # seizure, detention_of_property, forced_demolition, …
    onsite: bool = False                       # 现场执法
    execution_required: bool = True            # 决定需要执行（罚款缴纳、给付发放等）
    violation_found: bool = False              # 检查发现违法问题
    service_methods: tuple[str, ...] = ()      # direct, lodging, public_notice, mail, electronic

    @classmethod
    def coerce(cls, facts: "CaseFacts | Mapping[str, Any] | None") -> "CaseFacts":
        if facts is None:
            return cls()
        if isinstance(facts, CaseFacts):
            return facts
        known = set(cls.__dataclass_fields__)
        unknown = set(facts) - known
        if unknown:
            raise ValueError(f"unknown case facts: {sorted(unknown)}")
        kw = dict(facts)
        for key in ("measures", "service_methods"):
            if key in kw:
                value = kw[key]
                kw[key] = (value,) if isinstance(value, str) else tuple(value or ())
        return cls(**kw)


@dataclass(frozen=True)
class RequiredItem:
    code: str
    name: str
    stage: Stage
    conditions: tuple[str, ...]
    severity: Severity
    satisfied_by: frozenset[str]


@dataclass(frozen=True)
class ExpectedAV:
    code: str
    name: str
    conditions: tuple[str, ...]
    stages: frozenset[Stage]


@dataclass(frozen=True)
class CompletenessRules:
    document_types: Mapping[str, str]
    record_kinds: Mapping[str, str]
    measures: Mapping[str, str]
    service_methods: Mapping[str, str]
    action_types: Mapping[str, tuple[str, tuple[RequiredItem, ...]]]   # code -> (name, items)
    full_process_kinds: frozenset[str]
    full_process_measures: Mapping[str, frozenset[Stage]]
    full_process_severity: Severity
    expected_av: tuple[ExpectedAV, ...]
    expected_kinds: frozenset[str]
    expected_severity: Severity

@dataclass(frozen=True)
class Gap:
    """One gap in a case file 案卷缺项."""

    code: str
    description: str          # Chinese, for people
    stage: Stage
    severity: Severity
    kind: GapKind = GapKind.MISSING
    satisfied_by: tuple[str, ...] = field(default=())


_SIMPLE_CONDITIONS = {
    "always": lambda f: True,
    "when_major": lambda f: f.is_major,
    "when_not_major": lambda f: not f.is_major,
    "when_hearing_requested": lambda f: f.hearing_requested,
    "when_statement_requested": lambda f: f.statement_requested,
    "when_onsite": lambda f: f.onsite,
    "when_execution_required": lambda f: f.execution_required,
    "when_violation_found": lambda f: f.violation_found,
    "when_any_measure": lambda f: bool(f.measures),
}


def _holds(condition: str, facts: CaseFacts) -> bool:
    if condition in _SIMPLE_CONDITIONS:
        return _SIMPLE_CONDITIONS[condition](facts)
    name, _, args = condition.partition(":")
    values = set(args.split(","))
    if name == "when_measure":
        return bool(values & set(facts.measures))
    if name == "when_service":
        return bool(values & set(facts.service_methods))
    raise RulesError(f"unknown condition {condition!r}")


def _condition_errors(conds: tuple[str, ...], measures: Mapping[str, str], services: Mapping[str, str]) -> list[str]:
    errors = []
    for c in conds:
        if c in _SIMPLE_CONDITIONS:
            continue
        name, sep, args = c.partition(":")
        table = {"when_measure": measures, "when_service": services}.get(name)
        if table is None or not sep or not args:
            errors.append(f"unknown condition {c!r}")
            continue
        errors += [f"condition {c!r} names unknown code {a!r}" for a in args.split(",") if a not in table]
    return errors


class _Conditions(fields.Field):
    """``condition``: one condition or a non-empty list of them (all must hold)."""

    def _deserialize(self, value, attr, data, **kwargs):
        conds = [value] if isinstance(value, str) else value
        if not isinstance(conds, list) or not conds or not all(isinstance(c, str) for c in conds):
            raise ValidationError("must be a string or a non-empty list of strings")
        return tuple(conds)


def _names() -> Keyed:
    """A table code → Chinese name (codes snake_case)."""
    return Keyed(fields.String(validate=validate.Regexp(r"\S", error="must be a non-empty name")),
                 keys=fields.String(validate=validate.Regexp(r"^[a-z0-9_]+$", error="code must be snake_case")),
                 required=True, validate=validate.Length(min=1))


_STAGES = fields.List(fields.Enum(Stage, by_value=True), required=True, validate=validate.Length(min=1))


class _Item(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1))
    name = fields.String()
    stage = fields.Enum(Stage, by_value=True, required=True)
    condition = _Conditions(load_default=("always",))
    severity = fields.Enum(Severity, by_value=True, load_default=Severity.SERIOUS)
    satisfied_by = fields.List(fields.String(), validate=validate.Length(min=1))


class _ActionType(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    items = fields.List(fields.Nested(_Item), required=True)

    @validates_schema
    def codes_unique(self, data, **kwargs):
        seen: set = set()
        for i, item in enumerate(data["items"]):
            if item["code"] in seen:
                raise ValidationError({"items": {i: {"code": [f"duplicate code {item['code']!r}"]}}})
            seen.add(item["code"])


class _FullProcess(Schema):
    kinds = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    severity = fields.Enum(Severity, by_value=True, load_default=Severity.SERIOUS)
    measures = Keyed(_STAGES, load_default=dict)


class _ExpectedAV(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1))
    name = fields.String(required=True, validate=validate.Length(min=1))
    condition = _Conditions(load_default=("always",))
    stages = _STAGES


class _AudioVisual(Schema):
    full_process = fields.Nested(_FullProcess, required=True)
    expected = fields.List(fields.Nested(_ExpectedAV), load_default=list)
    expected_kinds = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    expected_severity = fields.Enum(Severity, by_value=True, load_default=Severity.ADVISORY)


def _all_stages(stages: Mapping) -> None:
    if set(stages) != {s.value for s in Stage}:
        raise ValidationError(f"must list exactly {[s.value for s in Stage]}")


class CompletenessFile(Schema):
    """``config/records/completeness.yaml`` → :class:`CompletenessRules`; cross-references (record kinds,
    measures, service methods, document types named by items) are checked against the file's own tables."""

    version = fields.Integer(required=True, strict=True, validate=validate.Equal(1, error="unsupported version"))
    stages = Keyed(fields.String(), required=True, validate=_all_stages)
    severities = Keyed(fields.String())       # the Chinese labels, for readers of the file
    record_kinds = _names()
    document_types = _names()
    measures = _names()
    service_methods = _names()
    audio_visual = fields.Nested(_AudioVisual, required=True)
    action_types = Keyed(fields.Nested(_ActionType), required=True, validate=validate.Length(min=1))

    @validates_schema
    def references(self, data, **kwargs):
        docs, kinds, measures, services = (data[k] for k in ("document_types", "record_kinds", "measures",
                                                              "service_methods"))
        known = set(docs) | set(kinds)
        errors: dict = {}

        def add(message, *path):
            node = errors
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node.setdefault(path[-1], []).append(message)

        both = sorted(set(docs) & set(kinds))
        if both:
            add(f"codes used both as document type and record kind: {both}", "document_types")
        av = data["audio_visual"]
        for path, kinds_given in ((("full_process", "kinds"), av["full_process"]["kinds"]),
                                  (("expected_kinds",), av["expected_kinds"])):
            stray = [k for k in kinds_given if k not in kinds]
            if stray:
                add(f"not record kinds: {stray}", "audio_visual", *path)
        for m in av["full_process"]["measures"]:
            if m not in measures:
                add(f"unknown measure {m!r}", "audio_visual", "full_process", "measures", m)
        for i, e in enumerate(av["expected"]):
            for message in _condition_errors(e["condition"], measures, services):
                add(message, "audio_visual", "expected", i, "condition")
        for at, spec in data["action_types"].items():
            for i, it in enumerate(spec["items"]):
                for message in _condition_errors(it["condition"], measures, services):
                    add(message, "action_types", at, "items", i, "condition")
                stray = [c for c in it.get("satisfied_by", [it["code"]]) if c not in known]
                if stray:
                    add(f"unknown document type / record kind {stray}", "action_types", at, "items", i, "satisfied_by")
                if not it.get("name") and it["code"] not in docs:
                    add(f"requirement {it['code']!r} is not a document type, give it a name",
                        "action_types", at, "items", i, "name")
        if errors:
            raise ValidationError(errors)

    @post_load
    def build(self, data, **kwargs) -> CompletenessRules:
        docs, av, fp = data["document_types"], data["audio_visual"], data["audio_visual"]["full_process"]
        action_types = {
            at: (spec["name"], tuple(RequiredItem(
                code=it["code"], name=it.get("name") or docs[it["code"]], stage=it["stage"],
                conditions=it["condition"], severity=it["severity"],
                satisfied_by=frozenset(it.get("satisfied_by") or [it["code"]])) for it in spec["items"]))
            for at, spec in data["action_types"].items()}
        return CompletenessRules(
            docs, data["record_kinds"], data["measures"], data["service_methods"], action_types,
            frozenset(fp["kinds"]), {m: frozenset(st) for m, st in fp["measures"].items()}, fp["severity"],
            tuple(ExpectedAV(e["code"], e["name"], e["condition"], frozenset(e["stages"])) for e in av["expected"]),
            frozenset(av["expected_kinds"]), av["expected_severity"])


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> CompletenessRules:
    return load_config_file(path, CompletenessFile)


def load_rules(path: str | Path = DEFAULT_COMPLETENESS_FILE) -> CompletenessRules:
    """Load and validate completeness rules (re-read when the file changes); ConfigFileError (a ValueError)
    ``file: key.path: message`` when bad."""
    p = Path(path)
    return _load_cached(str(p), p.stat().st_mtime_ns)


def default_rules() -> CompletenessRules:
    return load_rules(DEFAULT_COMPLETENESS_FILE)


def _parse_records(records: Iterable[Any]) -> list[tuple[str, Stage, str | None]]:
    out = []
    for i, r in enumerate(records):
        if isinstance(r, Mapping):
            code = r.get("document_type") or r.get("record_kind")
            stage, covers = r.get("stage"), r.get("covers")
        elif isinstance(r, (tuple, list)) and len(r) in (2, 3):
            code, stage = r[0], r[1]
            covers = r[2] if len(r) == 3 else None
        else:
            raise ValueError(f"record #{i}: expected (code, stage[, covers]) or a mapping, got {r!r}")
        if not code:
            raise ValueError(f"record #{i}: no document_type / record_kind")
        try:
            st = Stage(stage)
        except ValueError:
            raise ValueError(f"record #{i}: unknown stage {stage!r}") from None
        out.append((str(code), st, covers))
    return out


def find_gaps(action_type: str, facts: CaseFacts | Mapping[str, Any] | None,
              records: Iterable[Any], rules: CompletenessRules | None = None) -> list[Gap]:
    """Gaps 缺项 of a case file, in REC-1 stage order, mandatory ones before advisories.

    ``action_type``: penalty, permit, coercive, inspection, levy, requisition, benefit,
    confirmation, adjudication, compensation, reward (PLAT-5).
    """
    rules = rules or default_rules()
    if action_type not in rules.action_types:
        raise ValueError(f"unknown action type {action_type!r}; expected one of {sorted(rules.action_types)}")
    f = CaseFacts.coerce(facts)
    unknown_measures = set(f.measures) - set(rules.measures)
    if unknown_measures:
        raise ValueError(f"unknown measures {sorted(unknown_measures)}; expected codes from {sorted(rules.measures)}")
    unknown_services = set(f.service_methods) - set(rules.service_methods)
    if unknown_services:
        raise ValueError(f"unknown service methods {sorted(unknown_services)}")
    recs = _parse_records(records)
    by_code: dict[str, set[Stage]] = {}
    for code, st, _ in recs:
        by_code.setdefault(code, set()).add(st)

    gaps: list[Gap] = []
    _, items = rules.action_types[action_type]
    for item in items:
        if not all(_holds(c, f) for c in item.conditions):
            continue
        stages_found = set().union(*(by_code.get(c, set()) for c in item.satisfied_by))
        if item.stage in stages_found:
            continue
        sat = tuple(sorted(item.satisfied_by))
        if stages_found:
            found = "、".join(s.label for s in sorted(stages_found, key=list(Stage).index))
            gaps.append(Gap(item.code, f"{item.name}应记录于「{item.stage.label}」环节，实际记录于「{found}」环节",
                            item.stage, Severity.GENERAL if item.severity is Severity.SERIOUS else item.severity,
                            GapKind.WRONG_STAGE, sat))
        else:
            gaps.append(Gap(item.code, f"缺少{item.name}（{item.stage.label}环节）", item.stage, item.severity,
                            GapKind.MISSING, sat))

    # REC-3 mandatory full-process audio-visual records.
    for m in f.measures:
        stages = rules.full_process_measures.get(m)
        if not stages:
            continue
        covered = any(code in rules.full_process_kinds and st in stages and (covers is None or covers == m)
                      for code, st, covers in recs)
        if not covered:
            first = min(stages, key=list(Stage).index)
            kinds = "、".join(rules.record_kinds[k] for k in sorted(rules.full_process_kinds))
            gaps.append(Gap(f"av_full_process:{m}",
                            f"{rules.measures[m]}未进行全程音像记录（须有{kinds}）",
                            first, rules.full_process_severity, GapKind.AV_MISSING,
                            tuple(sorted(rules.full_process_kinds))))

    # REC-3 expected (advisory) audio-visual records.
    for e in rules.expected_av:
        if not all(_holds(c, f) for c in e.conditions):
            continue
        if any(code in rules.expected_kinds and st in e.stages for code, st, _ in recs):
            continue
        first = min(e.stages, key=list(Stage).index)
        gaps.append(Gap(f"av_expected:{e.code}", f"{e.name}宜根据实际情况进行音像记录，未见音像记录",
                        first, rules.expected_severity, GapKind.AV_ADVISORY, tuple(sorted(rules.expected_kinds))))

    order = list(Stage)
    sev_order = list(Severity)
    gaps.sort(key=lambda g: (g.kind is GapKind.AV_ADVISORY, order.index(g.stage), sev_order.index(g.severity)))
    return gaps
