"""`contains_any`, `contains_all` and `like` in bounded time on every backend.

`contains_any` between two 10,000-element lists compared every pair (seconds per decision); a
`like` whose pattern came from the request compiled a regular expression per distinct pattern
(seconds for a long one) and kept up to 1,024 of them, whatever their size. The guards below are
generous: they catch a return of the blow-ups, not small slowdowns.
"""

from __future__ import annotations

import itertools
import random
import time
import tracemalloc
from typing import Any

import pytest

import policydsl
from policydsl.glob import MAX_CACHED_CHARS, MAX_CACHED_PATTERNS, cache_size

BACKENDS = pytest.mark.parametrize("backend", policydsl.BACKENDS)

SETS = """\
effects deny > allow default allow
context {
  a: list<int>  b: list<int>  s: set<int> = []  t: set<int> = []
  names: list<string> = []  wanted: list<string> = []
}
rule any_ab: deny { when a contains_any b }
rule all_ab: deny { when a contains_all b }
rule any_st: deny { when s contains_any t }
rule all_st: deny { when s contains_all t }
rule any_sb: deny { when s contains_any b }
rule all_as: deny { when a contains_all s }
rule any_names: deny { when names contains_any wanted }
rule any_const: deny { when a contains_any [1, 2, 3, 4, 5, 6] }
rule all_const: deny { when b contains_all [7, 8, 9, 10, 11] }
"""


def fired_by_definition(context: dict[str, Any]) -> set[str]:
    """Which rules of SETS fire, from the definition: some or every element is in the other."""

    def any_in(items: Any, wanted: Any) -> bool:
        return any(w == i for w in wanted for i in items)

    def all_in(items: Any, wanted: Any) -> bool:
        return all(any(w == i for i in items) for w in wanted)

    a, b, s, t = context["a"], context["b"], context.get("s", []), context.get("t", [])
    names, wanted = context.get("names", []), context.get("wanted", [])
    tests = {
        "any_ab": any_in(a, b),
        "all_ab": all_in(a, b),
        "any_st": any_in(s, t),
        "all_st": all_in(s, t),
        "any_sb": any_in(s, b),
        "all_as": all_in(a, s),
        "any_names": any_in(names, wanted),
        "any_const": any_in(a, [1, 2, 3, 4, 5, 6]),
        "all_const": all_in(b, [7, 8, 9, 10, 11]),
    }
    return {rule for rule, fired in tests.items() if fired}


def test_set_tests_mean_what_the_language_says() -> None:
    """Lists and sets, repeats, empty sides, small and large: every backend as the definition."""
    policies = [policydsl.loads(SETS, backend=b) for b in policydsl.BACKENDS]
    rng = random.Random(11)

    def ints() -> list[int]:
        return [rng.randint(0, 12) for _ in range(rng.choice((0, 1, 2, 5, 9, 30)))]

    for _ in range(400):
        context = {"a": ints(), "b": ints(), "s": ints(), "t": ints()}
        context["names"] = [rng.choice("xyz") for _ in range(rng.randint(0, 6))]
        context["wanted"] = [rng.choice("xyzw") for _ in range(rng.randint(0, 6))]
        expected = set(fired_by_definition(context))
        for policy in policies:
            assert set(policy.decide(context).rules) == expected, (policy.backend, context)


@BACKENDS
@pytest.mark.parametrize("kind", ["int", "string"])
def test_contains_any_between_two_large_lists_is_linear(backend: str, kind: str) -> None:
    """Two disjoint 10,000-element lists: 1.7-2 s per decision when every pair was compared."""
    policy = policydsl.loads(SETS, backend=backend)
    if kind == "int":
        context: dict[str, Any] = {"a": list(range(10_000)), "b": list(range(10_000, 20_000))}
    else:
        names = [f"n{i}" for i in range(10_000)]
        wanted = [f"w{i}" for i in range(10_000)]
        context = {"a": [], "b": [], "names": names, "wanted": wanted}
    policy.decide(context)  # the first decision may build caches
    start = time.perf_counter()
    decision = policy.decide(context)
    assert time.perf_counter() - start < 0.5
    assert "any_ab" not in decision.rules and "any_names" not in decision.rules


LIKE = """\
effects deny > allow default allow
context { text: string[..65536]  pattern: string[..65536] }
rule matched: deny { when text like pattern }
"""


@BACKENDS
@pytest.mark.parametrize(
    ("text", "pattern", "matches"),
    [
        pytest.param("a" * 65_536, "*a" * 32_767 + "*b", False, id="many-stars-miss"),
        pytest.param("a" * 65_536, "*a" * 32_767 + "*", True, id="many-stars-fit"),
        pytest.param("ab" * 32_768, "a*" * 32_768, True, id="prefix-stars"),
        pytest.param("a" * 65_536, "?" * 65_536, True, id="all-single"),
        pytest.param("a" * 65_536, "?" * 65_534 + "*b", False, id="single-then-star-miss"),
    ],
)
def test_a_request_pattern_is_matched_without_blow_up(
    backend: str, text: str, pattern: str, matches: bool
) -> None:
    """A 64 KiB pattern from the request against 64 KiB of text: 6.9 s for the first row when
    the pattern became one regular expression; now at most a fraction of a second."""
    policy = policydsl.loads(LIKE, backend=backend)
    start = time.perf_counter()
    decision = policy.decide({"text": text, "pattern": pattern})
    assert time.perf_counter() - start < 1.0
    assert (decision.rules == ("matched",)) is matches


@BACKENDS
def test_a_longer_request_pattern_is_refused(backend: str) -> None:
    """The 1 MB pattern that took 21 s is past the declared maximum: refused before matching."""
    policy = policydsl.loads(LIKE, backend=backend)
    with pytest.raises(policydsl.ContextError) as info:
        policy.decide({"text": "a", "pattern": "*a" * 500_000})
    assert info.value.attribute == "pattern"


def test_the_pattern_cache_is_bounded_in_entries_and_characters() -> None:
    """Thousands of distinct request patterns: the cache keeps at most its bounds, and the
    memory they hold stays small."""
    policy = policydsl.loads(LIKE)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(3_000):
            policy.decide({"text": "x", "pattern": f"{i}*" + "a?" * (i % 400)})
            entries, chars = cache_size()
            assert entries <= MAX_CACHED_PATTERNS and chars <= MAX_CACHED_CHARS
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 20_000_000


def test_like_agrees_with_its_definition_on_every_backend() -> None:
    """Short patterns and texts over a small alphabet, exhaustively: every backend agrees with
    the definition (`*` any run, `?` one character, `\\` makes the next character literal, and
    stands for itself at the end) for patterns from the request."""
    policies = [policydsl.loads(LIKE, backend=b) for b in policydsl.BACKENDS]

    def by_definition(text: str, pattern: str) -> bool:
        if not pattern:
            return not text
        if pattern[0] == "\\" and len(pattern) > 1:
            return text[:1] == pattern[1] and by_definition(text[1:], pattern[2:])
        if pattern[0] == "*":
            return any(by_definition(text[i:], pattern[1:]) for i in range(len(text) + 1))
        return bool(text) and pattern[0] in ("?", text[0]) and by_definition(text[1:], pattern[1:])

    texts = ["".join(p) for n in range(5) for p in itertools.product("a*?\\", repeat=n)]
    patterns = ["".join(p) for n in range(5) for p in itertools.product("a*?\\", repeat=n)]
    for pattern in patterns:
        for text in texts:
            expected = by_definition(text, pattern)
            for policy in policies:
                fired = policy.decide({"text": text, "pattern": pattern}).rules == ("matched",)
                assert fired is expected, (policy.backend, text, pattern)
