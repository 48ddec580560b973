"""Malformed input never crashes: every broken file is a located diagnostic, every broken request
a `ContextError` naming the attribute, quickly, and `policyc check` exits 1 without a traceback.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import policydsl
from policydsl.cli import cli

SECONDS = 5.0  # per file: generous for slow CI machines; locally each case takes well under 1 s

VALID = """\
enum Role { viewer, editor, owner }
context {
  user: { id: string  role: Role = viewer  age: int[0..]? }
  doc: { owner: string  labels: list<string> = []  size: int[0..] = 0 }
}
effects deny > allow default allow refuse deny
rule owner_shares: allow { when doc.owner == user.id  cite "S1"  reason "owners share" }
rule big: deny { when doc.size > 100 and not (user.role == owner)  cite "S2"  reason "too big" }
"""
HEAD = 'context { x: string = "" } effects deny > allow default allow '


def one_line(body: str) -> bytes:
    """A whole policy on one line: the header, then `body`."""
    return (HEAD + body).encode()


def punctuation(n: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.choice(b"!@#$^&*()[]{};:,.<>/?|\\-=+~`'\"") for _ in range(n))


# fmt: off
MALFORMED: list[Any] = [
    pytest.param(lambda: b"", "P401", id="empty"),
    pytest.param(lambda: b"\n\n   \n# only a comment\n", "P401", id="blank"),
    pytest.param(lambda: b"context {\x00}", "P002", id="binary-nul"),
    pytest.param(lambda: b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)), "P002", id="binary-elf"),
    pytest.param(lambda: b"context { x: int }\n\xff\xfe bad", "P003", id="invalid-utf8"),
    pytest.param(lambda: b"\xe2\x82", "P003", id="truncated-utf8"),
    pytest.param(lambda: b'rule r: deny { reason "never closed\n}', "P102",
                 id="unterminated-string"),
    pytest.param(lambda: one_line("def d = " + "(" * 20_000 + "1" + ")" * 20_000), "P005",
                 id="20000-parentheses"),
    pytest.param(lambda: one_line("def d = " + "not " * 20_000 + "true"), "P005", id="20000-nots"),
    pytest.param(lambda: one_line("def d = " + "-" * 20_000 + "1 > 0"), "P005", id="20000-minuses"),
    pytest.param(lambda: one_line("def d = " + "[" * 20_000), "P005", id="20000-open-brackets"),
    pytest.param(lambda: (VALID + "# filler\n" * 700_000).encode(), "P004", id="6MB-file"),
    pytest.param(lambda: punctuation(2_000), "P101", id="random-punctuation"),
    pytest.param(lambda: one_line('def d: int = "' + "s" * 100_000 + '"'), "P301",
                 id="100kB-string-literal"),
    pytest.param(lambda: one_line('def d = "' + "s" * 100_000), "P102",
                 id="100kB-unterminated-string"),
    pytest.param(lambda: one_line("def d = " + "a" * 100_000), "P201", id="100kB-name"),
    pytest.param(lambda: one_line('rule r: deny { when x == "' + "a" * 990_000 + '" and y }'),
                 "P201", id="1MB-line"),
    pytest.param(lambda: one_line("def d = 1 " + "9" * 100_000), "P100", id="100kB-token"),
    pytest.param(lambda: (VALID + "rule r: deny {\n  when user.age >").encode(), "P103",
                 id="truncated"),
    pytest.param(lambda: (VALID + "def d = nope").replace("\n", "\r").encode(), "P010",
                 id="cr-line-ends"),
    pytest.param(lambda: "\ufeff\u200b\u202e context".encode(), "P011", id="invisible-chars"),
]
# fmt: on


def write(tmp_path: Path, data: bytes, name: str = "broken.policy") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_located(diagnostics: list[policydsl.Diagnostic], path: Path) -> None:
    """At least one error, every diagnostic placed in the file, every rendering readable."""
    assert any(d.severity == "error" for d in diagnostics)
    for d in diagnostics:
        assert (d.file, type(d.line), type(d.col)) == (str(path), int, int), d
        assert d.line >= 1 and d.col >= 1
        rendered = d.render()
        assert "Traceback" not in rendered
        assert max(len(line) for line in rendered.splitlines()) < 400, "snippets are clipped"


def assert_cli_fails_cleanly(path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(("make", "code"), MALFORMED)
def test_malformed_file(tmp_path: Path, make: Callable[[], bytes], code: str) -> None:
    """A located diagnostic within seconds; `load` raises `PolicyError` and nothing else."""
    path = write(tmp_path, make())
    start = time.perf_counter()
    diagnostics = policydsl.check([path])
    assert time.perf_counter() - start < SECONDS
    assert_located(diagnostics, path)
    assert code in {d.code for d in diagnostics if d.severity == "error"}
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.load(path)
    assert info.value.diagnostics
    assert_cli_fails_cleanly(path)


def test_limits_are_reported_where_they_are_exceeded(tmp_path: Path) -> None:
    """The nesting limit points at the bracket that crosses it, not at the file's start."""
    path = write(tmp_path, b"context { x: int = 0 }\ndef d = " + b"(" * 100 + b"1" + b")" * 100)
    (error,) = policydsl.check([path])
    assert (error.code, error.line, error.col) == ("P005", 2, 9 + 64)


def random_policy_bytes(rng: random.Random, case: int) -> bytes:
    """Four kinds of garbage: raw bytes, printable noise, keyword soup, a mangled valid policy."""
    kind = case % 4
    if kind == 0:
        return rng.randbytes(rng.randint(1, 400))
    if kind == 1:
        return bytes(rng.randint(32, 126) for _ in range(rng.randint(1, 400)))
    if kind == 2:
        words = [
            "rule",
            "def",
            "table",
            "when",
            "{",
            "}",
            "(",
            ")",
            "[",
            "]",
            ":",
            ",",
            "-",
            "not",
            "and",
            "has",
            "in",
            "some",
            "x",
            "1",
            '"s"',
            "==",
            "=>",
            "\n",
            "#",
        ]
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 80))).encode()
    data = bytearray(VALID.encode())
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data))
        if rng.random() < 0.5:
            del data[at : at + rng.randint(1, 20)]
        else:
            data[at:at] = rng.choice([b"{", b"}", b"(", b"-", b"?", b'"', b"not ", b"\xff", b"::"])
    return bytes(data)


def test_random_bytes(tmp_path: Path) -> None:
    """300 seeded random files: each one loads or is reported with a location, never a crash."""
    rng = random.Random(20240601)
    start = time.perf_counter()
    for case in range(300):
        data = random_policy_bytes(rng, case)
        path = write(tmp_path, data, f"case{case}.policy")
        diagnostics = policydsl.check([path])
        for d in diagnostics:
            assert d.file == str(path) and d.line and d.col, (data, d)
            d.render()
        if any(d.severity == "error" for d in diagnostics):
            if case % 10 == 0:  # the CLI too, on a sample: it is the slow part
                assert_cli_fails_cleanly(path)
        else:
            policydsl.load(path)  # the rare mutant that is still a policy must load
    assert time.perf_counter() - start < 20


# ---- malformed requests -----------------------------------------------------------------------


@pytest.fixture
def policy(backend: str) -> policydsl.Policy:
    return policydsl.loads(VALID, name="valid.policy", backend=backend)


def nested(depth: int, leaf: Any = "x", *, key: str | None = "a") -> Any:
    """A value nested `depth` levels deep, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = {key: value} if key is not None else [value]
    return value


def request_with(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"user": {"id": "u1"}, "doc": {"owner": "u2"}}
    for dotted, value in overrides.items():
        record, field = dotted.split("__")
        request[record] = {**request[record], field: value}
    return request


# fmt: off
BAD_REQUESTS = [
    pytest.param(request_with(user__id=nested(100_000)), "user.id", id="deep-object-for-string"),
    pytest.param(request_with(user__role=nested(100_000, key=None)), "user.role",
                 id="deep-list-for-enum"),
    pytest.param({"user": nested(50_000, key="id"), "doc": {"owner": "u2"}}, "user.id",
                 id="deep-object-for-record"),
    pytest.param(request_with(doc__labels=[nested(50_000, key=None)]), "doc.labels",
                 id="deep-list-in-list"),
    pytest.param(request_with(doc__labels=["l"] * 10_001), "doc.labels", id="list-of-10001"),
    pytest.param(request_with(doc__labels=list(range(1_000_000))), "doc.labels",
                 id="list-of-a-million"),
    pytest.param(request_with(user__age=-(10**5000)), "user.age", id="5000-digit-integer"),
    pytest.param(request_with(user__age=float("nan")), "user.age", id="nan"),
    pytest.param(request_with(user__id="u" * 10, doc__size=-1), "doc.size", id="below-range"),
]
# fmt: on


@pytest.mark.parametrize(("request_", "attribute"), BAD_REQUESTS)
def test_malformed_request(
    policy: policydsl.Policy, request_: dict[str, Any], attribute: str
) -> None:
    """A `ContextError` naming the attribute, with a short message, on every backend."""
    start = time.perf_counter()
    with pytest.raises(policydsl.ContextError) as info:
        policy.decide(request_)
    assert time.perf_counter() - start < SECONDS
    assert info.value.attribute == attribute
    assert len(str(info.value)) < 400


@pytest.mark.parametrize("where", ["top", "nested"])
def test_deep_and_huge_undeclared_attributes_are_refused_quickly(
    policy: policydsl.Policy, where: str
) -> None:
    """Records are closed: an undeclared attribute is refused by name, and its value (however
    large or deep) is never looked at."""
    request = request_with()
    record = request if where == "top" else request["user"]
    record["junk"] = nested(100_000)
    start = time.perf_counter()
    with pytest.raises(policydsl.ContextError) as info:
        policy.decide(request)
    assert time.perf_counter() - start < SECONDS
    assert info.value.attribute == ("junk" if where == "top" else "user.junk")


def test_collection_limit_is_inclusive(policy: policydsl.Policy) -> None:
    """10,000 elements are allowed; the limit is on 10,001."""
    assert policy.decide(request_with(doc__labels=["l"] * 10_000)).decision == "allow"


def test_fail_closed_refuses_malformed_requests() -> None:
    """In fail-closed mode a malformed request is the declared refusal, with the error."""
    policy = policydsl.loads(VALID, name="valid.policy", fail_closed=True)
    decision = policy.decide(request_with(user__id=nested(100_000)))
    assert decision.decision == "deny"
    assert decision.error is not None and "user.id" in decision.error
    assert decision.rules == () and decision.obligations == ()
