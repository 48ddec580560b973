"""Request contexts: validate a JSON-like mapping against the policy's `context` schema.

The result is normalised: defaults filled in, `null` treated as absent, sets as frozensets, lists
as tuples. Records are closed: a key the schema does not declare, at any level, is an error (a
misspelt key must never drop a category and turn a deny into an allow), with the closest declared
name as a hint. Anything that breaks the schema is a `ContextError` naming the attribute.
"""

from __future__ import annotations

import contextvars
import decimal
import json
from collections.abc import Callable, Mapping
from typing import Any

from policydsl import datetimes, decimals, ipaddr
from policydsl import typesys as t
from policydsl.entities import EMPTY_STORE, Entity, EntityStore
from policydsl.terminal import shown

MAX_COLLECTION = t.MAX_COLLECTION  # the default maximum of a list or set (`list<T>[..N]`)
MAX_STRING = t.MAX_STRING  # the default maximum length of a string (`string[..N]`)


class ContextError(ValueError):
    """A request context that breaks the schema; `attribute` is the dotted path at fault (as the
    request spells it). The message may quote the request, so it escapes every character a
    terminal would act on or hide (`\\u{1b}`): printing it can never drive the terminal."""

    def __init__(self, attribute: str, message: str):
        self.attribute = attribute
        self.detail = shown(message)
        super().__init__(
            f"invalid context: `{shown(attribute)}`: {self.detail}"
            if attribute
            else f"invalid context: {self.detail}"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by the constructor's arguments, so the error crosses a process boundary (a
        `multiprocessing` pool) with its attribute."""
        return (type(self), (self.attribute, self.detail))


def describe(type_: t.Type) -> str:
    """How a type reads in an error message: `an integer ≥ 0`, `one of: a, b`."""
    match type_:
        case t.BoolType():
            return "true or false"
        case t.IntType(lo, hi):
            if lo is not None and hi is not None:
                return f"an integer from {lo} to {hi}"
            if lo is not None:
                return f"an integer ≥ {lo}"
            if hi is not None:
                return f"an integer ≤ {hi}"
            return "an integer"
        case t.StringType():
            return "a string"
        case t.IpType():
            return "an IP address"
        case t.DecimalType():
            return "a decimal"
        case t.DatetimeType():
            return "an RFC 3339 date and time with a UTC offset"
        case t.DurationType():
            return 'a duration ("1h30m")'
        case t.EnumType(name, members):
            shown = ", ".join(members[:12]) + (", …" if len(members) > 12 else "")
            return f"a {name} ({shown})"
        case t.CollectionType(kind, element):
            return (
                f"a list of {describe(element)}"
                if kind == "list"
                else f"a set of {describe(element)}"
            )
        case t.MapType(value):
            return f"an object mapping strings to {describe(value)}"
        case t.RecordType():
            return "an object"
        case t.EntityType(name):
            return f"the id of a {name}"
    return str(type_)


def show_value(value: Any) -> str:
    """A short, safe rendering of a request value for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:39] + "…"
        return f"string {text!r}"
    if isinstance(value, int) and value.bit_length() > 256:  # repr() refuses > 4,300 digits
        return f"a {value.bit_length():,}-bit number"
    if isinstance(value, int | float | decimal.Decimal):
        text = str(value) if isinstance(value, decimal.Decimal) else repr(value)
        return f"number {text if len(text) <= 40 else text[:39] + '…'}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


# What an entity's id resolves to while a value is validated: the entity of a store for a
# request, one being loaded for entity data (`entity_data`). A context variable, not a parameter
# of every reader below: only an entity type reads it, and each thread or task sees its own.
Resolver = Callable[[t.EntityType, str, str], Entity]
_RESOLVER: contextvars.ContextVar[Resolver] = contextvars.ContextVar("resolver")


def store_resolver(store: EntityStore) -> Resolver:
    """Resolve an id in `store`; an id it does not hold is a `ContextError` naming it, unless
    its type declares no attributes (a group known by its id alone, as the data makes one)."""

    def resolve(type_: t.EntityType, entity_id: str, path: str) -> Entity:
        found = store.get(type_.name, entity_id)
        if found is None and not type_.record.fields:
            return Entity(type_.name, entity_id)  # in no group: nothing says it is
        if found is None:
            shown_id = entity_id if len(entity_id) <= 60 else entity_id[:59] + "…"
            raise ContextError(path, f"no {type_.name} {shown_id!r} in the entity data")
        return found

    return resolve


def validate(
    schema: t.RecordType, data: Any, entities: EntityStore | None = None
) -> dict[str, Any]:
    """The normalised context, or `ContextError` for the first attribute that breaks the schema.
    Entity ids are resolved in `entities` (none: an empty store)."""
    token = _RESOLVER.set(store_resolver(EMPTY_STORE if entities is None else entities))
    try:
        if not isinstance(data, Mapping):
            raise ContextError("", f"a request context must be an object, not {show_value(data)}")
        return _record(schema, data, "")
    except ContextError:
        raise
    except Exception as err:  # the caller's objects: a `get`, `__iter__`, `__eq__` that raises
        raise ContextError("", f"reading the request raised {type(err).__name__}") from err
    finally:
        _RESOLVER.reset(token)


def validate_value(type_: t.Type, value: Any, path: str, resolve: Resolver) -> Any:
    """One value of `type_`, entity ids resolved by `resolve` (entity data's attributes)."""
    token = _RESOLVER.set(resolve)
    try:
        return _value(type_, value, path)
    finally:
        _RESOLVER.reset(token)


def entity_id(type_: t.EntityType, value: Any, path: str) -> str:
    """The id an entity reference gives: a string, or Cedar's `{"type": T, "id": I}` (also
    under `"__entity"`) of the declared type."""
    if isinstance(value, Mapping):
        inner = value.get("__entity", value) if len(value) == 1 else value
        if isinstance(inner, Mapping) and set(inner) == {"type", "id"}:
            if inner["type"] != type_.name:
                got = show_value(inner["type"])
                raise ContextError(path, f"expected a {type_.name}, got an entity of type {got}")
            value = inner["id"]
    if not isinstance(value, str):
        raise ContextError(path, f"expected {describe(type_)}, got {show_value(value)}")
    if len(value) > MAX_STRING:
        limit = f"the id has {len(value):,} characters; the limit is {MAX_STRING:,}"
        raise ContextError(path, limit)
    return str.__str__(value)


def _record(record: t.RecordType, data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    _closed(record, data, prefix)
    out: dict[str, Any] = {}
    for field in record.fields:
        path = f"{prefix}{field.name}"
        value = data.get(field.name)
        if value is None:
            if field.default is not t.MISSING:
                out[field.name] = _default(field.type, field.default)
            elif isinstance(field.type, t.RecordType) and not field.optional:
                out[field.name] = _record(field.type, {}, path + ".")
            elif not field.optional:
                raise ContextError(path, "is required")
            continue
        out[field.name] = _value(field.type, value, path)
    return out


def _closed(record: t.RecordType, data: Mapping[str, Any], prefix: str) -> None:
    """Refuse the first key of `data` that `record` does not declare (or that is not a string)."""
    names = record.names
    for key in data:
        if key.__class__ is str and key in names:
            continue
        if not isinstance(key, str):
            raise ContextError(prefix[:-1], f"has a key that is not a string: {show_value(key)}")
        if str.__str__(key) in names:  # a `str` subclass spelling a declared name
            continue
        close = _close_matches(key[:100], record.field_names)
        hint = (
            f"did you mean `{prefix}{close[0]}`?"
            if close
            else "declared: " + ", ".join(f"`{n}`" for n in record.field_names[:12])
            if record.fields
            else "this record declares no attributes"
        )
        shown = key if len(key) <= 60 else key[:59] + "…"
        raise ContextError(f"{prefix}{shown}", f"is not a declared attribute; {hint}")


def _value(type_: t.Type, value: Any, path: str) -> Any:
    match type_:
        # Scalars are normalised to the exact built-in type: a subclass's own `__eq__`, `__hash__`
        # or `__lt__` must not run (or raise) while deciding, on any backend.
        case t.BoolType():
            if isinstance(value, bool):
                return value
        case t.IntType(lo, hi):
            if isinstance(value, int) and not isinstance(value, bool):
                value = int.__int__(value)
                if (lo is not None and value < lo) or (hi is not None and value > hi):
                    raise ContextError(path, f"expected {describe(type_)}, got {show_value(value)}")
                return value
        case t.StringType(max_length):
            if isinstance(value, str):
                if len(value) > max_length:
                    raise ContextError(
                        path, f"has {len(value):,} characters; the limit is {max_length:,}"
                    )
                return str.__str__(value)
        case t.IpType():
            if isinstance(value, str):
                try:
                    return ipaddr.canonical_address(str.__str__(value))
                except ValueError:
                    raise ContextError(path, f"not an IP address: {show_value(value)}") from None
        case t.DecimalType():
            try:
                return decimals.validated(_plain(value))
            except ValueError as err:
                raise ContextError(path, f"{show_value(value)} is not a decimal: {err}") from None
        case t.DatetimeType() | t.DurationType():
            return _time(type_, value, path)
        case t.EnumType(name, members):
            if isinstance(value, str):
                value = str.__str__(value)
                if type_.has(value):
                    return value
                close = _close_matches(value[:100], members)
                hint = f"did you mean {close[0]!r}?" if close else f"expected {describe(type_)}"
                raise ContextError(path, f"unknown {name} {value!r:.60}; {hint}")
        case t.CollectionType(kind, element, max_size):
            if isinstance(value, list | tuple):
                if len(value) > max_size:
                    raise ContextError(
                        path, f"has {len(value):,} elements; the limit is {max_size:,}"
                    )
                items = [_element(element, v, path, i) for i, v in enumerate(value)]
                return frozenset(items) if kind == "set" else tuple(items)
        case t.RecordType():
            if isinstance(value, Mapping):
                return _record(type_, value, path + ".")
        case t.MapType(element, max_size):
            if isinstance(value, Mapping):
                return _map(element, max_size, value, path)
        case t.EntityType(name):
            if value.__class__ is Entity and value.type == name:  # an entity object: read by
                value = value.id  # its id in the data in use, never trusted for its attributes
            return _RESOLVER.get()(type_, entity_id(type_, value, path), path)
    raise ContextError(path, f"expected {describe(type_)}, got {show_value(value)}")


def _time(type_: t.DatetimeType | t.DurationType, value: Any, path: str) -> Any:
    """A datetime or duration, read once into integer milliseconds (`datetimes`)."""
    try:
        if isinstance(type_, t.DatetimeType):
            return datetimes.validate_datetime(value)
        return datetimes.validate_duration(value)
    except datetimes.TimeTextError as err:
        raise ContextError(path, f"{show_value(value)}: {err}; {err.help}") from None
    except (ValueError, OverflowError, ArithmeticError):  # a datetime object's own arithmetic
        raise ContextError(path, f"expected {describe(type_)}, got {show_value(value)}") from None


def _element(type_: t.Type, value: Any, path: str, index: int) -> Any:
    """An element of a list or set: errors name the collection and the element's position
    (a record's, the element's attribute: `pod.containers[2].image`)."""
    if isinstance(type_, t.RecordType):
        return _value(type_, value, f"{path}[{index}]")
    try:
        return _value(type_, value, path)
    except ContextError as err:
        raise ContextError(path, f"element {index}: {err.detail}") from None


def _map(type_: t.Type, max_size: int, value: Mapping[Any, Any], path: str) -> dict[str, Any]:
    """A map: string keys (as long as a string may be), each value checked; errors name the
    key (`pod.labels["app"]`). The result is a plain dict, in the request's order."""
    if len(value) > max_size:
        raise ContextError(path, f"has {len(value):,} keys; the limit is {max_size:,}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ContextError(path, f"has a key that is not a string: {show_value(key)}")
        key = str.__str__(key)
        shown = key if len(key) <= 60 else key[:59] + "…"
        where = f"{path}[{json.dumps(shown, ensure_ascii=False)}]"
        if len(key) > MAX_STRING:
            limit = f"the key has {len(key):,} characters; the limit is {MAX_STRING:,}"
            raise ContextError(where, limit)
        if item is None:  # as for an attribute, `null` is absent
            continue
        out[key] = _value(type_, item, where)
    return out


def _close_matches(word: str, names: list[str] | tuple[str, ...]) -> list[str]:
    """The closest name, for a hint; `difflib` is imported only when a request is refused."""
    import difflib

    return difflib.get_close_matches(word, names, n=1)


def _default(type_: t.Type, default: Any) -> Any:
    """A default as the validator gives it: a decimal's marked converted (`Scaled`), so the
    compiled code, which converts what it reads, never scales it twice."""
    if isinstance(type_, t.DecimalType):
        return decimals.Scaled(default)
    if isinstance(type_, t.CollectionType) and isinstance(type_.element, t.DecimalType):
        items = [decimals.Scaled(v) for v in default]
        return frozenset(items) if type_.kind == "set" else tuple(items)
    return default


def _plain(value: Any) -> Any:
    """A decimal's value of an exact built-in type (a subclass's methods never run): bools are
    not numbers, an `int` or `str` subclass is read as its base."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value.__class__ is not decimals.Scaled:
        return int.__int__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        return float.__float__(value)
    return value
