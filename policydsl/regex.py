"""`matches`: regular expressions with a linear-time guarantee, through RE2 (`google-re2`, the
`regex` extra).

RE2 never backtracks: matching takes time linear in the text, whatever the pattern, and a pattern
it cannot guarantee that for (backreferences, lookaround) does not compile. Patterns are
constants of the policy, compiled once when it is checked; a request never supplies one. A
pattern matches anywhere in the text unless it anchors itself (`^...$`), as in RE2, CEL and Rego.
"""

from __future__ import annotations

import functools
from typing import Any


class PatternError(ValueError):
    """A pattern RE2 refuses, or no RE2 to compile it with; the message says which."""


class Pattern:
    """A compiled pattern: `search(text)` is not None when it matches somewhere in `text`.

    `google-re2`'s `search` builds a match object through a generator and maps its byte offsets
    back to characters, about 3.5 µs a call, where only whether it matches is asked: this one
    asks RE2 directly (its `_regexp.Match` on the UTF-8 text, as the wrapper's own `search`
    does), about 0.6 µs. A `google-re2` without that interface gets the wrapper's `search`.
    """

    __slots__ = ("compiled", "search")

    def __init__(self, compiled: Any, re2: Any) -> None:
        self.compiled = compiled
        native = getattr(compiled, "_regexp", None)
        anchor = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
        no_match = getattr(re2, "_NULL_SPAN", None)
        match = getattr(native, "Match", None)
        if match is None or anchor is None or no_match is None:
            self.search: Any = compiled.search
            return

        def search(text: str) -> bool | None:
            encoded = text.encode("utf-8")  # a lone surrogate raises, as the wrapper's does
            return True if match(anchor, encoded, 0, len(encoded))[0] != no_match else None

        self.search = search


# A policy's constants, bounded (about 2.4 KB each): the checker compiles every pattern and the
# code generator asks again, so the cache holds a 10,000-pattern policy whole, each compiled once.
@functools.lru_cache(maxsize=16_384)
def compile_pattern(pattern: str) -> Pattern:
    """The compiled pattern (its `search` finds a match anywhere), or `PatternError`."""
    try:
        import re2  # type: ignore[import-untyped]
    except ModuleNotFoundError:
        raise PatternError("`matches` needs RE2: pip install 'policydsl[regex]'") from None
    options = re2.Options()
    options.log_errors = False  # the error is the diagnostic's, not a line on stderr
    options.never_capture = True  # only whether it matches is asked
    try:
        return Pattern(re2.compile(pattern, options=options), re2)
    except re2.error as err:
        reason = err.args[0] if err.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"RE2 refuses the pattern: {reason}") from None


def search(text: str, pattern: str) -> bool:
    """Whether `pattern` (a constant the checker compiled already) matches somewhere in `text`."""
    return compile_pattern(pattern).search(text) is not None
