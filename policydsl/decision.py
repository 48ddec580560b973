"""Decisions: combining the fired rules' effects, obligations and citations; the result object."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

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


@attrs.frozen
class Decision:
    """The outcome of one request. `to_dict()` is the contract's JSON shape."""

    decision: str
    obligations: tuple[str, ...]
    citations: tuple[str, ...]
    rules: tuple[str, ...]
    reasons: tuple[str, ...]
    outputs: tuple[tuple[str, Any], ...] = ()
    error: str | None = None  # set only by fail-closed mode, for an invalid context
    # `to_dict()`'s head (the decision and the outputs' JSON values) and the outputs whose value is
    # a list, built on the first call: a decision is shared by every request that ends the same
    # way, and building it stays cheap for the many that are never turned into a dict.
    _json: tuple[dict[str, Any], tuple[str, ...]] | None = attrs.field(
        default=None, init=False, eq=False, repr=False, hash=False
    )

    def output(self, name: str) -> Any:
        return dict(self.outputs)[name]

    def __getattr__(self, name: str) -> Any:
        for key, value in object.__getattribute__(self, "outputs"):
            if key == name:
                return value
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        """A fresh dict in the contract's shape; changing it never changes the decision."""
        json = self._json
        if json is None:
            json = self._head()
        result = json[0].copy()
        for key in json[1]:
            result[key] = _fresh(result[key])
        result["obligations"] = list(self.obligations)
        result["citations"] = list(self.citations)
        result["rules"] = list(self.rules)
        result["reasons"] = list(self.reasons)
        if self.error is not None:
            result["error"] = self.error
        return result

    def _head(self) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Threads that race here build equal values; whichever is kept serves every call."""
        head: dict[str, Any] = {"decision": self.decision}
        head.update((k, to_json(v)) for k, v in self.outputs)
        json = (head, tuple(k for k, _ in self.outputs if isinstance(head[k], list)))
        object.__setattr__(self, "_json", json)
        return json


def _fresh(value: list[Any]) -> list[Any]:
    return [_fresh(v) if isinstance(v, list) else v for v in value]


def to_json(value: Any) -> Any:
    if isinstance(value, frozenset):
        return sorted(to_json(v) for v in value)
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
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
