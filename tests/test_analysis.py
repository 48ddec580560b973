"""Static analysis: rules that can never fire and rules that fire on the same requests are warned
about (with the rule's location), and sound policies get no such warning."""

from __future__ import annotations

import pytest

import policydsl

HEADER = """
enum Kind { a, b, c }
context { req: { kind: Kind = a  n: int[0..] = 0  flag: bool = false  tag: string? } }
effects deny > review > allow default allow
"""


def rule(name: str, effect: str, when: str) -> str:
    return f'rule {name}: {effect} {{ when {when}  cite "1"  reason "r" }}\n'


def warnings(text: str) -> list[policydsl.Diagnostic]:
    return [w for w in policydsl.loads(HEADER + text).warnings if w.code.startswith("W2")]


@pytest.mark.parametrize(
    ("when", "why"),
    [
        pytest.param("req.kind == a and req.kind == b", "`req.kind` cannot take", id="two-values"),
        pytest.param("req.kind in [a, b] and req.kind == c", "`req.kind` cannot take", id="in-eq"),
        pytest.param("req.n < 0", "no value of `req.n`", id="below-declared-range"),
        pytest.param("req.n > 5 and req.n < 3", "no value of `req.n`", id="empty-interval"),
        pytest.param("req.n == 4 and req.n >= 5", "no value of `req.n`", id="eq-outside-bound"),
        pytest.param("req.flag and not req.flag", "its negation", id="negation"),
        pytest.param("1 > 2", "always false", id="constant"),
    ],
)
def test_rules_that_can_never_fire(when: str, why: str) -> None:
    [found] = warnings(rule("never", "deny", when))
    assert found.code == "W201"
    assert found.severity == "warning"
    assert "rule `never` can never fire" in found.message
    assert why in found.message
    assert found.line == 5  # the rule's own line, right after the header


def test_same_condition_different_effects_is_a_conflict() -> None:
    text = rule("strict", "deny", "req.flag and req.n > 3") + rule(
        "lenient", "allow", "req.n > 3 and req.flag"
    )
    [found] = warnings(text)
    assert found.code == "W202"
    assert "`strict` (deny) and `lenient` (allow)" in found.message
    assert found.help == "`lenient` can never decide: `deny` always wins"


def test_same_condition_same_effect_is_redundant() -> None:
    [found] = warnings(rule("one", "deny", "req.kind == b") + rule("two", "deny", "req.kind == b"))
    assert found.code == "W202"
    assert "same condition and effect" in found.message


@pytest.mark.parametrize(
    "when",
    [
        "req.kind == a and req.n > 3",
        "req.n >= 3 and req.n <= 3",
        'has req.tag and req.tag starts_with "x"',
        "req.flag or not req.flag",
    ],
)
def test_satisfiable_rules_get_no_warning(when: str) -> None:
    assert warnings(rule("fine", "deny", when)) == []


def test_the_standard_library_has_no_analysis_warnings() -> None:
    assert [d for d in policydsl.check([]) if d.code.startswith("W2")] == []


def test_warnings_do_not_stop_loading() -> None:
    policy = policydsl.loads(HEADER + rule("never", "deny", "req.n < 0"))
    assert policy.decide({}).decision == "allow"


@pytest.mark.parametrize("backend", ["compiled", "naive", "interpreted"])
def test_loading_lowers_the_policy_once(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The analysis and the engine read one lowered form: loading the standard library lowers
    it exactly once (it was lowered twice, once unindexed for the analysis alone), and printing
    the compiled form of a loaded policy lowers nothing again. (`load`, not `load_stdlib`, which
    may take the lowered form from its artifact: `tests/test_artifact.py`.)"""
    from policydsl import lower

    calls: list[object] = []
    real = lower.lower

    def counting(policy: object) -> object:
        calls.append(policy)
        return real(policy)  # type: ignore[arg-type]

    monkeypatch.setattr(lower, "lower", counting)
    policy = policydsl.load(policydsl.stdlib_path(), backend=backend)
    assert len(calls) == 1
    policy.compiled("ir")
    policy.compiled("ir")
    assert len(calls) == 1
    assert calls == [policy.checked]
