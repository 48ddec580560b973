"""Source text and spans: offsets are stored, line and column are derived in one place."""

from __future__ import annotations

import bisect
from functools import cached_property

import attrs


@attrs.frozen(eq=False)
class Source:
    """One policy file's text, named as the user named it."""

    name: str
    text: str

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        starts.extend(i + 1 for i, ch in enumerate(self.text) if ch == "\n")
        return starts

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of `offset` (clamped into the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end]


@attrs.frozen
class Span:
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
        return f"{self.file}:{self.line}:{self.col}"
