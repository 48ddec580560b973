"""What generated code may use at run time: the closed set of names its namespace holds.

Generated code runs with empty builtins. Besides its own locals (`_s3`, `_fired`, ...) and the
constants the code generator hoists (`_K0`, `_M3`, ..., see `HOISTED`), it may name only what
this module declares in `NAMES`: Python builtins under names no policy can write, the helpers
below, and the names each evaluator binds to its own combining tables and cache (`BOUND`). A
test reads every generated module and holds it to this set, so what the code can reach is
decided here, in one place (Jinja's `runtime` plays the same part for its templates).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping
from typing import Any

from policydsl import datetimes, decimals, ipaddr
from policydsl import typesys as t
from policydsl.entities import Entity
from policydsl.glob import compile_glob
from policydsl.regex_literals import grams
from policydsl.setops import contains_all, contains_any


def glob(text: str, pattern: str) -> bool:
    """`text like pattern` for a pattern known only at run time (constant ones are hoisted)."""
    return compile_glob(pattern).matches(text)


class Refused(Exception):
    """A value the fast path does not take as it is: the validator decides, and names why."""


Store = Mapping[str, Mapping[str, Entity]]  # the policy's entity data, by type and id
_NO_STORE: Store = {}


def records(
    value: Any, record: t.RecordType, store: Store = _NO_STORE
) -> tuple[dict[str, Any], ...]:
    """A list of records checked and normalised (defaults filled in, absent optional attributes
    left out, entity ids resolved in `store`), or `Refused`: the validator then names the first
    problem. Exact built-in types only, as everywhere on the fast path; the validator
    normalises the rest, and what it returns is taken here as it is."""
    if value.__class__ is not list and value.__class__ is not tuple:
        raise Refused
    return tuple([_record(item, record, store) for item in value])


def times(value: Any, collection: t.CollectionType) -> tuple[Any, ...] | frozenset[Any]:
    """A list or set of datetimes or durations, each read into milliseconds, or `Refused` (or
    the parser's error): the validator then names the problem."""
    made: tuple[Any, ...] | frozenset[Any] = _value(value, collection)
    return made


def map_(value: Any, type_: t.MapType, store: Store = _NO_STORE) -> dict[str, Any]:
    """A map checked and normalised (string keys, `null` values left out, entity ids resolved
    in `store`), or `Refused`."""
    if value.__class__ is not dict or len(value) > type_.max_size:
        raise Refused
    element = type_.value
    if element.__class__ is t.StringType:  # labels, annotations: one pass, then a copy
        limit = element.max_length
        for key, item in value.items():
            if key.__class__ is not str or item.__class__ is not str or len(item) > limit:
                break
            if len(key) > t.MAX_STRING:
                raise Refused
        else:
            return dict(value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key.__class__ is not str or len(key) > t.MAX_STRING:
            raise Refused
        if item is not None:
            out[key] = _value(item, type_.value, store)
    return out


def _record(item: Any, record: t.RecordType, store: Store) -> dict[str, Any]:
    if item.__class__ is not dict:
        raise Refused
    out: dict[str, Any] = {}
    given = 0
    for field in record.fields:
        value = item.get(field.name)
        if value is None:
            if field.default is not t.MISSING:
                out[field.name] = field.default
            elif isinstance(field.type, t.RecordType) and not field.optional:
                out[field.name] = _record({}, field.type, store)
            elif not field.optional:
                raise Refused
            continue
        given += 1
        out[field.name] = _value(value, field.type, store)
    if len(item) != given and not item.keys() <= record.names:
        raise Refused
    return out


def _value(value: Any, type_: t.Type, store: Store = _NO_STORE) -> Any:
    cls = value.__class__
    match type_:
        case t.BoolType() if cls is bool:
            return value
        case t.IntType(lo, hi) if cls is int:
            if (lo is None or value >= lo) and (hi is None or value <= hi):
                return value
        case t.StringType(max_length) if cls is str and len(value) <= max_length:
            return value
        case t.EnumType() if cls is str and type_.has(value):
            return value
        case t.IpType() if cls is str and ipaddr.canonical_address(value) == value:
            return value
        case t.DecimalType():  # a value that is not a decimal raises: the validator names it
            return decimals.scaled(value)
        case t.DatetimeType() if cls is str or cls is datetimes.Datetime:
            return datetimes.request_datetime(value)  # raises on a bad one: the validator names it
        case t.DurationType() if cls is str or cls is datetimes.Duration:
            return datetimes.request_duration(value)
        case t.CollectionType(kind, element, max_size) if (
            cls is list or cls is tuple or cls is frozenset
        ) and len(value) <= max_size:
            if cls is frozenset and kind != "set":
                raise Refused
            items = [_value(v, element, store) for v in value]
            return frozenset(items) if kind == "set" else tuple(items)
        case t.RecordType():
            return _record(value, type_, store)
        case t.MapType():
            return map_(value, type_, store)
        case t.EntityType(name):  # resolved as an attribute of the context is
            return entity(store, value, name, not type_.record.fields)
    raise Refused


_NO_ENTITIES: dict[str, Entity] = {}
_COLLECTIONS = frozenset({list, tuple, frozenset})


def entity(store: Store, value: Any, type_name: str, bare: bool = False) -> Entity:
    """The entity an id names in the policy's store (`_STORE`: entities by type and id), or
    `Refused`: the validator then names the id the store does not hold. An id of a `bare` type
    (one that declares no attributes) the store lacks is an entity in no group."""
    if value.__class__ is str:
        found = store.get(type_name, _NO_ENTITIES).get(value)
        if found is not None:
            return found
        if bare:
            return Entity(type_name, value)
    elif value.__class__ is Entity and value.type == type_name:
        found = store.get(type_name, _NO_ENTITIES).get(value.id)
        if found is value:
            return value  # the store's own (a request the validator resolved)
        if bare and found is None:  # by its id, as the validator reads it
            return Entity(type_name, value.id)
    raise Refused  # an entity object made elsewhere: the validator reads it by its id


def entities(
    store: Store, value: Any, type_: t.CollectionType
) -> tuple[Entity, ...] | frozenset[Entity]:
    """A list or set of entities, each id resolved (`entity`), or `Refused`."""
    if value.__class__ not in _COLLECTIONS or len(value) > type_.max_size:
        raise Refused
    name, bare = type_.element.name, not type_.element.record.fields
    items = [entity(store, v, name, bare) for v in value]
    return frozenset(items) if type_.kind == "set" else tuple(items)


# Python's own, for exact type tests, sizes, quantifiers and building collections.
BUILTINS: Mapping[str, Any] = {
    "_dict": dict,
    "_str": str,
    "_int": int,
    "_bool": bool,
    "_len": len,
    "_any": any,
    "_all": all,
    "_sum": sum,
    "_prod": math.prod,
    "_frozenset": frozenset,
    "_tuple": tuple,
    "_bisect_left": bisect.bisect_left,  # the place of a value among an ordered index's bounds
    "_bisect_right": bisect.bisect_right,
    "_SEQS": frozenset({list, tuple}),  # what the validator takes for a list or a set
    "_EMPTY": {},
    # anything the caller's objects raise (a lying `__class__`, an `__eq__` that raises) sends
    # the request to the validator, which names it; a normalised request never raises here
    "_Errors": (Exception,),
}

HELPERS: Mapping[str, Any] = {
    "_contains_any": contains_any,
    "_contains_all": contains_all,
    "_glob": glob,
    "_records": records,
    "_entity": entity,  # an id resolved in the policy's entity data (`_STORE`)
    "_entities": entities,
    "_map": map_,
    "_ip_text": ipaddr.canonical_address,  # raises on a non-address: the validator names it
    "_in_range": ipaddr.in_range,
    "_decimal": decimals.scaled,  # raises on a non-decimal: the validator names it
    "_decimals": decimals.decimals,
    # a request's datetime or duration read once into milliseconds (raising on a bad one: the
    # validator names it), then the language's functions on them (`datetimes.FUNCTIONS`)
    "_datetime": datetimes.request_datetime,
    "_duration": datetimes.request_duration,
    "_times": times,
    **{f"_t_{name}": function for name, function in datetimes.FUNCTIONS.items()},
    "_network_keys": ipaddr.network_keys,  # an `in_range` index's lookups
    "_grams": grams,  # a `substring` index's lookups
}

# Bound by each evaluator: what it prepares at compile time, the entry for each rule fired alone
# (`_ONE[rule]`) and for none (`_ONE[-1]`, and `_NONE`: the commonest answer, read the
# quickest); `_several`, which combines several fired rules;
# `_finish`, which builds a prepared entry's decision with output values; `_make_decision`, which
# builds a decision from its seven fields. `_STORE`: the entity data, by type and id, which
# `Policy.use_entities` replaces whole.
BOUND = frozenset({"_several", "_finish", "_make_decision", "_ONE", "_NONE", "_STORE"})

NAMES = frozenset(BUILTINS) | frozenset(HELPERS) | BOUND

# The names of the constants the code generator hoists into the namespace.
HOISTED = re.compile(r"_(?:K|M|N|G|IA|IR)\d+")


def namespace(bound: Mapping[str, Any], constants: Mapping[str, Any]) -> dict[str, Any]:
    """The namespace a generated module runs in: nothing but the declared names."""
    if set(bound) != BOUND:
        raise ValueError(f"an evaluator binds exactly {sorted(BOUND)}, not {sorted(bound)}")
    strays = [name for name in constants if not HOISTED.fullmatch(name)]
    if strays:
        raise ValueError(f"not names of hoisted constants: {strays}")
    return {"__builtins__": {}, **BUILTINS, **HELPERS, **constants, **bound}
