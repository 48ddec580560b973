"""`matches`: RE2 regular expressions, compiled when the policy is checked, linear in the text,
decided alike by every backend; anything RE2 cannot guarantee is a check error."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

import policydsl

pytest.importorskip("re2")

HEAD = 'context { s: string[..2000000] = "" }\neffects deny > allow default allow\n'


def policy(condition: str, backend: str = "compiled") -> policydsl.Policy:
    return policydsl.loads(HEAD + f"rule r: deny {{ when {condition} }}\n", backend=backend)


PATTERNS = [r"^[a-z]+-[0-9]{2,}$", r"(ab|cd)+", r"\d", r"^$", r"x.y", r"(?i)^HELLO", r"é+"]
TEXTS = ["abc-12", "abc-1", "zzabcdab", "", "7", "x\ny", "xay", "hello there", "éé", "E"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_backend_agrees_with_a_search(pattern: str) -> None:
    """A pattern matches anywhere unless it anchors itself, as Python's `re.search` (on these
    patterns, which both engines read alike)."""
    literal = pattern.replace("\\", "\\\\")
    policies = [policy(f's matches "{literal}"', b) for b in policydsl.BACKENDS]
    for text in TEXTS:
        expected = ("r",) if re.search(pattern, text) else ()
        for p in policies:
            assert p.decide({"s": text}).rules == expected, (p.backend, pattern, text)


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (r's matches "(a)\\1"', "RE2 refuses the pattern: invalid escape sequence"),
        (r's matches "(?=a)"', "RE2 refuses the pattern"),
        (r's matches "a{2"', ""),
        ("s matches s", "`matches` takes its pattern as a string literal"),
    ],
)
def test_a_pattern_re2_cannot_guarantee_is_a_check_error(condition: str, message: str) -> None:
    if condition.endswith('"a{2"'):  # RE2 reads an unclosed `{` as a literal: accepted
        policy(condition)
        return
    with pytest.raises(policydsl.PolicyError) as caught:
        policy(condition)
    assert [d.code for d in caught.value.diagnostics] == ["P333"]
    assert message in str(caught.value)


def test_a_pathological_pattern_stays_linear_on_a_megabyte() -> None:
    """`(a+)+b` backtracks exponentially in Python's `re`; RE2 reads a megabyte in milliseconds.
    A deliberately generous bound: a backtracking engine would not finish at all."""
    compiled = policy('s matches "(a+)+b"')
    text = "a" * 1_000_000
    started = time.perf_counter()
    assert compiled.decide({"s": text}).rules == ()
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    ("condition", "text", "fires"),
    [
        ('s matches "bot[0-9]"', "bot1\ud800", True),
        ('s matches "bot[0-9]"', "\ud800bot", False),
        ('s matches "x.y"', "x\ud800y", True),  # a lone surrogate is one character to RE2
        ('s matches "^[a-z]+$"', "ab\udfff", False),
        ('not (s matches "^a.$")', "a\ud800", False),
    ],
)
def test_a_lone_surrogate_in_the_text_is_searched_not_refused(
    condition: str, text: str, fires: bool
) -> None:
    """JSON's `"\\ud800"` reads as a lone surrogate: every backend searches it alike (as RE2
    reads it: one character no literal matches) rather than failing the decision."""
    for backend in policydsl.BACKENDS:
        assert policy(condition, backend).decide({"s": text}).rules == (("r",) if fires else ())


def test_a_lone_surrogate_from_json_is_decided_by_the_cli(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from policydsl.cli import cli

    source = tmp_path / "p.policy"
    source.write_text(HEAD + 'rule r: deny { when s matches "bot[0-9]" cite "c" reason "r" }\n')
    request = '{"s": "bot1\\ud800"}'  # JSON's escape, read as a lone surrogate
    result = CliRunner().invoke(cli, ["eval", "--policy", str(source), "-"], input=request)
    assert result.exit_code == 0, result.output
    assert '"rules": ["r"]' in result.output
