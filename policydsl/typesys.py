"""The type system: the types of context attributes, table columns, definitions and expressions."""

from __future__ import annotations

from typing import Any

import attrs

from policydsl.reprs import Repr


@attrs.frozen(repr=False)
class BoolType(Repr):
    def __str__(self) -> str:
        return "bool"


@attrs.frozen(repr=False)
class IntType(Repr):
    lo: int | None = None
    hi: int | None = None

    def __str__(self) -> str:
        if self.lo is None and self.hi is None:
            return "int"
        return f"int[{'' if self.lo is None else self.lo}..{'' if self.hi is None else self.hi}]"

    def holds(self, value: int) -> bool:
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)


# Default maxima of what a request may hold, when a type declares none (`string[..256]`,
# `list<T>[..64]` declare their own). They bound validation, and the static cost of every rule.
MAX_STRING = 65_536  # characters (code points) in one string of a request
MAX_COLLECTION = 10_000  # elements in one list or set of a request


@attrs.frozen(repr=False)
class IpType(Repr):
    """An IPv4 or IPv6 address, held as its canonical text (`ipaddr`)."""

    def __str__(self) -> str:
        return "ip"


@attrs.frozen(repr=False)
class DecimalType(Repr):
    """An exact decimal of at most four digits after the point, held scaled (`decimals`)."""

    def __str__(self) -> str:
        return "decimal"


@attrs.frozen(repr=False)
class DatetimeType(Repr):
    """An instant: milliseconds since the Unix epoch, a signed 64-bit integer (`datetimes`)."""

    def __str__(self) -> str:
        return "datetime"


@attrs.frozen(repr=False)
class DurationType(Repr):
    """A span of time in milliseconds, a signed 64-bit integer (`datetimes`)."""

    def __str__(self) -> str:
        return "duration"


@attrs.frozen(repr=False)
class StringType(Repr):
    # not part of the type's identity: `string[..8]` and `string` compare with each other
    max_length: int = attrs.field(default=MAX_STRING, eq=False)

    def __str__(self) -> str:
        return "string" if self.max_length == MAX_STRING else f"string[..{self.max_length}]"


@attrs.frozen(repr=False)
class EnumType(Repr):
    name: str
    members: tuple[str, ...] = attrs.field(eq=False)
    # for membership tests: an enum of thousands of members must not make checking quadratic
    _member_set: frozenset[str] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_member_set", frozenset(self.members))

    def has(self, name: str) -> bool:
        return name in self._member_set

    def __str__(self) -> str:
        return self.name


@attrs.frozen(repr=False)
class CollectionType(Repr):
    kind: str  # "list" | "set"
    element: Type
    max_size: int = attrs.field(default=MAX_COLLECTION, eq=False)

    def __str__(self) -> str:
        bound = "" if self.max_size == MAX_COLLECTION else f"[..{self.max_size}]"
        return f"{self.kind}<{self.element}>{bound}"


@attrs.frozen(repr=False)
class MapType(Repr):
    """`map<string, T>`: string keys (labels, annotations), each with a value of type `value`."""

    value: Type
    max_size: int = attrs.field(default=MAX_COLLECTION, eq=False)

    def __str__(self) -> str:
        bound = "" if self.max_size == MAX_COLLECTION else f"[..{self.max_size}]"
        return f"map<string, {self.value}>{bound}"


class _Missing:
    """The default of a field that has none."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@attrs.frozen(repr=False)
class FieldType(Repr):
    name: str
    type: Type
    optional: bool = False
    default: Any = MISSING

    @property
    def required(self) -> bool:
        return not self.optional and self.default is MISSING


@attrs.frozen(repr=False)
class RecordType(Repr):
    name: str
    fields: tuple[FieldType, ...] = attrs.field(eq=False)
    # the declared names, for the closed-record test every request makes
    names: frozenset[str] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(f.name for f in self.fields))

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> FieldType | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def __str__(self) -> str:
        return self.name


@attrs.frozen(repr=False)
class EntityType(Repr):
    """A reference to an entity of type `name`: a request gives its id, an expression reads the
    entity itself (`entities.Entity`). Its attributes (`record`) and the types its parents may
    have (`parents`) are set once, when its declaration is checked: an entity's attributes may
    refer to its own type (`manager: User?`). Identity is the name alone."""

    name: str
    record: RecordType = attrs.field(
        factory=lambda: RecordType("entity", ()), eq=False, repr=False, hash=False
    )
    parents: tuple[str, ...] = attrs.field(default=(), eq=False, repr=False, hash=False)
    # an entity written in the policy (a literal, a table cell): known by its id alone
    literal: bool = attrs.field(default=False, eq=False, repr=False, hash=False)

    def declare(self, record: RecordType, parents: tuple[str, ...]) -> None:
        object.__setattr__(self, "record", record)
        object.__setattr__(self, "parents", parents)

    def as_literal(self) -> EntityType:
        return EntityType(self.name, self.record, self.parents, literal=True)

    def __str__(self) -> str:
        return self.name


@attrs.frozen(repr=False)
class AnyType(Repr):
    """The type of an expression that already has an error: compatible with everything."""

    def __str__(self) -> str:
        return "?"


@attrs.frozen(repr=False)
class NothingType(Repr):
    """The element type of `[]`: compatible with every element type."""

    def __str__(self) -> str:
        return "nothing"


Type = (
    BoolType
    | IntType
    | StringType
    | IpType
    | DecimalType
    | DatetimeType
    | DurationType
    | EnumType
    | CollectionType
    | MapType
    | RecordType
    | EntityType
    | AnyType
    | NothingType
)

BOOL = BoolType()
INT = IntType()
STRING = StringType()
IP = IpType()
DECIMAL = DecimalType()
DATETIME = DatetimeType()
DURATION = DurationType()
ANY = AnyType()
NOTHING = NothingType()


def compatible(a: Type, b: Type) -> bool:
    """Whether values of `a` and `b` can be compared or assigned to each other."""
    if a is b:  # the commonest: one type object (`t.BOOL`, an attribute's declared type)
        return True
    if isinstance(a, AnyType | NothingType) or isinstance(b, AnyType | NothingType):
        return True
    if isinstance(a, IntType) and isinstance(b, IntType):
        return True
    if isinstance(a, CollectionType) and isinstance(b, CollectionType):
        return compatible(a.element, b.element)
    if isinstance(a, MapType) and isinstance(b, MapType):
        return compatible(a.value, b.value)
    return a == b


def holds_entities(type_: Type) -> bool:
    """Whether a value of `type_` may hold an entity (itself, or in a record, list or map)."""
    match type_:
        case EntityType():
            return True
        case RecordType(_, fields):
            return any(holds_entities(f.type) for f in fields)
        case CollectionType(_, element):
            return holds_entities(element)
        case MapType(value):
            return holds_entities(value)
    return False


def is_int(t: Type) -> bool:
    return isinstance(t, IntType | AnyType | NothingType)


def is_ordered(t: Type) -> bool:
    """What `<`, `<=`, `>`, `>=` compare: integers, and decimals (never one with the other)."""
    return isinstance(t, IntType | DecimalType | AnyType | NothingType)


def is_time(t: Type) -> bool:
    """A datetime or a duration: integers of milliseconds, ordered as integers."""
    return isinstance(t, DatetimeType | DurationType)


def is_bool(t: Type) -> bool:
    return isinstance(t, BoolType | AnyType | NothingType)


def is_string(t: Type) -> bool:
    return isinstance(t, StringType | AnyType | NothingType)


def element_of(t: Type) -> Type | None:
    if isinstance(t, CollectionType):
        return t.element
    if isinstance(t, AnyType):
        return ANY
    return None


def collection_kind(type_: Type | None) -> str | None:
    """`list` or `set` for a collection type, else None."""
    return type_.kind if isinstance(type_, CollectionType) else None


def as_set(type_: Type) -> Type:
    """A collection type read as a set (a list literal written where a set is meant)."""
    return CollectionType("set", type_.element) if isinstance(type_, CollectionType) else type_
