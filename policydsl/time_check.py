"""The checker's datetime and duration half: literals, arithmetic and the functions on them.

`typecheck.ExprChecker` hands over what concerns them: a string literal where a datetime is
expected, a duration literal (`90d`), arithmetic whose first operand is a datetime or a
duration, `-` of a duration, and the calls of `FUNCTIONS`. Each step of time arithmetic is
wrapped in `checked` (`model.TimeCall`), so both backends fail (an `EvaluationError`) as soon as
a value leaves the 64-bit range, as Cedar does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import attrs

from policydsl import datetimes, nodes
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.model import Const, TimeCall
from policydsl.operators import Op
from policydsl.source import Span

if TYPE_CHECKING:
    from policydsl.presence import Fact

Scope = Any  # `typecheck.Scope`, passed through


@attrs.frozen
class Typed:
    """A checked expression and its type (what `typecheck.ExprChecker.expr` gives)."""

    expr: Any
    type: t.Type


class ExprChecker(Protocol):
    """What this module asks of `typecheck.ExprChecker` (which imports it)."""

    def error(
        self, code: Code, message: str, span: Span | None, help: str | None = None
    ) -> None: ...

    def expr(
        self, e: Any, scope: Scope, facts: frozenset[Fact], expected: t.Type | None
    ) -> Typed: ...

    def need_int(self, typed: Typed, e: Any) -> Typed: ...


# what each function takes (besides an optional UTC offset) and gives
_CALENDAR_RESULT: dict[str, t.Type] = {"date": t.DATETIME, "time_of_day": t.DURATION}
FUNCTIONS = frozenset({"datetime", "duration", *datetimes.CALENDAR_ALL, *datetimes.OF_DURATION})
TYPES: dict[str, t.Type] = {"datetime": t.DATETIME, "duration": t.DURATION}
_ARITHMETIC_HELP = (
    "datetime + duration, datetime - duration, datetime - datetime (a duration), "
    "duration + duration, duration - duration"
)


def is_literal(e: Any, expected: t.Type | None) -> bool:
    """A duration literal, or a string literal where a datetime or a duration is expected."""
    return isinstance(e, nodes.DurationLit) or (expected is not None and t.is_time(expected))


def first_expected(expected: t.Type | None) -> t.Type:
    """What the first operand of arithmetic is expected to be: a datetime where one is
    (`t > "2030-01-01" + 1d`), else an integer."""
    return t.DATETIME if isinstance(expected, t.DatetimeType) else t.INT


def literal(
    e: nodes.DurationLit | nodes.StrLit, expected: t.Type | None, checker: ExprChecker
) -> Typed:
    """A duration literal, or a string literal read as a datetime or a duration (`"-1h"`)."""
    if isinstance(e, nodes.DurationLit):
        return duration_literal(e.text, e.span, checker)
    if isinstance(expected, t.DurationType):
        return duration_literal(e.value, e.span, checker)
    return Typed(datetime_literal(e.value, e.span, checker), t.DATETIME)


def ordered(checker: ExprChecker, left: t.Type, right: t.Type, span: Span | None) -> None:
    """`<` and the others on datetimes or durations: both sides of one type."""
    if not t.compatible(left, right):
        checker.error(Code.INCOMPARABLE, f"cannot compare {left} with {right}", span)


def datetime_literal(value: str, span: Span | None, checker: ExprChecker) -> Const:
    """A string literal where a datetime is expected: the instant, in milliseconds (P338)."""
    try:
        return Const(datetimes.parse_literal(value), type=t.DATETIME, span=span)
    except datetimes.TimeTextError as err:
        message = f"`{value:.60}` is not a datetime" + _why(err, "not a datetime")
        checker.error(Code.BAD_DATETIME, message, span, help=err.help)
        return Const(datetimes.Datetime(0), type=t.DATETIME, span=span)


def duration_literal(text: str, span: Span | None, checker: ExprChecker) -> Typed:
    """`90d`, `1h30m`, `500ms`: the duration in milliseconds (P339)."""
    try:
        value = datetimes.parse_duration(text)
    except datetimes.TimeTextError as err:
        message = f"`{text:.60}` is not a duration" + _why(err, "not a duration")
        checker.error(Code.BAD_DURATION, message, span, help=err.help)
        value = datetimes.Duration(0)
    return Typed(Const(value, type=t.DURATION, span=span), t.DURATION)


def _why(err: datetimes.TimeTextError, plain: str) -> str:
    """What is wrong, beyond the text's shape (`: no such date 2023-02-29`)."""
    return "" if str(err) == plain else f": {err}"


def _result(op: Op, left: t.Type, right: t.Type) -> t.Type | None:
    """The type of `left op right` for time operands, or None if it has no meaning."""
    if isinstance(left, t.AnyType) or isinstance(right, t.AnyType):
        return t.ANY
    moment, span = isinstance(left, t.DatetimeType), isinstance(left, t.DurationType)
    if op is Op.ADD and moment and isinstance(right, t.DurationType):
        return t.DATETIME
    if op is Op.ADD and span and isinstance(right, t.DatetimeType):
        return t.DATETIME
    if op is Op.SUB and moment:
        if isinstance(right, t.DurationType):
            return t.DATETIME
        return t.DURATION if isinstance(right, t.DatetimeType) else None
    if op in (Op.ADD, Op.SUB) and span and isinstance(right, t.DurationType):
        return t.DURATION
    return None


def arith(
    checker: ExprChecker,
    e: nodes.Arith[nodes.Expr],
    first: Typed,
    scope: Scope,
    facts: frozenset[Fact],
) -> Typed:
    """`a + b - c ...` whose first operand is a datetime or a duration: each step checked."""
    expr: Any = first.expr
    type_: t.Type = first.type
    for op, operand in e.rest:
        # a string literal after `datetime -` is a datetime (`t - "2024-01-01"`)
        want = t.DATETIME if isinstance(type_, t.DatetimeType) and op is Op.SUB else t.DURATION
        typed = checker.expr(operand, scope, facts, want)
        result = _result(op, type_, typed.type)
        if result is None:
            checker.error(
                Code.BAD_TIME_ARITHMETIC,
                f"`{op}` of {type_} and {typed.type} has no meaning",
                operand.span,
                help=_ARITHMETIC_HELP,
            )
            result = t.ANY
        step = nodes.Arith(expr, ((op, typed.expr),), span=e.span)
        expr = TimeCall("checked", (step,), span=e.span)
        type_ = result
    return Typed(expr, type_)


def negate(checker: ExprChecker, e: nodes.Neg[nodes.Expr], operand: Typed) -> Typed:
    """`-x` of an integer, or of a duration: checked, as `-(-2^63)` leaves the range."""
    negated = nodes.Neg(operand.expr, span=e.span)
    if isinstance(operand.type, t.DurationType):
        return Typed(TimeCall("checked", (negated,), span=e.span), t.DURATION)
    checker.need_int(operand, e.operand)
    return Typed(negated, t.INT)


def call(
    checker: ExprChecker,
    e: nodes.Call[nodes.Expr],
    scope: Scope,
    facts: frozenset[Fact],
) -> Typed:
    """`datetime("...")`, `duration("...")`, `hour(t)`, `hour(t, "+0200")`, `to_days(d)`."""
    name, args = e.func.name, e.args
    if name in ("datetime", "duration"):
        if len(args) != 1 or not isinstance(args[0], nodes.StrLit):
            code = Code.BAD_DATETIME if name == "datetime" else Code.BAD_DURATION
            example = '"2024-10-15T11:35:00Z"' if name == "datetime" else '"1h30m"'
            checker.error(
                code, f"`{name}` takes one string literal", e.span, help=f"{name}({example})"
            )
            return Typed(Const(None, span=e.span), t.ANY)
        text = args[0].value
        if name == "datetime":
            return Typed(datetime_literal(text, args[0].span, checker), t.DATETIME)
        return duration_literal(text, args[0].span, checker)
    takes_offset = name in datetimes.CALENDAR_ALL
    most = 2 if takes_offset else 1
    if not 1 <= len(args) <= most:
        shape = "a datetime and an optional UTC offset" if takes_offset else "one duration"
        checker.error(Code.WRONG_COUNT, f"`{name}` takes {shape}, not {len(args)}", e.span)
        return Typed(Const(None, span=e.span), t.ANY)
    want = t.DATETIME if takes_offset else t.DURATION
    typed = checker.expr(args[0], scope, facts, want)
    if not t.compatible(typed.type, want):
        checker.error(
            Code.TYPE_MISMATCH, f"`{name}` takes a {want}, not {typed.type}", args[0].span
        )
    operands: list[Any] = [typed.expr]
    if takes_offset:
        operands.append(Const(_offset(args[1], checker) if len(args) == 2 else 0, span=e.span))
    result = _CALENDAR_RESULT.get(name, t.INT)
    return Typed(TimeCall(name, tuple(operands), span=e.span), result)


def _offset(arg: nodes.Expr, checker: ExprChecker) -> int:
    """A calendar function's fixed UTC offset: a string literal `+hhmm`, in milliseconds."""
    if not isinstance(arg, nodes.StrLit):
        checker.error(
            Code.BAD_OFFSET,
            "a UTC offset is a string literal",
            arg.span,
            help='write "+hhmm" or "-hhmm": "+0530"',
        )
        return 0
    try:
        return datetimes.parse_offset(arg.value)
    except datetimes.TimeTextError as err:
        checker.error(Code.BAD_OFFSET, str(err), arg.span, help=err.help)
        return 0
