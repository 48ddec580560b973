"""Rule checks kept from one check of a policy set to the next, for the language server: an edit
to one rule of 10,000 leaves the other rules' checks as they were.

A rule's check (`checker._Checker._check_rule`: its model rules and its diagnostics) depends on
the rule's own syntax nodes and on the environment the other declarations make (enums, context,
effects, definitions, tables, annotations, obligations, properties). The server parses block by
block and keeps the nodes of every block whose text is unchanged (`pieces`), so a rule whose
node object is the one checked last time, among declarations other than rules that are all the
very objects they were, is checked as it was: its rules are reused and its diagnostics given
again (their spans are in the rule's block, which keeps its place in the file up to date).
Whenever a declaration other than a rule changes, nothing is kept. `policyc check` checks from
scratch; `tests/test_pieces.py` holds the two equal over edits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from policydsl import model, nodes
from policydsl.diagnostics import Diagnostic

_Kept = tuple[nodes.RuleDecl, list[model.Rule], list[Diagnostic]]


class RuleMemo:
    """The rules and diagnostics of each rule checked last time, by its node's identity (the
    node is held, so its id is not reused)."""

    def __init__(self) -> None:
        self._others: tuple[Any, ...] | None = None
        self._kept: dict[int, _Kept] = {}
        self._now: dict[int, _Kept] = {}

    def begin(self, decls: Sequence[Any]) -> None:
        """A check of `decls` begins: keep last time's rules if every other declaration is the
        object it was."""
        others = tuple(d for d in decls if not isinstance(d, nodes.RuleDecl))
        same = self._others is not None and len(others) == len(self._others)
        if not same or any(a is not b for a, b in zip(others, self._others or (), strict=False)):
            self._kept = {}
        self._others = others
        self._now = {}

    def check(
        self,
        rule: nodes.RuleDecl,
        check_rule: Callable[[nodes.RuleDecl], list[model.Rule]],
        diagnostics: list[Diagnostic],
    ) -> list[model.Rule]:
        """`check_rule(rule)`, or what it gave last time (its diagnostics appended again)."""
        known = self._kept.get(id(rule))
        if known is not None and known[0] is rule:
            rules, found = known[1], known[2]
            diagnostics.extend(found)
        else:
            before = len(diagnostics)
            rules = check_rule(rule)
            found = diagnostics[before:]
        self._now[id(rule)] = (rule, rules, found)
        return rules

    def end(self) -> None:
        """The check is done: what it checked is what is kept (a deleted rule is dropped)."""
        self._kept, self._now = self._now, {}
