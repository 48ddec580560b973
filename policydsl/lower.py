"""Lowering: a checked policy → the decision-tree IR.

Definitions are inlined, constants folded, dead rules dropped; each rule's condition is split into
its conjuncts, and one equality or membership conjunct becomes the rule's key in an index (the
attribute most rules are keyed on wins, as in OPA's rule indexer). Tests made by several rules are
hoisted; the parts of outputs that depend only on the fired rules become per-rule-set flags.
`indexed=False` gives the naive lowering: every rule checked in turn, nothing shared.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any, TypeGuard, assert_never, cast

import attrs

from policydsl import ir, model, nodes
from policydsl import typesys as t
from policydsl.model import (
    Attr,
    CheckedPolicy,
    Const,
    DefRef,
    FieldOf,
    FieldPresent,
    Local,
    Outcome,
    Present,
    SetOf,
    Size,
    map_children,
)
from policydsl.operators import ArithOp, CompareOp, MembershipOp, Op


def lower(policy: CheckedPolicy, *, indexed: bool = True) -> ir.Program:
    slots = _slots(policy.schema)
    by_path = {s.path: s.index for s in slots}
    lowerer = _Lowerer(policy, by_path)

    rules: list[ir.RuleInfo] = []
    always: list[int] = []
    dead: list[int] = []
    conjuncts: dict[int, list[ir.Expr]] = {}
    for bit, rule in enumerate(policy.rules):
        rules.append(
            ir.RuleInfo(
                bit,
                rule.id,
                rule.effect,
                rule.cite,
                rule.obligations,
                rule.reason,
                rule.tags,
                rule.annotations,
                rule.span.line if rule.span else None,
            )
        )
        cond = fold(lowerer.expr(rule.condition))
        if cond == Const(True):
            always.append(bit)
        elif cond == Const(False):
            dead.append(bit)
        else:
            conjuncts[bit] = conjuncts_of(cond)

    checks: list[ir.Check] = []
    indexes: list[ir.Index] = []
    if indexed:
        checks, indexes = _index_rules(list(conjuncts.items()), slots)
    else:
        checks = [ir.Check(bit, _and(parts)) for bit, parts in conjuncts.items()]

    tests: list[ir.Expr] = []
    if indexed:
        checks, indexes, tests = _hoist_shared_tests(checks, indexes, slots)

    flags: list[ir.Expr] = []
    outputs: list[ir.OutputIR] = []
    for output in policy.outputs:
        cases: list[tuple[ir.Expr | None, ir.Expr]] = []
        for when, value in output.cases:
            lowered_cond = None if when is None else _flagged(fold(lowerer.expr(when)), flags)
            cases.append((lowered_cond, _flagged(fold(lowerer.expr(value)), flags)))
        outputs.append(ir.OutputIR(output.name, tuple(cases)))

    used = _collection_uses([c.condition for c in checks], indexes, tests, outputs)
    slots = tuple(
        attrs.evolve(s, materialize=True)
        if s.index in used and isinstance(s.type, t.CollectionType)
        else s
        for s in slots
    )
    return ir.Program(
        version=ir.IR_VERSION,
        indexed=indexed,
        effects=policy.effects,
        default_effect=policy.default_effect,
        slots=slots,
        rules=tuple(rules),
        always=tuple(always),
        dead=tuple(dead),
        tests=tuple(tests),
        checks=tuple(checks),
        indexes=tuple(indexes),
        flags=tuple(flags),
        outputs=tuple(outputs),
    )


# ---- slots --------------------------------------------------------------------------------


def _slots(schema: t.RecordType) -> tuple[ir.Slot, ...]:
    out: list[ir.Slot] = []

    def walk(record: t.RecordType, prefix: tuple[str, ...], parent: int | None) -> None:
        for field in record.fields:
            slot = ir.Slot(
                len(out), (*prefix, field.name), field.type, field.optional, field.default, parent
            )
            out.append(slot)
            if isinstance(field.type, t.RecordType):
                walk(field.type, slot.path, slot.index)

    walk(schema, (), None)
    return tuple(out)


# ---- expressions ----------------------------------------------------------------------------


class _Lowerer:
    def __init__(self, policy: CheckedPolicy, by_path: dict[tuple[str, ...], int]):
        self.policy = policy
        self.by_path = by_path

    def expr(self, e: model.Expr) -> ir.Expr:
        """Inline definitions; context reads become slot reads."""
        match e:
            case Attr(path):
                return ir.SlotRef(self.by_path[path])
            case Present(path):
                # `has a.b` holds when every optional record on the path and the leaf are present;
                # an absent record leaves its fields' slots empty, so the leaf's slot says it all.
                return ir.SlotPresent(self.by_path[path])
            case DefRef(name):
                return self.expr(self.policy.definitions[name].expr)
        # Any other node keeps its class over lowered children, which makes it an IR node (the
        # leaves left, constants, locals and outcomes, are both): mypy cannot follow the stages.
        return cast("ir.Expr", map_children(e, self.expr))


MAX_FOLDED_BITS = 13_000  # about 3,900 digits: repr() refuses an int of more than 4,300


def fold(e: ir.Expr) -> ir.Expr:
    """Constant folding and boolean simplification, bottom-up."""
    e = map_children(e, fold)
    match e:
        case nodes.And(ops):
            kept: list[ir.Expr] = []
            for operand in ops:
                if operand == Const(False):
                    return Const(False)
                if operand != Const(True):
                    kept.extend(operand.operands if isinstance(operand, nodes.And) else [operand])
            return _and(kept)
        case nodes.Or(ops):
            kept = []
            for operand in ops:
                if operand == Const(True):
                    return Const(True)
                if operand != Const(False):
                    kept.extend(operand.operands if isinstance(operand, nodes.Or) else [operand])
            return _or(kept)
        case nodes.Not(Const(value)):
            return Const(not value)
        case nodes.Not(nodes.Not(inner)):
            return inner
        case nodes.ListLit(items) if _constants(items):
            return Const(tuple(i.value for i in items))
        case nodes.Compare(cmp, Const(a), Const(b)):
            return Const(_compare(cmp, a, b))
        case nodes.In(Const(a), Const(b)):
            return Const(_member(e.op, a, b))
        case nodes.In(_, Const(b), negated) if isinstance(b, tuple | frozenset) and not b:
            return Const(negated)  # nothing is in an empty collection
        case nodes.In(_, Const(b), _) if isinstance(b, tuple):
            return attrs.evolve(e, collection=Const(frozenset(b)))
        case nodes.Arith(Const(first), rest) if all(isinstance(x, Const) for _, x in rest):
            total = first
            for op, x in rest:
                assert isinstance(x, Const)  # by the guard
                total = _arith(op, total, x.value)
            if abs(total).bit_length() > MAX_FOLDED_BITS:
                return e  # left to run time: its digits could not be written in a dump or source
            return Const(total)
        case nodes.Neg(Const(value)):
            return Const(-value)
        case SetOf(Const(value)):
            return Const(frozenset(value))
        case Size(Const(value)):
            return Const(len(value))
    return e


def _constants(items: tuple[ir.Expr, ...]) -> TypeGuard[tuple[Const, ...]]:
    return all(isinstance(i, Const) for i in items)


# Constant folding: what an operator makes of two constants.


def _compare(op: CompareOp, a: Any, b: Any) -> bool:
    match op:
        case Op.EQ:
            return bool(a == b)
        case Op.NE:
            return bool(a != b)
        case Op.LT:
            return bool(a < b)
        case Op.LE:
            return bool(a <= b)
        case Op.GT:
            return bool(a > b)
        case Op.GE:
            return bool(a >= b)
        case _:
            assert_never(op)


def _member(op: MembershipOp, element: Any, collection: Any) -> bool:
    match op:
        case Op.IN:
            return element in collection
        case Op.NOT_IN:
            return element not in collection
        case _:
            assert_never(op)


def _arith(op: ArithOp, a: int, b: int) -> int:
    match op:
        case Op.ADD:
            return a + b
        case Op.SUB:
            return a - b
        case Op.MUL:
            return a * b
        case _:
            assert_never(op)


def _and(parts: list[ir.Expr]) -> ir.Expr:
    if not parts:
        return Const(True)
    return parts[0] if len(parts) == 1 else nodes.And(tuple(parts))


def _or(parts: list[ir.Expr]) -> ir.Expr:
    if not parts:
        return Const(False)
    return parts[0] if len(parts) == 1 else nodes.Or(tuple(parts))


def conjuncts_of(e: ir.Expr) -> list[ir.Expr]:
    """The `and`-ed tests of a folded condition (folding has flattened nested `and`s)."""
    return list(e.operands) if isinstance(e, nodes.And) else [e]


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


def _choose_keys(
    conjuncts: dict[int, list[ir.Expr]], slots: tuple[ir.Slot, ...]
) -> dict[int, tuple[Key, int]]:
    """Each rule's key: among its conjuncts' keys, the one on the attribute most rules share."""
    offered: dict[int, list[tuple[Key, int]]] = {}
    popularity: Counter[tuple[str, int]] = Counter()
    for bit, parts in conjuncts.items():
        keys = [(k, i) for i, p in enumerate(parts) if (k := _key_of(p, slots)) is not None]
        if keys:
            offered[bit] = keys
            popularity.update({(k[0], k[1]) for k, _ in keys})
    chosen = {}
    for bit, keys in offered.items():
        chosen[bit] = max(
            keys,
            key=lambda ki: (
                popularity[(ki[0][0], ki[0][1])],
                ki[0][0] == "member",
                -ki[0][1],
                -ki[1],
            ),
        )
    return chosen


TRIE_MIN = 4  # a bucket with this many checks indexes their remaining tests in turn


def _index_rules(
    rules: list[tuple[int, list[ir.Expr]]], slots: tuple[ir.Slot, ...]
) -> tuple[list[ir.Check], list[ir.Index]]:
    """Index rules on their keys; what has no key is checked in turn (the wildcard branch).

    A bucket that many rules reach is indexed again on their remaining tests, so rules that
    share one key and differ on another (`role == r and action == a`) cost a lookup per level.
    """
    keyed = _choose_keys(dict(rules), slots)
    checks: list[ir.Check] = []
    groups: dict[tuple[str, int], dict[Any, list[tuple[int, list[ir.Expr]]]]] = defaultdict(dict)
    for bit, parts in rules:
        if bit not in keyed:
            checks.append(ir.Check(bit, _and(parts)))
            continue
        (kind, slot, values), position = keyed[bit]
        residual = parts[:position] + parts[position + 1 :]
        for value in sorted(values, key=repr):
            groups[(kind, slot)].setdefault(value, []).append((bit, residual))
    indexes: list[ir.Index] = []
    for (kind, slot), buckets in sorted(groups.items()):
        made = []
        for key, members in sorted(buckets.items(), key=lambda kv: repr(kv[0])):
            always = tuple(bit for bit, residual in members if not residual)
            rest = [(bit, residual) for bit, residual in members if residual]
            if len(rest) >= TRIE_MIN:
                sub_checks, sub_indexes = _index_rules(rest, slots)
            else:
                sub_checks, sub_indexes = [ir.Check(b, _and(r)) for b, r in rest], []
            if always or sub_checks or sub_indexes:  # else its rules can never fire here
                made.append(ir.Bucket(key, always, tuple(sub_checks), tuple(sub_indexes)))
        if made:
            indexes.append(ir.Index(kind, slot, tuple(made)))
    return checks, indexes


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
    all_checks = ir.nested_checks(tuple(checks), tuple(indexes))
    counts: Counter[ir.Expr] = Counter(a for c in all_checks for a in _atoms(c.condition))
    shared: list[ir.Expr] = sorted(
        (
            a
            for a, n in counts.items()
            if n > 1 and _hoistable(a, slots) and not isinstance(a, ir.SlotRef)
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

    def rewrite(cs: tuple[ir.Check, ...] | list[ir.Check]) -> tuple[ir.Check, ...]:
        return tuple(ir.Check(c.rule, replace(c.condition)) for c in cs)

    def rewrite_index(ix: ir.Index) -> ir.Index:
        buckets = tuple(
            attrs.evolve(
                b,
                checks=rewrite(b.checks),
                indexes=tuple(rewrite_index(sub) for sub in b.indexes),
            )
            for b in ix.buckets
        )
        return attrs.evolve(ix, buckets=buckets)

    return list(rewrite(checks)), [rewrite_index(ix) for ix in indexes], shared


# ---- outputs --------------------------------------------------------------------------------


def _outcome_only(e: ir.Expr, bound: frozenset[str] = frozenset()) -> bool:
    """Depends on the fired rules or the decision, and on nothing of the request."""
    found = {"outcome": False}

    def visit(x: ir.Expr, bound: frozenset[str]) -> bool:
        if isinstance(x, ir.SlotRef | ir.SlotPresent | ir.TestRef):
            return False
        if isinstance(x, Local) and x.name not in bound:
            return False
        if isinstance(x, Outcome):
            found["outcome"] = True
        if isinstance(x, nodes.Quantifier):
            return visit(x.collection, bound) and visit(x.body, bound | {x.var.name})
        return all(visit(c, bound) for c in ir.ir_children(x))

    return visit(e, bound) and found["outcome"]


def _flagged(e: ir.Expr, flags: list[ir.Expr]) -> ir.Expr:
    """Replace each maximal outcome-only part of an output by a flag computed per rule set."""
    if isinstance(e, Const):
        return e
    if _outcome_only(e):
        if e not in flags:
            flags.append(e)
        return ir.FlagRef(flags.index(e))
    return map_children(e, lambda c: _flagged(c, flags))


def _collection_uses(
    conditions: list[ir.Expr],
    indexes: list[ir.Index],
    tests: list[ir.Expr],
    outputs: list[ir.OutputIR],
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
