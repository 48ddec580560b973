"""Table rows made into rules: a row's cells put in place of its columns, its constants given
their runtime shape, its citations collected, and the reason template rendered with its cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs

from policydsl import model, nodes
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


_TEMPLATE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def template_names(template: str) -> list[str]:
    return [m.group(1) for m in _TEMPLATE.finditer(template) if m.group(1)]


class Template:
    """A reason template read once for all of a rule's rows: its text between the holes, and
    each hole (a column's name, or a doubled brace standing for one)."""

    def __init__(self, template: str) -> None:
        self.parts: list[tuple[str, str | None]] = []  # (text before, the hole's name or None)
        self.tail = template
        if "{" not in template and "}" not in template:
            return
        at = 0
        for m in _TEMPLATE.finditer(template):
            text = template[at : m.start()]
            if m.group(0) in ("{{", "}}"):
                self.parts.append((text + m.group(0)[0], None))
            else:
                self.parts.append((text, m.group(1)))
            at = m.end()
        self.tail = template[at:]

    def render(self, bindings: dict[str, Any]) -> str:
        if not self.parts:
            return self.tail
        out = []
        for text, name in self.parts:
            out.append(text)
            if name is not None:
                out.append(render(bindings[name]) if name in bindings else "{" + name + "}")
        out.append(self.tail)
        return "".join(out)
