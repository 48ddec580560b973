"""Literals whose text must be read as something else, checked when the policy is: a `matches`
pattern (RE2 must compile it), an IP address where an `ip` is expected, an `in_range` range.
Each is a string literal of the policy; a request never supplies one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policydsl import ipaddr, regex
from policydsl.codes import Code
from policydsl.model import Const
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
