"""Incremental parsing for the language server: a file is cut into blocks of whole declarations,
each block parsed on its own and kept while its text is unchanged, so an edit to a 10,000-rule file
parses one block again, not the file.

Blocks start where a declaration keyword starts a line, and only at such lines whose text hashes to
a multiple of `BLOCK` (or around a declaration too big to parse again for an edit next to it): the
cuts depend on the text around them, not on a count, so an edit moves no other cut and the blocks
after it keep their text (content-defined chunking, as rsync and backup tools cut files). A block is
a `Piece` of the file: its spans are offsets into the block, and its lines and columns are those of
its place in the file, which moves as the text before it changes. Blocks that all parse make the
same declarations as the whole file (each is a sequence of whole declarations, and no token spans a
line); when one does not, its syntax error is the file's where that is sure (`file_errors`), else
the caller parses the whole file for the diagnostics `policyc check` gives (`tests/test_pieces.py`
compares them).
"""

from __future__ import annotations

import itertools
import re
import zlib
from typing import Any

import attrs

from policydsl import nodes
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic
from policydsl.hidden_chars import hidden_characters
from policydsl.parser import MAX_SOURCE_CHARS, _check_nesting, parse
from policydsl.source import Source, Span

# Where a declaration may start: its keyword at the start of a line (as `policyc fmt` lays out),
# not followed by a `:` (a record's field may be named `version` or `rule`).
DECL_START = re.compile(
    r"^(?:version|entity|enum|context|effects|annotation|obligations|def|table|rule|output|property"
    r"|require)\b(?![ \t]*:)",
    re.MULTILINE,
)
BLOCK = 32  # declarations per block, on average
BIG = 8_000  # characters: a declaration this long is a block of its own


@attrs.frozen(eq=False)
class Piece(Source):
    """A block of a file's text; `place` is `[the file's Source, the block's offset in it]`, kept
    up to date as the file changes around the block."""

    place: list[Any] = attrs.field(factory=list, repr=False)

    def line_col(self, offset: int) -> tuple[int, int]:
        file, base = self.place
        offset = max(0, min(offset, len(self.text)))
        return file.line_col(base + offset)  # type: ignore[no-any-return]

    def line_text(self, line: int) -> str:
        return self.place[0].line_text(line)  # type: ignore[no-any-return]

    @property
    def shown_name(self) -> str:
        return self.place[0].name if self.place else self.name


_pieces_made = itertools.count()


def _piece_name(file: str) -> str:
    """A block's own name (the checker tells nodes apart by file name and offset, and offsets
    count from the block): its file's, and a number. Diagnostics name the file (`to_file`)."""
    return f"{file}\x00{next(_pieces_made)}"


def to_file(diagnostic: Diagnostic) -> Diagnostic:
    """The diagnostic with its spans in their files, not their blocks."""

    def moved(span: Span) -> Span:
        file, start, end = absolute(span.source, span.start, span.end)
        return span if file is span.source else Span(file, start, end)

    span = diagnostic.span
    places = [where for where, _ in diagnostic.related] + ([span] if span is not None else [])
    if not any(isinstance(where.source, Piece) for where in places):
        return diagnostic
    return attrs.evolve(
        diagnostic,
        span=moved(span) if span is not None else None,
        related=tuple((moved(where), note) for where, note in diagnostic.related),
    )


def absolute(source: Source, start: int, end: int) -> tuple[Source, int, int]:
    """A range of a piece as a range of its file (a file's own range unchanged)."""
    if isinstance(source, Piece) and source.place:
        file, base = source.place
        return file, base + start, base + end
    return source, start, end


def decl_starts(text: str) -> list[int]:
    starts = [m.start() for m in DECL_START.finditer(text)]
    return starts if starts and starts[0] == 0 else [0, *starts]


def cuts(text: str) -> list[int]:
    """The offsets where blocks start: 0, and each declaration start whose line hashes to 0, or
    that starts or follows a declaration of more than `BIG` characters (a table of many rows):
    a big declaration is a block of its own, parsed again only when it changes itself."""
    found = [0]
    starts = [*decl_starts(text), len(text)]
    for i in range(1, len(starts) - 1):
        start = starts[i]
        end = text.find("\n", start, start + 200)
        line = text[start : end if end >= 0 else start + 200]
        big = start - starts[i - 1] > BIG or starts[i + 1] - start > BIG
        if big or zlib.crc32(line.encode("utf-8", "surrogatepass")) % BLOCK == 0:
            found.append(start)
    return found


@attrs.frozen
class Block:
    piece: Piece
    tree: nodes.PolicyFile | None
    diagnostics: tuple[Diagnostic, ...]


class Pieces:
    """The blocks of each file's latest text, by file name and block text, and those of the text
    before it that the latest does not use (an edit undone, a syntax error fixed: the blocks the
    text had before come back)."""

    def __init__(self) -> None:
        self._blocks: dict[str, dict[str, list[Block]]] = {}
        self._before: dict[str, dict[str, list[Block]]] = {}

    def parse(self, source: Source) -> tuple[nodes.PolicyFile | None, list[Block]]:
        """The file's declarations, parsed block by block (unchanged blocks reused), or None when
        a block does not parse (or the file is past the size limit: the whole parse says so)."""
        text = source.text
        if len(text) > MAX_SOURCE_CHARS:
            return None, []
        known = self._blocks.get(source.name, {})
        before = self._before.get(source.name, {})
        kept: dict[str, list[Block]] = {}
        blocks: list[Block] = []
        starts = cuts(text)
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(text)
            chunk = text[start:end]
            same = known.get(chunk) or before.get(chunk)
            if same:
                block = same.pop()
            else:
                piece = Piece(_piece_name(source.name), chunk, [source, start])
                tree, diags = parse(piece)
                block = Block(piece, tree, tuple(diags))
            block.piece.place[:] = [source, start]
            kept.setdefault(chunk, []).append(block)
            blocks.append(block)
        self._blocks[source.name] = kept
        self._before[source.name] = {chunk: left for chunk, left in known.items() if left}
        if any(b.tree is None for b in blocks):
            return None, blocks
        decls = tuple(d for b in blocks if b.tree is not None for d in b.tree.decls)
        return nodes.PolicyFile(decls, span=Span(source, 0, len(text))), blocks

    def forget(self, name: str) -> None:
        self._blocks.pop(name, None)
        self._before.pop(name, None)


# The syntax errors a block reports as the whole file's parse would: the token is inside the
# block, read by a parser in the state every block starts in (after whole declarations).
_LOCAL_ERRORS = frozenset(
    {Code.UNEXPECTED_TOKEN, Code.UNEXPECTED_CHARACTER, Code.UNTERMINATED_STRING}
)


def file_errors(source: Source, blocks: list[Block]) -> list[Diagnostic] | None:
    """What `parse(source)` reports, read off blocks one of which failed, or None when only the
    whole parse can say. `parse` checks the file's size, its hidden characters and its nesting
    (done here on the whole text, as cheap scans), then parses: the first failing block's error
    is the file's when it is an unexpected token, character or string, not the block's end."""
    if len(source.text) > MAX_SOURCE_CHARS:
        return None
    hidden = hidden_characters(source)
    if hidden:
        return hidden
    nesting = _check_nesting(source)
    if nesting is not None:
        return [nesting]
    first = next((b for b in blocks if b.tree is None), None)
    if first is None or len(first.diagnostics) != 1:
        return None
    (error,) = first.diagnostics
    return [to_file(error)] if error.code in _LOCAL_ERRORS else None


def recover(source: Source, blocks: list[Block]) -> nodes.PolicyFile | None:
    """The declarations that parse, from a file that does not: whole blocks that parse, and in a
    block that does not, each declaration that parses on its own (an unclosed one costs only
    itself: the next starts its own piece). None when nothing parses."""
    decls: list[Any] = []
    for block in blocks:
        if block.tree is not None:
            decls.extend(block.tree.decls)
            continue
        file, base = block.piece.place
        text = block.piece.text
        starts = decl_starts(text)
        if len(starts) == 1:
            continue  # one declaration: parsing it alone again would fail alike
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(text)
            tree, _ = parse(Piece(_piece_name(source.name), text[start:end], [file, base + start]))
            if tree is not None:
                decls.extend(tree.decls)
    if not decls:
        return None
    return nodes.PolicyFile(tuple(decls), span=Span(source, 0, len(source.text)))
