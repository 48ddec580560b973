"""Formatting: syntax nodes, plus the comments scanned back from the text, to canonical policy text.

`policyc fmt` prints every policy one way, so diffs show changes of meaning, never of layout. The
style is the one `stdlib_rules/` is written in:

- 2-space indentation, lines of at most 100 columns where a break is possible, `\\n` line ends.
- Declarations are separated by one blank line; consecutive one-line declarations (`def`s,
  `enum`s) may stay together if the source had no blank line between them. Inside blocks, one
  blank line is kept where the source had any, never after `{` or before `}`.
- `rule NAME for TABLE: EFFECT {` with one clause per line; `output NAME: TYPE {` with one case
  per line, `=> VALUE` moved to the next line (2 deeper) when the case does not fit.
- Enum members and obligation names: `enum E { a, b }` if it fits, else one per line with a
  trailing comma; lists the same (`[a, b]`, or one item per line). Records: one field per line.
- Table rows: one per line, cells padded so columns line up, the key column set off by 2 spaces.
- Expressions get the fewest parentheses that keep the tree (quantifier < or < and < not <
  comparison, `in` and set tests < `+ -` < `*` < unary `-`). A `when` (or a `def`, an output case)
  too long for one line breaks before each top-level `and`/`or`, aligned under its first operand.
- Strings keep the spelling they were written with (escapes and characters), but a raw tab
  becomes `\\t`; a string built without one (a test's tree) is written by `render.quote`.
- Comments survive: each one stays before the declaration, field, clause, row, member or case it
  precedes, or at the end of the line it trails; trailing comments on neighbouring lines of one
  declaration line up, one space after the longest of those lines. Comments inside an expression
  move above its line; comments closing a block or the file stay there.

`format_source` re-parses its output and refuses to return text whose tree or comments differ
(black's "safe mode"): a formatter bug must never silently change a policy.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs

from policydsl import nodes, parser
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic, PolicyError
from policydsl.parser import parse
from policydsl.render import AND, NOT, OR, QUANT, expr_text, precedence, string_literal
from policydsl.source import Source, Span

WIDTH = 100
INDENT = 2
KEY_GAP = 2  # spaces after the widest key cell of a table (other columns: 1)

T = TypeVar("T")


def format_source(text: str, name: str = "<string>") -> str:
    """The canonical text of one policy file; `PolicyError` with the parser's diagnostics if the
    text does not parse."""
    text = text.removeprefix("\ufeff")
    tree, diagnostics = parse(Source(name, text))
    if tree is None:
        raise PolicyError(diagnostics)
    result = _Formatter(text).file(tree)
    _verify(tree, text, result, name)
    return result


def _verify(tree: nodes.PolicyFile, before: str, after: str, name: str) -> None:
    """Refuse output that parses differently or lost a comment: no format beats a wrong one."""
    again, problems = parse(Source(name, after))
    if again is None and any(d.code == Code.FILE_TOO_LARGE for d in problems):
        raise PolicyError(
            [
                Diagnostic(
                    Code.FORMATTED_TOO_LARGE,
                    f"the formatted file would be too large to be a policy (more than "
                    f"{parser.MAX_SOURCE_CHARS:,} characters)",
                    Span(Source(name, before), 0, 0),
                    help="split the policy into several files in one folder",
                )
            ]
        )
    if again != tree:
        raise RuntimeError(f"formatter bug: the formatted {name} does not parse to the same tree")
    if Counter(c.text for c in scan_comments(before)) != Counter(
        c.text for c in scan_comments(after)
    ):
        raise RuntimeError(f"formatter bug: comments of {name} were lost or changed")


# ---- comments ---------------------------------------------------------------------------------


@attrs.frozen
class Comment:
    """A `#` comment: its offset, its text (trailing spaces dropped) and whether code precedes it
    on its line (a trailing comment) or not (an own-line comment)."""

    offset: int
    text: str
    trailing: bool


def scan_comments(text: str) -> list[Comment]:
    """Every comment of `text`, in order; the tree has none, so the formatter recovers them here.

    Strings cannot span lines and `\\"` is their only way to hold a quote, as in the grammar.
    """
    found: list[Comment] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
            i += 1
        elif ch == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            line_start = text.rfind("\n", 0, i) + 1
            trailing = bool(text[line_start:i].strip())
            found.append(Comment(i, text[i:end].rstrip(" \t\r"), trailing))
            i = end
        else:
            i += 1
    return found


# ---- expressions ------------------------------------------------------------------------------


def layout(e: nodes.Expr, col: int, indent: int, slot: int = QUANT, reserve: int = 0) -> list[str]:
    """`e` starting at column `col` of a line indented by `indent`, broken if it does not fit.

    The first string continues the current line; the others are whole lines. `reserve` counts the
    characters that will follow on the last line. Only `and`/`or` chains and lists break.
    """
    flat = expr_text(e, slot)
    if col + len(flat) + reserve <= WIDTH:
        return [flat]
    if precedence(e) < slot:
        return _wrap("(", layout(e, col + 1, indent, QUANT, reserve + 1), ")")
    match e:
        case nodes.And() | nodes.Or():
            word, inner = ("and ", NOT) if isinstance(e, nodes.And) else ("or ", AND)
            lines = layout(e.operands[0], col, indent, inner)
            last = len(e.operands) - 1
            for i, operand in enumerate(e.operands[1:], 1):
                part = layout(operand, col + len(word), col, inner, reserve if i == last else 0)
                lines.append(" " * col + word + part[0])
                lines.extend(part[1:])
            return lines
        case nodes.Not():
            return _wrap("not ", layout(e.operand, col + 4, indent, NOT, reserve), "")
        case nodes.Quantifier():
            head = f"{e.kind} {e.var.name} in {expr_text(e.collection, OR)}: "
            return _wrap(head, layout(e.body, col + len(head), indent, QUANT, reserve), "")
        case nodes.ListLit() if e.items:
            lines, inner_indent = ["["], indent + INDENT
            for item in e.items:
                part = layout(item, inner_indent, inner_indent, QUANT, 1)
                lines.append(" " * inner_indent + part[0])
                lines.extend(part[1:])
                lines[-1] += ","
            return [*lines, " " * indent + "]"]
    return [flat]


def _wrap(before: str, lines: list[str], after: str) -> list[str]:
    lines[0] = before + lines[0]
    lines[-1] += after
    return lines


# ---- types ------------------------------------------------------------------------------------


def has_record(t: nodes.TypeExpr) -> bool:
    """Whether a type holds a record, whose fields (and their comments) take lines of their own."""
    match t:
        case nodes.RecordType():
            return True
        case nodes.CollectionType():
            return has_record(t.element)
        case nodes.MapType():
            return has_record(t.value)
        case nodes.OptionalType():
            return has_record(t.inner)
    return False


def type_text(t: nodes.TypeExpr) -> str:
    """A type without records on one line: `int[0..]?`, `set<Category>`."""
    match t:
        case nodes.NamedType():
            if not t.has_range:
                return t.name
            lo = "" if t.lo is None else str(t.lo)
            hi = "" if t.hi is None else str(t.hi)
            return f"{t.name}[{lo}..{hi}]"
        case nodes.CollectionType():
            return f"{t.kind}<{type_text(t.element)}>{size_text(t.size)}"
        case nodes.MapType():
            return f"map<{type_text(t.key)}, {type_text(t.value)}>{size_text(t.size)}"
        case nodes.OptionalType():
            return type_text(t.inner) + "?"
    raise TypeError("a record type takes several lines")  # pragma: no cover


def size_text(size: tuple[int | None, int | None] | None) -> str:
    """A collection's declared size bound, `[..64]`, or nothing."""
    if size is None:
        return ""
    lo, hi = size
    return f"[{'' if lo is None else lo}..{'' if hi is None else hi}]"


# ---- the writer -------------------------------------------------------------------------------


@attrs.define
class _Line:
    text: str  # indentation included; "" for a blank line
    group: int  # the declaration it belongs to: its trailing comments line up
    comment: str | None = None
    is_comment: bool = False


def _start(node: Any) -> int:
    span = node.span
    assert span is not None, f"{type(node).__name__} without a position"
    return int(span.start)


def _end(node: Any) -> int:
    span = node.span
    assert span is not None, f"{type(node).__name__} without a position"
    return int(span.end)


class _Formatter:
    """Writes lines; between items it emits the comments the source had before them."""

    def __init__(self, text: str):
        self.text = text
        self.comments = scan_comments(text)
        self.offsets = [c.offset for c in self.comments]
        self.next = 0  # index of the first comment not yet written
        self.lines: list[_Line] = []
        self.cur: str | None = None  # the line being written
        self.indent = 0
        self.group = -1
        self.block_start = False  # just opened a block: no blank line here

    # ---- low level ------------------------------------------------------------------------------

    def write(self, text: str) -> None:
        if self.cur is None:
            self.cur = " " * self.indent
        self.cur += text

    def put(self, parts: Sequence[str]) -> None:
        """Write the result of `layout`: its first part here, the others as whole lines."""
        self.write(parts[0])
        for part in parts[1:]:
            self.newline()
            self.cur = part

    def newline(self) -> None:
        if self.cur is not None:
            self.lines.append(_Line(self.cur.rstrip(), self.group))
            self.cur = None
            self.block_start = False

    def col(self) -> int:
        return self.indent if self.cur is None else len(self.cur)

    def fits(self, text: str) -> bool:
        return self.col() + len(text) <= WIDTH

    def blank(self) -> None:
        if self.lines and self.lines[-1].text and not self.block_start:
            self.lines.append(_Line("", self.group))

    def gap_before(self, offset: int) -> bool:
        """Whether the source has a blank line just before `offset` (after code or a comment)."""
        start = offset
        while start > 0 and self.text[start - 1] in " \t\r\n":
            start -= 1
        return start > 0 and self.text.count("\n", start, offset) >= 2

    def has_comments(self, start: int, end: int) -> bool:
        return bisect.bisect_left(self.offsets, start) < bisect.bisect_left(self.offsets, end)

    def _comment_line(self, comment: Comment) -> None:
        self.lines.append(_Line(" " * self.indent + comment.text, self.group, is_comment=True))
        self.block_start = False

    def flush(self, upto: int) -> None:
        """Emit the comments before `upto`: a trailing one ends the last line if that line has no
        comment yet, any other takes its own line (after a blank line if the source had one)."""
        self.newline()
        while self.next < len(self.comments) and self.comments[self.next].offset < upto:
            comment = self.comments[self.next]
            self.next += 1
            last = self.lines[-1] if self.lines else None
            if comment.trailing and last and last.text and not last.is_comment and not last.comment:
                last.comment = comment.text
                continue
            if self.gap_before(comment.offset):
                self.blank()
            self._comment_line(comment)

    def hoist(self, upto: int) -> None:
        """Comments inside a one-piece item (an expression, a row) go on lines above it."""
        while self.next < len(self.comments) and self.comments[self.next].offset < upto:
            self._comment_line(self.comments[self.next])
            self.next += 1

    def item(self, node: Any, *, container: bool = False) -> None:
        """Start an item at the current indent: its leading comments, blank line, inner comments."""
        self.flush(_start(node))
        if self.gap_before(_start(node)):
            self.blank()
        if not container:
            self.hoist(_end(node))

    def block(self, items: Sequence[T], close: int, each: Callable[[T], None]) -> None:
        """`{`, one item per line one level deeper, comments ending the block, `}`."""
        if not items and not (
            self.next < len(self.comments) and self.comments[self.next].offset < close
        ):
            self.write("{}")
            return
        self.write("{")
        self.newline()
        self.indent += INDENT
        self.block_start = True
        for node in items:
            each(node)
            self.newline()
        self.flush(close)
        self.indent -= INDENT
        self.write("}")

    def render(self) -> str:
        """The text; trailing comments line up within each run of a declaration's lines that no
        blank line or own-line comment interrupts, one space after the longest commented line."""
        runs: list[int] = []
        run = 0
        for i, line in enumerate(self.lines):
            prev = self.lines[i - 1] if i else None
            if not line.text or line.is_comment or prev is None or prev.group != line.group:
                run += 1
            runs.append(run)
        widths: dict[int, int] = {}
        for line, run in zip(self.lines, runs, strict=True):
            if line.comment is not None:
                widths[run] = max(widths.get(run, 0), len(line.text))
        out = [
            line.text if line.comment is None else line.text.ljust(widths[run]) + " " + line.comment
            for line, run in zip(self.lines, runs, strict=True)
        ]
        while out and not out[-1]:
            out.pop()
        return "".join(line + "\n" for line in out)

    # ---- declarations ---------------------------------------------------------------------------

    def file(self, tree: nodes.PolicyFile) -> str:
        prev_multiline: bool | None = None
        for index, decl in enumerate(tree.decls):
            mark = len(self.lines)
            self.group = index
            self.item(decl, container=True)
            self.hoist_simple(decl)
            first = len(self.lines)
            self.decl(decl)
            self.newline()
            multiline = sum(not line.is_comment for line in self.lines[first:]) > 1
            needs_blank = prev_multiline is not None and (multiline or prev_multiline)
            if needs_blank and self.lines[mark].text:
                self.lines.insert(mark, _Line("", index))
            prev_multiline = multiline
        self.group = -1
        self.flush(len(self.text))
        return self.render()

    def hoist_simple(self, decl: nodes.Decl) -> None:
        """One-piece declarations hoist their inner comments; blocks place them item by item."""
        match decl:
            case nodes.EffectsDecl() | nodes.VersionDecl():
                self.hoist(_end(decl))
            case nodes.EntityDecl() if not decl.fields:
                self.hoist(_end(decl))
            case nodes.AnnotationDecl() | nodes.DefDecl() if decl.type is None or not has_record(
                decl.type
            ):
                self.hoist(_end(decl))

    def decl(self, decl: nodes.Decl) -> None:
        match decl:
            case nodes.EnumDecl():
                self.names_block(f"enum {decl.name.name}", decl.members, decl)
            case nodes.ObligationsDecl():
                self.names_block("obligations", decl.names, decl)
            case nodes.ContextDecl():
                self.write("context ")
                self.block(decl.fields, _end(decl) - 1, self.field)
            case nodes.EntityDecl():
                names = [p.name for p in decl.parents]
                parents = names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"
                self.write(f"entity {decl.name.name}" + (f" in {parents}" if names else ""))
                if decl.fields:
                    self.write(" ")
                    self.block(decl.fields, _end(decl) - 1, self.field)
            case nodes.VersionDecl():
                self.write("version " + string_literal(decl.value, decl.written))
            case nodes.EffectsDecl():
                order = " > ".join(e.name for e in decl.order)
                self.write(f"effects {order} default {decl.default.name}")
                if decl.refuse is not None:
                    self.write(f" refuse {decl.refuse.name}")
            case nodes.AnnotationDecl():
                self.write(f"annotation {decl.name.name}: ")
                self.type(decl.type)
            case nodes.DefDecl():
                self.write(f"def {decl.name.name}")
                if decl.type is not None:
                    self.write(": ")
                    self.type(decl.type)
                self.write(" = ")
                self.put(layout(decl.value, self.col(), self.indent))
            case nodes.TableDecl():
                self.table(decl)
            case nodes.RuleDecl():
                table = f" for {decl.table.name}" if decl.table is not None else ""
                self.write(f"rule {decl.name.name}{table}: {decl.effect.name} ")
                self.block(decl.clauses, _end(decl) - 1, self.clause)
            case nodes.OutputDecl():
                self.write(f"output {decl.name.name}: ")
                self.type(decl.type)
                self.write(" ")
                self.block(decl.cases, _end(decl) - 1, self.case)
            case nodes.RequireDecl():
                self.write("require " + " ".join(decl.words))
            case nodes.PropertyDecl():
                self.write(f"property {decl.name.name} ")
                self.block(decl.clauses, _end(decl) - 1, self.clause)

    def names_block(self, head: str, names: Sequence[nodes.Ident], decl: nodes.Decl) -> None:
        """`enum E { a, b }` when it fits and holds no comment, else one name per line."""
        flat = f"{head} {{ {', '.join(n.name for n in names)} }}"
        if self.fits(flat) and not self.has_comments(_start(decl), _end(decl)):
            self.write(flat)
            return
        self.write(head + " ")

        def member(name: nodes.Ident) -> None:
            self.item(name)
            self.write(name.name + ",")

        self.block(names, _end(decl) - 1, member)

    def type(self, t: nodes.TypeExpr) -> None:
        match t:
            case nodes.RecordType():
                self.block(t.fields, _end(t) - 1, self.field)
            case nodes.CollectionType():
                self.write(f"{t.kind}<")
                self.type(t.element)
                self.write(">" + size_text(t.size))
            case nodes.MapType():
                self.write("map<")
                self.type(t.key)
                self.write(", ")
                self.type(t.value)
                self.write(">" + size_text(t.size))
            case nodes.OptionalType():
                self.type(t.inner)
                self.write("?")
            case nodes.NamedType():
                self.write(type_text(t))

    def field(self, f: nodes.Field) -> None:
        self.item(f, container=has_record(f.type))
        self.write(f"{f.name.name}: ")
        self.type(f.type)
        if f.default is not None:
            self.write(" = " + expr_text(f.default))

    def table(self, decl: nodes.TableDecl) -> None:
        head = f"table {decl.name.name}("
        flat = None
        if not any(has_record(c.type) for c in decl.columns):
            flat = ", ".join(f"{c.name.name}: {type_text(c.type)}" for c in decl.columns) + ") "
        if flat is not None and self.fits(head + flat + "{"):
            self.write(head + flat)
        else:  # one column per line; the grammar allows no trailing comma here
            self.write(head)
            self.newline()
            self.indent += INDENT
            for i, column in enumerate(decl.columns):
                self.write(f"{column.name.name}: ")
                self.type(column.type)
                self.write("," if i < len(decl.columns) - 1 else "")
                self.newline()
            self.indent -= INDENT
            self.write(") ")
        if decl.source is not None:  # its rows are in a data file
            self.write("from " + string_literal(decl.source.value, decl.source.written))
            return
        texts = aligned_rows(decl.rows)

        def row(r: nodes.Row) -> None:
            self.item(r)
            self.write(texts[id(r)])

        self.block(decl.rows, _end(decl) - 1, row)

    # ---- rules and outputs ----------------------------------------------------------------------

    def clause(self, c: nodes.RuleClause | nodes.EnsureClause) -> None:
        self.item(c)
        match c:
            case nodes.WhenClause():
                self.write("when ")
                self.put(layout(c.condition, self.col(), self.indent))
            case nodes.CiteClause():
                self.write("cite ")
                self.put(layout(c.value, self.col(), self.indent))
            case nodes.ReasonClause():
                self.write("reason " + string_literal(c.template, c.written))
            case nodes.ObligationsClause() | nodes.TagsClause():
                word = "obligations" if isinstance(c, nodes.ObligationsClause) else "tags"
                names = nodes.ListLit(tuple(nodes.Path((n.name,)) for n in c.names))
                self.write(word + " ")
                self.put(layout(names, self.col(), self.indent))
            case nodes.AnnotationClause():
                self.write(c.name.name + " ")
                self.put(layout(c.value, self.col(), self.indent))
            case nodes.SilenceClause():
                self.write(f"silence {c.code.name} " + string_literal(c.reason, c.written))
            case nodes.EnsureClause():
                self.write("ensure ")
                self.put(layout(c.claim, self.col(), self.indent))

    def case(self, c: nodes.OutputCase) -> None:
        """`when COND => VALUE` on one line, or `=> VALUE` on the next, 2 deeper."""
        self.item(c)
        head = "otherwise" if c.condition is None else "when " + expr_text(c.condition)
        flat = f"{head} => {expr_text(c.value)}"
        if self.fits(flat):
            self.write(flat)
            return
        if c.condition is None:
            self.write(head)
        else:
            self.write("when ")
            self.put(layout(c.condition, self.col(), self.indent))
        self.newline()
        self.indent += INDENT
        self.write("=> ")
        self.put(layout(c.value, self.col(), self.indent))
        self.indent -= INDENT


def aligned_rows(rows: Sequence[nodes.Row]) -> dict[int, str]:
    """Each row's text (by `id`), every cell but the last padded to its column's width."""
    cells = [[expr_text(c) + "," for c in row.cells] for row in rows]
    widths: dict[int, int] = {}
    for row in cells:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell) + (KEY_GAP if i == 0 else 1))
    texts: dict[int, str] = {}
    for node, row in zip(rows, cells, strict=True):
        padded = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        texts[id(node)] = "".join(padded) + row[-1][:-1]
    return texts
