"""Checking a rule's reason: each `{name}` it shows is resolved as a path in the rule's scope.

A placeholder may name a table column (put in place for each row, as text), an attribute of the
request (`{user.age}`; an optional one may be absent and then shows `-`), a definition, or the
variable of a `some` test at the top level of the rule's `when` (`{c.name}`: the first element
that passes). Anything else is reported where it is written, with what could be meant. A reason
that still reads the request once its row is in place becomes a `model.Message`.
"""

from __future__ import annotations

from typing import Any

import attrs

from policydsl import messages, model, nodes, table_rows
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic
from policydsl.model import Const
from policydsl.typecheck import ExprChecker, Scope


@attrs.frozen
class Template:
    """A checked reason: text and the expressions of its placeholders, before any row."""

    parts: tuple[str | Any, ...]
    witnesses: frozenset[str]  # the `some` variables its parts read
    reads: bool  # a part is more than a column's value (an attribute, a definition...)

    def for_row(
        self, condition: Any, values: dict[str, Any], types: dict[str, t.Type]
    ) -> tuple[str, model.Message | None]:
        """The reason for one row (or the plain rule: no `values`) of the rule's checked
        `condition`: its text, each part the row makes constant put in; and the message when
        parts still read the request. A part that is a column is read from `values` directly."""
        if not self.reads:  # text and columns only: the common case, made as text at once
            return "".join(
                p
                if isinstance(p, str)
                else table_rows.cell_text(values[p[1].name], types[p[1].name])
                for p in self.parts
            ), None
        bindings = {n: Const(v, type=types[n]) for n, v in values.items()}
        parts: list[str | Any] = []
        shown: list[str] = []  # the reason as text: placeholders left as written
        for part in self.parts:
            if isinstance(part, tuple):  # (dotted text, expression)
                written, expr = part
                expr = table_rows.substitute(expr, bindings)
                if isinstance(expr, Const):
                    text = table_rows.cell_text(expr.value, expr.type)
                    parts.append(text)
                    shown.append(text)
                    continue
                parts.append(expr)
                shown.append("{" + written + "}")
            else:
                parts.append(part)
                shown.append(part)
        reason = "".join(shown)
        if all(isinstance(p, str) for p in parts):
            return reason, None
        witnesses = tuple(
            table_rows.substitute(q, bindings)
            for q in _top_level_somes(condition)
            if q.var.name in self.witnesses
        )
        return reason, model.Message(tuple(_joined(parts)), witnesses)


def check(
    exprs: ExprChecker,
    clause: nodes.ReasonClause,
    scope: Scope,
    condition: Any,
) -> Template:
    """The reason's template, its placeholders checked in the rule's scope (columns, the
    request, definitions) and the variables of the top-level `some` tests of `condition`."""
    segments = messages.segments(clause.template)
    if all(isinstance(segment, str) for segment in segments):  # plain text: nothing to resolve
        return Template(tuple(segments), frozenset(), False)
    witnesses = _witness_types(exprs, scope, condition)
    inner = scope
    for name, type_ in witnesses.items():
        inner = inner.bind(name, type_, (f"the variable `{name}` of a `some` test", None))
    parts: list[str | Any] = []
    bound = _bound_inside(condition)
    for segment in segments:
        if isinstance(segment, str):
            parts.append(segment)
            continue
        expr = _placeholder(exprs, segment, inner, clause, bound)
        parts.append((".".join(segment), _written_out(expr, exprs.definitions)))
    used = {name for p in parts if isinstance(p, tuple) for name in _locals(p[1])}
    reads = any(
        isinstance(p, tuple) and not (isinstance(p[1], model.Local) and p[1].name in scope.locals)
        for p in parts
    )
    return Template(tuple(parts), frozenset(used & witnesses.keys()), reads)


def _placeholder(
    exprs: ExprChecker,
    path: tuple[str, ...],
    scope: Scope,
    clause: nodes.ReasonClause,
    inner: set[str],
) -> Any:
    """One placeholder's expression; problems reported at the reason. Reading an optional
    attribute needs no `has` here: an absent one shows as `-`."""
    found: list[Diagnostic] = []
    saved, exprs.diagnostics = exprs.diagnostics, found
    try:
        typed = exprs.expr(nodes.Path(path, span=clause.span), scope, frozenset(), None)
    finally:
        exprs.diagnostics = saved
    for diagnostic in found:
        if diagnostic.code == Code.UNKNOWN_NAME and path[0] in inner:
            help = f"`{path[0]}` is bound inside `when`, by an `all` or a nested test: no one "
            help += "element made the rule fire; a `some` at the top of `when` names one"
            saved.append(
                attrs.evolve(diagnostic, message=diagnostic.message + " in reason", help=help)
            )
        elif diagnostic.code != Code.MAY_BE_ABSENT:
            saved.append(_in_reason(diagnostic))
    if _shows_records(typed.type):
        dotted = ".".join(path)
        exprs.error(
            Code.REASON_SHOWS_RECORD,
            f"a reason shows values, and `{{{dotted}}}` is {typed.type}",
            clause.span,
            help=f"name one of its attributes: `{{{dotted}.name}}`",
        )
    return typed.expr


def _in_reason(diagnostic: Diagnostic) -> Diagnostic:
    hint = "a reason's `{name}` reads a column, an attribute, a definition or the variable of "
    hint += "a `some` at the top of `when`; write `{{` for a brace"
    if "unknown" in diagnostic.message and diagnostic.help is None:
        return attrs.evolve(diagnostic, message=diagnostic.message + " in reason", help=hint)
    if "unknown" in diagnostic.message:
        return attrs.evolve(diagnostic, message=diagnostic.message + " in reason")
    return diagnostic


def _shows_records(type_: t.Type) -> bool:
    if isinstance(type_, t.CollectionType):
        return _shows_records(type_.element)
    return isinstance(type_, t.RecordType)


def _witness_types(exprs: ExprChecker, scope: Scope, condition: Any) -> dict[str, t.Type]:
    """The element type of each top-level `some` of the `when` (its variable named once);
    checked quietly, as `when` itself reported its problems."""
    somes = [q for q in _top_level_somes(condition) if isinstance(q.var, nodes.Ident)]
    names = [q.var.name for q in somes]
    found: dict[str, t.Type] = {}
    for q in somes:
        if names.count(q.var.name) > 1 or q.var.name in scope.locals:
            continue  # two tests bind it: which element a reason shows would be unclear
        saved, exprs.diagnostics = exprs.diagnostics, []
        try:
            typed = exprs.expr(q.collection, scope, frozenset(), None)
        finally:
            exprs.diagnostics = saved
        if isinstance(typed.type, t.CollectionType):
            found[q.var.name] = typed.type.element
    return found


def _bound_inside(condition: Any) -> set[str]:
    """The variables of every quantifier in `condition` (syntax), at any depth."""
    found: set[str] = set()
    stack = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.Quantifier) and isinstance(node.var, nodes.Ident):
            found.add(node.var.name)
        stack.extend(model.children(node))
    return found


def _top_level_somes(condition: Any) -> list[Any]:
    operands = condition.operands if isinstance(condition, nodes.And) else (condition,)
    return [q for q in operands if isinstance(q, nodes.Quantifier) and q.kind == "some"]


def _written_out(expr: Any, definitions: dict[str, model.Definition]) -> Any:
    """The expression with each definition it uses replaced by its body (bounded, as every
    definition's written-out size is: `inlining`)."""
    if isinstance(expr, model.DefRef) and expr.name in definitions:
        return _written_out(definitions[expr.name].expr, definitions)
    return model.map_children(expr, lambda e: _written_out(e, definitions))


def _locals(expr: Any) -> set[str]:
    if isinstance(expr, model.Local):
        return {expr.name}
    return {name for child in model.children(expr) for name in _locals(child)}


def _joined(parts: list[str | Any]) -> list[str | Any]:
    joined: list[str | Any] = []
    for part in parts:
        if isinstance(part, str) and joined and isinstance(joined[-1], str):
            joined[-1] += part
        elif part != "":
            joined.append(part)
    return joined
