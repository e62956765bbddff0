"""案卷评查 (REC-7): the yearly random sample of archived case files per body, the score sheet from the
configured criteria (config/records/case_file_review.yaml), the reviewer rule (never one's own body) and
the weak-link statistics (which items fail most, by body and action type).

The sample is drawn like the 双随机 draw (DISC-8, services/common/seeded_draw.py): ``seed =
SM3("<draw_id>|<public_value>")``; each body's archived case files of the year, sorted, are shuffled
with label ``casefile|<body_id>`` and the first ``per_body`` taken. Anyone with the draw id, the public
value and the published population (whose SM3 digest is kept) recomputes the same files.

Pure: plain data in, results out; no I/O but the config loader, no clock.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from services.common import settings
from services.common.catalogue.fields import ACTION_TYPES
from services.common.configfile import load_config_file
from services.common.seeded_draw import ALGORITHM, derive_seed, partial_shuffle, seed_input, sm3_hex

DEFAULT_REVIEW_FILE = settings.ROOT / "config" / "records" / "case_file_review.yaml"
SAMPLE_LABEL = "casefile"


class ReviewError(ValueError):
    """A refused step of the case-file review (status and code for the caller; message in Chinese)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str
    points: int
    action_types: tuple[str, ...] | None = None     # None: every action type

    def applies_to(self, action_type: str | None) -> bool:
        return self.action_types is None or action_type in self.action_types


@dataclass(frozen=True)
class ReviewRules:
    per_body: int
    pass_mark: Decimal
    criteria: tuple[Criterion, ...]

    def sheet(self, action_type: str | None) -> list[Criterion]:
        """The score sheet of a case file of this action type."""
        return [c for c in self.criteria if c.applies_to(action_type)]

    def name_of(self, code: str) -> str:
        return next((c.name for c in self.criteria if c.code == code), code)


class _Criterion(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,40}$"))
    name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100))
    action_types = fields.List(fields.String(validate=validate.OneOf(ACTION_TYPES)), load_default=None)


class _Sampling(Schema):
    per_body = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))


class ReviewFile(Schema):
    version = fields.Integer(required=True, strict=True, validate=validate.Equal(1))
    sampling = fields.Nested(_Sampling, required=True)
    pass_mark = fields.Decimal(required=True, validate=validate.Range(min=0, max=100))
    criteria = fields.List(fields.Nested(_Criterion), required=True, validate=validate.Length(min=1))

    @validates_schema
    def _unique(self, data, **_):
        codes = [c["code"] for c in data.get("criteria") or ()]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ValidationError(f"duplicate criterion code(s): {', '.join(dupes)}", field_name="criteria")

    @post_load
    def build(self, data, **_) -> ReviewRules:
        return ReviewRules(
            per_body=data["sampling"]["per_body"], pass_mark=Decimal(data["pass_mark"]),
            criteria=tuple(Criterion(c["code"], c["name"], c["points"],
                                     tuple(c["action_types"]) if c.get("action_types") else None)
                           for c in data["criteria"]))


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> ReviewRules:
    return load_config_file(path, ReviewFile)


def load_review_rules(path: str | Path | None = None) -> ReviewRules:
    """``config/records/case_file_review.yaml`` (reread when it changes; ConfigFileError when bad)."""
    where = Path(path or DEFAULT_REVIEW_FILE)
    return _load(str(where), where.stat().st_mtime_ns if where.exists() else 0)


# --- the sample -------------------------------------------------------------------------------------
def draw_id_of(region_code: str, year: int) -> str:
    return f"AJPC-{region_code}-{year}"


def canonical_population(population: dict[str, Iterable[str]]) -> dict[str, list[str]]:
    return {body: sorted(set(cases)) for body, cases in sorted(population.items()) if cases}


def population_digest(population: dict[str, Iterable[str]]) -> str:
    """SM3 of the canonical JSON of the population (body → sorted archived case ids)."""
    text = json.dumps(canonical_population(population), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return sm3_hex(text.encode("utf-8"))


@dataclass(frozen=True)
class Sample:
    draw_id: str
    algorithm: str
    seed_input: str
    seed_hex: str
    population_digest: str
    selected: dict[str, list[str]]      # body → case ids, in draw order


def draw_sample(draw_id: str, public_value: str, population: dict[str, Iterable[str]], per_body: int) -> Sample:
    """Each body's ``per_body`` files (all when fewer), seeded by the public value — reproducible."""
    if not (public_value or "").strip():
        raise ReviewError(422, "invalid", "须提供公开随机数（如开奖号码）作为抽样种子")
    seed = derive_seed(draw_id, public_value)
    canon = canonical_population(population)
    selected = {body: partial_shuffle(seed, cases, min(per_body, len(cases)), f"{SAMPLE_LABEL}|{body}")
                for body, cases in canon.items()}
    return Sample(draw_id, ALGORITHM, seed_input(draw_id, public_value), seed.hex(), population_digest(canon),
                  selected)


# --- reviewers --------------------------------------------------------------------------------------
def check_reviewer(case_body_id: str, reviewer_body_id: str | None, reviewer_bodies: Iterable[str] = ()) -> None:
    """A reviewer may not review a case file of the body they work for (回避)."""
    if not reviewer_body_id:
        raise ReviewError(422, "invalid", "须注明评查人员所在单位")
    if reviewer_body_id == case_body_id or case_body_id in set(reviewer_bodies):
        raise ReviewError(409, "own_body", "评查人员不得评查本单位的案卷（应当回避）")


# --- the score sheet --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoreResult:
    score: Decimal                  # 0–100, share of the applicable points
    passed: bool
    items: list[dict]               # code, name, points, max_points, reason
    failed_items: list[str]         # codes with a deduction


def score_sheet(rules: ReviewRules, action_type: str | None, marks: dict) -> ScoreResult:
    """Every item of the sheet scored 0…max; a deduction needs its reason; unknown items refused."""
    sheet = rules.sheet(action_type)
    known = {c.code for c in sheet}
    problems = {}
    for code in sorted(set(marks) - known):
        problems[code] = "该案卷的评查表没有此项"
    items, failed, got, total = [], [], 0, 0
    for c in sheet:
        mark = marks.get(c.code)
        if not isinstance(mark, dict) or "points" not in mark:
            problems[c.code] = f"须评分（0–{c.points}分）"
            continue
        points = mark["points"]
        if isinstance(points, bool) or not isinstance(points, int) or not 0 <= points <= c.points:
            problems[c.code] = f"得分应为0–{c.points}的整数"
            continue
        reason = (mark.get("reason") or "").strip()
        if points < c.points and not reason:
            problems[c.code] = "扣分须说明理由"
            continue
        items.append({"code": c.code, "name": c.name, "points": points, "max_points": c.points,
                      "reason": reason or None})
        if points < c.points:
            failed.append(c.code)
        got, total = got + points, total + c.points
    if problems:
        raise ReviewError(422, "invalid", "；".join(f"{k}：{v}" for k, v in problems.items()))
    score = (Decimal(got) * 100 / Decimal(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return ScoreResult(score, score >= rules.pass_mark, items, failed)


# --- weak links -------------------------------------------------------------------------------------
def weak_links(rules: ReviewRules, results: Iterable[tuple[str, str | None, list[str], list[str]]]) -> dict:
    """Which items fail most: ``results`` are (body_id, action_type, reviewed item codes, failed item
    codes) of scored files. Items sorted by failures (then failure rate, code); also per body and per
    action type."""
    reviewed, failed = Counter(), Counter()
    by_body, by_action = defaultdict(Counter), defaultdict(Counter)
    files = 0
    for body_id, action_type, item_codes, failed_codes in results:
        files += 1
        reviewed.update(item_codes)
        failed.update(failed_codes)
        by_body[body_id].update(failed_codes)
        by_action[action_type or "unknown"].update(failed_codes)

    def rows(counter: Counter, base: Counter | None = None) -> list[dict]:
        out = []
        for code, n in counter.items():
            row = {"code": code, "name": rules.name_of(code), "failed": n}
            if base is not None:
                row["reviewed"] = base[code]
                row["rate"] = str((Decimal(n) * 100 / base[code]).quantize(Decimal("0.1"))) if base[code] else None
            out.append(row)
        return sorted(out, key=lambda r: (-r["failed"], r["code"]))

    return {"files": files, "items": rows(failed, reviewed),
            "by_body": {b: rows(c) for b, c in sorted(by_body.items())},
            "by_action_type": {a: rows(c) for a, c in sorted(by_action.items())}}
