"""Expressions of the checked model printed in the language's own notation.

Shared by `explain` (which shows the conditions it evaluated) and the IR dump, which passes a
`leaf` function for the leaves only the IR has (slots, hoisted tests, flags).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policydsl import nodes
from policydsl.model import (
    Attr,
    Const,
    DefRef,
    FieldOf,
    FieldPresent,
    Local,
    Outcome,
    Present,
    SetOf,
    Size,
)

Leaf = Callable[[Any], str | None]

_PRECEDENCE = {nodes.Or: 1, nodes.And: 2, nodes.Not: 3}
_OPERATORS = (nodes.And, nodes.Or, nodes.Not, nodes.Compare, nodes.SetTest, nodes.In, nodes.Arith)


def value_text(v: Any) -> str:
    """A constant: strings quoted, booleans as the language writes them, sets sorted."""
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, frozenset):
        return "{" + ", ".join(value_text(x) for x in sorted(v, key=repr)) + "}"
    if isinstance(v, tuple):
        return "[" + ", ".join(value_text(x) for x in v) + "]"
    return repr(v)


def render(e: Any, leaf: Leaf | None = None) -> str:
    if leaf is not None:
        text = leaf(e)
        if text is not None:
            return text

    def sub(child: Any) -> str:
        return render(child, leaf)

    def wrap(child: Any) -> str:
        text = sub(child)
        if isinstance(child, _OPERATORS):
            mine = _PRECEDENCE.get(type(e), 4)
            theirs = _PRECEDENCE.get(type(child), 4)
            if theirs <= mine:
                return f"({text})"
        return text

    match e:
        case Const(value):
            return value_text(value)
        case Attr(path):
            return ".".join(path)
        case Present(path):
            return "has " + ".".join(path)
        case DefRef(name) | Local(name) | Outcome(name):
            return str(name)
        case FieldOf(base, name):
            return f"{sub(base)}.{name}"
        case FieldPresent(base, name):
            return f"has {sub(base)}.{name}"
        case Size(arg):
            return f"size({sub(arg)})"
        case SetOf(items):
            return sub(items)
        case nodes.And(ops) | nodes.Or(ops):
            word = " and " if isinstance(e, nodes.And) else " or "
            return word.join(wrap(o) for o in ops)
        case nodes.Not(op):
            return f"not {wrap(op)}"
        case nodes.Compare(op, left, right) | nodes.SetTest(op, left, right):
            return f"{wrap(left)} {op.spelling} {wrap(right)}"
        case nodes.In(el, coll):
            return f"{wrap(el)} {e.op.spelling} {wrap(coll)}"
        case nodes.Arith(first, rest):
            return wrap(first) + "".join(f" {op.spelling} {wrap(x)}" for op, x in rest)
        case nodes.Neg(op):
            return f"-{wrap(op)}"
        case nodes.Quantifier(kind, var, coll, body):
            return f"({kind} {var.name} in {sub(coll)}: {sub(body)})"
        case nodes.ListLit(items):
            return "[" + ", ".join(sub(i) for i in items) + "]"
    raise AssertionError(e)  # pragma: no cover
