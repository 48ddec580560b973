"""The standard library's compiled artifact: a policy loaded from it decides exactly as a fresh
compile, is refused when stale, corrupt, foreign or unsafe to read, and keeps every other
feature of a `Policy` (explain, cost, fail-closed, pickling) working."""

from __future__ import annotations

import binascii
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from randcontext import stdlib_contexts

import policydsl
from policydsl import artifact, lower, parser_cache, resources
from policydsl.source import Span
from policydsl.testing import read_case_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private cache folder of the test's own."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(parser_cache.ENV_VAR, str(folder))
    return folder


def stored_file(cache: Path) -> Path:
    """The standard library's artifact in the cache folder (there is only that one)."""
    (path,) = cache.glob(f"*{artifact.SUFFIX}")
    return path


class Counted:
    """Counts the lowerings and parses a load makes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        from policydsl import loader

        self.lowered = 0
        self.checked = 0
        real_lower, real_check = lower.lower, loader.check_files

        def counting_lower(*args: Any) -> Any:
            self.lowered += 1
            return real_lower(*args)

        def counting_check(*args: Any) -> Any:
            self.checked += 1
            return real_check(*args)

        monkeypatch.setattr(lower, "lower", counting_lower)
        monkeypatch.setattr(loader, "check_files", counting_check)


def from_artifact(backend: str = "compiled", **options: Any) -> policydsl.Policy:
    """The stdlib loaded twice: the second load must come from the artifact the first wrote."""
    policydsl.load_stdlib(backend=backend, **options)
    policy = policydsl.load_stdlib(backend=backend, **options)
    assert policy._checked is None, "not loaded from the artifact"
    return policy


def test_the_second_load_neither_parses_checks_nor_lowers(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = Counted(monkeypatch)
    policydsl.load_stdlib()
    assert (counted.checked, counted.lowered) == (1, 1)
    assert stored_file(cache).name.startswith("stdlib_rules-")
    policydsl.load_stdlib()
    policydsl.load_stdlib(backend="naive")
    assert (counted.checked, counted.lowered) == (1, 1)


@pytest.mark.parametrize("backend", ["compiled", "naive"])
def test_it_decides_as_a_fresh_compile(cache: Path, backend: str) -> None:
    """Every stdlib case and the differential campaign's stdlib requests (valid and invalid),
    decided by both, give equal `Decision`s and `to_dict()`s, or the same error."""
    fresh = policydsl.load(policydsl.stdlib_path(), backend=backend)
    stored = from_artifact(backend)
    cases = read_case_file(EXAMPLES / "tests" / "stdlib.cases.jsonl").cases
    contexts = [case.context for case in cases] + stdlib_contexts(1_500, seed=5)
    assert cases
    for context in contexts:
        try:
            expected: Any = fresh.decide(context)
        except Exception as err:
            expected = (type(err), str(err))
        try:
            got: Any = stored.decide(context)
        except Exception as err:
            got = (type(err), str(err))
        assert got == expected, context
        if isinstance(expected, policydsl.Decision):
            assert got.to_dict() == expected.to_dict()


def test_its_program_and_code_are_a_fresh_compile(cache: Path) -> None:
    """The same IR and the same generated Python, line numbers and hoisted constants included."""
    fresh = policydsl.load(policydsl.stdlib_path())
    stored = from_artifact()
    assert stored.compiled("ir") == fresh.compiled("ir")
    assert stored.compiled("python") == fresh.compiled("python")
    assert stored.warnings == fresh.warnings
    assert [(s.name, s.text) for s in stored.sources] == [(s.name, s.text) for s in fresh.sources]


def _deep(value: Any, seen: dict[int, Any]) -> Any:
    """A value as plain data, every attrs field included (those outside equality too), spans as
    (file, start, end), and each object's first-seen number (to compare sharing)."""
    if isinstance(value, Span):
        return ("span", value.source.name, value.start, value.end)
    if attrs.has(type(value)):
        if id(value) in seen:
            return ("again", seen[id(value)])
        seen[id(value)] = len(seen)
        fields = attrs.fields(type(value))
        return (type(value).__qualname__, *(_deep(getattr(value, f.name), seen) for f in fields))
    if isinstance(value, tuple | list):
        return [_deep(v, seen) for v in value]
    if isinstance(value, frozenset):
        return ("set", sorted(map(repr, value)))
    if isinstance(value, dict):
        return [(_deep(k, seen), _deep(v, seen)) for k, v in value.items()]
    return (type(value).__name__, value)


@pytest.mark.parametrize(
    "path",
    [policydsl.stdlib_path(), EXAMPLES / "doc_sharing", EXAMPLES / "content_scores"],
    ids=["stdlib", "doc_sharing", "content_scores"],
)
def test_the_lowered_form_and_program_read_back_whole(path: Path) -> None:
    """Every field (spans, constants' types, defaults) and every shared object reads back."""
    policy = policydsl.load(path)
    lowered = policy.lowered()
    assert policy.evaluator is not None
    program = policy.evaluator.program
    encoded = artifact.encode(lowered, policy.warnings, None, policy.sources, program=program)
    stored = artifact.decode(json.loads(json.dumps(encoded)), policy.sources)
    assert stored.lowered == lowered and stored.program == program
    assert _deep([stored.lowered, stored.program], {}) == _deep([lowered, program], {})


def test_warnings_read_back() -> None:
    policy = policydsl.loads(
        """\
context { n: int = 0 }
effects deny > allow default allow
rule never: deny { when n < 0 and n > 5 cite "c" reason "r" }
"""
    )
    assert policy.warnings
    data = json.loads(
        json.dumps(artifact.encode(policy.lowered(), policy.warnings, None, policy.sources))
    )
    stored = artifact.decode(data, policy.sources)
    assert [d.render() for d in stored.warnings] == [d.render() for d in policy.warnings]
    assert _deep(stored.warnings, {}) == _deep(policy.warnings, {})


def test_explain_cost_fail_closed_and_pickling_still_work(cache: Path) -> None:
    fresh = policydsl.load(policydsl.stdlib_path(), fail_closed=True)
    stored = from_artifact(fail_closed=True)
    request = {"user": {"age": 15}, "content": {"categories": ["real_violence", "spam"]}}
    assert stored.explain(request) == fresh.explain(request)
    assert stored.cost() == fresh.cost()
    refused = stored.decide({"user": {"age": "old"}})
    assert refused.to_dict() == fresh.decide({"user": {"age": "old"}}).to_dict()
    assert refused.error
    again = pickle.loads(pickle.dumps(stored))
    assert again.decide(request) == fresh.decide(request)
    assert stored.checked == fresh.checked  # made from the sources on first use


def test_the_interpreter_never_reads_the_artifact(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policydsl.load_stdlib()
    counted = Counted(monkeypatch)
    policy = policydsl.load_stdlib(backend="interpreted")
    assert counted.checked == 1
    assert policy.decide({}).decision == policydsl.load_stdlib().decide({}).decision


def _stdlib_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "stdlib"
    shutil.copytree(policydsl.stdlib_path(), folder)
    return folder


def _store(folder: Path) -> artifact.SourceSet:
    """Load the policy set in `folder` and keep its artifact, as `load_stdlib` does its own."""
    policy = policydsl.load(folder)
    found = artifact.read_set(folder)
    assert found is not None
    refuse = policy.checked.refuse_effect
    lowered = policy.lowered()
    assert artifact.store(found, lowered, policy.warnings, refuse, policy.sources)
    return found


def test_any_change_to_the_sources_makes_it_stale(cache: Path, tmp_path: Path) -> None:
    folder = _stdlib_copy(tmp_path)
    found = _store(folder)
    assert artifact.load(found) is not None
    first = sorted(folder.glob("*.policy"))[0]
    text = first.read_text(encoding="utf-8")
    first.write_text(text + " ", encoding="utf-8")  # one byte more
    edited = artifact.read_set(folder)
    assert edited is not None and edited.name == found.name and artifact.load(edited) is None
    first.write_text(text, encoding="utf-8")
    assert artifact.load(artifact.read_set(folder) or found) is not None  # as it was
    (folder / "extra.policy").write_text("", encoding="utf-8")
    assert artifact.load(artifact.read_set(folder) or found) is None
    (folder / "extra.policy").unlink()
    first.rename(folder / "renamed.policy")
    assert artifact.load(artifact.read_set(folder) or found) is None
    (folder / "renamed.policy").write_bytes(b"\xff")
    assert artifact.read_set(folder) is None  # not UTF-8: the loader says why


def test_the_key_follows_every_module_and_the_grammar() -> None:
    """Each module of the package and the grammar, by name, size and modification time: the
    compiler that wrote an artifact is the one reading it, or the artifact reads as missing."""
    key = artifact._compiler_key()
    assert key is not None
    package = Path(artifact.__file__).resolve().parent
    files = [*package.glob("*.py"), Path(resources.grammar_path())]
    assert len(files) > 50
    for path in files:
        info = path.stat()
        assert f" {path.name}:{info.st_size}:{info.st_mtime_ns}" in key, path.name
    assert key.startswith(f"{artifact.FORMAT} {sys.implementation.cache_tag} ")


def test_a_stale_artifact_is_not_used(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Written for other sources (or another compiler: same key mechanism), it reads as missing
    and the normal load replaces it."""
    policydsl.load_stdlib()
    path = stored_file(cache)
    header, body = path.read_bytes().split(b"\n", 1)
    meta = json.loads(header)
    meta["key"] = "0" * 64
    path.write_bytes(json.dumps(meta).encode() + b"\n" + body)
    counted = Counted(monkeypatch)
    assert policydsl.load_stdlib()._checked is not None
    assert counted.lowered == 1
    assert policydsl.load_stdlib()._checked is None  # rewritten


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b[:-10] + bytes([b[-10] ^ 1]) + b[-9:], id="one-bit-flipped"),
        pytest.param(lambda b: b.split(b"\n", 1)[0] + b"\n", id="header-only"),
        pytest.param(lambda b: b"\x80\xff garbage\n" * 3, id="garbage"),
    ],
)
def test_a_damaged_artifact_is_compiled_afresh_and_rewritten(
    cache: Path, monkeypatch: pytest.MonkeyPatch, damage: Any
) -> None:
    policydsl.load_stdlib()
    path = stored_file(cache)
    good = path.read_bytes()
    path.write_bytes(damage(good))
    counted = Counted(monkeypatch)
    policy = policydsl.load_stdlib()
    assert policy._checked is not None and (counted.checked, counted.lowered) == (1, 1)
    assert path.read_bytes() == good  # written anew
    again = policydsl.load_stdlib()
    assert again._checked is None and counted.lowered == 1
    request = {"user": {"age": 15}, "content": {"categories": ["spam"]}}
    assert again.decide(request) == policy.decide(request)


def _rewrite_body(path: Path, change: Any) -> None:
    """Rewrite the artifact's body as `change(data)`, with a valid key and checksum, as someone
    able to write the cache folder could."""
    header, body = path.read_bytes().split(b"\n", 1)
    key = json.loads(header)["key"]
    body = json.dumps(change(json.loads(body))).encode()
    header = json.dumps({"key": key, "crc32": binascii.crc32(body)}).encode()
    path.write_bytes(header + b"\n" + body)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: {**d, "classes": ["os:system", *d["classes"][1:]]},
        lambda d: {**d, "classes": ["builtins:eval", *d["classes"][1:]]},
        lambda d: {**d, "classes": ["policydsl.engine:Policy", *d["classes"][1:]]},
        lambda d: {**d, "classes": ["policydsl.ir:attrs", *d["classes"][1:]]},
        lambda d: {**d, "body": [["o", 0, "x"], ["["]]},
        lambda d: {**d, "body": [["?"], ["["]]},
        lambda d: {**d, "body": [1.5, ["["]]},
        lambda d: {**d, "body": [d["body"][0], ["[", ["m"]]]},
        lambda d: {**d, "format": 0},
        lambda d: [],
    ],
    ids=[
        "foreign_module",
        "builtin",
        "unlisted_class",
        "not_a_class",
        "wrong_fields",
        "unknown_tag",
        "float",
        "warning_not_a_diagnostic",
        "format",
        "not_a_document",
    ],
)
def test_a_foreign_artifact_is_refused(cache: Path, change: Any) -> None:
    """Only the listed modules' attrs classes and enumerations are made, with their own fields:
    anything else reads as missing, and the policy is compiled as usual."""
    policydsl.load_stdlib()
    _rewrite_body(stored_file(cache), change)
    found = artifact.read_set(policydsl.stdlib_path())
    assert found is not None
    assert artifact.load(found) is None
    policy = policydsl.load_stdlib()
    assert policy._checked is not None
    assert policy.decide({}) == policydsl.load(policydsl.stdlib_path()).decide({})


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX owners and modes")
def test_an_artifact_others_can_write_is_not_read(cache: Path) -> None:
    policydsl.load_stdlib()
    stored_file(cache).chmod(0o666)
    found = artifact.read_set(policydsl.stdlib_path())
    assert found is not None
    assert artifact.load(found) is None


def test_no_cache_no_artifact(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(parser_cache.ENV_VAR, parser_cache.OFF)
    monkeypatch.setenv("HOME", str(tmp_path))
    counted = Counted(monkeypatch)
    policydsl.load_stdlib()
    policydsl.load_stdlib()
    assert counted.lowered == 2
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_a_fresh_process_loads_it_without_the_front_end(cache: Path) -> None:
    """What makes the cold start cheap: from the artifact, a new process imports neither Lark,
    the parser, the parse-only nodes, the checker, the diagnostics, the checked policy's records
    (`model`: its expressions are enough), the lowering nor the indexing (the program is read
    back built), nor `hashlib` (the key is no digest)."""
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    child = (
        "import sys, policydsl; p = policydsl.load_stdlib(); assert p.decide({}).decision;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'lark' or m in FRONT))"
    ).replace(
        "FRONT",
        repr(
            {
                m if m in ("difflib", "hashlib") else f"policydsl.{m}"
                for m in (
                    "parser",
                    "transform",
                    "checker",
                    "typecheck",
                    "syntax_nodes",
                    "analysis",
                    "cost",
                    "diagnostics",
                    "codes",
                    "model",
                    "lower",
                    "indexing",
                    "keys",
                    "difflib",
                    "hashlib",
                )
            }
        ),
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", child], env=env, capture_output=True, text=True, check=True
        )
        for _ in range(2)
    ]
    assert runs[0].stdout.strip() != "[]"  # the first load compiles, and writes the artifact
    assert runs[1].stdout.strip() == "[]"


_DECIDE_CASES = """\
import json, sys
import policydsl
from policydsl.testing import read_case_file
policy = policydsl.load_stdlib()
out = []
for case in read_case_file(__import__("pathlib").Path(sys.argv[1])).cases:
    try:
        out.append(policy.decide(case.context).to_dict())
    except Exception as err:
        out.append([type(err).__name__, str(err)])
print(json.dumps({"from_artifact": policy._checked is None, "decisions": out}))
"""


@pytest.mark.slow
def test_another_process_decides_from_it_as_a_fresh_compile(cache: Path) -> None:
    """Written by one process and read by another, under other string hashes (the order of
    the sets read back): the stdlib cases decide as a fresh compile here does."""
    root = Path(__file__).resolve().parent.parent
    cases = EXAMPLES / "tests" / "stdlib.cases.jsonl"
    python_path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONPATH": python_path, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _DECIDE_CASES, str(cases)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout))
    assert [run["from_artifact"] for run in runs] == [False, True]
    fresh = policydsl.load(policydsl.stdlib_path())
    expected: list[Any] = []
    for case in read_case_file(cases).cases:
        try:
            expected.append(fresh.decide(case.context).to_dict())
        except Exception as err:
            expected.append([type(err).__name__, str(err)])
    assert json.loads(json.dumps(expected)) == runs[0]["decisions"] == runs[1]["decisions"]


def test_an_artifact_that_fails_to_build_is_compiled_afresh(cache: Path) -> None:
    """A document that reads back but describes no working program (here: no effects) is left
    for the normal path, which decides."""
    policydsl.load_stdlib()

    def no_effects(data: Any) -> Any:
        lowered, _, program = data["body"]
        assert lowered[0] == "o" and lowered[3][0] == "("  # (tag, class, schema, effects, ...)
        lowered[3] = ["("]
        assert program[0] == "o" and program[4][0] == "("  # (..., version, indexed, effects, ...)
        program[4] = ["("]
        return data

    _rewrite_body(stored_file(cache), no_effects)
    found = artifact.read_set(policydsl.stdlib_path())
    assert found is not None
    assert artifact.load(found) is not None  # it reads back
    policy = policydsl.load_stdlib()
    assert policy._checked is not None
    request = {"user": {"age": 15}, "content": {"categories": ["spam"]}}
    assert policy.decide(request) == policydsl.load(policydsl.stdlib_path()).decide(request)


def test_a_program_of_another_policy_is_refused(cache: Path) -> None:
    """The indexed program an artifact holds must be that of the lowered form it holds (its
    effects, rules, outputs and flags): else it reads as missing."""
    policydsl.load_stdlib()

    def other_effects(data: Any) -> Any:
        program = data["body"][2]
        assert program[4][0] == "(" and len(program[4]) > 2
        program[4] = ["(", *reversed(program[4][1:])]  # the effects, weakest first
        return data

    _rewrite_body(stored_file(cache), other_effects)
    found = artifact.read_set(policydsl.stdlib_path())
    assert found is not None
    assert artifact.load(found) is None
    assert policydsl.load_stdlib()._checked is not None


def test_the_program_is_kept_by_a_compiled_load_only(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A naive load writes no indexed program; a compiled load from its artifact indexes the
    lowered form itself, and decides as a fresh compile."""
    policydsl.load_stdlib(backend="naive")
    found = artifact.read_set(policydsl.stdlib_path())
    assert found is not None
    stored = artifact.load(found)
    assert stored is not None and stored.program is None
    policy = policydsl.load_stdlib()
    assert policy._checked is None
    fresh = policydsl.load(policydsl.stdlib_path())
    assert policy.compiled("ir") == fresh.compiled("ir")
    assert policy.compiled("python") == fresh.compiled("python")


def test_check_never_reads_it(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` reports from the sources themselves: the artifact holds no diagnostics for it."""
    before = policydsl.check([policydsl.stdlib_path()])
    policydsl.load_stdlib()

    def refuse(*args: Any) -> None:
        raise AssertionError("check read the artifact")

    monkeypatch.setattr(artifact, "load", refuse)
    assert policydsl.check([policydsl.stdlib_path()]) == before
    assert policydsl.check([]) == before  # no paths: the standard library
