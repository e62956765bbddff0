"""Message bodies decoded with orjson (issue 17): the same values as kombu's decoder, its errors as before."""
from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

import pytest
from kombu.exceptions import DecodeError
from kombu.serialization import dumps as kombu_dumps
from kombu.serialization import loads as registry_loads
from kombu.utils import json as kombu_json

from services.common import entrypoints, wirejson  # noqa: F401 - entrypoints installs the decoder
from tests.integration import events as ev

BODIES = [
    json.dumps(ev.evidence(ev.case_id("W-1"), n=1), ensure_ascii=False).encode("utf-8"),
    json.dumps(ev.case_opened(ev.case_id("W-2"))).encode("ascii"),            # \uXXXX escapes
    b'{"a": [1, -0, 2.5, 1e-7, 18446744073709551615, true, null, "\\u2028\\ud83d\\ude00"], "a": {"dup": 1}}',
    b'{"big": 123456789012345678901234567890, "neg": -98765432109876543210}',   # beyond 64 bits: kept exact
    b'{"edge": [18446744073709551616, -9223372036854775809, 9223372036854775807]}',
    b'{"huge": 1e400, "tiny": -1e-400, "long": 1.00000000000000000000001, "exp": 1E+2}',
    b'{"nan": NaN, "inf": -Infinity}',                                        # not JSON, accepted as before
    b'{"lone": "\\ud800"}',                                                   # a lone surrogate escape
    b'[]', b'"text"', b'  {"spaced" :  1 }  ',
]


@pytest.mark.parametrize("body", BODIES)
def test_issue17_wire_bodies_decode_to_what_kombu_decoded(body):
    ours = registry_loads(body, "application/json", "utf-8")
    theirs = kombu_json.loads(body)
    assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
    assert type(ours) is type(theirs)


def test_issue17_kombu_typed_values_still_round_trip():
    """What the suite itself sends through kombu (an RPC reply with a date) comes back typed."""
    value = {"at": dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.timezone.utc), "fine": decimal.Decimal("1.50"),
             "id": uuid.UUID(int=7), "day": dt.date(2026, 12, 4)}
    content_type, encoding, body = kombu_dumps(value, serializer="json")
    assert registry_loads(body, content_type, encoding) == value


@pytest.mark.parametrize("body", [b'{"a": ', b'\xff\xfe{"a": 1}', b'{"a": 1}}'])
def test_issue17_undecodable_bodies_raise_kombus_decode_error(body):
    """An undecodable body is still kombu's DecodeError: the consumer dead-letters it with its reason."""
    with pytest.raises(DecodeError):
        registry_loads(body, "application/json", "utf-8")


def test_issue17_random_bodies_decode_to_what_kombu_decoded():
    """5,000 random bodies: nested objects and arrays, doubles from every exponent, integers of every size,
    strings from control characters to astral planes, written with and without ASCII escapes."""
    import random
    import struct

    rng = random.Random(17)

    def value(depth=0):
        kind = rng.randrange(7 if depth < 3 else 4)
        if kind == 0:
            return "".join(chr(rng.choice([rng.randrange(0x20), rng.randrange(0x80, 0x800), 0x2028, 0x1F600,
                                           rng.randrange(0x20, 0x7f)])) for _ in range(rng.randrange(8)))
        if kind == 1:
            return rng.choice([rng.randrange(-2**70, 2**70), rng.randrange(-1000, 1000), 2**64 - 1, -2**63])
        if kind == 2:
            number = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
            return number if number == number and abs(number) != float("inf") else 0.5
        if kind == 3:
            return rng.choice([True, False, None])
        if kind == 4:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {str(value(3)): value(depth + 1) for _ in range(rng.randrange(4))}

    for i in range(5000):
        body = json.dumps({"v": value()}, ensure_ascii=bool(i % 2)).encode("utf-8")
        assert registry_loads(body, "application/json", "utf-8") == kombu_json.loads(body), body
