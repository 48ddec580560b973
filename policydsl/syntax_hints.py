"""Help texts for syntax errors: what was expected, and the usual mistakes behind an error."""

from __future__ import annotations

from collections.abc import Iterable

from policydsl.lark_grammar import reserved_words, terminal_text

_TERMINAL_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "SIGNED_INT": "an integer",
    "STRING": "a string",
    "DURATION": "a duration (`90d`, `1h30m`)",
    "COMPARE_OP": "a comparison",
    "MUL_OP": "`*`",
    "$END": "end of file",
}

_MISTAKES = {
    "=": "use `==` to compare; `=` only gives a definition its value",
    "&": "write `and`",
    "&&": "write `and`",
    "|": "write `or`",
    "||": "write `or`",
    "!": "write `not` (or `!=` to compare)",
    "'": 'strings use double quotes: "text"',
    "/": "there is no division: every operation is total",
    ";": "statements need no separator",
    "if": "write conditions with `when` inside a rule",
}


def hint_for_token(text: str, expected: set[str]) -> str | None:
    """A hint for a common mistake, e.g. `=` where `==` was meant."""
    if text in _MISTAKES:
        return _MISTAKES[text]
    if text in reserved_words() and "NAME" in expected:
        return f"`{text}` is a reserved word and cannot be used as a name"
    return None


def describe_expected(terminals: Iterable[str] | None) -> str | None:
    """`expected one of: `}`, a name` from Lark's terminal names."""
    words = set()
    for name in terminals or ():
        text = terminal_text(name)
        words.add(f"`{text}`" if text is not None else _TERMINAL_WORDS.get(name, name.lower()))
    if not words:
        return None
    ordered = sorted(words)
    if len(ordered) > 8:
        ordered = [*ordered[:8], "…"]
    return "expected " + (ordered[0] if len(ordered) == 1 else "one of " + ", ".join(ordered))
