"""Declared integer ranges hold for constants too: a default, a table cell, a typed definition or
an annotation value outside its range is a check error (P308) at the constant."""

from __future__ import annotations

from pathlib import Path

import pytest

import policydsl

HEADER = """\
context { n: int = 0 }
effects deny > allow default allow
annotation level: int[0..5]
"""


def only_error(text: str) -> policydsl.Diagnostic:
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(HEADER + text, name="r.policy")
    (error,) = [d for d in info.value.diagnostics if d.severity == "error"]
    return error


def underlined(error: policydsl.Diagnostic, text: str) -> str:
    assert error.span is not None
    line = (HEADER + text).splitlines()[error.span.line - 1]
    return line[error.span.col - 1 : error.span.end_col - 1]


CASES = [
    pytest.param(
        "def x: int[0..] = -1",
        "definition `x` is -1, outside its type int[0..]",
        "-1",
        id="typed-definition",
    ),
    pytest.param(
        "def x: set<int[1..3]> = [1, 4]",
        "definition `x` is 4, outside its type int[1..3]",
        "[1, 4]",
        id="typed-definition-set",
    ),
    pytest.param(
        'table t(k: string, quota: int[..10]) { "a", 11 }\n'
        'rule r for t: deny { when n > quota cite "c" reason "r" }',
        "column `quota` is 11, outside its type int[..10]",
        "11",
        id="table-cell",
    ),
    pytest.param(
        'rule r: deny { when n > 1 level 9 cite "c" reason "r" }',
        "annotation `level` of rule `r` is 9, outside its type int[0..5]",
        "9",
        id="annotation-value",
    ),
    pytest.param(
        'table t(k: string, lv: int) { "a", -3 }\n'
        'rule r for t: deny { when n > 1 level lv cite "c" reason "r" }',
        "annotation `level` of rule `r[a]` is -3, outside its type int[0..5]",
        '"a", -3',
        id="annotation-from-a-column",
    ),
]


@pytest.mark.parametrize(("text", "message", "snippet"), CASES)
def test_an_out_of_range_constant_is_an_error(text: str, message: str, snippet: str) -> None:
    error = only_error(text)
    assert (error.code, error.message) == ("P308", message)
    assert underlined(error, text) == snippet
    assert error.help == "change the value, or widen the declared range"


def test_an_out_of_range_default_is_an_error() -> None:
    text = "context { n: int[0..] = -1 }\neffects deny > allow default allow\n"
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(text)
    (error,) = info.value.diagnostics
    assert (error.code, error.message, error.line, error.col) == (
        "P308",
        "default of `n` is -1, outside its type int[0..]",
        1,
        25,
    )


def test_in_range_constants_are_accepted() -> None:
    text = (
        "context { n: int[0..] = 0 }\neffects deny > allow default allow\n"
        "annotation level: int[0..5]\n"
        "def cap: int[0..10] = 10\n"
        'table t(k: string, lv: int[0..5]) { "a", 5 }\n'
        'rule r for t: deny { when n > cap level lv cite "c" reason "r" }\n'
    )
    policy = policydsl.loads(text)
    assert policy.checked.rules[0].annotations == (("level", 5),)


def test_the_analysis_cannot_be_told_a_false_range(tmp_path: Path) -> None:
    """With `n: int[0..] = -1`, the analysis trusted the range and warned that `n < 0` can never
    fire, while the rule fired on every request that left `n` out."""
    text = (
        "context { n: int[0..] = -1 }\neffects deny > allow default allow\n"
        'rule r: deny { when n < 0 cite "c" reason "r" }\n'
    )
    path = tmp_path / "a.policy"
    path.write_text(text, encoding="utf-8")
    diags = policydsl.check([path])
    assert [d.code for d in diags] == ["P308"]  # an error, and no W201 beside it
