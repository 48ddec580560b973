"""The checked model's expressions: syntax nodes whose leaves the checker replaced by resolved
references (`Attr`, `DefRef`, `Const`, ...), and the compound nodes only a checked policy has.

What the IR and the code generator share with the checked model, apart from the policy's own
records (`model`: rules, definitions, outputs, properties), which `model` re-exports these
with: deciding from a compiled artifact reads expressions alone, and never makes those classes.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, Generic, Literal, TypeAlias, TypeVar, cast

import attrs

from policydsl import nodes
from policydsl.nodes import E_co
from policydsl.reprs import Repr
from policydsl.source import Span
from policydsl.typesys import Type


def _span() -> Span | None:
    # what a class body would declare; attrs types `field()` as the attribute's own type
    span: Span | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)
    return span


@attrs.frozen(repr=False)
class Const(Repr):
    """A value known at compile time: a literal, an enum member, a table cell, a folded result.

    `type` is known where the value alone cannot say how a policy writes it: an enum member (or
    a collection of them) is a `str` at run time, printed bare. It takes no part in equality.
    """

    value: Any
    span: Span | None = _span()
    type: Type | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)


@attrs.frozen(repr=False)
class Attr(Repr):
    """A context attribute read, e.g. `("user", "age")`; the checker proved it is present."""

    path: tuple[str, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Present(Repr):
    """`has user.age`: the optional attribute (and every record on its path) is present."""

    path: tuple[str, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class DefRef(Repr):
    name: str
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Local(Repr):
    """A quantifier variable or, before a table rule is expanded, a column."""

    name: str
    span: Span | None = _span()


@attrs.frozen(repr=False)
class FieldOf(Repr, Generic[E_co]):
    """A field of a record value bound to a local, e.g. a fired rule's `r.severity`."""

    base: E_co
    name: str
    span: Span | None = _span()


@attrs.frozen(repr=False)
class FieldPresent(Repr, Generic[E_co]):
    base: E_co
    name: str
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Outcome(Repr):
    """`decision` or `fired`, only inside outputs."""

    name: str
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Size(Repr, Generic[E_co]):
    arg: E_co
    span: Span | None = _span()


@attrs.frozen(repr=False)
class TimeCall(Repr, Generic[E_co]):
    """A datetime or duration function (`datetimes.FUNCTIONS`): a calendar accessor, a
    conversion, or `checked`, the 64-bit range test around each step of time arithmetic."""

    func: str
    args: tuple[E_co, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class SetOf(Repr, Generic[E_co]):
    """A list literal written where a set is meant, with items known only per request."""

    items: E_co  # a `ListLit`; constant folding may make it a `Const` before folding the set
    span: Span | None = _span()


@attrs.frozen(repr=False)
class RowsWhere(Repr, Generic[E_co]):
    """Lowering only: the rows of table `table` whose `column` equals `key`, looked up in `rows`
    (a constant `relations.RowIndex`, from each value of the column to its rows). A `some` over
    a table whose test starts with `row.column == key` reads these instead of every row."""

    table: str
    column: str
    rows: Any
    key: E_co
    span: Span | None = _span()


@attrs.frozen(repr=False)
class MapGet(Repr, Generic[E_co]):
    """`m[key]`: the value of a map under a key the checker proved present."""

    base: E_co
    key: E_co
    span: Span | None = _span()


@attrs.frozen(repr=False)
class MapHas(Repr, Generic[E_co]):
    """`has m[key]`: whether the map holds the key."""

    base: E_co
    key: E_co
    span: Span | None = _span()


@attrs.frozen(repr=False)
class MapView(Repr, Generic[E_co]):
    """`keys(m)` (a set of strings) or `values(m)` (a list, in the request's order)."""

    kind: Literal["keys", "values"]
    arg: E_co
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Ancestors(Repr, Generic[E_co]):
    """The uids of an entity and of every group it is in, directly or not (a set of strings,
    computed when the entity data was loaded): `e in g` is `uid(g) in ancestors(e)`."""

    arg: E_co
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Uids(Repr, Generic[E_co]):
    """An entity's uid (`Team::"eng"`), or with `many` the set of the uids of a collection of
    entities: what hierarchy membership looks up in `Ancestors`."""

    arg: E_co
    many: bool = False
    span: Span | None = _span()


# A checked expression: the syntax tree's compound nodes over resolved leaves.
Expr: TypeAlias = """
    Const
    | Attr
    | Present
    | DefRef
    | Local
    | FieldOf[Expr]
    | FieldPresent[Expr]
    | Outcome
    | Size[Expr]
    | TimeCall[Expr]
    | SetOf[Expr]
    | MapGet[Expr]
    | MapHas[Expr]
    | MapView[Expr]
    | Ancestors[Expr]
    | Uids[Expr]
    | nodes.And[Expr]
    | nodes.Or[Expr]
    | nodes.Not[Expr]
    | nodes.Compare[Expr]
    | nodes.SetTest[Expr]
    | nodes.In[Expr]
    | nodes.Arith[Expr]
    | nodes.Neg[Expr]
    | nodes.Quantifier[Expr]
    | nodes.ListLit[Expr]
"""


_In = TypeVar("_In")
_Out = TypeVar("_Out")


def map_children(expr: _In, fn: Callable[[_In], _Out]) -> _In | _Out:
    """Rebuild `expr` with `fn` applied to each direct sub-expression.

    Works on the expressions of every stage. The node keeps its class: a leaf stays of `expr`'s
    stage, a compound node takes `fn`'s (when `fn` lowers, a node over IR children is IR). When
    `fn` gives every child back as it was (the same object), `expr` itself is returned: folding
    and substitution leave most nodes as they are, and rebuilding each one was most of their cost.
    A changed node is rebuilt through its constructor (not `attrs.evolve`, several times slower).
    """
    match expr:  # the commonest first: a rule's tests are mostly comparisons
        case nodes.Compare(op, left, right):
            new_left, new_right = fn(left), fn(right)
            if new_left is left and new_right is right:
                return expr
            return cast("_Out", nodes.Compare(op, new_left, new_right, span=expr.span))
        case nodes.And(operands) | nodes.Or(operands):
            new = tuple(map(fn, operands))
            return expr if _same(new, operands) else type(expr)(new, span=expr.span)
        case nodes.ListLit(items):
            new = tuple(fn(e) for e in items)
            return expr if _same(new, items) else cast("_Out", nodes.ListLit(new, span=expr.span))
        case nodes.Not(operand) | nodes.Neg(operand):
            inner = fn(operand)
            return expr if inner is operand else type(expr)(inner, span=expr.span)
        case nodes.SetTest(set_op, left, right):
            new_left, new_right = fn(left), fn(right)
            if new_left is left and new_right is right:
                return expr
            return cast("_Out", nodes.SetTest(set_op, new_left, new_right, span=expr.span))
        case nodes.In(element, collection):
            new_element, new_collection = fn(element), fn(collection)
            if new_element is element and new_collection is collection:
                return expr
            return cast("_Out", nodes.In(new_element, new_collection, expr.negated, span=expr.span))
        case nodes.Arith(first, rest):
            new_first = fn(first)
            new_rest = tuple((op, fn(e)) for op, e in rest)
            if new_first is first and _same([e for _, e in new_rest], [e for _, e in rest]):
                return expr
            return cast("_Out", nodes.Arith(new_first, new_rest, span=expr.span))
        case nodes.Quantifier(_, _, collection, body):
            new_collection, new_body = fn(collection), fn(body)
            if new_collection is collection and new_body is body:
                return expr
            made = nodes.Quantifier(expr.kind, expr.var, new_collection, new_body, span=expr.span)
            return cast("_Out", made)
        case FieldOf(base) | FieldPresent(base):
            new_base = fn(base)
            return expr if new_base is base else type(expr)(new_base, expr.name, span=expr.span)
        case Size(arg):
            new_arg = fn(arg)
            return expr if new_arg is arg else cast("_Out", Size(new_arg, span=expr.span))
        case Ancestors(arg):
            new_arg = fn(arg)
            return expr if new_arg is arg else cast("_Out", Ancestors(new_arg, span=expr.span))
        case Uids(arg, many):
            new_arg = fn(arg)
            return expr if new_arg is arg else cast("_Out", Uids(new_arg, many, span=expr.span))
        case TimeCall(func, args):
            new = tuple(fn(a) for a in args)
            return expr if _same(new, args) else cast("_Out", TimeCall(func, new, span=expr.span))
        case SetOf(items):
            new_items = fn(items)
            return expr if new_items is items else cast("_Out", SetOf(new_items, span=expr.span))
        case RowsWhere(table, column, rows, key):
            new_key = fn(key)
            if new_key is key:
                return expr
            return cast("_Out", RowsWhere(table, column, rows, new_key, span=expr.span))
        case MapGet(base, key) | MapHas(base, key):
            new_base, new_key = fn(base), fn(key)
            if new_base is base and new_key is key:
                return expr
            return type(expr)(new_base, new_key, span=expr.span)
        case MapView(kind, arg):
            new_arg = fn(arg)
            return expr if new_arg is arg else cast("_Out", MapView(kind, new_arg, span=expr.span))
    return expr


def _same(new: Sequence[Any], old: Sequence[Any]) -> bool:
    """The same objects, one for one (`new` was made from `old`: they are as long)."""
    return all(map(operator.is_, new, old))


def children(expr: Any) -> list[Any]:
    """The direct sub-expressions of `expr`, in the order `map_children` visits them (read, not
    rebuilt)."""
    read = _CHILDREN.get(expr.__class__)  # the commonest classes: one lookup, not a `match`
    if read is not None:
        return read(expr)
    match expr:
        case nodes.And(operands) | nodes.Or(operands):
            return list(operands)
        case nodes.ListLit(items):
            return list(items)
        case nodes.Not(operand) | nodes.Neg(operand):
            return [operand]
        case nodes.Compare(_, left, right) | nodes.SetTest(_, left, right):
            return [left, right]
        case nodes.In(element, collection):
            return [element, collection]
        case nodes.Arith(first, rest):
            return [first, *(e for _, e in rest)]
        case nodes.Quantifier(_, _, collection, body):
            return [collection, body]
        case FieldOf(base) | FieldPresent(base):
            return [base]
        case Size(arg) | Ancestors(arg) | Uids(arg):
            return [arg]
        case TimeCall(_, args):
            return list(args)
        case SetOf(items):
            return [items]
        case RowsWhere(_, _, _, key):
            return [key]
        case MapGet(base, key) | MapHas(base, key):
            return [base, key]
        case MapView(_, arg):
            return [arg]
    return []


def _no_children(expr: Any) -> list[Any]:
    return []


# Each class `children` reads most, with what its `match` gives for it (a leaf: none).
_CHILDREN: dict[type, Callable[[Any], list[Any]]] = {
    nodes.And: lambda e: list(e.operands),
    nodes.Or: lambda e: list(e.operands),
    nodes.ListLit: lambda e: list(e.items),
    nodes.Not: lambda e: [e.operand],
    nodes.Compare: lambda e: [e.left, e.right],
    nodes.SetTest: lambda e: [e.left, e.right],
    nodes.In: lambda e: [e.element, e.collection],
    nodes.Neg: lambda e: [e.operand],
    nodes.Arith: lambda e: [e.first, *(x for _, x in e.rest)],
    nodes.Quantifier: lambda e: [e.collection, e.body],
    FieldOf: lambda e: [e.base],
    FieldPresent: lambda e: [e.base],
    Size: lambda e: [e.arg],
    SetOf: lambda e: [e.items],
    Const: _no_children,
    Attr: _no_children,
    Present: _no_children,
    Local: _no_children,
    DefRef: _no_children,
    Outcome: _no_children,
}


NOT_CONST: Any = object()


def const_value(expr: Any) -> Any:
    """The value of a constant expression (a list literal is a tuple), or `NOT_CONST`."""
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, nodes.ListLit):
        values = [const_value(i) for i in expr.items]
        return NOT_CONST if any(v is NOT_CONST for v in values) else tuple(values)
    return NOT_CONST
