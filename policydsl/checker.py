"""The checker: resolves names, checks types and presence, expands table rules.

It turns the syntax nodes of every file of a policy set into one `CheckedPolicy`, or collects every
problem it finds as diagnostics (it never stops at the first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from policydsl import model, nodes
from policydsl import typesys as t
from policydsl.diagnostics import Diagnostic, did_you_mean
from policydsl.model import Attr, Const, DefRef, FieldOf, FieldPresent, Local, Outcome, Present
from policydsl.source import Span

BUILTIN_TYPES: dict[str, t.Type] = {"bool": t.BOOL, "int": t.INT, "string": t.STRING}
FUNCTIONS = {"size": 1}
OUTCOME_NAMES = ("decision", "fired")
_RULE_CLAUSE_WORDS = ("when", "cite", "reason", "obligations", "tags")

Fact = tuple[str, ...]


@attrs.frozen
class _Typed:
    expr: Any
    type: t.Type


@attrs.define
class _Scope:
    """What a name can mean at one point of an expression."""

    locals: dict[str, t.Type] = attrs.Factory(dict)
    outcome: bool = False  # `decision` and `fired` visible (inside outputs and definitions)
    columns: frozenset[str] = frozenset()

    def bind(self, name: str, type_: t.Type) -> _Scope:
        return attrs.evolve(self, locals={**self.locals, name: type_})


def check(files: Sequence[nodes.PolicyFile]) -> tuple[model.CheckedPolicy | None, list[Diagnostic]]:
    """Check a whole policy set; the policy is None when any error was found."""
    checker = _Checker()
    policy = checker.run(files)
    diags = sorted(checker.diagnostics, key=Diagnostic.sort_key)
    if any(d.severity == "error" for d in diags):
        return None, diags
    return policy, diags


class _Checker:
    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.enums: dict[str, t.EnumType] = {}
        self.annotations: dict[str, t.Type] = {}
        self.obligations: dict[str, nodes.Ident] = {}
        self.def_decls: dict[str, nodes.DefDecl] = {}
        self.definitions: dict[str, model.Definition] = {}
        self.tables: dict[str, nodes.TableDecl] = {}
        self.schema = t.RecordType("context", ())
        self.effect_type = t.EnumType("effect", ())
        self.rule_type = t.RecordType("rule", ())
        self._checking: list[str] = []  # definitions being checked, to report cycles
        self._row_cache: dict[int, list[Any]] = {}  # by id(row): each row is checked once
        self._column_cache: dict[int, tuple[t.Type, bool]] = {}  # by id(column)

    # ---- reporting ----------------------------------------------------------------------------

    def error(self, code: str, message: str, span: Span | None, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help))

    def warn(self, code: str, message: str, span: Span | None, help: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, help, severity="warning"))

    # ---- the whole set ------------------------------------------------------------------------

    def run(self, files: Sequence[nodes.PolicyFile]) -> model.CheckedPolicy:
        decls = [d for f in files for d in f.decls]
        first_span = files[0].span if files else None
        self._declare_names(decls)
        self._declare_enums([d for d in decls if isinstance(d, nodes.EnumDecl)])
        self._declare_effects([d for d in decls if isinstance(d, nodes.EffectsDecl)], first_span)
        self._declare_schema([d for d in decls if isinstance(d, nodes.ContextDecl)], first_span)
        for name, decl in self.def_decls.items():
            if self.schema.field(name) is not None:  # the def would silently win in every rule
                self.error(
                    "P202",
                    f"definition `{name}` has the name of a context attribute",
                    decl.name.span,
                    help="rename the definition",
                )
        for d in decls:
            if isinstance(d, nodes.AnnotationDecl):
                self._declare_annotation(d)
            elif isinstance(d, nodes.ObligationsDecl):
                for ident in d.names:
                    if ident.name in self.obligations:
                        self.error(
                            "P202", f"obligation `{ident.name}` is declared twice", ident.span
                        )
                    self.obligations[ident.name] = ident
        self.rule_type = t.RecordType(
            "rule",
            (
                t.FieldType("id", t.STRING),
                t.FieldType("effect", self.effect_type),
                t.FieldType("cite", t.CollectionType("set", t.STRING)),
                t.FieldType("tags", t.CollectionType("set", t.STRING)),
                *(t.FieldType(n, ty, optional=True) for n, ty in self.annotations.items()),
            ),
        )
        for d in decls:
            if isinstance(d, nodes.DefDecl):
                if self.def_decls.get(d.name.name) is d:  # a clashing name was reported (P202)
                    self._definition(d.name.name)
            elif isinstance(d, nodes.TableDecl):
                self._check_table(d)
        rules: list[model.Rule] = []
        rule_ids: dict[str, Span | None] = {}
        for d in decls:
            if isinstance(d, nodes.RuleDecl):
                for rule in self._check_rule(d):
                    if rule.id in rule_ids:
                        self.error(
                            "P203",
                            f"rule id `{rule.id}` is defined twice",
                            rule.span,
                            help=f"the other is at {rule_ids[rule.id]}",
                        )
                    rule_ids[rule.id] = rule.span
                    rules.append(rule)
        outputs = [self._check_output(d) for d in decls if isinstance(d, nodes.OutputDecl)]
        return model.CheckedPolicy(
            schema=self.schema,
            enums=dict(self.enums),
            effects=self.effect_type.members,
            default_effect=self._default_effect,
            effect_type=self.effect_type,
            rule_type=self.rule_type,
            annotations=dict(self.annotations),
            obligations=tuple(sorted(self.obligations)),
            definitions=dict(self.definitions),
            rules=tuple(sorted(rules, key=lambda r: r.id)),
            outputs=tuple(outputs),
        )

    def _declare_names(self, decls: list[Any]) -> None:
        """Enums, definitions and tables share one namespace across all files."""
        seen: dict[str, Span | None] = {}
        outputs: dict[str, Span | None] = {}
        for d in decls:
            if isinstance(d, nodes.EnumDecl | nodes.DefDecl | nodes.TableDecl):
                name = d.name.name
                if name in BUILTIN_TYPES:
                    self.error("P202", f"`{name}` is a built-in type", d.name.span)
                    continue
                if name in seen:
                    where = f"the other is at {seen[name]}"
                    self.error("P202", f"`{name}` is defined twice", d.name.span, help=where)
                    continue
                seen[name] = d.name.span
                if isinstance(d, nodes.DefDecl):
                    self.def_decls[name] = d
                elif isinstance(d, nodes.TableDecl):
                    self.tables[name] = d
            elif isinstance(d, nodes.OutputDecl):
                if d.name.name in outputs:
                    self.error("P202", f"output `{d.name.name}` is defined twice", d.name.span)
                outputs[d.name.name] = d.name.span

    def _declare_enums(self, decls: list[nodes.EnumDecl]) -> None:
        for d in decls:
            members: list[str] = []
            for m in d.members:
                if m.name in members:
                    self.error("P202", f"enum `{d.name.name}` lists `{m.name}` twice", m.span)
                else:
                    members.append(m.name)
            self.enums[d.name.name] = t.EnumType(d.name.name, tuple(members))

    def _declare_effects(self, decls: list[nodes.EffectsDecl], file_span: Span | None) -> None:
        self._default_effect = ""
        if not decls:
            span = Span(file_span.source, 0, 0) if file_span else None
            self.error(
                "P401",
                "the policy declares no effects",
                span,
                help="add e.g. `effects deny > allow default allow`",
            )
            return
        for extra in decls[1:]:
            self.error("P402", "effects are declared more than once", extra.span)
        d = decls[0]
        order: list[str] = []
        for ident in d.order:
            if ident.name in order:
                self.error("P202", f"effect `{ident.name}` is listed twice", ident.span)
            else:
                order.append(ident.name)
        self.effect_type = t.EnumType("effect", tuple(order))
        if d.default.name not in order:
            self.error(
                "P201",
                f"unknown effect `{d.default.name}`",
                d.default.span,
                help=did_you_mean(d.default.name, order),
            )
        else:
            self._default_effect = d.default.name

    def _declare_schema(self, decls: list[nodes.ContextDecl], file_span: Span | None) -> None:
        if not decls:
            span = Span(file_span.source, 0, 0) if file_span else None
            self.error(
                "P401",
                "the policy declares no `context`",
                span,
                help="declare the request's attributes: `context { user: { age: int? } }`",
            )
            return
        for extra in decls[1:]:
            self.error("P402", "`context` is declared more than once", extra.span)
        self.schema = self._record("context", decls[0].fields)

    def _record(self, name: str, fields: Iterable[nodes.Field]) -> t.RecordType:
        out: list[t.FieldType] = []
        for f in fields:
            if any(o.name == f.name.name for o in out):
                self.error("P202", f"attribute `{name}.{f.name.name}` is declared twice", f.span)
                continue
            optional = isinstance(f.type, nodes.OptionalType)
            inner = f.type.inner if isinstance(f.type, nodes.OptionalType) else f.type
            path = f.name.name if name == "context" else f"{name}.{f.name.name}"
            if isinstance(inner, nodes.RecordType):
                ftype: t.Type = self._record(path, inner.fields)
            else:
                ftype = self._type(inner)
            default = t.MISSING
            if f.default is not None:
                if optional:
                    self.error(
                        "P301",
                        f"`{path}` is optional and has a default",
                        f.default.span,
                        help="drop the `?` or the default",
                    )
                default = self._constant(f.default, ftype, f"default of `{path}`")
            out.append(t.FieldType(f.name.name, ftype, optional, default))
        return t.RecordType(name, tuple(out))

    def _type(self, node: nodes.TypeExpr) -> t.Type:
        match node:
            case nodes.OptionalType():
                self.error("P301", "`?` is only allowed on a context attribute", node.span)
                return self._type(node.inner)
            case nodes.CollectionType(kind, element):
                return t.CollectionType(kind, self._type(element))
            case nodes.RecordType():
                self.error("P301", "records are only allowed in `context`", node.span)
                return t.ANY
            case nodes.NamedType(name, lo, hi, has_range):
                if has_range:
                    if name != "int":
                        self.error("P301", f"`{name}` cannot have a range", node.span)
                    elif lo is not None and hi is not None and lo > hi:
                        self.error("P301", f"empty range [{lo}..{hi}]", node.span)
                    return t.IntType(lo, hi)
                if name in BUILTIN_TYPES:
                    return BUILTIN_TYPES[name]
                if name in self.enums:
                    return self.enums[name]
                candidates = [*BUILTIN_TYPES, *self.enums]
                self.error(
                    "P201", f"unknown type `{name}`", node.span, help=did_you_mean(name, candidates)
                )
                return t.ANY
        raise AssertionError(node)  # pragma: no cover

    def _declare_annotation(self, d: nodes.AnnotationDecl) -> None:
        name = d.name.name
        if name in self.annotations:
            self.error("P202", f"annotation `{name}` is declared twice", d.name.span)
        elif name in _RULE_CLAUSE_WORDS:
            self.error("P202", f"`{name}` is a rule clause, not an annotation", d.name.span)
        self.annotations[name] = self._type(d.type)

    # ---- definitions and tables ---------------------------------------------------------------

    def _definition(self, name: str) -> model.Definition | None:
        if name in self.definitions:
            return self.definitions[name]
        decl = self.def_decls[name]
        if name in self._checking:
            cycle = " → ".join([*self._checking[self._checking.index(name) :], name])
            self.error(
                "P205",
                f"definition `{name}` refers to itself ({cycle})",
                decl.name.span,
                help="definitions cannot be recursive: evaluation must always terminate",
            )
            return None
        self._checking.append(name)
        try:
            expected = self._type(decl.type) if decl.type is not None else None
            typed = self._expr(decl.value, _Scope(outcome=True), frozenset(), expected)
            if expected is not None:
                self._expect(typed, expected, decl.value.span)
            uses_outcome = _uses_outcome(typed.expr, self.definitions)
            definition = model.Definition(
                name, typed.expr, expected or typed.type, uses_outcome, span=decl.name.span
            )
        finally:
            self._checking.pop()
        self.definitions[name] = definition
        return definition

    def _check_table(self, d: nodes.TableDecl) -> None:
        names: set[str] = set()
        for col in d.columns:
            if col.name.name in names:
                self.error("P202", f"column `{col.name.name}` is declared twice", col.name.span)
            names.add(col.name.name)
        keys: dict[Any, Span | None] = {}
        for row in d.rows:
            if len(row.cells) != len(d.columns):
                self.error(
                    "P302",
                    f"row has {len(row.cells)} cells but table `{d.name.name}` has "
                    f"{len(d.columns)} columns",
                    row.span,
                    help="columns: " + ", ".join(c.name.name for c in d.columns),
                )
                continue
            key = _hashable(self._row_values(d, row)[0] if d.columns else None)
            if key in keys:
                self.error(
                    "P203",
                    f"table `{d.name.name}` has two rows for `{_render(key)}`",
                    row.span,
                    help=f"the other is at {keys[key]}",
                )
            keys[key] = row.span

    def _column_type(self, col: nodes.Column) -> tuple[t.Type, bool]:
        if id(col) not in self._column_cache:  # resolve (and report) each column's type once
            optional = isinstance(col.type, nodes.OptionalType)
            inner = col.type.inner if isinstance(col.type, nodes.OptionalType) else col.type
            self._column_cache[id(col)] = (self._type(inner), optional)
        return self._column_cache[id(col)]

    def _row_values(self, table: nodes.TableDecl, row: nodes.Row) -> list[Any]:
        if id(row) in self._row_cache:
            return self._row_cache[id(row)]
        values: list[Any] = []
        for col, cell in zip(table.columns, row.cells, strict=True):
            ctype, optional = self._column_type(col)
            if isinstance(cell, nodes.Absent):
                if not optional:
                    self.error(
                        "P301",
                        f"column `{col.name.name}` needs a value",
                        cell.span,
                        help=f"declare it `{col.name.name}: {ctype}?` to allow `-`",
                    )
                values.append(None)
            else:
                values.append(self._constant(cell, ctype, f"column `{col.name.name}`"))
        self._row_cache[id(row)] = values
        return values

    def _constant(self, node: Any, expected: t.Type, what: str) -> Any:
        typed = self._expr(node, _Scope(), frozenset(), expected)
        self._expect(typed, expected, node.span)
        value = _const_value(typed.expr)
        if value is _NOT_CONST:
            self.error("P304", f"{what} must be a constant", node.span)
            return None
        return _coerce(value, expected)

    # ---- rules --------------------------------------------------------------------------------

    def _check_rule(self, d: nodes.RuleDecl) -> list[model.Rule]:
        effect = d.effect.name
        if effect not in self.effect_type.members and self.effect_type.members:  # else P401
            self.error(
                "P201",
                f"unknown effect `{effect}`",
                d.effect.span,
                help=did_you_mean(effect, self.effect_type.members),
            )
        table: nodes.TableDecl | None = None
        columns: dict[str, tuple[t.Type, bool]] = {}
        if d.table is not None:
            table = self.tables.get(d.table.name)
            if table is None:
                self.error(
                    "P201",
                    f"unknown table `{d.table.name}`",
                    d.table.span,
                    help=did_you_mean(d.table.name, self.tables),
                )
                return []
            columns = {c.name.name: self._column_type(c) for c in table.columns}
        scope = _Scope(
            locals={n: ty for n, (ty, optional) in columns.items() if not optional},
            columns=frozenset(columns),
        )
        by_kind: dict[type, list[Any]] = {}
        for clause in d.clauses:
            by_kind.setdefault(type(clause), []).append(clause)
        for kind, found in by_kind.items():
            if kind is not nodes.AnnotationClause and len(found) > 1:
                word = found[1].span.source.text[found[1].span.start :].split()[0]
                self.error(
                    "P307", f"rule `{d.name.name}` has more than one `{word}`", found[1].span
                )

        condition: Any = Const(True)
        for clause in by_kind.get(nodes.WhenClause, [])[:1]:
            typed = self._expr(clause.condition, scope, frozenset(), t.BOOL)
            self._expect(typed, t.BOOL, clause.condition.span)
            condition = typed.expr  # `decision` and outcome definitions: reported by _path
        cite_expr: Any = None
        for clause in by_kind.get(nodes.CiteClause, [])[:1]:
            typed = self._expr(clause.value, scope, frozenset(), None)
            if not (t.is_string(typed.type) or t.compatible(typed.type, _STRINGS)):
                self.error(
                    "P301",
                    f"`cite` takes a string or a set of strings, not {typed.type}",
                    clause.value.span,
                )
            cite_expr = typed.expr
        if cite_expr is None:
            self.warn("W101", f"rule `{d.name.name}` cites no clause", d.name.span)
        reason = ""
        for clause in by_kind.get(nodes.ReasonClause, [])[:1]:
            reason = clause.template
            self._check_template(clause, columns)
        if not by_kind.get(nodes.ReasonClause):
            self.warn("W102", f"rule `{d.name.name}` gives no reason", d.name.span)
        obligations: list[str] = []
        for clause in by_kind.get(nodes.ObligationsClause, [])[:1]:
            for ident in clause.names:
                if ident.name not in self.obligations:
                    self.error(
                        "P201",
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
                self.error(
                    "P201",
                    f"unknown annotation `{name}`",
                    clause.name.span,
                    help=did_you_mean(name, [*self.annotations, *_RULE_CLAUSE_WORDS])
                    or "declare it with `annotation NAME: TYPE`",
                )
                continue
            if any(a[0] == name for a in annotations):
                self.error("P307", f"annotation `{name}` is given twice", clause.span)
                continue
            atype = self.annotations[name]
            ascope = attrs.evolve(
                scope, locals={n: ty for n, (ty, _) in columns.items()}
            )  # optional columns may feed annotations: `-` leaves it unset
            typed = self._expr(clause.value, ascope, frozenset(), atype)
            self._expect(typed, atype, clause.value.span)
            annotations.append((name, typed.expr, clause))

        rows: list[tuple[str, dict[str, Any], Span | None]] = []
        if table is None:
            rows.append((d.name.name, {}, d.name.span))
        else:
            keys: set[Any] = set()
            for row in table.rows:
                if len(row.cells) != len(table.columns):
                    continue  # reported by the table check
                values = self._row_values(table, row)
                if values and _hashable(values[0]) in keys:
                    continue  # a second row for one key: reported by the table check
                keys.add(_hashable(values[0]) if values else None)
                bindings = {c.name.name: v for c, v in zip(table.columns, values, strict=True)}
                key = _render(values[0]) if values else ""
                rows.append((f"{d.name.name}[{key}]", bindings, row.span or d.name.span))

        rules = []
        not_constant: set[str] = set()  # reported once per rule, not once per row
        for rule_id, bindings, span in rows:
            cite = _const_value(_substitute(cite_expr, bindings)) if cite_expr else ()
            if cite is _NOT_CONST:
                if "cite" not in not_constant:
                    self.error("P304", "`cite` must be a constant", cite_expr.span)
                not_constant.add("cite")
                cite = ()
            ann: list[tuple[str, Any]] = []
            for name, expr, _clause in annotations:
                value = _const_value(_substitute(expr, bindings))
                if value is _NOT_CONST:
                    if name not in not_constant:
                        self.error("P304", f"annotation `{name}` must be a constant", expr.span)
                    not_constant.add(name)
                elif value is not None:
                    ann.append((name, _coerce(value, self.annotations[name])))
            rules.append(
                model.Rule(
                    id=rule_id,
                    effect=effect,
                    condition=_substitute(condition, bindings),
                    cite=_cite_strings(cite),
                    reason=_render_template(reason, bindings),
                    obligations=tuple(obligations),
                    tags=tuple(tags),
                    annotations=tuple(ann),
                    span=span,
                )
            )
        return rules

    def _check_template(self, clause: nodes.ReasonClause, columns: dict[str, Any]) -> None:
        for name in _template_names(clause.template):
            if name not in columns:
                self.error(
                    "P201",
                    f"unknown column `{name}` in reason",
                    clause.span,
                    help=did_you_mean(name, columns)
                    or "only table columns can be interpolated; write `{{` for a brace",
                )

    def _no_outcome(self, expr: Any, span: Span | None) -> None:
        if _uses_outcome(expr, self.definitions):
            self.error(
                "P306",
                "a rule's condition cannot depend on the decision",
                span,
                help="`decision`, `fired` and definitions using them belong in `output`",
            )

    # ---- outputs ------------------------------------------------------------------------------

    def _check_output(self, d: nodes.OutputDecl) -> model.Output:
        otype = self._type(d.type)
        scope = _Scope(outcome=True)
        cases: list[tuple[Any, Any]] = []
        for i, case in enumerate(d.cases):
            cond = None
            if case.condition is not None:
                typed = self._expr(case.condition, scope, frozenset(), t.BOOL)
                self._expect(typed, t.BOOL, case.condition.span)
                cond = typed.expr
            elif i != len(d.cases) - 1:
                self.error(
                    "P305",
                    "`otherwise` must be the last case",
                    case.span,
                    help="later cases never apply",
                )
            value = self._expr(case.value, scope, frozenset(), otype)
            self._expect(value, otype, case.value.span)
            cases.append((cond, value.expr))
        if not d.cases or d.cases[-1].condition is not None:
            self.error(
                "P305",
                f"output `{d.name.name}` may have no value",
                d.name.span,
                help="end it with `otherwise => VALUE`",
            )
        return model.Output(d.name.name, otype, tuple(cases), span=d.name.span)

    # ---- expressions --------------------------------------------------------------------------

    def _expect(self, typed: _Typed, expected: t.Type, span: Span | None) -> None:
        if not t.compatible(typed.type, expected):
            self.error("P301", f"expected {expected}, found {typed.type}", span)

    def _expr(
        self, e: Any, scope: _Scope, facts: frozenset[Fact], expected: t.Type | None
    ) -> _Typed:
        match e:
            case nodes.IntLit(value):
                return _Typed(Const(value, span=e.span), t.INT)
            case nodes.StrLit(value):
                return _Typed(Const(value, span=e.span), t.STRING)
            case nodes.BoolLit(value):
                return _Typed(Const(value, span=e.span), t.BOOL)
            case nodes.Absent():
                self.error("P301", "`-` is only allowed in a table cell", e.span)
                return _Typed(Const(None, span=e.span), t.ANY)
            case nodes.Path():
                return self._path(e, scope, facts, expected)
            case nodes.Has(path):
                return self._has(path, scope, e.span)
            case nodes.ListLit(items):
                return self._list(e, items, scope, facts, expected)
            case nodes.Call(func, args):
                return self._call(e, func, args, scope, facts)
            case nodes.And(operands) | nodes.Or(operands):
                is_and = isinstance(e, nodes.And)
                out = []
                known = facts
                for operand in operands:
                    typed = self._expr(operand, scope, known, t.BOOL)
                    self._expect(typed, t.BOOL, operand.span)
                    out.append(typed.expr)
                    more = _facts(typed.expr, is_and, self.definitions)
                    known = known | more
                return _Typed(attrs.evolve(e, operands=tuple(out)), t.BOOL)
            case nodes.Not(operand):
                typed = self._expr(operand, scope, facts, t.BOOL)
                self._expect(typed, t.BOOL, operand.span)
                return _Typed(attrs.evolve(e, operand=typed.expr), t.BOOL)
            case nodes.Compare(op, left, right):
                lt = self._expr(left, scope, facts, None)
                rt = self._expr(right, scope, facts, lt.type)
                if op in ("<", "<=", ">", ">="):
                    for side in (lt, rt):
                        if not t.is_int(side.type):
                            self.error("P301", f"`{op}` compares integers, not {side.type}", e.span)
                            break
                elif not t.compatible(lt.type, rt.type):
                    self.error("P301", f"cannot compare {lt.type} with {rt.type}", e.span)
                return _Typed(attrs.evolve(e, left=lt.expr, right=rt.expr), t.BOOL)
            case nodes.In(element, collection):
                if isinstance(collection, nodes.ListLit):
                    et = self._expr(element, scope, facts, None)
                    ct = self._expr(collection, scope, facts, t.CollectionType("list", et.type))
                else:
                    ct = self._expr(collection, scope, facts, None)
                    et = self._expr(element, scope, facts, t.element_of(ct.type))
                self._membership(et.type, ct.type, e.span, "in")
                return _Typed(attrs.evolve(e, element=et.expr, collection=ct.expr), t.BOOL)
            case nodes.SetTest(op, left, right):
                return self._set_test(e, op, left, right, scope, facts)
            case nodes.Arith(first, rest):
                ft = self._int_operand(first, scope, facts)
                rest_out = [(op, self._int_operand(x, scope, facts).expr) for op, x in rest]
                return _Typed(attrs.evolve(e, first=ft.expr, rest=tuple(rest_out)), t.INT)
            case nodes.Neg(operand):
                typed = self._int_operand(operand, scope, facts)
                return _Typed(attrs.evolve(e, operand=typed.expr), t.INT)
            case nodes.Quantifier(kind, var, collection, body):
                ct = self._expr(collection, scope, facts, None)
                elem = t.element_of(ct.type)
                if elem is None:
                    self.error(
                        "P301",
                        f"`{kind}` ranges over a set or list, not {ct.type}",
                        collection.span,
                    )
                    elem = t.ANY
                inner = scope.bind(var.name, elem)
                inner_facts = frozenset(f for f in facts if f[:2] != ("local", var.name))
                bt = self._expr(body, inner, inner_facts, t.BOOL)
                self._expect(bt, t.BOOL, body.span)
                return _Typed(attrs.evolve(e, collection=ct.expr, body=bt.expr), t.BOOL)
        raise AssertionError(f"unexpected node {e!r}")  # pragma: no cover

    def _int_operand(self, e: Any, scope: _Scope, facts: frozenset[Fact]) -> _Typed:
        typed = self._expr(e, scope, facts, t.INT)
        if not t.is_int(typed.type):
            self.error("P301", f"arithmetic needs integers, not {typed.type}", e.span)
        return typed

    def _membership(self, elem: t.Type, coll: t.Type, span: Span | None, op: str) -> None:
        inner = t.element_of(coll)
        if inner is None:
            self.error("P301", f"`{op}` needs a set or list, not {coll}", span)
        elif not t.compatible(elem, inner):
            self.error("P301", f"{coll} cannot contain {elem}", span)

    def _set_test(
        self,
        e: nodes.SetTest,
        op: str,
        left: Any,
        right: Any,
        scope: _Scope,
        facts: frozenset[Fact],
    ) -> _Typed:
        if op in ("starts_with", "ends_with", "like"):
            lt = self._expr(left, scope, facts, t.STRING)
            rt = self._expr(right, scope, facts, t.STRING)
            for side, node in ((lt, left), (rt, right)):
                if not t.is_string(side.type):
                    self.error("P301", f"`{op}` tests strings, not {side.type}", node.span)
        else:
            lt = self._expr(left, scope, facts, None)
            elem = t.element_of(lt.type)
            if elem is None:
                self.error(
                    "P301", f"`{op}` needs a set or list on its left, not {lt.type}", left.span
                )
                elem = t.ANY
            if op == "contains":
                rt = self._expr(right, scope, facts, elem)
                self._membership(rt.type, lt.type, e.span, op)
            else:
                rt = self._expr(right, scope, facts, t.CollectionType("list", elem))
                relem = t.element_of(rt.type)
                if relem is None:
                    self.error(
                        "P301",
                        f"`{op}` needs a set or list on its right, not {rt.type}",
                        right.span,
                    )
                elif not t.compatible(elem, relem):
                    self.error("P301", f"cannot compare {lt.type} with {rt.type}", e.span)
        return _Typed(attrs.evolve(e, left=lt.expr, right=rt.expr), t.BOOL)

    def _list(
        self,
        e: nodes.ListLit,
        items: tuple[Any, ...],
        scope: _Scope,
        facts: frozenset[Fact],
        expected: t.Type | None,
    ) -> _Typed:
        want = t.element_of(expected) if expected is not None else None
        out = []
        elem: t.Type = t.NOTHING
        for item in items:
            typed = self._expr(item, scope, facts, want if want is not None else None)
            if isinstance(elem, t.NothingType):
                elem = typed.type
                want = want or typed.type
            elif not t.compatible(elem, typed.type):
                self.error("P301", f"list mixes {elem} and {typed.type}", item.span)
            out.append(typed.expr)
        return _Typed(attrs.evolve(e, items=tuple(out)), t.CollectionType("list", elem))

    def _call(
        self,
        e: nodes.Call,
        func: nodes.Ident,
        args: tuple[Any, ...],
        scope: _Scope,
        facts: frozenset[Fact],
    ) -> _Typed:
        if func.name not in FUNCTIONS:
            self.error(
                "P201",
                f"unknown function `{func.name}`",
                func.span,
                help=did_you_mean(func.name, FUNCTIONS),
            )
            return _Typed(Const(None, span=e.span), t.ANY)
        if len(args) != FUNCTIONS[func.name]:
            self.error(
                "P302",
                f"`{func.name}` takes {FUNCTIONS[func.name]} argument, not {len(args)}",
                e.span,
            )
            return _Typed(Const(0, span=e.span), t.INT)
        typed = self._expr(args[0], scope, facts, None)
        if t.element_of(typed.type) is None:
            self.error("P301", f"`size` needs a set or list, not {typed.type}", args[0].span)
        return _Typed(model.Size(typed.expr, span=e.span), t.INT)

    def _has(self, path: nodes.Path, scope: _Scope, span: Span | None) -> _Typed:
        head = path.parts[0]
        if head in scope.locals and len(path.parts) == 2:
            ltype = scope.locals[head]
            field = ltype.field(path.parts[1]) if isinstance(ltype, t.RecordType) else None
            if field is None:
                return self._path(path, scope, frozenset({("local", *path.parts)}), None)
            return _Typed(
                FieldPresent(Local(head, span=path.span), path.parts[1], span=span), t.BOOL
            )
        if head in scope.locals or head in self.def_decls or head not in _field_names(self.schema):
            self.error(
                "P301",
                f"`has` tests a context attribute, and `{path.dotted}` is not one",
                path.span,
            )
            return _Typed(Const(False, span=span), t.BOOL)
        fields = self._walk(path, scope, None)
        if fields is None:
            return _Typed(Const(False, span=span), t.ANY)
        if not any(f.optional for f in fields):
            self.warn(
                "W301",
                f"`{path.dotted}` is always present",
                path.span,
                help="it has a default or is required, so `has` is always true",
            )
        return _Typed(Present(path.parts, span=span), t.BOOL)

    def _walk(
        self, path: nodes.Path, scope: _Scope, facts: frozenset[Fact] | None
    ) -> list[t.FieldType] | None:
        """The schema fields along a context path; with `facts`, also checks presence."""
        record: t.Type = self.schema
        fields: list[t.FieldType] = []
        for i, part in enumerate(path.parts):
            if not isinstance(record, t.RecordType):
                self.error(
                    "P301",
                    f"`{'.'.join(path.parts[:i])}` is {record}, which has no attributes",
                    path.span,
                )
                return None
            field = record.field(part)
            if field is None:
                prefix = ".".join(path.parts[:i])
                names = [f"{prefix}.{f.name}" if prefix else f.name for f in record.fields]
                self.error(
                    "P201",
                    f"unknown attribute `{'.'.join(path.parts[: i + 1])}`",
                    path.span,
                    help=did_you_mean(".".join(path.parts[: i + 1]), names),
                )
                return None
            fields.append(field)
            if facts is not None and field.optional and ("ctx", *path.parts[: i + 1]) not in facts:
                dotted = ".".join(path.parts[: i + 1])
                self.error(
                    "P303",
                    f"`{dotted}` is optional and may be absent here",
                    path.span,
                    help=f"test it first: `has {dotted} and ...`",
                )
                facts = None  # one report per read
            record = field.type
        return fields

    def _path(
        self, e: nodes.Path, scope: _Scope, facts: frozenset[Fact], expected: t.Type | None
    ) -> _Typed:
        head, rest = e.parts[0], e.parts[1:]
        if head in scope.locals:
            return self._local_path(e, scope, facts)
        if head in scope.columns:
            self.error(
                "P303",
                f"column `{head}` is optional and cannot be read in a condition",
                e.span,
                help="give every row a value, or use it only in annotations",
            )
            return _Typed(Const(None, span=e.span), t.ANY)
        if head in self.def_decls:
            if rest:
                self.error("P301", f"definition `{head}` has no attributes", e.span)
                return _Typed(Const(None, span=e.span), t.ANY)
            definition = self._definition(head)
            if definition is None:
                return _Typed(Const(None, span=e.span), t.ANY)
            if definition.uses_outcome and not scope.outcome:
                self._no_outcome(DefRef(head), e.span)
            return _Typed(DefRef(head, span=e.span), definition.type)
        if head in _field_names(self.schema):
            fields = self._walk(e, scope, facts)
            if fields is None:
                return _Typed(Const(None, span=e.span), t.ANY)
            ftype = fields[-1].type
            if isinstance(ftype, t.RecordType):
                self.error(
                    "P301",
                    f"`{e.dotted}` is a record; name one of its attributes",
                    e.span,
                    help=did_you_mean(
                        e.dotted + ".", [f"{e.dotted}.{f.name}" for f in ftype.fields]
                    ),
                )
                return _Typed(Const(None, span=e.span), t.ANY)
            return _Typed(Attr(e.parts, span=e.span), ftype)
        if head in OUTCOME_NAMES and scope.outcome:
            if rest:
                self.error("P301", f"`{head}` has no attributes", e.span)
            otype: t.Type = (
                self.effect_type if head == "decision" else t.CollectionType("list", self.rule_type)
            )
            return _Typed(Outcome(head, span=e.span), otype)
        if head in self.enums and len(e.parts) == 2:
            enum = self.enums[head]
            if rest[0] not in enum.members:
                self._unknown_member(enum, rest[0], e.span)
                return _Typed(Const(None, span=e.span), t.ANY)
            return _Typed(Const(rest[0], span=e.span), enum)
        if not rest:
            member = self._bare_member(head, expected, e.span)
            if member is not None:
                return member
        if head in OUTCOME_NAMES:
            self.error(
                "P306",
                f"`{head}` is only known inside `output`",
                e.span,
                help="rules decide; outputs read the decision",
            )
            return _Typed(Const(None, span=e.span), t.ANY)
        if isinstance(expected, t.EnumType) and not rest:
            self._unknown_member(expected, head, e.span)
            return _Typed(Const(None, span=e.span), t.ANY)
        visible = [*scope.locals, *self.def_decls, *_field_names(self.schema), *self.enums]
        if scope.outcome:
            visible.extend(OUTCOME_NAMES)
        self.error("P201", f"unknown name `{e.dotted}`", e.span, help=did_you_mean(head, visible))
        return _Typed(Const(None, span=e.span), t.ANY)

    def _bare_member(self, name: str, expected: t.Type | None, span: Span | None) -> _Typed | None:
        if isinstance(expected, t.EnumType) and name in expected.members:
            return _Typed(Const(name, span=span), expected)
        owners = [en for en in (*self.enums.values(), self.effect_type) if name in en.members]
        if len(owners) == 1:
            return _Typed(Const(name, span=span), owners[0])
        if len(owners) > 1:
            self.error(
                "P201",
                f"`{name}` is a member of several enums",
                span,
                help="qualify it: " + " or ".join(f"`{o.name}.{name}`" for o in owners),
            )
            return _Typed(Const(name, span=span), t.ANY)
        return None

    def _unknown_member(self, enum: t.EnumType, name: str, span: Span | None) -> None:
        self.error(
            "P204",
            f"`{name}` is not a member of {enum.name}",
            span,
            help=did_you_mean(name, enum.members),
        )

    def _local_path(self, e: nodes.Path, scope: _Scope, facts: frozenset[Fact]) -> _Typed:
        head = e.parts[0]
        expr: Any = Local(head, span=e.span)
        ltype = scope.locals[head]
        for i, part in enumerate(e.parts[1:], start=1):
            if not isinstance(ltype, t.RecordType):
                self.error(
                    "P301", f"`{'.'.join(e.parts[:i])}` is {ltype}, which has no attributes", e.span
                )
                return _Typed(Const(None, span=e.span), t.ANY)
            field = ltype.field(part)
            if field is None:
                self.error(
                    "P201",
                    f"unknown attribute `{'.'.join(e.parts[: i + 1])}`",
                    e.span,
                    help=did_you_mean(
                        ".".join(e.parts[: i + 1]),
                        [".".join((*e.parts[:i], f.name)) for f in ltype.fields],
                    ),
                )
                return _Typed(Const(None, span=e.span), t.ANY)
            if field.optional and ("local", head, part) not in facts:
                self.error(
                    "P303",
                    f"`{'.'.join(e.parts[: i + 1])}` may be absent here",
                    e.span,
                    help=f"test it first: `has {'.'.join(e.parts[: i + 1])} and ...`",
                )
            expr = FieldOf(expr, part, span=e.span)
            ltype = field.type
        return _Typed(expr, ltype)


# ---- helpers on resolved expressions ---------------------------------------------------------

_STRINGS = t.CollectionType("set", t.STRING)
_NOT_CONST = object()


def _field_names(record: t.RecordType) -> list[str]:
    return [f.name for f in record.fields]


def _facts(expr: Any, when_true: bool, defs: dict[str, model.Definition]) -> frozenset[Fact]:
    """Presence facts known when `expr` is true (or false): `has x` makes `x` readable."""
    match expr:
        case Present(path):
            if not when_true:
                return frozenset()
            return frozenset(("ctx", *path[: i + 1]) for i in range(len(path)))
        case FieldPresent(Local(name), field):
            return frozenset({("local", name, field)}) if when_true else frozenset()
        case nodes.Not(operand):
            return _facts(operand, not when_true, defs)
        case nodes.And(operands) if when_true:
            return frozenset().union(*(_facts(o, True, defs) for o in operands))
        case nodes.Or(operands) if not when_true:
            return frozenset().union(*(_facts(o, False, defs) for o in operands))
        case DefRef(name) if name in defs:
            return _facts(defs[name].expr, when_true, defs)
    return frozenset()


def _uses_outcome(expr: Any, defs: dict[str, model.Definition]) -> bool:
    if isinstance(expr, Outcome):
        return True
    if isinstance(expr, DefRef):
        return expr.name in defs and defs[expr.name].uses_outcome
    return any(_uses_outcome(c, defs) for c in model.children(expr))


def _substitute(expr: Any, bindings: dict[str, Any]) -> Any:
    """Replace table-column locals by the row's constants."""
    if not bindings:
        return expr
    if isinstance(expr, Local) and expr.name in bindings:
        return Const(bindings[expr.name], span=expr.span)
    if isinstance(expr, nodes.Quantifier) and expr.var.name in bindings:
        inner = {k: v for k, v in bindings.items() if k != expr.var.name}
        return attrs.evolve(
            expr,
            collection=_substitute(expr.collection, bindings),
            body=_substitute(expr.body, inner),
        )
    return model.map_children(expr, lambda c: _substitute(c, bindings))


def _const_value(expr: Any) -> Any:
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, nodes.ListLit):
        values = [_const_value(i) for i in expr.items]
        return _NOT_CONST if _NOT_CONST in values else tuple(values)
    return _NOT_CONST


def _coerce(value: Any, type_: t.Type) -> Any:
    """Give a constant the runtime shape of its type: sets are frozensets, lists tuples."""
    if isinstance(type_, t.CollectionType) and isinstance(value, tuple | frozenset):
        items = [_coerce(v, type_.element) for v in value]
        return frozenset(items) if type_.kind == "set" else tuple(items)
    return value


def _cite_strings(cite: Any) -> tuple[str, ...]:
    """A rule's citations, sorted; values of a mistyped `cite` (already reported) are dropped."""
    if isinstance(cite, str):
        return (cite,)
    values = cite if isinstance(cite, tuple | frozenset) else ()
    return tuple(sorted({c for c in values if isinstance(c, str)}))


def _hashable(value: Any) -> Any:
    return tuple(sorted(value)) if isinstance(value, frozenset) else value


def _render(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset | tuple | list):
        items = sorted(value) if isinstance(value, frozenset) else value
        return ", ".join(_render(v) for v in items)
    return str(value)


_TEMPLATE = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _template_names(template: str) -> list[str]:
    return [m.group(1) for m in _TEMPLATE.finditer(template) if m.group(1)]


def _render_template(template: str, bindings: dict[str, Any]) -> str:
    def replace(m: re.Match[str]) -> str:
        if m.group(0) in ("{{", "}}"):
            return m.group(0)[0]
        name = m.group(1)
        return _render(bindings[name]) if name in bindings else m.group(0)

    return _TEMPLATE.sub(replace, template)
