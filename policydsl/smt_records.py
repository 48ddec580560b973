"""Lists of records in the solver encoding: each record type a z3 datatype (a presence flag per
optional field, a value per field, nested records as nested datatypes), a list of them a z3
sequence read through quantifiers, as `interp` reads it. Collections inside such records are not
encoded (`smt.Unsupported`).
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs

from policydsl import decimals
from policydsl import typesys as t
from policydsl.decision import to_json

_NAMES = itertools.count()

# A sequence of at most this many elements is read element by element, without a quantifier:
# quantifier-free formulas are decided outright, where a quantifier may leave z3 `unknown`.
UNROLL = 16


def each_element(z3: Any, term: Any, max_size: int | None, held_of: Any, some: bool) -> Any:
    """Whether `held_of(element)` holds for some (or every) element of sequence `term`."""
    length = z3.Length(term)
    if max_size is not None and max_size <= UNROLL:
        parts = [(length > i, held_of(term[i])) for i in range(max_size)]
        if some:
            return z3.Or([z3.And(inside, held) for inside, held in parts])
        return z3.And([z3.Implies(inside, held) for inside, held in parts])
    i = z3.Int(f"_e{next(_NAMES)}")
    inside = z3.And(i >= 0, i < length)
    held = held_of(term[i])
    if some:
        return z3.Exists([i], z3.And(inside, held))
    return z3.ForAll([i], z3.Implies(inside, held))


class Shape:
    """A record type as a z3 datatype: how to read, test, constrain and show its values."""

    sort: Any  # the z3 datatype

    def __init__(self, z3: Any, type_: t.RecordType, kinds: Kinds) -> None:
        self.z3 = z3
        self.kinds = kinds
        self.type = type_
        self.nested: dict[str, Shape] = {}
        datatype = z3.Datatype(f"record{next(_NAMES)}")
        declared = []
        for field in type_.fields:
            ftype = field.type
            sort: Any
            if isinstance(ftype, t.RecordType):
                self.nested[field.name] = shape_of(z3, ftype, kinds)
                sort = self.nested[field.name].sort
            elif isinstance(ftype, t.CollectionType) and ftype.kind == "list":
                sort = z3.SeqSort(_scalar_sort(z3, ftype.element, kinds))
            elif isinstance(ftype, t.BoolType):
                sort = z3.BoolSort()
            elif isinstance(ftype, t.IntType | t.EnumType | t.DecimalType):
                sort = z3.IntSort()
            elif isinstance(ftype, t.StringType):
                sort = z3.StringSort()
            else:
                raise kinds.unsupported(f"a `{ftype}` inside a record of a list")
            if field.optional:
                declared.append((f"{field.name}?", z3.BoolSort()))
            declared.append((field.name, sort))
        datatype.declare("make", *declared)
        self.sort = datatype.create()
        self.accessors = {
            self.sort.accessor(0, k).name(): self.sort.accessor(0, k) for k in range(len(declared))
        }

    def present(self, term: Any, name: str) -> Any:
        field = self.type.field(name)
        assert field is not None
        return self.accessors[f"{name}?"](term) if field.optional else True

    def read(self, term: Any, name: str) -> Any:
        """A field's value as the encoder holds values (an enum as `smt.Enum`, a record as
        `Record`)."""
        field = self.type.field(name)
        assert field is not None
        value = self.accessors[name](term)
        if isinstance(field.type, t.EnumType):
            return self.kinds.enum(value, field.type)
        if isinstance(field.type, t.CollectionType):
            return self.kinds.sequence(value, "list", None, field.type.max_size)
        if name in self.nested:
            return Record(value, self.nested[name])
        return value

    def constraints(self, term: Any) -> list[Any]:
        """What makes a value one a request may give: ranges, lengths, members."""
        z3 = self.z3
        held = []
        for field in self.type.fields:
            value = self.accessors[field.name](term)
            match field.type:
                case t.IntType() | t.DecimalType():
                    lo, hi = int_bounds(field.type)
                    if lo is not None:
                        held.append(value >= lo)
                    if hi is not None:
                        held.append(value <= hi)
                case t.StringType(max_length):
                    held.append(z3.Length(value) <= max_length)
                case t.EnumType(_, members):
                    held.append(z3.And(value >= 0, value < len(members)))
                case t.RecordType():
                    held.extend(self.nested[field.name].constraints(value))
                case t.CollectionType(_, element, max_size):
                    held.append(z3.Length(value) <= max_size)
                    bounds = element_bounds(z3, element)
                    if bounds is not None:
                        held.append(each_element(z3, value, max_size, bounds, some=False))
        return held

    def equal(self, a: Any, b: Any) -> Any:
        """Two records are equal when all their attributes are (present alike, equal values)."""
        z3 = self.z3
        same = []
        for field in self.type.fields:
            va, vb = self.accessors[field.name](a), self.accessors[field.name](b)
            here = self.nested[field.name].equal(va, vb) if field.name in self.nested else va == vb
            if field.optional:
                pa, pb = self.accessors[f"{field.name}?"](a), self.accessors[f"{field.name}?"](b)
                same.append(z3.And(pa == pb, z3.Implies(pa, here)))
            else:
                same.append(here)
        return z3.And(same)

    def example(self, found: Any, term: Any, scalar: Any) -> dict[str, Any]:
        """The record a model gives `term`, as JSON data (defaults left out)."""
        z3 = self.z3
        out: dict[str, Any] = {}
        for field in self.type.fields:
            if field.optional:
                present = found.eval(self.accessors[f"{field.name}?"](term), model_completion=True)
                if not z3.is_true(present):
                    continue
            value = found.eval(self.accessors[field.name](term), model_completion=True)
            if field.name in self.nested:
                inner = self.nested[field.name].example(found, value, scalar)
                if inner or field.optional:
                    out[field.name] = inner
                continue
            if isinstance(field.type, t.CollectionType):
                length = found.eval(z3.Length(value), model_completion=True).as_long()
                items = [scalar(found.eval(value[i], model_completion=True)) for i in range(length)]
                if items or field.default is t.MISSING:
                    out[field.name] = example_value(field.type, items)
                continue
            shown = scalar(value)
            if isinstance(field.type, t.EnumType):
                shown = field.type.members[shown]
            if field.default is t.MISSING or shown != to_json(field.default):
                out[field.name] = example_value(field.type, shown)
        return out


@attrs.frozen
class Record:
    """A record value of a list's element: its z3 term and its shape."""

    term: Any
    shape: Shape


@attrs.frozen
class Kinds:
    """How the encoder holds what a record's field may be (`smt` gives its own classes, so that
    this module need not import it): an enum value, a list, and the error for the rest."""

    enum: Any
    sequence: Any
    unsupported: type[Exception]


def _scalar_sort(z3: Any, element: t.Type, kinds: Kinds) -> Any:
    match element:
        case t.BoolType():
            return z3.BoolSort()
        case t.IntType() | t.DecimalType():
            return z3.IntSort()
        case t.StringType():
            return z3.StringSort()
    raise kinds.unsupported(f"a list of `{element}` inside a record of a list")


def distinct(z3: Any, var: Any, max_size: int) -> Any:
    """No element of sequence `var` twice: a set's."""
    length = z3.Length(var)
    if max_size <= UNROLL:
        pairs = [(i, j) for j in range(max_size) for i in range(j)]
        return z3.And([z3.Implies(length > j, var[i] != var[j]) for i, j in pairs])
    i, j = z3.Int(f"_d{next(_NAMES)}"), z3.Int(f"_d{next(_NAMES)}")
    later = z3.And(i >= 0, i < j, j < length)
    return z3.ForAll([i, j], z3.Implies(later, var[i] != var[j]))


def int_bounds(type_: t.Type) -> tuple[int | None, int | None]:
    """The range of an integer, or of a decimal's scaled integer (a signed 64-bit one)."""
    if isinstance(type_, t.DecimalType):
        return decimals.MIN, decimals.MAX
    assert isinstance(type_, t.IntType)
    return type_.lo, type_.hi


def example_value(type_: t.Type, value: Any) -> Any:
    """A value of a model as a request gives it: a decimal (or each of a list's) as its text."""
    if isinstance(type_, t.DecimalType):
        return decimals.text(value)
    if isinstance(type_, t.CollectionType) and isinstance(type_.element, t.DecimalType):
        return [decimals.text(v) for v in value]
    return value


def element_bounds(z3: Any, element: t.Type) -> Any:
    """What an element of a collection of `element` must hold, as a function of the element
    (None: nothing)."""
    match element:
        case t.DecimalType():
            return lambda x: z3.And(x >= decimals.MIN, x <= decimals.MAX)
        case t.IntType(lo, hi) if lo is not None or hi is not None:
            return lambda x: z3.And(
                *([x >= lo] if lo is not None else []), *([x <= hi] if hi is not None else [])
            )
        case t.StringType(max_length):
            return lambda x: z3.Length(x) <= max_length
    return None


_SHAPES: dict[int, tuple[t.RecordType, Shape]] = {}


def shape_of(z3: Any, type_: t.RecordType, kinds: Kinds) -> Shape:
    """One datatype per record type, so that two requests (a monotonicity question) hold values
    of one sort."""
    found = _SHAPES.get(id(type_))
    if found is None or found[0] is not type_:
        found = (type_, Shape(z3, type_, kinds))
        _SHAPES[id(type_)] = found
    return found[1]
