"""Presence facts: what a condition proves readable when it is true (or false).

`has x` makes `x`, and every record on the way to it, readable in the rest of an `and` (or
after a failed test in an `or`); `ExprChecker` carries the facts known at each point, so a read
of an optional attribute is accepted exactly where a `has` guards it.
"""

from __future__ import annotations

from typing import Any

from policydsl import model, nodes
from policydsl.model import DefRef, FieldOf, FieldPresent, Local, Present

Fact = tuple[str, ...]


def facts_of(
    expr: Any,
    when_true: bool,
    defs: dict[str, model.Definition],
    memo: dict[tuple[str, bool], frozenset[Fact]],
) -> frozenset[Fact]:
    """Presence facts known when `expr` is true (or false): `has x` makes `x` readable."""
    match expr:
        case Present(path):
            if not when_true:
                return frozenset()
            return frozenset(("ctx", *path[: i + 1]) for i in range(len(path)))
        case FieldPresent(base, field):
            names = _local_names(base)
            if names is None or not when_true:
                return frozenset()
            return frozenset({("local", *names, field)})
        case nodes.Not(operand):
            return facts_of(operand, not when_true, defs, memo)
        case nodes.And(operands) if when_true:
            return frozenset().union(*(facts_of(o, True, defs, memo) for o in operands))
        case nodes.Or(operands) if not when_true:
            return frozenset().union(*(facts_of(o, False, defs, memo) for o in operands))
        case DefRef(name) if name in defs:
            if (name, when_true) not in memo:  # once per definition: a chain may double
                memo[name, when_true] = facts_of(defs[name].expr, when_true, defs, memo)
            return memo[name, when_true]
    return frozenset()


def _local_names(expr: Any) -> tuple[str, ...] | None:
    """`c.a.b` read from a quantifier's variable: ("c", "a", "b"); None for anything else."""
    match expr:
        case Local(name):
            return (name,)
        case FieldOf(base, field):
            names = _local_names(base)
            return None if names is None else (*names, field)
    return None
