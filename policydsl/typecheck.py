"""The checker's expression half: resolves names and types, proves presence, types operators.

`checker` builds the `environment.Environment` from the declarations; every expression (a
condition, a definition, a table cell, an output case) is then checked against it by
`ExprChecker.expr`, which reads the environment and never changes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, assert_never

from policydsl import calls, entity_check, inlining, literals, maps, model, nodes, time_check
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic, Related, clip_quoted, did_you_mean
from policydsl.environment import Environment
from policydsl.model import Attr, Const, DefRef, FieldOf, FieldPresent, Local, Outcome, Present
from policydsl.operators import ArithOp, Op, SetOp
from policydsl.presence import Fact, facts_of
from policydsl.source import Span
from policydsl.typed import Scope as Scope
from policydsl.typed import Typed as Typed

BUILTIN_TYPES: dict[str, t.Type] = {"bool": t.BOOL, "int": t.INT, "string": t.STRING, "ip": t.IP}
BUILTIN_TYPES.update(time_check.TYPES)
BUILTIN_TYPES["decimal"] = t.DECIMAL
FUNCTIONS = {"size": 1, "keys": 1, "values": 1, **dict.fromkeys(literals.IP_TESTS, 1)}
OUTCOME_NAMES = ("decision", "fired")
# Where a string literal is expected to be one of these, it is read as one: not a `string`.
_READ_FROM_STRINGS = (t.IpType, t.DatetimeType, t.DurationType)


class ExprChecker:
    """Names, types and presence of expressions, checked against one `Environment`.

    It owns what checking expressions finds out: the definitions checked so far (each once, on
    first use) and the diagnostics, appended to the list it is given.
    """

    def __init__(self, env: Environment, diagnostics: list[Diagnostic]) -> None:
        self.env = env
        self.diagnostics = diagnostics
        self.definitions: dict[str, model.Definition] = {}
        self._checking: list[str] = []  # definitions being checked, to report cycles
        self.cyclic: set[str] = set()  # definitions reported (P205) as referring to themselves
        # per definition: (size, depth) once inlined, None once reported past a limit; and the
        # presence facts it gives
        self._inlined: dict[str, tuple[int, int] | None] = {}
        self._def_facts: dict[tuple[str, bool], frozenset[Fact]] = {}
        self.relation: Callable[[nodes.Path], Typed] | None = None  # a table read as rows

    def error(
        self,
        code: Code,
        message: str,
        span: Span | None,
        help: str | None = None,
        related: Related = (),
    ) -> None:
        self.diagnostics.append(
            Diagnostic(code, clip_quoted(message), span, _clip(help), related=related)
        )

    def hides(self, what: str, name: nodes.Ident, scope: Scope | None = None) -> bool:
        """Report (P206) a local name that would hide a name declared elsewhere: scoping is never
        silent, so `action == action` cannot compare a column with itself unnoticed."""
        found = (scope.origins.get(name.name) if scope is not None else None) or (
            self.env.global_names.get(name.name)
        )
        if found is None and scope is not None and scope.outcome and name.name in OUTCOME_NAMES:
            found = (f"the outcome `{name.name}`", None)
        if found is None:
            return False
        other, where = found
        self.error(
            Code.NAME_HIDES_NAME,
            f"{what} `{name.name}` hides {other}",
            name.span,
            help=f"rename the {what}: every name means one thing",
            related=((where, f"{other} is declared here"),) if where is not None else (),
        )
        return True

    def warn(self, code: Code, message: str, span: Span | None, help: str | None = None) -> None:
        self.diagnostics.append(
            Diagnostic(code, clip_quoted(message), span, _clip(help), severity="warning")
        )

    # ---- types and definitions ----------------------------------------------------------------

    def resolve_type(self, node: nodes.TypeExpr) -> t.Type:
        match node:
            case nodes.OptionalType():
                self.error(
                    Code.OPTIONAL_OUTSIDE_CONTEXT,
                    "`?` is only allowed on a context attribute",
                    node.span,
                )
                return self.resolve_type(node.inner)
            case nodes.CollectionType(kind, element, size):
                inner = self.resolve_type(element)
                max_size = self.maximum(size, f"{kind}<…>", "elements", node.span)
                max_size = t.MAX_COLLECTION if max_size is None else max_size
                if isinstance(inner, t.CollectionType):
                    self.error(
                        Code.NESTED_COLLECTION,
                        f"a {kind} holds enum members, strings, integers or booleans, not {inner}",
                        node.span,
                        help="collections do not nest",
                    )
                    return t.CollectionType(kind, t.ANY, max_size)
                return t.CollectionType(kind, inner, max_size)
            case nodes.MapType():
                return maps.outside_context(self, node)
            case nodes.RecordType():
                self.error(
                    Code.RECORD_OUTSIDE_CONTEXT,
                    "a record type is allowed only in `context`",
                    node.span,
                    help="as an attribute, a record's attribute, or the element of a list there",
                )
                return t.ANY
            case nodes.NamedType(name, lo, hi, has_range):
                if has_range and name == "string":
                    length = self.maximum((lo, hi), "string", "characters", node.span)
                    return t.StringType(t.MAX_STRING if length is None else length)
                if has_range:
                    if name != "int":
                        self.error(
                            Code.RANGE_ON_NON_INTEGER, f"`{name}` cannot have a range", node.span
                        )
                    elif lo is not None and hi is not None and lo > hi:
                        self.error(Code.EMPTY_RANGE, f"empty range [{lo}..{hi}]", node.span)
                    return t.IntType(lo, hi)
                if name in BUILTIN_TYPES:
                    return BUILTIN_TYPES[name]
                if name in self.env.enums:
                    return self.env.enums[name]
                if name in self.env.entities:
                    return self.env.entities[name]
                candidates = [*BUILTIN_TYPES, *self.env.enums, *self.env.entities]
                self.error(
                    Code.UNKNOWN_NAME,
                    f"unknown type `{name}`",
                    node.span,
                    help=did_you_mean(name, candidates),
                )
                return t.ANY
        raise AssertionError(node)  # pragma: no cover

    def maximum(
        self, size: tuple[int | None, int | None] | None, what: str, unit: str, span: Span | None
    ) -> int | None:
        """The maximum a size bound `[..N]` declares (None: the default); only a maximum."""
        if size is None:
            return None
        lo, hi = size
        if lo is not None or hi is None or hi < 0:
            self.error(
                Code.BAD_SIZE_BOUND,
                f"a size bound on `{what}` declares a maximum only: `[..N]`",
                span,
                help=f"e.g. `[..64]`: at most 64 {unit}",
            )
            return None
        return hi

    def definition(self, name: str) -> model.Definition | None:
        if name in self.definitions:
            return self.definitions[name]
        if name in self.cyclic:
            return None
        decl = self.env.def_decls[name]
        if name in self._checking:
            cycle = " → ".join([*self._checking[self._checking.index(name) :], name])
            self.error(
                Code.CYCLIC_DEFINITION,
                f"definition `{name}` refers to itself ({cycle})",
                decl.name.span,
                help="definitions cannot be recursive: evaluation must always terminate",
            )
            return None
        self._checking.append(name)
        try:
            expected = self.resolve_type(decl.type) if decl.type is not None else None
            typed = self.expr(decl.value, Scope(outcome=True), frozenset(), expected)
            if expected is not None:
                self.expect(typed, expected, decl.value.span)
                value = model.const_value(typed.expr)
                if value is not model.NOT_CONST:
                    self.check_range(value, expected, f"definition `{name}`", decl.value.span)
            uses_outcome = inlining.uses_outcome(typed.expr, self.definitions)
            definition = model.Definition(
                name, typed.expr, expected or typed.type, uses_outcome, span=decl.name.span
            )
        finally:
            self._checking.pop()
        self.definitions[name] = definition
        self._inlined[name] = inlining.measure(typed.expr, self._inlined)
        if not self.within_limits(typed.expr, f"definition `{name}`", decl.name.span):
            self._inlined[name] = None  # reported here: not again in every use
        return definition

    def within_limits(self, expr: Any, what: str, span: Span | None) -> bool:
        """Report (P701, P702) an expression too large or too deep once its definitions are
        inlined; linear, as each definition's figures are computed once, from its body."""
        measured = inlining.measure(expr, self._inlined)
        problem = inlining.problem(measured, what) if measured is not None else None
        if problem is not None:
            self.error(*problem[:2], span, help=problem[2])
        return measured is not None and problem is None

    def check_range(self, value: Any, type_: t.Type, what: str, span: Span | None) -> bool:
        """Report (P308) a constant outside its declared range (`int[0..]`, or a collection of
        such): the request validator and the analysis both trust the declared bounds."""
        if isinstance(type_, t.CollectionType) and isinstance(value, tuple | frozenset):
            return all(self.check_range(v, type_.element, what, span) for v in value)
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if isinstance(type_, t.IntType) and is_int and not type_.holds(value):
            self.error(
                Code.OUT_OF_RANGE,
                f"{what} is {literals.show_int(value)}, outside its type {type_}",
                span,
                help="change the value, or widen the declared range",
            )
            return False
        return True

    def _no_outcome(self, expr: Any, span: Span | None) -> None:
        if inlining.uses_outcome(expr, self.definitions):
            self.error(
                Code.OUTCOME_OUTSIDE_OUTPUT,
                "a rule's condition cannot depend on the decision",
                span,
                help="`decision`, `fired` and definitions using them belong in `output`",
            )

    # ---- expressions --------------------------------------------------------------------------

    def expect(self, typed: Typed, expected: t.Type, span: Span | None) -> None:
        if not t.compatible(typed.type, expected):
            self.error(Code.TYPE_MISMATCH, f"expected {expected}, found {typed.type}", span)
        elif t.collection_kind(expected) == "set" and t.collection_kind(typed.type) == "list":
            # constant literals were made sets already; a list read from the request may repeat
            self.error(
                Code.TYPE_MISMATCH,
                f"expected {expected}, found {typed.type}",
                span,
                help="a list keeps order and repeats; declare the attribute a `set` to use it here",
            )

    def expr(self, e: Any, scope: Scope, facts: frozenset[Fact], expected: t.Type | None) -> Typed:
        if e.__class__ is nodes.StrLit and not isinstance(expected, _READ_FROM_STRINGS):
            return Typed(Const(e.value, span=e.span), t.STRING)  # the `case` below, at once
        match e:  # the commonest first: a name, a comparison, a compound (classes are disjoint)
            case nodes.Path():
                return self._path(e, scope, facts, expected)
            case nodes.Compare(op, left, right):
                lt = self.expr(left, scope, facts, literals.side_hint(right))
                rt = self.expr(right, scope, facts, lt.type)
                if isinstance(left, nodes.StrLit) and t.is_time(rt.type):  # `"2024-01-01" < t`
                    lt = self.expr(left, scope, facts, rt.type)
                lt, rt = literals.decimal_sides(lt, rt, self.error, e.span)
                match op:
                    case Op.LT | Op.LE | Op.GT | Op.GE if t.is_time(lt.type) or t.is_time(rt.type):
                        time_check.ordered(self, lt.type, rt.type, e.span)
                    case Op.LT | Op.LE | Op.GT | Op.GE:
                        for side in (lt, rt):
                            if not t.is_ordered(side.type):
                                msg = f"`{op}` compares integers or decimals, not {side.type}"
                                self.error(Code.ORDER_ON_NON_INTEGERS, msg, e.span)
                                break
                    case Op.EQ | Op.NE:
                        lt, rt = self._set_and_list(lt, rt, e.span)
                    case _:
                        assert_never(op)
                return Typed(nodes.Compare(op, lt.expr, rt.expr, span=e.span), t.BOOL)
            case nodes.And(operands) | nodes.Or(operands):
                is_and = isinstance(e, nodes.And)
                out = []
                known = facts
                for operand in operands:
                    typed = self.expr(operand, scope, known, t.BOOL)
                    self.expect(typed, t.BOOL, operand.span)
                    out.append(typed.expr)
                    more = facts_of(typed.expr, is_and, self.definitions, self._def_facts)
                    if more:
                        known = known | more
                return Typed(type(e)(tuple(out), span=e.span), t.BOOL)
            case nodes.Not(operand):
                typed = self.expr(operand, scope, facts, t.BOOL)
                self.expect(typed, t.BOOL, operand.span)
                return Typed(nodes.Not(typed.expr, span=e.span), t.BOOL)
            case nodes.In(element, collection):
                listed = entity_check.listed_groups(self, e, scope, facts)
                if listed is not None:
                    return listed
                if isinstance(collection, nodes.ListLit):
                    et = self.expr(element, scope, facts, None)
                    ct = self.expr(collection, scope, facts, t.CollectionType("list", et.type))
                else:
                    ct = self.expr(collection, scope, facts, None)
                    et = self.expr(element, scope, facts, t.element_of(ct.type))
                if entity_check.is_membership(et.type, ct.type):
                    return entity_check.membership(self, e, et, ct)
                match e.op:
                    case Op.IN | Op.NOT_IN:
                        self._membership(et.type, ct.type, e.span, "in")
                    case _:
                        assert_never(e.op)
                return Typed(nodes.In(et.expr, ct.expr, e.negated, span=e.span), t.BOOL)
            case nodes.SetTest(op, left, right):
                return self._set_test(e, op, left, right, scope, facts)
            case nodes.ListLit(items):
                return self._list(e, items, scope, facts, expected)
            case nodes.Quantifier(kind, var, collection, body):
                ct = self.expr(collection, scope, facts, None)
                elem = t.element_of(ct.type)
                if elem is None:
                    self.error(
                        Code.QUANTIFIER_OVER_NON_COLLECTION,
                        f"`{kind}` ranges over a set or list, not {ct.type}",
                        collection.span,
                    )
                    elem = t.ANY
                self.hides("quantifier variable", var, scope)
                inner = scope.bind(
                    var.name, elem, (f"the quantifier variable `{var.name}`", var.span)
                )
                inner_facts = frozenset(f for f in facts if f[:2] != ("local", var.name))
                inner_facts |= maps.quantifier_facts(ct.expr, var.name)
                bt = self.expr(body, inner, inner_facts, t.BOOL)
                self.expect(bt, t.BOOL, body.span)
                made = nodes.Quantifier(e.kind, e.var, ct.expr, bt.expr, span=e.span)
                return Typed(made, t.BOOL)
            case nodes.IntLit() | nodes.DecLit() if literals.decimal_wanted(e, expected):
                return Typed(literals.decimal(e, self.error), t.DECIMAL)
            case nodes.IntLit(value):
                return Typed(Const(value, span=e.span), t.INT)
            case nodes.StrLit(value) if isinstance(expected, t.IpType):
                return Typed(literals.address(value, e.span, self.error), t.IP)
            case nodes.DurationLit() | nodes.StrLit() if time_check.is_literal(e, expected):
                return time_check.literal(e, expected, self)
            case nodes.StrLit(value):
                return Typed(Const(value, span=e.span), t.STRING)
            case nodes.BoolLit(value):
                return Typed(Const(value, span=e.span), t.BOOL)
            case nodes.EntityLit():
                return entity_check.literal(self, e)
            case nodes.Absent():
                self.error(Code.ABSENT_OUTSIDE_TABLE, "`-` is only allowed in a table cell", e.span)
                return Typed(Const(None, span=e.span), t.ANY)
            case nodes.Has(nodes.Lookup() as lookup):
                return Typed(*maps.has(self, lookup, scope, facts, e.span))
            case nodes.Has(nodes.Path() as path):
                return self._has(path, scope, facts, e.span)
            case nodes.Lookup():
                return Typed(*maps.lookup(self, e, scope, facts))
            case nodes.Call(func, args):
                return self._call(e, func, args, scope, facts)
            case nodes.Arith(first, rest):
                ft = self.expr(first, scope, facts, time_check.first_expected(expected))
                if t.is_time(ft.type):
                    return time_check.arith(self, e, ft, scope, facts)
                self.need_int(ft, first)
                rest_out = [(o, self._arith_operand(o, x, scope, facts)) for o, x in rest]
                return Typed(nodes.Arith(ft.expr, tuple(rest_out), span=e.span), t.INT)
            case nodes.Neg(operand):  # of an integer, or of a duration
                return time_check.negate(self, e, self.expr(operand, scope, facts, t.INT))
        raise AssertionError(f"unexpected node {e!r}")  # pragma: no cover

    def need_int(self, typed: Typed, e: Any) -> Typed:
        if not t.is_int(typed.type):
            self.error(
                Code.ARITHMETIC_ON_NON_INTEGERS,
                f"arithmetic needs integers, not {typed.type}",
                e.span,
                help=literals.arithmetic_hint(typed.type),
            )
        return typed

    def _arith_operand(
        self, op: ArithOp, e: nodes.Expr, scope: Scope, facts: frozenset[Fact]
    ) -> Any:
        """An operand after `op` (every arithmetic operator takes integers), checked."""
        match op:
            case Op.ADD | Op.SUB | Op.MUL:
                return self.need_int(self.expr(e, scope, facts, t.INT), e).expr
            case Op.MOD:
                typed = self.need_int(self.expr(e, scope, facts, t.INT), e)
                if t.is_int(typed.type) and not self._at_least_one(typed):
                    self.error(
                        Code.DIVISOR_MAY_BE_ZERO,
                        f"`%` needs a divisor known to be at least 1, not {typed.type}",
                        e.span,
                        help="divide by a constant, or declare the attribute `int[1..]`",
                    )
                return typed.expr
            case _:
                assert_never(op)

    def _at_least_one(self, typed: Typed) -> bool:
        """Whether an integer expression is a constant, or of a declared range, of at least 1:
        so `%` by it is always defined."""
        expr = typed.expr
        if isinstance(expr, DefRef) and expr.name in self.definitions:
            expr = self.definitions[expr.name].expr
        value = model.const_value(expr)
        if value is not model.NOT_CONST:
            return isinstance(value, int) and value >= 1
        lo = typed.type.lo if isinstance(typed.type, t.IntType) else None
        return lo is not None and lo >= 1

    def _membership(self, elem: t.Type, coll: t.Type, span: Span | None, op: str) -> None:
        inner = t.element_of(coll)
        if inner is None:
            self.error(Code.NOT_A_COLLECTION, f"`{op}` needs a set or list, not {coll}", span)
        elif not t.compatible(elem, inner):
            self.error(Code.ELEMENT_DOES_NOT_FIT, f"{coll} cannot contain {elem}", span)

    def _set_test(
        self,
        e: nodes.SetTest[nodes.Expr],
        op: SetOp,
        left: nodes.Expr,
        right: nodes.Expr,
        scope: Scope,
        facts: frozenset[Fact],
    ) -> Typed:
        match op:
            case Op.STARTS_WITH | Op.ENDS_WITH | Op.LIKE | Op.MATCHES:
                lt = self.expr(left, scope, facts, t.STRING)
                rt = self.expr(right, scope, facts, t.STRING)
                for side, node in ((lt, left), (rt, right)):
                    if not t.is_string(side.type):
                        self.error(
                            Code.STRING_TEST_ON_NON_STRINGS,
                            f"`{op}` tests strings, not {side.type}",
                            node.span,
                        )
                if op is Op.MATCHES and t.is_string(rt.type):
                    literals.pattern(rt.expr, right.span, self.error)
            case Op.IN_RANGE:
                lt = self.expr(left, scope, facts, t.IP)
                if not isinstance(lt.type, t.IpType | t.AnyType):
                    self.error(Code.INCOMPARABLE, f"`{op}` tests an ip, not {lt.type}", left.span)
                rt = self.expr(right, scope, facts, t.STRING)
                rt = Typed(literals.network(rt.expr, right.span, self.error), t.STRING)
            case Op.CONTAINS:
                lt, elem = self._collection_operand(op, left, scope, facts)
                rt = self.expr(right, scope, facts, elem)
                self._membership(rt.type, lt.type, e.span, str(op))
            case Op.CONTAINS_ANY | Op.CONTAINS_ALL:
                lt, elem = self._collection_operand(op, left, scope, facts)
                rt = self.expr(right, scope, facts, t.CollectionType("list", elem))
                relem = t.element_of(rt.type)
                if relem is None:
                    self.error(
                        Code.NOT_A_COLLECTION,
                        f"`{op}` needs a set or list on its right, not {rt.type}",
                        right.span,
                    )
                elif not t.compatible(elem, relem):
                    self.error(
                        Code.INCOMPARABLE, f"cannot compare {lt.type} with {rt.type}", e.span
                    )
            case _:
                assert_never(op)
        return Typed(nodes.SetTest(e.op, lt.expr, rt.expr, span=e.span), t.BOOL)

    def _collection_operand(
        self, op: SetOp, left: nodes.Expr, scope: Scope, facts: frozenset[Fact]
    ) -> tuple[Typed, t.Type]:
        """The left operand of a set test, and its element type (`any` after an error)."""
        lt = self.expr(left, scope, facts, None)
        elem = t.element_of(lt.type)
        if elem is None:
            self.error(
                Code.NOT_A_COLLECTION,
                f"`{op}` needs a set or list on its left, not {lt.type}",
                left.span,
            )
            elem = t.ANY
        return lt, elem

    def _set_and_list(self, lt: Typed, rt: Typed, span: Span | None) -> tuple[Typed, Typed]:
        """The operands of `==`/`!=`, checked. A set never equals a list, so a constant list
        compared with a set is read as a set (`labels == []`); any other list is an error."""
        if (
            not isinstance(lt.type, t.CollectionType)
            and not isinstance(rt.type, t.CollectionType)
            and t.compatible(lt.type, rt.type)
        ):
            return lt, rt  # the commonest: two scalars that compare
        sides = []
        for side, other in ((lt, rt), (rt, lt)):
            if t.collection_kind(side.type) == "list" and t.collection_kind(other.type) == "set":
                value = model.const_value(side.expr)
                if value is model.NOT_CONST:
                    break
                set_type = t.as_set(side.type)
                side = Typed(Const(frozenset(value), type=set_type, span=side.expr.span), set_type)
            sides.append(side)
        if len(sides) < 2 or not t.compatible(lt.type, rt.type):
            self.error(Code.INCOMPARABLE, f"cannot compare {lt.type} with {rt.type}", span)
            return lt, rt
        return sides[0], sides[1]

    def _list(
        self,
        e: nodes.ListLit[nodes.Expr],
        items: tuple[nodes.Expr, ...],
        scope: Scope,
        facts: frozenset[Fact],
        expected: t.Type | None,
    ) -> Typed:
        want = t.element_of(expected) if expected is not None else None
        out = []
        elem: t.Type = t.NOTHING
        for item in items:
            typed = self.expr(item, scope, facts, want if want is not None else None)
            if isinstance(elem, t.NothingType):
                elem = typed.type
                want = want or typed.type
            elif not t.compatible(elem, typed.type):
                self.error(Code.MIXED_LIST, f"list mixes {elem} and {typed.type}", item.span)
            out.append(typed.expr)
        literal = nodes.ListLit(tuple(out), span=e.span)
        if t.collection_kind(expected) == "set":  # `[a, b]` meant as a set: no order, no repeats
            value = model.const_value(literal)
            if value is not model.NOT_CONST:
                set_type = t.CollectionType("set", elem)
                return Typed(Const(frozenset(value), type=set_type, span=e.span), set_type)
            return Typed(model.SetOf(literal, span=e.span), t.CollectionType("set", elem))
        return Typed(literal, t.CollectionType("list", elem))

    def _call(
        self,
        e: nodes.Call[nodes.Expr],
        func: nodes.Ident,
        args: tuple[nodes.Expr, ...],
        scope: Scope,
        facts: frozenset[Fact],
    ) -> Typed:
        if func.name in time_check.FUNCTIONS:
            return time_check.call(self, e, scope, facts)
        return calls.call(self, e, FUNCTIONS, scope, facts)

    def _has(
        self, path: nodes.Path, scope: Scope, facts: frozenset[Fact], span: Span | None
    ) -> Typed:
        head = path.parts[0]
        if head in scope.locals and len(path.parts) >= 2:  # each optional record on the way too
            expr: Any = Local(head, span=path.span)
            ltype, tests = scope.locals[head], []
            for i, part in enumerate(path.parts[1:], start=2):
                if isinstance(ltype, t.EntityType):
                    if ltype.literal:
                        dotted = ".".join(path.parts[: i - 1])
                        entity_check.no_attributes(self, ltype, dotted, path.span)
                        return Typed(Const(False, span=span), t.BOOL)
                    ltype = ltype.record
                field = ltype.field(part) if isinstance(ltype, t.RecordType) else None
                if field is None:  # reported as a read would be
                    every = frozenset(("local", *path.parts[:j]) for j in range(2, i + 1))
                    return self._path(path, scope, every, None)
                if i == len(path.parts) or (
                    field.optional and ("local", *path.parts[:i]) not in facts
                ):
                    tests.append(FieldPresent(expr, part, span=span))
                expr, ltype = FieldOf(expr, part, span=span), field.type
            return Typed(
                tests[0] if len(tests) == 1 else nodes.And(tuple(tests), span=span), t.BOOL
            )
        if head in scope.locals or head in self.env.def_decls or head not in self.env.schema.names:
            self.error(
                Code.HAS_ON_NON_ATTRIBUTE,
                f"`has` tests a context attribute, and `{path.dotted}` is not one",
                path.span,
            )
            return Typed(Const(False, span=span), t.BOOL)
        fields = self._walk(path, scope, None)
        if fields is None:
            return Typed(Const(False, span=span), t.ANY)
        if not any(f.optional for f in fields):
            self.warn(
                Code.ALWAYS_PRESENT,
                f"`{path.dotted}` is always present",
                path.span,
                help="it has a default or is required, so `has` is always true",
            )
        return Typed(Present(path.parts, span=span), t.BOOL)

    def _walk(
        self, path: nodes.Path, scope: Scope, facts: frozenset[Fact] | None
    ) -> list[t.FieldType] | None:
        """The schema fields along a context path; with `facts`, also checks presence."""
        record: t.Type = self.env.schema
        fields: list[t.FieldType] = []
        for i, part in enumerate(path.parts):
            if isinstance(record, t.EntityType):  # read through the reference
                record = record.record
            if not isinstance(record, t.RecordType):
                self.error(
                    Code.NO_ATTRIBUTES,
                    f"`{'.'.join(path.parts[:i])}` is {record}, which has no attributes",
                    path.span,
                )
                return None
            field = record.field(part)
            if field is None:
                prefix = ".".join(path.parts[:i])
                names = [f"{prefix}.{f.name}" if prefix else f.name for f in record.fields]
                self.error(
                    Code.UNKNOWN_NAME,
                    f"unknown attribute `{'.'.join(path.parts[: i + 1])}`",
                    path.span,
                    help=did_you_mean(".".join(path.parts[: i + 1]), names),
                )
                return None
            fields.append(field)
            if facts is not None and field.optional and ("ctx", *path.parts[: i + 1]) not in facts:
                dotted = ".".join(path.parts[: i + 1])
                self.error(
                    Code.MAY_BE_ABSENT,
                    f"`{dotted}` is optional and may be absent here",
                    path.span,
                    help=f"test it first: `has {dotted} and ...`",
                )
                facts = None  # one report per read
            record = field.type
        return fields

    def _path(
        self, e: nodes.Path, scope: Scope, facts: frozenset[Fact], expected: t.Type | None
    ) -> Typed:
        head, rest = e.parts[0], e.parts[1:]
        if head in scope.locals:
            return self._local_path(e, scope, facts)
        if head in scope.columns:
            self.error(
                Code.MAY_BE_ABSENT,
                f"column `{head}` is optional and cannot be read in a condition",
                e.span,
                help="give every row a value, or use it only in annotations",
            )
            return Typed(Const(None, span=e.span), t.ANY)
        if head in self.env.def_decls:
            if rest:
                self.error(Code.NO_ATTRIBUTES, f"definition `{head}` has no attributes", e.span)
                return Typed(Const(None, span=e.span), t.ANY)
            definition = self.definition(head)
            if definition is None:
                return Typed(Const(None, span=e.span), t.ANY)
            if definition.uses_outcome and not scope.outcome:
                self._no_outcome(DefRef(head), e.span)
            return Typed(DefRef(head, span=e.span), definition.type)
        if head in self.env.schema.names:
            fields = self._walk(e, scope, facts)
            if fields is None:
                return Typed(Const(None, span=e.span), t.ANY)
            ftype = fields[-1].type
            if isinstance(ftype, t.RecordType):
                self.error(
                    Code.RECORD_READ_WHOLE,
                    f"`{e.dotted}` is a record; name one of its attributes",
                    e.span,
                    help=did_you_mean(
                        e.dotted + ".", [f"{e.dotted}.{f.name}" for f in ftype.fields]
                    ),
                )
                return Typed(Const(None, span=e.span), t.ANY)
            return Typed(Attr(e.parts, span=e.span), ftype)
        if head in OUTCOME_NAMES and scope.outcome:
            if rest:
                self.error(Code.NO_ATTRIBUTES, f"`{head}` has no attributes", e.span)
            otype: t.Type = (
                self.env.effect_type
                if head == "decision"
                else t.CollectionType("list", self.env.rule_type)
            )
            return Typed(Outcome(head, span=e.span), otype)
        if head in self.env.enums and len(e.parts) == 2:
            enum = self.env.enums[head]
            if not enum.has(rest[0]):
                self._unknown_member(enum, rest[0], e.span)
                return Typed(Const(None, span=e.span), t.ANY)
            return Typed(Const(rest[0], type=enum, span=e.span), enum)
        if not rest:
            member = self._bare_member(head, expected, e.span)
            if member is not None:
                return member
        if head in self.env.tables and self.relation is not None:
            return self.relation(e)
        if head in OUTCOME_NAMES:
            self.error(
                Code.OUTCOME_OUTSIDE_OUTPUT,
                f"`{head}` is only known inside `output`",
                e.span,
                help="rules decide; outputs read the decision",
            )
            return Typed(Const(None, span=e.span), t.ANY)
        if isinstance(expected, t.EnumType) and not rest:
            self._unknown_member(expected, head, e.span)
            return Typed(Const(None, span=e.span), t.ANY)
        visible = [
            *scope.locals,
            *self.env.def_decls,
            *self.env.schema.field_names,
            *self.env.enums,
            *self.env.tables,
        ]
        if not rest:  # a bare name may be a misspelt enum member
            visible.extend(m for enum in self.env.enums.values() for m in enum.members)
        if scope.outcome:
            visible.extend(OUTCOME_NAMES)
        self.error(
            Code.UNKNOWN_NAME,
            f"unknown name `{e.dotted}`",
            e.span,
            help=did_you_mean(head, visible),
        )
        return Typed(Const(None, span=e.span), t.ANY)

    def _bare_member(self, name: str, expected: t.Type | None, span: Span | None) -> Typed | None:
        if isinstance(expected, t.EnumType) and expected.has(name):
            return Typed(Const(name, type=expected, span=span), expected)
        owners = [en for en in (*self.env.enums.values(), self.env.effect_type) if en.has(name)]
        if len(owners) == 1:
            return Typed(Const(name, type=owners[0], span=span), owners[0])
        if len(owners) > 1:
            self.error(
                Code.UNKNOWN_NAME,
                f"`{name}` is a member of several enums",
                span,
                help="qualify it: " + " or ".join(f"`{o.name}.{name}`" for o in owners),
            )
            return Typed(Const(name, span=span), t.ANY)
        return None

    def _unknown_member(self, enum: t.EnumType, name: str, span: Span | None) -> None:
        self.error(
            Code.NOT_A_MEMBER,
            f"`{name}` is not a member of {enum.name}",
            span,
            help=did_you_mean(name, enum.members),
        )

    def _local_path(self, e: nodes.Path, scope: Scope, facts: frozenset[Fact]) -> Typed:
        head = e.parts[0]
        expr: Any = Local(head, span=e.span)
        ltype = scope.locals[head]
        for i, part in enumerate(e.parts[1:], start=1):
            if isinstance(ltype, t.EntityType):  # read through the reference
                if ltype.literal:
                    entity_check.no_attributes(self, ltype, ".".join(e.parts[:i]), e.span)
                    return Typed(Const(None, span=e.span), t.ANY)
                ltype = ltype.record
            if not isinstance(ltype, t.RecordType):
                if not isinstance(ltype, t.AnyType):  # else its error is reported already
                    self.error(
                        Code.NO_ATTRIBUTES,
                        f"`{'.'.join(e.parts[:i])}` is {ltype}, which has no attributes",
                        e.span,
                    )
                return Typed(Const(None, span=e.span), t.ANY)
            field = ltype.field(part)
            if field is None:
                self.error(
                    Code.UNKNOWN_NAME,
                    f"unknown attribute `{'.'.join(e.parts[: i + 1])}`",
                    e.span,
                    help=did_you_mean(
                        ".".join(e.parts[: i + 1]),
                        [".".join((*e.parts[:i], f.name)) for f in ltype.fields],
                    ),
                )
                return Typed(Const(None, span=e.span), t.ANY)
            if field.optional and ("local", head, *e.parts[1 : i + 1]) not in facts:
                self.error(
                    Code.MAY_BE_ABSENT,
                    f"`{'.'.join(e.parts[: i + 1])}` may be absent here",
                    e.span,
                    help=f"test it first: `has {'.'.join(e.parts[: i + 1])} and ...`",
                )
            expr = FieldOf(expr, part, span=e.span)
            ltype = field.type
        return Typed(expr, ltype)


# ---- helpers on resolved expressions ---------------------------------------------------------


def _clip(help: str | None) -> str | None:
    return clip_quoted(help) if help is not None else None
