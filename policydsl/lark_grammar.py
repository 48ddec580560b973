"""The Lark grammar, built once per process, and the words it defines.

The parser reads text with it; the syntax hints name its terminals and its reserved words. Both
import this module, so neither imports the other. No Lark object leaves this module but the
parser built by `lark_parser()`, which only `parser` uses.
"""

from __future__ import annotations

import threading
from functools import cache

import lark
import lark.lexer

from policydsl import resources

_BUILD_LOCK = threading.Lock()


@cache
def lark_parser() -> lark.Lark:
    """The parser, built once per process.

    With `interegular` installed, Lark re-proves at every build that no two terminals collide,
    which costs more than everything else in loading the standard library. The grammar's
    terminals are proven once, by `tests/test_grammar.py` in strict mode; here that check is
    skipped (under a lock, and restored at once).
    """
    with _BUILD_LOCK:
        saved = lark.lexer.has_interegular
        lark.lexer.has_interegular = False
        try:
            return lark.Lark(
                resources.grammar_text(),
                parser="lalr",
                propagate_positions=True,
                maybe_placeholders=True,
            )
        finally:
            lark.lexer.has_interegular = saved


@cache
def _terminal_texts() -> dict[str, str]:
    return {
        term.name: term.pattern.value
        for term in lark_parser().terminals
        if isinstance(term.pattern, lark.lexer.PatternStr)
    }


def terminal_text(name: str) -> str | None:
    """The literal text of a grammar terminal (`RBRACE` → `}`), if it has one."""
    return _terminal_texts().get(name)


@cache
def reserved_words() -> frozenset[str]:
    """The grammar's quoted keywords (`rule`, `in`, ...): LANGUAGE.md reserves them all."""
    return frozenset(text for text in _terminal_texts().values() if text.isidentifier())
