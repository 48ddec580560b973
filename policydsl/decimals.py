"""Decimals: `decimal` attributes and literals, Cedar's `decimal` extension made a type.

A decimal is exact, with at most four digits after the point, held as an integer scaled by
10,000 (`0.8` is `8000`) within a signed 64-bit integer: from -922337203685477.5808 to
922337203685477.5807, as Cedar's. Comparisons are then integer comparisons, the ordered
indexes of integers serve decimals unchanged, and no binary float ever takes part in a decision.

A request gives a decimal as a JSON number (read as `decimal.Decimal`, never as a float), an
integer, a string of digits (`"59.20"`), or a Python float, read through its shortest `repr`
(what Python prints for it, so `0.1` is `0.1`). Any value is taken when it is exactly a decimal:
trailing zeros past the fourth digit are fine (`0.80000` is `0.8`), a fifth non-zero digit is not,
and neither is NaN, an infinity or a value out of range. The validator's result is a `Scaled`, so
that the compiled code, which converts what it reads, never scales a scaled value twice.
"""

from __future__ import annotations

import decimal
import math
import re
from typing import Any

DIGITS = 4  # after the point
SCALE = 10_000  # 10 ** DIGITS
MIN = -(2**63)  # scaled: -922337203685477.5808
MAX = 2**63 - 1  # scaled: 922337203685477.5807
_MIN_EXACT = decimal.Decimal(MIN).scaleb(-DIGITS)
_MAX_EXACT = decimal.Decimal(MAX).scaleb(-DIGITS)
_TEXT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
MAX_TEXT = 64  # characters of a request's decimal string


class Scaled(int):
    """A decimal already converted (the validator's result): its scaled integer, as it is.
    It prints as that integer (`str`, `repr`), as any `int` does."""

    __slots__ = ()


def text(scaled: int) -> str:
    """The decimal's text as a policy writes it: `0.8`, `-3.0`, `922337203685477.5807`."""
    whole, fraction = divmod(abs(scaled), SCALE)
    digits = f"{fraction:04d}".rstrip("0") or "0"
    return f"{'-' if scaled < 0 else ''}{whole}.{digits}"


def literal(written: str) -> int:
    """A literal of a policy (`0.8`, `-12.5`, or an integer where a decimal is expected), scaled.
    `ValueError("digits")` for more than four digits after the point (even zeros, as Cedar),
    `ValueError("range")` outside the range."""
    whole, _, fraction = written.partition(".")
    if len(fraction) > DIGITS:
        raise ValueError("digits")
    if len(whole.lstrip("-").lstrip("0")) > 16:  # leading zeros are allowed, as in Cedar
        raise ValueError("range")
    negative = whole.startswith("-")
    magnitude = abs(int(whole)) * SCALE + int(fraction.ljust(DIGITS, "0"))
    value = -magnitude if negative else magnitude
    if not MIN <= value <= MAX:
        raise ValueError("range")
    return value


def scaled(value: Any) -> int:
    """A request's value as a scaled integer; `ValueError` saying why it is not a decimal.

    Exact built-in types only (and `decimal.Decimal`): a subclass's own methods never run.
    """
    cls = value.__class__
    if cls is Scaled:
        return int.__int__(value)
    if cls is int:
        return _checked(value * SCALE)
    if cls is decimal.Decimal:
        return _exact(value)
    if cls is float:
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        text = repr(value)  # `0.1`, or `1e-05` and `1e+20`, which `Decimal` reads
        return _text(text) if "e" not in text else _exact(decimal.Decimal(text))
    if cls is str:
        if len(value) > MAX_TEXT:
            raise ValueError("not a decimal number")
        return _text(value)
    raise ValueError("not a number")


def _text(text: str) -> int:
    """`-12.50` read digit by digit (no `Decimal` made: the common case, kept fast)."""
    found = _TEXT.fullmatch(text)
    if found is None:
        raise ValueError("not a decimal number")
    sign, whole, fraction = found.groups()
    fraction = fraction or ""
    if len(fraction) > DIGITS:
        if fraction[DIGITS:].strip("0"):
            raise ValueError(f"has more than {DIGITS} digits after the point")
        fraction = fraction[:DIGITS]
    magnitude = int(whole) * SCALE + int(fraction.ljust(DIGITS, "0"))
    return _checked(-magnitude if sign else magnitude)


def _exact(value: decimal.Decimal) -> int:
    if not value.is_finite():
        raise ValueError("not a finite number")
    if not _MIN_EXACT <= value <= _MAX_EXACT:  # compared before any digit is expanded
        raise ValueError(f"outside the range {text(MIN)} to {text(MAX)}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):  # zero, with whatever exponent (`0E+999999` expands to nothing)
        return 0
    shift = exponent + DIGITS
    if shift >= 0:
        magnitude = int("".join(map(str, digits))) * 10**shift
    else:
        kept, dropped = digits[:shift], digits[shift:]
        if any(dropped):
            raise ValueError(f"has more than {DIGITS} digits after the point")
        magnitude = int("".join(map(str, kept))) if kept else 0
    return _checked(-magnitude if sign else magnitude)


def _checked(value: int) -> int:
    if not MIN <= value <= MAX:
        raise ValueError(f"outside the range {text(MIN)} to {text(MAX)}")
    return value


def validated(value: Any) -> Scaled:
    """The validator's result for a decimal: converted once, marked as such."""
    return Scaled(scaled(value))


def decimals(value: Any, kind: str) -> tuple[int, ...] | frozenset[int]:
    """A list or set of decimals converted (the compiled code's); raises on any other value."""
    if value.__class__ is not list and value.__class__ is not tuple:
        raise ValueError("not a list")
    items = [scaled(v) for v in value]
    return frozenset(items) if kind == "set" else tuple(items)
