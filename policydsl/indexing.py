"""From the lowered form to a program: the index of rules, shared tests, materialized slots.

Each rule is reached through the most selective key its tests offer (`keys`): a table for
equality, membership and (through a probe of the first or last characters) prefixes, suffixes
and `like` patterns; sorted bounds for ordered comparisons and ranges; a complement for `!=` and
`not in`; a table of ranges per prefix length for `in_range`; a `matches` pattern's required
literal (a prefix, a suffix, or a piece of text); complements for their negations. A bucket
that many rules reach is indexed again on their remaining tests (a trie).
`indexed=False` gives the naive program: every rule checked in turn, nothing shared. Both are
built from the same `ir.Lowered`.

The cost of the trie is bounded. A key `x in [a, b, c]` copies its rule into three buckets, and
each further such key would multiply the copies (and the code each copy's remaining tests become):
a rule may reach at most `MAX_SPREAD` buckets through its keys, and a key that would take it past
that stays one of its tests, checked in its buckets (`x in [...]` is one set lookup). Only a rule's
last test may list more values: the rule then fires from a lookup table, one entry per value. The
trie is at most `MAX_DEPTH` levels deep, and buckets reached by the same rules share one sub-index.
An ordered index copies a range into each place between bounds it covers, at most
`MAX_PLACES_PER_RULE` per rule on average (else those rules are checked in turn); one-sided
thresholds are never copied. So the index holds at most `MAX_SPREAD` copies of each test, and a
table entry per listed value.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import attrs

from policydsl import ir, nodes
from policydsl import typesys as t
from policydsl.keys import COMPLEMENTS, Group, Interval, Key, Offer, offers
from policydsl.lower import conjunction
from policydsl.model import Const, FieldOf, FieldPresent, Local, MapGet, Outcome, map_children
from policydsl.regex_literals import grams

TRIE_MIN = 4  # a bucket with this many rules left to check indexes their remaining tests in turn
MAX_SPREAD = 16  # buckets one rule may reach through keys that leave it tests to check
MAX_DEPTH = 6  # levels of the trie
MAX_PLACES_PER_RULE = 8  # places of an ordered index a range may be copied into, on average


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


# ---- the trie ------------------------------------------------------------------------------


class _Entry:
    """A rule as one level of the trie sees it: the tests it has left, how many buckets of the
    trie it already reaches (the product of the sizes of the keys it was placed by), and the
    entry it was made from at the level above (checked whole when an index cannot take it).

    Compared by identity: the copies of a rule in several buckets are one entry, which is what
    lets buckets reached by the same entries share their sub-index.
    """

    __slots__ = ("bit", "origin", "parts", "spread")

    def __init__(
        self, bit: int, parts: tuple[ir.Expr, ...], spread: int, origin: _Entry | None = None
    ):
        self.bit = bit
        self.parts = parts
        self.spread = spread
        self.origin = origin


Item = tuple[Key, _Entry]  # an entry placed in an index by a key


def _most_selective(found: list[Offer], popularity: Counter[Group]) -> Offer:
    """The offer an entry takes: by the kind of index, then the attribute most entries are
    keyed on, then members, the first slot, the first test."""
    return max(
        found,
        key=lambda o: (
            o.rank,
            min(popularity[key.group] for key, _ in o.ways),
            o.ways[0][0].kind == "member",
            -o.ways[0][0].slot,
            -min(o.positions),
        ),
    )


class _Trie:
    def __init__(self, slots: tuple[ir.Slot, ...]):
        self.slots = slots
        self._offers: dict[int, list[Offer]] = {}  # id(entry) -> the offers it makes
        self._checks: dict[int, ir.Check] = {}  # id(entry) -> its check, shared by its copies
        self._shared: dict[tuple[int, ...], tuple[list[ir.Check], list[ir.Index]]] = {}
        self._alive: list[object] = []  # keeps the entries whose ids key the tables above

    def check(self, entry: _Entry) -> ir.Check:
        found = self._checks.get(id(entry))
        if found is None:
            found = self._checks[id(entry)] = ir.Check(entry.bit, conjunction(list(entry.parts)))
            self._alive.append(entry)
        return found

    def offers(self, entry: _Entry) -> list[Offer]:
        found = self._offers.get(id(entry))
        if found is None:
            found = self._offers[id(entry)] = offers(entry.parts, self.slots)
            self._alive.append(entry)
        return found

    def eligible(self, entry: _Entry) -> list[Offer]:
        """The offers that keep the entry within its budget of buckets (see the module's doc):
        any that leaves nothing to check (the copies are then table entries, no code), others
        while the copies stay within `MAX_SPREAD`. A complement fires nearly every rule it
        holds, so it takes only rules it decides whole."""
        found = []
        for offer in self.offers(entry):
            whole = offer.exact and len(offer.positions) == len(entry.parts)
            if any(key.kind in COMPLEMENTS for key, _ in offer.ways) and not whole:
                continue
            if whole or entry.spread * offer.size <= MAX_SPREAD:
                found.append(offer)
        return found

    def index(self, entries: list[_Entry], depth: int) -> tuple[list[ir.Check], list[ir.Index]]:
        """Index entries on their keys; what has no key is checked in turn (the wildcard branch).

        Each entry takes its most selective offer (by the kind of index, then the attribute most
        entries are keyed on, as in OPA's rule indexer). A bucket that many rules reach is
        indexed again on their remaining tests, so rules that share one key and differ on
        another (`role == r and action == a`, `key == k and amount > limit`) cost a lookup per
        level.
        """
        offered = {id(e): self.eligible(e) for e in entries}
        popularity: Counter[Group] = Counter()
        for found in offered.values():
            popularity.update({key.group for offer in found for key, _ in offer.ways})
        checks: list[ir.Check] = []
        groups: dict[Group, list[Item]] = defaultdict(list)
        for entry in entries:
            found = offered[id(entry)]
            if not found:
                checks.append(self.check(entry))
                continue
            best = found[0] if len(found) == 1 else _most_selective(found, popularity)
            kept = tuple(p for i, p in enumerate(entry.parts) if i not in best.positions)
            spread = entry.spread * best.size
            for key, residual in best.ways:
                groups[key.group].append((key, _Entry(entry.bit, residual + kept, spread, entry)))
        indexes: list[ir.Index] = []
        for group, items in sorted(groups.items()):
            kind = group[0]
            if kind == "order":
                made, unplaced = self.ordered(items, depth)
            elif kind == "except":
                made, unplaced = self.complement(items)
            elif kind == "not_network":
                made, unplaced = self.outside(items)
            elif kind == "not_matches":
                made, unplaced = self.unmatched(items, depth)
            else:
                made, unplaced = self.table(items, depth), []
            checks.extend(self.check(e.origin or e) for e in unplaced)
            if made is not None:
                indexes.append(made)
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

    def buckets(self, keyed: list[tuple[Any, list[_Entry]]], depth: int) -> list[ir.Bucket]:
        """A bucket per key: its entries with nothing left fire outright, the others are checked
        or indexed again. Buckets whose rules can never fire there are left out."""
        made = []
        for key, members in keyed:
            always = tuple(e.bit for e in members if not e.parts)
            sub_checks, sub_indexes = self.bucket([e for e in members if e.parts], depth + 1)
            if always or sub_checks or sub_indexes:
                made.append(ir.Bucket(key, always, tuple(sub_checks), tuple(sub_indexes)))
        return made

    def table(self, items: list[Item], depth: int) -> ir.Index | None:
        """`eq`, `member`, `network` and `substring`: a bucket per value."""
        if items[0][0].kind == "substring":
            items = _rarest_pieces(items)
        by_value: dict[Any, list[_Entry]] = {}
        for key, entry in items:
            for value in sorted(key.values, key=repr):
                by_value.setdefault(value, []).append(entry)
        keyed = sorted(by_value.items(), key=lambda kv: repr(kv[0]))
        made = self.buckets(keyed, depth)
        if not made:
            return None
        key = items[0][0]
        return ir.Index(key.kind, key.slot, tuple(made), probe=key.probe)

    def ordered(self, items: list[Item], depth: int) -> tuple[ir.Index | None, list[_Entry]]:
        """`order`: sorted bounds. One-sided rules with nothing left to check go to the `above`
        and `below` lists (a request fires a prefix of each); the others to the places their
        intervals cover, while those copies stay within `MAX_PLACES_PER_RULE` per rule on
        average (ranges that overlap little); past that, they are checked in turn."""
        slot = items[0][0].slot
        above: list[tuple[Any, int]] = []
        below: list[tuple[Any, int]] = []
        placed: list[tuple[Interval, _Entry]] = []
        bounds: set[int] = set()
        for key, entry in items:
            (interval,) = key.values
            bounds.update(b for b in (interval.lo, interval.hi) if b is not None)
            if entry.parts or (interval.lo is None) == (interval.hi is None):
                placed.append((interval, entry))
            elif interval.lo is not None:
                above.append((interval.lo, entry.bit))
            else:
                assert interval.hi is not None
                below.append((interval.hi, entry.bit))
        above.sort(key=lambda a: a[0])
        below.sort(key=lambda b: -b[0])
        ordered_bounds = sorted(bounds)
        where = {b: i for i, b in enumerate(ordered_bounds)}
        spans = []
        for interval, entry in placed:  # place p holds bound p - 1 up to bound p (see ir.Index)
            first = 0 if interval.lo is None else where[interval.lo] + 1
            last = len(ordered_bounds) if interval.hi is None else where[interval.hi]
            if first <= last:  # else the interval is empty: the rule never fires here
                spans.append((first, last, entry))
        unplaced: list[_Entry] = []
        if (
            sum(last - first + 1 for first, last, _ in spans)
            > MAX_PLACES_PER_RULE * len(spans) + 64
        ):
            unplaced = [entry for _, _, entry in spans]
            spans = []
        at: dict[int, list[_Entry]] = defaultdict(list)
        for first, last, entry in spans:
            for place in range(first, last + 1):
                at[place].append(entry)
        made = self.buckets(sorted(at.items()), depth)
        if not (made or above or below):
            return None, unplaced
        return (
            ir.Index(
                "order",
                slot,
                tuple(made),
                bounds=tuple(ordered_bounds),
                above=tuple(above),
                below=tuple(below),
            ),
            unplaced,
        )

    def complement(self, items: list[Item]) -> tuple[ir.Index | None, list[_Entry]]:
        """`except`: every rule fires but those a value excludes. The rules are put in an order
        where each value's rules are a contiguous run, so a request fires two slices; a rule
        that would break a run (its values overlap another rule's without being equal) is
        checked in turn instead."""
        ordered, unplaced = _once(sorted(items, key=lambda item: sorted(map(repr, item[0].values))))
        while True:
            runs: dict[Any, list[int]] = defaultdict(list)
            for position, (key, _) in enumerate(ordered):
                for value in key.values:
                    runs[value].append(position)
            broken = {v for v, at in runs.items() if at[-1] - at[0] + 1 != len(at)}
            if not broken:
                break
            unplaced.extend(e for key, e in ordered if key.values & broken)
            ordered = [(key, e) for key, e in ordered if not key.values & broken]
        if not ordered:
            return None, unplaced
        everyone = tuple(e.bit for _, e in ordered)
        made = [
            ir.Bucket(value, tuple(everyone[at[0] : at[-1] + 1]), ())
            for value, at in sorted(runs.items(), key=lambda kv: repr(kv[0]))
        ]
        key = ordered[0][0]
        return ir.Index("except", key.slot, tuple(made), everyone=everyone), unplaced

    def outside(self, items: list[Item]) -> tuple[ir.Index | None, list[_Entry]]:
        """`not_network`: every rule fires but those whose range holds the address (ranges
        nest, so an address may be in several: its lookups collect the rules to leave out). A
        rule's second way in (`not (a in_range x) or not (a in_range y)`) is checked in turn."""
        firsts, unplaced = _once(items)
        by_range: dict[str, list[int]] = defaultdict(list)
        for key, entry in firsts:
            for network in key.values:
                by_range[network].append(entry.bit)
        made = tuple(ir.Bucket(net, tuple(bits), ()) for net, bits in sorted(by_range.items()))
        everyone = tuple(sorted(entry.bit for _, entry in firsts))
        return ir.Index("not_network", items[0][0].slot, made, everyone=everyone), unplaced

    def unmatched(self, items: list[Item], depth: int) -> tuple[ir.Index | None, list[_Entry]]:
        """`not_matches`: every rule fires but those whose pattern matches, found as the rules
        that `s matches p` would fire are (through the literal, then RE2), in a bucket of their
        own below. A rule's second way in is checked in turn."""
        firsts, unplaced = _once(items)
        inner: list[Item] = []
        for key, entry in firsts:
            kind = "substring" if key.probe.part == "substring" else "eq"
            for literal, test, exact in key.values:
                found = Key(kind, key.slot, key.probe, frozenset({literal}))
                inner.append((found, _Entry(entry.bit, () if exact else (test,), 1, entry)))
        matching = self.table(inner, depth)
        below = (matching,) if matching is not None else ()
        everyone = tuple(sorted(entry.bit for _, entry in firsts))
        made = (ir.Bucket(None, (), (), below),)
        return ir.Index("not_matches", items[0][0].slot, made, everyone=everyone), unplaced


def _once(items: Iterable[Item]) -> tuple[list[Item], list[_Entry]]:
    """A complement's items, each rule by its first way in, and the entries of its other ways: a
    rule reached twice through `or` (`x != a or x != b`) has its copies checked in turn."""
    firsts: list[Item] = []
    again: list[_Entry] = []
    seen: set[int] = set()
    for key, entry in items:
        if entry.bit in seen:
            again.append(entry)
        else:
            seen.add(entry.bit)
            firsts.append((key, entry))
    return firsts, again


def _rarest_pieces(items: list[Item]) -> list[Item]:
    """A `substring` key's literal is looked up through one of its pieces of the index's length
    (any text holding the literal holds them all): the piece fewest other literals have, so
    that a request's pieces reach few rules."""
    length = items[0][0].probe.length
    pieces = {lit: frozenset(grams(lit, length)) for key, _ in items for lit in key.values}
    count = Counter(piece for found in pieces.values() for piece in found)
    chosen = []
    for key, entry in items:
        best = {min(sorted(pieces[lit]), key=count.__getitem__) for lit in key.values}
        chosen.append((attrs.evolve(key, values=frozenset(best)), entry))
    return chosen


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
    if isinstance(e, Local | Outcome | FieldOf | FieldPresent | MapGet):
        return False  # a map's key is read only where a `has` guards it
    return all(_hoistable(c, slots) for c in ir.ir_children(e))


def _hoist_shared_tests(
    checks: list[ir.Check], indexes: list[ir.Index], slots: tuple[ir.Slot, ...]
) -> tuple[list[ir.Check], list[ir.Index], list[ir.Expr]]:
    """Tests that several of the rules checked in turn make are computed once per decision,
    before any rule. Tests in the buckets of an index are not: a request reaches few buckets,
    and computing their tests for every request would cost what the index saves."""
    made_by: dict[ir.Expr, set[int]] = defaultdict(set)
    for c in checks:
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
