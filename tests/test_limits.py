"""Declared maximum sizes: `string[..N]`, `list<T>[..N]`, `set<T>[..N]` and their defaults.

A request whose strings or collections pass the declared maxima is a `ContextError` naming the
attribute and the limit, on every backend; the formatter prints the bounds back; a malformed
bound or a default that breaks its own bound is a check error.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import policydsl
from policydsl.formatter import format_source

SIZED = """\
effects deny > allow default allow
context {
  a: list<int>[..100]
  b: list<int>[..100]
  name: string[..8] = "x"
  labels: set<string[..4]>[..3] = []
  notes: list<string>?
}
rule overlap: deny { when some x in a: some y in b: x == y }
rule labelled: deny { when labels contains "ab" }
"""

BACKENDS = pytest.mark.parametrize("backend", policydsl.BACKENDS)


def refused(policy: policydsl.Policy, context: dict[str, Any]) -> policydsl.ContextError:
    with pytest.raises(policydsl.ContextError) as info:
        policy.decide(context)
    return info.value


@BACKENDS
@pytest.mark.parametrize(
    ("context", "attribute", "message"),
    [
        ({"a": list(range(101)), "b": []}, "a", "has 101 elements; the limit is 100"),
        ({"a": [], "b": [0] * 101}, "b", "has 101 elements; the limit is 100"),
        ({"a": [], "b": [], "name": "123456789"}, "name", "has 9 characters; the limit is 8"),
        ({"a": [], "b": [], "labels": ["a", "b", "c", "d"]}, "labels", "the limit is 3"),
        ({"a": [], "b": [], "labels": ["abcde"]}, "labels", "element 0: has 5 characters"),
        # the defaults: 65,536 characters in a string, 10,000 elements in a collection
        ({"a": [], "b": [], "notes": ["n" * 65_537]}, "notes", "the limit is 65,536"),
        ({"a": [], "b": [], "notes": ["n"] * 10_001}, "notes", "the limit is 10,000"),
    ],
)
def test_a_request_past_a_declared_maximum_is_refused(
    backend: str, context: dict[str, Any], attribute: str, message: str
) -> None:
    err = refused(policydsl.loads(SIZED, backend=backend), context)
    assert err.attribute == attribute
    assert message in str(err)


@BACKENDS
def test_the_maxima_are_inclusive(backend: str) -> None:
    policy = policydsl.loads(SIZED, backend=backend)
    full = {
        "a": list(range(100)),
        "b": [99] * 100,
        "name": "12345678",
        "labels": ["abcd", "ab", "x"],
        "notes": ["n" * 65_536] * 2,
    }
    assert policy.decide(full).rules == ("labelled", "overlap")


@BACKENDS
def test_nested_quantifiers_over_bounded_lists_are_fast(backend: str) -> None:
    """The former 15.8 s decision (two nested quantifiers over 10,000-element lists): with a
    declared maximum of 100 the worst request decides at once, and a bigger one is refused."""
    policy = policydsl.loads(SIZED, backend=backend)
    start = time.perf_counter()
    decision = policy.decide({"a": list(range(100)), "b": list(range(100, 200))})
    assert time.perf_counter() - start < 1.0
    assert decision.decision == "allow"
    err = refused(policy, {"a": list(range(10_000)), "b": list(range(10_000))})
    assert err.attribute == "a"


@BACKENDS
def test_stdlib_user_id_is_bounded(backend: str) -> None:
    policy = policydsl.load_stdlib(backend=backend)
    assert policy.decide({"user": {"age": 30, "id": "u" * 256}}).decision == "allow"
    err = refused(policy, {"user": {"age": 30, "id": "u" * 257}})
    assert err.attribute == "user.id"
    assert "the limit is 256" in str(err)


def test_the_formatter_prints_the_bounds() -> None:
    text = "effects allow default allow\ncontext { a: list<int[0..9]>[..64]  s: string[..5]? }\n"
    formatted = format_source(text)
    assert "a: list<int[0..9]>[..64]" in formatted
    assert "s: string[..5]?" in formatted
    assert format_source(formatted) == formatted


@pytest.mark.parametrize(
    ("declaration", "code"),
    [
        ("a: list<int>[1..5]", "P501"),
        ("a: set<int>[..]", "P501"),
        ("a: string[2..]", "P501"),
        ("a: list<int>[..-1]", "P501"),
        ('a: string[..2] = "abc"', "P502"),
        ("a: list<int>[..1] = [1, 2]", "P502"),
    ],
)
def test_bad_bounds_are_check_errors(declaration: str, code: str) -> None:
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(f"effects allow default allow\ncontext {{ {declaration} }}\n")
    assert [d.code for d in info.value.diagnostics if d.severity == "error"] == [code]
