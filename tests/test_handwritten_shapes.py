"""The hand-written solution of each synthetic shape agrees with policydsl on every backend.

The scaling benchmarks put each shape's hand-written solution (`benchmarks/handwritten_shapes.py`)
beside the engine, so it must answer the same question: here both decide the shape's `one` and
`none` requests and a seeded campaign of random requests, and must fire the same rules. The
requests are built to hit rules (boundaries, shared prefixes, half-met sets), not just miss.
"""

from __future__ import annotations

import os
import random
from functools import cache

import pytest

import policydsl
from benchmarks.handwritten_shapes import SOLVERS, Solver
from benchmarks.synthetic import SHAPES
from tests.campaigns import campaign_size

BACKENDS = ("compiled", "naive", "interpreted")
REQUESTS = campaign_size("POLICYDSL_SHAPE_REQUESTS", full=400, quick=150)
# 1,000 rules compile for tens of seconds over all shapes and backends: on demand only
LARGE = os.environ.get("POLICYDSL_SHAPES_LARGE", "") not in ("", "0")
SIZES = [
    10,
    100,
    pytest.param(1_000, marks=pytest.mark.skipif(not LARGE, reason="set POLICYDSL_SHAPES_LARGE=1")),
]


@cache
def _policies(shape: str, n: int) -> tuple[policydsl.Policy, ...]:
    text = SHAPES[shape].policy(n)
    return tuple(policydsl.loads(text, name=f"<{shape}-{n}>", backend=b) for b in BACKENDS)


def _agree(shape: str, n: int, solver: Solver, context: dict[str, object]) -> tuple[str, ...]:
    want = solver(context)
    for policy in _policies(shape, n):
        got = policy.decide(context).rules
        assert got == want, f"{shape}, {n} rules, {policy.backend}: {context}: {got} != {want}"
    return want


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_solver_agrees_with_every_backend(shape: str, n: int) -> None:
    solver = SOLVERS[shape](n)
    for kind, (context, fired) in SHAPES[shape].requests(n).items():
        assert solver(context) == fired, kind
        assert _agree(shape, n, solver, context) == fired, kind
    rng = random.Random(f"{shape}-{n}")
    results = [
        _agree(shape, n, solver, SHAPES[shape].random_request(n, rng)) for _ in range(REQUESTS)
    ]
    # the campaign is worth running only if it both fires rules and misses
    assert any(results), "no random request fired a rule"
    assert not all(results), "every random request fired a rule"


def test_one_and_none_requests_say_what_they_fire() -> None:
    for shape, family in SHAPES.items():
        requests = family.requests(10)
        assert set(requests) == {"one", "none"}, shape
        assert len(requests["one"][1]) == 1, shape
        assert requests["none"][1] == (), shape


def test_ten_thousand_rules_fit_the_file_limit() -> None:
    from policydsl.parser import MAX_SOURCE_CHARS

    for shape, family in SHAPES.items():
        assert len(family.policy(10_000)) < MAX_SOURCE_CHARS, shape
