"""The syntax tree: frozen attrs nodes with source spans, produced by `transform` from Lark's tree.

Spans are excluded from equality, so two parses of equivalent text compare equal. The compound
expression nodes are generic in their sub-expressions: the checked model (`model.Expr`) and the
IR (`ir.Expr`) reuse them with their own leaves in place of names and literals.

The nodes live in two modules, both read through this one: names and compound expressions
(`expr_nodes`), which the checked model and the IR reuse, and what only the parser and the
checker read (`syntax_nodes`: declarations, type expressions, literals, paths, calls). The
latter are made on first use: a policy loaded from its compiled artifact never needs them, and
making their classes costs milliseconds of every start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from policydsl.syntax_nodes import (
        Absent,
        AnnotationClause,
        AnnotationDecl,
        BoolLit,
        Call,
        CiteClause,
        CollectionType,
        Column,
        ContextDecl,
        Decl,
        DecLit,
        DefDecl,
        DurationLit,
        EffectsDecl,
        EnsureClause,
        EntityDecl,
        EntityLit,
        EnumDecl,
        Expr,
        Field,
        Has,
        IntLit,
        Lookup,
        MapType,
        NamedType,
        ObligationsClause,
        ObligationsDecl,
        OptionalType,
        OutputCase,
        OutputDecl,
        Path,
        PolicyFile,
        PropertyDecl,
        ReasonClause,
        RecordType,
        RequireDecl,
        Row,
        RuleClause,
        RuleDecl,
        SilenceClause,
        StrLit,
        TableDecl,
        TagsClause,
        TypeExpr,
        VersionDecl,
        WhenClause,
    )
else:

    def __getattr__(name: str) -> Any:
        """A declaration's class, made (with all the others) when one is first asked for; any
        other name (`__path__`, which `import` asks for) is not looked for there."""
        if name not in __all__:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from policydsl import syntax_nodes

        globals().update((n, getattr(syntax_nodes, n)) for n in syntax_nodes.NAMES)
        return globals()[name]


__all__ = [
    "Absent",
    "And",
    "AnnotationClause",
    "AnnotationDecl",
    "Arith",
    "BoolLit",
    "Call",
    "CiteClause",
    "CollectionType",
    "Column",
    "Compare",
    "ContextDecl",
    "DecLit",
    "Decl",
    "DefDecl",
    "DurationLit",
    "E_co",
    "EffectsDecl",
    "EnsureClause",
    "EntityDecl",
    "EntityLit",
    "EnumDecl",
    "Expr",
    "Field",
    "Has",
    "Ident",
    "In",
    "IntLit",
    "ListLit",
    "Lookup",
    "MapType",
    "NamedType",
    "Neg",
    "Not",
    "ObligationsClause",
    "ObligationsDecl",
    "OptionalType",
    "Or",
    "OutputCase",
    "OutputDecl",
    "Path",
    "PolicyFile",
    "PropertyDecl",
    "Quantifier",
    "ReasonClause",
    "RecordType",
    "RequireDecl",
    "Row",
    "RuleClause",
    "RuleDecl",
    "SetTest",
    "SilenceClause",
    "StrLit",
    "TableDecl",
    "TagsClause",
    "TypeExpr",
    "VersionDecl",
    "WhenClause",
]
