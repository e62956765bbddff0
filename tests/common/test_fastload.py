"""``fastload.load`` is ``Schema.load``: the same result for every valid event and the same errors for
every broken one (PLAT-7 validation must not change because the hot path got cheaper — issue 3).

The corpus (``data/event_corpus.jsonl``) holds envelopes of 33 event types captured from the
integration tests; each is checked as it is and with every envelope and payload field (and every
field of its first nested object) removed, nulled, mistyped, emptied, plus an unknown field.
"""
import copy
import json
from pathlib import Path

import pytest
from marshmallow import Schema, ValidationError, fields, post_load, validates

from services.common import fastload
from services.common.events import CATALOGUE, EnvelopeSchema, _schema, parse_event

CORPUS = [json.loads(line) for line in (Path(__file__).parent / "data" / "event_corpus.jsonl").read_text(
    encoding="utf-8").splitlines() if line.strip()]
# the date-time strings: naive, UTC as Z, an offset of +08:00, a date alone (fastload parses date-times itself)
BROKEN_VALUES = (None, 12345, "", [], {"x": 1}, "not a date 不是", "2026-12-04T08:00:00", "2026-12-04T08:00:00Z",
                 "2026-12-04T08:00:00.5+08:00", "2026-12-04")


def outcome(load, schema, data):
    try:
        return "ok", load(schema, data)
    except ValidationError as exc:
        return "error", exc.messages


def same(schema, data):
    slow = outcome(lambda s, d: s.load(d), schema, data)
    fast = outcome(fastload.load, schema, copy.deepcopy(data))
    assert fast == slow, (type(schema).__name__, data)
    return slow[0]


def variants(data: dict):
    yield data
    yield {**data, "zz_unknown": 1}
    for key, value in data.items():
        yield {k: v for k, v in data.items() if k != key}
        for broken in BROKEN_VALUES:
            yield {**data, key: broken}
        nested = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else value
        if isinstance(nested, dict):
            for inner in nested:
                changed = {k: v for k, v in nested.items() if k != inner}
                yield {**data, key: [changed] if isinstance(value, list) else changed}
                yield {**data, key: [{**nested, inner: 12345}] if isinstance(value, list) else {**nested, inner: 12345}}


def test_the_corpus_covers_most_of_the_catalogue():
    types = {item["event_type"] for item in CORPUS}
    assert len(types) >= 30 and types <= set(CATALOGUE)


@pytest.mark.parametrize("item", CORPUS, ids=lambda item: item["event_type"])
def test_envelope_and_payload_load_as_marshmallow_loads_them(item):
    results = [same(_schema(EnvelopeSchema), envelope) for envelope in variants(item)]
    assert "ok" in results and "error" in results          # both paths were exercised
    payload_schema = _schema(CATALOGUE[item["event_type"]].schema)
    results = [same(payload_schema, payload) for payload in variants(item["payload"])]
    assert "ok" in results and "error" in results


def test_a_parsed_event_is_the_same_either_way(monkeypatch):
    fast = [parse_event(item) for item in CORPUS]
    monkeypatch.setattr(fastload, "load", lambda schema, data: schema.load(data))
    assert [parse_event(item) for item in CORPUS] == fast


def test_schemas_with_load_hooks_or_field_validators_keep_their_behaviour():
    class Checked(Schema):
        name = fields.String(required=True)

        @validates("name")
        def _no_x(self, value, **_):
            if "x" in value:
                raise ValidationError("no x")

    class Hooked(Checked):
        @post_load
        def _upper(self, data, **_):
            return {**data, "name": data["name"].upper()}

    schema = Hooked()
    assert fastload.load(schema, {"name": "ab"}) == {"name": "AB"}       # post_load: marshmallow's path
    with pytest.raises(ValidationError, match="no x"):
        fastload.load(schema, {"name": "xa"})

    class Optional(Schema):
        name = fields.String(required=True)
        nickname = fields.String()                       # no load_default: absent stays absent
        title = fields.String(data_key="titleText", load_default="无")

    assert fastload.load(Optional(), {"name": "ab", "titleText": "t"}) == {"name": "ab", "title": "t"}
    assert fastload.load(Optional(), {"name": "ab"}) == {"name": "ab", "title": "无"}
    with pytest.raises(ValidationError) as info:
        fastload.load(Optional(), {"name": "ab", "title": "t"})          # the attribute name is not the key
    assert info.value.messages == {"title": ["Unknown field."]}

    schema = Checked()
    assert fastload.load(schema, {"name": "ab"}) == {"name": "ab"}       # the lean path runs @validates
    with pytest.raises(ValidationError) as info:
        fastload.load(schema, {"name": "xa"})
    assert info.value.messages == {"name": ["no x"]}


def test_nested_and_list_fields_take_the_lean_path_with_marshmallows_results(monkeypatch):
    """Issue 17 (PLAT-7): valid parties (``List(Nested)``) are loaded without a ``Schema.load`` per item,
    and give what marshmallow gives; a broken item still gets marshmallow's own errors."""
    item = next(i for i in CORPUS if i["event_type"] == "decision.made")
    schema = _schema(CATALOGUE["decision.made"].schema)
    expected = schema.load(copy.deepcopy(item["payload"]))
    calls = []
    original = Schema.load
    monkeypatch.setattr(Schema, "load", lambda self, *a, **kw: calls.append(type(self).__name__) or original(self, *a, **kw))
    assert fastload.load(schema, copy.deepcopy(item["payload"])) == expected
    assert calls == []
    broken = copy.deepcopy(item["payload"])
    broken["parties"][0]["name"] = 12345
    with pytest.raises(ValidationError) as info:
        fastload.load(schema, broken)
    with pytest.raises(ValidationError) as slow:
        original(schema, broken)
    assert info.value.messages == slow.value.messages and "parties" in info.value.messages


def test_fields_with_their_own_hooks_or_deserialize_are_loaded_by_marshmallow():
    class Shout(fields.String):
        def deserialize(self, value, attr=None, data=None, **kwargs):
            return super().deserialize(value, attr, data, **kwargs).upper()

    class Inner(Schema):
        word = Shout(required=True)

    class Outer(Schema):
        words = fields.List(fields.Nested(Inner), required=True)
        one = fields.Nested(Inner, load_default=None)
        trimmed = fields.String(load_default="", post_load=[str.strip])

    data = {"words": [{"word": "ab"}, {"word": "c"}], "one": {"word": "d"}, "trimmed": " t "}
    assert fastload.load(Outer(), data) == Outer().load(data) == {
        "words": [{"word": "AB"}, {"word": "C"}], "one": {"word": "D"}, "trimmed": "t"}
    assert fastload.load(Outer(), {"words": []}) == Outer().load({"words": []})
    for broken in ({"words": "ab"}, {"words": [None]}, {"words": [{"word": 1}]}, {}, {"words": [], "one": None}):
        assert outcome(fastload.load, Outer(), broken) == outcome(lambda s, d: s.load(d), Outer(), broken)


def _dumped(dump, schema, loaded):
    return json.dumps(dump(schema, loaded), sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


@pytest.mark.parametrize("item", CORPUS, ids=lambda item: item["event_type"])
def test_payloads_dump_as_marshmallow_dumps_them(item):
    """Issue 17 (PLAT-7): ``make_envelope`` dumps an internal event's payload with ``fastload.dump``; the
    envelope's bytes (and so the digest its consumers keep) are what ``Schema.dump`` made — for the corpus
    payload and for every variant of it that loads (a field left out, nulled, emptied)."""
    schema = _schema(CATALOGUE[item["event_type"]].schema)
    checked = 0
    for payload in variants(item["payload"]):
        try:
            loaded = schema.load(copy.deepcopy(payload))
        except ValidationError:
            continue
        assert fastload.dump(schema, loaded) == schema.dump(loaded)
        assert _dumped(fastload.dump, schema, loaded) == _dumped(lambda s, o: s.dump(o), schema, loaded)
        checked += 1
    assert checked


def test_dump_keeps_hooks_and_custom_fields():
    from marshmallow import post_dump

    class Inner(Schema):
        word = fields.String()
        n = fields.Integer(dump_default=7)

    class Outer(Schema):
        items = fields.List(fields.Nested(Inner))
        one = fields.Nested(Inner, allow_none=True)
        shout = fields.Method("_shout")
        renamed = fields.String(data_key="Renamed")

        def _shout(self, obj):
            return obj["items"][0]["word"].upper()

    class Hooked(Inner):
        @post_dump
        def _mark(self, data, **_):
            return {**data, "hooked": True}

    obj = {"items": [{"word": "a"}, {"word": "b", "n": 2}], "one": None, "renamed": "r"}
    assert fastload.dump(Outer(), obj) == Outer().dump(obj)
    assert fastload.dump(Inner(), {"word": "x"}) == Inner().dump({"word": "x"}) == {"word": "x", "n": 7}
    assert fastload.dump(Hooked(), {"word": "x"}) == {"word": "x", "n": 7, "hooked": True}
