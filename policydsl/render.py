"""The one expression printer: any expression (syntax tree, checked model, IR) in policy notation.

The formatter lays out its one-line form, `explain` shows the tests it evaluated with it, and the
IR dump prints conditions and constants with it (after mapping slots back to their paths), so
what any of them prints parses back: strings double-quoted with the language's escapes, sets and
lists as `[a, b]` (sets in a stable order), enum members bare, `true`/`false`, and the fewest
parentheses that keep the tree. A string literal of the syntax tree prints as the source wrote
it (the formatter keeps spelling); any other string is written by `quote`, which hides nothing.
"""

from __future__ import annotations

import json
from typing import Any

from policydsl import decimals, nodes
from policydsl import typesys as t
from policydsl.checked_exprs import (
    Ancestors,
    Attr,
    Const,
    DefRef,
    FieldOf,
    FieldPresent,
    Local,
    MapGet,
    MapHas,
    MapView,
    Outcome,
    Present,
    RowsWhere,
    SetOf,
    Size,
    TimeCall,
    Uids,
)
from policydsl.datetimes import Datetime, Duration, format_datetime, format_duration, format_offset
from policydsl.entities import Entity
from policydsl.operators import Level, Op
from policydsl.terminal import escape_char

QUANT, OR, AND, NOT, TEST, SUM, PRODUCT, UNARY, ATOM = Level


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def quote(value: str) -> str:
    """A string literal for `value` that parses back to `value` and shows all it holds.

    A character a terminal would act on or hide (a control, a bidirectional control, a
    zero-width or no-break space, another line break) is written `\\u{202e}`: no printed line can
    lie about what follows it, and the parser, which refuses such characters raw, reads it.
    """
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return '"' + "".join(_ESCAPES.get(ch) or _shown_char(ch) for ch in value) + '"'


def _shown_char(ch: str) -> str:
    return ch if ch.isprintable() else escape_char(ch)


def string_literal(value: str, written: str | None) -> str:
    """A literal of the source as it was `written` (the formatter keeps an author's escapes and
    characters; only a raw tab becomes `\\t`, so formatted text holds no tab), else `quote`.
    The parser refused the source if it held a character a terminal would act on."""
    return written.replace("\t", "\\t") if written is not None else quote(value)


TABLE_ROW = "row of table "  # the record type of a table's rows read as data: `relations`


def value_text(value: Any, type_: t.Type | None = None) -> str:
    """A constant as a policy writes it. `type_` tells an enum member (bare) from a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Datetime):
        return f'datetime("{format_datetime(value)}")'
    if isinstance(value, Duration):
        return format_duration(value)  # `-1h` parses back as the negation of `1h`
    if isinstance(value, int):
        return decimals.text(value) if isinstance(type_, t.DecimalType) else str(value)
    if isinstance(value, str):
        if isinstance(type_, t.EntityType):  # a uid: an index on hierarchy membership keys on it
            return _uid_text(value)
        return value if isinstance(type_, t.EnumType) else quote(value)
    if isinstance(value, tuple | frozenset):
        element = type_.element if isinstance(type_, t.CollectionType) else None
        if isinstance(element, t.RecordType) and element.name.startswith(TABLE_ROW):
            return element.name.removeprefix(TABLE_ROW).strip("`")  # a table read as data
        items = sorted(value, key=_stable) if isinstance(value, frozenset) else value
        return "[" + ", ".join(value_text(x, element) for x in items) + "]"
    if value is None:
        return "-"  # no value, as a table cell writes it
    if isinstance(value, Entity):
        return entity_text(value.type, value.id)
    if isinstance(value, dict):  # a record: a table's row read as data
        fields = {f.name: f.type for f in type_.fields} if isinstance(type_, t.RecordType) else {}
        cells = (f"{k}: {value_text(v, fields.get(k))}" for k, v in value.items())
        return "{" + ", ".join(cells) + "}"
    raise TypeError(f"no policy notation for {type(value).__name__}")  # pragma: no cover


def _group_text(e: Any) -> str:
    """The group(s) of a hierarchy membership: a uid folded to a constant is written as the
    entity it names (`Team::"eng"`), a set of them as a list."""
    match e:
        case Uids(arg):
            return expr_text(arg, SUM)
        case Const(str(uid)):
            return _uid_text(uid)
        case Const(frozenset() as uids):
            return "[" + ", ".join(_uid_text(u) for u in sorted(uids)) + "]"
    return expr_text(e, SUM)


def entity_text(type_name: str, entity_id: str) -> str:
    """An entity as the policy writes it, `Team::"eng"`, its id quoted as any string is (`quote`):
    a uid's JSON escapes (`\\u001b`) are not the language's, nor hide what a terminal acts on."""
    return f"{type_name}::{quote(entity_id)}"


def _uid_text(uid: str) -> str:
    """`entity_text` of a uid (`entities.uid_text`: the type, `::`, the id as JSON); any other
    string quoted."""
    type_name, sep, entity_id = uid.partition("::")
    return entity_text(type_name, json.loads(entity_id)) if sep else quote(uid)


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
        case Present() | FieldPresent() | MapHas():
            return TEST
        case nodes.Arith():
            return min(op.level for op, _ in e.rest)  # the grammar never mixes levels in one
        case nodes.Neg():
            return UNARY
        case Const(value):
            return UNARY if _negative(value) else ATOM  # `-5` is a negation in the grammar
        case SetOf(items):
            return precedence(items)
        # the syntax tree's own leaves last: a model or IR expression never loads their classes
        case TimeCall("checked", (arg,)):
            return precedence(arg)
        case Attr() | DefRef() | Local() | Outcome() | FieldOf() | Size() | TimeCall():
            return ATOM
        case nodes.ListLit():
            return ATOM
        case RowsWhere():
            return ATOM
        case MapGet() | MapView():
            return ATOM
        case nodes.Has():
            return TEST
        case nodes.IntLit(value) if _negative(value):
            return UNARY  # folded by the transformer, as `-5` is
        case nodes.DecLit(written) if written.startswith("-"):
            return UNARY
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
        case nodes.SetTest(Op.CONTAINS_ANY, Ancestors(entity), groups):
            return f"{expr_text(entity, SUM)} in {_group_text(groups)}"
        case nodes.Compare() | nodes.SetTest():
            return f"{expr_text(e.left, SUM)} {e.op.spelling} {expr_text(e.right, SUM)}"
        case nodes.In(group, Ancestors(entity)):  # hierarchy membership, as it was written
            return f"{expr_text(entity, SUM)} in {_group_text(group)}"
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
        case Ancestors(arg):  # not policy syntax: only ever inside the membership above
            return f"ancestors({expr_text(arg)})"
        case Uids(arg):
            return _group_text(e)
        case TimeCall("checked", (arg,)):  # the range test around time arithmetic: unwritten
            return _bare(arg)
        case TimeCall(func, (arg, Const(offset))) if isinstance(offset, int):  # a calendar's
            shown = f", {quote(format_offset(offset))}" if offset else ""
            return f"{func}({expr_text(arg)}{shown})"
        case TimeCall(func, args):
            return f"{func}({', '.join(expr_text(a) for a in args)})"
        case MapGet(base, key):
            return f"{expr_text(base, ATOM)}[{expr_text(key)}]"
        case MapHas(base, key):
            return f"has {expr_text(base, ATOM)}[{expr_text(key)}]"
        case MapView(kind, arg):
            return f"{kind}({expr_text(arg)})"
        case SetOf(items):
            return _bare(items)
        case RowsWhere(table, column, _, key):  # not policy syntax: the IR dump's lookup
            return f"rows of {table} where {column} == {expr_text(key)}"
        # the syntax tree's leaves, last: a model or IR expression never loads their classes
        case nodes.Has():
            return "has " + _bare(e.path)
        case nodes.Lookup(base, key, fields):
            return f"{_bare(base)}[{expr_text(key)}]" + "".join(f".{f}" for f in fields)
        case nodes.Call():
            return f"{e.func.name}({', '.join(expr_text(a) for a in e.args)})"
        case nodes.Path():
            return e.dotted
        case nodes.IntLit() | nodes.BoolLit():
            return value_text(e.value)
        case nodes.DurationLit(text):
            return text
        case nodes.StrLit():
            return string_literal(e.value, e.written)
        case nodes.EntityLit(type_, entity_id):
            return f"{type_.name}::{string_literal(entity_id, None)}"
        case nodes.DecLit(written):
            return written
        case nodes.Absent():
            return "-"
    raise TypeError(f"not an expression: {e!r}")  # pragma: no cover
