"""Table rows made into rules: a row's cells put in place of its columns, its constants given
their runtime shape, its citations collected, and cells rendered as text.
"""

from __future__ import annotations

from typing import Any

import attrs

from policydsl import decimals, model, nodes
from policydsl import typesys as t
from policydsl.model import Const, Local


def substitute(expr: Any, bindings: dict[str, Const]) -> Any:
    """Replace table-column locals by the row's constants."""
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
