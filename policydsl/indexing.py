"""From the lowered form to a program: the index of rules, shared tests, materialized slots.

One equality or membership test of each rule becomes its key in an index (the attribute most
rules are keyed on wins, as in OPA's rule indexer); a bucket that many rules reach is indexed
again on their remaining tests (a trie). `indexed=False` gives the naive program: every rule
checked in turn, nothing shared. Both are built from the same `ir.Lowered`.

The cost of the trie is bounded. A key `x in [a, b, c]` copies its rule into three buckets, and
each further such key would multiply the copies (and the code each copy's remaining tests become):
a rule may reach at most `MAX_SPREAD` buckets through its keys, and a key that would take it past
that stays one of its tests, checked in its buckets (`x in [...]` is one set lookup). Only a rule's
last test may list more values: the rule then fires from a lookup table, one entry per value. The
trie is at most `MAX_DEPTH` levels deep, and buckets reached by the same rules share one sub-index.
So the index holds at most `MAX_SPREAD` copies of each test, and a table entry per listed value.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import attrs

from policydsl import ir, nodes
from policydsl import typesys as t
from policydsl.lower import conjunction
from policydsl.model import Const, FieldOf, FieldPresent, Local, Outcome, map_children
from policydsl.operators import Op

TRIE_MIN = 4  # a bucket with this many rules left to check indexes their remaining tests in turn
MAX_SPREAD = 16  # buckets one rule may reach through keys that leave it tests to check
MAX_DEPTH = 6  # levels of the trie


def program(lowered: ir.Lowered, *, indexed: bool = True) -> ir.Program:
    """The indexed (or naive) program of a lowered policy."""
    slots = lowered.slots
    checks: list[ir.Check]
    indexes: list[ir.Index] = []
    tests: list[ir.Expr] = []
    if indexed:
        trie = _Trie(slots)
        entries = [_Entry(bit, parts, 1) for bit, parts in lowered.conditions]
        checks, indexes = trie.index(entries, 0)
        checks, indexes, tests = _hoist_shared_tests(checks, indexes, slots)
    else:
        checks = [ir.Check(bit, conjunction(list(parts))) for bit, parts in lowered.conditions]

    used = _collection_uses([c.condition for c in checks], indexes, tests, lowered.outputs)
    slots = tuple(
        attrs.evolve(s, materialize=True)
        if s.index in used and isinstance(s.type, t.CollectionType)
        else s
        for s in slots
    )
    return ir.Program(
        version=ir.IR_VERSION,
        indexed=indexed,
        effects=lowered.effects,
        default_effect=lowered.default_effect,
        slots=slots,
        rules=lowered.rules,
        always=lowered.always,
        dead=lowered.dead,
        tests=tuple(tests),
        checks=tuple(checks),
        indexes=tuple(indexes),
        flags=lowered.flags,
        outputs=lowered.outputs,
        annotation_types=lowered.annotation_types,
    )


# ---- rule keys ------------------------------------------------------------------------------

Key = tuple[str, int, frozenset[Any]]  # (kind, slot, values)


def _key_of(part: ir.Expr, slots: tuple[ir.Slot, ...]) -> Key | None:
    """The index key a conjunct offers: `c in attr-collection` or `attr == c` / `attr in [..]`."""
    match part:
        case nodes.In(Const(value), ir.SlotRef(s), False) | nodes.SetTest(
            Op.CONTAINS, ir.SlotRef(s), Const(value)
        ) if isinstance(slots[s].type, t.CollectionType):
            return ("member", s, frozenset({value}))
        case nodes.Compare(Op.EQ, ir.SlotRef(s), Const(value)) | nodes.Compare(
            Op.EQ, Const(value), ir.SlotRef(s)
        ) if _scalar(slots[s]):
            return ("eq", s, frozenset({value}))
        case nodes.In(ir.SlotRef(s), Const(values), False) if _scalar(slots[s]):
            return ("eq", s, frozenset(values))
    return None


def _scalar(slot: ir.Slot) -> bool:
    return isinstance(slot.type, t.EnumType | t.StringType | t.IntType | t.BoolType)


class _Entry:
    """A rule as one level of the trie sees it: the tests it has left, and how many buckets of
    the trie it already reaches (the product of the sizes of the keys it was placed by).

    Compared by identity: the copies of a rule in several buckets are one entry, which is what
    lets buckets reached by the same entries share their sub-index.
    """

    __slots__ = ("bit", "parts", "spread")

    def __init__(self, bit: int, parts: tuple[ir.Expr, ...], spread: int):
        self.bit = bit
        self.parts = parts
        self.spread = spread


class _Trie:
    def __init__(self, slots: tuple[ir.Slot, ...]):
        self.slots = slots
        self._keys: dict[int, list[tuple[Key, int]]] = {}  # id(entry) -> the keys it offers
        self._checks: dict[int, ir.Check] = {}  # id(entry) -> its check, shared by its copies
        self._shared: dict[tuple[int, ...], tuple[list[ir.Check], list[ir.Index]]] = {}
        self._alive: list[object] = []  # keeps the entries whose ids key the tables above

    def check(self, entry: _Entry) -> ir.Check:
        found = self._checks.get(id(entry))
        if found is None:
            found = self._checks[id(entry)] = ir.Check(entry.bit, conjunction(list(entry.parts)))
            self._alive.append(entry)
        return found

    def keys(self, entry: _Entry) -> list[tuple[Key, int]]:
        found = self._keys.get(id(entry))
        if found is None:
            offers = ((_key_of(p, self.slots), i) for i, p in enumerate(entry.parts))
            found = [(k, i) for k, i in offers if k is not None]
            self._keys[id(entry)] = found
            self._alive.append(entry)
        return found

    def eligible(self, entry: _Entry) -> list[tuple[Key, int]]:
        """The keys that keep the entry within its budget of buckets (see the module's doc): any
        key that is its last test (the copies are then table entries, no code), others while
        the copies stay within `MAX_SPREAD`."""
        last = len(entry.parts) == 1
        return [
            (k, i) for k, i in self.keys(entry) if last or entry.spread * len(k[2]) <= MAX_SPREAD
        ]

    def index(self, entries: list[_Entry], depth: int) -> tuple[list[ir.Check], list[ir.Index]]:
        """Index entries on their keys; what has no key is checked in turn (the wildcard branch).

        A bucket that many rules reach is indexed again on their remaining tests, so rules that
        share one key and differ on another (`role == r and action == a`) cost a lookup per level.
        """
        offered = {id(e): self.eligible(e) for e in entries}
        popularity: Counter[tuple[str, int]] = Counter()
        for keys in offered.values():
            popularity.update({(k[0], k[1]) for k, _ in keys})
        checks: list[ir.Check] = []
        groups: dict[tuple[str, int], dict[Any, list[_Entry]]] = defaultdict(dict)
        for entry in entries:
            keys = offered[id(entry)]
            if not keys:
                checks.append(self.check(entry))
                continue
            (kind, slot, values), position = max(
                keys,
                key=lambda ki: (
                    popularity[(ki[0][0], ki[0][1])],
                    ki[0][0] == "member",
                    -ki[0][1],
                    -ki[1],
                ),
            )
            rest = _Entry(
                entry.bit,
                entry.parts[:position] + entry.parts[position + 1 :],
                entry.spread * len(values),
            )
            group = groups[(kind, slot)]
            for value in sorted(values, key=repr):
                group.setdefault(value, []).append(rest)
        indexes: list[ir.Index] = []
        for (kind, slot), buckets in sorted(groups.items()):
            made = []
            for key, members in sorted(buckets.items(), key=lambda kv: repr(kv[0])):
                always = tuple(e.bit for e in members if not e.parts)
                sub_checks, sub_indexes = self.bucket([e for e in members if e.parts], depth + 1)
                if always or sub_checks or sub_indexes:  # else its rules can never fire here
                    made.append(ir.Bucket(key, always, tuple(sub_checks), tuple(sub_indexes)))
            if made:
                indexes.append(ir.Index(kind, slot, tuple(made)))
        return checks, indexes

    def bucket(self, members: list[_Entry], depth: int) -> tuple[list[ir.Check], list[ir.Index]]:
        """What one bucket does with the rules it reaches that have tests left: index the ones
        within budget a level deeper when there are enough of them, check the others."""
        within = [e for e in members if e.spread <= MAX_SPREAD]
        if len(within) < TRIE_MIN or depth >= MAX_DEPTH:
            return [self.check(e) for e in members], []
        over = [self.check(e) for e in members if e.spread > MAX_SPREAD]
        shared = tuple(id(e) for e in within)
        found = self._shared.get(shared)
        if found is None:
            found = self._shared[shared] = self.index(within, depth)
            self._alive.append(within)
        sub_checks, sub_indexes = found
        return [*over, *sub_checks], sub_indexes


# ---- shared tests ---------------------------------------------------------------------------


def _atoms(e: ir.Expr) -> list[ir.Expr]:
    """The tests of a condition: its maximal parts that are not `and`, `or` or `not`."""
    if isinstance(e, nodes.And | nodes.Or):
        return [a for op in e.operands for a in _atoms(op)]
    if isinstance(e, nodes.Not):
        return _atoms(e.operand)
    if isinstance(e, Const):
        return []
    return [e]


def _hoistable(e: ir.Expr, slots: tuple[ir.Slot, ...]) -> bool:
    """Safe to compute before any rule: reads no optional slot and no quantifier variable."""
    if isinstance(e, ir.SlotRef):
        return not ir.may_be_absent(slots, e.slot)
    if isinstance(e, Local | Outcome | FieldOf | FieldPresent):
        return False
    return all(_hoistable(c, slots) for c in ir.ir_children(e))


def _hoist_shared_tests(
    checks: list[ir.Check], indexes: list[ir.Index], slots: tuple[ir.Slot, ...]
) -> tuple[list[ir.Check], list[ir.Index], list[ir.Expr]]:
    """Tests that several rules make are computed once per decision, before any rule."""
    made_by: dict[ir.Expr, set[int]] = defaultdict(set)
    for c in ir.nested_checks(tuple(checks), tuple(indexes)):
        for a in _atoms(c.condition):
            made_by[a].add(c.rule)
    shared: list[ir.Expr] = sorted(
        (
            a
            for a, rules in made_by.items()
            if len(rules) > 1 and _hoistable(a, slots) and not isinstance(a, ir.SlotRef)
        ),
        key=lambda a: ir.show(a, slots),
    )
    if not shared:
        return checks, indexes, []
    number = {a: i for i, a in enumerate(shared)}

    def replace(e: ir.Expr) -> ir.Expr:
        if e in number:
            return ir.TestRef(number[e])
        return map_children(e, replace)

    # shared checks, buckets and indexes stay shared: each is rewritten once
    done: dict[int, Any] = {}

    def rewrite(c: ir.Check) -> ir.Check:
        if id(c) not in done:
            done[id(c)] = (ir.Check(c.rule, replace(c.condition)), c)
        return done[id(c)][0]  # type: ignore[no-any-return]

    def rewrite_index(ix: ir.Index) -> ir.Index:
        if id(ix) not in done:
            buckets = tuple(
                attrs.evolve(
                    b,
                    checks=tuple(rewrite(c) for c in b.checks),
                    indexes=tuple(rewrite_index(sub) for sub in b.indexes),
                )
                for b in ix.buckets
            )
            done[id(ix)] = (attrs.evolve(ix, buckets=buckets), ix)
        return done[id(ix)][0]  # type: ignore[no-any-return]

    return [rewrite(c) for c in checks], [rewrite_index(ix) for ix in indexes], shared


# ---- materialized collections ---------------------------------------------------------------


def _collection_uses(
    conditions: list[ir.Expr],
    indexes: list[ir.Index],
    tests: list[ir.Expr],
    outputs: tuple[ir.OutputIR, ...],
) -> set[int]:
    """Slots whose collection value is read by an expression (not only looked up by an index)."""
    used: set[int] = set()

    def visit(e: ir.Expr) -> None:
        if isinstance(e, ir.SlotRef):
            used.add(e.slot)
        for c in ir.ir_children(e):
            visit(c)

    exprs = [*conditions, *tests]
    exprs.extend(c.condition for c in ir.nested_checks((), tuple(indexes)))
    for out in outputs:
        for cond, value in out.cases:
            exprs.extend(x for x in (cond, value) if x is not None)
    for e in exprs:
        visit(e)
    return used
