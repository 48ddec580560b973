"""Calls of the built-in functions that are not time's (`time_check` reads those): `size(xs)`,
`keys(m)` and `values(m)` (`maps`), and Cedar's tests of an address (`is_loopback(source)`,
read as the `in_range` tests they stand for, `literals.ip_test`). Kept apart from `typecheck`,
which calls it, to keep that module small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policydsl import literals, maps, model, nodes, time_check
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.diagnostics import did_you_mean
from policydsl.model import Const
from policydsl.typed import Typed

if TYPE_CHECKING:
    from policydsl.presence import Fact


def call(
    checker: Any,
    e: nodes.Call[nodes.Expr],
    functions: dict[str, int],
    scope: Any,
    facts: frozenset[Fact],
) -> Typed:
    """The call checked by `checker` (a `typecheck.ExprChecker`); `functions`: name → arity."""
    func, args = e.func, e.args
    if func.name not in functions:
        checker.error(
            Code.UNKNOWN_NAME,
            f"unknown function `{func.name}`",
            func.span,
            help=did_you_mean(func.name, [*functions, *time_check.FUNCTIONS]),
        )
        return Typed(Const(None, span=e.span), t.ANY)
    if len(args) != functions[func.name]:
        checker.error(
            Code.WRONG_COUNT,
            f"`{func.name}` takes {functions[func.name]} argument, not {len(args)}",
            e.span,
        )
        return Typed(Const(0, span=e.span), t.ANY)
    if func.name in maps.FUNCTIONS:
        return Typed(*maps.call(checker, func.name, args[0], scope, facts))
    if func.name in literals.IP_TESTS:
        typed = checker.expr(args[0], scope, facts, t.IP)
        return Typed(literals.ip_test(func.name, typed.expr, typed.type, checker.error), t.BOOL)
    typed = checker.expr(args[0], scope, facts, None)
    if t.element_of(typed.type) is None and not isinstance(typed.type, t.MapType):
        checker.error(
            Code.NOT_A_COLLECTION, f"`size` needs a set or list, not {typed.type}", args[0].span
        )
    return Typed(model.Size(typed.expr, span=e.span), t.INT)
