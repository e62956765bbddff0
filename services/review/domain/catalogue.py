"""Review catalogue (重大执法决定法制审核目录清单) and classification — REQUIREMENTS REV-1.

A catalogue is data (``config/review/catalogue.yaml``): a ``default`` layer, optional layers per
field (所属领域) and tier (执法层级), and per-body overrides keyed by ``body_id`` (which may again
have per-field and per-tier layers). :func:`classify` resolves the layers that apply to a proposal
and reports whether it is a major decision (重大执法决定) together with every rule that fired.

Pure: :class:`CatalogueFile` / :func:`parse_catalogue` check plain data (the file is read by
services/review/configuration.py), :func:`classify` applies it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Mapping

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common.configfile import ConfigFileError, Keyed, check_data
from services.common.identifiers import Tier

from .model import (ACTION_TYPE_NAMES_ZH, ACTION_TYPES, FLAG_NAMES_ZH, MEASURE_NAMES_ZH, PARTY_KIND_NAMES_ZH,
                    PartyKind, Proposal, format_yuan, to_decimal)

__all__ = [
    "CatalogueError", "CatalogueFile", "RuleKind", "Restriction", "Rule", "Layer", "Catalogue",
    "FiredRule", "Classification", "parse_catalogue", "classify", "resolve_rules",
]

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
_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


CatalogueError = ConfigFileError   # the catalogue is invalid: ``file: default.rules.2.kind: message``


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

def parse_catalogue(data: Any, source: str = "<dict>") -> Catalogue:
    """Validate a catalogue given as plain data (as YAML loads it) and build a :class:`Catalogue`."""
    return dataclasses.replace(check_data(data, CatalogueFile, source), source=source)


class _Bool(fields.Boolean):
    """``true`` or ``false`` only (not "yes", 1 …)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError(f"expected true or false, got {value!r}")
        return value


class Yuan(fields.Field):
    """An amount of yuan written as a number (not a string): positive, or with ``zero=True`` non-negative."""

    def __init__(self, *, zero: bool = False, what: str = "expected", **kwargs):
        super().__init__(**kwargs)
        self.zero, self.what = zero, what

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            amount = None if isinstance(value, (str, bool)) else to_decimal(value, "amount")
        except ValueError:
            amount = None
        if amount is None or amount < 0 or (amount == 0 and not self.zero):
            kind = "non-negative" if self.zero else "positive"
            raise ValidationError(f"{self.what} a {kind} number of yuan, got {value!r}")
        return amount


def _codes(choices: tuple | None = None, **kwargs) -> fields.List:
    item = fields.String(validate=validate.OneOf(choices) if choices else validate.Length(min=1))
    return fields.List(item, validate=validate.Length(min=1), **kwargs)


class _Restriction(Schema):
    action_types = _codes(ACTION_TYPES)
    tiers = _codes(TIERS)
    fields_ = _codes(data_key="fields")

    @post_load
    def build(self, data, **kwargs) -> Restriction:
        return Restriction(**{k.rstrip("_"): frozenset(v) for k, v in data.items()})


class _Rule(Schema):
    """One rule; which keys a rule has depends on its ``kind`` (checked after the fields)."""

    id = fields.String(required=True, validate=validate.Regexp(
        _ID_RE, error="rule id must be letters, digits, '.', '_' or '-'"))
    kind = fields.String(required=True, validate=validate.OneOf(RULE_KINDS))
    description = fields.String(required=True,
                                validate=validate.Regexp(r"\S", error="a Chinese description is required"))
    applies_to = fields.Nested(_Restriction)
    action_types = _codes(ACTION_TYPES)
    amount = fields.String(validate=validate.OneOf(tuple(AMOUNT_BASES)))
    thresholds = Keyed(Yuan(what="threshold must be"),
                       keys=fields.String(validate=validate.OneOf(tuple(k.value for k in PartyKind))),
                       validate=validate.Length(min=1))
    measures = _codes()
    when = fields.String(validate=validate.OneOf(tuple(HEARING_WHEN)))
    flag = fields.String(validate=validate.OneOf(tuple(FLAG_NAMES_ZH)))
    matter_codes = _codes()

    @validates_schema
    def keys_of_kind(self, data, **kwargs):
        kind = data["kind"]
        errors = {key: [f"not a key of a rule of kind {kind!r}"]
                  for key in data if key not in _COMMON_RULE_KEYS | _KIND_KEYS[kind]}
        errors.update({key: [f"required for a rule of kind {kind!r}"]
                       for key in _KIND_REQUIRED[kind] if key not in data})
        if errors:
            raise ValidationError(errors)

    @post_load
    def build(self, data, **kwargs) -> Rule:
        data = dict(data, description=data["description"].strip())
        for key in ("action_types", "matter_codes"):
            if key in data:
                data[key] = frozenset(data[key])
        if "measures" in data:
            data["measures"] = tuple(data["measures"])
        return Rule(**data)


class _Layer(Schema):
    sign_off = _Bool()
    rules = fields.List(fields.Nested(_Rule), load_default=list)
    disable = fields.List(fields.String(validate=validate.Length(min=1)), load_default=list)

    @validates_schema
    def ids_unique(self, data, **kwargs):
        seen: set = set()
        for i, rule in enumerate(data["rules"]):
            if rule.id in seen:
                raise ValidationError({"rules": {i: [f"duplicate rule id {rule.id!r}"]}})
            seen.add(rule.id)


def _layers(**kwargs) -> Keyed:
    return Keyed(fields.Nested(_Layer, allow_none=True), **kwargs)


def _tier_layers() -> Keyed:
    return _layers(keys=fields.String(validate=validate.OneOf(TIERS, error="unknown tier (expected one of {choices})")))


class _BodyLayer(_Layer):
    fields_ = _layers(data_key="fields")
    tiers = _tier_layers()


class CatalogueFile(Schema):
    """``config/review/catalogue.yaml`` → :class:`Catalogue`."""

    schema_version = fields.Integer(strict=True, validate=validate.Equal(1, error="unsupported version (supported: 1)"))
    measure_names = Keyed(fields.String(validate=validate.Length(min=1)))
    default = fields.Nested(_Layer, required=True)
    fields_ = _layers(data_key="fields")
    tiers = _tier_layers()
    bodies = Keyed(fields.Nested(_BodyLayer, allow_none=True))

    @validates_schema
    def disabled_rules_exist(self, data, **kwargs):
        errors: dict = {}
        if data["default"]["disable"]:
            errors["default"] = {"disable": ["the default section cannot disable rules (remove them instead)"]}

        def ids(*layers):
            return {r.id for lay in layers if lay for r in lay["rules"]}

        known = ids(data["default"], *(data.get("fields_") or {}).values(), *(data.get("tiers") or {}).values())

        def check(layer, known_ids, *path):
            stray = [rid for rid in (layer or {}).get("disable", ()) if rid not in known_ids]
            if stray:
                node = errors
                for key in path:
                    node = node.setdefault(key, {})
                node["disable"] = [f"no rule with id {rid!r} to disable" for rid in stray]

        for section in ("fields_", "tiers"):
            for key, layer in (data.get(section) or {}).items():
                check(layer, known, section.rstrip("_"), key)
        for body_id, body in (data.get("bodies") or {}).items():
            body = body or {}
            subs = [(sub, key, lay) for sub in ("fields_", "tiers") for key, lay in (body.get(sub) or {}).items()]
            body_ids = known | ids(body, *(lay for _, _, lay in subs))
            check(body, body_ids, "bodies", body_id)
            for sub, key, lay in subs:
                check(lay, body_ids, "bodies", body_id, sub.rstrip("_"), key)
        if errors:
            raise ValidationError(errors)

    @post_load(pass_original=True)
    def build(self, data, original, **kwargs) -> Catalogue:
        def layer(raw, name) -> Layer:
            raw = raw or {"rules": [], "disable": []}
            return Layer(name, tuple(raw["rules"]), tuple(raw["disable"]), raw.get("sign_off"))

        def keyed(raw, prefix) -> dict[str, Layer]:
            return {str(key): layer(value, f"{prefix}.{key}") for key, value in (raw or {}).items()}

        bodies = {str(body_id): BodyOverride(layer(body, f"bodies.{body_id}"),
                                             keyed((body or {}).get("fields_"), f"bodies.{body_id}.fields"),
                                             keyed((body or {}).get("tiers"), f"bodies.{body_id}.tiers"))
                  for body_id, body in (data.get("bodies") or {}).items()}
        digest = hashlib.sha256(json.dumps(original, sort_keys=True, default=str, ensure_ascii=False).encode()
                                ).hexdigest()[:16]
        return Catalogue(layer(data["default"], "default"), keyed(data.get("fields_"), "fields"),
                         keyed(data.get("tiers"), "tiers"), bodies, dict(data.get("measure_names") or {}), digest)


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
