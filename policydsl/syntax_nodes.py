"""The nodes only the parser and the checker read: declarations, type expressions and the leaves
of a written expression (literals, paths, calls, `has`), which the checker resolves. Nothing
after the checker makes them; read them through `nodes`, which makes them on first use."""

from __future__ import annotations

from typing import Generic, Literal, TypeAlias

import attrs

from policydsl.expr_nodes import (
    And,
    Arith,
    Compare,
    E_co,
    Ident,
    In,
    ListLit,
    Neg,
    Not,
    Or,
    Quantifier,
    SetTest,
)
from policydsl.reprs import Repr
from policydsl.source import Span


def _span() -> Span | None:
    # what a class body would declare; attrs types `field()` as the attribute's own type
    span: Span | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)
    return span


# ---- the leaves of a written expression ------------------------------------------------------


@attrs.frozen(repr=False)
class IntLit(Repr):
    value: int
    span: Span | None = _span()


@attrs.frozen(repr=False)
class DecLit(Repr):
    """A decimal literal as written (`0.8`, `-12.50`): the checker scales it, and reports a
    fifth digit or a value out of range with its position (`decimals.literal`)."""

    written: str
    span: Span | None = _span()


@attrs.frozen(repr=False)
class DurationLit(Repr):
    """A duration literal as written (`90d`, `1h30m`): the checker reads it (P339)."""

    text: str
    span: Span | None = _span()


@attrs.frozen(repr=False)
class EntityLit(Repr):
    """An entity named in the policy: `Team::"eng"` (its type, and its id as written)."""

    type: Ident
    id: str
    span: Span | None = _span()


@attrs.frozen(repr=False)
class StrLit(Repr):
    """A string literal; `written` is its spelling in the source (quotes and escapes as the author
    wrote them, for the formatter to keep), not part of its meaning."""

    value: str
    span: Span | None = _span()
    written: str | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)


@attrs.frozen(repr=False)
class BoolLit(Repr):
    value: bool
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Absent(Repr):
    """`-` in a table cell: the column has no value in this row."""

    span: Span | None = _span()


@attrs.frozen(repr=False)
class Path(Repr):
    """A name or a dotted path: `minor`, `user.age`, `r.severity`, `Domain.healthcare`."""

    parts: tuple[str, ...]
    span: Span | None = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@attrs.frozen(repr=False)
class Call(Repr, Generic[E_co]):
    func: Ident
    args: tuple[E_co, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Lookup(Repr):
    """`labels["app"]`, `pods[name].image`: a map's value under a key, then `fields` of it."""

    base: Path | Lookup
    key: Expr
    fields: tuple[str, ...] = ()
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Has(Repr):
    path: Path | Lookup
    span: Span | None = _span()


Expr: TypeAlias = """
    IntLit
    | DecLit
    | DurationLit
    | StrLit
    | EntityLit
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
    | Lookup
    | Arith[Expr]
    | Neg[Expr]
    | Quantifier[Expr]
"""


# ---- types ------------------------------------------------------------------------------------


@attrs.frozen(repr=False)
class NamedType(Repr):
    """`bool`, `int[0..]`, `string`, `string[..256]` (a maximum length), or an enum name."""

    name: str
    lo: int | None = None
    hi: int | None = None
    has_range: bool = False
    span: Span | None = _span()


@attrs.frozen(repr=False)
class CollectionType(Repr):
    """`list<T>`, `set<T>`; `size` is the `[lo..hi]` written after it (`[..64]`), if any."""

    kind: Literal["list", "set"]
    element: TypeExpr
    size: tuple[int | None, int | None] | None = None
    span: Span | None = _span()


@attrs.frozen(repr=False)
class MapType(Repr):
    """`map<string, T>`; `size` is the `[..N]` after it (at most N keys), if any."""

    key: TypeExpr
    value: TypeExpr
    size: tuple[int | None, int | None] | None = None
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Field(Repr):
    name: Ident
    type: TypeExpr
    default: Expr | None = None
    span: Span | None = _span()


@attrs.frozen(repr=False)
class RecordType(Repr):
    fields: tuple[Field, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class OptionalType(Repr):
    inner: TypeExpr
    span: Span | None = _span()


TypeExpr = NamedType | CollectionType | MapType | RecordType | OptionalType


# ---- declarations -----------------------------------------------------------------------------


@attrs.frozen(repr=False)
class VersionDecl(Repr):
    """`version "2026.12"`: the author's name for this version of the policy set (at most one
    per set); `written` is the string's spelling in the source, as for `StrLit`."""

    value: str
    span: Span | None = _span()
    written: str | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)


@attrs.frozen(repr=False)
class EnumDecl(Repr):
    name: Ident
    members: tuple[Ident, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class EntityDecl(Repr):
    """`entity User in [Team, Org] { department: string }`: an entity type, the types its
    parents may have, and its attributes (`fields`: None when it declares none)."""

    name: Ident
    parents: tuple[Ident, ...]
    fields: tuple[Field, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class ContextDecl(Repr):
    fields: tuple[Field, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class EffectsDecl(Repr):
    order: tuple[Ident, ...]  # strongest first
    default: Ident
    refuse: Ident | None = None  # `refuse deny`: what fail-closed mode answers
    span: Span | None = _span()


@attrs.frozen(repr=False)
class AnnotationDecl(Repr):
    name: Ident
    type: TypeExpr
    span: Span | None = _span()


@attrs.frozen(repr=False)
class ObligationsDecl(Repr):
    names: tuple[Ident, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class DefDecl(Repr):
    name: Ident
    type: TypeExpr | None
    value: Expr
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Column(Repr):
    name: Ident
    type: TypeExpr
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Row(Repr):
    cells: tuple[Expr, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class TableDecl(Repr):
    """A table; `source` is the `from "rows.json"` literal of one whose rows a JSON file holds
    (its rows are read in by the loader, `data_rows`)."""

    name: Ident
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    span: Span | None = _span()
    source: StrLit | None = attrs.field(default=None, kw_only=True)


@attrs.frozen(repr=False)
class WhenClause(Repr):
    condition: Expr
    span: Span | None = _span()


@attrs.frozen(repr=False)
class CiteClause(Repr):
    value: Expr
    span: Span | None = _span()


@attrs.frozen(repr=False)
class ReasonClause(Repr):
    """`reason "..."`; `written` is the string's spelling in the source, as for `StrLit`."""

    template: str
    span: Span | None = _span()
    written: str | None = attrs.field(default=None, eq=False, repr=False, kw_only=True)


@attrs.frozen(repr=False)
class ObligationsClause(Repr):
    names: tuple[Ident, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class TagsClause(Repr):
    names: tuple[Ident, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class AnnotationClause(Repr):
    name: Ident
    value: Expr
    span: Span | None = _span()


@attrs.frozen(repr=False)
class SilenceClause(Repr):
    """`silence W202 "why"`: the rule's warning of that code is not reported, for that reason."""

    code: Ident
    reason: str
    span: Span | None = _span()
    written: str = attrs.field(default="", eq=False)  # the literal as written, for `fmt`


RuleClause = (
    WhenClause
    | CiteClause
    | ReasonClause
    | ObligationsClause
    | TagsClause
    | AnnotationClause
    | SilenceClause
)


@attrs.frozen(repr=False)
class RuleDecl(Repr):
    name: Ident
    table: Ident | None
    effect: Ident
    clauses: tuple[RuleClause, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class OutputCase(Repr):
    condition: Expr | None  # None: `otherwise`
    value: Expr
    span: Span | None = _span()


@attrs.frozen(repr=False)
class OutputDecl(Repr):
    name: Ident
    type: TypeExpr
    cases: tuple[OutputCase, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class RequireDecl(Repr):
    """`require cite reason`: what every rule of the set must give (else W101, W102)."""

    words: tuple[str, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class EnsureClause(Repr):
    claim: Expr
    span: Span | None = _span()


@attrs.frozen(repr=False)
class PropertyDecl(Repr):
    """`property NAME { when PREMISE  ensure CLAIM }`: checked by `policyc verify`."""

    name: Ident
    clauses: tuple[WhenClause | EnsureClause, ...]
    span: Span | None = _span()


Decl = (
    VersionDecl
    | EnumDecl
    | EntityDecl
    | ContextDecl
    | EffectsDecl
    | AnnotationDecl
    | ObligationsDecl
    | DefDecl
    | TableDecl
    | RuleDecl
    | OutputDecl
    | PropertyDecl
    | RequireDecl
)


@attrs.frozen(repr=False)
class PolicyFile(Repr):
    decls: tuple[Decl, ...]
    span: Span | None = _span()


# what `nodes` re-exports
NAMES = frozenset(
    {
        "Expr",
        "Has",
        "Lookup",
        "MapType",
        "Call",
        "Path",
        "Absent",
        "BoolLit",
        "StrLit",
        "EntityLit",
        "EntityDecl",
        "IntLit",
        "DecLit",
        "DurationLit",
        "NamedType",
        "CollectionType",
        "Field",
        "RecordType",
        "OptionalType",
        "VersionDecl",
        "EnumDecl",
        "ContextDecl",
        "EffectsDecl",
        "AnnotationDecl",
        "ObligationsDecl",
        "DefDecl",
        "Column",
        "Row",
        "TableDecl",
        "WhenClause",
        "CiteClause",
        "ReasonClause",
        "ObligationsClause",
        "TagsClause",
        "AnnotationClause",
        "RuleDecl",
        "OutputCase",
        "OutputDecl",
        "EnsureClause",
        "PropertyDecl",
        "RequireDecl",
        "SilenceClause",
        "PolicyFile",
        "TypeExpr",
        "RuleClause",
        "Decl",
    }
)
