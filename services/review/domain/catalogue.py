"""Review catalogue (重大执法决定法制审核目录清单) and classification — REQUIREMENTS REV-1.

A catalogue is data (``config/review/catalogue.yaml``): a ``default`` layer, optional layers per
field (所属领域) and tier (执法层级), and per-body overrides keyed by ``body_id`` (which may again
have per-field and per-tier layers). :func:`classify` resolves the layers that apply to a proposal
and reports whether it is a major decision (重大执法决定) together with every rule that fired.

Only :func:`load_catalogue` reads a file; :func:`parse_catalogue` and :func:`classify` are pure.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import yaml

from services.common.identifiers import Tier

from .model import (ACTION_TYPE_NAMES_ZH, ACTION_TYPES, FLAG_NAMES_ZH, MEASURE_NAMES_ZH, PARTY_KIND_NAMES_ZH,
                    PartyKind, Proposal, format_yuan, to_decimal)

__all__ = [
    "DEFAULT_CATALOGUE_FILE", "CatalogueError", "RuleKind", "Restriction", "Rule", "Layer", "Catalogue",
    "FiredRule", "Classification", "load_catalogue", "parse_catalogue", "classify", "resolve_rules",
]

DEFAULT_CATALOGUE_FILE = Path(__file__).resolve().parents[3] / "config" / "review" / "catalogue.yaml"

RULE_KINDS = ("action_type", "amount", "measure", "hearing", "flag", "matter")
RuleKind = str  # one of RULE_KINDS
AMOUNT_BASES = {"fine": "罚款金额", "confiscation": "没收金额", "total": "罚没金额合计"}
HEARING_WHEN = {"held": "经过听证程序", "requested": "当事人申请听证", "requested_or_held": "当事人申请听证或经过听证"}
TIERS = tuple(t.value for t in Tier)
TIER_NAMES_ZH = {"province": "省级", "city": "市级", "county": "县级", "township": "乡镇（街道）"}

_COMMON_RULE_KEYS = {"id", "kind", "description", "applies_to"}
_KIND_KEYS = {
    "action_type": {"action_types"},
    "amount": {"amount", "thresholds"},
    "measure": {"measures"},
    "hearing": {"when"},
    "flag": {"flag"},
    "matter": {"matter_codes"},
}
_KIND_REQUIRED = {
    "action_type": {"action_types"},
    "amount": {"amount", "thresholds"},
    "measure": {"measures"},
    "hearing": set(),
    "flag": {"flag"},
    "matter": {"matter_codes"},
}
_LAYER_KEYS = {"sign_off", "rules", "disable"}
_BODY_LAYER_KEYS = _LAYER_KEYS | {"fields", "tiers"}
_TOP_KEYS = {"schema_version", "measure_names", "default", "fields", "tiers", "bodies"}
_RESTRICTION_KEYS = {"action_types", "tiers", "fields"}
_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


class CatalogueError(ValueError):
    """The catalogue YAML is invalid; the message names the file and the place (e.g. ``default.rules[2]``)."""


# --- data model --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Restriction:
    """``applies_to``: a rule only applies to these action types / tiers / fields (empty = any)."""

    action_types: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()

    def admits(self, proposal: Proposal) -> bool:
        if self.action_types and proposal.action_type not in self.action_types:
            return False
        if self.tiers and proposal.tier.value not in self.tiers:
            return False
        if self.fields and proposal.field not in self.fields:
            return False
        return True


@dataclass(frozen=True)
class Rule:
    """One catalogue entry (目录清单条目). Only the attributes of its ``kind`` are set."""

    id: str
    kind: RuleKind
    description: str
    applies_to: Restriction = field(default_factory=Restriction)
    action_types: frozenset[str] = frozenset()
    amount: str | None = None
    thresholds: Mapping[str, Decimal] = field(default_factory=dict)
    measures: tuple[str, ...] = ()
    when: str = "held"
    flag: str | None = None
    matter_codes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Layer:
    """A catalogue layer: rules added or replaced by id, rule ids disabled, optional sign-off override."""

    name: str
    rules: tuple[Rule, ...] = ()
    disable: tuple[str, ...] = ()
    sign_off: bool | None = None


@dataclass(frozen=True)
class BodyOverride:
    layer: Layer
    fields: Mapping[str, Layer] = field(default_factory=dict)
    tiers: Mapping[str, Layer] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalogue:
    """A loaded, validated catalogue. ``digest`` identifies the content (recorded with each classification)."""

    default: Layer
    fields: Mapping[str, Layer]
    tiers: Mapping[str, Layer]
    bodies: Mapping[str, BodyOverride]
    measure_names: Mapping[str, str]
    digest: str
    source: str = "<dict>"

    def layers_for(self, proposal: Proposal) -> list[Layer]:
        """The layers that apply to ``proposal``, in the order they are applied."""
        layers = [self.default]
        tier = proposal.tier.value
        if proposal.field and proposal.field in self.fields:
            layers.append(self.fields[proposal.field])
        if tier in self.tiers:
            layers.append(self.tiers[tier])
        body = self.bodies.get(proposal.body_id)
        if body is not None:
            layers.append(body.layer)
            if proposal.field and proposal.field in body.fields:
                layers.append(body.fields[proposal.field])
            if tier in body.tiers:
                layers.append(body.tiers[tier])
        return layers

    def measure_name(self, code: str) -> str:
        return self.measure_names.get(code) or MEASURE_NAMES_ZH.get(code) or code


@dataclass(frozen=True)
class FiredRule:
    """A catalogue rule that matched: id, its Chinese description, and what in the proposal matched."""

    rule_id: str
    description: str
    detail: str


@dataclass(frozen=True)
class Classification:
    """重大执法决定认定 result (REV-1): ``major`` with the fired rules; ``fired`` is empty when not major."""

    case_id: str
    version: int
    major: bool
    fired: tuple[FiredRule, ...]
    sign_off_required: bool
    layers: tuple[str, ...]
    catalogue_digest: str

    @property
    def fired_rule_ids(self) -> list[str]:
        return [f.rule_id for f in self.fired]


# --- loading and validation --------------------------------------------------------------------

def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and validate a catalogue file (default: ``config/review/catalogue.yaml``)."""
    source = Path(path) if path else DEFAULT_CATALOGUE_FILE
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"review catalogue {source}: cannot read: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"review catalogue {source}: not valid YAML: {exc}") from exc
    return parse_catalogue(data, source=str(source))


def parse_catalogue(data: Any, source: str = "<dict>") -> Catalogue:
    """Validate a catalogue given as plain data (as YAML loads it) and build a :class:`Catalogue`."""

    def fail(where: str, message: str):
        raise CatalogueError(f"review catalogue {source}: {where}: {message}")

    if not isinstance(data, Mapping):
        fail("top level", "expected a mapping with at least a 'default' section")
    _unknown(data, _TOP_KEYS, "top level", fail)
    if data.get("schema_version", 1) != 1:
        fail("schema_version", f"unsupported version {data.get('schema_version')!r} (supported: 1)")
    if "default" not in data:
        fail("top level", "missing the 'default' section")

    names = data.get("measure_names") or {}
    if not isinstance(names, Mapping) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in names.items()):
        fail("measure_names", "expected a mapping of measure code → Chinese name")

    default = _parse_layer(data["default"], "default", fail, _LAYER_KEYS)
    if default.disable:
        fail("default.disable", "the default section cannot disable rules (remove them instead)")
    known_ids = {r.id for r in default.rules}

    def keyed(section: str, allowed_keys: set | None = None) -> dict[str, Layer]:
        raw = data.get(section) or {}
        if not isinstance(raw, Mapping):
            fail(section, "expected a mapping")
        out = {}
        for key, value in raw.items():
            if section == "tiers" and key not in TIERS:
                fail(f"tiers.{key}", f"unknown tier (expected one of {', '.join(TIERS)})")
            out[str(key)] = _parse_layer(value, f"{section}.{key}", fail, _LAYER_KEYS)
        return out

    fields_ = keyed("fields")
    tiers = keyed("tiers")
    for layer in (*fields_.values(), *tiers.values()):
        known_ids |= {r.id for r in layer.rules}

    bodies_raw = data.get("bodies") or {}
    if not isinstance(bodies_raw, Mapping):
        fail("bodies", "expected a mapping keyed by body_id")
    bodies: dict[str, BodyOverride] = {}
    for body_id, value in bodies_raw.items():
        where = f"bodies.{body_id}"
        layer = _parse_layer(value, where, fail, _BODY_LAYER_KEYS)
        sub_f, sub_t = {}, {}
        for sub, store in (("fields", sub_f), ("tiers", sub_t)):
            raw = (value or {}).get(sub) or {}
            if not isinstance(raw, Mapping):
                fail(f"{where}.{sub}", "expected a mapping")
            for key, sub_value in raw.items():
                if sub == "tiers" and key not in TIERS:
                    fail(f"{where}.tiers.{key}", f"unknown tier (expected one of {', '.join(TIERS)})")
                store[str(key)] = _parse_layer(sub_value, f"{where}.{sub}.{key}", fail, _LAYER_KEYS)
        body_ids = known_ids | {r.id for r in layer.rules}
        for lay in (layer, *sub_f.values(), *sub_t.values()):
            body_ids |= {r.id for r in lay.rules}
        for lay in (layer, *sub_f.values(), *sub_t.values()):
            for rid in lay.disable:
                if rid not in body_ids:
                    fail(f"{lay.name}.disable", f"no rule with id {rid!r} to disable")
        bodies[str(body_id)] = BodyOverride(layer, sub_f, sub_t)
    for lay in (*fields_.values(), *tiers.values()):
        for rid in lay.disable:
            if rid not in known_ids:
                fail(f"{lay.name}.disable", f"no rule with id {rid!r} to disable")

    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()[:16]
    return Catalogue(default, fields_, tiers, bodies, dict(names), digest, source)


def _unknown(mapping: Mapping, allowed: set, where: str, fail) -> None:
    extra = sorted(str(k) for k in mapping if k not in allowed)
    if extra:
        fail(where, f"unknown key(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})")


def _str_list(value, where: str, fail, allowed: tuple | None = None) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        fail(where, "expected a non-empty list")
    out = []
    for item in value:
        if not isinstance(item, str) or not item:
            fail(where, f"expected strings, got {item!r}")
        if allowed is not None and item not in allowed:
            fail(where, f"unknown value {item!r} (expected one of {', '.join(allowed)})")
        out.append(item)
    return out


def _parse_layer(raw: Any, where: str, fail, allowed_keys: set) -> Layer:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        fail(where, "expected a mapping")
    _unknown(raw, allowed_keys, where, fail)
    sign_off = raw.get("sign_off")
    if sign_off is not None and not isinstance(sign_off, bool):
        fail(f"{where}.sign_off", f"expected true or false, got {sign_off!r}")
    rules_raw = raw.get("rules") or []
    if not isinstance(rules_raw, list):
        fail(f"{where}.rules", "expected a list of rules")
    rules, seen = [], set()
    for i, rule_raw in enumerate(rules_raw):
        rule = _parse_rule(rule_raw, f"{where}.rules[{i}]", fail)
        if rule.id in seen:
            fail(f"{where}.rules[{i}]", f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        rules.append(rule)
    disable = raw.get("disable") or []
    if disable:
        disable = _str_list(disable, f"{where}.disable", fail)
    return Layer(where, tuple(rules), tuple(disable), sign_off)


def _parse_rule(raw: Any, where: str, fail) -> Rule:
    if not isinstance(raw, Mapping):
        fail(where, "expected a mapping")
    if isinstance(raw.get("id"), str):
        where = f"{where} ({raw['id']})"
    kind = raw.get("kind")
    if kind not in RULE_KINDS:
        fail(f"{where}.kind", f"unknown rule kind {kind!r} (expected one of {', '.join(RULE_KINDS)})")
    _unknown(raw, _COMMON_RULE_KEYS | _KIND_KEYS[kind], where, fail)
    missing = sorted(({"id", "description"} | _KIND_REQUIRED[kind]) - set(raw))
    if missing:
        fail(where, f"missing key(s) {', '.join(missing)} for a rule of kind {kind!r}")
    rule_id = raw["id"]
    if not isinstance(rule_id, str) or not _ID_RE.match(rule_id):
        fail(f"{where}.id", f"rule id must be letters, digits, '.', '_' or '-', got {rule_id!r}")
    description = raw["description"]
    if not isinstance(description, str) or not description.strip():
        fail(f"{where}.description", "a Chinese description is required")

    restriction = Restriction()
    if raw.get("applies_to") is not None:
        ap = raw["applies_to"]
        if not isinstance(ap, Mapping):
            fail(f"{where}.applies_to", "expected a mapping")
        _unknown(ap, _RESTRICTION_KEYS, f"{where}.applies_to", fail)
        restriction = Restriction(
            action_types=frozenset(_str_list(ap["action_types"], f"{where}.applies_to.action_types", fail, ACTION_TYPES))
            if "action_types" in ap else frozenset(),
            tiers=frozenset(_str_list(ap["tiers"], f"{where}.applies_to.tiers", fail, TIERS)) if "tiers" in ap else frozenset(),
            fields=frozenset(_str_list(ap["fields"], f"{where}.applies_to.fields", fail)) if "fields" in ap else frozenset(),
        )

    kw: dict[str, Any] = {}
    if kind == "action_type":
        kw["action_types"] = frozenset(_str_list(raw["action_types"], f"{where}.action_types", fail, ACTION_TYPES))
    elif kind == "amount":
        if raw["amount"] not in AMOUNT_BASES:
            fail(f"{where}.amount", f"unknown amount {raw['amount']!r} (expected one of {', '.join(AMOUNT_BASES)})")
        kw["amount"] = raw["amount"]
        th = raw["thresholds"]
        if not isinstance(th, Mapping) or not th:
            fail(f"{where}.thresholds", "expected a mapping such as {natural: 10000, legal: 100000}")
        kinds = tuple(k.value for k in PartyKind)
        thresholds = {}
        for party_kind, value in th.items():
            if party_kind not in kinds:
                fail(f"{where}.thresholds", f"unknown party kind {party_kind!r} (expected one of {', '.join(kinds)})")
            try:
                amount = to_decimal(value, "threshold")
            except ValueError:
                amount = None
            if amount is None or amount <= 0 or isinstance(value, str):
                fail(f"{where}.thresholds.{party_kind}", f"threshold must be a positive number of yuan, got {value!r}")
            thresholds[party_kind] = amount
        kw["thresholds"] = thresholds
    elif kind == "measure":
        kw["measures"] = tuple(_str_list(raw["measures"], f"{where}.measures", fail))
    elif kind == "hearing":
        when = raw.get("when", "held")
        if when not in HEARING_WHEN:
            fail(f"{where}.when", f"unknown value {when!r} (expected one of {', '.join(HEARING_WHEN)})")
        kw["when"] = when
    elif kind == "flag":
        if raw["flag"] not in FLAG_NAMES_ZH:
            fail(f"{where}.flag", f"unknown flag {raw['flag']!r} (expected one of {', '.join(FLAG_NAMES_ZH)})")
        kw["flag"] = raw["flag"]
    elif kind == "matter":
        kw["matter_codes"] = frozenset(_str_list(raw["matter_codes"], f"{where}.matter_codes", fail))
    return Rule(id=rule_id, kind=kind, description=description.strip(), applies_to=restriction, **kw)


# --- classification ----------------------------------------------------------------------------

def resolve_rules(proposal: Proposal, catalogue: Catalogue) -> tuple[list[Rule], bool, list[str]]:
    """Apply the layers for ``proposal``: returns (rules in order, sign_off_required, layer names)."""
    rules: dict[str, Rule] = {}
    sign_off = False
    names = []
    for layer in catalogue.layers_for(proposal):
        names.append(layer.name)
        for rid in layer.disable:
            rules.pop(rid, None)
        for rule in layer.rules:
            rules[rule.id] = rule  # same id replaces in place (dict keeps the first position)
        if layer.sign_off is not None:
            sign_off = layer.sign_off
    return list(rules.values()), sign_off, names


def _evaluate(rule: Rule, p: Proposal, catalogue: Catalogue) -> str | None:
    """The Chinese detail of why ``rule`` fires for ``p``, or None."""
    if rule.kind == "action_type":
        if p.action_type in rule.action_types:
            return f"行为类别为{ACTION_TYPE_NAMES_ZH[p.action_type]}"
        return None
    if rule.kind == "amount":
        amount = p.amount(rule.amount)
        if amount is None:
            return None
        # The lowest threshold among the party kinds present applies (以上含本数).
        applicable = sorted(((rule.thresholds[k.value], k.value) for k in p.party_kinds if k.value in rule.thresholds))
        if not applicable:
            return None
        threshold, kind = applicable[0]
        if amount >= threshold:
            return (f"{AMOUNT_BASES[rule.amount]}{format_yuan(amount)}，当事人为{PARTY_KIND_NAMES_ZH[kind]}，"
                    f"达到{PARTY_KIND_NAMES_ZH[kind]}标准{format_yuan(threshold)}（以上含本数）")
        return None
    if rule.kind == "measure":
        hits = [m for m in p.measures if m in rule.measures]
        if hits:
            return "拟采取" + "、".join(f"{catalogue.measure_name(m)}（{m}）" for m in hits)
        return None
    if rule.kind == "hearing":
        if rule.when == "held" and p.hearing_held:
            return "本案经过听证程序"
        if rule.when == "requested" and p.hearing_requested:
            return "当事人申请听证"
        if rule.when == "requested_or_held" and (p.hearing_requested or p.hearing_held):
            return "本案经过听证程序" if p.hearing_held else "当事人申请听证"
        return None
    if rule.kind == "flag":
        if p.flags.is_set(rule.flag):
            return f"承办机构标记：{FLAG_NAMES_ZH[rule.flag]}"
        return None
    if rule.kind == "matter":
        if p.matter_code in rule.matter_codes:
            return f"执法事项{p.matter_code}属于目录清单列明的应当审核事项"
        return None
    raise AssertionError(rule.kind)


def classify(proposal: Proposal, catalogue: Catalogue) -> Classification:
    """重大执法决定认定 (REV-1): is ``proposal`` major, and which catalogue rules fired (in catalogue order)."""
    rules, sign_off, layer_names = resolve_rules(proposal, catalogue)
    fired = []
    for rule in rules:
        if not rule.applies_to.admits(proposal):
            continue
        detail = _evaluate(rule, proposal, catalogue)
        if detail is not None:
            fired.append(FiredRule(rule.id, rule.description, detail))
    major = bool(fired)
    return Classification(
        case_id=proposal.case_id, version=proposal.version, major=major, fired=tuple(fired),
        sign_off_required=major and sign_off, layers=tuple(layer_names), catalogue_digest=catalogue.digest,
    )
