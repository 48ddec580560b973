"""Code for a program's indexes: how a request's value reaches the rules that can fire for it.

Each kind of `ir.Index` becomes a few statements of the generated `_decide`: a table lookup of
the (probed) value, a loop over a collection's elements, a `bisect` among sorted bounds and
slices of the rules above and below, two slices of a complement, or a loop over the keys of
an address's ranges (one per prefix length) or over the pieces of a text. Rules that need a check
are reached through `dispatch`, a balanced tree of comparisons on the bucket's number. Like
`codegen`, it builds `ast` nodes only; constants live in the generator's namespace.
"""

from __future__ import annotations

import ast
import bisect
import itertools
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from policydsl import ir, nodes
from policydsl import typesys as t
from policydsl.checked_exprs import Const, map_children
from policydsl.ipaddr import network_key
from policydsl.operators import Op
from policydsl.pyast import LOAD, assign, call, is_, none, ref, store
from policydsl.regex import PatternSet, compile_pattern

TEMPLATE_MIN = 8  # buckets with checks from which their constants may be read from a table


class Writer(Protocol):
    """What index code needs of the code generator."""

    slots: tuple[ir.Slot, ...]
    row: str | None
    fire_one: bool
    validated: int | None

    def hoist(self, value: Any, prefix: str = "_K") -> ast.expr: ...
    def const(self, value: Any) -> ast.expr: ...
    def fresh(self, prefix: str) -> str: ...
    def slot(self, index: int) -> str: ...
    def fallback(self) -> ast.stmt: ...
    def invalid(self, type_: t.Type, value: ast.expr) -> ast.expr: ...
    def if_present(self, s: ir.Slot, body: list[ast.stmt]) -> list[ast.stmt]: ...
    def checks(self, checks: tuple[ir.Check, ...]) -> list[ast.stmt]: ...
    def expr(self, e: ir.Expr) -> ast.expr: ...


class IndexCode:
    def __init__(self, gen: Writer):
        self.gen = gen
        # one rule at most fires, through one of several lookups (`_one_key_matches`): a miss
        # in one goes on to the next
        self.chained = False
        # the program's one index, when every rule fires through it and `_ONE[r]` is a decision
        # (set by the code generator)
        self.sole: ir.Index | None = None

    def index(self, ix: ir.Index) -> list[ast.stmt]:
        """The statements that fire what an index reaches for this request."""
        slot = self.gen.slots[ix.slot]
        if ix.kind == "member":
            return self.member_loop([ix])
        value = ref(self.gen.slot(ix.slot))
        body: list[ast.stmt] = []
        if ix.kind == "eq":
            if ix.probe == ir.WHOLE:  # an absent value (None) is no key: no guard needed
                return self.lookup(ix, value)
            if ix.probe.key:  # a map's value: an absent key is no key (for a probe, "")
                read = self.gen.fresh("_p")
                absent = [] if ix.probe.part == "value" else [ast.Constant("")]
                get = ast.Attribute(value, "get", LOAD)
                args: list[ast.expr] = [ast.Constant(ix.probe.key[0]), *absent]
                body.append(assign(read, ast.Call(get, args, [])))
                value = ref(read)
            if ix.probe.part == "value":
                body.extend(self.lookup(ix, value))
                return self.gen.if_present(slot, body)
            key = self.gen.fresh("_p")
            body.append(assign(key, self.probe(ix.probe, value)))
            body.extend(self.lookup(ix, ref(key)))
        elif ix.kind == "order":
            body.extend(self.order(ix, value))
        elif ix.kind == "except":
            body.extend(self.complement(ix, value))
        elif ix.kind == "network":
            body.extend(self.networks(ix, value))
        elif ix.kind == "not_network":
            body.extend(self.outside(ix, value))
        elif ix.kind == "not_matches":
            body.extend(self.unmatched(ix))
        elif ix.kind == "pattern":
            # one pass of RE2 over the text finds every pattern it matches (`PatternSet`)
            # (answered by number: the buckets are keyed by their patterns' numbers, from 1)
            matched = self.gen.fresh("_e")
            patterns = self.gen.hoist(PatternSet([b.key for b in ix.buckets]))
            numbered = attrs.evolve(
                ix, buckets=tuple(attrs.evolve(b, key=i) for i, b in enumerate(ix.buckets, 1))
            )
            hits = ast.Call(ast.Attribute(patterns, "hits", LOAD), [value], [])
            body.append(ast.For(store(matched), hits, self.lookup(numbered, ref(matched)), []))
        elif ix.kind == "substring":
            # each distinct piece of the text once (a rule fires once), and only those some
            # bucket has: the set intersection skips the others in C
            piece = self.gen.fresh("_e")
            keys = self.gen.hoist(frozenset(b.key for b in ix.buckets))
            pieces = call("_grams", value, ast.Constant(ix.probe.length))
            found = ast.BinOp(pieces, ast.BitAnd(), keys)
            body.append(ast.For(store(piece), found, self.lookup(ix, ref(piece)), []))
        else:  # pragma: no cover
            raise AssertionError(ix.kind)
        return self.gen.if_present(slot, body)

    def validated_slot(self, program: ir.Program) -> int | None:
        """In a program that fires one rule at most, the slot whose value the index's lookup
        validates as it reads it, if any: a required enum attribute keying one equality index
        whose every bucket fires its rule outright (`action == a` rules). Its table then holds
        every member (-1 for those no rule names), and anything else reads None, which no list
        or dict of prepared decisions takes: the request goes to the fallback."""
        if len(program.indexes) != 1:
            return None
        (ix,) = program.indexes
        slot = self.gen.slots[ix.slot]
        if (
            ix.kind == "eq"
            and ix.probe == ir.WHOLE
            and _fires_outright(ix)
            and isinstance(slot.type, t.EnumType)
            and slot.default is t.MISSING
            and not ir.may_be_absent(self.gen.slots, ix.slot)
        ):
            return ix.slot
        return None

    @staticmethod
    def fires_one(program: ir.Program) -> bool:
        """Whether a request fires one rule at most, by the program's shape: one equality index
        (one bucket a request), each bucket with one rule, or with one equality index of the
        same kind (`role == r and action == a`); or several lookups of a text's first (or last)
        characters, one per length, whose keys no other key begins (ends) with (`_one_key_matches`).
        Its code then returns a rule's prepared decision where it fires it, and builds no list of
        fired rules; where one index's every bucket fires its rule outright, the decision is one
        lookup (`lookup`)."""

        def one_each(ix: ir.Index) -> bool:
            if ix.kind != "eq":
                return False
            for b in ix.buckets:
                rules = len(b.always) + len(b.checks)
                if b.indexes and (rules or len(b.indexes) > 1 or not one_each(b.indexes[0])):
                    return False
                if rules > 1 and (b.always or not _exclusive(b.checks)):
                    return False
            return True

        if program.always or program.checks:
            return False
        if len(program.indexes) == 1:
            return one_each(program.indexes[0])
        return _one_key_matches(program.indexes)

    @staticmethod
    def probe(probe: ir.Probe, value: ast.expr) -> ast.expr:
        """`value`, `value[:n]` or `value[-n:]`: what a probed index looks up."""
        if probe.part == "prefix":
            part = ast.Slice(None, ast.Constant(probe.length), None)
        elif probe.part == "suffix":
            part = ast.Slice(ast.Constant(-probe.length), None, None)
        else:
            return value
        return ast.Subscript(value, part, LOAD)

    def lookup(self, ix: ir.Index, key: ast.expr) -> list[ast.stmt]:
        """Fire a bucket's rules that need no check from a table; dispatch to its checks."""
        always = {b.key: b.always for b in ix.buckets if b.always}
        body: list[ast.stmt] = []
        if always and self.gen.fire_one:  # one rule a bucket: its number
            numbers = {k: rules[0] for k, rules in always.items()}
            if _fires_outright(ix) and not self.chained:  # its decision, or none's
                enum = self.gen.slots[ix.slot].type
                if ix.slot == self.gen.validated and isinstance(enum, t.EnumType):
                    # the table takes valid values only (`validated_slot`)
                    every = {m: numbers.get(m, -1) for m in enum.members}
                    return [decision_of(self.get(every, "_IA", key))]
                return [decision_of(self.get(numbers, "_IA", key, -1))]
            body.extend(self.fire_found(self.get(numbers, "_IA", key)))
        elif always:
            body.append(_fire_all(self.get(always, "_IA", key, ())))
        body.extend(self.checked(ix, key))
        return body

    def fire_found(self, number: ast.expr) -> list[ast.stmt]:
        """`_r = number`, then the decision of rule `_r` if there is one (when one rule at most
        fires)."""
        found = self.gen.fresh("_r")
        return [
            assign(found, number),
            ast.If(is_(ref(found), none(), negate=True), [decision_of(ref(found))], []),
        ]

    def checked(self, ix: ir.Index, key: ast.expr) -> list[ast.stmt]:
        """Reach the checks of the key's bucket. Keys whose buckets make the same checks share
        one branch of the dispatch tree; where many buckets differ only in their constants (the
        rows of a table), the constants are read from the bucket's row instead."""
        branches: dict[tuple[tuple[ir.Check, ...], tuple[ir.Index, ...]], int] = {}
        dispatch = {}
        for b in ix.buckets:
            if b.checks or b.indexes:
                dispatch[b.key] = branches.setdefault((b.checks, b.indexes), len(branches))
        if not branches:
            return []
        nested = self.nested_tables(ix, key)
        if nested is not None:
            return nested
        if len(branches) >= TEMPLATE_MIN and not any(subs for _, subs in branches):
            templated = self.templated(ix, key)
            if templated is not None:
                return templated
        slots = [sub.slot for sub in next(iter(branches))[1]]
        if (
            len(branches) >= TEMPLATE_MIN
            and slots
            and all(
                not checks and [_thresholds_only(sub) for sub in subs] == slots
                for checks, subs in branches
            )
        ):
            return self.threshold_rows(ix, key, slots)
        checked = [ir.Bucket(None, (), checks, subs) for checks, subs in branches]
        return self.dispatch(dispatch, checked, key)

    def nested_tables(self, ix: ir.Index, key: ast.expr) -> list[ast.stmt] | None:
        """`_t = TABLES.get(key)`, then `_t.get(value)`: when every bucket that needs more than
        its key tests one more attribute for equality (an index of it whose buckets fire
        outright, or checks `attr == constant`), the same attribute for all (`role == r and
        action == a` rows), each bucket's test is a table of its own, read as data: one
        lookup more, where a tree of comparisons would choose the bucket's code. None
        otherwise."""
        inner: int | None = None
        tables: dict[Any, dict[Any, tuple[int, ...]]] = {}
        for b in ix.buckets:
            if not (b.checks or b.indexes):
                continue
            table: dict[Any, tuple[int, ...]] = {}
            if b.indexes:
                (sub,) = b.indexes if len(b.indexes) == 1 and not b.checks else (None,)
                if sub is None or sub.kind != "eq" or sub.probe != ir.WHOLE:
                    return None
                if any(c.checks or c.indexes for c in sub.buckets):
                    return None
                slot = sub.slot
                for c in sub.buckets:
                    table[c.key] = c.always
            else:
                found = _equalities(b.checks)
                if found is None:
                    return None
                slot, pairs = found
                for value, rule in pairs:
                    table[value] = (*table.get(value, ()), rule)
            if inner not in (None, slot):
                return None
            inner, tables[b.key] = slot, table
        if inner is None:
            return None
        found_table = self.gen.fresh("_t")
        value = ref(self.gen.slot(inner))
        get = ast.Attribute(ref(found_table), "get", LOAD)
        body: list[ast.stmt]
        if self.gen.fire_one:  # one rule a value: its number
            numbers = {k: {v: rules[0] for v, rules in t.items()} for k, t in tables.items()}
            outer = self.get(numbers, "_IA", key)
            body = self.fire_found(ast.Call(get, [value], []))
        else:
            outer = self.get(tables, "_IA", key)
            body = [_fire_all(ast.Call(get, [value, ast.Tuple([], LOAD)], []))]
        return [
            assign(found_table, outer),
            ast.If(is_(ref(found_table), none(), negate=True), body, []),
        ]

    def templated(self, ix: ir.Index, key: ast.expr) -> list[ast.stmt] | None:
        """`_v = ROWS.get(key)`: the bucket's template number and constants; then a tree over
        the few templates, each reading its constants from `_v`. None when templates would not
        be fewer than half the branches."""
        templates: dict[tuple[ir.Check, ...], int] = {}
        rows: dict[Any, tuple[Any, ...]] = {}
        for b in ix.buckets:
            if not b.checks:
                continue
            shape, constants = template(b.checks)
            number = templates.setdefault(shape, len(templates))
            rows[b.key] = (number, *constants)
        if 2 * len(templates) > len(rows):
            return None
        row = self.gen.fresh("_v")
        shapes = list(templates)
        which = ast.Subscript(ref(row), ast.Constant(0), LOAD)  # the row's template number
        found = _balanced(len(shapes), which, lambda i: self.template_code(shapes[i], row))
        return [
            assign(row, self.get(rows, "_IR", key)),
            ast.If(is_(ref(row), none(), negate=True), found, []),
        ]

    def threshold_rows(self, ix: ir.Index, key: ast.expr, slots: list[int]) -> list[ast.stmt]:
        """Buckets that each hold one-sided thresholds on the same attributes (a tier table's
        limits under its keys): a row per key of, for each attribute, the bounds, the rules and
        their counts per place; one piece of code for all of them."""
        rows: dict[Any, tuple[Any, ...]] = {}
        for b in ix.buckets:
            if b.indexes:
                rows[b.key] = tuple(item for sub in b.indexes for item in _threshold_row(sub))
        row = self.gen.fresh("_v")

        def item(i: int) -> ast.expr:
            return ast.Subscript(ref(row), ast.Constant(i), LOAD)

        body: list[ast.stmt] = []
        # the rows alone decide: no rule beside them under a key (`_fired` would hold it), and
        # no index around them
        if self.sole is ix and len(slots) == 1 and not any(b.always for b in ix.buckets):
            lone = self.lone_threshold(rows, row, slots[0])
            if lone is not None:
                return [
                    assign(row, self.get(rows, "_IR", key)),
                    ast.If(is_(ref(row), none(), negate=True), lone, []),
                ]
        for n, slot in enumerate(slots):
            at = 5 * n  # bounds, rules above, their counts, rules below, their counts
            place = self.gen.fresh("_k")
            value = ref(self.gen.slot(slot))
            part: list[ast.stmt] = [assign(place, call("_bisect_right", item(at), value))]
            for rules, counts in ((at + 1, at + 2), (at + 3, at + 4)):
                if any(r[rules] for r in rows.values()):
                    part.append(_fire_prefix(item(rules), item(counts), place))
            body.extend(self.gen.if_present(self.gen.slots[slot], part))
        return [
            assign(row, self.get(rows, "_IR", key)),
            ast.If(is_(ref(row), none(), negate=True), body, []),
        ]

    def lone_threshold(
        self, rows: dict[Any, tuple[Any, ...]], row: str, slot: int
    ) -> list[ast.stmt] | None:
        """When the rows are the program's only rules (`threshold_rows` says when), over one
        attribute and one side (`amount > limit`), each row gains, per place, the one rule that
        fires there (-1 for none, None for several): most requests fire one rule or none, and
        return its decision without a list. Rows are changed in place. None for rows with rules
        on both sides."""
        sides = {side for r in rows.values() for side in (1, 3) if r[side]}
        if len(sides) != 1:
            return None
        (side,) = sides
        for key, r in rows.items():
            rules, counts = r[side], r[side + 1]
            lone = tuple(-1 if c == 0 else rules[0] if c == 1 else None for c in counts)
            rows[key] = (*r, lone)

        def item(i: int | ast.expr) -> ast.expr:
            return ast.Subscript(ref(row), ast.Constant(i) if isinstance(i, int) else i, LOAD)

        place, found = self.gen.fresh("_k"), self.gen.fresh("_r")
        part: list[ast.stmt] = [
            assign(place, call("_bisect_right", item(0), ref(self.gen.slot(slot)))),
            assign(found, ast.Subscript(item(5), ref(place), LOAD)),
            ast.If(is_(ref(found), none(), negate=True), [decision_of(ref(found))], []),
            _fire_prefix(item(side), item(side + 1), place),
        ]
        return self.gen.if_present(self.gen.slots[slot], part)

    def template_code(self, shape: tuple[ir.Check, ...], row: str) -> list[ast.stmt]:
        """`if condition: _fired.append(rule)` for each check, constants and rules from `row`."""
        outer, self.gen.row = self.gen.row, row
        try:
            body: list[ast.stmt] = []
            for c in shape:
                rule = ast.Subscript(ref(row), ast.Constant(c.rule), LOAD)
                fire: ast.stmt
                if self.gen.fire_one:
                    fire = decision_of(rule)
                else:
                    append = ast.Attribute(ref("_fired"), "append", LOAD)
                    fire = ast.Expr(ast.Call(append, [rule], []))
                body.append(ast.If(self.gen.expr(c.condition), [fire], []))
            return body
        finally:
            self.gen.row = outer

    def all(self, indexes: tuple[ir.Index, ...]) -> list[ast.stmt]:
        """The code of a program's indexes; those over one collection share one loop, where
        the first of them stands."""
        if self.gen.fire_one and len(indexes) > 1:  # the lookups with most keys first
            self.chained = True
            indexes = tuple(sorted(indexes, key=lambda ix: -len(ix.buckets)))
        loops: dict[int, list[ir.Index]] = {}
        for ix in indexes:
            if ix.kind == "member":
                loops.setdefault(ix.slot, []).append(ix)
        body: list[ast.stmt] = []
        for ix in indexes:
            if ix.kind != "member":
                body.extend(self.index(ix))
            elif ix.slot in loops:
                body.extend(self.member_loop(loops.pop(ix.slot)))
        return body

    def member_loop(self, indexes: list[ir.Index]) -> list[ast.stmt]:
        """One pass over a collection validates its elements and looks each one up in every
        index on it (the element itself, or its first or last characters)."""
        slot = self.gen.slots[indexes[0].slot]
        source: ast.expr = ref(self.gen.slot(slot.index))
        itself: ast.expr | None = None
        if isinstance(slot.type, t.EntityType):  # hierarchy membership: the entity's groups
            # that some rule names, found by one intersection with the groups named: it probes
            # the groups' table with the policy's own uids, and reads none of the others; then
            # the entity itself
            named = self.gen.hoist(frozenset(b.key for ix in indexes for b in ix.buckets), "_G")
            itself = ast.Attribute(source, "uid", LOAD)
            groups = ast.Attribute(source, "groups", LOAD)
            source = ast.BinOp(groups, ast.BitAnd(), named)
            element: t.Type = t.STRING
        else:
            assert isinstance(slot.type, t.CollectionType)
            element = slot.type.element
        var = self.gen.fresh("_e")
        loop: list[ast.stmt] = []
        whole = [ix for ix in indexes if ix.probe == ir.WHOLE]
        if isinstance(element, t.EnumType) and whole:
            ix = whole[0]  # its table has every member: a lookup of anything else is a KeyError
            always = {b.key: b.always for b in ix.buckets if b.always}
            table = {m: always.get(m, ()) for m in element.members}
            loop.append(_fire_all(ast.Subscript(self.gen.hoist(table, "_IA"), ref(var), LOAD)))
            loop.extend(self.checked(ix, ref(var)))
            indexes = [other for other in indexes if other is not ix]
        elif not isinstance(element, t.RecordType | t.EntityType) and not isinstance(
            slot.type, t.EntityType
        ):  # records and entities are checked as they are read, ancestors when loaded
            loop.append(ast.If(self.gen.invalid(element, ref(var)), [self.gen.fallback()], []))
        for ix in indexes:
            key: ast.expr = ref(var)
            if ix.probe.field:  # an absent attribute is no key; for a probe, the empty string
                absent = [] if ix.probe.part == "value" else [ast.Constant("")]
                get = ast.Attribute(key, "get", LOAD)
                key = ast.Call(get, [ast.Constant(ix.probe.field), *absent], [])
            if ix.probe.part != "value":
                probed = self.gen.fresh("_p")
                loop.append(assign(probed, self.probe(ix.probe, key)))
                key = ref(probed)
            loop.extend(self.lookup(ix, key))
        body: list[ast.stmt] = [ast.For(store(var), source, loop, [])]
        if itself is not None:  # the entity is in itself: its own uid looked up as a group's
            body.append(
                ast.If(ast.Compare(itself, [ast.In()], [named]), [assign(var, itself), *loop], [])
            )
        return self.gen.if_present(slot, body)

    def order(self, ix: ir.Index, value: ast.expr) -> list[ast.stmt]:
        """The value's place among the sorted bounds (one `bisect`), then the prefixes of the
        one-sided lists that fire there and the bucket of the place."""
        place = self.gen.fresh("_k")
        bounds = self.gen.hoist(ix.bounds)
        body: list[ast.stmt] = [assign(place, call("_bisect_right", bounds, value))]
        _, above, above_counts, below, below_counts = _threshold_row(ix)
        for rules, counts in ((above, above_counts), (below, below_counts)):
            if rules:
                body.append(_fire_prefix(self.gen.hoist(rules), self.gen.hoist(counts), place))
        body.extend(self.lookup(ix, ref(place)))
        return body

    def keyed_networks(self, ix: ir.Index) -> tuple[ir.Index, ast.expr, ast.expr]:
        """The index with its buckets keyed as `ipaddr.network_keys` gives an address's keys,
        and the prefix lengths its IPv4 and IPv6 ranges have."""
        lengths: dict[int, set[int]] = {4: set(), 6: set()}
        buckets = []
        for b in ix.buckets:
            version, length, key = network_key(b.key)
            lengths[version].add(length)
            buckets.append(attrs.evolve(b, key=key))
        v4, v6 = (self.gen.hoist(tuple(sorted(lengths[v]))) for v in (4, 6))
        return attrs.evolve(ix, buckets=tuple(buckets)), v4, v6

    def networks(self, ix: ir.Index, value: ast.expr) -> list[ast.stmt]:
        """A lookup per prefix length the ranges have, of the address's own version: the key
        of the one range of that length that could hold it (`ipaddr.network_keys`)."""
        keyed, v4, v6 = self.keyed_networks(ix)
        found = self.gen.fresh("_e")
        keys = call("_network_keys", value, v4, v6)
        return [ast.For(store(found), keys, self.lookup(keyed, ref(found)), [])]

    def outside(self, ix: ir.Index, value: ast.expr) -> list[ast.stmt]:
        """Every rule of `everyone` but those the address's ranges leave out: `_x` collects
        them (a few: the ranges that hold one address are nested), then one pass."""
        keyed, v4, v6 = self.keyed_networks(ix)
        left_out, found, rule = self.gen.fresh("_x"), self.gen.fresh("_e"), self.gen.fresh("_r")
        table = {b.key: b.always for b in keyed.buckets}
        keys = call("_network_keys", value, v4, v6)
        collect = ast.AugAssign(store(left_out), ast.Add(), self.get(table, "_IA", ref(found), ()))
        return [
            assign(left_out, self.gen.const(())),
            ast.For(store(found), keys, [collect], []),
            _all_but(self.gen.hoist(ix.everyone), left_out, rule),
        ]

    def unmatched(self, ix: ir.Index) -> list[ast.stmt]:
        """Every rule of `everyone` but those whose pattern matches: the index below fires
        those into a list of their own (`_fired` for the while), then one pass."""
        outer, left_out = self.gen.fresh("_o"), self.gen.fresh("_x")
        body = [assign(outer, ref("_fired")), assign("_fired", ast.List([], LOAD))]
        for sub in ix.buckets[0].indexes:
            body.extend(self.index(sub))
        body += [assign(left_out, ref("_fired")), assign("_fired", ref(outer))]
        body.append(_all_but(self.gen.hoist(ix.everyone), left_out, self.gen.fresh("_r")))
        return body

    def complement(self, ix: ir.Index, value: ast.expr) -> list[ast.stmt]:
        """Every rule but the run the value excludes: two slices of `everyone`."""
        at = {rule: i for i, rule in enumerate(ix.everyone)}
        spans = {b.key: (at[b.always[0]], at[b.always[-1]] + 1) for b in ix.buckets}
        everyone = self.gen.hoist(ix.everyone)
        span = self.gen.fresh("_x")

        def part(lo: ast.expr | None, hi: ast.expr | None) -> ast.stmt:
            return _fire_all(ast.Subscript(everyone, ast.Slice(lo, hi, None), LOAD))

        def end(i: int) -> ast.expr:
            return ast.Subscript(ref(span), ast.Constant(i), LOAD)

        return [
            assign(span, self.get(spans, "_IA", value)),
            ast.If(
                is_(ref(span), none()),
                [_fire_all(everyone)],
                [part(None, end(0)), part(end(1), None)],
            ),
        ]

    def dispatch(
        self, numbers: dict[Any, int], buckets: list[ir.Bucket], key: ast.expr
    ) -> list[ast.stmt]:
        """`_k = TABLE.get(key)`, then a balanced tree of `_k < n` tests down to each bucket."""
        k = self.gen.fresh("_k")

        def leaf(i: int) -> list[ast.stmt]:
            body = self.gen.checks(buckets[i].checks)
            for sub in buckets[i].indexes:
                body.extend(self.index(sub))
            return body or [ast.Pass()]

        return [
            assign(k, self.get(numbers, "_IR", key)),
            ast.If(is_(ref(k), none(), negate=True), _balanced(len(buckets), ref(k), leaf), []),
        ]

    def get(
        self, table: dict[Any, Any], prefix: str, key: ast.expr, default: Any = None
    ) -> ast.expr:
        """`TABLE.get(key)` (or `.get(key, default)`), the table hoisted under `prefix`."""
        hoisted = self.gen.hoist(table, prefix)
        args = [key] if default is None else [key, self.gen.const(default)]
        return ast.Call(ast.Attribute(hoisted, "get", LOAD), args, [])


def template(checks: tuple[ir.Check, ...]) -> tuple[tuple[ir.Check, ...], tuple[Any, ...]]:
    """Checks with their rules and constants replaced by `ir.Param`s (numbered from 1: item 0
    of a row is its template's number), and the values those stand for. A `like` pattern stays
    a constant: the code compiles it once. A `matches` pattern is compiled here: its row holds
    the compiled pattern, so patterns alike in shape share one template."""
    constants: list[Any] = []

    def param(value: Any) -> ir.Param:
        constants.append(value)
        return ir.Param(len(constants))

    def replace(e: ir.Expr) -> ir.Expr:
        if isinstance(e, Const):
            return param(e.value)
        if isinstance(e, nodes.SetTest) and e.op is Op.MATCHES and isinstance(e.right, Const):
            compiled = compile_pattern(e.right.value)
            return nodes.SetTest(e.op, replace(e.left), param(compiled), span=e.span)
        if isinstance(e, nodes.SetTest) and e.op is Op.LIKE and isinstance(e.right, Const):
            return nodes.SetTest(
                e.op, replace(e.left), e.right, span=e.span
            )  # compiled once, hoisted
        return map_children(e, replace)

    shape = []
    for c in checks:
        rule = param(c.rule).index
        shape.append(ir.Check(rule, replace(c.condition)))
    return tuple(shape), tuple(constants)


def _thresholds_only(ix: ir.Index) -> int | None:
    """The slot of an ordered index of one-sided thresholds only (no places with rules of
    their own), else None."""
    return ix.slot if ix.kind == "order" and not ix.buckets else None


def _threshold_row(ix: ir.Index) -> tuple[Any, ...]:
    """Bounds, rules above and their counts per place, rules below and theirs: `x >= b`
    fires from the place after b's, `x < b` up to b's own place."""
    places = range(len(ix.bounds) + 1)
    at = {bound: i for i, bound in enumerate(ix.bounds)}
    above = [at[bound] + 1 for bound, _ in ix.above]
    below = sorted(at[bound] for bound, _ in ix.below)
    return (
        ix.bounds,
        tuple(rule for _, rule in ix.above),
        tuple(bisect.bisect_right(above, p) for p in places),
        tuple(rule for _, rule in ix.below),
        tuple(len(below) - bisect.bisect_left(below, p) for p in places),
    )


def _equalities(checks: tuple[ir.Check, ...]) -> tuple[int, list[tuple[Any, int]]] | None:
    """The slot and the (constant, rule) of checks that are each an equality of that one slot
    with a constant, else None."""
    slots: set[int] = set()
    pairs: list[tuple[Any, int]] = []
    for c in checks:
        match c.condition:
            case nodes.Compare(Op.EQ, ir.SlotRef(slot), Const(value)) if _hashable(value):
                slots.add(slot)
                pairs.append((value, c.rule))
            case _:
                return None
    return (slots.pop(), pairs) if len(slots) == 1 else None


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _exclusive(checks: tuple[ir.Check, ...]) -> bool:
    """Whether at most one of the checks can hold: each an equality of one slot with its own
    constant (a bucket too small to index again, `action == a0`, `action == a1`)."""
    found = _equalities(checks)
    # `1` and `True` are one value to a set: not exclusive
    return found is not None and len({value for value, _ in found[1]}) == len(checks)


def _one_key_matches(indexes: tuple[ir.Index, ...]) -> bool:
    """Whether the indexes look up one text's first (or last) characters, one length each, and
    no key begins (ends) with another: then one key at most matches a text, and each key names
    one rule with nothing to check (`starts_with "/p_i/"`, `ends_with ".d_i.com"` rules)."""
    probes = {attrs.evolve(ix.probe, length=0) for ix in indexes}
    if len({ix.slot for ix in indexes}) != 1 or len(probes) != 1:
        return False
    part = next(iter(probes)).part
    if part not in ("prefix", "suffix"):
        return False
    keys: list[str] = []
    for ix in indexes:
        if ix.kind != "eq" or not _fires_outright(ix):
            return False
        for b in ix.buckets:
            if len(b.always) != 1 or not isinstance(b.key, str):
                return False
            keys.append(b.key if part == "prefix" else b.key[::-1])
    keys.sort()
    # in sorted order, a key that begins another begins the key right after it
    return all(not after.startswith(key) for key, after in itertools.pairwise(keys))


def _fires_outright(ix: ir.Index) -> bool:
    """Whether every bucket of the index fires its rules with nothing to check."""
    return not any(b.checks or b.indexes for b in ix.buckets)


def decision_of(number: ast.expr) -> ast.Return:
    """`return _ONE[number]`: the prepared decision of one rule fired alone (of none for -1,
    then `return _NONE` where the -1 is written in the code)."""
    if isinstance(number, ast.Constant) and number.value == -1:
        return ast.Return(ref("_NONE"))
    return ast.Return(ast.Subscript(ref("_ONE"), number, LOAD))


def _fire_all(rules: ast.expr) -> ast.stmt:
    """`_fired += rules`."""
    return ast.AugAssign(store("_fired"), ast.Add(), rules)


def _all_but(everyone: ast.expr, left_out: str, rule: str) -> ast.stmt:
    """`_fired += [r for r in everyone if r not in left_out] if left_out else everyone`."""
    test = ast.Compare(ref(rule), [ast.NotIn()], [ref(left_out)])
    kept = ast.ListComp(ref(rule), [ast.comprehension(store(rule), everyone, [test], 0)])
    return _fire_all(ast.IfExp(ref(left_out), kept, everyone))


def _fire_prefix(rules: ast.expr, counts: ast.expr, place: str) -> ast.stmt:
    """`_fired += rules[:counts[place]]`: the one-sided thresholds that hold at the place."""
    count = ast.Subscript(counts, ref(place), LOAD)
    return _fire_all(ast.Subscript(rules, ast.Slice(None, count, None), LOAD))


def _balanced(
    count: int, number: ast.expr, leaf: Callable[[int], list[ast.stmt]]
) -> list[ast.stmt]:
    """A balanced tree of `number < n` tests down to `leaf(i)` for each i below `count`."""

    def tree(lo: int, hi: int) -> list[ast.stmt]:
        if hi - lo == 1:
            return leaf(lo)
        mid = (lo + hi) // 2
        test = ast.Compare(number, [ast.Lt()], [ast.Constant(mid)])
        return [ast.If(test, tree(lo, mid), tree(mid, hi))]

    return tree(0, count)
