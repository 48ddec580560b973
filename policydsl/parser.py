"""Parsing: policy bytes → checked-for-sanity text → syntax nodes, with diagnostics.

Two parsers, one grammar: `lalr` drives Lark's tables itself and builds nodes as it goes (fast,
no Lark import); Lark parses whatever `lalr` declines (every syntax error, every text `lalr`
finds unusual) and is the reference for both the nodes and the diagnostics.
No Lark exception and no Lark tree leaves this module and `transform`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from policydsl import lalr, nodes
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic
from policydsl.hidden_chars import hidden_characters
from policydsl.lark_grammar import fast_tables, lark_parser, reserved_words
from policydsl.source import Source, Span
from policydsl.syntax_hints import describe_expected, hint_for_token
from policydsl.transform import MAX_INT_DIGITS, BadEscape, LiteralTooLarge, builders, to_nodes

if TYPE_CHECKING:
    import lark
    from lark.exceptions import UnexpectedInput

# The switch for the fast parser: False sends every text through Lark (the reference). Tests
# parse with both and compare the nodes and their spans.
FAST_PARSER = True

MAX_SOURCE_CHARS = 1_000_000  # a policy file larger than this is a mistake, not a policy
MAX_NESTING = 64  # brackets open at once
MAX_TREE_DEPTH = 200  # nesting of the parse tree (operators without brackets, e.g. `not not ...`)


MAX_SOURCE_BYTES = MAX_SOURCE_CHARS * 4  # the most bytes the longest allowed text can take


def read_source(path: Path, display_name: str | None = None) -> Source | Diagnostic:
    """Read a policy file as UTF-8 text, or say precisely why it cannot be one.

    The size is checked before reading (with `stat`), and no more than the limit is ever read:
    a 1 GB file costs one `stat`, not 1 GB of memory.
    """
    name = display_name or str(path)
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_SOURCE_BYTES:
                return _too_large(Source(name, ""), size, "bytes")
            data = stream.read(MAX_SOURCE_BYTES + 1)  # a pipe or a growing file has no size
    except OSError as err:
        return Diagnostic(
            Code.FILE_UNREADABLE, f"cannot read file: {err.strerror or err}", help=name
        )
    return source_from_bytes(data, name)


def source_from_bytes(data: bytes, name: str) -> Source | Diagnostic:
    """Policy bytes (at most `MAX_SOURCE_BYTES` + 1 of them) as text, or why they are not text."""
    if len(data) > MAX_SOURCE_BYTES:  # more bytes than any allowed text could take
        return _too_large(Source(name, ""), len(data), "bytes")
    if b"\x00" in data:
        offset = data.index(b"\x00")
        before = Source(name, data[:offset].decode("utf-8", errors="replace") + "\x00")
        end = len(before.text)
        return Diagnostic(
            Code.FILE_BINARY,
            "file is binary, not policy text (it contains a NUL byte)",
            Span(before, end - 1, end),
            help="policy files are UTF-8 text",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        before = Source(name, data[: err.start].decode("utf-8", errors="replace") + "\ufffd")
        end = len(before.text)
        return Diagnostic(
            Code.FILE_NOT_UTF8,
            f"file is not valid UTF-8 (byte 0x{data[err.start]:02x})",
            Span(before, end - 1, end),
            help="save the file as UTF-8",
        )
    return Source(name, text)


def _too_large(source: Source, size: int, unit: str = "characters") -> Diagnostic:
    return Diagnostic(
        Code.FILE_TOO_LARGE,
        f"file is too large to be a policy ({size:,} {unit}; the limit is "
        f"{MAX_SOURCE_CHARS:,} characters)",
        Span(source, 0, 0),
        help="split the policy into several files in one folder",
    )


def parse(source: Source) -> tuple[nodes.PolicyFile | None, list[Diagnostic]]:
    """Parse one source; on failure return no file and the diagnostics that say why."""
    if len(source.text) > MAX_SOURCE_CHARS:
        return None, [_too_large(source, len(source.text))]
    hidden = hidden_characters(source)
    if hidden:
        return None, hidden
    if FAST_PARSER:  # it declines brackets nested too deeply: then the check below reports them
        fast = parse_fast(source)
        if fast is not None:
            return fast, []
    nesting = _check_nesting(source)
    if nesting is not None:
        return None, [nesting]
    return parse_with_lark(source)


def parse_fast(source: Source) -> nodes.PolicyFile | None:
    """The nodes of a source the fast parser reads (its size and characters already checked),
    or None for Lark to parse: a syntax error, a keyword read as a name, a tree too deep,
    brackets nested past `MAX_NESTING` (the nesting it measures is `_check_nesting`'s, for a text
    it reads), a bad literal, anything unusual. Where it answers, it answers what Lark would
    (`tests/test_fast_parser.py`)."""
    tables = fast_tables()
    if tables is None:
        return None
    terminals = tables.terminals
    name = terminals.index("NAME") if "NAME" in terminals else -1
    # `_check_tree` refuses a keyword read as a name, but for a field after a dot: in the
    # grammar a dot only ever comes before a field (`path: NAME ("." NAME)*`)
    dots = frozenset(terminals.index(t) for t, text in tables.literals.items() if text == ".")
    try:
        parsed = lalr.parse(source.text, tables, builders(source), {name: reserved_words()}, dots)
    except Exception:  # a bad literal (Lark's order of errors picks the one to report), or a
        return None  # fault of the fast parser, which must never cost a diagnostic: Lark decides
    if parsed is None:
        return None
    tree, height, nesting = parsed
    if height > MAX_TREE_DEPTH or nesting > MAX_NESTING or not isinstance(tree, nodes.PolicyFile):
        return None
    return tree


def parse_with_lark(source: Source) -> tuple[nodes.PolicyFile | None, list[Diagnostic]]:
    """`parse` by Lark alone (the limits above already checked): the reference."""
    from lark.exceptions import UnexpectedInput

    try:
        tree = lark_parser().parse(source.text)
    except UnexpectedInput as err:
        return None, [_syntax_error(source, err)]
    found = _check_tree(source, tree)
    if found:
        return None, found
    try:
        return to_nodes(tree, source), []
    except BadEscape as err:
        return None, [err.diagnostic]
    except LiteralTooLarge as err:
        return None, [
            Diagnostic(
                Code.INTEGER_TOO_LONG,
                f"integer literal is too large (more than {MAX_INT_DIGITS} digits)",
                err.span,
                help="policies compare ages, counts and limits; write a smaller number",
            )
        ]


# What the nesting check reads: a comment, a string (to its closing quote or the end of its
# line; a backslash escapes any one character), or a bracket. Anything else is skipped unread.
_NESTING_TOKENS = re.compile(r'#[^\n]*|"(?:[^"\\\n]|\\[\s\S])*["\n]?|[(\[{)\]}]')


def _check_nesting(source: Source) -> Diagnostic | None:
    """Refuse absurd bracket nesting before Lark builds a tree thousands of levels deep."""
    depth = 0
    for token in _NESTING_TOKENS.finditer(source.text):
        ch = token.group()[0]
        if ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                offset = token.start()
                return Diagnostic(
                    Code.NESTED_TOO_DEEPLY,
                    f"brackets nest too deeply (more than {MAX_NESTING} levels)",
                    Span(source, offset, offset + 1),
                    help="name a sub-expression with `def` to flatten it",
                )
        elif ch in ")]}":
            depth = max(0, depth - 1)
    return None


def _check_tree(source: Source, tree: lark.Tree[lark.Token]) -> list[Diagnostic]:
    """What the grammar lets through but the language refuses, in one walk over the tree: a tree
    nested too deeply (operators without brackets, `not not ...`), else every keyword used as a
    name. The contextual lexer reads `rule` as a NAME wherever the keyword cannot occur
    (`def rule = 1`, `when in > 1`), so the reservation is enforced here. A field after a dot may
    be a keyword: a fired rule's `r.tags` and `r.cite` are built in."""
    import lark

    keywords = reserved_words()
    reserved: list[lark.Token] = []
    stack: list[tuple[lark.Tree[lark.Token], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            meta = node.meta
            start = getattr(meta, "start_pos", 0)
            return [
                Diagnostic(
                    Code.NESTED_TOO_DEEPLY,
                    f"expression nests too deeply (more than {MAX_TREE_DEPTH} levels)",
                    Span(source, start, start + 1),
                    help="name a sub-expression with `def` to flatten it",
                )
            ]
        children = node.children
        # `a.b.c`: b and c are fields; so is every name of `m["k"].a.b`
        fields_from = 1 if node.data == "path" else 0 if node.data == "lookup" else len(children)
        for index, child in enumerate(children):
            if isinstance(child, lark.Tree):
                stack.append((child, depth + 1))
            elif (
                isinstance(child, lark.Token)
                and child.type == "NAME"
                and index < fields_from
                and child in keywords
            ):
                reserved.append(child)
    return [
        Diagnostic(
            Code.UNEXPECTED_TOKEN,
            f"unexpected `{tok}`",
            Span(source, tok.start_pos or 0, tok.end_pos or 0),
            help=hint_for_token(str(tok), {"NAME"}),
        )
        for tok in sorted(reserved, key=lambda tok: tok.start_pos or 0)
    ]


def _syntax_error(source: Source, err: UnexpectedInput) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(err, UnexpectedCharacters):
        # lark declares `pos_in_stream = None` on the base class; the lexer always sets it
        offset = err.pos_in_stream or 0
        ch = source.text[offset] if offset < len(source.text) else ""
        if ch == '"':
            end = source.text.find("\n", offset)
            end = len(source.text) if end < 0 else end
            return Diagnostic(
                Code.UNTERMINATED_STRING,
                "unterminated string",
                Span(source, offset, end),
                help='close the string with `"` on the same line; write `\\"` for a quote inside',
            )
        return Diagnostic(
            Code.UNEXPECTED_CHARACTER,
            f"unexpected character `{ch}`" if ch.isprintable() else "unexpected character",
            Span(source, offset, offset + 1),
            help=hint_for_token(ch, set(err.allowed or ())) or describe_expected(err.allowed),
        )
    if isinstance(err, UnexpectedToken):
        token = err.token
        if token.type == "$END":
            end = len(source.text)
            return Diagnostic(
                Code.UNEXPECTED_END,
                "unexpected end of file",
                Span(source, end, end),
                help=describe_expected(err.accepts or err.expected),
            )
        start = token.start_pos or 0
        expected = set(err.accepts or err.expected)
        return Diagnostic(
            Code.UNEXPECTED_TOKEN,
            f"unexpected `{_clip(str(token))}`",
            Span(source, start, token.end_pos or start + 1),
            help=hint_for_token(str(token), expected) or describe_expected(expected),
        )
    if isinstance(err, UnexpectedEOF):
        end = len(source.text)
        return Diagnostic(
            Code.UNEXPECTED_END,
            "unexpected end of file",
            Span(source, end, end),
            help=describe_expected(err.expected),
        )
    return Diagnostic(Code.UNEXPECTED_TOKEN, "syntax error", Span(source, 0, 0))  # pragma: no cover


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
