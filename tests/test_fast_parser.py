"""The fast parser (`lalr`) against Lark, the reference: the same nodes, the same spans, and on
any text it declines, Lark's diagnostics unchanged.

Spans are `eq=False` fields, so node equality alone would miss a wrong span: `differences` walks
both trees and compares every span too. The texts: every `.policy` file in the repository, every
policy block of the docs, the synthetic benchmark policies, random policies of every shape, and
those texts cut short or with a token dropped or doubled (syntax errors, mostly).
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import randpolicy

from benchmarks.synthetic import SHAPES
from policydsl import item_regex, lalr, lark_grammar, nodes, parser
from policydsl.diagnostics import Diagnostic
from policydsl.source import Source, Span

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(policy[^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def differences(a: Any, b: Any, where: str = "file") -> Iterator[str]:
    """Where two parse results differ: a field, an element, or a span (compared explicitly)."""
    if type(a) is not type(b):
        yield f"{where}: {type(a).__name__} != {type(b).__name__}"
    elif isinstance(a, Span):
        if (a.source.name, a.start, a.end) != (b.source.name, b.start, b.end):
            yield f"{where}: span {a.start}-{a.end} != {b.start}-{b.end}"
    elif attrs.has(type(a)):
        for field in attrs.fields(type(a)):
            yield from differences(
                getattr(a, field.name), getattr(b, field.name), where + "." + field.name
            )
    elif isinstance(a, list | tuple):
        if len(a) != len(b):
            yield f"{where}: {len(a)} elements != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from differences(x, y, f"{where}[{i}]")
    elif a != b:
        yield f"{where}: {a!r} != {b!r}"


def _diagnostics(found: list[Diagnostic]) -> list[Any]:
    return [
        (d.code, d.message, d.help, d.severity, d.span and (d.span.start, d.span.end))
        for d in found
    ]


def agree(text: str, name: str = "t.policy") -> nodes.PolicyFile | None:
    """Parse `text` both ways and assert the same answer; the fast parser's nodes, or None
    where it declined (and the whole `parse` then gave Lark's answer)."""
    source = Source(name, text)
    fast = parser.parse_fast(source)
    reference, found = parser.parse_with_lark(source)
    if fast is not None:
        assert reference is not None, f"fast parser accepted what Lark refuses: {found}"
        assert fast == reference
        diff = list(differences(fast, reference))
        assert not diff, diff[:5]
    whole, whole_found = parser.parse(source)
    assert _diagnostics(whole_found) == _diagnostics(found)
    assert not list(differences(whole, reference))
    return fast


def repo_policies() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.policy") if ".git" not in p.parts)


def doc_policies() -> list[str]:
    return [
        body
        for path in sorted((ROOT / "docs").rglob("*.md"))
        for _, body in FENCE.findall(path.read_text(encoding="utf-8"))
    ]


def test_the_fast_parser_is_on_and_has_tables() -> None:
    """A grammar change that `lalr` cannot follow would turn it off silently: it may not."""
    assert parser.FAST_PARSER
    assert lark_grammar.fast_tables() is not None


def test_the_probe_is_valid_and_parsed_alike() -> None:
    """The probe the tables are checked against when made is a policy both parsers read."""
    assert parser.parse_with_lark(Source("probe", lark_grammar._PROBE))[1] == []
    assert agree(lark_grammar._PROBE) is not None


def test_tables_that_disagree_with_lark_are_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When `lalr` would not build Lark's trees, the fast parser stays off, and that is cached."""
    tables = lark_grammar.fast_tables()
    assert tables is not None
    assert lark_grammar._agrees(tables, lark_grammar.lark_parser())
    broken = lalr.Tables({**tables.data, "start_state": tables.end_state})
    assert not lark_grammar._agrees(broken, lark_grammar.lark_parser())
    monkeypatch.setattr(lark_grammar, "_agrees", lambda tables, parser: False)
    assert lark_grammar.load_or_build_fast(tmp_path) == (None, "built")
    assert lark_grammar.load_or_build_fast(tmp_path) == (None, "cache")
    monkeypatch.undo()
    assert lark_grammar.load_or_build_fast(tmp_path) == (None, "cache")  # the verdict is kept


@pytest.mark.parametrize("path", repo_policies(), ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_policies(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = agree(text, str(path))
    if "stdlib_rules" in path.parts:
        assert fast is not None  # the stdlib loads without Lark


def test_doc_blocks() -> None:
    blocks = doc_policies()
    assert blocks
    answered = sum(agree(body) is not None for body in blocks)
    assert answered >= len(blocks) // 2


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_synthetic_policies(shape: str) -> None:
    for size in (1, 10, 100):
        assert agree(SHAPES[shape].policy(size)) is not None


@pytest.mark.parametrize("shape", ["", *randpolicy.SHAPES])
def test_random_policies(shape: str) -> None:
    for seed in range(12):
        case = randpolicy.make_shape_case(seed, shape) if shape else randpolicy.make_case(seed)
        agree(case.text)


_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\w+|\S')


def mutants(text: str, rng: random.Random, n: int) -> Iterator[str]:
    """`text` cut short, or with one token dropped, doubled or replaced by another's."""
    tokens = list(_TOKEN.finditer(text))
    for _ in range(n):
        if not tokens:
            return
        tok = rng.choice(tokens)
        other = rng.choice(tokens).group()
        start, end = tok.span()
        yield rng.choice(
            [
                text[:start],
                text[:start] + text[end:],
                text[:end] + " " + tok.group() + text[end:],
                text[:start] + other + text[end:],
                text[:start] + other + tok.group() + text[end:],
            ]
        )


def test_mutated_policies() -> None:
    """Texts with errors: the fast parser declines them, or agrees with Lark where still valid."""
    rng = random.Random(7)
    texts = [p.read_text(encoding="utf-8") for p in repo_policies()] + doc_policies()
    texts += [randpolicy.make_case(seed).text for seed in range(4)]
    declined = 0
    for text in texts:
        for mutant in mutants(text, rng, 25):
            declined += agree(mutant) is None
    assert declined > 100


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment",
        "   \n\t ",
        "def rule = 1",  # a keyword read as a name: refused after the parse
        "def x = a.rule.tags",  # keywords as fields: allowed
        "def x = a . when .in # a comment\n . not",
        "def x = rule.x",  # not as the first name of a path
        "def x = f(rule)",
        "rule r: deny { rule x }",
        'output o: bool { when some r in fired: r.tags contains "t" and r.cite == "c" => true }',
        "def x = " + "not " * 250 + "true",  # a tree too deep
        "def x = " + "not " * 197 + "true",  # 200 levels: the deepest allowed
        "def x = " + "not " * 198 + "true",  # 201
        'def x = "\\q"',  # a bad escape
        "def x = " + "9" * 200,  # an integer too long
        "def x = [1, 2,]",
        "table t(a: int) { -5, - }",
        "context { a: int[-3..] = -3 b: list<int>[..4]? c: set<string>[1..2] }",
        "rules x: allow {}",
        'rule r for t: deny { when t.a - -1 * 2 > 3 reason "x" cite [1] tags [a,] }',
        "def x = (a or b) and (c) and ((d))",
        "def x = f() or g(1, 2) or h((1))",
        "output o: int { when (a) => (1) otherwise => -(2) }",
    ],
)
def test_corners(text: str) -> None:
    agree(text)


def _repeated(make: Any, n: int = 8) -> str:
    return "\n".join(make(i) for i in range(n))


@pytest.fixture
def plans_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans from the second item on, never given up, and their regexes after one walk: short
    texts exercise them."""
    monkeypatch.setattr(lalr, "_PLANS_AFTER", 1)
    monkeypatch.setattr(lalr, "_MISSES", 10**9)
    monkeypatch.setattr(lalr, "_REGEX_AFTER", 1)


# Items that repeat the terminals of one before them are built by its plan (`lalr._Plan`): the
# texts vary what a plan does not fix (names, strings, escapes, numbers, comments, depth) and
# put in the later items what the parse must still refuse.
@pytest.mark.parametrize(
    "text",
    [
        _repeated(lambda i: f'rule r{i}: deny {{ when a.b{i} == "x{i}" cite "c" reason "r" }}'),
        _repeated(lambda i: f'def d{i} = "\\u{{{41 + i}}}\\n" # {i}\n  # more\n'),
        _repeated(lambda i: f"def d{i} = x {'+-'[i % 2]} {i} * y % {i + 1}"),
        _repeated(lambda i: f"def d{i} = a.{['b', 'rule', 'when', 'c'][i % 4]}"),
        _repeated(lambda i: f"def d{i} = a == " + ("rule" if i == 5 else "b")),
        _repeated(lambda i: f"def d{i} = " + ('"\\q"' if i == 5 else '"a"')),
        _repeated(lambda i: f"def d{i} = " + "9" * (200 if i == 5 else 1)),
        _repeated(lambda i: f"def d{i} = " + "not " * 197 + "true"),
        _repeated(lambda i: f"def d{i} = " + "not " * (198 if i == 5 else 197) + "true"),
        _repeated(
            lambda i: [f"def d{i} = [1, {i},]", f"rule r{i}: allow {{ when x in [{i}] }}"][i % 2]
        ),
        _repeated(lambda i: f"table t{i}(a: int) {{ -{i}, - }}"),
        _repeated(lambda i: f"enum e{i} {{ a, b{i} }} def d{i} = e{i}.a") + "\ndef z = (",
    ],
)
def test_repeated_items(text: str, plans_at_once: None) -> None:
    agree(text)


# What an item's regex (`item_regex.ItemRegex`) must read as the token loop does: ignored text
# and comments anywhere, a `#` in a string, names that begin with a keyword, numbers of each
# terminal, keywords where names were (and names where keywords were), reserved words after a
# dot and elsewhere, and an item of the same terminals but other keywords.
@pytest.mark.parametrize(
    "text",
    [
        _repeated(lambda i: f'rule r{i}: deny {{ when a.b == "x # {i}" # c{i}\n cite "c"\t}}', 40),
        _repeated(lambda i: f"def {['rulex', 'when_', 'd', 'in1'][i % 4]}{i} = a{i}", 40),
        _repeated(lambda i: f"def d{i} = {['5', '5s', '5.5', '-5', '05'][i % 5]}", 40),
        _repeated(lambda i: f"def d{i} = x == {['y', 'rule', 'z.rule', 'in'][i % 4]}", 40),
        _repeated(lambda i: f"def {'rule' if i == 30 else 'd'}{'' if i == 30 else i} = 1", 40),
        _repeated(lambda i: f"def d{i} = a {['and', 'or'][i % 2]} b", 40),
        _repeated(lambda i: f"def d{i} = a {['<', '>', '==', '<='][i % 4]} b", 40),
        _repeated(lambda i: f"def d{i} = {'f(x)' if i % 7 else 'not x'}", 40),
        _repeated(lambda i: f"def d{i} = 1" + ("\n# the end" if i == 39 else ""), 40),
    ],
)
def test_repeated_items_by_regex(text: str, plans_at_once: None) -> None:
    agree(text)


@pytest.mark.parametrize("shape", ["", *randpolicy.SHAPES])
def test_random_policies_by_plans(shape: str, plans_at_once: None) -> None:
    for seed in range(6):
        case = randpolicy.make_shape_case(seed, shape) if shape else randpolicy.make_case(seed)
        agree(case.text)


@pytest.mark.parametrize("opened", ["(", "[", "{"])
@pytest.mark.parametrize("depth", [parser.MAX_NESTING, parser.MAX_NESTING + 1])
def test_bracket_nesting_is_measured_by_the_fast_parser(
    opened: str, depth: int, plans_at_once: None
) -> None:
    """The fast parser answers only where `_check_nesting` finds nothing to report (it runs
    first no more): in an item it parses and in the items built by a plan."""
    if opened == "{":  # records in the context's type, inside the context's own braces
        record = "x: " + "{ y: " * (depth - 2) + "{ z: int }" + " }" * (depth - 2)
        text = f"context {{ {record} }}\n" + _repeated(lambda i: f"def d{i} = 1")
    else:
        closed = {"(": ")", "[": "]"}[opened]
        text = _repeated(lambda i: f"def d{i} = " + opened * depth + "1" + closed * depth)
    source = Source("t.policy", text)
    found = parser.parse(source)
    reference = parser._check_nesting(source)
    if depth > parser.MAX_NESTING:
        assert parser.parse_fast(source) is None
        assert reference is not None and found == (None, [reference])
    else:
        assert reference is None and found[0] is not None and found[1] == []
        agree(text)


def test_repeated_items_mutated(plans_at_once: None) -> None:
    """Errors in items parsed by a plan: declined as the parse declines them."""
    rng = random.Random(11)
    texts = [SHAPES[shape].policy(12) for shape in sorted(SHAPES)]
    for text in texts:
        for mutant in mutants(text, rng, 10):
            agree(mutant)


def test_a_large_policy_is_built_by_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    """All but the first items of a policy of one form are built by a plan; the nodes are
    Lark's."""
    built: list[int] = []
    replayed = lalr._replayed

    def counted(*args: Any) -> Any:
        before = len(args[-1][0])  # the list of items so far, which it extends
        done = replayed(*args)
        built.append(len(done[2][0]) - before)
        return done

    monkeypatch.setattr(lalr, "_replayed", counted)
    size = 200
    assert parser.parse_fast(Source("t.policy", SHAPES["not_in"].policy(size))) is not None
    # of the items (the context, the effects, the rules), the first `_PLANS_AFTER` + 1 are
    # parsed before plans are tried, the next is learned, and the last is parsed (a plan ends
    # at the next item's first token)
    assert sum(built) == (size + 2) - (lalr._PLANS_AFTER + 1) - 1 - 1
    assert agree(SHAPES["not_in"].policy(size)) is not None


def test_a_large_policy_is_read_by_item_regexes(monkeypatch: pytest.MonkeyPatch) -> None:
    """After `_REGEX_AFTER` items of a plan are lexed token by token, the rest are matched by
    its regex, one match an item; the nodes are Lark's."""
    answers: list[bool] = []
    match = item_regex.ItemRegex.match

    def counted(self: item_regex.ItemRegex, text: str, pos: int) -> Any:
        found = match(self, text, pos)
        answers.append(found is not None)
        return found

    monkeypatch.setattr(item_regex.ItemRegex, "match", counted)
    size = 200
    for shape in sorted(SHAPES):
        del answers[:]
        text = SHAPES[shape].policy(size)
        assert agree(text) is not None
        if "\ntable " in text:  # the rows of a table are not items: the parse reads them
            continue
        # all of the rules but those before a plan, its walks and the last; one miss: the last
        regexed = size - (lalr._PLANS_AFTER + 1) - lalr._REGEX_AFTER - 1
        assert answers.count(True) >= regexed - 2, shape
        assert answers.count(False) <= 2, shape


def test_plans_are_tried_again_after_varied_items(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans set aside over items of many forms are tried again: rules of one form after them
    are still built by a plan."""
    built: list[int] = []
    replayed = lalr._replayed

    def counted(*args: Any) -> Any:
        before = len(args[-1][0])
        done = replayed(*args)
        built.append(len(done[2][0]) - before)
        return done

    monkeypatch.setattr(lalr, "_replayed", counted)
    varied = [f"def d{i} = 1" + " + 1" * i for i in range(150)]  # no two of one form
    rules = [f'rule r{i}: deny {{ when x == "{i}" }}' for i in range(400)]
    text = "\n".join(["context { x: string }", *varied, *rules])
    assert agree(text) is not None
    assert sum(built) > 300


def test_every_state_tries_terminals_in_the_root_lexer_order() -> None:
    """What lets one regex (the root lexer's) serve every state: each state's lexer tries the
    terminals it shares with the root in the root's order, and a state's regex is compiled only
    where the root's answer is not one of the state's terminals."""
    tables = lark_grammar.fast_tables()
    assert tables is not None
    root_order = [tid for tid, _ in tables.data["root_lexer"][0]]
    for terminals, *_ in tables.data["lexers"]:
        shared = [tid for tid, _ in terminals if tid in root_order]
        assert shared == sorted(shared, key=root_order.index)
    assert any(len(terminals) < len(root_order) for terminals, *_ in tables.data["lexers"])


CHILD = """\
import json, sys
import policydsl
from policydsl import lark_grammar
policydsl.load_stdlib()
loaded = "lark" in sys.modules
try:
    policydsl.loads("rule r: deny { when }")
except policydsl.PolicyError as err:  # a syntax error: Lark, imported now, reports it
    codes = [d.code.value for d in err.diagnostics]
print(json.dumps({"origin": lark_grammar.fast_tables_origin(), "lark": loaded, "codes": codes}))
"""


@pytest.mark.slow
def test_a_warm_cache_loads_the_stdlib_without_lark(tmp_path: Path) -> None:
    """The fast tables are cached apart from Lark's, under a key found without importing Lark:
    the first process builds them (with Lark), the next loads the stdlib with no Lark at all."""
    env = {**os.environ, "POLICYDSL_CACHE_DIR": str(tmp_path / "cache")}

    def child() -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, object] = json.loads(done.stdout)
        return result

    assert child() == {"origin": "built", "lark": True, "codes": ["P100"]}
    assert child() == {"origin": "cache", "lark": False, "codes": ["P100"]}
    assert len(list((tmp_path / "cache").glob("lalr-*.json"))) == 1
