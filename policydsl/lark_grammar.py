"""The Lark grammar, loaded once per process from cached tables, and the words it defines.

The parser reads text with it; the syntax hints name its terminals and its reserved words. Both
import this module, so neither imports the other. No Lark object leaves this module but the
parser made by `lark_parser()`, which only `parser` uses.

Building the LALR(1) tables from the grammar costs ~100 ms, more than loading the standard
library with them. So the tables are built once per grammar and Lark version and kept in the
user's cache folder (`parser_cache`: plain JSON in a private folder, never a pickle, never a
shared temporary path, `POLICYDSL_CACHE_DIR=off` to turn it off). Loading them is Lark's own
`Lark.load` on the data `Lark.save` would pickle, so the parser is the same object either way.
The cache key is a hash of everything the tables depend on: the grammar text, the options below,
the Lark version and this module's format. A missing, stale, corrupt or unsafe cache file, or a
folder that cannot be written, means the tables are built here as before: slower, never wrong.
"""

from __future__ import annotations

import hashlib
import json
import threading
from functools import cache
from pathlib import Path
from typing import Any, Literal

import lark
import lark.lexer
from lark.grammar import Rule
from lark.lexer import TerminalDef

from policydsl import parser_cache, resources

Origin = Literal["built", "cache"]

_BUILD_LOCK = threading.Lock()
_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "propagate_positions": True,
    "maybe_placeholders": True,
}
_FORMAT = 1  # bump when what is stored changes shape


def lark_parser() -> lark.Lark:
    """The parser, made once per process: loaded from the cache, or built (and cached)."""
    return _parser_and_origin()[0]


def parser_origin() -> Origin:
    """How this process got its parser (for tests and troubleshooting): `cache` or `built`."""
    return _parser_and_origin()[1]


@cache
def _parser_and_origin() -> tuple[lark.Lark, Origin]:
    with _BUILD_LOCK:
        return load_or_build(parser_cache.cache_dir())


def load_or_build(folder: Path | None) -> tuple[lark.Lark, Origin]:
    """The parser from the tables cached in `folder`, or built and stored there (None: built)."""
    grammar = resources.grammar_text()
    key = cache_key(grammar)
    name = f"parser-{key[:32]}.json"
    if folder is not None:
        stored = parser_cache.read(folder, name, key)
        if stored is not None:
            try:
                return lark.Lark.load(stored), "cache"
            except Exception:  # tables this Lark cannot load after all: build them anew
                pass
    parser = _build(grammar)
    if folder is not None:
        data, memo = parser.memo_serialize([TerminalDef, Rule])
        parser_cache.write(folder, name, key, {"data": data, "memo": memo})
    return parser, "built"


def cache_key(grammar: str) -> str:
    """The hash of everything the tables depend on."""
    parts = {"format": _FORMAT, "lark": lark.__version__, "options": _OPTIONS, "grammar": grammar}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _build(grammar: str) -> lark.Lark:
    """The parser built from the grammar.

    With `interegular` installed, Lark re-proves at every build that no two terminals collide,
    which costs more than the build itself. The grammar's terminals are proven once, by
    `tests/test_grammar.py` in strict mode; here that check is skipped (the caller holds the
    lock, and the flag is restored at once).
    """
    saved = lark.lexer.has_interegular
    lark.lexer.has_interegular = False
    try:
        return lark.Lark(grammar, **_OPTIONS)
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
