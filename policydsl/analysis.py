"""Analysis of a checked policy: rules that can never fire, and rules that fire together.

Runs on the lowered form (definitions inlined, constants folded, conditions split into their
conjuncts) that the engines' programs are built from, so what it reports is what they run.
Findings are warnings: the policy still loads, but its author is told where it does not say what
they probably meant.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypeGuard, assert_never

from policydsl import ir, nodes
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic
from policydsl.model import CheckedPolicy, Const, FieldOf
from policydsl.operators import CompareOp, Op
from policydsl.source import Span


def analyse(policy: CheckedPolicy, lowered: ir.Lowered) -> list[Diagnostic]:
    """The warnings for a checked policy, read from its lowered form."""
    spans = {r.id: r.span for r in policy.rules}
    found: list[Diagnostic] = []
    for bit in lowered.dead:
        rule = lowered.rules[bit]
        found.append(_never(rule, "its condition is always false", spans))
    conditions: dict[frozenset[ir.Expr], list[ir.RuleInfo]] = defaultdict(list)
    bounds = _declared_bounds(lowered.slots)
    for bit, tests in lowered.conditions:
        rule = lowered.rules[bit]
        parts = list(tests)
        why = _contradiction(parts, lowered.slots, bounds)
        if why is not None:
            found.append(_never(rule, why, spans))
            continue
        conditions[frozenset(parts)].append(rule)
    always = [lowered.rules[b] for b in lowered.always]
    if len(always) > 1:
        conditions[frozenset()] = always
    for group in conditions.values():
        first = group[0]
        for other in group[1:]:
            found.append(_same_condition(first, other, lowered.effects, spans))
    return found


def _never(rule: ir.RuleInfo, why: str, spans: dict[str, Span | None]) -> Diagnostic:
    return Diagnostic(
        Code.NEVER_FIRES,
        f"rule `{rule.id}` can never fire: {why}",
        spans.get(rule.id),
        help="check the condition's tests against each other",
        severity="warning",
    )


def _same_condition(
    a: ir.RuleInfo, b: ir.RuleInfo, effects: tuple[str, ...], spans: dict[str, Span | None]
) -> Diagnostic:
    if a.effect == b.effect:
        message = f"rules `{a.id}` and `{b.id}` have the same condition and effect"
        help_ = "one of them is redundant; merge their citations"
    else:
        strong, weak = sorted((a, b), key=lambda r: effects.index(r.effect))
        message = (
            f"rules `{strong.id}` ({strong.effect}) and `{weak.id}` ({weak.effect}) fire on "
            f"exactly the same requests"
        )
        help_ = f"`{weak.id}` can never decide: `{strong.effect}` always wins"
    return Diagnostic(Code.SAME_CONDITION, message, spans.get(b.id), help=help_, severity="warning")


def _declared_bounds(slots: tuple[ir.Slot, ...]) -> tuple[dict[int, int], dict[int, int]]:
    """The declared lowest and highest value of each ranged `int` slot (once per policy)."""
    low: dict[int, int] = {}
    high: dict[int, int] = {}
    for slot in slots:
        if isinstance(slot.type, t.IntType):
            if slot.type.lo is not None:
                low[slot.index] = slot.type.lo
            if slot.type.hi is not None:
                high[slot.index] = slot.type.hi
    return low, high


def _contradiction(
    parts: list[ir.Expr],
    slots: tuple[ir.Slot, ...],
    bounds: tuple[dict[int, int], dict[int, int]],
) -> str | None:
    """Why a conjunction is unsatisfiable, for the contradictions that are easy to be sure of."""
    negated = {part.operand for part in parts if isinstance(part, nodes.Not)}
    if negated:
        for part in parts:
            if part in negated:
                return f"it requires `{ir.show(part, slots)}` and its negation"
    allowed: dict[Any, frozenset[Any]] = {}
    low: dict[Any, int] = dict(bounds[0])
    high: dict[Any, int] = dict(bounds[1])
    for part in parts:
        match part:
            case nodes.Compare(Op.EQ, left, Const(v)) | nodes.Compare(Op.EQ, Const(v), left) if (
                s := _subject(left)
            ) is not None:
                values: frozenset[Any] = frozenset({v})
                if _is_int(v):
                    _narrow(Op.EQ, v, s, low, high)
            case nodes.In(left, Const(v), False) if isinstance(v, frozenset) and (
                (s := _subject(left)) is not None
            ):
                values = v
            case nodes.Compare(op, left, Const(v)) if _is_int(v) and (
                (s := _subject(left)) is not None
            ):
                _narrow(op, v, s, low, high)
                continue
            case _:
                continue
        allowed[s] = allowed.get(s, values) & values
        if not allowed[s]:
            return f"`{_named(s, slots)}` cannot take all the values it is compared with"
    for s in set(low) & set(high):
        if low[s] > high[s]:
            return f"no value of `{_named(s, slots)}` passes all of its comparisons"
    return None


def _subject(e: Any) -> Any:
    """What a comparison tests, when it is a request's value: a slot (its number), or an
    attribute read through an entity there (`principal.level`: the read itself); else None."""
    if isinstance(e, ir.SlotRef):
        return e.slot
    if isinstance(e, FieldOf) and _subject(e.base) is not None:
        return e
    return None


def _named(subject: Any, slots: tuple[ir.Slot, ...]) -> str:
    return slots[subject].dotted if isinstance(subject, int) else ir.show(subject, slots)


def _narrow(op: CompareOp, v: int, s: Any, low: dict[Any, int], high: dict[Any, int]) -> None:
    """Tighten the known range of slot `s` by the test `s op v`."""
    match op:
        case Op.GT | Op.GE:
            bound = v + 1 if op is Op.GT else v
            low[s] = max(low.get(s, bound), bound)
        case Op.LT | Op.LE:
            bound = v - 1 if op is Op.LT else v
            high[s] = min(high.get(s, bound), bound)
        case Op.EQ:
            low[s] = max(low.get(s, v), v)
            high[s] = min(high.get(s, v), v)
        case Op.NE:
            pass  # excludes one value: no range to tighten
        case _:
            assert_never(op)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
