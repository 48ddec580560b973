r"""`like` patterns: `*` matches any run of characters, `?` exactly one, `\` makes the character
after it literal (`\*` a star, `\?` a question mark, `\\` a backslash); a pattern matches the
whole text, never a part of it.

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


# A part of a pattern: its characters, None standing for a `?`.
Part = list[str | None]


def parts(pattern: str) -> list[Part]:
    r"""The pattern's parts between its stars, escapes resolved: `a\*b*?` is `[a*b]`, `[?]`. A
    backslash at the very end stands for itself."""
    found: list[Part] = [[]]
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            found[-1].append(pattern[i + 1])
            i += 2
            continue
        if c == "*":
            found.append([])
        else:
            found[-1].append(None if c == "?" else c)
        i += 1
    return found


def literal_ends(pattern: str) -> tuple[str | None, str, str, bool, bool]:
    """What any text the pattern matches must be, start with or end with: (the whole text when
    the pattern has no wildcard, else None; its literal start; its literal end; whether the
    pattern is exactly `start*`; whether it is exactly `*end`)."""
    split = parts(pattern)
    first, last = split[0], split[-1]
    if len(split) == 1 and None not in first:
        return _literal(first), "", "", False, False
    head = _literal(first[: first.index(None)] if None in first else first)
    tail_from = len(last) - last[::-1].index(None) if None in last else 0
    tail = _literal(last[tail_from:])
    plain = len(split) == 2
    return (
        None,
        head,
        tail,
        plain and not last and None not in first,
        plain and not first and None not in last,
    )


def _literal(part: Part) -> str:
    return "".join(c for c in part if c is not None)


class _Part:
    """A run of a pattern between two stars: literal characters and `?`s, of fixed length."""

    __slots__ = ("length", "literal", "regex")

    def __init__(self, part: Part):
        self.length = len(part)
        self.literal = _literal(part)
        self.regex = (
            re.compile("".join("." if c is None else re.escape(c) for c in part), re.DOTALL)
            if None in part
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
        split = parts(pattern)
        self.first = _Part(split[0])
        self.last: _Part | None = _Part(split[-1]) if len(split) > 1 else None
        self.middle = tuple(_Part(p) for p in split[1:-1] if p)
        self.min_length = sum(map(len, split))

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
