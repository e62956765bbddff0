"""``load``: ``Schema.load`` of a marshmallow schema, with the schema-level bookkeeping made lean.

Why: every consumer validates every event it receives (envelope + payload); in the records service
that was 28% of its CPU at full ingestion (issue 3), about half of it marshmallow's per-field
bookkeeping around each field (error store, getter closures, ``set_value``), not the fields' own
work. Semantics stay marshmallow's:

- each field is loaded by its own ``Field.deserialize`` (types, ``required``, ``allow_none``,
  ``load_default``, validators, nested schemas — unchanged);
- the schema's ``@validates`` and ``@validates_schema`` methods run through marshmallow's own
  invokers, as ``Schema._do_load`` runs them;
- ANY problem — an unknown key, a field error, a validator's error — hands the input to
  ``schema.load``, so invalid input gets exactly marshmallow's error messages; and a schema with
  load hooks (``pre_load``/``post_load``), ``many``, ``partial``, an ``unknown`` other than RAISE
  or dotted attributes is always loaded by ``schema.load``.

It uses marshmallow's private hook invokers (``_hooks``, ``_invoke_field_validators``,
``_invoke_schema_validators``): marshmallow is pinned (pyproject), and
``tests/common/test_fastload.py`` checks ``load`` against ``schema.load`` on a corpus of 33 event
types, valid and broken, so an upgrade that changes them fails there.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from marshmallow import RAISE, Schema, ValidationError, fields as mfields
from marshmallow.constants import missing
from marshmallow.decorators import POST_DUMP, POST_LOAD, PRE_DUMP, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.error_store import ErrorStore
from marshmallow.utils import is_collection

_SLOW = object()
_fromisoformat = datetime.fromisoformat


class _Fallback(Exception):
    """Anything the lean path does not decide itself (a required field missing, a None not allowed):
    the input goes to ``schema.load``, which gives marshmallow's own errors."""


def _unchanged(field, *names) -> bool:
    """The field's class keeps ``Field``'s own definitions of ``names`` (a subclass overriding one of them
    is always loaded by its own ``deserialize``)."""
    return all(getattr(type(field), name) is getattr(mfields.Field, name) for name in names)


def _loader(field):
    """A function ``(value, key, data) -> output`` that does what ``field.deserialize(value, key, data)``
    does for valid input (issue 17: the same steps without marshmallow's per-call bookkeeping — an
    ``And`` validator built per call, the missing check as a method): required/``load_default``,
    ``allow_none``, the field's own ``_deserialize``, then each of its validators. Any problem raises
    (``ValidationError`` or ``_Fallback``) and the caller hands the input to ``schema.load``. Fields
    with per-field ``pre_load``/``post_load`` functions, or whose class overrides ``deserialize``,
    ``_validate``, ``_validate_all`` or ``_validate_missing``, are loaded by their own ``deserialize``.
    ``List`` and ``Nested`` (not ``many``, no ``unknown`` of their own) load their items with ``load``'s
    lean path too, which is where marshmallow spends the most per field (a ``Schema.load`` per party)."""
    if (getattr(field, "pre_load", None) or getattr(field, "post_load", None)
            or not _unchanged(field, "deserialize", "_validate", "_validate_all", "_validate_missing")):
        return field.deserialize
    core = field._deserialize
    if type(field)._deserialize is mfields.String._deserialize:
        deserialize = field._deserialize

        def core(value, attr, data):
            # marshmallow's String loads a str as itself (UTF-8 bytes as text, anything else an error)
            return value if type(value) is str else deserialize(value, attr, data)
    elif type(field) is mfields.AwareDateTime and field.format in (None, "iso", "iso8601"):
        deserialize = field._deserialize

        def core(value, attr, data):
            # marshmallow's AwareDateTime: ``datetime.fromisoformat``, kept when it carries an offset; anything
            # else (a datetime object, a naive or unparsable one) goes to the field, which decides or raises
            if type(value) is str:
                try:
                    moment = _fromisoformat(value)
                except ValueError:
                    return deserialize(value, attr, data)
                if moment.tzinfo is not None and moment.tzinfo.utcoffset(moment) is not None:
                    return moment
            return deserialize(value, attr, data)
    elif type(field) is mfields.List:
        inner = _loader(field.inner)

        def core(value, attr, data):
            if not is_collection(value):
                raise _Fallback
            return [inner(each, None, None) for each in value]
    elif type(field) is mfields.Nested and not field.many and field.unknown is None:
        schema = field.schema
        if isinstance(schema, Schema) and not schema.many and _plan(schema) is not _SLOW:
            def core(value, attr, data):
                return load(schema, value)
    required, allow_none, validators = field.required, field.allow_none, tuple(field.validators)
    default = field.load_default

    def run(value, attr, data):
        if value is missing:
            if required:
                raise _Fallback
            return default() if callable(default) else default
        if value is None:
            if allow_none:
                return None
            raise _Fallback
        output = core(value, attr, data)
        for validator in validators:
            validator(output)
        return output

    return run


def _plan(schema: Schema):
    """(allowed input keys, [(input key, output key, field)]) — or _SLOW for schemas ``load`` won't take."""
    plan = schema.__dict__.get("_zhifa_load_plan")
    if plan is None:
        hooks = schema._hooks
        if (hooks[PRE_LOAD] or hooks[POST_LOAD] or schema.many or schema.partial or schema.unknown != RAISE
                or any("." in (f.attribute or name) for name, f in schema.load_fields.items())):
            plan = _SLOW
        else:
            fields = [(f.data_key if f.data_key is not None else name, f.attribute or name, f)
                      for name, f in schema.load_fields.items()]
            schema.__dict__["_zhifa_load_plan"] = _SLOW      # while building: a schema nesting itself is slow
            fields = [(key, attr, _loader(f)) for key, attr, f in fields]
            plan = (frozenset(key for key, _, _ in fields), fields)
        schema.__dict__["_zhifa_load_plan"] = plan
    return plan


def load(schema: Schema, data):
    """``schema.load(data)`` — same result, same errors (see the module docstring)."""
    plan = _plan(schema)
    if plan is _SLOW or not isinstance(data, Mapping) or not plan[0].issuperset(data):
        return schema.load(data)
    result = {}
    try:
        for key, attr, field_load in plan[1]:
            value = field_load(data.get(key, missing), key, data)
            if value is not missing:
                result[attr] = value
    except (ValidationError, _Fallback):
        return schema.load(data)            # marshmallow's own errors, all of them
    hooks = schema._hooks
    if hooks[VALIDATES] or hooks[VALIDATES_SCHEMA]:
        errors = ErrorStore()
        if hooks[VALIDATES]:
            schema._invoke_field_validators(error_store=errors, data=result, many=False)
        if hooks[VALIDATES_SCHEMA]:
            for pass_collection in (True, False):
                schema._invoke_schema_validators(error_store=errors, pass_collection=pass_collection, data=result,
                                                 original_data=data, many=False, partial=None, unknown=RAISE,
                                                 field_errors=False)
        if errors.errors:
            return schema.load(data)
    return result


# --- dump: ``Schema.dump`` of a loaded payload (``events.make_envelope``), lean the same way ---------------
def _dump_core(field):
    """``field._serialize`` — for ``List`` and ``Nested`` (not ``many``) items dumped by ``dump``'s lean path."""
    if type(field) is mfields.List:
        inner = _dump_core(field.inner)

        def core(value, attr, obj):
            return None if value is None else [inner(each, attr, obj) for each in value]
        return core
    if type(field) is mfields.Nested and not field.many:
        schema = field.schema
        if isinstance(schema, Schema) and not schema.many and _dump_plan(schema) is not _SLOW:
            def core(value, attr, obj):
                return None if value is None else dump(schema, value)
            return core
    return field._serialize


def _dump_plan(schema: Schema):
    """[(attribute, output key, dump_default, serialise)] — or _SLOW for schemas ``dump`` won't take (dump
    hooks, ``many``, a schema or field overriding how values are read or serialised, dotted attributes)."""
    plan = schema.__dict__.get("_zhifa_dump_plan")
    if plan is None:
        hooks = schema._hooks
        cls = type(schema)
        plan = _SLOW
        if not (hooks[PRE_DUMP] or hooks[POST_DUMP] or schema.many or schema.dict_class is not dict
                or cls.dump is not Schema.dump or cls._serialize is not Schema._serialize
                or cls.get_attribute is not Schema.get_attribute):
            schema.__dict__["_zhifa_dump_plan"] = _SLOW      # while building: a schema nesting itself is slow
            entries = []
            for name, f in schema.dump_fields.items():
                attr = f.attribute or name
                if not f._CHECK_ATTRIBUTE or "." in attr or not _unchanged(f, "serialize", "get_value"):
                    entries = None
                    break
                entries.append((attr, f.data_key if f.data_key is not None else name, f.dump_default, _dump_core(f)))
            if entries is not None:
                plan = entries
        schema.__dict__["_zhifa_dump_plan"] = plan
    return plan


def dump(schema: Schema, obj):
    """``schema.dump(obj)`` — the same result (``tests/common/test_fastload.py`` compares them on the corpus)."""
    plan = _dump_plan(schema)
    if plan is _SLOW or type(obj) is not dict:
        return schema.dump(obj)
    result = {}
    for attr, key, default, serialise in plan:
        try:
            value = obj[attr]
        except KeyError:                     # as marshmallow's get_value: then the attribute of that name
            value = getattr(obj, attr, missing)
        if value is missing:
            value = default() if callable(default) else default
            if value is missing:
                continue
        result[key] = serialise(value, attr, obj)
    return result
