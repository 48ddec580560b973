"""`reprs.Repr` prints what attrs would: each object of the syntax trees, checked models,
lowered forms, indexed programs, decisions and sources of the repository's policies, against
the `__repr__` attrs makes for a twin class with the same fields."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import policydsl
from policydsl import model, nodes
from policydsl.parser import parse
from policydsl.reprs import Repr

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


_TWINS: dict[type, Callable[[Any], str]] = {}
DECISION = policydsl.Decision("deny", ("o",), ("c",), ("r",), ("why",), (("score", 3),), error="e")


def attrs_repr(cls: type) -> Callable[[Any], str]:
    """The `__repr__` attrs generates for a class with `cls`'s fields."""
    if cls in _TWINS:
        return _TWINS[cls]
    fields = {
        a.name: attrs.field(default=None, repr=a.repr, init=a.init) for a in attrs.fields(cls)
    }
    twin: Any = attrs.make_class(cls.__name__, fields, frozen=True)
    made: Callable[[Any], str] = twin.__repr__
    _TWINS[cls] = made
    return made


def walk(value: Any, seen: set[int]) -> Iterator[Any]:
    if id(value) in seen:
        return
    seen.add(id(value))
    if attrs.has(type(value)):
        yield value
        for a in attrs.fields(type(value)):
            yield from walk(getattr(value, a.name, None), seen)
    elif isinstance(value, tuple | list | frozenset):
        for v in value:
            yield from walk(v, seen)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from walk(k, seen)
            yield from walk(v, seen)


@pytest.mark.parametrize(
    "path", [policydsl.stdlib_path(), EXAMPLES / "doc_sharing"], ids=["stdlib", "doc_sharing"]
)
def test_every_node_prints_as_attrs_would(path: Path) -> None:
    policy = policydsl.load(path)
    trees = [parse(source)[0] for source in policy.sources]
    seen: set[int] = set()
    objects = [*walk(trees, seen), *walk(policy.checked, seen), *walk(policy.lowered(), seen)]
    objects += [*walk(policy.evaluator and policy.evaluator.program, seen)]
    objects += [*walk(DECISION, seen), *walk(policy.sources[0], seen)]
    printed = {type(o) for o in objects if isinstance(o, Repr)}
    assert len(printed) > 40
    for obj in objects:
        if isinstance(obj, Repr):
            assert repr(obj) == attrs_repr(type(obj))(obj)


def test_fields_outside_the_repr_are_left_out() -> None:
    ident = nodes.Ident("x", span=None)
    assert repr(ident) == "Ident(name='x')"
    const = model.Const(frozenset(), type=None)
    assert repr(const) == "Const(value=frozenset())"
    assert repr(nodes.Not(const)) == "Not(operand=Const(value=frozenset()))"
