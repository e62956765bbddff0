"""The seeded, reproducible draw shared by every random selection of the suite (DISC-8 双随机抽查,
REC-7 案卷评查抽样): ``seed = SM3(UTF-8("<draw_id>|<public_value>"))`` and a seeded Fisher–Yates
shuffle driven by HMAC-SM3 with rejection sampling (algorithm ``zhifa-draw-v1``, described in
services/disclosure/domain/random_inspection.py). Anyone holding the draw id, the public value and the
sorted inputs recomputes the same selection. Pure: no I/O, no clock."""
from __future__ import annotations

import hashlib
import hmac
from typing import Sequence

ALGORITHM = "zhifa-draw-v1"
_TWO_256 = 1 << 256


class DrawError(ValueError):
    """The draw cannot be made or verified (message in Chinese)."""


def sm3_hex(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


def seed_input(draw_id: str, public_value: str) -> str:
    """The published seed string: ``<draw_id>|<public_value>``."""
    if "|" in draw_id:
        raise DrawError("抽查编号不得包含“|”")
    return f"{draw_id}|{public_value.strip()}"


def derive_seed(draw_id: str, public_value: str) -> bytes:
    """seed = SM3(UTF-8(seed_input)) — 32 bytes."""
    return hashlib.new("sm3", seed_input(draw_id, public_value).encode("utf-8")).digest()


def uniform(seed: bytes, label: str, n: int) -> int:
    """An unbiased integer in [0, n) from HMAC-SM3(seed, label|counter) with rejection sampling."""
    if n <= 0:
        raise DrawError("抽取范围为空")
    limit = _TWO_256 - (_TWO_256 % n)
    counter = 0
    while True:
        digest = hmac.new(seed, f"{label}|{counter}".encode("utf-8"), "sm3").digest()
        x = int.from_bytes(digest, "big")
        if x < limit:
            return x % n
        counter += 1


def partial_shuffle(seed: bytes, items: Sequence[str], k: int, label: str) -> list[str]:
    """The first ``k`` items of a seeded Fisher–Yates shuffle; step i uses ``f"{label}|{i}"``."""
    a = list(items)
    if k > len(a):
        raise DrawError(f"需抽取{k}个，但只有{len(a)}个可供抽取")
    for i in range(k):
        j = i + uniform(seed, f"{label}|{i}", len(a) - i)
        a[i], a[j] = a[j], a[i]
    return a[:k]


__all__ = ["ALGORITHM", "DrawError", "derive_seed", "partial_shuffle", "seed_input", "sm3_hex", "uniform"]
