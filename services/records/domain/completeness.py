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

import yaml

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
    "load_rules",
    "default_rules",
    "find_gaps",
]

DEFAULT_COMPLETENESS_FILE = Path(__file__).resolve().parents[3] / "config" / "records" / "completeness.yaml"


class RulesError(ValueError):
    """The completeness YAML is invalid."""


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

    def name_of(self, code: str) -> str:
        return self.document_types.get(code) or self.record_kinds.get(code) or code


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


def _check_condition(cond: Any, where: str, measures: Mapping[str, str], services: Mapping[str, str]) -> tuple[str, ...]:
    conds = [cond] if isinstance(cond, str) else cond
    if not isinstance(conds, list) or not conds or not all(isinstance(c, str) for c in conds):
        raise RulesError(f"{where}: condition must be a string or a non-empty list of strings")
    for c in conds:
        if c in _SIMPLE_CONDITIONS:
            continue
        name, sep, args = c.partition(":")
        table = {"when_measure": measures, "when_service": services}.get(name)
        if table is None or not sep or not args:
            raise RulesError(f"{where}: unknown condition {c!r}")
        for a in args.split(","):
            if a not in table:
                raise RulesError(f"{where}: condition {c!r} names unknown code {a!r}")
    return tuple(conds)


def _stage(value: Any, where: str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        raise RulesError(f"{where}: unknown stage {value!r} (expected one of {[s.value for s in Stage]})") from None


def _severity(value: Any, where: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise RulesError(f"{where}: unknown severity {value!r}") from None


def _names(raw: Mapping[str, Any], key: str) -> dict[str, str]:
    table = raw.get(key)
    if not isinstance(table, dict) or not table:
        raise RulesError(f"'{key}' must be a non-empty mapping of code -> Chinese name")
    for code, name in table.items():
        if not isinstance(code, str) or not code.replace("_", "").isalnum() or code != code.lower():
            raise RulesError(f"{key}: code {code!r} must be snake_case")
        if not isinstance(name, str) or not name.strip():
            raise RulesError(f"{key}.{code}: name must be a non-empty string")
    return dict(table)


def parse_rules(raw: Any) -> CompletenessRules:
    """Validate the parsed YAML and build the rules (clear ``RulesError`` on any defect)."""
    if not isinstance(raw, dict):
        raise RulesError("completeness rules must be a mapping")
    if raw.get("version") != 1:
        raise RulesError(f"unsupported completeness rules version {raw.get('version')!r}")
    stages = raw.get("stages") or {}
    if set(stages) != {s.value for s in Stage}:
        raise RulesError(f"'stages' must list exactly {[s.value for s in Stage]}")
    docs = _names(raw, "document_types")
    kinds = _names(raw, "record_kinds")
    measures = _names(raw, "measures")
    services = _names(raw, "service_methods")
    if set(docs) & set(kinds):
        raise RulesError(f"codes used both as document type and record kind: {sorted(set(docs) & set(kinds))}")
    known = set(docs) | set(kinds)

    av = raw.get("audio_visual")
    if not isinstance(av, dict):
        raise RulesError("'audio_visual' section missing")
    fp = av.get("full_process") or {}
    fp_kinds = frozenset(fp.get("kinds") or ())
    if not fp_kinds or not fp_kinds <= set(kinds):
        raise RulesError("audio_visual.full_process.kinds must be non-empty record kinds")
    fp_measures: dict[str, frozenset[Stage]] = {}
    for m, st in (fp.get("measures") or {}).items():
        if m not in measures:
            raise RulesError(f"audio_visual.full_process.measures: unknown measure {m!r}")
        if not isinstance(st, list) or not st:
            raise RulesError(f"audio_visual.full_process.measures.{m}: list the stages")
        fp_measures[m] = frozenset(_stage(s, f"audio_visual.full_process.measures.{m}") for s in st)
    fp_sev = _severity(fp.get("severity", "serious"), "audio_visual.full_process")
    expected = []
    for i, e in enumerate(av.get("expected") or ()):
        where = f"audio_visual.expected[{i}]"
        if not isinstance(e, dict) or not e.get("code") or not e.get("name"):
            raise RulesError(f"{where}: needs code and name")
        stages_e = e.get("stages")
        if not isinstance(stages_e, list) or not stages_e:
            raise RulesError(f"{where}: list the stages")
        expected.append(ExpectedAV(str(e["code"]), str(e["name"]),
                                   _check_condition(e.get("condition", "always"), where, measures, services),
                                   frozenset(_stage(s, where) for s in stages_e)))
    exp_kinds = frozenset(av.get("expected_kinds") or ())
    if not exp_kinds or not exp_kinds <= set(kinds):
        raise RulesError("audio_visual.expected_kinds must be non-empty record kinds")
    exp_sev = _severity(av.get("expected_severity", "advisory"), "audio_visual")

    action_types: dict[str, tuple[str, tuple[RequiredItem, ...]]] = {}
    raw_types = raw.get("action_types")
    if not isinstance(raw_types, dict) or not raw_types:
        raise RulesError("'action_types' must be a non-empty mapping")
    for at, spec in raw_types.items():
        if not isinstance(spec, dict) or not spec.get("name") or not isinstance(spec.get("items"), list):
            raise RulesError(f"action_types.{at}: needs name and a list of items")
        items = []
        seen = set()
        for i, it in enumerate(spec["items"]):
            where = f"action_types.{at}.items[{i}]"
            if not isinstance(it, dict) or not isinstance(it.get("code"), str):
                raise RulesError(f"{where}: needs a code")
            code = it["code"]
            if code in seen:
                raise RulesError(f"{where}: duplicate code {code!r}")
            seen.add(code)
            extra = set(it) - {"code", "name", "stage", "condition", "severity", "satisfied_by"}
            if extra:
                raise RulesError(f"{where}: unknown keys {sorted(extra)}")
            sat = it.get("satisfied_by") or [code]
            if not isinstance(sat, list) or not all(isinstance(s, str) for s in sat):
                raise RulesError(f"{where}: satisfied_by must be a list of codes")
            unknown = [s for s in sat if s not in known]
            if unknown:
                raise RulesError(f"{where}: unknown document type / record kind {unknown}")
            name = it.get("name") or docs.get(code)
            if not name:
                raise RulesError(f"{where}: requirement {code!r} is not a document type, give it a name")
            items.append(RequiredItem(
                code=code, name=str(name), stage=_stage(it.get("stage"), where),
                conditions=_check_condition(it.get("condition", "always"), where, measures, services),
                severity=_severity(it.get("severity", "serious"), where), satisfied_by=frozenset(sat)))
        action_types[at] = (str(spec["name"]), tuple(items))
    return CompletenessRules(docs, kinds, measures, services, action_types, fp_kinds, fp_measures, fp_sev,
                             tuple(expected), exp_kinds, exp_sev)


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> CompletenessRules:
    with open(path, encoding="utf-8") as fh:
        try:
            raw = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            raise RulesError(f"{path}: not valid YAML: {exc}") from None
    try:
        return parse_rules(raw)
    except RulesError as exc:
        raise RulesError(f"{path}: {exc}") from None


def load_rules(path: str | Path = DEFAULT_COMPLETENESS_FILE) -> CompletenessRules:
    """Load and validate completeness rules (re-read when the file changes)."""
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
