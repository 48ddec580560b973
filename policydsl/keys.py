"""The index keys a rule's tests offer: how a request can reach a rule without the rule being
checked in turn.

A key is a condition an index can look up: the (probed) value of a slot equals one of some
values (`eq`), an element of a collection slot does (`member`), an integer slot lies in an
interval (`order`), or differs from some values (`except`); an address lies in a range
(`network`), a text holds a literal (`substring`, looked up through its pieces); an address
lies in no range of a rule's (`not_network`), a text matches no pattern of a rule's
(`not_matches`). A test offers a key that is either
the test itself (`x == c`, `x starts_with "p"` as `x[:1] == "p"`, `xs contains_any [a, b]`,
`some t in xs: t == c`, `lo <= x and x < hi`), or, where no index can hold the test exactly, a
condition it implies, the test then staying to be checked once the key matched (`x like "a*b"`
offers its literal prefix, `xs contains_all [a, b]` the element `a`). A disjunction offers one
way in per disjunct, each with what its disjunct leaves to check: the rule is reached through
any of them (and may fire twice, which combining ignores).

A key only ever matches a present value, so a key on a slot stands for the presence tests (`has`)
of that slot and of the records around it: an offer takes those tests away with its own.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, NamedTuple

import attrs

from policydsl import ir, nodes
from policydsl import typesys as t
from policydsl.glob import literal_ends
from policydsl.lower import conjuncts_of
from policydsl.model import Ancestors, Const, FieldOf, Local, MapGet, MapHas
from policydsl.operators import Op
from policydsl.regex_literals import required
from policydsl.reprs import Repr

# How much an index narrows the rules a request reaches, by the kind of its key: equality and
# membership pick a bucket per value, a probed table one per prefix length, sorted bounds a
# prefix of the rules in order, a complement every rule but a bucket.
RANK = {
    "eq": 3,
    "member": 3,
    "network": 2,
    "pattern": 2,
    "order": 1,
    "substring": 1,
    "except": 0,
    "not_network": 0,
    "not_matches": 0,
}
COMPLEMENTS = frozenset({"except", "not_network", "not_matches"})  # every rule but a few fire
GRAM = 4  # characters of the pieces of text a `substring` index looks up

Group = tuple[str, int, str, int, str, tuple[str, ...]]  # the index a key belongs to


@attrs.frozen(repr=False)
class Interval(Repr):
    """The integers `x` with `lo <= x < hi` (None: unbounded on that side). Integer bounds
    make every comparison one of these: `x > c` is `x >= c + 1`, `x <= c` is `x < c + 1`."""

    lo: int | None
    hi: int | None

    def meet(self, other: Interval) -> Interval:
        lo = (
            self.lo if other.lo is None else other.lo if self.lo is None else max(self.lo, other.lo)
        )
        hi = (
            self.hi if other.hi is None else other.hi if self.hi is None else min(self.hi, other.hi)
        )
        return Interval(lo, hi)


@attrs.frozen(repr=False)
class Key(Repr):
    """What an index looks up: `values` (for `order`, one `Interval`) of a slot, read through
    `probe`."""

    # "eq" | "member" | "order" | "except" | "network" | "substring" | "not_network" |
    # "not_matches" (its values: (literal, the `matches` test, whether the literal says all))
    kind: str
    slot: int
    probe: ir.Probe
    values: frozenset[Any]

    @property
    def group(self) -> Group:
        """The index this key belongs to: one per kind, slot and probe."""
        probe = self.probe
        return (self.kind, self.slot, probe.part, probe.length, probe.field, probe.key)


Way = tuple[Key, tuple[ir.Expr, ...]]  # a key, and what is left to check once it matched


class Offer(NamedTuple):
    """A way for a rule to be indexed: the tests it stands for (`positions` in the rule's list)
    and the ways in (one, or one per disjunct)."""

    positions: frozenset[int]
    ways: tuple[Way, ...]

    @property
    def rank(self) -> int:
        return min(_rank(key) for key, _ in self.ways)

    @property
    def size(self) -> int:
        """How many buckets the rule is copied into."""
        return sum(1 if key.kind == "order" else len(key.values) for key, _ in self.ways)

    @property
    def exact(self) -> bool:
        """Every way in leaves nothing of the offered tests to check."""
        return all(not residual for _, residual in self.ways)


def _rank(key: Key) -> int:
    rank = RANK[key.kind]
    return rank - 1 if key.probe.part != "value" and rank > 1 else rank


def offers(parts: tuple[ir.Expr, ...], slots: tuple[ir.Slot, ...]) -> list[Offer]:
    """Every offer a rule's tests make; ordered bounds of one slot are offered together."""
    found: list[Offer] = []
    presence: dict[int, int] = {}
    held: dict[tuple[int, str], int] = {}
    for i, p in enumerate(parts):
        if isinstance(p, ir.SlotPresent):
            presence[p.slot] = i
        elif isinstance(p, MapHas) and (map_key := _held(p)) is not None:
            held[map_key] = i
    bounds: dict[int, list[tuple[int, Interval]]] = defaultdict(list)
    for i, part in enumerate(parts):
        bounded = _interval(part, slots)
        if bounded is not None:
            bounds[bounded[0]].append((i, bounded[1]))
            continue
        ways = _ways(part, slots)
        if ways is None:
            continue
        positions = {i}
        if len(ways) == 1:
            positions |= _implied(ways[0][0].slot, slots, presence)
            key = ways[0][0]
            if key.probe.key and (key.slot, key.probe.key[0]) in held:  # `has m["k"]`, implied
                positions.add(held[key.slot, key.probe.key[0]])
        found.append(Offer(frozenset(positions), ways))
    for slot, found_bounds in bounds.items():
        interval = found_bounds[0][1]
        for _, other in found_bounds[1:]:
            interval = interval.meet(other)
        key = Key("order", slot, ir.WHOLE, frozenset({interval}))
        positions = {i for i, _ in found_bounds} | _implied(slot, slots, presence)
        found.append(Offer(frozenset(positions), ((key, ()),)))
    return found


def _implied(slot: int, slots: tuple[ir.Slot, ...], presence: dict[int, int]) -> set[int]:
    """The positions of the presence tests a key on `slot` implies: its own and its records'."""
    implied = set()
    at: int | None = slot
    while at is not None:
        if at in presence:
            implied.add(presence[at])
        at = slots[at].parent
    return implied


def _ways(part: ir.Expr, slots: tuple[ir.Slot, ...]) -> tuple[Way, ...] | None:
    if isinstance(part, nodes.Or):
        ways = []
        for disjunct in part.operands:
            way = _best_way(tuple(conjuncts_of(disjunct)), slots)
            if way is None:
                return None
            ways.append(way)
        return tuple(ways)
    found = _key(part, slots)
    if found is None:
        return None
    key, exact = found
    return ((key, () if exact else (part,)),)


def _best_way(parts: tuple[ir.Expr, ...], slots: tuple[ir.Slot, ...]) -> Way | None:
    """The best single way into a conjunction (a disjunct), with the rest of it to check."""
    if len(parts) == 1 and _interval(parts[0], slots) is None:  # one test: its own way, if one
        ways = _ways(parts[0], slots)
        return ways[0] if ways is not None and len(ways) == 1 else None
    best: tuple[tuple[int, bool], Way] | None = None
    for offer in offers(parts, slots):
        if len(offer.ways) != 1:
            continue
        key, residual = offer.ways[0]
        rest = tuple(p for i, p in enumerate(parts) if i not in offer.positions)
        score = (_rank(key), offer.exact)
        if best is None or score > best[0]:
            best = (score, (key, residual + rest))
    return None if best is None else best[1]


# ---- the tests themselves -------------------------------------------------------------------


def _scalar(type_: t.Type) -> bool:
    return isinstance(
        type_,
        t.EnumType
        | t.StringType
        | t.IntType
        | t.BoolType
        | t.IpType
        | t.DecimalType
        | t.DatetimeType
        | t.DurationType
        | t.EntityType,  # compared by uid, hashed by uid: a key like any other
    )


def _const_values(e: ir.Expr) -> frozenset[Any] | None:
    if isinstance(e, Const) and isinstance(e.value, tuple | frozenset):
        return frozenset(e.value)
    return None


_TESTS = (nodes.Compare, nodes.In, nodes.SetTest, nodes.Quantifier, nodes.Not)


def _key(part: ir.Expr, slots: tuple[ir.Slot, ...]) -> tuple[Key, bool] | None:
    """The key a single test offers, and whether it is the test itself (exact)."""
    if part.__class__ not in _TESTS:  # a presence test, a boolean attribute, ...: none
        return None
    if part.__class__ is nodes.Compare and part.op in (Op.EQ, Op.NE):  # the commonest
        left, right = part.left, part.right
        if (
            left.__class__ is ir.SlotRef
            and right.__class__ is Const
            and _scalar(slots[left.slot].type)
        ):  # `x == c`, `x != c`: what `_equality_key` or the `except` case below finds, at once
            kind = "eq" if part.op is Op.EQ else "except"
            return Key(kind, left.slot, ir.WHOLE, frozenset({right.value})), True
        if part.op is Op.EQ:
            return _equality_key(part, slots)
    if part.__class__ is nodes.Not:  # `not (x in [...])`: the `except` case below, at once
        inner = part.operand
        if (
            inner.__class__ is nodes.In
            and not inner.negated
            and inner.element.__class__ is ir.SlotRef
            and _scalar(slots[inner.element.slot].type)
        ):
            values = _const_values(inner.collection)
            return (Key("except", inner.element.slot, ir.WHOLE, values), True) if values else None
    match part:
        case nodes.In(Const(value), ir.SlotRef(s), False) | nodes.SetTest(
            Op.CONTAINS, ir.SlotRef(s), Const(value)
        ) if _collection(slots[s]):
            return Key("member", s, ir.WHOLE, frozenset({value})), True
        case nodes.In(Const(str(uid)), Ancestors(ir.SlotRef(s)), False):
            # `principal in Team::"eng"`: a lookup of each of the entity's ancestors
            return Key("member", s, ir.WHOLE, frozenset({uid})), True
        case nodes.SetTest(Op.CONTAINS_ANY, Ancestors(ir.SlotRef(s)), Const(frozenset() as uids)):
            if uids:
                return Key("member", s, ir.WHOLE, uids), True
        case nodes.SetTest(Op.CONTAINS_ANY, ir.SlotRef(s), listed) | nodes.SetTest(
            Op.CONTAINS_ANY, listed, ir.SlotRef(s)
        ) if _collection(slots[s]):
            values = _const_values(listed)
            if values:
                return Key("member", s, ir.WHOLE, values), True
        case nodes.SetTest(Op.CONTAINS_ALL, ir.SlotRef(s), listed) if _collection(slots[s]):
            values = _const_values(listed)
            if values:  # any one of them must be there; the test checks the others
                one = min(values, key=repr)
                return Key("member", s, ir.WHOLE, frozenset({one})), len(values) == 1
        case nodes.Quantifier("some", var, ir.SlotRef(s), body) if _collection(slots[s]):
            element = slots[s].type.element  # type: ignore[union-attr]
            tests = conjuncts_of(body)
            for test in tests:
                found = _value_key(test, Local(var.name), element)
                if found is not None and found[0].part != "substring":
                    probe, values, exact = found
                    return Key("member", s, probe, values), exact and len(tests) == 1
        case nodes.Quantifier("some", var, ir.SlotRef(s), body) if _records(slots[s]):
            record = slots[s].type.element  # type: ignore[union-attr]
            assert isinstance(record, t.RecordType)  # by `_records`
            tests = conjuncts_of(body)
            for test in tests:
                for field in record.fields:
                    if not _scalar(field.type):
                        continue
                    read = FieldOf(Local(var.name), field.name)
                    found = _value_key(test, read, field.type)
                    if found is not None and found[0].part != "substring":
                        probe, values, exact = found
                        probe = attrs.evolve(probe, field=field.name)
                        return Key("member", s, probe, values), exact and len(tests) == 1
        case (
            nodes.Compare(Op.NE, ir.SlotRef(s), Const(value))
            | nodes.Compare(Op.NE, Const(value), ir.SlotRef(s))
            | nodes.Not(
                nodes.Compare(Op.EQ, ir.SlotRef(s), Const(value))
                | nodes.Compare(Op.EQ, Const(value), ir.SlotRef(s))
            )
        ) if _scalar(slots[s].type):
            return Key("except", s, ir.WHOLE, frozenset({value})), True
        case nodes.In(ir.SlotRef(s), listed, True) | nodes.Not(
            nodes.In(ir.SlotRef(s), listed, False)
        ) if _scalar(slots[s].type):
            values = _const_values(listed)
            if values:
                return Key("except", s, ir.WHOLE, values), True
        case nodes.SetTest(Op.IN_RANGE, ir.SlotRef(s), Const(str(network))) if isinstance(
            slots[s].type, t.IpType
        ):
            return Key("network", s, ir.WHOLE, frozenset({network})), True
        case nodes.Not(nodes.SetTest(Op.IN_RANGE, ir.SlotRef(s), Const(str(network)))) if (
            isinstance(slots[s].type, t.IpType)
        ):
            return Key("not_network", s, ir.WHOLE, frozenset({network})), True
        case nodes.SetTest(Op.MATCHES, ir.SlotRef(s), Const(str(pattern))) if _scalar(
            slots[s].type
        ) and not _literal_pattern(pattern):  # a literal (`^lit$`) is an equality: below
            return Key("pattern", s, ir.WHOLE, frozenset({pattern})), True
        case nodes.Not(nodes.SetTest(Op.MATCHES, ir.SlotRef(s), Const(str(pattern))) as test) if (
            _scalar(slots[s].type)
        ):
            found = regex_key(pattern)
            if found is not None:
                probe, (literal,), exact = found
                return Key("not_matches", s, probe, frozenset({(literal, test, exact)})), True
        case _:
            return _equality_key(part, slots)
    return None


def _literal_pattern(pattern: str) -> bool:
    """Whether a `matches` pattern holds for one text only (`^lit$`): an equality key."""
    found = regex_key(pattern)
    return found is not None and found[0] == ir.WHOLE and found[2]


def _equality_key(part: ir.Expr, slots: tuple[ir.Slot, ...]) -> tuple[Key, bool] | None:
    """What a slot compared directly must equal (through a probe) for `part` to hold."""
    for s, slot in _read_slots(part, slots):
        found = _value_key(part, ir.SlotRef(s), slot.type)
        if found is not None:
            probe, values, exact = found
            kind = "substring" if probe.part == "substring" else "eq"
            return Key(kind, s, probe, values), exact
    return _map_key(part, slots)


def _held(part: ir.Expr) -> tuple[int, str] | None:
    """`has m["k"]` on a map slot: (the slot, the key)."""
    match part:
        case MapHas(ir.SlotRef(s), Const(str() as key)):
            return (s, key)
    return None


def _map_key(part: ir.Expr, slots: tuple[ir.Slot, ...]) -> tuple[Key, bool] | None:
    """What a map's value under a constant key must equal (`labels["app"] == "web"`): a key on
    the map's slot, read with `get` (an absent key is no key)."""
    operands: tuple[ir.Expr, ...] = ()
    if isinstance(part, nodes.Compare | nodes.SetTest):
        operands = (part.left, part.right)
    elif isinstance(part, nodes.In):
        operands = (part.element,)
    for o in operands:
        match o:
            case MapGet(ir.SlotRef(s), Const(str() as key)):
                mtype = slots[s].type
                if isinstance(mtype, t.MapType) and _scalar(mtype.value):
                    found = _value_key(part, o, mtype.value)
                    if found is not None:
                        probe, values, exact = found
                        if probe.part == "substring":  # a pattern on a map value: checked
                            continue
                        return Key("eq", s, attrs.evolve(probe, key=(key,)), values), exact
    return None


def _collection(slot: ir.Slot) -> bool:
    return isinstance(slot.type, t.CollectionType) and _scalar(slot.type.element)


def _records(slot: ir.Slot) -> bool:
    return isinstance(slot.type, t.CollectionType) and isinstance(slot.type.element, t.RecordType)


def _read_slots(part: ir.Expr, slots: tuple[ir.Slot, ...]) -> list[tuple[int, ir.Slot]]:
    """The scalar slots a test compares directly (its operands that are slot reads)."""
    operands: tuple[ir.Expr, ...] = ()
    if isinstance(part, nodes.Compare | nodes.SetTest):
        operands = (part.left, part.right)
    elif isinstance(part, nodes.In):
        operands = (part.element,)
    return [
        (o.slot, slots[o.slot])
        for o in operands
        if isinstance(o, ir.SlotRef) and _scalar(slots[o.slot].type)
    ]


def _value_key(
    test: ir.Expr, subject: ir.Expr, type_: t.Type
) -> tuple[ir.Probe, frozenset[Any], bool] | None:
    """What `subject` (a slot, or a quantifier's variable, of scalar `type_`) must equal, read
    through a probe, for `test` to hold; and whether that is all `test` says."""
    match test:
        case nodes.Compare(Op.EQ, left, Const(value)) | nodes.Compare(
            Op.EQ, Const(value), left
        ) if left == subject:
            return ir.WHOLE, frozenset({value}), True
        case nodes.In(element, listed, False) if element == subject:
            values = _const_values(listed)
            if values:
                return ir.WHOLE, values, True
        case nodes.SetTest(Op.STARTS_WITH, left, Const(str(p))) if left == subject and p:
            return ir.Probe("prefix", len(p)), frozenset({p}), True
        case nodes.SetTest(Op.ENDS_WITH, left, Const(str(p))) if left == subject and p:
            return ir.Probe("suffix", len(p)), frozenset({p}), True
        case nodes.SetTest(Op.LIKE, left, Const(str(pattern))) if left == subject:
            return like_key(pattern)
        case nodes.SetTest(Op.MATCHES, left, Const(str(pattern))) if left == subject:
            return regex_key(pattern)
    return None


def like_key(pattern: str) -> tuple[ir.Probe, frozenset[str], bool] | None:
    """A `like` pattern's literal start or end (the longer), which a matching text must have:
    the whole test when the pattern is a literal, `literal*` or `*literal` (escapes resolved)."""
    whole, head, tail, is_prefix, is_suffix = literal_ends(pattern)
    if whole is not None:
        return ir.WHOLE, frozenset({whole}), True
    if not head and not tail:
        return None
    if len(head) >= len(tail):
        return ir.Probe("prefix", len(head)), frozenset({head}), is_prefix
    return ir.Probe("suffix", len(tail)), frozenset({tail}), is_suffix


def regex_key(pattern: str) -> tuple[ir.Probe, frozenset[str], bool] | None:
    """A `matches` pattern's required literal (`regex_literals`): its anchored start or end
    (looked up as a prefix or suffix), else its longest run (a `substring` of the text, found
    through its pieces of `GRAM` characters). The whole test when the pattern is that literal:
    `^lit$`, `^lit`, `lit$`, or a short `lit`."""
    found = required(pattern)
    if found is None:
        return None
    runs = found.runs
    head, tail = runs[0] if found.start else "", runs[-1] if found.end else ""
    longest = max(runs, key=len)
    if found.pure and found.start and found.end:
        return ir.WHOLE, frozenset({head}), True
    if not longest:
        return None
    if head and len(head) >= max(len(tail), min(3, len(longest))):
        return ir.Probe("prefix", len(head)), frozenset({head}), found.pure
    if tail and len(tail) >= min(3, len(longest)):
        return ir.Probe("suffix", len(tail)), frozenset({tail}), found.pure
    exact = found.pure and len(longest) <= GRAM
    return ir.Probe("substring", min(len(longest), GRAM)), frozenset({longest}), exact


def _interval(part: ir.Expr, slots: tuple[ir.Slot, ...]) -> tuple[int, Interval] | None:
    """`x < c`, `c <= x`, ...: the slot and the interval of its values the test admits."""
    if not isinstance(part, nodes.Compare) or part.op in (Op.EQ, Op.NE):
        return None
    op: Op = part.op
    left, right = part.left, part.right
    if isinstance(right, ir.SlotRef) and isinstance(left, Const):  # `c < x` is `x > c`
        left, right = right, left
        op = {Op.LT: Op.GT, Op.LE: Op.GE, Op.GT: Op.LT, Op.GE: Op.LE}[op]
    if not (isinstance(left, ir.SlotRef) and isinstance(right, Const)):
        return None
    # datetimes are milliseconds, decimals ten-thousandths: integers at run time
    ordered = t.IntType | t.DecimalType | t.DatetimeType | t.DurationType
    value = right.value
    if not isinstance(slots[left.slot].type, ordered) or not isinstance(value, int):
        return None
    if isinstance(value, bool):
        return None
    c = int.__int__(value)
    match op:
        case Op.GT:
            return left.slot, Interval(c + 1, None)
        case Op.GE:
            return left.slot, Interval(c, None)
        case Op.LT:
            return left.slot, Interval(None, c)
        case Op.LE:
            return left.slot, Interval(None, c + 1)
    return None
