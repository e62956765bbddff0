"""Problem detection (问题发现规则) — REQUIREMENTS EVAL-9.

Open, readable rules from ``config/evaluation/rules.yaml`` run over the facts and raise *clues*
(线索) into the disposal queue; a clue can become an accountability case
(``open_case_from_clue``). Rule kinds:

- ``repeated_inspection``  one body inspected the same party more than ``max_count`` times within
  any ``window_days`` consecutive calendar days (重复检查、多头检查) — facts ``enforcement_action``
  with ``attrs.action_type`` in ``action_types`` and ``attrs.party_id``;
- ``just_below_threshold`` at least ``min_count`` decisions of a body with a fine at most
  ``within_percent`` % below the amount that makes a decision major (法制审核标准; 拆分/压低罚款
  规避审核) — ``attrs.fine_amount``, threshold per ``attrs.field`` or ``default``;
- ``overdue_step``         every fact of the listed kinds (e.g. ``disclosure_overdue``,
  ``complaint_ack_late``) — a step that missed its deadline.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from marshmallow import Schema, fields, post_load, validate, validates_schema

from services.common.configfile import ConfigFileError, Keyed, Problems, check_data

from .accountability import AccountabilityCase, ClueSource, open_case
from .facts import FACT_KINDS, Fact, to_decimal
from .indicators import FactKinds, Number

RULE_KINDS = ("repeated_inspection", "just_below_threshold", "overdue_step")


RuleConfigError = ConfigFileError   # rules.yaml is invalid: every problem in one message


@dataclass(frozen=True)
class DetectionRule:
    code: str
    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    enabled: bool = True


@dataclass(frozen=True)
class Clue:
    """A problem found by a rule, with the events behind it."""

    rule_code: str
    rule_name: str
    body_id: str
    region_code: str
    officer_ids: tuple[str, ...]
    evidence: tuple[str, ...]
    detail: str
    found_on: dt.date

    @property
    def key(self) -> str:
        """Stable identity for de-duplicating the disposal queue across runs."""
        digest = hashlib.sha256("|".join((self.rule_code, self.body_id, *self.evidence)).encode()).hexdigest()
        return f"{self.rule_code}:{digest[:16]}"


def _positive_int(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1), **kwargs)


class _Rule(Schema):
    """One rule; which parameters it takes depends on its ``kind`` (checked after the fields)."""

    code = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Z][A-Z0-9_]*$", error="must be capital letters, digits and underscores"))
    name = fields.String(required=True, validate=validate.Length(min=1))
    kind = fields.String(required=True, validate=validate.OneOf(RULE_KINDS))
    enabled = fields.Boolean(load_default=True)
    description = fields.String()
    window_days = _positive_int()
    max_count = _positive_int()
    action_types = fields.List(fields.String(validate=validate.Length(min=1)), validate=validate.Length(min=1))
    thresholds = Keyed(Number(positive=True))
    within_percent = Number(validate=validate.Range(min=0, max=100, min_inclusive=False, max_inclusive=False))
    min_count = _positive_int()
    fact_kinds = FactKinds(validate=validate.Length(min=1))

    @validates_schema
    def params_of_kind(self, data, **kwargs):
        kind, problems = data["kind"], Problems()
        for key in set(data) - _COMMON_KEYS - _PARAMS[kind] - _OPTIONAL[kind]:
            problems.add(f"not a parameter of a {kind} rule", key)
        for key in sorted(_PARAMS[kind] - set(data)):
            problems.add(f"required for a {kind} rule", key)
        if kind == "just_below_threshold" and "thresholds" in data and "default" not in data["thresholds"]:
            problems.add("needs a default", "thresholds")
        problems.raise_any()

    @post_load
    def build(self, data, **kwargs) -> DetectionRule:
        kind = data["kind"]
        params = {k: data[k] for k in _PARAMS[kind] | _OPTIONAL[kind] if k in data}
        if kind != "overdue_step":
            params["action_types"] = tuple(params.get("action_types") or _DEFAULT_ACTION_TYPES[kind])
        if kind == "just_below_threshold":
            params.setdefault("min_count", 1)
        return DetectionRule(data["code"], data["name"], kind, params, data["enabled"])


_COMMON_KEYS = {"code", "name", "kind", "enabled", "description"}
_PARAMS = {"repeated_inspection": {"window_days", "max_count"},
           "just_below_threshold": {"thresholds", "within_percent"},
           "overdue_step": {"fact_kinds"}}
_OPTIONAL = {"repeated_inspection": {"action_types"}, "just_below_threshold": {"min_count", "action_types"},
             "overdue_step": set()}
_DEFAULT_ACTION_TYPES = {"repeated_inspection": ("inspection",), "just_below_threshold": ("penalty",)}


class RulesFile(Schema):
    """``config/evaluation/rules.yaml`` → the detection rules (codes unique)."""

    rules = fields.List(fields.Nested(_Rule), required=True)

    @validates_schema
    def codes_unique(self, data, **kwargs):
        problems, seen = Problems(), set()
        for i, rule in enumerate(data["rules"]):
            if rule.code in seen:
                problems.add(f"code {rule.code} used twice", "rules", i, "code")
            seen.add(rule.code)
        problems.raise_any()

    @post_load
    def build(self, data, **kwargs) -> list[DetectionRule]:
        return data["rules"]


def parse_rules(data: Any, source: str = "<dict>") -> list[DetectionRule]:
    return check_data(data, RulesFile, source)



def _officers(facts: Iterable[Fact]) -> tuple[str, ...]:
    return tuple(sorted({f.officer_id for f in facts if f.officer_id}))


def _ids(facts: Iterable[Fact]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f.event_id for f in sorted(facts, key=lambda f: (f.occurred_on, f.event_id))))


def _repeated_inspection(rule: DetectionRule, facts: list[Fact], today: dt.date) -> list[Clue]:
    window, limit = rule.params["window_days"], rule.params["max_count"]
    groups: dict[tuple[str, str], dict[tuple, Fact]] = defaultdict(dict)
    officers: dict[tuple, list[Fact]] = defaultdict(list)
    for f in facts:
        if f.kind == "enforcement_action" and f.attrs.get("action_type") in rule.params["action_types"] \
                and f.attrs.get("party_id"):
            key = (f.body_id, str(f.attrs["party_id"]))
            groups[key].setdefault(f.body_key, f)
            officers[(key, f.event_id)].append(f)
    clues = []
    for (body_id, party), unique in sorted(groups.items()):
        acts = sorted(unique.values(), key=lambda f: (f.occurred_on, f.event_id))
        i = 0
        while i < len(acts):
            j = i
            while j + 1 < len(acts) and (acts[j + 1].occurred_on - acts[i].occurred_on).days < window:
                j += 1
            if j - i + 1 > limit:
                chosen = acts[i:j + 1]
                all_facts = [x for a in chosen for x in officers[((body_id, party), a.event_id)]]
                clues.append(Clue(rule.code, rule.name, body_id, chosen[0].region_code, _officers(all_facts),
                                  _ids(chosen),
                                  f"{chosen[0].occurred_on.isoformat()}至{chosen[-1].occurred_on.isoformat()}对同一当事人"
                                  f"（{party}）检查{len(chosen)}次，超过{window}日内{limit}次", today))
                i = j + 1
            else:
                i += 1
    return clues


def _just_below(rule: DetectionRule, facts: list[Fact], today: dt.date) -> list[Clue]:
    thresholds, pct = rule.params["thresholds"], rule.params["within_percent"]
    by_body: dict[str, dict[tuple, Fact]] = defaultdict(dict)
    for f in facts:
        if f.kind != "enforcement_action" or f.attrs.get("action_type") not in rule.params["action_types"]:
            continue
        amount = f.attrs.get("fine_amount")
        if amount is None:
            continue
        threshold = thresholds.get(str(f.attrs.get("field")), thresholds["default"])
        amount = to_decimal(amount)
        if threshold * (Decimal(100) - pct) / Decimal(100) <= amount < threshold:
            by_body[f.body_id].setdefault(f.body_key, f)
    clues = []
    for body_id, unique in sorted(by_body.items()):
        hits = list(unique.values())
        if len(hits) >= rule.params["min_count"]:
            all_facts = [f for f in facts if f.kind == "enforcement_action" and f.event_id in {h.event_id for h in hits}]
            clues.append(Clue(rule.code, rule.name, body_id, hits[0].region_code, _officers(all_facts), _ids(hits),
                              f"{len(hits)}件罚款决定金额低于法制审核标准不足{pct}%", today))
    return clues


def _overdue(rule: DetectionRule, facts: list[Fact], today: dt.date) -> list[Clue]:
    unique: dict[tuple, list[Fact]] = defaultdict(list)
    for f in facts:
        if f.kind in rule.params["fact_kinds"]:
            unique[f.body_key].append(f)
    clues = []
    for copies in sorted(unique.values(), key=lambda fs: (fs[0].occurred_on, fs[0].event_id)):
        f = copies[0]
        clues.append(Clue(rule.code, rule.name, f.body_id, f.region_code, _officers(copies), (f.event_id,),
                          f"{FACT_KINDS[f.kind][0]}（{f.occurred_on.isoformat()}）", today))
    return clues


_DETECTORS = {"repeated_inspection": _repeated_inspection, "just_below_threshold": _just_below,
              "overdue_step": _overdue}


def detect(facts: Iterable[Fact], rules: Iterable[DetectionRule], today: dt.date) -> list[Clue]:
    """Run every enabled rule over ``facts``; return the clues found (deterministic order)."""
    facts = list(facts)
    out = []
    for rule in rules:
        if rule.enabled:
            out.extend(_DETECTORS[rule.kind](rule, facts, today))
    return out


def open_case_from_clue(clue: Clue, case_id: str, opened_at: dt.datetime, opened_by: str = "system") -> AccountabilityCase:
    """Turn a detection clue into an accountability case at stage 线索 (EVAL-6, EVAL-9)."""
    return open_case(case_id, body_id=clue.body_id, region_code=clue.region_code, source=ClueSource.DETECTION_RULE,
                     description=f"{clue.rule_name}：{clue.detail}", opened_by=opened_by, opened_at=opened_at,
                     officer_ids=clue.officer_ids, source_event_ids=clue.evidence)
