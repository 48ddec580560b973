"""What rules written the common way share, made once per policy set rather than once per rule:
the scope of a rule of no table, and the template of a reason of plain text (no placeholder),
which is the same whatever the rule. 10,000 rules often give a handful of reasons."""

from __future__ import annotations

from typing import Any

from policydsl import nodes, reason_templates
from policydsl.typecheck import ExprChecker
from policydsl.typed import Scope


class PlainRules:
    """One checker's shared scope and plain reasons."""

    def __init__(self) -> None:
        # the scope of every rule of no table: nothing local, no column (never changed: a scope
        # is extended by `Scope.bind` and `attrs.evolve`, which make new ones)
        self.scope = Scope()
        self._reasons: dict[str, reason_templates.Template] = {}

    def reason(
        self, exprs: ExprChecker, clause: nodes.ReasonClause, scope: Scope, condition: Any
    ) -> reason_templates.Template:
        """`reason_templates.check`, kept by text when the text has no brace (so neither a
        placeholder nor an escaped brace: its template is the text, and nothing is reported)."""
        text = clause.template
        if "{" in text or "}" in text:
            return reason_templates.check(exprs, clause, scope, condition)
        found = self._reasons.get(text)
        if found is None:
            found = self._reasons[text] = reason_templates.check(exprs, clause, scope, condition)
        return found
