"""Compile time: the stdlib loaded by a fresh interpreter, and a 10,000-rule policy compiled.

Both take milliseconds to seconds, so they run in pedantic mode with a few rounds. The cold load
runs `import policydsl; policydsl.load_stdlib()` in a child process: the benchmark times the
whole child (interpreter start-up included) and the child times import + load itself with
`time.perf_counter`, which is the figure the cold-load target is about (`extra_info["child_s"]`);
nothing else is imported inside that window (an `import pytest` there once added ~115 ms).
"Cold" means a new process with nothing in memory; the byte-code cache on disk is warm, as for
any installed package (the child may write it even under PYTHONDONTWRITEBYTECODE, and the
warm-up round does), and so are the user's caches that the warm-up round writes: the parser's
tables and the standard library's compiled artifact (`policydsl/artifact.py`). That figure,
`test_cold_load_stdlib`, is every start but the first after an install or an upgrade. The first
is measured apart, by `test_cold_load_without_artifact`, in the same way: `cached="tables"`
removes the artifact before each round (the parser's tables stay: the start after an upgrade
that kept the grammar; the round also writes the artifact anew), `cached="nothing"` runs with
the cache off (`POLICYDSL_CACHE_DIR=off`: Lark builds the tables, nothing is written).
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import policydsl
from benchmarks import policies
from benchmarks.contexts import iter_varied_contexts
from benchmarks.synthetic import SHAPES
from policydsl.lark_grammar import lark_parser

ROOT = Path(__file__).resolve().parent.parent
COLD_ROUNDS = 7
COMPILE_ROUNDS = 3  # a median of three: one round can land on a pause of the machine
COMPILE_RULES = 10_000

CHILD = """\
import json, time
start = time.perf_counter()
import policydsl
imported = time.perf_counter()
policydsl.load_stdlib()
loaded = time.perf_counter()
print(json.dumps({"import_s": imported - start, "load_s": loaded - imported}))
"""


def _child_env() -> dict[str, str]:
    """This checkout's `policydsl` first, whether or not a copy is installed; `.pyc` files on."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _cold_loads(
    benchmark: Any, env: dict[str, str], before: Callable[[], None] = lambda: None
) -> None:
    """Benchmark the child (`before` runs ahead of each round, outside the timing) and keep
    the figures it timed itself in `extra_info`."""
    timings: list[dict[str, float]] = []

    def load_in_child() -> None:
        out = subprocess.run(
            [sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        timings.append(json.loads(out.stdout))

    benchmark.group = "compile"
    benchmark.pedantic(
        load_in_child, setup=before, rounds=COLD_ROUNDS, iterations=1, warmup_rounds=1
    )
    measured = timings[1:]  # the warm-up round is not in the benchmark's statistics either
    benchmark.extra_info["child_s"] = [t["import_s"] + t["load_s"] for t in measured]
    benchmark.extra_info["import_s"] = [t["import_s"] for t in measured]
    benchmark.extra_info["load_s"] = [t["load_s"] for t in measured]


def test_cold_load_stdlib(benchmark: Any) -> None:
    """The start of every process but the first: from the user's caches."""
    benchmark.extra_info["cached"] = "tables and artifact"
    _cold_loads(benchmark, _child_env())


@pytest.mark.parametrize("cached", ["tables", "nothing"])
def test_cold_load_without_artifact(benchmark: Any, cached: str, tmp_path: Path) -> None:
    """The first start: the standard library parsed, checked, lowered, indexed and compiled,
    with the parser's tables from the cache (`tables`; the artifact is written) or built
    (`nothing`: the cache is off)."""
    env = _child_env()
    folder = tmp_path / "cache"  # the benchmark's own: the user's cache is left as it is
    folder.mkdir(mode=0o700)
    env["POLICYDSL_CACHE_DIR"] = str(folder) if cached == "tables" else "off"

    def drop_artifact() -> None:
        for path in folder.glob("*.lowered.json"):
            path.unlink()

    benchmark.extra_info["cached"] = cached
    _cold_loads(benchmark, env, drop_artifact)


def test_compile_10k_rules(benchmark: Any, shape: str) -> None:
    """One round: compiling 10,000 rules takes seconds; the scaling benchmarks reuse the policy."""
    text = SHAPES[shape].policy(COMPILE_RULES)
    benchmark.group = "compile"
    benchmark.extra_info.update(shape=shape, rules=COMPILE_RULES, chars=len(text))
    policy = benchmark.pedantic(
        policydsl.loads, args=(text,), kwargs={"backend": "compiled"}, rounds=COMPILE_ROUNDS
    )
    assert len(policy.checked.rules) == COMPILE_RULES
    policies.keep(shape, COMPILE_RULES, "compiled", policy)


# ---- memory --------------------------------------------------------------------------------

MEMORY_SHAPES = ("equality", "threshold", "prefix", "not_equal", "table_limits")
MEMORY_REQUESTS = int(os.environ.get("POLICYDSL_BENCH_MEMORY_REQUESTS", "200000"))
CHECKPOINTS = 10


def _traced_after(make: Callable[[], object]) -> tuple[object, int]:
    """What `make()` returns and the bytes it leaves allocated (tracemalloc, after a collection)."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    made = make()
    gc.collect()
    return made, tracemalloc.get_traced_memory()[0] - before


@pytest.mark.memory
@pytest.mark.parametrize("shape", MEMORY_SHAPES)
def test_memory_10k_rules(benchmark: Any, shape: str) -> None:
    """A compiled 10,000-rule policy's retained bytes against its source's Lark syntax tree.

    Both are measured by tracemalloc as what stays allocated after building them (the Lark
    parser itself is built first, outside the measurement). One round; the time is that of
    compiling under tracemalloc, not a figure to read.
    """
    text = SHAPES[shape].policy(COMPILE_RULES)
    lark_parser()
    sizes: dict[str, int] = {}

    def measure() -> None:
        tracemalloc.start()
        try:
            tree, sizes["tree_bytes"] = _traced_after(lambda: lark_parser().parse(text))
            del tree
            policy, sizes["policy_bytes"] = _traced_after(lambda: policydsl.loads(text))
            del policy
        finally:
            tracemalloc.stop()

    benchmark.group = "memory"
    benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update(shape=shape, rules=COMPILE_RULES, chars=len(text), **sizes)


@pytest.mark.memory
def test_memory_varied_requests(benchmark: Any) -> None:
    """Traced bytes while the stdlib decides MEMORY_REQUESTS varied requests (200,000 by
    default; `POLICYDSL_BENCH_MEMORY_REQUESTS=1000000` for the full million), sampled at
    ten checkpoints: anything a decision keeps (a cache) shows as growth between them."""
    samples: list[int] = []

    def run() -> None:
        policy = policydsl.load_stdlib(backend="compiled")
        decide = policy.decide
        step = max(1, MEMORY_REQUESTS // CHECKPOINTS)
        tracemalloc.start()
        try:
            gc.collect()
            samples.append(tracemalloc.get_traced_memory()[0])
            for i, context in enumerate(iter_varied_contexts(MEMORY_REQUESTS), 1):
                decide(context)
                if i % step == 0:
                    del context
                    gc.collect()
                    samples.append(tracemalloc.get_traced_memory()[0])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        benchmark.extra_info["peak_bytes"] = peak

    benchmark.group = "memory"
    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(requests=MEMORY_REQUESTS, traced_bytes=samples)
