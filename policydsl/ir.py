"""The decision-tree IR: what `lower` makes of a checked policy and `codegen` turns into Python.

Every context attribute has one slot (read and validated once); rules are bits of a mask. Each
kind of test reaches its rules through an index (`Index`): equality and membership through a
table, prefixes and suffixes through a table of the value's first or last characters, ordered
comparisons and ranges through sorted bounds, negations through the complement of a table.
What no index reaches is checked in order; tests shared by several of those are hoisted.
`dump()` is a stable, versioned text form.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from policydsl import nodes
from policydsl import typesys as t
from policydsl.checked_exprs import (
    Ancestors,
    Attr,
    Const,
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
    children,
    map_children,
)
from policydsl.render import expr_text, quote, value_text

if TYPE_CHECKING:  # a rule's message, read by the code generator: no need of its class
    from policydsl import model
from policydsl.reprs import Repr

IR_VERSION = 3


# ---- IR expression leaves (the rest are the model's nodes) -----------------------------------


@attrs.frozen(repr=False)
class SlotRef(Repr):
    """The validated value of slot `slot` (present: the checker proved it)."""

    slot: int


@attrs.frozen(repr=False)
class SlotPresent(Repr):
    slot: int


@attrs.frozen(repr=False)
class TestRef(Repr):
    """A test hoisted because several rules make it: computed once per decision."""

    test: int


@attrs.frozen(repr=False)
class FlagRef(Repr):
    """A part of an output that depends only on the fired rules: computed once per rule set."""

    flag: int


@attrs.frozen(repr=False)
class Param(Repr):
    """A constant of one bucket, read from the bucket's row of a dispatch table: buckets whose
    checks differ only in their constants (a table's rows) share one piece of code."""

    index: int


# An IR expression: the model's, with context reads and definitions replaced by the leaves above.
Expr: TypeAlias = """
    SlotRef
    | Param
    | SlotPresent
    | TestRef
    | FlagRef
    | Const
    | Local
    | Outcome
    | FieldOf[Expr]
    | FieldPresent[Expr]
    | Size[Expr]
    | TimeCall[Expr]
    | SetOf[Expr]
    | RowsWhere[Expr]
    | MapGet[Expr]
    | MapHas[Expr]
    | MapView[Expr]
    | Ancestors[Expr]
    | Uids[Expr]
    | nodes.And[Expr]
    | nodes.Or[Expr]
    | nodes.Not[Expr]
    | nodes.Compare[Expr]
    | nodes.SetTest[Expr]
    | nodes.In[Expr]
    | nodes.Arith[Expr]
    | nodes.Neg[Expr]
    | nodes.Quantifier[Expr]
    | nodes.ListLit[Expr]
"""


# ---- structure ----------------------------------------------------------------------------


@attrs.frozen(repr=False)
class Slot(Repr):
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


@attrs.frozen(repr=False)
class RuleInfo(Repr):
    bit: int
    id: str
    effect: str
    cite: tuple[str, ...]
    obligations: tuple[str, ...]
    reason: str
    tags: tuple[str, ...]
    annotations: tuple[tuple[str, Any], ...]
    line: int | None
    message: model.Message | None = None  # a reason that shows request values


# The structure classes cache their hash: the code generator groups equal buckets, and a bucket's
# hash would otherwise be recomputed through every level of the index below it.


@attrs.frozen(cache_hash=True, repr=False)
class Check(Repr):
    """Fire `rule` when `condition` holds."""

    rule: int
    condition: Expr


@attrs.frozen(cache_hash=True, repr=False)
class Bucket(Repr):
    """The rules an index reaches for one key value: some fire outright, some need a check,
    and where many do, their other tests are indexed in turn (the index is a trie)."""

    key: Any
    always: tuple[int, ...]
    checks: tuple[Check, ...]
    indexes: tuple[Index, ...] = ()


@attrs.frozen(repr=False)
class Probe(Repr):
    """What an index looks up: the value itself, its first `length` characters (`prefix`: a
    `starts_with` test is `value[:length] == p`) or its last (`suffix`); of an element's
    attribute `field` when the elements are records (`some c in containers: c.image == i`)."""

    part: str = "value"  # "value" | "prefix" | "suffix" | "substring"
    length: int = 0
    field: str = ""
    key: tuple[str, ...] = ()  # a map's value under this key (`labels["app"] == "web"`)

    def text(self) -> str:
        read = f"field {self.field} " if self.field else ""
        read += "".join(f"key {quote(k)} " for k in self.key)
        if self.part == "substring":
            return read + f"substrings[{self.length}] "
        return read + ("" if self.part == "value" else f"{self.part}[{self.length}] ")


WHOLE = Probe()


@attrs.frozen(cache_hash=True, repr=False)
class Index(Repr):
    """How a request's value reaches the rules that can fire for it.

    - `eq`: the (probed) value selects one bucket.
    - `member`: each element of the slot's collection (probed) selects a bucket.
    - `order`: the value's place among the sorted `bounds` (`bisect_right`: place p holds the
      values from bound p - 1 up to, not including, bound p) selects a bucket keyed by the
      place's number; `above` rules fire when the value is at least their bound (`(bound,
      rule)`, sorted by bound), `below` rules when it is under (sorted from the highest
      bound): each fires a prefix of its list, found by the place, so one-sided thresholds
      cost their hits, not a copy per place.
    - `except`: every rule of `everyone` fires but those of the bucket of the value (a
      contiguous run of `everyone`): `!=` and `not in`, by complement.
    - `network`: buckets keyed by ranges (canonical CIDR text); an address selects, for each
      prefix length the buckets have, the one range of its version that could hold it.
    - `pattern`: buckets keyed by `matches` patterns; one search of RE2's set of them
      (`regex.PatternSet`) selects the buckets of the patterns the text matches.
    - `substring`: each distinct piece of `probe.length` characters of the text selects a
      bucket (keyed by a piece of a `matches` pattern's required literal).
    - `not_network`: every rule of `everyone` fires but those of the buckets of the ranges
      that hold the address (`not (a in_range r)`, by complement).
    - `not_matches`: every rule of `everyone` fires but those that the index of its one
      bucket fires (`not (s matches p)`: that index finds the rules whose pattern matches).
    """

    kind: str
    slot: int
    buckets: tuple[Bucket, ...]
    probe: Probe = WHOLE
    bounds: tuple[Any, ...] = ()
    above: tuple[tuple[Any, int], ...] = ()
    below: tuple[tuple[Any, int], ...] = ()
    everyone: tuple[int, ...] = ()


@attrs.frozen(repr=False)
class OutputIR(Repr):
    name: str
    cases: tuple[tuple[Expr | None, Expr], ...]  # (condition or None, value)


@attrs.frozen(repr=False)
class Lowered(Repr):
    """A policy lowered once: what both the analysis and the program builder start from.

    Definitions inlined, constants folded, each live rule's condition split into its tests
    (`conditions`, in rule order); outputs lowered, their outcome-only parts made flags.
    """

    schema: t.RecordType
    effects: tuple[str, ...]
    default_effect: str
    slots: tuple[Slot, ...]
    rules: tuple[RuleInfo, ...]
    always: tuple[int, ...]  # rules whose condition folded to true
    dead: tuple[int, ...]  # rules whose condition folded to false
    conditions: tuple[tuple[int, tuple[Expr, ...]], ...]  # (rule, its tests) for the others
    flags: tuple[Expr, ...]
    outputs: tuple[OutputIR, ...]
    annotation_types: tuple[tuple[str, t.Type], ...] = ()  # how the dump prints annotations


@attrs.frozen(repr=False)
class Program(Repr):
    version: int
    indexed: bool
    effects: tuple[str, ...]
    default_effect: str
    slots: tuple[Slot, ...]
    rules: tuple[RuleInfo, ...]
    always: tuple[int, ...]  # rules whose condition folded to true
    dead: tuple[int, ...]  # rules whose condition folded to false
    tests: tuple[Expr, ...]
    checks: tuple[Check, ...]  # rules reached by no index
    indexes: tuple[Index, ...]
    flags: tuple[Expr, ...]  # outcome-only parts of outputs
    outputs: tuple[OutputIR, ...]
    annotation_types: tuple[tuple[str, t.Type], ...] = ()  # how the dump prints annotations


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
            extra += f" = {value_text(s.default, s.type)}"
        if s.materialize:
            extra += " (materialized)"
        lines.append(f"  s{s.index} {s.dotted}: {s.type}{extra}")
    lines.append("")
    lines.append("rules:")
    annotation_types = dict(program.annotation_types)
    for r in program.rules:
        meta = f" cite {','.join(map(_text, r.cite))}" if r.cite else ""
        if r.obligations:
            meta += f" obligations {','.join(r.obligations)}"
        meta += "".join(f" {k}={value_text(v, annotation_types.get(k))}" for k, v in r.annotations)
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
        lines.extend(_dump_index(ix, slots, ""))
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


# How the dump (and the dot drawing) names what each kind of index looks up.
INDEX_VERBS = {
    "eq": "value of",
    "member": "element of",
    "order": "order of",
    "except": "all but",
    "network": "networks of",
    "pattern": "patterns of",
    "substring": "of",
    "not_network": "all but networks of",
    "not_matches": "all but matches of",
}


def _dump_index(ix: Index, slots: tuple[Slot, ...], indent: str) -> list[str]:
    """An index and its buckets, one line a bucket: `key -> rules`. Keys of an ordered index
    print as the condition on the attribute that reaches them; a complement's buckets list the
    rules a value keeps from firing."""
    key_type = slots[ix.slot].type
    if ix.kind == "member" and isinstance(key_type, t.CollectionType):
        key_type = key_type.element
    if isinstance(key_type, t.MapType):
        key_type = key_type.value
    if ix.probe.part != "value":
        key_type = t.StringType()
    attr = slots[ix.slot].dotted
    verb = INDEX_VERBS[ix.kind]
    ancestry = ix.kind == "member" and isinstance(key_type, t.EntityType)
    if ancestry:  # hierarchy membership: keyed by the uids of the groups rules name
        verb = "ancestor of"
    lines = [f"{indent}index {ix.probe.text()}{verb} s{ix.slot} {attr}:"]
    if ix.kind in ("except", "not_network", "not_matches"):
        lines.append(f"{indent}  everyone -> {_rules(ix.everyone)}")
    if ix.kind == "not_matches":  # one bucket: the index of the rules whose pattern matches
        lines.append(f"{indent}  but those that match ->")
        for sub in ix.buckets[0].indexes:
            lines.extend(_dump_index(sub, slots, indent + "    "))
        return lines
    lines.extend(f"{indent}  {attr} >= {value_text(b, key_type)} -> r{r}" for b, r in ix.above)
    lines.extend(f"{indent}  {attr} < {value_text(b, key_type)} -> r{r}" for b, r in ix.below)
    for b in ix.buckets:
        parts = [_rules(b.always)] if b.always else []
        parts.extend(f"r{c.rule} if {show(c.condition, slots)}" for c in b.checks)
        if ix.kind == "order":
            key = _place_text(attr, ix.bounds, b.key, key_type)
        elif ix.kind in ("network", "not_network"):
            key = f"in_range {quote(b.key)}"
        elif ix.kind == "pattern":
            key = f"matches {quote(b.key)}"
        else:
            key = value_text(b.key, key_type)  # a uid, for an ancestor index
        if ix.kind in ("except", "not_network"):
            parts = [f"not {_rules(b.always)}"]
        lines.append(f"{indent}  {key} -> {'; '.join(parts)}".rstrip())
        for sub in b.indexes:
            lines.extend(_dump_index(sub, slots, indent + "    "))
    return lines


def _place_text(attr: str, bounds: tuple[Any, ...], place: int, key_type: t.Type) -> str:
    """Place `place` among sorted `bounds`, as the condition on `attr` that holds there."""
    low = f"{attr} >= {value_text(bounds[place - 1], key_type)}" if place > 0 else ""
    high = f"{attr} < {value_text(bounds[place], key_type)}" if place < len(bounds) else ""
    return " and ".join(part for part in (low, high) if part) or "true"


def _rules(bits: tuple[int, ...]) -> str:
    return " ".join(f"r{b}" for b in bits)


_PLAIN_TEXT = re.compile(r"[\w.\[\]-]+", re.ASCII)


def _text(s: str) -> str:
    """A rule id or citation as is when plain, quoted when it could break the dump's layout."""
    return s if _PLAIN_TEXT.fullmatch(s) else quote(s)


def show(e: Expr, slots: tuple[Slot, ...]) -> str:
    """An IR expression in the language's own notation: slots by their paths, hoisted tests and
    flags by their names (`t0`, `f0`)."""
    return expr_text(_as_model(e, slots))


def _as_model(e: Any, slots: tuple[Slot, ...]) -> Any:
    match e:
        case SlotRef(s):
            return Attr(slots[s].path)
        case SlotPresent(s):
            return Present(slots[s].path)
        case TestRef(i):
            return Local(f"t{i}")
        case FlagRef(i):
            return Local(f"f{i}")
    return map_children(e, lambda child: _as_model(child, slots))


def may_be_absent(slots: tuple[Slot, ...], index: int | None) -> bool:
    """Whether a slot can be empty: it, or a record around it, is optional."""
    while index is not None:
        if slots[index].optional:
            return True
        index = slots[index].parent
    return False


def nested_checks(checks: tuple[Check, ...], indexes: tuple[Index, ...]) -> list[Check]:
    """Every distinct check of a program or bucket, inside its indexes at any depth included.

    Buckets and indexes may be shared (an index is a DAG, not a tree): each is visited once, so
    the walk is linear in what the index holds, not in the tree it stands for.
    """
    found: dict[int, Check] = {id(c): c for c in checks}
    seen: set[int] = set()
    stack = list(indexes)
    while stack:
        ix = stack.pop()
        if id(ix) in seen:
            continue
        seen.add(id(ix))
        for b in ix.buckets:
            if id(b) in seen:
                continue
            seen.add(id(b))
            found.update((id(c), c) for c in b.checks)
            stack.extend(b.indexes)
    return list(found.values())


def ir_children(e: Expr) -> list[Expr]:
    return children(e)
