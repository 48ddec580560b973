"""`matches` against Python's `re` on a seeded corpus: random patterns from the syntax both engines
read alike (literals, classes, groups, alternation, repetition, anchors, `(?i)`) and random texts,
decided by one policy of one rule per pattern on every backend (the compiled one through its
pattern index), each rule firing exactly when `re.search` finds its pattern."""

from __future__ import annotations

import random
import re

import pytest

import policydsl

pytest.importorskip("re2")

ALPHABET = "abcAB01-_."
PATTERNS = 200
TEXTS = 200


def _atom(rng: random.Random, depth: int) -> str:
    pick = rng.random()
    if depth < 2 and pick < 0.15:
        return "(?:" + _alternation(rng, depth + 1) + ")"
    if pick < 0.3:
        chars = "".join(rng.sample("abc01AB", rng.randint(1, 3)))
        return f"[{'^' if rng.random() < 0.2 else ''}{chars}]"
    if pick < 0.38:
        return rng.choice([".", r"\d", r"\.", r"\-", "[a-c]", "[0-1]"])
    return rng.choice("abc01-_AB")


def _piece(rng: random.Random, depth: int) -> str:
    atom = _atom(rng, depth)
    pick = rng.random()
    if pick < 0.12:
        return atom + "*"
    if pick < 0.24:
        return atom + "+"
    if pick < 0.32:
        return atom + "?"
    if pick < 0.38:
        low = rng.randint(0, 2)
        return atom + f"{{{low},{low + rng.randint(0, 2)}}}"
    return atom


def _sequence(rng: random.Random, depth: int) -> str:
    return "".join(_piece(rng, depth) for _ in range(rng.randint(1, 4)))


def _alternation(rng: random.Random, depth: int) -> str:
    return "|".join(_sequence(rng, depth) for _ in range(rng.randint(1, 2 if depth else 3)))


def random_pattern(rng: random.Random) -> str:
    body = _alternation(rng, 0)
    if rng.random() < 0.25:
        body = "^" + ("(?:" + body + ")" if "|" in body else body)
    if rng.random() < 0.25:
        body = ("(?:" + body + ")" if "|" in body else body) + "$"
    if rng.random() < 0.1:
        body = "(?i)" + body
    return body


def random_text(rng: random.Random, patterns: list[str]) -> str:
    if rng.random() < 0.5:  # near a pattern: its literal characters, shuffled and padded
        letters = [c for c in rng.choice(patterns) if c in ALPHABET]
        rng.shuffle(letters)
        core = "".join(letters[: rng.randint(0, len(letters))])
    else:
        core = ""
    pad = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 6)))
    cut = rng.randint(0, len(pad))
    return pad[:cut] + core + pad[cut:]


def test_every_backend_matches_as_re_search_does() -> None:
    rng = random.Random(20261207)
    patterns = list(dict.fromkeys(random_pattern(rng) for _ in range(PATTERNS)))
    texts = [random_text(rng, patterns) for _ in range(TEXTS)]
    rules = "\n".join(
        f'rule r{i}: deny {{ when s matches "{p.replace(chr(92), chr(92) * 2)}" }}'
        for i, p in enumerate(patterns)
    )
    text = 'context { s: string = "" }\neffects deny > allow default allow\n' + rules
    policies = [policydsl.loads(text, backend=b) for b in policydsl.BACKENDS]
    compiled = [re.compile(p) for p in patterns]
    fired_somewhere = 0
    for sample in texts:
        expected = tuple(sorted(f"r{i}" for i, c in enumerate(compiled) if c.search(sample)))
        fired_somewhere += bool(expected)
        for policy in policies:
            assert policy.decide({"s": sample}).rules == expected, (policy.backend, sample)
    assert fired_somewhere > TEXTS // 3  # the corpus is not all misses


@pytest.mark.parametrize(
    "pattern", ["^.$", "é+", "^$", "x*", ".{2}$", "(?i)ÉTÉ", "^[^a]*$", "\\bword\\b", "😀."]
)
def test_the_direct_search_agrees_with_re2s_own(pattern: str) -> None:
    """`regex.Pattern` asks RE2 for a match directly; on every text, as `google-re2`'s own
    `search` (which maps offsets back to characters) answers, non-ASCII texts included."""
    from policydsl.regex import compile_pattern

    compiled = compile_pattern(pattern)
    for text in ["", "a", "é", "ééé", "été", "ÉTÉ", "a word here", "😀x", "x😀", "ab\nc", "wordy"]:
        expected = compiled.compiled.search(text) is not None
        assert (compiled.search(text) is not None) == expected, (pattern, text)
