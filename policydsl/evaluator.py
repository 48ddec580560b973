"""The compiled evaluator: builds the program, generates its code, owns its caches and slow path.

Everything that depends only on which rules fired (the decision, obligations, citations, reasons,
the outcome-only parts of outputs) is computed once per set of fired rules and cached; decisions
are immutable, so one object serves every request that ends the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from policydsl import ir
from policydsl.codegen import generate
from policydsl.context import validate
from policydsl.decision import Decision, EvaluationError
from policydsl.indexing import program

# Bounds on what the caches keep, so that requests built to differ cannot grow memory without
# limit: past them, decisions are still right, only built afresh.
MAX_CACHED_RULE_SETS = 16_384
MAX_CACHED_OUTPUTS = 256  # decisions kept per rule set (outputs may read the request)
MAX_CACHED_DECISIONS = 65_536  # decisions kept in all

# What is cached per set of fired rules: the outcome-only flags, the decisions already built for
# output values, and the decision without outputs.
Entry = tuple[tuple[Any, ...], dict[Any, Decision], Decision]


class CompiledEvaluatorError(EvaluationError):
    """The generated code refused a context the validator accepted: a bug in policydsl."""


class CompiledEvaluator:
    """Decides with Python code generated from the decision-tree IR."""

    def __init__(self, lowered: ir.Lowered, *, indexed: bool = True, filename: str = "<policy>"):
        self.program = program(lowered, indexed=indexed)
        self._schema = lowered.schema
        self._rules = self.program.rules
        self._rank = {effect: i for i, effect in enumerate(self.program.effects)}
        self._output_names = tuple(o.name for o in self.program.outputs)
        self._cache: dict[tuple[int, ...], Entry] = {}
        self._cached_decisions = 0
        bound = {"_CACHE": self._cache, "_miss": self._miss, "_finish": self._finish}
        self.generated = generate(self.program, bound, filename)
        self._decide = self.generated.decide
        # `decide(context)`: the generated function with its fallback bound, no Python frame between
        self.decide: Callable[[Mapping[str, Any]], Decision] = functools.partial(
            self._decide, self._slow
        )

    def _slow(self, context: Any) -> Decision:
        """Anything the fast path did not accept: validate precisely (raising `ContextError`),
        then decide the normalised context, which the fast path always accepts."""
        normalised = _exact(validate(self._schema, context))
        return self._decide(_refuse, normalised)

    def _miss(self, key: tuple[int, ...]) -> Entry:
        """Combine the fired rules the first time this list of them is seen.

        The key lists rule numbers in the order they fired, repeats included (a label given
        twice fires its rule twice); rules are numbered in id order, so sorting them sorts ids.
        """
        fired = [self._rules[number] for number in sorted(set(key))]
        decision = self.program.default_effect
        if fired:
            decision = min((r.effect for r in fired), key=self._rank.__getitem__)
        obligations = tuple(
            sorted({o for r in fired if r.effect == decision for o in r.obligations})
        )
        citations = tuple(sorted({c for r in fired for c in r.cite}))
        base = Decision(
            decision,
            obligations,
            citations,
            tuple(r.id for r in fired),
            tuple(r.reason for r in fired),
        )
        flags = self.generated.flags(decision, tuple(_record(r) for r in fired))
        entry: Entry = (flags, {}, base)
        if len(self._cache) < MAX_CACHED_RULE_SETS:
            self._cache[key] = entry
        return entry

    def _finish(self, entry: Entry, key: Any) -> Decision:
        """The decision for a rule set and output values, built once and then shared."""
        values = key if len(self._output_names) > 1 else (key,)
        base = entry[2]
        decision = Decision(
            base.decision,
            base.obligations,
            base.citations,
            base.rules,
            base.reasons,
            tuple(zip(self._output_names, values, strict=True)),
        )
        if len(entry[1]) < MAX_CACHED_OUTPUTS and self._cached_decisions < MAX_CACHED_DECISIONS:
            entry[1][key] = decision
            self._cached_decisions += 1  # approximate under threads, which only errs low
        return decision


def _record(rule: ir.RuleInfo) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": rule.id,
        "effect": rule.effect,
        "cite": frozenset(rule.cite),
        "tags": frozenset(rule.tags),
    }
    record.update(rule.annotations)
    return record


def _exact(value: Any) -> Any:
    """A validated value rebuilt from exact built-in types, as the fast path's class tests want
    them: the validator accepts and keeps subclasses (an `IntEnum`, a `str` subclass), and makes
    sets frozensets, which the fast path refuses like any Python set (the validator does too)."""
    if isinstance(value, dict):
        return {key: _exact(v) for key, v in value.items()}
    if isinstance(value, tuple | frozenset):
        return tuple(_exact(v) for v in value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    return value


def _refuse(context: Any) -> Decision:
    raise CompiledEvaluatorError("the compiled evaluator rejected a validated context")
