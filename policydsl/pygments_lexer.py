"""A Pygments lexer for `.policy` files (the `highlight` extra), registered as the `pygments.lexers`
entry point `policy`, so `pygmentize -l policy` and documentation tools colour policies.

Its keywords are the grammar's reserved words (`lark_grammar.reserved_words`), sorted into
classes here; a keyword the grammar gains and no class names is still a keyword, so none can be
forgotten (`tests/test_highlighting.py` also holds the VS Code grammar to the same list).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, cast

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from policydsl.builtin_names import BUILTIN_TYPES, FUNCTIONS
from policydsl.lark_grammar import reserved_words

DECLARATIONS = (
    "version",
    "entity",
    "enum",
    "context",
    "effects",
    "annotation",
    "obligations",
    "def",
    "table",
    "rule",
    "output",
    "property",
    "require",
)
OPERATOR_WORDS = (
    "and",
    "or",
    "not",
    "in",
    "has",
    "contains",
    "contains_any",
    "contains_all",
    "starts_with",
    "ends_with",
    "like",
    "matches",
    "in_range",
    "some",
    "all",
)
CONSTANTS = ("true", "false")
TYPE_WORDS = ("list", "set", "map")
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_groups = cast(Callable[..., Any], bygroups)  # untyped in the stubs


def keyword_classes() -> dict[str, tuple[str, ...]]:
    """Every reserved word of the grammar in exactly one class; `other` holds the clause words
    (`when`, `cite`, `default`, ...) and anything new."""
    reserved = reserved_words()
    named = {*DECLARATIONS, *OPERATOR_WORDS, *CONSTANTS, *TYPE_WORDS}
    return {
        "declaration": tuple(w for w in DECLARATIONS if w in reserved),
        "operator": tuple(w for w in OPERATOR_WORDS if w in reserved),
        "constant": tuple(w for w in CONSTANTS if w in reserved),
        "type": tuple(w for w in TYPE_WORDS if w in reserved),
        "other": tuple(sorted(reserved - named)),
    }


def _tokens() -> dict[str, list[Any]]:
    classes = keyword_classes()
    return {
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"', String.Double, "string"),
            (rf"(rule)(\s+)({NAME})", _groups(Keyword.Declaration, Whitespace, Name.Function)),
            (
                rf"(entity|enum|table|output|annotation|def|property)(\s+)({NAME})",
                _groups(Keyword.Declaration, Whitespace, Name.Class),
            ),
            # an entity: `Team::"eng"` (the type, then `::`; the id is the string that follows)
            (rf'({NAME})(\s*)(::)(?=\s*")', _groups(Name.Class, Whitespace, Punctuation)),
            (r"::", Punctuation),
            (r"\.\.", Punctuation),  # a range: `int[0..17]`, `string[..256]`
            (rf"(\.)(\s*)({NAME})", _groups(Punctuation, Whitespace, Name.Attribute)),
            (words(classes["declaration"], suffix=r"\b"), Keyword.Declaration),
            (words(classes["operator"], suffix=r"\b"), Operator.Word),
            (words(classes["constant"], suffix=r"\b"), Keyword.Constant),
            (words(classes["type"] + BUILTIN_TYPES, suffix=r"\b"), Keyword.Type),
            (words(classes["other"], suffix=r"\b"), Keyword),
            (words(FUNCTIONS, suffix=r"\b(?=\s*\()"), Name.Builtin),
            (r"[0-9]+\.[0-9]+", Number.Float),  # a `decimal`: exact, whatever the token's name
            (r"[0-9]+(?:ms|[dhms])(?:[0-9]+(?:ms|[dhms]))*\b", Number),  # a duration: 1h30m
            (r"[0-9]+", Number.Integer),
            (r"=>|==|!=|<=|>=|[<>=+\-*%?]", Operator),
            (r"[{}()\[\],:.]", Punctuation),
            (NAME, Name),
        ],
        "string": [
            (r'\\u\{[0-9A-Fa-f]{1,6}\}|\\["\\nt]', String.Escape),
            (r"\\[^\n]", Error),  # P080, P081: an escape the language does not have
            (r"\{\{|\}\}", String.Escape),
            (rf"\{{{NAME}(\.{NAME})*\}}", String.Interpol),  # `{name}`, `{a.b}` in a reason
            (r'"', String.Double, "#pop"),
            (r'[^"\\{}\n]+|[{}]', String.Double),
            (r"\n", Error, "#pop"),  # P102: strings end on their line
        ],
    }


class PolicyLexer(RegexLexer):
    """policydsl policies (`.policy` files)."""

    name = "policydsl"
    aliases: ClassVar[list[str]] = ["policy", "policydsl"]
    filenames: ClassVar[list[str]] = ["*.policy"]
    mimetypes: ClassVar[list[str]] = ["text/x-policydsl"]
    tokens: ClassVar[dict[str, list[Any]]] = _tokens()
