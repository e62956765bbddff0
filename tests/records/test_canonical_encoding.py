"""The canonical encoding of log entries (REC-4): orjson writes it (issue 17), and its bytes must be the
``json.dumps`` form the entries module documents — anyone re-deriving a leaf hash with the standard library
must get the same bytes, and entries written before the change must hash the same."""
from __future__ import annotations

import json
import random
from collections import OrderedDict

import pytest

from services.records.domain.entries import EntryError, canonical_bytes


def _documented(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


# control characters, the Latin-1 range, DEL, the line separators JSON allows raw, the BOM, the edges of
# the BMP and the private-use area, astral characters (surrogate pairs in UTF-16), Chinese text
ALPHABET = ([chr(i) for i in range(0x00, 0x250)] + ["\u2028", "\u2029", "\ufeff", "\ud7ff", "\ue000", "\uffff",
            "\U0001F600", "\U00020000", "执", "法", "\\", '"', "/"])


def _text(rng, most):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, most)))


def _value(rng, depth=0):
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return _text(rng, 12)
    if kind == 1:
        return rng.choice([0, -1, 1, 2**53 + 1, 2**63 - 1, -2**63, 2**63, 2**64 - 1, rng.randint(-10**9, 10**9)])
    if kind == 2:
        return rng.choice([True, False])
    if kind == 3:
        return None
    if kind == 4:
        return ""
    if kind == 5:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == 6:
        return tuple(_value(rng, depth + 1) for _ in range(rng.randint(0, 3)))
    return {_text(rng, 5): _value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def test_issue17_rec4_canonical_bytes_equal_the_documented_json_form():
    """REC-4: for 20,000 random entries of every JSON type (deep nesting, keys and strings from control
    characters to astral planes) the bytes are the documented ``json.dumps`` form."""
    rng = random.Random(17)
    for _ in range(20000):
        value = {"seq": rng.randint(0, 10**6), "data": _value(rng), _text(rng, 4): _value(rng)}
        assert canonical_bytes(value) == _documented(value), value


@pytest.mark.parametrize("value", [
    {"big": 2**64}, {"small": -2**63 - 1},                      # beyond orjson's 64 bits: json encodes them
    OrderedDict([("b", 1), ("a", {"d": 2, "c": 3})]),           # a dict subclass: sorted like a dict
    {"k": "\u4e00" * 1000, "\U0001F600": 1, "\uffff": 2, "b": 3, "\ue000": 4},   # key order by code point
])
def test_issue17_rec4_canonical_bytes_of_edge_values(value):
    assert canonical_bytes(value) == _documented(value)


def test_issue17_rec4_what_the_encoding_refuses_is_refused_as_before():
    with pytest.raises(EntryError, match="floats"):
        canonical_bytes({"fine": 1.5})
    with pytest.raises(EntryError, match="not a string"):
        canonical_bytes({1: "x"})
    with pytest.raises(UnicodeEncodeError):          # a lone surrogate cannot be UTF-8, in either encoder
        canonical_bytes({"x": "\ud800"})
