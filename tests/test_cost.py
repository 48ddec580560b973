"""Static cost bounds (`policydsl.cost`): per rule and per decision, from the declared maxima.

The bounds are written by hand from the cost model in `cost.py`'s docstring: an operator is one
step, a quantifier multiplies its body by the collection's maximum, strings cost one step per
10 characters, `like` text x pattern.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import policydsl
from policydsl.cli import main
from policydsl.cost import DEFAULT_MAX_COST

NESTED = """\
effects deny > allow default allow
context {{ a: list<int>{bound}  b: list<int>{bound} }}
rule overlap: deny {{ when some x in a: some y in b: x == y  cite "1"  reason "overlap" }}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.policy"
    path.write_text(text, encoding="utf-8")
    return path


def test_nested_quantifiers_over_default_lists_are_reported(tmp_path: Path) -> None:
    """The 15.8 s decision: `check` now says its bound, 10^8 steps, passes the limit."""
    path = write(tmp_path, NESTED.format(bound=""))
    warnings = [d for d in policydsl.check([path]) if d.code == "W501"]
    assert len(warnings) == 1
    assert "rule `overlap` may take up to 100,010,001 steps" in warnings[0].message
    assert warnings[0].line == 3
    cost = policydsl.load(path).cost()
    assert cost.rules == {"overlap": 100_010_001}
    assert cost.decision == cost.validation + 100_010_001 > 10**8


def test_declared_maxima_bring_the_bound_under_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path, NESTED.format(bound="[..100]"))
    assert not [d for d in policydsl.check([path]) if d.code.startswith("W5")]
    assert policydsl.load(path).cost().rules == {"overlap": 100 * (100 + 1) + 1}


def test_check_takes_a_limit_and_reports_the_bounds_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, NESTED.format(bound=""))
    assert main(["check", "--format", "json", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [d["code"] for d in report["diagnostics"]] == ["W501"]
    assert report["cost"]["limit"] == DEFAULT_MAX_COST
    assert report["cost"]["rules"] == {"overlap": 100_010_001}
    assert main(["check", "--format", "json", "--max-cost", str(10**9), str(path)]) == 0
    raised = json.loads(capsys.readouterr().out)
    assert raised["diagnostics"] == [] and raised["cost"]["limit"] == 10**9
    assert main(["check", "--max-cost", "-1", str(path)]) == 2


SCHEMA = """\
effects deny > allow default allow
context {
  a: list<int>[..100]  b: list<int>[..100]  s: set<int>[..100] = []
  text: string[..100] = ""  pattern: string[..100] = ""  n: int = 0
}
"""


@pytest.mark.parametrize(
    ("condition", "bound"),
    [
        ("n > 1", 1),
        ("n + 1 * 2 > 3", 3),
        ("size(a) > 3", 2),
        ("n in a", 100),  # a list is scanned
        ("n in s", 1),  # a set is one lookup
        ("a contains n", 100),
        ("a contains_any b", 200),  # a set of one side: linear
        ("a contains_all b", 200),
        ('text == "abc"', 2),  # 1 + ceil(3 / 10)
        ("text == pattern", 11),  # 1 + 100 / 10
        ('text starts_with "ab"', 2),
        ("text like pattern", 1 + 1_000 + 10),  # text x pattern, and the pattern read
        ("some x in a: x > 1", 100 + 1),
        ("some x in a: some y in b: x == y", 100 * 101 + 1),
        ("all x in a: x in b", 100 * 100 + 1),
        ("n > 1 and not (n < 5)", 4),
    ],
)
def test_bounds_follow_the_cost_model(condition: str, bound: int) -> None:
    policy = policydsl.loads(SCHEMA + f'rule r: deny {{ when {condition} cite "1" reason "r" }}\n')
    assert policy.cost().rules == {"r": bound}


def test_a_decision_past_the_limit_is_reported_when_no_rule_is(tmp_path: Path) -> None:
    """Three rules of 360,601 steps each: none is past 1,000,000, their decision is (W502)."""
    rules = "".join(
        f'rule r{i}: deny {{ when some x in a: some y in b: x == y + {i}  cite "1" reason "r" }}\n'
        for i in range(3)
    )
    text = (
        "effects deny > allow default allow\ncontext { a: list<int>[..600]  b: list<int>[..600] }\n"
    )
    diagnostics = policydsl.check([write(tmp_path, text + rules)])
    assert [d.code for d in diagnostics] == ["W502"]
    assert "a decision may take up to" in diagnostics[0].message


def test_the_stdlib_is_within_the_default_limit() -> None:
    policy = policydsl.load_stdlib()
    cost = policy.cost()
    assert cost.decision < DEFAULT_MAX_COST
    assert len(cost.rules) == len(policy.checked.rules)
    assert not [d for d in policydsl.check([]) if d.code.startswith("W5")]


def test_each_use_of_a_definition_pays_its_cost() -> None:
    """Definitions are inlined, so a chain of doublings doubles the bound at each link; each
    definition is still costed once."""
    defs = "".join(f"def d{i} = d{i - 1} + d{i - 1}\n" for i in range(1, 11))
    rule = 'rule r: deny { when d10 > 0  cite "1" reason "r" }\n'
    text = SCHEMA + "def d0 = size(a)\n" + defs + rule
    start = time.perf_counter()
    cost = policydsl.loads(text).cost()
    assert time.perf_counter() - start < 10
    assert cost.rules["r"] == 2**10 * 2 - 1 + 1  # 1,024 `size`s and 1,023 `+`s, then `>`
