"""The reference interpreter: walks the checked model, rule by rule. Small and obviously right.

It is the semantic ground truth the compiled backend is tested against, so it favours clarity over
speed: no indexing, no sharing, every rule's condition evaluated from scratch.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, assert_never

from policydsl import datetimes, decimals, ipaddr, model, nodes, regex
from policydsl import typesys as t
from policydsl.decision import Decision, EvaluationError, combine
from policydsl.glob import glob_match
from policydsl.operators import ArithOp, CompareOp, MembershipOp, Op, SetOp
from policydsl.setops import contains_all, contains_any


class Env:
    """What an expression is evaluated in. A policy is needed only to read its definitions:
    a reason's message has them written out, and is evaluated without one."""

    def __init__(
        self,
        policy: model.CheckedPolicy | None,
        context: Mapping[str, Any],
        outcome: Mapping[str, Any] | None = None,
    ):
        self.policy = policy
        self.context = context
        self.outcome = outcome or {}
        self.locals: dict[str, Any] = {}
        self.defs: dict[str, Any] = {}


# What a Python operation raises on a value of the wrong type; the compiled backend turns the same
# errors into its own `EvaluationError`.
_PYTHON_ERRORS = (TypeError, AttributeError, KeyError, ValueError)


def decide(policy: model.CheckedPolicy, context: Mapping[str, Any]) -> Decision:
    """Decide a validated, normalised context.

    A Python error while evaluating (a checked policy should never meet one) is an
    `EvaluationError`, as LANGUAGE.md says: raised, or refused in fail-closed mode. The walk
    recurses as deep as the policy's expressions nest, which the checker bounds
    (`inlining.MAX_INLINED_DEPTH`); a caller already deep in its own stack may not leave that
    much room, so the decision is then made again on a fresh thread's stack.
    """
    try:
        return _decide(policy, context)
    except RecursionError:
        return _on_fresh_stack(policy, context)


def _on_fresh_stack(policy: model.CheckedPolicy, context: Mapping[str, Any]) -> Decision:
    result: list[Decision] = []
    failure: list[Exception] = []

    def run() -> None:
        try:
            result.append(_decide(policy, context))
        except Exception as err:  # handed to the caller's thread
            failure.append(err)

    worker = threading.Thread(target=run, name="policydsl-interp")
    worker.start()
    worker.join()
    if failure:
        if isinstance(failure[0], RecursionError):
            raise EvaluationError("the policy nests too deeply to evaluate") from failure[0]
        raise failure[0]
    return result[0]


def _decide(policy: model.CheckedPolicy, context: Mapping[str, Any]) -> Decision:
    env = Env(policy, context)
    try:
        fired = [rule for rule in policy.rules if evaluate(rule.condition, env) is True]
        decision, obligations, citations, rule_ids, reasons = combine(policy, fired)
        outputs = derive_outputs(policy, context, decision, fired)
    except _PYTHON_ERRORS as err:
        raise EvaluationError(f"cannot evaluate the policy: {type(err).__name__}: {err}") from err
    except datetimes.TimeOverflow as err:
        raise EvaluationError(f"cannot evaluate the policy: {err}") from err
    return Decision(decision, obligations, citations, rule_ids, reasons, outputs)


def derive_outputs(
    policy: model.CheckedPolicy, context: Mapping[str, Any], decision: str, fired: list[model.Rule]
) -> tuple[tuple[str, Any], ...]:
    """Each output's value: the value of its first case whose condition holds."""
    outcome = {"decision": decision, "fired": tuple(fired_record(r) for r in fired)}
    env = Env(policy, context, outcome)
    values = []
    for output in policy.outputs:
        for condition, value in output.cases:
            if condition is None or evaluate(condition, env) is True:
                values.append((output.name, evaluate(value, env)))
                break
    return tuple(values)


def trace(
    policy: model.CheckedPolicy, context: Mapping[str, Any], rule: model.Rule
) -> list[tuple[model.Expr, Any, list[tuple[str, Any]]]]:
    """Each test of a rule's condition (its `and`-ed parts), its value for this request, and the
    attributes and definitions it reads with their values: what `explain` shows.

    A test that cannot be evaluated for this request (it reads an optional attribute that an
    earlier test found absent) has the value `None`: the rule never gets that far."""
    env = Env(policy, context)
    condition = rule.condition
    parts = condition.operands if isinstance(condition, nodes.And) else (condition,)
    traced = []
    for part in parts:
        try:
            value = evaluate(part, env)
        except (EvaluationError, datetimes.TimeOverflow):
            value = None
        reads: dict[str, Any] = {}
        for leaf in _leaves(part):
            if isinstance(leaf, model.Attr | model.DefRef):
                name = ".".join(leaf.path) if isinstance(leaf, model.Attr) else leaf.name
                try:
                    reads[name] = evaluate(leaf, env)
                except (EvaluationError, datetimes.TimeOverflow):
                    reads[name] = ABSENT
        traced.append((part, value, list(reads.items())))
    return traced


class _Absent:
    def __repr__(self) -> str:
        return "absent"


ABSENT: Any = _Absent()


def _leaves(expr: model.Expr) -> list[model.Expr]:
    found = [expr]
    for child in model.children(expr):
        found.extend(_leaves(child))
    return found


def fired_record(rule: model.Rule) -> dict[str, Any]:
    """A fired rule as a value of `fired`: its id, effect, citations, tags and annotations."""
    record: dict[str, Any] = {
        "id": rule.id,
        "effect": rule.effect,
        "cite": frozenset(rule.cite),
        "tags": frozenset(rule.tags),
    }
    record.update(rule.annotations)
    return record


def evaluate(expr: model.Expr, env: Env) -> Any:
    match expr:
        case model.Const(value) if isinstance(expr.type, t.DecimalType):
            return decimals.Scaled(value)  # a decimal shown as one (`explain`), compared as an int
        case model.Const(value):
            return value
        case model.Attr(path):
            found: Any = env.context
            for part in path:
                if part not in found:
                    raise EvaluationError(f"`{'.'.join(path)}` is absent")
                found = found[part]
            return found
        case model.Present(path):
            found = env.context
            for part in path:
                if part not in found:
                    return False
                found = found[part]
            return True
        case model.DefRef(name):
            if name not in env.defs:
                assert env.policy is not None  # messages have their definitions written out
                env.defs[name] = evaluate(env.policy.definitions[name].expr, env)
            return env.defs[name]
        case model.Local(name):
            return env.locals[name]
        case model.FieldOf(base, name):
            record = evaluate(base, env)
            if name not in record:
                raise EvaluationError(f"`{name}` is absent")
            return record[name]
        case model.FieldPresent(base, name):
            return name in evaluate(base, env)
        case model.Outcome(name):
            return env.outcome[name]
        case model.Size(arg):
            return len(evaluate(arg, env))
        case model.Ancestors(arg):
            return evaluate(arg, env).ancestors
        case model.Uids(arg, many):
            value = evaluate(arg, env)
            return frozenset(v.uid for v in value) if many else value.uid
        case model.TimeCall(func, args):
            return datetimes.apply(func, *(evaluate(a, env) for a in args))
        case model.SetOf(items):
            return frozenset(evaluate(items, env))
        case model.MapGet(base, key):
            found = evaluate(base, env)
            name = evaluate(key, env)
            if name not in found:
                raise EvaluationError(f"the map holds no key {name!r:.60}")
            return found[name]
        case model.MapHas(base, key):
            return evaluate(key, env) in evaluate(base, env)
        case model.MapView(kind, arg):
            found = evaluate(arg, env)
            return frozenset(found) if kind == "keys" else tuple(found.values())
        case nodes.And(operands):
            return all(evaluate(o, env) for o in operands)
        case nodes.Or(operands):
            return any(evaluate(o, env) for o in operands)
        case nodes.Not(operand):
            return not evaluate(operand, env)
        case nodes.Compare(cmp, left, right):
            return _compare(cmp, evaluate(left, env), evaluate(right, env))
        case nodes.In(element, collection):
            return _membership(expr.op, evaluate(element, env), evaluate(collection, env))
        case nodes.SetTest(test, left, right):
            return _set_test(test, evaluate(left, env), evaluate(right, env))
        case nodes.Arith(first, rest):
            total = evaluate(first, env)
            for op, operand in rest:
                total = _arith(op, total, evaluate(operand, env))
            return total
        case nodes.Neg(operand):
            return -evaluate(operand, env)
        case nodes.Quantifier(kind, var, collection, body):
            items = evaluate(collection, env)
            saved = env.locals.get(var.name, _UNBOUND)
            try:
                results = []
                for item in items:
                    env.locals[var.name] = item
                    results.append(evaluate(body, env) is True)
                    if results[-1] == (kind == "some"):
                        break
                return any(results) if kind == "some" else all(results)
            finally:
                if saved is _UNBOUND:
                    env.locals.pop(var.name, None)
                else:
                    env.locals[var.name] = saved
        case nodes.ListLit(items):
            return tuple(evaluate(i, env) for i in items)
    raise EvaluationError(f"cannot evaluate {type(expr).__name__}")  # pragma: no cover


_UNBOUND = object()


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


def _set_test(op: SetOp, a: Any, b: Any) -> bool:
    match op:
        case Op.CONTAINS:
            return b in a
        case Op.CONTAINS_ANY:
            return contains_any(a, b)
        case Op.CONTAINS_ALL:
            return contains_all(a, b)
        case Op.STARTS_WITH:
            return bool(a.startswith(b))
        case Op.ENDS_WITH:
            return bool(a.endswith(b))
        case Op.LIKE:
            return glob_match(a, b)
        case Op.MATCHES:
            return regex.search(a, b)
        case Op.IN_RANGE:
            return ipaddr.in_range(a, b)
        case _:
            assert_never(op)


def _membership(op: MembershipOp, element: Any, collection: Any) -> bool:
    match op:
        case Op.IN:
            return element in collection
        case Op.NOT_IN:
            return element not in collection
        case _:
            assert_never(op)


def _arith(op: ArithOp, a: Any, b: Any) -> Any:
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


def evaluate_in(
    policy: model.CheckedPolicy,
    context: Mapping[str, Any],
    expr: model.Expr,
    outcome: Mapping[str, Any] | None = None,
) -> Any:
    """One expression's value for a validated context (and, for a claim, the outcome it reads):
    how `verify` checks a solver's example against the reference semantics."""
    env = Env(policy, context, outcome)
    env.locals.update(outcome or {})  # a claim reads outputs and `obligated` as locals
    return evaluate(expr, env)
