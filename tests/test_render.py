"""The one expression printer (`policydsl.render`): what `explain` and the IR dump print is policy
text. Every test an explanation shows parses back, and, put back into its policy as a rule's
condition, checks to the very expression that was explained; every expression and constant of
an IR dump parses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from randcontext import stdlib_contexts
from randpolicy import make_case

import policydsl
from policydsl import nodes
from policydsl.model import Const, map_children
from policydsl.parser import parse
from policydsl.render import expr_text, value_text
from policydsl.source import Source
from policydsl.typesys import CollectionType, EnumType

ROOT = Path(__file__).resolve().parent.parent
STDLIB = sorted((ROOT / "stdlib_rules").glob("*.policy"))
DOC_SHARING = ROOT / "examples" / "doc_sharing" / "sharing.policy"
RANDOM_SEEDS = range(40)
MAX_VALID = 6  # requests explained per policy: the tests printed do not depend on them


def parses(text: str) -> nodes.Expr:
    """`text` as an expression of the language (a definition's value), or fail naming why."""
    tree, diagnostics = parse(Source("<printed>", f"def printed = {text}\n"))
    assert tree is not None and not diagnostics, (text, [d.message for d in diagnostics])
    decl = tree.decls[0]
    assert isinstance(decl, nodes.DefDecl)
    return decl.value


def explained_tests(policy: policydsl.Policy, contexts: list[Any]) -> dict[str, list[str]]:
    """The tests `explanation()` prints for every rule (asked about by name), per rule id; the
    same whatever the request."""
    rule_ids = [r.id for r in policy.checked.rules]
    printed: dict[str, list[str]] = {}
    valid = 0
    for context in contexts:
        try:
            explained = policy.explanation(context, rule_ids)
        except policydsl.ContextError:
            continue
        valid += 1
        if valid > MAX_VALID:
            break
        for rule in explained["explained"]:
            tests = [test["test"] for test in rule["tests"]]
            assert printed.setdefault(rule["id"], tests) == tests, rule["id"]
    assert printed, "no context was valid"
    return printed


def probes(policy: policydsl.Policy, printed: dict[str, list[str]]) -> tuple[str, dict[str, str]]:
    """One rule per explained rule whose condition is its printed tests, `and`-ed again."""
    effect = {r.id: r.effect for r in policy.checked.rules}
    names = {}
    lines = []
    for i, (rule_id, tests) in enumerate(printed.items()):
        names[f"printed_probe_{i}"] = rule_id
        condition = " and ".join(f"({test})" for test in tests)
        lines.append(f"rule printed_probe_{i}: {effect[rule_id]} {{ when {condition} }}")
    return "\n".join(lines) + "\n", names


def _normal(e: Any) -> Any:
    """`e` with the differences printing may make without changing the meaning undone: a
    constant collection is the set of its elements (a table cell of type `set` prints as
    `[a, b]`, which `in` reads back as a list literal), and `-` of a constant is the negative
    constant (a table cell `5` under `-` prints as `-5`, a literal)."""
    e = map_children(e, _normal)
    match e:
        case nodes.Neg(Const(int() as value)):
            return Const(-value)
        case nodes.ListLit(items) if all(isinstance(i, Const) for i in items):
            return Const(frozenset(i.value for i in items))
        case Const(tuple() | frozenset() as values):
            return Const(frozenset(values))
    return e


def assert_same_conditions(
    original: policydsl.Policy, reloaded: policydsl.Policy, names: dict[str, str]
) -> None:
    by_id = {r.id: r for r in reloaded.checked.rules}
    for probe, rule_id in names.items():
        assert _normal(by_id[probe].condition) == _normal(by_id[rule_id].condition), rule_id
    assert len(names) == len(original.checked.rules)


def test_stdlib_explanations_parse_back_to_the_same_conditions(tmp_path: Path) -> None:
    policy = policydsl.load_stdlib(backend="interpreted")
    printed = explained_tests(policy, stdlib_contexts(60, seed=6))
    for tests in printed.values():
        for test in tests:
            parses(test)
    text, names = probes(policy, printed)
    probe_file = tmp_path / "probes.policy"
    probe_file.write_text(text, encoding="utf-8")
    reloaded = policydsl.load([*STDLIB, probe_file], backend="interpreted")
    assert_same_conditions(policy, reloaded, names)


@pytest.mark.parametrize(
    "seed", [None, *RANDOM_SEEDS], ids=lambda s: "doc_sharing" if s is None else f"random{s}"
)
def test_explanations_parse_back_to_the_same_conditions(seed: int | None) -> None:
    entities = None
    if seed is None:
        source = DOC_SHARING.read_text(encoding="utf-8")
        requests = sorted((DOC_SHARING.parent / "requests").glob("*.json"))
        contexts: list[Any] = [json.loads(r.read_text(encoding="utf-8")) for r in requests]
    else:
        case = make_case(seed)
        source, contexts = case.text, case.contexts(60)
        entities = case.entities.data if case.entities is not None else None
    policy = policydsl.loads(source, backend="interpreted")
    if entities is not None:
        policy.load_entities(entities)
    printed = explained_tests(policy, contexts)
    for tests in printed.values():
        for test in tests:
            parses(test)
    text, names = probes(policy, printed)
    reloaded = policydsl.loads(source + "\n" + text, backend="interpreted")
    if entities is not None:
        reloaded.load_entities(entities)
    assert_same_conditions(policy, reloaded, names)


# ---- the IR dump ---------------------------------------------------------------------------

_EXPRESSION_LINES = [
    re.compile(r"^  [tf]\d+ = (?P<expr>.+)$"),  # hoisted tests, flags
    re.compile(r"^  r\d+ if (?P<expr>.+)$"),  # checks
    re.compile(r"^  when (?P<expr>.+) => (?P<value>.+)$"),  # output cases
    re.compile(r"^  otherwise => (?P<value>.+)$"),
    re.compile(r"^  s\d+ [\w.]+: .+? = (?P<value>.+?)(?: \(materialized\))?$"),  # defaults
]
_BUCKET = re.compile(r"^ +(?P<value>.+?) -> (?P<rest>.*)$")
_BUCKET_CHECK = re.compile(r"r\d+ if (.+?)(?=; r\d+ if |$)")


def dumped_expressions(dump: str) -> list[str]:
    """Every expression and constant of an IR dump (hoisted tests and flags print as `t0`/`f0`,
    names a policy may use too)."""
    found = []
    section = ""
    for line in dump.splitlines():
        if line and not line.startswith(" "):
            section = line
            continue
        if section.startswith("index "):
            bucket = _BUCKET.match(line)
            if bucket and not line.lstrip().startswith("index "):
                found.append(bucket["value"])
                found.extend(_BUCKET_CHECK.findall(bucket["rest"]))
                continue
        for pattern in _EXPRESSION_LINES:
            match = pattern.match(line)
            if match:
                found.extend(v for v in match.groupdict().values() if v is not None)
                break
    return found


def test_every_expression_of_the_ir_dumps_parses() -> None:
    dumps = [
        policydsl.load_stdlib().compiled("ir"),
        policydsl.load_stdlib(backend="naive").compiled("ir"),
        policydsl.load(DOC_SHARING).compiled("ir"),
    ]
    # random policies: the unindexed dump (a bucket line may hold strings with `; ` or ` -> `)
    dumps.extend(
        policydsl.loads(make_case(seed).text, backend="naive").compiled("ir")
        for seed in RANDOM_SEEDS
    )
    count = 0
    for dump in dumps:
        for text in dumped_expressions(dump):
            parses(text)
            count += 1
    assert count > 500


# ---- values ----------------------------------------------------------------------------------

ROLE = EnumType("Role", ("viewer", "owner"))


@pytest.mark.parametrize(
    ("value", "type_", "text"),
    [
        ("spam", None, '"spam"'),
        ('say "hi"\\', None, '"say \\"hi\\"\\\\"'),
        ("two\nlines\tand tab", None, '"two\\nlines\\tand tab"'),
        ("owner", ROLE, "owner"),
        (True, None, "true"),
        (False, None, "false"),
        (-3, None, "-3"),
        (frozenset({"q", "p"}), None, '["p", "q"]'),
        (frozenset({10, 9, -1}), None, "[-1, 9, 10]"),
        (frozenset({"owner", "viewer"}), CollectionType("set", ROLE), "[owner, viewer]"),
        (("b", "a", "b"), CollectionType("list", ROLE), "[b, a, b]"),
        ((), None, "[]"),
    ],
)
def test_values_print_as_a_policy_writes_them(value: Any, type_: Any, text: str) -> None:
    assert value_text(value, type_) == text
    assert expr_text(Const(value, type=type_)) == text


HIDDEN_STRINGS = [
    "\x1b[2J",  # ESC: a terminal would clear its screen
    "\u202eevil",  # a bidirectional override
    "a\u200bb\u00a0c\u200dd",  # zero-width and no-break spaces
    "\x00\x7f\x85\x9b\r\v\f\u2028\u2029\ufeff",
    "\U0001f600\U000e0041",  # astral: an emoji, an invisible tag character
]


def test_printed_strings_mean_the_same_string() -> None:
    for value in [
        "",
        'a"b',
        "back\\slash",
        "tab\there",
        "two\nlines",
        "é日本語",
        "); import os; (",
        "\\u{41}",
        *HIDDEN_STRINGS,
    ]:
        printed = value_text(value)
        parsed = parses(printed)
        assert isinstance(parsed, nodes.StrLit) and parsed.value == value
        assert printed.isprintable(), printed


def test_shown_strings_hide_nothing() -> None:
    """A string holding characters a terminal acts on or hides prints them as `\\u{...}` in
    `explain` and the IR dump; the formatter, which writes source, keeps each literal as written
    (raw, the parser refuses controls, bidirectional controls and stray line breaks: P010-P012)."""
    hidden = "a\u200bb\u00a0c\u200dd"
    escaped = "\\u{1b}[2J\\u{202e}"
    text = (
        'context { s: string = "" }\neffects deny > allow default allow\n'
        f'rule r: deny {{ when s == "{hidden}" or s == "{escaped}" cite "1" reason "r" }}\n'
    )
    shown = '"a\\u{200b}b\\u{a0}c\\u{200d}d"'
    policy = policydsl.loads(text)
    test = policy.explanation({}, ["r"])["explained"][0]["tests"][0]["test"]
    assert test == f's == {shown} or s == "{escaped}"'
    dump = policy.compiled("ir")
    assert shown in dump and all(line.isprintable() for line in dump.splitlines())
    formatted = policydsl.format_source(text)
    assert hidden in formatted and escaped in formatted


HIDDEN_POLICY = """\
enum Kind { plain, odd }
context { s: string = ""  words: list<string> = [] }
effects deny > allow default allow
table odd(text: string, kind: Kind) {
  "\\u{1b}[2J",          odd
  "\\u{202e}txt",        odd
  "zero\u200bwidth",     odd
  "\\u{1f600}\\u{e0041}", plain
}
rule by_text for odd: deny {
  when s == text or text in words or s starts_with "\\u{2066}"
  cite "\\u{85}1"
  reason "{text} is \\u{1b}[31mred"
}
rule any_word: deny { when words contains_any ["\\u{0}", "\\u{2028}", "\\u{feff}"] cite "2" }
"""


def test_hidden_characters_print_back_from_explanations_and_the_ir() -> None:
    """The round trips above, over strings only an escape can write (table cells, constants,
    citations and reasons): what is printed is printable and parses to the same conditions."""
    policy = policydsl.loads(HIDDEN_POLICY, backend="interpreted")
    contexts: list[Any] = [{"s": value, "words": [value]} for value in ["", *HIDDEN_STRINGS]]
    printed = explained_tests(policy, contexts)
    for tests in printed.values():
        for test in tests:
            assert test.isprintable(), test
            parses(test)
    text, names = probes(policy, printed)
    reloaded = policydsl.loads(HIDDEN_POLICY + "\n" + text, backend="interpreted")
    assert_same_conditions(policy, reloaded, names)
    for backend in ["compiled", "naive"]:
        loaded = policydsl.loads(HIDDEN_POLICY, backend=backend)
        python = loaded.compiled("python")  # strings are `repr`s there: escaped too
        assert all(line.isprintable() for line in python.splitlines()), python
        dump = loaded.compiled("ir")
        assert all(line.isprintable() for line in dump.splitlines()), dump
        expressions = dumped_expressions(dump)
        assert any("\\u{1b}" in e for e in expressions)
        for expression in expressions:
            parses(expression)
