"""Checking `property` declarations: the premise reads the request, the claim reads the decision.

A claim is checked as an output's condition is (`decision` and `fired` in scope) and may also
read `obligated` (a set of the declared obligations) and every output by name, bound as locals.
The special claim `monotone(OUT, ATTR)` compares two requests and is kept as a `model.Monotone`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from policydsl import model, nodes
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.source import Span
from policydsl.typecheck import OUTCOME_NAMES, ExprChecker, Scope

# the type of `obligated` in a claim: a set of the declared obligations, written bare
OBLIGATION = "obligation"


def claim_names(outputs: Sequence[model.Output], obligations: Sequence[str]) -> dict[str, t.Type]:
    """What a claim may read besides `decision` and `fired`."""
    names: dict[str, t.Type] = {
        "obligated": t.CollectionType("set", t.EnumType(OBLIGATION, tuple(obligations)))
    }
    for output in outputs:
        names.setdefault(output.name, output.type)
    return names


def check_properties(
    exprs: ExprChecker,
    decls: Sequence[Any],
    outputs: Sequence[model.Output],
    obligations: Sequence[str],
) -> tuple[model.Property, ...]:
    """Each property of the set, once by name (P202 for a second one)."""
    names = claim_names(outputs, obligations)
    seen: dict[str, Span | None] = {}
    checked: list[model.Property] = []
    for d in decls:
        if not isinstance(d, nodes.PropertyDecl):
            continue
        if d.name.name in seen:
            first = seen[d.name.name]
            exprs.error(
                Code.DECLARED_TWICE,
                f"property `{d.name.name}` is defined twice",
                d.name.span,
                related=((first, "the first is here"),) if first is not None else (),
            )
            continue
        seen[d.name.name] = d.name.span
        if (found := check_property(exprs, d, names)) is not None:
            checked.append(found)
    return tuple(checked)


def check_property(
    exprs: ExprChecker, d: nodes.PropertyDecl, names: dict[str, t.Type]
) -> model.Property | None:
    """The checked property, or None when it has an error (reported on `exprs`)."""
    before = len([x for x in exprs.diagnostics if x.severity == "error"])
    premises = [c for c in d.clauses if isinstance(c, nodes.WhenClause)]
    claims = [c for c in d.clauses if isinstance(c, nodes.EnsureClause)]
    for extra in (premises[1:], claims[1:]):
        for clause in extra:
            exprs.error(
                Code.CLAUSE_TWICE,
                f"property `{d.name.name}` has two `{'when' if clause in premises else 'ensure'}`",
                clause.span,
                help="join them with `and`",
            )
    premise = None
    if premises:
        typed = exprs.expr(premises[0].condition, Scope(), frozenset(), t.BOOL)
        exprs.expect(typed, t.BOOL, premises[0].condition.span)
        premise = typed.expr
    if not claims:
        exprs.error(
            Code.PROPERTY_WITHOUT_CLAIM,
            f"property `{d.name.name}` claims nothing",
            d.name.span,
            help="add `ensure CLAIM`, e.g. `ensure decision == deny`",
        )
        return None
    written = claims[0].claim
    claim: model.Expr | model.Monotone | None
    if isinstance(written, nodes.Call) and written.func.name == "monotone":
        claim = _monotone(exprs, written, names)
    else:
        scope = Scope(outcome=True)
        for name, type_ in names.items():  # read as `decision` is, after the request's names
            scope = scope.bind(name, type_, (f"the claim's `{name}`", None))
        typed = exprs.expr(written, scope, frozenset(), t.BOOL)
        exprs.expect(typed, t.BOOL, written.span)
        claim = typed.expr
    errors = len([x for x in exprs.diagnostics if x.severity == "error"])
    if claim is None or errors > before:
        return None
    return model.Property(d.name.name, premise, claim, span=d.name.span)


def _monotone(
    exprs: ExprChecker, call: nodes.Call[nodes.Expr], names: dict[str, t.Type]
) -> model.Monotone | None:
    usage = "write `monotone(OUTPUT, ATTRIBUTE)`: an enum output, or `decision`, and an int"
    args = call.args
    if len(args) != 2 or not all(isinstance(a, nodes.Path) for a in args):
        exprs.error(Code.PROPERTY_WITHOUT_CLAIM, "malformed `monotone`", call.span, help=usage)
        return None
    out, attr = args
    assert isinstance(out, nodes.Path) and isinstance(attr, nodes.Path)
    name = out.dotted
    if not (name in OUTCOME_NAMES[:1] or isinstance(names.get(name), t.EnumType)):
        exprs.error(
            Code.PROPERTY_WITHOUT_CLAIM,
            f"`{name}` is not `decision` nor an output of an enum type",
            out.span,
            help=usage,
        )
        return None
    present = frozenset(("ctx", *attr.parts[: i + 1]) for i in range(len(attr.parts)))
    typed = exprs.expr(attr, Scope(), present, t.INT)
    if not isinstance(typed.expr, model.Attr) or not isinstance(typed.type, t.IntType):
        exprs.error(
            Code.PROPERTY_WITHOUT_CLAIM, f"`{attr.dotted}` is not an int", attr.span, help=usage
        )
        return None
    return model.Monotone(name, attr.parts, span=call.span)
