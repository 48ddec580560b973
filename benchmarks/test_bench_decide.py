"""`decide()` on the standard library, every backend beside the hand-written baseline.

Each round decides the whole seeded mix of contexts, so one figure covers benign requests, every
category, boundaries and multi-category requests in their fixed proportions; per-decision time is
the round's mean divided by `extra_info["decisions"]` (`report.py` does the division).

Before a backend is timed it must agree with the baseline on every context: a fast wrong answer
is not a result. That check also warms the compiled backends' per-rule-set caches, so the
figures are the steady state of "compile once, decide many times".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import policydsl
from benchmarks import handwritten
from benchmarks.contexts import make_contexts

GROUP = "stdlib decide"
N_CONTEXTS = 2_000
CONTRACT_FIELDS = ("decision", "enforcement", "obligations", "citations")

Decide = Callable[[Mapping[str, Any]], Any]


@pytest.fixture(scope="module")
def contexts() -> list[dict[str, Any]]:
    return make_contexts(N_CONTEXTS)


@pytest.fixture(scope="module")
def expected(contexts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The baseline's contract fields for each context."""
    return [_contract(handwritten.decide(c)) for c in contexts]


def _contract(decision: Mapping[str, Any]) -> dict[str, Any]:
    return {field: decision[field] for field in CONTRACT_FIELDS}


def _decide_all(decide: Decide, contexts: list[dict[str, Any]]) -> None:
    """One round: every context, through a C-level loop so the harness costs ~nothing."""
    deque(map(decide, contexts), maxlen=0)


def _assert_agrees(
    as_dict: Decide, contexts: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    for i, (context, want) in enumerate(zip(contexts, expected, strict=True)):
        got = _contract(as_dict(context))
        assert got == want, f"context #{i} {context!r}: got {got}, baseline says {want}"


def _run(
    benchmark: Any,
    name: str,
    decide: Decide,
    contexts: list[dict[str, Any]],
    expected: list[dict[str, Any]],
    as_dict: Decide | None = None,
) -> None:
    """Check `decide` (through `as_dict` if it returns an object), then time it."""
    _assert_agrees(as_dict or decide, contexts, expected)
    benchmark.group = GROUP
    benchmark.extra_info["label"] = name
    benchmark.extra_info["decisions"] = len(contexts)
    benchmark(_decide_all, decide, contexts)


@pytest.mark.parametrize("backend", ["compiled", "naive", "interpreted"])
def test_decide_backend(
    benchmark: Any, backend: str, contexts: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    policy = policydsl.load_stdlib(backend=backend)
    decide = policy.decide
    _run(benchmark, backend, decide, contexts, expected, lambda c: decide(c).to_dict())


def test_decide_handwritten(
    benchmark: Any, contexts: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    _run(benchmark, "handwritten", handwritten.decide, contexts, expected)


def test_decide_compiled_to_dict(
    benchmark: Any, contexts: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    """The baseline returns a dict; this is the compiled backend doing the same work."""
    decide = policydsl.load_stdlib(backend="compiled").decide
    _run(benchmark, "compiled + to_dict", lambda c: decide(c).to_dict(), contexts, expected)
