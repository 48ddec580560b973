"""Decimals (`decimal` attributes and literals): exact to four digits after the point, held as
scaled integers, refused when not exact or out of range, and alike on every backend."""

from __future__ import annotations

import decimal
import itertools
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import policydsl

POLICY = """\
context {
  score: decimal
  floor: decimal = 0.25
  limits: list<decimal> = []
  marks: set<decimal> = []
  user: { rating: decimal? }
  count: int = 0
}
effects deny > allow default allow
def cap: decimal = 2
table tiers(tier: string, at: decimal) {
  "low",  -1.5
  "mid",  0.8
  "high", 922337203685477.5807
}
rule over for tiers: deny { when score >= at }
rule under: deny { when score < floor and 1 > score }
rule listed: deny { when score in limits or 0.5 in marks }
rule capped: deny { when score == cap or score != score }
rule rated: deny { when has user.rating and user.rating <= -0.0001 }
"""


@pytest.fixture(scope="module")
def policies() -> dict[str, policydsl.Policy]:
    return {b: policydsl.loads(POLICY, backend=b) for b in policydsl.BACKENDS}


def expected(context: dict[str, object]) -> tuple[str, ...]:
    """What the rules mean, by the standard library's exact `decimal`."""
    score = Decimal(str(context["score"]))
    floor = Decimal(str(context.get("floor", "0.25")))
    limits = [Decimal(str(v)) for v in context.get("limits", [])]  # type: ignore[attr-defined]
    marks = [Decimal(str(v)) for v in context.get("marks", [])]  # type: ignore[attr-defined]
    fired = []
    if score == 2:
        fired.append("capped")
    if score in limits or Decimal("0.5") in marks:
        fired.append("listed")
    for name, at in (("high", "922337203685477.5807"), ("low", "-1.5"), ("mid", "0.8")):
        if score >= Decimal(at):
            fired.append(f"over[{name}]")
    rating = context.get("user", {}).get("rating")  # type: ignore[attr-defined]
    if rating is not None and Decimal(str(rating)) <= Decimal("-0.0001"):
        fired.append("rated")
    if score < floor and score < 1:
        fired.append("under")
    return tuple(sorted(fired))


SCORES: list[object] = [
    0,
    1,
    2,
    -2,
    0.8,
    0.7999,
    "0.8",
    "0.80000",
    Decimal("0.8001"),
    Decimal("2.0000"),
    "-1.5",
    -1.5001,
    0.25,
    0.2499,
    "922337203685477.5807",
    "-922337203685477.5808",
    Decimal("-0.0"),
]


def test_every_backend_agrees_with_the_standard_library(
    policies: dict[str, policydsl.Policy],
) -> None:
    extras: list[dict[str, object]] = [
        {},
        {"floor": "1.5", "limits": [0.8, "2"], "marks": [Decimal("0.50")]},
        {"user": {"rating": "-0.0001"}, "marks": ["0.5001"]},
        {"user": {"rating": 0}},
    ]
    for score, extra in itertools.product(SCORES, extras):
        context = {"score": score, **extra}
        want = expected(context)
        for backend, policy in policies.items():
            assert policy.decide(context).rules == want, (backend, context)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (0.12345, "more than 4 digits after the point"),
        ("0.00001", "more than 4 digits after the point"),
        (Decimal("1E-30"), "more than 4 digits after the point"),
        ("922337203685477.5808", "outside the range"),
        (-922337203685477.6, "outside the range"),
        (10**15, "outside the range"),
        (Decimal("1E+999999999"), "outside the range"),
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        (Decimal("NaN"), "not a finite number"),
        ("1e3", "not a decimal number"),
        (" 1", "not a decimal number"),
        ("", "not a decimal number"),
        ("0." + "0" * 100, "not a decimal number"),
        (True, "not a number"),
        ([1], "not a number"),
    ],
)
def test_a_value_that_is_not_exactly_a_decimal_is_refused_by_name(
    policies: dict[str, policydsl.Policy], value: object, why: str
) -> None:
    for backend, policy in policies.items():
        for context in ({"score": value}, {"score": 1, "limits": [value]}):
            with pytest.raises(policydsl.ContextError) as caught:
                policy.decide(context)
            assert caught.value.attribute in ("score", "limits"), backend
            assert why in str(caught.value), (backend, context)


def test_json_requests_are_read_exactly(tmp_path: Path) -> None:
    """A JSON fraction never becomes a binary float: 17 significant digits stay 17, and the
    limits of the range are reached exactly."""
    policy = tmp_path / "p.policy"
    policy.write_text(
        "context { score: decimal }\neffects deny > allow default allow\n"
        "rule top: deny { when score == 922337203685477.5807 }\n"
        "rule tiny: deny { when score > 0.3 }\n"
    )
    cases = [
        ('{"score": 922337203685477.5807}', 0, ["tiny", "top"]),
        ('{"score": 0.30000000000000001}', 3, None),  # a binary float would read 0.3
        ('{"score": 0.30000}', 0, []),
        ('{"score": 3.001e-1}', 0, ["tiny"]),
    ]
    for request, code, rules in cases:
        done = subprocess.run(
            [sys.executable, "-m", "policydsl", "eval", "--policy", str(policy), "-"],
            input=request,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == code, (request, done.stderr)
        if rules is not None:
            assert json.loads(done.stdout)["rules"] == rules
        else:
            assert "`score`" in done.stderr and "more than 4 digits" in done.stderr


@pytest.mark.parametrize(
    ("condition", "code", "message"),
    [
        ("score > 0.12345", "P335", "more than 4 digits after the point"),
        ("score > 0.10000", "P335", "more than 4 digits after the point"),
        ("score > 922337203685477.5808", "P336", "outside the range of a decimal"),
        ("score > -922337203685477.5809", "P336", "outside the range of a decimal"),
        ("score > 1000000000000000", "P336", "outside the range of a decimal"),
        ("score > count", "P337", "cannot compare int with decimal"),
        ("count == score", "P337", "cannot compare int with decimal"),
        ("count > 0.5", "P337", "cannot compare int with decimal"),
        ('score == "0.5"', "P322", "cannot compare"),
        ("score + 1 > 2", "P318", "arithmetic needs integers, not decimal"),
        ("count in [0.5]", "P320", "list<decimal> cannot contain int"),
    ],
)
def test_a_malformed_decimal_or_a_mixture_is_a_check_error(
    condition: str, code: str, message: str
) -> None:
    text = (
        "context { score: decimal  count: int = 0 }\neffects deny > allow default allow\n"
        f"rule r: deny {{ when {condition} }}\n"
    )
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text)
    codes = [d.code for d in caught.value.diagnostics if d.severity == "error"]
    assert code in codes, codes
    assert message in str(caught.value)


@pytest.mark.parametrize("type_", ["decimal", "list<decimal>", "set<decimal>"])
def test_an_output_or_annotation_is_never_a_decimal(type_: str) -> None:
    header = "context { score: decimal }\neffects deny > allow default allow\n"
    for text, what in (
        (f"output o: {type_} {{ otherwise => score }}\n", "output"),
        (f"annotation a: {type_}\n", "annotation"),
    ):
        with pytest.raises(policydsl.PolicyError) as caught:
            policydsl.loads(header + text)
        assert "P337" in [d.code for d in caught.value.diagnostics]
        assert f"an {what} cannot be a decimal" in str(caught.value)


def test_table_cells_show_as_written_in_rule_ids_and_reasons() -> None:
    text = (
        "context { score: decimal }\neffects deny > allow default allow\n"
        'table limits(at: decimal, label: string) { 0.85, "high"  -1.5, "low" }\n'
        'rule over for limits: deny { when score >= at reason "{label}: at or over {at}" }\n'
    )
    for backend in policydsl.BACKENDS:
        decision = policydsl.loads(text, backend=backend).decide({"score": 1})
        assert decision.rules == ("over[-1.5]", "over[0.85]")
        assert decision.reasons == ("low: at or over -1.5", "high: at or over 0.85")


@pytest.mark.parametrize(
    ("literal", "hint"), [("0.12345", "round it"), ("-922337203685477.5809", "a decimal lies from")]
)
def test_a_diagnostic_points_at_the_literal_with_a_hint(literal: str, hint: str) -> None:
    text = "context { score: decimal }\neffects deny > allow default allow\n"
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text + f"rule r: deny {{ when score > {literal} }}\n")
    (found,) = caught.value.diagnostics
    assert hint in (found.help or "")
    assert found.span is not None
    assert (found.span.line, found.span.col) == (3, len("rule r: deny { when score > ") + 1)


def test_python_floats_are_read_through_their_shortest_text(
    policies: dict[str, policydsl.Policy],
) -> None:
    """`0.1 + 0.2` is `0.30000000000000004`: refused, where `0.3` is taken."""
    for policy in policies.values():
        assert policy.decide({"score": 0.3}).rules == expected({"score": "0.3"})
        with pytest.raises(policydsl.ContextError):
            policy.decide({"score": 0.1 + 0.2})


def test_the_formatter_keeps_decimals_as_written(tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_text(
        "context { score: decimal = 0.50 }\neffects deny > allow default allow\n"
        "rule r: deny { when score>-0.5 and score<=10.0 }\n"
    )
    subprocess.run([sys.executable, "-m", "policydsl", "fmt", str(path)], check=True)
    text = path.read_text()
    assert "score: decimal = 0.50" in text and "score > -0.5 and score <= 10.0" in text
    policydsl.loads(text)


def test_decimal_context() -> None:
    """The module's arithmetic never depends on the caller's decimal context."""
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        policy = policydsl.loads(POLICY)
        assert policy.decide({"score": "922337203685477.5807"}).rules == (
            "over[high]",
            "over[low]",
            "over[mid]",
        )


def test_explain_shows_decimals_as_written(tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_text(
        "context { score: decimal }\neffects deny > allow default allow\n"
        "def cap: decimal = 2\nrule r: deny { when score > 0.8 and score < cap }\n"
    )
    text = subprocess.run(
        [sys.executable, "-m", "policydsl", "explain", "-p", str(path), "-"],
        input='{"score": 0.85}',
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "score > 0.8    (score = 0.85)" in text
    assert "(score = 0.85, cap = 2.0)" in text
    data = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "policydsl",
                "explain",
                "--format",
                "json",
                "-p",
                str(path),
                "-",
            ],
            input='{"score": 0.85}',
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert data["explained"][0]["tests"][0]["reads"] == {"score": "0.85"}


def test_a_batch_reads_each_line_exactly(tmp_path: Path) -> None:
    policy = tmp_path / "p.policy"
    policy.write_text(
        "context { score: decimal }\neffects deny > allow default allow\n"
        "rule r: deny { when score >= 0.8 }\n"
    )
    lines = ['{"score": 0.85}', '{"score": 0.30000000000000001}', '{"score": "0.7999"}']
    (tmp_path / "b.jsonl").write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "policydsl",
            "eval",
            "-p",
            str(policy),
            "--batch",
            str(tmp_path / "b.jsonl"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o.get("decision") for o in out] == ["deny", None, "allow"]
    assert "`score`" in out[1]["error"] and "more than 4 digits" in out[1]["error"]


def test_verify_reasons_about_decimals_exactly(tmp_path: Path) -> None:
    """The solver holds a decimal as its scaled integer: the counterexample is the smallest
    step past the threshold, written as text a request may give."""
    pytest.importorskip("z3")
    path = tmp_path / "p.policy"
    path.write_text(
        "context { score: decimal  marks: list<decimal> = [] }\n"
        "effects deny > allow default allow\n"
        "rule r: deny { when score > 0.8 and 0.5 in marks }\n"
        "property low_is_allowed { when score <= 0.8 ensure decision == allow }\n"
        "property never { ensure decision == allow }\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "policydsl", "verify", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "proved          low_is_allowed" in done.stdout
    assert '{"score": "0.8001", "marks": ["0.5"]}' in done.stdout
    policy = policydsl.loads(path.read_text())
    assert policy.decide({"score": "0.8001", "marks": ["0.5"]}).decision == "deny"


def test_verify_reads_decimals_in_records_of_a_list(tmp_path: Path) -> None:
    pytest.importorskip("z3")
    path = tmp_path / "p.policy"
    path.write_text(
        "context { cs: list<{ score: decimal  marks: list<decimal> = [] }>[..4] = [] }\n"
        "effects deny > allow default allow\n"
        "rule r: deny { when some c in cs: c.score >= 0.85 and 0.25 in c.marks }\n"
        "property never { ensure decision == allow }\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "policydsl", "verify", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert '{"cs": [{"score": "0.85", "marks": ["0.25"]}]}' in done.stdout


def test_a_data_file_table_holds_decimals(tmp_path: Path) -> None:
    """A JSON fraction in a decimal column is a decimal literal, checked as a written one."""
    (tmp_path / "limits.json").write_text('[["hate", 0.85], ["spam", 1], ["sexual", "0.9"]]')
    (tmp_path / "main.policy").write_text(
        "context { category: string  score: decimal }\neffects deny > allow default allow\n"
        'table limits(name: string, at: decimal) from "limits.json"\n'
        'rule over for limits: deny { when category == name and score >= at reason "{at}" }\n'
    )
    with pytest.raises(policydsl.PolicyError) as caught:  # a string is not a decimal cell
        policydsl.load(tmp_path)
    assert "expected decimal, found string" in str(caught.value)
    (tmp_path / "limits.json").write_text('[["hate", 0.85], ["spam", 1], ["sexual", 0.12345]]')
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.load(tmp_path)
    assert [d.code for d in caught.value.diagnostics] == ["P335"]
    (tmp_path / "limits.json").write_text('[["hate", 0.85], ["spam", 1], ["sexual", 9e-1]]')
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.load(tmp_path)
    assert "is not written as a decimal" in str(caught.value)
    (tmp_path / "limits.json").write_text('[["hate", 0.85], ["spam", 1]]')
    for backend in policydsl.BACKENDS:
        policy = policydsl.load(tmp_path, backend=backend)
        decision = policy.decide({"category": "hate", "score": "0.85"})
        assert (decision.rules, decision.reasons) == (("over[hate]",), ("0.85",))
        assert policy.decide({"category": "spam", "score": "0.9999"}).rules == ()


def test_a_reason_shows_decimals_as_written() -> None:
    text = (
        "context { score: decimal  items: list<{ s: decimal }> = [] }\n"
        "effects deny > allow default allow\ndef cap: decimal = 2\n"
        'rule r: deny { when score > 0.5 reason "score {score} under {cap}" }\n'
        'rule q: deny { when some i in items: i.s > 0.5 reason "item at {i.s}" }\n'
    )
    for backend in policydsl.BACKENDS:
        decision = policydsl.loads(text, backend=backend).decide(
            {"score": 0.75, "items": [{"s": "0.25"}, {"s": 0.6}]}
        )
        assert decision.reasons == ("item at 0.6", "score 0.75 under 2.0"), backend
