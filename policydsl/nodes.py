"""The syntax tree: frozen attrs nodes with source spans, produced by `transform` from Lark's tree.

Spans are excluded from equality, so two parses of equivalent text compare equal. The compound
expression nodes are generic in their sub-expressions: the checked model (`model.Expr`) and the
IR (`ir.Expr`) reuse them with their own leaves in place of names and literals.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeAlias, TypeVar

import attrs

from policydsl.operators import ArithOp, CompareOp, MembershipOp, Op, SetOp
from policydsl.source import Span


def _span() -> Span | None:
    # what a class body would declare; attrs types `field()` as the attribute's own type
    span: Span | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)
    return span


@attrs.frozen
class Ident:
    """A name as written, with its own position (rule names, effects, members, columns)."""

    name: str
    span: Span | None = _span()


# ---- types ------------------------------------------------------------------------------------


@attrs.frozen
class NamedType:
    """`bool`, `int[0..]`, `string`, `string[..256]` (a maximum length), or an enum name."""

    name: str
    lo: int | None = None
    hi: int | None = None
    has_range: bool = False
    span: Span | None = _span()


@attrs.frozen
class CollectionType:
    """`list<T>`, `set<T>`; `size` is the `[lo..hi]` written after it (`[..64]`), if any."""

    kind: Literal["list", "set"]
    element: TypeExpr
    size: tuple[int | None, int | None] | None = None
    span: Span | None = _span()


@attrs.frozen
class Field:
    name: Ident
    type: TypeExpr
    default: Expr | None = None
    span: Span | None = _span()


@attrs.frozen
class RecordType:
    fields: tuple[Field, ...]
    span: Span | None = _span()


@attrs.frozen
class OptionalType:
    inner: TypeExpr
    span: Span | None = _span()


TypeExpr = NamedType | CollectionType | RecordType | OptionalType


# ---- expressions ------------------------------------------------------------------------------

# The type of a compound node's sub-expressions: `Expr` in the syntax tree, `model.Expr` once the
# checker has resolved its leaves, `ir.Expr` after lowering. Nodes are frozen, hence covariant.
E_co = TypeVar("E_co", covariant=True)


@attrs.frozen
class IntLit:
    value: int
    span: Span | None = _span()


@attrs.frozen
class StrLit:
    """A string literal; `written` is its spelling in the source (quotes and escapes as the author
    wrote them, for the formatter to keep), not part of its meaning."""

    value: str
    span: Span | None = _span()
    written: str | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)


@attrs.frozen
class BoolLit:
    value: bool
    span: Span | None = _span()


@attrs.frozen
class Absent:
    """`-` in a table cell: the column has no value in this row."""

    span: Span | None = _span()


@attrs.frozen
class Path:
    """A name or a dotted path: `minor`, `user.age`, `r.severity`, `Domain.healthcare`."""

    parts: tuple[str, ...]
    span: Span | None = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@attrs.frozen
class ListLit(Generic[E_co]):
    items: tuple[E_co, ...]
    span: Span | None = _span()


@attrs.frozen
class Call(Generic[E_co]):
    func: Ident
    args: tuple[E_co, ...]
    span: Span | None = _span()


@attrs.frozen
class And(Generic[E_co]):
    operands: tuple[E_co, ...]
    span: Span | None = _span()


@attrs.frozen
class Or(Generic[E_co]):
    operands: tuple[E_co, ...]
    span: Span | None = _span()


@attrs.frozen
class Not(Generic[E_co]):
    operand: E_co
    span: Span | None = _span()


@attrs.frozen
class Compare(Generic[E_co]):
    op: CompareOp
    left: E_co
    right: E_co
    span: Span | None = _span()


@attrs.frozen
class SetTest(Generic[E_co]):
    op: SetOp
    left: E_co
    right: E_co
    span: Span | None = _span()


@attrs.frozen
class In(Generic[E_co]):
    element: E_co
    collection: E_co
    negated: bool = False
    span: Span | None = _span()

    @property
    def op(self) -> MembershipOp:
        return Op.NOT_IN if self.negated else Op.IN


@attrs.frozen
class Has:
    path: Path
    span: Span | None = _span()


@attrs.frozen
class Arith(Generic[E_co]):
    """`a + b - c`: the first operand, then (operator, operand) pairs, left to right."""

    first: E_co
    rest: tuple[tuple[ArithOp, E_co], ...]
    span: Span | None = _span()


@attrs.frozen
class Neg(Generic[E_co]):
    operand: E_co
    span: Span | None = _span()


@attrs.frozen
class Quantifier(Generic[E_co]):
    kind: Literal["some", "all"]
    var: Ident
    collection: E_co
    body: E_co
    span: Span | None = _span()


Expr: TypeAlias = """
    IntLit
    | StrLit
    | BoolLit
    | Absent
    | Path
    | ListLit[Expr]
    | Call[Expr]
    | And[Expr]
    | Or[Expr]
    | Not[Expr]
    | Compare[Expr]
    | SetTest[Expr]
    | In[Expr]
    | Has
    | Arith[Expr]
    | Neg[Expr]
    | Quantifier[Expr]
"""


# ---- declarations -----------------------------------------------------------------------------


@attrs.frozen
class EnumDecl:
    name: Ident
    members: tuple[Ident, ...]
    span: Span | None = _span()


@attrs.frozen
class ContextDecl:
    fields: tuple[Field, ...]
    span: Span | None = _span()


@attrs.frozen
class EffectsDecl:
    order: tuple[Ident, ...]  # strongest first
    default: Ident
    refuse: Ident | None = None  # `refuse deny`: what fail-closed mode answers
    span: Span | None = _span()


@attrs.frozen
class AnnotationDecl:
    name: Ident
    type: TypeExpr
    span: Span | None = _span()


@attrs.frozen
class ObligationsDecl:
    names: tuple[Ident, ...]
    span: Span | None = _span()


@attrs.frozen
class DefDecl:
    name: Ident
    type: TypeExpr | None
    value: Expr
    span: Span | None = _span()


@attrs.frozen
class Column:
    name: Ident
    type: TypeExpr
    span: Span | None = _span()


@attrs.frozen
class Row:
    cells: tuple[Expr, ...]
    span: Span | None = _span()


@attrs.frozen
class TableDecl:
    name: Ident
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    span: Span | None = _span()


@attrs.frozen
class WhenClause:
    condition: Expr
    span: Span | None = _span()


@attrs.frozen
class CiteClause:
    value: Expr
    span: Span | None = _span()


@attrs.frozen
class ReasonClause:
    """`reason "..."`; `written` is the string's spelling in the source, as for `StrLit`."""

    template: str
    span: Span | None = _span()
    written: str | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)


@attrs.frozen
class ObligationsClause:
    names: tuple[Ident, ...]
    span: Span | None = _span()


@attrs.frozen
class TagsClause:
    names: tuple[Ident, ...]
    span: Span | None = _span()


@attrs.frozen
class AnnotationClause:
    name: Ident
    value: Expr
    span: Span | None = _span()


RuleClause = (
    WhenClause | CiteClause | ReasonClause | ObligationsClause | TagsClause | AnnotationClause
)


@attrs.frozen
class RuleDecl:
    name: Ident
    table: Ident | None
    effect: Ident
    clauses: tuple[RuleClause, ...]
    span: Span | None = _span()


@attrs.frozen
class OutputCase:
    condition: Expr | None  # None: `otherwise`
    value: Expr
    span: Span | None = _span()


@attrs.frozen
class OutputDecl:
    name: Ident
    type: TypeExpr
    cases: tuple[OutputCase, ...]
    span: Span | None = _span()


Decl = (
    EnumDecl
    | ContextDecl
    | EffectsDecl
    | AnnotationDecl
    | ObligationsDecl
    | DefDecl
    | TableDecl
    | RuleDecl
    | OutputDecl
)


@attrs.frozen
class PolicyFile:
    decls: tuple[Decl, ...]
    span: Span | None = _span()
