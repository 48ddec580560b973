"""The literal text a `matches` pattern requires: what lets the index reach its rule.

Every text an RE2 pattern matches contains its required literals: `bot[0-9]+/v2` is found only
in a text holding `bot` and `/v2`; an anchored `^/api/` only in one starting with `/api/`. The
index looks those up and RE2 confirms the few candidates. The reader is deliberately small and
conservative: it understands literal characters, escaped punctuation, anchors at the ends, `.`,
classes, groups (each read as an unknown part) and quantifiers; anything else (an alternation at
the top, flags such as `(?i)`, `\\Q...\\E`, hex or Unicode escapes) gives no literal, and the
rule is checked in turn. Python's `re` parser is not used: it reads some RE2 syntax otherwise
(`[[:alpha:]]` is a class in RE2, a class and a `]` in Python).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

# escapes of one letter that stand for something other than a literal (a class, an anchor or a
# control character): an unknown part of two characters
_TWO_CHAR = frozenset("dDwWsSbBAznrtfva")
_REPEAT = re.compile(r"\{[0-9]+(,[0-9]*)?\}")
# characters that `_Reader.read` takes as themselves: a run of them is read at once
_PLAIN = re.compile(r"[^*+?{$\\\[(|).^\]}]+")


def grams(text: str, length: int) -> set[str]:
    """The distinct pieces of `length` characters of `text` (none if it is shorter): what a
    `substring` index looks up, each once, however often it occurs."""
    return {text[i : i + length] for i in range(len(text) - length + 1)}


GATE_LENGTH = 3  # characters of a gate: a piece of a required run
MAX_GATES = 4  # more, and testing them would cost what searching the text costs


def gates(patterns: Sequence[str]) -> tuple[str, ...] | None:
    """A few pieces of text, one of which every match of every pattern contains (each a piece
    of one of its required runs), or None when there are none so few.

    A text holding none of them matches no pattern, which `in` tells faster than any search:
    most texts a set of patterns is asked about (a user agent, a path) match none of them.
    Pieces are chosen greedily, each the one most of the patterns left contain.
    """
    offered: list[set[str]] = []
    for pattern in patterns:
        found = required(pattern)
        runs = [run for run in found.runs if run] if found is not None else []
        if not runs:
            return None
        offered.append({piece for run in runs for piece in grams(run, min(GATE_LENGTH, len(run)))})
    chosen: list[str] = []
    while offered:
        if len(chosen) == MAX_GATES:
            return None
        counts = Counter(piece for pieces in offered for piece in pieces)
        best = min(counts, key=lambda piece: (-counts[piece], piece))
        chosen.append(best)
        offered = [pieces for pieces in offered if best not in pieces]
    return tuple(chosen)


class Required(NamedTuple):
    """What a pattern's matches contain: `runs` of literal text between unknown parts (in
    order, the first and last possibly empty), and whether it is anchored at either end. A
    pattern with no unknown part is one run, and says all: `^lit$`, `^lit`, `lit$` or `lit`."""

    runs: tuple[str, ...]
    start: bool
    end: bool

    @property
    def pure(self) -> bool:
        return len(self.runs) == 1


class _Unknown(Exception):
    """Syntax the reader does not vouch for: the pattern offers no literal."""


def required(pattern: str) -> Required | None:
    """The literal runs of an RE2 pattern (one that compiles), or None if it has a part the
    reader does not understand."""
    try:
        return _Reader(pattern).read()
    except _Unknown:
        return None


class _Reader:
    def __init__(self, pattern: str):
        self.p = pattern
        self.i = 0
        self.runs: list[str] = []
        self.run: list[str] = []
        self.atom = False  # the last thing read may take a quantifier
        self.literal = False  # ... and it is the last character of `run`

    def read(self) -> Required:
        p = self.p
        start = p.startswith("^")
        self.i = 1 if start else 0
        end = False
        while self.i < len(p):
            c = p[self.i]
            if c in "*+?":
                self.repeat(1)
            elif c == "{" and (m := _REPEAT.match(p, self.i)):
                self.repeat(m.end() - m.start())
            elif c == "$" and self.i == len(p) - 1:
                end = True
                self.i += 1
            elif c == "\\":
                self.escape()
            elif c == "[":
                self.i = self.skip_class(self.i)
                self.unknown()
            elif c == "(":
                self.group()
            elif c in "|)":
                raise _Unknown
            elif c in ".^$]}{":
                self.i += 1
                self.unknown()
            else:  # a literal character, and those after it: each as `char` would read it
                plain = _PLAIN.match(p, self.i)
                assert plain is not None  # `c` is one
                self.run.extend(plain.group())
                self.i = plain.end()
                self.atom = self.literal = True
        self.runs.append("".join(self.run))
        return Required(tuple(self.runs), start, end)

    def char(self, c: str, width: int) -> None:
        self.run.append(c)
        self.i += width
        self.atom = self.literal = True

    def unknown(self) -> None:
        """An unknown part ends the current run."""
        self.runs.append("".join(self.run))
        self.run = []
        self.atom, self.literal = True, False

    def repeat(self, width: int) -> None:
        """A quantifier: the character (or part) before it is no longer required as it was."""
        if not self.atom:
            raise _Unknown  # after an anchor, another quantifier, or nothing
        if self.literal:
            self.run.pop()
        self.i += width
        if self.p.startswith("?", self.i):  # non-greedy
            self.i += 1
        self.unknown()
        self.atom = False

    def escape(self) -> None:
        nxt = self.p[self.i + 1 : self.i + 2]
        if nxt.isascii() and nxt and not (nxt.isalnum() or nxt == "_"):
            self.char(nxt, 2)  # escaped punctuation is itself
        elif nxt in _TWO_CHAR and nxt:
            self.i += 2
            self.unknown()
        else:
            raise _Unknown  # \x41, \p{Greek}, \Q...\E, \1, \C, ...

    def skip_class(self, i: int) -> int:
        """The position after the class that opens at `i`."""
        p = self.p
        i += 1
        if p.startswith("^", i):
            i += 1
        if p.startswith("]", i):
            i += 1
        while i < len(p):
            if p[i] == "\\":
                if p.startswith(("\\Q", "\\E"), i):
                    raise _Unknown
                i += 2
            elif p.startswith("[:", i):
                close = p.find(":]", i + 2)
                if close < 0:
                    raise _Unknown
                i = close + 2
            elif p[i] == "]":
                return i + 1
            else:
                i += 1
        raise _Unknown

    def group(self) -> None:
        """A group is an unknown part; one that sets flags (`(?i)`) makes the pattern unknown."""
        p = self.p
        if p.startswith("(?", self.i) and not p.startswith(("(?:", "(?P<", "(?<"), self.i):
            raise _Unknown
        depth, i = 0, self.i
        while i < len(p):
            c = p[i]
            if c == "\\":
                if p.startswith(("\\Q", "\\E"), i):
                    raise _Unknown
                i += 2
            elif c == "[":
                i = self.skip_class(i)
            elif c == "(":
                if p.startswith("(?", i) and not p.startswith(("(?:", "(?P<", "(?<"), i):
                    raise _Unknown
                depth += 1
                i += 1
            elif c == ")":
                depth -= 1
                i += 1
                if depth == 0:
                    self.i = i
                    self.unknown()
                    return
            else:
                i += 1
        raise _Unknown
