"""Source text and spans: offsets are stored, line and column are derived in one place.

Lines are counted the way editors and `str.splitlines` count them: `\\n`, `\\r\\n` and a lone
`\\r` each end a line, and so do VT, FF, NEL, U+2028 and U+2029. Positions in diagnostics then
match what the author sees, even in text the parser refuses for holding such a character.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from functools import cached_property

import attrs

from policydsl.reprs import Repr

BOM = "\ufeff"

# What the terminal must never receive raw: C0 and C1 controls but tab, DEL, and the bidirectional
# controls that reorder how text displays (Trojan Source, CVE-2021-42574).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


# The two patterns are compiled when first used (by messages: lines and columns, snippets), not
# by every start-up: a policy loaded from its compiled artifact never shows a line.
@functools.cache
def _line_break() -> re.Pattern[str]:
    """What ends a line (see the module's docstring)."""
    return re.compile("\r\n|[\n\r\v\f\x85\u2028\u2029]")


@functools.cache
def _invisible() -> re.Pattern[str]:
    return re.compile(
        "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029" + "".join(sorted(BIDI_CONTROLS)) + "]"
    )


def _without_bom(text: str) -> str:
    """A leading byte order mark is an encoding artefact, not text: every way in drops it."""
    return text.removeprefix(BOM)


# Unicode gives control characters no names; these are their usual ones.
_CONTROL_NAMES = {
    "\x00": "NULL",
    "\x07": "BELL",
    "\x08": "BACKSPACE",
    "\v": "LINE TABULATION",
    "\f": "FORM FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE",
    "\x9b": "CONTROL SEQUENCE INTRODUCER",
}


def char_name(ch: str) -> str:
    """`U+202E (RIGHT-TO-LEFT OVERRIDE)`: how a message names an invisible character."""
    name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def visible(text: str) -> str:
    """`text` with every control or bidirectional character replaced by `�`, one for one, so a
    snippet can be printed safely and carets still line up."""
    return _invisible().sub("\ufffd", text)


@attrs.frozen(eq=False, repr=False)
class Source(Repr):
    """One policy file's text, named as the user named it (a leading BOM dropped)."""

    name: str
    text: str = attrs.field(converter=_without_bom)

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        starts.extend(m.end() for m in _line_break().finditer(self.text))
        return starts

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of `offset` (clamped into the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    @property
    def shown_name(self) -> str:
        """The file name a message shows for a place in this text (`pieces.Piece`, a part of a
        file, shows its file's)."""
        return self.name

    def line_text(self, line: int) -> str:
        """The text of a line, without its line break."""
        start = self._line_starts[line - 1]
        end = _line_break().search(self.text, start)
        return self.text[start:] if end is None else self.text[start : end.start()]


@attrs.frozen(repr=False)
class Span(Repr):
    """A half-open range `[start, end)` of offsets into one source."""

    source: Source = attrs.field(repr=False)
    start: int
    end: int

    @property
    def file(self) -> str:
        return self.source.name

    @property
    def line(self) -> int:
        return self.source.line_col(self.start)[0]

    @property
    def col(self) -> int:
        return self.source.line_col(self.start)[1]

    @property
    def end_line(self) -> int:
        return self.source.line_col(self.end)[0]

    @property
    def end_col(self) -> int:
        return self.source.line_col(self.end)[1]

    def __str__(self) -> str:
        return f"{self.source.shown_name}:{self.line}:{self.col}"
