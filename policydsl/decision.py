"""Decisions: combining the fired rules' effects, obligations and citations; the result object."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from policydsl.entities import Entity

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


class Decision(tuple):  # type: ignore[type-arg]  # its fields are typed as properties below
    """The outcome of one request. `to_dict()` is the contract's JSON shape.

    Immutable, compared and hashed by its fields. A tuple underneath, so that the compiled
    backend builds one in a single allocation (`tuple.__new__`): on varied traffic most decisions
    are new objects, and an attrs instance (seven frozen-attribute writes) cost several times
    more than the rest of combining the fired rules. An output is read as `decision.NAME` too.
    """

    __slots__ = ()

    def __new__(
        cls,
        decision: str,
        obligations: tuple[str, ...],
        citations: tuple[str, ...],
        rules: tuple[str, ...],
        reasons: tuple[str, ...],
        outputs: tuple[tuple[str, Any], ...] = (),
        error: str | None = None,  # set only by fail-closed mode, for an invalid context
    ) -> Decision:
        return _new(cls, (decision, obligations, citations, rules, reasons, outputs, error))

    if TYPE_CHECKING:
        decision: str
        obligations: tuple[str, ...]
        citations: tuple[str, ...]
        rules: tuple[str, ...]
        reasons: tuple[str, ...]
        outputs: tuple[tuple[str, Any], ...]
        error: str | None
    else:
        decision = property(itemgetter(0))
        obligations = property(itemgetter(1))
        citations = property(itemgetter(2))
        rules = property(itemgetter(3))
        reasons = property(itemgetter(4))
        outputs = property(itemgetter(5))
        error = property(itemgetter(6))
        # a tuple's own methods would hide outputs so named
        count = property(lambda self: self.__getattr__("count"))
        index = property(lambda self: self.__getattr__("index"))

    def output(self, name: str) -> Any:
        return dict(self[5])[name]

    def __getattr__(self, name: str) -> Any:
        for key, value in self[5]:
            if key == name:
                return value
        raise AttributeError(name)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Decision:  # not even an equal plain tuple
            return False
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        if other.__class__ is not Decision:
            return True
        return tuple.__ne__(self, other)

    __hash__ = tuple.__hash__

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickling and copying call `__new__` with these
        return tuple(self)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(FIELDS, self, strict=True))
        return f"Decision({fields})"

    def to_dict(self) -> dict[str, Any]:
        """A fresh dict in the contract's shape; changing it never changes the decision.

        Built afresh on each call, not kept: most decisions of varied traffic are turned into a
        dict once, and keeping a prepared head would cost every one of them more than it saves.
        """
        decision, obligations, citations, rules, reasons, outputs, error = self
        result: dict[str, Any] = {"decision": decision}
        for key, value in outputs:
            result[key] = value if value.__class__ in _SCALARS else to_json(value)
        result["obligations"] = list(obligations)
        result["citations"] = list(citations)
        result["rules"] = list(rules)
        result["reasons"] = list(reasons)
        if error is not None:
            result["error"] = error
        return result


FIELDS = ("decision", "obligations", "citations", "rules", "reasons", "outputs", "error")
_new = tuple.__new__
new_decision = functools.partial(_new, Decision)
"""`new_decision((decision, obligations, citations, rules, reasons, outputs, error))`: a
decision from its seven fields at once, without `Decision.__new__`'s frame (the hot path)."""


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
