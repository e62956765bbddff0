"""Similar published decisions (类案推送) for legal review's assistance — REV-8 (issue 18).

Pure: given the public entries of published decisions of the same enforcement matter (执法事项), rank them
by how close their published facts are to the proposal's facts, and describe the distribution of the fines
imposed (件数、最低、四分位、中位数、最高) with where the proposed fine falls in it. Only what the public
may read enters: the published (redacted) facts and amounts.

Similarity of facts: Jaccard similarity of character bigrams of the Chinese text (punctuation and spaces
removed). It needs no word segmentation, treats 销售过期食品 and 销售超过保质期的食品 as close, and is the
same measure on any deployment (no model, no training data).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Sequence

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
MASKED = re.compile(r"\*+")


def bigrams(text: str | None) -> frozenset[str]:
    """Character bigrams of ``text`` without spaces, punctuation or masked fragments (``139****5678``)."""
    cleaned = _NOISE.sub("", MASKED.sub(" ", text or ""))
    return frozenset(cleaned[i:i + 2] for i in range(len(cleaned) - 1)) if len(cleaned) > 1 else frozenset(cleaned)


def similarity(a: str | None, b: str | None) -> Decimal:
    """Jaccard similarity of the two texts' bigrams, 0.000 … 1.000 (0 when either text is empty)."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return Decimal("0.000")
    return (Decimal(len(x & y)) / Decimal(len(x | y))).quantize(Decimal("0.001"), ROUND_HALF_UP)


@dataclass(frozen=True)
class Candidate:
    """A published decision of the matter: its public fields."""

    publication_id: str
    case_id: str
    decision_no: str
    body_id: str
    body_name: str | None
    decided_on: str
    facts: str
    fine_amount: Decimal | None


@dataclass(frozen=True)
class Ranked:
    candidate: Candidate
    score: Decimal


def rank(facts: str | None, candidates: Iterable[Candidate], limit: int, exclude_case_id: str | None = None
         ) -> list[Ranked]:
    """The ``limit`` most similar candidates (ties: newest decision first, then decision number), never the
    case under review itself."""
    scored = [Ranked(c, similarity(facts, c.facts)) for c in candidates if c.case_id != exclude_case_id]
    scored.sort(key=lambda r: (-r.score, _neg_date(r.candidate.decided_on), r.candidate.decision_no))
    return scored[:max(0, limit)]


def _neg_date(day: str) -> tuple:
    return tuple(-int(part) for part in day.split("-"))


def _quantile(values: Sequence[Decimal], q: Decimal) -> Decimal:
    """Linear interpolation between closest ranks (the common 'type 7' definition)."""
    position = (len(values) - 1) * q
    low = int(position)
    high = min(low + 1, len(values) - 1)
    value = values[low] + (values[high] - values[low]) * (position - low)
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class AmountDistribution:
    """The fines of the published decisions of a matter (yuan), and the proposed fine's place in them."""

    count: int
    minimum: Decimal | None
    lower_quartile: Decimal | None
    median: Decimal | None
    upper_quartile: Decimal | None
    maximum: Decimal | None
    proposed: Decimal | None
    at_or_below_proposed: int | None     # how many published fines are ≤ the proposed fine
    message: str                         # Chinese, for the officer and reviewer

    def as_dict(self) -> dict:
        text = lambda v: None if v is None else str(v)   # noqa: E731
        return {"count": self.count, "min": text(self.minimum), "p25": text(self.lower_quartile),
                "median": text(self.median), "p75": text(self.upper_quartile), "max": text(self.maximum),
                "proposed": text(self.proposed), "at_or_below_proposed": self.at_or_below_proposed,
                "message": self.message}


def _yuan(v: Decimal) -> str:
    return f"{v:,.2f}元"


def distribution(amounts: Iterable[Decimal | None], proposed: Decimal | None = None) -> AmountDistribution:
    """Distribution of the published fines (decisions without a fine are not counted)."""
    values = sorted(Decimal(a) for a in amounts if a is not None)
    proposed = None if proposed is None else Decimal(proposed)
    if not values:
        return AmountDistribution(0, None, None, None, None, None, proposed, None,
                                  "同一执法事项尚无已公开的罚款决定")
    quart = [_quantile(values, Decimal(q)) for q in ("0", "0.25", "0.5", "0.75", "1")]
    message = (f"同一执法事项已公开罚款决定{len(values)}件，罚款{_yuan(quart[0])}至{_yuan(quart[4])}，"
               f"中位数{_yuan(quart[2])}（四分位{_yuan(quart[1])}至{_yuan(quart[3])}）")
    below = None
    if proposed is not None:
        below = sum(1 for v in values if v <= proposed)
        position = ("高于全部已公开决定" if proposed > values[-1] else "低于全部已公开决定" if proposed < values[0]
                    else f"不低于其中{below}件")
        message += f"；拟处罚款{_yuan(proposed)}，{position}"
    return AmountDistribution(len(values), *quart, proposed, below, message)
