"""`decide()` on the standard library, every backend beside the hand-written baseline.

Each round decides the whole seeded mix of contexts, so one figure covers benign requests, every
category, boundaries and multi-category requests in their fixed proportions; per-decision time is
the round's mean divided by `extra_info["decisions"]` (`report.py` does the division).

Before a backend is timed it must agree with the baseline on every context: a fast wrong answer
is not a result. That check also warms the compiled backends' per-rule-set caches, so the
figures are the steady state of "compile once, decide many times".

The varied benchmarks decide 200,000 independent seeded requests (`varied_contexts`; set
`POLICYDSL_BENCH_VARIED` for another count), tens of thousands of distinct sets of fired rules:
a first pass on a freshly loaded policy and a warm pass on one that has seen them all, each
beside the hand-written baseline, so a figure cannot rest on a cache of repeated traffic.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import policydsl
from benchmarks import handwritten
from benchmarks.contexts import make_contexts, varied_contexts

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


# ---- varied traffic: 200,000 independent requests ------------------------------------------

VARIED = "stdlib decide, varied"
N_VARIED = int(os.environ.get("POLICYDSL_BENCH_VARIED", "200000"))
VARIED_ROUNDS = 3


@pytest.fixture(scope="module")
def varied() -> list[dict[str, Any]]:
    return varied_contexts(N_VARIED)


@pytest.fixture(scope="module")
def varied_expected(varied: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_contract(handwritten.decide(c)) for c in varied]


def _varied_info(benchmark: Any, label: str, contexts: list[dict[str, Any]], passes: str) -> None:
    benchmark.group = VARIED
    benchmark.extra_info.update(label=label, decisions=len(contexts), passes=passes)


def test_varied_handwritten(benchmark: Any, varied: list[dict[str, Any]]) -> None:
    _varied_info(benchmark, "handwritten", varied, "warm")
    benchmark.pedantic(_decide_all, args=(handwritten.decide, varied), rounds=VARIED_ROUNDS)


@pytest.mark.parametrize("to_dict", [False, True], ids=["decide", "to_dict"])
def test_varied_first_pass(
    benchmark: Any,
    to_dict: bool,
    varied: list[dict[str, Any]],
    varied_expected: list[dict[str, Any]],
) -> None:
    """Each round loads a fresh stdlib (untimed), then decides every request once: nothing in
    any cache has seen them, which is what a new process meeting real traffic pays."""
    checked = policydsl.load_stdlib(backend="compiled").decide
    _assert_agrees(lambda c: checked(c).to_dict(), varied, varied_expected)

    def fresh() -> tuple[tuple[Decide, list[dict[str, Any]]], dict[str, Any]]:
        decide = policydsl.load_stdlib(backend="compiled").decide
        return (_to_dict(decide) if to_dict else decide, varied), {}

    label = "compiled + to_dict" if to_dict else "compiled"
    _varied_info(benchmark, label, varied, "first")
    benchmark.pedantic(_decide_all, setup=fresh, rounds=VARIED_ROUNDS)


@pytest.mark.parametrize("to_dict", [False, True], ids=["decide", "to_dict"])
def test_varied_warm_pass(
    benchmark: Any,
    to_dict: bool,
    varied: list[dict[str, Any]],
    varied_expected: list[dict[str, Any]],
) -> None:
    """The same requests again on one policy that has decided them all once (the check)."""
    decide = policydsl.load_stdlib(backend="compiled").decide
    _assert_agrees(lambda c: decide(c).to_dict(), varied, varied_expected)
    label = "compiled + to_dict" if to_dict else "compiled"
    _varied_info(benchmark, label, varied, "warm")
    timed = _to_dict(decide) if to_dict else decide
    benchmark.pedantic(_decide_all, args=(timed, varied), rounds=VARIED_ROUNDS)


def _to_dict(decide: Decide) -> Decide:
    return lambda c: decide(c).to_dict()
