"""The checker: declares a policy set's names, checks its declarations, expands table rules.

It turns the syntax nodes of every file of a policy set into one `CheckedPolicy`, or collects every
problem it finds as diagnostics (it never stops at the first). It first builds the immutable
`environment.Environment` from the declarations, then checks each declaration's expressions against
it with a `typecheck.ExprChecker` (which it uses, not extends).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from policydsl import (
    entity_check,
    entity_decls,
    literals,
    maps,
    model,
    nodes,
    relations,
    table_rows,
)
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.decision import RESERVED_OUTPUT_NAMES
from policydsl.diagnostics import Diagnostic, did_you_mean
from policydsl.environment import Environment, rule_type
from policydsl.inlining import names_used
from policydsl.model import NOT_CONST, Const, const_value
from policydsl.plain_rules import PlainRules
from policydsl.property_check import check_properties
from policydsl.rule_memo import RuleMemo
from policydsl.source import Span
from policydsl.typecheck import BUILTIN_TYPES, ExprChecker
from policydsl.typed import Scope

_RULE_CLAUSE_WORDS = ("when", "cite", "reason", "obligations", "tags")


def check(
    files: Sequence[nodes.PolicyFile], memo: RuleMemo | None = None
) -> tuple[model.CheckedPolicy | None, list[Diagnostic]]:
    """Check a whole policy set; the policy is None when any error was found. `memo` keeps
    rule checks from one check to the next (the language server's)."""
    checker = _Checker(memo)
    policy = checker.run(files)
    diags = sorted(checker.diagnostics, key=Diagnostic.sort_key)
    if any(d.severity == "error" for d in diags):
        return None, diags
    return policy, diags


class _Checker:
    """Builds the `Environment` from the declarations, then checks every declaration's
    expressions against it with one `ExprChecker`."""

    def __init__(self, memo: RuleMemo | None = None) -> None:
        self.memo = memo
        self.diagnostics: list[Diagnostic] = []
        # the declarations, as they are read; `_freeze` makes them the environment
        self.enums: dict[str, t.EnumType] = {}
        self.entities: dict[str, t.EntityType] = {}
        self.effect_type = t.EnumType("effect", ())
        self.schema = t.RecordType("context", ())
        self.rule_type = t.RecordType("rule", ())
        self.annotations: dict[str, t.Type] = {}
        self.obligations: dict[str, nodes.Ident] = {}
        self.def_decls: dict[str, nodes.DefDecl] = {}
        self.tables: dict[str, nodes.TableDecl] = {}
        self.global_names: dict[str, tuple[str, Span | None]] = {}
        self.exprs = ExprChecker(Environment(), self.diagnostics)
        self._row_cache: dict[int, list[Any]] = {}  # by id(row): each row is checked once
        self._column_cache: dict[int, tuple[t.Type, bool]] = {}  # by id(column)
        self._keyed: set[str] = set()  # tables a rule is written `for`: one row per key
        self.exprs.relation = relations.Reader(
            self.tables, self._row_values, self._column_type, self.exprs.error
        )
        self._cell_cache: dict[tuple[Any, ...], tuple[t.Type, Any]] = {}  # see `_cell`
        self.plain = PlainRules()

    def _freeze(self) -> None:
        """Give the expression checker the environment the declarations read so far make.
        Types and constants in declarations (a default, an annotation's type) are checked
        against the declarations before them; every rule, table and output against all."""
        self.exprs.env = Environment(
            enums=self.enums,
            entities=self.entities,
            effect_type=self.effect_type,
            schema=self.schema,
            rule_type=self.rule_type,
            annotations=self.annotations,
            obligations=frozenset(self.obligations),
            def_decls=self.def_decls,
            tables=self.tables,
            global_names=self.global_names,
        )

    # ---- the whole set ------------------------------------------------------------------------

    def run(self, files: Sequence[nodes.PolicyFile]) -> model.CheckedPolicy:
        decls = [d for f in files for d in f.decls]
        if self.memo is not None:
            self.memo.begin(decls)
        first_span = files[0].span if files else None
        self._declare_names(decls)
        self._declare_enums([d for d in decls if isinstance(d, nodes.EnumDecl)])
        self._declare_effects([d for d in decls if isinstance(d, nodes.EffectsDecl)], first_span)
        self._declare_version([d for d in decls if isinstance(d, nodes.VersionDecl)])
        entity_list = [d for d in decls if isinstance(d, nodes.EntityDecl)]
        self.entities = entity_decls.declare(self.exprs, entity_list, self.enums)
        self._freeze()  # the types a declaration may name; the context's defaults are read next
        entity_decls.complete(self.exprs, entity_list, self.entities, self._record)
        self._declare_schema([d for d in decls if isinstance(d, nodes.ContextDecl)], first_span)
        self._declare_global_names(decls)
        for d in decls:
            if isinstance(d, nodes.AnnotationDecl):
                self._declare_annotation(d)
            elif isinstance(d, nodes.ObligationsDecl):
                for ident in d.names:
                    if ident.name in self.obligations:
                        self.exprs.error(
                            Code.DECLARED_TWICE,
                            f"obligation `{ident.name}` is declared twice",
                            ident.span,
                        )
                    self.obligations[ident.name] = ident
        self.rule_type = rule_type(self.effect_type, self.annotations)
        self._freeze()  # complete: everything below is checked against this environment
        self._keyed = {d.table.name for d in decls if isinstance(d, nodes.RuleDecl) and d.table}
        for name in self._definition_order():  # each one's definitions first: no recursion
            self.exprs.definition(name)
        for d in decls:
            if isinstance(d, nodes.DefDecl):
                if self.def_decls.get(d.name.name) is d:  # a clashing name was reported (P202)
                    self.exprs.definition(d.name.name)
            elif isinstance(d, nodes.TableDecl):
                self._check_table(d)
        rules: list[model.Rule] = []
        rule_ids: dict[str, Span | None] = {}
        for d in decls:
            if isinstance(d, nodes.RuleDecl):
                made = (
                    self._check_rule(d)
                    if self.memo is None
                    else self.memo.check(d, self._check_rule, self.diagnostics)
                )
                for rule in made:
                    if rule.id in rule_ids:
                        self.exprs.error(
                            Code.DUPLICATE_RULE,
                            f"rule id `{rule.id}` is defined twice",
                            rule.span,
                            help=f"the other is at {rule_ids[rule.id]}",
                            related=_first_at(rule_ids[rule.id]),
                        )
                    rule_ids[rule.id] = rule.span
                    rules.append(rule)
        if self.memo is not None:
            self.memo.end()
        outputs = [self._check_output(d) for d in decls if isinstance(d, nodes.OutputDecl)]
        properties = check_properties(self.exprs, decls, outputs, sorted(self.obligations))
        return model.CheckedPolicy(
            schema=self.schema,
            enums=dict(self.enums),
            entities=dict(self.entities),
            effects=self.effect_type.members,
            default_effect=self._default_effect,
            effect_type=self.effect_type,
            rule_type=self.rule_type,
            annotations=dict(self.annotations),
            obligations=tuple(sorted(self.obligations)),
            definitions=dict(self.exprs.definitions),
            rules=tuple(sorted(rules, key=lambda r: r.id)),
            outputs=tuple(outputs),
            refuse_effect=self._refuse_effect,
            properties=properties,
            effects_span=self._effects_span,
            version=self._version,
        )

    def _declare_names(self, decls: list[Any]) -> None:
        """Enums, definitions and tables share one namespace across all files."""
        seen: dict[str, Span | None] = {}
        outputs: dict[str, Span | None] = {}
        for d in decls:
            if isinstance(d, nodes.EnumDecl | nodes.DefDecl | nodes.TableDecl):
                name = d.name.name
                if name in BUILTIN_TYPES:
                    self.exprs.error(
                        Code.DECLARED_TWICE, f"`{name}` is a built-in type", d.name.span
                    )
                    continue
                if name in seen:
                    where = f"the other is at {seen[name]}"
                    self.exprs.error(
                        Code.DECLARED_TWICE,
                        f"`{name}` is defined twice",
                        d.name.span,
                        help=where,
                        related=_first_at(seen[name]),
                    )
                    continue
                seen[name] = d.name.span
                if isinstance(d, nodes.DefDecl):
                    self.def_decls[name] = d
                elif isinstance(d, nodes.TableDecl):
                    self.tables[name] = d
            elif isinstance(d, nodes.OutputDecl):
                name = d.name.name
                if name in RESERVED_OUTPUT_NAMES:
                    self.exprs.error(
                        Code.RESERVED_OUTPUT_NAME,
                        f"an output cannot be named `{name}`: every decision has that field",
                        d.name.span,
                        help="choose another name; reserved: "
                        + ", ".join(sorted(RESERVED_OUTPUT_NAMES)),
                    )
                elif name in outputs:
                    first = outputs[name]
                    self.exprs.error(
                        Code.DECLARED_TWICE,
                        f"output `{name}` is defined twice",
                        d.name.span,
                        related=_first_at(first),
                    )
                outputs[name] = d.name.span

    def _declare_global_names(self, decls: list[Any]) -> None:
        """What a bare name can mean besides a local, with where it is declared; a definition
        that would hide an enum member, an effect or a context attribute is an error (P206)."""
        for d in decls:
            if isinstance(d, nodes.EnumDecl):
                for m in d.members:
                    self.global_names.setdefault(
                        m.name, (f"the enum member `{d.name.name}.{m.name}`", m.span)
                    )
            elif isinstance(d, nodes.EffectsDecl):
                for ident in d.order:
                    self.global_names.setdefault(
                        ident.name, (f"the effect `{ident.name}`", ident.span)
                    )
            elif isinstance(d, nodes.ContextDecl):
                for f in d.fields:
                    self.global_names[f.name.name] = (
                        f"the context attribute `{f.name.name}`",
                        f.name.span,
                    )
        self._freeze()  # what a definition's name may hide
        for name, decl in list(self.def_decls.items()):
            if self.exprs.hides("definition", decl.name):
                del self.def_decls[name]  # the def would silently win in every rule
        for name, decl in self.def_decls.items():
            self.global_names[name] = (f"the definition `{name}`", decl.name.span)

    def _definition_order(self) -> list[str]:
        """The definitions, each after those it uses, found without recursion (a chain of
        hundreds of definitions must not take the checker past Python's stack); a cycle is
        reported (P205) where the depth-first walk from the first declared definition meets it."""
        uses = {
            name: names_used(decl.value) & self.def_decls.keys()
            for name, decl in self.def_decls.items()
        }
        order: list[str] = []
        done: set[str] = set()
        for root in self.def_decls:
            if root in done:
                continue
            path: list[str] = [root]
            pending: list[list[str]] = [sorted(uses[root])]
            done.add(root)
            while path:
                if not pending[-1]:
                    order.append(path.pop())
                    pending.pop()
                    continue
                name = pending[-1].pop()
                if name in path:
                    self._report_cycle([*path[path.index(name) :], name])
                elif name not in done:
                    done.add(name)
                    path.append(name)
                    pending.append(sorted(uses[name]))
        return [name for name in order if name not in self.exprs.cyclic]

    def _report_cycle(self, cycle: list[str]) -> None:
        name = cycle[0]
        if name in self.exprs.cyclic:
            return
        self.exprs.cyclic.add(name)
        self.exprs.error(
            Code.CYCLIC_DEFINITION,
            f"definition `{name}` refers to itself ({' → '.join(cycle)})",
            self.def_decls[name].name.span,
            help="definitions cannot be recursive: evaluation must always terminate",
        )

    def _declare_enums(self, decls: list[nodes.EnumDecl]) -> None:
        for d in decls:
            members: dict[str, None] = {}  # ordered, and a quick test for repeats
            for m in d.members:
                if m.name in members:
                    self.exprs.error(
                        Code.DECLARED_TWICE, f"enum `{d.name.name}` lists `{m.name}` twice", m.span
                    )
                else:
                    members[m.name] = None
            self.enums[d.name.name] = t.EnumType(d.name.name, tuple(members))

    def _declare_effects(self, decls: list[nodes.EffectsDecl], file_span: Span | None) -> None:
        self._default_effect = ""
        self._refuse_effect: str | None = None
        self._effects_span: Span | None = decls[0].span if decls else None
        if not decls:
            span = Span(file_span.source, 0, 0) if file_span else None
            self.exprs.error(
                Code.MISSING_DECLARATION,
                "the policy declares no effects",
                span,
                help="add e.g. `effects deny > allow default allow`",
            )
            return
        for extra in decls[1:]:
            self.exprs.error(
                Code.SECOND_DECLARATION, "effects are declared more than once", extra.span
            )
        d = decls[0]
        order: list[str] = []
        for ident in d.order:
            if ident.name in order:
                self.exprs.error(
                    Code.DECLARED_TWICE, f"effect `{ident.name}` is listed twice", ident.span
                )
            else:
                order.append(ident.name)
        self.effect_type = t.EnumType("effect", tuple(order))
        self._default_effect = self._declared_effect(d.default, order) or ""
        if d.refuse is not None:
            self._refuse_effect = self._declared_effect(d.refuse, order)

    def _declare_version(self, decls: list[nodes.VersionDecl]) -> None:
        """At most one `version` per policy set: it names the whole set, not a file."""
        self._version: str | None = decls[0].value if decls else None
        for extra in decls[1:]:
            self.exprs.error(
                Code.SECOND_DECLARATION,
                "the policy set declares its `version` more than once",
                extra.span,
                help=f"keep one; the first is at {decls[0].span}",
                related=_first_at(decls[0].span),
            )

    def _declared_effect(self, ident: nodes.Ident, order: list[str]) -> str | None:
        """The effect `ident` names (`default`, `refuse`), or None after reporting it unknown."""
        if ident.name in order:
            return ident.name
        self.exprs.error(
            Code.UNKNOWN_NAME,
            f"unknown effect `{ident.name}`",
            ident.span,
            help=did_you_mean(ident.name, order),
        )
        return None

    def _declare_schema(self, decls: list[nodes.ContextDecl], file_span: Span | None) -> None:
        if not decls:
            span = Span(file_span.source, 0, 0) if file_span else None
            self.exprs.error(
                Code.MISSING_DECLARATION,
                "the policy declares no `context`",
                span,
                help="declare the request's attributes: `context { user: { age: int? } }`",
            )
            return
        for extra in decls[1:]:
            self.exprs.error(
                Code.SECOND_DECLARATION, "`context` is declared more than once", extra.span
            )
        self.schema = self._record("context", decls[0].fields)

    def _record(self, name: str, fields: Iterable[nodes.Field]) -> t.RecordType:
        out: list[t.FieldType] = []
        for f in fields:
            if any(o.name == f.name.name for o in out):
                self.exprs.error(
                    Code.DECLARED_TWICE,
                    f"attribute `{name}.{f.name.name}` is declared twice",
                    f.span,
                )
                continue
            optional = isinstance(f.type, nodes.OptionalType)
            inner = f.type.inner if isinstance(f.type, nodes.OptionalType) else f.type
            path = f.name.name if name == "context" else f"{name}.{f.name.name}"
            ftype = self._field_type(path, inner)
            default = t.MISSING
            if f.default is not None:
                if optional:
                    self.exprs.error(
                        Code.OPTIONAL_WITH_DEFAULT,
                        f"`{path}` is optional and has a default",
                        f.default.span,
                        help="drop the `?` or the default",
                    )
                default = self._constant(f.default, ftype, f"default of `{path}`")
                literals.check_default_size(self.exprs, path, ftype, default, f.default.span)
                entity_decls.check_default(self.exprs, path, default, f.default.span)
            out.append(t.FieldType(f.name.name, ftype, optional, default))
        return t.RecordType(name, tuple(out))

    def _field_type(self, path: str, node: nodes.TypeExpr) -> t.Type:
        """A context attribute's type: records may nest, and a list may hold records (each
        element a record of its own, read through a quantifier: `some c in containers: ...`)."""
        if isinstance(node, nodes.RecordType):
            return self._record(path, node.fields)
        if isinstance(node, nodes.MapType):
            return maps.map_type(self.exprs, node, lambda n: self._field_type(f"{path}[]", n))
        if isinstance(node, nodes.CollectionType) and isinstance(node.element, nodes.MapType):
            return maps.in_collection(self.exprs, node)
        if isinstance(node, nodes.CollectionType) and isinstance(node.element, nodes.RecordType):
            if node.kind == "set":
                self.exprs.error(
                    Code.RECORD_OUTSIDE_CONTEXT,
                    "a set cannot hold records",
                    node.span,
                    help="use a `list`: records have no order or equality a set could use",
                )
                return t.CollectionType("list", t.ANY)
            size = self.exprs.maximum(node.size, "list<…>", "elements", node.span)
            element = self._record(f"{path}[]", node.element.fields)
            return t.CollectionType("list", element, t.MAX_COLLECTION if size is None else size)
        return self.exprs.resolve_type(node)

    def _declare_annotation(self, d: nodes.AnnotationDecl) -> None:
        name = d.name.name
        if name in self.annotations:
            self.exprs.error(
                Code.DECLARED_TWICE, f"annotation `{name}` is declared twice", d.name.span
            )
        elif name in _RULE_CLAUSE_WORDS:
            self.exprs.error(
                Code.DECLARED_TWICE, f"`{name}` is a rule clause, not an annotation", d.name.span
            )
        elif name in ("id", "effect"):
            self.exprs.error(
                Code.DECLARED_TWICE,
                f"`{name}` is a field of every fired rule, not an annotation",
                d.name.span,
                help="choose another name for the annotation",
            )
        atype = self.annotations[name] = self.exprs.resolve_type(d.type)
        literals.no_decimal_output(atype, d.type.span, self.exprs.error, "annotation")

    # ---- tables -------------------------------------------------------------------------------

    def _check_table(self, d: nodes.TableDecl) -> None:
        names: set[str] = set()
        for col in d.columns:
            if col.name.name in names:
                self.exprs.error(
                    Code.DECLARED_TWICE,
                    f"column `{col.name.name}` is declared twice",
                    col.name.span,
                )
            names.add(col.name.name)
            if d.name.name in self._keyed:  # a rule's columns are names in it; a relation's not
                self.exprs.hides("column", col.name)
        keys: dict[Any, Span | None] = {}
        for row in d.rows:
            if len(row.cells) != len(d.columns):
                self.exprs.error(
                    Code.WRONG_COUNT,
                    f"row has {len(row.cells)} cells but table `{d.name.name}` has "
                    f"{len(d.columns)} columns",
                    row.span,
                    help="columns: " + ", ".join(c.name.name for c in d.columns),
                )
                continue
            key = table_rows.hashable(self._row_values(d, row)[0] if d.columns else None)
            if key in keys and d.name.name in self._keyed:  # else a relation: keys may repeat
                self.exprs.error(
                    Code.DUPLICATE_RULE,
                    f"table `{d.name.name}` has two rows for `{table_rows.render(key)}`",
                    row.span,
                    help=f"the other is at {keys[key]}",
                    related=_first_at(keys[key]),
                )
            keys[key] = row.span

    def _column_type(self, col: nodes.Column) -> tuple[t.Type, bool]:
        if id(col) not in self._column_cache:  # resolve (and report) each column's type once
            optional = isinstance(col.type, nodes.OptionalType)
            inner = col.type.inner if isinstance(col.type, nodes.OptionalType) else col.type
            resolved = entity_check.literal_type(self.exprs.resolve_type(inner))
            self._column_cache[id(col)] = (resolved, optional)
        return self._column_cache[id(col)]

    def _row_values(self, table: nodes.TableDecl, row: nodes.Row) -> list[Any]:
        if id(row) in self._row_cache:
            return self._row_cache[id(row)]
        values: list[Any] = []
        for col, cell in zip(table.columns, row.cells, strict=True):
            ctype, optional = self._column_type(col)
            if isinstance(cell, nodes.Absent):
                if not optional:
                    self.exprs.error(
                        Code.CELL_NEEDS_VALUE,
                        f"column `{col.name.name}` needs a value",
                        cell.span,
                        help=f"declare it `{col.name.name}: {ctype}?` to allow `-`",
                    )
                values.append(None)
            else:
                values.append(self._cell(cell, ctype, col))
        self._row_cache[id(row)] = values
        return values

    def _cell(self, cell: Any, ctype: t.Type, col: nodes.Column) -> Any:
        """A cell's value. A literal or a bare name that checked cleanly is checked once per
        column type: a table repeats its enum members (and often its numbers) down its rows."""
        if ctype is t.STRING and type(cell) is nodes.StrLit:
            return cell.value  # what checking it gives: any string literal, as it is
        match cell:
            case nodes.StrLit(v) | nodes.IntLit(v) | nodes.BoolLit(v):
                key: tuple[Any, ...] | None = (type(cell), v, id(ctype))
            case nodes.Path((name,)):
                key = (nodes.Path, name, id(ctype))
            case _:
                key = None
        if key is not None:
            known = self._cell_cache.get(key)
            if known is not None and known[0] is ctype:  # held there: its id is not reused
                return known[1]
        before = len(self.diagnostics)
        value = self._constant(cell, ctype, f"column `{col.name.name}`")
        if key is not None and len(self.diagnostics) == before:
            self._cell_cache[key] = (ctype, value)
        return value

    def _constant(self, node: Any, expected: t.Type, what: str) -> Any:
        typed = self.exprs.expr(node, Scope(), frozenset(), expected)
        self.exprs.expect(typed, expected, node.span)
        value = const_value(typed.expr)
        if value is NOT_CONST:
            self.exprs.error(Code.NOT_CONSTANT, f"{what} must be a constant", node.span)
            return None
        self.exprs.check_range(value, expected, what, node.span)
        return table_rows.coerce(value, expected)

    # ---- rules --------------------------------------------------------------------------------

    def _check_rule(self, d: nodes.RuleDecl) -> list[model.Rule]:
        effect = d.effect.name
        if not self.effect_type.has(effect) and self.effect_type.members:  # else P401
            self.exprs.error(
                Code.UNKNOWN_NAME,
                f"unknown effect `{effect}`",
                d.effect.span,
                help=did_you_mean(effect, self.effect_type.members),
            )
        table: nodes.TableDecl | None = None
        columns: dict[str, tuple[t.Type, bool]] = {}
        if d.table is not None:
            table = self.tables.get(d.table.name)
            if table is None:
                self.exprs.error(
                    Code.UNKNOWN_NAME,
                    f"unknown table `{d.table.name}`",
                    d.table.span,
                    help=did_you_mean(d.table.name, self.tables),
                )
                return []
            columns = {c.name.name: self._column_type(c) for c in table.columns}
        scope = self.plain.scope
        if table is not None:
            scope = Scope(
                locals={n: ty for n, (ty, optional) in columns.items() if not optional},
                columns=frozenset(columns),
                origins={
                    c.name.name: (f"the column `{c.name.name}`", c.name.span) for c in table.columns
                },
            )
        by_kind: dict[type, list[Any]] = {}
        for clause in d.clauses:
            by_kind.setdefault(type(clause), []).append(clause)
        for kind, found in by_kind.items():
            if kind not in (nodes.AnnotationClause, nodes.SilenceClause) and len(found) > 1:
                word = found[1].span.source.text[found[1].span.start :].split()[0]
                self.exprs.error(
                    Code.CLAUSE_TWICE,
                    f"rule `{d.name.name}` has more than one `{word}`",
                    found[1].span,
                )

        condition: Any = Const(True)
        for clause in by_kind.get(nodes.WhenClause, [])[:1]:
            typed = self.exprs.expr(clause.condition, scope, frozenset(), t.BOOL)
            self.exprs.expect(typed, t.BOOL, clause.condition.span)
            condition = typed.expr  # `decision` and outcome definitions: reported by _path
            self.exprs.within_limits(condition, f"rule `{d.name.name}`", clause.condition.span)
        cite_expr: Any = None
        for clause in by_kind.get(nodes.CiteClause, [])[:1]:
            typed = self.exprs.expr(clause.value, scope, frozenset(), None)
            if not (t.is_string(typed.type) or t.compatible(typed.type, _STRINGS)):
                self.exprs.error(
                    Code.CITE_NOT_STRINGS,
                    f"`cite` takes a string or a set of strings, not {typed.type}",
                    clause.value.span,
                )
            cite_expr = typed.expr
        if cite_expr is None:
            self.exprs.warn(Code.NO_CITATION, f"rule `{d.name.name}` cites no clause", d.name.span)
        template = None
        for clause in by_kind.get(nodes.ReasonClause, [])[:1]:
            whens = by_kind.get(nodes.WhenClause, [])[:1]
            every_column = (
                attrs.evolve(scope, locals={n: ty for n, (ty, _) in columns.items()})
                if columns
                else scope
            )
            when = whens[0].condition if whens else None
            template = self.plain.reason(self.exprs, clause, every_column, when)
        if not by_kind.get(nodes.ReasonClause):
            self.exprs.warn(Code.NO_REASON, f"rule `{d.name.name}` gives no reason", d.name.span)
        obligations: list[str] = []
        for clause in by_kind.get(nodes.ObligationsClause, [])[:1]:
            for ident in clause.names:
                if ident.name not in self.obligations:
                    self.exprs.error(
                        Code.UNKNOWN_NAME,
                        f"unknown obligation `{ident.name}`",
                        ident.span,
                        help=did_you_mean(ident.name, self.obligations)
                        or "declare it in `obligations { ... }`",
                    )
                obligations.append(ident.name)
        tags = [i.name for c in by_kind.get(nodes.TagsClause, [])[:1] for i in c.names]
        annotations: list[tuple[str, Any, nodes.AnnotationClause]] = []
        for clause in by_kind.get(nodes.AnnotationClause, []):
            name = clause.name.name
            if name not in self.annotations:
                self.exprs.error(
                    Code.UNKNOWN_NAME,
                    f"unknown annotation `{name}`",
                    clause.name.span,
                    help=did_you_mean(name, [*self.annotations, *_RULE_CLAUSE_WORDS])
                    or "declare it with `annotation NAME: TYPE`",
                )
                continue
            if any(a[0] == name for a in annotations):
                self.exprs.error(
                    Code.CLAUSE_TWICE, f"annotation `{name}` is given twice", clause.span
                )
                continue
            atype = self.annotations[name]
            ascope = attrs.evolve(
                scope, locals={n: ty for n, (ty, _) in columns.items()}
            )  # optional columns may feed annotations: `-` leaves it unset
            typed = self.exprs.expr(clause.value, ascope, frozenset(), atype)
            self.exprs.expect(typed, atype, clause.value.span)
            annotations.append((name, typed.expr, clause))

        rows: list[tuple[str, dict[str, Any], Span | None]] = []
        if table is None:
            rows.append((d.name.name, {}, d.name.span))
        else:
            keys: set[Any] = set()
            names = [c.name.name for c in table.columns]
            for row in table.rows:
                if len(row.cells) != len(table.columns):
                    continue  # reported by the table check
                values = self._row_values(table, row)
                if values and table_rows.hashable(values[0]) in keys:
                    continue  # a second row for one key: reported by the table check
                keys.add(table_rows.hashable(values[0]) if values else None)
                key = table_rows.cell_text(values[0], columns[names[0]][0]) if values else ""
                bindings = dict(zip(names, values, strict=True))
                rows.append((f"{d.name.name}[{key}]", bindings, row.span or d.name.span))

        rules = []
        not_constant: set[str] = set()  # reported once per rule, not once per row
        cite_made = condition_made = None
        annotation_made: list[table_rows.Maker | None] = [None] * len(annotations)
        types = {name: ty for name, (ty, _) in columns.items()}
        if columns:  # each expression made ready once for the rows
            if cite_expr is not None:
                cite_made = table_rows.Substitution(cite_expr, types).make
            condition_made = table_rows.Substitution(condition, types).make
            annotation_made = [table_rows.Substitution(e, types).make for _, e, _ in annotations]

        obligation_names, tag_names = tuple(obligations), tuple(tags)
        for rule_id, bindings, span in rows:
            cite = const_value(_substituted(cite_made, cite_expr, bindings)) if cite_expr else ()
            if cite is NOT_CONST:
                if "cite" not in not_constant:
                    self.exprs.error(Code.NOT_CONSTANT, "`cite` must be a constant", cite_expr.span)
                not_constant.add("cite")
                cite = ()
            ann: list[tuple[str, Any]] = []
            for (name, expr, _clause), made in zip(annotations, annotation_made, strict=True):
                value = const_value(_substituted(made, expr, bindings))
                if value is NOT_CONST:
                    if name not in not_constant:
                        self.exprs.error(
                            Code.NOT_CONSTANT, f"annotation `{name}` must be a constant", expr.span
                        )
                    not_constant.add(name)
                elif value is not None:
                    atype = self.annotations[name]
                    where = f"annotation `{name}` of rule `{rule_id}`"
                    if self.exprs.check_range(
                        value, atype, where, expr.span if table is None else span
                    ):
                        ann.append((name, table_rows.coerce(value, atype)))
            reason, message = (
                template.for_row(condition, bindings, types) if template is not None else ("", None)
            )
            rules.append(
                model.Rule(
                    id=rule_id,
                    effect=effect,
                    condition=_substituted(condition_made, condition, bindings),
                    cite=table_rows.cite_strings(cite),
                    reason=reason,
                    obligations=obligation_names,
                    tags=tag_names,
                    annotations=tuple(ann),
                    span=span,
                    message=message,
                )
            )
        return rules

    # ---- outputs ------------------------------------------------------------------------------

    def _check_output(self, d: nodes.OutputDecl) -> model.Output:
        otype = self.exprs.resolve_type(d.type)
        literals.no_decimal_output(otype, d.type.span, self.exprs.error, "output")
        scope = Scope(outcome=True)
        cases: list[tuple[Any, Any]] = []
        for i, case in enumerate(d.cases):
            cond = None
            if case.condition is not None:
                typed = self.exprs.expr(case.condition, scope, frozenset(), t.BOOL)
                self.exprs.expect(typed, t.BOOL, case.condition.span)
                cond = typed.expr
                self.exprs.within_limits(cond, f"output `{d.name.name}`", case.condition.span)
            elif i != len(d.cases) - 1:
                self.exprs.error(
                    Code.OUTPUT_WITHOUT_OTHERWISE,
                    "`otherwise` must be the last case",
                    case.span,
                    help="later cases never apply",
                )
            value = self.exprs.expr(case.value, scope, frozenset(), otype)
            self.exprs.expect(value, otype, case.value.span)
            self.exprs.within_limits(value.expr, f"output `{d.name.name}`", case.value.span)
            cases.append((cond, value.expr))
        if not d.cases or d.cases[-1].condition is not None:
            self.exprs.error(
                Code.OUTPUT_WITHOUT_OTHERWISE,
                f"output `{d.name.name}` may have no value",
                d.name.span,
                help="end it with `otherwise => VALUE`",
            )
        return model.Output(d.name.name, otype, tuple(cases), span=d.name.span)


# ---- helpers on rules, tables and constants -------------------------------------------------

_STRINGS = t.CollectionType("set", t.STRING)


def _substituted(made: table_rows.Maker | None, expr: Any, values: dict[str, Any]) -> Any:
    """A rule's expression for one of its rows (itself when it names no column)."""
    return expr if made is None or not values else made(values)


def _first_at(span: Span | None) -> tuple[tuple[Span, str], ...]:
    """The related span of a second declaration: where the first one is."""
    return ((span, "the first is here"),) if span is not None else ()
