"""`matches`: regular expressions with a linear-time guarantee, through RE2 (`google-re2`, the
`regex` extra).

RE2 never backtracks: matching takes time linear in the text, whatever the pattern, and a pattern
it cannot guarantee that for (backreferences, lookaround) does not compile. Patterns are
constants of the policy, compiled once when it is checked; a request never supplies one. A
pattern matches anywhere in the text unless it anchors itself (`^...$`), as in RE2, CEL and Rego.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

from policydsl.regex_literals import gates

# A request's text may hold a lone surrogate (JSON's `"\ud800"` reads as one): encoded as is
# (three bytes), RE2 reads it as one character, which `.` and negated classes match and no
# literal of a pattern does; a strict encoding would fail the decision instead.
_SURROGATES = "surrogatepass"


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
            encoded = text.encode("utf-8", _SURROGATES)
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


class PatternSet:
    """Which of many patterns match a text, in one pass of RE2 over it (`re2.Set`): what the
    `pattern` index asks, in time linear in the text whatever the number of patterns.

    RE2's search of a set can run out of its memory budget on some texts, and google-re2 then
    answers no match at all, which would fire no rule. Pattern 0 of the set is the empty
    pattern, which matches every text: an answer without it is such a failure, and the
    patterns are then searched one by one (linear in their number, and as right). Should RE2
    refuse to build the set, every text is searched that way. Patterns are answered by number,
    which the index's tables are keyed by (0 is in none of them).

    Before any search, a text is tested for the set's gates (`regex_literals.gates`), pieces
    of literal text of which every match holds one: a text with none matches nothing, and a
    substring test is several times cheaper than the set's search.
    """

    __slots__ = ("_each", "_gate", "_match", "patterns")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._each = tuple(compile_pattern(p).search for p in self.patterns)
        self._match = _set_match(self.patterns)
        self._gate = _gate(gates(self.patterns))

    def hits(self, text: str) -> list[int]:
        """The numbers of the patterns that match somewhere in `text`, counted from 1 in the
        order given; 0, the empty pattern's, may be among them and stands for none."""
        gate = self._gate  # one piece of text, or a search of several
        if gate is not None and not (gate in text if isinstance(gate, str) else gate(text)):
            return []
        found = self._match(text.encode("utf-8", _SURROGATES))
        if 0 in found:
            return found
        return [i for i, search in enumerate(self._each, 1) if search(text) is not None]


def _gate(found: tuple[str, ...] | None) -> str | Callable[[str], Any] | None:
    """The gates as `hits` tests them: one, as the text itself (`in`), or a search of them all."""
    if found is None:
        return None
    if len(found) == 1:
        return found[0]
    return re.compile("|".join(map(re.escape, found))).search


def _set_match(patterns: Sequence[str]) -> Callable[[bytes], list[int]]:
    """The search of an RE2 set of the empty pattern then `patterns`: the numbers of those that
    match a UTF-8 text, in no order (RE2's own `Match`, not the wrapper's, which turns an empty
    answer into None); when RE2 cannot build the set, a search that always fails."""
    import re2

    options = re2.Options()
    options.log_errors = False
    options.never_capture = True
    try:
        found = re2.Set.SearchSet(options)
        for pattern in ("", *patterns):
            found.Add(pattern)
        found.Compile()
    except re2.error:
        return lambda encoded: []
    native = getattr(found, "_set", None)
    if native is not None and callable(getattr(native, "Match", None)):
        match: Callable[[bytes], list[int]] = native.Match
        return match
    return lambda encoded: found.Match(encoded) or []
