"""`model.children` reads what `model.map_children` visits, and `map_children` rebuilds a node
only when a child changed: the walks every pass of the compiler is built on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import randpolicy

import policydsl
from policydsl import model

ROOT = Path(__file__).resolve().parent.parent


def every_expression(expr: Any) -> Iterator[Any]:
    todo = [expr]
    while todo:
        e = todo.pop()
        yield e
        todo.extend(model.children(e))


def checked_expressions(policy: policydsl.Policy) -> Iterator[Any]:
    """Every expression of a loaded policy: checked (model) and lowered (IR)."""
    checked = policy.checked
    roots = [r.condition for r in checked.rules]
    roots += [d.expr for d in checked.definitions.values()]
    roots += [e for o in checked.outputs for case in o.cases for e in case if e is not None]
    lowered = policy.lowered()
    roots += [c for _, conditions in lowered.conditions for c in conditions]
    roots += list(lowered.flags)
    for root in roots:
        yield from every_expression(root)


POLICIES = [
    pytest.param(lambda: policydsl.load_stdlib(), id="stdlib"),
    pytest.param(lambda: policydsl.load(ROOT / "examples" / "doc_sharing"), id="doc_sharing"),
    *(
        pytest.param(
            lambda seed=seed: policydsl.loads(randpolicy.make_case(seed).text), id=f"r{seed}"
        )
        for seed in range(8)
    ),
]


@pytest.mark.parametrize("make", POLICIES)
def test_children_are_what_map_children_visits(make: Any) -> None:
    count = 0
    for expr in checked_expressions(make()):
        visited: list[Any] = []

        def visit(child: Any, visited: list[Any] = visited) -> Any:
            visited.append(child)
            return child

        assert model.map_children(expr, visit) is expr  # nothing changed: nothing rebuilt
        assert [id(c) for c in model.children(expr)] == [id(c) for c in visited]
        count += len(visited)
    assert count > 0


@pytest.mark.parametrize("make", POLICIES[:2])
def test_a_changed_child_rebuilds_its_node_and_only_it(make: Any) -> None:
    marker = model.Const("marker")
    for expr in checked_expressions(make()):
        kids = model.children(expr)
        if not kids:
            continue
        first = kids[0]
        rebuilt = model.map_children(expr, lambda c, first=first: marker if c is first else c)
        assert rebuilt is not expr and type(rebuilt) is type(expr)
        assert model.children(rebuilt) == [marker, *kids[1:]]
        assert rebuilt.span == expr.span
