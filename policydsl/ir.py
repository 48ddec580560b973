"""The decision-tree IR: what `lower` makes of a checked policy and `codegen` turns into Python.

Every context attribute has one slot (read and validated once); rules are bits of a mask; rules
with an equality or membership test are reached through an index, the others are checked in
order; tests shared by several rules are hoisted. `dump()` is a stable, versioned text form.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from policydsl import nodes
from policydsl import typesys as t
from policydsl.model import Const, FieldOf, FieldPresent, Local, Outcome, Size, map_children

IR_VERSION = 1


# ---- IR expression leaves (the rest are the model's nodes) -----------------------------------


@attrs.frozen
class SlotRef:
    """The validated value of slot `slot` (present: the checker proved it)."""

    slot: int


@attrs.frozen
class SlotPresent:
    slot: int


@attrs.frozen
class TestRef:
    """A test hoisted because several rules make it: computed once per decision."""

    test: int


@attrs.frozen
class FlagRef:
    """A part of an output that depends only on the fired rules: computed once per rule set."""

    flag: int


# ---- structure ----------------------------------------------------------------------------


@attrs.frozen
class Slot:
    """One context attribute: where it is, its type, and how it is defaulted."""

    index: int
    path: tuple[str, ...]
    type: t.Type
    optional: bool
    default: Any
    parent: int | None  # the slot of the enclosing record; None for a top-level attribute
    materialize: bool = False  # a collection whose value is needed, not only its index loop

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@attrs.frozen
class RuleInfo:
    bit: int
    id: str
    effect: str
    cite: tuple[str, ...]
    obligations: tuple[str, ...]
    reason: str
    tags: tuple[str, ...]
    annotations: tuple[tuple[str, Any], ...]
    line: int | None


@attrs.frozen
class Check:
    """Fire `rule` when `condition` holds."""

    rule: int
    condition: Any


@attrs.frozen
class Bucket:
    """The rules an index reaches for one key value: some fire outright, some need a check."""

    key: Any
    always: tuple[int, ...]
    checks: tuple[Check, ...]


@attrs.frozen
class Index:
    """`eq`: the slot's value selects a bucket. `member`: each element of the slot's collection."""

    kind: str
    slot: int
    buckets: tuple[Bucket, ...]


@attrs.frozen
class OutputIR:
    name: str
    cases: tuple[tuple[Any, Any], ...]  # (condition or None, value)


@attrs.frozen
class Program:
    version: int
    indexed: bool
    effects: tuple[str, ...]
    default_effect: str
    slots: tuple[Slot, ...]
    rules: tuple[RuleInfo, ...]
    always: tuple[int, ...]  # rules whose condition folded to true
    dead: tuple[int, ...]  # rules whose condition folded to false
    tests: tuple[Any, ...]
    checks: tuple[Check, ...]  # rules reached by no index
    indexes: tuple[Index, ...]
    flags: tuple[Any, ...]  # outcome-only parts of outputs
    outputs: tuple[OutputIR, ...]


# ---- dump ---------------------------------------------------------------------------------


def dump(program: Program) -> str:
    """A readable disassembly; stable for golden tests (`policyc compile --emit ir`)."""
    slots = program.slots
    lines = [
        f"policydsl-ir {program.version} ({'indexed' if program.indexed else 'naive'})",
        f"effects {' > '.join(program.effects)} default {program.default_effect}",
        "",
        "slots:",
    ]
    for s in slots:
        extra = " optional" if s.optional else ""
        if s.default is not t.MISSING:
            extra += f" = {_value(s.default)}"
        if s.materialize:
            extra += " (materialized)"
        lines.append(f"  s{s.index} {s.dotted}: {s.type}{extra}")
    lines.append("")
    lines.append("rules:")
    for r in program.rules:
        meta = f" cite {','.join(map(_text, r.cite))}" if r.cite else ""
        if r.obligations:
            meta += f" obligations {','.join(r.obligations)}"
        meta += "".join(f" {k}={_value(v)}" for k, v in r.annotations)
        lines.append(f"  r{r.bit} {_text(r.id)} -> {r.effect}{meta}")
    if program.always:
        lines.append(f"always: {_rules(program.always)}")
    if program.dead:
        lines.append(f"dead: {_rules(program.dead)}")
    if program.tests:
        lines.append("")
        lines.append("tests:")
        lines.extend(f"  t{i} = {show(e, slots)}" for i, e in enumerate(program.tests))
    lines.append("")
    lines.append("checks:")
    lines.extend(f"  r{c.rule} if {show(c.condition, slots)}" for c in program.checks)
    for ix in program.indexes:
        lines.append("")
        verb = "element of" if ix.kind == "member" else "value of"
        lines.append(f"index {verb} s{ix.slot} {slots[ix.slot].dotted}:")
        for b in ix.buckets:
            parts = [_rules(b.always)] if b.always else []
            parts.extend(f"r{c.rule} if {show(c.condition, slots)}" for c in b.checks)
            lines.append(f"  {_value(b.key)} -> {'; '.join(parts)}")
    if program.flags:
        lines.append("")
        lines.append("flags (per set of fired rules):")
        lines.extend(f"  f{i} = {show(e, slots)}" for i, e in enumerate(program.flags))
    for out in program.outputs:
        lines.append("")
        lines.append(f"output {out.name}:")
        for cond, value in out.cases:
            head = "otherwise" if cond is None else f"when {show(cond, slots)}"
            lines.append(f"  {head} => {show(value, slots)}")
    return "\n".join(lines) + "\n"


def _rules(bits: tuple[int, ...]) -> str:
    return " ".join(f"r{b}" for b in bits)


_PLAIN_TEXT = re.compile(r"[\w.\[\]-]+", re.ASCII)


def _text(s: str) -> str:
    """A rule id or citation as is when plain, quoted when it could break the dump's layout."""
    return s if _PLAIN_TEXT.fullmatch(s) else repr(s)


def _value(v: Any) -> str:
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, frozenset):
        return "{" + ", ".join(_value(x) for x in sorted(v, key=repr)) + "}"
    if isinstance(v, tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return repr(v)


_PRECEDENCE = {nodes.Or: 1, nodes.And: 2, nodes.Not: 3}


def show(e: Any, slots: tuple[Slot, ...]) -> str:
    """An IR expression in the language's own notation, slots by name."""
    match e:
        case Const(value):
            return _value(value)
        case SlotRef(s):
            return slots[s].dotted
        case SlotPresent(s):
            return f"has {slots[s].dotted}"
        case TestRef(i):
            return f"t{i}"
        case FlagRef(i):
            return f"f{i}"
        case Local(name):
            return name
        case Outcome(name):
            return name
        case FieldOf(base, name):
            return f"{show(base, slots)}.{name}"
        case FieldPresent(base, name):
            return f"has {show(base, slots)}.{name}"
        case Size(arg):
            return f"size({show(arg, slots)})"
        case nodes.And(ops) | nodes.Or(ops):
            word = " and " if isinstance(e, nodes.And) else " or "
            return word.join(_wrap(o, e, slots) for o in ops)
        case nodes.Not(op):
            return f"not {_wrap(op, e, slots)}"
        case nodes.Compare(op, left, right) | nodes.SetTest(op, left, right):
            return f"{_wrap(left, e, slots)} {op} {_wrap(right, e, slots)}"
        case nodes.In(el, coll, negated):
            return f"{_wrap(el, e, slots)} {'not in' if negated else 'in'} {_wrap(coll, e, slots)}"
        case nodes.Arith(first, rest):
            return _wrap(first, e, slots) + "".join(f" {op} {_wrap(x, e, slots)}" for op, x in rest)
        case nodes.Neg(op):
            return f"-{_wrap(op, e, slots)}"
        case nodes.Quantifier(kind, var, coll, body):
            return f"({kind} {var.name} in {show(coll, slots)}: {show(body, slots)})"
        case nodes.ListLit(items):
            return "[" + ", ".join(show(i, slots) for i in items) + "]"
    raise AssertionError(e)  # pragma: no cover


def _wrap(child: Any, parent: Any, slots: tuple[Slot, ...]) -> str:
    text = show(child, slots)
    if isinstance(
        child,
        nodes.And | nodes.Or | nodes.Not | nodes.Compare | nodes.SetTest | nodes.In | nodes.Arith,
    ):
        mine = _PRECEDENCE.get(type(parent), 4)
        theirs = _PRECEDENCE.get(type(child), 4)
        if theirs <= mine:
            return f"({text})"
    return text


def ir_children(e: Any) -> list[Any]:
    found: list[Any] = []
    map_children(e, lambda c: found.append(c) or c)
    return found
