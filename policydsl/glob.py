"""`like` patterns: `*` matches any run of characters, `?` exactly one; nothing else is special."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regex for `fullmatch`, in time proportional to the lengths of text and pattern multiplied.

    The part between two stars matches at its leftmost place, inside an atomic group: that place
    is always a right one, and never backtracking into it keeps `*a*a*a*a*b` against a long run of
    `a`s from taking time in the text's length to the power of the number of stars (the trick of
    CPython's `fnmatch.translate`).
    """
    if "*" not in pattern:
        return re.compile(_literal(pattern), re.DOTALL)
    first, *middle, last = pattern.split("*")
    inner = "".join(f"(?>.*?{_literal(part)})" for part in middle)
    return re.compile(f"{_literal(first)}{inner}.*{_literal(last)}", re.DOTALL)


def _literal(part: str) -> str:
    return "".join("." if ch == "?" else re.escape(ch) for ch in part)


def glob_match(text: str, pattern: str) -> bool:
    return compile_glob(pattern).fullmatch(text) is not None
