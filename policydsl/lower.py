"""Lowering: a checked policy → its lowered form (`ir.Lowered`), once per load.

Definitions are inlined, constants folded, dead rules found; each rule's condition is split into
its conjuncts (its tests), context reads become slot reads; the parts of outputs that depend only
on the fired rules become per-rule-set flags. The analysis reads this form, and `indexing` builds
both programs (indexed and naive) from it, so what the analysis reports is what the engines run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeGuard, assert_never, cast

import attrs

from policydsl import datetimes, ir, model, nodes, relations
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
    RowsWhere,
    SetOf,
    Size,
    TimeCall,
    Uids,
    children,
    map_children,
)
from policydsl.operators import ArithOp, CompareOp, MembershipOp, Op
from policydsl.render import TABLE_ROW

if TYPE_CHECKING:  # made only when a policy cannot be lowered: imported then
    from policydsl.diagnostics import Diagnostic


def lower(policy: CheckedPolicy) -> ir.Lowered:
    """The lowered form of a checked policy; `PolicyError` when a constant cannot be folded."""
    slots = _slots(policy.schema)
    lowerer = _Lowerer(policy, slots)
    problems: dict[tuple[str, Any], Diagnostic] = {}

    def folded(e: model.Expr) -> ir.Expr:
        try:
            return lowerer.expr(e)
        except ConstantTooLarge as err:  # one diagnostic per place, however often it is inlined
            problems.setdefault((err.diagnostic.message, err.diagnostic.span), err.diagnostic)
            return Const(False)

    rules: list[ir.RuleInfo] = []
    always: list[int] = []
    dead: list[int] = []
    conditions: list[tuple[int, tuple[ir.Expr, ...]]] = []
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
                rule.message,
            )
        )
        cond = folded(rule.condition)
        if cond.__class__ is Const and cond == _TRUE:  # only a constant equals one
            always.append(bit)
        elif cond.__class__ is Const and cond == _FALSE:
            dead.append(bit)
        else:
            conditions.append((bit, tuple(conjuncts_of(cond))))

    flags: list[ir.Expr] = []
    outputs: list[ir.OutputIR] = []
    for output in policy.outputs:
        cases: list[tuple[ir.Expr | None, ir.Expr]] = []
        for when, value in output.cases:
            lowered_cond = None if when is None else _flagged(folded(when), flags)
            cases.append((lowered_cond, _flagged(folded(value), flags)))
        outputs.append(ir.OutputIR(output.name, tuple(cases)))
    if problems:
        from policydsl.diagnostics import PolicyError

        raise PolicyError(list(problems.values()))
    return ir.Lowered(
        schema=policy.schema,
        effects=policy.effects,
        default_effect=policy.default_effect,
        slots=slots,
        rules=tuple(rules),
        always=tuple(always),
        dead=tuple(dead),
        conditions=tuple(conditions),
        flags=tuple(flags),
        outputs=tuple(outputs),
        annotation_types=tuple(policy.annotations.items()),
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


_TRUE, _FALSE = Const(True), Const(False)  # compared with, not made, for each node
_LEAVES = (Const, Local, Outcome)  # lowered as they are: no children, nothing to fold


class _Lowerer:
    def __init__(self, policy: CheckedPolicy, slots: tuple[ir.Slot, ...]):
        self.policy = policy
        self.slots = slots
        self.by_path = {s.path: s.index for s in slots}
        self._definitions: dict[str, ir.Expr] = {}  # each lowered once, however often used
        self._reads: dict[tuple[str, ...], ir.SlotRef] = {}  # one per attribute, shared
        # a table's rows by a column, made once however many rules look them up that way (the
        # rows are kept with it: the key is their id)
        self._row_indexes: dict[tuple[int, str], tuple[Any, relations.RowIndex]] = {}

    def expr(self, e: model.Expr) -> ir.Expr:
        """Inline definitions; context reads become slot reads; fold each node as it is made
        (one pass, not a lowering pass then a folding pass)."""
        if isinstance(e, _LEAVES):
            return e
        match e:
            case Attr(path):
                read = self._reads.get(path)
                if read is None:
                    if path not in self.by_path:
                        return self._through_entity(path, present=False)
                    read = self._reads[path] = ir.SlotRef(self.by_path[path])
                return read
            case Present(path):
                # `has a.b` holds when every optional record on the path and the leaf are present;
                # an absent record leaves its fields' slots empty, so the leaf's slot says it all.
                if path not in self.by_path:
                    return self._through_entity(path, present=True)
                return ir.SlotPresent(self.by_path[path])
            case DefRef(name):
                found = self._definitions.get(name)
                if found is None:
                    found = self._definitions[name] = self.expr(self.policy.definitions[name].expr)
                return found
        # Any other node keeps its class over lowered children, which makes it an IR node (the
        # leaves left, constants, locals and outcomes, are both): mypy cannot follow the stages.
        folded = _fold_node(cast("ir.Expr", map_children(e, self.expr)))
        return (
            _rows_by_key(folded, self._row_index)
            if isinstance(folded, nodes.Quantifier)
            else folded
        )

    def _through_entity(self, path: tuple[str, ...], present: bool) -> ir.Expr:
        """A read through an entity reference (`resource.owner.level`): the entity's slot, then
        its attributes, one dict lookup each; for `has`, the presence of the entity's slot (when
        it may be absent), of each optional attribute on the way, and of the last one."""
        at = len(path) - 1
        while path[:at] not in self.by_path:
            at -= 1
        slot = self.by_path[path[:at]]
        expr: ir.Expr = self.expr(Attr(path[:at]))
        tests: list[ir.Expr] = []
        if present and ir.may_be_absent(self.slots, slot):
            tests.append(ir.SlotPresent(slot))
        type_: t.Type = self.slots[slot].type
        for i, part in enumerate(path[at:], start=at + 1):
            record = type_.record if isinstance(type_, t.EntityType) else type_
            assert isinstance(record, t.RecordType), path  # by the checker
            field = record.field(part)
            assert field is not None, path
            if present and (field.optional or i == len(path)):
                tests.append(FieldPresent(expr, part))
            expr, type_ = FieldOf(expr, part), field.type
        return conjunction(tests) if present else expr

    def _row_index(self, rows: tuple[relations.Row, ...], column: str) -> relations.RowIndex:
        made = self._row_indexes.get((id(rows), column))
        if made is None:
            made = self._row_indexes[id(rows), column] = (rows, relations.index(rows, column))
        return made[1]


MAX_FOLDED_BITS = 13_000  # about 3,900 digits: repr() refuses an int of more than 4,300
MAX_FOLDED_DIGITS = 3_900


class ConstantTooLarge(Exception):
    """Constant arithmetic whose value would pass `MAX_FOLDED_BITS`: refused, never computed."""

    def __init__(self, where: ir.Expr):
        from policydsl.codes import Code
        from policydsl.diagnostics import Diagnostic

        self.diagnostic = Diagnostic(
            Code.CONSTANT_TOO_LARGE,
            f"this constant arithmetic makes an integer of more than {MAX_FOLDED_DIGITS:,} digits",
            getattr(where, "span", None),
            help="a policy's integers are ages, counts and limits: write a smaller bound",
        )
        super().__init__(self.diagnostic.message)


def _arithmetic(where: ir.Expr, first: int, rest: list[tuple[ArithOp, int]]) -> int:
    """Fold `first op x op y ...` once, at compile time, so that no decision ever computes it.

    Every constant operand is within `MAX_FOLDED_BITS` (literals have at most 100 digits, folded
    values are checked here), so each step is cheap, and the first step past the limit refuses.
    """
    total = first
    for op, x in rest:
        total = _arith(op, total, x)
        if abs(total).bit_length() > MAX_FOLDED_BITS:
            raise ConstantTooLarge(where)
    return total


def _fold_node(e: ir.Expr) -> ir.Expr:
    """Constant folding and boolean simplification of one node whose children are folded
    already (the lowerer folds bottom-up as it builds)."""
    # negations, memberships and lists by their class, not through the match (no subclasses)
    if type(e) is nodes.Not:
        operand = e.operand
        if type(operand) is Const:
            return Const(not operand.value)
        return operand.operand if type(operand) is nodes.Not else e
    if type(e) is nodes.In:
        return _fold_in(e)
    if type(e) is nodes.ListLit:
        items = e.items
        if not _constants(items):
            return e
        element = items[0].type if items else None
        list_type = None if element is None else t.CollectionType("list", element)
        return Const(tuple(i.value for i in items), type=list_type)
    match e:  # the commonest first: a rule's tests are mostly comparisons
        case nodes.Compare(cmp, Const(a), Const(b)):
            return Const(_compare(cmp, a, b))
        case nodes.Compare():
            return e
        case nodes.And(ops) if len(ops) > 1 and not any(
            isinstance(o, Const | nodes.And) for o in ops
        ):
            return e  # nothing to fold or flatten: the conjunction as it was just made
        case nodes.Or(ops) if len(ops) > 1 and not any(
            isinstance(o, Const | nodes.Or) for o in ops
        ):
            return e
        case nodes.And(ops):
            kept: list[ir.Expr] = []
            for operand in ops:  # only a constant equals a constant
                if isinstance(operand, Const) and operand == _FALSE:
                    return Const(False)
                if not (isinstance(operand, Const) and operand == _TRUE):
                    kept.extend(operand.operands if isinstance(operand, nodes.And) else [operand])
            return conjunction(kept)
        case nodes.Or(ops):
            kept = []
            for operand in ops:
                if isinstance(operand, Const) and operand == _TRUE:
                    return Const(True)
                if not (isinstance(operand, Const) and operand == _FALSE):
                    kept.extend(operand.operands if isinstance(operand, nodes.Or) else [operand])
            return _or(kept)
        case nodes.Arith(Const(first), rest) if all(isinstance(x, Const) for _, x in rest):
            return Const(_arithmetic(e, first, [(op, cast(Const, x).value) for op, x in rest]))
        case nodes.Neg(Const(value)):
            return Const(-value)
        case SetOf(Const(value) as listed):
            return Const(frozenset(value), type=_set_of(listed.type))
        case Size(Const(value)):
            return Const(len(value))
        case Uids(Const(value), many):  # a group named in the policy: its uid, a constant
            return Const(frozenset(v.uid for v in value) if many else value.uid)
        case TimeCall(func, args) if _constants(args):
            try:
                return Const(datetimes.apply(func, *(a.value for a in args)))
            except datetimes.TimeOverflow:
                return e  # left to fail when decided, as the language says
    return e


def _fold_in(e: nodes.In[ir.Expr]) -> ir.Expr:
    """A membership in a constant: of a constant, decided; in nothing, its negation; in a
    list, made a membership in a set."""
    listed, element = e.collection, e.element
    if type(listed) is not Const:
        return e
    b = listed.value
    if type(element) is Const:
        return Const(_member(e.op, element.value, b))
    if isinstance(b, tuple | frozenset) and not b:
        return Const(e.negated)  # nothing is in an empty collection
    if isinstance(b, tuple):
        made = Const(frozenset(b), type=_set_of(listed.type))
        return nodes.In(e.element, made, e.negated, span=e.span)
    return e


def _rows_by_key(
    q: nodes.Quantifier[ir.Expr], index: Callable[[Any, str], relations.RowIndex]
) -> ir.Expr:
    """`some r in TABLE: r.column == key and ...`, `key` not reading `r`: the rows with that
    value looked up (`RowsWhere`, the rows by `index(rows, column)`), not every row scanned. The
    test stays as it was, so a row found is checked as before; the key is read where the `some`
    is, under the same facts."""
    table = q.collection
    if q.kind != "some" or not isinstance(table, Const):
        return q
    element = table.type.element if isinstance(table.type, t.CollectionType) else None
    if not isinstance(element, t.RecordType) or not element.name.startswith(TABLE_ROW):
        return q  # not a table's rows
    first = q.body.operands[0] if isinstance(q.body, nodes.And) else q.body
    if not isinstance(first, nodes.Compare) or first.op != Op.EQ:
        return q
    for side, key in ((first.left, first.right), (first.right, first.left)):
        row_column = isinstance(side, FieldOf) and side.base == Local(q.var.name)
        if row_column and q.var.name not in _locals_read(key):
            assert isinstance(side, FieldOf)
            name = element.name.removeprefix(TABLE_ROW).strip("`")
            found = RowsWhere(name, side.name, index(table.value, side.name), key)
            return attrs.evolve(q, collection=found)
    return q


def _locals_read(e: Any) -> set[str]:
    if isinstance(e, Local):
        return {e.name}
    return {name for child in children(e) for name in _locals_read(child)}


def _set_of(listed: t.Type | None) -> t.Type | None:
    """The type of a constant list made a set (for printing: it may hold enum members)."""
    if isinstance(listed, t.CollectionType):
        return t.CollectionType("set", listed.element)
    return None


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
        case Op.MOD:  # the checker proved b >= 1
            return a % b
        case _:
            assert_never(op)


def conjunction(parts: list[ir.Expr]) -> ir.Expr:
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
