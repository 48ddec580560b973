"""The syntax tree's compound expressions and names, which the checked model and the IR reuse
(the rest is in `syntax_nodes`); read them through `nodes`, which re-exports both.

Spans are excluded from equality, so two parses of equivalent text compare equal. The compound
expression nodes are generic in their sub-expressions: the checked model (`model.Expr`) and the
IR (`ir.Expr`) reuse them with their own leaves in place of names and literals.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

import attrs

from policydsl.operators import ArithOp, CompareOp, MembershipOp, Op, SetOp
from policydsl.reprs import Repr
from policydsl.source import Span


def _span() -> Span | None:
    # what a class body would declare; attrs types `field()` as the attribute's own type
    span: Span | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)
    return span


@attrs.frozen(repr=False)
class Ident(Repr):
    """A name as written, with its own position (rule names, effects, members, columns)."""

    name: str
    span: Span | None = _span()


# ---- expressions ------------------------------------------------------------------------------

# The type of a compound node's sub-expressions: `Expr` in the syntax tree, `model.Expr` once the
# checker has resolved its leaves, `ir.Expr` after lowering. Nodes are frozen, hence covariant.
E_co = TypeVar("E_co", covariant=True)


@attrs.frozen(repr=False)
class ListLit(Repr, Generic[E_co]):
    items: tuple[E_co, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class And(Repr, Generic[E_co]):
    operands: tuple[E_co, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Or(Repr, Generic[E_co]):
    operands: tuple[E_co, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Not(Repr, Generic[E_co]):
    operand: E_co
    span: Span | None = _span()


@attrs.frozen(repr=False, cache_hash=True)
class Compare(Repr, Generic[E_co]):
    op: CompareOp
    left: E_co
    right: E_co
    span: Span | None = _span()


@attrs.frozen(repr=False, cache_hash=True)
class SetTest(Repr, Generic[E_co]):
    op: SetOp
    left: E_co
    right: E_co
    span: Span | None = _span()


@attrs.frozen(repr=False, cache_hash=True)
class In(Repr, Generic[E_co]):
    element: E_co
    collection: E_co
    negated: bool = False
    span: Span | None = _span()

    @property
    def op(self) -> MembershipOp:
        return Op.NOT_IN if self.negated else Op.IN


@attrs.frozen(repr=False)
class Arith(Repr, Generic[E_co]):
    """`a + b - c`: the first operand, then (operator, operand) pairs, left to right."""

    first: E_co
    rest: tuple[tuple[ArithOp, E_co], ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Neg(Repr, Generic[E_co]):
    operand: E_co
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Quantifier(Repr, Generic[E_co]):
    kind: Literal["some", "all"]
    var: Ident
    collection: E_co
    body: E_co
    span: Span | None = _span()
