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
from policydsl.index_code import IndexCode
from policydsl.operators import ArithOp, CompareOp, MembershipOp, Op, SetOp
from policydsl.pyast import (
    LOAD,
    assign,
    call,
    class_of,
    is_,
    none,
    or_all,
    ref,
    store,
)
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
    the evaluator binds (`bound`: its `_CACHE`, `_miss`, `_finish` and `_ONE`).
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
        self.row: str | None = None  # the local holding a bucket's row while its code is made

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
        body.extend(self._load_record(None, ref("ctx"), present=True))
        always: list[ast.expr] = [ast.Constant(r) for r in self.program.always]
        body.append(assign("_fired", ast.List(always, LOAD)))
        for i, test in enumerate(self.program.tests):
            body.append(assign(f"_t{i}", self.expr(test)))
        body.extend(self.checks(self.program.checks))
        body.extend(self.indexes.all(self.program.indexes))
        body.extend(self._finish())
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

    def _load_record(self, parent: int | None, source: ast.expr, present: bool) -> list[ast.stmt]:
        """Read and validate the fields of one record (`source` is a dict).

        Records are closed: a key the record does not declare sends the request to `_fallback`,
        which names it. The fast test counts the declared keys read with a value: when the
        record has no more keys than that, it has no others. Only when it has more (a declared
        key holding `null`, which counts as absent, or an undeclared one) does the exact test
        `source.keys() <= NAMES` run.
        """
        fields = [s for s in self.slots if s.parent == parent]
        count = self.fresh("_c")
        out: list[ast.stmt] = [assign(count, ast.Constant(0))]
        for s in fields:
            name = self.slot(s.index)
            read = ast.Call(ast.Attribute(source, "get", LOAD), [ast.Constant(s.path[-1])], [])
            out.append(assign(name, read))
            out.extend(self._validate(s, count))
        names = self.hoist(frozenset(s.path[-1] for s in fields), "_N")
        keys = ast.Call(ast.Attribute(source, "keys", LOAD), [], [])
        more = ast.Compare(call("_len", source), [ast.NotEq()], [ref(count)])
        undeclared = ast.UnaryOp(ast.Not(), ast.Compare(keys, [ast.LtE()], [names]))
        out.append(ast.If(ast.BoolOp(ast.And(), [more, undeclared]), [self.fallback()], []))
        return out

    def _validate(self, s: ir.Slot, count: str) -> list[ast.stmt]:
        """Check one slot's value; `count` counts the record's keys read with a value."""
        name = self.slot(s.index)
        value = ref(name)
        counted = ast.AugAssign(store(count), ast.Add(), ast.Constant(1))
        if isinstance(s.type, t.RecordType):
            wrong = is_(class_of(value), ref("_dict"), negate=True)
            children = self._load_record(s.index, value, present=True)
            if s.optional:
                absent = [assign(self.slot(d), none()) for d in self._descendants(s.index)]
                return [
                    ast.If(
                        is_(value, none()),
                        absent or [ast.Pass()],
                        [counted, ast.If(wrong, [self.fallback()], []), *children],
                    )
                ]
            return [
                ast.If(
                    is_(value, none()),
                    [assign(name, ref("_EMPTY"))],
                    [counted, ast.If(wrong, [self.fallback()], [])],
                ),
                *children,
            ]
        if s.default is not t.MISSING:
            when_absent: list[ast.stmt] = [assign(name, self.const(s.default))]
        elif s.optional:
            when_absent = []
        else:
            when_absent = [self.fallback()]  # required: the fallback names it
        if isinstance(s.type, t.DatetimeType | t.DurationType):  # read once, into milliseconds
            reader = "_datetime" if isinstance(s.type, t.DatetimeType) else "_duration"
            read = [counted, assign(name, call(reader, value))]
            if when_absent:
                return [ast.If(is_(value, none()), when_absent, read)]
            return [ast.If(is_(value, none(), negate=True), read, [])]
        if isinstance(s.type, t.EntityType):  # the id resolved in the entity data, once
            bare = ast.Constant(not s.type.record.fields)  # a group known by its id alone
            resolved = call("_entity", ref("_store"), value, ast.Constant(s.type.name), bare)
            present = [counted, assign(name, resolved)]
            return [ast.If(is_(value, none()), when_absent or [ast.Pass()], present)]
        if isinstance(s.type, t.MapType):  # checked and normalised whether read or not
            normalised = call("_map", value, self.hoist(s.type), *self._store_for(s.type))
            present = [counted, assign(name, normalised)]
            return [ast.If(is_(value, none()), when_absent or [ast.Pass()], present)]
        on_value: list[ast.stmt] = []  # check the value; a decimal is read once, scaled
        invalid: ast.expr | None = None
        if isinstance(s.type, t.DecimalType):
            on_value = [assign(name, call("_decimal", value))]
        elif not isinstance(s.type, t.CollectionType):
            invalid = self.invalid(s.type, value)
        else:
            invalid = or_all(
                [
                    ast.Compare(class_of(value), [ast.NotIn()], [ref("_SEQS")]),
                    ast.Compare(call("_len", value), [ast.Gt()], [ast.Constant(s.type.max_size)]),
                ]
            )
            if isinstance(s.type.element, t.DecimalType):
                on_value = [assign(name, call("_decimals", value, ast.Constant(s.type.kind)))]
        stmts: list[ast.stmt]
        if invalid is not None:
            on_value.insert(0, ast.If(invalid, [self.fallback()], []))
        if when_absent:
            stmts = [
                ast.If(
                    is_(value, none()),
                    when_absent,
                    [counted, *on_value],
                )
            ]
        else:
            stmts = [
                ast.If(
                    is_(value, none(), negate=True),
                    [counted, *on_value],
                    [],
                )
            ]
        if isinstance(s.type, t.CollectionType):
            stmts.extend(self._collection(s))
        return stmts

    def _collection(self, s: ir.Slot) -> list[ast.stmt]:
        """Check the elements (unless an index loop will) and build the value if it is read.

        A value that is built is checked first, even when an index loop checks it again: a
        frozenset merges `True`, `1.0` and `1`, so the loop would never see the wrong element.
        """
        assert isinstance(s.type, t.CollectionType)
        value = ref(self.slot(s.index))
        out: list[ast.stmt] = []
        element = s.type.element
        if isinstance(element, t.RecordType):  # checked and normalised whether read or not
            normalised = call("_records", value, self.hoist(element), *self._store_for(element))
            return self.if_present(s, [assign(self.slot(s.index), normalised)])
        if isinstance(element, t.EntityType):  # each id resolved in the entity data
            normalised = call("_entities", ref("_store"), value, self.hoist(s.type))
            return self.if_present(s, [assign(self.slot(s.index), normalised)])
        if isinstance(element, t.DatetimeType | t.DurationType):  # each read into milliseconds
            normalised = call("_times", value, self.hoist(s.type))
            return self.if_present(s, [assign(self.slot(s.index), normalised)])
        if s.index not in self.member_index or s.materialize:
            if isinstance(element, t.EnumType):
                check: ast.stmt = ast.If(
                    ast.UnaryOp(
                        ast.Not(),
                        ast.Call(
                            ast.Attribute(
                                self.hoist(frozenset(element.members), "_M"), "issuperset", LOAD
                            ),
                            [value],
                            [],
                        ),
                    ),
                    [self.fallback()],
                    [],
                )
            else:
                var = self.fresh("_e")
                check = ast.For(
                    store(var),
                    value,
                    [ast.If(self.invalid(element, ref(var)), [self.fallback()], [])],
                    [],
                )
            out.extend(self.if_present(s, [check]))
        if s.materialize:
            make = "_frozenset" if s.type.kind == "set" else "_tuple"
            out.extend(self.if_present(s, [assign(self.slot(s.index), call(make, value))]))
        return out

    @staticmethod
    def _store_for(type_: t.Type) -> list[ast.expr]:
        """The store argument of a helper that reads values of `type_`, where they may hold
        entities (their ids are resolved in it)."""
        return [ref("_store")] if t.holds_entities(type_) else []

    def if_present(self, s: ir.Slot, body: list[ast.stmt]) -> list[ast.stmt]:
        """Guard `body` when the slot can be empty (it, or a record around it, is optional)."""
        if ir.may_be_absent(self.slots, s.index):
            return [ast.If(is_(ref(self.slot(s.index)), none(), negate=True), body, [])]
        return body

    def _descendants(self, index: int) -> list[int]:
        found = []
        for s in self.slots:
            p = s.parent
            while p is not None:
                if p == index:
                    found.append(s.index)
                    break
                p = self.slots[p].parent
        return found

    def invalid(self, type_: t.Type, value: ast.expr) -> ast.expr:
        """An expression true when `value` (not None) is not a valid `type_`."""
        match type_:
            case t.BoolType():
                return is_(class_of(value), ref("_bool"), negate=True)
            case t.StringType(max_length):
                return or_all(
                    [
                        is_(class_of(value), ref("_str"), negate=True),
                        ast.Compare(call("_len", value), [ast.Gt()], [ast.Constant(max_length)]),
                    ]
                )
            case t.IpType():  # an address not in its canonical text goes to the validator
                return or_all(
                    [
                        is_(class_of(value), ref("_str"), negate=True),
                        ast.Compare(call("_ip_text", value), [ast.NotEq()], [value]),
                    ]
                )
            case t.IntType(lo, hi):
                tests = [is_(class_of(value), ref("_int"), negate=True)]
                if lo is not None:
                    tests.append(ast.Compare(value, [ast.Lt()], [ast.Constant(lo)]))
                if hi is not None:
                    tests.append(ast.Compare(value, [ast.Gt()], [ast.Constant(hi)]))
                return or_all(tests)
            case t.EnumType(_, members):
                return ast.Compare(value, [ast.NotIn()], [self.hoist(frozenset(members), "_M")])
            case t.DecimalType():  # an element of a list already converted (`_decimals`)
                return is_(class_of(value), ref("_int"), negate=True)
            case t.DatetimeType() | t.DurationType():  # an element of a collection read already
                return ast.Constant(False)
            case t.EntityType():  # resolved in the entity data as it was read
                return ast.Constant(False)
        raise AssertionError(type_)  # pragma: no cover

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
        append = ast.Attribute(ref("_fired"), "append", LOAD)
        return self._at_rule(rule, ast.Expr(ast.Call(append, [ast.Constant(rule)], [])))

    def checks(self, checks: tuple[ir.Check, ...]) -> list[ast.stmt]:
        return [
            self._at_rule(c.rule, ast.If(self.expr(c.condition), [self._fire(c.rule)], []))
            for c in checks
        ]

    # ---- outcome ----------------------------------------------------------------------------

    def _finish(self) -> list[ast.stmt]:
        """Find the entry of the fired set, compute the outputs that read the request, return the
        shared decision.

        No rule and one rule, the common cases, read what the evaluator prepared when it compiled
        (`_ONE[-1]`, `_ONE[rule]`); more look the set up in `_CACHE`, keyed by the set itself
        (firing order and repeats do not matter), and `_miss` combines the rules when it is not
        there. When no output reads the request, the entry is the decision itself.
        """
        entry = ref("_entry")
        fired = ref("_fired")
        several: list[ast.stmt] = [
            assign("_key", call("_frozenset", fired)),
            assign(
                "_entry",
                ast.Call(ast.Attribute(ref("_CACHE"), "get", LOAD), [ref("_key")], []),
            ),
            ast.If(is_(entry, none()), [assign("_entry", call("_miss", ref("_key")))], []),
        ]
        one = ast.Subscript(ref("_ONE"), ast.Subscript(fired, ast.Constant(0), LOAD), LOAD)
        out: list[ast.stmt] = [
            assign("_n", call("_len", fired)),
            ast.If(
                ast.Compare(ref("_n"), [ast.Eq()], [ast.Constant(1)]),
                [assign("_entry", one)],
                [
                    ast.If(
                        ast.Compare(ref("_n"), [ast.Eq()], [ast.Constant(0)]),
                        [assign("_entry", ast.Subscript(ref("_ONE"), ast.Constant(-1), LOAD))],
                        several,
                    )
                ],
            ),
        ]
        if not self.request_outputs:
            out.append(ast.Return(entry))
            return out
        out.append(assign("_f", ast.Subscript(entry, ast.Constant(0), LOAD)))
        names = []
        for i, output in enumerate(self.program.outputs):
            names.append(f"_o{i}")
            out.extend(self._output(output, names[-1]))
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
