"""Decisions: combining the fired rules' effects, obligations and citations; the result object."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

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
    # `to_dict()`'s content, computed once: decisions are shared by every request that ends the
    # same way, so building the JSON shape per call would cost more than deciding.
    _json: tuple[tuple[str, Any, int], ...] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        items: list[tuple[str, Any]] = [("decision", self.decision)]
        items.extend((k, to_json(v)) for k, v in self.outputs)
        items.append(("obligations", list(self.obligations)))
        items.append(("citations", list(self.citations)))
        items.append(("rules", list(self.rules)))
        items.append(("reasons", list(self.reasons)))
        if self.error is not None:
            items.append(("error", self.error))
        # (key, value, kind): lists are copied per call so callers may change theirs; kind 1 is a
        # flat list (a slice copies it), kind 2 a list of lists
        json = tuple((k, v, _list_kind(v)) for k, v in items)
        object.__setattr__(self, "_json", json)

    def output(self, name: str) -> Any:
        return dict(self.outputs)[name]

    def __getattr__(self, name: str) -> Any:
        for key, value in object.__getattribute__(self, "outputs"):
            if key == name:
                return value
        raise AttributeError(name)

    def to_dict(self) -> dict[str, Any]:
        """A fresh dict in the contract's shape; changing it never changes the decision."""
        return {k: v if not kind else v[:] if kind == 1 else _fresh(v) for k, v, kind in self._json}


def _list_kind(value: Any) -> int:
    if not isinstance(value, list):
        return 0
    return 2 if any(isinstance(v, list) for v in value) else 1


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
