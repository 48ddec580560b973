"""The one expression printer: any expression (syntax tree, checked model, IR) in policy notation.

The formatter lays out its one-line form, `explain` shows the tests it evaluated with it, and the
IR dump prints conditions and constants with it (after mapping slots back to their paths), so
what any of them prints parses back: strings double-quoted with the language's escapes, sets and
lists as `[a, b]` (sets in a stable order), enum members bare, `true`/`false`, and the fewest
parentheses that keep the tree. The syntax tree prints as source (the formatter's); the checked
model and the IR print to be shown, strings `visible` (see `quote`).
"""

from __future__ import annotations

from typing import Any

from policydsl import nodes
from policydsl import typesys as t
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
from policydsl.operators import Level

QUANT, OR, AND, NOT, TEST, SUM, PRODUCT, UNARY, ATOM = Level


def quote(value: str, *, visible: bool = False) -> str:
    """A string literal for `value`, escaped the only ways the grammar knows.

    `visible` is for showing a value to people (`explain`, the IR dump): a character the
    language can only hold raw and a terminal would act on or hide (another line break, a
    control, a bidirectional override, a zero-width character) is shown as `\\u{202e}`, which
    is not policy text, so that no printed line can lie about what follows it.
    """
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\t", "\\t")
    if visible and not escaped.isprintable():
        escaped = "".join(ch if ch.isprintable() else f"\\u{{{ord(ch):04x}}}" for ch in escaped)
    return '"' + escaped + '"'


def value_text(value: Any, type_: t.Type | None = None) -> str:
    """A constant as a policy writes it, to be shown (strings `visible`). `type_` tells an enum
    member (bare) from a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value if isinstance(type_, t.EnumType) else quote(value, visible=True)
    if isinstance(value, tuple | frozenset):
        element = type_.element if isinstance(type_, t.CollectionType) else None
        items = sorted(value, key=_stable) if isinstance(value, frozenset) else value
        return "[" + ", ".join(value_text(x, element) for x in items) + "]"
    if value is None:
        return "-"  # no value, as a table cell writes it
    raise TypeError(f"no policy notation for {type(value).__name__}")  # pragma: no cover


def _stable(value: Any) -> tuple[str, Any]:
    """Sort key for the elements of a set: by kind, then by value (numbers in numeric order)."""
    return (type(value).__name__, value)


def precedence(e: Any) -> int:
    """How tightly `e` binds, as the grammar's levels do."""
    match e:
        case nodes.Quantifier():
            return QUANT
        case nodes.Or():
            return OR
        case nodes.And():
            return AND
        case nodes.Not():
            return NOT
        case nodes.Compare() | nodes.SetTest() | nodes.In():
            return e.op.level
        case nodes.Has() | Present() | FieldPresent():
            return TEST
        case nodes.Arith():
            return min(op.level for op, _ in e.rest)  # the grammar never mixes levels in one
        case nodes.Neg():
            return UNARY
        case nodes.IntLit(value) | Const(value) if _negative(value):
            return UNARY  # `-5` is a negation in the grammar, folded by the transformer
        case SetOf(items):
            return precedence(items)
    return ATOM


def _negative(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value < 0


def expr_text(e: Any, slot: int = QUANT) -> str:
    """`e` on one line, parenthesized only if it binds looser than the slot it fills."""
    text = _bare(e)
    return f"({text})" if precedence(e) < slot else text


def _bare(e: Any) -> str:
    match e:
        case nodes.Or():
            return " or ".join(expr_text(x, AND) for x in e.operands)
        case nodes.And():
            return " and ".join(expr_text(x, NOT) for x in e.operands)
        case nodes.Not():
            return "not " + expr_text(e.operand, NOT)
        case nodes.Compare() | nodes.SetTest():
            return f"{expr_text(e.left, SUM)} {e.op.spelling} {expr_text(e.right, SUM)}"
        case nodes.In():
            return f"{expr_text(e.element, SUM)} {e.op.spelling} {expr_text(e.collection, SUM)}"
        case nodes.Arith():
            # operands bind tighter than the chain: a nested chain of one level keeps its brackets
            inner = precedence(e) + 1
            parts = [expr_text(e.first, inner)]
            parts.extend(f"{op.spelling} {expr_text(x, inner)}" for op, x in e.rest)
            return " ".join(parts)
        case nodes.Neg():
            operand = expr_text(e.operand, UNARY)
            return ("- " if operand.startswith("-") else "-") + operand
        case nodes.Quantifier():
            coll = expr_text(e.collection, OR)
            return f"{e.kind} {e.var.name} in {coll}: {expr_text(e.body)}"
        case nodes.ListLit():
            return "[" + ", ".join(expr_text(x) for x in e.items) + "]"
        # the syntax tree's leaves
        case nodes.Has():
            return "has " + e.path.dotted
        case nodes.Call():
            return f"{e.func.name}({', '.join(expr_text(a) for a in e.args)})"
        case nodes.Path():
            return e.dotted
        case nodes.IntLit() | nodes.BoolLit():
            return value_text(e.value)
        case nodes.StrLit():
            return quote(e.value)
        case nodes.Absent():
            return "-"
        # the checked model's leaves
        case Const(value):
            return value_text(value, e.type)
        case Attr(path):
            return ".".join(path)
        case Present(path):
            return "has " + ".".join(path)
        case DefRef(name) | Local(name) | Outcome(name):
            return str(name)
        case FieldOf(base, name):
            return f"{expr_text(base, ATOM)}.{name}"
        case FieldPresent(base, name):
            return f"has {expr_text(base, ATOM)}.{name}"
        case Size(arg):
            return f"size({expr_text(arg)})"
        case SetOf(items):
            return _bare(items)
    raise TypeError(f"not an expression: {e!r}")  # pragma: no cover
