"""`like` patterns: `*` matches any run of characters, `?` exactly one; nothing else is special.

A pattern is matched without backtracking: it is its parts between stars, each of a fixed length.
The first part must start the text and the last end it; each middle part is found at its leftmost
place after the one before. Since a part has a fixed length, its leftmost place leaves the most
room for the parts after it, so it is always a right choice and no other is ever tried. A part
without `?` is found by `str.find`; a part with `?` by a regular expression of literal characters
and `.` only, which has nothing to backtrack into. Matching takes at most time proportional to
the text's length times the pattern's (both bounded by the declared string maxima), and the
search resumes where the last part ended, so each place of the text starts at most one search.

Patterns seen at run time (from a request) are kept in a cache bounded both in entries and in the
total length of the patterns it holds; long patterns are never kept.
"""

from __future__ import annotations

import re
import threading

MAX_CACHED_PATTERNS = 512  # entries in the cache of run-time patterns
MAX_CACHED_CHARS = 65_536  # characters of all the patterns the cache holds, together
MAX_CACHED_PATTERN = 1_024  # a longer pattern is compiled each time, never kept


class _Part:
    """A run of a pattern between two stars: literal characters and `?`s, of fixed length."""

    __slots__ = ("length", "literal", "regex")

    def __init__(self, text: str):
        self.length = len(text)
        self.literal = text
        self.regex = (
            re.compile("".join("." if c == "?" else re.escape(c) for c in text), re.DOTALL)
            if "?" in text
            else None
        )

    def at(self, text: str, pos: int) -> bool:
        """Whether the part matches `text` at `pos` (the caller knows it fits)."""
        if self.regex is None:
            return text.startswith(self.literal, pos)
        return self.regex.match(text, pos) is not None

    def find(self, text: str, pos: int, end: int) -> int:
        """The leftmost place at or after `pos` where the part matches inside `text[:end]`."""
        if self.regex is None:
            return text.find(self.literal, pos, end)
        found = self.regex.search(text, pos, end)
        return -1 if found is None else found.start()


class Glob:
    """A compiled `like` pattern; `matches(text)` is the whole-text match."""

    __slots__ = ("first", "last", "middle", "min_length", "pattern")

    def __init__(self, pattern: str):
        self.pattern = pattern
        parts = pattern.split("*")
        self.first = _Part(parts[0])
        self.last: _Part | None = _Part(parts[-1]) if len(parts) > 1 else None
        self.middle = tuple(_Part(p) for p in parts[1:-1] if p)
        self.min_length = len(pattern) - pattern.count("*")

    def matches(self, text: str) -> bool:
        n = len(text)
        if n < self.min_length:
            return False
        last = self.last
        if last is None:  # no star: the one part is the whole text
            return n == self.first.length and self.first.at(text, 0)
        end = n - last.length
        if not (self.first.at(text, 0) and last.at(text, end)):
            return False
        pos = self.first.length
        for part in self.middle:
            found = part.find(text, pos, end)
            if found < 0:
                return False
            pos = found + part.length
        return True

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"


class _Cache:
    """Run-time patterns already compiled: at most `MAX_CACHED_PATTERNS` of them, holding at
    most `MAX_CACHED_CHARS` characters in all; the oldest make room for new ones."""

    def __init__(self) -> None:
        self._globs: dict[str, Glob] = {}
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, pattern: str) -> Glob:
        found = self._globs.get(pattern)
        if found is not None:
            return found
        glob = Glob(pattern)
        if len(pattern) <= MAX_CACHED_PATTERN:
            with self._lock:
                self._add(pattern, glob)
        return glob

    def _add(self, pattern: str, glob: Glob) -> None:
        if pattern in self._globs:
            return
        while self._globs and (
            len(self._globs) >= MAX_CACHED_PATTERNS or self._chars + len(pattern) > MAX_CACHED_CHARS
        ):
            oldest = next(iter(self._globs))
            self._chars -= len(oldest)
            del self._globs[oldest]
        self._globs[pattern] = glob
        self._chars += len(pattern)

    def size(self) -> tuple[int, int]:
        """(entries, characters) held: what the bounds are on."""
        return len(self._globs), self._chars


_CACHE = _Cache()


def compile_glob(pattern: str) -> Glob:
    """The compiled pattern, from the bounded cache when it was seen before."""
    return _CACHE.get(pattern)


def cache_size() -> tuple[int, int]:
    """(entries, characters) held by the cache of run-time patterns."""
    return _CACHE.size()


def glob_match(text: str, pattern: str) -> bool:
    return compile_glob(pattern).matches(text)
