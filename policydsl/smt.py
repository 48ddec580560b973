"""Encoding a checked policy into solver terms (z3): the requests a schema admits, the rules each
fires, the decision, obligations and outputs.

It reads the checked model as the reference interpreter does (`interp`), never the compiled IR, so
a proof is a third witness of the semantics. What it does not cover raises `Unsupported`: the
caller reports the question as not decided, never as proved. z3 is imported by whoever builds an
`Encoder` (`policydsl[verify]`), never by the core package.
"""

from __future__ import annotations

import importlib
import itertools
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, assert_never

import attrs

from policydsl import model, nodes
from policydsl import typesys as t
from policydsl.decision import to_json
from policydsl.operators import ArithOp, CompareOp, Op, SetOp
from policydsl.smt_records import (
    Kinds,
    Record,
    Shape,
    distinct,
    each_element,
    element_bounds,
    example_value,
    int_bounds,
    shape_of,
)

z3: Any = None  # the module, once `load_z3` found it


class Unsupported(Exception):
    """A construct the encoding does not cover: the question is not decided."""


def load_z3() -> Any:
    """The z3 module, or ImportError naming the extra that installs it."""
    global z3
    if z3 is None:
        try:
            module = importlib.import_module("z3")  # ships no types: its terms are `Any` here
        except ImportError as err:
            raise ImportError("policyc verify needs z3: pip install 'policydsl[verify]'") from err
        z3 = module
    return z3


# ---- symbolic values ----------------------------------------------------------------------------
# A value is a Python constant (as `interp` holds it), a z3 term (bool, int, string), or one of:


@attrs.frozen
class Enum:
    """An enum value: its member's index in `type.members`, as a z3 int."""

    term: Any
    type: t.EnumType


@attrs.frozen
class EnumBag:
    """A set or list of enum members: one flag per member, and (for a list) its length."""

    flags: Mapping[str, Any]
    type: t.EnumType
    count: Any  # z3 int: the number of elements as given (a set's distinct members)


@attrs.frozen
class Sequence_:
    """A set or list of strings, ints or bools, or a list of records (`shape`), as given in
    the request: a z3 sequence."""

    term: Any
    kind: str  # "list" | "set"
    shape: Shape | None = None
    max_size: int | None = None  # small: read element by element (`smt_records.UNROLL`)


@attrs.frozen
class Items:
    """A finite list of values known per request: `[x, "a"]`, or the rules that fired (each
    with the condition under which it is there)."""

    items: tuple[tuple[Any, Any], ...]  # (guard, value)
    kind: str


@attrs.frozen
class Unencoded:
    """An output the encoding does not cover: reading it (in a claim, a diff) is `Unsupported`;
    the rest of the outcome is still exact."""

    reason: str


# ---- requests -----------------------------------------------------------------------------------


class Request:
    """One symbolic request for a schema: variables for every attribute and the constraints that
    make them a valid request (ranges, sizes, members)."""

    def __init__(self, schema: t.RecordType, tag: str) -> None:
        load_z3()
        self.tag = tag
        self.schema = schema
        self.constraints: list[Any] = []
        self.values: dict[tuple[str, ...], Any] = {}
        self.present: dict[tuple[str, ...], Any] = {}
        self.types: dict[tuple[str, ...], t.FieldType] = {}
        self._record(schema, ())

    def _name(self, path: tuple[str, ...], what: str = "") -> str:
        return f"{self.tag}{'.'.join(path)}{what}"

    def _record(self, record: t.RecordType, prefix: tuple[str, ...]) -> None:
        for field in record.fields:
            path = (*prefix, field.name)
            self.types[path] = field
            self.present[path] = (
                z3.Bool(self._name(path, "?")) if field.optional else z3.BoolVal(True)
            )
            if isinstance(field.type, t.RecordType):
                self._record(field.type, path)
            elif not isinstance(field.type, t.MapType):  # a map: not decided once read
                self.values[path] = self._leaf(field.type, path)

    def _leaf(self, type_: t.Type, path: tuple[str, ...]) -> Any:
        name = self._name(path)
        match type_:
            case t.BoolType():
                return z3.Bool(name)
            case t.IntType() | t.DecimalType():  # a decimal is its scaled integer, as at run time
                var = z3.Int(name)
                self._range(var, *int_bounds(type_))
                return var
            case t.StringType(max_length):
                var = z3.String(name)
                self.constraints.append(z3.Length(var) <= max_length)
                return var
            case t.EnumType():
                var = z3.Int(name)
                self.constraints.append(z3.And(var >= 0, var < len(type_.members)))
                return Enum(var, type_)
            case t.IpType():
                raise Unsupported("IP addresses")
            case t.CollectionType(kind, t.EnumType() as element, max_size):
                flags = {m: z3.Bool(f"{name}[{m}]") for m in element.members}
                count = z3.Int(f"{name}#")
                held = _count(flags.values())  # the distinct members
                self.constraints.append(z3.And(held <= count, count <= max_size))
                if kind == "set":
                    self.constraints.append(count == held)
                else:
                    self.constraints.append((count == 0) == (held == 0))
                return EnumBag(flags, element, count)
            case t.CollectionType("list", t.RecordType() as element, max_size):
                shape = shape_of(z3, element, Kinds(Enum, Sequence_, Unsupported))
                var = z3.Const(name, z3.SeqSort(shape.sort))
                self.constraints.append(z3.Length(var) <= max_size)
                self.constraints.append(
                    each_element(
                        z3, var, max_size, lambda x: z3.And(shape.constraints(x)), some=False
                    )
                )
                return Sequence_(var, "list", shape, max_size)
            case t.CollectionType(kind, element, max_size):
                var = z3.Const(name, z3.SeqSort(_sort(element)))
                self.constraints.append(z3.Length(var) <= max_size)
                bounds = element_bounds(z3, element)
                if bounds is not None:
                    self.constraints.append(each_element(z3, var, max_size, bounds, some=False))
                if kind == "set":  # each element once: the set's size is the sequence's length
                    self.constraints.append(distinct(z3, var, max_size))
                return Sequence_(var, kind, None, max_size)
        what = "entities" if isinstance(type_, t.EntityType) else "attributes"
        raise Unsupported(f"{what} of type `{type_}`")

    def _range(self, var: Any, lo: int | None, hi: int | None) -> None:
        if lo is not None:
            self.constraints.append(var >= lo)
        if hi is not None:
            self.constraints.append(var <= hi)

    def has(self, path: Sequence[str]) -> Any:
        """`has a.b.c`: every record on the path and the attribute itself are present."""
        return z3.And([self.present[tuple(path[: i + 1])] for i in range(len(path))])

    def same_as(self, other: Request, but: tuple[str, ...] = ()) -> Any:
        """Both requests give every attribute (but `but`) the same presence and value."""
        same = []
        for path, present in self.present.items():
            same.append(present == other.present[path])
        for path, value in self.values.items():
            if path != but:
                same.append(_equal_terms(value, other.values[path]))
        return z3.And(same)

    def preferences(self) -> list[Any]:
        """What makes an example short to read: optional attributes absent, defaults kept,
        collections empty, flags off. `shrink` keeps each one the question still allows."""
        prefer = [z3.Not(p) for p in self.present.values() if not z3.is_true(p)]
        for path, value in self.values.items():
            field = self.types[path]
            if isinstance(value, EnumBag):
                prefer.extend(z3.Not(f) for f in value.flags.values())
                prefer.append(value.count == _count(value.flags.values()))
            elif isinstance(value, Sequence_):  # empty, else as short as it can be
                prefer.extend(z3.Length(value.term) <= n for n in (0, 1, 2, 3))
            elif field.default is not t.MISSING:
                prefer.append(_equal_terms(value, _default_term(value, field.default)))
            elif z3.is_bool(value):
                prefer.append(z3.Not(value))
            elif isinstance(field.type, t.IntType):
                lo, hi = field.type.lo, field.type.hi
                prefer.append(value == (lo if lo is not None and lo > 0 else min(0, hi or 0)))
            elif isinstance(field.type, t.StringType):
                prefer.append(z3.Length(value) == 0)
        return prefer

    def example(self, found: Any) -> dict[str, Any]:
        """The request a model of the solver describes, as JSON data."""
        return self._example(found, self.schema, ())

    def _example(self, found: Any, record: t.RecordType, prefix: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in record.fields:
            path = (*prefix, field.name)
            if not z3.is_true(found.eval(self.present[path], model_completion=True)):
                continue
            if isinstance(field.type, t.RecordType):
                inner = self._example(found, field.type, path)
                if inner or field.optional:
                    out[field.name] = inner
                continue
            value = _value_of(found, self.values[path]) if path in self.values else {}
            if field.default is t.MISSING or value != to_json(field.default):
                out[field.name] = example_value(field.type, value)  # a default is left out
        return out


def shrink(solver: Any, preferences: list[Any], *, seconds: float = 5.0) -> Any:
    """A model of `solver` (whose last check was sat) that meets as many `preferences` as it
    can, in a few checks however many there are: all are tried at once, and where they
    conflict, each half in turn (earlier ones first), down to the single preferences given up.
    Past `seconds`, or where the solver gives up on a check, the rest are given up: a longer
    example, never a wrong one. Pushes a scope the caller pops when done."""
    best = [solver.model()]
    solver.push()
    marks = [z3.Bool(f"_prefer{next(_MARKS)}") for _ in preferences]
    for mark, preference in zip(marks, preferences, strict=True):
        solver.add(z3.Implies(mark, preference))
    deadline = time.monotonic() + seconds

    def keep(held: list[Any], candidates: list[Any]) -> list[Any]:
        if not candidates or time.monotonic() > deadline:
            return []
        if solver.check(*held, *candidates) == z3.sat:
            best.append(solver.model())
            return candidates
        if len(candidates) == 1:
            return []
        middle = len(candidates) // 2
        first = keep(held, candidates[:middle])
        return first + keep(held + first, candidates[middle:])

    keep([], marks)
    return best[-1]  # each sat check's model meets more preferences than the one before


_MARKS = itertools.count()


def _default_term(value: Any, default: Any) -> Any:
    if isinstance(value, Enum):
        return Enum(z3.IntVal(value.type.members.index(default)), value.type)
    return _string(default)


def _count(flags: Any) -> Any:
    return z3.Sum([z3.If(f, 1, 0) for f in flags]) if flags else z3.IntVal(0)


def _sort(element: t.Type) -> Any:
    match element:
        case t.BoolType():
            return z3.BoolSort()
        case t.IntType() | t.DecimalType():
            return z3.IntSort()
        case t.StringType():
            return z3.StringSort()
    raise Unsupported(f"collections of `{element}`")


def _equal_terms(a: Any, b: Any) -> Any:
    if isinstance(a, Enum) and isinstance(b, Enum):
        return a.term == b.term
    if isinstance(a, EnumBag) and isinstance(b, EnumBag):
        return z3.And(a.count == b.count, *(a.flags[m] == b.flags[m] for m in a.flags))
    if isinstance(a, Sequence_) and isinstance(b, Sequence_):
        return a.term == b.term
    return a == b


def _value_of(found: Any, value: Any) -> Any:
    match value:
        case Enum(term, type_):
            return type_.members[found.eval(term, model_completion=True).as_long()]
        case EnumBag(flags, type_, count):
            members = [m for m in type_.members if z3.is_true(found.eval(flags[m], True))]
            length = found.eval(count, model_completion=True).as_long()
            return members + members[:1] * (length - len(members))
        case Sequence_(term, _, shape):
            length = found.eval(z3.Length(term), model_completion=True).as_long()
            items = [found.eval(term[i], model_completion=True) for i in range(length)]
            if shape is not None:
                return [shape.example(found, item, _scalar) for item in items]
            return [_scalar(item) for item in items]
    return _scalar(found.eval(value, model_completion=True))


def _scalar(term: Any) -> Any:
    if z3.is_bool(term):
        return z3.is_true(term)
    if z3.is_int_value(term):
        return term.as_long()
    if z3.is_string_value(term):
        return _text(term)
    raise Unsupported(f"a solver value `{term}`")


# ---- expressions --------------------------------------------------------------------------------


@attrs.define
class Env:
    """What an expression reads: the request, the bound locals, and (in outputs and claims) the
    outcome; definitions are encoded once per environment."""

    request: Request
    outcome: Mapping[str, Any] = attrs.Factory(dict)
    locals: dict[str, Any] = attrs.Factory(dict)
    defs: dict[str, Any] = attrs.Factory(dict)


class Encoder:
    """Terms for one checked policy: `decide(request)` gives its outcome as solver terms."""

    def __init__(self, policy: model.CheckedPolicy) -> None:
        load_z3()
        self.policy = policy
        self.effect_type = policy.effect_type
        self._fresh = itertools.count()

    def expr(self, e: Any, env: Env) -> Any:
        match e:
            case model.Const(value):
                return value
            case model.Attr(path) if tuple(path) in env.request.values:  # else: a map
                return env.request.values[tuple(path)]
            case model.Present(path):
                return env.request.has(path)
            case model.DefRef(name):
                if name not in env.defs:
                    env.defs[name] = self.expr(self.policy.definitions[name].expr, env)
                return env.defs[name]
            case model.Local(name):
                return _covered(env.locals[name])
            case model.FieldOf(base, name):
                record = self.expr(base, env)
                if isinstance(record, Record):
                    return record.shape.read(record.term, name)
                if not isinstance(record, Mapping) or name not in record:
                    raise Unsupported(f"reading `{name}` of a value known only per request")
                return record[name]
            case model.FieldPresent(base, name):
                record = self.expr(base, env)
                if isinstance(record, Record):
                    return record.shape.present(record.term, name)
                if not isinstance(record, Mapping):
                    raise Unsupported(f"`has` on `{name}` of a value known only per request")
                return name in record
            case model.Outcome(name):
                return _covered(env.outcome[name])
            case model.Size(arg):
                return self.size(self.expr(arg, env))
            case model.SetOf(items):
                found = self.expr(items, env)
                if isinstance(found, Items):
                    return Items(found.items, "set")
                return frozenset(found)
            case nodes.And(operands):
                terms = []
                for operand in operands:  # as interp: a false operand stops the rest
                    term = self.expr(operand, env)
                    if term is False:
                        return False
                    if term is not True:
                        terms.append(term)
                return z3.And(terms) if terms else True
            case nodes.Or(operands):
                terms = []
                for operand in operands:
                    term = self.expr(operand, env)
                    if term is True:
                        return True
                    if term is not False:
                        terms.append(term)
                return z3.Or(terms) if terms else False
            case nodes.Not(operand):
                term = self.expr(operand, env)
                return (not term) if isinstance(term, bool) else z3.Not(term)
            case nodes.Compare(op, left, right):
                return self.compare(op, self.expr(left, env), self.expr(right, env))
            case nodes.In(element, collection):
                found = self.member(self.expr(element, env), self.expr(collection, env))
                return _not(found) if e.negated else found
            case nodes.SetTest(op, left, right):
                return self.set_test(op, self.expr(left, env), self.expr(right, env))
            case nodes.Arith(first, rest):
                total = self.expr(first, env)
                for arith, operand in rest:
                    total = _arith(arith, total, self.expr(operand, env))
                return total
            case nodes.Neg(operand):
                return -self.expr(operand, env)
            case nodes.Quantifier(kind, var, collection, body):
                return self.quantifier(kind, var.name, self.expr(collection, env), body, env)
            case nodes.ListLit(items):
                values = tuple(self.expr(i, env) for i in items)
                if all(_concrete(v) for v in values):
                    return values
                return Items(tuple((True, v) for v in values), "list")
        raise Unsupported(f"the expression `{type(e).__name__}`")

    # ---- operators ----

    def equal(self, a: Any, b: Any) -> Any:
        if _concrete(a) and _concrete(b):
            return a == b
        if isinstance(a, Record) and isinstance(b, Record):
            return a.shape.equal(a.term, b.term)
        if isinstance(a, Record) or isinstance(b, Record):
            raise Unsupported("comparing a record with a value that is not one")
        if isinstance(b, Enum | EnumBag | Sequence_ | Items) and not isinstance(a, Enum | EnumBag):
            a, b = b, a
        match a:
            case Enum(term, type_):
                if isinstance(b, str):
                    return term == type_.members.index(b) if type_.has(b) else False
                if isinstance(b, Enum):
                    return term == b.term
            case EnumBag(flags, type_, _) if isinstance(b, frozenset):
                if b - set(type_.members):
                    return False
                return z3.And([flags[m] == (m in b) for m in type_.members])
            case Sequence_(term, "list") if isinstance(b, tuple):
                return term == _sequence(b, term.sort())
            case Sequence_(term, "set") if isinstance(b, frozenset):
                return z3.And(
                    *(self.member(v, a) for v in b),
                    self._each(a, lambda x: self.member(x, b), any_=False),
                )
            case Sequence_() | Items() | EnumBag():
                raise Unsupported("comparing collections with `==`")
        return _string(a) == _string(b)

    def compare(self, op: CompareOp, a: Any, b: Any) -> Any:
        match op:
            case Op.EQ:
                return self.equal(a, b)
            case Op.NE:
                return _not(self.equal(a, b))
            case Op.LT:
                return a < b
            case Op.LE:
                return a <= b
            case Op.GT:
                return a > b
            case Op.GE:
                return a >= b
            case _:
                assert_never(op)

    def member(self, x: Any, coll: Any) -> Any:
        match coll:
            case frozenset() | tuple() if _concrete(x):
                return x in coll
            case frozenset() | tuple():
                return _or([self.equal(x, v) for v in coll])
            case EnumBag(flags, type_, _):
                if isinstance(x, str):
                    return flags[x] if type_.has(x) else False
                if isinstance(x, Enum):
                    return _or([z3.And(x.term == i, flags[m]) for i, m in enumerate(type_.members)])
            case Sequence_(term):
                return z3.Contains(term, z3.Unit(_term(x)))
            case Items(items):
                return _or([_and([g, self.equal(x, v)]) for g, v in items])
        raise Unsupported("membership in this collection")

    def size(self, coll: Any) -> Any:
        match coll:
            case frozenset() | tuple():
                return len(coll)
            case EnumBag(_, _, count):
                return count
            case Sequence_(term):  # a set's elements are distinct (`Request._leaf`)
                return z3.Length(term)
            case Items(items, "list"):
                return z3.Sum([z3.If(g, 1, 0) for g, _ in items]) if items else 0
        raise Unsupported("`size` of a set of values known per request")

    def set_test(self, op: SetOp, a: Any, b: Any) -> Any:
        match op:
            case Op.CONTAINS:
                return self.member(b, a)
            case Op.CONTAINS_ANY:
                return self._each(b, lambda x: self.member(x, a), any_=True)
            case Op.CONTAINS_ALL:
                return self._each(b, lambda x: self.member(x, a), any_=False)
            case Op.STARTS_WITH | Op.ENDS_WITH:
                if isinstance(a, str) and isinstance(b, str):
                    return a.startswith(b) if op is Op.STARTS_WITH else a.endswith(b)
                s, p = _string(a), _string(b)
                return z3.PrefixOf(p, s) if op is Op.STARTS_WITH else z3.SuffixOf(p, s)
            case Op.LIKE:
                if not isinstance(b, str):
                    raise Unsupported("`like` with a pattern known only per request")
                return z3.InRe(_string(a), glob_regex(b))
            case Op.MATCHES:
                raise Unsupported("`matches` (a regular expression)")
            case Op.IN_RANGE:
                raise Unsupported("`in_range` (IP addresses)")
            case _:
                assert_never(op)

    def _each(self, coll: Any, test: Any, any_: bool) -> Any:
        """Whether `test` holds of some (`any_`) or of every element of `coll`."""
        if isinstance(coll, Sequence_):
            return each_element(z3, coll.term, coll.max_size, lambda x: _bool(test(x)), any_)
        elements = self.elements(coll)
        if any_:
            return _or([_and([g, test(v)]) for g, v in elements])
        return _and([_implies(g, test(v)) for g, v in elements])

    def elements(self, coll: Any) -> Iterator[tuple[Any, Any]]:
        """(guard, element) for every element a finite collection may hold."""
        match coll:
            case frozenset() | tuple():
                yield from ((True, v) for v in coll)
            case EnumBag(flags, type_, _):
                yield from ((flags[m], m) for m in type_.members)
            case Items(items):
                yield from items
            case _:
                raise Unsupported("an unbounded collection here")

    def quantifier(self, kind: str, var: str, coll: Any, body: Any, env: Env) -> Any:
        saved = env.locals.get(var, _UNBOUND)
        try:
            if isinstance(coll, Sequence_):

                def held(element: Any) -> Any:
                    local = element if coll.shape is None else Record(element, coll.shape)
                    env.locals[var] = local
                    return _bool(self.expr(body, env))

                return each_element(z3, coll.term, coll.max_size, held, kind == "some")
            parts = []
            for guard, value in self.elements(coll):
                env.locals[var] = value
                held = self.expr(body, env)
                parts.append(_and([guard, held]) if kind == "some" else _implies(guard, held))
            return _or(parts) if kind == "some" else _and(parts)
        finally:
            if saved is _UNBOUND:
                env.locals.pop(var, None)
            else:
                env.locals[var] = saved

    def ite(self, cond: Any, a: Any, b: Any, type_: t.Type) -> Any:
        """`a` when `cond`, else `b`: the value of an output (of type `type_`) by its cases."""
        if cond is True:
            return a
        if cond is False:
            return b
        if _concrete(a) and _concrete(b) and a == b:
            return a
        if isinstance(type_, t.EnumType):
            return Enum(z3.If(cond, _index(a, type_), _index(b, type_)), type_)
        if isinstance(a, frozenset | tuple | EnumBag | Sequence_ | Items):
            raise Unsupported("an output whose value is a collection")
        return z3.If(cond, _string(a), _string(b))

    # ---- the decision ----

    def decide(self, request: Request) -> Outcome:
        """The outcome of `request` as terms: each rule's condition, the decision (an `Enum` of
        effects, strongest first), the obligations and every output."""
        env = Env(request)
        fired = {r.id: _bool(self.expr(r.condition, env)) for r in self.policy.rules}
        decision: Any = _index(self.policy.default_effect, self.effect_type)
        for effect in reversed(self.effect_type.members):
            rules = [fired[r.id] for r in self.policy.rules if r.effect == effect]
            if rules:
                decision = z3.If(z3.Or(rules), _index(effect, self.effect_type), decision)
        decided = Enum(decision, self.effect_type)
        records = tuple((fired[r.id], _fired_record(r)) for r in self.policy.rules)
        outcome: dict[str, Any] = {"decision": decided, "fired": Items(records, "list")}
        obligated = {}
        for name in self.policy.obligations:
            holders = [
                z3.And(fired[r.id], decision == _index(r.effect, self.effect_type))
                for r in self.policy.rules
                if name in r.obligations
            ]
            obligated[name] = z3.Or(holders) if holders else z3.BoolVal(False)
        obligation = t.EnumType("obligation", self.policy.obligations)
        outcome["obligated"] = EnumBag(obligated, obligation, _count(obligated.values()))
        outputs = {}
        out_env = Env(request, outcome)
        for output in self.policy.outputs:
            value: Any = None
            try:
                for condition, case in reversed(output.cases):
                    here = self.expr(case, out_env)
                    value = (
                        here
                        if condition is None
                        else self.ite(self.expr(condition, out_env), here, value, output.type)
                    )
            except Unsupported as err:
                value = Unencoded(str(err))
            outputs[output.name] = value
        outcome.update(outputs)
        return Outcome(request, fired, decided, obligated, outputs, outcome)

    def holds(self, e: Any, outcome: Outcome) -> Any:
        """A claim's term for this outcome (a premise reads only the request)."""
        scope = outcome.scope
        return _bool(self.expr(e, Env(outcome.request, scope, dict(scope))))


@attrs.frozen
class Outcome:
    request: Request
    fired: Mapping[str, Any]
    decision: Enum
    obligated: Mapping[str, Any]
    outputs: Mapping[str, Any]
    scope: Mapping[str, Any]  # what a claim may read


def _fired_record(rule: model.Rule) -> dict[str, Any]:
    """A fired rule as `fired` holds it (`interp.fired_record`, written again)."""
    return {"id": rule.id, "effect": rule.effect, "cite": frozenset(rule.cite)} | {
        "tags": frozenset(rule.tags),
        **dict(rule.annotations),
    }


_UNBOUND = object()


def _covered(value: Any) -> Any:
    if isinstance(value, Unencoded):
        raise Unsupported(value.reason)
    return value


def _concrete(value: Any) -> bool:
    return isinstance(value, bool | int | str | frozenset | tuple | dict) and not isinstance(
        value, Items
    )


def _index(value: Any, type_: t.EnumType) -> Any:
    if isinstance(value, Enum):
        return value.term
    return z3.IntVal(type_.members.index(value))


def _term(value: Any) -> Any:
    """A Python scalar as a z3 term (a term stays itself)."""
    if isinstance(value, bool):
        return z3.BoolVal(value)
    if isinstance(value, int):
        return z3.IntVal(value)
    return _string(value)


# z3's characters stop at U+2FFFF; a request's may go further, but a policy can only tell its
# characters apart from its own constants', so any character it does not name stands for them
MAX_CHAR = 0x2FFFF


def _sequence(values: tuple[Any, ...], sort: Any) -> Any:
    """A constant list as a z3 sequence of `sort`."""
    if not values:
        return z3.Empty(sort)
    units = [z3.Unit(_term(v)) for v in values]
    return units[0] if len(units) == 1 else z3.Concat(*units)


def _string(value: Any) -> Any:
    """A Python string as an exact z3 string: `StringVal` reads `\\u{...}` escapes in its
    argument, so a backslash and every character outside printable ASCII is given as one."""
    if not isinstance(value, str):
        return value
    if any(ord(c) > MAX_CHAR for c in value):
        raise Unsupported("a string constant with a character past U+2FFFF")
    return z3.StringVal(
        "".join(c if " " <= c <= "~" and c != "\\" else f"\\u{{{ord(c):x}}}" for c in value)
    )


def _text(term: Any) -> str:
    """The exact Python string of a z3 string value, character by character (`as_string`
    escapes some characters and not others)."""
    length = z3.simplify(z3.Length(term)).as_long()
    return "".join(
        chr(z3.simplify(z3.StrToCode(z3.SubString(term, i, 1))).as_long()) for i in range(length)
    )


def _bool(value: Any) -> Any:
    return z3.BoolVal(value) if isinstance(value, bool) else value


def _not(value: Any) -> Any:
    return (not value) if isinstance(value, bool) else z3.Not(value)


def _and(parts: Sequence[Any]) -> Any:
    if any(p is False for p in parts):
        return False
    rest = [p for p in parts if p is not True]
    return z3.And(rest) if rest else True


def _or(parts: Sequence[Any]) -> Any:
    if any(p is True for p in parts):
        return True
    rest = [p for p in parts if p is not False]
    return z3.Or(rest) if rest else False


def _implies(guard: Any, held: Any) -> Any:
    if guard is True:
        return held
    return _or([_not(guard), held])


def _arith(op: ArithOp, a: Any, b: Any) -> Any:
    match op:
        case Op.ADD:
            return a + b
        case Op.SUB:
            return a - b
        case Op.MUL:
            return a * b
        case Op.MOD:  # the checker proved b >= 1: z3's `mod` and Python's `%` agree there
            return a % b
        case _:
            assert_never(op)


def glob_regex(pattern: str) -> Any:
    """`like`'s glob as a regular expression: `*` any run, `?` one character, `\\` makes the
    next character literal (a backslash at the very end stands for itself), as `glob.py` says;
    read here on its own, so that the two are independent witnesses."""
    any_char = z3.AllChar(z3.ReSort(z3.StringSort()))
    pieces = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            pieces.append(z3.Re(_string(pattern[i + 1])))
            i += 2
            continue
        if ch == "*":
            pieces.append(z3.Star(any_char))
        elif ch == "?":
            pieces.append(any_char)
        else:
            pieces.append(z3.Re(_string(ch)))
        i += 1
    if not pieces:
        return z3.Re(_string(""))
    return pieces[0] if len(pieces) == 1 else z3.Concat(*pieces)
