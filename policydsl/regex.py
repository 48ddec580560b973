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


@functools.lru_cache(maxsize=4_096)  # a policy's constants: bounded by the policies loaded
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern (its `search` finds a match anywhere), or `PatternError`."""
    try:
        import re2  # type: ignore[import-untyped]
    except ModuleNotFoundError:
        raise PatternError("`matches` needs RE2: pip install 'policydsl[regex]'") from None
    options = re2.Options()
    options.log_errors = False  # the error is the diagnostic's, not a line on stderr
    options.never_capture = True  # only whether it matches is asked
    try:
        return re2.compile(pattern, options=options)
    except re2.error as err:
        reason = err.args[0] if err.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"RE2 refuses the pattern: {reason}") from None


def search(text: str, pattern: str) -> bool:
    """Whether `pattern` (a constant the checker compiled already) matches somewhere in `text`."""
    return compile_pattern(pattern).search(text) is not None
