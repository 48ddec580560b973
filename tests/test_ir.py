"""The compiled form is stable: golden IR dumps and generated Python, determinism, IR properties.

Goldens live in `tests/goldens/ir/`; `pytest --update-goldens` rewrites them from the current
output (then read the diff: it is the review of the compiler change). Also `policyc compile` and
the policy line numbers the generated code carries.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import policydsl
from policydsl import ir, model
from policydsl.cli import cli

ROOT = Path(__file__).resolve().parent.parent
GOLDENS = Path(__file__).resolve().parent / "goldens" / "ir"
POLICIES = {
    "stdlib": policydsl.stdlib_path(),
    "doc_sharing": ROOT / "examples" / "doc_sharing",
    "index_kinds": ROOT / "tests" / "policies" / "index_kinds.policy",  # every kind of index
}

# golden suffix -> (emit, backend)
FORMS = {".ir": ("ir", "compiled"), ".naive.ir": ("ir", "naive"), ".py": ("python", "compiled")}


def compiled(name: str, suffix: str) -> str:
    """The compiled form of a policy as its golden file holds it (one final newline)."""
    emit, backend = FORMS[suffix]
    text = policydsl.load(POLICIES[name], backend=backend).compiled(emit)
    return text if text.endswith("\n") else text + "\n"


def golden_text(name: str, suffix: str) -> str:
    return (GOLDENS / f"{name}{suffix}").read_text(encoding="utf-8")


def section(dump: str, title: str) -> list[str]:
    """The lines of one section of a dump: the indented lines after its title line."""
    lines = dump.split("\n")
    body = []
    for line in lines[lines.index(title) + 1 :]:
        if not line.startswith("  "):
            break
        body.append(line)
    return body


def rule_numbers(dump: str) -> dict[str, str]:
    """Rule id -> its number (`r12`), from the dump's rule list."""
    listed = [re.fullmatch(r"  (r\d+) (\S+) -> .*", line) for line in section(dump, "rules:")]
    assert all(listed), "every line of the rule list is `rN id -> effect ...`"
    return {m.group(2): m.group(1) for m in listed if m}


def mentioned(line: str) -> set[str]:
    return set(re.findall(r"\br\d+\b", line))


# ---- goldens -----------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", list(FORMS))
@pytest.mark.parametrize("name", list(POLICIES))
def test_golden(name: str, suffix: str, golden: Callable[[Path, str], None]) -> None:
    golden(GOLDENS / f"{name}{suffix}", compiled(name, suffix))


# ---- determinism -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", list(FORMS))
@pytest.mark.parametrize("name", list(POLICIES))
def test_compiling_twice_gives_identical_output(name: str, suffix: str) -> None:
    assert compiled(name, suffix).encode() == compiled(name, suffix).encode()


CHILD = """\
import json, sys
sys.path.insert(0, sys.argv[1])
import policydsl
jobs = json.loads(sys.argv[2])
out = {key: policydsl.load(path, backend=b).compiled(emit) for key, path, b, emit in jobs}
sys.stdout.write(json.dumps(out))
"""
JOBS = [
    (f"{name}{suffix}", str(path), backend, emit)
    for name, path in POLICIES.items()
    for suffix, (emit, backend) in FORMS.items()
]


def compile_in_subprocess(hash_seed: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT), json.dumps(JOBS)],
        env=env,
        capture_output=True,
        check=True,
        timeout=120,
    )
    result: dict[str, str] = json.loads(done.stdout)
    return result


@pytest.mark.slow
def test_output_does_not_depend_on_the_hash_seed() -> None:
    """Set and dict orders change with the seed of str hashes; the compiled form must not."""
    first, second = compile_in_subprocess("1"), compile_in_subprocess("4242")
    assert first == second
    here = {key: policydsl.load(path, backend=b).compiled(emit) for key, path, b, emit in JOBS}
    assert first == here


# ---- properties of the dump --------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["compiled", "naive"])
@pytest.mark.parametrize("name", list(POLICIES))
def test_dump_starts_with_the_version_line(name: str, backend: str) -> None:
    dump = policydsl.load(POLICIES[name], backend=backend).compiled("ir")
    layout = "indexed" if backend == "compiled" else "naive"
    assert dump.startswith(f"policydsl-ir {ir.IR_VERSION} ({layout})\n")


@pytest.mark.parametrize("backend", ["compiled", "naive"])
@pytest.mark.parametrize("name", list(POLICIES))
def test_each_rule_is_listed_once_and_reached(name: str, backend: str) -> None:
    policy = policydsl.load(POLICIES[name], backend=backend)
    dump = policy.compiled("ir")
    listed = section(dump, "rules:")
    ids = [r.id for r in policy.checked.rules]
    numbers = rule_numbers(dump)
    assert len(listed) == len(ids) == len(numbers)
    assert sorted(numbers) == sorted(ids)
    for rule_id in ids:
        assert sum(f" {rule_id} -> " in line for line in listed) == 1, rule_id
    assert sorted(numbers.values()) == sorted(f"r{i}" for i in range(len(ids)))
    # every rule is fired somewhere after the list: always, dead, a check or an index bucket
    lines = dump.split("\n")
    after = lines[lines.index("rules:") + 1 + len(listed) :]
    assert set().union(*map(mentioned, after)) == set(numbers.values())


ALWAYS_AND_DEAD = """\
context {
  n: int = 0
  flag: bool = false
}
effects deny > allow default allow

rule no_condition: deny { reason "no when: always" }
rule literally_true: deny { when true reason "true" }
rule folds_true: deny { when 1 + 1 == 2 and (flag or true) reason "arithmetic" }
rule literally_false: deny { when false reason "false" }
rule folds_false: deny { when 2 * 3 < 5 and n > 3 reason "contradiction" }
rule not_true: deny { when not (true or flag) reason "negated" }
rule live: deny { when n * 2 > 7 reason "depends on the request" }
"""

# rule -> where the dump lists it
FOLDED = [
    ("no_condition", "always"),
    ("literally_true", "always"),
    ("folds_true", "always"),
    ("literally_false", "dead"),
    ("folds_false", "dead"),
    ("not_true", "dead"),
    ("live", "checks"),
]


@pytest.mark.parametrize("backend", ["compiled", "naive"])
def test_constant_conditions_are_listed_as_always_or_dead(backend: str) -> None:
    policy = policydsl.loads(ALWAYS_AND_DEAD, backend=backend)
    dump = policy.compiled("ir")
    numbers = rule_numbers(dump)
    lines = dump.split("\n")
    always = next(line for line in lines if line.startswith("always: "))
    dead = next(line for line in lines if line.startswith("dead: "))
    checks = set().union(*(mentioned(line) for line in section(dump, "checks:")))
    where = {"always": mentioned(always), "dead": mentioned(dead), "checks": checks}
    for rule, expected in FOLDED:
        found = [place for place, rules in where.items() if numbers[rule] in rules]
        assert found == [expected], rule
    interpreted = policydsl.loads(ALWAYS_AND_DEAD, backend="interpreted")
    for n in (0, 4):
        assert policy.decide({"n": n}) == interpreted.decide({"n": n})


SHARED_TESTS = """\
context {
  user: { age: int[0..]? }
  n: int = 0
  flag: bool = false
}
effects deny > review > allow default allow

rule big_flagged: deny { when n * 2 > 7 and flag reason "a" }
rule big_unflagged: review { when n * 2 > 7 and not flag reason "b" }
rule minor: deny { when has user.age and user.age * 2 < 36 reason "c" }
rule age_unknown: review { when not has user.age reason "d" }
rule alone: review { when n == 1 and flag reason "e" }
"""


def test_a_test_shared_by_two_rules_is_made_once() -> None:
    dump = policydsl.loads(SHARED_TESTS).compiled("ir")
    tests = section(dump, "tests:")
    assert tests == ["  t0 = has user.age", "  t1 = n * 2 > 7"]
    after_tests = dump.split("tests:\n", 1)[1]
    for test in ("has user.age", "n * 2 > 7"):
        assert after_tests.count(test) == 1, f"`{test}` is made once, then referred to"
    body = "\n".join(section(dump, "checks:"))
    assert body.count("t0") == 2 and body.count("t1") == 2
    # the naive lowering shares nothing: each rule makes its own tests
    naive = policydsl.loads(SHARED_TESTS, backend="naive").compiled("ir")
    assert "tests:" not in naive
    assert naive.count("n * 2 > 7") == 2 and naive.count("has user.age") == 2


def test_shared_tests_decide_like_the_interpreter() -> None:
    compiled = policydsl.loads(SHARED_TESTS)
    interpreted = policydsl.loads(SHARED_TESTS, backend="interpreted")
    for context in ({}, {"n": 4}, {"n": 4, "flag": True}, {"user": {"age": 12}}, {"n": 1}):
        assert compiled.decide(context) == interpreted.decide(context)


def reads_categories(expr: Any) -> bool:
    if isinstance(expr, model.Attr):
        return expr.path == ("content", "categories")
    if isinstance(expr, model.DefRef):
        return False  # the stdlib's definitions do not read categories (checked below)
    return any(reads_categories(c) for c in model.children(expr))


def test_stdlib_category_rules_are_reached_through_the_categories_index() -> None:
    stdlib = policydsl.load_stdlib()
    checked = stdlib.checked
    assert not [d for d in checked.definitions.values() if reads_categories(d.expr)]
    category_rules = {r.id for r in checked.rules if reads_categories(r.condition)}
    assert len(category_rules) > 50

    # in the IR: every such rule sits in a bucket of the index on `content.categories`
    assert stdlib.evaluator is not None
    program = stdlib.evaluator.program
    slot = next(s.index for s in program.slots if s.path == ("content", "categories"))
    (index,) = [ix for ix in program.indexes if ix.slot == slot]
    assert index.kind == "member"
    indexed = {
        b for bucket in index.buckets for b in (*bucket.always, *(c.rule for c in bucket.checks))
    }
    assert {program.rules[b].id for b in indexed} == category_rules
    assert not {program.rules[c.rule].id for c in program.checks} & category_rules

    # in the dump: no check reads the categories; the index section names every such rule
    dump = stdlib.compiled("ir")
    numbers = rule_numbers(dump)
    assert not [line for line in section(dump, "checks:") if "content.categories" in line]
    title = f"index element of s{slot} content.categories:"
    in_index = set().union(*map(mentioned, section(dump, title)))
    assert in_index == {numbers[r] for r in category_rules}


BIG = "9" * 100  # the longest literal a policy may write
HUGE_CONSTANTS = f"""\
context {{ n: int = 0 }}
effects deny > allow default allow
def huge = {" * ".join([BIG] * 50)}
rule over: deny {{ when n > huge reason "about 5,000 digits" }}
rule also_over: deny {{ when n < -huge reason "the same constant" }}
"""


@pytest.mark.parametrize("backend", ["compiled", "naive", "interpreted"])
def test_a_constant_too_large_to_fold_is_refused_not_computed_per_decision(backend: str) -> None:
    """Constant arithmetic past ~3,900 digits was left in the program and recomputed on every
    decision; it is refused when loading, once for the definition however often it is used."""
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(HUGE_CONSTANTS, backend=backend)
    (diag,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert (diag.code, diag.line, diag.col) == ("P601", 3, 12)
    assert "more than 3,900 digits" in diag.message


def test_refusing_a_huge_constant_is_cheap_however_often_it_is_used() -> None:
    """The fold stops at the first step past the limit, and a definition used by many rules is
    reported once."""
    import time
    import tracemalloc

    uses = "\n".join(f'rule r{i}: deny {{ when n > huge + {i} reason "r" }}' for i in range(300))
    text = HUGE_CONSTANTS.split("rule over")[0] + uses + "\n"
    tracemalloc.start()
    try:
        started = time.perf_counter()
        with pytest.raises(policydsl.PolicyError) as caught:
            policydsl.loads(text)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seconds < 10 and peak < 100_000_000, (seconds, peak)
    assert [d.code for d in caught.value.diagnostics if d.severity == "error"] == ["P601"]


def test_policyc_check_reports_a_constant_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.policy"
    path.write_text(HUGE_CONSTANTS, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert "error[P601]" in result.output and "huge.policy:3:12" in result.output


def arithmetic(module: ast.AST) -> list[ast.AST]:
    """The arithmetic a generated module performs: operators and `_sum`/`_prod` calls."""
    return [
        node
        for node in ast.walk(module)
        if isinstance(node, ast.BinOp)
        or (isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_sum", "_prod"))
    ]


@pytest.mark.parametrize("backend", ["compiled", "naive"])
def test_constant_arithmetic_is_folded_once_at_compile_time(backend: str) -> None:
    """Up to the limit, constant arithmetic (here a product of 3,000 digits) becomes one
    constant: the generated code computes nothing per decision."""
    text = (
        "context { n: int = 0 }\neffects deny > allow default allow\n"
        f"def big = {' * '.join([BIG] * 30)}\n"
        'rule over: deny { when n > big - 1 reason "a" }\n'
        'rule small: deny { when n == 2 * 3 - 1 reason "b" }\n'
    )
    policy = policydsl.loads(text, backend=backend)
    assert policy.evaluator is not None
    assert not arithmetic(policy.evaluator.generated.module)
    dump = policy.compiled("ir")
    assert f"r0 if n > {int(BIG) ** 30 - 1}" in dump or f">= {int(BIG) ** 30} -> r0" in dump
    assert "  5 -> r1" in dump or "r1 if n == 5" in dump
    interpreted = policydsl.loads(text, backend="interpreted")
    for n in (5, 6, int(BIG) ** 30 - 1, int(BIG) ** 30):
        assert policy.decide({"n": n}) == interpreted.decide({"n": n})


def depth(node: ast.AST) -> int:
    """How deeply the generated tree nests (iteratively: the point is that it may be deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


@pytest.mark.parametrize("op", ["+", "-", "*"])
@pytest.mark.parametrize("backend", ["compiled", "naive"])
def test_a_long_arithmetic_chain_stays_a_shallow_tree(op: str, backend: str) -> None:
    """`n + n + ...` is one flat node of the language; nested `BinOp`s as deep as it is broke
    `ast.fix_missing_locations` (RecursionError at load) and `ast.unparse` (`--emit python`)."""
    text = (
        "context { n: int = 0 }\neffects deny > allow default allow\n"
        f'rule long: deny {{ when {f" {op} ".join(["n"] * 2000)} > 5 reason "x" }}\n'
    )
    policy = policydsl.loads(text, backend=backend)
    assert policy.evaluator is not None
    assert depth(policy.evaluator.generated.module) < 40
    ast.parse(policy.compiled("python"))
    interpreted = policydsl.loads(text, backend="interpreted")
    for n in (0, 1, 2, -3):
        assert policy.decide({"n": n}) == interpreted.decide({"n": n})


# ---- policyc compile ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "name", "suffix"),
    [
        pytest.param([], "stdlib", ".ir", id="default"),
        pytest.param(["--emit", "ir"], "stdlib", ".ir", id="stdlib-ir"),
        pytest.param(["--emit", "python"], "stdlib", ".py", id="stdlib-python"),
        pytest.param([str(POLICIES["doc_sharing"])], "doc_sharing", ".ir", id="folder-ir"),
        pytest.param(
            ["--emit", "python", str(POLICIES["doc_sharing"] / "sharing.policy")],
            "doc_sharing",
            ".py",
            id="file-python",
        ),
    ],
)
def test_policyc_compile(args: list[str], name: str, suffix: str) -> None:
    result = CliRunner().invoke(cli, ["compile", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout == golden_text(name, suffix)
    assert not result.stderr


def test_policyc_compile_python_is_valid_python() -> None:
    result = CliRunner().invoke(cli, ["compile", "--emit", "python"])
    functions = [n.name for n in ast.parse(result.stdout).body if isinstance(n, ast.FunctionDef)]
    assert functions == ["_decide", "_flags", "_rule_bits", "_flags_masks"]  # flags split per rule


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["--emit", "bytecode"], 2, id="unknown-form"),
        pytest.param(["no/such/folder"], 2, id="missing-path"),
    ],
)
def test_policyc_compile_usage_errors(args: list[str], code: int) -> None:
    result = CliRunner().invoke(cli, ["compile", *args])
    assert result.exit_code == code
    assert "Traceback" not in result.output


def test_policyc_compile_broken_policy(tmp_path: Path) -> None:
    broken = tmp_path / "broken.policy"
    broken.write_text("context { n: int }\nrule r: deny { when n > }\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["compile", str(broken)])
    assert result.exit_code == 1
    assert "broken.policy:2:" in result.stderr
    assert not result.stdout


# ---- line numbers ------------------------------------------------------------------------------


def expected_lines(folder: Path) -> dict[str, int]:
    """Rule id -> the line that defines it, read from the text: a rule's `rule NAME` line, a
    table rule row's own line."""
    found: dict[str, int] = {}
    tables: dict[str, list[tuple[str, int]]] = {}
    rows_of: dict[str, str] = {}
    files = [folder] if folder.is_file() else sorted(folder.glob("*.policy"))
    for path in files:
        table = None
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if m := re.match(r"rule (\w+)( for (\w+))?", line):
                if m.group(3):
                    rows_of[m.group(1)] = m.group(3)
                else:
                    found[m.group(1)] = number
            if m := re.match(r"table (\w+)", line):
                table = m.group(1)
                tables[table] = []
            elif line.startswith("}"):
                table = None
            elif table and (m := re.match(r"\s+\"?(\w+)\"?\s*,", line)):
                tables[table].append((m.group(1), number))
    for rule, table in rows_of.items():
        found.update({f"{rule}[{key}]": number for key, number in tables[table]})
    return found


def firing(module: ast.AST) -> list[tuple[int, ast.stmt, ast.If]]:
    """(rule number, the statement that fires it, the check around it) for each rule fired
    by a statement of its own (rules fired by an index table have none)."""
    found = []
    for node in ast.walk(module):
        if isinstance(node, ast.If):
            for stmt in node.body:
                match stmt:  # `_fired.append(N)`: rule number N fires
                    case ast.Expr(ast.Call(ast.Attribute(ast.Name(), "append"), [ast.Constant(n)])):
                        found.append((n, stmt, node))
    return found


def templated_rules(namespace: dict[str, Any]) -> set[int]:
    """The integers of the rows of dispatch tables: rule numbers (and any integer constants)."""
    rows = [
        table
        for name, table in namespace.items()
        if name.startswith("_IR") and all(isinstance(row, tuple) for row in table.values())
    ]
    return {x for table in rows for row in table.values() for x in row[1:] if type(x) is int}


@pytest.mark.parametrize("backend", ["compiled", "naive"])
@pytest.mark.parametrize("name", list(POLICIES))
def test_generated_code_carries_policy_line_numbers(name: str, backend: str) -> None:
    policy = policydsl.load(POLICIES[name], backend=backend)
    assert policy.evaluator is not None
    program = policy.evaluator.program
    lines = expected_lines(POLICIES[name])
    assert set(lines) == {r.id for r in program.rules}
    generated = policy.evaluator.generated
    fired = firing(generated.module)
    # rules fired from a row of a dispatch table (buckets alike but for their constants share
    # one piece of code, which stands at no single rule's line) are left out
    assert {n for n, _, _ in fired} | templated_rules(generated.namespace) >= {
        c.rule for c in program.checks
    } | {c.rule for ix in program.indexes for b in ix.buckets for c in b.checks}
    for number, stmt, check in fired:
        line = lines[program.rules[number].id]
        assert stmt.lineno == line, program.rules[number].id
        # the check's condition too: an error while testing it points at the rule
        assert check.lineno == line
        assert all(getattr(n, "lineno", line) == line for n in ast.walk(check.test))


def test_generated_code_keeps_the_policy_lines(tmp_path: Path) -> None:
    """The code is compiled under the policy file's name, each rule at its line (CRLF line ends
    counted once), so a traceback names file and line."""
    path = tmp_path / "lines.policy"
    path.write_bytes(
        b'context {\r\n  name: string = "x"\r\n}\r\neffects deny > allow default allow\r\n\r\n'
        b'# a comment\r\nrule first: deny {\r\n  when name == "y"\r\n  reason "x"\r\n}\r\n\r\n'
        b'rule second: deny {\r\n  when name starts_with "z"\r\n  reason "y"\r\n}\r\n'
    )
    policy = policydsl.load(path, backend="naive")
    assert policy.evaluator is not None
    module = policy.evaluator.generated.module
    lines = {policy.evaluator.program.rules[n].id: stmt.lineno for n, stmt, _ in firing(module)}
    assert lines == {"first": 7, "second": 12}
    code = compile(module, str(path), "exec")
    assert code.co_filename == str(path)


def test_rules_sharing_a_key_are_indexed_a_level_deeper() -> None:
    """(role, action) grants: the role's bucket indexes the action in turn (a trie), and the
    three backends decide every combination alike."""
    from benchmarks.synthetic import pair_policy

    text = pair_policy(100)
    compiled = policydsl.loads(text)
    dump = compiled.compiled("ir")
    assert "index value of s1 request.role:" in dump
    assert "\n    index value of s2 request.action:" in dump  # nested under a role's bucket
    assert "checks:\n\n" in dump  # no rule is left to be checked in turn
    others = [policydsl.loads(text, backend=b) for b in ("naive", "interpreted")]
    for role in range(10):
        for action in [*range(10), "unlisted"]:
            name = action if action == "unlisted" else f"a{action}"
            ctx = {"request": {"role": f"r{role}", "action": name}}
            expected = compiled.decide(ctx).to_dict()
            assert all(o.decide(ctx).to_dict() == expected for o in others), ctx


def test_cli_compile_naive_prints_the_unindexed_baseline() -> None:
    result = CliRunner().invoke(cli, ["compile", "--naive"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (GOLDENS / "stdlib.naive.ir").read_text(encoding="utf-8")
