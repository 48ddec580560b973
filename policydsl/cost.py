"""Static cost bounds: how many elementary steps a rule, and a whole decision, can take at most.

In the spirit of CEL's `EstimateCost`, the bound is derived from the schema alone: every string
and collection a request can hold has a declared (or default) maximum size, so every operator's
worst case is known before any request arrives. The unit is one elementary step:

- applying an operator is 1 step; reading a constant, an attribute or a variable is free;
- a quantifier runs its body once per element: `some x in xs: p` costs `|xs| * cost(p) + 1`,
  so nested quantifiers multiply;
- string work is charged one step per `CHARS_PER_STEP` characters scanned (as CEL does):
  `==` on strings by the shorter one, `starts_with`/`ends_with` by the prefix or suffix, `like`
  by text length * pattern length (the worst case of its non-backtracking matcher);
- membership in a list scans it (`|xs|` comparisons), in a set is one lookup; `contains_any`
  and `contains_all` build a set of one side, so they cost `|xs| + |ys|`;
- validating the request visits every attribute and every element of every collection.

A rule's bound is its condition's cost; a decision's bound adds validation, every rule (the
interpreter evaluates them all) and the outputs. The bounds are upper bounds: the indexed backend
usually does far less.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import assert_never

import attrs

from policydsl import model, nodes
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic
from policydsl.operators import Op

CHARS_PER_STEP = 10
DEFAULT_MAX_COST = 1_000_000  # steps; `policyc check --max-cost N` reports rules past it


@attrs.frozen
class Shape:
    """What bounds a value's size: `size` is a string's maximum length or a collection's maximum
    number of elements (1 for anything else); `element` is a collection's elements' shape, and
    `fields` a record's (a record read from a list of records), by name."""

    size: int = 1
    element: Shape | None = None
    is_set: bool = False
    is_string: bool = False
    fields: tuple[tuple[str, Shape], ...] = ()
    # an entity's attributes, made into shapes as they are read (an entity type may refer to
    # itself: `manager: User?`)
    entity: t.EntityType | None = None


SCALAR = Shape()
# an entity's ancestors, or a set of uids: hashed lookups of uids hashed once, when loaded
UIDS = Shape(1, SCALAR, is_set=True)


@attrs.frozen
class CostReport:
    """The bounds of one policy set: per rule, for validation, for outputs and in all."""

    rules: dict[str, int]
    validation: int
    outputs: int

    @property
    def decision(self) -> int:
        return self.validation + sum(self.rules.values()) + self.outputs

    def over(self, limit: int) -> list[tuple[str, int]]:
        """The rules whose bound is past `limit`, costliest first."""
        return sorted(
            ((rule, cost) for rule, cost in self.rules.items() if cost > limit),
            key=lambda item: (-item[1], item[0]),
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "decision": self.decision,
            "validation": self.validation,
            "outputs": self.outputs,
            "rules": dict(self.rules),
        }


def cost_diagnostics(
    report: CostReport, policy: model.CheckedPolicy, limit: int
) -> list[Diagnostic]:
    """W501 for each rule whose bound is past `limit`; W502 when only the whole decision is."""
    spans = {rule.id: rule.span for rule in policy.rules}
    found = [
        Diagnostic(
            Code.RULE_TOO_COSTLY,
            f"rule `{rule}` may take up to {cost:,} steps per decision (the limit is {limit:,})",
            spans.get(rule),
            "declare smaller maxima for the collections and strings it reads "
            "(`list<T>[..100]`, `string[..256]`), or raise the limit (`--max-cost`)",
            severity="warning",
        )
        for rule, cost in report.over(limit)
    ]
    if not found and report.decision > limit:
        found.append(
            Diagnostic(
                Code.DECISION_TOO_COSTLY,
                f"a decision may take up to {report.decision:,} steps (the limit is {limit:,})",
                policy.effects_span,
                "declare smaller maxima for the request's collections and strings, "
                "or raise the limit (`--max-cost`)",
                severity="warning",
            )
        )
    return found


def shape_of(type_: t.Type) -> Shape:
    match type_:
        case t.StringType(max_length):
            return Shape(max_length, is_string=True)
        case t.CollectionType(kind, element, max_size):
            inner = shape_of(element)
            size = max_size
            if kind == "set":  # a set holds each distinct value once
                if isinstance(element, t.EnumType):
                    size = min(size, len(element.members))
                elif isinstance(element, t.BoolType):
                    size = min(size, 2)
            return Shape(size, inner, is_set=kind == "set")
        case t.RecordType(_, fields):
            return Shape(len(fields), fields=tuple((f.name, shape_of(f.type)) for f in fields))
        case t.MapType(value, max_size):  # looked up by hashing the key, as a set is
            return Shape(max_size, shape_of(value), is_set=True)
        case t.EntityType():
            return Shape(entity=type_)
    return SCALAR


MAP_KEY = Shape(t.MAX_STRING, is_string=True)


def _chars(n: int) -> int:
    return -(-n // CHARS_PER_STEP)


def validation_cost(record: t.RecordType) -> int:
    """Reading and checking every attribute, and every element of every collection."""
    total = 1
    for field in record.fields:
        total += _value_cost(field.type)
    return total


def _value_cost(type_: t.Type) -> int:
    match type_:
        case t.RecordType():
            return validation_cost(type_)
        case t.CollectionType(_, element, max_size):
            return 1 + max_size * _value_cost(element)
        case t.MapType(value, max_size):  # each key's type and length, and its value
            return 1 + max_size * (1 + _value_cost(value))
    return 1


def policy_cost(policy: model.CheckedPolicy) -> CostReport:
    """The cost bounds of every rule, of validation, of the outputs."""
    estimator = _Estimator(policy)
    rules = {rule.id: estimator.cost(rule.condition, {}) for rule in policy.rules}
    outputs = 0
    for output in policy.outputs:
        for condition, value in output.cases:
            if condition is not None:
                outputs += estimator.cost(condition, {})
            outputs += estimator.cost(value, {})
    return CostReport(rules, validation_cost(policy.schema), outputs)


class _Estimator:
    def __init__(self, policy: model.CheckedPolicy):
        self.policy = policy
        self._definitions: dict[str, tuple[int, Shape]] = {}
        self._attributes: dict[tuple[str, ...], Shape] = {}  # each read's shape, found once

    def cost(self, e: model.Expr, scope: Mapping[str, Shape]) -> int:
        return self.bound(e, scope)[0]

    def bound(self, e: model.Expr, scope: Mapping[str, Shape]) -> tuple[int, Shape]:
        """(the most steps evaluating `e` can take, the shape of its value)."""
        match e:
            case model.Const(value):
                return 0, _shape_of_value(value)
            case model.Attr(path):
                shape = self._attributes.get(path)
                if shape is None:
                    shape = self._attributes[path] = self._attribute(path)
                return 0, shape
            case nodes.Compare(op, left, right):
                (lc, ls), (rc, rs) = self.bound(left, scope), self.bound(right, scope)
                step = 1
                if op in (Op.EQ, Op.NE) and (ls.is_string or rs.is_string):
                    step += _chars(min(ls.size, rs.size))
                return lc + rc + step, SCALAR
            case nodes.And(operands) | nodes.Or(operands):
                return sum(self.cost(o, scope) for o in operands) + 1, SCALAR
            case model.Present():
                return 1, SCALAR
            case model.DefRef(name):
                return self._definition(name)
            case model.Local(name):
                return 0, scope.get(name, SCALAR)
            case model.FieldOf(base, name):
                cost, shape = self.bound(base, scope)
                if shape.entity is not None:  # an attribute read through a reference
                    field = shape.entity.record.field(name)
                    return cost + 1, SCALAR if field is None else shape_of(field.type)
                fields = dict(shape.fields)  # a request's record; else a fired rule
                return cost + 1, fields[name] if name in fields else self._rule_field(name)
            case model.FieldPresent(base):
                return self.cost(base, scope) + 1, SCALAR
            case model.Outcome(name):
                if name == "fired":
                    return 0, Shape(max(len(self.policy.rules), 1), SCALAR)
                return 0, SCALAR
            case model.Size(arg):
                return self.cost(arg, scope) + 1, SCALAR
            case model.Ancestors(arg):  # a set the entity data computed
                return self.cost(arg, scope) + 1, UIDS
            case model.Uids(arg, many):
                cost, shape = self.bound(arg, scope)
                if many:
                    return cost + shape.size, Shape(shape.size, SCALAR, is_set=True)
                return cost + 1, SCALAR
            case model.TimeCall(_, args):  # integer arithmetic on milliseconds
                return sum(self.cost(a, scope) for a in args) + 1, SCALAR
            case model.MapGet(base, key) | model.MapHas(base, key):
                (bc, bs), (kc, ks) = self.bound(base, scope), self.bound(key, scope)
                found = bs.element or SCALAR if isinstance(e, model.MapGet) else SCALAR
                return bc + kc + _compare_step(ks), found
            case model.MapView(kind, arg):  # a copy of the keys or the values
                cost, shape = self.bound(arg, scope)
                if kind == "keys":
                    return cost + shape.size, Shape(shape.size, MAP_KEY, is_set=True)
                return cost + shape.size, Shape(shape.size, shape.element)
            case model.SetOf(items):
                cost, shape = self.bound(items, scope)
                return cost + shape.size, attrs.evolve(shape, is_set=True)
            case nodes.Not(operand) | nodes.Neg(operand):
                return self.cost(operand, scope) + 1, SCALAR
            case nodes.In(element, collection):
                (ec, es), (cc, cs) = self.bound(element, scope), self.bound(collection, scope)
                return ec + cc + _lookup(es, cs), SCALAR
            case nodes.SetTest(op, left, right):
                (lc, ls), (rc, rs) = self.bound(left, scope), self.bound(right, scope)
                return lc + rc + _set_test(op, ls, rs), SCALAR
            case nodes.Arith(first, rest):
                return self.cost(first, scope) + sum(self.cost(o, scope) for _, o in rest) + len(
                    rest
                ), SCALAR
            case nodes.Quantifier(_, var, collection, body):
                cost, shape = self.bound(collection, scope)
                inner = {**scope, var.name: shape.element or SCALAR}
                return cost + shape.size * self.cost(body, inner) + 1, SCALAR
            case nodes.ListLit(items):
                bounds = [self.bound(i, scope) for i in items]
                longest = max((b.size for _, b in bounds), default=1)
                strings = any(b.is_string for _, b in bounds)
                item = Shape(longest, is_string=strings)
                return sum(c for c, _ in bounds) + len(items), Shape(max(len(items), 1), item)
        raise AssertionError(f"no cost for {e!r}")  # pragma: no cover

    def _attribute(self, path: tuple[str, ...]) -> Shape:
        record: t.Type = self.policy.schema
        for part in path:
            if isinstance(record, t.EntityType):
                record = record.record
            if not isinstance(record, t.RecordType):
                return SCALAR
            field = record.field(part)
            if field is None:
                return SCALAR
            record = field.type
        return shape_of(record)

    def _definition(self, name: str) -> tuple[int, Shape]:
        """A definition's bound, computed once: each use pays it (definitions are inlined)."""
        found = self._definitions.get(name)
        if found is None:
            found = self.bound(self.policy.definitions[name].expr, {})
            self._definitions[name] = found
        return found

    def _rule_field(self, name: str) -> Shape:
        """A fired rule's field: its id, its citations and tags, or an annotation."""
        rules = self.policy.rules
        if name == "id":
            return Shape(max((len(r.id) for r in rules), default=1), is_string=True)
        if name in ("cite", "tags"):
            values = [r.cite if name == "cite" else r.tags for r in rules]
            longest = max((len(v) for vs in values for v in vs), default=1)
            most = max((len(vs) for vs in values), default=1)
            return Shape(max(most, 1), Shape(longest, is_string=True), is_set=True)
        annotation = self.policy.annotations.get(name)
        return shape_of(annotation) if annotation is not None else SCALAR


_STRINGS = [Shape(n, is_string=True) for n in range(256)]  # a short string constant's shape


def _shape_of_value(value: object) -> Shape:
    if isinstance(value, str):
        n = len(value)
        return _STRINGS[n] if n < len(_STRINGS) else Shape(n, is_string=True)
    if isinstance(value, tuple | frozenset):
        longest = max((len(v) for v in value if isinstance(v, str)), default=1)
        strings = any(isinstance(v, str) for v in value)
        element = Shape(longest, is_string=strings)
        return Shape(max(len(value), 1), element, is_set=isinstance(value, frozenset))
    return SCALAR


def _compare_step(element: Shape) -> int:
    """One equality test between elements of this shape."""
    return 1 + (_chars(element.size) if element.is_string else 0)


def _lookup(element: Shape, collection: Shape) -> int:
    """`x in xs`: one hashed lookup in a set, a scan of a list."""
    if collection.is_set:
        return _compare_step(element)
    return collection.size * _compare_step(element)


def _set_test(op: Op, left: Shape, right: Shape) -> int:
    match op:
        case Op.CONTAINS:
            return _lookup(right, left)
        case Op.CONTAINS_ANY | Op.CONTAINS_ALL:
            element = left.element or right.element or SCALAR
            return (left.size + right.size) * _compare_step(element)
        case Op.STARTS_WITH | Op.ENDS_WITH:
            return 1 + _chars(min(left.size, right.size))
        case Op.LIKE:
            return 1 + _chars(left.size * right.size) + _chars(right.size)
        case Op.MATCHES:  # RE2: linear in the text
            return 1 + _chars(left.size)
        case Op.IN_RANGE:  # parse an address of at most 64 characters, compare two integers
            return 2
        case (
            Op.EQ
            | Op.NE
            | Op.LT
            | Op.LE
            | Op.GT
            | Op.GE
            | Op.IN
            | Op.NOT_IN
            | Op.ADD
            | Op.SUB
            | Op.MUL
            | Op.MOD
            | Op.NEG
            | Op.AND
            | Op.OR
            | Op.NOT
        ):
            raise AssertionError(f"{op} is not a set test")  # pragma: no cover
        case _:
            assert_never(op)
