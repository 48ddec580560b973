"""Decisions: combining the fired rules' effects, obligations and citations; the result object."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from policydsl.entities import Entity
from policydsl.reprs import Repr

if TYPE_CHECKING:  # deciding on the compiled backend never reads the checked model
    from policydsl.model import CheckedPolicy, Rule

# What an `output` may not be named: the fixed fields of `Decision.to_dict()` and the attributes
# of a `Decision` (an output is read as `decision.NAME` too), which an output would replace.
RESERVED_OUTPUT_NAMES = frozenset(
    {"decision", "obligations", "citations", "rules", "reasons", "error", "outputs", "output"}
    | {"to_dict"}
)


class EvaluationError(RuntimeError):
    """A run-time error while deciding; checked policies are built so that it cannot happen."""


@attrs.frozen(repr=False)
class Decision(Repr):
    """The outcome of one request. `to_dict()` is the contract's JSON shape."""

    decision: str
    obligations: tuple[str, ...]
    citations: tuple[str, ...]
    rules: tuple[str, ...]
    reasons: tuple[str, ...]
    outputs: tuple[tuple[str, Any], ...] = ()
    error: str | None = None  # set only by fail-closed mode, for an invalid context

    def output(self, name: str) -> Any:
        return dict(self.outputs)[name]

    def __getattr__(self, name: str) -> Any:
        for key, value in object.__getattribute__(self, "outputs"):
            if key == name:
                return value
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        """A fresh dict in the contract's shape; changing it never changes the decision.

        Built afresh on each call, not kept: most decisions of varied traffic are turned into a
        dict once, and keeping a prepared head would cost every one of them more than it saves.
        """
        result: dict[str, Any] = {"decision": self.decision}
        for key, value in self.outputs:
            result[key] = value if value.__class__ in _SCALARS else to_json(value)
        result["obligations"] = list(self.obligations)
        result["citations"] = list(self.citations)
        result["rules"] = list(self.rules)
        result["reasons"] = list(self.reasons)
        if self.error is not None:
            result["error"] = self.error
        return result


_SCALARS = frozenset({str, int, bool, type(None)})  # JSON values as they are


def to_json(value: Any) -> Any:
    """A decided value as JSON data: sets sorted into lists, records (an element of a list of
    records) as objects of JSON values; an entity as its uid (`User::"alice"`), its attributes
    and references never walked (they may form a cycle)."""
    if value.__class__ is Entity:
        return value.uid
    if isinstance(value, frozenset):
        if any(v.__class__ is Entity for v in value):
            return [to_json(v) for v in sorted(value, key=lambda e: e.uid)]
        return sorted(to_json(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def combine(
    policy: CheckedPolicy, fired: Iterable[Rule]
) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(decision, obligations, citations, rule ids, reasons) for a set of fired rules.

    The strongest effect wins; obligations come from the rules whose effect is the decision;
    citations from every fired rule. Rules are reported sorted by id, reasons in the same order.
    """
    rules = sorted(fired, key=lambda r: r.id)
    decision = policy.default_effect
    if rules:
        decision = min((r.effect for r in rules), key=policy.rank)
    obligations = sorted({o for r in rules if r.effect == decision for o in r.obligations})
    citations = sorted({c for r in rules for c in r.cite})
    return (
        decision,
        tuple(obligations),
        tuple(citations),
        tuple(r.id for r in rules),
        tuple(r.reason for r in rules),
    )
