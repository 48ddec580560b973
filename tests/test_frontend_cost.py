"""The front end's cost is linear in the policy's size: definitions are checked once each, in an
order that needs no recursion, and what inlining them would cost is bounded with a diagnostic
(P701 size, P702 nesting) instead of being paid. No pass lets a `RecursionError` escape."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import policydsl

BACKENDS = ("compiled", "naive", "interpreted")
HEADER = "context { n: int = 0 }\neffects deny > allow default allow\n"


def chain(body: Callable[[int], str], length: int, first: str, rule: str) -> str:
    defs = [f"def d0 = {first}"] + [f"def d{i} = {body(i)}" for i in range(1, length + 1)]
    return HEADER + "\n".join(defs) + f'\nrule r: deny {{ when {rule} cite "c" reason "r" }}\n'


def doubling(length: int, op: str = "+") -> str:
    """`def d_i = d_{i-1} + d_{i-1}`: written out, `d_i` has 2^i leaves."""
    rule = f"d{length} > 5" if op == "+" else f"d{length}"
    first = "n" if op == "+" else "n > 0"
    return chain(lambda i: f"d{i - 1} {op} d{i - 1}", length, first, rule)


@contextmanager
def bounded(seconds: float, megabytes: float) -> Iterator[None]:
    """Generous guards against a blow-up, not a benchmark."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert peak < megabytes * 1e6, f"peak {peak / 1e6:.0f} MB"


def errors(text: str) -> list[policydsl.Diagnostic]:
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(text, name="cost.policy")
    return [d for d in info.value.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("op", ["+", "or", "and"])
def test_a_doubling_chain_is_refused_in_linear_time(op: str) -> None:
    """24 lines took hours (16 took 68 s and 82 MB): each doubled the inlined expression."""
    with bounded(seconds=5, megabytes=50):
        found = errors(doubling(24, op))
    (error,) = found
    first = 13 if op == "+" else 12  # the first past the limit: `n > 0` is three nodes
    assert error.code == "P701"
    assert error.message.startswith(f"definition `d{first}` is 16,383 expression nodes")
    assert error.line == HEADER.count("\n") + first + 1


def test_a_doubling_chain_within_the_limit_decides_alike() -> None:
    text = doubling(8)  # 511 nodes written out
    decisions = set()
    for backend in BACKENDS:
        with bounded(seconds=10, megabytes=100):
            policy = policydsl.loads(text, backend=backend)
        decisions.add(policy.decide({"n": 1}).decision)
    assert decisions == {"deny"}  # 1 * 2^8 > 5


def test_a_rule_too_large_once_inlined_is_refused() -> None:
    text = doubling(12).replace("when d12 > 5", "when d12 + d12 > 5")
    (error,) = errors(text)
    assert (error.code, error.col) == ("P701", 21)
    assert error.message.startswith("rule `r` is 16,")


def decide_deep(policy: policydsl.Policy, context: dict[str, Any], depth: int) -> str:
    """Decide from `depth` frames down the caller's stack."""
    if depth:
        return decide_deep(policy, context, depth - 1)
    return policy.decide(context).decision


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("body", "first", "rule"),
    [
        (lambda i: f"d{i - 1} and true", "n > 0", "d150"),
        (lambda i: f"d{i - 1} + 1", "n", "d150 > 5"),
    ],
    ids=["and-chain", "plus-chain"],
)
def test_a_long_chain_of_definitions_loads_and_decides_deep_in_a_stack(
    backend: str, body: Callable[[int], str], first: str, rule: str
) -> None:
    """150 definitions, each using the previous: a RecursionError from `load`, and from the
    interpreted `decide()` called 900 frames deep."""
    text = chain(body, 150, first, rule)
    with bounded(seconds=10, megabytes=100):
        policy = policydsl.loads(text, backend=backend)
    assert decide_deep(policy, {"n": 1}, 900) == "deny"
    assert decide_deep(policy, {"n": 0}, 900) == ("allow" if "and" in text else "deny")


@pytest.mark.parametrize("backend", BACKENDS)
def test_fail_closed_deep_in_a_stack_refuses_cleanly(backend: str) -> None:
    text = chain(lambda i: f"d{i - 1} and true", 150, "n > 0", "d150")
    text = text.replace("default allow", "default allow refuse deny")
    policy = policydsl.loads(text, backend=backend, fail_closed=True)
    assert decide_deep(policy, {"n": 1}, 900) == "deny"
    assert decide_deep(policy, {"n": "x"}, 900) == "deny"


def test_a_chain_nesting_past_the_limit_is_a_diagnostic(tmp_path: Path) -> None:
    text = chain(lambda i: f"d{i - 1} and true", 400, "n > 0", "d400")
    with bounded(seconds=10, megabytes=100):
        found = errors(text)
    assert [e.code for e in found] == ["P702"]
    assert found[0].message == (
        "definition `d199` nests 201 levels deep once its definitions are written out; "
        "the limit is 200"
    )
    path = tmp_path / "deep.policy"
    path.write_text(text, encoding="utf-8")
    assert [d.code for d in policydsl.check([path]) if d.severity == "error"] == ["P702"]


def test_a_long_cycle_of_definitions_is_one_diagnostic() -> None:
    """`d0 → d1 → ... → d599 → d0` is reported once, without recursing through it."""
    defs = [f"def d{i} = d{(i + 1) % 600} or n > {i}" for i in range(600)]
    text = HEADER + "\n".join(defs) + '\nrule r: deny { when d0 cite "c" reason "r" }\n'
    with bounded(seconds=10, megabytes=100):
        found = errors(text)
    assert [e.code for e in found] == ["P205", "P702"]  # and the chain left is too deep
    assert found[0].message.startswith("definition `d0` refers to itself (d0 → d1 → d2 → ")
