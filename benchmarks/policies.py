"""The synthetic policies the benchmarks decide with, compiled once and shared between files.

Compiling a 10,000-rule policy takes seconds, so `test_bench_compile` hands the policy it timed
to `test_bench_scaling` through this cache, and the naive backend reuses the compiled one's
checked and lowered front end (`policydsl.Policy(checked, lowered=..., backend="naive")`). Only
one shape's policies are alive at a time: a heap holding every 10,000-rule policy would slow the
garbage collector during the small benchmarks. The session-scoped `shape` fixture
(`conftest.py`) makes pytest run each shape's benchmarks together, so each is compiled once.
"""

from __future__ import annotations

import gc

import policydsl
from benchmarks.synthetic import SHAPES

_current: dict[tuple[str, int, str], policydsl.Policy] = {}


def keep(shape: str, n: int, backend: str, policy: policydsl.Policy) -> None:
    """Remember a policy a benchmark compiled; drop every other shape's first."""
    if any(key[0] != shape for key in _current):
        _current.clear()
        gc.collect()
    _current[shape, n, backend] = policy


def policy(shape: str, n: int, backend: str) -> policydsl.Policy:
    """The policy of `n` rules of `shape` on `backend`, compiled only if not at hand."""
    found = _current.get((shape, n, backend))
    if found is not None:
        return found
    sibling = next((p for (s, k, _), p in _current.items() if (s, k) == (shape, n)), None)
    if sibling is not None:
        made = policydsl.Policy(
            sibling.checked, backend=backend, sources=sibling.sources, lowered=sibling.lowered()
        )
    else:
        text = SHAPES[shape].policy(n)
        made = policydsl.loads(text, name=f"<{shape}-{n}>", backend=backend)
    keep(shape, n, backend, made)
    return made
