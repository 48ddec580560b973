"""The syntax tree: frozen attrs nodes with source spans, produced by `transform` from Lark's tree.

Spans are excluded from equality, so two parses of equivalent text compare equal. The compound
expression nodes are generic in their sub-expressions: the checked model (`model.Expr`) and the
IR (`ir.Expr`) reuse them with their own leaves in place of names and literals.

The nodes live in two modules, both read through this one: names and expressions
(`expr_nodes`), which the checked model and the IR reuse, and declarations and type expressions
(`decl_nodes`), which only the parser and the checker read. The declarations are made on first
use: a policy loaded from its compiled artifact never needs them, and making their classes
costs milliseconds of every start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policydsl.expr_nodes import (
    Absent,
    And,
    Arith,
    BoolLit,
    Call,
    Compare,
    E_co,
    Expr,
    Has,
    Ident,
    In,
    IntLit,
    ListLit,
    Neg,
    Not,
    Or,
    Path,
    Quantifier,
    SetTest,
    StrLit,
)

if TYPE_CHECKING:
    from policydsl.decl_nodes import (
        AnnotationClause,
        AnnotationDecl,
        CiteClause,
        CollectionType,
        Column,
        ContextDecl,
        Decl,
        DefDecl,
        EffectsDecl,
        EnumDecl,
        Field,
        NamedType,
        ObligationsClause,
        ObligationsDecl,
        OptionalType,
        OutputCase,
        OutputDecl,
        PolicyFile,
        ReasonClause,
        RecordType,
        Row,
        RuleClause,
        RuleDecl,
        TableDecl,
        TagsClause,
        TypeExpr,
        WhenClause,
    )
else:

    def __getattr__(name: str) -> Any:
        """A declaration's class, made (with all the others) when one is first asked for; any
        other name (`__path__`, which `import` asks for) is not looked for there."""
        if name not in __all__:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from policydsl import decl_nodes

        globals().update((n, getattr(decl_nodes, n)) for n in decl_nodes.NAMES)
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
    "Decl",
    "DefDecl",
    "E_co",
    "EffectsDecl",
    "EnumDecl",
    "Expr",
    "Field",
    "Has",
    "Ident",
    "In",
    "IntLit",
    "ListLit",
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
    "Quantifier",
    "ReasonClause",
    "RecordType",
    "Row",
    "RuleClause",
    "RuleDecl",
    "SetTest",
    "StrLit",
    "TableDecl",
    "TagsClause",
    "TypeExpr",
    "WhenClause",
]
