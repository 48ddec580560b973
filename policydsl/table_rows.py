"""Table rows made into rules: a row's cells put in place of its columns, its constants given
their runtime shape, its citations collected, and cells rendered as text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from policydsl import decimals, model, nodes
from policydsl import typesys as t
from policydsl.model import Const, Local

Maker = Callable[[dict[str, Any]], Any]


class Substitution:
    """One rule's expression made ready for its rows: `make(values)` puts a row's values (by
    column) in place of the column locals, a constant of the column's type where each was. It
    rebuilds only the paths down to a column (`make` is None when the expression names none), and
    every subtree that names none (a context read, a literal) is shared by the rows, as
    `map_children` keeps an unchanged node: a table of 10,000 rows substitutes 10,000 times into
    the same expression."""

    def __init__(self, expr: Any, columns: dict[str, t.Type]) -> None:
        self.make = self._plan(expr, frozenset(columns), columns)

    def _plan(self, expr: Any, names: frozenset[str], types: dict[str, t.Type]) -> Maker | None:
        if isinstance(expr, Local):
            if expr.name not in names:
                return None
            name, span, type_ = expr.name, expr.span, types[expr.name]
            return lambda values: Const(values[name], span=span, type=type_)
        if isinstance(expr, nodes.Quantifier):  # its variable hides a column of its name
            collection = self._plan(expr.collection, names, types)
            body = self._plan(expr.body, names - {expr.var.name}, types)
            if collection is None and body is None:
                return None
            return lambda values: attrs.evolve(
                expr,
                collection=expr.collection if collection is None else collection(values),
                body=expr.body if body is None else body(values),
            )
        kids = model.children(expr)
        plans = [self._plan(kid, names, types) for kid in kids]
        if all(p is None for p in plans):
            return None
        pairs = list(zip(kids, plans, strict=True))
        span = getattr(expr, "span", None)
        # A child changes in every row: the node is made anew (as `map_children` would make it),
        # directly for the nodes rules are made of, through `map_children` for the others.
        if isinstance(expr, nodes.Compare):
            (left, left_made), (right, right_made) = pairs
            op = expr.op
            return lambda values: nodes.Compare(
                op,
                left if left_made is None else left_made(values),
                right if right_made is None else right_made(values),
                span=span,
            )
        if isinstance(expr, nodes.And | nodes.Or):
            kind = type(expr)
            return lambda values: kind(
                tuple(kid if plan is None else plan(values) for kid, plan in pairs), span=span
            )

        def make(values: dict[str, Any]) -> Any:
            made = iter([kid if plan is None else plan(values) for kid, plan in pairs])
            return model.map_children(expr, lambda _: next(made))

        return make


def substitute(expr: Any, bindings: dict[str, Const]) -> Any:
    """Replace table-column locals by the row's constants (what `Substitution` does for a
    rule's own expressions, for the few others: a reason's parts)."""
    if not bindings:
        return expr
    if isinstance(expr, Local) and expr.name in bindings:
        return attrs.evolve(bindings[expr.name], span=expr.span)
    if isinstance(expr, nodes.Quantifier) and expr.var.name in bindings:
        inner = {k: v for k, v in bindings.items() if k != expr.var.name}
        return attrs.evolve(
            expr,
            collection=substitute(expr.collection, bindings),
            body=substitute(expr.body, inner),
        )
    return model.map_children(expr, lambda c: substitute(c, bindings))


def coerce(value: Any, type_: t.Type) -> Any:
    """Give a constant the runtime shape of its type: sets are frozensets, lists tuples."""
    if isinstance(type_, t.CollectionType) and isinstance(value, tuple | frozenset):
        items = [coerce(v, type_.element) for v in value]
        return frozenset(items) if type_.kind == "set" else tuple(items)
    return value


def cite_strings(cite: Any) -> tuple[str, ...]:
    """A rule's citations, sorted; values of a mistyped `cite` (already reported) are dropped."""
    if isinstance(cite, str):
        return (cite,)
    values = cite if isinstance(cite, tuple | frozenset) else ()
    return tuple(sorted({c for c in values if isinstance(c, str)}))


def hashable(value: Any) -> Any:
    return tuple(sorted(value)) if isinstance(value, frozenset) else value


def render(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset | tuple | list):
        items = sorted(value) if isinstance(value, frozenset) else value
        return ", ".join(render(v) for v in items)
    return str(value)


def cell_text(value: Any, type_: t.Type | None) -> str:
    """A cell as a rule id or a reason shows it: a decimal as written (`0.85`), not scaled."""
    if isinstance(type_, t.DecimalType) and value.__class__ is int:
        return decimals.text(value)
    return render(value)
