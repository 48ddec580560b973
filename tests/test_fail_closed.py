"""Fail-closed mode answers with the effect the policy declares (`refuse`), never a guess, and
nothing but that refusal comes out, whatever the caller's objects do when they are read."""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import policydsl
from policydsl.cli import cli

BACKENDS = ("compiled", "naive", "interpreted")

# `allow` is the strongest effect: guessing "the strongest refuses" would answer `allow`.
ALLOW_STRONGEST = """\
context { user: string = ""  labels: set<string> = []  level: int[0..] = 0 }
effects allow > deny default deny@REFUSE@
rule admin: allow { when user == "admin" and level >= 0  cite "A"  reason "admins" }
rule tagged: allow { when labels contains "vip"  cite "B"  reason "vips" }
output audit: string {
  when decision == allow => "open"
  otherwise => "closed"
}
"""


def policy(refuse: str | None = " refuse deny", **options: Any) -> policydsl.Policy:
    return policydsl.loads(ALLOW_STRONGEST.replace("@REFUSE@", refuse or ""), **options)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fail_closed_refuses_with_the_declared_effect(backend: str) -> None:
    """The reported case: `{"user": 5}` was answered `allow`, the strongest effect."""
    decision = policy(backend=backend, fail_closed=True).decide({"user": 5})
    assert decision.decision == "deny"
    assert decision.error is not None and "`user`" in decision.error
    assert (decision.rules, decision.obligations, decision.citations) == ((), (), ())
    assert decision.to_dict()["audit"] == "closed"  # outputs see the refusal


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_author_chooses_the_refusal(backend: str) -> None:
    decision = policy(" refuse allow", backend=backend, fail_closed=True).decide({"user": 5})
    assert decision.decision == "allow"


def test_loading_fail_closed_without_a_refusal_says_what_to_add() -> None:
    with pytest.raises(policydsl.PolicyError) as info:
        policy(None, fail_closed=True)
    (error,) = info.value.diagnostics
    assert error.code == "P403"
    assert error.line == 2 and error.col == 1  # the `effects` line
    assert error.help is not None
    assert "`effects allow > deny default deny refuse EFFECT`" in error.help
    assert "(allow or deny)" in error.help


def test_without_fail_closed_no_refusal_is_needed() -> None:
    assert policy(None).decide({"user": "admin"}).decision == "allow"


def test_load_from_a_file_fail_closed_without_a_refusal(tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_text(ALLOW_STRONGEST.replace("@REFUSE@", ""), encoding="utf-8")
    with pytest.raises(policydsl.PolicyError, match="P403"):
        policydsl.load(path, fail_closed=True)
    assert policydsl.load(path).decide({"user": "x"}).decision == "deny"


def test_cli_fail_closed_without_a_refusal_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_text(ALLOW_STRONGEST.replace("@REFUSE@", ""), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["eval", "--fail-closed", "--policy", str(path), "-"], input='{"user": 5}'
    )
    assert result.exit_code == 2, result.output
    assert "P403" in result.stderr and "refuse EFFECT" in result.stderr
    assert result.stdout == ""


def test_cli_fail_closed_refuses_with_the_declared_effect(tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_text(ALLOW_STRONGEST.replace("@REFUSE@", " refuse deny"), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["eval", "--fail-closed", "--policy", str(path), "-"], input='{"user": 5}'
    )
    assert result.exit_code == 0, result.output
    assert '"decision": "deny"' in result.stdout


def test_an_unknown_refusal_is_reported() -> None:
    with pytest.raises(policydsl.PolicyError) as info:
        policy(" refuse dney")
    (error,) = [d for d in info.value.diagnostics if d.severity == "error"]
    assert (error.code, error.message, error.help) == (
        "P201",
        "unknown effect `dney`",
        "did you mean `deny`?",
    )


def test_the_formatter_keeps_the_refusal() -> None:
    text = "context { a: int }\neffects  deny>allow   default allow   refuse   deny\n"
    formatted = policydsl.format_source(text)
    assert "effects deny > allow default allow refuse deny" in formatted
    assert policydsl.format_source(formatted) == formatted


def test_the_stdlib_refuses_with_deny() -> None:
    stdlib = policydsl.load_stdlib(fail_closed=True)
    assert stdlib.checked.refuse_effect == "deny"
    assert stdlib.decide({"user": {"age": -4}}).decision == "deny"


def test_a_fail_closed_policy_pickles() -> None:
    clone = pickle.loads(pickle.dumps(policy(fail_closed=True)))
    assert clone.decide({"user": 5}).decision == "deny"


# ---- objects that raise when they are read -------------------------------------------------


class Boom(Exception):
    """Not a TypeError: raised by the caller's own code, of any class."""


class RaisingMapping(Mapping[str, Any]):
    """A mapping whose every read raises."""

    def __getitem__(self, key: str) -> Any:
        raise Boom("getitem")

    def __iter__(self) -> Iterator[str]:
        raise Boom("iter")

    def __len__(self) -> int:
        return 1

    def get(self, key: str, default: Any = None) -> Any:
        raise Boom("get")


class LyingDict(dict[str, Any]):
    """Claims to be a plain dict, then raises on `get`."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return dict

    def get(self, key: str, default: Any = None) -> Any:
        raise Boom("get")


class RaisingStr(str):
    """A string whose comparison and hash raise, and that claims to be a plain `str`."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return str

    def __eq__(self, other: object) -> bool:
        raise Boom("eq")

    def __hash__(self) -> int:
        raise Boom("hash")


class RaisingInt(int):
    def __lt__(self, other: object) -> bool:
        raise Boom("lt")

    def __ge__(self, other: object) -> bool:
        raise Boom("ge")

    def __hash__(self) -> int:
        raise Boom("hash")


class RaisingList(list[Any]):
    def __iter__(self) -> Iterator[Any]:
        raise Boom("iter")

    def __len__(self) -> int:
        raise Boom("len")


class UnhashableStr(str):
    def __hash__(self) -> int:
        raise Boom("hash")


HOSTILE: list[Any] = [
    pytest.param(lambda: RaisingMapping(), id="mapping-whose-reads-raise"),
    pytest.param(lambda: LyingDict(user="admin"), id="dict-lying-about-its-class"),
    pytest.param(lambda: {"user": "admin", "labels": RaisingList(["vip"])}, id="list-iter-raises"),
]
# Read as their exact built-in type, these decide like the plain values they hold.
NORMALISED: list[Any] = [
    pytest.param(lambda: {"user": RaisingStr("admin")}, id="str-whose-eq-and-hash-raise"),
    pytest.param(lambda: {"user": "admin", "level": RaisingInt(3)}, id="int-whose-order-raises"),
    pytest.param(
        lambda: {"user": "x", "labels": [UnhashableStr("vip")]}, id="set-element-unhashable"
    ),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make", HOSTILE)
def test_fail_closed_lets_nothing_but_the_refusal_out(backend: str, make: Any) -> None:
    decision = policy(backend=backend, fail_closed=True).decide(make())
    assert decision.decision == "deny"
    assert decision.error is not None and "Boom" in decision.error


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make", HOSTILE)
def test_raising_objects_are_a_context_error(backend: str, make: Any) -> None:
    with pytest.raises(policydsl.ContextError, match="raised Boom"):
        policy(backend=backend).decide(make())


@pytest.mark.parametrize("fail_closed", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make", NORMALISED)
def test_subclasses_are_read_as_plain_values(backend: str, make: Any, fail_closed: bool) -> None:
    decision = policy(backend=backend, fail_closed=fail_closed).decide(make())
    assert decision.decision == "allow" and decision.error is None
