"""The generated evaluator is safe by construction: hostile names and strings stay data.

Policies whose names shadow generated identifiers and whose strings look like code, and contexts
with hostile keys and values. Every case checks that the compiled backends decide like the
interpreter and that the generated module only holds generated identifiers, whitelisted constants
and a fixed set of attribute reads, running with empty builtins (STYLE.md, "IR and generated code").
"""

from __future__ import annotations

import ast
import collections
import enum
import random
import re
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import policydsl
from policydsl import runtime
from policydsl.glob import Glob, glob_match

# ---- what the generated module may contain ---------------------------------------------------

GENERATED_NAME = re.compile(r"_[A-Za-z][A-Za-z_]*\d*|ctx")
CONSTANT_TYPES = {str, int, bool, type(None)}
ATTRIBUTES = {
    "get",
    "__class__",
    "startswith",
    "endswith",
    "matches",
    "issuperset",
    "append",
    "sort",  # the list of fired rules, before `_several`
    "keys",
}
HOISTED_TYPES = (frozenset, tuple, dict, Glob)  # what generated names may hold


def identifiers(module: ast.AST) -> set[str]:
    """Every name the module binds or reads: variables, parameters, functions."""
    found: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.FunctionDef):
            found.add(node.name)
    return found


def constants(module: ast.AST) -> list[Any]:
    return [node.value for node in ast.walk(module) if isinstance(node, ast.Constant)]


def attributes(module: ast.AST) -> set[str]:
    return {node.attr for node in ast.walk(module) if isinstance(node, ast.Attribute)}


def plain(value: Any) -> bool:
    """A hoisted value made only of whitelisted scalars, collections of them and patterns."""
    if type(value) in CONSTANT_TYPES or isinstance(value, Glob):
        return True
    if isinstance(value, dict):
        return all(plain(k) and plain(v) for k, v in value.items())
    return isinstance(value, frozenset | tuple) and all(plain(v) for v in value)


def assert_safe(policy: policydsl.Policy) -> None:
    """The generated module of `policy` is made of generated names and constants only."""
    assert policy.evaluator is not None
    generated = policy.evaluator.generated
    module = generated.module
    assert generated.namespace["__builtins__"] == {}
    names = identifiers(module)
    assert all(GENERATED_NAME.fullmatch(n) for n in names), sorted(names)
    assert {type(c) for c in constants(module)} <= CONSTANT_TYPES
    assert attributes(module) <= ATTRIBUTES
    # no statement beyond plain control flow: no imports, no nested code, no global writes
    forbidden = (ast.Import, ast.ImportFrom, ast.Lambda, ast.ClassDef, ast.Global, ast.Nonlocal)
    assert not [n for n in ast.walk(module) if isinstance(n, forbidden)]
    assert all(GENERATED_NAME.fullmatch(k) for k in generated.namespace if k != "__builtins__")
    hoisted = {k: v for k, v in generated.namespace.items() if re.fullmatch(r"_[A-Z]+\d+", k)}
    assert all(isinstance(v, HOISTED_TYPES) and plain(v) for v in hoisted.values()), hoisted
    # the emitted Python keeps every policy string a constant: parsing it gives back the same
    # names, attribute reads and strings
    emitted = ast.parse(policy.compiled("python"))
    assert identifiers(emitted) == names
    assert attributes(emitted) == attributes(module)
    strings = sorted(c for c in constants(module) if isinstance(c, str))
    assert sorted(c for c in constants(emitted) if isinstance(c, str)) == strings


# ---- helpers ---------------------------------------------------------------------------------


def literal(text: str) -> str:
    """`text` as a policy string literal: the grammar escapes only `"`, `\\`, newline and tab."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\t", "\\t") + '"'


def reason(text: str) -> str:
    """`text` as a reason, braces doubled so that nothing is interpolated."""
    return literal(text.replace("{", "{{").replace("}", "}}"))


def backends(text: str) -> dict[str, policydsl.Policy]:
    return {b: policydsl.loads(text, name="hostile.policy", backend=b) for b in policydsl.BACKENDS}


def outcome(policy: policydsl.Policy, context: Any) -> Any:
    """The decision, or the context error it raised (type and message)."""
    try:
        return policy.decide(context)
    except policydsl.ContextError as err:
        return ("ContextError", str(err))


def assert_agree(policies: dict[str, policydsl.Policy], context: Any) -> Any:
    expected = outcome(policies["interpreted"], context)
    for backend, policy in policies.items():
        assert outcome(policy, context) == expected, backend
    return expected


# ---- hostile names ---------------------------------------------------------------------------

# Every name of the policy is a placeholder: once filled with hostile names (Python dunders,
# keywords, the identifiers codegen generates), once with neutral ones.
NAMES_TEMPLATE = string.Template(
    """\
enum $Enum { $m1, $m2, $m3, $m4 }
enum $Level { $low, $high }

context {
  $rec: {
    $name: string?
    $kind: $Enum = $m1
    $labels: set<$Enum> = []
    $count: int[0..] = 0
  }
  $other: {
    $flag: bool = false
    $words: list<string> = []
  }
}

effects $deny > $review > $allow default $allow
annotation $ann: $Level
obligations { $ob1, $ob2 }

def $def1 = $rec.$count > 2
def $def2 = $def1 and not $other.$flag

table $table($col1: $Enum, $col2: $Level, $col3: set<string>) {
  $m2, $high, ["2"]
  $m3, $low,  []
}

rule $rule1: $deny {
  when $def2 and $rec.$kind == $m1
  $ann $high
  cite "1"
  obligations [$ob1]
  tags [$tag1, $tag2]
  reason "one"
}

rule $rule2 for $table: $deny {
  when $col1 in $rec.$labels
  $ann $col2
  cite $col3
  reason "row {$col1} {{$col2}}"
}

rule $rule3: $review {
  when has $rec.$name
       and ($rec.$name starts_with "a" or (some $var in $other.$words: $var == $rec.$name))
  obligations [$ob2]
  reason "three"
}

rule $rule4: $review {
  when $def1 and $rec.$kind in [$m2, $m4]
  reason "four"
}

rule $rule5: $deny {
  when $def1 and $other.$flag
  reason "five"
}

output $out: $Level {
  when some $var in fired: has $var.$ann and $var.$ann == $high => $high
  when decision == $review => $high
  otherwise => $low
}
"""
)

HOSTILE_NAMES = {
    "Enum": "_mask",
    "m1": "__class__",
    "m2": "__import__",
    "m3": "_CACHE",
    "m4": "None",
    "Level": "_Errors",
    "low": "True",
    "high": "_fallback",
    "rec": "_s0",
    "name": "__class__",
    "kind": "get",
    "labels": "_fired",
    "count": "_s1",
    "other": "ctx",
    "flag": "__builtins__",
    "words": "_decide",
    "deny": "_miss",
    "review": "_finish",
    "allow": "lambda",
    "ann": "_entry",
    "ob1": "_EMPTY",
    "ob2": "__dict__",
    "def1": "_t0",
    "def2": "_flags",
    "table": "_IA0",
    "col1": "_k1",
    "col2": "_v2",
    "col3": "_o0",
    "rule1": "_dict",
    "rule2": "__init__",
    "rule3": "import",
    "rule4": "_K1",
    "rule5": "exec",
    "tag1": "__globals__",
    "tag2": "_key",
    "var": "_e1",
    "out": "_d",
}
NEUTRAL_NAMES = {key: f"P{key}" for key in HOSTILE_NAMES}

# contexts written with the placeholders, translated by the same mapping as the policy
NAME_CONTEXTS = [
    {},
    {"$rec": {"$count": 3, "$kind": "$m1"}},
    {"$rec": {"$count": 3, "$kind": "$m4"}},
    {"$rec": {"$labels": ["$m2", "$m3"]}},
    {"$rec": {"$name": "abc"}},
    {"$rec": {"$name": "zz"}, "$other": {"$words": ["x", "zz"]}},
    {"$rec": {"$count": 9}, "$other": {"$flag": True}},
    {"$rec": {"$kind": "$low"}},  # a member of the other enum: a context error
    {"$rec": {"$labels": ["$m2", "nope"]}},
]


def translate(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {translate(k, names): translate(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [translate(v, names) for v in value]
    if isinstance(value, str) and value.startswith("$"):
        return names[value[1:]]
    return value


@pytest.fixture(scope="module")
def hostile_names() -> dict[str, policydsl.Policy]:
    return backends(NAMES_TEMPLATE.substitute(HOSTILE_NAMES))


@pytest.fixture(scope="module")
def neutral_names() -> dict[str, policydsl.Policy]:
    return backends(NAMES_TEMPLATE.substitute(NEUTRAL_NAMES))


def test_hostile_names_compile_to_safe_code(hostile_names: dict[str, policydsl.Policy]) -> None:
    for backend in ("compiled", "naive"):
        assert_safe(hostile_names[backend])


@pytest.mark.parametrize("backend", ["compiled", "naive"])
def test_identifiers_do_not_come_from_the_policy(
    hostile_names: dict[str, policydsl.Policy],
    neutral_names: dict[str, policydsl.Policy],
    backend: str,
) -> None:
    """Renaming every policy name changes no identifier of the generated code.

    With neutral names no identifier equals a policy name; with hostile ones the identifiers are
    the same, so where one equals a policy name (`ctx`, `_fired`) it is the generator's own.
    """
    hostile, neutral = hostile_names[backend].evaluator, neutral_names[backend].evaluator
    assert hostile is not None and neutral is not None
    names = identifiers(neutral.generated.module)
    assert not names & set(NEUTRAL_NAMES.values())
    assert identifiers(hostile.generated.module) == names


@pytest.mark.parametrize("context", NAME_CONTEXTS, ids=str)
def test_hostile_names_decide_like_the_interpreter(
    hostile_names: dict[str, policydsl.Policy],
    neutral_names: dict[str, policydsl.Policy],
    context: dict[str, Any],
) -> None:
    hostile = assert_agree(hostile_names, translate(context, HOSTILE_NAMES))
    neutral = assert_agree(neutral_names, translate(context, NEUTRAL_NAMES))
    # the same request under both namings fires the same number of rules
    if isinstance(hostile, policydsl.Decision):
        assert isinstance(neutral, policydsl.Decision)
        assert len(hostile.rules) == len(neutral.rules)
    else:
        assert hostile[0] == neutral[0]


def test_hostile_names_reach_the_decision(hostile_names: dict[str, policydsl.Policy]) -> None:
    context = {"_s0": {"_s1": 3, "get": "__class__", "_fired": ["__import__"]}}
    decision = hostile_names["compiled"].decide(context)
    assert decision.decision == "_miss"
    assert decision.rules == ("__init__[__import__]", "_dict")
    assert decision.reasons == ("row __import__ {_v2}", "one")  # `{{` is a brace
    assert decision.obligations == ("_EMPTY",)
    assert decision.outputs == (("_d", "_fallback"),)


# ---- hostile strings -------------------------------------------------------------------------

PWNED = "policydsl-pwned-marker"  # a file the hostile strings try to create in the cwd

HOSTILE_STRINGS = [
    pytest.param('"); import os; ("', id="breakout"),
    pytest.param(f"__import__('os').system('touch {PWNED}')", id="import-call"),
    pytest.param(f"\"); __import__('os').system('touch {PWNED}'); (\"", id="breakout-call"),
    pytest.param("'''\"\"\"", id="triple-quotes"),
    pytest.param("back\\slash\\", id="backslashes"),
    pytest.param("\\n is not a newline", id="escaped-escape"),
    pytest.param("line one\nline two\n", id="newlines"),
    pytest.param("tab\there", id="tab"),
    pytest.param("{} {0} {__class__} {{", id="braces"),
    pytest.param("".join(chr(c) for c in [*range(1, 9), *range(11, 32), 127]), id="controls"),
    pytest.param("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", id="line-breaks"),
    pytest.param("\u202eevil\u202c \u200f\u200e\u2066rtl\u2069", id="bidi"),
    pytest.param("h\u00e9llo w\u00f6rld \u4e2d\u6587 \U0001f600\U0001f525\u200d", id="non-ascii"),
    pytest.param("x" * 100_000, id="100kB"),
    pytest.param("__builtins__", id="builtins"),
    pytest.param("", id="empty"),
    pytest.param("a*b?c[d]", id="glob-chars"),
]
# Control, bidirectional and stray line-break characters cannot be written in a policy (the parser
# refuses them: P010-P012); they still reach the code as request values, tested below.
UNWRITABLE = {"controls", "line-breaks", "bidi"}
WRITABLE_STRINGS = [p for p in HOSTILE_STRINGS if p.id not in UNWRITABLE]
STRING_VALUES: list[str] = [p.values[0] for p in WRITABLE_STRINGS]  # type: ignore[misc]
REQUEST_ONLY_STRINGS = [p for p in HOSTILE_STRINGS if p.id in UNWRITABLE]


def strings_policy() -> str:
    """Every hostile string as a literal, a table key, a citation, a pattern, an annotation and
    a reason; some as output values. Each string appears nine times: the 100 kB one keeps the
    policy under the 1 MB file limit.
    """
    rows = "\n".join(f"  {literal(s)}" for s in STRING_VALUES)
    members = ", ".join(literal(s) for s in STRING_VALUES)
    parts = [
        f"""\
context {{
  subject: {{
    text: string[..200000] = "default"
    words: list<string[..200000]> = []
    picked: set<string[..200000]> = []
  }}
}}
effects deny > review > allow default allow
annotation note: string

output echo: string {{
  when some r in fired: has r.note and r.note == {literal(STRING_VALUES[1])}
       => {literal(STRING_VALUES[2])}
  when decision == deny => {literal(STRING_VALUES[0])}
  otherwise => ""
}}

table exact(key: string) {{
{rows}
}}

rule exact_match for exact: deny {{
  when subject.text == key
  cite key
  reason "matched `{{key}}`"
}}

rule any_of: review {{
  when subject.text in [{members}]
  reason "one of the listed strings"
}}
"""
    ]
    for i, s in enumerate(STRING_VALUES):
        parts.append(
            f"""
rule s{i}: review {{
  when subject.text starts_with {literal(s)} and subject.text like {literal(s + "*")}
       or {literal(s)} in subject.picked
       or (some w in subject.words: w == {literal(s)} and subject.text ends_with w)
  cite {literal(s)}
  note {literal(s)}
  reason {reason(s)}
}}
"""
        )
    return "".join(parts)


@pytest.fixture(scope="module")
def hostile_strings() -> dict[str, policydsl.Policy]:
    return backends(strings_policy())


def test_hostile_strings_compile_to_safe_code(
    hostile_strings: dict[str, policydsl.Policy],
) -> None:
    for backend in ("compiled", "naive"):
        policy = hostile_strings[backend]
        assert_safe(policy)
        assert policy.evaluator is not None
        generated = policy.evaluator.generated
        kept = {c for c in constants(generated.module) if isinstance(c, str)}
        for name, value in generated.namespace.items():
            if runtime.HOISTED.fullmatch(name):
                kept |= strings_in(value)
        # each string a check reads stays one whole constant: of the code, or of a hoisted
        # table or pattern (an index's keys, a bucket's row)
        assert not set(STRING_VALUES) - kept


def strings_in(value: Any) -> set[str]:
    """The strings a hoisted constant holds whole: itself, its items, keys and patterns."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, Glob):
        return {value.pattern}
    if isinstance(value, dict):
        return set().union(set(), *map(strings_in, value), *map(strings_in, value.values()))
    if isinstance(value, tuple | frozenset):
        return set().union(set(), *map(strings_in, value))
    return set()


@pytest.mark.parametrize("value", REQUEST_ONLY_STRINGS)
def test_unwritable_strings_are_refused_in_policies_and_decided_in_requests(
    hostile_strings: dict[str, policydsl.Policy], value: str
) -> None:
    head = "context { }\neffects deny > allow default allow\n"
    text = head + "rule r: deny {\n  reason " + literal(value) + "\n}\n"
    with pytest.raises(policydsl.PolicyError) as excinfo:
        policydsl.loads(text)
    assert {d.code for d in excinfo.value.diagnostics} <= {"P010", "P011", "P012"}
    for context in ({"subject": {"text": value}}, {"subject": {"words": [value], "text": value}}):
        assert isinstance(assert_agree(hostile_strings, context), policydsl.Decision)


@pytest.mark.parametrize("value", WRITABLE_STRINGS)
def test_hostile_strings_decide_like_the_interpreter(
    hostile_strings: dict[str, policydsl.Policy], value: str
) -> None:
    for context in (
        {"subject": {"text": value}},
        {"subject": {"text": value + value[:1]}},
        {"subject": {"text": "x" + value, "picked": [value]}},
        {"subject": {"text": value, "words": [value, "other"]}},
    ):
        decision = assert_agree(hostile_strings, context)
        assert isinstance(decision, policydsl.Decision)
    exact = hostile_strings["compiled"].decide({"subject": {"text": value}})
    assert f"exact_match[{value}]" in exact.rules
    assert f"matched `{value}`" in exact.reasons
    assert value in exact.citations
    picked = hostile_strings["compiled"].decide({"subject": {"picked": [value]}})
    assert value in picked.reasons
    if value == STRING_VALUES[1]:
        assert picked.outputs == (("echo", STRING_VALUES[2]),)


def test_hostile_strings_are_never_executed(
    hostile_strings: dict[str, policydsl.Policy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for policy in hostile_strings.values():
        for value in STRING_VALUES:
            policy.decide({"subject": {"text": value, "picked": [value]}})
        if policy.evaluator is not None:
            policy.compiled("python")
            policy.compiled("ir")
    policydsl.loads(strings_policy(), backend="compiled")
    assert not (tmp_path / PWNED).exists()
    assert not list(tmp_path.iterdir())


def test_ir_dump_of_hostile_strings_stays_one_line_per_item(
    hostile_strings: dict[str, policydsl.Policy],
) -> None:
    """Strings in the dump are escaped: no raw control character, no line of its own."""
    for backend in ("compiled", "naive"):
        dump = hostile_strings[backend].compiled("ir")
        lines = dump.split("\n")
        assert all(line.isprintable() for line in lines)
        assert len(dump.splitlines()) == len(lines) - 1
        listed = lines[lines.index("rules:") + 1 :]
        listed = listed[: listed.index("")]
        assert len(listed) == len(hostile_strings["interpreted"].checked.rules)
        assert all(re.match(r"  r\d+ \S.* -> (deny|review)", line) for line in listed)


# ---- hostile contexts ------------------------------------------------------------------------


class Text(str):
    pass


class Number(enum.IntEnum):
    SEVENTEEN = 17


class Category(enum.StrEnum):
    SPAM = "spam"


HUGE = "\U0001f600" * 250_000 + "\u202e" * 10

HOSTILE_CONTEXTS = [
    pytest.param({"__class__": {"__class__": 1}}, id="class-keys"),
    pytest.param({"__builtins__": {}, "__import__": "os", "ctx": None}, id="dunder-keys"),
    pytest.param(
        {"user": {"__class__": "x", "age": 30}, "use": {"__dict__": {}}}, id="nested-dunders"
    ),
    pytest.param({"user": {"id": HUGE, "age": 12}}, id="huge-string"),
    pytest.param({"use": {"domain": HUGE}}, id="huge-enum-value"),
    pytest.param({"content": {"categories": [HUGE]}}, id="huge-category"),
    pytest.param({"user": {"id": "__import__('os').system('touch x')"}}, id="code-string"),
    pytest.param({"use": {"domain": "__class__"}}, id="enum-dunder"),
    pytest.param({"content": {"categories": ["__class__", "spam"]}}, id="category-dunder"),
    pytest.param({"content": {"categories": [["spam"]]}}, id="unhashable-category"),
    pytest.param({"use": {"domain": ["legal"]}}, id="unhashable-domain"),
    pytest.param({"use": {"domain": {"__class__": "legal"}}}, id="dict-domain"),
    pytest.param({"user": {"age": 10**5000}}, id="huge-int"),
    pytest.param({"user": {"age": -(10**5000)}}, id="huge-negative"),
    pytest.param({"user": {"age": 17.0}}, id="float-age"),
    pytest.param({"user": {"age": True}}, id="bool-age"),
    pytest.param({"user": {"parental_consent": 1}}, id="int-bool"),
    pytest.param({"user": []}, id="list-record"),
    pytest.param({"user": "__class__"}, id="string-record"),
    pytest.param({"content": {"categories": "spam"}}, id="string-collection"),
    pytest.param({"content": {"categories": ["spam"] * 10_001}}, id="too-many"),
    pytest.param({"content": {"categories": ["spam"] * 10_000}}, id="many-repeats"),
    pytest.param({"content": {"categories": {"spam"}}}, id="python-set"),
    pytest.param({"content": {"categories": frozenset({"spam"})}}, id="python-frozenset"),
    pytest.param({"content": {"categories": ("spam", "hate")}}, id="tuple"),
    pytest.param({"user": {"id": Text("someone"), "age": 40}}, id="str-subclass"),
    pytest.param({"user": {"age": Number.SEVENTEEN}}, id="int-enum"),
    pytest.param({"content": {"categories": [Category.SPAM]}}, id="str-enum-element"),
    pytest.param({"use": {"domain": Text("legal")}}, id="str-subclass-enum"),
    pytest.param(collections.OrderedDict(user={"age": 16}), id="dict-subclass"),
    pytest.param({"user": collections.UserDict({"age": 16})}, id="mapping-record"),
    pytest.param([("user", {})], id="not-a-mapping"),
    pytest.param(None, id="none"),
]


@pytest.fixture(scope="module")
def stdlib() -> dict[str, policydsl.Policy]:
    return {b: policydsl.load_stdlib(backend=b) for b in policydsl.BACKENDS}


@pytest.mark.parametrize("context", HOSTILE_CONTEXTS)
def test_hostile_contexts_decide_like_the_interpreter(
    stdlib: dict[str, policydsl.Policy], context: Any
) -> None:
    assert_agree(stdlib, context)


def test_stdlib_compiles_to_safe_code(stdlib: dict[str, policydsl.Policy]) -> None:
    for backend in ("compiled", "naive"):
        assert_safe(stdlib[backend])


def test_generated_code_cannot_reach_builtins(stdlib: dict[str, policydsl.Policy]) -> None:
    """The namespace the code runs in gives it no builtin, so a name it did not get fails."""
    assert stdlib["compiled"].evaluator is not None
    namespace = stdlib["compiled"].evaluator.generated.namespace
    probe = compile("__import__('os')", "<probe>", "eval")
    with pytest.raises(NameError):
        eval(probe, dict(namespace))
    assert not {"__import__", "open", "eval", "exec", "getattr"} & set(namespace)


# ---- `like` against hostile text -----------------------------------------------------------


def pattern_tokens(pattern: str) -> list[tuple[str, str]]:
    """("*", ""), ("?", "") or ("=", character): a backslash makes the next character literal,
    and stands for itself at the very end."""
    tokens = []
    escaped = False
    for c in pattern:
        if escaped:
            tokens.append(("=", c))
            escaped = False
        elif c == "\\":
            escaped = True
        else:
            tokens.append((c, "") if c in "*?" else ("=", c))
    if escaped:
        tokens.append(("=", "\\"))
    return tokens


def reference_glob(text: str, pattern: str) -> bool:
    """`like` by its definition: `*` any run, `?` one character, `\\c` the character c
    (dynamic programming)."""
    matches = [True] + [False] * len(text)  # pattern so far against each prefix of text
    for kind, c in pattern_tokens(pattern):
        if kind == "*":
            matches = [any(matches[: i + 1]) for i in range(len(text) + 1)]
        else:
            matches = [False] + [
                matches[i] and (kind == "?" or c == text[i]) for i in range(len(text))
            ]
    return matches[-1]


def test_like_means_what_the_language_says() -> None:
    rng = random.Random(7)
    for _ in range(20_000):
        pattern = "".join(rng.choice("ab*?.\n\\") for _ in range(rng.randint(0, 7)))
        text = "".join(rng.choice("ab.\n\\") for _ in range(rng.randint(0, 9)))
        assert glob_match(text, pattern) == reference_glob(text, pattern), (text, pattern)


LIKE_POLICY = """\
context { text: string[..100000] = "" }
effects deny > allow default allow
rule many_stars: deny { when text like "*a*a*a*a*a*a*b" reason "stars" }
rule many_stars_fit: deny { when text like "*a*a*a*a*a*a*" reason "stars that fit" }
"""

LIKE_CHILD = """\
import sys
sys.path.insert(0, sys.argv[1])
import policydsl
for backend in policydsl.BACKENDS:
    policy = policydsl.loads(sys.argv[2], backend=backend)
    print(backend, policy.decide({"text": "a" * 100_000}).rules)
"""


def test_like_is_not_a_denial_of_service() -> None:
    """A pattern with many stars against 100 kB of text decides at once (backtracking regexes
    took time in the text's length to the power of the number of stars)."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", LIKE_CHILD, str(root), LIKE_POLICY],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.split("\n")[:3] == [
        f"{backend} ('many_stars_fit',)" for backend in policydsl.BACKENDS
    ]
