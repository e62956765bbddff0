'''Verifiable random inspection draw ("双随机、一公开") — DISC-8.

Random targets (随机抽取检查对象) and random inspectors (随机选派执法检查人员), results published
(抽查情况及查处结果及时向社会公开). The draw can be recomputed by anyone afterwards:

1. Before the draw the body publishes a :class:`DrawAnnouncement`: the draw id, the SM3 digest of
   the canonical inputs (target directory, inspector directory, counts, recusal pairs) and which
   *future* public value will seed the draw (e.g. a lottery result or an index close on a named day).
2. When that value is public: ``seed = SM3(UTF-8("<draw_id>|<public_value>"))`` (32 bytes).
3. :func:`perform_draw` is a deterministic function of (seed, inputs) — algorithm ``zhifa-draw-v1``:

   ``uniform(label, n)``: for c = 0, 1, 2, …: ``x = int(HMAC-SM3(key=seed, msg=UTF-8(f"{label}|{c}")))``
   (big-endian, 256 bits); if ``x < 2**256 - (2**256 mod n)`` return ``x mod n`` (rejection sampling,
   no modulo bias).

   Targets: ``a = sorted(targets)`` (Unicode code-point order); for ``i in 0..k-1``:
   ``j = i + uniform(f"target|{i}", len(a) - i)``; swap ``a[i], a[j]``. Selected = ``a[:k]``.

   Inspectors, for each selected target ``T`` in that order: ``e = [p for p in sorted(inspectors)
   if (p, T) not a recusal pair]``; for ``j in 0..m-1``: ``r = j + uniform(f"inspector|{T}|{j}", len(e) - j)``;
   swap ``e[j], e[r]``. Assigned = ``e[:m]``.

No I/O and no clock: times are passed in.
'''
from __future__ import annotations

import calendar as _calendar
import datetime as dt
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from marshmallow import Schema, fields, post_load, validate

from services.common.configfile import Keyed, load_config_file
from services.common.seeded_draw import (ALGORITHM, DrawError, derive_seed, partial_shuffle,  # noqa: F401
                                         seed_input, sm3_hex, uniform)
from services.common.workdays import Deadline, WorkingDayCalendar

from .model import CONFIG_DIR, PartyKind
from .redaction import mask_name

DEFAULT_INSPECTION_FILE = CONFIG_DIR / "random_inspection.yaml"


# --- configuration -----------------------------------------------------------------------------
@dataclass(frozen=True)
class InspectionRules:
    min_inspectors_per_target: int
    results_publication_working_days: int
    outcomes: dict[str, str]


def load_inspection_rules(path: str | Path | None = None) -> InspectionRules:
    """Load and validate ``config/disclosure/random_inspection.yaml``."""
    return _load(str(path or DEFAULT_INSPECTION_FILE))


class InspectionFile(Schema):
    """``config/disclosure/random_inspection.yaml`` → :class:`InspectionRules`."""

    version = fields.Integer(strict=True)
    min_inspectors_per_target = fields.Integer(required=True, strict=True, validate=validate.Range(min=2))
    results_publication_working_days = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    outcomes = Keyed(fields.String(validate=validate.Length(min=1)), required=True, validate=validate.Length(min=1))

    @post_load
    def build(self, data, **kwargs) -> InspectionRules:
        return InspectionRules(data["min_inspectors_per_target"], data["results_publication_working_days"],
                               dict(data["outcomes"]))


@lru_cache(maxsize=8)
def _load(path: str) -> InspectionRules:
    return load_config_file(path, InspectionFile)


# --- hashing primitives: services/common/seeded_draw.py (shared with REC-7's case-file sampling) ---


# --- inputs, announcement, draw ------------------------------------------------------------------
@dataclass(frozen=True)
class DrawInputs:
    """What the draw is made from: the directories (名录库) and the rules of this draw."""

    draw_id: str
    matter: str  # 抽查事项
    targets: tuple[str, ...]  # target ids (e.g. 统一社会信用代码) from the target directory
    inspectors: tuple[str, ...]  # inspector ids (执法证号) from the inspector directory
    target_count: int
    inspectors_per_target: int = 2
    recusals: tuple[tuple[str, str], ...] = ()  # (inspector_id, target_id) pairs: 回避

    def validate(self, rules: InspectionRules | None = None) -> None:
        rules = rules or load_inspection_rules()
        if len(set(self.targets)) != len(self.targets):
            raise DrawError("检查对象名录中有重复")
        if len(set(self.inspectors)) != len(self.inspectors):
            raise DrawError("执法检查人员名录中有重复")
        if not 0 < self.target_count <= len(self.targets):
            raise DrawError(f"抽取检查对象数应在1至{len(self.targets)}之间")
        if self.inspectors_per_target < rules.min_inspectors_per_target:
            raise DrawError(f"每个检查对象至少选派{rules.min_inspectors_per_target}名执法人员")
        unknown = [(p, t) for p, t in self.recusals if p not in self.inspectors or t not in self.targets]
        if unknown:
            raise DrawError("回避关系中含有不在名录中的人员或对象")

    def canonical_json(self) -> str:
        """Canonical form whose SM3 digest is published before the draw."""
        return json.dumps({
            "algorithm": ALGORITHM,
            "draw_id": self.draw_id,
            "matter": self.matter,
            "targets": sorted(self.targets),
            "inspectors": sorted(self.inspectors),
            "target_count": self.target_count,
            "inspectors_per_target": self.inspectors_per_target,
            "recusals": sorted([list(pair) for pair in set(self.recusals)]),
        }, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def digest(self) -> str:
        return sm3_hex(self.canonical_json().encode("utf-8"))


@dataclass(frozen=True)
class DrawAnnouncement:
    """Published BEFORE the draw (抽查计划公告): inputs are committed, the seed source is fixed."""

    draw_id: str
    matter: str
    inputs_digest: str
    public_value_source_zh: str  # e.g. "2026年6月1日中国福利彩票双色球开奖号码，按开奖公告原样书写"
    public_value_on: dt.date  # the day the public value becomes known (must be after announcement)
    announced_at: dt.datetime
    algorithm: str = ALGORITHM

    def text_zh(self) -> str:
        return (f"抽查编号：{self.draw_id}\n抽查事项：{self.matter}\n算法：{self.algorithm}\n"
                f"输入数据SM3摘要：{self.inputs_digest}\n随机种子来源：{self.public_value_source_zh}"
                f"（{self.public_value_on.isoformat()}公布）\n种子 = SM3(“{self.draw_id}|公开值”)\n"
                f"公告时间：{self.announced_at.isoformat(timespec='minutes')}")


def announce_draw(inputs: DrawInputs, public_value_source_zh: str, public_value_on: dt.date,
                  now: dt.datetime, rules: InspectionRules | None = None) -> DrawAnnouncement:
    """Commit to the inputs and name a future public value as the seed source — DISC-8."""
    inputs.validate(rules)
    if public_value_on <= now.date():
        raise DrawError("随机种子所用的公开值必须在公告之后才产生")
    if not public_value_source_zh.strip():
        raise DrawError("必须说明随机种子所用公开值的来源")
    return DrawAnnouncement(inputs.draw_id, inputs.matter, inputs.digest(), public_value_source_zh.strip(),
                            public_value_on, now)


@dataclass(frozen=True)
class Assignment:
    target_id: str
    inspector_ids: tuple[str, ...]


@dataclass(frozen=True)
class DrawResult:
    draw_id: str
    algorithm: str
    seed_input: str
    seed_hex: str
    inputs_digest: str
    assignments: tuple[Assignment, ...]

    def digest(self) -> str:
        body = json.dumps([[a.target_id, list(a.inspector_ids)] for a in self.assignments],
                          ensure_ascii=False, separators=(",", ":"))
        return sm3_hex(f"{self.seed_hex}|{self.inputs_digest}|{body}".encode("utf-8"))


def draw(inputs: DrawInputs, public_value: str, rules: InspectionRules | None = None) -> DrawResult:
    """The deterministic draw ``zhifa-draw-v1`` (see the module docstring and docs/disclosure-rules.md)."""
    inputs.validate(rules)
    seed = derive_seed(inputs.draw_id, public_value)
    selected = partial_shuffle(seed, sorted(inputs.targets), inputs.target_count, "target")
    recused = set(inputs.recusals)
    assignments = []
    for target in selected:
        eligible = [p for p in sorted(inputs.inspectors) if (p, target) not in recused]
        if len(eligible) < inputs.inspectors_per_target:
            raise DrawError(f"检查对象{target}回避后可选派的执法人员不足{inputs.inspectors_per_target}名")
        chosen = partial_shuffle(seed, eligible, inputs.inspectors_per_target, f"inspector|{target}")
        assignments.append(Assignment(target, tuple(chosen)))
    return DrawResult(inputs.draw_id, ALGORITHM, seed_input(inputs.draw_id, public_value), seed.hex(),
                      inputs.digest(), tuple(assignments))


def perform_draw(announcement: DrawAnnouncement, inputs: DrawInputs, public_value: str,
                 today: dt.date, rules: InspectionRules | None = None) -> DrawResult:
    """Draw against a prior announcement: the inputs must match the committed digest and the
    public value must already be public (``today >= public_value_on``)."""
    if inputs.draw_id != announcement.draw_id:
        raise DrawError("抽查编号与公告不一致")
    if inputs.digest() != announcement.inputs_digest:
        raise DrawError("名录或抽取规则在公告后被改动，输入数据摘要与公告不一致")
    if today < announcement.public_value_on:
        raise DrawError("随机种子所用的公开值尚未公布，不能抽取")
    return draw(inputs, public_value, rules)


def verify_draw(published: DrawResult, inputs: DrawInputs, public_value: str,
                announcement: DrawAnnouncement | None = None) -> bool:
    """Recompute the draw from the published inputs; True when it equals ``published``."""
    if announcement is not None and announcement.inputs_digest != inputs.digest():
        return False
    try:
        again = draw(inputs, public_value)
    except DrawError:
        return False
    return again == published


# --- monthly results (抽查结果按月公开) -----------------------------------------------------------
@dataclass(frozen=True)
class InspectionResult:
    draw_id: str
    target_id: str
    target_name: str
    target_kind: PartyKind
    matter: str
    inspected_on: dt.date
    outcome: str  # a code from the outcomes configuration
    inspector_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublicResultRow:
    target_name: str  # natural persons masked (张某)
    target_id: str  # USCC for organisations; empty for natural persons
    matter: str
    inspected_on: dt.date
    outcome_zh: str
    draw_id: str


@dataclass(frozen=True)
class MonthlySummary:
    body_name: str
    year: int
    month: int
    total: int
    by_outcome: dict[str, int]
    rows: tuple[PublicResultRow, ...]
    publication_deadline: Deadline
    text_zh: str = field(repr=False, default="")


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, _calendar.monthrange(year, month)[1])


def monthly_results_summary(
    body_name: str,
    year: int,
    month: int,
    results: Iterable[InspectionResult],
    calendar: WorkingDayCalendar,
    rules: InspectionRules | None = None,
) -> MonthlySummary:
    """The month's inspection results for publication (抽查结果月度公示) — DISC-8.

    Only results inspected in (year, month) are accepted (ValueError otherwise); the summary is due
    ``results_publication_working_days`` working days after the month ends.
    """
    rules = rules or load_inspection_rules()
    by_outcome = {code: 0 for code in rules.outcomes}
    rows = []
    for r in sorted(results, key=lambda r: (r.inspected_on, r.target_id)):
        if (r.inspected_on.year, r.inspected_on.month) != (year, month):
            raise ValueError(f"result for {r.target_id} is dated {r.inspected_on}, outside {year}-{month:02d}")
        if r.outcome not in rules.outcomes:
            raise ValueError(f"unknown inspection outcome {r.outcome!r}")
        by_outcome[r.outcome] += 1
        natural = r.target_kind is PartyKind.NATURAL
        rows.append(PublicResultRow(mask_name(r.target_name) if natural else r.target_name,
                                    "" if natural else r.target_id, r.matter, r.inspected_on,
                                    rules.outcomes[r.outcome], r.draw_id))
    deadline = calendar.add_working_days(month_end(year, month), rules.results_publication_working_days)
    parts = "，".join(f"{rules.outcomes[c]}{n}户" for c, n in by_outcome.items() if n)
    text = (f"{body_name}{year}年{month}月“双随机、一公开”抽查结果：共抽查{len(rows)}户" +
            (f"，其中{parts}" if parts else "") + f"。（应于{deadline.due.isoformat()}前公开）")
    return MonthlySummary(body_name, year, month, len(rows), by_outcome, tuple(rows), deadline, text)
