"""How `decide()` grows with the number of rules: indexed (`compiled`) against `naive` lowering.

One request per benchmark, timed per call: a request matching exactly one rule and one matching
none, on synthetic policies of 10 to 10,000 rules (`synthetic.py`). An indexed policy should pay
for the rules that can fire, so its time should barely move with N; the naive one scans them all.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest

import policydsl
from benchmarks.synthetic import SHAPES, SIZES

BACKENDS = ("compiled", "naive")
REQUESTS = ("one", "none")

# Ordered so that consecutive benchmarks share a policy: each is compiled once, and only one is
# alive at a time (a heap holding every 10,000-rule policy would slow the garbage collector
# during the small ones).
CASES = [
    pytest.param(shape, backend, n, kind, id=f"{shape}-{backend}-{n}-{kind}")
    for shape in sorted(SHAPES)
    for backend in BACKENDS
    for n in SIZES
    for kind in REQUESTS
]


_current: dict[tuple[str, int, str], policydsl.Policy] = {}


def _policy(shape: str, n: int, backend: str) -> policydsl.Policy:
    """The policy for this case, compiled after the previous one is dropped and collected."""
    key = (shape, n, backend)
    if key not in _current:
        _current.clear()
        gc.collect()
        make_text, _ = SHAPES[shape]
        _current[key] = policydsl.loads(make_text(n), name=f"<{shape}-{n}>", backend=backend)
    return _current[key]


# warm-up rounds: the first calls after a compile run with cold CPU caches and would move the mean
@pytest.mark.benchmark(warmup=True)
@pytest.mark.parametrize(("shape", "backend", "n", "kind"), CASES)
def test_scaling(benchmark: Any, shape: str, backend: str, n: int, kind: str) -> None:
    policy = _policy(shape, n, backend)
    _, make_requests = SHAPES[shape]
    context, fired = make_requests(n)[kind]
    assert policy.decide(context).rules == fired  # the request matches what it says it does

    benchmark.group = f"scaling: {shape}"
    benchmark.extra_info.update(shape=shape, backend=backend, request=kind, rules=n)
    benchmark(policy.decide, context)
