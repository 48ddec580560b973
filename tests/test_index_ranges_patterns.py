"""`in_range` and `matches` reached through their indexes decide exactly as scanning does.

An address reaches the ranges of its own version that hold it, one lookup per prefix length; a
pattern's rule is reached through a literal every text it matches contains, and RE2 confirms it.
Seeded campaigns of random ranges and patterns (RE2 syntax the literal reader knows and syntax it
must refuse) are decided by every backend, the interpreter's answer the reference.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import pytest

import policydsl
from policydsl.render import quote
from tests.test_index_kinds import decide_all

pytest.importorskip("re2")

HEAD = 'context { a: ip = "0.0.0.0"  s: string[..40] = "" }\neffects deny > allow default allow\n'


def rules(tests: list[str]) -> str:
    return HEAD + "".join(
        f'rule r{i}: deny {{ when {t} reason "r" }}\n' for i, t in enumerate(tests)
    )


def program_of(text: str) -> Any:
    policy = policydsl.loads(text)
    assert policy.evaluator is not None
    return policy.evaluator.program


# ---- address ranges ---------------------------------------------------------------------------


def random_network(rng: random.Random) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    kind = rng.random()
    if kind < 0.5:
        length = rng.choice([0, 1, 8, 12, 16, 23, 24, 25, 31, 32])
        base = rng.choice([0x0A000000, 0x0A140000, 0xC0A80000, rng.getrandbits(32)])
        return ipaddress.ip_network((base, length), strict=False)
    if kind < 0.75:  # IPv4-mapped IPv6: an IPv6 range
        length = rng.choice([96, 104, 112, 120, 128])
        base = 0xFFFF00000000 | rng.choice([0x0A000000, 0x0A140000, rng.getrandbits(32)])
        return ipaddress.ip_network((base, length), strict=False)
    length = rng.choice([0, 7, 8, 16, 48, 64, 127, 128])
    base = rng.choice([0xFD << 120, 0xFE80 << 112, 0, rng.getrandbits(128)])
    return ipaddress.ip_network((base, length), strict=False)


def addresses_near(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """Its first and last addresses, those just outside, and the other version's twin."""
    first, last = int(network.network_address), int(network.broadcast_address)
    top = (1 << network.max_prefixlen) - 1
    numbers = {first, last, max(first - 1, 0), min(last + 1, top)}
    made = [
        ipaddress.ip_address(n) if network.version == 6 else ipaddress.IPv4Address(n)
        for n in numbers
    ]
    if network.version == 4:
        made.extend(ipaddress.IPv6Address(0xFFFF00000000 | n) for n in numbers)
    elif int(network.network_address) >> 32 == 0xFFFF:
        made.extend(ipaddress.IPv4Address(n & 0xFFFFFFFF) for n in numbers)
    return [str(a) for a in made]


@pytest.mark.parametrize("seed", range(6))
def test_random_ranges_decide_as_the_interpreter(seed: int) -> None:
    rng = random.Random(seed)
    networks = [random_network(rng) for _ in range(60)]
    # a host written with its host bits, as a policy may write it
    tests = [f"a in_range {quote(str(n))}" for n in networks]
    tests.append('a in_range "10.20.30.40/16"')
    tests += [f"not (a in_range {quote(str(n))})" for n in networks[:20]]  # by complement
    text = rules(tests)
    program = program_of(text)
    assert not program.checks
    assert sorted(ix.kind for ix in program.indexes) == ["network", "not_network"]
    near = sorted({a for n in networks for a in addresses_near(n)})
    contexts = [{"a": a} for a in near]
    contexts += [{"a": str(ipaddress.IPv4Address(rng.getrandbits(32)))} for _ in range(50)]
    contexts += [{"a": str(ipaddress.IPv6Address(rng.getrandbits(128)))} for _ in range(50)]
    contexts += [
        {"a": "::ffff:10.20.1.1"},
        {"a": "10.20.1.1"},
        {"a": "fe80::1"},
    ]  # no zone: refused
    decide_all(text, contexts)


def test_a_range_beside_other_tests_is_indexed_in_its_bucket() -> None:
    """`tenant == t and a in_range r`: the equality is the key, and a bucket of many ranges is
    indexed again on them."""
    tests = [f's == "t{i % 3}" and a in_range "10.{i}.0.0/16"' for i in range(30)]
    text = rules(tests)
    assert "index networks of" in policydsl.loads(text).compiled("ir")
    contexts = [{"s": f"t{k}", "a": f"10.{i}.1.2"} for k in range(4) for i in range(32)]
    decide_all(text, contexts)


def test_negated_ranges_fire_all_but_the_ranges_holding_the_address() -> None:
    """`not (a in_range r)` by complement, nested ranges each leaving their rules out; a rule
    with two negations in an `or` is checked in turn (its second way in)."""
    tests = [
        'not (a in_range "10.0.0.0/8")',
        'not (a in_range "10.1.0.0/16")',
        'not (a in_range "10.1.2.3/32")',
        'not (a in_range "::ffff:10.0.0.0/104")',
        'not (a in_range "10.0.0.0/8") or not (a in_range "10.1.0.0/16")',
        'not (a in_range "10.1.0.0/16") and a in_range "10.0.0.0/8"',
    ]
    text = rules(tests)
    program = program_of(text)
    assert len(program.checks) == 1
    assert "index all but networks of" in policydsl.loads(text).compiled("ir")
    addresses = ("10.1.2.3", "10.1.2.4", "10.2.0.0", "11.0.0.1", "::ffff:10.1.2.3", "::1")
    decide_all(text, [{"a": a} for a in addresses])


# ---- patterns -------------------------------------------------------------------------------

# pieces of patterns: literals, escapes, classes, groups, quantifiers, and syntax the reader
# refuses (flags, alternation at the top, `\Q...\E`, hex escapes, POSIX classes)
LITERALS = ["ab", "bot", "b", "/", "x1", "é", "-", " ", "a b"]
PIECES = [
    *LITERALS,
    r"\.",
    r"\/",
    r"\-",
    r"\\",
    ".",
    "[a-c]",
    "[^x]",
    "[]a]",
    "[[:alpha:]]",
    "[\\]]",
    "(a|b)",
    "(?:ab)",
    "(?P<n>x)",
    r"\d",
    r"\b",
    r"\w",
    "{",
    "}",
    "]",
]
QUANTIFIERS = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?", "{,2}"]
WHOLE = ["(?i)ab", "ab|x1", r"\Qa.b\E", r"\x41b", "a(?i)b", r"\pLbot", "(?s).b"]


def random_pattern(rng: random.Random) -> str:
    if rng.random() < 0.08:
        return rng.choice(WHOLE)
    body = "".join(
        rng.choice(PIECES) + (rng.choice(QUANTIFIERS) if rng.random() < 0.4 else "")
        for _ in range(rng.randint(1, 4))
    )
    if rng.random() < 0.3:
        body = "^" + body
    if rng.random() < 0.3:
        body += "$"
    return body


def compiles(pattern: str) -> bool:
    from policydsl.regex import PatternError, compile_pattern

    try:
        compile_pattern(pattern)
    except PatternError:
        return False
    return True


def random_text(rng: random.Random, patterns: list[str]) -> str:
    """Text built from the pieces' characters, now and then around a pattern's own text."""
    alphabet = ["ab", "bot", "b", "/", "x1", "é", "-", " ", ".", "]", "{", "}", "A", "B", "\n", "z"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
    if rng.random() < 0.5:
        mid = rng.choice(patterns).strip("^$").replace("\\", "")
        cut = rng.randint(0, len(text))
        text = text[:cut] + mid + text[cut:]
    return text[:40]


@pytest.mark.parametrize("seed", range(8))
def test_random_patterns_decide_as_the_interpreter(seed: int) -> None:
    rng = random.Random(seed)
    patterns: list[str] = []
    while len(patterns) < 50:
        pattern = random_pattern(rng)
        if compiles(pattern):
            patterns.append(pattern)
    text = rules([f"s matches {quote(p)}" for p in patterns])
    program = program_of(text)
    assert len(program.checks) < len(patterns)  # most patterns offer a literal
    contexts = [{"s": random_text(rng, patterns)} for _ in range(400)]
    decide_all(text, contexts)


@pytest.mark.parametrize(
    ("pattern", "texts", "indexed"),
    [
        ("^abc$", ["abc", "abc\n", "xabc", "ab"], True),
        ("^abc", ["abcd", "xabc", "ab"], True),
        ("abc$", ["xabc", "abc\n", "abcx"], True),
        ("abc", ["abc", "xabcx", "ab c"], True),
        ("abcdefg", ["abcdefg", "abcdef", "xabcdefgx", "bcdefga"], True),
        ("a.c", ["abc", "a\nc", "ac"], True),
        ("ab*c", ["ac", "abbbc", "xbc"], True),
        ("ab+c", ["ac", "abc", "abbc"], True),
        ("a{2}b", ["aab", "ab", "b"], True),
        ("a{,2}b", ["a{,2}b", "aab"], True),  # not a repetition in RE2: literal text
        ("[[:alpha:]]]x", ["a]x", "]x", "1]x"], True),
        (r"\.com$", [".com", "acom", "a.com\n"], True),
        ("(?i)abc", ["ABC", "abc"], False),
        ("abc|xyz", ["xyz", "abc", "ab"], False),
        (r"\Qa.c\E", ["a.c", "abc"], False),
        (r"\x41bc", ["Abc", "x41bc"], False),
        ("^", ["", "a"], False),
        ("^$", ["", "a"], True),
        ("", ["", "a"], False),
        ("é+x", ["éx", "x", "ééx"], True),
    ],
)
def test_patterns_at_the_edges(pattern: str, texts: list[str], indexed: bool) -> None:
    """Rules of each pattern (alone, with another test beside, negated): reached through a
    literal when the reader knows the syntax, checked in turn when it does not."""
    tests = [
        f"s matches {quote(pattern)}",
        f's matches {quote(pattern)} and a == "1.2.3.4"',
        f"not (s matches {quote(pattern)})",
    ]
    text = rules(tests)
    program = program_of(text)
    assert (len(program.checks) == 0) == indexed, policydsl.loads(text).compiled("ir")
    contexts = [
        {"s": s, "a": a} for s in texts + [t + "z" for t in texts] for a in ("1.2.3.4", "::")
    ]
    decide_all(text, contexts)


def test_many_patterns_reach_few_rules() -> None:
    """300 patterns, with a literal or none: one index whose buckets are the patterns, found by
    one search of RE2's set of them, each bucket's rule firing with nothing left to check."""
    patterns = [f"id{i}-[0-9]+" for i in range(299)] + ["(?i)[a-f]{3}[0-9]"]
    text = rules([f"s matches {quote(p)}" for p in patterns])
    program = program_of(text)
    assert not program.checks
    (index,) = program.indexes
    assert index.kind == "pattern"
    assert sorted(b.key for b in index.buckets) == sorted(patterns)
    assert all(len(b.always) == 1 and not b.checks for b in index.buckets)
    texts = ("id299-1", "xid12-9", "id12-", "id1", "id0-0 id7-7", "ABC1 id5-5", "é")
    decide_all(text, [{"s": s} for s in texts])


def test_a_set_search_that_fails_is_searched_pattern_by_pattern() -> None:
    """RE2's set search can run out of memory on a text, and then answers nothing: the empty
    pattern it always holds is missing from that answer, and each pattern is searched alone."""
    from policydsl.regex import PatternSet

    patterns = ["bot[0-9]+/", "(?i)scanner", "^curl/"]
    found = PatternSet(patterns)
    assert sorted(found.hits("curl/7 bot12/ SCANNER")) == [0, 1, 2, 3]  # 0: the empty pattern
    assert sorted(found.hits("a bot1/")) == [0, 1]
    found._match = lambda encoded: []  # what RE2 answers when its set search fails
    assert found.hits("curl/7 bot12/ SCANNER") == [1, 2, 3]
    assert found.hits("a bot1/") == [1]
    assert found.hits("nothing here") == []


@pytest.mark.parametrize(
    ("patterns", "gates"),
    [
        ([f"bot{i}/[0-9]+" for i in range(500)], ("bot",)),
        (["^/api/", "admin", "x.*y"], ("/ap", "adm", "x")),
        (["ab[0-9]cd", "[0-9]cd"], ("cd",)),
        (["(?i)bot", "abc"], None),  # a flag the reader does not vouch for: no gate
        (["a|b"], None),
        (["[a-z]+"], None),  # no literal at all
        (["ab", "cd", "ef", "gh", "ij"], None),  # more than a few
    ],
)
def test_a_pattern_set_is_gated_by_pieces_every_match_holds(
    patterns: list[str], gates: tuple[str, ...] | None
) -> None:
    from policydsl.regex_literals import gates as gates_of

    assert gates_of(patterns) == gates


@pytest.mark.parametrize("seed", range(6))
def test_random_gated_pattern_sets_decide_as_the_interpreter(seed: int) -> None:
    """Few patterns with literals, so that a set has gates: every text a pattern matches holds
    one of them, and the index (which skips the search of texts holding none) decides as the
    interpreter does."""
    from policydsl.regex import compile_pattern
    from policydsl.regex_literals import gates as gates_of

    rng = random.Random(seed)
    gated = 0
    for _ in range(12):
        patterns: list[str] = []
        while len(patterns) < rng.randint(1, 5):
            pattern = random_pattern(rng)
            if pattern not in WHOLE and compiles(pattern):
                patterns.append(pattern)
        found = gates_of(patterns)
        texts = [random_text(rng, patterns) for _ in range(150)]
        if found is not None:
            gated += 1
            for pattern in patterns:
                for text in texts:
                    if compile_pattern(pattern).search(text) is not None:
                        assert any(gate in text for gate in found), (pattern, text, found)
        decide_all(rules([f"s matches {quote(p)}" for p in patterns]), [{"s": t} for t in texts])
    assert gated >= 3
