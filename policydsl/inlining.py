"""What inlining definitions would cost, measured without inlining them, and its limits.

Definitions are inlined where they are used, so an expression costs its size and nesting with
every definition it uses written out. Both are bounded at check time: a chain of definitions that
each use the previous one twice doubles per line, and nesting past the parser's own limit would
take every pass that walks the expression past Python's stack.
"""

from __future__ import annotations

from typing import Any

import attrs

from policydsl import model, nodes
from policydsl.codes import Code
from policydsl.model import DefRef

MAX_INLINED_SIZE = 10_000  # expression nodes, once definitions are inlined
MAX_INLINED_DEPTH = 200  # levels of nesting, likewise (the parser's limit on one expression)

# (nodes, nesting depth) of an expression with its definitions inlined
Measure = tuple[int, int]
_LEAVES = (model.Const, model.Attr, model.Local, model.Outcome, model.Present)  # no children
_LEAF_CLASSES = frozenset(_LEAVES)


def measure(expr: Any, definitions: dict[str, Measure | None]) -> Measure | None:
    """`expr`'s measure, given each definition's (None: already reported past a limit, and so
    is everything that uses it). Walks `expr` alone: a definition counts as its measure."""
    if isinstance(expr, DefRef):
        return definitions.get(expr.name, (1, 1))
    if isinstance(expr, _LEAVES):
        return 1, 1
    size, depth = 1, 0
    for child in model.children(expr):
        if child.__class__ in _LEAF_CLASSES:  # as the call below would find, without it
            size += 1
            depth = depth or 1
            continue
        found = measure(child, definitions)
        if found is None:
            return None
        size += found[0]
        depth = max(depth, found[1])
    return size, depth + 1


def problem(measured: Measure, what: str) -> tuple[Code, str, str] | None:
    """The diagnostic's code, message and help when `measured` passes a limit."""
    size, depth = measured
    if size > MAX_INLINED_SIZE:
        return (
            Code.INLINED_TOO_LARGE,
            f"{what} is {size:,} expression nodes once its definitions are written out; "
            f"the limit is {MAX_INLINED_SIZE:,}",
            "definitions are inlined where they are used: a definition that uses another twice "
            "doubles its size",
        )
    if depth > MAX_INLINED_DEPTH:
        return (
            Code.INLINED_TOO_DEEP,
            f"{what} nests {depth:,} levels deep once its definitions are written out; "
            f"the limit is {MAX_INLINED_DEPTH}",
            "a chain of definitions each built on the previous one nests one level per "
            "definition; combine them side by side (`a and b and c`) instead",
        )
    return None


def uses_outcome(expr: Any, defs: dict[str, model.Definition]) -> bool:
    """Whether `expr` reads the outcome (`decision`, `fired`), itself or through a definition."""
    if isinstance(expr, model.Outcome):
        return True
    if isinstance(expr, model.DefRef):
        return expr.name in defs and defs[expr.name].uses_outcome
    return any(uses_outcome(c, defs) for c in model.children(expr))


def names_used(expr: nodes.Expr) -> set[str]:
    """Every name a written expression's paths start with (a superset of the definitions it
    uses), for the order definitions are checked in."""
    found: set[str] = set()
    stack: list[Any] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.Path):
            found.add(node.parts[0])
        elif isinstance(node, tuple):
            stack.extend(node)
        elif attrs.has(type(node)) and not isinstance(node, nodes.Has | nodes.Ident):
            stack.extend(
                getattr(node, f.name) for f in attrs.fields(type(node)) if f.name != "span"
            )
    return found
