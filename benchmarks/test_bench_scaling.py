"""How `decide()` grows with the number of rules, per rule shape, beside a hand-written solution.

One request per benchmark, timed per call: a request matching exactly one rule and one matching
none, on synthetic policies of 10 to 10,000 rules (`synthetic.py`), indexed (`compiled`) against
`naive` lowering, and the shape's hand-written Python solution (`handwritten_shapes.py`) on the
same request. An indexed policy should pay for the rules that can fire, so its time should
barely move with N; the naive one scans them all. Every decision is checked before it is timed.

Rounds are capped at 0.1 s of timing each (a naive 10,000-rule decision is milliseconds, and
there are 18 shapes x 4 sizes x 2 requests x 3 solutions); the median is robust to that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from benchmarks import policies
from benchmarks.handwritten_shapes import SOLVERS
from benchmarks.synthetic import SHAPES, SIZES

BACKENDS = ("compiled", "naive", "handwritten")
REQUESTS = ("one", "none")


# warm-up rounds: the first calls after a compile run with cold CPU caches and would move the mean
@pytest.mark.benchmark(warmup=True, warmup_iterations=1000, max_time=0.1)
@pytest.mark.parametrize("kind", REQUESTS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", SIZES)
def test_scaling(benchmark: Any, shape: str, n: int, backend: str, kind: str) -> None:
    context, fired = SHAPES[shape].requests(n)[kind]
    decide: Callable[[dict[str, Any]], object]
    if backend == "handwritten":
        solve = SOLVERS[shape](n)
        assert solve(context) == fired
        decide = solve
    else:
        policy_decide = policies.policy(shape, n, backend).decide
        assert policy_decide(context).rules == fired  # the request matches what it says it does
        decide = policy_decide

    benchmark.group = f"scaling: {shape}"
    benchmark.extra_info.update(shape=shape, backend=backend, request=kind, rules=n)
    benchmark(decide, context)
