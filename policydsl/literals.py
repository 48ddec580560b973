"""Literals whose text must be read as something else, checked when the policy is: a `matches`
pattern (RE2 must compile it), an IP address where an `ip` is expected, an `in_range` range, a
decimal (`0.8`, or an integer literal where a decimal is expected). Each is a literal of the
policy; a request never supplies one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from policydsl import decimals, ipaddr, nodes, regex
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.model import Const
from policydsl.operators import Op
from policydsl.source import Span

Report = Callable[..., None]  # `ExprChecker.error(code, message, span, help=...)`


def pattern(expr: Any, span: Span | None, error: Report) -> None:
    """A `matches` pattern: a string literal RE2 compiles (so matching stays linear)."""
    if not (isinstance(expr, Const) and isinstance(expr.value, str)):
        error(Code.BAD_PATTERN, "`matches` takes its pattern as a string literal", span)
        return
    try:
        regex.compile_pattern(expr.value)
    except regex.PatternError as err:
        error(Code.BAD_PATTERN, str(err), span, help="RE2 syntax: no backreferences")


def address(value: str, span: Span | None, error: Report) -> Const:
    """A string literal where an `ip` is expected: the address, in canonical text."""
    try:
        return Const(ipaddr.canonical_address(value), span=span)
    except ValueError:
        error(
            Code.BAD_ADDRESS,
            f"`{value:.60}` is not an IP address",
            span,
            help='write an IPv4 or IPv6 address: "10.0.0.1", "2001:db8::1"',
        )
        return Const(value, span=span)


def network(expr: Any, span: Span | None, error: Report) -> Any:
    """The range of `in_range`: a string literal CIDR block, in canonical text."""
    if not (isinstance(expr, Const) and isinstance(expr.value, str)):
        error(Code.BAD_ADDRESS, "`in_range` takes its range as a string literal", span)
        return expr
    try:
        return Const(ipaddr.canonical_network(expr.value), span=expr.span)
    except ValueError as err:
        error(
            Code.BAD_ADDRESS,
            f"`{expr.value:.60}` is not an IP range ({str(err)[:40]})",
            span,
            help='write a CIDR block: "10.0.0.0/8", "fd00::/8"',
        )
        return expr


def show_int(value: int) -> str:
    """An integer as a message shows it: a huge one by its size, not its thousand digits."""
    return str(value) if value.bit_length() < 200 else f"a {value.bit_length():,}-bit number"


def decimal_wanted(e: Any, expected: Any) -> bool:
    """A decimal literal (`0.8`), or an integer literal where a decimal is expected (`1`)."""
    return isinstance(e, nodes.DecLit) or isinstance(expected, t.DecimalType)


def decimal(e: Any, error: Report) -> Const:
    """A decimal literal, scaled (`0.8` is 8000); P335 past four digits, P336 out of range."""
    written = e.written if isinstance(e, nodes.DecLit) else str(e.value)
    try:
        return Const(decimals.literal(written), span=e.span, type=t.DECIMAL)
    except ValueError as err:
        if str(err) == "digits":
            error(
                Code.DECIMAL_DIGITS,
                f"`{written:.40}` has more than {decimals.DIGITS} digits after the point",
                e.span,
                help="a decimal is exact to 4 digits after the point: round it, e.g. `0.1235`",
            )
        else:
            error(
                Code.DECIMAL_RANGE,
                f"`{written:.40}` is outside the range of a decimal",
                e.span,
                help=f"a decimal lies from {decimals.text(decimals.MIN)} "
                f"to {decimals.text(decimals.MAX)}",
            )
        return Const(0, span=e.span, type=t.DECIMAL)


def side_hint(e: Any) -> Any:
    """What the left side of a comparison is expected to be, from its right side's literal."""
    return t.DECIMAL if isinstance(e, nodes.DecLit) else None


def decimal_sides(lt: Any, rt: Any, error: Report, span: Span | None) -> tuple[Any, Any]:
    """The operands of a comparison (`Typed`s): an integer literal beside a decimal is read as
    one (`1 < score`); any other integer beside a decimal is P337, and both sides become `?`."""
    if not isinstance(lt.type, t.DecimalType) and not isinstance(rt.type, t.DecimalType):
        return lt, rt  # the commonest: no decimal, nothing to read as one
    sides = [lt, rt]
    for i, (side, other) in enumerate(((lt, rt), (rt, lt))):
        if not (isinstance(other.type, t.DecimalType) and isinstance(side.type, t.IntType)):
            continue
        if isinstance(side.expr, Const) and side.expr.value.__class__ is int:
            value = nodes.IntLit(side.expr.value, span=side.expr.span)
            sides[i] = attrs.evolve(side, expr=decimal(value, error), type=t.DECIMAL)
            continue
        error(
            Code.DECIMAL_AND_INT,
            f"cannot compare {side.type} with decimal",
            span,
            help="declare both `decimal`, or compare the decimal with a literal such as `2` or "
            "`0.5`: an integer is never read as a decimal at run time",
        )
        return attrs.evolve(lt, type=t.ANY), attrs.evolve(rt, type=t.ANY)
    return sides[0], sides[1]


def no_decimal_output(type_: Any, span: Span | None, error: Report, what: str) -> None:
    """An output or annotation is never a decimal (nor holds one): a decision is JSON, and a
    JSON number would reach most readers as a binary float. P337, with the way round it."""
    if _holds_decimal(type_):
        error(
            Code.DECIMAL_AND_INT,
            f"an {what} cannot be a decimal",
            span,
            help="compare the decimal in a rule or an output case, and output its verdict",
        )


def _holds_decimal(type_: t.Type) -> bool:
    match type_:
        case t.DecimalType():
            return True
        case t.CollectionType(_, element):
            return _holds_decimal(element)
        case t.RecordType(_, fields):
            return any(_holds_decimal(f.type) for f in fields)
    return False


# Cedar's tests of an address, as the ranges they mean: each is `in_range` of these, so every
# backend, index and cost knows them already. Versions stay apart, as in `in_range`.
IP_TESTS: dict[str, tuple[str, ...]] = {
    "is_ipv4": ("0.0.0.0/0",),
    "is_ipv6": ("::/0",),
    "is_loopback": ("127.0.0.0/8", "::1/128"),
    "is_multicast": ("224.0.0.0/4", "ff00::/8"),
}


def ip_test(name: str, arg: Any, type_: t.Type, error: Report) -> Any:
    """`is_loopback(source)` and its kind, as the `in_range` tests it stands for."""
    if not isinstance(type_, t.IpType | t.AnyType):
        error(Code.INCOMPARABLE, f"`{name}` tests an ip, not {type_}", arg.span)
    span = arg.span
    tests = [
        nodes.SetTest(Op.IN_RANGE, arg, Const(cidr, span=span), span=span)
        for cidr in IP_TESTS[name]
    ]
    return tests[0] if len(tests) == 1 else nodes.Or(tuple(tests), span=span)


def arithmetic_hint(type_: t.Type) -> str | None:
    """Why `+` on a decimal is refused, and what to write instead."""
    if isinstance(type_, t.DecimalType):
        return "a decimal has no arithmetic (as in Cedar): compare it with a literal"
    return None


def check_default_size(
    checker: Any, path: str, type_: t.Type, default: Any, span: Span | None
) -> None:
    """A default must fit the declared maxima a request is held to ."""
    if isinstance(type_, t.CollectionType) and isinstance(default, tuple | frozenset):
        size, limit, unit = len(default), type_.max_size, "elements"
    elif isinstance(type_, t.StringType) and isinstance(default, str):
        size, limit, unit = len(default), type_.max_length, "characters"
    else:
        return
    if size > limit:
        checker.error(
            Code.DEFAULT_TOO_LARGE,
            f"the default of `{path}` has {size} {unit}; `{path}` holds at most {limit}",
            span,
        )
