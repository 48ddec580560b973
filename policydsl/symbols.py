"""What each name of a policy set means: its declarations and its references (`hover` words them).

Built from the syntax trees alone (the checked model only adds types when there is one), so an
editor keeps hover, definitions and references while the policy has type errors or, through the
language server's recovery, syntax errors. Pure Python, no editor protocol: `lsp_server` and the
tests read it directly. Offsets are code points into each file's `Source`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, NamedTuple

import attrs

from policydsl import model, nodes
from policydsl.pieces import absolute
from policydsl.source import Source, Span

Kind = Literal[
    "enum",
    "member",
    "effect",
    "obligation",
    "annotation",
    "definition",
    "table",
    "column",
    "rule",
    "output",
    "attribute",
    "variable",
    "context",
    "property",
    "entity",
]
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# `{name}` or `{name.attr}` in a reason: the head is what a column reference names
_TEMPLATE_NAME = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z_][A-Za-z0-9_.]*)?\}")
RULE_FIELDS = ("id", "effect", "cite", "tags")  # what a fired rule `r` has besides annotations


@attrs.frozen
class Symbol:
    """One declared thing; `key` is unique in the set (`attribute:user.age`, `member:Role.a`)."""

    kind: Kind
    key: str
    name: str  # as an author writes it: `user.age`, `Role.viewer`, `banned.category`
    span: Span  # its name where it is declared
    node: Any  # the declaration (or field, column, member, quantifier) it comes from
    parent: str | None = None  # the enum of a member, the table of a column, the record


class Occurrence(NamedTuple):
    """A name in the text: the declaration itself or a reference to `key` (a tuple: a policy of
    10,000 rules has some 60,000 of them, made again on every edit)."""

    key: str
    source: Source
    start: int
    end: int
    is_decl: bool = False


class Place(NamedTuple):
    """A range of a file's text."""

    source: Source
    start: int
    end: int


@attrs.frozen
class TableRow:
    """A table row and the rules it makes (`name[key]`), for hover."""

    table: str
    key: str
    source: Source = attrs.field(eq=False)
    start: int
    end: int


class Cancelled(Exception):
    """An index no longer wanted (its text was edited again) stopped being built."""


class Index:
    """Every symbol of a policy set and every occurrence of it, by file."""

    def __init__(
        self,
        files: Sequence[tuple[Source, nodes.PolicyFile]],
        checked: model.CheckedPolicy | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        """`cancelled` is asked now and then while building: True stops it (`Cancelled`)."""
        self.files = {source.name: (source, tree) for source, tree in files}
        self.checked = checked
        self.symbols: dict[str, Symbol] = {}
        self.occurrences: dict[str, list[Occurrence]] = {name: [] for name in self.files}
        self.rows: dict[str, list[TableRow]] = {name: [] for name in self.files}
        self.rules_of_table: dict[str, list[nodes.RuleDecl]] = {}
        self.fields: dict[str, nodes.Field] = {}  # by dotted path
        self.annotation_types: dict[str, nodes.TypeExpr] = {}
        self.entities: dict[str, nodes.EntityDecl] = {}  # entity types; attributes: `User.dept`
        self.effects: list[str] = []
        _Builder(self).build(cancelled)
        self._starts: dict[str, list[int]] = {}
        for name, found in self.occurrences.items():
            found.sort(key=lambda o: (o.start, o.end))
            self._starts[name] = [o.start for o in found]
        by_key: dict[str, list[Occurrence]] = {}
        for found in self.occurrences.values():
            for occ in found:
                by_key.setdefault(occ.key, []).append(occ)
        self._by_key = by_key

    # ---- queries -------------------------------------------------------------------------------

    def at(self, file: str, offset: int) -> Occurrence | None:
        """The occurrence under `offset` (or just before it, as a cursor after a name)."""
        found = self.occurrences.get(file, [])
        i = bisect.bisect_right(self._starts.get(file, []), offset)
        for occ in reversed(found[max(0, i - 3) : i]):
            if occ.start <= offset <= occ.end:
                return occ
        return None

    def references(self, key: str, include_decl: bool = True) -> list[Occurrence]:
        found = self._by_key.get(key, [])
        return [o for o in found if include_decl or not o.is_decl]

    def row_at(self, file: str, offset: int) -> TableRow | None:
        for row in self.rows.get(file, []):
            if row.start <= offset <= row.end:
                return row
        return None

    def enum_members(self, enum: str) -> list[str]:
        prefix = f"member:{enum}."
        return [s.name.split(".", 1)[1] for k, s in self.symbols.items() if k.startswith(prefix)]

    def of_kind(self, kind: Kind) -> list[Symbol]:
        return [s for s in self.symbols.values() if s.kind == kind]

    def children_of(self, record: str) -> list[Symbol]:
        """The attributes directly under a dotted record path (`""` for the context)."""
        return [
            s for s in self.symbols.values() if s.kind == "attribute" and (s.parent or "") == record
        ]

    def entity_of(self, path: str) -> str | None:
        """The entity type the attribute at `path` holds (`User` for `manager: User?`)."""
        type_expr = self.fields[path].type if path in self.fields else None
        if isinstance(type_expr, nodes.OptionalType):
            type_expr = type_expr.inner
        if isinstance(type_expr, nodes.NamedType) and type_expr.name in self.entities:
            return type_expr.name
        return None

    def record_of(self, parts: Sequence[str], entity: bool = False) -> str | None:
        """The declared path of the attribute `parts` reads, through entity references:
        `principal.manager.level` is `User.level` when both are `User`s; None when undeclared.
        With `entity`, `parts` starts at an entity type (`User`, `manager`, `level`)."""
        if entity:
            if not parts or parts[0] not in self.entities:
                return None
            if len(parts) == 1:
                return None
            parts = [f"{parts[0]}.{parts[1]}", *parts[2:]]
        path = parts[0] if parts and parts[0] in self.fields else None
        for part in parts[1:]:
            if path is None:
                return None
            path = f"{self.entity_of(path) or path}.{part}"
            path = path if path in self.fields else None
        return path

    def children_at(self, parts: Sequence[str], entity: bool = False) -> list[Symbol]:
        """The attributes one may read after `parts` and a dot (an entity's, through one);
        with `entity`, `parts` starts at an entity type and may be only that."""
        if entity and len(parts) == 1:
            return self.children_of(parts[0]) if parts[0] in self.entities else []
        path = self.record_of(parts, entity)
        return [] if path is None else self.children_of(self.entity_of(path) or path)

    def enum_of(self, type_expr: nodes.TypeExpr | None) -> str | None:
        """The enum a type names, itself or as its elements (`Role`, `set<Role>`, `Role?`)."""
        while isinstance(type_expr, nodes.OptionalType | nodes.CollectionType):
            type_expr = (
                type_expr.inner if isinstance(type_expr, nodes.OptionalType) else type_expr.element
            )
        if isinstance(type_expr, nodes.NamedType) and f"enum:{type_expr.name}" in self.symbols:
            return type_expr.name
        return None

    # ---- outline ---------------------------------------------------------------------------------

    def outline(self, file: str) -> list[Outline]:
        """The declarations of one file, in order: enums with their members, tables with their
        columns, the context with its records and fields (nested), the rest on their own."""
        under: dict[tuple[str, str], list[Symbol]] = {}
        for sym in self.symbols.values():
            if sym.parent is not None and sym.kind in ("member", "column", "attribute"):
                owner = {"member": "enum", "column": "table"}.get(sym.kind, "attribute")
                owner = "entity" if sym.parent in self.entities and "." not in sym.parent else owner
                under.setdefault((owner, sym.parent), []).append(sym)

        def node(sym: Symbol) -> Outline:
            kids = under.get((sym.kind, sym.name), [])
            return Outline(sym, tuple(node(k) for k in kids))

        top = [
            node(sym)
            for sym in self.symbols.values()
            if absolute(sym.span.source, 0, 0)[0].name == file
            and sym.parent is None
            and sym.kind not in ("variable", "member", "column")
        ]
        top.sort(key=lambda o: o.symbol.span.source.line_col(o.symbol.span.start))
        return top


@attrs.frozen
class Outline:
    """A declaration in a file's outline, with what it declares inside it."""

    symbol: Symbol
    children: tuple[Outline, ...] = ()


class _Builder:
    """Declares every name of the set, then resolves every name read in it."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.enum_names: set[str] = set()
        self.member_owners: dict[str, list[str]] = {}
        self.definitions: set[str] = set()
        self.context_heads: set[str] = set()
        self.column_types: dict[str, dict[str, nodes.TypeExpr]] = {}
        self.element_records: set[str] = set()  # attributes that are lists of records
        self.outputs: set[str] = set()  # read by name in properties
        self.cancelled: Callable[[], bool] | None = None

    def build(self, cancelled: Callable[[], bool] | None) -> None:
        self.cancelled = cancelled
        decls = [(src, d) for src, tree in self.index.files.values() for d in tree.decls]
        for src, decl in decls:
            self.declare(src, decl)
        for i, (src, decl) in enumerate(decls):
            if i % 256 == 0:
                self.check_cancelled()
            self.resolve(src, decl)

    def check_cancelled(self) -> None:
        """Stop (`Cancelled`) if the index is no longer wanted: asked every 256 declarations,
        and every 256 rows of a table (a table of 10,000 rows is one declaration)."""
        if self.cancelled is not None and self.cancelled():
            raise Cancelled

    # ---- declarations --------------------------------------------------------------------------

    def symbol(
        self,
        kind: Kind,
        key: str,
        name: str,
        ident: nodes.Ident,
        node: Any,
        parent: str | None = None,
    ) -> None:
        span = ident.span
        if span is None:
            return
        if key not in self.index.symbols:
            self.index.symbols[key] = Symbol(kind, key, name, span, node, parent)
        self.occur(key, span, is_decl=True)

    def occur(
        self,
        key: str,
        span: Span,
        is_decl: bool = False,
        start: int | None = None,
        end: int | None = None,
    ) -> None:
        begin = span.start if start is None else start
        finish = span.end if end is None else end
        source, begin, finish = absolute(span.source, begin, finish)
        found = self.index.occurrences.setdefault(source.name, [])
        found.append(Occurrence(key, source, begin, finish, is_decl))

    def declare(self, src: Source, decl: nodes.Decl) -> None:
        index = self.index
        match decl:
            case nodes.EnumDecl(name, members):
                self.enum_names.add(name.name)
                self.symbol("enum", f"enum:{name.name}", name.name, name, decl)
                for m in members:
                    self.member_owners.setdefault(m.name, []).append(name.name)
                    self.symbol(
                        "member",
                        f"member:{name.name}.{m.name}",
                        f"{name.name}.{m.name}",
                        m,
                        decl,
                        name.name,
                    )
            case nodes.ContextDecl(fields):
                self.declare_fields(fields, "")
            case nodes.EntityDecl(name, _, fields):
                index.entities.setdefault(name.name, decl)
                self.symbol("entity", f"entity:{name.name}", name.name, name, decl)
                self.declare_fields(fields or (), name.name)  # `User.dept`, parent `User`
            case nodes.EffectsDecl(order):
                for ident in order:
                    index.effects.append(ident.name)
                    self.symbol("effect", f"effect:{ident.name}", ident.name, ident, decl)
            case nodes.AnnotationDecl(name, type_):
                index.annotation_types.setdefault(name.name, type_)
                self.symbol("annotation", f"annotation:{name.name}", name.name, name, decl)
            case nodes.ObligationsDecl(names):
                for ident in names:
                    self.symbol("obligation", f"obligation:{ident.name}", ident.name, ident, decl)
            case nodes.DefDecl(name):
                self.definitions.add(name.name)
                self.symbol("definition", f"definition:{name.name}", name.name, name, decl)
            case nodes.TableDecl(name, columns):
                self.symbol("table", f"table:{name.name}", name.name, name, decl)
                types = self.column_types.setdefault(name.name, {})
                for col in columns:
                    types.setdefault(col.name.name, col.type)
                    key = f"column:{name.name}.{col.name.name}"
                    self.symbol("column", key, col.name.name, col.name, col, name.name)
            case nodes.RuleDecl(name, table):
                self.symbol("rule", f"rule:{name.name}", name.name, name, decl)
                if table is not None:
                    index.rules_of_table.setdefault(table.name, []).append(decl)
            case nodes.OutputDecl(name):
                self.outputs.add(name.name)
                self.symbol("output", f"output:{name.name}", name.name, name, decl)
            case nodes.PropertyDecl(name):
                self.symbol("property", f"property:{name.name}", name.name, name, decl)

    def declare_fields(self, fields: Iterable[nodes.Field], prefix: str) -> None:
        for f in fields:
            path = f"{prefix}.{f.name.name}" if prefix else f.name.name
            if not prefix:
                self.context_heads.add(path)
            self.index.fields.setdefault(path, f)
            self.symbol("attribute", f"attribute:{path}", path, f.name, f, prefix or None)
            inner = f.type.inner if isinstance(f.type, nodes.OptionalType) else f.type
            if isinstance(inner, nodes.RecordType):
                self.declare_fields(inner.fields, path)
            elif isinstance(inner, nodes.CollectionType):
                element = inner.element
                if isinstance(element, nodes.OptionalType):
                    element = element.inner
                if isinstance(element, nodes.RecordType):  # a list of records: `pods[].image`
                    self.element_records.add(path)
                    self.declare_fields(element.fields, f"{path}[]")
            elif isinstance(inner, nodes.MapType) and isinstance(inner.value, nodes.RecordType):
                self.element_records.add(path)  # a map of records: `limits[].cpu`, as a list's
                self.declare_fields(inner.value.fields, f"{path}[]")

    # ---- references ----------------------------------------------------------------------------

    def resolve(self, src: Source, decl: nodes.Decl) -> None:
        match decl:
            case nodes.ContextDecl(fields):
                self.resolve_fields(fields)
            case nodes.EntityDecl(_, parents, fields):
                for parent in parents:
                    self.ref_ident(f"entity:{parent.name}", parent)
                self.resolve_fields(fields or ())
            case nodes.EffectsDecl(_, default, refuse):
                for ident in (default, refuse):
                    if ident is not None:
                        self.ref_ident(f"effect:{ident.name}", ident)
            case nodes.AnnotationDecl(_, type_):
                self.resolve_type(type_)
            case nodes.DefDecl(_, type_, value):
                if type_ is not None:
                    self.resolve_type(type_)
                self.expr(value, {}, self.index.enum_of(type_))
            case nodes.TableDecl(name, columns, rows):
                for col in columns:
                    self.resolve_type(col.type)
                self.resolve_rows(src, name.name, columns, rows)
            case nodes.RuleDecl():
                self.resolve_rule(decl)
            case nodes.PropertyDecl(_, clauses):  # over the request, then the decision
                for clause in clauses:
                    claim = (
                        clause.condition if isinstance(clause, nodes.WhenClause) else clause.claim
                    )
                    self.expr(claim, {}, None)
            case nodes.OutputDecl(_, type_, cases):
                self.resolve_type(type_)
                expected = self.index.enum_of(type_)
                for case in cases:
                    if case.condition is not None:
                        self.expr(case.condition, {}, None)
                    self.expr(case.value, {}, expected)

    def resolve_fields(self, fields: Iterable[nodes.Field]) -> None:
        for f in fields:
            self.resolve_type(f.type)
            if f.default is not None:
                self.expr(f.default, {}, self.index.enum_of(f.type))

    def resolve_type(self, type_expr: nodes.TypeExpr) -> None:
        match type_expr:
            case nodes.NamedType(name) if name in self.enum_names and type_expr.span is not None:
                span = type_expr.span
                self.occur(f"enum:{name}", span, start=span.start, end=span.start + len(name))
            case nodes.NamedType(name) if name in self.index.entities and type_expr.span:
                span = type_expr.span
                self.occur(f"entity:{name}", span, start=span.start, end=span.start + len(name))
            case nodes.CollectionType(_, element):
                self.resolve_type(element)
            case nodes.OptionalType(inner):
                self.resolve_type(inner)
            case nodes.RecordType(fields):
                self.resolve_fields(fields)

    def resolve_rows(
        self, src: Source, table: str, columns: Sequence[nodes.Column], rows: Sequence[nodes.Row]
    ) -> None:
        expected = [self.index.enum_of(c.type) for c in columns]
        for n, row in enumerate(rows):
            if n % 256 == 255:
                self.check_cancelled()
            for i, cell in enumerate(row.cells):
                self.expr(cell, {}, expected[i] if i < len(expected) else None)
            if row.span is not None and row.cells:
                file, start, end = absolute(row.span.source, row.span.start, row.span.end)
                self.index.rows.setdefault(file.name, []).append(
                    TableRow(table, _cell_text(row.cells[0]), file, start, end)
                )

    def resolve_rule(self, rule: nodes.RuleDecl) -> None:
        scope: dict[str, str] = {}
        if rule.table is not None:
            self.ref_ident(f"table:{rule.table.name}", rule.table)
            for column in self.column_types.get(rule.table.name, {}):
                scope[column] = f"column:{rule.table.name}.{column}"
        self.ref_ident(f"effect:{rule.effect.name}", rule.effect)
        for clause in rule.clauses:
            match clause:
                case nodes.WhenClause(condition):
                    self.expr(condition, scope, None)
                case nodes.CiteClause(value):
                    self.expr(value, scope, None)
                case nodes.ObligationsClause(names):
                    for ident in names:
                        self.ref_ident(f"obligation:{ident.name}", ident)
                case nodes.AnnotationClause(name, value):
                    self.ref_ident(f"annotation:{name.name}", name)
                    expected = self.index.enum_of(self.index.annotation_types.get(name.name))
                    self.expr(value, scope, expected)
                case nodes.ReasonClause() if clause.span is not None:
                    self.template_refs(clause.span, scope)

    def template_refs(self, span: Span, scope: dict[str, str]) -> None:
        """`{column}` in a reason reads the column."""
        text = span.source.text[span.start : span.end]
        quote = text.find('"')
        for m in _TEMPLATE_NAME.finditer(text, max(quote, 0)):
            name = m.group(1)
            if name and name in scope:
                start = span.start + m.start(1)
                self.occur(scope[name], span, start=start, end=start + len(name))

    def ref_ident(self, key: str, ident: nodes.Ident) -> None:
        if ident.span is not None and key in self.index.symbols:
            self.occur(key, ident.span)

    # ---- expressions ---------------------------------------------------------------------------

    def expr(self, e: Any, scope: dict[str, str], expected: str | None) -> None:
        match e:
            case nodes.Path():
                self.path(e, scope, expected)
            case nodes.Has(nodes.Path() as path):
                self.path(path, scope, None)
            case nodes.Has(lookup):
                self.expr(lookup, scope, None)
            case nodes.Lookup(base, read, fields):
                self.expr(base, scope, None)
                self.expr(read, scope, None)
                owner = self.attribute_path(base, scope)
                if fields and owner in self.element_records and e.span is not None:
                    self.lookup_fields(e.span, f"{owner}[]", fields)
            case nodes.ListLit(items):
                for item in items:
                    self.expr(item, scope, expected)
            case nodes.EntityLit(type_):  # `Team::"eng"`: its type
                self.ref_ident(f"entity:{type_.name}", type_)
            case nodes.Quantifier(_, var, collection, body):
                self.expr(collection, scope, None)
                inner = dict(scope)
                if var.span is not None:
                    file, start, _ = absolute(var.span.source, var.span.start, var.span.end)
                    key = f"variable:{file.name}:{start}"
                    node = _Quantified(e)
                    self.symbol("variable", key, var.name, var, node)
                    inner[var.name] = key
                    if isinstance(collection, nodes.Path) and collection.parts == ("fired",):
                        inner[f"{var.name}."] = "fired"  # `r.severity` reads an annotation
                    elif (entity := self.element_entity(collection, scope)) is not None:
                        inner[f"{var.name}."] = entity  # `p.manager`: an entity's attribute
                    elif self.attribute_path(_values_of(collection), scope) in self.element_records:
                        element = f"{self.attribute_path(_values_of(collection), scope)}[]"
                        inner[f"{var.name}."] = element  # `c.image` reads a field of an element
                    else:
                        inner.pop(f"{var.name}.", None)  # an outer variable of that name
                self.expr(body, inner, None)
            case nodes.Compare(_, left, right) | nodes.SetTest(_, left, right):
                self.expr(left, scope, self.enum_read(right, scope))
                self.expr(right, scope, self.enum_read(left, scope))
            case nodes.In(element, collection):
                self.expr(element, scope, self.enum_read(collection, scope))
                self.expr(collection, scope, self.enum_read(element, scope))
            case nodes.Call(_, args):
                for arg in args:
                    self.expr(arg, scope, None)
            case nodes.And(operands) | nodes.Or(operands):
                for operand in operands:
                    self.expr(operand, scope, None)
            case nodes.Not(operand) | nodes.Neg(operand):
                self.expr(operand, scope, None)
            case nodes.Arith(first, rest):
                self.expr(first, scope, None)
                for _, operand in rest:
                    self.expr(operand, scope, None)

    def lookup_fields(self, span: Span, prefix: str, fields: tuple[str, ...]) -> None:
        """`limits[k].cpu`: the fields read after the key are a map's record's attributes."""
        text = span.source.text
        at = text.rindex("]", span.start, span.end) + 1
        for name in fields:
            at = text.index(name, at, span.end)
            prefix = f"{prefix}.{name}"
            if f"attribute:{prefix}" in self.index.symbols:
                self.occur(f"attribute:{prefix}", span, start=at, end=at + len(name))
            at += len(name)

    def attribute_path(self, e: Any, scope: dict[str, str]) -> str | None:
        """The declared attribute a path reads (`pod.containers[].image` through `c.image`)."""
        if not isinstance(e, nodes.Path):
            return None
        head, rest = e.parts[0], e.parts[1:]
        if head not in scope:
            return e.dotted if e.dotted in self.index.fields else None
        record = scope.get(f"{head}.")
        if record in (None, "fired") or not rest:
            return None
        dotted = ".".join((str(record), *rest))
        return dotted if dotted in self.index.fields else None

    def element_entity(self, collection: Any, scope: dict[str, str]) -> str | None:
        """The entity type of the elements of a set or list of entities a path reads."""
        if not isinstance(collection, nodes.Path) or collection.parts[0] in scope:
            return None
        declared = self.index.record_of(collection.parts)
        field = self.index.fields.get(declared) if declared is not None else None
        if field is None or not isinstance(field.type, nodes.CollectionType):
            return None
        element = field.type.element
        if isinstance(element, nodes.NamedType) and element.name in self.index.entities:
            return element.name
        return None

    def enum_read(self, e: Any, scope: dict[str, str]) -> str | None:
        """The enum whose members the other side of a comparison with `e` names."""
        if not isinstance(e, nodes.Path):
            return None
        attribute = self.attribute_path(e, scope)
        if attribute is not None:
            return self.index.enum_of(self.index.fields[attribute].type)
        fired = len(e.parts) == 2 and scope.get(f"{e.parts[0]}.") == "fired"
        if e.dotted == "decision" or (fired and e.parts[1] == "effect"):
            return "effect"
        if fired:
            return self.index.enum_of(self.index.annotation_types.get(e.parts[1]))
        if len(e.parts) == 1 and e.parts[0] in scope and scope[e.parts[0]].startswith("column:"):
            table, column = scope[e.parts[0]].removeprefix("column:").split(".", 1)
            return self.index.enum_of(self.column_types.get(table, {}).get(column))
        return None

    def path(self, p: nodes.Path, scope: dict[str, str], expected: str | None) -> None:
        if p.span is None:
            return
        spans = list(_part_spans(p))
        head, rest = p.parts[0], p.parts[1:]
        symbols = self.index.symbols
        if head in scope:
            self.occur(scope[head], p.span, start=spans[0][0], end=spans[0][1])
            record = scope.get(f"{head}.")
            if rest and record == "fired" and f"annotation:{rest[0]}" in symbols:
                self.occur(f"annotation:{rest[0]}", p.span, start=spans[1][0], end=spans[1][1])
            elif rest and record is not None:  # the fields of a list's record element
                entity = record in self.index.entities
                for i, (start, end) in enumerate(spans[1:], start=1):
                    parts = (record, *p.parts[1 : i + 1])
                    declared = self.index.record_of(parts, entity=True) if entity else None
                    key = f"attribute:{declared}" if entity else "attribute:" + ".".join(parts)
                    if key not in symbols:
                        break
                    self.occur(key, p.span, start=start, end=end)
        elif head in self.definitions:
            self.occur(f"definition:{head}", p.span, start=spans[0][0], end=spans[0][1])
        elif head in self.outputs and not rest:
            self.occur(f"output:{head}", p.span, start=spans[0][0], end=spans[0][1])
        elif head in self.context_heads:
            for i, (start, end) in enumerate(spans):
                declared = self.index.record_of(p.parts[: i + 1])  # through entities
                if declared is None:
                    break
                self.occur(f"attribute:{declared}", p.span, start=start, end=end)
        elif head in self.enum_names and len(rest) == 1:
            self.occur(f"enum:{head}", p.span, start=spans[0][0], end=spans[0][1])
            if f"member:{head}.{rest[0]}" in symbols:
                self.occur(f"member:{head}.{rest[0]}", p.span, start=spans[1][0], end=spans[1][1])
        elif not rest:
            member = self.bare(head, expected)
            if member is not None:
                self.occur(member, p.span, start=spans[0][0], end=spans[0][1])

    def bare(self, name: str, expected: str | None) -> str | None:
        """A bare name read where no local, definition or attribute has it: a member or effect."""
        if expected == "effect" and f"effect:{name}" in self.index.symbols:
            return f"effect:{name}"
        if expected is not None and f"member:{expected}.{name}" in self.index.symbols:
            return f"member:{expected}.{name}"
        owners = [f"member:{o}.{name}" for o in self.member_owners.get(name, [])]
        for kind in ("effect", "obligation"):  # obligations by name: `obligated contains x`
            if f"{kind}:{name}" in self.index.symbols:
                owners.append(f"{kind}:{name}")
        return owners[0] if len(owners) == 1 else None


@attrs.frozen
class _Quantified:
    """A quantifier variable's declaration, shown as its quantifier's head (`some r in fired`)."""

    quantifier: Any

    @property
    def span(self) -> Span | None:
        q = self.quantifier
        if q.span is None or q.body.span is None:
            return q.span  # type: ignore[no-any-return]
        return Span(q.span.source, q.span.start, q.body.span.start)


def _values_of(collection: Any) -> Any:
    """`values(m)`: its elements are the map's values (records, for a map of records)."""
    if isinstance(collection, nodes.Call) and collection.func.name == "values" and collection.args:
        return collection.args[0]
    return collection


def _part_spans(p: nodes.Path) -> Iterator[tuple[int, int]]:
    """The offsets of each name of a dotted path (`user . age` has its names apart)."""
    assert p.span is not None
    text = p.span.source.text
    pos = p.span.start
    if len(p.parts) == 1 or text.startswith(p.dotted, pos):  # written without spaces
        for part in p.parts:
            yield (pos, pos + len(part))
            pos += len(part) + 1
        return
    for part in p.parts:
        m = _NAME.search(text, pos, p.span.end)
        if m is None or m.group(0) != part:
            yield (pos, pos + len(part))
            pos += len(part)
            continue
        yield (m.start(), m.end())
        pos = m.end()


def _cell_text(cell: Any) -> str:
    """A table row's key as the checker spells it in rule ids (`banned_category[csam]`)."""
    match cell:
        case nodes.IntLit(value) | nodes.StrLit(value):
            return str(value)
        case nodes.BoolLit(value):
            return "true" if value else "false"
        case nodes.Path(parts):
            return ".".join(parts[-1:])
        case nodes.DecLit(written):
            return written
        case nodes.Neg(nodes.IntLit(value)):
            return str(-value)
        case nodes.ListLit(items):
            return ", ".join(_cell_text(i) for i in items)
        case nodes.Absent():
            return "-"
    return "?"
