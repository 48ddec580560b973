"""Parse tree → syntax nodes with spans: one method per grammar rule, `(start, end, children)`.

The fast parser (`lalr`) calls the methods as it reduces, with no tree at all. A Lark tree (the
reference parse, and the fallback) is rebuilt bottom-up by one loop over it in post-order (no
recursion, so depth is no limit), calling the same methods: what Lark's
`Transformer_NonRecursive` with `v_args(meta=True)` does, without the wrapper Lark builds around
every call. Either way the methods see `lalr.Token`s, never Lark's.
"""

from __future__ import annotations

import re
import string
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from policydsl import nodes, operators
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic
from policydsl.lalr import Build, Token
from policydsl.source import Source, Span, char_name

if TYPE_CHECKING:
    import lark

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
_UNICODE_ESCAPE = re.compile(r'\{([^{}"\\]*)\}')  # after `\u`: `{HEX}`, checked below
MAX_HEX_DIGITS = 6  # `\u{10ffff}`, the last code point
_ESCAPES_HELP = '`\\"`, `\\\\`, `\\n`, `\\t` and `\\u{HEX}`'


class BadEscape(Exception):
    """A string escape the language does not know, or a `\\u{...}` that names no character."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def unescape(literal: str, span: Span) -> str:
    """The value of a STRING token (quotes stripped, escapes resolved); `span` is the token's,
    to point at a bad escape. The lexer takes a backslash and any one character after it as an
    escape, so that a bad one is named here rather than read as an unterminated string."""
    body = literal[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while (j := body.find("\\", i)) >= 0:
        out.append(body[i:j])
        i = j + 2  # past the backslash and the character after it
        ch = body[j + 1]
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
            continue
        where = Span(span.source, span.start + 1 + j, span.start + 1 + i)
        if ch != "u":
            raise _unknown_escape(ch, where)
        match = _UNICODE_ESCAPE.match(body, i)
        if match is None:
            unclosed = body.startswith("{", i)
            problem = "its `{` is never closed by `}`" if unclosed else "no `{` after `\\u`"
            raise _bad_unicode(where, problem)
        i = match.end()
        out.append(_code_point(match[1], Span(span.source, where.start, span.start + 1 + i)))
    out.append(body[i:])
    return "".join(out)


def _code_point(digits: str, where: Span) -> str:
    if not digits:
        raise _bad_unicode(where, "`\\u{}` names no code point")
    if len(digits) > MAX_HEX_DIGITS or not all(c in string.hexdigits for c in digits):
        clipped = digits if len(digits) <= 12 else digits[:11] + "…"
        raise _bad_unicode(where, f"`{clipped}` is not 1 to {MAX_HEX_DIGITS} hexadecimal digits")
    value = int(digits, 16)
    if value > sys.maxunicode or 0xD800 <= value <= 0xDFFF:
        kind = "a surrogate" if value <= 0xDFFF else "beyond U+10FFFF, the last code point"
        raise BadEscape(
            Diagnostic(
                Code.NOT_A_CHARACTER,
                f"`\\u{{{digits}}}` is not a Unicode character: U+{value:04X} is {kind}",
                where,
                help="name a character from U+0000 to U+D7FF or U+E000 to U+10FFFF; one beyond "
                "U+FFFF is one escape (`\\u{1f600}`), not two surrogates",
            )
        )
    return chr(value)


def _unknown_escape(ch: str, where: Span) -> BadEscape:
    spelt = f"`\\{ch}`" if ch.isprintable() and ch != "`" else f"`\\` before {char_name(ch)}"
    return BadEscape(
        Diagnostic(
            Code.UNKNOWN_ESCAPE,
            f"unknown escape {spelt} in a string",
            where,
            help=f"the escapes are {_ESCAPES_HELP}; write `\\\\` for a backslash",
        )
    )


def _bad_unicode(where: Span, problem: str) -> BadEscape:
    return BadEscape(
        Diagnostic(
            Code.MALFORMED_UNICODE_ESCAPE,
            f"malformed Unicode escape: {problem}",
            where,
            help="write a code point as 1 to 6 hexadecimal digits in braces: `\\u{e9}`, "
            "`\\u{1f600}`",
        )
    )


MAX_INT_DIGITS = 100  # a policy's integers are ages, counts and limits, not cryptography


class LiteralTooLarge(Exception):
    """An integer literal with more digits than any policy needs."""

    def __init__(self, span: Span):
        super().__init__("integer literal too large")
        self.span = span


def to_nodes(tree: lark.Tree[lark.Token], source: Source) -> nodes.PolicyFile:
    """The syntax nodes of a Lark parse tree; `BadEscape` or `LiteralTooLarge` for a bad
    literal."""
    import lark

    order: list[Any] = []  # every tree and token, parents before children, last child first
    todo: list[Any] = [tree]
    while todo:
        node = todo.pop()
        order.append(node)
        if isinstance(node, lark.Tree):
            todo.extend(node.children)
    methods = builders(source)
    done: list[Any] = []  # the converted children of the trees not yet reached
    for node in reversed(order):
        if isinstance(node, lark.Tree):
            size = len(node.children)
            children = done[-size:] if size else []
            if size:
                del done[-size:]
            meta = node.meta
            start, end = (-1, -1) if meta.empty else (meta.start_pos, meta.end_pos)
            method = methods.get(node.data)
            if method is None:  # a rule nothing converts stays a tree, as Lark leaves it
                done.append(lark.Tree(node.data, children, meta))
            else:
                done.append(method(start, end, children))
        elif isinstance(node, lark.Token):
            done.append(Token(str(node), node.start_pos or 0, node.end_pos or 0))
        else:  # None for an optional part that is absent
            done.append(node)
    (result,) = done
    assert isinstance(result, nodes.PolicyFile)
    return result


def builders(source: Source) -> dict[str, Build]:
    """The methods of `_ToNodes` for one source, by rule name: what `lalr.parse` calls."""
    converter = _ToNodes(source)
    return {name: getattr(converter, name) for name in _METHODS}


class _ToNodes:
    """One method per rule, named after it: `(start, end, children) -> node` (start -1: no span)."""

    def __init__(self, source: Source):
        self.source = source

    # ---- helpers ----------------------------------------------------------------------------

    def _span(self, start: int, end: int) -> Span | None:
        return None if start < 0 else Span(self.source, start, end)

    def _tok_span(self, tok: Token) -> Span:
        return Span(self.source, tok.start, tok.end)

    def _ident(self, tok: Token) -> nodes.Ident:
        return nodes.Ident(tok.value, span=self._tok_span(tok))

    # ---- declarations -----------------------------------------------------------------------

    def start(self, start: int, end: int, items: list[Any]) -> nodes.PolicyFile:
        return nodes.PolicyFile(tuple(items), span=Span(self.source, 0, len(self.source.text)))

    def name_list(self, start: int, end: int, toks: list[Token]) -> tuple[nodes.Ident, ...]:
        return tuple(self._ident(t) for t in toks)

    def enum_decl(self, start: int, end: int, c: list[Any]) -> nodes.EnumDecl:
        return nodes.EnumDecl(self._ident(c[0]), c[1], span=self._span(start, end))

    def entity_decl(self, start: int, end: int, c: list[Any]) -> nodes.EntityDecl:
        name, parents, fields = c
        if isinstance(parents, Token):  # `in Team`: one name, its rule inlined
            parents = (self._ident(parents),)
        return nodes.EntityDecl(
            self._ident(name), parents or (), fields or (), span=self._span(start, end)
        )

    def entity_parents(self, start: int, end: int, c: list[Any]) -> tuple[nodes.Ident, ...]:
        return c[0] if isinstance(c[0], tuple) else (self._ident(c[0]),)

    def entity_lit(self, start: int, end: int, c: list[Token]) -> nodes.EntityLit:
        text = c[1]
        return nodes.EntityLit(
            self._ident(c[0]),
            unescape(text.value, self._tok_span(text)),
            span=self._span(start, end),
        )

    def context_decl(self, start: int, end: int, c: list[Any]) -> nodes.ContextDecl:
        return nodes.ContextDecl(c[0], span=self._span(start, end))

    def record_body(
        self, start: int, end: int, fields: list[nodes.Field]
    ) -> tuple[nodes.Field, ...]:
        return tuple(fields)

    def field(self, start: int, end: int, c: list[Any]) -> nodes.Field:
        default = c[2] if len(c) > 2 else None
        return nodes.Field(self._ident(c[0]), c[1], default, span=self._span(start, end))

    def field_name(self, start: int, end: int, c: list[Token]) -> Token:
        return c[0]

    def default(self, start: int, end: int, c: list[Any]) -> Any:
        return c[0]

    def optional_type(self, start: int, end: int, c: list[Any]) -> nodes.OptionalType:
        return nodes.OptionalType(c[0], span=self._span(start, end))

    def named_type(self, start: int, end: int, c: list[Any]) -> nodes.NamedType:
        if len(c) > 1 and c[1] is not None:
            lo, hi = c[1]
            return nodes.NamedType(c[0].value, lo, hi, has_range=True, span=self._span(start, end))
        return nodes.NamedType(c[0].value, span=self._span(start, end))

    def int_range(self, start: int, end: int, c: list[Any]) -> tuple[int | None, int | None]:
        # `[0..]` has one bound child; the `..` position tells which side it is on.
        bounds = [b for b in c if b is not None]
        if len(bounds) == 2:
            return bounds[0][1], bounds[1][1]
        if not bounds:
            return None, None
        (pos, value), dots = bounds[0], self.source.text.index("..", start)
        return (value, None) if pos < dots else (None, value)

    def bound(self, start: int, end: int, c: list[Token]) -> tuple[int, int]:
        return (c[0].start, self._int(c[0]))

    def list_type(self, start: int, end: int, c: list[Any]) -> nodes.CollectionType:
        size = c[1] if len(c) > 1 else None
        return nodes.CollectionType("list", c[0], size, span=self._span(start, end))

    def set_type(self, start: int, end: int, c: list[Any]) -> nodes.CollectionType:
        size = c[1] if len(c) > 1 else None
        return nodes.CollectionType("set", c[0], size, span=self._span(start, end))

    def map_type(self, start: int, end: int, c: list[Any]) -> nodes.MapType:
        size = c[2] if len(c) > 2 else None
        return nodes.MapType(c[0], c[1], size, span=self._span(start, end))

    def record_type(self, start: int, end: int, c: list[Any]) -> nodes.RecordType:
        return nodes.RecordType(c[0], span=self._span(start, end))

    def version_decl(self, start: int, end: int, c: list[Token]) -> nodes.VersionDecl:
        return nodes.VersionDecl(
            unescape(c[0].value, self._tok_span(c[0])),
            span=self._span(start, end),
            written=c[0].value,
        )

    def effects_decl(self, start: int, end: int, c: list[Token | nodes.Ident]) -> nodes.EffectsDecl:
        last = c[-1]
        refuse = last if isinstance(last, nodes.Ident) else None
        idents = [self._ident(t) for t in c if isinstance(t, Token)]
        return nodes.EffectsDecl(
            tuple(idents[:-1]), idents[-1], refuse=refuse, span=self._span(start, end)
        )

    def refuse_effect(self, start: int, end: int, c: list[Token]) -> nodes.Ident:
        return self._ident(c[0])

    def annotation_decl(self, start: int, end: int, c: list[Any]) -> nodes.AnnotationDecl:
        return nodes.AnnotationDecl(self._ident(c[0]), c[1], span=self._span(start, end))

    def obligations_decl(self, start: int, end: int, c: list[Any]) -> nodes.ObligationsDecl:
        return nodes.ObligationsDecl(c[0], span=self._span(start, end))

    def def_decl(self, start: int, end: int, c: list[Any]) -> nodes.DefDecl:
        if len(c) == 3:
            return nodes.DefDecl(self._ident(c[0]), c[1], c[2], span=self._span(start, end))
        return nodes.DefDecl(self._ident(c[0]), None, c[1], span=self._span(start, end))

    def table_decl(self, start: int, end: int, c: list[Any]) -> nodes.TableDecl:
        columns = tuple(x for x in c[1:] if isinstance(x, nodes.Column))
        rows = tuple(x for x in c[1:] if isinstance(x, nodes.Row))
        source = self.str_lit(start, end, [c[-1]]) if isinstance(c[-1], Token) else None
        return nodes.TableDecl(
            self._ident(c[0]), columns, rows, span=self._span(start, end), source=source
        )

    def column(self, start: int, end: int, c: list[Any]) -> nodes.Column:
        return nodes.Column(self._ident(c[0]), c[1], span=self._span(start, end))

    def row(self, start: int, end: int, cells: list[Any]) -> nodes.Row:
        return nodes.Row(tuple(cells), span=self._span(start, end))

    def name_cell(self, start: int, end: int, c: list[Token]) -> nodes.Path:
        return nodes.Path((c[0].value,), span=self._tok_span(c[0]))

    def list_cell(self, start: int, end: int, c: list[Any]) -> nodes.ListLit[nodes.Expr]:
        return nodes.ListLit(tuple(x for x in c if x is not None), span=self._span(start, end))

    def absent_cell(self, start: int, end: int, c: list[Any]) -> nodes.Absent:
        return nodes.Absent(span=self._span(start, end))

    def rule_decl(self, start: int, end: int, c: list[Any]) -> nodes.RuleDecl:
        name, table, effect, *clauses = c
        return nodes.RuleDecl(
            self._ident(name),
            self._ident(table) if table is not None else None,
            self._ident(effect),
            tuple(clauses),
            span=self._span(start, end),
        )

    def when_clause(self, start: int, end: int, c: list[Any]) -> nodes.WhenClause:
        return nodes.WhenClause(c[0], span=self._span(start, end))

    def cite_clause(self, start: int, end: int, c: list[Any]) -> nodes.CiteClause:
        return nodes.CiteClause(c[0], span=self._span(start, end))

    def reason_clause(self, start: int, end: int, c: list[Token]) -> nodes.ReasonClause:
        return nodes.ReasonClause(
            unescape(c[0].value, self._tok_span(c[0])),
            span=self._span(start, end),
            written=c[0].value,
        )

    def obligations_clause(self, start: int, end: int, c: list[Any]) -> nodes.ObligationsClause:
        return nodes.ObligationsClause(c[0], span=self._span(start, end))

    def tags_clause(self, start: int, end: int, c: list[Any]) -> nodes.TagsClause:
        return nodes.TagsClause(c[0], span=self._span(start, end))

    def annotation_clause(self, start: int, end: int, c: list[Any]) -> nodes.AnnotationClause:
        return nodes.AnnotationClause(self._ident(c[0]), c[1], span=self._span(start, end))

    def output_decl(self, start: int, end: int, c: list[Any]) -> nodes.OutputDecl:
        return nodes.OutputDecl(self._ident(c[0]), c[1], tuple(c[2:]), span=self._span(start, end))

    def require_decl(self, start: int, end: int, c: list[Any]) -> nodes.RequireDecl:
        return nodes.RequireDecl(tuple(c), span=self._span(start, end))

    def require_word(self, start: int, end: int, c: list[Token]) -> str:
        return c[0].value

    def silence_clause(self, start: int, end: int, c: list[Token]) -> nodes.SilenceClause:
        return nodes.SilenceClause(
            self._ident(c[0]),
            unescape(c[1].value, self._tok_span(c[1])),
            span=self._span(start, end),
            written=c[1].value,
        )

    def property_decl(self, start: int, end: int, c: list[Any]) -> nodes.PropertyDecl:
        return nodes.PropertyDecl(self._ident(c[0]), tuple(c[1:]), span=self._span(start, end))

    def ensure_clause(self, start: int, end: int, c: list[Any]) -> nodes.EnsureClause:
        return nodes.EnsureClause(c[0], span=self._span(start, end))

    def when_case(self, start: int, end: int, c: list[Any]) -> nodes.OutputCase:
        return nodes.OutputCase(c[0], c[1], span=self._span(start, end))

    def otherwise_case(self, start: int, end: int, c: list[Any]) -> nodes.OutputCase:
        return nodes.OutputCase(None, c[0], span=self._span(start, end))

    # ---- expressions ------------------------------------------------------------------------

    def quantifier_kind(self, start: int, end: int, c: list[Token]) -> str:
        return c[0].value

    def set_op(self, start: int, end: int, c: list[Token]) -> operators.SetOp:
        return operators.set_op(c[0].value)

    def add_op(self, start: int, end: int, c: list[Token]) -> str:
        return c[0].value

    def quantifier(self, start: int, end: int, c: list[Any]) -> nodes.Quantifier[nodes.Expr]:
        kind, var, coll, body = c
        return nodes.Quantifier(kind, self._ident(var), coll, body, span=self._span(start, end))

    def or_(self, start: int, end: int, c: list[Any]) -> nodes.Or[nodes.Expr]:
        return nodes.Or(tuple(c), span=self._span(start, end))

    def and_(self, start: int, end: int, c: list[Any]) -> nodes.And[nodes.Expr]:
        return nodes.And(tuple(c), span=self._span(start, end))

    def not_(self, start: int, end: int, c: list[Any]) -> nodes.Not[nodes.Expr]:
        return nodes.Not(c[0], span=self._span(start, end))

    def compare(self, start: int, end: int, c: list[Any]) -> nodes.Compare[nodes.Expr]:
        op = operators.compare_op(c[1].value)
        return nodes.Compare(op, c[0], c[2], span=self._span(start, end))

    def set_test(self, start: int, end: int, c: list[Any]) -> nodes.SetTest[nodes.Expr]:
        return nodes.SetTest(c[1], c[0], c[2], span=self._span(start, end))

    def in_(self, start: int, end: int, c: list[Any]) -> nodes.In[nodes.Expr]:
        return nodes.In(c[0], c[1], span=self._span(start, end))

    def not_in(self, start: int, end: int, c: list[Any]) -> nodes.In[nodes.Expr]:
        return nodes.In(c[0], c[1], negated=True, span=self._span(start, end))

    def has(self, start: int, end: int, c: list[Any]) -> nodes.Has:
        return nodes.Has(c[0], span=self._span(start, end))

    def arith(self, start: int, end: int, c: list[Any]) -> nodes.Arith[nodes.Expr]:
        # an operator is `add_op`'s text or a `MUL_OP` token
        ops = [op if isinstance(op, str) else op.value for op in c[1::2]]
        rest = tuple((operators.arith_op(op), arg) for op, arg in zip(ops, c[2::2], strict=True))
        return nodes.Arith(c[0], rest, span=self._span(start, end))

    def neg(self, start: int, end: int, c: list[Any]) -> nodes.Expr:
        if isinstance(c[0], nodes.IntLit):  # `-5` is a literal, not an operation
            return nodes.IntLit(-c[0].value, span=self._span(start, end))
        if isinstance(c[0], nodes.DecLit) and not c[0].written.startswith("-"):
            return nodes.DecLit("-" + c[0].written, span=self._span(start, end))
        return nodes.Neg(c[0], span=self._span(start, end))

    def call(self, start: int, end: int, c: list[Any]) -> nodes.Call[nodes.Expr]:
        args = tuple(a for a in c[1:] if a is not None)
        return nodes.Call(self._ident(c[0]), args, span=self._span(start, end))

    def list_lit(self, start: int, end: int, c: list[Any]) -> nodes.ListLit[nodes.Expr]:
        return nodes.ListLit(tuple(x for x in c if x is not None), span=self._span(start, end))

    def path(self, start: int, end: int, c: list[Token]) -> nodes.Path:
        return nodes.Path(tuple([t.value for t in c]), span=self._span(start, end))

    def lookup(self, start: int, end: int, c: list[Any]) -> nodes.Lookup:
        fields = tuple(tok.value for tok in c[2:])
        return nodes.Lookup(c[0], c[1], fields, span=self._span(start, end))

    def int_lit(self, start: int, end: int, c: list[Token]) -> nodes.IntLit:
        return nodes.IntLit(self._int(c[0]), span=self._tok_span(c[0]))

    def duration_lit(self, start: int, end: int, c: list[Token]) -> nodes.DurationLit:
        return nodes.DurationLit(c[0].value, span=self._tok_span(c[0]))

    def _int(self, tok: Token) -> int:
        if len(tok.value.lstrip("-")) > MAX_INT_DIGITS:
            raise LiteralTooLarge(self._tok_span(tok))
        return int(tok.value)

    def dec_lit(self, start: int, end: int, c: list[Token]) -> nodes.DecLit:
        return nodes.DecLit(c[0].value, span=self._tok_span(c[0]))

    def str_lit(self, start: int, end: int, c: list[Token]) -> nodes.StrLit:
        written, at, to = c[0]
        span = Span(self.source, at, to)
        value = unescape(written, span) if "\\" in written else written[1:-1]
        return nodes.StrLit(value, span=span, written=written)

    def true_lit(self, start: int, end: int, c: list[Any]) -> nodes.BoolLit:
        return nodes.BoolLit(True, span=self._span(start, end))

    def false_lit(self, start: int, end: int, c: list[Any]) -> nodes.BoolLit:
        return nodes.BoolLit(False, span=self._span(start, end))


_METHODS: dict[str, Callable[[_ToNodes, int, int, list[Any]], Any]] = {
    name: method
    for name, method in vars(_ToNodes).items()
    if not name.startswith("_") and callable(method)
}
