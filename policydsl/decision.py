"""Decisions: combining the fired rules' effects, obligations and citations; the result object."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from policydsl.model import CheckedPolicy, Rule


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

    def output(self, name: str) -> Any:
        return dict(self.outputs)[name]

    def __getattr__(self, name: str) -> Any:
        for key, value in object.__getattribute__(self, "outputs"):
            if key == name:
                return value
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"decision": self.decision}
        out.update((k, to_json(v)) for k, v in self.outputs)
        out["obligations"] = list(self.obligations)
        out["citations"] = list(self.citations)
        out["rules"] = list(self.rules)
        out["reasons"] = list(self.reasons)
        if self.error is not None:
            out["error"] = self.error
        return out


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
