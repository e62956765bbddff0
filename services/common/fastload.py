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

from marshmallow import RAISE, Schema, ValidationError
from marshmallow.constants import missing
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.error_store import ErrorStore

_SLOW = object()


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
        for key, attr, field in plan[1]:
            value = field.deserialize(data.get(key, missing), key, data)
            if value is not missing:
                result[attr] = value
    except ValidationError:
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
