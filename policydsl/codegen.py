"""Code generation: the IR → a Python function, built as `ast` nodes (never as source text).

Safe by construction: every identifier is generated (`_s3`, `_t0`, `_K2`); policy strings and
values only ever appear as `ast.Constant`s or as entries of the function's own namespace, which
has no builtins. Validation is fused into the code: each attribute is read once, checked with
exact type tests, and anything unusual goes to `_fallback`, which validates precisely. The code
names nothing but its locals, its hoisted constants and what `runtime` declares.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any, Protocol, assert_never

from policydsl import entity_code, ir, nodes, runtime
from policydsl import typesys as t
from policydsl.checked_exprs import (
    Ancestors,
    Const,
    FieldOf,
    FieldPresent,
    Local,
    MapGet,
    MapHas,
    MapView,
    Outcome,
    RowsWhere,
    SetOf,
    Size,
    TimeCall,
    Uids,
    map_children,
)
from policydsl.decision import Decision
from policydsl.glob import Glob
from policydsl.index_code import IndexCode, decision_of
from policydsl.operators import ArithOp, CompareOp, MembershipOp, Op, SetOp
from policydsl.pyast import (
    LOAD,
    assign,
    call,
    class_of,
    is_,
    none,
    ref,
    store,
)
from policydsl.record_code import RecordCode
from policydsl.regex import compile_pattern

_SCALAR_CONSTANTS = (str, int, bool, type(None))
# Longer sums and products call `_sum`/`_prod` on a flat tuple: a chain of nested `BinOp`s as
# deep as the policy's `n + n + ...` overflows the recursion of `ast` helpers and the compiler.
_MAX_CHAIN = 32


def _compare_op(op: CompareOp) -> ast.cmpop:
    match op:
        case Op.EQ:
            return ast.Eq()
        case Op.NE:
            return ast.NotEq()
        case Op.LT:
            return ast.Lt()
        case Op.LE:
            return ast.LtE()
        case Op.GT:
            return ast.Gt()
        case Op.GE:
            return ast.GtE()
        case _:
            assert_never(op)


def _membership_op(op: MembershipOp) -> ast.cmpop:
    match op:
        case Op.IN:
            return ast.In()
        case Op.NOT_IN:
            return ast.NotIn()
        case _:
            assert_never(op)


def _arith_op(op: ArithOp) -> ast.operator:
    match op:
        case Op.ADD:
            return ast.Add()
        case Op.SUB:
            return ast.Sub()
        case Op.MUL:
            return ast.Mult()
        case Op.MOD:
            return ast.Mod()
        case _:
            assert_never(op)


# The generated functions: `_decide(ctx, _fallback, _given)`, which calls `_fallback(ctx)` on
# anything it does not accept, and `_flags(_decision, _fired)`, the outcome-only parts of the
# outputs. Where they can be, the flags are also split per rule (see `_Gen.mask_functions`):
# `_rule_bits(_r)`, a fired rule's quantifier predicates as bits, and `_flags_masks(_decision,
# _some, _every)`, the flags from the OR and the AND of the fired rules' bits; `_outputs(_f)`
# gives the output values when no output reads the request.
class DecideFunction(Protocol):
    """The generated `_decide(context, fallback, given_store=None)`; its owner binds the fallback
    as the default (`__defaults__`), so that a decision is one call of this function."""

    __defaults__: tuple[Any, ...] | None

    def __call__(self, context: object, fallback: Any = None, given: Any = None, /) -> Decision: ...


FlagsFunction = Callable[[str, tuple[dict[str, Any], ...]], tuple[Any, ...]]
RuleBitsFunction = Callable[[dict[str, Any]], int]
FlagsMasksFunction = Callable[[str, int, int], tuple[Any, ...]]
OutputsFunction = Callable[[tuple[Any, ...]], tuple[Any, ...]]


class Generated:
    """The generated module: its `ast`, the namespace it runs in, and the functions it defines."""

    def __init__(self, module: ast.Module, namespace: dict[str, Any], filename: str):
        self.module = module
        self.namespace = namespace
        code = compile(module, filename, "exec")
        exec(code, namespace)  # the namespace has empty builtins; the code is ours
        self.decide: DecideFunction = namespace["_decide"]
        self.flags: FlagsFunction = namespace["_flags"]
        self.rule_bits: RuleBitsFunction | None = namespace.get("_rule_bits")
        self.flags_masks: FlagsMasksFunction | None = namespace.get("_flags_masks")
        self.outputs: OutputsFunction | None = namespace.get("_outputs")

    def source(self) -> str:
        """Readable Python for `policyc compile --emit python` (never executed)."""
        return ast.unparse(self.module)


def generate(program: ir.Program, bound: Mapping[str, Any], filename: str) -> Generated:
    """Build `_decide(ctx, _fallback)` and `_flags(_decision, _fired)` for `program`.

    The code runs in `runtime.namespace`: the runtime's names, the hoisted constants, and what
    the evaluator binds (`bound`: its `_several`, `_finish`, `_make_decision` and `_ONE`).
    """
    gen = _Gen(program)
    functions: list[ast.stmt] = [gen.decide_function(), gen.flags_function()]
    functions.extend(gen.mask_functions())
    functions.extend(gen.outputs_function())
    module = ast.Module(functions, [])
    ast.fix_missing_locations(module)
    return Generated(module, runtime.namespace(bound, gen.namespace), filename)


class _Gen:
    def __init__(self, program: ir.Program):
        self.program = program
        self.slots = program.slots
        self.namespace: dict[str, Any] = {}
        self._constants: dict[tuple[type, Any] | None, str] = {}
        self._locals: list[dict[str, str]] = [{}]
        self._counter = 0
        self.member_index = {ix.slot: ix for ix in program.indexes if ix.kind == "member"}
        self.indexes = IndexCode(self)
        self.records = RecordCode(self)
        self.row: str | None = None  # the local holding a bucket's row while its code is made
        self.fire_one = False  # a rule that fires returns its decision (`IndexCode.fires_one`)
        self.validated: int | None = None  # a slot its index's lookup validates (`validated_slot`)

    # ---- names and constants ----------------------------------------------------------------

    def hoist(self, value: Any, prefix: str = "_K") -> ast.expr:
        """A constant that is not a plain literal lives in the namespace under a generated name.

        Equal hashable constants share one name; tables (dicts) are never shared, and a type
        is shared only with itself: types compare without their sizes (`map<string, bool>[..2]`
        equals `[..4]`), which the helpers given them check.
        """
        if isinstance(value, dict):
            key = None
        elif type(value).__module__ == t.__name__:
            key = (type(value), id(value))
        else:
            key = (type(value), value)
        name = self._constants.get(key) if key is not None else None
        if name is None:
            name = f"{prefix}{len(self.namespace)}"
            self.namespace[name] = value
            if key is not None:
                self._constants[key] = name
        return ref(name)

    def const(self, value: Any) -> ast.expr:
        if type(value) in _SCALAR_CONSTANTS:
            return ast.Constant(value)
        return self.hoist(value)

    def fresh(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    @staticmethod
    def slot(index: int) -> str:
        return f"_s{index}"

    # ---- the decide function ----------------------------------------------------------------

    def decide_function(self) -> ast.FunctionDef:
        body: list[ast.stmt] = [
            ast.If(
                is_(class_of(ref("ctx")), ref("_dict"), negate=True),
                [self.fallback()],
                [],
            )
        ]
        if any(t.holds_entities(s.type) for s in self.slots):
            # one store for every id of the request: another may be put in use meanwhile
            given = ast.IfExp(is_(ref("_given"), none()), ref("_STORE"), ref("_given"))
            body.append(assign("_store", given))
        self.fire_one = not self.request_outputs and self.indexes.fires_one(self.program)
        if self.fire_one:
            self.validated = self.indexes.validated_slot(self.program)
        body.extend(self.records.load(None, ref("ctx"), validated=self.validated))
        if not self.fire_one:
            always: list[ast.expr] = [ast.Constant(r) for r in self.program.always]
            body.append(assign("_fired", ast.List(always, LOAD)))
        for i, test in enumerate(self.program.tests):
            body.append(assign(f"_t{i}", self.expr(test)))
        body.extend(self.checks(self.program.checks))
        # the index every rule fires through, when a rule's prepared entry is its decision
        alone = (
            not self.request_outputs
            and not self.program.always
            and not self.program.checks
            and len(self.program.indexes) == 1
        )
        self.indexes.sole = self.program.indexes[0] if alone else None
        body.extend(self.indexes.all(self.program.indexes))
        if self.fire_one:  # each rule returned its decision where it fired: none did
            if not isinstance(body[-1], ast.Return):  # (one lookup answers every request)
                body.append(decision_of(ast.Constant(-1)))
        else:
            body.extend(self._finish())
        return self._decide_def(body)

    def _decide_def(self, body: list[ast.stmt]) -> ast.FunctionDef:
        """`_decide` around `body`: anything that raises goes to the fallback."""
        guarded = ast.Try(
            body,
            [ast.ExceptHandler(ref("_Errors"), None, [self.fallback()])],
            [],
            [],
        )
        # `_given`: the store of a request decided against its own entities (`decide_with`);
        # `_fallback`'s default is bound by the evaluator
        params = [ast.arg("ctx"), ast.arg("_fallback"), ast.arg("_given")]
        args = ast.arguments([], params, None, [], [], None, [none(), none()])
        return ast.FunctionDef("_decide", args, [guarded], [], None, None)

    def fallback(self) -> ast.stmt:
        return ast.Return(call("_fallback", ref("ctx")))

    def invalid(self, type_: t.Type, value: ast.expr) -> ast.expr:
        return self.records.invalid(type_, value)

    def if_present(self, s: ir.Slot, body: list[ast.stmt]) -> list[ast.stmt]:
        return self.records.if_present(s, body)

    # ---- rules ------------------------------------------------------------------------------

    def _at_rule(self, rule: int, stmt: ast.stmt) -> ast.stmt:
        """Give `stmt` (and, through `fix_missing_locations`, its expressions) the rule's line,
        so that a traceback through the generated code names it."""
        line = self.program.rules[rule].line
        if line is not None:
            stmt.lineno = stmt.end_lineno = line
            stmt.col_offset = stmt.end_col_offset = 0
        return stmt

    def _fire(self, rule: int) -> ast.stmt:
        if self.fire_one:  # at most one rule fires: its decision is the answer
            return self._at_rule(rule, decision_of(ast.Constant(rule)))
        append = ast.Attribute(ref("_fired"), "append", LOAD)
        return self._at_rule(rule, ast.Expr(ast.Call(append, [ast.Constant(rule)], [])))

    def checks(self, checks: tuple[ir.Check, ...]) -> list[ast.stmt]:
        return [
            self._at_rule(c.rule, ast.If(self.expr(c.condition), [self._fire(c.rule)], []))
            for c in checks
        ]

    # ---- outcome ----------------------------------------------------------------------------

    def _finish(self) -> list[ast.stmt]:
        """Find the entry of the fired rules, compute the outputs that read the request, return
        the decision.

        No rule and one rule, the common cases, read what the evaluator prepared when it compiled
        (`_NONE`, `_ONE[rule]`): the decision itself when no output reads the request, else an
        entry keeping a decision per output values. Several rules are combined by `_several`
        (repeats do not matter; it takes them sorted, by `_fired.sort()`: the list is this
        call's own): into the decision, or into its parts (a tuple: flags, decision,
        obligations, citations, ids, reasons), from which the decision is built here, with the
        output values.
        """
        entry = ref("_entry")
        fired = ref("_fired")
        direct = not self.request_outputs

        def found(value: ast.expr) -> list[ast.stmt]:
            return [ast.Return(value)] if direct else [assign("_entry", value)]

        one = ast.Subscript(ref("_ONE"), ast.Subscript(fired, ast.Constant(0), LOAD), LOAD)
        sort = ast.Expr(ast.Call(ast.Attribute(fired, "sort", LOAD), [], []))
        several = [sort, *found(call("_several", fired))]
        out: list[ast.stmt] = [
            ast.If(
                ast.UnaryOp(ast.Not(), fired),
                found(ref("_NONE")),
                [
                    ast.If(
                        ast.Compare(call("_len", fired), [ast.Eq()], [ast.Constant(1)]),
                        found(one),
                        several,
                    )
                ],
            ),
        ]
        if direct:
            return out
        out.append(assign("_f", ast.Subscript(entry, ast.Constant(0), LOAD)))
        names = []
        for i, output in enumerate(self.program.outputs):
            names.append(f"_o{i}")
            out.extend(self._output(output, names[-1]))
        pairs = ast.Tuple(
            [
                ast.Tuple([ast.Constant(o.name), ref(n)], LOAD)
                for o, n in zip(self.program.outputs, names, strict=True)
            ],
            LOAD,
        )
        parts = [ast.Subscript(entry, ast.Constant(i), LOAD) for i in range(1, 6)]
        built = call("_make_decision", ast.Tuple([*parts, pairs, none()], LOAD))
        out.append(ast.If(is_(class_of(entry), ref("_tuple")), [ast.Return(built)], []))
        key = ref(names[0]) if len(names) == 1 else ast.Tuple([ref(n) for n in names], LOAD)
        decisions = ast.Subscript(entry, ast.Constant(1), LOAD)
        out.append(assign("_d", ast.Call(ast.Attribute(decisions, "get", LOAD), [key], [])))
        out.append(ast.If(is_(ref("_d"), none()), [assign("_d", call("_finish", entry, key))], []))
        out.append(ast.Return(ref("_d")))
        return out

    def _output(self, output: ir.OutputIR, target: str) -> list[ast.stmt]:
        """`target = ` the output's first case that holds."""
        chain: list[ast.stmt] = []
        for cond, value in reversed(output.cases):
            chosen = [assign(target, self.expr(value))]
            chain = chosen if cond is None else [ast.If(self.expr(cond), chosen, chain)]
        return chain

    @property
    def request_outputs(self) -> bool:
        """Whether some output reads the request (else outputs depend on the fired rules only)."""
        return any(
            _reads_request(e)
            for output in self.program.outputs
            for cond, value in output.cases
            for e in (cond, value)
            if e is not None
        )

    def outputs_function(self) -> list[ast.FunctionDef]:
        """`_outputs(_f)`: the output values from the flags, when no output reads the request
        (the evaluator then builds each rule set's decision, outputs included, once)."""
        if not self.program.outputs or self.request_outputs:
            return []
        body: list[ast.stmt] = []
        names = []
        for i, output in enumerate(self.program.outputs):
            names.append(f"_o{i}")
            body.extend(self._output(output, names[-1]))
        body.append(ast.Return(ast.Tuple([ref(n) for n in names], LOAD)))
        args = ast.arguments([], [ast.arg("_f")], None, [], [], None, [])
        return [ast.FunctionDef("_outputs", args, body, [], None, None)]

    def flags_function(self) -> ast.FunctionDef:
        """`_flags(_decision, _fired)`: the flags from the decision and the fired rules' records
        (in rule order), for flags `mask_functions` cannot split per rule."""
        values = [self.expr(f) for f in self.program.flags]
        body: list[ast.stmt] = [ast.Return(ast.Tuple(values, LOAD))]
        args = ast.arguments([], [ast.arg("_decision"), ast.arg("_fired")], None, [], [], None, [])
        return ast.FunctionDef("_flags", args, body, [], None, None)

    def mask_functions(self) -> list[ast.FunctionDef]:
        """`_rule_bits(_r)` and `_flags_masks(_decision, _some, _every)`, when every use of `fired`
        in the flags is `some`/`all` over it with a body that reads only its own variable.

        Such a quantifier is a predicate of one rule: bit j of `_rule_bits` holds predicate j
        for a rule (computed once per rule), `some` is bit j of the OR of the fired rules' bits
        and `all` of their AND (all ones when none fired). Combining a set then costs one OR and
        one AND per fired rule, whatever the flags say. Otherwise there are no such functions.
        """
        if not self.program.flags:
            return []
        predicates: list[tuple[str, ir.Expr]] = []
        try:
            lifted = [_lift_predicates(f, predicates) for f in self.program.flags]
        except _NotPerRule:
            return []
        bits: list[ast.expr] = []
        for j, (var, predicate) in enumerate(predicates):
            self._locals.append({var: "_r"})
            try:
                test = self.expr(predicate)
            finally:
                self._locals.pop()
            bits.append(ast.IfExp(test, ast.Constant(1 << j), ast.Constant(0)))
        total = call("_sum", ast.Tuple(bits, LOAD)) if bits else ast.Constant(0)
        rule_bits = ast.FunctionDef(
            "_rule_bits",
            ast.arguments([], [ast.arg("_r")], None, [], [], None, []),
            [ast.Return(total)],
            [],
            None,
            None,
        )
        body: list[ast.stmt] = []
        frame: dict[str, str] = {}
        used = {e.name for f in lifted for e in ir_walk(f) if isinstance(e, Local)}
        for j in range(len(predicates)):
            for kind, mask in (("some", "_some"), ("all", "_every")):
                if f"#{kind}{j}" not in used:
                    continue
                name = f"_q{kind[0]}{j}"  # _qs0, _qa0
                frame[f"#{kind}{j}"] = name
                held = ast.BinOp(ref(mask), ast.BitAnd(), ast.Constant(1 << j))
                body.append(assign(name, ast.Compare(held, [ast.NotEq()], [ast.Constant(0)])))
        self._locals.append(frame)
        try:
            values = [self.expr(f) for f in lifted]
        finally:
            self._locals.pop()
        body.append(ast.Return(ast.Tuple(values, LOAD)))
        args = [ast.arg("_decision"), ast.arg("_some"), ast.arg("_every")]
        flags_masks = ast.FunctionDef(
            "_flags_masks", ast.arguments([], args, None, [], [], None, []), body, [], None, None
        )
        return [rule_bits, flags_masks]

    # ---- expressions ------------------------------------------------------------------------

    def expr(self, e: ir.Expr) -> ast.expr:
        match e:
            case Const(value):
                return self.const(value)
            case ir.SlotRef(s):
                return ref(self.slot(s))
            case ir.SlotPresent(s):
                return is_(ref(self.slot(s)), none(), negate=True)
            case ir.TestRef(i):
                return ref(f"_t{i}")
            case ir.Param(i):
                assert self.row is not None, "a bucket's constant outside its dispatch"
                return ast.Subscript(ref(self.row), ast.Constant(i), LOAD)
            case ir.FlagRef(i):
                return ast.Subscript(ref("_f"), ast.Constant(i), LOAD)
            case Local(name):
                return ref(self._local(name))
            case Outcome(name):
                return ref("_decision" if name == "decision" else "_fired")
            case FieldOf(base, name):
                return ast.Subscript(self.expr(base), ast.Constant(name), LOAD)
            case FieldPresent(base, name):
                return ast.Compare(ast.Constant(name), [ast.In()], [self.expr(base)])
            case Size(arg):
                return call("_len", self.expr(arg))
            case Ancestors(arg):
                return ast.Attribute(self.expr(arg), "ancestors", LOAD)
            case Uids(arg, many):
                return entity_code.uids(self.expr(arg), self.fresh("_v") if many else None)
            case TimeCall(func, args):  # `func` is one of `datetimes.FUNCTIONS`: the checker's
                helper = f"_t_{func}"
                assert helper in runtime.HELPERS, func  # never a name the policy made up
                return call(helper, *(self.expr(a) for a in args))
            case SetOf(items):
                return call("_frozenset", self.expr(items))
            case RowsWhere(_, _, rows, key):  # `ROWS.get(key, ())`: a table's rows by a column
                found = ast.Attribute(self.const(rows), "get", LOAD)
                return ast.Call(found, [self.expr(key), ast.Tuple([], LOAD)], [])
            case MapGet(base, key):
                return ast.Subscript(self.expr(base), self.expr(key), LOAD)
            case MapHas(base, key):
                return ast.Compare(self.expr(key), [ast.In()], [self.expr(base)])
            case MapView("keys", arg):
                return call("_frozenset", self.expr(arg))
            case MapView(_, arg):
                values = ast.Call(ast.Attribute(self.expr(arg), "values", LOAD), [], [])
                return call("_tuple", values)
            case nodes.And(ops):
                return ast.BoolOp(ast.And(), [self.expr(o) for o in ops])
            case nodes.Or(ops):
                return ast.BoolOp(ast.Or(), [self.expr(o) for o in ops])
            case nodes.Not(operand):
                return ast.UnaryOp(ast.Not(), self.expr(operand))
            case nodes.Compare(cmp, left, right):
                return ast.Compare(self.expr(left), [_compare_op(cmp)], [self.expr(right)])
            case nodes.In(group, Ancestors(entity), False):
                return entity_code.in_hierarchy(self.expr(group), self.expr(entity))
            case nodes.SetTest(Op.CONTAINS_ANY, Ancestors(entity), groups):
                return entity_code.in_hierarchy(self.expr(groups), self.expr(entity), many=True)
            case nodes.In(element, collection):
                cmpop = _membership_op(e.op)
                return ast.Compare(self.expr(element), [cmpop], [self.expr(collection)])
            case nodes.SetTest(test, left, right):
                return self._set_test(test, left, right)
            case nodes.Arith(first, rest):
                operators = {op for op, _ in rest}
                flat = operators == {Op.MUL} or operators <= {Op.ADD, Op.SUB}
                if len(rest) >= _MAX_CHAIN and flat:
                    terms = [self.expr(first)]
                    for op, operand in rest:
                        term = self.expr(operand)
                        terms.append(ast.UnaryOp(ast.USub(), term) if op is Op.SUB else term)
                    chain = "_prod" if operators == {Op.MUL} else "_sum"
                    return call(chain, ast.Tuple(terms, LOAD))
                result = self.expr(first)
                for op, operand in rest:
                    result = ast.BinOp(result, _arith_op(op), self.expr(operand))
                return result
            case nodes.Neg(operand):
                return ast.UnaryOp(ast.USub(), self.expr(operand))
            case nodes.Quantifier(kind, var, collection, body):
                source = self.expr(collection)
                name = self.fresh("_v")
                self._locals.append({var.name: name})
                try:
                    elt = self.expr(body)
                finally:
                    self._locals.pop()
                gen = ast.GeneratorExp(elt, [ast.comprehension(store(name), source, [], 0)])
                return call("_any" if kind == "some" else "_all", gen)
            case nodes.ListLit(items):
                return ast.Tuple([self.expr(i) for i in items], LOAD)
        raise AssertionError(f"cannot generate {e!r}")  # pragma: no cover

    def _local(self, name: str) -> str:
        for frame in reversed(self._locals):
            if name in frame:
                return frame[name]
        raise AssertionError(f"unbound local {name}")  # pragma: no cover

    def _set_test(self, op: SetOp, left: ir.Expr, right: ir.Expr) -> ast.expr:
        a, b = self.expr(left), self.expr(right)
        match op:
            case Op.CONTAINS:
                return ast.Compare(b, [ast.In()], [a])
            case Op.CONTAINS_ANY:
                return call("_contains_any", a, b)
            case Op.CONTAINS_ALL:
                return call("_contains_all", a, b)
            case Op.STARTS_WITH:
                return ast.Call(ast.Attribute(a, "startswith", LOAD), [b], [])
            case Op.ENDS_WITH:
                return ast.Call(ast.Attribute(a, "endswith", LOAD), [b], [])
            case Op.LIKE:
                if isinstance(right, Const) and isinstance(right.value, str):
                    pattern = self.hoist(Glob(right.value), "_G")
                    return ast.Call(ast.Attribute(pattern, "matches", LOAD), [a], [])
                return call("_glob", a, b)
            case Op.MATCHES:  # a constant: the checker refuses any other pattern
                if isinstance(right, ir.Param):  # compiled, in a bucket's row (`index_code`)
                    pattern = b
                else:
                    assert isinstance(right, Const) and isinstance(right.value, str)
                    pattern = self.hoist(compile_pattern(right.value), "_G")
                found = ast.Call(ast.Attribute(pattern, "search", LOAD), [a], [])
                return is_(found, none(), negate=True)
            case Op.IN_RANGE:
                return call("_in_range", a, b)
            case _:
                assert_never(op)


class _NotPerRule(Exception):
    """A flag reads `fired` otherwise than through a quantifier over one rule."""


def _lift_predicates(e: ir.Expr, predicates: list[tuple[str, ir.Expr]]) -> ir.Expr:
    """`e` with each `some`/`all v in fired: body` (body reading only `v`) replaced by a local
    `#some<j>`/`#all<j>`, j numbering the distinct bodies in `predicates`."""
    if isinstance(e, nodes.Quantifier) and e.collection == Outcome("fired"):
        predicate = (e.var.name, e.body)
        if _per_rule(e.body, frozenset({e.var.name})):
            if predicate not in predicates:
                predicates.append(predicate)
            return Local(f"#{e.kind}{predicates.index(predicate)}")
    if isinstance(e, Outcome) and e.name == "fired":
        raise _NotPerRule
    lifted: ir.Expr = map_children(e, lambda c: _lift_predicates(c, predicates))
    return lifted


def _per_rule(e: ir.Expr, bound: frozenset[str]) -> bool:
    """Reads nothing but the locals in `bound` (and those it binds itself): no outcome."""
    if isinstance(e, Outcome):
        return False
    if isinstance(e, Local):
        return e.name in bound
    if isinstance(e, nodes.Quantifier):
        return _per_rule(e.collection, bound) and _per_rule(e.body, bound | {e.var.name})
    return all(_per_rule(c, bound) for c in ir.ir_children(e))


def ir_walk(e: ir.Expr) -> list[ir.Expr]:
    """`e` and every expression below it."""
    found = [e]
    for c in ir.ir_children(e):
        found.extend(ir_walk(c))
    return found


def _reads_request(e: ir.Expr) -> bool:
    if isinstance(e, ir.SlotRef | ir.SlotPresent | ir.TestRef):
        return True
    return any(_reads_request(c) for c in ir.ir_children(e))
