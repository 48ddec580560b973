"""The parser's cached tables: written once, reused by the next process, and never trusted when
they are corrupt, stale, or could have been written by someone else (then rebuilt, same parser).

The in-process tests replace the build (~100 ms) with a copy of one real build and count the
calls, so "built" below means the fallback ran; two subprocesses check the real thing end to end.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import lark
import pytest
from lark.grammar import Rule
from lark.lexer import TerminalDef

from policydsl import lark_grammar, parser_cache, resources

ROOT = Path(__file__).resolve().parent.parent
TEXTS = sorted([*(ROOT / "stdlib_rules").glob("*.policy"), *(ROOT / "examples").rglob("*.policy")])


BUILD = lark_grammar._build  # before any test replaces it


@cache
def reference() -> lark.Lark:
    """A parser built from the grammar, as without any cache."""
    return BUILD(resources.grammar_text())


def shape(node: lark.Tree[lark.Token] | lark.Token) -> Any:
    """A parse result with every position in it: trees compare equal only if they are the same
    parse, token for token (a `Token` alone compares as its text)."""
    if isinstance(node, lark.Token):
        return (node.type, str(node), node.start_pos, node.end_pos, node.line, node.column)
    meta = node.meta
    where = (meta.start_pos, meta.end_pos) if not meta.empty else None
    return (str(node.data), where, [shape(c) if c is not None else None for c in node.children])


def parses(parser: lark.Lark) -> list[Any]:
    return [shape(parser.parse(path.read_text(encoding="utf-8"))) for path in TEXTS]


def tables(parser: lark.Lark) -> Any:
    return parser.memo_serialize([TerminalDef, Rule])


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The grammar texts `load_or_build` built parsers from, in order."""
    calls: list[str] = []

    def build(grammar: str) -> lark.Lark:
        calls.append(grammar)
        return reference()

    monkeypatch.setattr(lark_grammar, "_build", build)
    yield calls


def only_file(folder: Path) -> Path:
    (found,) = folder.iterdir()
    return found


def test_the_cache_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYDSL_CACHE_DIR", "/some/where")
    assert parser_cache.cache_dir() == Path("/some/where")
    for off in ("off", "OFF", " off "):
        monkeypatch.setenv("POLICYDSL_CACHE_DIR", off)
        assert parser_cache.cache_dir() is None
    monkeypatch.delenv("POLICYDSL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg/cache")
    assert parser_cache.cache_dir() == Path("/xdg/cache/policydsl")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", "/home/someone")
    assert parser_cache.cache_dir() == Path("/home/someone/.cache/policydsl")


def test_stored_data_comes_back_equal_tuples_and_integer_keys_included(tmp_path: Path) -> None:
    data = {"a": (1, (2, "x"), [None, True]), "b": {0: {"k": (3,)}, 7: []}, "c": {}}
    assert parser_cache.write(tmp_path / "c", "x.json", "key", data)
    assert parser_cache.read(tmp_path / "c", "x.json", "key") == data
    assert parser_cache.read(tmp_path / "c", "x.json", "another key") is None
    assert not parser_cache.write(tmp_path / "c", "y.json", "key", {"f": 1.5})


def test_the_cache_is_written_privately_then_loaded_as_the_same_parser(
    tmp_path: Path, builds: list[str]
) -> None:
    folder = tmp_path / "fresh" / "policydsl"
    origin = lark_grammar.load_or_build(folder)[1]
    assert (origin, len(builds)) == ("built", 1)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(only_file(folder).stat().st_mode) == 0o600
    loaded, origin = lark_grammar.load_or_build(folder)
    assert (origin, len(builds)) == ("cache", 1)
    assert tables(loaded) == tables(reference())
    assert parses(loaded) == parses(reference())


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b[:-10] + b"0" + b[-9:], id="one-byte-changed"),
        pytest.param(lambda b: b"\x80\xff garbage\n" * 3, id="garbage"),
    ],
)
def test_a_corrupt_cache_file_is_rebuilt_with_the_same_parse_results(
    tmp_path: Path, builds: list[str], damage: Any
) -> None:
    lark_grammar.load_or_build(tmp_path)
    cached = only_file(tmp_path)
    good = cached.read_bytes()
    cached.write_bytes(damage(good))
    parser, origin = lark_grammar.load_or_build(tmp_path)
    assert (origin, len(builds)) == ("built", 2)
    assert parses(parser) == parses(reference())
    assert cached.read_bytes() == good  # written anew
    assert lark_grammar.load_or_build(tmp_path)[1] == "cache"


def test_tables_lark_cannot_load_are_rebuilt(tmp_path: Path, builds: list[str]) -> None:
    """A well-formed file under the right key whose tables do not load (another Lark's shape)."""
    lark_grammar.load_or_build(tmp_path)
    name = only_file(tmp_path).name
    key = lark_grammar.cache_key(resources.grammar_text())
    assert parser_cache.write(tmp_path, name, key, {"data": {"options": {}}, "memo": {0: {}}})
    assert lark_grammar.load_or_build(tmp_path)[1] == "built"
    assert lark_grammar.load_or_build(tmp_path)[1] == "cache"


def test_a_folder_that_cannot_be_made_still_gives_a_parser(
    tmp_path: Path, builds: list[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for _ in range(2):
        parser, origin = lark_grammar.load_or_build(blocker / "policydsl")
        assert origin == "built"
    assert parses(parser) == parses(reference())


def test_caching_off_builds_and_writes_nothing(
    tmp_path: Path, builds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYDSL_CACHE_DIR", "off")
    assert lark_grammar.load_or_build(parser_cache.cache_dir())[1] == "built"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_a_file_others_may_write_is_not_read(tmp_path: Path, builds: list[str], mode: int) -> None:
    lark_grammar.load_or_build(tmp_path)
    cached = only_file(tmp_path)
    cached.chmod(mode)
    assert lark_grammar.load_or_build(tmp_path)[1] == "built"
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600  # replaced by a private file


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_a_folder_others_may_write_is_not_used(
    tmp_path: Path, builds: list[str], mode: int
) -> None:
    """A shared folder (`/tmp` is 0o1777) is never used, even when named."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    assert lark_grammar.load_or_build(shared)[1] == "built"
    assert list(shared.iterdir()) == []


def test_a_symlink_is_not_followed(tmp_path: Path, builds: list[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    lark_grammar.load_or_build(elsewhere)
    target = only_file(elsewhere)
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o700)
    (folder / target.name).symlink_to(target)
    assert lark_grammar.load_or_build(folder)[1] == "built"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_file_of_another_user_is_not_read(tmp_path: Path, builds: list[str]) -> None:
    lark_grammar.load_or_build(tmp_path)
    cached = only_file(tmp_path)
    os.chown(cached, 65534, 65534)  # nobody
    assert lark_grammar.load_or_build(tmp_path)[1] == "built"
    assert cached.stat().st_uid == os.geteuid()  # replaced by our own


CHILD = """\
import hashlib, json, sys
from pathlib import Path
from policydsl.lark_grammar import lark_parser, parser_origin
texts = [Path(p).read_text(encoding="utf-8") for p in sys.argv[1:]]
trees = [lark_parser().parse(text).pretty() for text in texts]
digest = hashlib.sha256(json.dumps(trees).encode()).hexdigest()
print(json.dumps({"origin": parser_origin(), "trees": digest}))
"""


@pytest.mark.slow
def test_a_fresh_process_writes_the_cache_and_the_next_one_reuses_it(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    env = {**os.environ, "POLICYDSL_CACHE_DIR": str(folder)}

    def child() -> dict[str, str]:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *map(str, TEXTS)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stderr == ""  # falling back or loading says nothing
        result: dict[str, str] = json.loads(done.stdout)
        return result

    first = child()
    assert first["origin"] == "built"
    cached = only_file(folder)
    written = cached.stat()
    second = child()
    assert second == {**first, "origin": "cache"}
    assert cached.stat().st_mtime_ns == written.st_mtime_ns  # read, not written again
    cached.write_bytes(cached.read_bytes()[:100])
    assert child() == first  # corrupt: built again, the same trees
