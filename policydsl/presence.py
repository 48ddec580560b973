"""Presence facts: what a condition proves readable when it is true (or false).

`has x` makes `x`, and every record on the way to it, readable in the rest of an `and` (or
after a failed test in an `or`); `ExprChecker` carries the facts known at each point, so a read
of an optional attribute is accepted exactly where a `has` guards it.
"""

from __future__ import annotations

from typing import Any

from policydsl import model, nodes
from policydsl.model import Attr, DefRef, FieldOf, FieldPresent, Local, MapGet, MapHas, Present

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
            names = read_fact(base)
            if names is None or not when_true:
                return frozenset()
            return frozenset({(*names, field)})
        case MapHas(base, key):
            fact = read_fact(MapGet(base, key))
            return frozenset({fact}) if fact is not None and when_true else frozenset()
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


def read_fact(expr: Any) -> Fact | None:
    """The fact that makes a read readable: `c.a.b` read from a quantifier's variable is
    ("local", "c", "a", "b"); `pod.labels["app"]` ("ctx", "pod", "labels", "['app']"), a key read
    with a quantifier's variable `k` "[k]" (identifiers never start with a quote); None when
    no fact can prove it (a key computed some other way)."""
    match expr:
        case Attr(path):
            return ("ctx", *path)
        case Local(name):
            return ("local", name)
        case DefRef(name):  # a definition's value is one per decision
            return ("def", name)
        case FieldOf(base, field):
            names = read_fact(base)
            return None if names is None else (*names, field)
        case MapGet(base, key):
            names = read_fact(base)
            part = key_fact(key)
            return None if names is None or part is None else (*names, part)
    return None


def key_fact(key: Any) -> str | None:
    """How a map key reads in a fact: a constant string, or a name whose value is fixed where it
    is read (an attribute, a definition, a quantifier's variable)."""
    match key:
        case model.Const(str() as value):
            return f"[{value!r}]"
        case Local(name) | DefRef(name):  # names never hide one another (P206)
            return f"[{name}]"
        case Attr(path):
            return f"[{'.'.join(path)}]"
    return None
